//! Bad input gets one clear error naming the file (and line), a non-zero
//! exit, and never a panic. Also: `check` flags mojibake (exit 3) and
//! `check --fix` repairs it, keeping a `.bak`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLE: &str = "issues/012-reviving-a-sleepy-starter.md";

/// What a finished `letterpress` run left behind.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error"))
            .collect()
    }

    /// Exactly one `error: ...` line, and it contains every needle.
    fn one_error_with(&self, needles: &[&str]) -> &Self {
        let errors = self.error_lines();
        assert_eq!(
            errors.len(),
            1,
            "expected exactly one error line, stderr was:\n{}",
            self.stderr
        );
        for n in needles {
            assert!(
                errors[0].contains(n),
                "the error should mention {n:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    fn exit(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs the command; whatever happens, it must not panic.
fn run(cmd: &mut Command) -> Run {
    let o = cmd.output().expect("run letterpress");
    let r = Run {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert!(
        !r.stderr.contains("panicked") && !r.stdout.contains("panicked"),
        "letterpress panicked:\n{}",
        r.stderr
    );
    assert!(
        r.code.is_some(),
        "letterpress was killed by a signal:\n{}",
        r.stderr
    );
    r
}

/// `letterpress preview FILE --out <tmp>/out` with the shipped config.
fn preview(file: &Path, tmp: &Path) -> Run {
    run(common::bin()
        .arg("preview")
        .arg(file)
        .arg("--out")
        .arg(tmp.join("out")))
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

/// 1-based number of the first line of `text` containing `needle`.
fn line_containing(text: &str, needle: &str) -> usize {
    1 + text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not found"))
}

/// A copy of the shipped `letterpress.toml` and `templates/` in a tempdir.
fn project_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = common::root();
    std::fs::copy(
        root.join("letterpress.toml"),
        dir.path().join("letterpress.toml"),
    )
    .unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    for e in std::fs::read_dir(root.join("templates")).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), templates.join(e.file_name())).unwrap();
        }
    }
    dir
}

#[test]
fn missing_issue_file() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-issue.md");
    preview(&missing, tmp.path())
        .exit(1)
        .one_error_with(&["no-such-issue.md"]);
    let r = run(common::bin().args(["check"]).arg(&missing));
    assert_ne!(r.code, Some(0), "{}", r.stderr);
    r.one_error_with(&["no-such-issue.md"]);
}

#[test]
fn missing_issue_number() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(common::bin()
        .args(["preview", "9999", "--out"])
        .arg(tmp.path()));
    r.exit(1).one_error_with(&["9999"]);
}

#[test]
fn unclosed_front_matter() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "unclosed.md",
        "---\ntitle: Hello\ndate: 2024-01-01\n\nBody text.\n",
    );
    preview(&f, tmp.path())
        .exit(1)
        .one_error_with(&[&format!("{}:1:", f.display()), "never closed"]);
}

#[test]
fn broken_yaml_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    // Line 4 continues the plain scalar of line 3 and then opens a mapping:
    // "mapping values are not allowed in this context" at line 4.
    let f = write(
        tmp.path(),
        "broken-yaml.md",
        "---\ntitle: Fine\ndate: 2024-01-01\n  nested: oops\nnumber: 3\n---\n\nBody.\n",
    );
    preview(&f, tmp.path())
        .exit(1)
        .one_error_with(&[&format!("{}:4:", f.display()), "YAML"]);
}

#[test]
fn broken_toml_front_matter_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "broken-toml.md",
        "+++\ntitle = \"Fine\"\nnumber = 3\ndate = \n+++\n\nBody.\n",
    );
    preview(&f, tmp.path())
        .exit(1)
        .one_error_with(&[&format!("{}:4:", f.display()), "TOML"]);
}

#[test]
fn missing_title() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "untitled.md",
        "---\ndate: 2024-01-01\nnumber: 3\n---\n\nBody.\n",
    );
    preview(&f, tmp.path())
        .exit(1)
        .one_error_with(&[&format!("{}:", f.display()), "title"]);
}

#[test]
fn no_front_matter_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "bare.md",
        "# Just Markdown\n\nNo front matter here.\n",
    );
    preview(&f, tmp.path())
        .exit(1)
        .one_error_with(&[&format!("{}:1:", f.display()), "front matter"]);
}

#[test]
fn invalid_utf8_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = b"---\ntitle: Fine\n---\n\nA good line.\nA bad byte: ".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b" here.\n");
    let f = write(tmp.path(), "latin.md", bytes);
    preview(&f, tmp.path())
        .exit(1)
        .one_error_with(&[&format!("{}:6:", f.display()), "UTF-8"]);
    let r = run(common::bin().arg("check").arg(&f));
    assert_ne!(r.code, Some(0));
    r.one_error_with(&[&format!("{}:6:", f.display()), "UTF-8"]);
}

