//! The audience store: what the world answered (unsubscribes, resubscribes,
//! bounces, complaints), one SQLite file (bundled SQLite, WAL), by default
//! `.letterpress/audience.db` beside the journal.
//!
//! The store is an append-only log of [`Event`]s; "is this address
//! suppressed, and why" is folded from it (see [`Suppression`] for the rules).
//! `subscribers.toml` stays the author's file: nothing here rewrites it.
//!
//! Writes are durable on return: every transaction commits with
//! `synchronous=FULL`. Many small writes from many requests (the `listen`
//! service) go through [`GroupCommit`], which commits them in batches and
//! answers each submitter only once its batch is on disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use super::address::AddressKey;
use crate::error::{Error, Result};

/// How long a write waits for another process's lock before giving up.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema, one migration per version: `PRAGMA user_version` is the
/// number of migrations applied. Append only; never edit a shipped entry.
const MIGRATIONS: &[&str] = &[
    // 1: the event log, and the cursor of each remote `listen` pulled from.
    "CREATE TABLE events (
        id      INTEGER PRIMARY KEY,
        address TEXT    NOT NULL,
        kind    TEXT    NOT NULL,
        source  TEXT    NOT NULL,
        at_ms   INTEGER NOT NULL,
        detail  TEXT    NOT NULL
     );
     CREATE INDEX events_by_address ON events(address, at_ms);
     CREATE TABLE remote_cursor (
        remote  TEXT PRIMARY KEY,
        last_id INTEGER NOT NULL
     ) WITHOUT ROWID;",
    // 2 (bounces): the reports already counted (never twice), and the
    // distinct issues each address soft-bounced on.
    "CREATE TABLE processed_reports (
        report  TEXT    PRIMARY KEY,
        at_ms   INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE soft_bounce_issues (
        address TEXT    NOT NULL,
        issue   TEXT    NOT NULL,
        at_ms   INTEGER NOT NULL,
        PRIMARY KEY (address, issue)
     ) WITHOUT ROWID;",
    // 3 (sign-up): the per-address "one confirmation mail a day" check
    // looks up an address's latest event of one kind.
    "CREATE INDEX events_by_kind ON events(kind, address, at_ms);",
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// What kind of trouble the store is in (carried by [`Error::Store`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreProblem {
    /// Another process holds the write lock past the busy timeout.
    Locked,
    /// The file is not an SQLite database, or is damaged.
    Corrupt,
    /// The file was written by a newer letterpress.
    TooNew,
    /// The file cannot be opened or written (permissions, disk full...).
    Unusable,
}

/// What happened to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The reader asked to stop getting the newsletter.
    Unsubscribe,
    /// The reader (or the author, for them) asked to get it again.
    Resubscribe,
    /// The mailbox or domain does not exist (a permanent 5.1.x failure).
    HardBounce,
    /// A temporary delivery failure. Never suppresses by itself; counted by
    /// [`Store::soft_bounces_since`] so a policy can act on repeats.
    SoftBounce,
    /// The reader marked a message as spam (a feedback-loop report).
    Complaint,
    /// Someone asked to sign up through `listen`'s form and a confirmation
    /// mail went out (the detail is the name given). Mails nobody by itself.
    SignUp,
    /// The address confirmed a sign-up (the button behind the mailed link):
    /// from now on it is mailed, and it lifts an earlier unsubscribe.
    Confirm,
}

impl EventKind {
    /// Every kind, in a stable order.
    pub const ALL: [EventKind; 7] = [
        EventKind::Unsubscribe,
        EventKind::Resubscribe,
        EventKind::HardBounce,
        EventKind::SoftBounce,
        EventKind::Complaint,
        EventKind::SignUp,
        EventKind::Confirm,
    ];

    /// The name stored in the database and shown to the author.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Unsubscribe => "unsubscribe",
            EventKind::Resubscribe => "resubscribe",
            EventKind::HardBounce => "hard-bounce",
            EventKind::SoftBounce => "soft-bounce",
            EventKind::Complaint => "complaint",
            EventKind::SignUp => "sign-up",
            EventKind::Confirm => "confirm",
        }
    }

    /// The kind named `s` (as written by [`EventKind::as_str`]).
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An RFC 8058 one-click POST from a mail client.
    OneClick,
    /// The button on the unsubscribe page.
    Page,
    /// The author, with `letterpress audience unsubscribe|resubscribe`.
    Manual,
    /// An SMTP reply during a send (a hard bounce).
    SmtpReply,
    /// Pulled from a `listen` running on another machine.
    Remote,
    /// Imported from another platform's export.
    Import,
    /// A report read from the bounce mailbox (`letterpress bounces`).
    Mailbox,
    /// A relay's bounce or complaint webhook (SES through SNS, Postmark,
    /// Mailgun), posted to `listen`.
    Webhook,
}

