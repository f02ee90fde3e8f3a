//! The audience: who may be mailed, and what came back.
//!
//! Two sources meet here. The author's list, `subscribers.toml`
//! ([`subscribers`]), says who signed up; letterpress never rewrites it. The
//! world's answers (unsubscribes, bounces, complaints) are events in the
//! audience store, beside the send journal, with the sign-ups `listen`'s
//! form got confirmed. Who may be mailed is the list's active readers plus
//! the confirmed sign-ups, minus the store's suppressions, compared by one
//! identity:
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
    /// Of the recipients, how many came from the store's confirmed sign-ups
    /// (they are after the list's readers).
    pub signups: usize,
}

/// The list's active readers plus the store's confirmed sign-ups, minus the
/// store's suppressions, compared as [`AddressKey`]s (so no spelling of a
/// suppressed address slips through, and nobody is mailed twice). A sign-up
/// confirmed for an address the list marks unsubscribed brings it back: the
/// confirmation is the reader's own, later word. Consumes the list, moving
/// addresses and names rather than copying them.
pub fn mailable(subscribers: Subscribers, suppressions: &Suppressions) -> Mailable {
    let mut out = Mailable {
        recipients: Vec::with_capacity(subscribers.list.len() + suppressions.confirmed().len()),
        skipped: Skipped::default(),
        signups: 0,
    };
    let mut listed = std::collections::HashSet::new();
    let confirmed = suppressions.confirmed();
    for sub in subscribers
        .list
        .into_iter()
        .filter(|s| s.status == Status::Active)
    {
        if !confirmed.is_empty() {
            if let Ok(key) = AddressKey::parse(sub.email.as_ref()) {
                listed.insert(key);
            }
        }
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
    for (key, name) in confirmed {
        if listed.contains(key) {
            continue;
        }
        // A key is a valid address by construction; skip defensively.
        let Ok(email) = address::validate(key.as_str()) else {
            continue;
        };
        out.recipients.push(Recipient {
            email,
            name: name.clone(),
        });
        out.signups += 1;
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

    #[test]
    fn confirmed_sign_ups_are_added_once_and_the_latest_event_decides() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).unwrap();
        let key = |s: &str| AddressKey::parse(s).unwrap();
        let ev = |a: &str, kind, at_ms, detail: &str| Event {
            address: key(a),
            kind,
            source: Source::Page,
            at_ms,
            detail: detail.into(),
        };
        use EventKind::*;
        store
            .record(&[
                ev("new@example.com", SignUp, 1, "Ada"),
                ev("new@example.com", Confirm, 2, ""),
                ev("pending@example.com", SignUp, 1, ""),
                ev("left@example.com", SignUp, 1, ""),
                ev("left@example.com", Confirm, 2, ""),
                ev("left@example.com", Unsubscribe, 3, ""),
                ev("back@example.com", Unsubscribe, 1, ""),
                ev("back@example.com", SignUp, 2, ""),
                ev("back@example.com", Confirm, 3, ""),
                ev("listed@example.com", SignUp, 1, ""),
                ev("listed@example.com", Confirm, 2, ""),
                ev("bounced@example.com", HardBounce, 1, ""),
                ev("bounced@example.com", SignUp, 2, ""),
                ev("bounced@example.com", Confirm, 3, ""),
            ])
            .unwrap();
        let list = subscribers::parse(
            "[[subscriber]]\nemail = \"Listed@example.com\"\n\
             [[subscriber]]\nemail = \"back@example.com\"\nstatus = \"unsubscribed\"\n",
        )
        .unwrap();
        let m = mailable(list, &store.suppressions().unwrap());
        let who: Vec<(&str, Option<&str>)> = m
            .recipients
            .iter()
            .map(|r| (r.email.as_ref(), r.name.as_deref()))
            .collect();
        assert_eq!(
            who,
            [
                ("Listed@example.com", None),
                ("back@example.com", None),
                ("new@example.com", Some("Ada")),
            ]
        );
        assert_eq!(m.signups, 2);
    }
}
