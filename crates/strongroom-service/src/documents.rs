//! Document protection on stored files: password-protect (Office, ODF, PDF) or watermark (PDF,
//! pictures, Word headers) the current version, delivered as a download or stored as the next
//! version; and the room's download watermark. The transformation itself is
//! `strongroom-docs` (bytes in, bytes out), run off the async runtime.

use crate::access::{Guarded, guard_file};
use crate::{Caller, Error, Requester, Result, Service};
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use strongroom_core::Capability;
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::FileId;
use strongroom_docs::Format;
use strongroom_docs::password::PasswordRole;
use strongroom_store::content::{self, FileInfo, NewContent, Version};
use strongroom_store::rooms;

/// Largest file these operations accept: the PDF library works on the whole document in memory.
const MAX_SIZE: i64 = 256 * 1024 * 1024;

/// Where the result goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deliver {
    /// The protected copy goes to the caller (the stored file is unchanged).
    #[default]
    Download,
    /// It is stored as the file's next version.
    Version,
}

/// What a password-protection sets.
pub struct Protection {
    /// The password that opens the document.
    pub password: SecretString,
    /// PDF only: the password that lifts the restrictions below (none: nobody can).
    pub owner_password: Option<SecretString>,
    /// PDF only: what someone with the opening password may do.
    pub allow_print: bool,
    pub allow_copy: bool,
    pub allow_modify: bool,
    pub deliver: Deliver,
}

/// A text watermark, an image watermark, or both (at least one).
pub struct Watermark {
    /// Text with placeholders `{user}`, `{email}`, `{date}`, `{ip}`, `{file}`, `{room}`.
    pub text: Option<String>,
    pub font_size: Option<f32>,
    pub opacity: Option<f32>,
    pub rotation: Option<f32>,
    pub tiled: bool,
    /// A stored PNG or JPEG file, which the caller must be allowed to download.
    pub image_file_id: Option<FileId>,
    pub image_scale: Option<f32>,
    pub deliver: Deliver,
}

/// A protected or watermarked document: the bytes for the caller (audited), or the file with
/// its new version.
pub enum Delivered {
    Download { file: FileInfo, bytes: Vec<u8> },
    Version(FileInfo),
}

/// Reads the current version whole (bounded by [`MAX_SIZE`]).
async fn load(svc: &Service, caller: &Caller, file: &FileInfo) -> Result<Vec<u8>> {
    let v = content::get_version(&svc.db, &file.id, file.version).await?;
    load_version(svc, Requester::User(caller), file, &v).await
}

/// Reads one version whole (bounded by [`MAX_SIZE`]), checking its integrity.
async fn load_version(svc: &Service, who: Requester<'_>, file: &FileInfo, v: &Version) -> Result<Vec<u8>> {
    if v.size > MAX_SIZE {
        return Err(Error::TooLarge(
            "documents over 256 MiB cannot be protected or watermarked here".into(),
        ));
    }
    crate::files::read_whole(svc, who, file, v, None).await
}

/// Runs a transformation on a blocking thread.
async fn run<F>(f: F) -> Result<Vec<u8>>
where
    F: FnOnce() -> strongroom_docs::Result<Vec<u8>> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a document transformation failed: {e}")))?
        .map_err(Error::from)
}

