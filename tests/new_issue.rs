//! `letterpress new` as a whole command, in a scratch newsletter directory.

mod common;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use letterpress::issue::Issue;

/// A newsletter directory whose config uses the repository's templates.
fn newsletter(cadence: Option<u32>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(common::root().join("letterpress.toml")).unwrap();
    let mut table: toml::Table = toml::from_str(&text).unwrap();
    let paths = table
        .entry("paths")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .unwrap();
    paths.insert("issues".into(), "issues".into());
    paths.insert(
        "templates".into(),
        common::root()
            .join("templates")
            .to_string_lossy()
            .into_owned()
            .into(),
    );
    let schedule = table
        .entry("schedule")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .unwrap();
    match cadence {
        Some(c) => {
            schedule.insert("cadence_days".into(), i64::from(c).into());
        }
        None => {
            schedule.remove("cadence_days");
        }
    }
    std::fs::write(
        dir.path().join("letterpress.toml"),
        toml::to_string(&table).unwrap(),
    )
    .unwrap();
    dir
}

fn issue(dir: &Path, name: &str, front: &str) {
    std::fs::create_dir_all(dir.join("issues")).unwrap();
    std::fs::write(
        dir.join("issues").join(name),
        format!("---\n{front}---\n\nBody.\n"),
    )
    .unwrap();
}

/// Runs `letterpress new <args>` in `dir`; returns (exit code, stdout, stderr).
fn new(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = common::bin()
        .current_dir(dir)
        .arg("new")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn writes_the_next_issue_after_the_last_one() {
    let dir = newsletter(None);
    let d = dir.path();
    issue(
        d,
        "011-starter.md",
        "title: \"#11: Starter\"\ndate: 2026-11-08\nnumber: 11\n",
    );
    issue(
        d,
        "012-rye.md",
        "title: \"#12: Rye\"\ndate: 2026-11-22\nnumber: 12\n",
    );

    let (code, stdout, stderr) = new(d, &["--title", "Rye, again: the \"sequel\""]);
    assert_eq!(code, 0, "{stderr}");
    let path = PathBuf::from(stdout.trim());
    assert_eq!(
        path,
        Path::new("issues/013-rye-again-the-sequel.md"),
        "{stdout}"
    );
    let written = Issue::from_file(&d.join(&path)).unwrap();
    assert_eq!(written.front.number, Some(13));
    assert_eq!(
        written.front.date,
        Some(date("2026-12-06")),
        "2026-11-22 + 14 days"
    );
    assert_eq!(written.front.title, "#13: Rye, again: the \"sequel\"");
    assert!(written.front.draft, "a new issue starts as a draft");
    let skeleton = std::fs::read_to_string(common::root().join("templates/new-issue.md")).unwrap();
    let first_body_line = skeleton
        .split("---")
        .nth(2)
        .and_then(|b| b.lines().find(|l| !l.trim().is_empty()))
        .unwrap()
        .replace("{{ number }}", "13");
    assert!(
        written.body.contains(&first_body_line),
        "the body comes from templates/new-issue.md: {first_body_line:?} in {:?}",
        written.body
    );

    // What `new` writes is an issue `preview` accepts.
    let out = common::bin()
        .current_dir(d)
        .args(["preview", path.to_str().unwrap(), "--out", "out"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without a title: the next number, the next date, a bare number as name.
    let (code, stdout, stderr) = new(d, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "issues/014.md");
    let written = Issue::from_file(&d.join("issues/014.md")).unwrap();
    assert_eq!(written.front.number, Some(14));
    assert_eq!(written.front.date, Some(date("2026-12-20")));
}

#[test]
fn cadence_comes_from_the_config_and_numbers_from_names_or_front_matter() {
    let dir = newsletter(Some(7));
    let d = dir.path();
    // One file carries its number in the name only, one in front matter only.
    issue(d, "020-by-name.md", "title: By name\ndate: 2025-01-05\n");
    issue(
        d,
        "late-issue.md",
        "title: By front matter\nnumber: 23\ndate: 2025-01-19\n",
    );
    let (code, stdout, stderr) = new(d, &["--title", "Weekly now"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "issues/024-weekly-now.md");
    let written = Issue::from_file(&d.join("issues/024-weekly-now.md")).unwrap();
    assert_eq!(
        written.front.date,
        Some(date("2025-01-26")),
        "latest date + 7 days"
    );
    assert!(
        stderr.contains("in the past"),
        "a past date is pointed out: {stderr}"
    );
}

#[test]
fn the_first_issue_is_number_one_dated_today() {
    let dir = newsletter(None);
    let before = chrono::Local::now().date_naive();
    let (code, stdout, stderr) = new(dir.path(), &["--title", "Hello, world"]);
    let after = chrono::Local::now().date_naive();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "issues/001-hello-world.md");
    let written = Issue::from_file(&dir.path().join("issues/001-hello-world.md")).unwrap();
    assert_eq!(written.front.number, Some(1));
    let d = written.front.date.unwrap();
    assert!(d == before || d == after, "{d} is today");
}

#[cfg(unix)]
#[test]
fn it_never_overwrites() {
    let dir = newsletter(None);
    let d = dir.path();
    issue(
        d,
        "012-rye.md",
        "title: Rye\ndate: 2026-11-22\nnumber: 12\n",
    );
    // Something already sits where issue 13 would go: a symlink, which the
    // scan does not count as an issue, so `new` picks exactly that name.
    let target = d.join("elsewhere.txt");
    std::fs::write(&target, "keep me").unwrap();
    std::os::unix::fs::symlink(&target, d.join("issues/013-taken.md.tmp")).unwrap();
    std::fs::rename(
        d.join("issues/013-taken.md.tmp"),
        d.join("issues/013-taken.md"),
    )
    .unwrap();
    std::fs::remove_file(&target).unwrap();
    let (code, stdout, stderr) = new(d, &["--title", "Taken"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("013-taken.md") && stderr.contains("not overwriting"),
        "{stderr}"
    );
    assert!(std::fs::symlink_metadata(d.join("issues/013-taken.md"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!target.exists(), "nothing was written through the link");
}
