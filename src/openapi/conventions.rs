//! The rules of SPEC §6 that hold for every endpoint, applied to the whole document
//! (see [`Conventions`]).

use crate::domain::error::Code;
use crate::domain::page::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::error::{FieldError, Problem};
use actix_web::http::StatusCode;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayItems, KnownFormat, SchemaFormat, SchemaType,
};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, ObjectBuilder, Ref, RefOr, Required, Schema, Type};
use utoipa::{Modify, PartialSchema};

/// An error answer that a convention adds: its status, its `code`, and when it comes.
struct Known {
    status: u16,
    code: Code,
    when: &'static str,
}

const INTERNAL: Known = Known {
    status: 500,
    code: Code::Internal,
    when: "an unexpected fault; it is logged, its details are never sent",
};
const HEADERS_TOO_LARGE: Known = Known {
    status: 431,
    code: Code::HeadersTooLarge,
    when: "the request headers together are larger than 16 KiB",
};
const UNAVAILABLE: Known = Known {
    status: 503,
    code: Code::Unavailable,
    when: "the database cannot be reached; retry after `Retry-After` seconds",
};
const UNAUTHORIZED: Known = Known {
    status: 401,
    code: Code::Unauthorized,
    when: "no bearer token, or one that is unknown, expired or revoked",
};
const FORBIDDEN: Known = Known {
    status: 403,
    code: Code::Forbidden,
    when: "the caller's role may not do this, or a service key was used outside `/v1/gate`",
};
const MALFORMED_BODY: Known = Known {
    status: 400,
    code: Code::MalformedBody,
    when: "the body is not valid JSON, or could not be read",
};
const TOO_LARGE: Known = Known {
    status: 413,
    code: Code::PayloadTooLarge,
    when: "the body is larger than 1 MiB",
};
const UNSUPPORTED_MEDIA_TYPE: Known = Known {
    status: 415,
    code: Code::UnsupportedMediaType,
    when: "the body is sent with a `Content-Type` other than JSON",
};
const VALIDATION_FAILED: Known = Known {
    status: 422,
    code: Code::ValidationFailed,
    when: "a body field or query parameter is missing, unknown, of the wrong type or out of \
           bounds; `errors` names each one with a code of its own",
};
const INVALID_QUERY: Known = Known {
    status: 422,
    code: Code::InvalidQuery,
    when: "the query string cannot be read (a parameter of the wrong type, or repeated)",
};
const NOT_FOUND: Known = Known {
    status: 404,
    code: Code::NotFound,
    when: "no such resource, or one the caller may not see (also for an id that is not a UUID)",
};
const INVALID_IDEMPOTENCY_KEY: Known = Known {
    status: 422,
    code: Code::InvalidIdempotencyKey,
    when: "`Idempotency-Key` is not 1 to 255 visible ASCII characters",
};
const IDEMPOTENCY_KEY_REUSED: Known = Known {
    status: 422,
    code: Code::IdempotencyKeyReused,
    when: "this `Idempotency-Key` came with another request within 24 hours",
};
const IDEMPOTENCY_IN_PROGRESS: Known = Known {
    status: 409,
    code: Code::IdempotencyInProgress,
    when: "a request with this `Idempotency-Key` is still running; retry after `Retry-After`",
};
const PRECONDITION_REQUIRED: Known = Known {
    status: 428,
    code: Code::PreconditionRequired,
    when: "no `If-Match` header",
};
const PRECONDITION_FAILED: Known = Known {
    status: 412,
    code: Code::PreconditionFailed,
    when: "`If-Match` does not name the current version: read the resource again",
};

/// Query parameters read by the list extractor (`crate::api::page`).
const PAGE_PARAMS: [&str; 2] = ["limit", "cursor"];

