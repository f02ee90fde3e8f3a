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

/// True when any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}
