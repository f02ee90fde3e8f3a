//! From a classified [`Report`] to audience-store events: whom it concerns
//! (attribution) and what it does to them (the policy).
//!
//! Attribution, first match wins: the VERP tag of the address the report
//! was delivered to ([`crate::audience::verp`], when `[bounces] return_path`
//! is set), whose seal is checked; else the recipient the report names,
//! when it is on the list; else the original's Message-ID, which letterpress derives
//! from the issue and a keyed tag of the recipient
//! ([`crate::audience::Tokens::message_id_tag`]). An address that is not on
//! the list is never suppressed: a forged or misdirected report cannot
//! remove anyone else.
//!
//! Policy:
//! - a permanent failure (no such user or domain, mailbox disabled) or a
//!   complaint suppresses at once;
//! - a transient one (mailbox full, 4.x.x, delayed) is recorded, and
//!   suppresses once the address soft-bounced on
//!   `[bounces] soft_bounce_limit` distinct issues (default 3);
//! - a rejection of the sender itself (5.7.x reputation or policy, 5.6.x
//!   content, 5.3.4 size) suppresses nobody and is reported to the author;
//! - an unsubscribe request to the `List-Unsubscribe` mailto address from a
//!   reader on the list unsubscribes that reader.

use std::collections::{HashMap, HashSet};

use super::classify::{Failure, Kind, Report, Severity};
use crate::audience::store::{now_ms, Event, EventKind, Source, Store};
use crate::audience::verp::Verp;
use crate::audience::{AddressKey, Tokens};
use crate::config::Config;
use crate::Result;

/// The list as attribution sees it: who is on it, and the Message-ID tag of
/// each reader.
#[derive(Debug, Default)]
pub struct Roster {
    keys: HashSet<AddressKey>,
    by_tag: HashMap<String, AddressKey>,
    by_reader: HashMap<String, AddressKey>,
    verp: Option<Verp>,
}

impl Roster {
    /// The roster of `keys` (every address in `subscribers.toml`), with the
    /// Message-ID tags `tokens` gives them.
    pub fn new(keys: impl IntoIterator<Item = AddressKey>, tokens: Option<&Tokens>) -> Roster {
        let mut r = Roster::default();
        for k in keys {
            if let Some(t) = tokens {
                r.by_tag.insert(t.message_id_tag(&k), k.clone());
            }
            r.keys.insert(k);
        }
        r
    }

    /// The roster of the list `config` names (`[paths] subscribers`), with
    /// Message-ID tags and, when `[bounces] return_path` is set, VERP tags
    /// made with the list secret `secret`. Without the secret, reports are
    /// attributed only by the addresses they name.
    pub fn from_config(config: &Config, secret: Option<&[u8]>) -> Result<Roster> {
        let list = config.resolve(&config.paths.subscribers);
        let subs = crate::subscribers::from_file(&list)?;
        let keys: Vec<AddressKey> = subs
            .list
            .iter()
            .filter_map(|s| AddressKey::parse(s.email.as_ref()).ok())
            .collect();
        let tokens = match secret {
            Some(secret) => Some(crate::message::list_tokens(config, Some(secret))?),
            None => None,
        };
        let mut roster = Roster::new(keys, tokens.as_ref());
        if let (Some(rp), Some(secret)) = (&config.bounces.return_path, secret) {
            roster = roster.with_verp(Verp::new(rp, secret)?);
        }
        Ok(roster)
    }

    /// The roster that also reads VERP tags made by `verp`.
    pub fn with_verp(mut self, verp: Verp) -> Roster {
        self.by_reader = self
            .keys
            .iter()
            .map(|k| (verp.reader_tag(k), k.clone()))
            .collect();
        self.verp = Some(verp);
        self
    }

    /// The reader and issue of the first of `addresses` that carries a
    /// VERP tag of ours with a valid seal.
    pub fn by_verp<'a>(
        &self,
        addresses: impl IntoIterator<Item = &'a String>,
    ) -> Option<(AddressKey, String)> {
        let verp = self.verp.as_ref()?;
        addresses.into_iter().find_map(|a| {
            let tag = verp.open(a)?;
            let key = self.by_reader.get(&tag.reader)?;
            Some((key.clone(), tag.issue))
        })
    }

    /// True when one of `addresses` is in the VERP namespace but no tag of
    /// ours opens: a forged or damaged tag.
    pub fn forged_verp<'a>(&self, addresses: impl IntoIterator<Item = &'a String>) -> bool {
        let Some(verp) = &self.verp else {
            return false;
        };
        let mut tagged = false;
        for a in addresses {
            if verp.is_tagged(a) {
                if verp.open(a).is_some() {
                    return false;
                }
                tagged = true;
            }
        }
        tagged
    }

    /// True when `key` is on the list.
    pub fn contains(&self, key: &AddressKey) -> bool {
        self.keys.contains(key)
    }

    /// The reader and issue a letterpress Message-ID
    /// (`<issue>.<tag>@<domain>`, brackets optional) was made for.
    pub fn by_message_id(&self, id: &str) -> Option<(AddressKey, String)> {
        let id = id.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, _) = id.rsplit_once('@')?;
        let (issue, tag) = local.rsplit_once('.')?;
        let key = self.by_tag.get(tag)?;
        Some((key.clone(), issue.to_string()))
    }

    /// How many addresses are on the list.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The knobs of the policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Soft bounces on this many distinct issues suppress (`[bounces] soft_bounce_limit`).
    pub soft_bounce_limit: u32,
    /// The `List-Unsubscribe` mailto address (`[unsubscribe] mailto`), when set.
    pub unsubscribe_mailto: Option<String>,
}

