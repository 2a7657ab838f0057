//! Records the linfa and polars versions from Cargo.lock for the
//! reproducibility stamp.

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    for (krate, variable) in [
        ("linfa", "DSLP_LINFA_VERSION"),
        ("polars", "DSLP_POLARS_VERSION"),
    ] {
        let marker = format!("name = \"{krate}\"\nversion = \"");
        let version = lock
            .find(&marker)
            .and_then(|at| lock[at + marker.len()..].split('"').next())
            .unwrap_or("unknown");
        println!("cargo:rustc-env={variable}={version}");
    }
}
