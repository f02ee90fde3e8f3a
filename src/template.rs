//! The one template environment: every file in `templates/` (the email's
//! layouts, `new`'s skeleton, the web archive's pages and feed) is rendered
//! by minijinja with strict undefined behaviour: a misspelt variable is an
//! error at `check` time, not a blank in ten thousand inboxes.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use crate::error::{Error, Result};

/// The HTML layout: MJML with `{{ body|safe }}` where the issue goes.
pub const HTML_LAYOUT: &str = "email.mjml";
/// The plain-text layout.
pub const TEXT_LAYOUT: &str = "email.txt";
/// The skeleton for `letterpress new`.
pub const NEW_ISSUE: &str = "new-issue.md";

/// A template directory, loaded on demand.
pub struct Templates {
    env: Environment<'static>,
    dir: PathBuf,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("dir", &self.dir).finish()
    }
}

impl Templates {
    /// Templates read from `dir` (each file is read when first used).
    pub fn from_dir(dir: &Path) -> Result<Templates> {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "{}: template directory not found; set `paths.templates` in letterpress.toml or restore templates/ from the letterpress repository",
                dir.display()
            )));
        }
        let mut env = Environment::new();
        configure(&mut env);
        env.set_loader(minijinja::path_loader(dir));
        Ok(Templates {
            env,
            dir: dir.to_path_buf(),
        })
    }

    /// Templates given as (name, source) pairs; for tests.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Templates> {
        let mut env = Environment::new();
        configure(&mut env);
        for (name, src) in sources {
            env.add_template_owned(name.to_string(), src.to_string())
                .map_err(|e| template_error(Path::new(""), &e))?;
        }
        Ok(Templates {
            env,
            dir: PathBuf::new(),
        })
    }

    /// The directory the templates come from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Renders template `name` with `ctx`; errors name the file and line.
    pub fn render(&self, name: &str, ctx: &Value) -> Result<String> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| template_error(&self.dir, &e))?;
        tmpl.render(ctx).map_err(|e| {
            let mut err = template_error(&self.dir, &e);
            if let (Error::Template { message, .. }, Some(hint)) =
                (&mut err, undefined_name(&e, ctx))
            {
                *message = hint.to_string();
            }
            err
        })
    }

    /// Renders a one-line template string (e.g. the UTM campaign) with `ctx`.
    pub fn render_str(&self, what: &str, source: &str, ctx: &Value) -> Result<String> {
        self.env
            .render_str(source, ctx)
            .map_err(|e| Error::Template {
                path: PathBuf::from(what),
                line: None,
                message: chain(&e),
            })
    }
}

/// The escaping of the archive's pages and feed: `& < > " '` become
/// entities (valid in HTML and XML alike), and URLs keep their slashes.
const WEB_ESCAPE: &str = "web";

