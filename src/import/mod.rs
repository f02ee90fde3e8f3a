//! `letterpress import`: other platforms' exports merged into the subscriber
//! list, never re-subscribing anyone.
//!
//! ```text
//!  export files ──▶ read (CSV / zip, per platform) ──▶ one entry per AddressKey
//!                                                          │
//!  subscribers.toml + store suppressions ────────────────▶ plan (added, updated, suppressed…)
//!                                                          │ commit
//!                              subscribers.toml (edited in place) + store events (Source::Import)
//! ```
//!
//! The rules:
//! - rows are compared by [`AddressKey`], so `Ada@Example.COM` and
//!   `ada@example.com` (or an IDN domain in either spelling) are one reader;
//!   names, the earliest join date and the union of tags carry over;
//! - an address unsubscribed, cleaned, undeliverable, blocklisted or
//!   complained in **any** export, unsubscribed or bounced in the file, or
//!   suppressed in the store, is never made active: it is written with its
//!   status, and becomes a store suppression too. `--resubscribe` lets an
//!   address that some export lists as active come back from an
//!   *unsubscribe* (never from a bounce or complaint);
//! - every bad row is collected with its file and line before anything is
//!   written, and nothing is written while there are any unless the caller
//!   chooses to skip them;
//! - a second run with the same files finds nothing to change and writes
//!   nothing.

pub mod export;
pub mod platform;
pub mod read;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::audience::store::{Event, EventKind, Source, Store, Suppressions};
use crate::audience::subscribers::{self, Status, Subscribers};
use crate::audience::AddressKey;
use crate::error::Result;
pub use platform::{Platform, Standing};
use read::Sheet;

/// A row that could not be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The file (or `archive.zip:member.csv`).
    pub file: String,
    /// 1-based line where the row starts.
    pub line: u64,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// One reader, merged from every row that names them.
#[derive(Debug)]
struct Incoming {
    /// The canonical key.
    key: Box<str>,
    /// The address as first written, when it differs from `key`.
    spelling: Option<Box<str>>,
    name: Option<Box<str>>,
    joined: Option<NaiveDate>,
    tags: Vec<Box<str>>,
    /// The greatest standing of all its rows.
    standing: Standing,
    /// Whether any row listed it as active.
    seen_active: bool,
    /// Where it was first seen: index into the sheet labels, and the line.
    sheet: u32,
    line: u32,
}

impl Incoming {
    fn email(&self) -> &str {
        self.spelling.as_deref().unwrap_or(&self.key)
    }
}

/// Everything read from the export files.
#[derive(Debug, Default)]
pub struct Collected {
    entries: Vec<Incoming>,
    /// Bad rows, in file order.
    pub bad: Vec<BadRow>,
    /// Rows skipped because the platform had not confirmed the address yet.
    pub unconfirmed: u64,
    /// Rows naming an address already read (from any file).
    pub duplicate_rows: u64,
    /// The CSVs read.
    pub sheets: Vec<Sheet>,
    /// The names of the files rows came from (`Incoming::sheet` indexes it).
    labels: Vec<String>,
}

