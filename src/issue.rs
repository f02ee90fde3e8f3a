//! Stage 1: an issue file. Front matter (YAML `---`, TOML `+++`, or
//! Pelican-style `Key: value` lines) followed by a Markdown body.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fs::read_text;

/// Which front matter dialect an issue was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontMatterFormat {
    /// `---` fenced YAML (Jekyll, Hugo, Zola's YAML mode).
    Yaml,
    /// `+++` fenced TOML (Zola, Hugo).
    Toml,
    /// Pelican: `Key: value` lines up to the first blank line.
    Pelican,
}

/// The fields letterpress understands, decoded and trimmed.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontMatter {
    /// The issue's title (required).
    pub title: String,
    /// The email subject; defaults to the title.
    pub subject: Option<String>,
    /// Publication date.
    pub date: Option<NaiveDate>,
    /// Issue number.
    pub number: Option<u32>,
    /// Web addresses of this issue; the first is the "view in browser" URL.
    pub aliases: Vec<String>,
    /// The inbox preview line; defaults to the body's opening sentence.
    pub preheader: Option<String>,
    /// A draft must not be sent.
    pub draft: bool,
    /// Every other key, available to templates as `issue.extra`.
    pub extra: BTreeMap<String, Value>,
}

/// A parsed issue: front matter plus Markdown body.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Where it was read from (`<input>` when parsed from a string).
    pub path: PathBuf,
    /// The front matter.
    pub front: FrontMatter,
    /// The Markdown body.
    pub body: String,
    /// 1-based line of the file on which the body starts (for diagnostics).
    pub body_line: usize,
    /// The front matter dialect.
    pub format: FrontMatterFormat,
}

/// Why an issue's text could not be parsed: a line and a message with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong and what to change.
    pub message: String,
}

impl Issue {
    /// Parses an issue's text. Pure: no file system access.
    pub fn parse(text: &str) -> Result<Issue, ParseError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let (format, map, body_start) = split_front_matter(text)?;
        let body = &text[body_start..];
        let body_line = 1 + text[..body_start].matches('\n').count();
        let front = FrontMatter::from_map(map)?;
        Ok(Issue {
            path: PathBuf::from("<input>"),
            front,
            body: body.to_string(),
            body_line,
            format,
        })
    }

    /// Reads and parses an issue file; errors name the file and line.
    pub fn from_file(path: &Path) -> Result<Issue> {
        let text = read_text(path)?;
        let mut issue =
            Issue::parse(&text).map_err(|e| Error::parse(path, Some(e.line), e.message))?;
        issue.path = path.to_path_buf();
        Ok(issue)
    }

    /// The subject line: `subject`, else the title.
    pub fn subject(&self) -> &str {
        self.front.subject.as_deref().unwrap_or(&self.front.title)
    }

    /// The "view in browser" URL: the first alias.
    pub fn web_url(&self) -> Option<&str> {
        self.front.aliases.first().map(String::as_str)
    }

    /// A stable identifier for this issue in Message-IDs and journal names:
    /// `issue-<number>`, or the file stem when it has no number, with any
    /// character other than ASCII letters, digits and `-` replaced by `-`.
    pub fn key(&self) -> String {
        match self.front.number {
            Some(n) => format!("issue-{n}"),
            None => self.stem(),
        }
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
    }

    /// The file name without extension, used for output names (`040` for `issues/040.md`).
    pub fn stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "issue".into())
    }
}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

/// Finds the closing fence line `fence` after the first line; returns
/// (front matter text, byte offset where the body starts).
fn fenced<'t>(text: &'t str, fence: &str, what: &str) -> Result<(&'t str, usize), ParseError> {
    let first_end = text.find('\n').map_or(text.len(), |i| i + 1);
    let mut pos = first_end;
    for line in text[first_end..].split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == fence || (fence == "---" && trimmed == "...") {
            return Ok((&text[first_end..pos], pos + line.len()));
        }
        pos += line.len();
    }
    Err(err(
        1,
        format!("the {what} front matter opened with `{fence}` on line 1 is never closed; add a line `{fence}` after the last front matter field"),
    ))
}