impl Policy {
    /// The policy `[bounces]` and `[unsubscribe]` configure.
    pub fn from_config(config: &Config) -> Policy {
        Policy {
            soft_bounce_limit: config.bounces.soft_bounce_limit,
            unsubscribe_mailto: config.unsubscribe.mailto.clone(),
        }
    }
}

/// What one report does.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The events to record.
    pub events: Vec<Event>,
    /// `(address, issue)` of each soft bounce, for the distinct-issue count.
    pub soft: Vec<(AddressKey, String)>,
    /// Rejections of the sender itself (5.7.x...): nobody is suppressed,
    /// the author should look at the reputation or the content.
    pub sender_problems: Vec<Failure>,
    /// Addresses named by the report that are not on the list (ignored).
    pub not_on_list: Vec<String>,
    /// The report came to a VERP address whose seal does not check: forged
    /// or damaged, so it suppresses nobody.
    pub forged: bool,
}

/// Decides what `report` does, reading the soft-bounce history from `store`.
pub fn decide(
    report: &Report,
    roster: &Roster,
    policy: &Policy,
    store: &Store,
) -> Result<Decision> {
    let mut d = Decision::default();
    if roster.forged_verp(&report.envelope_to) {
        d.forged = true;
        return Ok(d);
    }
    let verp = roster.by_verp(&report.envelope_to);
    let original = report
        .original
        .message_id
        .as_deref()
        .and_then(|id| roster.by_message_id(id));
    let issue = verp
        .as_ref()
        .or(original.as_ref())
        .map(|(_, i)| i.clone())
        .or_else(|| report.original.message_id.clone());
    let attribute = |address: &str, only: bool| -> Option<AddressKey> {
        // One recipient per envelope: the VERP tag names whom it was for.
        if let Some((k, _)) = &verp {
            return Some(k.clone());
        }
        if let Ok(k) = AddressKey::parse(address) {
            if roster.contains(&k) {
                return Some(k);
            }
        }
        // The original's Message-ID names one reader: it stands for the
        // failure only when the report names one recipient.
        match &original {
            Some((k, _)) if only => Some(k.clone()),
            _ => None,
        }
    };
    match report.kind {
        Kind::Bounce => {
            let only = report.failures.len() == 1;
            for f in &report.failures {
                if f.severity == Severity::Policy {
                    d.sender_problems.push(f.clone());
                    continue;
                }
                let Some(key) = attribute(&f.address, only) else {
                    d.not_on_list.push(f.address.clone());
                    continue;
                };
                let detail = describe(f);
                match f.severity {
                    Severity::Permanent => {
                        d.events.push(event(key, EventKind::HardBounce, detail));
                    }
                    Severity::Transient => {
                        d.events
                            .push(event(key.clone(), EventKind::SoftBounce, detail.clone()));
                        let Some(issue) = issue.clone() else {
                            // Without the issue it cannot count toward "distinct
                            // issues": recorded, never suppresses.
                            continue;
                        };
                        let mut issues = store.soft_bounce_issues(&key)?;
                        if !issues.contains(&issue) {
                            issues.push(issue.clone());
                        }
                        if issues.len() as u64 >= u64::from(policy.soft_bounce_limit) {
                            d.events.push(event(
                                key.clone(),
                                EventKind::HardBounce,
                                format!(
                                    "soft bounces on {} distinct issues ({}); last: {detail}",
                                    issues.len(),
                                    issues.join(", ")
                                ),
                            ));
                        }
                        d.soft.push((key, issue));
                    }
                    Severity::Policy => unreachable!("handled above"),
                }
            }
        }
        Kind::Complaint => {
            let kind = report.feedback_type.as_deref().unwrap_or("abuse");
            let mut keys: Vec<AddressKey> = verp.iter().map(|(k, _)| k.clone()).collect();
            keys.extend(
                report
                    .failures
                    .iter()
                    .filter_map(|f| AddressKey::parse(&f.address).ok())
                    .filter(|k| roster.contains(k)),
            );
            if keys.is_empty() {
                keys.extend(original.as_ref().map(|(k, _)| k.clone()));
            }
            if keys.is_empty() {
                d.not_on_list
                    .extend(report.failures.iter().map(|f| f.address.clone()));
            }
            keys.sort();
            keys.dedup();
            for k in keys {
                d.events.push(event(
                    k,
                    EventKind::Complaint,
                    format!("feedback report ({kind})"),
                ));
            }
        }
        Kind::Unsubscribe => {
            let to_mailto = policy.unsubscribe_mailto.as_deref().is_some_and(|m| {
                report
                    .envelope_to
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(m.trim()))
            });
            let from = report
                .from
                .as_deref()
                .and_then(|f| AddressKey::parse(f).ok());
            match from {
                Some(k) if to_mailto && roster.contains(&k) => d.events.push(event(
                    k,
                    EventKind::Unsubscribe,
                    "unsubscribe request by mail".to_string(),
                )),
                _ => d.not_on_list.extend(report.from.clone()),
            }
        }
        Kind::Notice | Kind::AutoReply | Kind::Unknown => {}
    }
    Ok(d)
}

/// `5.1.1 <diagnostic>`: what `letterpress audience` shows as the reason.
fn describe(f: &Failure) -> String {
    match (f.status, f.diagnostic.is_empty()) {
        (Some(s), false) => format!("{s} {}", f.diagnostic),
        (Some(s), true) => s.to_string(),
        (None, false) => f.diagnostic.clone(),
        (None, true) => f.severity.as_str().to_string(),
    }
}

fn event(address: AddressKey, kind: EventKind, detail: String) -> Event {
    Event {
        address,
        kind,
        source: Source::Mailbox,
        at_ms: now_ms(),
        detail,
    }
}
