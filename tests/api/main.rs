//! Black-box tests through HTTP against a real PostgreSQL.

mod accounts;
mod applications;
mod brands;
mod campaigns;
mod demo;
mod gate;
mod helpers;
mod platform;
mod seasons;
mod whitelist;
