#![forbid(unsafe_code)]

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = <moments_gate::cli::Cli as clap::Parser>::parse();
    moments_gate::cli::run(cli).await
}
