//! The subscriber list, `subscribers.toml` (see `subscribers.example.toml`).
//!
//! ```toml
//! [[subscriber]]
//! email = "ada@example.com"
//! name = "Ada Lovelace"
//! status = "active"          # active | unsubscribed | bounced (default: active)
//! tags = ["early-reader"]
//! joined = 2024-03-01
//! ```
//!
//! Lists get long (a million entries is a real newsletter), so the common
//! shape above — one `key = value` per line — is read by a streaming
//! line-by-line parser that never builds a TOML tree: about 80 bytes per
//! subscriber plus the strings, and no copy of the file in memory. Anything it
//! does not recognise (multi-line arrays, inline tables, quoted keys, a syntax
//! error...) makes it hand the whole file to the `toml` crate instead, so the
//! accepted language is exactly TOML and every error still names its line.
//!
//! Both paths apply the same rules: an invalid address is an error naming its
//! line (the one grammar of [`crate::audience::address`]); unknown keys are
//! rejected; control characters in names are rejected; duplicate addresses
//! (compared as [`AddressKey`]s: IDNA, NFC, case) are reported and kept
//! once — and if any copy says `unsubscribed` or `bounced`, that wins, so a
//! duplicate can never re-subscribe someone.

use std::hash::BuildHasher;
use std::io::BufRead;
use std::path::Path;

use chrono::NaiveDate;
use lettre::Address;
use serde::Deserialize;

use crate::audience::AddressKey;
use crate::error::{Error, Result};

/// Where a subscriber stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Gets the newsletter.
    Active,
    /// Asked to stop; never mailed.
    Unsubscribed,
    /// Their address bounced permanently; never mailed.
    Bounced,
}

impl Status {
    /// Parses `active`, `unsubscribed` or `bounced`.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "active" => Some(Status::Active),
            "unsubscribed" => Some(Status::Unsubscribed),
            "bounced" => Some(Status::Bounced),
            _ => None,
        }
    }

    /// The word used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Unsubscribed => "unsubscribed",
            Status::Bounced => "bounced",
        }
    }
}

/// One `[[subscriber]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// The address (validated).
    pub email: Address,
    /// The display name, if given (no control characters).
    pub name: Option<Box<str>>,
    /// Whether they get mail.
    pub status: Status,
    /// Index into [`Subscribers::tag_sets`]: tag lists are interned, since a
    /// list has few distinct ones (use [`Subscribers::tags_of`]).
    pub tags: u32,
    /// When they joined (the date part, if a date-time was given).
    pub joined: Option<NaiveDate>,
    /// 1-based line of the `email` key.
    pub line: u32,
}

/// An address that appeared more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The address as written on the duplicate line.
    pub email: String,
    /// The duplicate's line.
    pub line: usize,
    /// The line of the entry that is kept.
    pub first_line: usize,
}

/// A loaded subscriber list, duplicates removed.
#[derive(Debug, Clone, Default)]
pub struct Subscribers {
    /// Every subscriber once, in file order (first occurrence).
    pub list: Vec<Subscriber>,
    /// Addresses that appeared again (each is mailed once).
    pub duplicates: Vec<Duplicate>,
    /// The tag names.
    pub tags: Vec<String>,
    /// Each distinct list of tags, as indices into `tags`; entry 0 is empty.
    pub tag_sets: Vec<Box<[u32]>>,
}

/// What is wrong with a subscriber list, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl Subscribers {
    /// The subscribers who get mail (`status = "active"`).
    pub fn active(&self) -> impl Iterator<Item = &Subscriber> {
        self.list.iter().filter(|s| s.status == Status::Active)
    }

    /// How many have each status: (active, unsubscribed, bounced).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for s in &self.list {
            match s.status {
                Status::Active => c.0 += 1,
                Status::Unsubscribed => c.1 += 1,
                Status::Bounced => c.2 += 1,
            }
        }
        c
    }

    /// The tag names of `s`.
    pub fn tags_of<'a>(&'a self, s: &'a Subscriber) -> impl Iterator<Item = &'a str> {
        self.tag_sets
            .get(s.tags as usize)
            .into_iter()
            .flat_map(|set| set.iter())
            .map(|&i| self.tags[i as usize].as_str())
    }
}

/// The keys a `[[subscriber]]` may have.
const KEYS: &str = "email, name, status, tags, joined";

/// Parses a subscriber list from text.
pub fn parse(text: &str) -> Result<Subscribers, ParseError> {
    let mut parser = LineParser::new();
    for line in text.split_inclusive('\n') {
        if parser.feed(line)? == Step::Fallback {
            return parse_toml(text);
        }
    }
    parser.finish()
}

