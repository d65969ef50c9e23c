//! The OpenAPI 3.1 document served at `/openapi.json`.
//!
//! Each handler describes itself (`#[utoipa::path]`: its body, its answers and the
//! errors of its own rules). What SPEC §6 makes true of every endpoint — problem+json
//! errors, 401 without a token, 503 without the database, 400/413/415/422 on a JSON
//! body, 404 on a path id, `Idempotency-Key` on every POST, `If-Match` on every PATCH,
//! the bounds of `limit` — is added here by [`Conventions`], by rule, so an endpoint
//! added later gets it without anyone remembering. The rules only add what is missing
//! and fix content types; a handler's own declaration and its description are kept.

use crate::error::{FieldError, Problem};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "moments-gate",
        description = "Which brands may run WeChat Moments ads that lead into their Tmall stores: \
the application and review flow, the per-season whitelist, campaigns, and the serving gate.\n\n\
Every error is `application/problem+json` (RFC 9457) with a stable machine-readable `code`; a \
422 lists each invalid field in `errors`. Lists answer `{items, next_cursor}` and take `limit` \
(1 to 200, default 50) and an opaque `cursor`. Every POST accepts an `Idempotency-Key`. \
Resources with a `version` send it as `ETag`; PATCH needs `If-Match`."
    ),
    tags(
        (name = "auth", description = "Sign-up, sign-in, sign-out and the caller's own account."),
        (name = "users", description = "Accounts, managed by admins."),
        (name = "api-keys", description = "Service keys for the ad-serving side, managed by admins."),
        (name = "brands", description = "Brands, their members and their verification."),
        (name = "seasons", description = "Promotional seasons (618, Double 11, …)."),
        (name = "applications", description = "Applications to run in a season, and their lifecycle."),
        (name = "review", description = "The review queue and the reviewers' steps."),
        (name = "whitelist", description = "Which brand may run in which season."),
        (name = "campaigns", description = "What an approved application became."),
        (name = "gate", description = "May this campaign serve now? For the ad-serving side."),
        (name = "dashboard", description = "Figures for staff."),
        (name = "audit", description = "The audit trail, for admins."),
        (name = "platform", description = "Probes, metrics and this document."),
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token (`mgs_…`) from POST /v1/auth/login, or a service key \
                         (`mgk_…`), which only the gate (`/v1/gate/…`) accepts.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document for `openapi`, the handlers' own description collected by
/// utoipa-actix-web: [`Conventions`] applied.
mod conventions;

pub use conventions::Conventions;

pub fn finish(mut openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    Conventions.modify(&mut openapi);
    openapi
}

/// The answer of the probes.
#[derive(Serialize, ToSchema)]
pub struct Probe {
    /// `ok` from /healthz, `ready` from /readyz.
    #[schema(example = "ok")]
    pub status: String,
}

/// The answer of a decision: the application, or for `approve`
/// `{application, whitelist_entry, campaign}`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum DecisionAnswer {
    Application(Box<crate::domain::application::Application>),
    Approval(Box<crate::flow::applications::Approval>),
}
