//! `letterpress bounces` end to end: issue 12 goes out through aiosmtpd;
//! real-shaped reports come back (a DSN, an ARF complaint whose recipient
//! the provider redacted, a 5.7.1 refusal of the sender, a soft bounce, an
//! auto-reply, an unsubscribe request, a bounce for a stranger, junk); the
//! store gets each once however often `bounces` runs, `audience` says why,
//! and issue 13 reaches exactly who it should.

mod common;

use common::output_text as text;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::capture::Capture;
use common::dovecot::{self, Dovecot};

const SECRET: &str = "bounces-e2e-secret-of-at-least-32-bytes!";
const ISSUE: &str = "issues/012-reviving-a-sleepy-starter.md";
const MAILTO: &str = "unsubscribe@sourdough-ledger.example";

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(subscribers: &[&str], extra_config: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = common::root();
        let issues = dir.path().join("issues");
        std::fs::create_dir_all(&issues).unwrap();
        let twelve = std::fs::read_to_string(root.join(ISSUE)).unwrap();
        std::fs::write(issues.join("012-a.md"), &twelve).unwrap();
        for n in [13, 14] {
            let next = twelve
                .replacen("number: 12", &format!("number: {n}"), 1)
                .replacen("title: \"#12:", &format!("title: \"#{n}:"), 1);
            std::fs::write(issues.join(format!("0{n}-b.md")), next).unwrap();
        }
        let shipped = std::fs::read_to_string(root.join("letterpress.toml")).unwrap();
        let mut config = String::new();
        for line in shipped.lines() {
            if line.starts_with("templates = ") {
                config.push_str(&format!(
                    "templates = {:?}\n",
                    root.join("templates").display().to_string()
                ));
            } else {
                config.push_str(line);
                config.push('\n');
            }
        }
        config.push_str(extra_config);
        std::fs::write(dir.path().join("letterpress.toml"), config).unwrap();
        let list: String = subscribers
            .iter()
            .map(|a| format!("[[subscriber]]\nemail = \"{a}\"\n"))
            .collect();
        std::fs::write(dir.path().join("subscribers.toml"), list).unwrap();
        std::fs::create_dir_all(dir.path().join("mail")).unwrap();
        Project { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = common::bin();
        c.arg("--config")
            .arg(self.path().join("letterpress.toml"))
            .args(args)
            .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
            .env_remove("LETTERPRESS_SMTP_PASSWORD")
            .stdin(Stdio::null());
        c
    }

    fn cmd(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn send(&self, issue: &str, port: u16) -> Output {
        let smtp = format!("smtp://127.0.0.1:{port}");
        self.cmd(&["send", issue, "--smtp", &smtp, "--yes"])
    }

    fn mail(&self) -> PathBuf {
        self.path().join("mail")
    }

    fn drop_mail(&self, name: &str, raw: &str) {
        std::fs::write(self.mail().join(name), raw).unwrap();
    }

    fn bounces(&self) -> Output {
        let mail = self.mail();
        self.cmd(&["bounces", mail.to_str().unwrap(), "--show-addresses"])
    }
}

/// `send` of `issue` to a fresh aiosmtpd capture (kept alive by the
/// returned folder), which it must finish.
fn send_to_capture(p: &Project, issue: &str) -> (tempfile::TempDir, Capture) {
    let dir = tempfile::tempdir().unwrap();
    let cap = Capture::start(dir.path(), &[]).unwrap();
    let o = p.send(issue, cap.port);
    assert!(o.status.success(), "{}", text(&o));
    (dir, cap)
}

/// (envelope recipient, Message-ID) of the captured messages of `issue`.
fn sent(cap: &Capture, issue: u32) -> Vec<(String, String)> {
    cap.parsed()
        .iter()
        .filter(|m| {
            m["headers"]["Subject"]
                .as_str()
                .is_some_and(|s| s.contains(&format!("#{issue}:")))
        })
        .map(|m| {
            (
                m["envelope"]["rcpt_tos"][0].as_str().unwrap().to_string(),
                m["headers"]["Message-ID"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn id_of(sent: &[(String, String)], rcpt: &str) -> String {
    sent.iter()
        .find(|(r, _)| r == rcpt)
        .map(|(_, id)| id.clone())
        .unwrap_or_else(|| panic!("no message to {rcpt} in {sent:?}"))
}

fn recipients(cap: &Capture, issue: u32) -> BTreeSet<String> {
    sent(cap, issue).into_iter().map(|(r, _)| r).collect()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A Postfix-style RFC 3464 report for one recipient, the original quoted
/// as headers only.
fn dsn(report_id: &str, rcpt: &str, status: &str, diag: &str, original_id: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.reader.example (Mail Delivery System)\r\n\
To: news@sourdough-ledger.example\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Message-ID: <{report_id}>\r\n\
Auto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\r\n\
\r\n\
--R\r\n\
Content-Type: text/plain\r\n\
\r\n\
This is the mail system at host mx.reader.example.\r\n\
--R\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.reader.example\r\n\
\r\n\
Final-Recipient: rfc822; {rcpt}\r\n\
Original-Recipient: rfc822;{rcpt}\r\n\
Action: failed\r\n\
Status: {status}\r\n\
Diagnostic-Code: smtp; {diag}\r\n\
\r\n\
--R\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
Message-ID: {original_id}\r\n\
To: {rcpt}\r\n\
Subject: #12: Reviving a sleepy starter\r\n\
--R--\r\n"
    )
}

/// An ARF report whose provider redacted the recipient everywhere: only
/// the original Message-ID can attribute it.
fn arf(report_id: &str, original_id: &str) -> String {
    format!(
        "From: staff@fbl.provider.example\r\n\
To: news@sourdough-ledger.example\r\n\
Subject: Email Feedback Report\r\n\
Message-ID: <{report_id}>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\
\r\n\
--F\r\n\
Content-Type: text/plain\r\n\
\r\n\
This is an email abuse report.\r\n\
--F\r\n\
Content-Type: message/feedback-report\r\n\
\r\n\
Feedback-Type: abuse\r\n\
User-Agent: provider-fbl/2.0\r\n\
Version: 1\r\n\
--F\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: The Sourdough Ledger <news@sourdough-ledger.example>\r\n\
To: redacted@provider.example\r\n\
Message-ID: {original_id}\r\n\
Subject: #12: Reviving a sleepy starter\r\n\
\r\n\
redacted\r\n\
--F--\r\n"
    )
}

/// The nine reports of the main test (a hard bounce, a complaint, two soft
/// bounces on one issue, a 5.7.1, an unsubscribe, a vacation, a stranger,
/// junk) dropped into the project's mail folder, about issue 12 (`twelve`).
fn drop_nine_reports(p: &Project, twelve: &[(String, String)]) {
    p.drop_mail(
        "01-hard.eml",
        &dsn(
            "r1@mx.reader.example",
            "gone@reader.example",
            "5.1.1",
            "550 5.1.1 <gone@reader.example>: Recipient address rejected: User unknown",
            &id_of(twelve, "gone@reader.example"),
        ),
    );
    p.drop_mail(
        "02-complaint.eml",
        &arf(
            "r2@fbl.provider.example",
            &id_of(twelve, "angry@provider.example"),
        ),
    );
    p.drop_mail(
        "03-soft.eml",
        &dsn(
            "r3@mx.reader.example",
            "full@reader.example",
            "4.2.2",
            "452 4.2.2 Mailbox full",
            &id_of(twelve, "full@reader.example"),
        ),
    );
    // The same issue soft-bounces again (a second report): still one issue.
    p.drop_mail(
        "04-soft-again.eml",
        &dsn(
            "r4@mx.reader.example",
            "full@reader.example",
            "4.2.2",
            "452 4.2.2 Mailbox full",
            &id_of(twelve, "full@reader.example"),
        ),
    );
    p.drop_mail(
        "05-policy.eml",
        &dsn(
            "r5@mx.reader.example",
            "policy@reader.example",
            "5.7.1",
            "550 5.7.1 Message rejected due to the sender's IP reputation",
            &id_of(twelve, "policy@reader.example"),
        ),
    );
    p.drop_mail(
        "06-unsubscribe.eml",
        &format!(
            "From: Leaver <leaver@reader.example>\r\nTo: {MAILTO}\r\n\
Message-ID: <u1@reader.example>\r\nSubject: unsubscribe\r\n\r\n\r\n"
        ),
    );
    p.drop_mail(
        "07-vacation.eml",
        "From: away@reader.example\r\nTo: news@sourdough-ledger.example\r\n\
Message-ID: <v1@reader.example>\r\nAuto-Submitted: auto-replied\r\n\
Subject: Out of office\r\n\r\nBack on Monday.\r\n",
    );
    p.drop_mail(
        "08-stranger.eml",
        &dsn(
            "r8@mx.other.example",
            "stranger@other.example",
            "5.1.1",
            "550 5.1.1 unknown user",
            "<not-ours@elsewhere.example>",
        ),
    );
    p.drop_mail(
        "09-junk.eml",
        "From: someone@else.example\r\nSubject: hello\r\n\r\nAre you hiring?\r\n",
    );
}

/// The readers of the main test.
const READERS: [&str; 7] = [
    "ok@reader.example",
    "gone@reader.example",
    "angry@provider.example",
    "full@reader.example",
    "policy@reader.example",
    "leaver@reader.example",
    "away@reader.example",
];

const NINE_SUMMARY: &str = "9 messages: 1 hard bounces, 2 soft bounces, 1 complaints, \
    1 unsubscribes, 1 sender problems, 1 auto-replies, 0 notices, 1 not on the list, \
    0 already counted, 1 need a look";

#[test]
fn reports_are_counted_once_and_the_next_issue_skips_whom_they_suppress() {
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
        return;
    };
    let readers = READERS;
    let p = Project::new(&readers, "\n[bounces]\nsoft_bounce_limit = 2\n");
    let o = p.send("12", cap.port);
    assert!(o.status.success(), "{}", text(&o));
    let twelve = sent(&cap, 12);
    assert_eq!(twelve.len(), readers.len());

    drop_nine_reports(&p, &twelve);

    let o = p.bounces();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains(NINE_SUMMARY), "{out}");
    assert!(out.contains("needs a look"), "{out}");
    assert!(out.contains("09-junk.eml"), "{out}");
    assert!(out.contains("5.7.1"), "{out}");

    // Twice: nothing is counted again.
    let o = p.bounces();
    let again = text(&o);
    assert!(o.status.success(), "{again}");
    assert!(
        again.contains("0 hard bounces, 0 soft bounces, 0 complaints, 0 unsubscribes"),
        "{again}"
    );
    assert!(
        again.contains("8 already counted, 1 need a look"),
        "{again}"
    );

    // `audience` says why, per address.
    let o = p.cmd(&["audience", "--show-addresses"]);
    let why = text(&o);
    assert!(o.status.success(), "{why}");
    assert!(why.contains("bounced: 1"), "{why}");
    assert!(why.contains("complained: 1"), "{why}");
    assert!(why.contains("unsubscribed: 1"), "{why}");
    assert!(
        why.contains("gone@reader.example  5.1.1 550 5.1.1 <gone@reader.example>: Recipient address rejected: User unknown"),
        "{why}"
    );
    assert!(
        why.contains("complained    mailbox     angry@provider.example"),
        "{why}"
    );
    assert!(!why.contains("stranger@other.example"), "{why}");

    // Issue 13 skips the hard bounce, the complainer and the leaver; the
    // soft bounce (one issue so far), the 5.7.1 and the vacation get it.
    let (_cap13_dir, cap13) = send_to_capture(&p, "13");
    assert_eq!(
        recipients(&cap13, 13),
        set(&[
            "ok@reader.example",
            "full@reader.example",
            "policy@reader.example",
            "away@reader.example"
        ])
    );

    // A soft bounce on a second distinct issue reaches the limit of 2.
    let thirteen = sent(&cap13, 13);
    p.drop_mail(
        "10-soft-13.eml",
        &dsn(
            "r10@mx.reader.example",
            "full@reader.example",
            "4.2.2",
            "452 4.2.2 Mailbox full",
            &id_of(&thirteen, "full@reader.example"),
        ),
    );
    let o = p.bounces();
    let out = text(&o);
    assert!(out.contains("1 hard bounces, 1 soft bounces"), "{out}");
    assert!(out.contains("soft bounces on 2 distinct issues"), "{out}");

    let (_cap14_dir, cap14) = send_to_capture(&p, "14");
    assert_eq!(
        recipients(&cap14, 14),
        set(&[
            "ok@reader.example",
            "policy@reader.example",
            "away@reader.example"
        ])
    );
}

#[test]
fn killed_midway_then_run_again_counts_each_report_once() {
    let p = Project::new(&["gone@reader.example"], "");
    const N: usize = 1500;
    for i in 0..N {
        p.drop_mail(
            &format!("{i:05}.eml"),
            &dsn(
                &format!("r{i}@mx.reader.example"),
                "gone@reader.example",
                "5.1.1",
                "550 5.1.1 unknown user",
                "<x@elsewhere.example>",
            ),
        );
    }
    let mail = p.mail();
    let mut child = p
        .command(&["bounces", mail.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Let it commit some, then kill it without warning.
    let store = p.path().join(".letterpress/audience.db");
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(20) {
        if store.exists() && std::fs::metadata(&store).map(|m| m.len()).unwrap_or(0) > 0 {
            std::thread::sleep(std::time::Duration::from_millis(150));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the first run finished before it was killed"
    );
    let o = p.cmd(&["audience"]);
    let aud = text(&o);
    let before: usize = aud
        .lines()
        .find_map(|l| l.strip_prefix("events: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(before < N, "killed after all {N} were counted:\n{aud}");

    let o = p.cmd(&["bounces", mail.to_str().unwrap()]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let o = p.cmd(&["audience"]);
    let aud = text(&o);
    assert!(
        aud.contains(&format!("events: {N} in")),
        "every report counted exactly once ({before} before the kill):\n{out}\n{aud}"
    );
    // And a third run adds nothing.
    let o = p.cmd(&["bounces", mail.to_str().unwrap()]);
    assert!(
        text(&o).contains(&format!("{N} already counted")),
        "{}",
        text(&o)
    );
}

/// The envelope sender of the captured message to `rcpt`.
fn mail_from(cap: &Capture, rcpt: &str) -> String {
    cap.parsed()
        .iter()
        .find(|m| m["envelope"]["rcpt_tos"][0].as_str() == Some(rcpt))
        .and_then(|m| m["envelope"]["mail_from"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no message to {rcpt}"))
}

#[test]
fn verp_names_the_reader_when_the_report_does_not_and_forged_tags_suppress_nobody() {
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
        return;
    };
    let p = Project::new(
        &["ok@reader.example", "gone@reader.example"],
        "\n[bounces]\nreturn_path = \"bounces@sourdough-ledger.example\"\n",
    );
    let o = p.send("12", cap.port);
    assert!(o.status.success(), "{}", text(&o));
    let gone_from = mail_from(&cap, "gone@reader.example");
    let ok_from = mail_from(&cap, "ok@reader.example");
    let (local, domain) = gone_from.rsplit_once('@').unwrap();
    assert!(local.starts_with("bounces+issue-12."), "{gone_from}");
    assert!(local.len() <= 64, "{gone_from}");
    assert_eq!(domain, "sourdough-ledger.example");
    assert!(
        !gone_from.contains("gone"),
        "no address in clear: {gone_from}"
    );
    assert_ne!(gone_from, ok_from);
    // From: is unchanged.
    for m in cap.parsed() {
        assert!(
            m["headers"]["From"]
                .as_str()
                .unwrap()
                .contains("<letters@sourdough-ledger.example>"),
            "{m}"
        );
    }

    // The receiving system rewrote the address and quotes no original: only
    // the address the bounce is delivered to (the VERP sender) names gone@.
    let vague = |report_id: &str, to: &str| {
        dsn(
            report_id,
            "u1234@mailstore.reader.example",
            "5.1.1",
            "550 5.1.1 mailbox unavailable",
            "<lost@nowhere.example>",
        )
        .replacen("To: news@sourdough-ledger.example", &format!("To: {to}"), 1)
    };
    p.drop_mail("1.eml", &vague("v1@mx.reader.example", &gone_from));
    // A forged tag (ok@'s reader tag with a made-up seal), and a forged
    // report naming ok@ outright: neither suppresses ok@.
    let (ok_local, _) = ok_from.rsplit_once('@').unwrap();
    let forged_tag = format!(
        "{}.00000000@sourdough-ledger.example",
        ok_local.rsplit_once('.').unwrap().0
    );
    p.drop_mail("2.eml", &vague("v2@mx.reader.example", &forged_tag));
    p.drop_mail(
        "3.eml",
        &dsn(
            "v3@mx.evil.example",
            "ok@reader.example",
            "5.1.1",
            "550 5.1.1 no such user",
            "<x@evil.example>",
        )
        .replacen(
            "To: news@sourdough-ledger.example",
            "To: bounces+issue-12.0123456789abcdef.01234567@sourdough-ledger.example",
            1,
        ),
    );
    let o = p.bounces();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("hard-bounce gone@reader.example"), "{out}");
    assert!(out.contains("1 hard bounces"), "{out}");
    assert!(out.contains("2 forged VERP tags refused"), "{out}");
    assert!(!out.contains("hard-bounce ok@"), "{out}");

    let (_cap13_dir, cap13) = send_to_capture(&p, "13");
    assert_eq!(recipients(&cap13, 13), set(&["ok@reader.example"]));
}

#[test]
fn bad_bounce_settings_are_refused_with_the_key_and_the_fix() {
    let p = Project::new(
        &["ok@reader.example"],
        "\n[bounces]\nsoft_bounce_limit = 0\n",
    );
    let o = p.bounces();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("bounces.soft_bounce_limit"), "{out}");
    assert!(out.contains("at least 1"), "{out}");

    let p = Project::new(
        &["ok@reader.example"],
        &format!(
            "\n[bounces]\nreturn_path = \"{}@news.example\"\n",
            "b".repeat(40)
        ),
    );
    let o = p.cmd(&["send", "12", "--dry-run"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("[bounces] return_path"), "{out}");
    assert!(out.contains("too long"), "{out}");
}

#[test]
fn the_bounce_mailbox_over_imap_is_read_filed_and_never_counted_twice() {
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
        return;
    };
    let imap_dir = tempfile::tempdir().unwrap();
    let Some(server) = Dovecot::start(imap_dir.path(), "") else {
        return;
    };
    let p = Project::new(&READERS, "\n[bounces]\nsoft_bounce_limit = 2\n");
    let o = p.send("12", cap.port);
    assert!(o.status.success(), "{}", text(&o));
    let twelve = sent(&cap, 12);
    drop_nine_reports(&p, &twelve);
    server.append_dir("INBOX", &p.mail());
    assert_eq!(server.count("INBOX"), 9);

    let imap = |extra: &[&str]| {
        let url = server.url("INBOX");
        let mut args = vec!["bounces", "--imap", url.as_str(), "--show-addresses"];
        args.extend_from_slice(extra);
        p.command(&args)
            .env("LETTERPRESS_IMAP_PASSWORD", dovecot::PASSWORD)
            .output()
            .unwrap()
    };
    let o = imap(&[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains(NINE_SUMMARY), "{out}");
    assert!(out.contains("hard-bounce gone@reader.example"), "{out}");
    assert!(out.contains("needs a look"), "{out}");
    assert!(out.contains("INBOX UID 9"), "the junk is listed: {out}");
    assert!(!out.contains(dovecot::PASSWORD), "{out}");
    // Filed: the inbox is empty, the junk waits for a person (Dovecot's
    // maildir writes the `/` of letterpress/processed as `.`).
    assert_eq!(server.count("INBOX"), 0);
    assert_eq!(server.count("letterpress.processed"), 8);
    assert_eq!(
        server.subjects("letterpress.needs-a-look"),
        vec!["Subject: hello".to_string()]
    );

    // The same reports delivered again (a second copy in the inbox): the
    // store knows them, nothing is counted twice, and they are filed again.
    server.append_dir("INBOX", &p.mail());
    let o = imap(&["--processed", "Done"]);
    let again = text(&o);
    assert!(o.status.success(), "{again}");
    assert!(
        again.contains("0 hard bounces, 0 soft bounces, 0 complaints, 0 unsubscribes"),
        "{again}"
    );
    assert!(
        again.contains("8 already counted, 1 need a look"),
        "{again}"
    );
    assert_eq!(server.count("INBOX"), 0);
    assert_eq!(server.count("Done"), 8);
    assert_eq!(server.count("letterpress.needs-a-look"), 2);
    // And an empty inbox is no error.
    let o = imap(&[]);
    assert!(text(&o).contains("0 messages:"), "{}", text(&o));

    // Issue 13 skips the hard bounce, the complainer and the leaver.
    let (_cap13_dir, cap13) = send_to_capture(&p, "13");
    assert_eq!(
        recipients(&cap13, 13),
        set(&[
            "ok@reader.example",
            "full@reader.example",
            "policy@reader.example",
            "away@reader.example"
        ])
    );
}

#[test]
fn imap_without_a_password_or_with_a_wrong_one_says_what_to_do() {
    let imap_dir = tempfile::tempdir().unwrap();
    let Some(server) = Dovecot::start(imap_dir.path(), "") else {
        return;
    };
    let p = Project::new(&["ok@reader.example"], "");
    let url = server.url("INBOX");
    let o = p
        .command(&["bounces", "--imap", &url])
        .env_remove("LETTERPRESS_IMAP_PASSWORD")
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("LETTERPRESS_IMAP_PASSWORD"), "{out}");
    assert!(out.contains("bounces.imap_password_command"), "{out}");

    let o = p
        .command(&["bounces", "--imap", &url])
        .env("LETTERPRESS_IMAP_PASSWORD", "wrong-password-xyz")
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("login refused"), "{out}");
    assert!(!out.contains("wrong-password-xyz"), "{out}");

    // The password command works as for SMTP.
    let p = Project::new(
        &["ok@reader.example"],
        &format!(
            "\n[bounces]\nimap_password_command = \"printf {}\"\n",
            dovecot::PASSWORD
        ),
    );
    let o = p
        .command(&["bounces", "--imap", &url])
        .env_remove("LETTERPRESS_IMAP_PASSWORD")
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("0 messages:"), "{out}");

    // Plaintext leaves loopback never: the same Dovecot (which offers no
    // STARTTLS), reached through a host *name* (letterpress allows plaintext
    // only to `localhost` and loopback IP literals), is refused before LOGIN.
    // The name is one /etc/hosts maps to 127.0.0.1, so no traffic leaves the
    // machine's loopback.
    drop(server);
    let Some(name) = loopback_alias() else {
        eprintln!("note: no /etc/hosts name for 127.0.0.1 besides localhost; the STARTTLS refusal is not exercised here");
        return;
    };
    let imap_dir = tempfile::tempdir().unwrap();
    let server = Dovecot::start(imap_dir.path(), "").unwrap();
    let o = p
        .command(&[
            "bounces",
            "--imap",
            &format!("imap://bounces@{name}:{}/INBOX", server.port),
        ])
        .env("LETTERPRESS_IMAP_PASSWORD", dovecot::PASSWORD)
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("refused STARTTLS"), "{out}");
    assert!(out.contains("imaps://"), "{out}");
    let log = std::fs::read_to_string(imap_dir.path().join("dovecot.log")).unwrap();
    assert!(!log.contains("Login: user=<bounces>"), "{log}");
}

#[test]
fn a_server_without_move_gets_messages_flagged_in_place_and_skipped_next_time() {
    // Dovecot announcing no MOVE (it is the capability we read, not a guess).
    flagged_in_place(
        "protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR UIDPLUS IDLE\n}",
        &[],
        "cannot MOVE",
    );
}

#[test]
fn flag_in_place_leaves_messages_flagged_where_the_server_could_move_them() {
    flagged_in_place("", &["--flag-in-place"], "(--flag-in-place)");
}

/// Two messages (a bounce and junk) in a Dovecot with `conf`, read by
/// `bounces --imap` with `args`: both stay in INBOX, flagged, no folder is
/// made, the note says `note`, and the next run reads neither again.
fn flagged_in_place(conf: &str, args: &[&str], note: &str) {
    let imap_dir = tempfile::tempdir().unwrap();
    let Some(server) = Dovecot::start(imap_dir.path(), conf) else {
        return;
    };
    let p = Project::new(&["gone@reader.example", "ok@reader.example"], "");
    p.drop_mail(
        "1.eml",
        &dsn(
            "m1@mx.reader.example",
            "gone@reader.example",
            "5.1.1",
            "550 5.1.1 unknown user",
            "<x@elsewhere.example>",
        ),
    );
    p.drop_mail(
        "2.eml",
        "From: someone@else.example\r\nSubject: hello\r\n\r\nAre you hiring?\r\n",
    );
    server.append_dir("INBOX", &p.mail());
    let run = || {
        p.command(&["bounces", "--imap", &server.url("INBOX")])
            .args(args)
            .env("LETTERPRESS_IMAP_PASSWORD", dovecot::PASSWORD)
            .output()
            .unwrap()
    };
    let o = run();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("2 messages: 1 hard bounces"), "{out}");
    assert!(out.contains("1 need a look"), "{out}");
    assert!(out.contains(note), "{out}");
    // Nothing moved or deleted: the bounce is flagged read and processed,
    // the junk left unread for a person, flagged as needing a look.
    assert_eq!(server.count("INBOX"), 2);
    let flags = server.python(
        "M.select('INBOX', readonly=True)\nt, d = M.fetch('1:*', '(FLAGS)')\n\
         print(b' '.join(x for x in d).decode())",
    );
    assert_eq!(flags.matches("$LetterpressProcessed").count(), 1, "{flags}");
    assert_eq!(flags.matches("$LetterpressNeedsLook").count(), 1, "{flags}");
    assert_eq!(flags.matches("\\Seen").count(), 1, "{flags}");
    assert!(!flags.contains("\\Deleted"), "{flags}");
    let folders = server.python("print(M.list()[1])");
    assert!(
        !folders.contains("letterpress"),
        "no folder is made: {folders}"
    );
    // The next run does not read them again.
    let o = run();
    assert!(text(&o).contains("0 messages:"), "{}", text(&o));
}

/// The `events: N in` count of `letterpress audience`.
fn events(p: &Project) -> usize {
    let o = p.cmd(&["audience"]);
    text(&o)
        .lines()
        .find_map(|l| l.strip_prefix("events: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn imap_killed_mid_batch_then_run_again_counts_each_report_once_and_files_all() {
    let imap_dir = tempfile::tempdir().unwrap();
    let Some(server) = Dovecot::start(imap_dir.path(), "") else {
        return;
    };
    let p = Project::new(&["gone@reader.example"], "");
    // Several FETCH batches' worth, so the kill lands after some were
    // committed and filed and before the last.
    // One in a hundred is junk, for a person to read.
    const N: usize = 3000;
    const JUNK: usize = N / 100;
    for i in 0..N {
        let raw = if i % 100 == 7 {
            format!("From: someone@else.example\r\nSubject: hello {i}\r\n\r\nHiring?\r\n")
        } else {
            dsn(
                &format!("k{i}@mx.reader.example"),
                "gone@reader.example",
                "5.1.1",
                "550 5.1.1 unknown user",
                "<x@elsewhere.example>",
            )
        };
        p.drop_mail(&format!("{i:05}.eml"), &raw);
    }
    server.deliver_dir(&p.mail());
    assert_eq!(server.count("INBOX"), N);
    let url = server.url("INBOX");
    let mut child = p
        .command(&["bounces", "--imap", &url])
        .env("LETTERPRESS_IMAP_PASSWORD", dovecot::PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it without warning as soon as the first batch is filed: the
    // next batch is being fetched, classified or committed.
    let started = std::time::Instant::now();
    while server.files_in("letterpress.processed") == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "nothing was filed in a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the first run finished before the kill");
    let before = events(&p);
    assert!(
        0 < before && before < N - JUNK,
        "{before} counted before the kill"
    );
    // Nothing is filed that was not committed.
    assert!(
        server.count("letterpress.processed") <= before,
        "filed more than were committed"
    );

    let run = || {
        p.command(&["bounces", "--imap", &url])
            .env("LETTERPRESS_IMAP_PASSWORD", dovecot::PASSWORD)
            .output()
            .unwrap()
    };
    let o = run();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert_eq!(
        events(&p),
        N - JUNK,
        "each report counted exactly once:\n{out}"
    );
    assert_eq!(server.count("INBOX"), 0);
    assert_eq!(server.count("letterpress.processed"), N - JUNK);
    assert_eq!(server.count("letterpress.needs-a-look"), JUNK);
    let o = run();
    assert!(text(&o).contains("0 messages:"), "{}", text(&o));
}

#[test]
fn many_batches_are_filed_on_one_connection_when_a_second_is_refused() {
    let imap_dir = tempfile::tempdir().unwrap();
    // One connection per user and address: the filing connection is
    // refused, and the reading one files everything once it has read it.
    let Some(server) = Dovecot::start(
        imap_dir.path(),
        "protocol imap {\n  mail_max_userip_connections = 1\n}",
    ) else {
        return;
    };
    let p = Project::new(&["gone@reader.example"], "");
    const N: usize = 1100;
    for i in 0..N {
        p.drop_mail(
            &format!("{i:05}.eml"),
            &dsn(
                &format!("c{i}@mx.reader.example"),
                "gone@reader.example",
                "5.1.1",
                "550 5.1.1 unknown user",
                "<x@elsewhere.example>",
            ),
        );
    }
    server.deliver_dir(&p.mail());
    let o = p
        .command(&["bounces", "--imap", &server.url("INBOX")])
        .env("LETTERPRESS_IMAP_PASSWORD", dovecot::PASSWORD)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("{N} messages: {N} hard bounces")),
        "{out}"
    );
    assert_eq!(events(&p), N);
    assert_eq!(server.count("INBOX"), 0);
    assert_eq!(server.count("letterpress.processed"), N);
    let log = std::fs::read_to_string(imap_dir.path().join("dovecot.log")).unwrap();
    assert!(log.contains("Maximum number of connections"), "{log}");
}

#[test]
fn soft_bounces_in_one_imap_batch_are_decided_as_one_by_one() {
    let imap_dir = tempfile::tempdir().unwrap();
    let Some(server) = Dovecot::start(imap_dir.path(), "") else {
        return;
    };
    // Two soft bounces of one reader on two distinct issues (named by the
    // originals' Message-IDs), in one batch: with a limit of 2 the second
    // suppresses, exactly as reading them one at a time does.
    let p = Project::new(
        &["full@reader.example"],
        "\n[bounces]\nsoft_bounce_limit = 2\n",
    );
    for (i, original) in ["<issue-a@news.example>", "<issue-b@news.example>"]
        .iter()
        .enumerate()
    {
        p.drop_mail(
            &format!("{i}.eml"),
            &dsn(
                &format!("s{i}@mx.reader.example"),
                "full@reader.example",
                "4.2.2",
                "452 4.2.2 Mailbox full",
                original,
            ),
        );
    }
    let files = p.bounces();
    let from_files = text(&files);
    assert!(
        from_files.contains("soft bounces on 2 distinct issues"),
        "{from_files}"
    );

    let p2 = Project::new(
        &["full@reader.example"],
        "\n[bounces]\nsoft_bounce_limit = 2\n",
    );
    server.append_dir("INBOX", &p.mail());
    let o = p2
        .command(&[
            "bounces",
            "--imap",
            &server.url("INBOX"),
            "--show-addresses",
        ])
        .env("LETTERPRESS_IMAP_PASSWORD", dovecot::PASSWORD)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("soft bounces on 2 distinct issues"), "{out}");
    assert!(
        out.contains("2 messages: 1 hard bounces, 2 soft bounces"),
        "{out}"
    );
    assert!(
        from_files.contains("2 messages: 1 hard bounces, 2 soft bounces"),
        "{from_files}"
    );
}

/// `bounces --imap … --watch` running, its output collected as it comes.
struct Watcher {
    child: std::process::Child,
    out: std::sync::Arc<std::sync::Mutex<String>>,
    err: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Watcher {
    fn start(p: &Project, url: &str, extra: &[&str]) -> Watcher {
        let mut args = vec!["bounces", "--imap", url, "--watch", "--show-addresses"];
        args.extend_from_slice(extra);
        let mut child = p
            .command(&args)
            .env("LETTERPRESS_IMAP_PASSWORD", dovecot::PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let collect = |from: Box<dyn std::io::Read + Send>| {
            let buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
            let to = buf.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(from).lines() {
                    let Ok(line) = line else { break };
                    let mut b = to.lock().unwrap();
                    b.push_str(&line);
                    b.push('\n');
                }
            });
            buf
        };
        let out = collect(Box::new(child.stdout.take().unwrap()));
        let err = collect(Box::new(child.stderr.take().unwrap()));
        Watcher { child, out, err }
    }

    fn text(&self) -> String {
        format!(
            "--- stdout\n{}--- stderr\n{}",
            self.out.lock().unwrap(),
            self.err.lock().unwrap()
        )
    }

    /// Waits up to `secs` for `done`, failing with `what` and the output.
    fn wait_for(&mut self, secs: u64, what: &str, mut done: impl FnMut(&Watcher) -> bool) {
        let started = std::time::Instant::now();
        while !done(self) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("exited ({status}) waiting for {what}:\n{}", self.text());
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(secs),
                "no {what} within {secs} s:\n{}",
                self.text()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Sends `signal` (TERM, INT); the exit status and the whole output.
    fn stop(mut self, signal: &str) -> (std::process::ExitStatus, String) {
        let o = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .output()
            .unwrap();
        assert!(o.status.success());
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > std::time::Duration::from_secs(15) {
                let _ = self.child.kill();
                panic!("still running 15 s after SIG{signal}:\n{}", self.text());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        // Let the readers reach the end of the pipes.
        std::thread::sleep(std::time::Duration::from_millis(100));
        (status, self.text())
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One hard bounce for `rcpt`, as a file of its own to APPEND.
fn one_bounce(p: &Project, name: &str, rcpt: &str) -> PathBuf {
    let dir = p.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("1.eml"),
        dsn(
            &format!("{name}@mx.reader.example"),
            rcpt,
            "5.1.1",
            "550 5.1.1 unknown user",
            "<x@elsewhere.example>",
        ),
    )
    .unwrap();
    dir
}

#[test]
fn watch_reads_new_mail_as_it_arrives_and_ends_cleanly_on_sigterm() {
    let imap_dir = tempfile::tempdir().unwrap();
    let Some(server) = Dovecot::start(imap_dir.path(), "") else {
        return;
    };
    let p = Project::new(&["gone@reader.example", "left@reader.example"], "");
    let first = one_bounce(&p, "first", "gone@reader.example");
    let second = one_bounce(&p, "second", "left@reader.example");
    // One message is there before the start: read first, then watched.
    server.append_dir("INBOX", &first);
    let mut w = Watcher::start(&p, &server.url("INBOX"), &[]);
    w.wait_for(10, "the mailbox read and IDLE started", |w| {
        w.err
            .lock()
            .unwrap()
            .contains("waiting for new mail (IDLE)")
    });
    assert!(w
        .out
        .lock()
        .unwrap()
        .contains("hard-bounce gone@reader.example"));
    assert_eq!(server.files_in("letterpress.processed"), 1);

    // New mail while it idles: recorded and filed within seconds (the
    // renewal is 25 minutes away, so only IDLE's news can wake it).
    let appended = std::time::Instant::now();
    server.append_dir("INBOX", &second);
    w.wait_for(5, "the second bounce filed", |_| {
        server.files_in("letterpress.processed") == 2
    });
    assert!(w
        .out
        .lock()
        .unwrap()
        .contains("hard-bounce left@reader.example"));
    assert_eq!(events(&p), 2, "{}", w.text());
    assert_eq!(server.count("INBOX"), 0);
    eprintln!(
        "note: the appended bounce was filed {:?} after APPEND",
        appended.elapsed()
    );

    let (status, out) = w.stop("TERM");
    assert!(status.success(), "{status}:\n{out}");
    assert!(
        out.contains("2 messages: 2 hard bounces, 0 soft bounces"),
        "{out}"
    );
    assert!(!out.contains(dovecot::PASSWORD), "{out}");
    // DONE, then LOGOUT: Dovecot logs a logout, not a dropped connection.
    let log = std::fs::read_to_string(imap_dir.path().join("dovecot.log")).unwrap();
    let sessions: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("imap(bounces)"))
        .collect();
    let last = sessions.last().copied().unwrap_or_default();
    assert!(last.contains("Logged out"), "{last}\n{log}");
}

#[test]
fn watch_without_idle_polls_and_reconnects_after_a_dropped_connection() {
    let imap_dir = tempfile::tempdir().unwrap();
    // A server announcing no IDLE: letterpress polls (it reads the
    // capability, it does not guess).
    let Some(server) = Dovecot::start(
        imap_dir.path(),
        "protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR UIDPLUS MOVE\n}",
    ) else {
        return;
    };
    let p = Project::new(&["gone@reader.example", "left@reader.example"], "");
    let mut w = Watcher::start(&p, &server.url("INBOX"), &["--poll-seconds", "1"]);
    w.wait_for(10, "polling", |w| {
        w.err
            .lock()
            .unwrap()
            .contains("has no IDLE; looking for new mail every 1 s")
    });
    server.append_dir("INBOX", &one_bounce(&p, "first", "gone@reader.example"));
    w.wait_for(5, "the polled bounce filed", |_| {
        server.files_in("letterpress.processed") == 1
    });

    // The server drops every session of the user: letterpress says so and
    // connects again, then reads what arrives next.
    let kick = Command::new("/usr/bin/doveadm")
        .arg("-c")
        .arg(imap_dir.path().join("dovecot.conf"))
        .args(["kick", dovecot::USER])
        .output()
        .unwrap();
    assert!(
        kick.status.success(),
        "{}",
        String::from_utf8_lossy(&kick.stderr)
    );
    w.wait_for(15, "a reconnection", |w| {
        w.err
            .lock()
            .unwrap()
            .contains("reconnected to imap://bounces@127.0.0.1")
    });
    assert!(
        w.err.lock().unwrap().contains("connecting again in 1 s"),
        "{}",
        w.text()
    );
    server.append_dir("INBOX", &one_bounce(&p, "second", "left@reader.example"));
    w.wait_for(5, "the bounce after the reconnection filed", |_| {
        server.files_in("letterpress.processed") == 2
    });

    let (status, out) = w.stop("INT");
    assert!(status.success(), "{status}:\n{out}");
    assert!(out.contains("2 messages: 2 hard bounces"), "{out}");
    assert!(!out.contains(dovecot::PASSWORD), "{out}");
    assert_eq!(events(&p), 2);
}

#[test]
fn watch_renews_idle_and_still_hears_new_mail() {
    let imap_dir = tempfile::tempdir().unwrap();
    let Some(server) = Dovecot::start(imap_dir.path(), "") else {
        return;
    };
    let p = Project::new(&["gone@reader.example"], "");
    // IDLE ended and re-issued every second: a few renewals, then mail.
    let mut w = Watcher::start(&p, &server.url("INBOX"), &["--idle-seconds", "1"]);
    w.wait_for(10, "IDLE started", |w| {
        w.err
            .lock()
            .unwrap()
            .contains("waiting for new mail (IDLE)")
    });
    std::thread::sleep(std::time::Duration::from_millis(3500));
    server.append_dir("INBOX", &one_bounce(&p, "late", "gone@reader.example"));
    w.wait_for(5, "the bounce filed", |_| {
        server.files_in("letterpress.processed") == 1
    });
    let (status, out) = w.stop("TERM");
    assert!(status.success(), "{status}:\n{out}");
    assert!(out.contains("1 messages: 1 hard bounces"), "{out}");
    // Two logins in all, letterpress's and the APPEND's: renewing IDLE is
    // not reconnecting.
    let log = std::fs::read_to_string(imap_dir.path().join("dovecot.log")).unwrap();
    assert_eq!(log.matches("Login: user=<bounces>").count(), 2, "{log}");
}

#[test]
fn imaps_and_starttls_read_the_mailbox_and_an_untrusted_certificate_is_refused() {
    let certs = tempfile::tempdir().unwrap();
    // STARTTLS is used (and required) off loopback only: reach Dovecot
    // through a host name /etc/hosts maps to 127.0.0.1, named in the
    // certificate too, so no traffic leaves the machine's loopback.
    let alias = loopback_alias();
    let names: Vec<&str> = alias.iter().map(String::as_str).collect();
    if !common::certificates_for(certs.path(), &names) {
        return;
    }
    let imap_dir = tempfile::tempdir().unwrap();
    let Some(server) = Dovecot::start_tls(imap_dir.path(), "", certs.path()) else {
        return;
    };
    let ca = certs.path().join("ca.pem");
    let trusted = Project::new(
        &["gone@reader.example", "left@reader.example"],
        &format!(
            "\n[bounces]\nimap_ca_file = {:?}\n",
            ca.display().to_string()
        ),
    );
    let run = |p: &Project, url: &str| {
        p.command(&["bounces", "--imap", url, "--show-addresses"])
            .env("LETTERPRESS_IMAP_PASSWORD", dovecot::PASSWORD)
            .output()
            .unwrap()
    };
    let tls_logins = || {
        std::fs::read_to_string(imap_dir.path().join("dovecot.log"))
            .unwrap()
            .lines()
            .filter(|l| l.contains("Login: user=<bounces>") && l.contains(", TLS,"))
            .count()
    };

    // imaps://: TLS from the first byte, the test CA trusted by the key.
    server.append_dir(
        "INBOX",
        &one_bounce(&trusted, "first", "gone@reader.example"),
    );
    let o = run(
        &trusted,
        &format!("imaps://bounces@localhost:{}/INBOX", server.imaps_port),
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("hard-bounce gone@reader.example"), "{out}");
    assert!(out.contains("1 messages: 1 hard bounces"), "{out}");
    assert_eq!(tls_logins(), 1, "the login was not over TLS");
    assert_eq!(server.count("letterpress.processed"), 1);

    // imap:// with a successful STARTTLS.
    if let Some(alias) = &alias {
        server.append_dir(
            "INBOX",
            &one_bounce(&trusted, "second", "left@reader.example"),
        );
        let o = run(
            &trusted,
            &format!("imap://bounces@{alias}:{}/INBOX", server.port),
        );
        let out = text(&o);
        assert!(o.status.success(), "{out}");
        assert!(out.contains("hard-bounce left@reader.example"), "{out}");
        assert_eq!(tls_logins(), 2, "the STARTTLS login was not over TLS");
        assert_eq!(server.count("letterpress.processed"), 2);
    } else {
        eprintln!(
            "note: no /etc/hosts name for 127.0.0.1 besides localhost; STARTTLS is not exercised"
        );
    }

    // Without the key, the test CA is nobody's: refused before LOGIN, with
    // the URL and the key to set.
    let untrusted = Project::new(&["gone@reader.example"], "");
    let url = format!("imaps://bounces@localhost:{}/INBOX", server.imaps_port);
    let o = run(&untrusted, &url);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains(&url), "{out}");
    assert!(out.contains("[bounces] imap_ca_file"), "{out}");
    assert!(!out.contains(dovecot::PASSWORD), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.contains("error")).count(),
        1,
        "{out}"
    );
    if let Some(alias) = &alias {
        let o = run(
            &untrusted,
            &format!("imap://bounces@{alias}:{}/INBOX", server.port),
        );
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains("[bounces] imap_ca_file"), "{out}");
    }
    assert_eq!(tls_logins(), if alias.is_some() { 2 } else { 1 });

    // A key naming a file that is not there says which.
    let missing = Project::new(
        &["gone@reader.example"],
        "\n[bounces]\nimap_ca_file = \"no-such-ca.pem\"\n",
    );
    let o = run(&missing, &url);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("no-such-ca.pem"), "{out}");
}

/// A host name other than `localhost` that /etc/hosts maps to 127.0.0.1.
fn loopback_alias() -> Option<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    hosts
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            (fields.next()? == "127.0.0.1").then(|| fields.map(str::to_string).collect::<Vec<_>>())
        })
        .flatten()
        .find(|name| !name.eq_ignore_ascii_case("localhost") && !name.contains("localhost"))
}
