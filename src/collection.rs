//! The issues folder, read once: every issue file in it, in path order, with
//! what its name says (leading number, leading date). `preview`/`send`'s
//! number lookup ([`crate::issue::resolve`]), `new` and the archive all read
//! the folder through [`Collection`].

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::issue::Issue;

/// File extensions of issue files (`.markdown` is Jekyll's other spelling).
pub const EXTENSIONS: [&str; 2] = ["md", "markdown"];

/// One issue file, known by its name only (nothing read yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueFile {
    /// The file.
    pub path: PathBuf,
    /// The leading digits of its file name (`12` for `012-rye.md`).
    pub file_number: Option<u32>,
    /// How many leading digits its file name has (`3` for `012-rye.md`).
    pub file_digits: usize,
    /// A leading `YYYY-MM-DD` in its file name (Jekyll's post names).
    pub file_date: Option<NaiveDate>,
}

impl IssueFile {
    /// What the name of `path` says.
    pub fn new(path: PathBuf) -> IssueFile {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let digits: String = stem.chars().take_while(char::is_ascii_digit).collect();
        let file_date = stem
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        IssueFile {
            file_number: if file_date.is_some() {
                None
            } else {
                digits.parse().ok()
            },
            file_digits: if file_date.is_some() { 0 } else { digits.len() },
            file_date,
            path,
        }
    }

    /// Reads and parses the file.
    pub fn parse(&self) -> Result<Issue> {
        Issue::from_file(&self.path)
    }
}

/// Every issue file directly in one folder, sorted by path.
#[derive(Debug, Clone)]
pub struct Collection {
    dir: PathBuf,
    files: Vec<IssueFile>,
}

impl Collection {
    /// Lists `dir` (empty when `dir` does not exist yet).
    pub fn scan(dir: &Path) -> Result<Collection> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Collection {
                    dir: dir.to_path_buf(),
                    files: Vec::new(),
                })
            }
            Err(e) => return Err(Error::io("read directory", dir, e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| EXTENSIONS.contains(&x))
                    && p.is_file()
            })
            .collect();
        paths.sort();
        Ok(Collection {
            dir: dir.to_path_buf(),
            files: paths.into_iter().map(IssueFile::new).collect(),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The files, sorted by path.
    pub fn files(&self) -> &[IssueFile] {
        &self.files
    }

    /// The file of issue `number`: by the leading digits of file names, then
    /// by `number` in front matter (files that do not parse are passed over).
    pub fn find(&self, number: u32) -> Option<&Path> {
        if let Some(f) = self.files.iter().find(|f| f.file_number == Some(number)) {
            return Some(&f.path);
        }
        self.files
            .iter()
            .find(|f| f.parse().is_ok_and(|i| i.front.number == Some(number)))
            .map(|f| f.path.as_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_numbers_and_dates() {
        let f = IssueFile::new("issues/012-rye.md".into());
        assert_eq!(
            (f.file_number, f.file_digits, f.file_date),
            (Some(12), 3, None)
        );
        let f = IssueFile::new("x/2018-06-08-newsletter.md".into());
        assert_eq!(f.file_number, None);
        assert_eq!(f.file_date, NaiveDate::from_ymd_opt(2018, 6, 8));
    }

    #[test]
    fn scan_sorts_filters_and_finds() {
        let dir = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| std::fs::write(dir.path().join(n), t).unwrap();
        w("b.markdown", "---\ntitle: B\nnumber: 7\n---\n");
        w("003-a.md", "---\ntitle: A\n---\n");
        w("notes.txt", "not an issue");
        let c = Collection::scan(dir.path()).unwrap();
        let names: Vec<_> = c
            .files()
            .iter()
            .map(|f| f.path.file_name().unwrap())
            .collect();
        assert_eq!(names, ["003-a.md", "b.markdown"]);
        assert_eq!(c.find(3), Some(dir.path().join("003-a.md").as_path()));
        assert_eq!(c.find(7), Some(dir.path().join("b.markdown").as_path()));
        assert_eq!(c.find(9), None);
        assert!(Collection::scan(&dir.path().join("none"))
            .unwrap()
            .files()
            .is_empty());
    }
}