/// Reads every export in `files` (with `from` forcing the platform).
pub fn collect(files: &[PathBuf], from: Option<Platform>) -> Result<Collected> {
    let mut c = Collected::default();
    let mut index: hashbrown::HashTable<u32> = hashbrown::HashTable::new();
    // foldhash, randomly seeded: several times faster than SipHash on
    // short keys, and still not predictable from the export's contents.
    let hasher = foldhash::fast::RandomState::default();
    let mut labels: Vec<String> = Vec::new();
    // Reserve for the rows the files probably hold (an export row is rarely
    // under 100 bytes), so a million-row import does not briefly hold two
    // copies of its entries while the vector grows.
    let bytes: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let guess = usize::try_from(bytes / 100).unwrap_or(0).min(20_000_000);
    c.entries.reserve(guess);
    index.reserve(guess, |_| 0);
    for path in files {
        let mut visit =
            |label: &str, line: u64, row: std::result::Result<platform::RowReading<'_>, String>| {
                let bad = |message: String| BadRow {
                    file: label.to_string(),
                    line,
                    message,
                };
                let reading = match row {
                    Ok(r) => r,
                    Err(message) => return c.bad.push(bad(message)),
                };
                let platform::RowReading::Reader {
                    email,
                    name,
                    joined,
                    tags,
                    standing,
                } = reading
                else {
                    c.unconfirmed += 1;
                    return;
                };
                let key = match AddressKey::parse(email) {
                    Ok(k) => k,
                    Err(why) => {
                        return c.bad.push(bad(format!(
                            "`{}` is not an email address: {why}; fix or delete the row",
                            email.escape_debug()
                        )))
                    }
                };
                if let Err(why) = subscribers::validate_address(email) {
                    return c.bad.push(bad(format!(
                        "`{}` is not an email address: {why}; fix or delete the row",
                        email.escape_debug()
                    )));
                }
                if labels.last().map(String::as_str) != Some(label) {
                    labels.push(label.to_string());
                }
                let sheet = (labels.len() - 1) as u32;
                let hash = hasher.hash_one(key.as_str());
                let entries = &mut c.entries;
                let found = index.find(hash, |&i| &*entries[i as usize].key == key.as_str());
                if let Some(&i) = found {
                    c.duplicate_rows += 1;
                    let e = &mut entries[i as usize];
                    e.standing = e.standing.max(standing);
                    e.seen_active |= standing == Standing::Active;
                    if e.name.is_none() {
                        e.name = name.map(Into::into);
                    }
                    e.joined = match (e.joined, joined) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    for t in tags {
                        if !e.tags.iter().any(|x| **x == *t) {
                            e.tags.push(t.into());
                        }
                    }
                    return;
                }
                let i = entries.len() as u32;
                let spelling = (email != key.as_str()).then(|| email.into());
                entries.push(Incoming {
                    key: key.as_str().into(),
                    spelling,
                    name: name.map(Into::into),
                    joined,
                    tags: tags.into_iter().map(Into::into).collect(),
                    standing,
                    seen_active: standing == Standing::Active,
                    sheet,
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                });
                index.insert_unique(hash, i, |&j| hasher.hash_one(&*entries[j as usize].key));
            };
        let sheets = read::read_path(path, from, &mut visit)?;
        c.sheets.extend(sheets);
    }
    c.labels = labels;
    Ok(c)
}

/// What an import changes, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// New active readers.
    pub added: u64,
    /// Existing entries that gained a name, tags or a join date (and stay
    /// as mailable as they were).
    pub updated: u64,
    /// Addresses the import made (or keeps) unmailable that were not so
    /// before: new unsubscribed/bounced entries, entries turned so, or new
    /// store suppressions.
    pub suppressed: u64,
    /// Addresses made active again by `--resubscribe`.
    pub resubscribed: u64,
    /// Rows skipped: unconfirmed on their platform, or bad (with `--skip-invalid`).
    pub skipped: u64,
    /// Addresses already in the list as the exports have them.
    pub unchanged: u64,
}

/// The entry as the file will have it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    email: String,
    name: Option<String>,
    status: Status,
    tags: Vec<String>,
    joined: Option<NaiveDate>,
}

/// Which fields of an existing entry change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Changed {
    name: bool,
    status: bool,
    tags: bool,
    joined: bool,
}

/// A change to an existing entry.
#[derive(Debug, Clone)]
struct Edit {
    entry: Entry,
    changed: Changed,
}

/// An import, read and decided, not yet written.
#[derive(Debug)]
pub struct Prepared {
    /// What it changes.
    pub summary: Summary,
    /// The rows that could not be imported.
    pub bad: Vec<BadRow>,
    /// The CSVs read.
    pub sheets: Vec<Sheet>,
    list: PathBuf,
    list_exists: bool,
    /// Entries in the existing list (duplicates included).
    entries: usize,
    store: PathBuf,
    collected: Vec<Incoming>,
    /// Existing entries to edit, by the line of their `email` key.
    edits: BTreeMap<usize, Edit>,
    /// New entries: index into `collected`, and their status.
    new: Vec<(u32, Status)>,
    events: Vec<Event>,
}

