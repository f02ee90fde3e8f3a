//! `letterpress send` end to end against a real third-party SMTP server
//! (Python's aiosmtpd, capturing every message to files), read back and
//! checked with Python's strict email parser; TLS (STARTTLS and implicit)
//! with AUTH; DKIM verified by dkimpy; `--test` and `--dry-run`.

mod common;

use common::output_text as text;

use common::capture::Capture;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use letterpress::audience::{AddressKey, Tokens};

const SECRET: &str = "e2e-unsubscribe-secret-at-least-32-bytes";
const ISSUE: &str = "issues/012-reviving-a-sleepy-starter.md";

/// A scratch project: config, subscribers, journal folder.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(subscribers: &str, extra_config: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let mut config = common::scratch_config(common::Issues::Shipped, &[]);
        config.push_str(extra_config);
        std::fs::write(dir.path().join("letterpress.toml"), config).unwrap();
        std::fs::write(dir.path().join("subscribers.toml"), subscribers).unwrap();
        Project { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn send(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut c = common::bin();
        c.arg("--config")
            .arg(self.path().join("letterpress.toml"))
            .arg("send")
            .arg(common::root().join(ISSUE))
            .args(args)
            .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
            .env_remove("LETTERPRESS_SMTP_PASSWORD")
            .stdin(Stdio::null());
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    }
}

/// 60 plain subscribers plus the awkward ones.
fn list() -> (String, BTreeMap<String, Option<String>>) {
    let mut s = String::new();
    let mut active = BTreeMap::new();
    for i in 0..60 {
        s.push_str(&format!(
            "[[subscriber]]\nemail = \"reader{i}@example.com\"\nname = \"Reader {i}\"\n\n"
        ));
        active.insert(
            format!("reader{i}@example.com"),
            Some(format!("Reader {i}")),
        );
    }
    let awkward = [
        ("jane@example.org", Some("Doe, Jane \\\"JD\\\"")),
        ("emoji@example.org", Some("Zoë 🍞 Bäcker")),
        ("noname@example.org", None),
    ];
    for (e, n) in awkward {
        s.push_str(&format!("[[subscriber]]\nemail = \"{e}\"\n"));
        if let Some(n) = n {
            s.push_str(&format!("name = \"{n}\"\n"));
        }
        active.insert(e.to_string(), n.map(|n| n.replace("\\\"", "\"")));
    }
    s.push_str("[[subscriber]]\nemail = \"READER1@EXAMPLE.COM\"\nname = \"dup\"\n");
    s.push_str("[[subscriber]]\nemail = \"left@example.org\"\nstatus = \"unsubscribed\"\n");
    s.push_str("[[subscriber]]\nemail = \"bounced@example.org\"\nstatus = \"bounced\"\n");
    (s, active)
}

fn header<'a>(m: &'a serde_json::Value, h: &str) -> &'a str {
    m["headers"][h]
        .as_str()
        .unwrap_or_else(|| panic!("{h} missing in {}", m["file"]))
}

