//! The `.eml` that `preview` writes, judged by an independent MIME parser:
//! Python's `email` package with the strict policy (`tests/judges/eml_check.py`).
//! Structure, CRLF, line lengths, encoded headers, the decoded subject.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = "issues/012-reviving-a-sleepy-starter.md";
const EXAMPLE_SUBJECT: &str =
    "#12: Reviving a sleepy starter, the 1:5:5 feed, and a rye that finally rose";
const SEED_SUBJECT: &str = "#40: Pinterest's ML for board organization, GAN-aided pixel art, and Bayesian optimization gets the Distill treatment";

/// True when python3 is here; otherwise reports the missing judge.
fn python_ready() -> bool {
    if common::has_program("python3", &["--version"]) {
        true
    } else {
        common::skip("python3 not found: the .eml judge (tests/judges/eml_check.py) needs it");
        false
    }
}

fn judge_script() -> PathBuf {
    common::root().join("tests/judges/eml_check.py")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `letterpress preview ISSUE --out DIR` and returns the `.eml` it wrote.
fn preview_eml(issue: &Path, out: &Path) -> PathBuf {
    let o = common::bin()
        .arg("preview")
        .arg(issue)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run letterpress");
    let stderr = text(&o.stderr);
    assert!(!stderr.contains("panicked"), "preview panicked:\n{stderr}");
    assert!(
        o.status.success(),
        "preview {} failed ({:?}):\n{stderr}",
        issue.display(),
        o.status
    );
    let stem = issue.file_stem().unwrap().to_string_lossy();
    let eml = out.join(format!("{stem}.eml"));
    assert!(eml.is_file(), "preview did not write {}", eml.display());
    eml
}

fn run_judge(eml: &Path, subject: &str) -> Output {
    Command::new("python3")
        .arg(judge_script())
        .arg(eml)
        .arg(subject)
        .output()
        .expect("run python3")
}

fn assert_judged_ok(eml: &Path, subject: &str) {
    let o = run_judge(eml, subject);
    // Warnings (header lines over 78 octets) are shown, not failed.
    eprint!("{}", text(&o.stderr));
    assert!(
        o.status.success(),
        "the strict MIME judge rejects {}:\n{}{}",
        eml.display(),
        text(&o.stdout),
        text(&o.stderr)
    );
}

#[test]
fn example_eml_passes_the_strict_mime_judge() {
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let eml = preview_eml(&common::root().join(EXAMPLE), dir.path());
    assert_judged_ok(&eml, EXAMPLE_SUBJECT);
}

#[test]
fn seed_eml_passes_the_strict_mime_judge() {
    let Some(seed) = common::seed() else {
        // The seed is reference material beside the checkout, not a judge:
        // its absence is not a CI failure.
        eprintln!("note: ../shared/seeds/dynamically-typed-040.md absent; seed .eml not judged");
        return;
    };
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let eml = preview_eml(&seed, dir.path());
    assert_judged_ok(&eml, SEED_SUBJECT);
}

/// A judge that passes everything proves nothing: damage a good message in
/// the ways we care about and make sure each is caught.
#[test]
fn the_judge_rejects_broken_messages() {
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let eml = preview_eml(&common::root().join(EXAMPLE), dir.path());
    let good = std::fs::read(&eml).unwrap();
    let good_text = text(&good);

    let replace = |from: &str, to: &str| -> Vec<u8> {
        assert!(
            good_text.contains(from),
            "{from:?} not in the sample message"
        );
        good_text.replacen(from, to, 1).into_bytes()
    };
    let long_line = format!("X-Long: {}\r\nMIME-Version:", "a".repeat(1200));
    let lf_only = good_text.replace("\r\n", "\n").into_bytes();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bare LF line endings", lf_only, "bare LF"),
        (
            "an 8-bit header",
            replace("MIME-Version:", "X-Note: café\r\nMIME-Version:"),
            "non-ASCII",
        ),
        (
            "a line over 998 octets",
            replace("MIME-Version:", &long_line),
            "998",
        ),
        (
            "no Message-ID",
            replace("Message-ID:", "X-Message-ID:"),
            "Message-ID",
        ),
        ("no List-Id", replace("List-Id:", "X-List-Id:"), "List-Id"),
        (
            "no List-Unsubscribe",
            replace("List-Unsubscribe:", "X-List-Unsubscribe:"),
            "List-Unsubscribe",
        ),
        ("HTML first", swap_parts(&good_text), "text/plain"),
        (
            "latin-1 charset",
            replace("charset=utf-8", "charset=iso-8859-1"),
            "charset",
        ),
    ];
    for (what, bytes, needle) in cases {
        let bad = dir.path().join("bad.eml");
        std::fs::write(&bad, bytes).unwrap();
        let o = run_judge(&bad, EXAMPLE_SUBJECT);
        let err = text(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(1),
            "judge accepted a message with {what}:\n{err}"
        );
        assert!(
            err.contains(needle),
            "judge's complaint about {what} lacks {needle:?}:\n{err}"
        );
    }
    let o = run_judge(&eml, "a different subject");
    assert_eq!(o.status.code(), Some(1), "judge accepted a wrong subject");
    assert!(text(&o.stderr).contains("Subject"));
}

/// Swaps the Content-Type lines of the two parts (HTML first, text last).
fn swap_parts(msg: &str) -> Vec<u8> {
    msg.replacen("Content-Type: text/plain", "Content-Type: text/XXX", 1)
        .replacen("Content-Type: text/html", "Content-Type: text/plain", 1)
        .replacen("Content-Type: text/XXX", "Content-Type: text/html", 1)
        .into_bytes()
}

/// Every issue the email judges see (each compose fixture, the example, the
/// repaired reference issue), composed with an address-free unsubscribe URL.
#[test]
fn every_email_issue_passes_the_strict_mime_judge() {
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config_path = common::token_config(dir.path());
    let issues = common::email_issues(dir.path(), &config_path);
    let config = letterpress::config::Config::from_file(&config_path).unwrap();
    let composer = letterpress::compose::Composer::new(&config).unwrap();
    let out = dir.path().join("out");
    let emls = common::preview_all(&config_path, &issues, &out);
    for (issue, (_, eml)) in issues.iter().zip(emls) {
        let subject = letterpress::pipeline::compose_file(&composer, issue)
            .unwrap()
            .email
            .subject;
        assert_judged_ok(&eml, &subject);
    }
}