/// How an import decides.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Force every file's platform (`--from`).
    pub from: Option<Platform>,
    /// Let an address some export lists as active come back from an
    /// unsubscribe (in another export, the file or the store).
    pub resubscribe: bool,
}

fn standing_of_status(s: Status) -> Standing {
    match s {
        Status::Active => Standing::Active,
        Status::Unsubscribed => Standing::Unsubscribed,
        Status::Bounced => Standing::Bounced,
    }
}

fn standing_of_kind(k: EventKind) -> Standing {
    match k {
        EventKind::HardBounce => Standing::Bounced,
        EventKind::Complaint => Standing::Complained,
        _ => Standing::Unsubscribed,
    }
}

fn status_of(s: Standing) -> Status {
    match s {
        Standing::Active => Status::Active,
        Standing::Unsubscribed | Standing::Complained => Status::Unsubscribed,
        Standing::Bounced => Status::Bounced,
    }
}

fn kind_of(s: Standing) -> EventKind {
    match s {
        Standing::Bounced => EventKind::HardBounce,
        Standing::Complained => EventKind::Complaint,
        _ => EventKind::Unsubscribe,
    }
}

/// Reads `files` and decides what merging them into the list at `list`
/// (absent: a new list) and the store at `store` (absent: nothing
/// suppressed yet; it is not created by this) changes. Writes nothing.
pub fn prepare(files: &[PathBuf], list: &Path, store: &Path, options: Options) -> Result<Prepared> {
    let collected = collect(files, options.from)?;
    let list_exists = list.exists();
    let existing = if list_exists {
        subscribers::from_file(list)?
    } else {
        Subscribers::default()
    };
    let suppressions = if store.exists() {
        Store::open(store)?.suppressions()?
    } else {
        Suppressions::default()
    };
    Ok(decide(
        collected,
        &existing,
        &suppressions,
        list,
        list_exists,
        store,
        options,
    ))
}

