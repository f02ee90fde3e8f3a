//! DKIM signing configuration from `[dkim]`.
//!
//! lettre signs; this module turns the config into its [`DkimConfig`] with the
//! choices the issue requires: relaxed/relaxed canonicalization (lettre's
//! default `simple` header canonicalization breaks as soon as a header is
//! re-folded in transit) and a header list that covers the unsubscribe
//! headers, so nobody can swap the one-click URL without breaking the
//! signature.
//!
//! Keys are PEM files: Ed25519 as PKCS#8 (`openssl genpkey -algorithm
//! ed25519`), RSA as PKCS#8 or PKCS#1 (`openssl genrsa 2048`), at least 2048
//! bits. lettre wants PKCS#1 PEM for RSA and the raw 32-byte seed (base64) for
//! Ed25519, so both are converted here.

use std::path::Path;

use base64::Engine as _;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;

use crate::config::Dkim;
use crate::error::{Error, Result};
use crate::fs::read_text;

/// The headers every signature covers, in this order.
pub const SIGNED_HEADERS: [&str; 7] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The smallest RSA key accepted.
pub const MIN_RSA_BITS: usize = 2048;

/// Reads the key named in `[dkim]` (relative to the config's directory via
/// `resolve`) and builds the signing configuration.
pub fn load(dkim: &Dkim, key_path: &Path) -> Result<DkimConfig> {
    let pem = read_text(key_path)?;
    let bad = |msg: String| Error::parse(key_path, None, msg);
    let (key, algorithm) = match dkim.algorithm.to_ascii_lowercase().as_str() {
        "ed25519" => {
            let seed = ed25519_seed(&pem).map_err(bad)?;
            let b64 = base64::engine::general_purpose::STANDARD.encode(seed);
            (b64, DkimSigningAlgorithm::Ed25519)
        }
        "rsa" | "rsa-sha256" => {
            let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
                .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&pem))
                .map_err(|e| {
                    bad(format!(
                        "not an RSA private key in PEM (PKCS#8 or PKCS#1): {e}; create one with `openssl genrsa -out dkim.pem 2048`"
                    ))
                })?;
            let bits = key.size() * 8;
            if bits < MIN_RSA_BITS {
                return Err(bad(format!(
                    "the RSA key has {bits} bits; DKIM verifiers reject keys under {MIN_RSA_BITS}"
                )));
            }
            let pkcs1 = key
                .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
                .map_err(|e| bad(format!("cannot re-encode the RSA key: {e}")))?;
            (pkcs1.to_string(), DkimSigningAlgorithm::Rsa)
        }
        other => {
            return Err(Error::Usage(format!(
                "dkim.algorithm = {other:?}: use \"ed25519\" or \"rsa\""
            )))
        }
    };
    let key = DkimSigningKey::new(&key, algorithm)
        .map_err(|e| bad(format!("lettre rejected the key: {e}")))?;
    if dkim.selector.is_empty()
        || !dkim
            .selector
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(Error::Usage(format!(
            "dkim.selector = {:?}: letters, digits, `-`, `_` and `.` only",
            dkim.selector
        )));
    }
    Ok(DkimConfig::new(
        dkim.selector.clone(),
        dkim.domain.clone(),
        key,
        SIGNED_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect(),
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    ))
}

/// The 32-byte Ed25519 seed from a PKCS#8 PEM (`BEGIN PRIVATE KEY`), or from
/// a file holding just the base64 seed.
fn ed25519_seed(pem: &str) -> std::result::Result<[u8; 32], String> {
    let hint = "create one with `openssl genpkey -algorithm ed25519 -out dkim.pem`";
    let body: String = if pem.contains("-----BEGIN") {
        if !pem.contains("-----BEGIN PRIVATE KEY-----") {
            return Err(format!(
                "expected an Ed25519 `BEGIN PRIVATE KEY` PEM (PKCS#8); {hint}"
            ));
        }
        pem.lines()
            .skip_while(|l| !l.starts_with("-----BEGIN PRIVATE KEY-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect()
    } else {
        pem.split_whitespace().collect()
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("the key is not valid base64: {e}; {hint}"))?;
    if der.len() == 32 {
        return Ok(der.try_into().expect("length checked"));
    }
    // PKCS#8: ... AlgorithmIdentifier { OID 1.3.101.112 } OCTET STRING { OCTET STRING (32) }
    const OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
    const SEED: [u8; 4] = [0x04, 0x22, 0x04, 0x20];
    let at = der
        .windows(OID.len())
        .position(|w| w == OID)
        .ok_or_else(|| format!("not an Ed25519 key (no Ed25519 algorithm identifier); {hint}"))?;
    let rest = &der[at + OID.len()..];
    let s = rest
        .windows(SEED.len())
        .position(|w| w == SEED)
        .ok_or_else(|| format!("malformed Ed25519 PKCS#8 key; {hint}"))?;
    rest.get(s + SEED.len()..s + SEED.len() + 32)
        .map(|b| b.try_into().expect("32 bytes"))
        .ok_or_else(|| format!("truncated Ed25519 key; {hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_pkcs8_seed_is_extracted() {
        // RFC 8410 section 10.3 example key.
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        let seed = ed25519_seed(pem).unwrap();
        assert_eq!(seed[0], 0xd4);
        assert_eq!(seed[31], 0x42);
        assert!(ed25519_seed(
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
        )
        .is_err());
        assert!(ed25519_seed("!!!").is_err());
    }
}
