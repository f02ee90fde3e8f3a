//! One run of `letterpress bounces`: messages (from files or the bounce
//! mailbox) → [`super::classify`] → [`super::policy`] →
//! the store → filed, and a [`Tally`] of what they did.
//!
//! The rule that makes a run safe to kill at any moment: a message's result
//! is committed to the store (durable) before the message is filed away,
//! and the store remembers every report it counted, so reading a message
//! again (after a crash, a second copy) never counts it twice.
//!
//! From files, each message is its own transaction ([`Run::message`]). From
//! IMAP ([`Run::drain`]), each fetched batch is ONE transaction
//! ([`Run::batch`], [`Store::record_reports`]): one fsync per batch, not per
//! message; the batch is filed only after that commit, and the next batch
//! is fetched while this one is classified and committed. [`Run::watch`]
//! then keeps the mailbox open and does the same for mail as it arrives.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::classify::{self, Kind, Report};
use super::imap::{self, stopped, Connect, Fetched, Filing, Mailbox, Wake};
use super::policy::{self, Decision, Policy, Roster};
use super::{report_key, Processed};
use crate::audience::store::{EventKind, ReportRecord, Store};
use crate::audience::AddressKey;
use crate::error::{Error, Result};

/// What one message did: its label (a file name, `INBOX UID 7`) and result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Where the message came from, as the user would find it.
    pub label: String,
    /// What it did.
    pub processed: Processed,
}

/// What the messages of a run did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Messages read.
    pub messages: usize,
    /// Hard-bounce events recorded.
    pub hard: usize,
    /// Soft-bounce events recorded.
    pub soft: usize,
    /// Complaint events recorded.
    pub complaints: usize,
    /// Unsubscribe events recorded.
    pub unsubscribes: usize,
    /// Refusals that were the sender's problem (they suppress nobody).
    pub sender: usize,
    /// Auto-replies (nothing recorded but the mark).
    pub auto_replies: usize,
    /// Delivery notices that are not failures (delayed, relayed).
    pub notices: usize,
    /// Failed addresses that are on no list of ours.
    pub not_on_list: usize,
    /// Reports to a VERP address whose seal does not check.
    pub forged: usize,
    /// Reports counted by an earlier run (or earlier in this one).
    pub already: usize,
    /// The labels of the messages a person must read (not recognised).
    pub needs_look: Vec<String>,
}

impl Tally {
    fn add(&mut self, o: &Outcome) {
        self.messages += 1;
        match &o.processed {
            Processed::NeedsLook(_) => self.needs_look.push(o.label.clone()),
            Processed::AlreadyCounted(_) => self.already += 1,
            Processed::Counted(report, decision) => {
                match report.kind {
                    Kind::AutoReply => self.auto_replies += 1,
                    Kind::Notice => self.notices += 1,
                    _ => {}
                }
                for e in &decision.events {
                    match e.kind {
                        EventKind::HardBounce => self.hard += 1,
                        EventKind::SoftBounce => self.soft += 1,
                        EventKind::Complaint => self.complaints += 1,
                        EventKind::Unsubscribe => self.unsubscribes += 1,
                        EventKind::Resubscribe | EventKind::SignUp | EventKind::Confirm => {}
                    }
                }
                self.sender += decision.sender_problems.len();
                self.not_on_list += decision.not_on_list.len();
                self.forged += usize::from(decision.forged);
            }
        }
    }
}

/// The folders handled messages go to (`--processed`, `--needs-a-look`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folders {
    /// Counted messages (and those counted before).
    pub processed: String,
    /// Messages not recognised.
    pub needs_look: String,
}

/// How [`Run::watch`] waits for new mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchSettings {
    /// IDLE is ended and re-issued after this long without news (RFC 2177:
    /// at most 29 minutes).
    pub idle_renew: Duration,
    /// Without IDLE: how often to look for new mail.
    pub poll: Duration,
    /// The longest wait between reconnection attempts (the wait doubles
    /// from one second up to this).
    pub max_backoff: Duration,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            idle_renew: Duration::from_secs(25 * 60),
            poll: Duration::from_secs(60),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// What a run tells its caller as it goes (the command prints these).
