//! `letterpress init`: a new newsletter folder, ready to preview.
//!
//! [`files`] lists what goes in it: a commented `letterpress.toml` (every
//! key explained, optional ones commented out, a `[dkim]` example), the
//! shipped `templates/` (embedded in the binary, so an installed
//! `letterpress` has them), a first issue, `subscribers.example.toml`, and a
//! `.gitignore` that keeps readers' addresses and secrets out of git.
//! [`create`] writes them, refusing to replace any file that exists.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::error::{Error, Result};

#[cfg(test)]
mod keys;

/// The commented configuration `init` writes. A new config section is one
/// added block here; a unit test fails when a key of [`crate::config::Config`]
/// is not mentioned.
pub const CONFIG: &str = include_str!("letterpress.toml");

/// The `.gitignore` `init` writes.
pub const GITIGNORE: &str = include_str!("gitignore");

/// The first issue; `{{ date }}` becomes the day of `init`.
pub const FIRST_ISSUE: &str = include_str!("first-issue.md");

/// The shipped templates, as (path in the new folder, contents).
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "templates/email.mjml",
        include_str!("../../templates/email.mjml"),
    ),
    (
        "templates/email.txt",
        include_str!("../../templates/email.txt"),
    ),
    (
        "templates/new-issue.md",
        include_str!("../../templates/new-issue.md"),
    ),
    (
        "templates/confirm.txt",
        include_str!("../../templates/confirm.txt"),
    ),
    (
        "templates/confirm.html",
        include_str!("../../templates/confirm.html"),
    ),
];

/// The example subscriber list.
pub const SUBSCRIBERS_EXAMPLE: &str = include_str!("../../subscribers.example.toml");

/// Where the first issue goes, relative to the new folder.
pub const FIRST_ISSUE_PATH: &str = "issues/001-welcome.md";

/// One file `init` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative to the newsletter folder.
    pub path: &'static str,
    /// What goes in it.
    pub contents: String,
}

/// Every file of a new newsletter folder, the first issue dated `today`.
pub fn files(today: NaiveDate) -> Vec<File> {
    let mut out = vec![
        File {
            path: "letterpress.toml",
            contents: CONFIG.to_string(),
        },
        File {
            path: ".gitignore",
            contents: GITIGNORE.to_string(),
        },
        File {
            path: "subscribers.example.toml",
            contents: SUBSCRIBERS_EXAMPLE.to_string(),
        },
        File {
            path: FIRST_ISSUE_PATH,
            contents: FIRST_ISSUE.replace("{{ date }}", &today.format("%Y-%m-%d").to_string()),
        },
    ];
    out.extend(TEMPLATES.iter().map(|&(path, contents)| File {
        path,
        contents: contents.to_string(),
    }));
    out
}

/// Writes a new newsletter folder at `dir` (created if missing) and returns
/// the paths written. When any of the files already exists nothing is
/// written and the error names it.
pub fn create(dir: &Path, today: NaiveDate) -> Result<Vec<PathBuf>> {
    let files = files(today);
    if let Some(existing) = files
        .iter()
        .map(|f| dir.join(f.path))
        .find(|p| p.symlink_metadata().is_ok())
    {
        return Err(Error::Usage(format!(
            "{} already exists; `letterpress init` writes nothing into a folder that has any of its files \
             (move it away, or run `letterpress init` with an empty or new folder)",
            existing.display()
        )));
    }
    let mut written = Vec::with_capacity(files.len());
    for f in &files {
        let path = dir.join(f.path);
        write_new(&path, &f.contents)?;
        written.push(path);
    }
    Ok(written)
}

