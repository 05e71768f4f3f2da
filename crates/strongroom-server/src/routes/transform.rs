//! Document protection on stored files: password-protect (Office, ODF, PDF) or watermark (PDF)
//! the current version, delivered as a download or stored as a new version. The transformation
//! itself is `strongroom-docs` (bytes in, bytes out), run off the async runtime.

use super::{Guarded, guard_file};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Path, Requester};
use crate::state::{AppState, Shared};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use strongroom_core::Capability;
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::FileId;
use strongroom_docs::Format;
use strongroom_docs::password::PasswordRole;
use strongroom_store::content::{self, FileInfo, NewContent, Version};
use strongroom_store::rooms;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest file these operations accept: the PDF library works on the whole document in memory.
const MAX_SIZE: i64 = 256 * 1024 * 1024;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(protect)).routes(routes!(watermark))
}

/// Where the result goes.
#[derive(Clone, Copy, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Deliver {
    /// Answer with the protected file (the stored file is unchanged).
    #[default]
    Download,
    /// Store it as the file's next version.
    Version,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtectRequest {
    /// The password that opens the document. Refused with 400 `invalid_password`: control
    /// characters (tab, CR, LF, NUL, …) and bidirectional controls (U+202E, …) in every format;
    /// for PDF also what SASLprep prohibits and more than 127 bytes after it (docs/protect.md).
    #[schema(value_type = crate::openapi::DocumentPassword)]
    password: SecretString,
    /// PDF only: the password that lifts the restrictions below (none: nobody can lift them).
    #[schema(value_type = Option<crate::openapi::DocumentPassword>)]
    owner_password: Option<SecretString>,
    /// PDF only: what someone with the opening password may do (default: everything).
    #[serde(default = "yes")]
    allow_print: bool,
    #[serde(default = "yes")]
    allow_copy: bool,
    #[serde(default = "yes")]
    allow_modify: bool,
    #[serde(default)]
    deliver: Deliver,
}

fn yes() -> bool {
    true
}

/// A text watermark, an image watermark, or both (at least one).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatermarkRequest {
    /// Text with placeholders `{user}`, `{email}`, `{date}`, `{ip}`, `{file}`, `{room}`. Any
    /// left-to-right script of the built-in font DejaVu Sans (Latin, Greek, Cyrillic, …).
    #[schema(min_length = 1, max_length = 500)]
    text: Option<String>,
    /// Points, 1 to 500.
    #[schema(minimum = 1, maximum = 500)]
    font_size: Option<f32>,
    /// 0.0 (invisible) to 1.0 (opaque), of the text and of the image.
    #[schema(minimum = 0, maximum = 1)]
    opacity: Option<f32>,
    /// Degrees, counter-clockwise (text only: an image stays upright).
    rotation: Option<f32>,
    /// Repeat the text and the image over the whole page.
    #[serde(default)]
    tiled: bool,
    /// A stored PNG or JPEG file, which the caller must be allowed to read, drawn on every
    /// page under the text.
    #[schema(value_type = Option<crate::openapi::Id>)]
    image_file_id: Option<FileId>,
    /// Size of the image: its longer side as a fraction of the page's shorter side (0.01–1,
    /// default 0.5).
    #[schema(minimum = 0.01, maximum = 1)]
    image_scale: Option<f32>,
    #[serde(default)]
    deliver: Deliver,
}

/// Reads the current version whole (bounded by [`MAX_SIZE`]).
async fn load(st: &AppState, caller: &Caller, file: &FileInfo) -> ApiResult<Vec<u8>> {
    let v = content::get_version(&st.db, &file.id, file.version).await?;
    load_version(st, Requester::User(caller), file, &v).await
}

/// Reads one version whole (bounded by [`MAX_SIZE`]), checking its integrity.
async fn load_version(st: &AppState, who: Requester<'_>, file: &FileInfo, v: &Version) -> ApiResult<Vec<u8>> {
    if v.size > MAX_SIZE {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "documents over 256 MiB cannot be protected or watermarked here",
        ));
    }
    let mut stream = st
        .blobs
        .get(
            &v.blob_key,
            None,
            v.encryption.as_ref(),
            u64::try_from(v.size).unwrap_or(0),
        )
        .await?;
    let mut out = Vec::with_capacity(usize::try_from(v.size).unwrap_or(0));
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(b) => out.extend_from_slice(&b),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                st.audit(
                    who.event(AuditAction::IntegrityFailure)
                        .outcome(strongroom_core::audit::Outcome::Failure)
                        .target("file", &file.id)
                        .details(serde_json::json!({"version": v.version, "problem": e.to_string()})),
                )
                .await?;
                return Err(ApiError::integrity(file.id.as_str(), v.version));
            }
            Err(e) => return Err(strongroom_store::StoreError::Io(e).into()),
        }
    }
    Ok(out)
}

