//! Sending an issue: subscribers in, one personalised message per recipient
//! out over SMTP, every outcome journaled.
//!
//! - [`smtp`]: one connection (TCP_NODELAY, TLS policy, AUTH, pipelining,
//!   timeouts), failures classified by reply category.
//! - [`engine`]: the workers, rate limits, retries and backoff.
//! - [`journal`]: the crash-safe, append-only record of who got what.
//! - [`report`]: the summary, the failures, the progress bar.
//! - [`dkim`]: the signing configuration from `[dkim]`.
//! - [`campaign`]: the list-send protocol: journal start/end/reset, who is
//!   skipped and why, the confirmation question, hard bounces into the
//!   audience store, the problems report.
//! - [`signals`]: the first Ctrl-C or SIGTERM stops the run gracefully.
//!
//! The message itself comes from [`crate::message::MessageTemplate::build`],
//! the same code path as `preview`'s `.eml` and `send --dry-run`.

pub mod campaign;
pub mod dkim;
pub mod engine;
pub mod journal;
pub mod report;
pub mod signals;
pub mod smtp;

use sha2::{Digest, Sha256};

use crate::compose::RenderedEmail;
use crate::issue::Issue;
use crate::message::Recipient;

pub use engine::{deliver, Delivery, Limits, Transport};
pub use journal::{Journal, Replay, State};
pub use report::{Problem, Report};
pub use smtp::{Failure, SmtpSettings};

/// The name an issue's journal goes by: [`Issue::key`], the same prefix as
/// its Message-IDs (`issue-<number>`, or the file stem).
pub fn issue_key(issue: &Issue) -> String {
    issue.key()
}

/// A short hash of what every recipient reads (subject, HTML, text), so a
/// resumed send can tell when the issue was edited half-way.
pub fn content_hash(email: &RenderedEmail) -> String {
    let mut h = Sha256::new();
    for part in [&email.subject, &email.html, &email.text] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Who a (resumed) run sends to.
#[derive(Debug, Default)]
pub struct Selection {
    /// The recipients of this run, in list order.
    pub recipients: Vec<Recipient>,
    /// Active subscribers skipped because the journal says delivered.
    pub already_delivered: usize,
    /// Active subscribers skipped because they failed for good earlier.
    pub skipped_failed: usize,
    /// Failed earlier and included again (`--retry-failed`).
    pub retrying_failed: usize,
    /// In doubt from an interrupted run: included again, listed.
    pub in_doubt: Vec<String>,
    /// Pending from an earlier run (temporary failures, never attempted).
    pub resumed: usize,
}

/// Chooses this run's recipients from those the audience says may be
/// mailed ([`crate::audience::mailable`]): everyone the journal does not
/// show as delivered (or as failed, unless `retry_failed`).
pub fn select(mailable: Vec<Recipient>, replay: &Replay, retry_failed: bool) -> Selection {
    let mut s = Selection {
        recipients: Vec::with_capacity(mailable.len()),
        ..Selection::default()
    };
    for r in mailable {
        let email: &str = r.email.as_ref();
        let state = if replay.states.is_empty() {
            None
        } else {
            replay.states.get(&journal::key(email))
        };
        match state {
            Some(State::Delivered) => {
                s.already_delivered += 1;
                continue;
            }
            Some(State::Failed { .. }) if !retry_failed => {
                s.skipped_failed += 1;
                continue;
            }
            Some(State::Failed { .. }) => s.retrying_failed += 1,
            Some(State::InDoubt) => s.in_doubt.push(email.to_string()),
            Some(State::Pending) => s.resumed += 1,
            None => {}
        }
        s.recipients.push(r);
    }
    s
}
