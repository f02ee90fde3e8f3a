//! `letterpress import` on fixture exports of every platform
//! (tests/fixtures/import/, synthetic readers overlapping across platforms,
//! with awkward rows: BOM, CRLF, `;`, Windows-1252, quoted commas, embedded
//! newlines, one address in several spellings), then a real send to
//! aiosmtpd that must reach exactly the readers active everywhere.

mod common;

use common::output_text as text;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::capture::Capture;
use letterpress::audience::store::{Event, EventKind, Source, Store};
use letterpress::audience::AddressKey;

const SECRET: &str = "import-unsubscribe-secret-at-least-32-bytes";
const ISSUE: &str = "issues/012-reviving-a-sleepy-starter.md";

/// The author's list before the import: comments that must survive.
const EXISTING: &str = r#"# My readers. Comments must survive an import.

[[subscriber]]
email = "sybil@example.com"
name = "Sybil T."   # keep this

[[subscriber]]
# moved from the old list
email = "trent@example.com"
status = "active"

[[subscriber]]
email = "zoe@example.com"
name = "Zoë"
"#;

fn fixtures() -> PathBuf {
    common::root().join("tests/fixtures/import")
}

/// Every platform's export, Mailchimp as its zip.
fn all_exports() -> Vec<PathBuf> {
    [
        "substack.csv",
        "mailchimp.zip",
        "buttondown.csv",
        "listmonk.csv",
        "ghost.csv",
        "beehiiv.csv",
        "keila.csv",
        "revue.csv",
        "plain.csv",
    ]
    .iter()
    .map(|f| fixtures().join(f))
    .collect()
}

