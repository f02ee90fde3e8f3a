//! Links the `letterpress` binary as a position-dependent executable on
//! Linux. `preview` and `check` run as short processes, and a PIE binary of
//! this size spends about a millisecond at every start applying ~27,000
//! relocations (each written page is a copy-on-write fault); a non-PIE
//! binary needs none. The trade: the executable's own code is not placed at
//! a random address (shared libraries, heap and stack still are), as with
//! Go's default Linux builds. Build with `LETTERPRESS_PIE=1` to keep PIE.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LETTERPRESS_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let keep_pie = std::env::var("LETTERPRESS_PIE").is_ok_and(|v| v == "1");
    if linux && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
