//! `letterpress serve` over HTTP, without a browser: the bytes it serves, the
//! re-render on save, errors with file and line, recovery, and `--open`.

mod common;
mod serve_support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serve_support::{get, site, start, state, wait_state, with_title};

const WAIT: Duration = Duration::from_secs(10);

/// Expected text of the served sample HTML: preview's `<stem>.html` with the
/// per-recipient slots filled for the sample recipient, in the CRLF line
/// ends of a MIME body. Computed independently of the server's own decoder.
fn fill_slots(html: &str, unsubscribe_url: &str) -> String {
    html.replace("LPSLOTxNAMEx7q", "Ada Reader")
        .replace("LPSLOTxEMAILx7q", "reader@example.com")
        .replace(
            "LPSLOTxUNSUBx7q",
            &html_escape::encode_quoted_attribute(unsubscribe_url),
        )
        .replace('\n', "\r\n")
}

/// The first `https` URL in the message's `List-Unsubscribe` header.
fn list_unsubscribe(eml: &str) -> String {
    let head = &eml[..eml.find("\r\n\r\n").unwrap()];
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let line = unfolded
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("list-unsubscribe:"))
        .expect("a List-Unsubscribe header");
    let start = line.find("<http").unwrap() + 1;
    line[start..start + line[start..].find('>').unwrap()].to_string()
}

#[test]
fn served_files_are_byte_for_byte_what_preview_writes() {
    let site = site(false);
    let server = start(&site.config, site.issue.to_str().unwrap(), &[], &[]);
    let out = site.dir.path().join("preview-out");
    let status = common::bin()
        .arg("--config")
        .arg(&site.config)
        .arg("preview")
        .arg(&site.issue)
        .arg("--out")
        .arg(&out)
        .env_remove("LETTERPRESS_UNSUBSCRIBE_SECRET")
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let stem = site.issue.file_stem().unwrap().to_str().unwrap();
    let read = |ext: &str| std::fs::read(out.join(format!("{stem}.{ext}"))).unwrap();

    for (route, ext, ctype) in [
        ("/email.html", "html", "text/html"),
        ("/email.txt", "txt", "text/plain"),
        ("/email.mjml", "mjml", "text/plain"),
    ] {
        let r = get(server.addr, route);
        assert_eq!(r.status, 200, "{route}");
        assert!(
            r.header("content-type").unwrap().starts_with(ctype),
            "{route}"
        );
        assert!(
            r.body == read(ext),
            "{route} differs from preview's {stem}.{ext} ({} vs {} bytes)",
            r.body.len(),
            read(ext).len()
        );
    }

    // What the iframes show: the HTML part of the sample message, which is
    // preview's .html with only the recipient's slots filled in.
    let eml = String::from_utf8(read("eml")).unwrap();
    let unsub = list_unsubscribe(&eml);
    let html = String::from_utf8(read("html")).unwrap();
    let sample = get(server.addr, "/sample.html").text();
    let expected = fill_slots(&html, &unsub);
    assert!(
        sample == expected,
        "/sample.html is not preview's .html with the slots filled ({} vs {} bytes)",
        sample.len(),
        expected.len()
    );
    assert!(!sample.contains("LPSLOT"), "every slot is filled");
    if html.contains("LPSLOTxUNSUBx7q") {
        assert!(sample.contains(&*html_escape::encode_quoted_attribute(&unsub)));
    }

    // The state JSON carries the same bytes the page writes into the iframes.
    let s = state(server.addr);
    assert_eq!(s["ok"], true);
    assert_eq!(s["email"]["sample_html"].as_str().unwrap(), sample);
    assert_eq!(
        s["email"]["html_bytes"].as_u64().unwrap() as usize,
        html.len()
    );
    assert_eq!(s["email"]["clip_bytes"], 102 * 1024);
    assert_eq!(s["email"]["to"], "Ada Reader <reader@example.com>");
    assert!(s["email"]["from"].as_str().unwrap().contains('@'));
    assert!(!s["email"]["subject"].as_str().unwrap().is_empty());
    assert!(s["email"]["diagnostics"].is_array());

    // The page itself, and its reload script, come from the outer document.
    let page = get(server.addr, "/").text();
    assert!(page.contains("EventSource(\"/events\")"));
    assert!(page.contains("doc.write(html)"));
    assert!(
        !sample.contains("EventSource"),
        "no script is injected into the email"
    );
    assert_eq!(get(server.addr, "/nope").status, 404);
}

/// Reads server-sent events from `/events`, returning each `state` event's JSON.
struct EventStream {
    reader: BufReader<TcpStream>,
}

impl EventStream {
    fn open(addr: std::net::SocketAddr) -> EventStream {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        EventStream { reader }
    }

