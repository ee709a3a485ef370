// Compiles the PostgreSQL variant of every integration test only when TEST_DATABASE_URL is
// set, so a machine without PostgreSQL runs (and counts) the SQLite variants alone, and a
// PostgreSQL test never passes by skipping itself.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
