//! Mailgun's webhooks (the JSON form: `{"signature": {...}, "event-data": {...}}`).
//!
//! Each post carries `signature.timestamp`, `signature.token` and
//! `signature.signature`, the hex HMAC-SHA256 of timestamp + token under
//! the HTTP webhook signing key; it is checked in constant time. A
//! timestamp more than [`MAX_AGE`] from now is refused, and so is a token
//! already used by an accepted post ([`Tokens`], bounded). The signature
//! does not cover `event-data`, so a token is also bound to the event of
//! the first post that carried it: a post that was not accepted (a 503,
//! which Mailgun retries) leaves no signature for another event to use.
//!
//! Severity, from Mailgun's fields, never the text: a `failed` event with
//! `severity: temporary` is transient; with `permanent`, `reason: espblock`
//! is the sender's problem, else `delivery-status.enhanced-code` when it
//! parses ([`Severity::of`]), else the three-digit `delivery-status.code`
//! when it is an SMTP code, else permanent. `complained` is a complaint;
//! other events (`delivered`, `opened`, `accepted`, ...) are ignored.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{clean, strip_angles, Payload};
use crate::bounces::classify::{EnhancedStatus, Failure, Kind, Original, Report, Severity};

/// The widest distance between a post's timestamp and our clock. Mailgun
/// signs each post as it sends it, so a genuine post is seconds old;
/// fifteen minutes allows for clock skew and slow queues.
pub const MAX_AGE: Duration = Duration::from_secs(15 * 60);
/// Tokens remembered (more than Mailgun posts in [`MAX_AGE`] to one list).
const TOKENS: usize = 100_000;

/// Why a post was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No or malformed `signature` object.
    Unsigned,
    /// The HMAC does not match.
    BadSignature,
    /// The timestamp is outside [`MAX_AGE`].
    Stale,
    /// The token was already used: by an accepted post, or by a post
    /// of another event.
    Replayed,
}

impl Refusal {
    /// The outcome named in the access log.
    pub fn outcome(self) -> &'static str {
        match self {
            Refusal::Unsigned => "unsigned",
            Refusal::BadSignature => "bad-signature",
            Refusal::Stale => "stale",
            Refusal::Replayed => "replayed",
        }
    }
}

/// A checked signature: the token to remember once the post is handled.
#[derive(Debug)]
pub struct Signed {
    token: String,
    timestamp: i64,
}

/// Checks `v["signature"]` with `key` at `now` (seconds).
pub fn verify(v: &Value, key: &[u8], now: i64, tokens: &Tokens) -> Result<Signed, Refusal> {
    let s = &v["signature"];
    let timestamp = s["timestamp"].as_str().ok_or(Refusal::Unsigned)?;
    let token = s["token"].as_str().ok_or(Refusal::Unsigned)?;
    let signature = s["signature"].as_str().ok_or(Refusal::Unsigned)?;
    let signature = hex(signature).ok_or(Refusal::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| Refusal::BadSignature)?;
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| Refusal::BadSignature)?;
    let t: i64 = timestamp.parse().map_err(|_| Refusal::Stale)?;
    if (now - t).unsigned_abs() > MAX_AGE.as_secs() {
        return Err(Refusal::Stale);
    }
    let event: [u8; 32] = Sha256::digest(v["event-data"].to_string()).into();
    let signed = Signed {
        token: token.to_string(),
        timestamp: t,
    };
    tokens.claim(&signed, event, now)?;
    Ok(signed)
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// The tokens of correctly signed posts, each with the digest of its
/// event and whether a post of it was accepted; forgotten once older than
/// [`MAX_AGE`] (a replay that old is refused as stale anyway), at most
/// 100,000 (only posts signed with the key are remembered).
#[derive(Debug, Default)]
pub struct Tokens {
    inner: Mutex<Seen>,
}

/// What a token was first used for.
#[derive(Debug)]
struct Use {
    /// SHA-256 of the post's `event-data`.
    event: [u8; 32],
    /// A post with it was answered 2xx.
    accepted: bool,
}

/// Token → its use, and the tokens oldest first (to forget them).
type Seen = (HashMap<String, Use>, VecDeque<(i64, String)>);

