//! Postmark's bounce and spam-complaint webhooks.
//!
//! The route sits behind HTTP basic auth (the user name from
//! `[webhooks.postmark] username`, the password from the environment),
//! compared in constant time as SHA-256 digests of `user:password`.
//!
//! Severity from `TypeCode` (Postmark's bounce types), never the text:
//! - `HardBounce` 1, `AddressChange` 128, `BadEmailAddress` 100000: permanent;
//! - `Transient` 2, `DnsError` 256, `SoftBounce` 4096: transient;
//! - `SpamNotification` 512, `VirusNotification` 8192, `Blocked` 100006,
//!   `DMARCPolicy` 100009: the sender's problem (suppresses nobody);
//! - `SpamComplaint` 100001 (`RecordType: SpamComplaint`): a complaint;
//! - the rest (auto-responders, subscribe/unsubscribe requests, challenge
//!   verifications, manual deactivations, API errors, `Unknown` 2048) and
//!   other record types (`Delivery`, `Open`, `Click`, ...): ignored.
//!
//! Postmark's payload has no copy of the original's `Message-ID` unless
//! "include bounce content" is on (then `Content` holds the raw bounce,
//! read by [`crate::bounces::classify`]); without it a soft bounce is
//! counted per Postmark `MessageID` (one message per reader per issue).

use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{clean, Payload};
use crate::bounces::classify::{self, Failure, Kind, Original, Report, Severity};

/// The name a Postmark record is remembered by: `postmark:<ID>`.
pub fn key(v: &Value) -> Option<String> {
    match &v["ID"] {
        Value::Number(n) => Some(format!("postmark:{n}")),
        Value::String(s) if !s.is_empty() && s.len() <= 100 => Some(format!("postmark:{s}")),
        _ => None,
    }
}

/// The severity of a bounce `TypeCode`; `None` for types that are not
/// about the address (ignored).
pub fn severity(type_code: u64) -> Option<Severity> {
    match type_code {
        1 | 128 | 100000 => Some(Severity::Permanent),
        2 | 256 | 4096 => Some(Severity::Transient),
        512 | 8192 | 100006 | 100009 => Some(Severity::Policy),
        _ => None,
    }
}

/// Reads one Postmark webhook body.
pub fn parse(v: &Value) -> Result<Payload, &'static str> {
    let record = v["RecordType"].as_str().ok_or("no RecordType")?;
    let complaint = match record {
        "Bounce" => v["TypeCode"].as_u64() == Some(100001),
        "SpamComplaint" => true,
        _ => return Ok(Payload::Ignored),
    };
    let address = v["Email"].as_str().ok_or("no Email")?.to_string();
    let original = Original {
        message_id: v["Content"]
            .as_str()
            .and_then(|c| classify::parse(c.as_bytes()).original.message_id)
            .or_else(|| {
                v["MessageID"]
                    .as_str()
                    .filter(|m| !m.is_empty())
                    .map(|m| format!("postmark:{}", clean(m)))
            }),
        to: Vec::new(),
    };
    let diagnostic = clean(
        v["Details"]
            .as_str()
            .filter(|d| !d.trim().is_empty())
            .or_else(|| v["Description"].as_str())
            .unwrap_or(""),
    );
    let name = clean(v["Type"].as_str().unwrap_or("bounce"));
    let (kind, severity, feedback) = if complaint {
        (
            Kind::Complaint,
            Severity::Permanent,
            Some("abuse".to_string()),
        )
    } else {
        let code = v["TypeCode"].as_u64().ok_or("no TypeCode")?;
        match severity(code) {
            Some(s) => (Kind::Bounce, s, None),
            None => return Ok(Payload::Ignored),
        }
    };
    Ok(Payload::Report(Report::from_relay(
        kind,
        vec![Failure {
            address,
            severity,
            status: None,
            diagnostic: if diagnostic.is_empty() {
                format!("Postmark {name}")
            } else {
                format!("Postmark {name}: {diagnostic}")
            },
        }],
        original,
        feedback,
    )))
}

/// The digest the `Authorization: Basic` header must match.
pub fn credentials_digest(username: &str, password: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(username.as_bytes());
    h.update(b":");
    h.update(password);
    h.finalize().into()
}

/// True when `authorization` is `Basic <base64 of user:password>` whose
/// digest equals `expected` (constant time).
pub fn authorized(authorization: Option<&[u8]>, expected: &[u8; 32]) -> bool {
    use base64::Engine as _;
    let Some(value) = authorization
        .and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|a| {
            let (scheme, rest) = a.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest)
        })
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value.trim()) else {
        return false;
    };
    let digest: [u8; 32] = Sha256::digest(&decoded).into();
    bool::from(digest.ct_eq(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::fixture;

    #[test]
    fn a_hard_bounce() {
        let v = fixture("postmark-bounce-hard.json");
        assert_eq!(key(&v).as_deref(), Some("postmark:4323372036854775807"));
        let Payload::Report(r) = parse(&v).unwrap() else {
            panic!("ignored")
        };
        assert_eq!(r.kind, Kind::Bounce);
        assert_eq!(r.failures[0].address, "john@example.com");
        assert_eq!(r.failures[0].severity, Severity::Permanent);
    }

    #[test]
    fn a_spam_complaint() {
        let Payload::Report(r) = parse(&fixture("postmark-spam-complaint.json")).unwrap() else {
            panic!("ignored")
        };
        assert_eq!(r.kind, Kind::Complaint);
        assert_eq!(r.failures[0].address, "john@example.com");
    }

    #[test]
    fn type_codes() {
        assert_eq!(severity(1), Some(Severity::Permanent));
        assert_eq!(severity(4096), Some(Severity::Transient));
        assert_eq!(severity(100006), Some(Severity::Policy));
        assert_eq!(severity(64), None, "auto-responder");
        assert_eq!(severity(2048), None, "unknown");
        let delivery = serde_json::json!({"RecordType": "Delivery", "Recipient": "a@example.com"});
        assert_eq!(parse(&delivery), Ok(Payload::Ignored));
        let auto = serde_json::json!({"RecordType": "Bounce", "TypeCode": 64, "Email": "a@example.com", "ID": 1});
        assert_eq!(parse(&auto), Ok(Payload::Ignored));
    }

    #[test]
    fn basic_auth() {
        use base64::Engine as _;
        let expected = credentials_digest("postmark", b"correct horse battery");
        let header = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(authorized(
            Some(header("postmark:correct horse battery").as_bytes()),
            &expected
        ));
        assert!(!authorized(
            Some(header("postmark:wrong").as_bytes()),
            &expected
        ));
        assert!(!authorized(Some(b"Bearer x"), &expected));
        assert!(!authorized(None, &expected));
    }
}
