//! Tokens in unsubscribe URLs: opaque, bound to one address and one list,
//! checked in constant time.
//!
//! A token is `base64url(version ‖ AES-SIV(key, [purpose, list id], address))`,
//! the address being its [`AddressKey`]. AES-SIV (RFC 5297, RustCrypto's
//! `aes-siv` crate, built on their `aes`, `cmac` and `ctr`) is a
//! *deterministic* authenticated encryption: the synthetic IV is a CMAC of
//! the associated data and the plaintext, the plaintext is encrypted under
//! AES-CTR with that IV, and opening recomputes the MAC and compares it in
//! constant time. That is the construction the brief asks for (nonce = MAC of
//! the plaintext, stream cipher, MAC), already reviewed and misuse-resistant,
//! instead of one assembled by hand. We chose it over a plain HMAC of the
//! address (the old signer) because an HMAC token needs the address beside
//! it in the URL, and URLs end up in logs and forwarded mail; and over a
//! nonce-based AEAD (AES-GCM, ChaCha20-Poly1305) because the same reader must
//! get the same URL in every message and on every retry (RFC 8058 one-click
//! URLs are long-lived), and a repeated nonce would break those ciphers
//! outright while SIV only reveals that two tokens are equal.
//!
//! - **List-bound and purpose-bound**: the list id and the purpose
//!   (`unsubscribe` / `resubscribe`) are associated data, so a token for
//!   another list, or an undo token used as an unsubscribe, does not open.
//! - **Keys**: the 64-byte SIV key and the Message-ID key are derived from
//!   the list secret with HMAC-SHA256 under fixed labels, so one secret
//!   serves both without the two uses ever sharing a key. Secrets shorter
//!   than [`MIN_SECRET`] bytes are refused: a short one is guessed from one
//!   token offline.
//! - **Versioned**: the first byte is [`VERSION`], so the format can change
//!   while old links keep working.

use aes_siv::aead::generic_array::GenericArray;
use aes_siv::siv::Aes256Siv;
use aes_siv::KeyInit;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::address::AddressKey;

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET: usize = 32;
/// The token format's version byte.
pub const VERSION: u8 = 1;
/// The longest token [`Tokens::open_unsubscribe`] looks at, in characters (an
/// address of 254 octets makes a token of about 370).
const MAX_TOKEN: usize = 400;

/// Why a secret was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The secret is shorter than [`MIN_SECRET`] bytes.
    SecretTooShort {
        /// Its length in bytes.
        len: usize,
    },
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::SecretTooShort { len } => write!(
                f,
                "the unsubscribe secret is {len} bytes long; it must have at least {MIN_SECRET} \
                 (generate one with `head -c 32 /dev/urandom | base64`)"
            ),
        }
    }
}

impl std::error::Error for TokenError {}

/// What a token is for: part of the associated data.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    Unsubscribe,
    Resubscribe,
    Confirm,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Unsubscribe => b"unsubscribe",
            Purpose::Resubscribe => b"resubscribe",
            Purpose::Confirm => b"confirm-signup",
        }
    }
}

/// Makes and opens tokens with one list secret.
#[derive(Clone)]
pub struct Tokens {
    siv_key: [u8; 64],
    id_key: [u8; 32],
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens { keys: <hidden> }")
    }
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"letterpress/v1/");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

impl Tokens {
    /// Tokens under `secret`; refused when it is shorter than [`MIN_SECRET`] bytes.
    pub fn new(secret: &[u8]) -> Result<Tokens, TokenError> {
        if secret.len() < MIN_SECRET {
            return Err(TokenError::SecretTooShort { len: secret.len() });
        }
        let mut siv_key = [0u8; 64];
        siv_key[..32].copy_from_slice(&derive(secret, b"token-siv-mac"));
        siv_key[32..].copy_from_slice(&derive(secret, b"token-siv-ctr"));
        Ok(Tokens {
            siv_key,
            id_key: derive(secret, b"message-id"),
        })
    }

    fn siv(&self) -> Aes256Siv {
        Aes256Siv::new(GenericArray::from_slice(&self.siv_key))
    }

    fn seal(&self, purpose: Purpose, list_id: &str, key: &AddressKey) -> String {
        self.seal_bytes(purpose, list_id, key.as_str().as_bytes())
    }

    fn seal_bytes(&self, purpose: Purpose, list_id: &str, plain: &[u8]) -> String {
        let sealed = self
            .siv()
            .encrypt([purpose.label(), list_id.as_bytes()], plain)
            .expect("two headers and any plaintext are within AES-SIV's limits");
        let mut raw = Vec::with_capacity(1 + sealed.len());
        raw.push(VERSION);
        raw.extend_from_slice(&sealed);
        B64.encode(raw)
    }

