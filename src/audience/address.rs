//! The one identity of an address. (Minimal stand-in with the interface of
//! TEAM.md until branch `aud`'s IDNA/NFC version is merged; theirs wins.)

/// An address as the audience compares it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct AddressKey(String);

/// Why a string is not an address.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an email address")]
pub struct AddressError(String);

impl AddressKey {
    /// Parses and normalises an address (lower-cased).
    pub fn parse(addr: &str) -> Result<AddressKey, AddressError> {
        let a = addr.trim();
        match a.split_once('@') {
            Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@') => {
                Ok(AddressKey(a.to_lowercase()))
            }
            _ => Err(AddressError(addr.to_string())),
        }
    }
    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `a***@b***.example` for pages and logs.
    pub fn masked(&self) -> String {
        let (l, d) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
        let (host, tld) = d.rsplit_once('.').unwrap_or((d, ""));
        format!("{}***@{}***.{}", first(l), first(host), tld)
    }
}
