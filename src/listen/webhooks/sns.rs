//! Amazon SNS's HTTPS delivery, checked the way AWS documents it
//! ("Verifying the signatures of Amazon SNS messages"):
//!
//! 1. the topic must be one of `[webhooks.ses] topic_arns` and the
//!    `Timestamp` recent ([`MAX_AGE`]);
//! 2. `SigningCertURL` must be
//!    `https://sns.<region>.amazonaws.com[.cn]/SimpleNotificationService-<name>.pem`
//!    ([`signing_cert_url`]: no other scheme, host, port, user info, path,
//!    query or fragment), checked before anything is fetched;
//! 3. the certificate is fetched over TLS from that host (trust roots and
//!    connection address from [`SnsTrust`]), with a timeout and a size cap,
//!    and kept in a small bounded cache;
//! 4. `Signature` must verify with the certificate's RSA key over the
//!    canonical string ([`canonical`]): SHA1withRSA for
//!    `SignatureVersion` 1, SHA256withRSA for 2.
//!
//! Raw message delivery (the bare SES JSON, unsigned) is refused: the
//! subscription must have it off.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rustls_pki_types::{CertificateDer, InvalidSignature, SignatureVerificationAlgorithm};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The oldest `Timestamp` accepted. SNS signs the time a message was
/// published and keeps it on every retry; its HTTP/S delivery policy
/// retries for at most an hour, so an hour (plus five minutes of clock
/// skew) lets every genuine retry in while a captured message cannot be
/// replayed later. Replays inside the window are harmless: the store
/// counts each `MessageId` once.
pub const MAX_AGE: Duration = Duration::from_secs(3600 + 300);
/// How far in the future a `Timestamp` may be (clock skew).
pub const MAX_SKEW: Duration = Duration::from_secs(300);
/// The longest a certificate or confirmation fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest certificate file read (SNS's are about 2 KiB).
const MAX_CERT: usize = 64 * 1024;
/// Certificates kept (SNS uses one per region at a time).
const CACHE_ENTRIES: usize = 16;
/// How long a fetched certificate is trusted before it is fetched again.
const CACHE_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a failed fetch is remembered, so a stream of forged URLs on
/// an SNS host cannot make `listen` fetch on every request.
const FAILURE_TTL: Duration = Duration::from_secs(60);

/// Whom `listen` trusts when it fetches from SNS: the roots that must
/// vouch for the SNS host's TLS certificate, and how its name resolves.
///
/// The shipped CLI always uses [`SnsTrust::public`] (the Mozilla roots of
/// `webpki-roots`, system DNS); tests that run the server in-process use
/// [`SnsTrust::with_roots_pem`] and [`SnsTrust::connect`] to point an SNS
/// host name at their own loopback HTTPS server. No config key or
/// environment variable changes it.
#[derive(Clone, Default)]
pub struct SnsTrust {
    roots_pem: Option<Vec<u8>>,
    connect: Vec<(String, SocketAddr)>,
}

impl std::fmt::Debug for SnsTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnsTrust")
            .field("public_roots", &self.roots_pem.is_none())
            .field("connect", &self.connect)
            .finish()
    }
}

impl SnsTrust {
    /// The public web PKI and system DNS: what production uses.
    pub fn public() -> SnsTrust {
        SnsTrust::default()
    }

    /// Trusts only the CA certificates in `pem` (instead of the public roots).
    pub fn with_roots_pem(pem: &[u8]) -> SnsTrust {
        SnsTrust {
            roots_pem: Some(pem.to_vec()),
            connect: Vec::new(),
        }
    }

    /// Connects to `addr` whenever `host` is fetched (instead of DNS).
    pub fn connect(mut self, host: &str, addr: SocketAddr) -> SnsTrust {
        self.connect.push((host.to_string(), addr));
        self
    }