    /// The next `state` event within `timeout`, or None.
    fn next(&mut self, timeout: Duration) -> Option<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        let mut event = String::new();
        let mut data = String::new();
        let mut line = String::new();
        while Instant::now() < deadline {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => panic!("{e}"),
            }
            // Chunked transfer: skip chunk-size lines, keep SSE lines.
            let l = line.trim_end_matches(['\r', '\n']);
            if let Some(v) = l.strip_prefix("event:") {
                event = v.trim().to_string();
            } else if let Some(v) = l.strip_prefix("data:") {
                data.push_str(v.trim_start());
            } else if l.is_empty() && event == "state" && !data.is_empty() {
                return Some(serde_json::from_str(&data).unwrap());
            }
        }
        None
    }
}

#[test]
fn a_save_renders_once_and_reaches_every_page() {
    let site = site(false);
    let server = start(&site.config, site.issue.to_str().unwrap(), &[], &[]);
    let mut a = EventStream::open(server.addr);
    let mut b = EventStream::open(server.addr);
    let mut c = EventStream::open(server.addr);
    let first = a.next(WAIT).expect("the current state on connect");
    assert_eq!(b.next(WAIT).unwrap()["version"], first["version"]);
    assert_eq!(c.next(WAIT).unwrap()["version"], first["version"]);
    let v0 = first["version"].as_u64().unwrap();

    // Quiet: reading the files to render must not itself trigger renders.
    assert!(
        a.next(Duration::from_millis(600)).is_none(),
        "no render without a change"
    );

    let original = std::fs::read_to_string(&site.issue).unwrap();
    std::fs::write(&site.issue, with_title(&original, "Pushed to every page")).unwrap();
    let ea = a.next(WAIT).expect("an event after the save");
    let eb = b
        .next(WAIT)
        .expect("an event after the save, on the second page too");
    let ec = c
        .next(WAIT)
        .expect("an event after the save, on the third page too");
    // One save is one render (its events are debounced together), however
    // many pages are open; a second render is tolerated only for a save whose
    // events a loaded machine delivers more than the debounce apart.
    let v1 = ea["version"].as_u64().unwrap();
    assert!(
        v1 == v0 + 1 || v1 == v0 + 2,
        "one save, one render: v{v0} -> v{v1}"
    );
    assert_eq!(
        eb["version"], ea["version"],
        "every page gets the same render"
    );
    assert_eq!(
        ec["version"], ea["version"],
        "every page gets the same render"
    );
    assert_eq!(ea["email"]["subject"], "Pushed to every page");
    assert!(ea["changed"][0]
        .as_str()
        .unwrap()
        .ends_with(site.issue.file_name().unwrap().to_str().unwrap()));
    while let Some(e) = a.next(Duration::from_millis(600)) {
        assert_eq!(
            e["version"].as_u64().unwrap(),
            v0 + 2,
            "at most one more render: {e}"
        );
    }

    // An editor's atomic save (write a temporary file, rename it over the
    // issue) replaces the watched file; the next save must still be seen.
    let tmp = site.issue.with_extension("md.tmp");
    std::fs::write(&tmp, with_title(&original, "Saved by rename")).unwrap();
    std::fs::rename(&tmp, &site.issue).unwrap();
    let e = a.next(WAIT).expect("an event after an atomic save");
    assert_eq!(e["email"]["subject"], "Saved by rename");
    std::fs::write(&site.issue, with_title(&original, "And again")).unwrap();
    let e = a.next(WAIT).expect("an event after the next save");
    assert_eq!(e["email"]["subject"], "And again");

    // A file beside the issue that is not the issue changes nothing.
    std::fs::write(
        site.issue.with_file_name("999-other.md"),
        "---\ntitle: x\n---\n",
    )
    .unwrap();
    assert!(
        a.next(Duration::from_millis(600)).is_none(),
        "other issues do not re-render"
    );
}

