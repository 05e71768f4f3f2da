//! The OpenAPI document: the input rules the server enforces, as schemas, and the error
//! answers every operation can give, added in one place ([`ErrorResponses`]) from the shape
//! of the operation, so a new route cannot forget them. Checked against the running server by
//! schemathesis (`crates/strongroom/tests/openapi.rs`, docs/architecture.md "OpenAPI
//! conformance").

use crate::error::ErrorBody;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// Whitespace as Rust's `str::trim` sees it (Unicode `White_Space`): names are trimmed
/// before they are checked.
const WS: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// `char::is_control`: refused in names.
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// `strongroom_store::people::is_hidden_format`, as a regex class body, from its table.
/// Characters outside the Basic Multilingual Plane are written as themselves: a `\u`
/// escape reaches only four hex digits in the regex dialects that read this document.
fn hidden() -> String {
    let one = |c: char| {
        if u32::from(c) <= 0xFFFF {
            format!("\\u{:04x}", u32::from(c))
        } else {
            c.to_string()
        }
    };
    strongroom_store::people::HIDDEN_FORMAT
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                one(lo)
            } else {
                format!("{}-{}", one(lo), one(hi))
            }
        })
        .collect()
}

/// `people::check_name`: after trimming, 1 to 255 characters, none of them a control or
/// hidden character. (The 255 is counted after trimming; the schema counts the whole string.)
fn name_pattern() -> String {
    let hidden = hidden();
    let ok = format!("[^{CONTROL}{hidden}]");
    let edge = format!("[^{WS}{CONTROL}{hidden}]");
    format!("^[{WS}]*(?:{edge}|{edge}{ok}*{edge})[{WS}]*$")
}

/// `content::check_item_name`: a name, without `/` or `\`, and not `.` or `..`.
fn item_name_pattern() -> String {
    let hidden = hidden();
    let ok = format!("[^{CONTROL}{hidden}/\\\\]");
    let edge = format!("[^{WS}{CONTROL}{hidden}/\\\\]");
    let edge_no_dot = format!("[^.{WS}{CONTROL}{hidden}/\\\\]");
    // One character that is not a dot; two of which one is not a dot; or three and more.
    format!("^[{WS}]*(?:{edge_no_dot}|{edge_no_dot}{edge}|{edge}{edge_no_dot}|{edge}{ok}+{edge})[{WS}]*$")
}

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

macro_rules! string_schema {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let s: ObjectBuilder = $schema;
                RefOr::T(Schema::Object(s.build()))
            }
        }
        impl ToSchema for $name {}
    };
}

string_schema!(
    /// An id: a UUID. A malformed or unknown one is answered 404.
    Id,
    string("A UUID (ids are UUIDv7). A malformed or unknown id is answered 404 `not_found`.")
        .format(Some(SchemaFormat::Custom("uuid".into())))
);
string_schema!(
    /// A room, group, token or display name.
    Name,
    string(
        "Trimmed, then 1 to 255 characters without control characters or invisible and \
         text-direction characters (U+202E, zero-width space, …); otherwise 400 `invalid_request`."
    )
    .min_length(Some(1))
    .max_length(Some(255))
    .pattern(Some(name_pattern()))
);
string_schema!(
    /// A display name where empty means "use the e-mail address".
    OptionalName,
    string("A display name as in `Name`, or empty (blank) for the e-mail address.")
        .max_length(Some(255))
        .pattern(Some(format!("^[{WS}]*$|{}", name_pattern())))
);
string_schema!(
    /// A file or folder name.
    ItemName,
    string(
        "A `Name` that also has no `/` or `\\` and is not `.` or `..`; otherwise 400 \
         `invalid_request`."
    )
    .min_length(Some(1))
    .max_length(Some(255))
    .pattern(Some(item_name_pattern()))
);
string_schema!(
    /// An e-mail address as `people::normalize_email` accepts it.
    Email,
    string(
        "Trimmed and lower-cased: at most 254 characters, no whitespace, control or invisible \
         characters inside, a non-empty part before the first `@` and a domain after it that contains a \
         dot and neither starts nor ends with one; otherwise 400 `invalid_request`."
    )
    .max_length(Some(254))
    .pattern(Some({
        let bad = format!("{WS}{CONTROL}{}", hidden());
        format!("^[{WS}]*[^@{bad}]+@[^.{bad}][^{bad}]*\\.[^{bad}]*[^.{bad}][{WS}]*$")
    }))
);
string_schema!(
    /// An audit action's name.
    ActionName,
    string("An audit action (`docs/audit.md` lists each with what it records).")
        .enum_values(Some(strongroom_core::audit::AuditAction::ALL.iter().map(|a| a.name())))
);
string_schema!(
    /// A watermark template (`rooms::set_room_policy`).
    WatermarkText,
    string(
        "At most 500 characters, without control characters or invisible and text-direction \
         characters; otherwise 400 `invalid_request`. `{user}`, `{email}`, `{date}`, `{ip}`, \
         `{file}` and `{room}` are filled in."
    )
    .max_length(Some(strongroom_store::rooms::MAX_WATERMARK_TEXT))
    .pattern(Some(format!("^[^{CONTROL}{}]*$", hidden())))
);
string_schema!(
    /// The level below which a room's downloads are watermarked: any level but `deny`.
    WatermarkLevel,
    string("Members whose level is below this one get stamped copies (room admins never).")
        .enum_values(Some(["view_only", "form_filling", "comment", "review", "edit", "full_access"]))
);
string_schema!(
    /// The levels an external link may carry.
    LinkLevel,
    string("What a link lets its holder do (at most what its maker holds).")
        .enum_values(Some(["view_only", "form_filling", "comment", "review", "edit"]))
);
string_schema!(
    /// A new account password, under the password policy.
    NewPassword,
    string(&format!(
        "The password policy in force (`GET /api/v1/settings/security/password-policy`): {} to {} characters at most, \
         and the administrator's rules and strength check; otherwise 400 `weak_password` naming every rule missed.",
        strongroom_auth::password::MIN_LEN,
        strongroom_auth::password::MAX_LEN
    ))
    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
    .min_length(Some(strongroom_auth::password::MIN_LEN))
    .max_length(Some(strongroom_auth::password::MAX_LEN))
);
string_schema!(
    /// A document password (protect): the rules every format shares.
    DocumentPassword,
    string(
        "Not empty; no control characters (tab, CR, LF, NUL, U+2028, U+2029, …) and no \
         bidirectional controls (U+202E, …): otherwise 400 `invalid_password`. PDF adds \
         SASLprep and at most 127 bytes after it (docs/protect.md)."
    )
    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
    .min_length(Some(1))
    .pattern(Some(
        r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+$".to_string()
    ))
);