fn split_front_matter(
    text: &str,
) -> Result<(FrontMatterFormat, serde_json::Map<String, Value>, usize), ParseError> {
    let first = text.lines().next().unwrap_or("").trim_end();
    if first == "---" {
        let (fm, body) = fenced(text, "---", "YAML")?;
        let map = parse_yaml(fm)?;
        return Ok((FrontMatterFormat::Yaml, map, body));
    }
    if first == "+++" {
        let (fm, body) = fenced(text, "+++", "TOML")?;
        let value: toml::Table = toml::from_str(fm).map_err(|e| {
            let line = 1 + e
                .span()
                .map_or(0, |s| crate::diagnostic::line_of(fm, s.start));
            err(line, format!("invalid TOML front matter: {}", e.message()))
        })?;
        let map = value
            .into_iter()
            .map(|(k, v)| (k, toml_to_json(v)))
            .collect();
        return Ok((FrontMatterFormat::Toml, map, body));
    }
    if let Some((map, body)) = parse_pelican(text) {
        return Ok((FrontMatterFormat::Pelican, map, body));
    }
    Err(err(
        1,
        "no front matter: start the file with a `---` line, then `title: Your title`, then another `---` line",
    ))
}

fn parse_yaml(fm: &str) -> Result<serde_json::Map<String, Value>, ParseError> {
    if fm.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(fm).map_err(|e| {
        let line = 1 + e.location().map_or(1, |l| l.line());
        err(line, format!("invalid YAML front matter: {e}"))
    })?;
    match yaml_to_json(value) {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(serde_json::Map::new()),
        _ => Err(err(2, "the front matter must be `key: value` lines")),
    }
}

/// YAML to JSON, dropping tags (`title: ! 'Issue #0'` is just a string).
fn yaml_to_json(v: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match yaml_to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// Pelican metadata: `Key: value` lines from line 1 to the first blank line,
/// one of them `Title:`. Keys are lower-cased.
fn parse_pelican(text: &str) -> Option<(serde_json::Map<String, Value>, usize)> {
    let mut map = serde_json::Map::new();
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            pos += line.len();
            break;
        }
        let (key, value) = trimmed.split_once(':')?;
        let key_ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ');
        if !key_ok {
            return None;
        }
        map.insert(
            key.trim().to_ascii_lowercase(),
            Value::String(value.trim().to_string()),
        );
        pos += line.len();
    }
    map.contains_key("title").then_some((map, pos))
}

/// Decodes HTML entities and trims: `Pinterest&#x27;s ` → `Pinterest's`.
pub fn clean_text(s: &str) -> String {
    html_escape::decode_html_entities(s).trim().to_string()
}

impl FrontMatter {
    fn from_map(mut map: serde_json::Map<String, Value>) -> Result<FrontMatter, ParseError> {
        let mut text_field = |key: &str| -> Result<Option<String>, ParseError> {
            match map.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(clean_text(&s)).filter(|s| !s.is_empty())),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
                Some(_) => Err(err(2, format!("`{key}` must be text; quote it"))),
            }
        };
        let title = text_field("title")?.ok_or_else(|| {
            err(2, "the front matter has no `title`; add a line like `title: \"#41: What this issue is about\"`")
        })?;
        let subject = text_field("subject")?;
        let preheader = text_field("preheader")?;
        let date = match text_field("date")? {
            None => None,
            Some(s) => Some(parse_date(&s).ok_or_else(|| {
                err(2, format!("`date: {s}` is not a date; write it as YYYY-MM-DD, e.g. `date: 2020-05-24`"))
            })?),
        };
        let number = match map.remove("number") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        err(
                            2,
                            format!("`number: {n}` must be a whole number from 0 to 4294967295"),
                        )
                    })?,
            ),
            Some(Value::String(s)) => {
                Some(s.trim().trim_start_matches('#').parse().map_err(|_| {
                    err(
                        2,
                        format!("`number: {s}` is not a whole number; write e.g. `number: 41`"),
                    )
                })?)
            }
            Some(_) => return Err(err(2, "`number` must be a whole number, e.g. `number: 41`")),
        };
        let aliases = match map.remove("aliases") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.trim().to_string()],
            Some(Value::Array(a)) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.trim().to_string()),
                    _ => Err(err(2, "`aliases` must be a list of URLs")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(err(2, "`aliases` must be a list of URLs")),
        };
        let draft = match map.remove("draft") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(_) => return Err(err(2, "`draft` must be true or false")),
        };
        Ok(FrontMatter {
            title,
            subject,
            date,
            number,
            aliases,
            preheader,
            draft,
            extra: map.into_iter().collect(),
        })
    }
}