impl Source {
    /// Every source, in a stable order.
    pub const ALL: [Source; 8] = [
        Source::OneClick,
        Source::Page,
        Source::Manual,
        Source::SmtpReply,
        Source::Remote,
        Source::Import,
        Source::Mailbox,
        Source::Webhook,
    ];

    /// The name stored in the database and shown to the author.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::OneClick => "one-click",
            Source::Page => "page",
            Source::Manual => "manual",
            Source::SmtpReply => "smtp-reply",
            Source::Remote => "remote",
            Source::Import => "import",
            Source::Mailbox => "mailbox",
            Source::Webhook => "webhook",
        }
    }

    /// The source named `s` (as written by [`Source::as_str`]).
    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One thing that happened to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Whom it concerns.
    pub address: AddressKey,
    /// What happened.
    pub kind: EventKind,
    /// Where it came from.
    pub source: Source,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Free text: the SMTP reply, the note of the author, ... Never shown to readers.
    pub detail: String,
}

impl Event {
    /// An event that happens now.
    pub fn now(
        address: AddressKey,
        kind: EventKind,
        source: Source,
        detail: impl Into<String>,
    ) -> Event {
        Event {
            address,
            kind,
            source,
            at_ms: now_ms(),
            detail: detail.into(),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Why an address must not be mailed: the event that decided it.
///
/// The rules, applied to an address's events in time order:
/// - the latest of `Unsubscribe` / `Resubscribe` decides whether the reader
///   opted out;
/// - a `HardBounce` or `Complaint` suppresses until the author lifts it with
///   a manual `Resubscribe` (a reader's undo link lifts only an unsubscribe);
/// - a `SoftBounce` never suppresses by itself.
///
/// When both apply, the bounce or complaint is the reason given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// `Unsubscribe`, `HardBounce` or `Complaint`.
    pub kind: EventKind,
    /// Where the deciding event came from.
    pub source: Source,
    /// When it happened (ms since the epoch).
    pub at_ms: i64,
    /// Its detail.
    pub detail: String,
}

/// Everything `send` must skip, in memory, and the confirmed sign-ups it
/// must add.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    map: HashMap<AddressKey, Suppression>,
    /// Confirmed sign-ups not suppressed since, with the name they gave.
    confirmed: Vec<(AddressKey, Option<String>)>,
}

impl Suppressions {
    /// Why `key` is suppressed, or `None` when it may be mailed.
    pub fn get(&self, key: &AddressKey) -> Option<&Suppression> {
        self.map.get(key)
    }
    /// How many addresses are suppressed.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// True when nobody is suppressed.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Every suppressed address with its reason, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&AddressKey, &Suppression)> {
        self.map.iter()
    }
    /// The addresses that confirmed a sign-up and are not suppressed since
    /// (a later unsubscribe, bounce or complaint wins), with the name given
    /// on the form; in address order.
    pub fn confirmed(&self) -> &[(AddressKey, Option<String>)] {
        &self.confirmed
    }
}

/// How many addresses are suppressed, by reason, and how many events there are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Suppressed because they unsubscribed.
    pub unsubscribed: usize,
    /// Suppressed because of a hard bounce.
    pub bounced: usize,
    /// Suppressed because of a complaint.
    pub complained: usize,
    /// Soft bounces recorded (events, not addresses).
    pub soft_bounces: usize,
    /// Events recorded in all.
    pub events: usize,
}

/// The folding of one address's events, in time order, into its suppression.
#[derive(Default)]
struct Fold {
    opted_out: Option<Suppression>,
    blocked: Option<Suppression>,
    /// The name of the latest sign-up request.
    name: Option<String>,
    /// A sign-up was confirmed (and not opted out of since).
    confirmed: bool,
}

impl Fold {
    fn apply(&mut self, kind: EventKind, source: Source, at_ms: i64, detail: String) {
        let s = || Suppression {
            kind,
            source,
            at_ms,
            detail: detail.clone(),
        };
        match kind {
            EventKind::Unsubscribe => self.opted_out = Some(s()),
            EventKind::Resubscribe => {
                self.opted_out = None;
                if source == Source::Manual {
                    self.blocked = None;
                }
            }
            EventKind::HardBounce | EventKind::Complaint => self.blocked = Some(s()),
            EventKind::SoftBounce => {}
            EventKind::SignUp => self.name = Some(detail.clone()).filter(|n| !n.is_empty()),
            EventKind::Confirm => {
                self.opted_out = None;
                self.confirmed = true;
            }
        }
        if kind == EventKind::Unsubscribe {
            self.confirmed = false;
        }
    }

    fn finish(self) -> Option<Suppression> {
        self.blocked.or(self.opted_out)
    }
}

