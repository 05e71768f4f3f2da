//! Document protection on stored files: password-protect (Office, ODF, PDF) or watermark (PDF)
//! the current version, delivered as a download or stored as a new version. The transformation
//! itself is `strongroom-docs` (bytes in, bytes out), run off the async runtime.

use super::guard_file;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Path};
use crate::state::{AppState, Shared};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use strongroom_core::Action;
use strongroom_core::audit::AuditEvent;
use strongroom_core::ids::FileId;
use strongroom_docs::Format;
use strongroom_store::content::{self, FileInfo, NewContent};
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
pub struct ProtectRequest {
    /// The password that opens the document.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    /// PDF only: the password that lifts the restrictions below (none: nobody can lift them).
    #[schema(value_type = Option<String>, format = Password)]
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

#[derive(Deserialize, utoipa::ToSchema)]
pub struct WatermarkRequest {
    /// Text with placeholders `{user}`, `{email}`, `{date}`, `{ip}`, `{file}`, `{room}`.
    text: String,
    font_size: Option<f32>,
    /// 0.0 (invisible) to 1.0 (opaque).
    opacity: Option<f32>,
    /// Degrees, counter-clockwise.
    rotation: Option<f32>,
    #[serde(default)]
    tiled: bool,
    #[serde(default)]
    deliver: Deliver,
}

/// Reads the current version whole (bounded by [`MAX_SIZE`]).
async fn load(st: &AppState, caller: &Caller, file: &FileInfo) -> ApiResult<Vec<u8>> {
    if file.size > MAX_SIZE {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "documents over 256 MiB cannot be protected or watermarked here",
        ));
    }
    let v = content::get_version(&st.db, &file.id, file.version).await?;
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
                    AuditEvent::new("file.integrity_failure", "documents")
                        .by(&caller.actor)
                        .target("file", &file.id)
                        .details(serde_json::json!({"version": v.version, "problem": e.to_string()}))
                        .from_origin(&caller.origin),
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
    file: &FileInfo,
    bytes: Vec<u8>,
    how: Deliver,
    action: &'static str,
) -> ApiResult<Response> {
    match how {
        Deliver::Download => {
            st.audit(
                AuditEvent::new(action, "documents")
                    .by(&caller.actor)
                    .target("file", &file.id)
                    .details(serde_json::json!({"deliver": "download"}))
                    .from_origin(&caller.origin),
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
            guard_file(st, caller, &file.id, Action::WriteContent).await?;
            let body = futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(bytes))]);
            let blob = st.blobs.put_stream(body).await?;
            let nc = NewContent {
                blob: &blob,
                content_type: &file.content_type,
                by: &caller.actor.user_id,
                now: st.now(),
            };
            let updated = match content::add_version(&st.db, &file.id, nc).await {
                Ok(f) => f,
                Err(e) => {
                    content::discard_blob(&st.db, &st.blobs, &blob.key, st.now()).await;
                    return Err(e.into());
                }
            };
            st.audit(
                AuditEvent::new(action, "documents")
                    .by(&caller.actor)
                    .target("file", &file.id)
                    .details(serde_json::json!({"deliver": "version", "version": updated.version}))
                    .from_origin(&caller.origin),
            )
            .await?;
            Ok((StatusCode::CREATED, Json(updated)).into_response())
        }
    }
}

/// Password-protects the current version: Office agile encryption (.docx/.xlsx/.pptx),
/// ODF (.odt/.ods/.odp) or PDF AES-256; the format is read from the content.
#[utoipa::path(post, path = "/api/v1/files/{id}/protect", params(("id" = String, Path)), request_body = ProtectRequest,
    responses((status = 200, description = "the protected document", content_type = "application/octet-stream"),
        (status = 201, body = FileInfo, description = "stored as a new version"), (status = 409), (status = 415)))]
async fn protect(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    Json(req): Json<ProtectRequest>,
) -> ApiResult<Response> {
    let file = guard_file(&st, &caller, &id, Action::ReadContent).await?;
    if req.password.expose_secret().is_empty() {
        return Err(ApiError::bad_request("the password must not be empty"));
    }
    let plain = load(&st, &caller, &file).await?;
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
    deliver(&st, &caller, &file, protected, req.deliver, "file.protect").await
}

/// Stamps a text watermark on every page of a PDF, with the viewer's details filled in.
#[utoipa::path(post, path = "/api/v1/files/{id}/watermark", params(("id" = String, Path)), request_body = WatermarkRequest,
    responses((status = 200, description = "the watermarked PDF", content_type = "application/pdf"), (status = 201, body = FileInfo), (status = 415)))]
async fn watermark(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    Json(req): Json<WatermarkRequest>,
) -> ApiResult<Response> {
    let file = guard_file(&st, &caller, &id, Action::ReadContent).await?;
    let room = rooms::get_room(&st.db, &file.room_id).await?;
    let user = strongroom_store::people::get_user(&st.db, &caller.actor.user_id).await?;
    let date = time::OffsetDateTime::from_unix_timestamp(st.now() / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default();
    let text = req
        .text
        .replace("{user}", &user.display_name)
        .replace("{email}", &user.email)
        .replace("{date}", &date)
        .replace("{ip}", caller.origin.ip.as_deref().unwrap_or(""))
        .replace("{file}", &file.name)
        .replace("{room}", &room.name);
    let plain = load(&st, &caller, &file).await?;
    if strongroom_docs::detect_format(&plain) != Format::Pdf {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_format",
            "watermarks are stamped on PDF documents",
        ));
    }
    let defaults = strongroom_docs::watermark::TextWatermark::default();
    let (font_size, opacity, rotation, tiled) = (
        req.font_size.unwrap_or(defaults.font_size),
        req.opacity.unwrap_or(defaults.opacity),
        req.rotation.unwrap_or(defaults.rotation_deg),
        req.tiled,
    );
    let rgb = defaults.rgb;
    let stamped = run(move || {
        let wm = strongroom_docs::watermark::TextWatermark {
            text: &text,
            font_size,
            rgb,
            opacity,
            rotation_deg: rotation,
            tiled,
        };
        strongroom_docs::watermark::pdf(&plain, &wm)
    })
    .await?;
    deliver(&st, &caller, &file, stamped, req.deliver, "file.watermark").await
}
