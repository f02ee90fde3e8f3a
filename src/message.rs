//! Stage 3: the per-recipient message.
//!
//! [`MessageTemplate`] is built once per issue from a [`RenderedEmail`]: the
//! HTML and text are split at the [`Slot`] sentinels and the static pieces are
//! quoted-printable encoded once. [`MessageTemplate::build`] then costs only
//! the few recipient values (escaped for HTML, encoded for URLs), the headers
//! and a copy. `preview`'s `.eml`, `send --dry-run` and `send` all call it.

use std::time::SystemTime;

use base64::Engine as _;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::Address;

use crate::audience::address::wire_address;
use crate::audience::{AddressKey, Tokens};
use crate::compose::RenderedEmail;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::issue::Issue;

/// Moved to [`crate::compose::slot`]; kept here for callers of `message::Slot`.
pub use crate::compose::slot::Slot;

/// One person on the list, as the message builder needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Their address (validated).
    pub email: Address,
    /// Their display name, if known.
    pub name: Option<String>,
}

impl Recipient {
    /// A recipient without a display name.
    pub fn new(email: Address) -> Self {
        Recipient { email, name: None }
    }

    /// The recipient's name with control characters (CR, LF, ...) removed.
    fn clean_name(&self) -> String {
        self.name
            .as_deref()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .collect::<String>()
            .trim()
            .to_string()
    }
}

/// How a message is being built.
#[derive(Debug, Clone, Default)]
pub struct MessageOptions {
    /// A test send: subject prefixed `[TEST] ` and a unique Message-ID, so the
    /// mailbox does not deduplicate repeated tests.
    pub test: bool,
    /// The list secret (at least 32 bytes): it seals the unsubscribe tokens
    /// and keys the Message-IDs, so it is required.
    pub unsubscribe_secret: Option<Vec<u8>>,
    /// DKIM signing, when configured.
    pub dkim: Option<std::sync::Arc<lettre::message::dkim::DkimConfig>>,
}

/// The message for one recipient, ready for SMTP.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// The SMTP envelope: sender and exactly one recipient.
    pub envelope: lettre::address::Envelope,
    /// The Message-ID (with angle brackets), stable across retries.
    pub message_id: String,
    /// The RFC 5322 bytes, CRLF line endings.
    pub bytes: Vec<u8>,
}

/// A body split at its slots, static pieces already quoted-printable encoded.
#[derive(Debug, Clone)]
struct SlottedBody {
    parts: Vec<Part>,
    encoded_len: usize,
}

#[derive(Debug, Clone)]
enum Part {
    Static(Vec<u8>),
    Slot(Slot),
}

/// How a slot value is escaped where it lands.
#[derive(Debug, Clone, Copy)]
enum Context {
    Html,
    Text,
}

impl SlottedBody {
    fn new(source: &str) -> SlottedBody {
        let mut parts = Vec::new();
        let mut rest = source;
        loop {
            let next = Slot::ALL
                .iter()
                .filter_map(|&s| rest.find(s.sentinel()).map(|i| (i, s)))
                .min_by_key(|&(i, _)| i);
            match next {
                Some((i, slot)) => {
                    if i > 0 {
                        parts.push(Part::Static(qp_encode(&rest[..i], true)));
                    }
                    parts.push(Part::Slot(slot));
                    rest = &rest[i + slot.sentinel().len()..];
                }
                None => {
                    if !rest.is_empty() {
                        parts.push(Part::Static(qp_encode(rest, false)));
                    }
                    break;
                }
            }
        }
        let encoded_len = parts
            .iter()
            .map(|p| match p {
                Part::Static(b) => b.len(),
                Part::Slot(_) => 64,
            })
            .sum();
        SlottedBody { parts, encoded_len }
    }

