//! The HTML safety policy: which raw HTML tags survive in an email, which
//! attributes they keep, and which URLs and inline styles are safe. One place,
//! so the HTML walker ([`super::mjml`]) and the text walker ([`super::text`])
//! agree on what a reader can be sent.
//!
//! The tokenizer that splits raw HTML is [`super::blocks::html_tokens`]; this
//! module only decides.

use super::blocks::{is_void, HtmlToken};

/// What to do with a raw HTML tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagPolicy {
    /// Safe in email: keep the tag (with allowlisted attributes).
    Keep,
    /// A known HTML element that is pointless in email: drop the tag, keep its content.
    Unwrap,
    /// Active or interactive content: drop the tag and everything inside it.
    Remove,
    /// Not an HTML element (`<T>`, `<pubkey>`, `<mj-text>`): it is text, shown as written.
    Text,
}

/// The policy for the (lowercase) tag `name`.
pub fn tag_policy(name: &str) -> TagPolicy {
    match name {
        "a" | "abbr" | "b" | "br" | "code" | "del" | "div" | "em" | "hr" | "i" | "img" | "kbd"
        | "li" | "ol" | "p" | "pre" | "s" | "small" | "span" | "strong" | "sub" | "sup"
        | "table" | "tbody" | "td" | "th" | "thead" | "tr" | "u" | "ul" | "blockquote" | "h1"
        | "h2" | "h3" | "h4" | "h5" | "h6" | "figure" | "figcaption" | "details" | "summary"
        | "center" | "dl" | "dt" | "dd" | "tfoot" | "caption" | "ins" | "mark" | "q" | "cite" => {
            TagPolicy::Keep
        }
        "script" | "style" | "iframe" | "frame" | "frameset" | "noframes" | "object" | "embed"
        | "applet" | "param" | "form" | "input" | "button" | "select" | "option" | "optgroup"
        | "textarea" | "noscript" | "noembed" | "template" | "svg" | "math" | "canvas"
        | "audio" | "video" | "source" | "track" | "head" | "title" | "meta" | "link" | "base"
        | "xmp" | "plaintext" | "portal" | "datalist" => TagPolicy::Remove,
        "html" | "body" | "section" | "article" | "header" | "footer" | "aside" | "main"
        | "nav" | "address" | "font" | "big" | "tt" | "strike" | "time" | "data" | "bdi"
        | "bdo" | "ruby" | "rt" | "rp" | "wbr" | "label" | "fieldset" | "legend" | "picture"
        | "map" | "area" | "output" | "hgroup" | "menu" | "dialog" | "search" | "nobr"
        | "colgroup" | "col" | "dfn" | "var" | "samp" | "meter" | "progress" | "slot" => {
            TagPolicy::Unwrap
        }
        _ => TagPolicy::Text,
    }
}

/// What to do with attribute `key` of a kept raw tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrPolicy {
    /// A link target: kept when [`is_safe_url`] (not an image), UTM-tagged.
    Href,
    /// An image source: kept when [`is_safe_url`] (as an image).
    Src,
    /// Inline CSS: kept when [`is_safe_style`].
    Style,
    /// Plain text (alt, title, sizes, alignment, class): kept, re-escaped.
    Keep,
    /// Anything else (event handlers, `target`, `data-*`, …): dropped.
    Drop,
}

/// The policy for attribute `key` (lowercase) on the kept tag `name`.
pub fn attr_policy(name: &str, key: &str) -> AttrPolicy {
    match key {
        "href" if name == "a" => AttrPolicy::Href,
        "src" if name == "img" => AttrPolicy::Src,
        "style" => AttrPolicy::Style,
        "alt" | "title" | "width" | "height" | "class" | "align" | "colspan" | "rowspan"
        | "scope" => AttrPolicy::Keep,
        _ => AttrPolicy::Drop,
    }
}

/// The URL's scheme (`https`, `mailto`…), ignoring the whitespace and
/// control characters browsers ignore too.
pub fn scheme(url: &str) -> Option<String> {
    let mut scheme = String::new();
    for c in url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
    {
        match c {
            ':' if !scheme.is_empty() => return Some(scheme.to_ascii_lowercase()),
            c if c.is_ascii_alphabetic() => scheme.push(c),
            c if !scheme.is_empty() && (c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) => {
                scheme.push(c)
            }
            _ => return None,
        }
    }
    None
}

