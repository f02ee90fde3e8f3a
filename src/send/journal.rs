//! The send journal: never twice, never skipped.
//!
//! One append-only text file per issue (`<paths.journal>/<issue>.journal`),
//! one record per line, each written with a single `write(2)` the moment it
//! happens, so a `kill -9` loses nothing that was written. `fsync` is batched
//! (group commit every [`SYNC_INTERVAL`] and at the end), which bounds what a
//! power cut can lose without paying a disk flush per message.
//!
//! For each recipient an *attempt* record is written after the server's `354`
//! and before the body, and an *outcome* record after the server's final
//! reply. On the next run, [`Replay`] tells who was delivered (skipped), who
//! failed for good (skipped unless `--retry-failed`), who is still pending,
//! and who is *in doubt*: an attempt with no outcome, or a connection lost
//! after the whole body was sent. In-doubt recipients are sent again and
//! listed — there can be at most one per connection, so the duplicates after
//! a crash are bounded by the number of connections.
//!
//! A torn last line (power cut mid-write) is ignored and cut off. An
//! advisory lock (`flock`) keeps two `send`s of the same issue apart.
//!
//! Format (tab-separated, fields percent-escaped):
//!
//! ```text
//! letterpress-journal 1 <issue>             header
//! S <ms> <recipients> <content-hash>       a run starts
//! A <ms> <email>                            attempt: body about to be sent
//! D <ms> <email> <code> <text>              delivered
//! F <ms> <email> <code> <text>              failed for good (5xx)
//! T <ms> <email> <code> <text>              temporary failure, will retry
//! U <ms> <email> - <text>                   connection lost after the body: in doubt
//! X <ms> <email> <code> <text>              deferred: gave up for this run
//! E <ms> <sent> <failed> <deferred> <0|1>   a run ends (1 = nothing left to send)
//! R <ms>                                    --resend: forget earlier outcomes
//! ```

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// How often written records are flushed to disk.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(50);

const MAGIC: &str = "letterpress-journal";
const VERSION: &str = "1";

/// What the journal knows about one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The server accepted the message.
    Delivered,
    /// A 5xx (or a local refusal): not sent again without `--retry-failed`.
    Failed {
        /// The reply code, if the server gave one.
        code: Option<u16>,
        /// The server's text.
        text: String,
    },
    /// Temporary failure or deferred: sent again on resume.
    Pending,
    /// Maybe delivered, maybe not: sent again on resume, and listed.
    InDoubt,
}

/// A finished run that left nothing to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// When it ended (Unix milliseconds).
    pub at_ms: u64,
    /// Recipients delivered in that run.
    pub sent: u64,
    /// Recipients failed for good in that run.
    pub failed: u64,
}

/// The journal read back.
#[derive(Debug, Default)]
pub struct Replay {
    /// [`key`] of the address → last known state (since the last `--resend`).
    pub states: HashMap<String, State>,
    /// Set when the last run finished with nothing left to send.
    pub completed: Option<Completion>,
    /// The content hash recorded by the first run (since the last reset).
    pub content_hash: Option<String>,
    /// Bytes of a torn last line that were cut off.
    pub torn_bytes: usize,
    /// Runs recorded (since the last reset).
    pub runs: usize,
}

impl Replay {
    /// Recipients delivered.
    pub fn delivered(&self) -> usize {
        self.states
            .values()
            .filter(|s| **s == State::Delivered)
            .count()
    }

    /// Recipients failed for good.
    pub fn failed(&self) -> usize {
        self.states
            .values()
            .filter(|s| matches!(s, State::Failed { .. }))
            .count()
    }

    /// Recipients whose delivery is in doubt, sorted.
    pub fn in_doubt(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .states
            .iter()
            .filter(|(_, s)| **s == State::InDoubt)
            .map(|(k, _)| k.as_str())
            .collect();
        v.sort_unstable();
        v
    }
}

/// One record.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A run starts.
    Start {
        /// Recipients to send in this run.
        recipients: usize,
        /// Hash of the issue's subject, HTML and text.
        content_hash: &'a str,
    },
    /// The body is about to be sent.
    Attempt {
        /// The recipient.
        email: &'a str,
    },
    /// An outcome: `D`, `F`, `T`, `U` or `X`.
    Outcome {
        /// `D` delivered, `F` failed, `T` temporary, `U` in doubt, `X` deferred.
        kind: OutcomeKind,
        /// The recipient.
        email: &'a str,
        /// The reply code.
        code: Option<u16>,
        /// The server's text.
        text: &'a str,
    },
    /// A run ends.
    End {
        /// Delivered in this run.
        sent: usize,
        /// Failed for good in this run.
        failed: usize,
        /// Deferred or not attempted in this run.
        deferred: usize,
        /// Nothing is left to send.
        complete: bool,
    },
    /// `--resend`: earlier outcomes no longer count.
    Reset,
}

