//! `letterpress listen` in a real browser: headless Debian Chromium driven
//! by `tests/browser/unsubscribe.mjs` (playwright-core). The GET page shows
//! the masked address and the button (and changes nothing); clicking it
//! unsubscribes; the undo resubscribes. The store is checked between the
//! steps. Needs node, /usr/bin/chromium and `npm ci --prefix tests/browser`;
//! skipped (failed under `LETTERPRESS_REQUIRE_JUDGES=1`) when one is missing.

mod common;
mod listen_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use letterpress::audience::store::{EventKind, Source, Store};
use listen_support::{key, start, tokens, Site};

#[test]
fn unsubscribe_and_undo_in_headless_chromium() {
    if let Some(why) = common::chromium_missing() {
        common::skip(&why);
        return;
    }
    let site = Site::new("");
    let server = start(&site, &[], &[]);
    let reader = key("Chromium.Reader@Listen.Example");
    let token = tokens().unsubscribe(&site.list_id(), &reader);
    let shots = common::root().join("target/screenshots");
    let mut child = Command::new("node")
        .arg(common::root().join("tests/browser/unsubscribe.mjs"))
        .current_dir(common::root().join("tests/browser"))
        .env("LP_URL", server.url(&format!("/unsubscribe/{token}")))
        .env("LP_MASKED", reader.masked())
        .env("LP_SHOTS", &shots)
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
    let store = Store::open(&site.store()).unwrap();
    let mut steps = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let Some(step) = line.strip_prefix("STEP ") else {
            println!("{line}");
            continue;
        };
        let status = store.status(&reader).unwrap();
        match step {
            "shown" | "resubscribed" => assert_eq!(status, None, "after {step}"),
            "unsubscribed" => {
                let s = status.expect("the click unsubscribed");
                assert_eq!((s.kind, s.source), (EventKind::Unsubscribe, Source::Page));
            }
            other => panic!("unknown step {other}"),
        }
        steps.push(step.to_string());
        writeln!(stdin, "ok").unwrap();
    }
    let status = child.wait().unwrap();
    let err = err_t.join().unwrap();
    assert!(status.success(), "the browser script failed:\n{err}");
    assert_eq!(steps, ["shown", "unsubscribed", "resubscribed"]);
    let kinds: Vec<_> = store.recent(10).unwrap().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Resubscribe, EventKind::Unsubscribe]);
    for name in [
        "unsubscribe-page.png",
        "unsubscribe-done.png",
        "unsubscribe-undone.png",
    ] {
        let bytes = std::fs::read(shots.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "{name} is a PNG");
    }
}