/// Normalises the whole document by the rules of SPEC §6 (see the module's comment):
///
/// - every 4xx/5xx answer is `application/problem+json` with the `Problem` schema, and
///   every operation may answer 500 `internal`;
/// - an operation with bearer security answers 401 `unauthorized` and 403 `forbidden`;
/// - every `/v1` operation answers 503 `unavailable` (with `Retry-After`);
/// - a JSON request body brings 400 `malformed_body`, 413, 415 and 422 `validation_failed`;
/// - query parameters bring 422 (`validation_failed` for `limit`/`cursor`, `invalid_query`
///   for the others); `limit` is bounded 1 to 200 with default 50;
/// - a path parameter brings 404 `not_found`;
/// - every POST takes an optional `Idempotency-Key` header (1 to 255 characters) and may
///   answer 409 `idempotency_in_progress`, 413 and 422 `invalid_idempotency_key` /
///   `idempotency_key_reused`;
/// - every PATCH requires `If-Match` and may answer 428 and 412;
/// - free text (a string with no `format`, `enum` or `pattern` of its own) in a JSON body or
///   a query parameter carries the pattern of what the server refuses there: control
///   characters (`src/api/json.rs`, `src/api/screen.rs`); `cursor` is what pages give out;
/// - each added answer's description names the `code`s it carries; where the handler
///   declared that status already, the codes it does not mention are appended;
/// - every answer has a description, 429 and 503 document `Retry-After`, `ETag` headers
///   say what they hold;
/// - operation ids are prefixed with their tag (`applications_get_one`), so they are
///   unique, and a page (`List_X`) refers to the schema `X` instead of a copy of it.
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut body_refs = Vec::new();
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations_mut(item) {
                normalise(path, method, op);
                screen_body_text(op, &mut body_refs);
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        screen_component_text(&mut components.schemas, body_refs);
        for (name, schema) in [
            ("Problem", Problem::schema()),
            ("FieldError", FieldError::schema()),
        ] {
            components.schemas.entry(name.to_owned()).or_insert(schema);
        }
        link_list_items(&mut components.schemas);
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
}

fn params(op: &Operation) -> impl Iterator<Item = &Parameter> {
    op.parameters.iter().flatten().filter_map(|p| match p {
        RefOr::T(p) => Some(p),
        RefOr::Ref(_) => None,
    })
}

fn has_param(op: &Operation, name: &str, place: ParameterIn) -> bool {
    params(op).any(|p| p.parameter_in == place && p.name.eq_ignore_ascii_case(name))
}

fn has_json_body(op: &Operation) -> bool {
    matches!(&op.request_body, Some(RefOr::T(RequestBody { content, .. }))
        if content.keys().any(|ct| ct == "application/json" || ct.ends_with("+json")))
}

fn normalise(path: &str, method: &str, op: &mut Operation) {
    let secured = op
        .security
        .iter()
        .flatten()
        .any(|r| r != &SecurityRequirement::default());
    let query: Vec<String> = params(op)
        .filter(|p| p.parameter_in == ParameterIn::Query)
        .map(|p| p.name.clone())
        .collect();
    let has_path_param = params(op).any(|p| p.parameter_in == ParameterIn::Path);

    let mut known = vec![&INTERNAL, &HEADERS_TOO_LARGE];
    if path.starts_with("/v1/") {
        known.push(&UNAVAILABLE);
    }
    if secured {
        known.extend([&UNAUTHORIZED, &FORBIDDEN]);
    }
    if has_json_body(op) {
        known.extend([
            &MALFORMED_BODY,
            &TOO_LARGE,
            &UNSUPPORTED_MEDIA_TYPE,
            &VALIDATION_FAILED,
        ]);
    }
    if query.iter().any(|q| PAGE_PARAMS.contains(&q.as_str())) {
        known.push(&VALIDATION_FAILED);
    }
    if query.iter().any(|q| !PAGE_PARAMS.contains(&q.as_str())) {
        known.push(&INVALID_QUERY);
    }
    if has_path_param {
        known.push(&NOT_FOUND);
    }
    if method == "post" {
        known.extend([
            &INVALID_IDEMPOTENCY_KEY,
            &IDEMPOTENCY_KEY_REUSED,
            &IDEMPOTENCY_IN_PROGRESS,
            &TOO_LARGE,
        ]);
        if !has_param(op, "Idempotency-Key", ParameterIn::Header) {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(RefOr::T(idempotency_key()));
        }
    }
    if method == "patch" {
        known.extend([&PRECONDITION_REQUIRED, &PRECONDITION_FAILED]);
        if !has_param(op, "If-Match", ParameterIn::Header) {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(RefOr::T(if_match()));
        }
    }

    for k in known {
        let response = op
            .responses
            .responses
            .entry(k.status.to_string())
            .or_insert_with(|| RefOr::T(Response::default()));
        if let RefOr::T(r) = response {
            mention(&mut r.description, k);
        }
    }
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(r) = response {
            finish_response(status, method, r);
        }
    }
    for p in op.parameters.iter_mut().flatten() {
        if let RefOr::T(p) = p {
            finish_param(p);
        }
    }
    if let (Some(id), Some(tag)) = (&op.operation_id, op.tags.iter().flatten().next()) {
        let prefix = format!("{}_", tag.replace('-', "_"));
        if !id.starts_with(&prefix) {
            op.operation_id = Some(format!("{prefix}{id}"));
        }
    }
}

