//! The email's HTML made into part of a web page: the per-recipient slots
//! filled for the web (no name, no address, the subscribe link where the
//! unsubscribe link was), the layout's `<style>` blocks lifted out of its
//! head, its `<body>` kept as a `<div>`, and what only Outlook or the inbox
//! list reads (conditional comments, the hidden preheader) left out.

use serde::{Deserialize, Serialize};

use crate::compose::{RenderedEmail, Slot};

/// One issue's content for its web page and the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebBody {
    /// The layout's `<style>` elements, for the page's `<head>`.
    pub styles: String,
    /// The email's body as one `<div>` (inline styles kept).
    pub html: String,
    /// The plain-text version, slots filled for the web.
    pub text: String,
    /// The first absolute `https` image of the body (for `og:image`).
    pub image: Option<String>,
}

/// The web version of an email composed with [`crate::compose::Output::Web`].
pub fn web_body(email: &RenderedEmail, subscribe_url: &str) -> WebBody {
    let html = fill(
        &email.html,
        &html_escape::encode_quoted_attribute(subscribe_url),
    );
    let text = fill(&email.text, subscribe_url);
    let html = strip_conditional_comments(&html);
    let (head, body) = match (html.find("<body"), html.rfind("</body>")) {
        (Some(b), Some(e)) if b < e => (&html[..b], &html[b..e]),
        _ => ("", html.as_str()),
    };
    let mut styles = String::new();
    let mut rest = head;
    while let Some(i) = rest.find("<style") {
        let Some(end) = rest[i..].find("</style>") else {
            break;
        };
        let block = &rest[i..i + end + "</style>".len()];
        styles.push_str(&block.replace(" type=\"text/css\"", ""));
        styles.push('\n');
        rest = &rest[i + end..];
    }
    // `<body style="…">` becomes `<div class="lp-email" style="…">`.
    let (body_style, inner) = match body.strip_prefix("<body").and_then(|b| b.split_once('>')) {
        Some((attrs, inner)) => (attr(attrs, "style").unwrap_or_default(), inner),
        None => (String::new(), body),
    };
    let inner = drop_preheader(inner);
    // `height="auto"` is mrml's way of saying "no height"; HTML wants a number.
    let inner = inner.replace(" height=\"auto\"", "");
    let image = first_image(&inner);
    WebBody {
        styles,
        html: format!("<div class=\"lp-email\" style=\"{body_style}\">{inner}</div>"),
        text,
        image,
    }
}

/// The slots filled for a reader nobody knows.
fn fill(s: &str, subscribe: &str) -> String {
    s.replace(Slot::Name.sentinel(), "")
        .replace(Slot::Email.sentinel(), "")
        .replace(Slot::UnsubscribeUrl.sentinel(), subscribe)
}

/// Removes `<!--[if …]> … <![endif]-->` (Outlook only) and unwraps
/// `<!--[if !mso]><!--> … <!--<![endif]-->` (everyone else).
fn strip_conditional_comments(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find("<!--[if") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(open_end) = after.find("]>") else {
            rest = "";
            break;
        };
        let revealed = after[open_end + 2..].starts_with("<!-->");
        if revealed {
            rest = &after[open_end + 2 + "<!-->".len()..];
            if let Some(close) = rest.find("<!--<![endif]-->") {
                out.push_str(&rest[..close]);
                rest = &rest[close + "<!--<![endif]-->".len()..];
            }
        } else {
            rest = match after.find("<![endif]-->") {
                Some(close) => &after[close + "<![endif]-->".len()..],
                None => "",
            };
        }
    }
    out.push_str(rest);
    out
}

/// Leaves out mrml's hidden preheader `<div style="display:none…">…</div>`.
fn drop_preheader(inner: &str) -> &str {
    if inner.starts_with("<div style=\"display:none") {
        if let Some(end) = inner.find("</div>") {
            return &inner[end + "</div>".len()..];
        }
    }
    inner
}

/// The value of attribute `name` in a tag's attribute text (double quotes).
fn attr(attrs: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let i = attrs.find(&key)? + key.len();
    let end = attrs[i..].find('"')?;
    Some(attrs[i..i + end].to_string())
}

fn first_image(html: &str) -> Option<String> {
    let mut rest = html;
    while let Some(i) = rest.find("<img ") {
        let tag_end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
        let tag = &rest[i..tag_end];
        if let Some(src) = attr(tag, "src") {
            if src.starts_with("https://") {
                return Some(html_escape::decode_html_entities(&src).into_owned());
            }
        }
        rest = &rest[tag_end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_becomes_a_page_part() {
        let email = RenderedEmail {
            subject: "S".into(),
            preheader: "P".into(),
            mjml: String::new(),
            html: format!(
                "<html><head><!--[if !mso]><!--><meta x><!--<![endif]--><style type=\"text/css\">a{{}}</style><!--[if mso]><style>o{{}}</style><![endif]--></head>\
<body style=\"margin:0\"><div style=\"display:none;\">P</div><!--[if mso | IE]><table><![endif]--><p>Hi {}</p><img height=\"auto\" src=\"https://x.example/a.png?a=1&amp;b=2\"><a href=\"{}\">Unsubscribe</a></body></html>",
                Slot::Name.sentinel(),
                Slot::UnsubscribeUrl.sentinel()
            ),
            text: format!("Unsubscribe: {}\n", Slot::UnsubscribeUrl.sentinel()),
            warnings: Vec::new(),
            language: "en".into(),
        };
        let web = web_body(&email, "https://x.example/join?a=1&b=2");
        assert_eq!(web.styles, "<style>a{}</style>\n");
        assert_eq!(
            web.html,
            "<div class=\"lp-email\" style=\"margin:0\"><p>Hi </p><img src=\"https://x.example/a.png?a=1&amp;b=2\"><a href=\"https://x.example/join?a=1&amp;b=2\">Unsubscribe</a></div>"
        );
        assert_eq!(web.text, "Unsubscribe: https://x.example/join?a=1&b=2\n");
        assert_eq!(
            web.image.as_deref(),
            Some("https://x.example/a.png?a=1&b=2")
        );
    }
}
