//! Document protection on stored files: password-protect (Office, ODF, PDF) or watermark (PDF,
//! pictures, Word headers) the current version, delivered as a download or stored as a new
//! version ([`strongroom_service::documents`]).

use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::Shared;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use strongroom_core::ids::FileId;
use strongroom_service::documents::{self, Delivered};
use strongroom_store::content::FileInfo;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

impl From<Deliver> for documents::Deliver {
    fn from(d: Deliver) -> Self {
        match d {
            Deliver::Download => documents::Deliver::Download,
            Deliver::Version => documents::Deliver::Version,
        }
    }
}

/// The protected or watermarked copy as a download, or the file with its new version.
fn delivered(d: Delivered) -> Response {
    match d {
        Delivered::Download { file, bytes } => {
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
            res
        }
        Delivered::Version(f) => (StatusCode::CREATED, Json(f)).into_response(),
    }
}

/// Password-protects the current version: Office agile encryption (.docx/.xlsx/.pptx),
/// ODF (.odt/.ods/.odp) or PDF AES-256; the format is read from the content.
#[utoipa::path(post, path = "/api/v1/files/{id}/protect", params(("id" = crate::openapi::Id, Path)), request_body = ProtectRequest,
    responses((status = 200, description = "the protected document", content_type = "application/octet-stream"),
        (status = 415, description = "not an Office, ODF or PDF document (`unsupported_format`)"),
        (status = 201, body = FileInfo, description = "stored as a new version"),
        (status = 400, body = crate::error::ErrorBody, description = "a password breaks the password rules (code `invalid_password`, see docs/protect.md)"),
        (status = 409), (status = 415)))]
async fn protect(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    Json(req): Json<ProtectRequest>,
) -> ApiResult<Response> {
    let req = documents::Protection {
        password: req.password,
        owner_password: req.owner_password,
        allow_print: req.allow_print,
        allow_copy: req.allow_copy,
        allow_modify: req.allow_modify,
        deliver: req.deliver.into(),
    };
    Ok(delivered(documents::protect(&st, &caller, &id, req).await?))
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
    let req = documents::Watermark {
        text: req.text,
        font_size: req.font_size,
        opacity: req.opacity,
        rotation: req.rotation,
        tiled: req.tiled,
        image_file_id: req.image_file_id,
        image_scale: req.image_scale,
        deliver: req.deliver.into(),
    };
    Ok(delivered(documents::watermark(&st, &caller, &id, req).await?))
}
