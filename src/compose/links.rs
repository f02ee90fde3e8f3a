//! Link rewriting: UTM tagging of outgoing http(s) links.
//!
//! Every `http`/`https` link in an issue gets `utm_source`, `utm_medium` and
//! `utm_campaign` appended, unless the link already carries *any* `utm_*`
//! parameter (then it is left exactly as written: authors who tag links by
//! hand keep their tags). `mailto:`, `#anchors`, relative links and the
//! unsubscribe link are never touched.

use std::borrow::Cow;

/// Resolved UTM parameters for one issue (the campaign template is already
/// rendered with the issue's number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utm {
    /// `utm_source`, e.g. the newsletter's slug.
    pub source: String,
    /// `utm_medium`, normally `email`.
    pub medium: String,
    /// `utm_campaign`, e.g. `issue-40`.
    pub campaign: String,
}

/// Rewrites link targets for one issue. `LinkRewriter::default()` changes nothing.
#[derive(Debug, Clone, Default)]
pub struct LinkRewriter {
    utm: Option<Utm>,
}

impl LinkRewriter {
    /// A rewriter that tags links with `utm`, or leaves them alone when `None`.
    pub fn new(utm: Option<Utm>) -> Self {
        LinkRewriter { utm }
    }

    /// The link as it should appear in the email.
    ///
    /// ```
    /// use letterpress::compose::links::{LinkRewriter, Utm};
    /// let r = LinkRewriter::new(Some(Utm { source: "dt".into(), medium: "email".into(), campaign: "issue-40".into() }));
    /// assert_eq!(r.rewrite("https://a.example/x?q=1#top"),
    ///            "https://a.example/x?q=1&utm_source=dt&utm_medium=email&utm_campaign=issue-40#top");
    /// assert_eq!(r.rewrite("mailto:me@example.com"), "mailto:me@example.com");
    /// ```
    pub fn rewrite<'a>(&self, url: &'a str) -> Cow<'a, str> {
        let Some(utm) = &self.utm else {
            return Cow::Borrowed(url);
        };
        if !is_web_url(url) {
            return Cow::Borrowed(url);
        }
        let (before_fragment, fragment) = match url.find('#') {
            Some(i) => (&url[..i], &url[i..]),
            None => (url, ""),
        };
        let query = before_fragment.split_once('?').map(|(_, q)| q);
        if let Some(q) = query {
            if q.split('&').any(|pair| pair.starts_with("utm_")) {
                return Cow::Borrowed(url);
            }
        }
        let sep = match query {
            None => "?",
            Some("") => "",
            Some(q) if q.ends_with('&') => "",
            Some(_) => "&",
        };
        let mut out = String::with_capacity(url.len() + 64);
        out.push_str(before_fragment);
        out.push_str(sep);
        out.push_str("utm_source=");
        out.push_str(&encode_component(&utm.source));
        out.push_str("&utm_medium=");
        out.push_str(&encode_component(&utm.medium));
        out.push_str("&utm_campaign=");
        out.push_str(&encode_component(&utm.campaign));
        out.push_str(fragment);
        Cow::Owned(out)
    }
}

/// True for absolute `http://` and `https://` URLs (case-insensitive scheme).
pub fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Percent-encodes a query-string component (RFC 3986 unreserved characters pass).
pub fn encode_component(s: &str) -> Cow<'_, str> {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> LinkRewriter {
        LinkRewriter::new(Some(Utm {
            source: "my letter".into(),
            medium: "email".into(),
            campaign: "issue-7".into(),
        }))
    }

    #[test]
    fn appends_to_bare_url() {
        assert_eq!(
            r().rewrite("https://example.com/a"),
            "https://example.com/a?utm_source=my%20letter&utm_medium=email&utm_campaign=issue-7"
        );
    }

    #[test]
    fn keeps_existing_utm_untouched() {
        let u = "https://m.example/p?utm_campaign=Dynamically%20Typed&utm_medium=email&utm_source=Revue%20newsletter&v=1";
        assert_eq!(r().rewrite(u), u);
    }

    #[test]
    fn leaves_non_web_links() {
        for u in ["mailto:a@b.c", "#top", "/relative", "ftp://x", ""] {
            assert_eq!(r().rewrite(u), u);
        }
    }

    #[test]
    fn disabled_changes_nothing() {
        assert_eq!(
            LinkRewriter::default().rewrite("https://x.example"),
            "https://x.example"
        );
    }

    #[test]
    fn empty_query_and_fragment() {
        assert_eq!(
            r().rewrite("HTTP://x.example/?#f"),
            "HTTP://x.example/?utm_source=my%20letter&utm_medium=email&utm_campaign=issue-7#f"
        );
    }
}
