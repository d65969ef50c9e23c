//! HTTP handlers, one module per resource; thin: authorise, parse, call, answer.

pub mod accounts;
pub mod api_keys;
pub mod applications;
pub mod audit;
pub mod brands;
pub mod campaigns;
pub mod dashboard;
pub mod gate;
pub mod health;
pub mod json;
pub mod limits;
pub mod page;
pub mod precondition;
pub mod review;
pub mod screen;
pub mod seasons;
pub mod tx;
pub mod users;
pub mod whitelist;

use utoipa_actix_web::service_config::ServiceConfig;

/// Everything under `/v1`. The gate comes first: actix tries routes in the order they are
/// registered (each dynamic one is a regex match), and the gate is the hot path.
pub fn configure(cfg: &mut ServiceConfig) {
    gate::configure(cfg);
    cfg.service(accounts::register)
        .service(accounts::login)
        .service(accounts::logout)
        .service(accounts::me)
        .service(accounts::change_password)
        .service(users::create)
        .service(users::list)
        .service(users::disable)
        .service(api_keys::create)
        .service(api_keys::list)
        .service(api_keys::revoke);
    brands::configure(cfg);
    seasons::configure(cfg);
    applications::configure(cfg);
    review::configure(cfg);
    whitelist::configure(cfg);
    campaigns::configure(cfg);
    dashboard::configure(cfg);
    audit::configure(cfg);
}
