//! Compiles the PostgreSQL twins of the API tests in as runnable only when a PostgreSQL server is
//! configured (`PB_TEST_POSTGRES_URL`), and the mail tests only when a Python with aiosmtpd is
//! (`PB_TEST_SMTP_PYTHON`); otherwise they are marked ignored, so a plain `cargo test` reports
//! them as not run instead of counting them as passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pb_postgres)");
    println!("cargo::rerun-if-env-changed=PB_TEST_POSTGRES_URL");
    println!("cargo::rustc-check-cfg=cfg(pb_smtp)");
    println!("cargo::rerun-if-env-changed=PB_TEST_SMTP_PYTHON");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("PB_TEST_POSTGRES_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=pb_postgres");
    }
    if std::env::var_os("PB_TEST_SMTP_PYTHON").is_some_and(|python| !python.is_empty()) {
        println!("cargo::rustc-cfg=pb_smtp");
    }
}
