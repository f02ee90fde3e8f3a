//! Writing the subscriber list: the author's file streamed through with
//! only the changed entries edited (comments, blank lines, order and the
//! other entries byte for byte as they were), new entries appended.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;

use super::{Edit, Entry};
use crate::audience::subscribers::Status;
use crate::error::{Error, Result};

/// Appends `s` as a TOML basic string.
fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` as a TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s);
    out
}

fn name_line(name: &str) -> String {
    format!("name = {}\n", quote(name))
}
fn status_line(s: Status) -> String {
    format!("status = {}\n", quote(s.as_str()))
}
fn tags_into(out: &mut String, tags: &[String]) {
    out.push_str("tags = [");
    for (i, t) in tags.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        quote_into(out, t);
    }
    out.push_str("]\n");
}
fn tags_line(tags: &[String]) -> String {
    let mut out = String::new();
    tags_into(&mut out, tags);
    out
}
fn joined_into(out: &mut String, d: chrono::NaiveDate) {
    use chrono::Datelike;
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "joined = {:04}-{:02}-{:02}",
        d.year(),
        d.month(),
        d.day()
    );
}
fn joined_line(d: chrono::NaiveDate) -> String {
    let mut out = String::new();
    joined_into(&mut out, d);
    out
}

/// A whole `[[subscriber]]` block (without the blank line after it).
pub(super) fn render(e: &Entry, out: &mut String) {
    out.push_str("[[subscriber]]\nemail = ");
    quote_into(out, &e.email);
    out.push('\n');
    if let Some(n) = &e.name {
        out.push_str("name = ");
        quote_into(out, n);
        out.push('\n');
    }
    if e.status != Status::Active {
        out.push_str("status = ");
        quote_into(out, e.status.as_str());
        out.push('\n');
    }
    if !e.tags.is_empty() {
        tags_into(out, &e.tags);
    }
    if let Some(d) = e.joined {
        joined_into(out, d);
    }
}

/// The key a `key = value` line sets.
fn key_of(line: &str) -> Option<&str> {
    let rest = line.trim_start_matches([' ', '\t']);
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    let (key, after) = rest.split_at(len);
    (!key.is_empty() && after.trim_start_matches([' ', '\t']).starts_with('=')).then_some(key)
}

/// Applies `edit` to the lines of one entry in place: a changed key's line
/// is replaced (keeping its indentation), a missing one is added after the
/// entry's last key. `false` when the entry is not one key per line (a
/// multi-line array, ...): the caller rewrites it whole.
fn edit_in_place(lines: &mut Vec<String>, edit: &Edit) -> bool {
    if !lines.iter().any(|l| key_of(l) == Some("email")) {
        return false;
    }
    // New keys go after the entry's last key, before its trailing blank lines.
    let Some(last_key) = lines.iter().rposition(|l| key_of(l).is_some()) else {
        return false;
    };
    let e = &edit.entry;
    let c = edit.changed;
    let mut wanted: Vec<(&str, String)> = Vec::new();
    if c.name {
        wanted.push(("name", name_line(e.name.as_deref().unwrap_or_default())));
    }
    if c.status {
        wanted.push(("status", status_line(e.status)));
    }
    if c.tags {
        wanted.push(("tags", tags_line(&e.tags)));
    }
    if let (true, Some(d)) = (c.joined, e.joined) {
        wanted.push(("joined", joined_line(d)));
    }
    let mut insert_at = last_key + 1;
    for (key, line) in wanted {
        match lines.iter().position(|l| key_of(l) == Some(key)) {
            Some(i) => {
                if toml::from_str::<toml::Table>(lines[i].trim()).is_err() {
                    return false;
                }
                let indent: String = lines[i]
                    .chars()
                    .take_while(|c| *c == ' ' || *c == '\t')
                    .collect();
                lines[i] = format!("{indent}{line}");
            }
            None => {
                lines.insert(insert_at, line);
                insert_at += 1;
            }
        }
    }
    true
}

/// Writes one entry's lines, edited when an edit falls within them.
fn flush(
    lines: &mut Vec<String>,
    start: usize,
    edits: &BTreeMap<usize, Edit>,
    applied: &mut usize,
    out: &mut dyn Write,
    io: &dyn Fn(std::io::Error) -> Error,
) -> Result<()> {
    let end = start + lines.len();
    for (_, edit) in edits.range(start..end) {
        *applied += 1;
        if !edit_in_place(lines, edit) {
            // Keep the comments and blank lines, rewrite the keys.
            let kept: Vec<String> = lines
                .iter()
                .skip(1)
                .filter(|l| {
                    let t = l.trim();
                    t.is_empty() || t.starts_with('#')
                })
                .cloned()
                .collect();
            let mut block = String::new();
            render(&edit.entry, &mut block);
            lines.clear();
            lines.push(block);
            lines.extend(kept);
        }
    }
    for l in lines.drain(..) {
        out.write_all(l.as_bytes()).map_err(io)?;
    }
    Ok(())
}

/// True for a `[[subscriber]]` header line.
fn is_header(line: &str) -> bool {
    let t = line.trim_start_matches([' ', '\t']);
    t.strip_prefix("[[")
        .and_then(|r| r.split_once("]]"))
        .is_some_and(|(name, tail)| {
            name.trim() == "subscriber" && {
                let tail = tail.trim();
                tail.is_empty() || tail.starts_with('#')
            }
        })
}

/// Writes the list at `path`: the existing file (when `exists`, holding
/// `entries` entries) with `edits` applied (keyed by the line of each
/// entry's `email`), then the `new` entries. A file whose entries are not
/// all `[[subscriber]]` tables (an inline array, say) is refused before
/// anything is replaced: appending tables to it would break it.
pub(super) fn write_list(
    path: &Path,
    exists: bool,
    entries: usize,
    edits: &BTreeMap<usize, Edit>,
    new: impl Iterator<Item = Entry>,
) -> Result<()> {
    crate::fs::replace_private(path, |out| {
        let io = |e: std::io::Error| Error::io("write", path, e);
        let mut ends_blank = true;
        let mut empty = true;
        if exists {
            let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
            let mut input = std::io::BufReader::with_capacity(1 << 16, file);
            let mut span: Vec<String> = Vec::new();
            let mut span_start = 1;
            let mut line_no = 0;
            let mut applied = 0;
            let mut headers = 0;
            let mut buf = String::new();
            loop {
                buf.clear();
                let n = input
                    .read_line(&mut buf)
                    .map_err(|e| Error::io("read", path, e))?;
                if n == 0 {
                    break;
                }
                line_no += 1;
                if is_header(&buf) {
                    headers += 1;
                    flush(&mut span, span_start, edits, &mut applied, out, &io)?;
                    span_start = line_no;
                }
                if !buf.ends_with('\n') {
                    buf.push('\n');
                }
                empty = false;
                ends_blank = buf.trim().is_empty();
                span.push(buf.clone());
            }
            flush(&mut span, span_start, edits, &mut applied, out, &io)?;
            if applied != edits.len() || headers < entries {
                let line = edits.keys().next().copied();
                return Err(Error::parse(
                    path,
                    line,
                    "cannot merge into this list in place: write each reader as a [[subscriber]] table \
                     with one key per line (as subscribers.example.toml does), then import again",
                ));
            }
        }
        let mut block = String::new();
        if !exists {
            out.write_all(
                b"# The subscriber list of letterpress (see subscribers.example.toml).\n\
                  # It holds readers' addresses: keep it out of git, and private (mode 0600).\n",
            )
            .map_err(io)?;
            empty = false;
            ends_blank = false;
        }
        for entry in new {
            block.clear();
            if !empty && !ends_blank {
                block.push('\n');
            }
            render(&entry, &mut block);
            out.write_all(block.as_bytes()).map_err(io)?;
            empty = false;
            ends_blank = false;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Changed;

    #[test]
    fn quoting_round_trips_through_toml() {
        for s in ["plain", "quote \" and \\ back", "tab\tnew\nline", "José 🙂"] {
            let t: toml::Table = toml::from_str(&format!("v = {}", quote(s))).unwrap();
            assert_eq!(t["v"].as_str(), Some(s));
        }
    }

    #[test]
    fn an_edit_replaces_or_adds_lines_and_keeps_comments() {
        let mut lines: Vec<String> = [
            "[[subscriber]]\n",
            "# met at the conference\n",
            "  email = \"ada@example.com\"\n",
            "  status = \"active\" # was premium\n",
            "\n",
        ]
        .map(String::from)
        .to_vec();
        let edit = Edit {
            entry: Entry {
                email: "ada@example.com".into(),
                name: Some("Ada".into()),
                status: Status::Unsubscribed,
                tags: vec![],
                joined: None,
            },
            changed: Changed {
                name: true,
                status: true,
                ..Changed::default()
            },
        };
        assert!(edit_in_place(&mut lines, &edit));
        assert_eq!(
            lines.concat(),
            "[[subscriber]]\n# met at the conference\n  email = \"ada@example.com\"\n  status = \"unsubscribed\"\nname = \"Ada\"\n\n"
        );
        let mut multi: Vec<String> = [
            "[[subscriber]]\n",
            "email = \"a@example.com\"\n",
            "tags = [\n",
            "\"x\"]\n",
        ]
        .map(String::from)
        .to_vec();
        let edit = Edit {
            changed: Changed {
                tags: true,
                ..Changed::default()
            },
            ..edit
        };
        assert!(!edit_in_place(&mut multi, &edit));
    }

    #[test]
    fn headers_are_recognised_with_spaces_and_comments() {
        assert!(is_header("[[subscriber]]\n"));
        assert!(is_header("  [[ subscriber ]] # x\n"));
        assert!(!is_header("[[subscribers]]\n"));
        assert!(!is_header("email = \"[[subscriber]]\"\n"));
    }
}
