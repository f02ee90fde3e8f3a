//! Helpers shared by the integration tests: the shipped example, the
//! `../shared` corpus, and outside judges (Python, aiosmtpd, Chromium...).
//!
//! A judge that is missing makes its test print `SKIPPED: <why>` and pass,
//! unless `LETTERPRESS_REQUIRE_JUDGES=1` (set by `.ci/run`), where a missing
//! judge fails the test: CI skips nothing.
#![allow(dead_code)]

pub mod capture;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `letterpress` binary built for this test run.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_letterpress"));
    c.current_dir(root());
    c
}

/// True when CI demands every judge.
pub fn judges_required() -> bool {
    std::env::var("LETTERPRESS_REQUIRE_JUDGES").is_ok_and(|v| v == "1")
}

/// Call when a judge is missing: fails under `.ci/run`, else prints why and returns.
pub fn skip(why: &str) {
    if judges_required() {
        panic!("judge missing but LETTERPRESS_REQUIRE_JUDGES=1: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// `../shared` beside the checkout, if present.
pub fn shared() -> Option<PathBuf> {
    let p = root().join("../shared");
    p.is_dir().then_some(p)
}

/// The reference seed issue, if `../shared` is present.
pub fn seed() -> Option<PathBuf> {
    shared()
        .map(|s| s.join("seeds/dynamically-typed-040.md"))
        .filter(|p| p.is_file())
}

/// Every `.md` file under `dir`, sorted.
pub fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// True when `program --version` (or `args`) runs.
pub fn has_program(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True when `python3 -c "import <module>"` works.
pub fn has_python_module(module: &str) -> bool {
    has_program("python3", &["-c", &format!("import {module}")])
}