impl Tokens {
    /// Takes `signed`'s token for `event`: refused when a post with it was
    /// accepted, or when it came first with another event; a retry of the
    /// same event (after a 503) may use it again.
    fn claim(&self, signed: &Signed, event: [u8; 32], now: i64) -> Result<(), Refusal> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *inner;
        forget_old(map, order, now);
        match map.get(&signed.token) {
            Some(u) if u.accepted || u.event != event => Err(Refusal::Replayed),
            Some(_) => Ok(()),
            None => {
                map.insert(
                    signed.token.clone(),
                    Use {
                        event,
                        accepted: false,
                    },
                );
                order.push_back((signed.timestamp, signed.token.clone()));
                Ok(())
            }
        }
    }

    /// Marks the token of a post whose result is durable as used (not
    /// before: a post that failed must be retried with the same token).
    pub fn remember(&self, signed: Signed, now: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *inner;
        forget_old(map, order, now);
        if let Some(u) = map.get_mut(&signed.token) {
            u.accepted = true;
        }
    }

    #[cfg(test)]
    fn seen(&self, token: &str) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.0.contains_key(token)
    }
}

/// Forgets tokens older than [`MAX_AGE`], and the oldest past [`TOKENS`].
fn forget_old(map: &mut HashMap<String, Use>, order: &mut VecDeque<(i64, String)>, now: i64) {
    while let Some((t, _)) = order.front() {
        if now - *t > MAX_AGE.as_secs() as i64 || map.len() >= TOKENS {
            let (_, old) = order.pop_front().expect("front exists");
            map.remove(&old);
        } else {
            break;
        }
    }
}

/// The name an event is remembered by: `mailgun:<event-data.id>`.
pub fn key(v: &Value) -> Option<String> {
    v["event-data"]["id"]
        .as_str()
        .filter(|id| !id.is_empty() && id.len() <= 100)
        .map(|id| format!("mailgun:{}", clean(id)))
}

/// The severity of a `failed` event (see the module's rule).
pub fn severity(
    level: &str,
    reason: &str,
    enhanced: Option<EnhancedStatus>,
    code: Option<u64>,
) -> Severity {
    if level != "permanent" {
        return Severity::Transient;
    }
    if reason == "espblock" {
        return Severity::Policy;
    }
    if let Some(s) = enhanced {
        return Severity::of(s);
    }
    code.and_then(|c| u16::try_from(c).ok())
        .and_then(Severity::of_reply_code)
        .unwrap_or(Severity::Permanent)
}