    fn fill(&self, values: &SlotValues, ctx: Context) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len);
        for part in &self.parts {
            match part {
                Part::Static(b) => out.extend_from_slice(b),
                Part::Slot(s) => {
                    let raw = values.get(*s);
                    let value = match ctx {
                        Context::Html => html_escape::encode_quoted_attribute(raw),
                        Context::Text => raw.into(),
                    };
                    // Each slot value is its own run of QP lines ending in a
                    // soft break, so line lengths stay within 76 octets.
                    if !value.is_empty() {
                        out.extend_from_slice(&qp_encode(&value, true));
                    }
                }
            }
        }
        out
    }
}

struct SlotValues {
    name: String,
    email: String,
    unsubscribe_url: String,
}

impl SlotValues {
    fn get(&self, slot: Slot) -> &str {
        match slot {
            Slot::Name => &self.name,
            Slot::Email => &self.email,
            Slot::UnsubscribeUrl => &self.unsubscribe_url,
        }
    }
}

/// Quoted-printable (RFC 2045) with CRLF line ends and lines of at most 76
/// octets. With `soft_end`, the output ends in a soft line break (`=\r\n`) so
/// another encoded piece can follow directly.
pub fn qp_encode(text: &str, soft_end: bool) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Printable ASCII but `=`: written as is (a `.` only after column 0).
    let plain = |b: u8| matches!(b, 33..=60 | 62..=126);
    let mut out = Vec::with_capacity(text.len() + text.len() / 8 + 8);
    let mut col = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Fast path: copy a run of plain bytes that fits on the line.
        if plain(b) && !(b == b'.' && col == 0) {
            let run = bytes[i..]
                .iter()
                .take(75 - col)
                .take_while(|&&b| plain(b))
                .count();
            if run > 0 {
                out.extend_from_slice(&bytes[i..i + run]);
                col += run;
                i += run;
                continue;
            }
        }
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
            out.extend_from_slice(b"\r\n");
            col = 0;
            i += if b == b'\r' { 2 } else { 1 };
            continue;
        }
        let at_line_end = matches!(bytes.get(i + 1), None | Some(b'\n') | Some(b'\r'));
        let mut literal = match b {
            b' ' | b'\t' => !at_line_end || (soft_end && i + 1 == bytes.len()),
            b => plain(b),
        };
        if col + if literal { 1 } else { 3 } > 75 {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        // A line never starts with a literal `.` (SMTP reserves it).
        literal &= !(b == b'.' && col == 0);
        if literal {
            out.push(b);
            col += 1;
        } else {
            out.extend_from_slice(&[b'=', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            col += 3;
        }
        i += 1;
    }
    if soft_end && col > 0 {
        out.extend_from_slice(b"=\r\n");
    }
    out
}

/// The list's [`Tokens`] from its secret: refused when the secret is missing
/// or shorter than 32 bytes, with the environment variable to set.
pub fn list_tokens(config: &Config, secret: Option<&[u8]>) -> Result<Tokens> {
    let var = &config.unsubscribe.secret_env;
    let Some(secret) = secret else {
        return Err(Error::Usage(format!(
            "the list secret is not set; export {var} (at least 32 random bytes, e.g. \
             `export {var}=$(head -c 32 /dev/urandom | base64)`, kept out of git and the same \
             for `send` and `listen`): it seals unsubscribe tokens and keys Message-IDs"
        )));
    };
    Tokens::new(secret).map_err(|e| Error::Usage(format!("${var}: {e}")))
}

/// Everything per-issue that every recipient's message shares.
#[derive(Debug, Clone)]
pub struct MessageTemplate {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    subject: String,
    html: SlottedBody,
    text: SlottedBody,
    headers: Vec<HeaderValue>,
    /// `[listen]`, which makes the unsubscribe URL from a token.
    listen: crate::config::Listen,
    /// The list the tokens are bound to ([`Config::list_id`]).
    list_id: String,
    /// `mailto:…?subject=unsubscribe`, the same for every recipient.
    unsubscribe_mailto: Option<String>,
    tokens: Tokens,
    /// `[bounces] return_path`: the per-recipient envelope sender (VERP).
    verp: Option<crate::audience::verp::Verp>,
    id_prefix: String,
    id_domain: String,
    test: bool,
    dkim: Option<std::sync::Arc<lettre::message::dkim::DkimConfig>>,
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// The longest word written as is in a header. RFC 5322 folds only at
/// whitespace, so a longer word (a 5,000-character subject without spaces, a
/// 10,000-character name) would make a line past the 998-octet limit; such
/// a phrase is written as RFC 2047 encoded words instead.
const MAX_HEADER_WORD: usize = 75;

/// True when `text` has a word too long to fold.
fn needs_encoded_words(text: &str) -> bool {
    text.split_whitespace().any(|w| w.len() > MAX_HEADER_WORD)
}

/// `text` as RFC 2047 `B` encoded words, one per folded line: each holds at
/// most 45 bytes of UTF-8 (never a split character), so it is 72 characters
/// long; a reader joins adjacent encoded words without the folding space.
fn encoded_words(text: &str) -> String {
    const CHUNK: usize = 45;
    let b64 = &base64::engine::general_purpose::STANDARD;
    let mut words = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if i + c.len_utf8() - start > CHUNK {
            words.push(format!("=?utf-8?b?{}?=", b64.encode(&text[start..i])));
            start = i;
        }
    }
    if start < text.len() || words.is_empty() {
        words.push(format!("=?utf-8?b?{}?=", b64.encode(&text[start..])));
    }
    words.join("\r\n ")
}

/// A header whose `text` is encoded and folded by [`encoded_words`].
fn encoded_header(name: &'static str, text: &str) -> HeaderValue {
    HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str(name),
        text.to_string(),
        encoded_words(text),
    )
}

