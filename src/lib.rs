#![forbid(unsafe_code)]
//! moments-gate: which brands may run WeChat Moments ads that lead into their Tmall
//! stores. See README.md and ../shared/SPEC.md.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod flow;
pub mod gate;
pub mod housekeeping;
pub mod idempotency;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod pgboot;
pub mod state;
pub mod store;

/// The migrations, embedded in the binary. sqlx applies them under a PostgreSQL
/// advisory lock, so instances that start together do not race.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