/// False for script URLs (and, outside images, `data:` URLs).
pub fn is_safe_url(url: &str, image: bool) -> bool {
    match scheme(url).as_deref() {
        Some("javascript" | "vbscript" | "file") => false,
        Some("data") => {
            let compact: String = url
                .chars()
                .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
                .collect();
            image && compact[5..].to_ascii_lowercase().starts_with("image/")
        }
        _ => true,
    }
}

/// False for inline CSS that can run code or load things in old clients.
pub fn is_safe_style(style: &str) -> bool {
    let lower = style.to_ascii_lowercase();
    ![
        "expression",
        "javascript:",
        "behavior",
        "@import",
        "-moz-binding",
    ]
    .iter()
    .any(|bad| lower.contains(bad))
}

/// Drops comments and [`TagPolicy::Remove`] elements with their content,
/// across the several chunks of raw HTML one Markdown block can hold (inline
/// `<script>`, then Markdown text, then `</script>`). Reset it at the end of
/// each block so an element left open cannot swallow the rest of the issue.
#[derive(Debug, Default)]
pub struct RawHtmlFilter {
    /// The removed element being skipped, and how deeply it is nested in itself.
    skipping: Option<(String, usize)>,
}

impl RawHtmlFilter {
    /// The token if it survives.
    pub fn accept<'a>(&mut self, token: HtmlToken<'a>) -> Option<HtmlToken<'a>> {
        if let Some((skipped, depth)) = &mut self.skipping {
            match &token {
                HtmlToken::Start {
                    name,
                    self_closing: false,
                    ..
                } if name == skipped => *depth += 1,
                HtmlToken::End { name, .. } if name == skipped => {
                    *depth -= 1;
                    if *depth == 0 {
                        self.skipping = None;
                    }
                }
                _ => {}
            }
            return None;
        }
        match &token {
            HtmlToken::Comment => None,
            HtmlToken::Start {
                name, self_closing, ..
            } if tag_policy(name) == TagPolicy::Remove => {
                if !self_closing && !is_void(name) {
                    self.skipping = Some((name.clone(), 1));
                }
                None
            }
            HtmlToken::End { name, .. } if tag_policy(name) == TagPolicy::Remove => None,
            _ => Some(token),
        }
    }

    /// True inside a removed element: Markdown text there is dropped too.
    pub fn skipping(&self) -> bool {
        self.skipping.is_some()
    }

    /// Forgets an unclosed removed element (end of a Markdown block).
    pub fn reset(&mut self) {
        self.skipping = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::blocks::html_tokens;

    fn tokens(html: &str) -> Vec<HtmlToken<'_>> {
        html_tokens(html).map(|(_, t)| t).collect()
    }
    #[test]
    fn filter_removes_active_content_across_chunks() {
        let mut f = RawHtmlFilter::default();
        let kept: Vec<_> = tokens("<p><style>p{}</style><object><object>x</object>y</object>z")
            .into_iter()
            .filter_map(|t| f.accept(t))
            .collect();
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert_eq!(kept[1], HtmlToken::Text("z"));
        assert!(f.accept(tokens("<script>")[0].clone()).is_none());
        assert!(f.skipping());
        f.reset();
        assert!(!f.skipping());
    }

    #[test]
    fn urls_and_styles() {
        assert_eq!(scheme(" Java\tScript:x").as_deref(), Some("javascript"));
        assert_eq!(scheme("/rel:x"), None);
        assert!(!is_safe_url("JAVA\nscript:alert(1)", false));
        assert!(!is_safe_url("data:image/png;base64,xx", false));
        assert!(is_safe_url("data:image/png;base64,xx", true));
        assert!(!is_safe_url("data:text/html,xx", true));
        assert!(is_safe_url("https://x.example/", false));
        assert!(!is_safe_style("width: Expression(alert(1))"));
        assert!(is_safe_style("color: red"));
        assert_eq!(attr_policy("a", "onclick"), AttrPolicy::Drop);
        assert_eq!(attr_policy("img", "href"), AttrPolicy::Drop);
        assert_eq!(attr_policy("img", "src"), AttrPolicy::Src);
    }
}