/// A mailbox header whose display name is written as encoded words, the
/// address on a folded line of its own.
fn encoded_mailbox_header(name: &'static str, mailbox: &Mailbox) -> HeaderValue {
    let display = mailbox.name.as_deref().unwrap_or_default();
    HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str(name),
        mailbox.to_string(),
        format!("{}\r\n <{}>", encoded_words(display), mailbox.email),
    )
}

fn reject_line_breaks(what: &str, value: &str) -> Result<()> {
    if value.contains(['\r', '\n']) {
        return Err(Error::Usage(format!(
            "the {what} contains a line break, which would let it inject mail headers; remove it: {value:?}"
        )));
    }
    Ok(())
}

impl MessageTemplate {
    /// Prepares the per-recipient message for `email` (composed from `issue`).
    pub fn new(
        email: &RenderedEmail,
        issue: &Issue,
        config: &Config,
        opts: MessageOptions,
    ) -> Result<Self> {
        reject_line_breaks("subject", &email.subject)?;
        reject_line_breaks("sender (newsletter.from)", &config.newsletter.from)?;
        let from = config.from_mailbox();
        let reply_to = config
            .newsletter
            .reply_to
            .as_deref()
            .map(|r| r.parse::<Mailbox>().expect("validated in Config::parse"));
        let domain = from.email.domain().to_string();
        let list_id = config.list_id();
        let name = config.newsletter.name.replace(['"', '\\'], "");
        let mut headers = vec![
            header("List-Id", format!("\"{name}\" <{list_id}>")),
            header("Precedence", "bulk".into()),
            header("Auto-Submitted", "auto-generated".into()),
            header("Content-Language", email.language.clone()),
        ];
        let archive = crate::archive::list_archive(config, issue);
        headers.push(header("List-Archive", format!("<{archive}>")));
        let tokens = list_tokens(config, opts.unsubscribe_secret.as_deref())?;
        let verp = match (
            &config.bounces.return_path,
            opts.unsubscribe_secret.as_deref(),
        ) {
            (Some(rp), Some(secret)) => Some(crate::audience::verp::Verp::new(rp, secret)?),
            _ => None,
        };
        let subject = if opts.test {
            format!("[TEST] {}", email.subject)
        } else {
            email.subject.clone()
        };
        let id_prefix = issue.key();
        Ok(MessageTemplate {
            from,
            reply_to,
            subject,
            html: SlottedBody::new(&email.html),
            text: SlottedBody::new(&email.text),
            headers,
            listen: config.listen.clone(),
            list_id,
            unsubscribe_mailto: config
                .unsubscribe
                .mailto
                .as_ref()
                .map(|m| format!("mailto:{m}?subject=unsubscribe")),
            tokens,
            verp,
            id_prefix,
            id_domain: domain,
            test: opts.test,
            dkim: opts.dkim,
        })
    }