    fn client(&self) -> Result<reqwest::Client> {
        let fail = |e: reqwest::Error| {
            Error::Usage(format!("cannot start the HTTPS client for SNS ({e})"))
        };
        let mut b = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .no_proxy();
        if let Some(pem) = &self.roots_pem {
            b = b.tls_built_in_root_certs(false);
            for c in reqwest::Certificate::from_pem_bundle(pem).map_err(fail)? {
                b = b.add_root_certificate(c);
            }
        }
        for (host, addr) in &self.connect {
            b = b.resolve(host, *addr);
        }
        b.build().map_err(fail)
    }
}

/// The JSON SNS posts (Notification, SubscriptionConfirmation,
/// UnsubscribeConfirmation); unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    /// `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// SNS's id of this message (the same on every retry).
    pub message_id: String,
    /// The topic it was published to.
    pub topic_arn: String,
    /// The payload (for SES, a JSON notification).
    pub message: String,
    /// When it was published (ISO 8601, UTC).
    pub timestamp: String,
    /// `1` (SHA1withRSA) or `2` (SHA256withRSA).
    pub signature_version: String,
    /// Base64 of the signature over [`canonical`].
    pub signature: String,
    /// Where the signing certificate is (must pass [`signing_cert_url`]).
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    /// A notification's subject, when it has one.
    #[serde(default)]
    pub subject: Option<String>,
    /// The confirmation URL of a (un)subscription confirmation.
    #[serde(default, rename = "SubscribeURL")]
    pub subscribe_url: Option<String>,
    /// The confirmation token of a (un)subscription confirmation.
    #[serde(default)]
    pub token: Option<String>,
}

/// The string SNS signs: `Name\nvalue\n` for each field, in AWS's
/// documented order. Notification: Message, MessageId, Subject (only when
/// present), Timestamp, TopicArn, Type. Subscription and unsubscribe
/// confirmations: Message, MessageId, SubscribeURL, Timestamp, Token,
/// TopicArn, Type. `None` for another type, a missing field, or a
/// `MessageId` that is not one line: a newline there would let the
/// optional `Subject` of a signed message move into the `MessageId`
/// (`id\nSubject\nS`) with the same string to sign, giving a captured
/// message a new id and so a second count.
pub fn canonical(e: &Envelope) -> Option<String> {
    if e.message_id.chars().any(char::is_control) {
        return None;
    }
    let mut fields: Vec<(&str, &str)> = vec![("Message", &e.message), ("MessageId", &e.message_id)];
    match e.kind.as_str() {
        "Notification" => {
            if let Some(s) = &e.subject {
                fields.push(("Subject", s));
            }
            fields.push(("Timestamp", &e.timestamp));
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            fields.push(("SubscribeURL", e.subscribe_url.as_deref()?));
            fields.push(("Timestamp", &e.timestamp));
            fields.push(("Token", e.token.as_deref()?));
        }
        _ => return None,
    }
    fields.push(("TopicArn", &e.topic_arn));
    fields.push(("Type", &e.kind));
    let mut s = String::new();
    for (k, v) in fields {
        s.push_str(k);
        s.push('\n');
        s.push_str(v);
        s.push('\n');
    }
    Some(s)
}

/// `url` when it is `https://sns.<region>.amazonaws.com/…` or
/// `https://sns.<region>.amazonaws.com.cn/…` (`<region>` shaped like
/// `us-east-1`: [`is_region`]), on the default port, without user info;
/// `None` for anything else (`http://`, another host, a port, `user@`, an
/// IP address, an S3 bucket called `sns`).
pub fn sns_host_url(url: &str) -> Option<url::Url> {
    let u = url::Url::parse(url).ok()?;
    if u.scheme() != "https"
        || !u.username().is_empty()
        || u.password().is_some()
        || u.port().is_some()
    {
        return None;
    }
    let Some(url::Host::Domain(host)) = u.host() else {
        return None;
    };
    let rest = host.strip_prefix("sns.")?;
    let region = rest
        .strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))?;
    is_region(region).then_some(u)
}

