//! The audience: who may be mailed, and what came back.
//!
//! Two sources meet here. The author's list, `subscribers.toml`
//! ([`subscribers`]), says who signed up; letterpress never rewrites it. The
//! world's answers (unsubscribes, bounces, complaints) are events in the
//! audience store, beside the send journal. Who may be mailed is the list's
//! active readers minus the store's suppressions, compared by one identity:
//!
//! - [`address`]: [`AddressKey`], the one identity of an address (IDNA
//!   A-label domain, NFC lower-cased local part), and the one address
//!   grammar the list, the message builder and the store share.
//! - [`token`]: [`Tokens`], the opaque, list-bound tokens in unsubscribe URLs
//!   (and the keyed tag in Message-IDs).
//! - [`subscribers`]: `subscribers.toml`, streamed line by line.
//! - [`verp`]: per-recipient envelope senders (VERP) with a sealed tag, and reading them back.
//! - [`store`]: the audience store (SQLite): events in, suppressions out.
//! - [`remote`]: pulling the events of a `listen` that runs on another machine.
//!
//! ```text
//!  subscribers.toml ──▶ Subscribers ──┐
//!                                      ├─▶ who may be mailed ──▶ send
//!  store (events)   ──▶ Suppressions ─┘        ▲
//!        ▲                                      │
//!        └── unsubscribes (listen), bounces (send), manual (`audience`)
//! ```

pub mod address;
pub mod remote;
pub mod store;
pub mod subscribers;
pub mod token;
pub mod verp;

pub use address::{AddressError, AddressKey};
pub use token::{TokenError, Tokens};

use crate::message::Recipient;
use store::{EventKind, Suppressions};
use subscribers::{Status, Subscribers};

/// Active readers the store says must not be mailed, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// They unsubscribed (one-click, the page, or `audience unsubscribe`).
    pub unsubscribed: usize,
    /// Their address bounced for good.
    pub bounced: usize,
    /// They reported the newsletter as spam.
    pub complained: usize,
}

impl Skipped {
    /// All of them.
    pub fn total(&self) -> usize {
        self.unsubscribed + self.bounced + self.complained
    }

    /// `skipped 12 unsubscribed, 3 bounced` (reasons with none are left
    /// out); empty when nobody was skipped.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            (self.unsubscribed, "unsubscribed"),
            (self.bounced, "bounced"),
            (self.complained, "complained"),
        ]
        .into_iter()
        .filter(|&(n, _)| n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("skipped {}", parts.join(", "))
        }
    }
}

/// Who may be mailed: the list's active readers less the suppressed ones.
#[derive(Debug, Default)]
pub struct Mailable {
    /// In list order.
    pub recipients: Vec<Recipient>,
    /// Active in the list but suppressed by the store.
    pub skipped: Skipped,
}

/// The list's active readers minus the store's suppressions, compared as
/// [`AddressKey`]s (so no spelling of a suppressed address slips through).
/// Consumes the list, moving addresses and names rather than copying them.
pub fn mailable(subscribers: Subscribers, suppressions: &Suppressions) -> Mailable {
    let mut out = Mailable {
        recipients: Vec::with_capacity(subscribers.list.len()),
        skipped: Skipped::default(),
    };
    for sub in subscribers
        .list
        .into_iter()
        .filter(|s| s.status == Status::Active)
    {
        if !suppressions.is_empty() {
            // Every loaded address parses (the list grammar is this one).
            if let Ok(key) = AddressKey::parse(sub.email.as_ref()) {
                if let Some(why) = suppressions.get(&key) {
                    match why.kind {
                        EventKind::HardBounce => out.skipped.bounced += 1,
                        EventKind::Complaint => out.skipped.complained += 1,
                        _ => out.skipped.unsubscribed += 1,
                    }
                    continue;
                }
            }
        }
        out.recipients.push(Recipient {
            email: sub.email,
            name: sub.name.map(String::from),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::store::{Event, Source, Store};
    use super::*;

    #[test]
    fn mailable_is_the_active_list_minus_suppressions_under_any_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).unwrap();
        let key = |s: &str| AddressKey::parse(s).unwrap();
        store
            .record(&[
                Event::now(
                    key("a@bücher.example"),
                    EventKind::Unsubscribe,
                    Source::OneClick,
                    "",
                ),
                Event::now(
                    key("gone@example.com"),
                    EventKind::HardBounce,
                    Source::SmtpReply,
                    "550 5.1.1",
                ),
                Event::now(
                    key("spam@example.com"),
                    EventKind::Complaint,
                    Source::Import,
                    "",
                ),
                Event::now(
                    key("back@example.com"),
                    EventKind::Unsubscribe,
                    Source::Page,
                    "",
                ),
                Event::now(
                    key("back@example.com"),
                    EventKind::Resubscribe,
                    Source::Page,
                    "",
                ),
            ])
            .unwrap();
        let list = subscribers::parse(
            "[[subscriber]]\nemail = \"A@XN--BCHER-KVA.example\"\n\
             [[subscriber]]\nemail = \"Gone@Example.com\"\n\
             [[subscriber]]\nemail = \"spam@example.com\"\n\
             [[subscriber]]\nemail = \"back@example.com\"\n\
             [[subscriber]]\nemail = \"left@example.com\"\nstatus = \"unsubscribed\"\n\
             [[subscriber]]\nemail = \"keep@example.com\"\n",
        )
        .unwrap();
        let m = mailable(list, &store.suppressions().unwrap());
        let who: Vec<&str> = m.recipients.iter().map(|r| r.email.as_ref()).collect();
        assert_eq!(who, ["back@example.com", "keep@example.com"]);
        assert_eq!(
            m.skipped,
            Skipped {
                unsubscribed: 1,
                bounced: 1,
                complained: 1
            }
        );
        assert_eq!(
            m.skipped.summary(),
            "skipped 1 unsubscribed, 1 bounced, 1 complained"
        );
        assert_eq!(Skipped::default().summary(), "");
    }
}
