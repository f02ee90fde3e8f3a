//! letterpress's CSS inliner against the reference, css-inline (through
//! mrml): every fixture, the shipped example and, where `../shared` is
//! present, the seed and every corpus issue are rendered both ways, and each
//! element must end up with the same declarations in the same order.

mod common;

use std::path::PathBuf;

use letterpress::compose::blocks::{html_tokens, HtmlToken};
use letterpress::compose::{mjml_to_html_with, Composer, CssInlining};
use letterpress::config::Config;
use letterpress::issue::Issue;

/// (element, its style declarations) for every start tag, in document order.
/// `html`, `head`, `body` and `tbody` are left out: html5ever adds them where
/// the markup implies them, and they carry no styles here.
fn styled_elements(html: &str) -> Vec<(String, Vec<String>)> {
    html_tokens(html)
        .filter_map(|(_, token)| match token {
            HtmlToken::Start { name, attrs, .. }
                if !matches!(name.as_str(), "html" | "head" | "body" | "tbody") =>
            {
                let style = attrs
                    .iter()
                    .find(|(k, _)| k == "style")
                    .map(|(_, v)| {
                        v.split(';')
                            .map(str::trim)
                            .filter(|d| !d.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                Some((name, style))
            }
            _ => None,
        })
        .collect()
}

fn issues() -> Vec<PathBuf> {
    let root = common::root();
    let mut files = common::markdown_files(&root.join("tests/fixtures/compose"));
    files.extend(common::markdown_files(&root.join("issues")));
    match common::shared() {
        Some(shared) => {
            files.extend(common::seed());
            files.extend(common::markdown_files(&shared.join("corpus")));
        }
        None => eprintln!("../shared is absent: comparing the fixtures and the example only"),
    }
    files
}

#[test]
fn fast_inliner_matches_css_inline() {
    let root = common::root();
    let config = Config::from_file(&root.join("letterpress.toml")).expect("shipped config");
    let composer = Composer::new(&config).expect("shipped templates");
    let mut compared = 0;
    for path in issues() {
        let Ok(source) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(mut issue) = Issue::parse(&source) else {
            continue; // files that do not parse are the corpus test's business
        };
        issue.path = path.clone();
        let email = composer
            .compose(&issue)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fast = mjml_to_html_with(&email.mjml, CssInlining::Fast).unwrap();
        let reference = mjml_to_html_with(&email.mjml, CssInlining::Reference).unwrap();
        let (fast, reference) = (styled_elements(&fast), styled_elements(&reference));
        for (i, (f, r)) in fast.iter().zip(&reference).enumerate() {
            assert_eq!(f, r, "{}: element {i} differs", path.display());
        }
        assert_eq!(fast.len(), reference.len(), "{}", path.display());
        assert!(
            fast.iter()
                .any(|(_, style)| style.iter().any(|d| d == "margin: 0 0 16px")),
            "{}: the layout's p rule was not inlined",
            path.display()
        );
        compared += 1;
    }
    assert!(compared >= 7, "only {compared} issues compared");
}

/// A layout whose inline stylesheet uses a selector the fast inliner does
/// not support still gets its styles, from css-inline.
#[test]
fn unsupported_selectors_fall_back_to_css_inline() {
    let mjml = r#"<mjml><mj-head><mj-style inline="inline">a:hover { color: red } p { margin: 0 }</mj-style></mj-head>
<mj-body><mj-section><mj-column><mj-text><p>x</p></mj-text></mj-column></mj-section></mj-body></mjml>"#;
    let fast = mjml_to_html_with(mjml, CssInlining::Fast).unwrap();
    assert!(fast.contains(r#"<p style="margin: 0;">x</p>"#), "{fast}");
    assert_eq!(
        styled_elements(&fast),
        styled_elements(&mjml_to_html_with(mjml, CssInlining::Reference).unwrap())
    );
}
