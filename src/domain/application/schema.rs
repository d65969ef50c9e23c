//! OpenAPI schemas of application fields that a derive cannot say: bounded arrays and the
//! reason codes. They describe the same rules as `parts` and `reasons`, from their constants.

use super::parts::{GENDERS, MAX_IMAGES, MAX_INTERESTS, REGIONS};
use super::reasons::ReasonCode;
use utoipa::openapi::schema::{
    ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};

fn string_enum(values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

fn https_url() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uri".into())))
        .max_length(Some(crate::domain::url::MAX_LEN))
}

/// `creative.image_urls`: 1 to 9 https URLs.
pub fn image_urls() -> Schema {
    ArrayBuilder::new()
        .items(https_url().description(Some("An https URL.")))
        .min_items(Some(1))
        .max_items(Some(MAX_IMAGES))
        .description(Some("1 to 9 https image URLs."))
        .build()
        .into()
}

/// `targeting.regions`: ISO 3166-2:CN codes, each once.
pub fn regions() -> Schema {
    ArrayBuilder::new()
        .items(string_enum(REGIONS))
        .unique_items(true)
        .description(Some(
            "ISO 3166-2:CN codes such as \"CN-SH\", each once; empty means all.",
        ))
        .default(Some(serde_json::json!([])))
        .build()
        .into()
}

/// `targeting.genders`: a subset of female and male.
pub fn genders() -> Schema {
    ArrayBuilder::new()
        .items(string_enum(GENDERS))
        .unique_items(true)
        .max_items(Some(GENDERS.len()))
        .description(Some("A subset of [\"female\", \"male\"]; empty means all."))
        .default(Some(serde_json::json!([])))
        .build()
        .into()
}

/// `targeting.interests`: at most 50, each 1 to 50 characters.
pub fn interests() -> Schema {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(50)),
        )
        .max_items(Some(MAX_INTERESTS))
        .description(Some("At most 50 interests of 1 to 50 characters each."))
        .default(Some(serde_json::json!([])))
        .build()
        .into()
}

fn reason_codes() -> ObjectBuilder {
    string_enum(ReasonCode::ALL.map(ReasonCode::as_str))
}

/// A rejection reason code (GET /v1/reason-codes).
pub fn reason_code() -> Schema {
    reason_codes()
        .description(Some(
            "Why the application was rejected or sent back; see GET /v1/reason-codes.",
        ))
        .build()
        .into()
}

/// A reason code, or null.
pub fn optional_reason_code() -> Schema {
    OneOfBuilder::new()
        .item(reason_codes())
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "Required for `reject` and `request_changes`, absent for `approve`: a code from \
             GET /v1/reason-codes.",
        ))
        .build()
        .into()
}

/// The reason code of a decision: null for `approve`.
pub fn reason_code_or_null() -> Schema {
    OneOfBuilder::new()
        .item(reason_codes())
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "Why it was rejected or sent back (see GET /v1/reason-codes); null for `approve`.",
        ))
        .build()
        .into()
}
