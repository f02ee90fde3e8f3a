//! Helpers shared by the integration tests: the shipped example, the
//! `../shared` corpus, and outside judges (Python, aiosmtpd, Chromium...).
//!
//! A judge that is missing makes its test print `SKIPPED: <why>` and pass,
//! unless `LETTERPRESS_REQUIRE_JUDGES=1` (set by `.ci/run`), where a missing
//! judge fails the test: CI skips nothing.
#![allow(dead_code)]

pub mod capture;
pub mod dovecot;

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

/// A copy of the shipped `letterpress.toml` in `dir` whose unsubscribe URL
/// is the opaque-token form `https://…/unsubscribe/{token}` (no address in
/// any URL), with the shipped `templates/` by absolute path.
pub fn token_config(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("letterpress.toml")).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("url = \"https://") && l.contains("unsubscribe") {
                "url = \"https://sourdough-ledger.example/unsubscribe/{token}\"".to_string()
            } else if l.starts_with("templates = ") {
                format!("templates = \"{}\"", root().join("templates").display())
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    let path = dir.join("letterpress.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The issues every email judge sees: each compose fixture, the shipped
/// example, and (when `../shared` is present) the reference issue, copied
/// into `dir` and repaired there with `letterpress check --fix`.
pub fn email_issues(dir: &Path, config: &Path) -> Vec<PathBuf> {
    let mut issues = markdown_files(&root().join("tests/fixtures/compose"));
    issues.extend(markdown_files(&root().join("issues")));
    if let Some(seed) = seed() {
        let copy = dir.join("dynamically-typed-040.md");
        std::fs::copy(&seed, &copy).unwrap();
        let o = bin()
            .arg("--config")
            .arg(config)
            .arg("check")
            .arg("--fix")
            .arg(&copy)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "check --fix panicked: {err}");
        issues.push(copy);
    } else {
        eprintln!("note: ../shared absent; the reference issue is not judged");
    }
    issues
}

/// `letterpress preview` of each issue into `out`; the `.html` and `.eml` paths.
pub fn preview_all(config: &Path, issues: &[PathBuf], out: &Path) -> Vec<(PathBuf, PathBuf)> {
    issues
        .iter()
        .map(|issue| {
            let o = bin()
                .arg("--config")
                .arg(config)
                .arg("preview")
                .arg(issue)
                .arg("--out")
                .arg(out)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "preview {}: {}",
                issue.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            let stem = issue.file_stem().unwrap().to_string_lossy().into_owned();
            (
                out.join(format!("{stem}.html")),
                out.join(format!("{stem}.eml")),
            )
        })
        .collect()
}

/// Writes a CA (`ca.pem`) and a server certificate for localhost and
/// 127.0.0.1 (`server.pem`, `server.key`) into `dir` with openssl; false
/// (after [`skip`]) when openssl is missing.
pub fn certificates(dir: &Path) -> bool {
    certificates_for(dir, &[])
}

/// [`certificates`], the server certificate also naming the host names
/// `names` (e.g. an /etc/hosts alias of 127.0.0.1).
pub fn certificates_for(dir: &Path, names: &[&str]) -> bool {
    if !has_program("openssl", &["version"]) {
        skip("openssl is needed to make test certificates");
        return false;
    }
    let openssl = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=letterpress test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        format!(
            "subjectAltName=DNS:localhost,IP:127.0.0.1{}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            names.iter().map(|n| format!(",DNS:{n}")).collect::<String>()
        ),
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    true
}
