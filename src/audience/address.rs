//! The one identity of an address, and the one address grammar.
//!
//! Two spellings of one mailbox must be one reader, or an unsubscribe is
//! bypassed by the second spelling: `a@bücher.example` unsubscribed and
//! `a@xn--bcher-kva.example` still active would mail that person. So every
//! place that compares addresses (the subscriber list's duplicates, the send
//! journal, the tokens in unsubscribe URLs, the audience store) compares an
//! [`AddressKey`]:
//!
//! - the **domain** as its IDNA A-label (UTS #46, lower-cased): `Bücher.Example`
//!   and `xn--bcher-kva.example` are one domain;
//! - the **local part** after Unicode NFC, lower-cased: `José` written with a
//!   combining accent and with `é` are one, and `Ada` is `ada` (RFC 5321 lets
//!   a server tell them apart; no real mailbox provider does, and treating
//!   them as one errs on the side of not mailing someone who left).
//!
//! The grammar is what the message builder and an SMTP relay accept, so a
//! list that loads also sends: a dot-atom local part (ASCII `atext` or
//! non-ASCII letters, RFC 6531) of at most 64 octets, a domain name with a
//! dot (no address literals such as `[127.0.0.1]`, no quoted local parts such
//! as `"a@b"@example.com`), and at most 254 octets in all (RFC 5321's path
//! limit less its angle brackets), in both the written and the A-label form.

use std::fmt;

use icu_normalizer::ComposingNormalizerBorrowed;

/// The canonical form of an address: local part NFC and lower-cased, domain
/// the IDNA A-label, lower-cased. Equal keys are one reader.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct AddressKey(String);

/// Why an address is refused, in words that say what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError(String);

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AddressError {}

/// The longest address, in octets (RFC 5321 §4.5.3.1.3: a 256-octet path
/// including `<` and `>`).
pub const MAX_ADDRESS: usize = 254;
/// The longest local part, in octets (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL: usize = 64;

fn err(s: impl Into<String>) -> AddressError {
    AddressError(s.into())
}

/// `atext` of RFC 5322 §3.2.3 (ASCII), plus any non-ASCII character (RFC 6531).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
}

/// Checks `text` against the address grammar and splits it into the local
/// part and the domain as written.
fn split(text: &str) -> Result<(&str, &str), AddressError> {
    if text.is_empty() {
        return Err(err("it is empty"));
    }
    if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(format!(
            "it contains {c:?}; write a bare address such as ada@example.com"
        )));
    }
    if text.contains(['<', '>']) {
        return Err(err(
            "write the bare address, without <angle brackets>; put the name in `name`",
        ));
    }
    if text.contains(['"', '\\']) {
        return Err(err(
            "quoted local parts (\"…\"@example.com) are not supported; write a plain address such as ada@example.com",
        ));
    }
    if text.len() > MAX_ADDRESS {
        return Err(err(format!(
            "it is {} octets long; an address has at most {MAX_ADDRESS}",
            text.len()
        )));
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return Err(err("it has no @domain part"));
    };
    if local.contains('@') {
        return Err(err("it has more than one @"));
    }
    if local.is_empty() {
        return Err(err("the part before @ is empty"));
    }
    if local.len() > MAX_LOCAL {
        return Err(err(format!(
            "the part before @ is {} octets long; it may have at most {MAX_LOCAL}",
            local.len()
        )));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(err(
            "the part before @ may not start or end with a dot or have two dots in a row",
        ));
    }
    if let Some(c) = local.chars().find(|&c| c != '.' && !is_atext(c)) {
        return Err(err(format!(
            "the part before @ contains {c:?}, which an address may not contain unquoted"
        )));
    }
    if domain.starts_with('[') {
        return Err(err(
            "address literals such as [127.0.0.1] are not supported; use the domain name",
        ));
    }
    if domain.is_empty() {
        return Err(err("the domain after @ is empty"));
    }
    Ok((local, domain))
}

/// The domain's IDNA A-label, lower-cased, checked as a DNS name with a dot.
pub fn ascii_domain(domain: &str) -> Result<String, AddressError> {
    let ascii = if domain.is_ascii()
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !domain.contains("xn--")
    {
        domain.to_string()
    } else {
        idna::domain_to_ascii_strict(domain).map_err(|_| {
            err(format!(
                "the domain `{domain}` is not a valid domain name (letters, digits and hyphens between dots)"
            ))
        })?
    };
    if ascii.split('.').any(|l| l.is_empty() || l.len() > 63)
        || ascii.starts_with('-')
        || ascii
            .split('.')
            .any(|l| l.starts_with('-') || l.ends_with('-'))
        || !ascii
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err(err(format!(
            "the domain `{domain}` is not a valid domain name (letters, digits and hyphens between dots)"
        )));
    }
    if !ascii.contains('.') {
        return Err(err(format!(
            "the domain `{domain}` has no dot; mail cannot be delivered there"
        )));
    }
    Ok(ascii)
}

fn normalize_local(local: &str) -> String {
    if local.is_ascii() {
        return local.to_ascii_lowercase();
    }
    let nfc = ComposingNormalizerBorrowed::new_nfc();
    nfc.normalize(&nfc.normalize(local).to_lowercase())
        .into_owned()
}

/// Checks `text` and returns the local part as written and the A-label
/// domain: the form sent over SMTP (only a non-ASCII local part then needs
/// SMTPUTF8).
pub fn wire_parts(text: &str) -> Result<(&str, String), AddressError> {
    let (local, domain) = split(text)?;
    let ascii = ascii_domain(domain)?;
    if local.len() + 1 + ascii.len() > MAX_ADDRESS {
        return Err(err(format!(
            "with its domain written as `{ascii}` it is {} octets long; an address has at most {MAX_ADDRESS}",
            local.len() + 1 + ascii.len()
        )));
    }
    Ok((local, ascii))
}