fn docs_error(e: strongroom_docs::Error) -> ApiError {
    use strongroom_docs::Error as E;
    match e {
        E::AlreadyProtected => ApiError::new(StatusCode::CONFLICT, "already_protected", e.to_string()),
        E::WrongFormat { .. } | E::UnsupportedEncryption(_) => {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_format", e.to_string())
        }
        E::Malformed { .. } | E::InvalidPassword(_) | E::InvalidOptions(_) | E::InvalidRange(_) => {
            ApiError::bad_request(e.to_string())
        }
        // Names the password and the problem (a character by code point), never the password.
        E::UnusablePassword { .. } => ApiError::new(StatusCode::BAD_REQUEST, "invalid_password", e.to_string()),
        _ => {
            tracing::error!(error = %e, "document transformation failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the document could not be processed",
            )
        }
    }
}

/// Runs a transformation on a blocking thread.
async fn run<F>(f: F) -> ApiResult<Vec<u8>>
where
    F: FnOnce() -> strongroom_docs::Result<Vec<u8>> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the document could not be processed",
            )
        })?
        .map_err(docs_error)
}

/// Sends the result back or stores it as the next version.
async fn deliver(
    st: &AppState,
    caller: &Caller,
    guarded: Guarded<FileInfo>,
    bytes: Vec<u8>,
    how: Deliver,
    action: AuditAction,
) -> ApiResult<Response> {
    let file = &guarded.item;
    match how {
        Deliver::Download => {
            st.audit(
                caller
                    .event(action)
                    .target("file", &file.id)
                    .details(serde_json::json!({"deliver": "download", "version": file.version})),
            )
            .await?;
            let mut res = Response::new(Body::from(bytes));
            let h = res.headers_mut();
            let ctype = HeaderValue::from_str(&file.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            h.insert(header::CONTENT_TYPE, ctype);
            let cd = super::files::content_disposition(&file.name);
            if let Ok(v) = HeaderValue::from_str(&cd) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Deliver::Version => {
            let body = futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(bytes))]);
            let blob = st.blobs.put_stream(body).await?;
            let nc = NewContent {
                blob: &blob,
                content_type: &file.content_type,
                by: &caller.actor.user_id,
            };
            let recorded = async {
                let mut change = st.change_by(caller).await?;
                let f = content::add_version(&mut change, &guarded.permit, &file.id, nc, Some(file.version)).await?;
                let details = serde_json::json!({"deliver": "version", "from_version": file.version, "version": f.version, "sha256": f.sha256});
                change
                    .commit(&caller.event(action).target("file", &file.id).details(details))
                    .await?;
                ApiResult::Ok(f)
            };
            let updated = match recorded.await {
                Ok(f) => f,
                Err(e) => {
                    content::discard_blob(&st.db, &st.blobs, &blob.key, st.now()).await;
                    return Err(e);
                }
            };
            Ok((StatusCode::CREATED, Json(updated)).into_response())
        }
    }
}

/// Password-protects the current version: Office agile encryption (.docx/.xlsx/.pptx),
/// ODF (.odt/.ods/.odp) or PDF AES-256; the format is read from the content.
#[utoipa::path(post, path = "/api/v1/files/{id}/protect", params(("id" = crate::openapi::Id, Path)), request_body = ProtectRequest,
    responses((status = 200, description = "the protected document", content_type = "application/octet-stream"),
        (status = 201, body = FileInfo, description = "stored as a new version"),
        (status = 400, body = crate::error::ErrorBody, description = "a password breaks the password rules (code `invalid_password`, see docs/protect.md)"),
        (status = 409), (status = 415)))]
async fn protect(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    Json(req): Json<ProtectRequest>,
) -> ApiResult<Response> {
    let guarded = guard_file(&st, &caller, &id, needs(req.deliver)).await?;
    if matches!(req.deliver, Deliver::Download) {
        refuse_unstamped_copy(&st, &guarded).await?;
    }
    let file = &guarded.item;
    if req.password.expose_secret().is_empty() {
        return Err(ApiError::bad_request("the password must not be empty"));
    }
    // The rules every format shares, before the document is read; the format's own (PDF:
    // SASLprep, 127 bytes) come from the library once the format is known.
    strongroom_docs::password::check(req.password.expose_secret(), PasswordRole::Password).map_err(docs_error)?;
    if let Some(owner) = &req.owner_password {
        strongroom_docs::password::check(owner.expose_secret(), PasswordRole::OwnerPassword).map_err(docs_error)?;
    }
    let plain = load(&st, &caller, file).await?;
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
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_protected",
                "the document is already password-protected",
            ));
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_format",
                "only Office (.docx/.xlsx/.pptx), ODF and PDF documents can be protected",
            ));
        }
    };
    deliver(&st, &caller, guarded, protected, req.deliver, AuditAction::FileProtect).await
}

