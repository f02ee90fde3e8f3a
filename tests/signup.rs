//! The double opt-in sign-up end to end, one machine: `letterpress listen`
//! with `[smtp]` pointing at aiosmtpd. Sign-ups are posted as a cross-origin
//! form would (curl, from several loopback source addresses so the per-IP
//! limit is per client); the confirmation mail arrives at aiosmtpd; its link's
//! GET confirms nothing, the button's POST does; then `send` of an issue to
//! aiosmtpd reaches the file's reader and the confirmed sign-up only.

mod common;
mod listen_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::capture::Capture;
use letterpress::audience::store::Store;
use listen_support::{http, start, Listen, Site, SECRET};

const ISSUE: &str = "issues/012-reviving-a-sleepy-starter.md";

/// curl posts the forms (it can pick the source address, so each client has
/// its own per-IP bucket); `false` after `skip` without it.
fn have_curl() -> bool {
    if common::has_program("curl", &["--version"]) {
        return true;
    }
    common::skip("curl is needed to post the forms (apt-get install curl)");
    false
}

fn site(smtp_port: u16, extra: &str) -> Site {
    let root = common::root();
    let site = Site::new(&format!(
        "signup = true\n{extra}\n[smtp]\nurl = \"smtp://127.0.0.1:{smtp_port}\"\n\n[paths]\ntemplates = {:?}\nsubscribers = \"subscribers.toml\"\n",
        root.join("templates").display().to_string()
    ));
    std::fs::write(
        site.dir.path().join("subscribers.toml"),
        "[[subscriber]]\nemail = \"file@example.com\"\n",
    )
    .unwrap();
    site
}

/// POSTs the form `body` to `/subscribe` from source address `from` with a
/// foreign Origin, as a static site's form does; the status and headers.
fn post_form(listen: &Listen, from: &str, body: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "/dev/null", "--interface", from])
        .args(["-H", "Origin: https://blog.example"])
        .args(["--data-raw", body])
        .arg(listen.url("/subscribe"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head)
}

/// recipient → the bodies of the messages captured in `dir`.
fn mails(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().map_or(true, |x| x != "eml") {
            continue;
        }
        let envelope: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p.with_extension("json")).unwrap())
                .unwrap();
        let rcpt = envelope["rcpt_tos"][0].as_str().unwrap().to_lowercase();
        out.entry(rcpt)
            .or_default()
            .push(std::fs::read_to_string(&p).unwrap());
    }
    out
}