/// True for an AWS region's name: two letters, one or more lowercase
/// words, a number (`us-east-1`, `us-gov-west-1`, `cn-northwest-1`,
/// `ap-southeast-5`). Looser rules (any `[a-z0-9-]{3,}`, as some SNS
/// validators have) also admit `sns.s3-external-1.amazonaws.com`, Amazon
/// S3's name for a bucket called `sns`, whose owner, whoever that is,
/// could serve a signing certificate of their own over valid TLS.
fn is_region(region: &str) -> bool {
    let mut parts = region.split('-');
    let (Some(area), Some(number)) = (parts.next(), region.rsplit('-').next()) else {
        return false;
    };
    let words: Vec<&str> = parts.collect();
    region.len() <= 32
        && area.len() == 2
        && area.bytes().all(|b| b.is_ascii_lowercase())
        && words.len() >= 2
        && words[..words.len() - 1]
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// `url` when it passes [`sns_host_url`] and names a certificate the way
/// SNS does: path `/SimpleNotificationService-<letters and digits>.pem`,
/// no query, no fragment. Anything looser lets one certificate be named
/// by endless URLs (`?1`, `?2`, `#x`, `%53imple...`), each a fetch and a
/// cache entry that pushes out the one real messages use.
pub fn signing_cert_url(url: &str) -> Option<url::Url> {
    let u = sns_host_url(url)?;
    let name = u
        .path()
        .strip_prefix("/SimpleNotificationService-")?
        .strip_suffix(".pem")?;
    let ok = u.query().is_none()
        && u.fragment().is_none()
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some(u)
}

/// True when `timestamp` (RFC 3339) is within [`MAX_AGE`] before and
/// [`MAX_SKEW`] after `now_ms`.
pub fn fresh(timestamp: &str, now_ms: i64) -> bool {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(timestamp) else {
        return false;
    };
    let age = now_ms - t.timestamp_millis();
    age <= MAX_AGE.as_millis() as i64 && -age <= MAX_SKEW.as_millis() as i64
}

/// Why a message was refused, for the response and the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not SNS JSON, or an unknown type.
    Malformed,
    /// A topic not in `topic_arns`.
    OtherTopic,
    /// `Timestamp` outside the window.
    Stale,
    /// `SigningCertURL` not on an SNS host over https, or not named as SNS
    /// names its certificates ([`signing_cert_url`]).
    BadUrl,
    /// `SubscribeURL` not on an SNS host over https.
    BadSubscribeUrl,
    /// `SignatureVersion` other than 1 or 2.
    BadVersion,
    /// The certificate could not be had (network, status, size, format).
    NoCertificate,
    /// The signature does not verify.
    BadSignature,
}

impl Refusal {
    /// The outcome named in the access log.
    pub fn outcome(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::OtherTopic => "other-topic",
            Refusal::Stale => "stale",
            Refusal::BadUrl => "bad-cert-url",
            Refusal::BadSubscribeUrl => "bad-subscribe-url",
            Refusal::BadVersion => "bad-signature-version",
            Refusal::NoCertificate => "no-certificate",
            Refusal::BadSignature => "bad-signature",
        }
    }
}

struct Cached {
    at: Instant,
    cert: Option<Arc<CertificateDer<'static>>>,
}

/// The SNS checker: configured topics, the HTTPS client and the
/// certificate cache.
pub struct Sns {
    topics: Vec<String>,
    client: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
    /// One fetch at a time: a burst of messages costs one download; a
    /// post waits for it at most [`FETCH_TIMEOUT`].
    fetching: tokio::sync::Mutex<()>,
}