#[test]
fn the_whole_list_through_aiosmtpd_every_message_checked() {
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
        return;
    };
    let (subs, active) = list();
    let p = Project::new(&subs, "");
    let smtp = format!("smtp://127.0.0.1:{}", cap.port);

    // No terminal and no --yes: refused, nothing sent.
    let o = p.send(&["--smtp", &smtp], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("pass --yes"), "{}", text(&o));
    assert_eq!(cap.count(), 0);

    let o = p.send(&["--smtp", &smtp, "--yes", "--connections", "3"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("63 active, 1 unsubscribed, 1 bounced, 1 duplicate"),
        "{out}"
    );
    assert!(out.contains("sent 63 of 63"), "{out}");
    assert!(out.contains("duplicate of line"), "{out}");

    let msgs = cap.parsed();
    assert_eq!(msgs.len(), 63);
    let tokens = Tokens::new(SECRET.as_bytes()).unwrap();
    let mut seen = BTreeSet::new();
    let mut ids = BTreeMap::new();
    for m in &msgs {
        assert_eq!(m["defects"].as_array().unwrap().len(), 0, "{m}");
        assert!(m["crlf_only"].as_bool().unwrap(), "{}", m["file"]);
        assert!(m["max_line"].as_u64().unwrap() <= 998, "{}", m["file"]);
        let rcpts = m["envelope"]["rcpt_tos"].as_array().unwrap();
        assert_eq!(rcpts.len(), 1, "one recipient per envelope");
        let to = m["to_addr"].as_str().unwrap();
        assert_eq!(rcpts[0].as_str().unwrap(), to);
        assert_eq!(
            m["envelope"]["mail_from"],
            "letters@sourdough-ledger.example"
        );
        assert!(seen.insert(to.to_string()), "{to} got two messages");
        let name = m["to_name"].as_str().unwrap();
        assert_eq!(
            active[to].as_deref().unwrap_or(""),
            name,
            "display name for {to}"
        );
        assert_eq!(
            header(m, "From"),
            "The Sourdough Ledger <letters@sourdough-ledger.example>"
        );
        assert_eq!(
            header(m, "Reply-To"),
            "Mara Lindqvist <mara@sourdough-ledger.example>"
        );
        assert!(
            header(m, "Subject").starts_with("#12: Reviving a sleepy starter"),
            "{}",
            header(m, "Subject")
        );
        assert!(!header(m, "Date").is_empty());
        assert_eq!(header(m, "Precedence"), "bulk");
        assert_eq!(
            header(m, "List-Id"),
            "\"The Sourdough Ledger\" <sourdough-ledger.example>"
        );
        assert!(header(m, "List-Archive").starts_with("<https://sourdough-ledger.example/"));
        assert_eq!(
            header(m, "List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click"
        );
        let unsub = header(m, "List-Unsubscribe");
        let url = unsub.split(['<', '>']).nth(1).unwrap();
        let token = url
            .strip_prefix("https://sourdough-ledger.example/unsubscribe/")
            .unwrap_or_else(|| panic!("{url}"));
        // No address in clear in the URL, and the token opens to this reader only.
        assert!(!url.contains('@') && !url.contains("%40"), "{url}");
        let list = "sourdough-ledger.example";
        assert_eq!(
            tokens.open_unsubscribe(list, token),
            Some(AddressKey::parse(to).unwrap()),
            "token for {to}"
        );
        assert_eq!(tokens.open_unsubscribe("other.example", token), None);
        assert!(
            unsub.contains("<mailto:unsubscribe@sourdough-ledger.example"),
            "{unsub}"
        );
        assert_eq!(m["content_type"], "multipart/alternative");
        assert_eq!(m["parts"], serde_json::json!(["text/plain", "text/html"]));
        // The per-recipient slots were filled, escaped for HTML.
        let html = m["html"].as_str().unwrap();
        assert!(
            html.contains(&html_escape::encode_double_quoted_attribute(url).to_string()),
            "unsubscribe URL in the HTML for {to}"
        );
        assert!(
            m["text"].as_str().unwrap().contains(url),
            "unsubscribe URL in the text for {to}"
        );
        let id = header(m, "Message-ID").to_string();
        assert!(
            id.starts_with("<issue-12.") && id.ends_with("@sourdough-ledger.example>"),
            "{id}"
        );
        ids.insert(to.to_string(), id);
    }
    assert_eq!(seen, active.keys().cloned().collect::<BTreeSet<_>>());
    assert_eq!(
        ids.values().collect::<BTreeSet<_>>().len(),
        63,
        "Message-IDs are unique"
    );

    // The issue is done: not sent again without --resend.
    let o = p.send(&["--smtp", &smtp, "--yes"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("already sent to the whole list"),
        "{}",
        text(&o)
    );
    assert_eq!(cap.count(), 63);

    // --resend sends to everyone again, with the same Message-IDs.
    let o = p.send(&["--smtp", &smtp, "--yes", "--resend"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let again = cap.parsed();
    assert_eq!(again.len(), 126);
    for m in &again[63..] {
        assert_eq!(
            ids[m["to_addr"].as_str().unwrap()],
            header(m, "Message-ID"),
            "stable Message-ID"
        );
    }
}

#[test]
fn test_addresses_and_dry_run() {
    let cap_dir = tempfile::tempdir().unwrap();
    let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
        return;
    };
    let (subs, active) = list();
    let p = Project::new(&subs, "");
    let smtp = format!("smtp://127.0.0.1:{}", cap.port);

    let o = p.send(
        &[
            "--smtp",
            &smtp,
            "--test",
            "Tess Ter <tess@example.net>",
            "other@example.net",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let msgs = cap.parsed();
    assert_eq!(msgs.len(), 2);
    for m in &msgs {
        assert!(
            header(m, "Subject").starts_with("[TEST] #12: "),
            "{}",
            header(m, "Subject")
        );
    }
    assert_eq!(
        msgs[0]["to_name"].as_str().unwrap().is_empty(),
        msgs[0]["to_addr"] == "other@example.net"
    );
    assert!(
        !p.path().join("journal").exists(),
        "test sends are not journaled"
    );

    let outbox = p.path().join("out-box");
    let o = p.send(&["--dry-run", "--outbox", outbox.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("dry run: wrote 63 messages"),
        "{}",
        text(&o)
    );
    let files: Vec<_> = std::fs::read_dir(outbox.join("issue-12"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), active.len());
    let one = std::fs::read_to_string(
        files
            .iter()
            .find(|f| f.to_string_lossy().contains("jane@example.org"))
            .unwrap(),
    )
    .unwrap();
    assert!(one.contains("<jane@example.org>\r\n"), "{}", &one[..600]);
    assert!(!one.contains("[TEST]"));
    assert_eq!(cap.count(), 2, "a dry run sends nothing");
    assert!(
        !p.path().join("journal").exists(),
        "a dry run journals nothing"
    );
}

#[test]
fn starttls_and_implicit_tls_with_auth_and_the_password_stays_secret() {
    let certs = tempfile::tempdir().unwrap();
    if !common::certificates(certs.path()) {
        return;
    }
    let (cert, key) = (
        certs.path().join("server.pem"),
        certs.path().join("server.key"),
    );
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let password = "pw-9f3c-never-printed";
    for mode in ["--starttls", "--implicit"] {
        let cap_dir = tempfile::tempdir().unwrap();
        let Some(cap) = Capture::start(
            cap_dir.path(),
            &[mode, cert, key, "--auth", &format!("mara:{password}")],
        ) else {
            return;
        };
        let subs = "[[subscriber]]\nemail = \"a@example.com\"\n[[subscriber]]\nemail = \"b@example.com\"\n";
        let p = Project::new(subs, "");
        // ca_file and username go into [smtp]: rewrite the section.
        let cfg = p.path().join("letterpress.toml");
        let c = std::fs::read_to_string(&cfg).unwrap().replace(
            "[smtp]\n",
            &format!(
                "[smtp]\nca_file = {:?}\nusername = \"mara\"\n",
                certs.path().join("ca.pem").display().to_string()
            ),
        );
        std::fs::write(&cfg, c).unwrap();
        let scheme = if mode == "--implicit" {
            "smtps"
        } else {
            "smtp"
        };
        let url = format!("{scheme}://localhost:{}", cap.port);

        // No password: refused before anything is sent.
        let o = p.send(&["--smtp", &url, "--yes"], &[]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            text(&o).contains("LETTERPRESS_SMTP_PASSWORD"),
            "{}",
            text(&o)
        );

        // A wrong password: a clear failure, nothing delivered, exit 4.
        let o = p.send(
            &["--smtp", &url, "--yes"],
            &[("LETTERPRESS_SMTP_PASSWORD", "wrong-password-x")],
        );
        assert_eq!(o.status.code(), Some(4), "{}", text(&o));
        assert!(text(&o).contains("authentication as mara"), "{}", text(&o));
        assert!(!text(&o).contains("wrong-password-x"));
        assert_eq!(cap.count(), 0);

        let o = p.send(
            &["--smtp", &url, "--yes"],
            &[("LETTERPRESS_SMTP_PASSWORD", password)],
        );
        assert!(o.status.success(), "{mode}: {}", text(&o));
        let msgs = cap.parsed();
        assert_eq!(msgs.len(), 2);
        for m in &msgs {
            assert_eq!(m["envelope"]["tls"], true, "{mode}");
            assert_eq!(m["envelope"]["auth"], "mara", "{mode}");
        }
        assert!(!text(&o).contains(password));
        for entry in walk(p.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(password),
                "password written to {}",
                entry.display()
            );
        }
        // The password can come from a command instead.
        let c = std::fs::read_to_string(&cfg).unwrap().replace(
            "username = \"mara\"\n",
            &format!("username = \"mara\"\npassword_command = \"printf %s {password}\"\n"),
        );
        std::fs::write(&cfg, c).unwrap();
        let o = p.send(&["--smtp", &url, "--yes", "--resend"], &[]);
        assert!(o.status.success(), "password_command: {}", text(&o));
        assert_eq!(cap.count(), 4);
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn dkim_signatures_verify_with_dkimpy() {
    if !common::has_python_module("dkim") || !common::has_python_module("nacl") {
        return common::skip(
            "python3 with dkimpy and pynacl is needed (pip install dkimpy pynacl)",
        );
    }
    let keys = tempfile::tempdir().unwrap();
    if !common::has_program("openssl", &["version"]) {
        return common::skip("openssl is needed to make DKIM test keys");
    }
    common::openssl(
        keys.path(),
        &["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"],
    );
    common::openssl(keys.path(), &["genrsa", "-out", "rsa.pem", "2048"]);
    for (alg, file, k) in [("ed25519", "ed.pem", "ed25519"), ("rsa", "rsa.pem", "rsa")] {
        let der = common::openssl(
            keys.path(),
            &["pkey", "-in", file, "-pubout", "-outform", "DER"],
        );
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let p = if alg == "ed25519" {
            b64.encode(&der[der.len() - 32..])
        } else {
            b64.encode(&der)
        };
        let txt = format!("v=DKIM1; k={k}; p={p}");

        let cap_dir = tempfile::tempdir().unwrap();
        let Some(cap) = Capture::start(cap_dir.path(), &[]) else {
            return;
        };
        let subs = "[[subscriber]]\nemail = \"a@example.com\"\nname = \"Ådа Ŀovelace 🍞\"\n[[subscriber]]\nemail = \"b@example.com\"\n[[subscriber]]\nemail = \"c@example.com\"\nname = \"Charles, \\\"Babbage\\\"\"\n";
        let dkim = format!(
            "\n[dkim]\ndomain = \"sourdough-ledger.example\"\nselector = \"lp2026\"\nalgorithm = \"{alg}\"\nprivate_key = {:?}\n",
            keys.path().join(file).display().to_string()
        );
        let p = Project::new(subs, &dkim);
        let o = p.send(
            &["--smtp", &format!("smtp://127.0.0.1:{}", cap.port), "--yes"],
            &[],
        );
        assert!(o.status.success(), "{alg}: {}", text(&o));
        let msgs = cap.parsed();
        assert_eq!(msgs.len(), 3);
        for m in &msgs {
            let sig = header(m, "DKIM-Signature");
            assert!(sig.contains("c=relaxed/relaxed"), "{sig}");
            assert!(sig.contains(&format!("a={alg}-sha256")), "{sig}");
            let h: String = sig
                .split("h=")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .split_whitespace()
                .collect();
            assert_eq!(
                h, "from:to:subject:date:message-id:list-unsubscribe:list-unsubscribe-post",
                "{sig}"
            );
        }
        let files: Vec<String> = walk(cap_dir.path())
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .map(|p| p.display().to_string())
            .collect();
        let verify = |files: &[String]| {
            Command::new("python3")
                .arg(common::root().join("tests/judges/dkim_verify.py"))
                .arg(&txt)
                .args(files)
                .output()
                .unwrap()
        };
        let v = verify(&files);
        assert!(
            v.status.success(),
            "{alg}: {}",
            String::from_utf8_lossy(&v.stdout)
        );

        // The signature covers the one-click unsubscribe URL: change it and it fails.
        let tampered = cap_dir.path().join("tampered.eml");
        let orig = std::fs::read_to_string(&files[0]).unwrap();
        let changed = orig.replacen("/unsubscribe/", "/unsubscribe/evil", 1);
        assert_ne!(orig, changed);
        std::fs::write(&tampered, changed).unwrap();
        let v = verify(&[tampered.display().to_string()]);
        assert!(
            !v.status.success(),
            "{alg}: a tampered List-Unsubscribe must fail"
        );
    }
}