    fn open(&self, purpose: Purpose, list_id: &str, token: &str) -> Option<AddressKey> {
        let plain = self.open_bytes(purpose, list_id, token)?;
        canonical_key(plain)
    }

    fn open_bytes(&self, purpose: Purpose, list_id: &str, token: &str) -> Option<Vec<u8>> {
        if token.len() > MAX_TOKEN {
            return None;
        }
        let raw = B64.decode(token).ok()?;
        let (&version, sealed) = raw.split_first()?;
        if version != VERSION || sealed.len() <= aes_siv::siv::IV_SIZE {
            return None;
        }
        self.siv()
            .decrypt([purpose.label(), list_id.as_bytes()], sealed)
            .ok()
    }

    /// The sign-up confirmation token for `key` on `list_id`, valid until
    /// `expires_at_ms` (ms since the epoch): the expiry is sealed with the
    /// address, so it cannot be changed without the token failing to open.
    pub fn confirm(&self, list_id: &str, key: &AddressKey, expires_at_ms: i64) -> String {
        let mut plain = expires_at_ms.to_be_bytes().to_vec();
        plain.extend_from_slice(key.as_str().as_bytes());
        self.seal_bytes(Purpose::Confirm, list_id, &plain)
    }

    /// Opens a [`Tokens::confirm`] token: the address, if the token is
    /// genuine, for this list, and not expired at `now_ms`.
    pub fn open_confirm(&self, list_id: &str, token: &str, now_ms: i64) -> Option<AddressKey> {
        let plain = self.open_bytes(Purpose::Confirm, list_id, token)?;
        if plain.len() < 8 {
            return None;
        }
        let (when, address) = plain.split_at(8);
        let expires = i64::from_be_bytes(when.try_into().ok()?);
        if now_ms > expires {
            return None;
        }
        canonical_key(address.to_vec())
    }

    /// The unsubscribe token for `key` on list `list_id`: URL-safe base64,
    /// the same every time (so a reader's link is stable).
    pub fn unsubscribe(&self, list_id: &str, key: &AddressKey) -> String {
        self.seal(Purpose::Unsubscribe, list_id, key)
    }

    /// The address an unsubscribe token was made for, if it is genuine and
    /// for this list; `None` for anything forged, altered or foreign. The
    /// authentication tag is compared in constant time.
    pub fn open_unsubscribe(&self, list_id: &str, token: &str) -> Option<AddressKey> {
        self.open(Purpose::Unsubscribe, list_id, token)
    }

    /// The signed undo: a token that resubscribes `key` (never opens as an
    /// unsubscribe token, nor the other way round).
    pub fn resubscribe(&self, list_id: &str, key: &AddressKey) -> String {
        self.seal(Purpose::Resubscribe, list_id, key)
    }

    /// Opens a [`Tokens::resubscribe`] token, as [`Tokens::open_unsubscribe`] does.
    pub fn open_resubscribe(&self, list_id: &str, token: &str) -> Option<AddressKey> {
        self.open(Purpose::Resubscribe, list_id, token)
    }

    /// 20 hex digits of a keyed HMAC of `key` for the Message-ID: stable for
    /// one reader, but nobody without the secret can confirm a guessed
    /// address from it (an unkeyed hash of the address would let anyone).
    pub fn message_id_tag(&self, key: &AddressKey) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.id_key).expect("any key length");
        mac.update(key.as_str().as_bytes());
        let tag = mac.finalize().into_bytes();
        tag[..10].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The key in a token's plaintext. Only this module seals, and only