/// Appends "- `code`: when" to `description` unless it names the code already.
fn mention(description: &mut String, k: &Known) {
    if description.contains(&format!("`{}`", k.code)) {
        return;
    }
    if !description.is_empty() {
        let last_is_item = description
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("- "));
        description.push_str(if last_is_item { "\n" } else { "\n\n" });
    }
    description.push_str(&format!("- `{}`: {}.", k.code, k.when));
}

fn problem_ref() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name("Problem"))
}

fn finish_response(status: &str, method: &str, r: &mut Response) {
    let code = status.parse::<u16>().ok();
    if r.description.is_empty() {
        r.description = code
            .and_then(|c| StatusCode::from_u16(c).ok())
            .and_then(|s| s.canonical_reason())
            .unwrap_or("The answer.")
            .to_owned();
    }
    let is_error = code.is_some_and(|c| c >= 400) || status == "default";
    if is_error {
        r.content.clear();
        r.content.insert(
            "application/problem+json".to_owned(),
            RefOr::T(Content::new(Some(problem_ref()))),
        );
    }
    let retry_after = match code {
        Some(429) | Some(503) => Some("Seconds to wait before trying again."),
        Some(409) if method == "post" => {
            Some("Seconds to wait before trying again (with `idempotency_in_progress`).")
        }
        _ => None,
    };
    if let Some(text) = retry_after
        && !r
            .headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case("Retry-After"))
    {
        let mut h = Header::new(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        );
        h.description = Some(text.to_owned());
        r.headers.insert("Retry-After".to_owned(), RefOr::T(h));
    }
    for (name, header) in r.headers.iter_mut() {
        if let RefOr::T(h) = header
            && name.eq_ignore_ascii_case("ETag")
            && h.description.is_none()
        {
            h.description = Some(
                "The resource's `version`, quoted (e.g. `\"3\"`); send it back in `If-Match`."
                    .to_owned(),
            );
        }
    }
}

fn idempotency_key() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes the POST safe to retry: the same key from the same caller with the same \
             request within 24 hours gets the first answer again (`Idempotent-Replayed: true`); \
             with another request, 422 `idempotency_key_reused`. 1 to 255 visible ASCII \
             characters.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$"))
                .examples([serde_json::json!("9f0c7e0e-6f1d-4d39-9d1c-3c2b7f0e5a11")]),
        ))
        .build()
}

fn if_match() -> Parameter {
    ParameterBuilder::new()
        .name("If-Match")
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

fn finish_param(p: &mut Parameter) {
    match (p.parameter_in.clone(), p.name.as_str()) {
        (ParameterIn::Query, "limit") => {
            p.required = Required::False;
            p.description.get_or_insert_with(|| {
                format!("How many items per page: 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).")
            });
            p.schema = Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(1))
                    .maximum(Some(MAX_LIMIT))
                    .default(Some(DEFAULT_LIMIT.into()))
                    .into(),
            );
        }
        (ParameterIn::Query, "cursor") => {
            p.required = Required::False;
            p.description.get_or_insert_with(|| {
                "Where the page starts: the `next_cursor` of the previous page, unchanged."
                    .to_owned()
            });
            // What `Cursor::encode` gives out: unpadded base64url, at most 512 characters
            // (`Cursor::decode`); an empty `cursor=` is not a cursor.
            p.schema = Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(512))
                    .pattern(Some("^[A-Za-z0-9_-]+$"))
                    .into(),
            );
        }
        (ParameterIn::Query, _) => {
            if let Some(RefOr::T(schema)) = p.schema.as_mut() {
                screen_schema(schema, "", QUERY_TEXT, &mut Vec::new());
            }
        }
        (ParameterIn::Header, name) if name.eq_ignore_ascii_case("If-Match") => {
            p.required = Required::True;
            p.description.get_or_insert_with(|| {
                "The `ETag` you last read (`\"3\"`, `W/\"3\"` or `3`); the change is refused with \
                 412 if the resource changed since."
                    .to_owned()
            });
        }
        _ => {}
    }
}

