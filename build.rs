// `sqlx::migrate!` embeds ./migrations at compile time; without this, adding a migration
// would not rebuild the binary that must run it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
