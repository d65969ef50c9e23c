//! Pure rules and types: no I/O, nothing of HTTP. Imports nothing of ours but domain.

pub mod actor;
pub mod application;
pub mod brand;
pub mod campaign;
pub mod error;
pub mod page;
pub mod season;
pub mod time;
pub mod url;
pub mod user;
pub mod version;
pub mod whitelist;
