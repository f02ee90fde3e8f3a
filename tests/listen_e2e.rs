//! End to end, one machine: `letterpress listen` running, aiosmtpd
//! capturing. Send issue A to a list; take the List-Unsubscribe URL out of
//! three delivered messages and POST one-click; GET two others (as a link
//! scanner does); POST one forged token; send issue B: the three get
//! nothing, everyone else exactly one copy, the forged one was refused.

mod common;
mod listen_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use listen_support::{http, one_click, start, Site, SECRET};

const ISSUE_A: &str = "issues/012-reviving-a-sleepy-starter.md";
const READERS: usize = 12;

/// aiosmtpd writing every message to a folder; killed on drop.
struct Capture {
    child: Child,
    port: u16,
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn capture(dir: &Path) -> Capture {
    let mut child = Command::new("python3")
        .arg(common::root().join("tests/judges/smtp_capture.py"))
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().strip_prefix("READY ").unwrap().parse().unwrap();
    Capture { child, port }
}

/// recipient → the List-Unsubscribe https/http URL of each message captured in `dir`.
fn delivered(dir: &Path) -> BTreeMap<String, Vec<String>> {
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
        let eml = std::fs::read_to_string(&p).unwrap();
        let head = eml.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
        let value = head
            .lines()
            .find_map(|l| l.strip_prefix("List-Unsubscribe: "))
            .unwrap_or_else(|| panic!("no List-Unsubscribe in {}", p.display()));
        let url = value
            .split(['<', '>'])
            .find(|part| part.starts_with("http"))
            .unwrap()
            .to_string();
        out.entry(rcpt).or_default().push(url);
    }
    out
}

