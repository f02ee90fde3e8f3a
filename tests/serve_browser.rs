//! `letterpress serve` in a real browser: headless Debian Chromium driven by
//! `tests/browser/serve.mjs` (playwright-core). Needs node, /usr/bin/chromium
//! and `npm ci --prefix tests/browser`; skipped (failed under
//! `LETTERPRESS_REQUIRE_JUDGES=1`) when one is missing.
//!
//! Screenshots go to `target/screenshots/`. Set `LETTERPRESS_LATENCY_SAVES`
//! to time more saves, `LETTERPRESS_DOCS_SHOT=<path>` to also write the page
//! screenshot used in the docs.

mod common;
mod serve_support;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn live_preview_in_headless_chromium() {
    if let Some(why) = common::chromium_missing() {
        common::skip(&why);
        return;
    }
    let site = serve_support::site(false);
    let mut server = serve_support::start(&site.config, site.issue.to_str().unwrap(), &[], &[]);
    let shots = common::root().join("target/screenshots");
    let saves = std::env::var("LETTERPRESS_LATENCY_SAVES").unwrap_or_else(|_| "10".into());

    let mut cmd = std::process::Command::new("node");
    cmd.arg(common::root().join("tests/browser/serve.mjs"))
        .current_dir(common::root().join("tests/browser"))
        .env("LP_URL", &server.url)
        .env("LP_ISSUE", &site.issue)
        .env("LP_SHOTS", &shots)
        .env("LP_SAVES", &saves)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Ok(p) = std::env::var("LETTERPRESS_DOCS_SHOT") {
        cmd.env("LP_DOCS_SHOT", p);
    }
    let mut child = cmd.spawn().expect("run node");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = out_t.join().unwrap();
    let err = err_t.join().unwrap();
    println!("{out}");
    eprintln!("{err}");
    eprintln!("server log:\n{}", server.stderr_text());
    let status = status.expect("the browser script finished within 300 s");
    assert!(status.success(), "the browser script failed:\n{err}");

    let result: serde_json::Value = out
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|j| serde_json::from_str(j).unwrap())
        .expect("the script reports its measurements");
    println!(
        "reload latency (save -> repaint) over {} saves: median {} ms, p95 {} ms",
        result["saves"], result["median_ms"], result["p95_ms"]
    );
    assert!(result["median_ms"].as_u64().unwrap() < 2000);

    for name in [
        "email-375.png",
        "email-600.png",
        "serve-page.png",
        "serve-error.png",
    ] {
        let bytes = std::fs::read(shots.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "{name} is a PNG");
    }
    assert!(server.alive(), "the server is still running");
}
