//! The list-send protocol: what `send` to the whole list does around the
//! delivery engine, as data, so `cmd/send.rs` only asks and prints.
//!
//! [`Campaign::open`] takes the journal's lock and reads it back, refuses a
//! completed issue (unless `--resend` / `--retry-failed`), writes the reset
//! of `--resend`, asks the audience who may be mailed (the list's active readers minus the
//! store's suppressions, see [`crate::audience::mailable`]) and applies the
//! journal ([`super::select`]). [`Campaign::confirmation`] is the question
//! to put to the author; [`Campaign::begin`] writes the start record;
//! [`Campaign::finish`] the end record, the new hard bounces into the store,
//! and the problems report, which covers the whole issue across resumes.
//!
//! Hard bounces are decided from the parsed RFC 3463 enhanced status code,
//! never from the reply's words: see [`is_hard_bounce`]. They are recorded
//! when the run ends (also after Ctrl-C); a `kill -9` loses that run's, and
//! the next issue's send meets the same reply and records it then. (They are
//! not re-read from the journal: that would undo an author's later
//! `audience resubscribe`.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::audience::store::{Event, EventKind, Source, Store, Suppressions};
use crate::audience::{self, AddressKey, Skipped};
use crate::compose::RenderedEmail;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::send::journal::{self, Journal, Record, Replay, State};
use crate::send::smtp::error::{printable, EnhancedStatus};
use crate::send::{content_hash, select, Report, Selection};
use crate::subscribers::Subscribers;

/// How this run treats earlier ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `--resend`: forget earlier outcomes and send to everyone again.
    pub resend: bool,
    /// `--retry-failed`: include those who failed for good earlier.
    pub retry_failed: bool,
    /// `--skip-remote`: do not pull the events of a `listen` on another
    /// machine (`[audience] remote_url`) first. Without it a failed pull
    /// stops the send (fail closed).
    pub skip_remote: bool,
}

/// True when `code` and the enhanced status at the start of `text` say the
/// mailbox or the domain does not exist, so mailing it again is pointless:
/// `5.1.1` bad mailbox, `5.1.2` bad domain, `5.1.3` bad address syntax,
/// `5.1.6` mailbox moved, `5.1.10` null MX (RFC 7505). Policy refusals
/// (`5.7.x`), full mailboxes and everything without an enhanced code do not
/// count: those are usually the sender's problem, and `--retry-failed`
/// exists for them.
pub fn is_hard_bounce(status: Option<EnhancedStatus>) -> bool {
    matches!(
        status,
        Some(EnhancedStatus {
            class: 5,
            subject: 1,
            detail: 1 | 2 | 3 | 6 | 10,
        })
    )
}

/// The enhanced status of a failure as the report and the journal hold it
/// (`code` and `"<code> <x.y.z> text (at STAGE)"`), when its class agrees
/// with the reply code.
pub fn status_of(code: Option<u16>, text: &str) -> Option<EnhancedStatus> {
    let code = code?;
    let rest = text.strip_prefix(&code.to_string())?;
    EnhancedStatus::parse(rest).filter(|e| u16::from(e.class) == code / 100)
}

/// The hard-bounce events for failures `(email, code, text)`, skipping
/// addresses the store already suppresses as bounced.
fn hard_bounces<'a>(
    failures: impl Iterator<Item = (&'a str, Option<u16>, &'a str)>,
    known: &Suppressions,
) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    for (email, code, text) in failures {
        if !is_hard_bounce(status_of(code, text)) {
            continue;
        }
        let Ok(key) = AddressKey::parse(email) else {
            continue;
        };
        if known
            .get(&key)
            .is_some_and(|s| s.kind == EventKind::HardBounce)
            || events.iter().any(|e| e.address == key)
        {
            continue;
        }
        events.push(Event::now(
            key,
            EventKind::HardBounce,
            Source::SmtpReply,
            printable(text),
        ));
    }
    events
}

/// Opens the audience store that `config` names.
pub fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.resolve(&config.audience.store))
}

/// The store's suppressions for a run that changes nothing (`--dry-run`):
/// none when there is no store yet, and no store is created.
pub fn peek_suppressions(config: &Config) -> Result<Suppressions> {
    let path = config.resolve(&config.audience.store);
    if !path.exists() {
        return Ok(Suppressions::default());
    }
    Store::open(&path)?.suppressions()
}

/// Who a `--dry-run` writes to: the same choice as a real run, from the
/// local store (if any) and the journal, without locking or writing either.
pub fn dry_run_selection(
    config: &Config,
    subscribers: Subscribers,
    journal_path: &Path,
    key: &str,
    retry_failed: bool,
) -> Result<(Selection, Skipped, Replay)> {
    let suppressions = peek_suppressions(config)?;
    let replay = journal::peek(journal_path, key)?;
    let who = audience::mailable(subscribers, &suppressions);
    let sel = select(who.recipients, &replay, retry_failed);
    Ok((sel, who.skipped, replay))
}