fn decide(
    collected: Collected,
    existing: &Subscribers,
    suppressions: &Suppressions,
    list: &Path,
    list_exists: bool,
    store: &Path,
    options: Options,
) -> Prepared {
    let mut by_key: HashMap<String, usize> = HashMap::with_capacity(existing.list.len());
    for (i, s) in existing.list.iter().enumerate() {
        if let Ok(k) = AddressKey::parse(s.email.as_ref()) {
            by_key.insert(k.as_str().to_string(), i);
        }
    }
    let mut summary = Summary {
        skipped: collected.unconfirmed,
        ..Summary::default()
    };
    let mut edits = BTreeMap::new();
    let mut new = Vec::new();
    let mut events = Vec::new();
    for (i, e) in collected.entries.iter().enumerate() {
        let key = || AddressKey::from_canonical(e.key.to_string());
        let in_file = if by_key.is_empty() {
            None
        } else {
            by_key.get(&*e.key).map(|&j| &existing.list[j])
        };
        let stored = if suppressions.is_empty() {
            None
        } else {
            suppressions.get(&key())
        };
        let mut standing = e.standing;
        if let Some(f) = in_file {
            standing = standing.max(standing_of_status(f.status));
        }
        if let Some(s) = stored {
            standing = standing.max(standing_of_kind(s.kind));
        }
        let mut resubscribed = false;
        if options.resubscribe && e.seen_active && standing == Standing::Unsubscribed {
            standing = Standing::Active;
            resubscribed = true;
        }
        // The store agrees with the decision, or gets the event that makes it.
        let mut newly_suppressed = false;
        if standing != Standing::Active {
            if stored.map_or(true, |s| standing_of_kind(s.kind) < standing) {
                let from = collected
                    .labels
                    .get(e.sheet as usize)
                    .map_or("an export", String::as_str);
                events.push(Event::now(
                    key(),
                    kind_of(standing),
                    Source::Import,
                    format!("{} in {from}, line {}", standing.as_str(), e.line),
                ));
                newly_suppressed = true;
            }
        } else if stored.is_some() {
            events.push(Event::now(
                key(),
                EventKind::Resubscribe,
                Source::Import,
                "import --resubscribe",
            ));
        }
        let status = status_of(standing);
        match in_file {
            None => {
                new.push((i as u32, status));
                if status == Status::Active {
                    summary.added += 1;
                } else {
                    summary.suppressed += 1;
                }
                if resubscribed {
                    summary.resubscribed += 1;
                }
            }
            Some(f) => {
                let mut tags: Vec<String> = existing.tags_of(f).map(String::from).collect();
                let before = tags.len();
                for t in &e.tags {
                    if !tags.iter().any(|x| **x == **t) {
                        tags.push(t.to_string());
                    }
                }
                let changed = Changed {
                    name: f.name.is_none() && e.name.is_some(),
                    status: f.status != status,
                    tags: tags.len() != before,
                    joined: f.joined.is_none() && e.joined.is_some(),
                };
                if changed.status && status != Status::Active {
                    newly_suppressed = true;
                }
                if resubscribed && changed.status {
                    summary.resubscribed += 1;
                }
                // Each address is counted once: a suppression outranks the
                // fields it gained on the way.
                if newly_suppressed {
                    summary.suppressed += 1;
                } else if changed.name || changed.tags || changed.joined {
                    summary.updated += 1;
                }
                if changed == Changed::default() && !newly_suppressed {
                    summary.unchanged += 1;
                }
                if changed != Changed::default() {
                    let entry = Entry {
                        email: f.email.to_string(),
                        name: f
                            .name
                            .as_deref()
                            .map(String::from)
                            .or_else(|| e.name.as_deref().map(String::from)),
                        status,
                        tags,
                        joined: f.joined.or(e.joined),
                    };
                    edits.insert(f.line as usize, Edit { entry, changed });
                }
            }
        }
    }
    Prepared {
        summary,
        bad: collected.bad,
        sheets: collected.sheets,
        list: list.to_path_buf(),
        list_exists,
        entries: existing.list.len() + existing.duplicates.len(),
        store: store.to_path_buf(),
        collected: collected.entries,
        edits,
        new,
        events,
    }
}

impl Prepared {
    /// Whether committing would change the list or the store.
    pub fn changes_anything(&self) -> bool {
        !self.edits.is_empty() || !self.new.is_empty() || !self.events.is_empty()
    }

    /// Writes the list (atomically, mode 0600, keeping the author's comments
    /// and order; not at all when nothing changes) and then records the
    /// store events. The file goes first: should the store fail, the file
    /// already says who is unsubscribed, and a second run records the
    /// events.
    pub fn commit(mut self, skip_invalid: bool) -> Result<Summary> {
        if !skip_invalid && !self.bad.is_empty() {
            return Err(crate::Error::Usage(format!(
                "{} bad row(s) in the exports; nothing was written. Fix them, or pass --skip-invalid to import the rest",
                self.bad.len()
            )));
        }
        if skip_invalid {
            self.summary.skipped += self.bad.len() as u64;
        }
        if !self.edits.is_empty() || !self.new.is_empty() {
            let new = self.new.iter().map(|&(i, status)| {
                let e = &self.collected[i as usize];
                Entry {
                    email: e.email().to_string(),
                    name: e.name.as_deref().map(String::from),
                    status,
                    tags: e.tags.iter().map(|t| t.to_string()).collect(),
                    joined: e.joined,
                }
            });
            write::write_list(&self.list, self.list_exists, self.entries, &self.edits, new)?;
        }
        if !self.events.is_empty() {
            Store::open(&self.store)?.record(&self.events)?;
        }
        Ok(self.summary)
    }
}