#[derive(Debug)]
pub enum Progress<'a> {
    /// A message was handled (and, from IMAP, is about to be filed).
    Message(&'a Outcome),
    /// The server cannot MOVE: messages are flagged in place instead.
    NoMove,
    /// Watching: the mailbox is processed; waiting with IDLE, or polling
    /// every `poll` when the server has no IDLE.
    Waiting {
        /// True with IDLE.
        idle: bool,
        /// The poll interval (without IDLE).
        poll: Duration,
    },
    /// Watching: the connection failed (the error names the URL, never the
    /// password); the next attempt is `after` from now.
    Reconnecting {
        /// What went wrong.
        error: &'a Error,
        /// The wait before the next attempt.
        after: Duration,
    },
    /// Watching: connected again after a failure.
    Reconnected,
}

/// What a batch is judged with: shared with the thread that classifies
/// and commits while the next batch is fetched.
struct Judge {
    roster: Roster,
    policy: Policy,
    store: Store,
}

/// A failure while draining the mailbox: the connection's (worth a
/// reconnect when watching) or anything else (the store's: stop).
enum DrainError {
    Mailbox(Error),
    Other(Error),
}

impl DrainError {
    fn into_error(self) -> Error {
        match self {
            DrainError::Mailbox(e) | DrainError::Other(e) => e,
        }
    }
}

/// One run over messages from any source: the list, the policy, the store
/// and the tally so far.
pub struct Run {
    judge: Arc<Judge>,
    tally: Tally,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("store", &self.judge.store)
            .field("tally", &self.tally)
            .finish_non_exhaustive()
    }
}

impl Run {
    /// A run that attributes by `roster`, decides by `policy` and commits to
    /// `store`.
    pub fn new(roster: Roster, policy: Policy, store: Store) -> Run {
        Run {
            judge: Arc::new(Judge {
                roster,
                policy,
                store,
            }),
            tally: Tally::default(),
        }
    }

    /// What the messages did so far.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Classifies `raw`, decides and commits its result (one transaction,
    /// durable on return), and counts it.
    pub fn message(&mut self, label: &str, raw: &[u8]) -> Result<Outcome> {
        let j = &self.judge;
        let outcome = Outcome {
            label: label.to_string(),
            processed: super::process(raw, &j.roster, &j.policy, &j.store)?,
        };
        self.tally.add(&outcome);
        Ok(outcome)
    }

    /// [`Run::message`] for many messages with ONE commit: every result is
    /// durable on return, or (on error) none of those not yet committed.
    /// The outcomes are in the order given, and each is decided as if the
    /// messages were handled one by one.
    pub fn batch(&mut self, messages: &[(String, &[u8])]) -> Result<Vec<Outcome>> {
        let outcomes = self.judge.batch(messages)?;
        for o in &outcomes {
            self.tally.add(o);
        }
        Ok(outcomes)
    }

