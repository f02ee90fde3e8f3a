//! What comes back after a send: delivery status notifications, feedback-loop
//! complaints, auto-replies and unsubscribe requests, and the policy that
//! turns them into audience-store events.
//!
//! ```text
//!  raw message ──▶ classify::Report ──▶ policy::Decision ──▶ Store::record_report(s)
//!  (.eml file,      (pure parse)         (attribution +       (one transaction with the
//!   IMAP FETCH)                           policy)              "counted" mark: never twice)
//!                                                                   │ committed, then
//!                                                                   ▼
//!                                                       imap::Mailbox::file (MOVE / flags)
//! ```
//!
//! - [`classify`]: raw message → [`classify::Report`] (pure, never fails).
//! - [`policy`]: report → events, by the list ([`policy::Roster`]) and `[bounces]`.
//! - [`run`]: the protocol of one `letterpress bounces` run ([`run::Run`]):
//!   message by message from files; from the IMAP mailbox batch by batch
//!   (one transaction per fetched batch, filed only after its commit, the
//!   next batch fetched meanwhile), then, with `--watch`, new mail as it
//!   arrives; a [`run::Tally`] of what it all did.
//! - [`imap`]: the bounce mailbox over IMAP ([`imap::Mailbox`]): TLS
//!   (implicit or STARTTLS, a private CA by `[bounces] imap_ca_file`),
//!   fetching, filing, IDLE.

pub mod classify;
pub mod imap;
pub mod policy;
pub mod run;

use sha2::{Digest, Sha256};

use crate::audience::store::{Source, Store};
use crate::Result;
use classify::{Kind, Report};
use policy::{Decision, Policy, Roster};

/// What processing one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// Classified and its events (maybe none) committed.
    Counted(Report, Decision),
    /// This report was counted by an earlier run: nothing written.
    AlreadyCounted(Report),
    /// Not recognised: a person must read it. Nothing written.
    NeedsLook(Report),
}

/// The name a report is remembered by: its Message-ID, or a digest of the
/// whole message when it has none.
pub fn report_key(report: &Report, raw: &[u8]) -> String {
    match &report.message_id {
        Some(id) if !id.trim().is_empty() => format!("mid:{}", id.trim()),
        _ => {
            let d = Sha256::digest(raw);
            let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        }
    }
}

/// Classifies `raw`, decides, and commits the result to `store` (durable
/// when this returns). A report already counted is not counted again.
pub fn process(raw: &[u8], roster: &Roster, policy: &Policy, store: &Store) -> Result<Processed> {
    let report = classify::parse(raw);
    if report.kind == Kind::Unknown {
        return Ok(Processed::NeedsLook(report));
    }
    let key = report_key(&report, raw);
    record(report, &key, roster, policy, store, Source::Mailbox)
}

/// Decides an already classified `report` and commits it under `key`
/// (durable when this returns), its events marked as coming from
/// `source`: what [`process`] does after classifying, and what `listen`'s
/// relay webhooks do with a relay's report. A key already counted is not
/// counted again.
pub fn record(
    report: Report,
    key: &str,
    roster: &Roster,
    policy: &Policy,
    store: &Store,
    source: Source,
) -> Result<Processed> {
    if store.report_recorded(key)? {
        return Ok(Processed::AlreadyCounted(report));
    }
    let mut decision = policy::decide(&report, roster, policy, store)?;
    for e in &mut decision.events {
        e.source = source;
    }
    if store.record_report(key, &decision.events, &decision.soft)? {
        Ok(Processed::Counted(report, decision))
    } else {
        Ok(Processed::AlreadyCounted(report))
    }
}
