//! Pre-flight checks: everything that should stop an issue before it
//! reaches an inbox, returned as [`Diagnostic`]s.

use pulldown_cmark::{Event, Parser};

use crate::compose::{markdown_options, RenderedEmail};
use crate::config::Config;
use crate::diagnostic::{line_of, Diagnostic, Severity};
use crate::issue::Issue;
use crate::mojibake;

/// Gmail clips messages whose HTML is larger than this (102 KB), hiding the rest
/// (and the unsubscribe link) behind "View entire message".
pub const GMAIL_CLIP_BYTES: usize = 102 * 1024;

/// Subjects longer than this are cut off in most inboxes.
pub const SUBJECT_MAX_CHARS: usize = 78;

/// How many mojibake findings to list one by one.
const MOJIBAKE_SHOWN: usize = 5;

/// Runs every check on a composed issue. `mojibake` is the scan of the
/// issue file's text as read (before any in-memory repair).
pub fn check(
    issue: &Issue,
    mojibake: Option<&mojibake::Report>,
    email: &RenderedEmail,
    config: &Config,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let at = |d: Diagnostic| Diagnostic {
        file: Some(issue.path.clone()),
        ..d
    };

    if let Some(report) = mojibake {
        let n = report.findings.len();
        for f in report.findings.iter().take(MOJIBAKE_SHOWN) {
            out.push(at(Diagnostic::error(
                "mojibake",
                format!("`{}` looks like `{}` mis-decoded as {}", f.garbled, f.fixed, report.encoding.name()),
            )
            .at_line(f.line)
            .with_help("run `letterpress check --fix` to restore the original characters (a .bak copy is kept)")));
        }
        if n > MOJIBAKE_SHOWN {
            out.push(at(Diagnostic::error(
                "mojibake",
                format!(
                    "{} more mis-decoded sequences in this file",
                    n - MOJIBAKE_SHOWN
                ),
            )));
        }
    }

    template_syntax(issue, &mut out);
    misspelt_keys(issue, &mut out);
    placeholders(issue, &mut out);

    for w in &email.warnings {
        let mut d = w.clone();
        if matches!(d.code, "image-alt" | "relative-link") {
            d.severity = Severity::Error;
        }
        out.push(d);
    }

    let html_len = email.html.len();
    if html_len > GMAIL_CLIP_BYTES {
        out.push(at(Diagnostic::error(
            "gmail-clip",
            format!("the HTML is {} KB; Gmail clips messages over 102 KB, hiding the rest and the unsubscribe link", html_len / 1024),
        )
        .with_help("shorten the issue or split it; large tables and inline styles cost the most")));
    } else if html_len > GMAIL_CLIP_BYTES * 9 / 10 {
        out.push(at(Diagnostic::warning(
            "gmail-clip",
            format!(
                "the HTML is {} KB, close to Gmail's 102 KB clipping limit",
                html_len / 1024
            ),
        )));
    }

    let subject_len = email.subject.chars().count();
    if subject_len > SUBJECT_MAX_CHARS {
        out.push(at(Diagnostic::warning(
            "subject-length",
            format!("the subject is {subject_len} characters; inboxes cut it off after about {SUBJECT_MAX_CHARS}"),
        )
        .with_help("set a shorter `subject:` in the front matter (the title can stay long)")));
    }
    if issue.front.draft {
        out.push(at(Diagnostic::error(
            "draft",
            "the issue is marked `draft: true`",
        )
        .with_help(
            "remove `draft: true` from the front matter when it is ready to send",
        )));
    }
    if config.listen.public_url.is_none() && config.unsubscribe.mailto.is_none() {
        out.push(Diagnostic::error("unsubscribe", "no unsubscribe link is configured")
            .with_help("set `[listen] public_url` (where `letterpress listen` is reachable) or `unsubscribe.mailto` in letterpress.toml"));
    }
    out
}

