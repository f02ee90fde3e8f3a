//! Fuzz target: arbitrary bytes through the whole composer.
//!
//! bytes → UTF-8 (non-UTF-8 inputs are skipped: reading a file rejects them
//! with a clear error before parsing) → `Issue::parse` → if it parses,
//! `Composer::compose` with the repository's `letterpress.toml` and
//! `templates/`; and, on the raw text directly, `markdown_to_mjml` and
//! `markdown_to_text` with and without UTM tagging; and the CSS inliner and
//! the line breaker on the raw text.
//!
//! Any `Err` is fine; a panic (or a crash, hang or OOM) is a bug.
//! With `LP_FUZZ_STRICT_MJML=1`, an `Error::Mjml` from composing a parsed
//! issue also counts as a bug: the body's MJML must be valid whatever the input.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use letterpress::compose::links::{LinkRewriter, Utm};
use letterpress::template::Templates;
use letterpress::compose::inline::StyleSheet;
use letterpress::compose::{mjml, text, wrap, Composer, TEXT_WIDTH};
use letterpress::config::Config;
use letterpress::issue::Issue;
use libfuzzer_sys::fuzz_target;

const CONFIG_TEXT: &str = include_str!("../../letterpress.toml");
const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates");

struct Fixture {
    composer: Composer,
    utm: LinkRewriter,
    strict_mjml: bool,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let config = Config::parse(CONFIG_TEXT, Path::new("letterpress.toml"))
            .expect("the repository's letterpress.toml parses");
        let templates =
            Templates::from_dir(Path::new(TEMPLATES)).expect("the repository's templates/ exist");
        Fixture {
            composer: Composer::with_templates(&config, templates),
            utm: LinkRewriter::new(Some(Utm {
                source: "fuzz".into(),
                medium: "email".into(),
                campaign: "issue-1".into(),
            })),
            strict_mjml: std::env::var_os("LP_FUZZ_STRICT_MJML").is_some_and(|v| v == "1"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let f = fixture();

    if let Ok(issue) = Issue::parse(input) {
        match f.composer.compose(&issue) {
            Err(letterpress::Error::Mjml(e)) if f.strict_mjml => {
                panic!("composing a parsed issue produced invalid MJML: {e}")
            }
            _ => {}
        }
    }

    let plain = LinkRewriter::default();
    let _ = mjml::markdown_to_mjml(input, &plain);
    let _ = mjml::markdown_to_mjml(input, &f.utm);
    let _ = text::markdown_to_text(input, &plain, TEXT_WIDTH);
    let _ = text::markdown_to_text(input, &f.utm, 40);

    // The CSS inliner on its own: the input as a stylesheet and as HTML.
    if let Some(sheet) = StyleSheet::parse(input) {
        let _ = sheet.inline(input);
    }
    let _ = wrap::wrap(input, 7);
});
