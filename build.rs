//! Links the `letterpress` binary as a position-dependent executable on
//! Linux. `preview` and `check` run as short processes, and a PIE binary of
//! this size spends about a millisecond at every start applying ~27,000
//! relocations (each written page is a copy-on-write fault); a non-PIE
//! binary needs none. The trade: the executable's own code is not placed at
//! a random address (shared libraries, heap and stack still are), as with
//! Go's default Linux builds. Build with `LETTERPRESS_PIE=1` to keep PIE.
//! Only dynamically linked glibc builds are changed: static and musl builds
//! are linked `-static-pie`, which `-no-pie` would undo.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LETTERPRESS_PIE");
    let cfg = |key: &str| std::env::var(key).unwrap_or_default();
    let glibc_dynamic = cfg("CARGO_CFG_TARGET_OS") == "linux"
        && cfg("CARGO_CFG_TARGET_ENV") == "gnu"
        && !cfg("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static");
    let keep_pie = cfg("LETTERPRESS_PIE") == "1";
    if glibc_dynamic && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