/// Reads and parses a subscriber list; errors name the file and line.
pub fn from_file(path: &Path) -> Result<Subscribers> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Usage(format!(
            "{}: no subscriber list here; copy subscribers.example.toml to start one, or pass --subscribers PATH",
            path.display()
        )),
        _ => Error::io("read", path, e),
    })?;
    let at = |e: ParseError| Error::parse(path, Some(e.line), e.message);
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::with_capacity(256);
    let mut parser = LineParser::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            return parser.finish().map_err(at);
        }
        let line = std::str::from_utf8(&buf).map_err(|e| Error::NotUtf8 {
            path: path.to_path_buf(),
            line: parser.line_no + 1,
            byte: e.valid_up_to() + 1,
        })?;
        if parser.feed(line).map_err(at)? == Step::Fallback {
            drop(parser);
            let text = crate::fs::read_text(path)?;
            return parse_toml(&text).map_err(at);
        }
    }
}

/// What the line parser wants next.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Go on with the next line.
    More,
    /// The file uses TOML the line parser does not handle: use the full parser.
    Fallback,
}

/// The fields of one entry as written, before validation.
#[derive(Default)]
struct RawEntry {
    /// Line of the `[[subscriber]]` header.
    header_line: usize,
    email: Option<(String, usize)>,
    name: Option<(String, usize)>,
    status: Option<(String, usize)>,
    tags: Option<(Vec<String>, usize)>,
    joined: Option<(NaiveDate, usize)>,
}

/// Validates entries and removes duplicates, shared by both parsers.
struct Builder {
    out: Subscribers,
    /// (hash, index into the list): the stored hash spares rehashing and
    /// most string comparisons (and their cache misses).
    index: hashbrown::HashTable<(u64, u32)>,
    hasher: std::collections::hash_map::RandomState,
    tag_index: std::collections::HashMap<String, u32>,
    set_index: std::collections::HashMap<Box<[u32]>, u32>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            out: Subscribers {
                tag_sets: vec![Box::new([])],
                ..Subscribers::default()
            },
            index: hashbrown::HashTable::new(),
            hasher: std::collections::hash_map::RandomState::new(),
            tag_index: std::collections::HashMap::new(),
            set_index: std::collections::HashMap::new(),
        }
    }

    fn add(&mut self, raw: RawEntry) -> Result<(), ParseError> {
        let Some((email_text, email_line)) = raw.email else {
            return Err(ParseError {
                line: raw.header_line,
                message:
                    "this [[subscriber]] has no `email`; add `email = \"someone@example.com\"`"
                        .into(),
            });
        };
        let email = validate_address(&email_text).map_err(|why| ParseError {
            line: email_line,
            message: format!("invalid address `{}`: {why}", email_text.escape_debug()),
        })?;
        let name = match raw.name {
            Some((n, line)) => {
                if let Some(c) = n.chars().find(|c| c.is_control()) {
                    return Err(ParseError {
                        line,
                        message: format!(
                            "the name contains the control character {c:?}; names may not contain line breaks, tabs or other control characters"
                        ),
                    });
                }
                let n = n.trim();
                (!n.is_empty()).then(|| n.into())
            }
            None => None,
        };
        let status = match raw.status {
            Some((s, line)) => Status::parse(&s).ok_or_else(|| ParseError {
                line,
                message: format!(
                    "unknown status `{}`; use active, unsubscribed or bounced",
                    s.escape_debug()
                ),
            })?,
            None => Status::Active,
        };
        let tags = match raw.tags {
            Some((tags, _)) if !tags.is_empty() => {
                let set: Box<[u32]> = tags.into_iter().map(|t| self.tag(t)).collect();
                self.tag_set(set)
            }
            _ => 0,
        };
        let sub = Subscriber {
            email,
            name,
            status,
            tags,
            joined: raw.joined.map(|(d, _)| d),
            line: u32::try_from(email_line).unwrap_or(u32::MAX),
        };
        let key = AddressKey::parse(&email_text).map_err(|why| ParseError {
            line: email_line,
            message: format!("invalid address `{}`: {why}", email_text.escape_debug()),
        })?;
        let hash = self.hasher.hash_one(key.as_str());
        let list = &mut self.out.list;
        // Keys are not kept (they would cost as much memory as the
        // addresses); on a hash match, the one candidate's key is recomputed.
        let found = self.index.find(hash, |&(h, i)| {
            h == hash && AddressKey::parse(list[i as usize].email.as_ref()).as_ref() == Ok(&key)
        });
        if let Some(&(_, i)) = found {
            let first = &mut list[i as usize];
            self.out.duplicates.push(Duplicate {
                email: email_text,
                line: email_line,
                first_line: first.line as usize,
            });
            // Never let a duplicate re-subscribe someone who left.
            if sub.status != Status::Active && first.status == Status::Active {
                first.status = sub.status;
            }
            return Ok(());
        }
        let i = u32::try_from(list.len()).map_err(|_| ParseError {
            line: email_line,
            message: "more than 4 billion subscribers".into(),
        })?;
        list.push(sub);
        self.index.insert_unique(hash, (hash, i), |&(h, _)| h);
        Ok(())
    }

    fn tag_set(&mut self, set: Box<[u32]>) -> u32 {
        if let Some(&i) = self.set_index.get(&set) {
            return i;
        }
        let i = self.out.tag_sets.len() as u32;
        self.out.tag_sets.push(set.clone());
        self.set_index.insert(set, i);
        i
    }

    fn tag(&mut self, t: String) -> u32 {
        if let Some(&i) = self.tag_index.get(&t) {
            return i;
        }
        let i = self.out.tags.len() as u32;
        self.out.tags.push(t.clone());
        self.tag_index.insert(t, i);
        i
    }

    fn finish(mut self) -> Subscribers {
        self.out.list.shrink_to_fit();
        self.out
    }
}

