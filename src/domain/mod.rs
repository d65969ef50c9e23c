//! Pure rules and types: no I/O.

pub mod application;
pub mod brand;
pub mod campaign;
pub mod season;
pub mod user;
pub mod whitelist;