/// The audience store. Cheap to share between threads (one connection
/// behind a mutex); open a second `Store` on the same file for a second
/// connection.
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens the store at `path`, creating it (mode 0600, and its directory)
    /// on first use and migrating its schema. Errors name the path and say
    /// what to do when the file is locked, damaged or newer than this binary.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with_timeout(path, DEFAULT_BUSY_TIMEOUT)
    }

    /// [`Store::open`], waiting at most `busy` for another process's lock.
    pub fn open_with_timeout(path: &Path, busy: Duration) -> Result<Store> {
        create_private(path)?;
        let fail = |e: rusqlite::Error| store_error(path, "open", e);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(fail)?;
        conn.busy_timeout(busy).map_err(fail)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Store {
                path: path.to_path_buf(),
                problem: StoreProblem::Unusable,
                message: format!(
                    "SQLite refused write-ahead logging (journal mode stays `{mode}`); \
                     keep the store on a local disk, not a network share"
                ),
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        let store = Store {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (an open
        // transaction rolls back when dropped), so a poisoned lock is usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |e| store_error(&self.path, action, e)
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.lock();
        // Up to date: no write lock needed (another process may hold it).
        let current: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.err("read the schema version of"))?;
        if current == SCHEMA_VERSION {
            return Ok(());
        }
        // Every step still to take, in ONE transaction (one commit, one
        // fsync, for a new store too): all of them happen, or none.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err("migrate"))?;
        loop {
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(self.err("read the schema version of"))?;
            if version > SCHEMA_VERSION {
                return Err(Error::Store {
                    path: self.path.clone(),
                    problem: StoreProblem::TooNew,
                    message: format!(
                        "the store has schema version {version}, written by a newer letterpress \
                         (this one knows up to {SCHEMA_VERSION}); upgrade letterpress, or point \
                         `[audience] store` at another file"
                    ),
                });
            }
            if version == SCHEMA_VERSION {
                return tx.commit().map_err(self.err("migrate"));
            }
            tx.execute_batch(MIGRATIONS[version as usize])
                .map_err(self.err("migrate"))?;
            tx.pragma_update(None, "user_version", version + 1)
                .map_err(self.err("migrate"))?;
        }
    }

    /// Copies what the write-ahead log holds back into the database file,
    /// as far as readers allow, without waiting for anyone.
    pub fn checkpoint(&self) -> Result<()> {
        self.lock()
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(self.err("checkpoint"))
    }

    /// Records `events` in one transaction; durable on disk when this returns.
    pub fn record(&self, events: &[Event]) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err("write to"))?;
        insert(&tx, events).map_err(self.err("write to"))?;
        tx.commit().map_err(self.err("write to"))
    }

    /// Everything `send` must skip, folded from the whole log.
    pub fn suppressions(&self) -> Result<Suppressions> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT address, kind, source, at_ms, detail FROM events
                 WHERE kind <> 'soft-bounce' ORDER BY address, at_ms, id",
            )
            .map_err(self.err("read"))?;
        let mut rows = stmt.query([]).map_err(self.err("read"))?;
        let mut map = HashMap::new();
        let mut confirmed = Vec::new();
        let mut current: Option<(String, Fold)> = None;
        let mut flush = |current: Option<(String, Fold)>| -> Result<()> {
            if let Some((address, fold)) = current {
                let (signed_up, name) = (fold.confirmed, fold.name.clone());
                match fold.finish() {
                    Some(s) => {
                        map.insert(self.key(address), s);
                    }
                    None if signed_up => confirmed.push((self.key(address), name)),
                    None => {}
                }
            }
            Ok(())
        };
        while let Some(row) = rows.next().map_err(self.err("read"))? {
            let address: String = row.get(0).map_err(self.err("read"))?;
            let (kind, source, at_ms, detail) = self.row_event(row)?;
            if current.as_ref().map_or(true, |(a, _)| *a != address) {
                flush(current.take())?;
                current = Some((address, Fold::default()));
            }
            if let Some((_, fold)) = current.as_mut() {
                fold.apply(kind, source, at_ms, detail);
            }
        }
        flush(current)?;
        Ok(Suppressions { map, confirmed })
    }

    /// Whether `key` is suppressed, and why.
    pub fn status(&self, key: &AddressKey) -> Result<Option<Suppression>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT address, kind, source, at_ms, detail FROM events
                 WHERE address = ?1 AND kind <> 'soft-bounce' ORDER BY at_ms, id",
            )
            .map_err(self.err("read"))?;
        let mut rows = stmt.query([key.as_str()]).map_err(self.err("read"))?;
        let mut fold = Fold::default();
        while let Some(row) = rows.next().map_err(self.err("read"))? {
            let (kind, source, at_ms, detail) = self.row_event(row)?;
            fold.apply(kind, source, at_ms, detail);
        }
        Ok(fold.finish())
    }

    /// When `key` last had an event of `kind` (ms since the epoch), if ever:
    /// `listen` mails one sign-up confirmation per address a day by it.
    pub fn last_event(&self, key: &AddressKey, kind: EventKind) -> Result<Option<i64>> {
        self.lock()
            .query_row(
                "SELECT max(at_ms) FROM events WHERE kind = ?1 AND address = ?2",
                params![kind.as_str(), key.as_str()],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map_err(self.err("read"))
    }

    /// Soft bounces of `key` at or after `since_ms`: a later bounce policy
    /// ("suppress after 3 in a row") counts them from here.
    pub fn soft_bounces_since(&self, key: &AddressKey, since_ms: i64) -> Result<u64> {
        self.lock()
            .query_row(
                "SELECT count(*) FROM events
                 WHERE address = ?1 AND kind = 'soft-bounce' AND at_ms >= ?2",
                params![key.as_str(), since_ms],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(self.err("read"))
    }

    /// The latest `limit` events, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<Event>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT address, kind, source, at_ms, detail FROM events
                 ORDER BY id DESC LIMIT ?1",
            )
            .map_err(self.err("read"))?;
        let mut rows = stmt
            .query([limit.min(i64::MAX as usize) as i64])
            .map_err(self.err("read"))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(self.err("read"))? {
            out.push(self.row_full(row)?);
        }
        Ok(out)
    }

    /// Up to `limit` events with an id greater than `after`, oldest first,
    /// each with its id (the cursor of `GET /api/events?since=`).
    pub fn events_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, Event)>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT address, kind, source, at_ms, detail, id FROM events
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(self.err("read"))?;
        let mut rows = stmt
            .query(params![after, limit.min(i64::MAX as usize) as i64])
            .map_err(self.err("read"))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(self.err("read"))? {
            let id: i64 = row.get(5).map_err(self.err("read"))?;
            out.push((id, self.row_full(row)?));
        }
        Ok(out)
    }

    /// The last event id pulled from `remote` (0 when never pulled).
    pub fn remote_cursor(&self, remote: &str) -> Result<i64> {
        self.lock()
            .query_row(
                "SELECT last_id FROM remote_cursor WHERE remote = ?1",
                [remote],
                |r| r.get(0),
            )
            .optional()
            .map(|v| v.unwrap_or(0))
            .map_err(self.err("read"))
    }

    /// Records events pulled from `remote` and moves its cursor to `last_id`,
    /// in one transaction: a pull interrupted half way is simply redone.
    pub fn record_pulled(&self, remote: &str, last_id: i64, events: &[Event]) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err("write to"))?;
        insert(&tx, events).map_err(self.err("write to"))?;
        tx.execute(
            "INSERT INTO remote_cursor(remote, last_id) VALUES (?1, ?2)
             ON CONFLICT(remote) DO UPDATE SET last_id = excluded.last_id",
            params![remote, last_id],
        )
        .map_err(self.err("write to"))?;
        tx.commit().map_err(self.err("write to"))
    }

    /// Counts of suppressed addresses by reason, and of events.
    pub fn counts(&self) -> Result<Counts> {
        let mut counts = Counts::default();
        for s in self.suppressions()?.map.values() {
            match s.kind {
                EventKind::HardBounce => counts.bounced += 1,
                EventKind::Complaint => counts.complained += 1,
                _ => counts.unsubscribed += 1,
            }
        }
        let conn = self.lock();
        let (events, soft): (i64, i64) = conn
            .query_row(
                "SELECT count(*), coalesce(sum(kind = 'soft-bounce'), 0) FROM events",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.err("read"))?;
        counts.events = events as usize;
        counts.soft_bounces = soft as usize;
        Ok(counts)
    }

    fn key(&self, address: String) -> AddressKey {
        // Only keys (canonical already) are ever written.
        AddressKey::from_canonical(address)
    }

    fn corrupt(&self, what: String) -> Error {
        Error::Store {
            path: self.path.clone(),
            problem: StoreProblem::Corrupt,
            message: format!(
                "{what}; the store is damaged: restore it from a backup (docs/deploy.md) \
                 or move it aside to start an empty one"
            ),
        }
    }

    fn row_event(&self, row: &rusqlite::Row<'_>) -> Result<(EventKind, Source, i64, String)> {
        let kind: String = row.get(1).map_err(self.err("read"))?;
        let source: String = row.get(2).map_err(self.err("read"))?;
        let kind = EventKind::parse(&kind)
            .ok_or_else(|| self.corrupt(format!("unknown event kind `{kind}`")))?;
        let source = Source::parse(&source)
            .ok_or_else(|| self.corrupt(format!("unknown event source `{source}`")))?;
        Ok((
            kind,
            source,
            row.get(3).map_err(self.err("read"))?,
            row.get(4).map_err(self.err("read"))?,
        ))
    }

    fn row_full(&self, row: &rusqlite::Row<'_>) -> Result<Event> {
        let address: String = row.get(0).map_err(self.err("read"))?;
        let (kind, source, at_ms, detail) = self.row_event(row)?;
        Ok(Event {
            address: self.key(address),
            kind,
            source,
            at_ms,
            detail,
        })
    }
}