/// The kind of an outcome record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    /// `D`: the server accepted it.
    Delivered,
    /// `F`: 5xx or a local refusal.
    Failed,
    /// `T`: 4xx or connection lost before the body; will retry.
    Temporary,
    /// `U`: connection lost after the whole body: maybe delivered.
    InDoubt,
    /// `X`: gave up for this run.
    Deferred,
}

impl OutcomeKind {
    fn letter(self) -> char {
        match self {
            OutcomeKind::Delivered => 'D',
            OutcomeKind::Failed => 'F',
            OutcomeKind::Temporary => 'T',
            OutcomeKind::InDoubt => 'U',
            OutcomeKind::Deferred => 'X',
        }
    }
}

/// Escapes `%`, tabs, line breaks and other control characters.
fn esc(s: &str, out: &mut String) {
    for c in s.chars() {
        if c == '%' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
}

fn unesc(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The key an address is journaled under: its
/// [`AddressKey`](crate::audience::AddressKey), so every spelling of one
/// address is one recipient. (Text that is no address, which the list never
/// lets through, is kept lower-cased.)
pub fn key(email: &str) -> String {
    match crate::audience::AddressKey::parse(email) {
        Ok(k) => k.as_str().to_string(),
        Err(_) => email.to_lowercase(),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Record<'_> {
    fn line(&self) -> String {
        let mut s = String::with_capacity(96);
        let ms = now_ms();
        match *self {
            Record::Start {
                recipients,
                content_hash,
            } => {
                s.push_str(&format!("S\t{ms}\t{recipients}\t"));
                esc(content_hash, &mut s);
            }
            Record::Attempt { email } => {
                s.push_str(&format!("A\t{ms}\t"));
                esc(&key(email), &mut s);
            }
            Record::Outcome {
                kind,
                email,
                code,
                text,
            } => {
                s.push_str(&format!("{}\t{ms}\t", kind.letter()));
                esc(&key(email), &mut s);
                s.push('\t');
                match code {
                    Some(c) => s.push_str(&c.to_string()),
                    None => s.push('-'),
                }
                s.push('\t');
                esc(text, &mut s);
            }
            Record::End {
                sent,
                failed,
                deferred,
                complete,
            } => {
                s.push_str(&format!(
                    "E\t{ms}\t{sent}\t{failed}\t{deferred}\t{}",
                    u8::from(complete)
                ));
            }
            Record::Reset => s.push_str(&format!("R\t{ms}")),
        }
        s.push('\n');
        s
    }
}

struct Syncer {
    dirty: AtomicBool,
    stop: Mutex<bool>,
    wake: Condvar,
    /// The first failed sync, kept: Linux reports a write-back error to a
    /// file description once, so a later `fsync` (from any descriptor
    /// sharing it) may succeed although records were lost.
    error: Mutex<Option<(std::io::ErrorKind, String)>>,
    /// Tests make the next background sync fail.
    #[cfg(test)]
    fail_next: AtomicBool,
}

impl Syncer {
    /// Runs one sync, remembering a failure for good.
    fn sync(&self, file: &File) -> std::io::Result<()> {
        #[cfg(test)]
        if self.fail_next.swap(false, Ordering::AcqRel) {
            let e = std::io::Error::other("injected write-back error");
            self.remember(&e);
            return Err(e);
        }
        file.sync_data().inspect_err(|e| self.remember(e))
    }

    fn remember(&self, e: &std::io::Error) {
        self.error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| (e.kind(), e.to_string()));
    }

    /// The remembered failure, as an error for the caller.
    fn failed(&self) -> Option<std::io::Error> {
        self.error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(kind, text)| {
                std::io::Error::new(*kind, format!("an earlier sync to disk failed: {text}"))
            })
    }
}

/// An open journal, exclusively locked.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    syncer: Arc<Syncer>,
    thread: Option<std::thread::JoinHandle<()>>,
    failed: AtomicBool,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// Opens (or creates) the journal for `issue_key` at `path`, takes the
    /// lock, and reads it back.
    pub fn open(path: &Path, issue_key: &str) -> Result<(Journal, Replay)> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        lock(&file, path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::io("read", path, e))?;
        let (replay, keep) = replay(&bytes, issue_key, path)?;
        if keep < bytes.len() {
            // Cut off a torn last line so new records start on a line of their own.
            file.set_len(keep as u64)
                .map_err(|e| Error::io("truncate", path, e))?;
        }
        file.seek(SeekFrom::End(0))
            .map_err(|e| Error::io("seek", path, e))?;
        if keep == 0 {
            let header = format!(
                "{MAGIC}\t{VERSION}\t{}\n",
                issue_key.replace(['\t', '\n', '\r'], "_")
            );
            file.write_all(header.as_bytes())
                .map_err(|e| Error::io("write", path, e))?;
            file.sync_all().map_err(|e| Error::io("sync", path, e))?;
        }
        let syncer = Arc::new(Syncer {
            dirty: AtomicBool::new(false),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            error: Mutex::new(None),
            #[cfg(test)]
            fail_next: AtomicBool::new(false),
        });
        let sync_file = file.try_clone().map_err(|e| Error::io("open", path, e))?;
        let s = syncer.clone();
        let thread = std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || loop {
                let stop = {
                    let guard = s.stop.lock().unwrap_or_else(|e| e.into_inner());
                    let (guard, _) = s
                        .wake
                        .wait_timeout(guard, SYNC_INTERVAL)
                        .unwrap_or_else(|e| e.into_inner());
                    *guard
                };
                if s.dirty.swap(false, Ordering::AcqRel) {
                    // Remembered; the next append or sync reports it.
                    let _ = s.sync(&sync_file);
                }
                if stop {
                    break;
                }
            })
            .map_err(|e| Error::io("start the journal thread for", path, e))?;
        Ok((
            Journal {
                path: path.to_path_buf(),
                file: Mutex::new(file),
                syncer,
                thread: Some(thread),
                failed: AtomicBool::new(false),
            },
            replay,
        ))
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record with a single `write`. An error means the journal
    /// can no longer promise anything: the caller must stop sending.
    /// A failed background sync fails every later append the same way: the
    /// records since the last good sync may be lost, so the run must stop.
    pub fn append(&self, record: Record<'_>) -> std::io::Result<()> {
        if let Some(e) = self.syncer.failed() {
            self.failed.store(true, Ordering::Release);
            return Err(e);
        }
        let line = record.line();
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let r = f.write_all(line.as_bytes());
        drop(f);
        match r {
            Ok(()) => {
                self.syncer.dirty.store(true, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                self.failed.store(true, Ordering::Release);
                Err(e)
            }
        }
    }

    /// Flushes everything written so far to disk; an error when this or
    /// any earlier (background) sync failed.
    pub fn sync(&self) -> Result<()> {
        if let Some(e) = self.syncer.failed() {
            return Err(Error::io("sync", &self.path, e));
        }
        let f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        self.syncer
            .sync(&f)
            .map_err(|e| Error::io("sync", &self.path, e))
    }

    /// Ends a run: the end record for `report`, then a sync. The caller
    /// prints the summary whatever this returns (a full disk must not hide
    /// what was sent).
    pub fn finish(&self, report: &crate::send::Report) -> Result<()> {
        self.append(Record::End {
            sent: report.sent,
            failed: report.failed.len(),
            deferred: report.deferred.len() + report.not_attempted,
            complete: report.nothing_left(),
        })
        .map_err(|e| Error::io("write", &self.path, e))?;
        self.sync()
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        *self.syncer.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.syncer.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = f.sync_data();
    }
}