impl AddressKey {
    /// The key of `addr`, which must be a bare address the list grammar
    /// accepts (see the module documentation); the error says why not.
    pub fn parse(addr: &str) -> Result<AddressKey, AddressError> {
        let (local, domain) = wire_parts(addr)?;
        let local = normalize_local(local);
        Ok(AddressKey(format!("{local}@{domain}")))
    }

    /// The canonical text, e.g. `josé@xn--bcher-kva.example`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address partly hidden, for pages and logs: the first character of
    /// the local part and of the domain's first label, the rest of each
    /// replaced by `***`; the top-level domains stay (`a***@b***.example`).
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
        let (label, rest) = domain.split_once('.').unwrap_or((domain, ""));
        let mut out = format!("{}***@{}***", first(local), first(label));
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out
    }

    /// The key made from a stored canonical string, without checking it:
    /// for values this module produced before (the store, the journal).
    pub fn from_canonical(s: String) -> AddressKey {
        AddressKey(s)
    }
}

impl fmt::Display for AddressKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AddressKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The address as it goes over SMTP and into the `To:` header: the local
/// part as written, the domain as its A-label. An ASCII local part then
/// needs no SMTPUTF8, so an IDN reader is reachable through any relay.
pub fn wire_address(address: &lettre::Address) -> lettre::Address {
    let domain = address.domain();
    if domain.is_ascii() {
        return address.clone();
    }
    match ascii_domain(domain) {
        Ok(ascii) => {
            lettre::Address::new(address.user(), ascii).unwrap_or_else(|_| address.clone())
        }
        Err(_) => address.clone(),
    }
}

/// Checks an address as the list and the message builder need it: the one
/// grammar above, and then lettre's own parse.
pub fn validate(text: &str) -> Result<lettre::Address, AddressError> {
    wire_parts(text)?;
    text.parse::<lettre::Address>()
        .map_err(|e| err(format!("it is not a valid address ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        AddressKey::parse(s).unwrap().as_str().to_string()
    }

    #[test]
    fn equivalent_spellings_are_one_key() {
        let k = key("a@xn--bcher-kva.example");
        assert_eq!(k, "a@xn--bcher-kva.example");
        assert_eq!(key("a@bücher.example"), k);
        assert_eq!(key("A@BÜCHER.Example"), k);
        assert_eq!(key("A@XN--BCHER-KVA.EXAMPLE"), k);
        // The domain written NFD (u + combining diaeresis).
        assert_eq!(key("a@bu\u{308}cher.example"), k);
        // Local part: NFC and NFD, and case.
        let nfc = key("jos\u{e9}@example.com");
        assert_eq!(key("jose\u{301}@example.com"), nfc);
        assert_eq!(key("JOSE\u{301}@Example.COM"), nfc);
        assert_eq!(nfc, "jos\u{e9}@example.com");
        assert_ne!(key("jose@example.com"), nfc);
    }

    #[test]
    fn the_grammar_rejects_what_cannot_be_sent() {
        for bad in [
            "user@[127.0.0.1]",
            "\"a@b\"@example.com",
            "\"john doe\"@example.com",
            "a@localhost",
            "@example.com",
            "a@",
            "noat",
            "a b@example.com",
            "Ada <a@example.com>",
            ".a@example.com",
            "a..b@example.com",
            "a.@example.com",
            "a@b@example.com",
            "a(comment)@example.com",
            "a@exa_mple.com",
            "a@-example.com",
            "a@example..com",
            "",
        ] {
            assert!(AddressKey::parse(bad).is_err(), "{bad:?} was accepted");
            assert!(validate(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@{}.example.com", "a".repeat(60), "b".repeat(240));
        let e = AddressKey::parse(&long).unwrap_err().to_string();
        assert!(e.contains("254"), "{e}");
        let local = format!("{}@example.com", "a".repeat(65));
        assert!(AddressKey::parse(&local)
            .unwrap_err()
            .to_string()
            .contains("64"));
        // A domain whose A-label pushes it over the limit.
        let idn = format!("{}@{}.example", "a".repeat(60), "ü".repeat(60));
        assert!(AddressKey::parse(&idn).is_err());
    }

    #[test]
    fn what_it_accepts_the_message_builder_accepts() {
        for good in [
            "ada@example.com",
            "o'brien+news@sub.example.co.uk",
            "a@bücher.example",
            "josé@example.com",
            "x!#$%&*/=?^_`{|}~-@example.org",
        ] {
            AddressKey::parse(good).unwrap();
            let a = validate(good).unwrap();
            let w = wire_address(&a);
            lettre::message::Mailbox::new(None, w.clone());
            assert!(w.domain().is_ascii(), "{w}");
        }
        assert_eq!(
            wire_address(&"Ada@Bücher.example".parse().unwrap()).to_string(),
            "Ada@xn--bcher-kva.example"
        );
    }

    #[test]
    fn masked_hides_all_but_first_letters() {
        let k = AddressKey::parse("ada.lovelace@example.com").unwrap();
        assert_eq!(k.masked(), "a***@e***.com");
        let k = AddressKey::parse("élodie@mail.example.co.uk").unwrap();
        assert_eq!(k.masked(), "é***@m***.example.co.uk");
        assert!(!k.masked().contains("lodie"));
    }
}
