//! The rough edges a new author hits in the first hour, each as the command
//! prints it, in a folder made by `letterpress init`: misspelt front matter
//! keys, the `new` skeleton's placeholders, an undefined template name, the
//! count in `check`'s verdict, and `[utm] retag` for migrated issues.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};

fn run(dir: &Path, args: &[&str]) -> Output {
    common::bin()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh newsletter folder.
fn newsletter() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

fn write_issue(dir: &Path, name: &str, contents: &str) {
    std::fs::write(dir.join("issues").join(name), contents).unwrap();
}

#[test]
fn misspelt_front_matter_keys_are_named_with_the_fix() {
    let dir = newsletter();
    write_issue(
        dir.path(),
        "002-typos.md",
        "---\ntitle: \"#2: Typos\"\nnumbr: 2\ndarft: true\n---\n\nHello, readers.\n",
    );
    let out = run(dir.path(), &["check", "issues/002-typos.md"]);
    assert_eq!(out.status.code(), Some(3), "the misspelt draft is an error");
    assert_eq!(
        text(&out.stderr),
        "error[front-matter-key]: issues/002-typos.md:4: front matter key `darft` is not one letterpress reads; did you mean `draft`?\n  \
         help: rename `darft` to `draft`: as written, the issue is not marked as a draft and could go to the list\n\
         warning[front-matter-key]: issues/002-typos.md:3: front matter key `numbr` is not one letterpress reads; did you mean `number`?\n  \
         help: rename it to `number`, or keep it if templates read it as `issue.extra.numbr`\n"
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("issues/002-typos.md: FAIL (1 error, 1 warning;"),
        "{stdout}"
    );
    // A list send is refused on it.
    let send = run(dir.path(), &["send", "issues/002-typos.md", "--yes"]);
    assert_eq!(send.status.code(), Some(3), "{}", text(&send.stderr));
}

#[test]
fn the_skeleton_from_new_fails_check_until_its_placeholders_are_gone() {
    let dir = newsletter();
    let new = run(dir.path(), &["new", "--title", "Rye"]);
    assert!(new.status.success(), "{}", text(&new.stderr));
    let path = text(&new.stdout).trim().to_string();
    // Not a draft any more, but still the skeleton.
    let issue = dir.path().join(&path);
    let skeleton = std::fs::read_to_string(&issue).unwrap();
    std::fs::write(&issue, skeleton.replace("draft: true\n", "")).unwrap();
    let out = run(dir.path(), &["check", &path]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    for line in [
        format!("error[placeholder]: {path}:11: the image is the placeholder https://example.com/image.png"),
        format!("error[placeholder]: {path}:15: \"Write the first story here.\" is the skeleton's placeholder text"),
        format!("error[placeholder]: {path}:19: the link goes to the placeholder address https://example.com"),
    ] {
        assert!(stderr.contains(&line), "missing {line:?} in\n{stderr}");
    }
    assert!(
        text(&out.stdout).contains("FAIL (9 errors, 0 warnings;"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn an_undefined_template_name_is_named_with_the_nearest() {
    let dir = newsletter();
    let layout = dir.path().join("templates/email.txt");
    let t = std::fs::read_to_string(&layout).unwrap();
    std::fs::write(
        &layout,
        t.replace("newsletter.postal_address", "newsletter.postal_adress"),
    )
    .unwrap();
    let line = 1 + t[..t.find("newsletter.postal_address").unwrap()]
        .matches('\n')
        .count();
    let out = run(dir.path(), &["preview", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: templates/email.txt:{line}: `newsletter.postal_adress` is undefined; did you mean `newsletter.postal_address`?\n"
        )
    );
}

#[test]
fn one_warning_is_singular() {
    let dir = newsletter();
    write_issue(
        dir.path(),
        "002-s.md",
        "---\ntitle: \"#2\"\nnumber: 2\nsubjet: Hi\n---\n\nHello.\n",
    );
    let out = run(dir.path(), &["check", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("issues/002-s.md: ok (0 errors, 1 warning;"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn migrated_utm_tags_are_kept_unless_retag_is_set() {
    let dir = newsletter();
    write_issue(
        dir.path(),
        "002-migrated.md",
        "---\ntitle: \"#2\"\nnumber: 2\n---\n\nRead [this](https://m.example/p?utm_source=Revue%20newsletter&utm_medium=email&v=1).\n",
    );
    let html = |dir: &Path| {
        let out = run(dir, &["preview", "2"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::fs::read_to_string(dir.join("out/002-migrated.html")).unwrap()
    };
    let kept = html(dir.path());
    assert!(
        kept.contains(
            "https://m.example/p?utm_source=Revue%20newsletter&amp;utm_medium=email&amp;v=1\""
        ),
        "{kept}"
    );
    let config = dir.path().join("letterpress.toml");
    let c = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, c.replace("# retag = false", "retag = true")).unwrap();
    let retagged = html(dir.path());
    assert!(
        retagged.contains(
            "https://m.example/p?v=1&amp;utm_source=My%20Newsletter&amp;utm_medium=email&amp;utm_campaign=issue-2\""
        ),
        "{retagged}"
    );
    assert!(!retagged.contains("Revue"));
}