/// A send of one issue to the list, from the journal's lock to its end record.
#[derive(Debug)]
pub struct Campaign {
    key: String,
    journal: Arc<Journal>,
    journal_path: PathBuf,
    store: Store,
    content_hash: String,
    /// The journal as it was (after a `--resend` reset: empty).
    pub replay: Replay,
    /// This run's recipients, and who the journal skips.
    pub selection: Selection,
    /// Active readers the store suppresses, skipped at the start of this run.
    pub skipped: Skipped,
    /// Things the author should know before confirming (a torn journal, an
    /// issue edited half-way).
    pub notes: Vec<String>,
}

/// The question to put to the author before the list is mailed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// `Send issue-12 “Subject” to 63 recipients via smtp://… (4 connections)?`
    pub question: String,
}

/// What [`Campaign::finish`] did.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// Nothing is left to send (failures aside).
    pub complete: bool,
    /// Hard bounces this run recorded in the audience store.
    pub hard_bounces: usize,
    /// The problems report, when there are problems: every recipient of the
    /// issue (all runs since the last `--resend`) who failed or is pending.
    pub problems: Option<PathBuf>,
}

impl Campaign {
    /// Opens the journal at `journal_path` for the issue `key` and the
    /// audience store, and chooses this run's recipients from `subscribers`.
    pub fn open(
        config: &Config,
        subscribers: Subscribers,
        key: &str,
        email: &RenderedEmail,
        journal_path: &Path,
        opts: Options,
    ) -> Result<Campaign> {
        let store = open_store(config)?;
        let mut notes = Vec::new();
        if opts.skip_remote {
            if let Some(url) = &config.audience.remote_url {
                notes.push(format!(
                    "--skip-remote: the unsubscribes at {url} since the last pull were not fetched"
                ));
            }
        } else if let Some(p) = audience::remote::pull_blocking(config, &store)? {
            notes.push(format!(
                "pulled {} new events from {} (audience.remote_url)",
                p.events,
                config.audience.remote_url.as_deref().unwrap_or_default()
            ));
        }
        let (journal, mut replay) = Journal::open(journal_path, key)?;
        if replay.torn_bytes > 0 {
            notes.push(format!(
                "the journal ended in a torn record ({} bytes, from a crash); it was cut off",
                replay.torn_bytes
            ));
        }
        if let Some(done) = &replay.completed {
            if !opts.resend && !opts.retry_failed {
                let when = chrono::DateTime::from_timestamp_millis(done.at_ms as i64)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default();
                return Err(Error::Usage(format!(
                    "{key} was already sent to the whole list ({when}; {} delivered, {} failed in the last run). \
                     Nothing was sent. Use --retry-failed to retry the failed recipients, or --resend to send it to everyone again.",
                    replay.delivered(),
                    replay.failed()
                )));
            }
        }
        let suppressions = store.suppressions()?;
        if opts.resend {
            journal
                .append(Record::Reset)
                .map_err(|e| Error::io("write", journal_path, e))?;
            replay = Replay::default();
        }
        let hash = content_hash(email);
        if let Some(old) = &replay.content_hash {
            if *old != hash && replay.delivered() > 0 {
                notes.push(format!(
                    "the issue changed since this send began; the {} recipients already sent to got the earlier version",
                    replay.delivered()
                ));
            }
        }
        let who = audience::mailable(subscribers, &suppressions);
        let selection = select(who.recipients, &replay, opts.retry_failed);
        Ok(Campaign {
            key: key.to_string(),
            journal: Arc::new(journal),
            journal_path: journal_path.to_path_buf(),
            store,
            content_hash: hash,
            replay,
            selection,
            skipped: who.skipped,
            notes,
        })
    }

    /// The question for the author: what goes where, over how many connections.
    pub fn confirmation(&self, subject: &str, via: &str, connections: usize) -> Confirmation {
        let n = self.selection.recipients.len();
        Confirmation {
            question: format!(
                "Send {} “{}” to {} recipient{} via {} ({} connection{})?",
                self.key,
                subject,
                n,
                if n == 1 { "" } else { "s" },
                via,
                connections,
                if connections == 1 { "" } else { "s" },
            ),
        }
    }

    /// Ends a run that has nobody to send to: the issue is complete.
    pub fn finish_empty(self) -> Result<()> {
        self.append(Record::End {
            sent: 0,
            failed: 0,
            deferred: 0,
            complete: true,
        })?;
        self.journal.sync()
    }

    /// Writes the start record and hands out the recipients and the journal
    /// for the delivery engine.
    pub fn begin(&mut self) -> Result<(Vec<crate::message::Recipient>, Arc<Journal>)> {
        self.append(Record::Start {
            recipients: self.selection.recipients.len(),
            content_hash: &self.content_hash,
        })?;
        Ok((
            std::mem::take(&mut self.selection.recipients),
            self.journal.clone(),
        ))
    }