/// Stamps a text and/or image watermark on every page of a PDF, on a PNG or JPEG picture, or
/// (text only) in the headers of a Word document, with the viewer's details filled in. The image is another stored file, read with the same authorization as the PDF.
#[utoipa::path(post, path = "/api/v1/files/{id}/watermark", params(("id" = crate::openapi::Id, Path)), request_body = WatermarkRequest,
    responses((status = 200, description = "the watermarked document", content_type = "application/octet-stream"), (status = 201, body = FileInfo),
        (status = 400), (status = 413), (status = 415)))]
async fn watermark(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    Json(req): Json<WatermarkRequest>,
) -> ApiResult<Response> {
    let guarded = guard_file(&st, &caller, &id, needs(req.deliver)).await?;
    if matches!(req.deliver, Deliver::Download) {
        refuse_unstamped_copy(&st, &guarded).await?;
    }
    let file = &guarded.item;
    if req.text.is_none() && req.image_file_id.is_none() {
        return Err(ApiError::bad_request(
            "give a watermark text, an image_file_id, or both",
        ));
    }
    let text = match &req.text {
        Some(template) => Some(viewer_text(&st, Requester::User(&caller), file, template).await?),
        None => None,
    };
    // The image is read like any other file content: the same authorization, the same
    // integrity checks; its id is recorded in the audit event of the source file's watermark.
    let image = match &req.image_file_id {
        Some(image_id) => {
            // The picture ends up inside a copy the caller takes or keeps: it needs the
            // right to download it, whatever happens to the result.
            let image = guard_file(&st, &caller, image_id, Capability::Download).await?;
            refuse_unstamped_copy(&st, &image).await?;
            let image_file = image.item;
            if usize::try_from(image_file.size).unwrap_or(usize::MAX) > strongroom_docs::watermark::MAX_IMAGE_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the watermark image is larger than 20 MiB",
                ));
            }
            let bytes = load(&st, &caller, &image_file).await?;
            st.audit(
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
    let plain = load(&st, &caller, file).await?;
    let draws_text = strongroom_docs::watermark::draws_text_itself(&plain);
    // Name the character: the library's error cannot (a user's name may be the cause).
    if let Some((c, why)) = text
        .as_deref()
        .filter(|_| draws_text)
        .and_then(strongroom_docs::watermark::first_unsupported)
    {
        return Err(ApiError::bad_request(format!(
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
    deliver(&st, &caller, guarded, stamped, req.deliver, AuditAction::FileWatermark).await
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
async fn viewer_text(st: &AppState, who: Requester<'_>, file: &FileInfo, template: &str) -> ApiResult<String> {
    let room = rooms::get_room(&st.db, &file.room_id).await?;
    // A link holder has no account: they are named by the link.
    let (name, email) = match who {
        Requester::User(c) => {
            let user = strongroom_store::people::get_user(&st.db, &c.actor.user_id).await?;
            (user.display_name, user.email)
        }
        Requester::Link(l) => (format!("external link {}", l.link.id), String::new()),
    };
    let date = time::OffsetDateTime::from_unix_timestamp(st.now() / 1000)
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
pub(crate) async fn room_watermark(
    st: &AppState,
    who: Requester<'_>,
    guarded: &Guarded<FileInfo>,
    v: &Version,
) -> ApiResult<Option<Vec<u8>>> {
    let Some(template) = room_stamp(st, guarded, v).await? else {
        return Ok(None);
    };
    let mut text = viewer_text(st, who, &guarded.item, &template).await?;
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
    let plain = load_version(st, who, &guarded.item, v).await?;
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
async fn room_stamp(st: &AppState, guarded: &Guarded<FileInfo>, v: &Version) -> ApiResult<Option<String>> {
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
    let head = head_of(st, v).await?;
    let stampable = strongroom_docs::detect_format(&head) == strongroom_docs::Format::Pdf
        || strongroom_docs::watermark::image::detect(&head).is_some();
    Ok(stampable.then_some(template))
}

/// Refuses a copy of the current version that would leave the room unstamped (a copy into
/// another folder, a protected or watermarked download, a picture used as a watermark) when
/// the room stamps what this caller downloads: they may only download it, stamped.
pub(crate) async fn refuse_unstamped_copy(st: &AppState, guarded: &Guarded<FileInfo>) -> ApiResult<()> {
    let v = content::get_version(&st.db, &guarded.item.id, guarded.item.version).await?;
    match room_stamp(st, guarded, &v).await? {
        None => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this room stamps the documents you take with your name; download it instead",
        )),
    }
}

/// The first KiB of a version, enough to recognise its format.
async fn head_of(st: &AppState, v: &Version) -> ApiResult<Vec<u8>> {
    let size = u64::try_from(v.size).unwrap_or(0);
    if size == 0 {
        return Ok(vec![]);
    }
    let mut stream = st
        .blobs
        .get(&v.blob_key, Some(0..size.min(1024)), v.encryption.as_ref(), size)
        .await?;
    let mut head = Vec::with_capacity(1024);
    while let Some(piece) = stream.next().await {
        head.extend_from_slice(&piece.map_err(strongroom_store::StoreError::Io)?);
    }
    Ok(head)
}