    /// The Message-ID for `key`: derived from the issue and a keyed HMAC of
    /// the address (nobody without the list secret can confirm a guessed
    /// address from it), stable across retries and resumes.
    pub fn message_id(&self, key: &AddressKey) -> String {
        let tag = self.tokens.message_id_tag(key);
        if self.test {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("<{}.{tag}.test{nanos}@{}>", self.id_prefix, self.id_domain)
        } else {
            format!("<{}.{tag}@{}>", self.id_prefix, self.id_domain)
        }
    }

    /// The unsubscribe URL for `key`, `{listen.public_url}/unsubscribe/{token}`,
    /// when `public_url` is configured.
    pub fn unsubscribe_url(&self, key: &AddressKey) -> Option<String> {
        self.listen
            .unsubscribe_url(&self.tokens.unsubscribe(&self.list_id, key))
    }

    /// Builds the message for one recipient.
    pub fn build(&self, recipient: &Recipient) -> Result<OutgoingMessage> {
        let email: &str = recipient.email.as_ref();
        let key = AddressKey::parse(email)
            .map_err(|e| Error::Usage(format!("cannot build the message for {email}: {e}")))?;
        let web_unsub = self.unsubscribe_url(&key);
        let mailto_unsub = self.unsubscribe_mailto.as_ref();
        let values = SlotValues {
            name: recipient.clean_name(),
            email: email.to_string(),
            unsubscribe_url: web_unsub
                .clone()
                .or_else(|| mailto_unsub.cloned())
                .unwrap_or_default(),
        };
        let message_id = self.message_id(&key);
        // The domain as its A-label, in To and in the envelope: only a
        // non-ASCII local part needs SMTPUTF8.
        let wire = wire_address(&recipient.email);
        let to = Mailbox::new(
            Some(values.name.clone()).filter(|n| !n.is_empty()),
            wire.clone(),
        );

        let mut builder = lettre::Message::builder();
        builder = if self.from.name.as_deref().is_some_and(needs_encoded_words) {
            builder.raw_header(encoded_mailbox_header("From", &self.from))
        } else {
            builder.from(self.from.clone())
        };
        builder = if to.name.as_deref().is_some_and(needs_encoded_words) {
            builder.raw_header(encoded_mailbox_header("To", &to))
        } else {
            builder.to(to)
        };
        builder = if needs_encoded_words(&self.subject) {
            builder.raw_header(encoded_header("Subject", &self.subject))
        } else {
            builder.subject(self.subject.clone())
        };
        // The envelope sender: the From address, or with `[bounces]
        // return_path` the reader's VERP address (From: stays as it is).
        let sender = match &self.verp {
            Some(verp) => {
                let verp_sender = verp.envelope_sender(&self.id_prefix, &key);
                verp_sender.parse().map_err(|e| {
                    Error::Usage(format!("cannot use the VERP sender {verp_sender}: {e}"))
                })?
            }
            None => self.from.email.clone(),
        };
        let mut builder = builder
            .envelope(
                lettre::address::Envelope::new(Some(sender), vec![wire]).map_err(|e| {
                    Error::Usage(format!("cannot build the envelope for {email}: {e}"))
                })?,
            )
            .date(SystemTime::now())
            .message_id(Some(message_id.clone()));
        if let Some(r) = &self.reply_to {
            builder = builder.reply_to(r.clone());
        }
        for h in &self.headers {
            builder = builder.raw_header(h.clone());
        }
        let unsub: Vec<String> = [web_unsub.as_ref(), mailto_unsub]
            .into_iter()
            .flatten()
            .map(|u| format!("<{u}>"))
            .collect();
        if !unsub.is_empty() {
            builder = builder.raw_header(header("List-Unsubscribe", unsub.join(", ")));
        }
        if web_unsub
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
        {
            builder = builder.raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
        }
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(
            Body::dangerous_pre_encoded(
                self.text.fill(&values, Context::Text),
                ContentTransferEncoding::QuotedPrintable,
            ),
        );
        let html =
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(Body::dangerous_pre_encoded(
                    self.html.fill(&values, Context::Html),
                    ContentTransferEncoding::QuotedPrintable,
                ));
        let mut message = builder
            .multipart(MultiPart::alternative().singlepart(text).singlepart(html))
            .map_err(|e| Error::Usage(format!("cannot build the message for {email}: {e}")))?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(OutgoingMessage {
            envelope: message.envelope().clone(),
            message_id,
            bytes: message.formatted(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_qp(encoded: &[u8]) -> String {
        let s = std::str::from_utf8(encoded).unwrap().replace("=\r\n", "");
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'=' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap().replace("\r\n", "\n")
    }

    #[test]
    fn qp_round_trips_and_limits_lines() {
        let text = format!("héllo = wörld 🔌 trailing \n.dot\n{}\n", "x".repeat(200));
        let enc = qp_encode(&text, false);
        for line in enc.split(|&b| b == b'\n') {
            assert!(line.len() <= 77, "{}", String::from_utf8_lossy(line));
        }
        assert!(enc.is_ascii());
        assert_eq!(decode_qp(&enc), text);
        assert!(!std::str::from_utf8(&enc).unwrap().contains("trailing \r"));
    }

    /// Every kind of byte at every column: the encoding decodes back, keeps
    /// lines within 76 octets, and never starts a line with a literal `.`.
    #[test]
    fn qp_handles_every_position() {
        let alphabet = [
            "a", ".", " ", "=", "é", "\t", "\n", "🔌", "xyz", "\r\n", "~",
        ];
        let mut seed = 7u64;
        for len in 0..400 {
            let mut text = String::new();
            for _ in 0..len {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            for soft_end in [false, true] {
                let enc = qp_encode(&text, soft_end);
                assert!(enc.is_ascii());
                assert_eq!(decode_qp(&enc), text.replace("\r\n", "\n"), "{text:?}");
                for line in std::str::from_utf8(&enc).unwrap().split("\r\n") {
                    assert!(line.len() <= 76, "{line:?}");
                    assert!(!line.starts_with('.'), "{line:?} in {text:?}");
                    assert!(!line.ends_with([' ', '\t']), "{line:?}");
                    assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
                }
            }
        }
    }

    #[test]
    fn qp_pieces_concatenate() {
        let a = qp_encode("first part ", true);
        let b = qp_encode("then more", false);
        assert_eq!(decode_qp(&[a, b].concat()), "first part then more");
    }

    #[test]
    fn slots_are_filled_and_escaped() {
        let body = SlottedBody::new(&format!(
            "<p>Hi {}</p><a href=\"{}\">u</a>",
            Slot::Name.sentinel(),
            Slot::UnsubscribeUrl.sentinel()
        ));
        let values = SlotValues {
            name: "<script>&\"".into(),
            email: "a@b.c".into(),
            unsubscribe_url: "https://x/u?t=1&e=a%40b.c".into(),
        };
        let html = decode_qp(&body.fill(&values, Context::Html));
        assert_eq!(
            html,
            "<p>Hi &lt;script&gt;&amp;&quot;</p><a href=\"https://x/u?t=1&amp;e=a%40b.c\">u</a>"
        );
        let text = decode_qp(&body.fill(&values, Context::Text));
        assert!(text.contains("Hi <script>&\""));
    }
}
