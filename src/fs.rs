//! File helpers: every I/O error names its path (and a bad byte its line).

use crate::error::{Error, Result};

/// Reads a file as UTF-8 text; errors name the path (and line of a bad byte).
pub fn read_text(path: &std::path::Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let line_start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Error::NotUtf8 {
            path: path.to_path_buf(),
            line: 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count(),
            byte: at - line_start + 1,
        }
    })
}

/// Creates the directory `path` goes in, if it has one.
fn create_parent(path: &std::path::Path) -> Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))
        }
        None => Ok(()),
    }
}

/// Replaces the generated file at `path` with `contents`, creating parent
/// directories; errors name the path. The new contents go to a fresh
/// temporary file beside it (created exclusively, so never through a
/// planted symlink), which is renamed into place once the old file has been
/// unlinked: a reader sees the old file, briefly none, or the new one, never
/// half a file; and ext4 does not force the write-back it does when a file
/// with data is truncated or renamed over (about 0.3 ms a file, measured).
/// Only for files letterpress generates and can generate again: the
/// replacement keeps neither links nor permissions, and is not fsynced.
pub fn replace_file(path: &std::path::Path, contents: impl AsRef<[u8]>) -> Result<()> {
    use std::io::Write;
    create_parent(path)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let (tmp, mut file) = (0..100)
        .map(|n| path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id())))
        .find_map(|tmp| {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                opened => Some(opened.map(|f| (tmp, f))),
            }
        })
        .unwrap_or_else(|| Err(std::io::ErrorKind::AlreadyExists.into()))
        .map_err(|e| Error::io("write", path, e))?;
    let replaced = file
        .write_all(contents.as_ref())
        .map_err(|e| Error::io("write", path, e))
        .and_then(|()| {
            drop(file);
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("replace", path, e))
                }
                _ => {}
            }
            std::fs::rename(&tmp, path).map_err(|e| Error::io("write", path, e))
        });
    if replaced.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    replaced
}

/// Writes a file, creating parent directories; errors name the path.
pub fn write_file(path: &std::path::Path, contents: impl AsRef<[u8]>) -> Result<()> {
    create_parent(path)?;
    std::fs::write(path, contents).map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_file_replaces_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/issue.html");
        replace_file(&path, "first").unwrap();
        replace_file(&path, "second, longer").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second, longer");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["issue.html"]);
    }

    #[cfg(unix)]
    #[test]
    fn replace_file_never_writes_through_a_planted_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        let path = dir.path().join("issue.txt");
        let planted = dir
            .path()
            .join(format!(".issue.txt.{}-0.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        replace_file(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