/// Checks an address against the one address grammar
/// ([`crate::audience::address`]): what loads here also sends.
pub fn validate_address(text: &str) -> Result<Address, String> {
    crate::audience::address::validate(text).map_err(|e| e.to_string())
}

/// The streaming line parser. `feed` answers `Fallback` on any construct it
/// does not handle itself; errors it does return are exact.
struct LineParser {
    builder: Builder,
    entry: Option<RawEntry>,
    line_no: usize,
}

impl LineParser {
    fn new() -> Self {
        LineParser {
            builder: Builder::new(),
            entry: None,
            line_no: 0,
        }
    }

    fn feed(&mut self, line: &str) -> Result<Step, ParseError> {
        self.line_no += 1;
        let line_no = self.line_no;
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            // A lone CR or another control character: let TOML say what is wrong.
            return Ok(Step::Fallback);
        }
        let rest = line.trim_start_matches([' ', '\t']);
        if rest.is_empty() || rest.starts_with('#') {
            return Ok(Step::More);
        }
        if let Some(after) = rest.strip_prefix("[[") {
            let Some((name, tail)) = after.split_once("]]") else {
                return Ok(Step::Fallback);
            };
            if name.trim_matches([' ', '\t']) != "subscriber" || !is_end(tail) {
                return Ok(Step::Fallback);
            }
            if let Some(done) = self.entry.take() {
                self.builder.add(done)?;
            }
            self.entry = Some(RawEntry {
                header_line: line_no,
                ..RawEntry::default()
            });
            return Ok(Step::More);
        }
        let key_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let (key, after_key) = rest.split_at(key_len);
        let Some(value) = after_key.trim_start_matches([' ', '\t']).strip_prefix('=') else {
            return Ok(Step::Fallback);
        };
        let value = value.trim_start_matches([' ', '\t']);
        let Some(e) = self.entry.as_mut() else {
            // A top-level key: TOML's error names it.
            return Ok(Step::Fallback);
        };
        if key.is_empty() {
            return Ok(Step::Fallback);
        }
        macro_rules! set {
            ($field:ident, $parse:expr) => {{
                if e.$field.is_some() {
                    return Ok(Step::Fallback); // duplicate key: TOML reports it
                }
                let Some((v, tail)) = $parse else {
                    return Ok(Step::Fallback);
                };
                if !is_end(tail) {
                    return Ok(Step::Fallback);
                }
                e.$field = Some((v, line_no));
            }};
        }
        match key {
            "email" => set!(email, parse_string(value)),
            "name" => set!(name, parse_string(value)),
            "status" => set!(status, parse_string(value)),
            "tags" => set!(tags, parse_string_array(value)),
            "joined" => set!(joined, parse_date(value)),
            _ => {
                return Err(ParseError {
                    line: line_no,
                    message: format!(
                        "unknown key `{key}` in [[subscriber]]; the keys are {KEYS} (remove it or fix its spelling)"
                    ),
                })
            }
        }
        Ok(Step::More)
    }

    fn finish(mut self) -> Result<Subscribers, ParseError> {
        if let Some(done) = self.entry.take() {
            self.builder.add(done)?;
        }
        Ok(self.builder.finish())
    }
}