impl Sns {
    /// The checker for `topics`, fetching with `trust`.
    pub fn new(topics: Vec<String>, trust: &SnsTrust) -> Result<Sns> {
        Ok(Sns {
            topics,
            client: trust.client()?,
            cache: Mutex::new(HashMap::new()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// Checks `body` as an SNS message; the envelope when it is ours,
    /// fresh and correctly signed.
    pub async fn verify(&self, body: &[u8], now_ms: i64) -> std::result::Result<Envelope, Refusal> {
        let e: Envelope = serde_json::from_slice(body).map_err(|_| Refusal::Malformed)?;
        let canonical = canonical(&e).ok_or(Refusal::Malformed)?;
        if !self.topics.contains(&e.topic_arn) {
            return Err(Refusal::OtherTopic);
        }
        if !fresh(&e.timestamp, now_ms) {
            return Err(Refusal::Stale);
        }
        let cert_url = signing_cert_url(&e.signing_cert_url).ok_or(Refusal::BadUrl)?;
        let alg: &dyn SignatureVerificationAlgorithm = match e.signature_version.as_str() {
            "1" => &RSA_PKCS1_SHA1,
            "2" => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            _ => return Err(Refusal::BadVersion),
        };
        let signature = base64::engine::general_purpose::STANDARD
            .decode(e.signature.trim())
            .map_err(|_| Refusal::BadSignature)?;
        let cert = self.certificate(cert_url).await?;
        let ee =
            webpki::EndEntityCert::try_from(cert.as_ref()).map_err(|_| Refusal::NoCertificate)?;
        ee.verify_signature(alg, canonical.as_bytes(), &signature)
            .map_err(|_| Refusal::BadSignature)?;
        Ok(e)
    }

    /// GETs a verified confirmation's `SubscribeURL` (SNS host rule again);
    /// true when SNS answered 2xx.
    pub async fn confirm(&self, e: &Envelope) -> std::result::Result<bool, Refusal> {
        let url = e
            .subscribe_url
            .as_deref()
            .and_then(sns_host_url)
            .ok_or(Refusal::BadSubscribeUrl)?;
        match self.client.get(url).send().await {
            Ok(r) => Ok(r.status().is_success()),
            Err(_) => Ok(false),
        }
    }

    fn cached(
        &self,
        url: &str,
    ) -> Option<std::result::Result<Arc<CertificateDer<'static>>, Refusal>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let c = cache.get(url)?;
        match &c.cert {
            Some(cert) if c.at.elapsed() < CACHE_TTL => Some(Ok(cert.clone())),
            None if c.at.elapsed() < FAILURE_TTL => Some(Err(Refusal::NoCertificate)),
            _ => None,
        }
    }

    async fn certificate(
        &self,
        url: url::Url,
    ) -> std::result::Result<Arc<CertificateDer<'static>>, Refusal> {
        let key = url.as_str().to_string();
        if let Some(hit) = self.cached(&key) {
            return hit;
        }
        // Wait for another URL's fetch at most as long as a fetch may
        // take: a queue of forged URLs must not hold connections for
        // minutes. SNS retries a 503.
        let Ok(_one) = tokio::time::timeout(FETCH_TIMEOUT, self.fetching.lock()).await else {
            return Err(Refusal::NoCertificate);
        };
        if let Some(hit) = self.cached(&key) {
            return hit;
        }
        let cert = self.fetch(url).await.map(Arc::new);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_ENTRIES && !cache.contains_key(&key) {
            // Failures go first: a stream of bad URLs must not push out
            // the certificate that real messages use.
            if let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, c)| (c.cert.is_some(), c.at))
                .map(|(k, _)| k.clone())
            {
                cache.remove(&oldest);
            }
        }
        cache.insert(
            key,
            Cached {
                at: Instant::now(),
                cert: cert.clone(),
            },
        );
        cert.ok_or(Refusal::NoCertificate)
    }

    async fn fetch(&self, url: url::Url) -> Option<CertificateDer<'static>> {
        use rustls_pki_types::pem::PemObject as _;
        let mut r = self.client.get(url).send().await.ok()?;
        if !r.status().is_success() {
            return None;
        }
        let mut body = Vec::new();
        while let Some(chunk) = r.chunk().await.ok()? {
            if body.len() + chunk.len() > MAX_CERT {
                return None;
            }
            body.extend_from_slice(&chunk);
        }
        CertificateDer::from_pem_slice(&body).ok()
    }
}