/// One report for [`Store::record_reports`]: what [`Store::record_report`]
/// takes, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct ReportRecord<'a> {
    /// The report's name (its Message-ID, or a digest of it).
    pub report: &'a str,
    /// Its events.
    pub events: &'a [Event],
    /// The `(address, issue)` pairs of its soft bounces.
    pub soft: &'a [(AddressKey, String)],
}

fn insert(tx: &rusqlite::Transaction<'_>, events: &[Event]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO events(address, kind, source, at_ms, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for e in events {
        stmt.execute(params![
            e.address.as_str(),
            e.kind.as_str(),
            e.source.as_str(),
            e.at_ms,
            e.detail
        ])?;
    }
    Ok(())
}

/// Whether one report was counted (0 or 1), by its name.
const REPORT_RECORDED: &str = "SELECT count(*) FROM processed_reports WHERE report = ?1";

impl Store {
    /// Records the events of one bounce report, named `report` (its
    /// Message-ID, or a digest of it), in one transaction with the mark that
    /// it was counted, and the `(address, issue)` pairs of its soft bounces.
    /// Returns false, writing nothing, when `report` was recorded before:
    /// reading a mailbox twice never counts a report twice.
    pub fn record_report(
        &self,
        report: &str,
        events: &[Event],
        soft: &[(AddressKey, String)],
    ) -> Result<bool> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err("write to"))?;
        let fresh = tx
            .execute(
                "INSERT OR IGNORE INTO processed_reports(report, at_ms) VALUES (?1, ?2)",
                params![report, now_ms()],
            )
            .map_err(self.err("write to"))?;
        if fresh == 0 {
            return Ok(false);
        }
        insert(&tx, events).map_err(self.err("write to"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO soft_bounce_issues(address, issue, at_ms)
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(self.err("write to"))?;
            for (key, issue) in soft {
                stmt.execute(params![key.as_str(), issue, now_ms()])
                    .map_err(self.err("write to"))?;
            }
        }
        tx.commit().map_err(self.err("write to"))?;
        Ok(true)
    }

    /// Whether the report named `report` was recorded by [`Store::record_report`].
    pub fn report_recorded(&self, report: &str) -> Result<bool> {
        // Cached: `bounces` asks once per message, and preparing the
        // statement anew each time was most of the cost.
        self.lock()
            .prepare_cached(REPORT_RECORDED)
            .and_then(|mut q| q.query_row([report], |r| r.get::<_, i64>(0)))
            .map(|n| n > 0)
            .map_err(self.err("read"))
    }

    /// [`Store::report_recorded`] for many reports at once, in one read
    /// transaction (one lock of the log, not one per report); the answers
    /// are in the order asked.
    pub fn reports_recorded(&self, reports: &[&str]) -> Result<Vec<bool>> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(self.err("read"))?;
        let mut out = Vec::with_capacity(reports.len());
        {
            let mut q = tx
                .prepare_cached(REPORT_RECORDED)
                .map_err(self.err("read"))?;
            for r in reports {
                let n: i64 = q
                    .query_row([r], |row| row.get(0))
                    .map_err(self.err("read"))?;
                out.push(n > 0);
            }
        }
        tx.commit().map_err(self.err("read"))?;
        Ok(out)
    }

    /// [`Store::record_report`] for many reports in ONE transaction (one
    /// fsync for the lot): all of them are committed, or none is. Each gets
    /// the same never-twice mark; the answer says, per report and in order,
    /// whether it was fresh (false, writing nothing for it, when it was
    /// recorded before or earlier in this same batch).
    pub fn record_reports(&self, reports: &[ReportRecord<'_>]) -> Result<Vec<bool>> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err("write to"))?;
        let mut fresh = Vec::with_capacity(reports.len());
        {
            let mut mark = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO processed_reports(report, at_ms) VALUES (?1, ?2)",
                )
                .map_err(self.err("write to"))?;
            let mut soft = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO soft_bounce_issues(address, issue, at_ms)
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(self.err("write to"))?;
            for r in reports {
                let at = now_ms();
                let new = mark
                    .execute(params![r.report, at])
                    .map_err(self.err("write to"))?
                    > 0;
                fresh.push(new);
                if !new {
                    continue;
                }
                insert(&tx, r.events).map_err(self.err("write to"))?;
                for (key, issue) in r.soft {
                    soft.execute(params![key.as_str(), issue, at])
                        .map_err(self.err("write to"))?;
                }
            }
        }
        tx.commit().map_err(self.err("write to"))?;
        Ok(fresh)
    }

    /// The distinct issues `key` soft-bounced on.
    pub fn soft_bounce_issues(&self, key: &AddressKey) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT issue FROM soft_bounce_issues WHERE address = ?1 ORDER BY issue",
            )
            .map_err(self.err("read"))?;
        let rows = stmt
            .query_map([key.as_str()], |r| r.get::<_, String>(0))
            .map_err(self.err("read"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err("read"))
    }
}