/// Hands the result to the caller or stores it as the next version.
async fn deliver(
    svc: &Service,
    caller: &Caller,
    guarded: Guarded<FileInfo>,
    bytes: Vec<u8>,
    how: Deliver,
    action: AuditAction,
) -> Result<Delivered> {
    let file = guarded.item;
    match how {
        Deliver::Download => {
            svc.audit(
                caller
                    .event(action)
                    .target("file", &file.id)
                    .details(serde_json::json!({"deliver": "download", "version": file.version})),
            )
            .await?;
            Ok(Delivered::Download { file, bytes })
        }
        Deliver::Version => {
            // A new version counts against the quotas like an upload of its size.
            let allowance = crate::uploads::begin(svc, caller.into(), &file.room_id, &caller.actor.user_id).await?;
            allowance.fits(bytes.len() as u64)?;
            let body = futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(bytes))]);
            let blob = svc.blobs.put_stream(body).await?;
            let nc = NewContent {
                blob: &blob,
                content_type: &file.content_type,
                by: &caller.actor.user_id,
            };
            let recorded = async {
                let mut change = svc.change_by(caller).await?;
                allowance.check(&mut change, blob.size).await?;
                let f = content::add_version(&mut change, &guarded.permit, &file.id, nc, Some(file.version)).await?;
                let details = serde_json::json!({"deliver": "version", "from_version": file.version, "version": f.version, "sha256": f.sha256});
                change
                    .commit(&caller.event(action).target("file", &file.id).details(details))
                    .await?;
                Result::Ok(f)
            };
            match recorded.await {
                Ok(f) => Ok(Delivered::Version(f)),
                Err(e) => {
                    content::discard_blob(&svc.db, &svc.blobs, &blob.key, svc.now()).await;
                    Err(e)
                }
            }
        }
    }
}

/// Password-protects the current version: Office agile encryption (.docx/.xlsx/.pptx), ODF
/// (.odt/.ods/.odp) or PDF AES-256; the format is read from the content.
pub async fn protect(svc: &Service, caller: &Caller, id: &FileId, req: Protection) -> Result<Delivered> {
    let guarded = guard_file(svc, caller, id, needs(req.deliver)).await?;
    if matches!(req.deliver, Deliver::Download) {
        refuse_unstamped_copy(svc, caller.into(), &guarded).await?;
    }
    let file = &guarded.item;
    if req.password.expose_secret().is_empty() {
        return Err(Error::invalid("the password must not be empty"));
    }
    // The rules every format shares, before the document is read; the format's own (PDF:
    // SASLprep, 127 bytes) come from the library once the format is known.
    strongroom_docs::password::check(req.password.expose_secret(), PasswordRole::Password)?;
    if let Some(owner) = &req.owner_password {
        strongroom_docs::password::check(owner.expose_secret(), PasswordRole::OwnerPassword)?;
    }
    let plain = load(svc, caller, file).await?;
    let format = strongroom_docs::detect_format(&plain);
    let protected = match format {
        Format::Zip => {
            run(move || {
                strongroom_docs::office::encrypt_bytes(&plain, req.password.expose_secret(), &Default::default())
            })
            .await?
        }
        Format::Odf => run(move || strongroom_docs::odf::encrypt_bytes(&plain, req.password.expose_secret())).await?,
        Format::Pdf => {
            let permissions = strongroom_docs::pdf::PdfPermissions {
                print: req.allow_print,
                copy: req.allow_copy,
                modify: req.allow_modify,
                annotate: req.allow_modify,
            };
            run(move || {
                let owner = req.owner_password.as_ref().map(|p| p.expose_secret().to_string());
                strongroom_docs::pdf::encrypt(
                    &plain,
                    &strongroom_docs::pdf::PdfProtection {
                        user_password: req.password.expose_secret(),
                        owner_password: owner.as_deref(),
                        permissions,
                    },
                )
            })
            .await?
        }
        Format::CompoundFile => {
            return Err(Error::AlreadyProtected(
                "the document is already password-protected".into(),
            ));
        }
        _ => {
            return Err(Error::Unsupported(
                "only Office (.docx/.xlsx/.pptx), ODF and PDF documents can be protected".into(),
            ));
        }
    };
    deliver(svc, caller, guarded, protected, req.deliver, AuditAction::FileProtect).await
}