/// Reads a journal without locking or changing it (for `--dry-run`); an
/// absent journal reads as empty.
pub fn peek(path: &Path, issue_key: &str) -> Result<Replay> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(replay(&bytes, issue_key, path)?.0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Replay::default()),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

#[cfg(unix)]
fn lock(file: &File, path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is touched.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::WouldBlock {
            return Err(Error::Usage(format!(
                "{}: another `letterpress send` of this issue is running; wait for it to finish",
                path.display()
            )));
        }
        return Err(Error::io("lock", path, e));
    }
    Ok(())
}

#[cfg(not(unix))]
fn lock(_file: &File, _path: &Path) -> Result<()> {
    Ok(())
}

/// Reads a journal; returns the state and how many bytes are intact.
fn replay(bytes: &[u8], issue_key: &str, path: &Path) -> Result<(Replay, usize)> {
    let mut r = Replay::default();
    let keep = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None => 0,
    };
    r.torn_bytes = bytes.len() - keep;
    let text = String::from_utf8_lossy(&bytes[..keep]);
    let mut lines = text.split_terminator('\n').enumerate();
    let bad = |line: usize, what: &str| {
        Error::parse(
            path,
            Some(line + 1),
            format!("{what}; the send journal is damaged (move it away to start over, which forgets who was already sent to)"),
        )
    };
    match lines.next() {
        None => return Ok((r, 0)),
        Some((_, header)) => {
            let mut f = header.split('\t');
            if f.next() != Some(MAGIC) {
                return Err(bad(0, "not a letterpress journal"));
            }
            if f.next() != Some(VERSION) {
                return Err(bad(0, "unsupported journal version"));
            }
            let k = f.next().unwrap_or("");
            if k != issue_key.replace(['\t', '\n', '\r'], "_") {
                return Err(Error::Usage(format!(
                    "{}: this journal belongs to `{k}`, not `{issue_key}`",
                    path.display()
                )));
            }
        }
    }
    let mut last_end_complete: Option<Completion> = None;
    let all: Vec<(usize, &str)> = lines.collect();
    let count = all.len();
    for (n, (i, line)) in all.into_iter().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let ms = f.get(1).and_then(|s| s.parse::<u64>().ok());
        let ok = match (f[0], f.len()) {
            ("S", 4) => {
                r.runs += 1;
                if r.content_hash.is_none() {
                    r.content_hash = Some(unesc(f[3]));
                }
                last_end_complete = None;
                true
            }
            ("A", 3) => {
                r.states.insert(key(&unesc(f[2])), State::InDoubt);
                true
            }
            (k @ ("D" | "F" | "T" | "U" | "X"), 5) => {
                let code = f[3].parse::<u16>().ok();
                let state = match k {
                    "D" => State::Delivered,
                    "F" => State::Failed {
                        code,
                        text: unesc(f[4]),
                    },
                    "U" => State::InDoubt,
                    _ => State::Pending,
                };
                // Re-keyed, so a journal written before keys were
                // AddressKeys (IDN domains in Unicode) still matches.
                r.states.insert(key(&unesc(f[2])), state);
                true
            }
            ("E", 6) => {
                let num = |j: usize| f[j].parse::<u64>().unwrap_or(0);
                last_end_complete = (f[5] == "1").then(|| Completion {
                    at_ms: ms.unwrap_or(0),
                    sent: num(2),
                    failed: num(3),
                });
                true
            }
            ("R", 2) => {
                r.states.clear();
                r.content_hash = None;
                r.runs = 0;
                last_end_complete = None;
                true
            }
            _ => false,
        };
        if !ok || ms.is_none() {
            if n + 1 == count {
                // A damaged last record (a power cut can leave garbage): drop it.
                r.torn_bytes += line.len() + 1;
                let keep = keep - line.len() - 1;
                r.completed = last_end_complete;
                return Ok((r, keep));
            }
            return Err(bad(
                i,
                &format!(
                    "unreadable record {:?}",
                    line.chars().take(60).collect::<String>()
                ),
            ));
        }
    }
    r.completed = last_end_complete;
    Ok((r, keep))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome<'a>(
        kind: OutcomeKind,
        email: &'a str,
        code: Option<u16>,
        text: &'a str,
    ) -> Record<'a> {
        Record::Outcome {
            kind,
            email,
            code,
            text,
        }
    }

    #[test]
    fn replay_tracks_states() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j/issue-1.journal");
        {
            let (j, r) = Journal::open(&p, "issue-1").unwrap();
            assert!(r.states.is_empty());
            j.append(Record::Start {
                recipients: 4,
                content_hash: "abc",
            })
            .unwrap();
            j.append(Record::Attempt {
                email: "A@x.example",
            })
            .unwrap();
            j.append(outcome(
                OutcomeKind::Delivered,
                "A@x.example",
                Some(250),
                "ok",
            ))
            .unwrap();
            j.append(outcome(
                OutcomeKind::Failed,
                "b@x.example",
                Some(550),
                "no\tsuch\nuser 100%",
            ))
            .unwrap();
            j.append(Record::Attempt {
                email: "c@x.example",
            })
            .unwrap();
            j.append(outcome(
                OutcomeKind::Temporary,
                "d@x.example",
                Some(451),
                "later",
            ))
            .unwrap();
            j.append(Record::Attempt {
                email: "e@x.example",
            })
            .unwrap();
            j.append(outcome(OutcomeKind::InDoubt, "e@x.example", None, "lost"))
                .unwrap();
        }
        let (_j, r) = Journal::open(&p, "issue-1").unwrap();
        assert_eq!(r.states["a@x.example"], State::Delivered);
        assert_eq!(
            r.states["b@x.example"],
            State::Failed {
                code: Some(550),
                text: "no\tsuch\nuser 100%".into()
            }
        );
        assert_eq!(r.states["d@x.example"], State::Pending);
        assert_eq!(r.in_doubt(), ["c@x.example", "e@x.example"]);
        assert_eq!(r.content_hash.as_deref(), Some("abc"));
        assert!(r.completed.is_none());
    }

    #[test]
    fn torn_last_line_is_cut_and_appending_continues() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.journal");
        {
            let (j, _) = Journal::open(&p, "i").unwrap();
            j.append(outcome(
                OutcomeKind::Delivered,
                "a@x.example",
                Some(250),
                "ok",
            ))
            .unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"D\t17000\tb@x.exa").unwrap();
        drop(f);
        {
            let (j, r) = Journal::open(&p, "i").unwrap();
            assert_eq!(r.torn_bytes, 15);
            assert!(!r.states.contains_key("b@x.exa"));
            j.append(outcome(
                OutcomeKind::Delivered,
                "c@x.example",
                Some(250),
                "ok",
            ))
            .unwrap();
        }
        let (_j, r) = Journal::open(&p, "i").unwrap();
        assert_eq!(r.torn_bytes, 0);
        assert_eq!(r.delivered(), 2);
        // A garbage last line (e.g. NULs after a power cut) is dropped too.
        drop(_j);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"\0\0\0\0\n").unwrap();
        drop(f);
        let (_j, r) = Journal::open(&p, "i").unwrap();
        assert_eq!(r.torn_bytes, 5);
        assert_eq!(r.delivered(), 2);
    }

    #[test]
    fn a_failed_background_sync_fails_the_next_append_and_the_final_sync() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.journal");
        let (j, _) = Journal::open(&p, "i").unwrap();
        j.append(outcome(
            OutcomeKind::Delivered,
            "a@x.example",
            Some(250),
            "ok",
        ))
        .unwrap();
        j.syncer.fail_next.store(true, Ordering::Release);
        // Wait for the background thread's next round (it syncs when dirty).
        let t = std::time::Instant::now();
        while j.syncer.failed().is_none() && t.elapsed() < SYNC_INTERVAL * 20 {
            std::thread::sleep(SYNC_INTERVAL / 4);
        }
        let e = j
            .append(outcome(
                OutcomeKind::Delivered,
                "b@x.example",
                Some(250),
                "ok",
            ))
            .unwrap_err();
        assert!(e.to_string().contains("injected write-back error"), "{e}");
        // The final sync reports it too, although fsync itself would now succeed.
        let e = j.sync().unwrap_err();
        let source = std::error::Error::source(&e).map(|s| s.to_string());
        assert!(
            source
                .as_deref()
                .is_some_and(|s| s.contains("an earlier sync to disk failed")),
            "{e}: {source:?}"
        );
        assert!(j.finish(&crate::send::Report::default()).is_err());
    }

    #[test]
    fn completion_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.journal");
        {
            let (j, _) = Journal::open(&p, "i").unwrap();
            j.append(Record::Start {
                recipients: 1,
                content_hash: "h",
            })
            .unwrap();
            j.append(outcome(
                OutcomeKind::Delivered,
                "a@x.example",
                Some(250),
                "ok",
            ))
            .unwrap();
            j.append(Record::End {
                sent: 1,
                failed: 0,
                deferred: 0,
                complete: true,
            })
            .unwrap();
        }
        {
            let (j, r) = Journal::open(&p, "i").unwrap();
            assert_eq!(r.completed.as_ref().map(|c| c.sent), Some(1));
            j.append(Record::Reset).unwrap();
        }
        let (_j, r) = Journal::open(&p, "i").unwrap();
        assert!(r.completed.is_none());
        assert!(r.states.is_empty());
    }

    #[test]
    fn wrong_issue_and_lock() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.journal");
        let (j, _) = Journal::open(&p, "i").unwrap();
        let e = Journal::open(&p, "i").unwrap_err().to_string();
        assert!(e.contains("another `letterpress send`"), "{e}");
        drop(j);
        let e = Journal::open(&p, "other").unwrap_err().to_string();
        assert!(e.contains("belongs to `i`"), "{e}");
    }

    #[test]
    fn damaged_middle_record_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.journal");
        std::fs::write(
            &p,
            "letterpress-journal\t1\ti\nZZZ\nD\t1\ta@x.example\t250\tok\n",
        )
        .unwrap();
        let e = Journal::open(&p, "i").unwrap_err().to_string();
        assert!(e.contains(":2:"), "{e}");
    }
}