/// Creates the store's directory and an empty file with mode 0600 when
/// missing (SQLite gives its -wal and -shm files the same mode), and takes
/// group and other permissions off an existing one: it holds addresses.
fn create_private(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| Error::io("create directory", dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?;
                if meta.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| Error::io("restrict permissions of", path, e))?;
                }
            }
            Ok(())
        }
        Err(e) => Err(Error::io("create", path, e)),
    }
}

/// Turns an SQLite error into one naming the path, the trouble and the fix.
fn store_error(path: &Path, action: &str, e: rusqlite::Error) -> Error {
    let code = e.sqlite_error_code();
    let (problem, fix) = match code {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => (
            StoreProblem::Locked,
            "another process holds its lock (a running `letterpress listen`, `send` or \
             sqlite3 shell?); wait for it to finish or stop it, then try again",
        ),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => (
            StoreProblem::Corrupt,
            "it is not an audience store or it is damaged; restore it from a backup \
             (docs/deploy.md) or move it aside to start an empty one",
        ),
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen) => (
            StoreProblem::Unusable,
            "check that you own the file and its directory and can write both",
        ),
        Some(ErrorCode::DiskFull) => (StoreProblem::Unusable, "free some disk space"),
        _ => (StoreProblem::Unusable, "see the cause above"),
    };
    Error::Store {
        path: path.to_path_buf(),
        problem,
        message: format!("cannot {action} the audience store ({e}); {fix}"),
    }
}