// What the server accepts in text, as patterns (`\uXXXX` escapes, which ECMA-262, Python's
// `re` and Rust's `regex` all read). Control characters (`char::is_control`, U+0000–U+001F and
// U+007F–U+009F) are refused in every JSON string but line breaks and tabs (`screen` in
// `src/api/json.rs`) and in every query parameter (`src/api/screen.rs`); the domain then
// refuses some of those too, and trims some fields before counting (`domain::error::text`).
// The trimmed whitespace is Unicode's White_Space, less the three the screen refuses (U+000B,
// U+000C, U+0085).
macro_rules! ws {
    () => {
        r"\t\n\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}
macro_rules! cc {
    () => {
        r"\u0000-\u001F\u007F-\u009F"
    };
}
macro_rules! cc_but_lines {
    () => {
        r"\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F"
    };
}
/// Any JSON string the screen lets through: no control characters but `\t`, `\n`, `\r`.
const BODY_TEXT: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";
/// A query parameter: no control characters at all.
const QUERY_TEXT: &str = concat!("^[^", cc!(), "]*$");
/// One line, counted as sent (`check_len`): no control characters.
const LINE: &str = concat!("^[^", cc!(), "]*$");
/// Lines, counted as sent: no control characters but line breaks.
const LINES: &str = concat!("^[^", cc_but_lines!(), "]*$");
/// One line, trimmed before it is counted and checked (`domain::error::text`): optional
/// whitespace around a core of `min..=max` characters (`min` at least 1) that starts and ends
/// with something else and holds no control character. The bounds go into the pattern, and
/// `minLength`/`maxLength` (which would count the whitespace) come off.
const TRIMMED_LINE: &str = "trimmed line";
/// Lines, trimmed: as [`TRIMMED_LINE`], line breaks allowed inside.
const TRIMMED_LINES: &str = "trimmed lines";

fn trimmed(inner: &str, max: Option<usize>) -> String {
    let edge = concat!("[^", ws!(), cc!(), "]");
    let middle = match max {
        Some(max) => format!("{{0,{}}}", max.saturating_sub(2)),
        None => "*".to_owned(),
    };
    format!(
        "^[{ws}]*{edge}(?:[^{inner}]{middle}{edge})?[{ws}]*$",
        ws = ws!()
    )
}

/// The request fields whose rule is stricter than the screen's, by `Component.property`
/// (`[]` for an array's items). Each names its check in `src/domain`; a test below keeps
/// the names in step with the document.
const TEXT_RULES: &[(&str, &str)] = &[
    ("CreateKeyBody.name", TRIMMED_LINE),
    ("CreateBody.title", TRIMMED_LINE),
    ("PatchBody.title", TRIMMED_LINE),
    ("RegisterBody.display_name", TRIMMED_LINE),
    ("CreateUserBody.display_name", TRIMMED_LINE),
    ("CreateBrandBody.name", TRIMMED_LINE),
    ("CreateSeasonBody.name", TRIMMED_LINE),
    ("UpdateSeasonBody.name", TRIMMED_LINE),
    ("Phase.name", TRIMMED_LINE),
    ("ReasonBody.reason", TRIMMED_LINES),
    ("Creative.headline", LINE),
    ("Creative.card_label", LINE),
    ("Targeting.interests[]", LINE),
    ("Creative.body", LINES),
    ("DecisionBody.note", LINES),
];

fn is_free_text(o: &utoipa::openapi::schema::Object) -> bool {
    let string = match &o.schema_type {
        SchemaType::Type(t) => *t == Type::String,
        SchemaType::Array(ts) => ts.contains(&Type::String),
        SchemaType::AnyValue => false,
    };
    let free_format = match &o.format {
        None => true,
        Some(SchemaFormat::KnownFormat(KnownFormat::Password)) => true,
        Some(SchemaFormat::Custom(f)) => f == "password",
        Some(_) => false,
    };
    string && free_format && o.enum_values.is_none() && o.pattern.is_none()
}

/// Puts on every free-text string in `schema` (found at `key`) the pattern of what the
/// server accepts there (`default` unless [`TEXT_RULES`] says otherwise), and collects the
/// components it refers to in `refs`.
fn screen_schema(schema: &mut Schema, key: &str, default: &str, refs: &mut Vec<String>) {
    let mut each = |s: &mut RefOr<Schema>, key: &str| match s {
        RefOr::Ref(r) => {
            if let Some(name) = r.ref_location.strip_prefix("#/components/schemas/") {
                refs.push(name.to_owned());
            }
        }
        RefOr::T(s) => screen_schema(s, key, default, refs),
    };
    match schema {
        Schema::Object(o) => {
            if is_free_text(o) {
                let rule = TEXT_RULES
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(default, |(_, p)| p);
                o.pattern = Some(match rule {
                    TRIMMED_LINE | TRIMMED_LINES => {
                        let inner = if rule == TRIMMED_LINE {
                            cc!()
                        } else {
                            cc_but_lines!()
                        };
                        let max = o.max_length.take();
                        o.min_length = None;
                        trimmed(inner, max)
                    }
                    _ => rule.to_owned(),
                });
            }
            for (name, p) in o.properties.iter_mut() {
                each(p, &format!("{key}.{name}"));
            }
            if let Some(extra) = o.additional_properties.as_deref_mut()
                && let AdditionalProperties::RefOr(s) = extra
            {
                each(s, &format!("{key}.*"));
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(s) = &mut a.items {
                each(s, &format!("{key}[]"));
            }
        }
        Schema::OneOf(x) => x.items.iter_mut().for_each(|s| each(s, key)),
        Schema::AllOf(x) => x.items.iter_mut().for_each(|s| each(s, key)),
        Schema::AnyOf(x) => x.items.iter_mut().for_each(|s| each(s, key)),
        _ => {}
    }
}

/// The JSON request body's inline schema; the components it names are collected.
fn screen_body_text(op: &mut Operation, refs: &mut Vec<String>) {
    let Some(RefOr::T(body)) = op.request_body.as_mut() else {
        return;
    };
    for content in body.content.values_mut() {
        if let RefOr::T(Content {
            schema: Some(schema),
            ..
        }) = content
        {
            match schema {
                RefOr::T(s) => screen_schema(s, "", BODY_TEXT, refs),
                RefOr::Ref(r) => {
                    if let Some(name) = r.ref_location.strip_prefix("#/components/schemas/") {
                        refs.push(name.to_owned());
                    }
                }
            }
        }
    }
}

/// Every component a request body reaches, directly or through others.
fn screen_component_text(
    schemas: &mut std::collections::BTreeMap<String, RefOr<Schema>>,
    mut pending: Vec<String>,
) {
    let mut done = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        if let Some(RefOr::T(schema)) = schemas.get_mut(&name) {
            screen_schema(schema, &name, BODY_TEXT, &mut pending);
        }
    }
}

/// `List<T>` is generic, so utoipa writes a copy of `T` into each `List_T`; point it
/// at the component `T` instead, so that generated clients get one type per resource.
fn link_list_items(schemas: &mut std::collections::BTreeMap<String, RefOr<Schema>>) {
    let names: Vec<String> = schemas
        .keys()
        .filter(|k| k.starts_with("List_"))
        .cloned()
        .collect();
    for list in names {
        let item = &list["List_".len()..];
        let Some(RefOr::T(item_schema)) = schemas.get(item).cloned() else {
            continue;
        };
        if let Some(RefOr::T(Schema::Object(obj))) = schemas.get_mut(&list)
            && let Some(RefOr::T(Schema::Array(items))) = obj.properties.get_mut("items")
            && matches!(&items.items, ArrayItems::RefOrSchema(s) if **s == RefOr::T(item_schema))
        {
            items.items =
                ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
        }
    }
}

// ---- schemas that exist only in the document ----

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_appends_only_missing_codes() {
        let mut d = String::from("`validation_failed`, `password_too_common`");
        mention(&mut d, &VALIDATION_FAILED);
        assert_eq!(d, "`validation_failed`, `password_too_common`");
        mention(&mut d, &IDEMPOTENCY_KEY_REUSED);
        mention(&mut d, &INVALID_IDEMPOTENCY_KEY);
        assert!(d.starts_with(
            "`validation_failed`, `password_too_common`\n\n- `idempotency_key_reused`: "
        ));
        assert!(d.contains(".\n- `invalid_idempotency_key`: "));
        let mut empty = String::new();
        mention(&mut empty, &UNAUTHORIZED);
        assert!(empty.starts_with("- `unauthorized`: "));
    }
}
