//! The crate's error type. Every I/O error names its path; every parse error
//! names file and line and says what to change.

use std::path::PathBuf;

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong before a message leaves the machine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What we tried: "read", "write", "create directory", ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid UTF-8.
    #[error("{}:{line}: the file is not valid UTF-8 (byte {byte} of that line); save it as UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first bad byte.
        line: usize,
        /// 1-based byte column of the first bad byte.
        byte: usize,
    },
    /// A file's content is malformed (front matter, TOML, template...).
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A template failed to render.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        /// The template file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
    /// The MJML produced could not be rendered (a template bug).
    #[error("MJML rendering failed: {0}")]
    Mjml(String),
    /// The command line or configuration asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// The audience store (SQLite) cannot be used: locked, damaged, too new...
    #[error("{}: {message}", path.display())]
    Store {
        /// The store's file.
        path: PathBuf,
        /// What kind of trouble, to ask questions of.
        problem: crate::audience::store::StoreProblem,
        /// What is wrong and what to do.
        message: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path and what we were doing.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// A parse error at `path:line`.
    pub fn parse(
        path: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}

/// The file helpers lived here before [`crate::fs`]; re-exported so code
/// written against `crate::error::read_text` keeps building.
pub use crate::fs::{read_text, replace_file, write_file};