/// Operations anyone may call without signing in; every other one answers 401 without a
/// valid session or API token, and 403 when the caller may not do it (or a cookie session's
/// state-changing request lacks its `X-CSRF-Token`).
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("post", "/api/v1/setup"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/password-reset/confirm"),
    ("post", "/api/v1/auth/sign-up"),
    ("post", "/api/v1/auth/invitation"),
    ("post", "/api/v1/auth/invitation/accept"),
    ("get", "/api/v1/links/{token}"),
    ("post", "/api/v1/links/{token}/unlock"),
];

/// Whether anyone may call this operation without signing in (`path`: the route template).
pub fn is_public(method: &axum::http::Method, path: &str) -> bool {
    let m = method.as_str().to_ascii_lowercase();
    PUBLIC.iter().any(|(pm, pp)| *pm == m && *pp == path)
}

/// The error answers the server's extractors give, added to every operation they apply to;
/// each in the JSON error format. Operation-specific ones (409, 503, …) are listed at the
/// operation, and get the error body here when they were listed without one.
pub struct ErrorResponses;

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build(),
        )
        .build()
        .into()
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| error_response(description));
}

impl utoipa::Modify for ErrorResponses {
    fn modify(&self, doc: &mut OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let ops = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                let params = op.parameters.as_deref().unwrap_or_default();
                let has = |kind: ParameterIn| {
                    params
                        .iter()
                        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == kind))
                };
                let (in_path, in_query) = (has(ParameterIn::Path), has(ParameterIn::Query));
                let json_body = op
                    .request_body
                    .as_ref()
                    .is_some_and(|b| matches!(b, RefOr::T(b) if b.content.contains_key("application/json")));
                if !PUBLIC.contains(&(method, path.as_str())) {
                    add(
                        op,
                        "401",
                        "Not signed in: no valid session or API token (`unauthenticated`).",
                    );
                    add(
                        op,
                        "403",
                        "Not allowed (`forbidden`), or a cookie session's request lacks its X-CSRF-Token (`csrf`).",
                    );
                }
                if in_path {
                    add(op, "404", "Not found, or an id in the path is malformed (`not_found`).");
                }
                if json_body {
                    add(
                        op,
                        "400",
                        "The body is not valid JSON for this operation, or breaks an input rule (`invalid_request`).",
                    );
                    add(op, "413", "The JSON body is larger than 1 MiB (`too_large`).");
                    add(
                        op,
                        "415",
                        "The body is not `Content-Type: application/json` (`unsupported_media_type`).",
                    );
                } else if in_query {
                    add(
                        op,
                        "400",
                        "A query parameter is malformed or breaks an input rule (`invalid_request`).",
                    );
                }
                // Error answers listed at the operation without a body have the JSON one
                // (416 and 304 carry no body).
                for (status, response) in op.responses.responses.iter_mut() {
                    let is_error = status.starts_with('4') || status.starts_with('5');
                    if let RefOr::T(r) = response
                        && is_error
                        && status != "416"
                        && r.content.is_empty()
                    {
                        let description = std::mem::take(&mut r.description);
                        *response = error_response(&description);
                    }
                }
            }
        }
    }
}