/// True when only whitespace and an optional comment remain.
fn is_end(tail: &str) -> bool {
    let t = tail.trim_start_matches([' ', '\t']);
    t.is_empty() || t.starts_with('#')
}

/// A TOML basic (`"..."`) or literal (`'...'`) single-line string at the start
/// of `s`: the value and the rest. `None` for anything else.
fn parse_string(s: &str) -> Option<(String, &str)> {
    if let Some(body) = s.strip_prefix('\'') {
        if body.starts_with("''") {
            return None; // multi-line literal
        }
        let end = body.find('\'')?;
        return Some((body[..end].to_string(), &body[end + 1..]));
    }
    let body = s.strip_prefix('"')?;
    if body.starts_with("\"\"") {
        return None; // multi-line basic
    }
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'b' => out.push('\u{8}'),
                    't' => out.push('\t'),
                    'n' => out.push('\n'),
                    'f' => out.push('\u{c}'),
                    'r' => out.push('\r'),
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    'u' | 'U' => {
                        let n = if e == 'u' { 4 } else { 8 };
                        let mut code = 0u32;
                        for _ in 0..n {
                            let (_, h) = chars.next()?;
                            code = code * 16 + h.to_digit(16)?;
                        }
                        out.push(char::from_u32(code)?);
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    None
}

/// A one-line array of strings: `["a", 'b',]`.
fn parse_string_array(s: &str) -> Option<(Vec<String>, &str)> {
    let mut rest = s.strip_prefix('[')?;
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix(']') {
            return Some((out, after));
        }
        let (v, after) = parse_string(rest)?;
        out.push(v);
        rest = after.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with(']') {
            return None;
        }
    }
}

/// A bare TOML local date (`2024-03-01`) or a date-time whose date we keep,
/// or the same in a string. Anything else falls back to TOML.
fn parse_date(s: &str) -> Option<(NaiveDate, &str)> {
    if s.starts_with(['"', '\'']) {
        let (v, rest) = parse_string(s)?;
        return Some((date_prefix(&v)?, rest));
    }
    let end = s.find([' ', '\t', '#']).unwrap_or(s.len());
    let token = &s[..end];
    if token.len() != 10 {
        return None; // a date-time: TOML checks its syntax
    }
    Some((date_prefix(token)?, &s[end..]))
}

