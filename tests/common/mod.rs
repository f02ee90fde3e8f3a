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
        openssl(dir, args);
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

/// A finished command's standard output and standard error, as text.
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Where a scratch project's config takes its issues from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Issues {
    /// The shipped `issues/`, by absolute path; the journal in the project's
    /// `journal/`.
    Shipped,
    /// The project's own `issues/` folder; journal and store in their
    /// default place (`.letterpress/`).
    Own,
}

/// The shipped `letterpress.toml`, fit for a project in a scratch folder:
/// `templates` by absolute path, issues as `issues` says, and each
/// `(header, lines)` of `inserts` written right after that section header
/// (e.g. `("[smtp]", "connections = 1\n")`).
pub fn scratch_config(issues: Issues, inserts: &[(&str, &str)]) -> String {
    let root = root();
    let shipped = std::fs::read_to_string(root.join("letterpress.toml")).unwrap();
    let mut config = String::new();
    for line in shipped.lines() {
        if line.starts_with("templates = ") {
            config.push_str(&format!(
                "templates = {:?}\n",
                root.join("templates").display().to_string()
            ));
        } else if line.starts_with("issues = ") && issues == Issues::Shipped {
            config.push_str(&format!(
                "issues = {:?}\n",
                root.join("issues").display().to_string()
            ));
        } else if line == "[paths]" && issues == Issues::Shipped {
            config.push_str("[paths]\njournal = \"journal\"\n");
        } else {
            config.push_str(line);
            config.push('\n');
        }
        if let Some((_, lines)) = inserts.iter().find(|(h, _)| *h == line) {
            config.push_str(lines);
        }
    }
    config
}

/// A minimal project for the sending fault tests: `n` subscribers
/// `r<i>@<domain>`, the shipped templates and issues, `connections`
/// connections to an SMTP URL every test overrides with `--smtp`, and fast
/// retries.
pub fn minimal_project(
    name: &str,
    domain: &str,
    n: usize,
    connections: usize,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = root();
    let config = format!(
        r#"
[newsletter]
name = "{name}"
from = "{name} <news@{domain}>"
web_url = "https://{domain}"
postal_address = "1 Test Street"
[paths]
templates = {t:?}
issues = {i:?}
journal = "journal"
[listen]
public_url = "https://{domain}"
[smtp]
url = "smtp://127.0.0.1:1"
connections = {connections}
retry_delay_seconds = 0.05
"#,
        t = root.join("templates").display().to_string(),
        i = root.join("issues").display().to_string(),
    );
    std::fs::write(dir.path().join("letterpress.toml"), config).unwrap();
    let subs: String = (0..n)
        .map(|i| format!("[[subscriber]]\nemail = \"r{i}@{domain}\"\n"))
        .collect();
    std::fs::write(dir.path().join("subscribers.toml"), subs).unwrap();
    dir
}

/// `letterpress send --yes` of the shipped issue 12 in a [`minimal_project`]
/// to the SMTP server on loopback `port`, with `secret` as the list secret
/// and no standard input.
pub fn minimal_send(dir: &Path, port: u16, secret: &str) -> Command {
    let mut c = bin();
    c.arg("--config")
        .arg(dir.join("letterpress.toml"))
        .arg("send")
        .arg(root().join("issues/012-reviving-a-sleepy-starter.md"))
        .args(["--yes", "--smtp", &format!("smtp://127.0.0.1:{port}")])
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", secret)
        .stdin(std::process::Stdio::null());
    c
}

/// The headless browser the page tests drive.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Why the Chromium judge (node, `/usr/bin/chromium`, playwright-core in
/// tests/browser) cannot run, or `None` when it can.
pub fn chromium_missing() -> Option<String> {
    if !has_program("node", &["--version"]) {
        return Some("node is not installed (apt-get install nodejs npm)".into());
    }
    if !Path::new(CHROMIUM).exists() || !has_program(CHROMIUM, &["--version"]) {
        return Some(format!("{CHROMIUM} is missing (apt-get install chromium)"));
    }
    let pw = root().join("tests/browser/node_modules/playwright-core/package.json");
    if !pw.is_file() {
        return Some("playwright-core is not installed (npm ci --prefix tests/browser)".into());
    }
    None
}

/// Runs the openssl CLI with `args` in `dir`; its standard output. Fails
/// the test, with openssl's words, when it fails.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
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
    o.stdout
}
