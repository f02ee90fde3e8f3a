//! Stage 2: compose an [`Issue`] into a [`RenderedEmail`], once per issue.
//!
//! ```text
//! Markdown ─┬─ mjml::markdown_to_mjml ─▶ templates/email.mjml ─▶ mrml ─▶ HTML
//!           └─ text::markdown_to_text ─▶ templates/email.txt ─────────▶ text
//! ```
//!
//! Recipient values (name, address, unsubscribe URL) are not known here:
//! the templates see [`Slot`](crate::message::Slot) sentinels in their place, and
//! [`message`](crate::message) fills them in per recipient.
//!
//! Before either walker runs, [`nesting::check`] refuses Markdown nested
//! past [`nesting::MAX_NESTING`] with its line (the walkers and mrml recurse).

pub mod blocks;
pub mod inline;
pub mod links;
pub mod mjml;
pub mod nesting;
pub mod template;
pub mod text;
pub mod wrap;

use std::collections::HashMap;

use minijinja::{context, Value};

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::issue::Issue;
use crate::message::Slot;
use links::{LinkRewriter, Utm};
use template::Templates;

/// Column at which the plain-text part is wrapped.
pub const TEXT_WIDTH: usize = 76;

/// The pulldown-cmark options every stage uses, so the HTML and the plain
/// text see the same document: GFM tables, footnotes, strikethrough, task
/// lists and heading attributes. Smart punctuation is off: the author's
/// characters are kept as written.
pub fn markdown_options() -> pulldown_cmark::Options {
    use pulldown_cmark::Options;
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// An issue rendered for email, before any recipient is known.
#[derive(Debug, Clone)]
pub struct RenderedEmail {
    /// The subject line.
    pub subject: String,
    /// The inbox preview line.
    pub preheader: String,
    /// The full MJML document that produced `html`.
    pub mjml: String,
    /// The HTML part, with [`Slot`] sentinels where recipient values go.
    pub html: String,
    /// The text part, with [`Slot`] sentinels where recipient values go.
    pub text: String,
    /// What composing noticed (missing alt text, relative links, ...), with file lines.
    pub warnings: Vec<Diagnostic>,
}

/// Renders issues with one configuration and template set.
#[derive(Debug)]
pub struct Composer {
    config: Config,
    templates: Templates,
}

impl Composer {
    /// A composer using the templates named by `config`.
    pub fn new(config: &Config) -> Result<Composer> {
        let templates = Templates::from_dir(&config.resolve(&config.paths.templates))?;
        Ok(Composer::with_templates(config, templates))
    }

    /// A composer with explicit templates (tests).
    pub fn with_templates(config: &Config, templates: Templates) -> Composer {
        Composer {
            config: config.clone(),
            templates,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The templates.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The link rewriter for `issue` (UTM settings with the campaign rendered).
    pub fn link_rewriter(&self, issue: &Issue) -> Result<LinkRewriter> {
        let utm = &self.config.utm;
        if !utm.enabled {
            return Ok(LinkRewriter::default());
        }
        let ctx = context! {
            number => issue.front.number,
            date => issue.front.date.map(|d| d.to_string()),
            slug => issue.stem(),
        };
        let campaign =
            self.templates
                .render_str("utm.campaign in letterpress.toml", &utm.campaign, &ctx)?;
        Ok(LinkRewriter::new(Some(Utm {
            source: utm
                .source
                .clone()
                .unwrap_or_else(|| self.config.newsletter.name.clone()),
            medium: utm.medium.clone(),
            campaign,
        })))
    }

    /// Composes `issue`: Markdown → MJML → HTML, and Markdown → text.
    pub fn compose(&self, issue: &Issue) -> Result<RenderedEmail> {
        if let Err(deep) = nesting::check(&issue.body) {
            return Err(Error::parse(
                &issue.path,
                Some(issue.body_line + crate::diagnostic::line_of(&issue.body, deep.offset) - 1),
                format!(
                    "lists, quotes, emphasis or HTML elements nested more than {} levels deep here; flatten the structure",
                    nesting::MAX_NESTING
                ),
            ));
        }
        let links = self.link_rewriter(issue)?;
        let body = mjml::markdown_to_mjml(&issue.body, &links);
        let body_text = text::markdown_to_text(&issue.body, &links, TEXT_WIDTH);
        let preheader = issue
            .front
            .preheader
            .clone()
            .unwrap_or_else(|| opening_sentence(&issue.body));
        let subject = issue.subject().to_string();

        let n = &self.config.newsletter;
        let issue_ctx = context! {
            title => &issue.front.title,
            subject => &subject,
            number => issue.front.number,
            date => issue.front.date.map(|d| d.to_string()),
            date_long => issue.front.date.map(|d| d.format("%-d %B %Y").to_string()),
            web_url => issue.web_url(),
            preheader => &preheader,
            extra => Value::from_serialize(&issue.front.extra),
        };
        let base = context! {
            newsletter => context! {
                name => &n.name,
                tagline => &n.tagline,
                web_url => &n.web_url,
                postal_address => &n.postal_address,
                reason => &n.reason,
                language => &n.language,
                accent_color => &n.accent_color,
            },
            issue => issue_ctx,
            subscriber => context! {
                name => Slot::Name.sentinel(),
                email => Slot::Email.sentinel(),
            },
            unsubscribe_url => Slot::UnsubscribeUrl.sentinel(),
        };
        let mjml_doc = self.templates.render(
            template::HTML_LAYOUT,
            &context! { body => Value::from_safe_string(body.mjml), ..base.clone() },
        )?;
        let text = self.templates.render(
            template::TEXT_LAYOUT,
            &context! { body => body_text, ..base },
        )?;
        let html = mjml_to_html(&mjml_doc)?;

        let mut warnings = body.warnings;
        for w in &mut warnings {
            w.file = Some(issue.path.clone());
            w.line = w.line.map(|l| l + issue.body_line - 1);
        }
        Ok(RenderedEmail {
            subject,
            preheader,
            mjml: mjml_doc,
            html,
            text: normalize_text(&text),
            warnings,
        })
    }
}

/// How the layout's `<mj-style inline="inline">` rules reach the elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CssInlining {
    /// letterpress's one-pass inliner ([`inline`]), falling back to
    /// css-inline when the stylesheet is outside what it supports.
    Fast,
    /// mrml's css-inline (a DOM parse and re-serialisation): the reference.
    Reference,
}

/// Renders an MJML document to HTML with mrml: no web fonts, no comments,
/// inline styles applied, minified.
pub fn mjml_to_html(mjml_doc: &str) -> Result<String> {
    mjml_to_html_with(mjml_doc, CssInlining::Fast)
}

/// [`mjml_to_html`] with a choice of CSS inliner.
pub fn mjml_to_html_with(mjml_doc: &str, inlining: CssInlining) -> Result<String> {
    let mut parsed = mrml::parse(mjml_doc)
        .map_err(|e| Error::Mjml(format!("the layout is not valid MJML: {e}")))?;
    let sheet = match inlining {
        CssInlining::Fast => take_inline_styles(&mut parsed.element),
        CssInlining::Reference => None,
    };
    let opts = mrml::prelude::render::RenderOptions {
        disable_comments: true,
        social_icon_origin: None,
        fonts: HashMap::new(),
    };
    let html = parsed
        .element
        .render(&opts)
        .map_err(|e| Error::Mjml(e.to_string()))?;
    let html = match sheet {
        Some(sheet) => sheet.inline(&html),
        None => html,
    };
    Ok(minify_html(&html))
}

/// Removes the `<mj-style inline="inline">` blocks from `mjml` and returns
/// them parsed, when [`inline::StyleSheet`] supports all of them; otherwise
/// leaves them for mrml's css-inline and returns `None`.
fn take_inline_styles(mjml: &mut mrml::mjml::Mjml) -> Option<inline::StyleSheet> {
    use mrml::mj_head::MjHeadChild;
    let head = mjml.children.head.as_mut()?;
    if head
        .children
        .iter()
        .any(|c| matches!(c, MjHeadChild::MjInclude(_)))
    {
        return None;
    }
    // mrml joins the blocks' trimmed text in order, with nothing between.
    let css: String = head
        .children
        .iter()
        .filter_map(inline_style)
        .map(str::trim)
        .collect();
    if css.is_empty() {
        return None;
    }
    let sheet = inline::StyleSheet::parse(&css)?;
    head.children.retain(|c| inline_style(c).is_none());
    Some(sheet)
}

/// The CSS of an `<mj-style inline="inline">` head child.
fn inline_style(child: &mrml::mj_head::MjHeadChild) -> Option<&str> {
    match child {
        mrml::mj_head::MjHeadChild::MjStyle(s)
            if s.inline_mode() == mrml::mj_style::StyleInlineMode::Inline =>
        {
            Some(s.children())
        }
        _ => None,
    }
}

/// Safe minification: outside `<pre>`, strips indentation and blank lines
/// (HTML collapses a newline plus spaces to one space anyway).
pub fn minify_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_pre = 0usize;
    for line in html.lines() {
        let t = if in_pre > 0 { line } else { line.trim() };
        if t.is_empty() && in_pre == 0 {
            continue;
        }
        let lower_opens = t.matches("<pre").count();
        let lower_closes = t.matches("</pre").count();
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(t);
        in_pre = (in_pre + lower_opens).saturating_sub(lower_closes);
    }
    out
}

/// The plain text as it goes out: no trailing spaces, at most one blank line in a row.
fn normalize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        // "-- " is the signature separator mail clients recognise: keep its space.
        let line = if line == "-- " { line } else { line.trim_end() };
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The body's first sentence, as plain text (the default preheader).
pub fn opening_sentence(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut text = String::new();
    let mut in_para = false;
    for event in Parser::new_ext(markdown, markdown_options()) {
        match event {
            Event::Start(Tag::Paragraph) => in_para = true,
            Event::End(TagEnd::Paragraph) if in_para => break,
            Event::Text(t) | Event::Code(t) if in_para => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak if in_para => text.push(' '),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = text
        .char_indices()
        .find(|&(i, c)| matches!(c, '.' | '!' | '?') && text[i + c.len_utf8()..].starts_with(' '))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(text.len());
    let sentence = &text[..end];
    if sentence.chars().count() > 150 {
        let cut: String = sentence.chars().take(147).collect();
        format!("{}…", cut.trim_end())
    } else {
        sentence.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_sentence_takes_first_paragraph_sentence() {
        assert_eq!(
            opening_sentence("## Head\n\nHey *all*, welcome to #40!\nToday more.\n"),
            "Hey all, welcome to #40!"
        );
        assert_eq!(opening_sentence("No full stop"), "No full stop");
        assert_eq!(opening_sentence("v1.2 is out. Yes."), "v1.2 is out.");
    }

    #[test]
    fn minify_keeps_pre_and_text() {
        let html = "<div>\n  <p>a\n  b</p>\n  <pre>x\n  y</pre>\n</div>\n";
        assert_eq!(
            minify_html(html),
            "<div>\n<p>a\nb</p>\n<pre>x\n  y</pre>\n</div>"
        );
    }

    #[test]
    fn normalize_collapses_blank_lines() {
        assert_eq!(normalize_text("\n\na  \n\n\n\nb\n\n"), "a\n\nb\n");
        assert_eq!(normalize_text("x\n-- \ny\n"), "x\n-- \ny\n");
    }
}
