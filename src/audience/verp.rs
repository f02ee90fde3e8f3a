//! VERP: a per-recipient envelope sender (`MAIL FROM`, which the receiver
//! writes as `Return-Path`), so a bounce names its reader by the address it
//! is delivered to, whatever the bounce itself says.
//!
//! With `[bounces] return_path = "bounces@news.example"`, the message of
//! issue `issue-12` to a reader goes out with the envelope sender
//! `bounces+issue-12.<reader tag>.<mac>@news.example`:
//!
//! - the reader tag is 16 hex digits of a keyed HMAC of the address (the
//!   address itself never appears, and cannot be confirmed by guessing);
//! - the MAC is 8 hex digits of a keyed HMAC over issue and reader tag, so
//!   nobody without the list secret can forge a tag that suppresses someone;
//! - the local part stays within RFC 5321's 64 octets ([`Verp::new`]
//!   refuses a return path whose local part leaves no room).
//!
//! `From:` is unchanged. DKIM signs the headers (not the envelope), so it is
//! unaffected; SPF checks the envelope sender's *domain*, which VERP keeps.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::AddressKey;
use crate::{Error, Result};

/// RFC 5321 4.5.3.1.1: the maximum local part, in octets.
const MAX_LOCAL: usize = 64;
/// The longest issue key written into a tag as is; longer ones are hashed.
const MAX_ISSUE: usize = 20;

/// The VERP address maker and reader of one list.
#[derive(Clone)]
pub struct Verp {
    local: String,
    domain: String,
    key: [u8; 32],
}

impl std::fmt::Debug for Verp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verp")
            .field("local", &self.local)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// A tag read back from a bounce's address: whom and which issue it was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerpTag {
    /// The issue key (as [`Verp::envelope_sender`] was given it, or its hash).
    pub issue: String,
    /// The reader's tag; [`Verp::reader_tag`] of the reader's address.
    pub reader: String,
}

impl Verp {
    /// The VERP maker for `return_path` (`bounces@news.example`, from
    /// `[bounces] return_path`), keyed by the list secret.
    pub fn new(return_path: &str, secret: &[u8]) -> Result<Verp> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "[bounces] return_path = {return_path:?}: {why}; write a plain address such as \
                 \"bounces@news.example\" on a domain whose mail reaches the bounce mailbox"
            ))
        };
        let (local, domain) = return_path
            .trim()
            .rsplit_once('@')
            .ok_or_else(|| bad("not an address"))?;
        if local.is_empty()
            || domain.is_empty()
            || !local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            || !domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
        {
            return Err(bad(
                "the local part may hold only letters, digits, `-`, `_` and `.`, and no `+`",
            ));
        }
        // local + '+' + issue + '.' + 16 + '.' + 8
        let longest = local.len() + 1 + MAX_ISSUE + 1 + 16 + 1 + 8;
        if longest > MAX_LOCAL {
            return Err(bad(&format!(
                "the local part `{local}` is too long for a VERP tag (at most {} characters, \
                 so that the tagged local part stays within 64)",
                MAX_LOCAL - (longest - local.len())
            )));
        }
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
        mac.update(b"letterpress verp v1");
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        Ok(Verp {
            local: local.to_ascii_lowercase(),
            domain: domain.to_ascii_lowercase(),
            key,
        })
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length")
    }

    /// 16 hex digits of a keyed HMAC of `key`: the reader in a tag.
    pub fn reader_tag(&self, key: &AddressKey) -> String {
        let mut m = self.mac();
        m.update(b"reader\0");
        m.update(key.as_str().as_bytes());
        hex(&m.finalize().into_bytes()[..8])
    }

    fn seal(&self, issue: &str, reader: &str) -> String {
        let mut m = self.mac();
        m.update(b"seal\0");
        m.update(issue.as_bytes());
        m.update(b"\0");
        m.update(reader.as_bytes());
        hex(&m.finalize().into_bytes()[..4])
    }

    /// The envelope sender for the message of `issue` to `key`.
    pub fn envelope_sender(&self, issue: &str, key: &AddressKey) -> String {
        let issue = issue_part(issue);
        let reader = self.reader_tag(key);
        let seal = self.seal(&issue, &reader);
        format!("{}+{issue}.{reader}.{seal}@{}", self.local, self.domain)
    }

    /// True when `address` is in the VERP namespace (`bounces+…@domain`),
    /// whether or not its seal checks.
    pub fn is_tagged(&self, address: &str) -> bool {
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        address.rsplit_once('@').is_some_and(|(local, domain)| {
            domain.eq_ignore_ascii_case(&self.domain)
                && local
                    .to_ascii_lowercase()
                    .strip_prefix(&self.local)
                    .is_some_and(|t| t.starts_with('+'))
        })
    }

    /// The tag in `address` when it is one of ours and its MAC checks
    /// (compared in constant time); `None` for anything else.
    pub fn open(&self, address: &str) -> Option<VerpTag> {
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, domain) = address.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let local = local.to_ascii_lowercase();
        let tag = local.strip_prefix(&self.local)?.strip_prefix('+')?;
        let mut parts = tag.rsplitn(3, '.');
        let (seal, reader, issue) = (parts.next()?, parts.next()?, parts.next()?);
        if reader.len() != 16 || seal.len() != 8 || issue.is_empty() {
            return None;
        }
        let mut m = self.mac();
        m.update(b"seal\0");
        m.update(issue.as_bytes());
        m.update(b"\0");
        m.update(reader.as_bytes());
        let want = m.finalize().into_bytes();
        let got = unhex(seal)?;
        // Constant time: compare every byte.
        let diff = want[..4]
            .iter()
            .zip(&got)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (diff == 0 && got.len() == 4).then(|| VerpTag {
            issue: issue.to_string(),
            reader: reader.to_string(),
        })
    }
}