/// Creates `path` (and its directory) with `contents`; never replaces a file,
/// even one that appeared since [`create`] looked.
fn write_new(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::issue::Issue;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    #[test]
    fn the_written_config_parses() {
        let c = Config::parse(CONFIG, Path::new("new/letterpress.toml")).unwrap();
        assert_eq!(c.newsletter.name, "My Newsletter");
        assert_eq!(c.smtp.url.as_deref(), Some("smtp://127.0.0.1:2525"));
        assert!(c.unsubscribe.mailto.is_some());
        assert!(c.dkim.is_none());
    }

    /// Uncommenting every `# key = value` line (and `# [table]` header) gives
    /// a config that still parses: every key the template mentions exists.
    #[test]
    fn every_commented_key_is_a_real_key() {
        let all: String = CONFIG
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if is_setting(rest) => rest,
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let c = Config::parse(&all, Path::new("letterpress.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{all}"));
        assert_eq!(
            c.dkim.as_ref().map(|d| d.algorithm.as_str()),
            Some("ed25519")
        );
        assert_eq!(c.smtp.rate_per_hour, Some(1000));
    }

    fn is_setting(line: &str) -> bool {
        let header = line.starts_with('[') && line.ends_with(']');
        let key = line.split_once(" = ").is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
        header || key
    }

    /// Keys the config still parses only to tell an old configuration what
    /// to write instead: a new newsletter should not see them.
    const RETIRED: &[(&str, &str)] = &[("unsubscribe", "url")];

    /// Every key of every `Config` table is mentioned in its section of the
    /// template (set, or commented out with its default).
    #[test]
    fn every_config_key_is_explained() {
        let keys = keys::all_keys();
        assert!(keys.len() > 30, "{keys:?}");
        let mut missing = Vec::new();
        for (section, key) in &keys {
            if RETIRED.contains(&(section.as_str(), key.as_str())) {
                continue;
            }
            // A key that is itself a table (`[webhooks.ses]`) is explained by
            // its own header and keys.
            let table = format!("{section}.{key}");
            if keys.iter().any(|(s, _)| *s == table) && has_header(CONFIG, &table) {
                continue;
            }
            if !section_mentions(CONFIG, section, key) {
                missing.push(format!("[{section}] {key}"));
            }
        }
        assert!(
            missing.is_empty(),
            "src/scaffold/letterpress.toml does not explain: {}",
            missing.join(", ")
        );
    }

    /// True when `text` has a `[table]` (or `# [table]`) header line.
    fn has_header(text: &str, table: &str) -> bool {
        let header = format!("[{table}]");
        text.lines()
            .any(|l| l.strip_prefix("# ").unwrap_or(l) == header)
    }

    /// True when the `[section]` (or `# [section]`) block of `text` has a
    /// `key = ` or `# key = ` line.
    fn section_mentions(text: &str, section: &str, key: &str) -> bool {
        let header = format!("[{section}]");
        let mut inside = false;
        for line in text.lines() {
            let bare = line.strip_prefix("# ").unwrap_or(line);
            if bare.starts_with('[') && bare.ends_with(']') {
                inside = bare == header;
            } else if inside && bare.starts_with(&format!("{key} = ")) {
                return true;
            }
        }
        false
    }

    #[test]
    fn the_first_issue_parses_and_is_dated_today() {
        let f = files(today());
        let first = f.iter().find(|f| f.path == FIRST_ISSUE_PATH).unwrap();
        let issue = Issue::parse(&first.contents).unwrap();
        assert_eq!(issue.front.number, Some(1));
        assert_eq!(issue.front.date, Some(today()));
        assert!(!issue.front.draft);
        assert!(issue.front.extra.is_empty(), "{:?}", issue.front.extra);
    }

    #[test]
    fn gitignore_covers_every_private_file() {
        let patterns: Vec<&str> = GITIGNORE
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        for p in [
            "subscribers.toml",
            ".letterpress/",
            "outbox/",
            "out/",
            "*.bak",
            "*.journal",
            "*.problems.tsv",
            "audience.db",
            "*.pem",
        ] {
            assert!(patterns.contains(&p), "{p} missing from the .gitignore");
        }
    }

    #[test]
    fn refuses_to_overwrite_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/email.txt"), "mine").unwrap();
        let e = create(dir.path(), today()).unwrap_err().to_string();
        assert!(e.contains("templates/email.txt already exists"), "{e}");
        assert!(!dir.path().join("letterpress.toml").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("templates/email.txt")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn creates_a_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b");
        let written = create(&target, today()).unwrap();
        assert_eq!(written.len(), 4 + TEMPLATES.len());
        assert!(target.join("templates/email.mjml").is_file());
    }
}