    fn append(&self, record: Record<'_>) -> Result<()> {
        self.journal
            .append(record)
            .map_err(|e| Error::io("write", &self.journal_path, e))
    }

    /// Where the problems report of this issue goes.
    pub fn problems_path(&self) -> PathBuf {
        self.journal_path.with_extension("problems.tsv")
    }

    /// Writes the end record, records this run's hard bounces in the store,
    /// and rewrites the problems report for the whole issue.
    pub fn finish(self, report: &Report) -> Result<Finished> {
        let complete = report.nothing_left();
        self.journal.finish(report)?;
        let known = self.store.suppressions()?;
        let bounces = hard_bounces(
            report
                .failed
                .iter()
                .map(|p| (p.email.as_str(), p.code, p.text.as_str())),
            &known,
        );
        if !bounces.is_empty() {
            self.store.record(&bounces)?;
        }
        let problems = self.write_problems(report)?;
        Ok(Finished {
            complete,
            hard_bounces: bounces.len(),
            problems,
        })
    }

    /// The problems report: every recipient the journal (all runs since the
    /// last reset) shows as failed or still pending, with the server's reply.
    /// Removed when there are none left.
    fn write_problems(&self, report: &Report) -> Result<Option<PathBuf>> {
        let path = self.problems_path();
        let replay = journal::peek(&self.journal_path, &self.key)?;
        let mut rows: Vec<(&str, &str, String, String)> = Vec::new();
        let this_run: std::collections::HashMap<String, &crate::send::Problem> = report
            .deferred
            .iter()
            .map(|p| (journal::key(&p.email), p))
            .collect();
        for (email, state) in &replay.states {
            match state {
                State::Failed { code, text } => rows.push((
                    "failed",
                    email,
                    code.map(|c| c.to_string()).unwrap_or_default(),
                    text.clone(),
                )),
                State::Pending | State::InDoubt => {
                    let (code, text) = match this_run.get(email) {
                        Some(p) => (
                            p.code.map(|c| c.to_string()).unwrap_or_default(),
                            p.text.clone(),
                        ),
                        None => (
                            String::new(),
                            "not attempted in the last run; `send` again resumes".into(),
                        ),
                    };
                    rows.push(("deferred", email, code, text));
                }
                State::Delivered => {}
            }
        }
        if rows.is_empty() {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("remove", &path, e))
                }
                _ => return Ok(None),
            }
        }
        rows.sort();
        let mut s = String::from("outcome\temail\tcode\ttext\n");
        for (kind, email, code, text) in rows {
            s.push_str(&format!(
                "{kind}\t{email}\t{code}\t{}\n",
                printable(&text.replace(['\t', '\n', '\r'], " "))
            ));
        }
        write_private(&path, s.as_bytes())?;
        Ok(Some(path))
    }
}

/// Writes `path` readable by its owner only (0600): for files that hold
/// readers' addresses.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| Error::io("write", path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io("chmod", path, e))?;
    }
    f.write_all(bytes).map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_bounces_come_from_the_parsed_code() {
        let hard = |code, text: &str| is_hard_bounce(status_of(Some(code), text));
        assert!(hard(550, "550 5.1.1 no such user (at RCPT TO)"));
        assert!(hard(550, "550 5.1.2 bad destination system (at RCPT TO)"));
        assert!(hard(553, "553 5.1.3 bad address syntax (at RCPT TO)"));
        assert!(hard(550, "550 5.1.10 null MX (at RCPT TO)"));
        assert!(hard(550, "550 5.1.6 mailbox moved (at end of data)"));
        // Policy, content, full, unknown: not a bounce.
        assert!(!hard(554, "554 5.7.1 relay access denied (at RCPT TO)"));
        assert!(!hard(552, "552 5.2.2 mailbox full (at end of data)"));
        assert!(!hard(550, "550 5.1.7 bad sender (at MAIL FROM)"));
        assert!(!hard(550, "550 no such user here (at RCPT TO)"));
        // The words do not count, the code does.
        assert!(!hard(550, "550 user unknown 5.1.1 (at RCPT TO)"));
        // A class that disagrees with the reply code is ignored.
        assert!(!hard(550, "550 4.1.1 try later (at RCPT TO)"));
        assert!(!is_hard_bounce(status_of(None, "connection refused")));
    }

    #[test]
    fn report_text_has_no_control_characters() {
        let t = printable("550 5.1.1 \u{1b}[31mred\u{7}\r\n");
        assert!(!t.chars().any(char::is_control), "{t}");
        assert!(t.contains("\\u{1b}"), "{t}");
    }

    #[test]
    fn private_files_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.tsv");
        write_private(&p, b"x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
