//! aiosmtpd (tests/judges/smtp_capture.py) capturing every message to a
//! folder, for the end-to-end suites.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// aiosmtpd capturing to a folder; killed on drop.
pub struct Capture {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    dir: PathBuf,
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Capture {
    /// Starts it with `extra` arguments; `None` (after `skip`) without aiosmtpd.
    pub fn start(dir: &Path, extra: &[&str]) -> Option<Capture> {
        if !super::has_python_module("aiosmtpd") {
            super::skip("python3 with aiosmtpd is needed (pip install aiosmtpd)");
            return None;
        }
        let mut child = Command::new("python3")
            .arg(super::root().join("tests/judges/smtp_capture.py"))
            .arg("--dir")
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .expect("READY line")
            .parse()
            .unwrap();
        Some(Capture {
            child,
            port,
            dir: dir.to_path_buf(),
        })
    }

    /// Messages captured so far.
    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "eml")
            })
            .count()
    }

    /// Every captured message, parsed by Python's strict email parser.
    pub fn parsed(&self) -> Vec<serde_json::Value> {
        let out = Command::new("python3")
            .arg(super::root().join("tests/judges/smtp_check.py"))
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}
