//! Link rewriting: UTM tagging of outgoing http(s) links.
//!
//! Every `http`/`https` link in an issue gets `utm_source`, `utm_medium` and
//! `utm_campaign` appended, unless the link already carries *any* `utm_*`
//! parameter (then it is left exactly as written: authors who tag links by
//! hand keep their tags, and issues migrated from another service keep its
//! tracking). With [`LinkRewriter::retag`] (`[utm] retag = true`) such links
//! lose their `utm_*` parameters and get the newsletter's own instead; every
//! other parameter stays as written, in order. `mailto:`, `#anchors`,
//! relative links and the unsubscribe link are never touched.

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
    retag: bool,
}

impl LinkRewriter {
    /// A rewriter that tags links with `utm`, or leaves them alone when `None`.
    pub fn new(utm: Option<Utm>) -> Self {
        LinkRewriter { utm, retag: false }
    }

    /// With `true`, links that already carry `utm_*` parameters have them
    /// replaced by this rewriter's; with `false` (the default) they are kept.
    ///
    /// ```
    /// use letterpress::compose::links::{LinkRewriter, Utm};
    /// let utm = Utm { source: "dt".into(), medium: "email".into(), campaign: "issue-40".into() };
    /// let r = LinkRewriter::new(Some(utm)).retag(true);
    /// assert_eq!(r.rewrite("https://a.example/x?utm_source=Revue%20newsletter&v=1"),
    ///            "https://a.example/x?v=1&utm_source=dt&utm_medium=email&utm_campaign=issue-40");
    /// ```
    pub fn retag(mut self, retag: bool) -> Self {
        self.retag = retag;
        self
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
        let (path, query) = match before_fragment.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (before_fragment, None),
        };
        let is_utm = |pair: &str| pair.starts_with("utm_");
        let mut out = String::with_capacity(url.len() + 64);
        match query {
            Some(q) if q.split('&').any(is_utm) => {
                if !self.retag {
                    return Cow::Borrowed(url);
                }
                out.push_str(path);
                out.push('?');
                for pair in q.split('&').filter(|p| !p.is_empty() && !is_utm(p)) {
                    out.push_str(pair);
                    out.push('&');
                }
            }
            None => {
                out.push_str(before_fragment);
                out.push('?');
            }
            Some(q) => {
                out.push_str(before_fragment);
                if !q.is_empty() && !q.ends_with('&') {
                    out.push('&');
                }
            }
        }
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
    fn retag_replaces_only_the_utm_parameters() {
        let t = r().retag(true);
        assert_eq!(
            t.rewrite("https://m.example/p?utm_campaign=Dynamically%20Typed&utm_medium=email&utm_source=Revue%20newsletter&v=1#s"),
            "https://m.example/p?v=1&utm_source=my%20letter&utm_medium=email&utm_campaign=issue-7#s"
        );
        assert_eq!(
            t.rewrite("https://m.example/?a=1&utm_source=x&b=2"),
            "https://m.example/?a=1&b=2&utm_source=my%20letter&utm_medium=email&utm_campaign=issue-7"
        );
        assert_eq!(
            t.rewrite("https://m.example/?utm_source=x"),
            "https://m.example/?utm_source=my%20letter&utm_medium=email&utm_campaign=issue-7"
        );
        // Links without utm_* are tagged as without retag; others untouched.
        assert_eq!(
            t.rewrite("https://example.com/a"),
            r().rewrite("https://example.com/a")
        );
        assert_eq!(
            t.rewrite("mailto:a@b.c?utm_source=x"),
            "mailto:a@b.c?utm_source=x"
        );
        assert_eq!(
            LinkRewriter::default()
                .retag(true)
                .rewrite("https://x.example/?utm_source=y"),
            "https://x.example/?utm_source=y"
        );
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