/// The project: the shipped config with `public_url` pointing at `listen`.
fn project(dir: &Path, public_url: &str) -> PathBuf {
    let root = common::root();
    let shipped = std::fs::read_to_string(root.join("letterpress.toml")).unwrap();
    let mut config = String::new();
    for line in shipped.lines() {
        let line = if line.starts_with("templates = ") {
            format!(
                "templates = {:?}",
                root.join("templates").display().to_string()
            )
        } else if line.starts_with("issues = ") {
            format!("issues = {:?}", root.join("issues").display().to_string())
        } else if line.starts_with("public_url = ") {
            format!("public_url = {public_url:?}")
        } else {
            line.to_string()
        };
        config.push_str(&line);
        config.push('\n');
    }
    let path = dir.join("letterpress.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn send(config: &Path, issue: &Path, smtp_port: u16) {
    let out = Command::new(env!("CARGO_BIN_EXE_letterpress"))
        .arg("--config")
        .arg(config)
        .arg("send")
        .arg(issue)
        .args(["--yes", "--smtp", &format!("smtp://127.0.0.1:{smtp_port}")])
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
}

#[test]
fn unsubscribes_through_listen_are_honoured_by_the_next_issue() {
    if !common::has_python_module("aiosmtpd") {
        common::skip("python3 with aiosmtpd is needed (pip install aiosmtpd)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = project(dir.path(), "https://placeholder.example");
    let mut subscribers = String::new();
    for i in 0..READERS {
        subscribers.push_str(&format!(
            "[[subscriber]]\nemail = \"reader{i:02}@example.com\"\n\n"
        ));
    }
    std::fs::write(dir.path().join("subscribers.toml"), subscribers).unwrap();
    let site = Site {
        dir,
        config: config.clone(),
    };
    let server = start(&site, &[], &[]);
    project(site.dir.path(), &server.url(""));

    // Issue A to everyone.
    let cap_a = tempfile::tempdir().unwrap();
    let smtp = capture(cap_a.path());
    send(&config, &common::root().join(ISSUE_A), smtp.port);
    drop(smtp);
    let a = delivered(cap_a.path());
    assert_eq!(a.len(), READERS, "{a:?}");
    assert!(a.values().all(|urls| urls.len() == 1));
    let readers: Vec<&String> = a.keys().collect();
    let path_of = |url: &str| url.strip_prefix(&server.url("")).unwrap().to_string();

    // Three one-click unsubscribes from the URLs in their messages.
    let gone: Vec<String> = readers[0..3].iter().map(|r| r.to_string()).collect();
    for r in &gone {
        let (status, head, _) = one_click(server.addr, &path_of(&a[r][0]));
        assert_eq!(status, 200, "{head}");
    }
    // Two scanners fetch the link: nothing changes.
    for r in &readers[3..5] {
        let (status, _, body) = http(server.addr, "GET", &path_of(&a[*r][0]), &[], "");
        assert_eq!(status, 200);
        assert!(body.contains("<button"));
    }
    // A forged token, made from a real one by changing one character.
    let real = path_of(&a[readers[5]][0]);
    let mut forged = real.into_bytes();
    let last = forged.len() - 3;
    forged[last] = if forged[last] == b'x' { b'y' } else { b'x' };
    let (status, _, _) = one_click(server.addr, &String::from_utf8(forged).unwrap());
    assert_eq!(status, 404, "a forged token is refused");

    // Issue B: a second issue file (another number).
    let issue_b = site.dir.path().join("013-b.md");
    let text = std::fs::read_to_string(common::root().join(ISSUE_A))
        .unwrap()
        .replacen("number: 12", "number: 13", 1)
        .replacen("title: \"#12:", "title: \"#13:", 1);
    std::fs::write(&issue_b, text).unwrap();
    let cap_b = tempfile::tempdir().unwrap();
    let smtp = capture(cap_b.path());
    send(&config, &issue_b, smtp.port);
    drop(smtp);
    let b = delivered(cap_b.path());
    for r in &gone {
        assert!(!b.contains_key(r), "{r} unsubscribed but got issue B");
    }
    for r in &readers[3..] {
        assert_eq!(
            b.get(*r).map(Vec::len),
            Some(1),
            "{r} must get exactly one copy of issue B"
        );
    }
    assert_eq!(b.len(), READERS - 3);
}

/// The other layout: `listen` on a server with its own store, `send` on a
/// laptop pulling the server's events before it mails anyone; a pull that
/// fails stops the send, and `--skip-remote` overrides knowingly.
#[test]
fn a_laptop_send_pulls_the_servers_unsubscribes_first() {
    if !common::has_python_module("aiosmtpd") {
        common::skip("python3 with aiosmtpd is needed (pip install aiosmtpd)");
        return;
    }
    let token = listen_support::API_TOKEN;
    let server_dir = tempfile::tempdir().unwrap();
    let server_site = Site {
        config: project(server_dir.path(), "https://placeholder.example"),
        dir: server_dir,
    };
    let server = start(&server_site, &[("LETTERPRESS_REMOTE_TOKEN", token)], &[]);
    let laptop = tempfile::tempdir().unwrap();
    let config = project(laptop.path(), &server.url(""));
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[audience]\nremote_url = {:?}\n",
        server.url("")
    ));
    std::fs::write(&config, text).unwrap();
    std::fs::write(
        laptop.path().join("subscribers.toml"),
        "[[subscriber]]\nemail = \"stays@example.com\"\n\n[[subscriber]]\nemail = \"leaves@example.com\"\n",
    )
    .unwrap();
    // The reader unsubscribes on the server (the token as in any message).
    let c = letterpress::config::Config::from_file(&config).unwrap();
    let t = listen_support::tokens()
        .unsubscribe(&c.list_id(), &listen_support::key("leaves@example.com"));
    assert_eq!(one_click(server.addr, &format!("/unsubscribe/{t}")).0, 200);

    let cap = tempfile::tempdir().unwrap();
    let smtp = capture(cap.path());
    let run = |issue: &Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_letterpress"))
            .arg("--config")
            .arg(&config)
            .arg("send")
            .arg(issue)
            .args([
                "--yes",
                "--smtp",
                &format!("smtp://127.0.0.1:{}", smtp.port),
            ])
            .args(extra)
            .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
            .env("LETTERPRESS_REMOTE_TOKEN", token)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&common::root().join(ISSUE_A), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = delivered(cap.path());
    assert_eq!(got.keys().collect::<Vec<_>>(), ["stays@example.com"]);

    // The server is down: the send refuses before mailing anyone...
    drop(server);
    let issue_b = laptop.path().join("013-b.md");
    std::fs::write(
        &issue_b,
        std::fs::read_to_string(common::root().join(ISSUE_A))
            .unwrap()
            .replacen("number: 12", "number: 13", 1),
    )
    .unwrap();
    let out = run(&issue_b, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("audience.remote_url") && err.contains("--skip-remote"),
        "{err}"
    );
    assert_eq!(delivered(cap.path()).len(), 1, "nothing sent");
    // ... unless told to go on; the pulled unsubscribe still holds.
    let out = run(&issue_b, &["--skip-remote"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = delivered(cap.path());
    assert_eq!(got["stays@example.com"].len(), 2);
    assert!(!got.contains_key("leaves@example.com"));
}