/// Stamps a text and/or image watermark on every page of a PDF, on a PNG or JPEG picture, or
/// (text only) in the headers of a Word document, with the viewer's details filled in. The
/// image is another stored file, read with the same authorization as the document.
pub async fn watermark(svc: &Service, caller: &Caller, id: &FileId, req: Watermark) -> Result<Delivered> {
    let guarded = guard_file(svc, caller, id, needs(req.deliver)).await?;
    if matches!(req.deliver, Deliver::Download) {
        refuse_unstamped_copy(svc, caller.into(), &guarded).await?;
    }
    let file = &guarded.item;
    if req.text.is_none() && req.image_file_id.is_none() {
        return Err(Error::invalid("give a watermark text, an image_file_id, or both"));
    }
    let text = match &req.text {
        Some(template) => Some(viewer_text(svc, Requester::User(caller), file, template).await?),
        None => None,
    };
    // The image is read like any other file content: the same authorization, the same
    // integrity checks; its id is recorded in the audit event of the source file's watermark.
    let image = match &req.image_file_id {
        Some(image_id) => {
            // The picture ends up inside a copy the caller takes or keeps: it needs the
            // right to download it, whatever happens to the result.
            let image = guard_file(svc, caller, image_id, Capability::Download).await?;
            refuse_unstamped_copy(svc, caller.into(), &image).await?;
            let image_file = image.item;
            if usize::try_from(image_file.size).unwrap_or(usize::MAX) > strongroom_docs::watermark::MAX_IMAGE_BYTES {
                return Err(Error::TooLarge("the watermark image is larger than 20 MiB".into()));
            }
            let bytes = load(svc, caller, &image_file).await?;
            svc.audit(
                caller
                    .event(AuditAction::FileWatermarkImage)
                    .target("file", image_id)
                    .details(serde_json::json!({"stamped_on": file.id})),
            )
            .await?;
            Some(bytes)
        }
        None => None,
    };
    let plain = load(svc, caller, file).await?;
    let draws_text = strongroom_docs::watermark::draws_text_itself(&plain);
    // Name the character: the library's error cannot (a user's name may be the cause).
    if let Some((c, why)) = text
        .as_deref()
        .filter(|_| draws_text)
        .and_then(strongroom_docs::watermark::first_unsupported)
    {
        return Err(Error::invalid(format!(
            "the watermark text cannot be drawn: {c:?} (U+{:04X}) {why}",
            u32::from(c)
        )));
    }
    let text_defaults = strongroom_docs::watermark::TextWatermark::default();
    let image_defaults = strongroom_docs::watermark::ImageWatermark::default();
    let (font_size, opacity, rotation, tiled, scale) = (
        req.font_size.unwrap_or(text_defaults.font_size),
        req.opacity.unwrap_or(text_defaults.opacity),
        req.rotation.unwrap_or(text_defaults.rotation_deg),
        req.tiled,
        req.image_scale.unwrap_or(image_defaults.scale),
    );
    let rgb = text_defaults.rgb;
    let stamped = run(move || {
        let stamp = strongroom_docs::watermark::PdfStamp {
            text: text.as_deref().map(|text| strongroom_docs::watermark::TextWatermark {
                text,
                font_size,
                rgb,
                opacity,
                rotation_deg: rotation,
                tiled,
            }),
            image: image.as_deref().map(|png| strongroom_docs::watermark::ImageWatermark {
                png,
                scale,
                opacity,
                tiled,
            }),
        };
        strongroom_docs::watermark::stamp(&plain, &stamp)
    })
    .await?;
    deliver(svc, caller, guarded, stamped, req.deliver, AuditAction::FileWatermark).await
}

/// What a protected or watermarked copy asks of its source: taking it away is a download,
/// keeping it as the next version is an edit.
fn needs(how: Deliver) -> Capability {
    match how {
        Deliver::Download => Capability::Download,
        Deliver::Version => Capability::Edit,
    }
}