    /// Reads every message now in `mailbox`, oldest first, batch by batch:
    /// each batch is classified and committed in one transaction while the
    /// next is fetched, then filed (counted ones to `folders.processed`,
    /// unrecognised ones to `folders.needs_look`), never before its commit.
    /// With more than one batch, filing runs on a second connection (opened
    /// with `connect`) beside the fetching; if the server refuses it, the
    /// reading connection files everything once it has read it all. Folders
    /// are created if missing; without MOVE, messages are flagged in place.
    /// `progress` hears of each message.
    pub async fn drain(
        &mut self,
        connect: &Connect,
        mailbox: &mut Mailbox,
        folders: &Folders,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<()> {
        prepare(mailbox, folders, progress).await?;
        let (_never, stop) = watch::channel(false);
        self.drain_prepared(connect, mailbox, folders, &stop, progress)
            .await
            .map_err(DrainError::into_error)
    }

    /// [`Run::drain`] on prepared folders; stops between batches once
    /// `stop` holds true.
    async fn drain_prepared(
        &mut self,
        connect: &Connect,
        mailbox: &mut Mailbox,
        folders: &Folders,
        stop: &watch::Receiver<bool>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> std::result::Result<(), DrainError> {
        let uids = mailbox.uids().await.map_err(DrainError::Mailbox)?;
        if uids.len() <= imap::BATCH {
            // One batch: nothing to overlap.
            return self
                .read_batches(mailbox, &uids, stop, progress, Sink::Here(folders))
                .await;
        }
        // Batches committed on the reading side are handed to a second
        // connection (opened while the first batch is fetched), which files
        // them while the next ones are fetched.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Filed>();
        let filing = async {
            let Ok(mut second) = Mailbox::open(connect).await else {
                // Refused (a per-user connection limit?): keep the batches
                // for the reading connection, once it is done.
                let mut left = Vec::new();
                while let Some(batch) = rx.recv().await {
                    left.push(batch);
                }
                return Ok(left);
            };
            // A MOVE costs the server a fixed ~17 ms (Dovecot: a sync and
            // an index commit) beside its per-message work: while one runs,
            // the batches committed meanwhile wait, and the next MOVE takes
            // them all (UIDs only grow, so the sets stay sorted). Nothing is
            // recorded for unrecognised messages, so they can wait for one
            // MOVE at the end (killed before it, they are simply read again).
            let mut look = Vec::new();
            let mut filed = Ok(());
            while let Some(mut batch) = rx.recv().await {
                while let Ok(more) = rx.try_recv() {
                    batch.done.extend(more.done);
                    batch.look.extend(more.look);
                }
                look.append(&mut batch.look);
                filed = file(&mut second, &batch, folders).await;
                if filed.is_err() {
                    break;
                }
            }
            if filed.is_ok() {
                let rest = Filed {
                    done: Vec::new(),
                    look,
                };
                filed = file(&mut second, &rest, folders).await;
            }
            second.logout().await;
            filed.map(|()| Vec::new())
        };
        let reading = async {
            let r = self
                .read_batches(mailbox, &uids, stop, progress, Sink::Filer(&tx))
                .await;
            // Every committed batch is handed over: let the filer finish.
            drop(tx);
            r
        };
        let (read, filed) = tokio::join!(reading, filing);
        for batch in filed.map_err(DrainError::Mailbox)? {
            file(mailbox, &batch, folders)
                .await
                .map_err(DrainError::Mailbox)?;
        }
        read
    }

    /// Fetches `uids` batch by batch on `mailbox`, judging and committing
    /// each on another thread while the next is fetched; each committed
    /// batch goes to `sink`.
    async fn read_batches(
        &mut self,
        mailbox: &mut Mailbox,
        uids: &[u32],
        stop: &watch::Receiver<bool>,
        progress: &mut dyn FnMut(Progress<'_>),
        sink: Sink<'_>,
    ) -> std::result::Result<(), DrainError> {
        let mut batches = imap::batches(uids);
        let mut next = match batches.next() {
            Some(b) => Some(mailbox.fetch(b).await.map_err(DrainError::Mailbox)?),
            None => None,
        };
        while let Some(fetched) = next.take() {
            if *stop.borrow() {
                // What was fetched is left unread: the next run reads it.
                break;
            }
            let judge = Arc::clone(&self.judge);
            let name = mailbox.name().to_string();
            // Classify and commit on another thread while the next batch
            // comes in over this one.
            let work = tokio::task::spawn_blocking(move || {
                let messages: Vec<(String, &[u8])> = fetched
                    .iter()
                    .map(|m| (format!("{name} UID {}", m.uid), m.raw.as_slice()))
                    .collect();
                let uids: Vec<u32> = fetched.iter().map(|m: &Fetched| m.uid).collect();
                judge.batch(&messages).map(|o| (uids, o))
            });
            let following = batches.next();
            let (fetched_next, judged) = tokio::join!(
                async {
                    match following {
                        Some(b) => mailbox.fetch(b).await.map(Some),
                        None => Ok(None),
                    }
                },
                work
            );
            let (uids, outcomes) = judged
                .map_err(|e| DrainError::Other(Error::Usage(format!("bounces: {e}"))))?
                .map_err(DrainError::Other)?;
            // Committed: now, and only now, file them.
            let mut batch = Filed::default();
            for (uid, o) in uids.into_iter().zip(&outcomes) {
                self.tally.add(o);
                progress(Progress::Message(o));
                match o.processed {
                    Processed::NeedsLook(_) => batch.look.push(uid),
                    _ => batch.done.push(uid),
                }
            }
            let fetched_next = fetched_next.map_err(DrainError::Mailbox);
            match sink {
                Sink::Here(folders) => file(mailbox, &batch, folders).await,
                Sink::Filer(tx) => tx
                    .send(batch)
                    .map_err(|_| Error::Usage("the filing connection ended".into())),
            }
            .map_err(DrainError::Mailbox)?;
            next = fetched_next?;
        }
        Ok(())
    }

    /// [`Run::drain`], then keeps watching: waits for new mail (IDLE, or a
    /// poll without it; see [`Mailbox::wait`]) and drains again, with the
    /// same commit-then-file rule. A dropped connection is reopened with
    /// `connect`, waiting 1 s, 2 s, 4 s… up to `settings.max_backoff`
    /// between attempts. Returns (after DONE and LOGOUT) once `stop` turns
    /// true; an error that is not the connection's (the store's), or a
    /// folder that cannot be made at the start, ends it.
    pub async fn watch(
        &mut self,
        connect: &Connect,
        mailbox: Mailbox,
        folders: &Folders,
        settings: &WatchSettings,
        mut stop: watch::Receiver<bool>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<()> {
        // A folder that cannot be made is the user's to fix, not the
        // connection's: that ends the run before watching starts.
        let mut mailbox = mailbox;
        prepare(&mut mailbox, folders, progress).await?;
        let mut open = Some(mailbox);
        let mut prepared = true;
        let mut backoff = Duration::from_secs(1);
        loop {
            if *stop.borrow() {
                if let Some(m) = open {
                    m.logout().await;
                }
                return Ok(());
            }
            let mut mailbox = match open.take() {
                Some(m) => m,
                None => {
                    let opened = tokio::select! {
                        r = Mailbox::open(connect) => r,
                        () = stopped(&mut stop) => return Ok(()),
                    };
                    match opened {
                        Ok(m) => {
                            progress(Progress::Reconnected);
                            prepared = false;
                            m
                        }
                        Err(e) => {
                            backoff = self.pause(&e, backoff, settings, &mut stop, progress).await;
                            continue;
                        }
                    }
                }
            };
            let drained = async {
                if !prepared {
                    prepare(&mut mailbox, folders, progress)
                        .await
                        .map_err(DrainError::Mailbox)?;
                }
                self.drain_prepared(connect, &mut mailbox, folders, &stop, progress)
                    .await
            }
            .await;
            match drained {
                Ok(()) => prepared = true,
                Err(DrainError::Other(e)) => {
                    mailbox.logout().await;
                    return Err(e);
                }
                Err(DrainError::Mailbox(e)) => {
                    backoff = self.pause(&e, backoff, settings, &mut stop, progress).await;
                    continue;
                }
            }
            progress(Progress::Waiting {
                idle: mailbox.can_idle(),
                poll: settings.poll,
            });
            match mailbox
                .wait(settings.idle_renew, settings.poll, &mut stop)
                .await
            {
                Ok((m, Wake::Stopped)) => {
                    m.logout().await;
                    return Ok(());
                }
                Ok((m, Wake::Changed | Wake::Renew)) => {
                    // The connection proved itself: start the backoff over.
                    backoff = Duration::from_secs(1);
                    open = Some(m);
                }
                Err(e) => {
                    backoff = self.pause(&e, backoff, settings, &mut stop, progress).await;
                }
            }
        }
    }

    /// Says `error`, waits `backoff` (or until stopped); the next backoff.
    async fn pause(
        &self,
        error: &Error,
        backoff: Duration,
        settings: &WatchSettings,
        stop: &mut watch::Receiver<bool>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Duration {
        progress(Progress::Reconnecting {
            error,
            after: backoff,
        });
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stopped(stop) => {}
        }
        (backoff * 2).min(settings.max_backoff.max(Duration::from_secs(1)))
    }
}

/// One committed batch's UIDs, by where they go.
#[derive(Debug, Default)]
struct Filed {
    done: Vec<u32>,
    look: Vec<u32>,
}

/// Where [`Run::read_batches`] sends a committed batch.
#[derive(Clone, Copy)]
enum Sink<'a> {
    /// Filed on the reading connection, before the next batch is read.
    Here(&'a Folders),
    /// Handed to the filing connection.
    Filer(&'a tokio::sync::mpsc::UnboundedSender<Filed>),
}

/// Files one committed batch on `mailbox`.
async fn file(mailbox: &mut Mailbox, batch: &Filed, folders: &Folders) -> Result<()> {
    mailbox
        .file(&batch.done, Filing::Processed(&folders.processed))
        .await?;
    mailbox
        .file(&batch.look, Filing::NeedsLook(&folders.needs_look))
        .await
}

/// Makes the folders (or says the server cannot MOVE).
async fn prepare(
    mailbox: &mut Mailbox,
    folders: &Folders,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<()> {
    if mailbox.can_move() {
        mailbox.ensure_folder(&folders.processed).await?;
        mailbox.ensure_folder(&folders.needs_look).await?;
    } else {
        progress(Progress::NoMove);
    }
    Ok(())
}

/// A message classified and decided, waiting for its batch's commit.
struct Pending {
    index: usize,
    key: String,
    report: Report,
    decision: Decision,
}

impl Judge {
    /// See [`Run::batch`]. A decision reads the store (the distinct issues
    /// an address soft-bounced on), so when a message's soft bounces concern
    /// an address with one still uncommitted in this batch, the batch so far
    /// is committed first and the message decided again: every decision
    /// sees what one-by-one handling would have.
    fn batch(&self, messages: &[(String, &[u8])]) -> Result<Vec<Outcome>> {
        let mut out: Vec<Option<Processed>> = vec![None; messages.len()];
        let mut pending: Vec<Pending> = Vec::new();
        let mut soft: HashSet<AddressKey> = HashSet::new();
        // Classifying is pure and most of the CPU: on every core. Deciding
        // and committing read the store, so they stay in order.
        let reports = crate::parallel::map(messages.len(), |i| {
            let raw = messages[i].1;
            let report = classify::parse(raw);
            let key = (report.kind != Kind::Unknown).then(|| report_key(&report, raw));
            (report, key)
        });
        let keys: Vec<&str> = reports.iter().filter_map(|(_, k)| k.as_deref()).collect();
        let mut recorded = self.store.reports_recorded(&keys)?.into_iter();
        for (index, (report, key)) in reports.into_iter().enumerate() {
            let Some(key) = key else {
                out[index] = Some(Processed::NeedsLook(report));
                continue;
            };
            if recorded.next().expect("one answer per key") {
                out[index] = Some(Processed::AlreadyCounted(report));
                continue;
            }
            let mut decision = self.decide(&report)?;
            if decision.soft.iter().any(|(k, _)| soft.contains(k)) {
                self.commit(&mut pending, &mut out)?;
                soft.clear();
                decision = self.decide(&report)?;
            }
            soft.extend(decision.soft.iter().map(|(k, _)| k.clone()));
            pending.push(Pending {
                index,
                key,
                report,
                decision,
            });
        }
        self.commit(&mut pending, &mut out)?;
        Ok(messages
            .iter()
            .zip(out)
            .map(|((label, _), processed)| Outcome {
                label: label.clone(),
                processed: processed.expect("every message was handled"),
            })
            .collect())
    }

    fn decide(&self, report: &Report) -> Result<Decision> {
        policy::decide(report, &self.roster, &self.policy, &self.store)
    }

    /// Commits `pending` in one transaction and settles their outcomes.
    fn commit(&self, pending: &mut Vec<Pending>, out: &mut [Option<Processed>]) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let records: Vec<ReportRecord<'_>> = pending
            .iter()
            .map(|p| ReportRecord {
                report: &p.key,
                events: &p.decision.events,
                soft: &p.decision.soft,
            })
            .collect();
        let fresh = self.store.record_reports(&records)?;
        for (p, fresh) in pending.drain(..).zip(fresh) {
            out[p.index] = Some(if fresh {
                Processed::Counted(p.report, p.decision)
            } else {
                Processed::AlreadyCounted(p.report)
            });
        }
        Ok(())
    }
}