fn wait_for(cap: &Capture, n: usize) {
    let start = Instant::now();
    while cap.count() < n && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends the issue to a fresh aiosmtpd: recipient → messages.
fn send_issue(site: &Site) -> Option<BTreeMap<String, Vec<String>>> {
    let dir = tempfile::tempdir().unwrap();
    let cap = Capture::start(dir.path(), &[])?;
    let out = Command::new(env!("CARGO_BIN_EXE_letterpress"))
        .arg("--config")
        .arg(&site.config)
        .arg("send")
        .arg(common::root().join(ISSUE))
        .args(["--yes", "--smtp", &format!("smtp://127.0.0.1:{}", cap.port)])
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("LETTERPRESS_SMTP_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "send failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    drop(cap);
    Some(mails(dir.path()))
}

/// The confirmation link in the one mail captured for `rcpt` in `dir`.
fn confirmation_link(dir: &Path, rcpt: &str) -> String {
    let got = mails(dir);
    let mail = &got[rcpt][0];
    let body = mail.replace("=\r\n", "");
    body.split("https://listen.example/confirm/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no confirmation link in {mail}"))
        .to_string()
}

fn confirmed(site: &Site) -> Vec<String> {
    let store = Store::open(&site.store()).unwrap();
    let s = store.suppressions().unwrap();
    s.confirmed()
        .iter()
        .map(|(k, _)| k.as_str().to_string())
        .collect()
}

#[test]
fn a_confirmed_sign_up_gets_the_next_issue_and_nothing_else_does() {
    if !have_curl() {
        return;
    }
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
        return;
    };
    let site = site(cap.port, "");
    Store::open(&site.store())
        .unwrap()
        .record(&[letterpress::audience::store::Event::now(
            letterpress::audience::AddressKey::parse("spammed@example.com").unwrap(),
            letterpress::audience::store::EventKind::Complaint,
            letterpress::audience::store::Source::Manual,
            "",
        )])
        .unwrap();
    let listen = start(&site, &[], &[]);

    let (status, _) = post_form(&listen, "127.0.0.3", "email=New%40Example.com&name=Ada+L.");
    // Someone who reported the newsletter as spam: the same answer, no mail.
    let (status2, _) = post_form(&listen, "127.0.0.9", "email=spammed%40example.com");
    assert_eq!(status2, 200);
    assert_eq!(status, 200);
    // Ten sign-ups for one address from one client: the first five pass the
    // per-IP bucket, the rest are refused; one mail whatever got through.
    let statuses: Vec<u16> = (0..10)
        .map(|_| post_form(&listen, "127.0.0.2", "email=twice%40example.com&name=").0)
        .collect();
    assert_eq!(statuses[..5], [200; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [429; 5], "{statuses:?}");
    // A bot fills the honeypot: the same answer, no mail.
    let (status, _) = post_form(
        &listen,
        "127.0.0.4",
        "email=bot%40example.com&name=x&website=http%3A%2F%2Fspam.example",
    );
    assert_eq!(status, 200);
    let (status, _) = post_form(&listen, "127.0.0.5", "email=pending%40example.com");
    assert_eq!(status, 200);
    // Not an address by the list's grammar.
    let (status, _) = post_form(&listen, "127.0.0.6", "email=no+at+sign");
    assert_eq!(status, 422);

    wait_for(&cap, 3);
    std::thread::sleep(Duration::from_millis(500));
    let got = mails(cap_dir.path());
    let who: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(
        who,
        [
            "new@example.com",
            "pending@example.com",
            "twice@example.com"
        ]
    );
    assert!(got.values().all(|v| v.len() == 1), "one mail each: {got:?}");
    let parsed = cap.parsed();
    assert_eq!(parsed.len(), 3, "{parsed:?}");

    let mail = &got["new@example.com"][0];
    assert!(
        mail.contains("Subject: Confirm your subscription"),
        "{mail}"
    );
    assert!(mail.contains("multipart/alternative"), "{mail}");
    assert!(mail.contains("Content-Type: text/html"), "{mail}");
    let token = confirmation_link(cap_dir.path(), "new@example.com");
    assert!(!token.to_lowercase().contains("example"));

    // The link (as a scanner fetches it): a button, and nothing recorded.
    let (status, _, page) = http(listen.addr, "GET", &format!("/confirm/{token}"), &[], "");
    assert_eq!(status, 200);
    assert!(page.contains("id=\"confirm\""), "{page}");
    assert!(confirmed(&site).is_empty());
    // A forged token opens nothing.
    let swap = if token.as_bytes()[10] == b'A' {
        "B"
    } else {
        "A"
    };
    let forged = format!("{}{swap}{}", &token[..10], &token[11..]);
    let (status, _, _) = http(listen.addr, "POST", &format!("/confirm/{forged}"), &[], "");
    assert_eq!(status, 404);
    // The button.
    let (status, _, page) = http(
        listen.addr,
        "POST",
        &format!("/confirm/{token}"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "confirm=yes",
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are subscribed"), "{page}");
    assert_eq!(confirmed(&site), ["new@example.com"]);
    assert!(!listen.log().contains("example.com"), "{}", listen.log());
    drop(listen);
    drop(cap);

    // The next issue: the file's reader and the confirmed sign-up only.
    let Some(got) = send_issue(&site) else {
        return;
    };
    let who: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(who, ["file@example.com", "new@example.com"]);
    assert!(got["new@example.com"][0].contains("Ada L."));
}

#[test]
fn the_thank_you_redirect_goes_only_to_the_configured_url() {
    if !have_curl() {
        return;
    }
    // An SMTP port nobody listens on: the form must answer all the same.
    let site = site(9, "thank_you_url = \"https://blog.example/thanks/\"");
    let listen = start(&site, &[], &[]);
    let (status, head) = post_form(
        &listen,
        "127.0.0.7",
        "email=reader%40example.com&redirect=https%3A%2F%2Fevil.example",
    );
    assert_eq!(status, 303, "{head}");
    assert!(
        head.lines()
            .any(|l| l.trim_end() == "location: https://blog.example/thanks/"
                || l.trim_end() == "Location: https://blog.example/thanks/"),
        "{head}"
    );
    assert!(!head.contains("evil.example"));
}

#[test]
fn the_confirmation_mail_is_dkim_signed_like_an_issue() {
    if !have_curl() {
        return;
    }
    if !common::has_python_module("dkim") || !common::has_program("openssl", &["version"]) {
        return common::skip("python3 with dkimpy and openssl are needed (pip install dkimpy)");
    }
    let keys = tempfile::tempdir().unwrap();
    let ok = Command::new("openssl")
        .args(["genrsa", "-out", "rsa.pem", "2048"])
        .current_dir(keys.path())
        .output()
        .unwrap();
    assert!(ok.status.success());
    let der = Command::new("openssl")
        .args(["pkey", "-in", "rsa.pem", "-pubout", "-outform", "DER"])
        .current_dir(keys.path())
        .output()
        .unwrap()
        .stdout;
    use base64::Engine as _;
    let txt = format!(
        "v=DKIM1; k=rsa; p={}",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
        return;
    };
    let site = site(
        cap.port,
        &format!(
            "\n[dkim]\ndomain = \"listen.example\"\nselector = \"lp\"\nalgorithm = \"rsa\"\nprivate_key = {:?}\n",
            keys.path().join("rsa.pem").display().to_string()
        ),
    );
    let listen = start(&site, &[], &[]);
    let (status, _) = post_form(&listen, "127.0.0.8", "email=signed%40example.com");
    assert_eq!(status, 200);
    wait_for(&cap, 1);
    let files: Vec<String> = std::fs::read_dir(cap_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(files.len(), 1);
    let v = Command::new("python3")
        .arg(common::root().join("tests/judges/dkim_verify.py"))
        .arg(&txt)
        .args(&files)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}

/// The whole flow as a reader lives it, in headless Chromium
/// (tests/browser/signup.mjs): the form on another origin → submit → the
/// mail at aiosmtpd → open the link (nothing recorded) → press the button
/// (confirmed) → the next send includes the reader.
#[test]
fn sign_up_in_headless_chromium_then_the_next_issue_arrives() {
    use std::io::{BufRead, BufReader, Read, Write};
    if let Some(why) = common::chromium_missing() {
        return common::skip(&why);
    }
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
        return;
    };
    let site = site(cap.port, "");
    let listen = start(&site, &[], &[]);
    let mut child = Command::new("node")
        .arg(common::root().join("tests/browser/signup.mjs"))
        .current_dir(common::root().join("tests/browser"))
        .env("LP_SUBSCRIBE", listen.url("/subscribe"))
        .env("LP_EMAIL", "chromium.reader@example.com")
        .env("LP_SHOTS", common::root().join("target/screenshots"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let mut stdin = child.stdin.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut steps = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let Some(step) = line.strip_prefix("STEP ") else {
            println!("{line}");
            continue;
        };
        let answer = match step {
            "submitted" => {
                wait_for(&cap, 1);
                let token = confirmation_link(cap_dir.path(), "chromium.reader@example.com");
                listen.url(&format!("/confirm/{token}"))
            }
            "shown" => {
                assert!(confirmed(&site).is_empty(), "opening the link confirmed");
                "ok".into()
            }
            "confirmed" => {
                assert_eq!(confirmed(&site), ["chromium.reader@example.com"]);
                "ok".into()
            }
            other => panic!("unknown step {other}"),
        };
        steps.push(step.to_string());
        writeln!(stdin, "{answer}").unwrap();
    }
    let status = child.wait().unwrap();
    let err = err_t.join().unwrap();
    assert!(status.success(), "the browser script failed:\n{err}");
    assert_eq!(steps, ["submitted", "shown", "confirmed"]);
    drop(listen);
    drop(cap);
    let Some(got) = send_issue(&site) else {
        return;
    };
    let who: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(who, ["chromium.reader@example.com", "file@example.com"]);
}

#[test]
fn listen_refuses_to_start_without_the_confirmation_template() {
    let templates = tempfile::tempdir().unwrap();
    std::fs::write(
        templates.path().join("confirm.html"),
        "<p>{{ confirm_url }}</p>",
    )
    .unwrap();
    let site = Site::new(&format!(
        "signup = true\n[smtp]\nurl = \"smtp://127.0.0.1:9\"\n\n[paths]\ntemplates = {:?}\n",
        templates.path().display().to_string()
    ));
    let out = listen_support::command(&site, &[]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("confirm.txt"), "{err}");
}