#[test]
fn broken_edits_show_file_and_line_and_the_next_good_save_recovers() {
    let site = site(true);
    let mut server = start(&site.config, site.issue.to_str().unwrap(), &[], &[]);
    let issue_name = site
        .issue
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let ok = |s: &serde_json::Value| s["ok"] == true;
    let good = wait_state(server.addr, WAIT, "the first render", ok);
    let v = good["version"].as_u64().unwrap();
    let original = std::fs::read_to_string(&site.issue).unwrap();

    // 1. Unclosed front matter.
    let broken = original.replacen("\n---\n", "\n\n", 1);
    std::fs::write(&site.issue, &broken).unwrap();
    let s = wait_state(server.addr, WAIT, "the front matter error", |s| {
        s["ok"] == false
    });
    let e = &s["error"];
    assert!(e["file"].as_str().unwrap().ends_with(&issue_name), "{e}");
    assert_eq!(e["line"], 1, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("never closed"),
        "{e}"
    );
    assert!(
        e["display"]
            .as_str()
            .unwrap()
            .contains(&format!("{issue_name}:1")),
        "{e}"
    );
    assert_eq!(e["excerpt"][0]["hit"], true, "{e}");
    assert_eq!(
        s["good_version"].as_u64().unwrap(),
        v,
        "the last good render is kept"
    );
    assert!(s["email"]["sample_html"].as_str().unwrap().len() > 1000);
    assert_eq!(
        get(server.addr, "/email.html").status,
        200,
        "the last good email is still served"
    );
    assert!(server.alive());

    std::fs::write(&site.issue, with_title(&original, "Fixed front matter")).unwrap();
    let s = wait_state(
        server.addr,
        WAIT,
        "recovery from the front matter error",
        ok,
    );
    assert_eq!(s["email"]["subject"], "Fixed front matter");
    assert!(s["error"].is_null());

    // 2. A template typo: an undefined variable on a known line.
    let layout = site.templates.join("email.mjml");
    let layout_text = std::fs::read_to_string(&layout).unwrap();
    let mut lines: Vec<&str> = layout_text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("{{"))
        .expect("the layout uses a variable");
    let typo = format!("{} {{{{ issue.titel }}}}", lines[at]);
    lines[at] = &typo;
    std::fs::write(&layout, lines.join("\n") + "\n").unwrap();
    let s = wait_state(server.addr, WAIT, "the template error", |s| {
        s["ok"] == false
    });
    let e = &s["error"];
    assert!(e["file"].as_str().unwrap().ends_with("email.mjml"), "{e}");
    assert_eq!(e["line"].as_u64().unwrap() as usize, at + 1, "{e}");
    assert!(
        e["excerpt"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["hit"] == true && l["text"].as_str().unwrap().contains("issue.titel")),
        "{e}"
    );
    std::fs::write(&layout, &layout_text).unwrap();
    wait_state(server.addr, WAIT, "recovery from the template error", ok);

    // 3. A bad config: an unknown key.
    let config_text = std::fs::read_to_string(&site.config).unwrap();
    let bad = format!("colour = \"red\"\n{config_text}");
    std::fs::write(&site.config, bad).unwrap();
    let s = wait_state(server.addr, WAIT, "the config error", |s| s["ok"] == false);
    let e = &s["error"];
    assert!(
        e["file"].as_str().unwrap().ends_with("letterpress.toml"),
        "{e}"
    );
    assert_eq!(e["line"], 1, "{e}");
    assert!(e["message"].as_str().unwrap().contains("colour"), "{e}");
    std::fs::write(&site.config, &config_text).unwrap();
    let s = wait_state(server.addr, WAIT, "recovery from the config error", ok);
    assert_eq!(s["email"]["subject"], "Fixed front matter");

    // 4. Not UTF-8.
    std::fs::write(&site.issue, b"---\ntitle: x\n---\n\xff\xfe bad\n").unwrap();
    let s = wait_state(server.addr, WAIT, "the encoding error", |s| {
        s["ok"] == false
    });
    assert_eq!(s["error"]["line"], 4, "{}", s["error"]);
    std::fs::write(&site.issue, &original).unwrap();
    wait_state(server.addr, WAIT, "recovery from the encoding error", ok);

    assert!(server.alive(), "the server survived every broken save");
    let log = server.stderr_text();
    assert!(
        log.contains("error"),
        "the terminal shows errors too: {log}"
    );
}

#[test]
fn a_number_finds_the_issue_and_a_bad_argument_is_a_clear_error() {
    let site = site(false);
    // The issue's number from its front matter (the seed's file name has none).
    let text = std::fs::read_to_string(&site.issue).unwrap();
    let number = text
        .lines()
        .find_map(|l| l.strip_prefix("number:"))
        .map(|n| n.trim().to_string())
        .expect("the issue has a number");
    let server = start(&site.config, &number, &[], &[]);
    let s = state(server.addr);
    assert_eq!(s["ok"], true, "{}", s["error"]);
    assert!(
        s["email"]["issue_file"]
            .as_str()
            .unwrap()
            .ends_with(site.issue.file_name().unwrap().to_str().unwrap()),
        "{}",
        s["email"]["issue_file"]
    );
    let out = common::bin()
        .arg("--config")
        .arg(&site.config)
        .args(["serve", "no-such-issue.md", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-issue.md"), "{err}");
}

#[test]
fn open_uses_the_browser_or_just_prints_the_url() {
    let site = site(false);
    let issue = site.issue.to_str().unwrap();
    // A fake browser that records the URL it was given.
    let record = site.dir.path().join("opened.txt");
    let script = site.dir.path().join("fake-browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" > '{}'\n", record.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let server = start(
        &site.config,
        issue,
        &["--open"],
        &[("BROWSER", Some(script.to_str().unwrap()))],
    );
    let deadline = Instant::now() + WAIT;
    while !record.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let opened = std::fs::read_to_string(&record).expect("the browser was started");
    assert_eq!(opened.trim(), server.url);
    drop(server);

    let server = start(
        &site.config,
        issue,
        &["--open"],
        &[
            ("BROWSER", None),
            ("DISPLAY", None),
            ("WAYLAND_DISPLAY", None),
        ],
    );
    std::thread::sleep(Duration::from_millis(200));
    let out = server.stdout.lock().unwrap().join("\n");
    assert!(
        out.contains("no display") && out.contains(&server.url),
        "{out}"
    );
}