/// Template syntax left in the text (`{% … %}`, `{{ … }}`): Liquid or Jinja
/// that another tool was meant to expand. Code spans and blocks are exempt.
fn template_syntax(issue: &Issue, out: &mut Vec<Diagnostic>) {
    let mut in_code_block = false;
    let mut reported = std::collections::BTreeSet::new();
    for (event, range) in Parser::new_ext(&issue.body, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(pulldown_cmark::Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_code_block = false,
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) if !in_code_block => {
                for pat in ["{%", "{{"] {
                    if let Some(i) = t.find(pat) {
                        let line = issue.body_line - 1 + line_of(&issue.body, range.start);
                        if reported.insert(line) {
                            let snippet: String = t[i..].chars().take(60).collect();
                            out.push(
                                Diagnostic::error("template-syntax", format!("template syntax left in the text: `{}`", snippet.trim_end()))
                                    .at_line(line)
                                    .with_help("expand or remove it: letterpress does not run Liquid/Jinja tags inside issues"),
                            );
                            out.last_mut().expect("just pushed").file = Some(issue.path.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Front matter keys close to one letterpress reads (`darft: true`): a
/// warning, or an error for `draft`, which is what keeps an unfinished
/// issue from the list.
fn misspelt_keys(issue: &Issue, out: &mut Vec<Diagnostic>) {
    for m in issue.misspelt_keys() {
        let message = format!(
            "front matter key `{}` is not one letterpress reads; did you mean `{}`?",
            m.key, m.suggestion
        );
        let mut d = if m.suggestion == "draft" {
            Diagnostic::error("front-matter-key", message).with_help(format!(
                "rename `{}` to `draft`: as written, the issue is not marked as a draft and could go to the list",
                m.key
            ))
        } else {
            Diagnostic::warning("front-matter-key", message).with_help(format!(
                "rename it to `{}`, or keep it if templates read it as `issue.extra.{}`",
                m.suggestion, m.key
            ))
        };
        d.file = Some(issue.path.clone());
        d.line = m.line;
        out.push(d);
    }
}

/// Text of the `letterpress new` skeleton (`templates/new-issue.md`) that
/// is meant to be replaced before an issue goes out.
pub const SKELETON_PHRASES: &[&str] = &[
    "Describe the image for readers who cannot see it",
    "A caption for the image.",
    "Write the first story here.",
    "Link to the source",
    "A link worth reading",
    "and a sentence on why.",
];

/// True for a link or image target on a domain reserved for examples
/// (RFC 2606: example.com, example.net, example.org and their subdomains):
/// never a real destination for a reader.
pub fn is_placeholder_url(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let Some(host) = u.host_str() else {
        return false;
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ["example.com", "example.net", "example.org"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// The skeleton's placeholders left in the issue: its sentences and links
/// or images pointing at example domains. An error: a list send refuses it.
fn placeholders(issue: &Issue, out: &mut Vec<Diagnostic>) {
    use pulldown_cmark::Tag;
    let mut push = |offset: usize, message: String, help: &str| {
        let line = issue.body_line - 1 + line_of(&issue.body, offset);
        let mut d = Diagnostic::error("placeholder", message)
            .at_line(line)
            .with_help(help);
        d.file = Some(issue.path.clone());
        out.push(d);
    };
    let mut in_code_block = false;
    for (event, range) in Parser::new_ext(&issue.body, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(pulldown_cmark::Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_code_block = false,
            Event::Start(Tag::Link { dest_url, .. }) if is_placeholder_url(&dest_url) => push(
                range.start,
                format!("the link goes to the placeholder address {dest_url}"),
                "link to the real page (example.com, .net and .org are reserved for examples)",
            ),
            Event::Start(Tag::Image { dest_url, .. }) if is_placeholder_url(&dest_url) => push(
                range.start,
                format!("the image is the placeholder {dest_url}"),
                "point it at the real image, or remove it",
            ),
            Event::Text(t) if !in_code_block => {
                if let Some(p) = SKELETON_PHRASES.iter().find(|p| t.contains(**p)) {
                    push(
                        range.start,
                        format!("\"{p}\" is the skeleton's placeholder text"),
                        "replace it with your own words, or remove it",
                    );
                }
            }
            _ => {}
        }
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::template::Templates;
    use std::path::Path;

    fn diagnostics(issue_text: &str) -> Vec<Diagnostic> {
        let config = Config::parse(crate::scaffold::CONFIG, Path::new("letterpress.toml")).unwrap();
        let templates = Templates::from_sources(&[
            ("email.mjml", include_str!("../templates/email.mjml")),
            ("email.txt", include_str!("../templates/email.txt")),
        ])
        .unwrap();
        let composer = crate::compose::Composer::with_templates(&config, templates);
        let mut issue = Issue::parse(issue_text).unwrap();
        issue.path = "issues/003.md".into();
        let email = composer.compose(&issue).unwrap();
        check(&issue, None, &email, &config)
    }

    fn shown(ds: &[Diagnostic], code: &str) -> Vec<String> {
        ds.iter()
            .filter(|d| d.code == code)
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn misspelt_draft_is_an_error_and_others_warn() {
        let ds = diagnostics("---\ntitle: T\ndarft: true\nnumbr: 3\n---\n\nHello.\n");
        assert_eq!(
            shown(&ds, "front-matter-key"),
            [
                "error[front-matter-key]: issues/003.md:3: front matter key `darft` is not one letterpress reads; did you mean `draft`?\n  \
                 help: rename `darft` to `draft`: as written, the issue is not marked as a draft and could go to the list",
                "warning[front-matter-key]: issues/003.md:4: front matter key `numbr` is not one letterpress reads; did you mean `number`?\n  \
                 help: rename it to `number`, or keep it if templates read it as `issue.extra.numbr`",
            ]
        );
    }

    #[test]
    fn the_new_issue_skeleton_is_flagged_line_by_line() {
        let skeleton = include_str!("../templates/new-issue.md")
            .replace("{{ number }}", "3")
            .replace("{{ title }}", "Three")
            .replace("{{ date }}", "2026-12-01");
        let ds = diagnostics(&skeleton);
        let found: Vec<(Option<usize>, &str)> = ds
            .iter()
            .filter(|d| d.code == "placeholder")
            .map(|d| (d.line, d.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (Some(12), "the image is the placeholder https://example.com/image.png"),
                (Some(12), "\"Describe the image for readers who cannot see it\" is the skeleton's placeholder text"),
                (Some(14), "\"A caption for the image.\" is the skeleton's placeholder text"),
                (Some(16), "\"Write the first story here.\" is the skeleton's placeholder text"),
                (Some(16), "the link goes to the placeholder address https://example.com"),
                (Some(16), "\"Link to the source\" is the skeleton's placeholder text"),
                (Some(20), "the link goes to the placeholder address https://example.com"),
                (Some(20), "\"A link worth reading\" is the skeleton's placeholder text"),
                (Some(20), "\"and a sentence on why.\" is the skeleton's placeholder text"),
            ]
        );
        assert!(ds
            .iter()
            .filter(|d| d.code == "placeholder")
            .all(|d| d.severity == Severity::Error));
    }

    #[test]
    fn real_links_and_code_are_not_placeholders() {
        let ds = diagnostics(
            "---\ntitle: T\n---\n\nSee [the docs](https://docs.rs/x) and [ours](https://news.example).\n\n```\nWrite the first story here.\n```\n",
        );
        assert!(shown(&ds, "placeholder").is_empty(), "{ds:?}");
        assert!(is_placeholder_url("https://www.EXAMPLE.org./a"));
        assert!(!is_placeholder_url("https://myexample.com"));
        assert!(!is_placeholder_url("mailto:a@example.com"));
    }
}