/// Reads one Mailgun webhook body (already verified).
pub fn parse(v: &Value) -> Result<Payload, &'static str> {
    let e = &v["event-data"];
    let event = e["event"].as_str().ok_or("no event-data.event")?;
    let address = e["recipient"].as_str().ok_or("no event-data.recipient");
    let original = Original {
        message_id: e["message"]["headers"]["message-id"]
            .as_str()
            .map(|m| strip_angles(m).to_string())
            .filter(|m| !m.is_empty()),
        to: Vec::new(),
    };
    let (kind, failure) = match event {
        "failed" => {
            let ds = &e["delivery-status"];
            let enhanced = ds["enhanced-code"].as_str().and_then(EnhancedStatus::parse);
            let code = ds["code"].as_u64();
            let level = e["severity"].as_str().unwrap_or("");
            let reason = e["reason"].as_str().unwrap_or("");
            let words = [&ds["message"], &ds["description"]]
                .into_iter()
                .filter_map(Value::as_str)
                .find(|s| !s.trim().is_empty())
                .unwrap_or("");
            let diagnostic = match code {
                Some(c) => format!(
                    "Mailgun {level} failure ({}): {c} {}",
                    clean(reason),
                    clean(words)
                ),
                None => format!(
                    "Mailgun {level} failure ({}): {}",
                    clean(reason),
                    clean(words)
                ),
            };
            (
                Kind::Bounce,
                Failure {
                    address: address?.to_string(),
                    severity: severity(level, reason, enhanced, code),
                    status: enhanced,
                    diagnostic: clean(diagnostic.trim_end_matches([' ', ':'])),
                },
            )
        }
        "complained" => (
            Kind::Complaint,
            Failure {
                address: address?.to_string(),
                severity: Severity::Permanent,
                status: None,
                diagnostic: String::new(),
            },
        ),
        _ => return Ok(Payload::Ignored),
    };
    Ok(Payload::Report(Report::from_relay(
        kind,
        vec![failure],
        original,
        (kind == Kind::Complaint).then(|| "abuse".to_string()),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::fixture;

    fn sign(key: &[u8], timestamp: &str, token: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(timestamp.as_bytes());
        mac.update(token.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn a_permanent_failure() {
        let v = fixture("mailgun-failed-permanent.json");
        assert!(key(&v).unwrap().starts_with("mailgun:"));
        let Payload::Report(r) = parse(&v).unwrap() else {
            panic!("ignored")
        };
        assert_eq!(r.kind, Kind::Bounce);
        assert_eq!(r.failures[0].address, "alice@example.com");
        assert_eq!(r.failures[0].severity, Severity::Permanent);
    }

    #[test]
    fn severity_rules() {
        let s = EnhancedStatus::parse;
        assert_eq!(
            severity("temporary", "generic", s("5.1.1"), Some(550)),
            Severity::Transient
        );
        assert_eq!(
            severity("permanent", "espblock", None, Some(550)),
            Severity::Policy
        );
        assert_eq!(
            severity("permanent", "bounce", s("5.7.1"), Some(550)),
            Severity::Policy
        );
        assert_eq!(
            severity("permanent", "bounce", s("5.1.1"), Some(550)),
            Severity::Permanent
        );
        assert_eq!(
            severity("permanent", "bounce", None, Some(452)),
            Severity::Transient
        );
        assert_eq!(
            severity("permanent", "suppress-bounce", None, Some(605)),
            Severity::Permanent
        );
        assert_eq!(
            severity("permanent", "generic", None, None),
            Severity::Permanent
        );
    }

    #[test]
    fn signatures_staleness_and_replays() {
        let key = b"key-0123456789abcdef0123456789abcdef";
        let tokens = Tokens::default();
        let body = |ts: &str, token: &str, sig: &str| serde_json::json!({"signature": {"timestamp": ts, "token": token, "signature": sig}});
        let now = 1_800_000_000;
        let ts = now.to_string();
        let good = body(&ts, "tok-1", &sign(key, &ts, "tok-1"));
        let signed = verify(&good, key, now, &tokens).unwrap();
        tokens.remember(signed, now);
        assert_eq!(
            verify(&good, key, now, &tokens).unwrap_err(),
            Refusal::Replayed
        );
        let other_key = body(
            &ts,
            "tok-2",
            &sign(b"another key entirely......", &ts, "tok-2"),
        );
        assert_eq!(
            verify(&other_key, key, now, &tokens).unwrap_err(),
            Refusal::BadSignature
        );
        let old = (now - 16 * 60).to_string();
        let stale = body(&old, "tok-3", &sign(key, &old, "tok-3"));
        assert_eq!(
            verify(&stale, key, now, &tokens).unwrap_err(),
            Refusal::Stale
        );
        assert_eq!(
            verify(&serde_json::json!({}), key, now, &tokens).unwrap_err(),
            Refusal::Unsigned
        );
        // Forgotten once stale.
        tokens.remember(
            verify(
                &body(&ts, "tok-4", &sign(key, &ts, "tok-4")),
                key,
                now,
                &tokens,
            )
            .unwrap(),
            now + 20 * 60,
        );
        assert!(!tokens.seen("tok-1"));
    }

    #[test]
    fn a_token_is_bound_to_its_first_event() {
        let key = b"key-0123456789abcdef0123456789abcdef";
        let tokens = Tokens::default();
        let now = 1_800_000_000;
        let ts = now.to_string();
        let post = |recipient: &str| {
            serde_json::json!({
                "signature": {"timestamp": ts, "token": "tok-b", "signature": sign(key, &ts, "tok-b")},
                "event-data": {"event": "complained", "recipient": recipient, "id": recipient},
            })
        };
        // Not remembered (the post got a 503): the same event may come
        // again, another event under its signature may not.
        verify(&post("alice@example.com"), key, now, &tokens).unwrap();
        assert_eq!(
            verify(&post("bob@example.com"), key, now, &tokens).unwrap_err(),
            Refusal::Replayed
        );
        let retry = verify(&post("alice@example.com"), key, now, &tokens).unwrap();
        tokens.remember(retry, now);
        assert_eq!(
            verify(&post("alice@example.com"), key, now, &tokens).unwrap_err(),
            Refusal::Replayed
        );
    }
}