/// SHA1withRSA (PKCS#1 v1.5), which SNS still uses for `SignatureVersion`
/// 1; rustls-webpki has no SHA-1, so ring's legacy verifier does it.
#[derive(Debug)]
struct RsaSha1;

static RSA_PKCS1_SHA1: RsaSha1 = RsaSha1;

impl SignatureVerificationAlgorithm for RsaSha1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> std::result::Result<(), InvalidSignature> {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            public_key,
        )
        .verify(message, signature)
        .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> rustls_pki_types::AlgorithmIdentifier {
        rustls_pki_types::alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> rustls_pki_types::AlgorithmIdentifier {
        // sha1WithRSAEncryption (1.2.840.113549.1.1.5), NULL parameters.
        rustls_pki_types::AlgorithmIdentifier::from_slice(&[
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
        ])
    }

    fn fips(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(kind: &str) -> Envelope {
        Envelope {
            kind: kind.into(),
            message_id: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324".into(),
            topic_arn: "arn:aws:sns:us-west-2:123456789012:MyTopic".into(),
            message: "Hello world!".into(),
            timestamp: "2012-05-02T00:54:06.655Z".into(),
            signature_version: "1".into(),
            signature: String::new(),
            signing_cert_url: "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem".into(),
            subject: Some("My First Message".into()),
            subscribe_url: None,
            token: None,
        }
    }

    #[test]
    fn notification_fields_in_aws_order_with_subject() {
        assert_eq!(
            canonical(&envelope("Notification")).unwrap(),
            "Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
             Subject\nMy First Message\nTimestamp\n2012-05-02T00:54:06.655Z\n\
             TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n"
        );
    }

    #[test]
    fn notification_without_subject_leaves_it_out() {
        let mut e = envelope("Notification");
        e.subject = None;
        assert!(!canonical(&e).unwrap().contains("Subject"));
    }

    #[test]
    fn confirmations_sign_subscribe_url_and_token() {
        for kind in ["SubscriptionConfirmation", "UnsubscribeConfirmation"] {
            let mut e = envelope(kind);
            e.subscribe_url = Some(
                "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=t".into(),
            );
            e.token = Some("t0k".into());
            assert_eq!(
                canonical(&e).unwrap(),
                format!(
                    "Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
                     SubscribeURL\nhttps://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=t\n\
                     Timestamp\n2012-05-02T00:54:06.655Z\nToken\nt0k\n\
                     TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\n{kind}\n"
                )
            );
            e.token = None;
            assert_eq!(canonical(&e), None, "a confirmation without a token");
        }
        assert_eq!(canonical(&envelope("Other")), None);
    }

    #[test]
    fn only_sns_hosts_over_https() {
        for ok in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns.cn-north-1.amazonaws.com.cn/x.pem",
            "https://sns.us-gov-west-1.amazonaws.com:443/x.pem",
            "https://sns.ap-southeast-2.amazonaws.com/x.pem",
            "https://sns.cn-northwest-1.amazonaws.com.cn/x.pem",
            "https://sns.eu-central-2.amazonaws.com/x.pem",
            "https://sns.il-central-1.amazonaws.com/x.pem",
        ] {
            assert!(sns_host_url(ok).is_some(), "{ok}");
        }
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com:8443/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://user:pw@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "https://sqs.us-east-1.amazonaws.com/x.pem",
            "https://sns.amazonaws.com/x.pem",
            "https://sns.a.b.amazonaws.com/x.pem",
            "https://sns.us_east.amazonaws.com/x.pem",
            // Amazon S3's names for a bucket called `sns` (anyone's).
            "https://sns.s3-external-1.amazonaws.com/x.pem",
            "https://sns.s3-ap-southeast-2.amazonaws.com/x.pem",
            "https://sns.s3-accelerate.amazonaws.com/x.pem",
            "https://sns.s3-website-us-east-1.amazonaws.com/x.pem",
            "https://sns.s3-us-gov-west-1.amazonaws.com/x.pem",
            "https://sns.compute-1.amazonaws.com/x.pem",
            "https://sns.us-east.amazonaws.com/x.pem",
            "https://sns.us--1.amazonaws.com/x.pem",
            "https://sns.us-east-1a.amazonaws.com/x.pem",
            "https://sns.use-east-1.amazonaws.com/x.pem",
            "https://127.0.0.1/x.pem",
            "ftp://sns.us-east-1.amazonaws.com/x.pem",
            "not a url",
            // Tricks on the host: a trailing dot, a backslash or `@` that
            // another parser reads differently, an IDN look-alike.
            "https://sns.us-east-1.amazonaws.com./x.pem",
            "https://evil.example\\@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com@evil.example/x.pem",
            "https://sns.us-east-1.amazonaws.com%40evil.example/x.pem",
            "https://sns.us-east-1.amazonaws.c\u{f3}m/x.pem",
            "https://sns.us-east-1.amazonaws.com\u{3002}evil.example/x.pem",
            "https://[::1]/x.pem",
            "https://0x7f000001/x.pem",
        ] {
            assert!(sns_host_url(bad).is_none(), "{bad}");
        }
        // Spellings that parse to the SNS host itself (case, percent
        // escapes, a backslash that ends the host as `/` does) are that
        // host, and the fetch goes to the URL as parsed, never the text.
        for (same, host) in [
            (
                "https://SNS.US-EAST-1.AMAZONAWS.COM/x.pem",
                "sns.us-east-1.amazonaws.com",
            ),
            (
                "https://sns.us-east-1.amazonaws%2Ecom/x.pem",
                "sns.us-east-1.amazonaws.com",
            ),
            (
                "https://sns.us-east-1.amazonaws.com\\@evil.example/x.pem",
                "sns.us-east-1.amazonaws.com",
            ),
        ] {
            assert_eq!(
                sns_host_url(same)
                    .and_then(|u| u.host_str().map(str::to_string))
                    .as_deref(),
                Some(host),
                "{same}"
            );
        }
    }

    #[test]
    fn signing_certificates_have_one_name() {
        let ok = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem";
        assert!(signing_cert_url(ok).is_some());
        for bad in [
            format!("{ok}?1"),
            format!("{ok}?"),
            format!("{ok}#x"),
            ok.replace("/Simple", "//Simple"),
            ok.replace("/Simple", "/%53imple"),
            ok.replace("f3ec", "%66%33ec"),
            "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-.pem".to_string(),
            "https://sns.us-west-2.amazonaws.com/x.pem".to_string(),
            "https://sns.us-west-2.amazonaws.com/a/SimpleNotificationService-f3.pem".to_string(),
            ok.replace("https:", "http:"),
        ] {
            assert!(signing_cert_url(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_message_id_is_one_line() {
        // With a Subject signed, `id\nSubject\nS` and no Subject would
        // make the same string to sign.
        let signed = envelope("Notification");
        let mut moved = signed.clone();
        moved.message_id = format!(
            "{}\nSubject\n{}",
            signed.message_id,
            signed.subject.clone().unwrap()
        );
        moved.subject = None;
        assert_eq!(canonical(&moved), None);
        assert!(canonical(&signed).is_some());
    }

    #[test]
    fn the_timestamp_window() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z")
            .unwrap()
            .timestamp_millis();
        assert!(fresh("2026-01-01T11:59:00.000Z", now));
        assert!(
            fresh("2026-01-01T11:00:00.000Z", now),
            "an hour of SNS retries"
        );
        assert!(!fresh("2026-01-01T10:50:00.000Z", now));
        assert!(fresh("2026-01-01T12:04:00Z", now));
        assert!(!fresh("2026-01-01T12:06:00Z", now));
        assert!(!fresh("yesterday", now));
    }
}
