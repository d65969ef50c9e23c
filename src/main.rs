#![forbid(unsafe_code)]

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    moments_gate::cli::run(args).await
}
