//! `letterpress init` as a new author runs it: a fresh folder, a second run
//! refused, and then, in the new folder under git, a preview, a dry run, a
//! list send to a real SMTP server (aiosmtpd) and `check --fix`, after which
//! `git status` shows no file holding addresses or secrets as addable.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run(dir: &Path, args: &[&str]) -> Output {
    common::bin()
        .current_dir(dir)
        .args(args)
        .env(
            "LETTERPRESS_UNSUBSCRIBE_SECRET",
            "init-test-secret-init-test-secret",
        )
        .env_remove("LETTERPRESS_SMTP_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "letterpress {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn init_writes_a_folder_that_previews() {
    let tmp = tempfile::tempdir().unwrap();
    let stdout = ok(tmp.path(), &["init", "news"]);
    let dir = tmp.path().join("news");
    for f in [
        "letterpress.toml",
        ".gitignore",
        "subscribers.example.toml",
        "issues/001-welcome.md",
        "templates/email.mjml",
        "templates/email.txt",
        "templates/new-issue.md",
    ] {
        assert!(dir.join(f).is_file(), "{f} not written");
        assert!(stdout.contains(&format!("created news/{f}")), "{stdout}");
    }
    // The embedded templates are the shipped ones.
    assert_eq!(
        std::fs::read_to_string(dir.join("templates/email.mjml")).unwrap(),
        std::fs::read_to_string(common::root().join("templates/email.mjml")).unwrap()
    );
    let preview = ok(&dir, &["preview", "1"]);
    assert!(preview.contains("out/001-welcome.eml"), "{preview}");
    let check = run(&dir, &["check", "1"]);
    assert!(check.status.success(), "{}", stderr(&check));
    // `new` continues from the first issue.
    let new = ok(&dir, &["new", "--title", "Second"]);
    assert_eq!(new.trim(), "issues/002-second.md");
}

#[test]
fn init_refuses_a_folder_with_its_files_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    ok(tmp.path(), &["init"]);
    std::fs::write(tmp.path().join("letterpress.toml"), "# mine\n").unwrap();
    std::fs::remove_file(tmp.path().join(".gitignore")).unwrap();
    let out = run(tmp.path(), &["init", "."]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("letterpress.toml already exists") && e.contains("writes nothing"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("letterpress.toml")).unwrap(),
        "# mine\n"
    );
    assert!(!tmp.path().join(".gitignore").exists(), "nothing written");
}

#[test]
fn a_missing_config_says_to_run_init() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), &["preview", "x"]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("letterpress.toml: no configuration file here")
            && e.contains("run `letterpress init`"),
        "{e}"
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn private_files_stay_out_of_git() {
    if !common::has_program("git", &["--version"]) {
        common::skip("git is needed to see what the .gitignore keeps out");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("news");
    ok(tmp.path(), &["init", "news"]);
    git(&dir, &["init", "-q"]);
    std::fs::copy(
        dir.join("subscribers.example.toml"),
        dir.join("subscribers.toml"),
    )
    .unwrap();

    ok(&dir, &["preview", "1"]);
    ok(&dir, &["send", "1", "--dry-run"]);
    assert!(dir.join("outbox/issue-1").is_dir());

    let mail = tempfile::tempdir().unwrap();
    let Some(server) = common::capture::Capture::start(mail.path(), &[]) else {
        return;
    };
    let url = format!("smtp://127.0.0.1:{}", server.port);
    ok(&dir, &["send", "1", "--yes", "--smtp", &url]);
    let journal = dir.join(".letterpress/journal/issue-1.journal");
    assert!(journal.is_file(), "no journal at {}", journal.display());
    let delivered = std::fs::read_dir(mail.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(
        delivered, 3,
        "ada, grace and émile are the active subscribers"
    );

    // Mojibake for `check --fix` to repair, which keeps a .bak of the original.
    let issue = dir.join("issues/001-welcome.md");
    let text = std::fs::read_to_string(&issue).unwrap();
    std::fs::write(&issue, text.replace("very first", "veryâ€™s first")).unwrap();
    ok(&dir, &["check", "--fix", "1"]);
    assert!(dir.join("issues/001-welcome.md.bak").is_file());

    let status = git(
        &dir,
        &[
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all",
        ],
    );
    let addable: Vec<&str> = status
        .lines()
        .filter_map(|l| l.strip_prefix("?? "))
        .collect();
    let allowed = |p: &str| {
        matches!(
            p,
            "letterpress.toml" | ".gitignore" | "subscribers.example.toml"
        ) || (p.starts_with("issues/") && p.ends_with(".md"))
            || p.starts_with("templates/")
    };
    let private: Vec<&&str> = addable.iter().filter(|p| !allowed(p)).collect();
    assert!(private.is_empty(), "git would add {private:?}:\n{status}");
    let ignored: Vec<&str> = status
        .lines()
        .filter_map(|l| l.strip_prefix("!! "))
        .collect();
    for p in [
        "subscribers.toml",
        "out/001-welcome.eml",
        "issues/001-welcome.md.bak",
        ".letterpress/journal/issue-1.journal",
    ] {
        assert!(ignored.contains(&p), "{p} is not ignored:\n{status}");
    }
    assert!(
        ignored.iter().any(|p| p.starts_with("outbox/issue-1/")),
        "{status}"
    );
}