/// How often the group-commit writer's store is checkpointed.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// A request to the group-commit writer: one event and whom to tell.
struct Job {
    event: Event,
    done: tokio::sync::oneshot::Sender<std::result::Result<(), (StoreProblem, String)>>,
}

/// Group commit: a thread that owns a [`Store`], takes events from many
/// submitters, commits all that are waiting in one transaction
/// (`synchronous=FULL`), and only then answers each of them. While one batch
/// is being synced the next one gathers, so throughput grows with load
/// instead of being one fsync per event.
pub struct GroupCommit {
    jobs: tokio::sync::mpsc::Sender<Job>,
    path: PathBuf,
}

impl GroupCommit {
    /// Starts the writer thread on `store`; at most `max_batch` events go in
    /// one transaction (1 commits each event alone: the benchmark's floor).
    pub fn spawn(store: Store, max_batch: usize) -> Result<GroupCommit> {
        let max_batch = max_batch.max(1);
        let (jobs, mut rx) = tokio::sync::mpsc::channel::<Job>(max_batch.max(1024));
        let path = store.path().to_path_buf();
        // Checkpoints copy the WAL back into the database and fsync it; done
        // by the committing connection (SQLite's default) they stall every
        // request of that batch. A second connection does them in passive
        // mode, beside the writer, until the writer stops.
        store
            .lock()
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(store.err("configure"))?;
        let checkpointer = Store::open(&path)?;
        let (alive, writer_gone) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("audience-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    writer_gone.recv_timeout(CHECKPOINT_EVERY)
                {
                    let _ = checkpointer.checkpoint();
                }
                let _ = checkpointer.checkpoint();
            })
            .map_err(|e| Error::io("start the checkpoint thread for", &path, e))?;
        std::thread::Builder::new()
            .name("audience-writer".into())
            .spawn(move || {
                let _alive = alive;
                let mut batch = Vec::with_capacity(max_batch);
                let mut events = Vec::with_capacity(max_batch);
                while let Some(first) = rx.blocking_recv() {
                    batch.push(first);
                    while batch.len() < max_batch {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    events.extend(batch.iter().map(|j: &Job| j.event.clone()));
                    let outcome = store.record(&events).map_err(|e| match e {
                        Error::Store {
                            problem, message, ..
                        } => (problem, message),
                        other => (StoreProblem::Unusable, other.to_string()),
                    });
                    events.clear();
                    for job in batch.drain(..) {
                        let _ = job.done.send(outcome.clone());
                    }
                }
            })
            .map_err(|e| Error::io("start the writer thread for", &path, e))?;
        Ok(GroupCommit { jobs, path })
    }