/// A watermark template filled in with the caller's and the file's details: the one place
/// that does it, for requested watermarks and for a room's download watermark alike.
async fn viewer_text(svc: &Service, who: Requester<'_>, file: &FileInfo, template: &str) -> Result<String> {
    let room = rooms::get_room(&svc.db, &file.room_id).await?;
    // A link holder has no account: they are named by the link.
    let (name, email) = match who {
        Requester::User(c) => {
            let user = strongroom_store::people::get_user(&svc.db, &c.actor.user_id).await?;
            (user.display_name, user.email)
        }
        Requester::Link(l) => (format!("external link {}", l.link.id), String::new()),
    };
    let date = time::OffsetDateTime::from_unix_timestamp(svc.now() / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default();
    let identity = strongroom_docs::watermark::template::Identity {
        user: &name,
        email: &email,
        date: &date,
        ip: who.origin().ip.as_deref().unwrap_or(""),
        file: &file.name,
        room: &room.name,
    };
    Ok(strongroom_docs::watermark::template::expand(template, &identity))
}

/// The room's download watermark, when it applies to this caller and this version: the
/// stamped bytes to send instead of the stored ones. It applies to members whose level is
/// below the room's `watermark_below` (room admins never), and to PDFs and PNG/JPEG pictures;
/// other kinds of file are sent as stored.
pub async fn room_watermark(
    svc: &Service,
    who: Requester<'_>,
    guarded: &Guarded<FileInfo>,
    v: &Version,
) -> Result<Option<Vec<u8>>> {
    let Some(template) = room_stamp(svc, who, guarded, v).await? else {
        return Ok(None);
    };
    let mut text = viewer_text(svc, who, &guarded.item, &template).await?;
    // The room's stamp must always be drawable, whatever the template or a person's name
    // holds: what the built-in font cannot draw becomes `?` (a refused download instead
    // would lock those members out of every document).
    let mut rounds = 0;
    while let Some((c, _)) = strongroom_docs::watermark::first_unsupported(&text) {
        text = text.replace(c, "?");
        rounds += 1;
        if rounds > 500 {
            break;
        }
    }
    let plain = load_version(svc, who, &guarded.item, v).await?;
    let stamped = run(move || {
        let stamp = strongroom_docs::watermark::PdfStamp {
            text: Some(strongroom_docs::watermark::TextWatermark {
                text: &text,
                ..Default::default()
            }),
            image: None,
        };
        strongroom_docs::watermark::stamp(&plain, &stamp)
    })
    .await?;
    Ok(Some(stamped))
}

/// The room's watermark template, when the room stamps this version for this caller.
async fn room_stamp(
    svc: &Service,
    who: Requester<'_>,
    guarded: &Guarded<FileInfo>,
    v: &Version,
) -> Result<Option<String>> {
    // Loaded with the room's grants: a download asks the database nothing more unless it is
    // stamped.
    let Some((below, template)) = guarded.in_room.access.watermark.clone() else {
        return Ok(None);
    };
    let rights = guarded.rights;
    if rights.room_admin || rights.level.is_some_and(|l| l >= below) {
        return Ok(None);
    }
    // Decided by content, not by name: a PDF renamed `.bin` is stamped all the same.
    let head = head_of(svc, who, &guarded.item, v).await?;
    let stampable = strongroom_docs::detect_format(&head) == strongroom_docs::Format::Pdf
        || strongroom_docs::watermark::image::detect(&head).is_some();
    Ok(stampable.then_some(template))
}

/// Refuses a copy of the current version that would leave the room unstamped (a copy into
/// another folder, a protected or watermarked download, a picture used as a watermark) when
/// the room stamps what this caller downloads: they may only download it, stamped.
pub async fn refuse_unstamped_copy(svc: &Service, who: Requester<'_>, guarded: &Guarded<FileInfo>) -> Result<()> {
    let v = content::get_version(&svc.db, &guarded.item.id, guarded.item.version).await?;
    match room_stamp(svc, who, guarded, &v).await? {
        None => Ok(()),
        Some(_) => Err(Error::forbidden(
            "this room stamps the documents you take with your name; download it instead",
        )),
    }
}

/// The first KiB of a version, enough to recognise its format.
async fn head_of(svc: &Service, who: Requester<'_>, file: &FileInfo, v: &Version) -> Result<Vec<u8>> {
    let size = u64::try_from(v.size).unwrap_or(0);
    crate::files::read_whole(svc, who, file, v, Some(0..size.min(1024))).await
}
