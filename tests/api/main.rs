//! Black-box tests through HTTP against a real PostgreSQL.

/// Columns and values that make an application complete, for fixtures that insert rows
/// past submit (the database refuses an incomplete one: `applications_complete_past_submit`).
macro_rules! parts_columns {
    () => {
        "creative, landing, requested_starts_at, requested_ends_at, budget_total_fen, \
         budget_cpm_bid_fen"
    };
}
macro_rules! parts_values {
    () => {
        "'{\"headline\": \"Ad\", \"body\": \"\", \"card_label\": \"Tmall flagship store\", \
         \"logo_url\": \"https://img.example.com/l.png\", \
         \"image_urls\": [\"https://img.example.com/1.png\"]}', \
         '{\"app_url\": \"tmall://page.tm/shop?id=1\", \"web_url\": \"https://shop.tmall.com/\"}', \
         '2027-06-05Z', '2027-06-18Z', 1000000, 3000"
    };
}

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
mod secrets;
mod whitelist;