    /// Submits `event`; returns once it is durable on disk (or failed).
    pub async fn submit(&self, event: Event) -> Result<()> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let gone = || Error::Store {
            path: self.path.clone(),
            problem: StoreProblem::Unusable,
            message: "the audience store's writer has stopped; restart the service".into(),
        };
        self.jobs
            .send(Job { event, done })
            .await
            .map_err(|_| gone())?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((problem, message))) => Err(Error::Store {
                path: self.path.clone(),
                problem,
                message,
            }),
            Err(_) => Err(gone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> AddressKey {
        AddressKey::parse(s).unwrap()
    }

    fn ev(addr: &str, kind: EventKind, source: Source, at_ms: i64) -> Event {
        Event {
            address: key(addr),
            kind,
            source,
            at_ms,
            detail: format!("{} at {at_ms}", kind.as_str()),
        }
    }

    fn fresh() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join(".letterpress/audience.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn latest_of_unsubscribe_and_resubscribe_decides() {
        let (_d, store) = fresh();
        use EventKind::*;
        store
            .record(&[
                ev("a@x.example", Unsubscribe, Source::OneClick, 10),
                ev("a@x.example", Resubscribe, Source::Page, 20),
                ev("b@x.example", Resubscribe, Source::Page, 10),
                ev("b@x.example", Unsubscribe, Source::Page, 20),
            ])
            .unwrap();
        assert_eq!(store.status(&key("a@x.example")).unwrap(), None);
        let b = store.status(&key("b@x.example")).unwrap().unwrap();
        assert_eq!((b.kind, b.source, b.at_ms), (Unsubscribe, Source::Page, 20));
        // Time decides, not the order of recording.
        store
            .record(&[ev("a@x.example", Unsubscribe, Source::Manual, 15)])
            .unwrap();
        assert_eq!(store.status(&key("a@x.example")).unwrap(), None);
        let all = store.suppressions().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all.get(&key("b@x.example")), Some(&b));
        assert!(all.get(&key("a@x.example")).is_none());
    }

    #[test]
    fn bounces_and_complaints_suppress_until_the_author_lifts_them() {
        let (_d, store) = fresh();
        use EventKind::*;
        store
            .record(&[
                ev("bounce@x.example", HardBounce, Source::SmtpReply, 10),
                ev("bounce@x.example", Resubscribe, Source::Page, 20),
                ev("spam@x.example", Complaint, Source::Import, 10),
                ev("lifted@x.example", HardBounce, Source::SmtpReply, 10),
                ev("lifted@x.example", Resubscribe, Source::Manual, 20),
                ev("both@x.example", Unsubscribe, Source::Page, 30),
                ev("both@x.example", Complaint, Source::Import, 10),
                ev("soft@x.example", SoftBounce, Source::SmtpReply, 10),
                ev("soft@x.example", SoftBounce, Source::SmtpReply, 20),
            ])
            .unwrap();
        let s = store.suppressions().unwrap();
        assert_eq!(s.get(&key("bounce@x.example")).unwrap().kind, HardBounce);
        assert_eq!(s.get(&key("spam@x.example")).unwrap().kind, Complaint);
        assert!(s.get(&key("lifted@x.example")).is_none());
        assert_eq!(s.get(&key("both@x.example")).unwrap().kind, Complaint);
        assert!(s.get(&key("soft@x.example")).is_none());
        assert_eq!(s.len(), 3);
        assert_eq!(
            store
                .soft_bounces_since(&key("soft@x.example"), 15)
                .unwrap(),
            1
        );
        let c = store.counts().unwrap();
        assert_eq!(
            c,
            Counts {
                unsubscribed: 0,
                bounced: 1,
                complained: 2,
                soft_bounces: 2,
                events: 9
            }
        );
        let recent = store.recent(2).unwrap();
        assert_eq!(recent[0].at_ms, 20);
        assert_eq!(recent[0].kind, SoftBounce);
        assert_eq!(recent.len(), 2);
    }

    #[test]
    fn reopening_keeps_events_and_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        Store::open(&path)
            .unwrap()
            .record(&[ev("a@x.example", EventKind::Unsubscribe, Source::Page, 1)])
            .unwrap();
        let store = Store::open(&path).unwrap();
        assert_eq!(store.suppressions().unwrap().len(), 1);
        let v: i64 = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[cfg(unix)]
    #[test]
    fn store_and_its_wal_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, store) = fresh();
        store
            .record(&[ev("a@x.example", EventKind::Unsubscribe, Source::Page, 1)])
            .unwrap();
        let base = dir.path().join(".letterpress/audience.db");
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", base.display()));
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
        let dir_mode = std::fs::metadata(base.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
    }

    #[test]
    fn a_garbage_file_is_called_damaged_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audience.db");
        std::fs::write(&path, "this is not SQLite, just some words; ".repeat(200)).unwrap();
        let e = Store::open(&path).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Store {
                    problem: StoreProblem::Corrupt,
                    ..
                }
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("restore it from a backup"), "{msg}");
    }

    #[test]
    fn a_store_from_a_newer_letterpress_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audience.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 7)
            .unwrap();
        let e = Store::open(&path).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Store {
                    problem: StoreProblem::TooNew,
                    ..
                }
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("upgrade letterpress"), "{msg}");
    }

    #[test]
    fn a_lock_held_by_another_connection_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audience.db");
        let store = Store::open_with_timeout(&path, Duration::from_millis(50)).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let e = store
            .record(&[ev("a@x.example", EventKind::Unsubscribe, Source::Page, 1)])
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Store {
                    problem: StoreProblem::Locked,
                    ..
                }
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("another process holds its lock"), "{msg}");
        // A first open that must migrate waits for the same lock.
        let fresh = dir.path().join("fresh.db");
        let holder = Connection::open(&fresh).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let e = Store::open_with_timeout(&fresh, Duration::from_millis(50)).unwrap_err();
        assert!(
            e.to_string().contains("another process holds its lock"),
            "{e}"
        );
        other.execute_batch("ROLLBACK").unwrap();
        store
            .record(&[ev("a@x.example", EventKind::Unsubscribe, Source::Page, 1)])
            .unwrap();
    }

    #[test]
    fn events_after_and_pulled_events_move_the_cursor() {
        let (_d, store) = fresh();
        let (_d2, local) = fresh();
        store
            .record(&[
                ev("a@x.example", EventKind::Unsubscribe, Source::OneClick, 1),
                ev("b@x.example", EventKind::Unsubscribe, Source::Page, 2),
            ])
            .unwrap();
        let page = store.events_after(0, 1).unwrap();
        assert_eq!(page.len(), 1);
        let (id, first) = page[0].clone();
        local
            .record_pulled("https://news.example", id, &[first])
            .unwrap();
        assert_eq!(local.remote_cursor("https://news.example").unwrap(), id);
        assert_eq!(local.remote_cursor("https://other.example").unwrap(), 0);
        let rest = store.events_after(id, 10).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].1.address, key("b@x.example"));
    }

    #[test]
    fn group_commit_reports_a_failed_commit_to_its_submitter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audience.db");
        let store = Store::open_with_timeout(&path, Duration::from_millis(50)).unwrap();
        let writer = GroupCommit::spawn(store, 64).unwrap();
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt
            .block_on(writer.submit(ev("a@x.example", EventKind::Unsubscribe, Source::Page, 1)))
            .unwrap_err();
        assert!(matches!(
            e,
            Error::Store {
                problem: StoreProblem::Locked,
                ..
            }
        ));
        assert!(
            e.to_string().contains("another process holds its lock"),
            "{e}"
        );
        holder.execute_batch("ROLLBACK").unwrap();
        rt.block_on(writer.submit(ev("a@x.example", EventKind::Unsubscribe, Source::Page, 1)))
            .unwrap();
    }

    #[test]
    fn group_commit_answers_every_submitter_after_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audience.db");
        let writer = GroupCommit::spawn(Store::open(&path).unwrap(), 64).unwrap();
        let writer = std::sync::Arc::new(writer);
        // A second connection, as `send` would have.
        let reader = std::sync::Arc::new(Store::open(&path).unwrap());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let tasks: Vec<_> = (0..200)
                .map(|i| {
                    let (w, reader) = (writer.clone(), reader.clone());
                    tokio::spawn(async move {
                        let k = key(&format!("r{i}@x.example"));
                        w.submit(Event::now(
                            k.clone(),
                            EventKind::Unsubscribe,
                            Source::OneClick,
                            "",
                        ))
                        .await?;
                        // Answered, so committed: visible to another connection now.
                        assert!(reader.status(&k)?.is_some(), "answered before commit");
                        Ok::<_, Error>(())
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap().unwrap();
            }
        });
        // Another connection sees all of them: they were committed.
        assert_eq!(
            Store::open(&path).unwrap().suppressions().unwrap().len(),
            200
        );
    }

    #[test]
    fn a_batch_of_reports_is_marked_like_one_at_a_time() {
        let (_d, store) = fresh();
        use EventKind::*;
        let hard = [ev("a@x.example", HardBounce, Source::Mailbox, 10)];
        let soft_ev = [ev("b@x.example", SoftBounce, Source::Mailbox, 11)];
        let soft = [(key("b@x.example"), "issue-1".to_string())];
        assert!(store.record_report("mid:old", &hard, &[]).unwrap());
        let r = |report, events, soft| ReportRecord {
            report,
            events,
            soft,
        };
        let fresh = store
            .record_reports(&[
                r("mid:old", &hard, &[]),
                r("mid:new", &soft_ev, &soft),
                r("mid:new", &soft_ev, &soft),
                r("mid:other", &hard, &[]),
            ])
            .unwrap();
        // Known before, fresh, the same again in this batch, fresh.
        assert_eq!(fresh, [false, true, false, true]);
        assert!(store.report_recorded("mid:new").unwrap());
        // Asked together, answered in the order asked.
        assert_eq!(
            store
                .reports_recorded(&["mid:other", "mid:never", "mid:old", "mid:never"])
                .unwrap(),
            [true, false, true, false]
        );
        assert_eq!(store.reports_recorded(&[]).unwrap(), Vec::<bool>::new());
        assert_eq!(
            store.soft_bounce_issues(&key("b@x.example")).unwrap(),
            ["issue-1"]
        );
        // One hard bounce per fresh report, the soft bounce once.
        let all: Vec<(AddressKey, EventKind)> = store
            .events_after(0, 100)
            .unwrap()
            .into_iter()
            .map(|(_, e)| (e.address, e.kind))
            .collect();
        assert_eq!(
            all,
            [
                (key("a@x.example"), HardBounce),
                (key("b@x.example"), SoftBounce),
                (key("a@x.example"), HardBounce)
            ]
        );
        assert_eq!(store.record_reports(&[]).unwrap(), Vec::<bool>::new());
    }
}