/// canonical keys: re-parse anyway, so a caller never gets a key that is not one.
fn canonical_key(plain: Vec<u8>) -> Option<AddressKey> {
    let text = String::from_utf8(plain).ok()?;
    let key = AddressKey::parse(&text).ok()?;
    (key.as_str() == text).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirm_tokens_expire_and_do_not_mix_with_others() {
        let t = Tokens::new(&[7u8; 32]).unwrap();
        let key = AddressKey::parse("new@example.com").unwrap();
        let token = t.confirm("list.example", &key, 1_000);
        assert_eq!(
            t.open_confirm("list.example", &token, 999),
            Some(key.clone())
        );
        assert_eq!(
            t.open_confirm("list.example", &token, 1_000),
            Some(key.clone())
        );
        assert_eq!(t.open_confirm("list.example", &token, 1_001), None);
        assert_eq!(t.open_confirm("other.example", &token, 0), None);
        assert_eq!(t.open_unsubscribe("list.example", &token), None);
        let unsub = t.unsubscribe("list.example", &key);
        assert_eq!(t.open_confirm("list.example", &unsub, 0), None);
        assert!(!token.contains("example"));
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn key(s: &str) -> AddressKey {
        AddressKey::parse(s).unwrap()
    }

    #[test]
    fn round_trip_and_no_address_in_clear() {
        let t = Tokens::new(SECRET).unwrap();
        let k = key("Ada.Lovelace@Example.com");
        let tok = t.unsubscribe("news.example", &k);
        assert!(tok
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(!tok.to_lowercase().contains("ada"), "{tok}");
        let raw = B64.decode(&tok).unwrap();
        assert!(!raw.windows(3).any(|w| w == b"ada"));
        assert_eq!(t.open_unsubscribe("news.example", &tok), Some(k.clone()));
        // Deterministic: the same link in every message.
        assert_eq!(tok, t.unsubscribe("news.example", &k));
        // Equivalent spellings give the same token.
        assert_eq!(
            tok,
            t.unsubscribe("news.example", &key("ada.lovelace@example.COM"))
        );
    }

    #[test]
    fn forged_altered_and_foreign_tokens_are_refused() {
        let t = Tokens::new(SECRET).unwrap();
        let k = key("a@bücher.example");
        let tok = t.unsubscribe("news.example", &k);
        // Another list.
        assert_eq!(t.open_unsubscribe("other.example", &tok), None);
        // Another secret.
        let other = Tokens::new(b"another secret of at least 32 bytes!").unwrap();
        assert_eq!(other.open_unsubscribe("news.example", &tok), None);
        // Every single-character change.
        for i in 0..tok.len() {
            let mut b = tok.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(b).unwrap();
            if altered != tok {
                assert_eq!(t.open_unsubscribe("news.example", &altered), None, "{i}");
            }
        }
        // Truncated, extended, garbage, empty, huge.
        assert_eq!(
            t.open_unsubscribe("news.example", &tok[..tok.len() - 1]),
            None
        );
        assert_eq!(t.open_unsubscribe("news.example", &format!("{tok}A")), None);
        assert_eq!(t.open_unsubscribe("news.example", "not a token!"), None);
        assert_eq!(t.open_unsubscribe("news.example", ""), None);
        assert_eq!(
            t.open_unsubscribe("news.example", &"A".repeat(100_000)),
            None
        );
        // The old HMAC-only tokens (22 characters) do not open.
        assert_eq!(
            t.open_unsubscribe("news.example", "AAAAAAAAAAAAAAAAAAAAAA"),
            None
        );
        // A forged token: random bytes of the right shape.
        let forged = B64.encode([&[VERSION][..], &[7u8; 40][..]].concat());
        assert_eq!(t.open_unsubscribe("news.example", &forged), None);
    }

    #[test]
    fn undo_and_unsubscribe_tokens_do_not_mix() {
        let t = Tokens::new(SECRET).unwrap();
        let k = key("a@example.com");
        let undo = t.resubscribe("l", &k);
        assert_eq!(t.open_resubscribe("l", &undo), Some(k.clone()));
        assert_eq!(t.open_unsubscribe("l", &undo), None);
        let unsub = t.unsubscribe("l", &k);
        assert_eq!(t.open_resubscribe("l", &unsub), None);
        assert_ne!(undo, unsub);
    }

    #[test]
    fn short_secrets_are_refused() {
        for s in [&b""[..], b"k", b"test-secret", &[1u8; 31]] {
            let e = Tokens::new(s).unwrap_err();
            assert_eq!(e, TokenError::SecretTooShort { len: s.len() });
            assert!(e.to_string().contains("at least 32"), "{e}");
        }
        assert!(Tokens::new(&[1u8; 32]).is_ok());
    }

    #[test]
    fn message_id_tag_is_keyed() {
        let t = Tokens::new(SECRET).unwrap();
        let k = key("a@example.com");
        let tag = t.message_id_tag(&k);
        assert_eq!(tag.len(), 20);
        assert_eq!(tag, t.message_id_tag(&key("A@EXAMPLE.com")));
        let other = Tokens::new(&[9u8; 32]).unwrap();
        assert_ne!(tag, other.message_id_tag(&k));
        // Not the unkeyed hash the Message-ID used to carry.
        use sha2::Digest;
        let unkeyed: String = sha2::Sha256::digest(b"a@example.com")[..10]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_ne!(tag, unkeyed);
    }
}
