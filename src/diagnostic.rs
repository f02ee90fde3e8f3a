//! Warnings and errors about an issue, returned as data (like mrml's
//! warnings) so `preview`, `check` and `serve` can all show them.

use std::fmt;
use std::path::PathBuf;

/// How bad a [`Diagnostic`] is. `check` exits non-zero when any is an `Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; the issue can still go out.
    Warning,
    /// Must be fixed before sending.
    Error,
}

/// One finding about an issue: what, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// A short stable identifier, e.g. `image-alt`, `mojibake`, `gmail-clip`.
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file it is in, when known.
    pub file: Option<PathBuf>,
    /// 1-based line in that file, when known.
    pub line: Option<usize>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A warning with no location yet.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            file: None,
            line: None,
            help: None,
        }
    }

    /// An error with no location yet.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            ..Diagnostic::warning(code, message)
        }
    }

    /// Sets the 1-based line.
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{level}[{}]: ", self.code)?;
        match (&self.file, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{l}: ", p.display())?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            (None, Some(l)) => write!(f, "line {l}: ",)?,
            (None, None) => {}
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

/// 1-based line number of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + memchr::memchr_iter(b'\n', &text.as_bytes()[..end]).count()
}

/// The candidate `word` is most probably a misspelling of: the nearest by
/// edit distance (a swap of two neighbours counts as one edit), at most one
/// edit away (two for candidates of six or more characters), ignoring case.
/// `None` when `word` is itself a candidate or nothing is that close.
///
/// ```
/// use letterpress::diagnostic::did_you_mean;
/// assert_eq!(did_you_mean("darft", ["title", "draft"]), Some("draft"));
/// assert_eq!(did_you_mean("postal_adress", ["name", "postal_address"]), Some("postal_address"));
/// assert_eq!(did_you_mean("sponsor", ["title", "draft"]), None);
/// ```
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if c == word {
            return None;
        }
        let limit = if c.chars().count() >= 6 { 2 } else { 1 };
        let d = edit_distance(&lower, &c.to_lowercase());
        if d <= limit && best.map_or(true, |(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions
/// and transpositions of adjacent characters each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("darft", "draft"), 1);
        assert_eq!(edit_distance("numbr", "number"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions_stay_close() {
        let keys = [
            "title",
            "subject",
            "date",
            "number",
            "aliases",
            "preheader",
            "draft",
        ];
        assert_eq!(did_you_mean("alias", keys), Some("aliases"));
        assert_eq!(did_you_mean("Draft", keys), Some("draft"));
        assert_eq!(did_you_mean("name", keys), None);
        assert_eq!(did_you_mean("tags", keys), None);
        assert_eq!(did_you_mean("layout", keys), None);
        assert_eq!(did_you_mean("draft", keys), None);
    }
}