/// The issue key as written in a tag: lower-cased, as is up to 20
/// characters of `[a-z0-9-]`, else `h` and 12 hex digits of its SHA-256.
pub fn issue_part(issue: &str) -> String {
    let lower = issue.to_ascii_lowercase();
    if !lower.is_empty()
        && lower.len() <= MAX_ISSUE
        && lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        lower
    } else {
        format!("h{}", hex(&Sha256::digest(issue.as_bytes())[..6]))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn key(a: &str) -> AddressKey {
        AddressKey::parse(a).unwrap()
    }

    #[test]
    fn round_trip_within_64_octets() {
        let v = Verp::new("bounces@News.Example", SECRET).unwrap();
        let addr = v.envelope_sender("issue-12", &key("Ada@Example.com"));
        let (local, domain) = addr.rsplit_once('@').unwrap();
        assert_eq!(domain, "news.example");
        assert!(local.len() <= 64, "{addr}");
        assert!(local.starts_with("bounces+issue-12."), "{addr}");
        assert!(
            !addr.contains("ada"),
            "the address must not be in clear: {addr}"
        );
        let tag = v.open(&addr.to_uppercase()).unwrap();
        assert_eq!(tag.issue, "issue-12");
        assert_eq!(tag.reader, v.reader_tag(&key("ada@example.com")));
        // The longest issue key still fits.
        let long = v.envelope_sender(&"x".repeat(200), &key("a@b.example"));
        assert!(long.split('@').next().unwrap().len() <= 64, "{long}");
        assert!(v.open(&long).is_some());
    }

    #[test]
    fn forged_or_foreign_tags_are_refused() {
        let v = Verp::new("bounces@news.example", SECRET).unwrap();
        let addr = v.envelope_sender("issue-12", &key("ada@example.com"));
        // Another reader's tag with this seal, another issue, a flipped digit.
        let other = v.reader_tag(&key("bob@example.com"));
        let (local, _) = addr.rsplit_once('@').unwrap();
        let parts: Vec<&str> = local.rsplitn(3, '.').collect();
        let forged = format!("bounces+issue-12.{other}.{}@news.example", parts[0]);
        assert_eq!(v.open(&forged), None);
        let forged = addr.replace("issue-12", "issue-13");
        assert_eq!(v.open(&forged), None);
        let mut flipped = addr.clone().into_bytes();
        let at = flipped.iter().position(|&b| b == b'@').unwrap() - 1;
        flipped[at] = if flipped[at] == b'0' { b'1' } else { b'0' };
        assert_eq!(v.open(&String::from_utf8(flipped).unwrap()), None);
        assert_eq!(v.open(&addr.replace("news.example", "evil.example")), None);
        // Another secret does not open it.
        let w = Verp::new("bounces@news.example", &[7u8; 32]).unwrap();
        assert_eq!(w.open(&addr), None);
        assert_eq!(v.open("bounces@news.example"), None);
    }

    #[test]
    fn return_paths_that_leave_no_room_are_refused() {
        assert!(Verp::new("bounces+x@news.example", SECRET).is_err());
        assert!(Verp::new("no-at-sign", SECRET).is_err());
        let e = Verp::new(&format!("{}@news.example", "b".repeat(30)), SECRET).unwrap_err();
        assert!(e.to_string().contains("too long"), "{e}");
    }
}
