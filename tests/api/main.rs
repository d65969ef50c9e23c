//! Black-box tests through HTTP against a real PostgreSQL.

mod accounts;
mod applications;
mod audit;
mod brands;
mod campaigns;
mod console;
mod dashboard;
mod demo;
mod fixtures;
mod fuzz_findings;
mod gate;
mod helpers;
mod hostile;
mod openapi;
mod operator;
mod platform;
mod seasons;
mod whitelist;
