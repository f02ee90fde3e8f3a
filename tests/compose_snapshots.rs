//! Golden-file tests: every fixture in `tests/fixtures/compose/` is composed
//! with the shipped `letterpress.toml` and `templates/`, and its HTML, text
//! and sample `.eml` are compared with the snapshots in `tests/snapshots/`.
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always`).

mod common;

use letterpress::compose::Composer;
use letterpress::config::Config;
use letterpress::pipeline::compose_file;

fn composer() -> Composer {
    let config =
        Config::from_file(&common::root().join("letterpress.toml")).expect("shipped config parses");
    Composer::new(&config).expect("shipped templates load")
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"(?m)^Date: .*\r?$", "Date: [date]");
    s.add_filter(r#"boundary="[^"]+""#, r#"boundary="[boundary]""#);
    s.add_filter(r"(?m)^--[A-Za-z0-9]{20,}(--)?\r?$", "--[boundary]$1");
    s.add_filter(r"token=[A-Za-z0-9_-]{22}", "token=[token]");
    s.add_filter(r"\r\n", "\n");
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn fixtures_html_and_text() {
    let composer = composer();
    settings().bind(|| {
        insta::glob!("fixtures/compose/*.md", |path| {
            let c =
                compose_file(&composer, path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            insta::assert_snapshot!("html", c.email.html);
            insta::assert_snapshot!("text", c.email.text);
            let diags: Vec<String> = c
                .diagnostics
                .iter()
                .map(|d| {
                    format!(
                        "{:?} {} line {:?}: {}",
                        d.severity, d.code, d.line, d.message
                    )
                })
                .collect();
            insta::assert_snapshot!("diagnostics", diags.join("\n"));
        });
    });
}

#[test]
fn sample_eml() {
    let composer = composer();
    let c = compose_file(
        &composer,
        &common::root().join("tests/fixtures/compose/basics.md"),
    )
    .unwrap();
    let eml = String::from_utf8(c.sample.bytes).expect("the .eml is ASCII");
    settings().bind(|| insta::assert_snapshot!("basics_eml", eml));
}
