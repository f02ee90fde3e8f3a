//! The HTML part judged by real tools: html-validate with the email rules
//! (`tests/browser/htmlvalidate-email.json`), and headless Chromium
//! (`tests/browser/email.mjs`): screenshots at 375 and 600 px, light and
//! dark (`--force-dark-mode`), into `target/screenshots/`; every text
//! colour against its rendered background at least 4.5:1; the language,
//! heading levels, header-cell scopes and wide tables, from the rendered page.
//! Each on every compose fixture, the example and the repaired reference issue.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

fn node_module(name: &str) -> Option<PathBuf> {
    let p = common::root().join("tests/browser/node_modules").join(name);
    p.join("package.json").is_file().then_some(p)
}

fn missing(what: &[&str]) -> Option<String> {
    if !common::has_program("node", &["--version"]) {
        return Some("node is not installed (apt-get install nodejs npm)".into());
    }
    for m in what {
        if *m == "chromium" {
            if !Path::new(CHROMIUM).is_file() {
                return Some(format!("{CHROMIUM} is missing (apt-get install chromium)"));
            }
        } else if node_module(m).is_none() {
            return Some(format!(
                "{m} is not installed (npm ci --prefix tests/browser)"
            ));
        }
    }
    None
}

/// Every issue's `.html`, composed with an address-free unsubscribe URL.
fn pages(dir: &Path) -> Vec<PathBuf> {
    let config = common::token_config(dir);
    let mut issues = common::email_issues(dir, &config);
    // Two corpus issues beside them when ../shared is here: one with wide
    // tables, one in Chinese (`lang: zh`).
    if let Some(shared) = common::shared() {
        for p in [
            "corpus/this-week-in-rust/2024-01-03-this-week-in-rust.md",
            "corpus/bitcoin-optech-zh/2024-12-20-newsletter.md",
        ] {
            if shared.join(p).is_file() {
                issues.push(shared.join(p));
            }
        }
    }
    common::preview_all(&config, &issues, &dir.join("out"))
        .into_iter()
        .map(|(html, _)| html)
        .collect()
}

#[test]
fn html_validate_finds_nothing_the_reference_mjml_output_lacks() {
    if let Some(why) = missing(&["html-validate"]) {
        common::skip(&why);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pages = pages(dir.path());
    let report = dir.path().join("report.json");
    let browser = common::root().join("tests/browser");
    let o = Command::new("node")
        .arg(browser.join("node_modules/html-validate/bin/html-validate.mjs"))
        .arg("--config")
        .arg(browser.join("htmlvalidate-email.json"))
        .arg("-f")
        .arg(format!("json={}", report.display()))
        .args(&pages)
        .current_dir(&browser)
        .output()
        .unwrap();
    let json = std::fs::read_to_string(&report).unwrap_or_else(|_| {
        panic!(
            "html-validate wrote no report: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let results: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut errors = Vec::new();
    for file in results.as_array().unwrap() {
        for m in file["messages"].as_array().unwrap() {
            let message = m["message"].as_str().unwrap_or_default();
            // mj-image writes height="auto" on every image, in mjml's own
            // output as in ours (and Outlook needs it): not ours to fix.
            if m["ruleId"] == "attribute-allowed-values"
                && message == "Attribute \"height\" has invalid value \"auto\""
            {
                continue;
            }
            errors.push(format!(
                "{}:{}: {} {}",
                file["filePath"].as_str().unwrap_or_default(),
                m["line"],
                m["ruleId"].as_str().unwrap_or_default(),
                message
            ));
        }
    }
    assert!(
        errors.is_empty(),
        "html-validate on {} pages:\n{}",
        pages.len(),
        errors.join("\n")
    );
    eprintln!("html-validate: {} pages, no errors", pages.len());
}

/// The rule set is not toothless: the void-style and scope errors of
/// before are caught.
#[test]
fn html_validate_catches_self_closing_voids_and_scopeless_headers() {
    if let Some(why) = missing(&["html-validate"]) {
        common::skip(&why);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<!doctype html><html lang=\"en\"><head><title>t</title></head><body><p>a<br />b</p><table><thead><tr><th>h</th><th>i</th></tr></thead><tbody><tr><th>r</th><td>c</td></tr></tbody></table></body></html>",
    )
    .unwrap();
    let browser = common::root().join("tests/browser");
    let o = Command::new("node")
        .arg(browser.join("node_modules/html-validate/bin/html-validate.mjs"))
        .arg("--config")
        .arg(browser.join("htmlvalidate-email.json"))
        .arg(&page)
        .current_dir(&browser)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("void-style") && out.contains("wcag/h63"),
        "{out}"
    );
}

#[test]
fn rendered_in_chromium_light_and_dark_at_375_and_600_px() {
    if let Some(why) = missing(&["playwright-core", "chromium"]) {
        common::skip(&why);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pages = pages(dir.path());
    let shots = common::root().join("target/screenshots");
    let mut cmd = Command::new("node");
    cmd.arg(common::root().join("tests/browser/email.mjs"))
        .current_dir(common::root().join("tests/browser"))
        .env("LP_PAGES", serde_json::to_string(&pages).unwrap())
        .env("LP_SHOTS", &shots);
    if let Ok(docs) = std::env::var("LETTERPRESS_DOCS_SHOTS") {
        cmd.env("LP_DOCS", docs);
    }
    let o = cmd.output().expect("run node");
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    eprintln!("{out}");
    assert!(
        o.status.success(),
        "tests/browser/email.mjs failed:\n{out}\n{err}"
    );
    assert!(out.contains("RESULT "), "{out}");
    for width in [375, 600] {
        for scheme in ["light", "dark"] {
            let shot = shots.join(format!("email-basics-{width}-{scheme}.png"));
            assert!(shot.is_file(), "no {}", shot.display());
        }
    }
}