#[test]
fn template_typo_names_template_and_line() {
    let dir = project_copy();
    let mjml = dir.path().join("templates/email.mjml");
    let source = std::fs::read_to_string(&mjml).unwrap();
    let line = line_containing(&source, "issue.title");
    std::fs::write(&mjml, source.replacen("issue.title", "issue.titel", 1)).unwrap();
    let r = run(common::bin()
        .arg("--config")
        .arg(dir.path().join("letterpress.toml"))
        .arg("preview")
        .arg(common::root().join(EXAMPLE))
        .arg("--out")
        .arg(dir.path().join("out")));
    r.exit(1).one_error_with(&[&format!("email.mjml:{line}:")]);
    assert!(
        !dir.path()
            .join("out/012-reviving-a-sleepy-starter.html")
            .exists(),
        "a broken template must not leave output behind"
    );
}

#[test]
fn template_syntax_error_names_template_and_line() {
    let dir = project_copy();
    let txt = dir.path().join("templates/email.txt");
    let mut source = std::fs::read_to_string(&txt).unwrap();
    if !source.ends_with('\n') {
        source.push('\n');
    }
    let line = source.matches('\n').count() + 1;
    std::fs::write(&txt, format!("{source}{{% if %}}\n")).unwrap();
    let r = run(common::bin()
        .arg("--config")
        .arg(dir.path().join("letterpress.toml"))
        .arg("preview")
        .arg(common::root().join(EXAMPLE))
        .arg("--out")
        .arg(dir.path().join("out")));
    r.exit(1).one_error_with(&[&format!("email.txt:{line}:")]);
}

#[test]
fn unknown_config_key_names_key_and_line() {
    let dir = project_copy();
    let toml = dir.path().join("letterpress.toml");
    let source = std::fs::read_to_string(&toml).unwrap();
    let line = line_containing(&source, "[newsletter]") + 1;
    std::fs::write(
        &toml,
        source.replacen("[newsletter]\n", "[newsletter]\ncolour = \"red\"\n", 1),
    )
    .unwrap();
    let r = run(common::bin()
        .arg("--config")
        .arg(&toml)
        .arg("preview")
        .arg(common::root().join(EXAMPLE))
        .arg("--out")
        .arg(dir.path().join("out")));
    r.exit(1)
        .one_error_with(&[&format!("letterpress.toml:{line}:"), "colour"]);
}

#[test]
fn bad_config_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere/letterpress.toml");
    let r = run(common::bin()
        .arg("--config")
        .arg(&missing)
        .arg("preview")
        .arg(common::root().join(EXAMPLE))
        .arg("--out")
        .arg(tmp.path().join("out")));
    r.exit(1).one_error_with(&[&missing.display().to_string()]);
    // A directory where the file should be.
    let r = run(common::bin()
        .arg("--config")
        .arg(tmp.path())
        .arg("check")
        .arg(common::root().join(EXAMPLE)));
    r.exit(1)
        .one_error_with(&[&tmp.path().display().to_string()]);
}

/// The author's text, and the same text after its UTF-8 bytes were read as
/// Mac Roman (’ → ‚Äô, “ → ‚Äú, ” → ‚Äù, — → ‚Äî), as in the seed.
const ORIGINAL: &str = "---\ntitle: A test of curly quotes\n---\n\nIt\u{2019}s the \u{201c}best\u{201d} loaf yet \u{2014} honestly.\nDon\u{2019}t let the crumb fool you; it\u{2019}s \u{201c}open\u{201d} enough.\n";
const MOJIBAKE: &str = "---\ntitle: A test of curly quotes\n---\n\nIt\u{201a}\u{c4}\u{f4}s the \u{201a}\u{c4}\u{fa}best\u{201a}\u{c4}\u{f9} loaf yet \u{201a}\u{c4}\u{ee} honestly.\nDon\u{201a}\u{c4}\u{f4}t let the crumb fool you; it\u{201a}\u{c4}\u{f4}s \u{201a}\u{c4}\u{fa}open\u{201a}\u{c4}\u{f9} enough.\n";

#[test]
fn check_reports_mojibake_and_fix_repairs_it() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "mojibake.md", MOJIBAKE);

    let r = run(common::bin().arg("check").arg(&f));
    r.exit(3);
    assert!(
        r.stderr
            .lines()
            .chain(r.stdout.lines())
            .any(|l| l.contains("mojibake")),
        "check should report a `mojibake` line:\n{}{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        MOJIBAKE,
        "check without --fix must not write"
    );

    let r = run(common::bin().args(["check", "--fix"]).arg(&f));
    r.exit(0);
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        ORIGINAL,
        "--fix must restore the author's text"
    );
    let bak = tmp.path().join("mojibake.md.bak");
    assert_eq!(
        std::fs::read_to_string(&bak).unwrap(),
        MOJIBAKE,
        "--fix must keep the original as .bak"
    );

    let r = run(common::bin().arg("check").arg(&f));
    r.exit(0);
    assert!(!r.stderr.contains("mojibake"), "{}", r.stderr);
}

/// Output cut short (`letterpress check … | head -c0`) ends the process by
/// SIGPIPE, as Unix tools do, never with a panic (exit 101) in `println!`.
#[cfg(unix)]
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let mut child = common::bin()
        .args(["check", "issues/012-reviving-a-sleepy-starter.md"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the command prints its report.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?} {stderr}",
        out.status
    );
}