/// Readers active in every export (and the file) they appear in.
const ACTIVE: [&str; 9] = [
    "ada@example.com",
    "dan@xn--bcher-kva.example",
    "grace@example.com",
    "judy@example.com",
    "niaj@example.com",
    "olivia@example.com",
    "sybil@example.com",
    "walter@example.com",
    "zoe@example.com",
];

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(existing: Option<&str>) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let config = common::scratch_config(common::Issues::Shipped, &[]);
        std::fs::write(dir.path().join("letterpress.toml"), config).unwrap();
        if let Some(list) = existing {
            std::fs::write(dir.path().join("subscribers.toml"), list).unwrap();
        }
        Project { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn list(&self) -> PathBuf {
        self.path().join("subscribers.toml")
    }

    fn store(&self) -> Store {
        Store::open(&self.path().join(".letterpress/audience.db")).unwrap()
    }

    fn run(&self, args: &[&str], files: &[PathBuf]) -> Output {
        common::bin()
            .arg("--config")
            .arg(self.path().join("letterpress.toml"))
            .arg("import")
            .args(args)
            .args(files)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn send(&self, smtp: &str) -> Output {
        common::bin()
            .arg("--config")
            .arg(self.path().join("letterpress.toml"))
            .arg("send")
            .arg(common::root().join(ISSUE))
            .args(["--smtp", smtp, "--yes"])
            .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
            .env_remove("LETTERPRESS_SMTP_PASSWORD")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

/// The list as `send` will read it: (address, status, name, tags, joined).
fn load(path: &Path) -> letterpress::audience::subscribers::Subscribers {
    letterpress::audience::subscribers::from_file(path).unwrap()
}

fn key(s: &str) -> AddressKey {
    AddressKey::parse(s).unwrap()
}

#[test]
fn every_platform_merges_into_the_list_and_a_second_run_changes_nothing() {
    let p = Project::new(Some(EXISTING));
    // Rupert unsubscribed here before; the Mailchimp export still lists him.
    p.store()
        .record(&[Event::now(
            key("rupert@example.com"),
            EventKind::Unsubscribe,
            Source::Page,
            "",
        )])
        .unwrap();

    let dry = p.run(&["--dry-run"], &all_exports());
    assert!(dry.status.success(), "{}", text(&dry));
    let summary = "7 added, 1 updated, 10 suppressed, 2 skipped, 0 unchanged";
    assert!(
        String::from_utf8_lossy(&dry.stdout).contains(summary),
        "{}",
        text(&dry)
    );
    assert_eq!(
        std::fs::read_to_string(p.list()).unwrap(),
        EXISTING,
        "a dry run writes nothing"
    );
    assert_eq!(p.store().counts().unwrap().events, 1);

    let o = p.run(&[], &all_exports());
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(summary),
        "{}",
        text(&o)
    );
    assert!(
        text(&o)
            .contains("mailchimp.zip:cleaned_members_export_7c1f.csv: 1 row(s), read as mailchimp"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("revue.csv: 2 row(s), read as revue"),
        "{}",
        text(&o)
    );

    let written = std::fs::read_to_string(p.list()).unwrap();
    // The author's part is kept: comments, order, the untouched entries.
    assert!(written.starts_with("# My readers. Comments must survive an import.\n\n[[subscriber]]\nemail = \"sybil@example.com\"\nname = \"Sybil T.\"   # keep this\ntags = [\"friends\"]\njoined = 2022-03-01\n"), "{written}");
    assert!(
        written.contains(
            "# moved from the old list\nemail = \"trent@example.com\"\nstatus = \"unsubscribed\"\n"
        ),
        "{written}"
    );
    assert!(
        written.contains("[[subscriber]]\nemail = \"zoe@example.com\"\nname = \"Zoë\"\n"),
        "{written}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p.list()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let list = load(&p.list());
    assert!(list.duplicates.is_empty(), "{:?}", list.duplicates);
    let status = |a: &str| {
        let k = key(a);
        let s = list
            .list
            .iter()
            .find(|s| key(s.email.as_ref()) == k)
            .unwrap_or_else(|| panic!("{a} missing"));
        s.status.as_str()
    };
    let active: BTreeSet<String> = list
        .active()
        .map(|s| key(s.email.as_ref()).as_str().to_string())
        .collect();
    assert_eq!(
        active,
        ACTIVE.iter().map(|a| key(a).as_str().to_string()).collect()
    );
    for (a, s) in [
        ("bob@example.org", "unsubscribed"), // Mailchimp unsubscribed, Substack active
        ("carol@example.net", "unsubscribed"), // listmonk blocklisted, Buttondown premium
        ("mallory@example.com", "unsubscribed"), // Substack email_disabled, plain CSV active
        ("eve@example.com", "bounced"),      // Mailchimp cleaned, Beehiiv active
        ("frank@example.com", "unsubscribed"), // Ghost subscribed_to_emails=false
        ("heidi@example.com", "bounced"),    // Buttondown undeliverable
        ("quentin@example.com", "unsubscribed"), // Buttondown spammy (a complaint)
        ("peggy@example.com", "bounced"),    // Keila unreachable
        ("rupert@example.com", "unsubscribed"), // suppressed in the store
        ("trent@example.com", "unsubscribed"), // the file said active
    ] {
        assert_eq!(status(a), s, "{a}");
    }
    assert!(
        list.list
            .iter()
            .all(|s| s.email.to_string() != "ivan@example.com"),
        "unconfirmed sign-ups are skipped"
    );

    // Names, the earliest join date and every tag carry over.
    let ada = list
        .list
        .iter()
        .find(|s| s.email.to_string() == "ada@example.com")
        .unwrap();
    assert_eq!(ada.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(ada.joined.unwrap().to_string(), "2019-12-31");
    assert_eq!(
        list.tags_of(ada).collect::<Vec<_>>(),
        ["vip", "early, bird", "newsletter", "friends"]
    );
    let by = |a: &str| {
        list.list
            .iter()
            .find(|s| key(s.email.as_ref()) == key(a))
            .unwrap()
    };
    assert_eq!(
        by("niaj@example.com").name.as_deref(),
        Some("Niaj Müller"),
        "Windows-1252 decoded"
    );
    assert_eq!(
        by("olivia@example.com").name.as_deref(),
        Some("Olivia Smith"),
        "embedded newline"
    );
    assert_eq!(
        by("judy@example.com").name.as_deref(),
        Some("Doe, Judy"),
        "quoted comma"
    );
    assert_eq!(by("Dan@Bücher.example").name.as_deref(), Some("Dan Bücher"));
    assert_eq!(
        list.tags_of(by("carol@example.net")).collect::<Vec<_>>(),
        ["design", "paid"]
    );

    // Every suppression is in the store as well, with its reason.
    let sup = p.store().suppressions().unwrap();
    assert_eq!(sup.len(), 10);
    assert_eq!(
        sup.get(&key("eve@example.com")).unwrap().kind,
        EventKind::HardBounce
    );
    assert_eq!(
        sup.get(&key("quentin@example.com")).unwrap().kind,
        EventKind::Complaint
    );
    assert_eq!(
        sup.get(&key("bob@example.org")).unwrap().source,
        Source::Import
    );
    assert_eq!(
        sup.get(&key("rupert@example.com")).unwrap().source,
        Source::Page
    );

    // Again: nothing changes, nothing is written.
    let events = p.store().counts().unwrap().events;
    let modified = std::fs::metadata(p.list()).unwrap().modified().unwrap();
    let again = p.run(&[], &all_exports());
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains("0 added, 0 updated, 0 suppressed, 2 skipped, 18 unchanged"),
        "{}",
        text(&again)
    );
    assert!(text(&again).contains("nothing written"), "{}", text(&again));
    assert_eq!(std::fs::read_to_string(p.list()).unwrap(), written);
    assert_eq!(
        std::fs::metadata(p.list()).unwrap().modified().unwrap(),
        modified
    );
    assert_eq!(p.store().counts().unwrap().events, events);
}

#[test]
fn mailchimp_csvs_one_by_one_read_like_the_zip() {
    let zip = Project::new(None);
    let o = zip.run(&[], &[fixtures().join("mailchimp.zip")]);
    assert!(o.status.success(), "{}", text(&o));
    let csvs = Project::new(None);
    let parts: Vec<PathBuf> = ["subscribed", "unsubscribed", "cleaned"]
        .iter()
        .map(|p| fixtures().join(format!("mailchimp/{p}_members_export_7c1f.csv")))
        .collect();
    let o = csvs.run(&[], &parts);
    assert!(o.status.success(), "{}", text(&o));
    let a = std::fs::read_to_string(zip.list()).unwrap();
    let b = std::fs::read_to_string(csvs.list()).unwrap();
    let entries = |s: &str| {
        s.split("\n\n")
            .filter(|e| e.contains("email"))
            .map(|e| e.trim().to_string())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(entries(&a), entries(&b));
    assert!(
        a.contains("email = \"eve@example.com\"\nname = \"Eve\"\nstatus = \"bounced\"\n"),
        "{a}"
    );
    assert!(
        a.contains(
            "email = \"bob@example.org\"\nname = \"Bob Smith, Jr.\"\nstatus = \"unsubscribed\"\n"
        ),
        "{a}"
    );
}

#[test]
fn every_bad_row_is_listed_with_file_and_line_and_nothing_is_written() {
    let p = Project::new(None);
    let bad = fixtures().join("bad.csv");
    let o = p.run(&[], &[fixtures().join("substack.csv"), bad.clone()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let b = bad.display().to_string();
    assert!(
        err.contains(&format!("{b}:3: `not-an-address` is not an email address")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{b}:5: the email column is empty")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{b}:6: `a@b@c.example` is not an email address")),
        "{err}"
    );
    assert!(
        err.contains("3 bad row(s)") && err.contains("--skip-invalid"),
        "{err}"
    );
    assert!(!p.list().exists(), "nothing written");
    assert!(
        !p.path().join(".letterpress/audience.db").exists(),
        "no store created"
    );

    let o = p.run(&["--skip-invalid"], &[fixtures().join("substack.csv"), bad]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("4 added, 0 updated, 1 suppressed, 3 skipped"),
        "{}",
        text(&o)
    );
    let list = load(&p.list());
    assert_eq!(list.active().count(), 4);

    let unknown = Project::new(None);
    let path = unknown.path().join("people.csv");
    std::fs::write(&path, "who,where\nx,y\n").unwrap();
    let o = unknown.run(&[], std::slice::from_ref(&path));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains(&format!("{}:1: cannot tell which platform", path.display())),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("--from NAME"), "{}", text(&o));
}

#[test]
fn the_whole_list_exports_as_csv_and_toml_and_imports_back_the_same() {
    let p = Project::new(Some(EXISTING));
    let o = p.run(&[], &all_exports());
    assert!(o.status.success(), "{}", text(&o));
    // A suppression only the store knows: sybil complained after the import.
    p.store()
        .record(&[Event::now(
            key("sybil@example.com"),
            EventKind::Complaint,
            Source::Remote,
            "",
        )])
        .unwrap();
    let export = |format: &str, out: Option<&Path>| {
        let mut c = common::bin();
        c.arg("--config")
            .arg(p.path().join("letterpress.toml"))
            .args(["audience", "export", "--format", format]);
        if let Some(out) = out {
            c.arg("--out").arg(out);
        }
        let o = c.stdin(Stdio::null()).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let csv = export("csv", None);
    assert!(csv.starts_with("email,name,status,tags,joined\n"), "{csv}");
    assert!(
        csv.contains("\nsybil@example.com,Sybil T.,complained,friends,2022-03-01\n"),
        "{csv}"
    );
    assert!(csv.contains("\nada@example.com,Ada Lovelace,active,\"vip,\"\"early, bird\"\",newsletter,friends\",2019-12-31\n"), "{csv}");
    assert!(
        csv.contains("\nquentin@example.com,,complained,,2021-01-04\n"),
        "{csv}"
    );

    // Read back by import as a plain CSV into a fresh list: the same readers, the same standing.
    let back = Project::new(None);
    let file = back.path().join("export.csv");
    std::fs::write(&file, &csv).unwrap();
    let o = back.run(&[], &[file]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("read as csv"), "{}", text(&o));
    let a = load(&p.list());
    let b = load(&back.list());
    let mailable = |l: &letterpress::audience::subscribers::Subscribers, drop: &[&str]| {
        l.active()
            .map(|s| key(s.email.as_ref()).as_str().to_string())
            .filter(|k| !drop.contains(&k.as_str()))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(mailable(&b, &[]), mailable(&a, &["sybil@example.com"]));
    assert_eq!(b.list.len(), a.list.len());
    assert_eq!(back.store().suppressions().unwrap().len(), 10);

    let toml = p.path().join("whole.toml");
    export("toml", Some(&toml));
    let t = load(&toml);
    assert_eq!(t.counts(), (9, 7, 3));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&toml).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn a_list_that_is_not_subscriber_tables_is_refused_untouched() {
    let inline = "subscriber = [\n  { email = \"trent@example.com\" },\n]\n";
    let p = Project::new(Some(inline));
    let o = p.run(&[], &[fixtures().join("substack.csv")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cannot merge into this list in place"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(p.list()).unwrap(), inline);
    assert_eq!(
        std::fs::read_dir(p.path()).unwrap().count(),
        2,
        "no temporary file left"
    );
}

#[test]
fn resubscribe_brings_back_an_unsubscribe_but_never_a_bounce() {
    let p = Project::new(None);
    let o = p.run(&["--resubscribe"], &all_exports());
    assert!(o.status.success(), "{}", text(&o));
    let list = load(&p.list());
    let status = |a: &str| {
        list.list
            .iter()
            .find(|s| key(s.email.as_ref()) == key(a))
            .unwrap()
            .status
            .as_str()
    };
    assert_eq!(status("bob@example.org"), "active", "active on Substack");
    assert_eq!(
        status("mallory@example.com"),
        "active",
        "active in the plain CSV"
    );
    assert_eq!(
        status("frank@example.com"),
        "unsubscribed",
        "active nowhere"
    );
    assert_eq!(status("eve@example.com"), "bounced", "a bounce stays");
}

/// The envelope recipients of every message `cap` captured, sorted.
fn recipients(cap: &Capture) -> Vec<String> {
    let mut all: Vec<String> = cap
        .parsed()
        .iter()
        .flat_map(|m| m["envelope"]["rcpt_tos"].as_array().unwrap().clone())
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    all.sort();
    all
}

#[test]
fn after_the_import_a_send_reaches_exactly_the_readers_active_everywhere() {
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
        return;
    };
    let p = Project::new(Some(EXISTING));
    p.store()
        .record(&[Event::now(
            key("rupert@example.com"),
            EventKind::Unsubscribe,
            Source::Page,
            "",
        )])
        .unwrap();
    let o = p.run(&[], &all_exports());
    assert!(o.status.success(), "{}", text(&o));
    let o = p.send(&format!("smtp://127.0.0.1:{}", cap.port));
    assert!(o.status.success(), "{}", text(&o));
    let mut expected: Vec<String> = ACTIVE.iter().map(|a| a.to_string()).collect();
    expected.sort();
    assert_eq!(recipients(&cap), expected);
}