fn date_prefix(v: &str) -> Option<NaiveDate> {
    let b = v.as_bytes().get(..10)?;
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// The whole-file TOML parser: slower and bigger, but all of TOML.
pub fn parse_toml(text: &str) -> Result<Subscribers, ParseError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        subscriber: Vec<toml::Spanned<Entry>>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        email: Option<toml::Spanned<String>>,
        name: Option<toml::Spanned<String>>,
        status: Option<toml::Spanned<String>>,
        tags: Option<toml::Spanned<Vec<String>>>,
        joined: Option<toml::Spanned<Joined>>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Joined {
        Date(toml::value::Datetime),
        Text(String),
    }
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(1, |s| crate::diagnostic::line_of(text, s.start));
        let mut message = e.message().trim().to_string();
        if message.starts_with("unknown field") {
            message = format!("{message}; the keys are {KEYS} (remove it or fix its spelling)");
        }
        ParseError { line, message }
    })?;
    // Offsets of every newline, so each span's line is a binary search (a
    // count from the start for every entry would be quadratic).
    let newlines: Vec<usize> = memchr::memchr_iter(b'\n', text.as_bytes()).collect();
    let line = |start: usize| 1 + newlines.partition_point(|&nl| nl < start);
    let mut builder = Builder::new();
    for entry in file.subscriber {
        let header_line = line(entry.span().start);
        let e = entry.into_inner();
        let joined = match e.joined {
            Some(j) => {
                let l = line(j.span().start);
                let d = match j.into_inner() {
                    Joined::Date(d) => d.date.and_then(|d| {
                        NaiveDate::from_ymd_opt(
                            i32::from(d.year),
                            u32::from(d.month),
                            u32::from(d.day),
                        )
                    }),
                    Joined::Text(t) => date_prefix(&t),
                };
                Some((
                    d.ok_or_else(|| ParseError {
                        line: l,
                        message: "`joined` must be a date such as 2024-03-01".into(),
                    })?,
                    l,
                ))
            }
            None => None,
        };
        builder.add(RawEntry {
            header_line,
            email: e
                .email
                .map(|s| (line(s.span().start), s.into_inner()))
                .map(|(l, v)| (v, l)),
            name: e
                .name
                .map(|s| (line(s.span().start), s.into_inner()))
                .map(|(l, v)| (v, l)),
            status: e
                .status
                .map(|s| (line(s.span().start), s.into_inner()))
                .map(|(l, v)| (v, l)),
            tags: e
                .tags
                .map(|s| (line(s.span().start), s.into_inner()))
                .map(|(l, v)| (v, l)),
            joined,
        })?;
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"# a comment
[[subscriber]]
email = "ada@example.com"
name = "Ada Lovelace"
status = "active"
tags = ["early", "vip"]
joined = 2024-03-01

[[subscriber]]   # trailing comment
  email = 'grace@example.org'   # indented, literal string
name = "Grace \"Amazing\" Hopper \u00e9"
status = "unsubscribed"

[[subscriber]]
email = "bob@example.net"
tags = []
joined = "2023-12-31"
"#;

    fn both(text: &str) -> (Subscribers, Subscribers) {
        let mut p = LineParser::new();
        for line in text.split_inclusive('\n') {
            assert_eq!(
                p.feed(line).unwrap(),
                Step::More,
                "fast path fell back at {line:?}"
            );
        }
        let fast = p.finish().unwrap();
        (fast, parse_toml(text).unwrap())
    }

    fn same(a: &Subscribers, b: &Subscribers) {
        assert_eq!(a.list.len(), b.list.len());
        for (x, y) in a.list.iter().zip(&b.list) {
            assert_eq!(x.email, y.email);
            assert_eq!(x.name, y.name);
            assert_eq!(x.status, y.status);
            assert_eq!(
                a.tags_of(x).collect::<Vec<_>>(),
                b.tags_of(y).collect::<Vec<_>>()
            );
            assert_eq!(x.joined, y.joined);
            assert_eq!(x.line, y.line);
        }
        assert_eq!(a.duplicates, b.duplicates);
    }

    #[test]
    fn fast_path_matches_toml() {
        let (fast, slow) = both(SAMPLE);
        same(&fast, &slow);
        assert_eq!(fast.list.len(), 3);
        assert_eq!(
            fast.list[1].name.as_deref(),
            Some("Grace \"Amazing\" Hopper é")
        );
        assert_eq!(fast.list[1].status, Status::Unsubscribed);
        assert_eq!(fast.list[0].line, 3);
        assert_eq!(fast.list[1].line, 10);
        assert_eq!(
            fast.tags_of(&fast.list[0]).collect::<Vec<_>>(),
            ["early", "vip"]
        );
        assert_eq!(fast.list[2].joined, NaiveDate::from_ymd_opt(2023, 12, 31));
        assert_eq!(fast.active().count(), 2);
    }

    #[test]
    fn unusual_toml_falls_back_and_still_parses() {
        let text = "subscriber = [ { email = \"a@example.com\", tags = [\n \"x\",\n] } ]\n";
        let s = parse(text).unwrap();
        assert_eq!(s.list.len(), 1);
        assert_eq!(s.tags_of(&s.list[0]).collect::<Vec<_>>(), ["x"]);
    }

    #[test]
    fn invalid_address_names_its_line() {
        for (text, line) in [
            ("[[subscriber]]\nemail = \"a@example.com\"\n[[subscriber]]\nemail = \"not-an-address\"\n", 4),
            ("[[subscriber]]\nemail = \"a b@example.com\"\n", 2),
            ("[[subscriber]]\nemail = \"Ada <a@example.com>\"\n", 2),
            ("[[subscriber]]\nemail = \"a@localhost\"\n", 2),
            ("[[subscriber]]\nname = \"x\"\n\nemail = \"@example.com\"\n", 4),
            // #14 item 10: the list grammar is the message builder's.
            ("[[subscriber]]\nemail = \"a@example.com\"\n\n[[subscriber]]\nemail = \"user@[127.0.0.1]\"\n", 5),
            ("[[subscriber]]\nemail = '\"a@b\"@example.com'\n", 2),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.message.contains("invalid address"), "{e}");
            // The TOML path agrees.
            assert_eq!(parse_toml(text).unwrap_err(), e);
        }
    }

    #[test]
    fn overlong_addresses_are_rejected_at_load() {
        let long = format!("{}@{}.example.com", "a".repeat(64), "b".repeat(231));
        assert_eq!(long.len(), 308);
        let text = format!(
            "[[subscriber]]\nemail = \"ok@example.com\"\n[[subscriber]]\nemail = \"{long}\"\n"
        );
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("254"), "{e}");
        assert_eq!(parse_toml(&text).unwrap_err(), e);
    }

    #[test]
    fn equivalent_spellings_are_one_subscriber() {
        let text = "[[subscriber]]\nemail = \"a@bücher.example\"\nstatus = \"unsubscribed\"\n\
                    [[subscriber]]\nemail = \"A@xn--bcher-kva.example\"\n\
                    [[subscriber]]\nemail = \"jose\u{301}@example.com\"\n\
                    [[subscriber]]\nemail = \"JOS\u{c9}@example.com\"\n";
        let s = parse(text).unwrap();
        assert_eq!(s.list.len(), 2, "{:?}", s.list);
        assert_eq!(s.duplicates.len(), 2);
        assert_eq!(s.list[0].status, Status::Unsubscribed);
        assert_eq!(s.active().count(), 1);
    }

    #[test]
    fn unknown_keys_are_rejected_with_line() {
        let text = "[[subscriber]]\nemail = \"a@example.com\"\nnmae = \"Ada\"\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.message.contains("nmae") && e.message.contains("email, name"),
            "{e}"
        );
        let e = parse_toml(text).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("nmae"), "{e}");
        // Unknown top-level keys and tables too.
        let e = parse("list = 1\n[[subscriber]]\nemail = \"a@example.com\"\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = parse("[[subscribers]]\nemail = \"a@example.com\"\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn control_characters_in_names_are_rejected() {
        for name in [
            "\"Ada\\nBcc: x@evil.example\"",
            "\"Ada\\u0007\"",
            "\"tab\\there\"",
        ] {
            let text = format!("[[subscriber]]\nemail = \"a@example.com\"\nname = {name}\n");
            let e = parse(&text).unwrap_err();
            assert_eq!(e.line, 3, "{e}");
            assert!(e.message.contains("control character"), "{e}");
        }
    }

    #[test]
    fn duplicates_are_reported_and_kept_once_and_unsubscribe_wins() {
        let text = "[[subscriber]]\nemail = \"Ada@Example.com\"\n\
                    [[subscriber]]\nemail = \"b@example.com\"\n\
                    [[subscriber]]\nemail = \"ada@example.COM\"\nstatus = \"unsubscribed\"\n\
                    [[subscriber]]\nemail = \"ÉLodie@example.com\"\n\
                    [[subscriber]]\nemail = \"élodie@example.com\"\n";
        let (fast, slow) = both(text);
        same(&fast, &slow);
        assert_eq!(fast.list.len(), 3);
        assert_eq!(
            fast.duplicates,
            vec![
                Duplicate {
                    email: "ada@example.COM".into(),
                    line: 6,
                    first_line: 2
                },
                Duplicate {
                    email: "élodie@example.com".into(),
                    line: 11,
                    first_line: 9
                },
            ]
        );
        assert_eq!(fast.list[0].status, Status::Unsubscribed);
        assert_eq!(fast.active().count(), 2);
    }

    #[test]
    fn bad_status_and_missing_email() {
        let e =
            parse("[[subscriber]]\nemail = \"a@example.com\"\nstatus = \"paused\"\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("paused"), "{e}");
        let e = parse("[[subscriber]]\nname = \"x\"\n[[subscriber]]\nemail = \"a@example.com\"\n")
            .unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("no `email`"), "{e}");
    }

    #[test]
    fn toml_syntax_errors_name_the_line() {
        let e = parse("[[subscriber]]\nemail = \"a@example.com\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse("[[subscriber]]\nemail = \"a@example.com\"\nemail = \"b@example.com\"\n")
            .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("duplicate"), "{e}");
        let e = parse("[[subscriber]]\nemail = 5\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn crlf_and_empty_files() {
        let (fast, slow) = both("[[subscriber]]\r\nemail = \"a@example.com\"\r\n");
        same(&fast, &slow);
        assert_eq!(fast.list.len(), 1);
        assert!(parse("").unwrap().list.is_empty());
        assert!(parse("# nobody yet\n").unwrap().list.is_empty());
    }

    #[test]
    fn shipped_example_parses() {
        let text = include_str!("../../subscribers.example.toml");
        let (fast, slow) = both(text);
        same(&fast, &slow);
        assert!(fast.active().count() >= 2);
        assert!(!fast.duplicates.is_empty(), "the example shows a duplicate");
    }
}
