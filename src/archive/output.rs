//! Putting a built site in place: nothing is written when every file is
//! already there with the same bytes; otherwise the new site is assembled in
//! a temporary folder beside the old one (unchanged files hard-linked, so
//! they keep their inode and time) and swapped in with one rename, so a
//! reader or a sync never sees half a site.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file that marks a folder as a letterpress archive. A folder without
/// it is never replaced, so `--out` pointed at the wrong place loses nothing.
pub const MARKER: &str = ".letterpress-archive";

/// What [`publish`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Files new or different, site-relative.
    pub written: Vec<String>,
    /// Files that were there and are no longer produced.
    pub removed: Vec<String>,
    /// Files left as they were.
    pub unchanged: usize,
}

/// Makes `out` hold exactly `files` (site-relative path → bytes).
pub fn publish(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<Published> {
    let existing = if out.exists() {
        let list = list(out)?;
        if !list.is_empty() && !list.iter().any(|f| f == MARKER) {
            return Err(Error::Usage(format!(
                "{}: this folder has files but is not a letterpress archive (no {MARKER} in it), and building would replace it; pass --out with a new or empty folder",
                out.display()
            )));
        }
        list
    } else {
        Vec::new()
    };
    let mut report = Published::default();
    let mut same = std::collections::HashSet::new();
    for (rel, bytes) in files {
        let path = out.join(rel);
        match std::fs::read(&path) {
            Ok(old) if old == *bytes => {
                same.insert(rel.as_str());
            }
            _ => report.written.push(rel.clone()),
        }
    }
    report.unchanged = same.len();
    report.removed = existing
        .into_iter()
        .filter(|f| !files.contains_key(f))
        .collect();
    if report.written.is_empty() && report.removed.is_empty() {
        return Ok(report);
    }

    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    let name = out
        .file_name()
        .map_or_else(|| "public".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{name}.building-{}", std::process::id()));
    let built = (|| {
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io("remove", &tmp, e))?;
        }
        let mut made = std::collections::HashSet::new();
        for rel in files.keys() {
            if let Some(dir) = tmp.join(rel).parent() {
                if made.insert(dir.to_path_buf()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| Error::io("create directory", dir, e))?;
                }
            }
        }
        // The writes on every core (the kernel's share of a build is large).
        let files: Vec<(&String, &Vec<u8>)> = files.iter().collect();
        crate::parallel::map(files.len(), |i| {
            let (rel, bytes) = files[i];
            let to = tmp.join(rel);
            let linked =
                same.contains(rel.as_str()) && std::fs::hard_link(out.join(rel), &to).is_ok();
            if linked {
                Ok(())
            } else {
                std::fs::write(&to, bytes).map_err(|e| Error::io("write", &to, e))
            }
        })
        .into_iter()
        .collect::<Result<()>>()?;
        swap(&tmp, out)
    })();
    if built.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    built?;
    Ok(report)
}

/// Puts `new` at `out`: one atomic exchange where the OS has it (Linux),
/// else two renames; the old site is then deleted.
fn swap(new: &Path, out: &Path) -> Result<()> {
    if !out.exists() {
        return std::fs::rename(new, out).map_err(|e| Error::io("rename into place", out, e));
    }
    if exchange(new, out) {
        // `new` now holds the old site.
        return std::fs::remove_dir_all(new).map_err(|e| Error::io("remove", new, e));
    }
    let old: PathBuf = new.with_extension("old");
    std::fs::rename(out, &old).map_err(|e| Error::io("move aside", out, e))?;
    std::fs::rename(new, out).map_err(|e| Error::io("rename into place", out, e))?;
    std::fs::remove_dir_all(&old).map_err(|e| Error::io("remove", &old, e))
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let (Ok(a), Ok(b)) = (
        CString::new(a.as_os_str().as_bytes()),
        CString::new(b.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    // SAFETY: both are valid NUL-terminated paths; renameat2 only reads them.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> bool {
    false
}

/// Every file under `dir`, site-relative with `/`, sorted.
pub(crate) fn list(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io("read directory", &d, e))?;
        for e in entries.flatten() {
            let p = e.path();
            let ft = e.file_type().map_err(|err| Error::io("read", &p, err))?;
            if ft.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn unchanged_writes_nothing_changed_swaps_and_keeps_inodes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let v1 = files(&[(MARKER, ""), ("index.html", "a"), ("x/index.html", "b")]);
        let r = publish(&out, &v1).unwrap();
        assert_eq!(r.written.len(), 3);
        let ino = std::fs::metadata(out.join("x/index.html")).unwrap().ino();
        let r = publish(&out, &v1).unwrap();
        assert!(r.written.is_empty() && r.removed.is_empty(), "{r:?}");
        assert_eq!(r.unchanged, 3);
        let v2 = files(&[(MARKER, ""), ("index.html", "A"), ("x/index.html", "b")]);
        let r = publish(&out, &v2).unwrap();
        assert_eq!(r.written, ["index.html"]);
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "A"
        );
        assert_eq!(
            std::fs::metadata(out.join("x/index.html")).unwrap().ino(),
            ino
        );
        let v3 = files(&[(MARKER, ""), ("index.html", "A")]);
        let r = publish(&out, &v3).unwrap();
        assert_eq!(r.removed, ["x/index.html"]);
        assert!(!out.join("x").exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary folder is left");
    }

    #[test]
    fn refuses_to_replace_a_folder_that_is_not_an_archive() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("thesis.tex"), "precious").unwrap();
        let e = publish(dir.path(), &files(&[(MARKER, ""), ("index.html", "a")])).unwrap_err();
        assert!(e.to_string().contains("not a letterpress archive"), "{e}");
        assert!(dir.path().join("thesis.tex").exists());
    }
}
