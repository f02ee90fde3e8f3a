//! Where things are on the archive's site: the base URL, each issue's page,
//! and where an alias lands. Every path here is relative to the site root
//! (the output folder), so the site works from a sub-path.

use url::Url;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::issue::Issue;

/// The archive's public address, always ending in `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    base: Url,
}

/// Where an issue's alias is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasPlace {
    /// A page at this path in the site (no leading `/`, e.g. `issues/12/`
    /// or `old/12.html`).
    Page(String),
    /// On another host, or outside the archive's sub-path: this site cannot
    /// serve it (that host has to redirect on its own).
    Elsewhere,
}

impl Site {
    /// The site from `[archive] base_url`, when set.
    pub fn from_config(config: &Config) -> Option<Site> {
        Site::new(config.archive.base_url.as_deref()?)
    }

    /// The site at `raw` (a `/` is added at the end), when it is an absolute URL.
    pub fn new(raw: &str) -> Option<Site> {
        let with_slash = if raw.ends_with('/') {
            raw.to_string()
        } else {
            format!("{raw}/")
        };
        Url::parse(&with_slash).ok().map(|base| Site { base })
    }

    /// The site, or an error saying which setting to add.
    pub fn required(config: &Config) -> Result<Site> {
        Site::from_config(config).ok_or_else(|| {
            Error::Usage(
                "the archive needs its public address for canonical links and the feed: add `[archive]` with `base_url = \"https://example.org/newsletter/\"` to letterpress.toml".into(),
            )
        })
    }

    /// The base URL (ends in `/`).
    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    /// The absolute URL of `path` (relative to the site root).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The absolute URL of `issue`'s page.
    pub fn issue_url(&self, issue: &Issue) -> String {
        self.url(&issue_path(issue))
    }

    /// Where `alias` is served from: a relative or root-relative path is a
    /// path in the site (as Hugo's `aliases`); an absolute URL on the
    /// archive's own host counts by its path below the base.
    pub fn alias_place(&self, alias: &str) -> AliasPlace {
        let path = match Url::parse(alias) {
            Ok(u) => {
                let same_host = u.scheme().starts_with("http")
                    && u.host_str() == self.base.host_str()
                    && u.port_or_known_default() == self.base.port_or_known_default();
                match u.path().strip_prefix(self.base.path()) {
                    Some(rest) if same_host => rest.to_string(),
                    _ => return AliasPlace::Elsewhere,
                }
            }
            Err(_) => alias
                .split(['?', '#'])
                .next()
                .unwrap_or("")
                .trim_start_matches('/')
                .to_string(),
        };
        let path = percent_encoding::percent_decode_str(&path)
            .decode_utf8_lossy()
            .into_owned();
        let clean: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if clean.is_empty() || clean.iter().any(|s| *s == ".." || *s == ".") {
            return AliasPlace::Elsewhere;
        }
        let mut out = clean.join("/");
        let last = clean[clean.len() - 1];
        if !(last.ends_with(".html") || last.ends_with(".htm")) {
            out.push('/');
        }
        AliasPlace::Page(out)
    }
}

/// The issue's page in the site: `<slug>/`.
pub fn issue_path(issue: &Issue) -> String {
    format!("{}/", slug(issue))
}

/// The issue's URL segment: its file stem as a slug (`012-rye`), or its key.
pub fn slug(issue: &Issue) -> String {
    let s = crate::new_issue::slug(&issue.stem());
    if s.is_empty() {
        issue.key()
    } else {
        s
    }
}

/// The file an URL path in the site is written to: `a/` → `a/index.html`.
pub fn file_of(path: &str) -> String {
    if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    }
}

/// The relative way back to the site root from the page at `path`
/// (`"./"` for the root, `"../"` for `a/`, `"../../"` for `a/b/` or `a/b/c.html`).
pub fn root_from(path: &str) -> String {
    match file_of(path).matches('/').count() {
        0 => "./".into(),
        depth => "../".repeat(depth),
    }
}

/// The "View in browser" URL of `issue`: its archive page when
/// `[archive] base_url` is set, else its first alias.
pub fn web_url(config: &Config, issue: &Issue) -> Option<String> {
    match Site::from_config(config) {
        Some(site) => Some(site.issue_url(issue)),
        None => issue.web_url().map(str::to_string),
    }
}

/// The `List-Archive` URL: the archive's index when configured, else the
/// issue's web address, else the newsletter's.
pub fn list_archive(config: &Config, issue: &Issue) -> String {
    match Site::from_config(config) {
        Some(site) => site.base().to_string(),
        None => issue
            .web_url()
            .unwrap_or(&config.newsletter.web_url)
            .to_string(),
    }
}

/// Where readers of the web pages go to subscribe.
pub fn subscribe_url(config: &Config) -> String {
    config
        .archive
        .subscribe_url
        .clone()
        .unwrap_or_else(|| config.newsletter.web_url.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(base: &str) -> Site {
        Site {
            base: Url::parse(base).unwrap(),
        }
    }

    #[test]
    fn aliases_land_in_the_site() {
        let s = site("https://example.org/newsletter/");
        let page = |p: &str| AliasPlace::Page(p.into());
        assert_eq!(s.alias_place("/old/12"), page("old/12/"));
        assert_eq!(s.alias_place("old/12.html"), page("old/12.html"));
        assert_eq!(
            s.alias_place("https://example.org/newsletter/issues/12/"),
            page("issues/12/")
        );
        assert_eq!(
            s.alias_place("https://example.org/elsewhere/12"),
            AliasPlace::Elsewhere
        );
        assert_eq!(
            s.alias_place("https://other.example/newsletter/12"),
            AliasPlace::Elsewhere
        );
        assert_eq!(s.alias_place("/../etc/passwd"), AliasPlace::Elsewhere);
        assert_eq!(s.alias_place("/"), AliasPlace::Elsewhere);
        assert_eq!(s.alias_place("/caf%C3%A9/"), page("café/"));
    }

    #[test]
    fn roots_are_relative() {
        assert_eq!(root_from(""), "./");
        assert_eq!(root_from("a/"), "../");
        assert_eq!(root_from("a/b.html"), "../");
        assert_eq!(root_from("a/b/"), "../../");
        assert_eq!(file_of("a/"), "a/index.html");
        assert_eq!(file_of("feed.xml"), "feed.xml");
    }
}