/// Parses the leading `YYYY-MM-DD` of a date or date-time.
fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// Resolves an `ISSUE` command-line argument: an existing path, or an issue
/// number looked up in `issues_dir` (by the leading digits of file names,
/// then by the `number` in front matter).
pub fn resolve(arg: &str, issues_dir: &Path) -> Result<PathBuf> {
    let as_path = PathBuf::from(arg);
    if as_path.exists() {
        return Ok(as_path);
    }
    let Ok(wanted) = arg.trim_start_matches('#').parse::<u32>() else {
        return Err(Error::Usage(format!(
            "{arg}: no such file; give the path of an issue file or an issue number found in {}",
            issues_dir.display()
        )));
    };
    let entries =
        std::fs::read_dir(issues_dir).map_err(|e| Error::io("read directory", issues_dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    let leading_number = |p: &Path| -> Option<u32> {
        let stem = p.file_stem()?.to_str()?;
        let digits: String = stem.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    if let Some(p) = files.iter().find(|p| leading_number(p) == Some(wanted)) {
        return Ok(p.clone());
    }
    for p in &files {
        if let Ok(issue) = Issue::from_file(p) {
            if issue.front.number == Some(wanted) {
                return Ok(p.clone());
            }
        }
    }
    Err(Error::Usage(format!(
        "no issue number {wanted} in {}; name the file e.g. {:03}-slug.md or set `number: {wanted}` in its front matter",
        issues_dir.display(),
        wanted
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_with_entities_and_trailing_space() {
        let i = Issue::parse("---\ntitle: \"#40: Pinterest&#x27;s ML \"\ndate: 2020-05-24\nnumber: 40\naliases:\n  - https://x.example/40\n---\n\nHello\n").unwrap();
        assert_eq!(i.front.title, "#40: Pinterest's ML");
        assert_eq!(i.subject(), "#40: Pinterest's ML");
        assert_eq!(i.front.number, Some(40));
        assert_eq!(i.front.date, NaiveDate::from_ymd_opt(2020, 5, 24));
        assert_eq!(i.web_url(), Some("https://x.example/40"));
        assert_eq!(i.body, "\nHello\n");
        assert_eq!(i.body_line, 8);
        assert_eq!(i.format, FrontMatterFormat::Yaml);
    }

    #[test]
    fn toml_front_matter_and_extra() {
        let i = Issue::parse(
            "+++\ntitle = \"T\"\ndate = 2021-01-02\ndraft = true\nsponsor = \"ACME\"\n+++\nBody",
        )
        .unwrap();
        assert_eq!(i.front.date, NaiveDate::from_ymd_opt(2021, 1, 2));
        assert!(i.front.draft);
        assert_eq!(i.front.extra["sponsor"], Value::String("ACME".into()));
        assert_eq!(i.body, "Body");
    }

    #[test]
    fn pelican_metadata() {
        let i = Issue::parse("Title: This Week 1\nDate: 2013-06-07 18:46\nCategory: X\n\nHello")
            .unwrap();
        assert_eq!(i.front.title, "This Week 1");
        assert_eq!(i.front.date, NaiveDate::from_ymd_opt(2013, 6, 7));
        assert_eq!(i.format, FrontMatterFormat::Pelican);
        assert_eq!(i.body, "Hello");
    }

    #[test]
    fn yaml_non_specific_tag() {
        let i = Issue::parse("---\nlayout: post\ntitle: ! 'Issue #0'\n---\nx").unwrap();
        assert_eq!(i.front.title, "Issue #0");
        assert_eq!(i.front.extra["layout"], Value::String("post".into()));
    }

    #[test]
    fn errors_say_line_and_fix() {
        let e = Issue::parse("---\ntitle: x\nbody").unwrap_err();
        assert!(e.message.contains("never closed"), "{e:?}");
        let e = Issue::parse("---\ndate: 2020-01-01\n---\n").unwrap_err();
        assert!(e.message.contains("no `title`"), "{e:?}");
        let e = Issue::parse("---\ntitle: [unclosed\n---\n").unwrap_err();
        assert!(e.message.contains("invalid YAML"), "{e:?}");
        assert!(e.line >= 2, "{e:?}");
        let e = Issue::parse("just markdown").unwrap_err();
        assert!(e.message.contains("no front matter"), "{e:?}");
        let e = Issue::parse("---\ntitle: x\ndate: someday\n---\n").unwrap_err();
        assert!(e.message.contains("YYYY-MM-DD"), "{e:?}");
    }
}
