//! Deeply nested Markdown (or raw HTML) is refused with the file and line,
//! never a stack overflow: in `check`, `preview` (the same compose as `send`) and a
//! running `serve`.

mod common;
mod serve_support;

use std::time::Duration;

use serve_support::{site, start, wait_state, with_title};

/// Each input: a name and a body nested far past the cap.
fn deep_bodies() -> Vec<(&'static str, String)> {
    vec![
        (
            "10,000 nested list items",
            format!("{}x\n", "- ".repeat(10_000)),
        ),
        (
            "50,000 nested quotes",
            format!("{} x\n", ">".repeat(50_000)),
        ),
        (
            "10,000 nested emphasis spans",
            format!("{}x{}\n", "*a ".repeat(10_000), " b*".repeat(10_000)),
        ),
        (
            "20,000 nested divs",
            format!("{}x{}\n", "<div>".repeat(20_000), "</div>".repeat(20_000)),
        ),
    ]
}

fn issue_text(body: &str) -> String {
    format!("---\ntitle: \"Deep\"\ndate: 2026-11-22\nnumber: 90\n---\n\nFirst line.\n\n{body}")
}

#[test]
fn check_and_preview_refuse_deep_nesting_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::root().join("letterpress.toml");
    for (what, body) in deep_bodies() {
        let issue = dir.path().join("090-deep.md");
        std::fs::write(&issue, issue_text(&body)).unwrap();
        let out = dir.path().join("out");
        for args in [
            vec!["check".to_string()],
            vec!["preview".into(), "--out".into(), out.display().to_string()],
        ] {
            let o = common::bin()
                .arg("--config")
                .arg(&config)
                .args(&args[..1])
                .arg(&issue)
                .args(&args[1..])
                .env("LETTERPRESS_UNSUBSCRIBE_SECRET", "deep-secret")
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                o.status.code().is_some_and(|c| c != 0),
                "{what}, {}: killed by a signal or passed: {:?} {err}",
                args[0],
                o.status
            );
            assert!(
                err.contains("090-deep.md:9: lists, quotes, emphasis or HTML elements nested more than 64 levels"),
                "{what}, {}: {err}",
                args[0]
            );
        }
    }
}

#[test]
fn serve_survives_a_deeply_nested_save_and_recovers() {
    let site = site(false);
    let mut server = start(&site.config, site.issue.to_str().unwrap(), &[], &[]);
    let wait = Duration::from_secs(20);
    let ok = |s: &serde_json::Value| s["ok"] == true;
    wait_state(server.addr, wait, "the first render", ok);
    let original = std::fs::read_to_string(&site.issue).unwrap();
    for (what, body) in deep_bodies() {
        std::fs::write(&site.issue, format!("{original}\n\n{body}")).unwrap();
        let s = wait_state(server.addr, wait, what, |s| s["ok"] == false);
        let message = s["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("nested more than 64 levels"),
            "{what}: {s}"
        );
        assert!(
            s["error"]["line"].as_u64().is_some(),
            "{what}: the line: {s}"
        );
        assert!(
            server.alive(),
            "{what}: serve died: {}",
            server.stderr_text()
        );
        std::fs::write(&site.issue, with_title(&original, what)).unwrap();
        let s = wait_state(server.addr, wait, "recovery", ok);
        assert_eq!(s["email"]["subject"], what);
    }
}
