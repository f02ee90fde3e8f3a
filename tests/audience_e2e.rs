//! The audience end to end: `send` through aiosmtpd obeys the audience
//! store (hard bounces from real SMTP replies, manual unsubscribes under any
//! spelling of the address), IDN addresses reach a relay without SMTPUTF8,
//! the problems report covers every run of an issue, files holding
//! addresses are private and ignored by git, and the `audience` command.

mod common;

use common::output_text as text;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::capture::Capture;

const SECRET: &str = "audience-e2e-secret-of-at-least-32-bytes";
const ISSUE: &str = "issues/012-reviving-a-sleepy-starter.md";

/// A scratch project with issue 12 and a copy of it numbered 13, the
/// journal and the store in their default place (`.letterpress/`).
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(subscribers: &str, smtp_extra: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = common::root();
        let issues = dir.path().join("issues");
        std::fs::create_dir_all(&issues).unwrap();
        let twelve = std::fs::read_to_string(root.join(ISSUE)).unwrap();
        std::fs::write(issues.join("012-a.md"), &twelve).unwrap();
        let thirteen = twelve.replacen("number: 12", "number: 13", 1).replacen(
            "title: \"#12:",
            "title: \"#13:",
            1,
        );
        std::fs::write(issues.join("013-b.md"), thirteen).unwrap();
        let config = common::scratch_config(common::Issues::Own, &[("[smtp]", smtp_extra)]);
        std::fs::write(dir.path().join("letterpress.toml"), config).unwrap();
        std::fs::write(dir.path().join("subscribers.toml"), subscribers).unwrap();
        Project { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> Output {
        common::bin()
            .arg("--config")
            .arg(self.path().join("letterpress.toml"))
            .args(args)
            .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
            .env_remove("LETTERPRESS_SMTP_PASSWORD")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn send(&self, issue: &str, port: u16, extra: &[&str]) -> Output {
        let smtp = format!("smtp://127.0.0.1:{port}");
        let mut args = vec!["send", issue, "--smtp", &smtp];
        args.extend_from_slice(extra);
        self.cmd(&args)
    }

    fn audience(&self, args: &[&str]) -> Output {
        let mut a = vec!["audience"];
        a.extend_from_slice(args);
        self.cmd(&a)
    }
}

fn list(addresses: &[&str]) -> String {
    addresses
        .iter()
        .map(|a| format!("[[subscriber]]\nemail = \"{a}\"\n"))
        .collect()
}

/// The envelope recipients of the captured messages whose Subject starts
/// with `#<issue>:` (or `[TEST] #<issue>:`).
fn recipients_of(cap: &Capture, issue: u32) -> BTreeSet<String> {
    cap.parsed()
        .iter()
        .filter(|m| {
            m["headers"]["Subject"]
                .as_str()
                .is_some_and(|s| s.contains(&format!("#{issue}:")))
        })
        .flat_map(|m| {
            m["envelope"]["rcpt_tos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_550_5_1_1_is_not_mailed_the_next_issue_but_a_554_5_7_1_is() {
    let cap_a_dir = tempfile::tempdir().unwrap();
    let Some(cap_a) = Capture::start(
        cap_a_dir.path(),
        &[
            "--reject",
            "gone@example.com=550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown",
            "--reject",
            "policy@example.com=554 5.7.1 <policy@example.com>: Relay access denied",
        ],
    ) else {
        return;
    };
    let p = Project::new(
        &list(&[
            "ok1@example.com",
            "gone@example.com",
            "policy@example.com",
            "ok2@example.com",
        ]),
        "",
    );
    let o = p.send("12", cap_a.port, &["--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}");
    assert!(out.contains("sent 2 of 4"), "{out}");
    assert!(out.contains("1 address(es) do not exist"), "{out}");
    assert_eq!(
        recipients_of(&cap_a, 12),
        set(&["ok1@example.com", "ok2@example.com"])
    );

    // The store says why.
    let o = p.audience(&["--show-addresses"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("bounced: 1"), "{out}");
    assert!(out.contains("unsubscribed: 0"), "{out}");
    assert!(
        out.contains("hard-bounce  smtp-reply  gone@example.com  550 5.1.1"),
        "{out}"
    );
    assert!(!out.contains("policy@example.com"), "{out}");

    // Issue B, through a relay that refuses nobody: the hard bounce is
    // skipped (and counted), the policy refusal is mailed.
    let cap_b_dir = tempfile::tempdir().unwrap();
    let cap_b = Capture::start(cap_b_dir.path(), &[]).unwrap();
    let o = p.send("13", cap_b.port, &["--yes"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("sent 3 of 3"), "{out}");
    assert!(out.contains("skipped 1 bounced"), "{out}");
    assert_eq!(
        recipients_of(&cap_b, 13),
        set(&["ok1@example.com", "policy@example.com", "ok2@example.com"])
    );

    // A manual resubscribe lifts the bounce (the author fixed the address).
    let o = p.audience(&["resubscribe", "gone@example.com"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("gone@example.com: may be mailed"),
        "{}",
        text(&o)
    );
    let o = p.send("13", cap_b.port, &["--yes", "--resend"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("sent 4 of 4"), "{}", text(&o));
}

#[test]
fn equivalent_spellings_of_an_unsubscribed_address_are_none_mailed() {
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
        return;
    };
    // Unsubscribed in one spelling...
    let p = Project::new(
        &list(&[
            // ...listed in another: A-label and upper case,
            "A@xn--bcher-kva.example",
            // NFD (e + combining acute) and a capitalised domain,
            "jose\u{301}@Example.com",
            // case only,
            "mixed@example.com",
            "keep@example.com",
        ]),
        "",
    );
    let o = p.audience(&[
        "unsubscribe",
        "a@bücher.example",
        "JOS\u{c9}@example.com",
        "Mixed@EXAMPLE.com",
        "--note",
        "replied: please remove me",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("unsubscribed 3 addresses"),
        "{}",
        text(&o)
    );

    let o = p.send("12", cap.port, &["--yes"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("skipped 3 unsubscribed"), "{out}");
    assert!(out.contains("sent 1 of 1"), "{out}");
    assert_eq!(recipients_of(&cap, 12), set(&["keep@example.com"]));

    // A dry run makes the same choice.
    let o = p.cmd(&["send", "13", "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("wrote 1 messages"), "{}", text(&o));

    // A --test send is never suppressed.
    let smtp = format!("smtp://127.0.0.1:{}", cap.port);
    let o = p.cmd(&["send", "13", "--smtp", &smtp, "--test", "mixed@example.com"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(recipients_of(&cap, 13).contains("mixed@example.com"));
}

#[test]
fn idn_addresses_reach_a_relay_without_smtputf8() {
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &["--no-smtputf8"]) else {
        return;
    };
    let p = Project::new(
        &list(&[
            "reader@bücher.example",
            "josé@example.com",
            "plain@example.com",
        ]),
        "",
    );
    let o = p.send("12", cap.port, &["--yes"]);
    let out = text(&o);
    // The IDN domain goes as its A-label; only the non-ASCII local part
    // needs SMTPUTF8, and fails alone, with a reason.
    assert_eq!(o.status.code(), Some(4), "{out}");
    assert!(out.contains("sent 2 of 3"), "{out}");
    assert!(
        out.contains("josé@example.com") && out.contains("SMTPUTF8"),
        "{out}"
    );
    assert_eq!(
        recipients_of(&cap, 12),
        set(&["reader@xn--bcher-kva.example", "plain@example.com"])
    );
    let to: Vec<String> = cap
        .parsed()
        .iter()
        .map(|m| m["to_addr"].as_str().unwrap().to_string())
        .collect();
    assert!(
        to.contains(&"reader@xn--bcher-kva.example".to_string()),
        "{to:?}"
    );
    // The SMTPUTF8 failure is not a bounce.
    let o = p.audience(&[]);
    assert!(text(&o).contains("bounced: 0"), "{}", text(&o));
}

#[test]
fn the_problems_report_covers_every_run_and_address_files_are_private() {
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(
        cap_dir.path(),
        &[
            "--reject",
            "policy@example.com=554 5.7.1 \u{1b}[31mrefused\u{1b}[0m",
            "--reject",
            "later@example.com=451 4.7.1 Greylisted, come back later",
        ],
    ) else {
        return;
    };
    let p = Project::new(
        &list(&["ok@example.com", "policy@example.com", "later@example.com"]),
        "max_attempts = 1\nretry_delay_seconds = 0.01\n",
    );
    let problems = p.path().join(".letterpress/journal/issue-12.problems.tsv");
    let o = p.send("12", cap.port, &["--yes"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let first = std::fs::read_to_string(&problems).unwrap();
    assert!(
        first.contains("failed\tpolicy@example.com\t554\t"),
        "{first}"
    );
    assert!(
        first.contains("deferred\tlater@example.com\t451\t"),
        "{first}"
    );
    // The relay's escape sequences are not written raw.
    assert!(!first.contains('\u{1b}'), "{first:?}");

    // The resume tries only the deferred one; the report still lists both.
    let o = p.send("12", cap.port, &["--yes"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("sent 0 of 1"), "{}", text(&o));
    let second = std::fs::read_to_string(&problems).unwrap();
    assert!(
        second.contains("failed\tpolicy@example.com\t554\t"),
        "{second}"
    );
    assert!(
        second.contains("deferred\tlater@example.com\t451\t"),
        "{second}"
    );
    assert!(!second.contains("ok@example.com"), "{second}");

    let o = p.cmd(&["send", "12", "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    let outbox: Vec<PathBuf> = std::fs::read_dir(p.path().join("outbox/issue-12"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!outbox.is_empty());

    let journal = p.path().join(".letterpress/journal/issue-12.journal");
    let store = p.path().join(".letterpress/audience.db");
    #[cfg(unix)]
    {
        for f in [&journal, &problems, &store]
            .into_iter()
            .chain(outbox.iter())
        {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
        assert_eq!(mode(&p.path().join(".letterpress")), 0o700);
    }

    // And git ignores every one of them, by the repository's .gitignore.
    if common::has_program("git", &["--version"]) {
        let root = common::root();
        let rel = |f: &Path| {
            // The same layout inside the repository.
            f.strip_prefix(p.path()).unwrap().display().to_string()
        };
        let mut paths: Vec<String> = [&journal, &problems, &store]
            .into_iter()
            .chain(outbox.iter())
            .map(|f| rel(f))
            .collect();
        paths.extend([
            "subscribers.toml".to_string(),
            "subscribers.toml.bak".to_string(),
            ".letterpress/audience.db-wal".to_string(),
        ]);
        let o = Command::new("git")
            .current_dir(&root)
            .args(["check-ignore", "--no-index", "--"])
            .args(&paths)
            .output()
            .unwrap();
        let ignored: BTreeSet<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(String::from)
            .collect();
        for path in &paths {
            assert!(
                ignored.contains(path),
                "{path} is not ignored by .gitignore"
            );
        }
    }
}

#[test]
fn the_audience_command_counts_masks_and_exports() {
    let p = Project::new(
        &list(&["a@example.com", "b@example.com", "c@example.com"]),
        "",
    );
    let o = p.audience(&["unsubscribe", "a@example.com", "B@Example.com"]);
    assert!(o.status.success(), "{}", text(&o));

    let o = p.audience(&[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("active: 1 (of 3 active in"), "{out}");
    assert!(out.contains("skipped 2 unsubscribed"), "{out}");
    assert!(
        out.contains("unsubscribed: 2\nbounced: 0\ncomplained: 0"),
        "{out}"
    );
    assert!(
        out.contains("unsubscribe  manual      a***@e***.com"),
        "{out}"
    );
    assert!(
        !out.contains("a@example.com"),
        "addresses are masked: {out}"
    );
    let o = p.audience(&["--show-addresses"]);
    assert!(text(&o).contains("b@example.com"), "{}", text(&o));

    // Export: CSV on stdout, or a private file.
    let o = p.audience(&["export"]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "address,reason,source,at,detail");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with("a@example.com,unsubscribed,manual,20"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("b@example.com,unsubscribed,manual,"),
        "{csv}"
    );
    let file = p.path().join("suppressions.csv");
    let o = p.audience(&["export", "--out", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), csv);
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);

    // Resubscribe one: the counts and the export follow.
    let o = p.audience(&["resubscribe", "A@EXAMPLE.COM"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = p.audience(&["export"]);
    let csv = String::from_utf8(o.stdout).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("b@example.com"), "{csv}");
    assert!(text(&p.audience(&[])).contains("unsubscribed: 1"));

    // Bad input: one clear error, nothing recorded.
    let o = p.audience(&["unsubscribe", "c@example.com", "user@[127.0.0.1]"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("user@[127.0.0.1]"), "{}", text(&o));
    assert!(text(&p.audience(&[])).contains("unsubscribed: 1"));
}

#[test]
fn a_short_secret_is_refused_before_anyone_is_mailed() {
    let p = Project::new(&list(&["a@example.com"]), "");
    let o = common::bin()
        .arg("--config")
        .arg(p.path().join("letterpress.toml"))
        .args(["send", "12", "--dry-run"])
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", "only-17-bytes-xx")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("at least 32"), "{}", text(&o));
    assert!(!p.path().join("outbox").exists());
}
