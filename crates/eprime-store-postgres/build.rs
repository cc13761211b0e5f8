//! `sqlx::migrate!` embeds `migrations/` when the crate compiles, but on stable Rust cargo does not
//! know the macro read that folder: without this, a new migration file would not be built in until
//! some other change made the crate compile again.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