fn configure(env: &mut Environment<'static>) {
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|name| {
        let markup = name.ends_with(".html") || name.ends_with(".xml");
        if name.starts_with("archive/") && markup {
            AutoEscape::Custom(WEB_ESCAPE)
        } else if name.ends_with(".mjml") || markup {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(|out, state, value| match state.auto_escape() {
        AutoEscape::Custom(WEB_ESCAPE) if !value.is_safe() => {
            let text = value.to_string();
            out.write_str(&html_escape::encode_quoted_attribute(&text))
                .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write"))
        }
        AutoEscape::Custom(WEB_ESCAPE) => out
            .write_str(&value.to_string())
            .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write")),
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_filter("wrap", wrap_filter);
    env.add_filter("display_width", |s: String| {
        unicode_width::UnicodeWidthStr::width(s.as_str())
    });
}

/// `{{ text|wrap }}` / `{{ text|wrap(60) }}`: word-wraps plain text at 76 columns.
fn wrap_filter(text: String, width: Option<usize>) -> String {
    let width = width.unwrap_or(crate::compose::TEXT_WIDTH);
    text.lines()
        .flat_map(|line| crate::compose::wrap::wrap(line, width))
        .collect::<Vec<_>>()
        .join("\n")
}

fn chain(e: &minijinja::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

fn template_error(dir: &Path, e: &minijinja::Error) -> Error {
    let path = match e.name() {
        Some(n) => dir.join(n),
        None => dir.to_path_buf(),
    };
    let mut message = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.kind().to_string());
    if e.kind() == minijinja::ErrorKind::UndefinedError {
        message.push_str(" (a variable or attribute that does not exist: check its spelling; `letterpress check` lists what templates can use)");
    }
    if e.kind() == minijinja::ErrorKind::TemplateNotFound {
        message = format!(
            "template {} not found in {}",
            e.name().unwrap_or("?"),
            dir.display()
        );
    }
    Error::Template {
        path,
        line: e.line(),
        message,
    }
}

/// The name a strict-undefined error is about, found from the template
/// source around the error's span and looked up in the context it rendered
/// with, and the nearest name that does exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndefinedName {
    /// The expression up to and including the missing part, e.g. `newsletter.postal_adress`.
    pub path: String,
    /// The existing name closest to the missing part, as a full path
    /// (`newsletter.postal_address`), when one is close.
    pub suggestion: Option<String>,
}

impl std::fmt::Display for UndefinedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is undefined", self.path)?;
        match &self.suggestion {
            Some(s) => write!(f, "; did you mean `{s}`?"),
            None => write!(
                f,
                " (check its spelling; the README's Templates section lists every variable)"
            ),
        }
    }
}

/// For an [`minijinja::ErrorKind::UndefinedError`], the dotted names in the
/// expression the error points at (`{{ newsletter.postal_adress }}`), walked
/// through `ctx` to the first part that does not exist.
pub fn undefined_name(e: &minijinja::Error, ctx: &Value) -> Option<UndefinedName> {
    if e.kind() != minijinja::ErrorKind::UndefinedError {
        return None;
    }
    let source = e.template_source()?;
    let range = e
        .range()
        .filter(|r| r.start <= r.end && source.get(r.clone()).is_some())?;
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    // The span may start inside a path (`.x.y` of `issue.extra.x.y`): widen it.
    let start = source[..range.start]
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_name(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = source[range.end..]
        .find(|c: char| !is_name(c))
        .map_or(source.len(), |i| range.end + i);
    let first = source.get(start..end).filter(|p| p.chars().all(is_name));
    // Failing that (the span is a filter, say), every name in the same tag.
    let tag_start = source[..range.start]
        .rfind("{{")
        .into_iter()
        .chain(source[..range.start].rfind("{%"))
        .max();
    let tag = tag_start.map(|t| {
        let end = source[t..].find(['}']).map_or(source.len(), |i| t + i);
        &source[t + 2..end]
    });
    first
        .into_iter()
        .chain(tag.into_iter().flat_map(|t| t.split(|c: char| !is_name(c))))
        .filter_map(|p| resolve(p, ctx))
        .next()
}

/// Walks the dotted `path` through `ctx`; the first missing part, with a suggestion.
fn resolve(path: &str, ctx: &Value) -> Option<UndefinedName> {
    const KEYWORDS: &[&str] = &[
        "if", "not", "none", "is", "and", "or", "in", "true", "false", "else", "endif", "for",
        "endfor",
    ];
    let parts: Vec<&str> = path.split('.').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.starts_with(|c: char| c.is_ascii_digit()))
        || KEYWORDS.contains(&parts[0])
    {
        return None;
    }
    let mut here = ctx.clone();
    for (i, part) in parts.iter().enumerate() {
        let next = here.get_attr(part).ok().filter(|v| !v.is_undefined());
        match next {
            Some(v) => here = v,
            None => {
                let keys: Vec<String> = here
                    .try_iter()
                    .map(|it| it.filter_map(|k| k.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                let nearest =
                    crate::diagnostic::did_you_mean(part, keys.iter().map(String::as_str));
                // A name missing at the top with nothing close may be a loop
                // or `set` variable this lookup cannot see: say nothing.
                if i == 0 && nearest.is_none() {
                    return None;
                }
                let prefix = parts[..i].join(".");
                let full = |name: &str| {
                    if prefix.is_empty() {
                        name.to_string()
                    } else {
                        format!("{prefix}.{name}")
                    }
                };
                return Some(UndefinedName {
                    path: full(part),
                    suggestion: nearest.map(full),
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_undefined_names_file_and_line() {
        let t = Templates::from_sources(&[("email.mjml", "<p>\n{{ issue.titel }}</p>")]).unwrap();
        let ctx = minijinja::context! { issue => minijinja::context! { title => "x" } };
        let e = t.render("email.mjml", &ctx).unwrap_err();
        match e {
            Error::Template {
                path,
                line,
                message,
            } => {
                assert_eq!(path, PathBuf::from("email.mjml"));
                assert_eq!(line, Some(2));
                assert_eq!(
                    message,
                    "`issue.titel` is undefined; did you mean `issue.title`?"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    fn undefined(src: &str) -> String {
        let t = Templates::from_sources(&[("email.txt", src)]).unwrap();
        let ctx = minijinja::context! {
            newsletter => minijinja::context! { name => "n", postal_address => "p", tagline => "t" },
            issue => minijinja::context! { extra => minijinja::context! { sponsor => "s" } },
            unsubscribe_url => "u",
        };
        t.render("email.txt", &ctx).unwrap_err().to_string()
    }

    #[test]
    fn undefined_names_are_named_with_the_nearest() {
        assert_eq!(
            undefined("Hi\n{{ newsletter.postal_adress }}\n"),
            "email.txt:2: `newsletter.postal_adress` is undefined; did you mean `newsletter.postal_address`?"
        );
        assert_eq!(
            undefined("{{ unsubscribe_ur }}"),
            "email.txt:1: `unsubscribe_ur` is undefined; did you mean `unsubscribe_url`?"
        );
        assert_eq!(
            undefined("{{ issue.extra.sponsr.name }}"),
            "email.txt:1: `issue.extra.sponsr` is undefined; did you mean `issue.extra.sponsor`?"
        );
        assert_eq!(
            undefined("{% if newsletter.tagln %}x{% endif %}"),
            "email.txt:1: `newsletter.tagln` is undefined; did you mean `newsletter.tagline`?"
        );
        assert_eq!(
            undefined("{{ newsletter.name ~ newsletter.postal_adress | upper }}"),
            "email.txt:1: `newsletter.postal_adress` is undefined; did you mean `newsletter.postal_address`?"
        );
        assert_eq!(
            undefined("{{ (newsletter.name ~ \" · \" ~ newsletter.postal_adress) | wrap }}"),
            "email.txt:1: `newsletter.postal_adress` is undefined; did you mean `newsletter.postal_address`?"
        );
        assert_eq!(
            undefined("{{ newsletter.colour }}"),
            "email.txt:1: `newsletter.colour` is undefined (check its spelling; the README's Templates section lists every variable)"
        );
        // A name this lookup cannot see (a loop variable): minijinja's message.
        assert!(undefined("{% for x in [1] %}{{ y.z }}{% endfor %}").contains("spelling"));
    }

    #[test]
    fn mjml_is_escaped_text_is_not() {
        let t = Templates::from_sources(&[("a.mjml", "{{ v }}"), ("a.txt", "{{ v }}")]).unwrap();
        let ctx = minijinja::context! { v => "<b>&" };
        assert_eq!(t.render("a.mjml", &ctx).unwrap(), "&lt;b&gt;&amp;");
        assert_eq!(t.render("a.txt", &ctx).unwrap(), "<b>&");
    }

    #[test]
    fn syntax_error_has_line() {
        let e = Templates::from_sources(&[("x.mjml", "ok\n{% if %}")]).unwrap_err();
        assert!(matches!(e, Error::Template { line: Some(2), .. }), "{e:?}");
    }
}
