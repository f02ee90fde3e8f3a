//! What a message in the bounce mailbox is: a delivery failure, a complaint,
//! an auto-reply, an unsubscribe request, or something a person must read.
//!
//! [`parse`] is pure: raw RFC 5322 bytes in, a [`Report`] out, never an
//! error (a message it cannot make sense of is [`Kind::Unknown`]). MIME is
//! decoded by `mail-parser`; the machine-readable parts are read by this
//! module:
//!
//! - RFC 3464 delivery status notifications (`multipart/report;
//!   report-type=delivery-status`): one [`Failure`] per recipient block
//!   with `Action: failed` or `delayed`, its `Status` and `Diagnostic-Code`;
//!   the original is read from `message/rfc822` or `text/rfc822-headers`.
//! - RFC 5965 ARF complaints (`report-type=feedback-report`), with
//!   `Original-Rcpt-To` when the provider leaves it in.
//! - The plain-text bounces of MTAs that do not write RFC 3464 (qmail,
//!   old Exim and Sendmail, Yahoo, Microsoft's older servers, ...): the
//!   addresses named in the human-readable part above the copy of the
//!   original, each with the status code written next to it.
//! - Auto-replies (RFC 3834 `Auto-Submitted: auto-replied`, and the
//!   vendor headers of Exchange and others) and `unsubscribe` requests.
//!
//! Severity is decided from the status codes ([`EnhancedStatus`], or the
//! three-digit reply code when that is all there is), never from the prose.

use std::sync::OnceLock;

use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};
use regex::Regex;

pub use crate::send::smtp::error::EnhancedStatus;

/// What a message in the bounce mailbox turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A delivery status notification, standard or not, naming failures.
    Bounce,
    /// A delivery report that names no failure (only `delayed` warnings
    /// without addresses, `delivered` or `relayed` notices).
    Notice,
    /// An abuse report from a feedback loop (RFC 5965 ARF).
    Complaint,
    /// A vacation or out-of-office reply: not a bounce, nobody is suppressed.
    AutoReply,
    /// A reader asking to be removed (subject or first line `unsubscribe`).
    Unsubscribe,
    /// Not recognised: a person must look at it.
    Unknown,
}

impl Kind {
    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bounce => "bounce",
            Kind::Notice => "notice",
            Kind::Complaint => "complaint",
            Kind::AutoReply => "auto-reply",
            Kind::Unsubscribe => "unsubscribe",
            Kind::Unknown => "unknown",
        }
    }
}

/// How bad a failure is for the recipient it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The address does not work (5.1.x, 5.2.1, 5.x.x in general): suppress.
    Permanent,
    /// Try again later (4.x.x, mailbox full 5.2.2, delayed): count it.
    Transient,
    /// The receiver refused *us* (5.7.x security/policy, 5.6.x content,
    /// 5.3.4 too big): the address is fine, the sender must act.
    Policy,
}

impl Severity {
    /// The severity a status code means.
    pub fn of(status: EnhancedStatus) -> Severity {
        match (status.class, status.subject, status.detail) {
            (2, ..) | (4, ..) => Severity::Transient,
            (5, 2, 2) => Severity::Transient,
            (5, 7, _) | (5, 6, _) | (5, 3, 4) => Severity::Policy,
            _ => Severity::Permanent,
        }
    }

    /// The severity a bare three-digit SMTP reply code means (RFC 5321):
    /// 4xx transient, 552 (storage exceeded) transient, other 5xx permanent.
    pub fn of_reply_code(code: u16) -> Option<Severity> {
        match code {
            400..=499 | 552 => Some(Severity::Transient),
            500..=599 => Some(Severity::Permanent),
            _ => None,
        }
    }

    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Permanent => "permanent",
            Severity::Transient => "transient",
            Severity::Policy => "policy",
        }
    }
}

/// One recipient a report says something about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The address as the report wrote it (not normalised).
    pub address: String,
    /// What it means for that address.
    pub severity: Severity,
    /// The enhanced status code, when the report gave one.
    pub status: Option<EnhancedStatus>,
    /// The remote server's words (`Diagnostic-Code`, or the line beside the
    /// address), one line, at most 300 characters.
    pub diagnostic: String,
}

/// What the report says about the message that caused it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Original {
    /// The original's Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The original's recipients (`To:`), as written.
    pub to: Vec<String>,
}

/// Everything [`parse`] found in one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What the message is.
    pub kind: Kind,
    /// The recipients it reports on (bounces: the failures; complaints: the
    /// complaining reader when the provider says; others: empty).
    pub failures: Vec<Failure>,
    /// The original message, as far as the report quotes it.
    pub original: Original,
    /// The report's own Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The report's sender (`From:`), e.g. the reader of an unsubscribe request.
    pub from: Option<String>,
    /// Where the report was delivered: `Delivered-To`, `X-Original-To`,
    /// `Envelope-To` and `To`, in that order (a VERP tag is read from these).
    pub envelope_to: Vec<String>,
    /// The ARF `Feedback-Type` of a complaint (`abuse`, `fraud`, ...).
    pub feedback_type: Option<String>,
}

/// Classifies one raw message. Never fails: what cannot be parsed or
/// recognised is [`Kind::Unknown`].
pub fn parse(raw: &[u8]) -> Report {
    match parser().parse(raw) {
        Some(msg) => classify(&msg, 0),
        None => Report::empty(Kind::Unknown),
    }
}

/// mail-parser told to parse only the headers this module (or MIME
/// decoding) reads: the MIME headers, `Subject`, the address headers
/// `From`/`To`/`Cc`/`Reply-To`/`Sender`, `Message-ID` and `Return-Path`,
/// and the delivery headers a VERP tag is read from (`Delivered-To`,
/// `X-Original-To`, `Envelope-To`, kept raw). Every other header (the
/// dozens of `Received:`, DKIM and ARC signatures a bounce quotes) is
/// skipped: still listed, so `header()` finds it and `header_raw()`
/// gives its text, but not decoded; decoding them all was most of the
/// parse time.
fn parser() -> &'static MessageParser {
    static PARSER: std::sync::OnceLock<MessageParser> = std::sync::OnceLock::new();
    PARSER.get_or_init(|| {
        use HeaderName::*;
        let mut p = MessageParser::new().default_header_ignore();
        for h in [Subject, ContentTransferEncoding] {
            p = p.header_text(h);
        }
        for h in [From, To, Cc, ReplyTo, Sender] {
            p = p.header_address(h);
        }
        for h in [MessageId, ReturnPath] {
            p = p.header_id(h);
        }
        for h in [ContentType, ContentDisposition] {
            p = p.header_content_type(h);
        }
        for h in ENVELOPE_HEADERS {
            p = p.header_raw(h);
        }
        p
    })
}

/// The headers that say where a report was delivered, in the order they
/// are trusted (a VERP tag is read from these, then from `To:`).
const ENVELOPE_HEADERS: [&str; 3] = ["Delivered-To", "X-Original-To", "Envelope-To"];

fn classify(msg: &Message<'_>, depth: usize) -> Report {
    let mut report = Report::empty(Kind::Unknown);
    report.message_id = msg.message_id().map(str::to_string);
    report.from = first_address(msg.from());
    for name in ENVELOPE_HEADERS {
        for v in msg.header_values(name) {
            if let Some(t) = v.as_text() {
                report.envelope_to.push(strip_angles(t).to_string());
            }
        }
    }
    report.envelope_to.extend(all_addresses(msg.to()));

    if let Some(r) = arf(msg, &report) {
        return r;
    }
    if dsn(msg, &mut report) {
        return report;
    }
    let bounce = looks_like_bounce(msg);
    if !bounce && is_auto_reply(msg) {
        report.kind = Kind::AutoReply;
        return report;
    }
    if bounce {
        // A gateway that forwards the real report as an attachment.
        if depth < 2 {
            for part in &msg.parts {
                if let PartType::Message(inner) = &part.body {
                    if report_type(inner).is_some() {
                        let mut r = classify(inner, depth + 1);
                        if r.kind == Kind::Bounce {
                            r.message_id = report.message_id;
                            r.envelope_to = report.envelope_to;
                            return r;
                        }
                    }
                }
            }
        }
        plain_bounce(msg, &mut report);
        return report;
    }
    if is_unsubscribe(msg) {
        report.kind = Kind::Unsubscribe;
    }
    report
}

impl Report {
    /// A report a relay posted (a webhook): what it says failed and about
    /// which original, with no message of its own around it.
    pub fn from_relay(
        kind: Kind,
        failures: Vec<Failure>,
        original: Original,
        feedback_type: Option<String>,
    ) -> Report {
        Report {
            failures,
            original,
            feedback_type,
            ..Report::empty(kind)
        }
    }

    fn empty(kind: Kind) -> Report {
        Report {
            kind,
            failures: Vec::new(),
            original: Original::default(),
            message_id: None,
            from: None,
            envelope_to: Vec::new(),
            feedback_type: None,
        }
    }
}

/// The report-type of a top-level `multipart/report`, lower-cased.
fn report_type(msg: &Message<'_>) -> Option<String> {
    let ct = msg.root_part().content_type()?;
    if !ct.ctype().eq_ignore_ascii_case("multipart")
        || !ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    {
        return None;
    }
    ct.attribute("report-type").map(str::to_ascii_lowercase)
}

/// Parts whose content type is `ctype/subtype`, at any depth of this message
/// (not inside attached messages).
fn parts_of<'a, 'x>(
    msg: &'a Message<'x>,
    ctype: &'a str,
    subtype: &'a str,
) -> impl Iterator<Item = &'a mail_parser::MessagePart<'x>> + 'a {
    msg.parts.iter().filter(move |p| {
        p.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case(ctype)
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case(subtype))
        })
    })
}

/// An RFC 5965 feedback report.
fn arf(msg: &Message<'_>, report: &Report) -> Option<Report> {
    let typed = report_type(msg).as_deref() == Some("feedback-report");
    let part = parts_of(msg, "message", "feedback-report").next();
    if !typed && part.is_none() {
        return None;
    }
    let mut r = report.clone();
    r.kind = Kind::Complaint;
    if let Some(part) = part {
        let fields = Fields::parse(part.contents());
        r.feedback_type = fields.get("feedback-type").map(str::to_ascii_lowercase);
        for rcpt in fields.all("original-rcpt-to") {
            r.failures.push(Failure {
                address: strip_angles(rcpt).to_string(),
                severity: Severity::Permanent,
                status: None,
                diagnostic: format!(
                    "complaint ({})",
                    r.feedback_type.as_deref().unwrap_or("abuse")
                ),
            });
        }
    }
    r.original = original(msg);
    if r.failures.is_empty() {
        // Providers that redact Original-Rcpt-To usually keep the original's
        // To: (Hotmail's JMRP, Yahoo's CFL); VERP or the Message-ID decide
        // when neither is left.
        for to in r.original.to.clone() {
            r.failures.push(Failure {
                address: to,
                severity: Severity::Permanent,
                status: None,
                diagnostic: format!(
                    "complaint ({})",
                    r.feedback_type.as_deref().unwrap_or("abuse")
                ),
            });
        }
    }
    Some(r)
}

/// An RFC 3464 delivery status notification. True when one was found.
fn dsn(msg: &Message<'_>, report: &mut Report) -> bool {
    let mut found = false;
    for part in msg.parts.iter().filter(|p| {
        p.content_type().is_some_and(|ct| {
            let sub = ct.subtype().unwrap_or("");
            (ct.ctype().eq_ignore_ascii_case("message") || ct.ctype().eq_ignore_ascii_case("text"))
                && (sub.eq_ignore_ascii_case("delivery-status")
                    || sub.eq_ignore_ascii_case("global-delivery-status"))
        })
    }) {
        found = true;
        let text = String::from_utf8_lossy(part.contents());
        for block in blocks(&text) {
            let f = Fields::parse(block.as_bytes());
            // Original-Recipient is what letterpress gave in RCPT TO (the
            // Final-Recipient may be a rewritten or X.400 form of it).
            let Some(address) = ["original-recipient", "final-recipient"]
                .into_iter()
                .filter_map(|n| f.get(n))
                .find_map(address_of_typed)
            else {
                continue;
            };
            let action = f.get("action").unwrap_or("").trim().to_ascii_lowercase();
            let status = f.get("status").and_then(EnhancedStatus::parse);
            let diagnostic = f
                .get("diagnostic-code")
                .map(|d| d.split_once(';').map_or(d, |(_, t)| t).trim().to_string())
                .unwrap_or_default();
            let severity = match action.as_str() {
                "failed" => status
                    .map(Severity::of)
                    .or_else(|| first_reply_code(&diagnostic).and_then(Severity::of_reply_code))
                    .unwrap_or(Severity::Permanent),
                "delayed" => Severity::Transient,
                // delivered, relayed, expanded: nothing failed.
                "delivered" | "relayed" | "expanded" => continue,
                // No or unknown action: the status class decides.
                _ => match status {
                    Some(s) if s.class == 2 => continue,
                    Some(s) => Severity::of(s),
                    None => continue,
                },
            };
            push_failure(
                &mut report.failures,
                Failure {
                    address,
                    severity,
                    status,
                    diagnostic: one_line(&diagnostic),
                },
            );
        }
    }
    if !found {
        return false;
    }
    report.original = original(msg);
    if report.failures.is_empty() {
        // Some MTAs (old Exchange) send a delivery-status part with empty or
        // broken blocks and the failure only in prose: read that.
        plain_bounce(msg, report);
        if report.failures.is_empty() {
            report.kind = Kind::Notice;
        }
    } else {
        report.kind = Kind::Bounce;
    }
    true
}

/// `rfc822; user@host` → `user@host`; `None` for other address types
/// (`x400; ...`) and for what is not an address.
fn address_of_typed(v: &str) -> Option<String> {
    let (kind, a) = v.split_once(';').unwrap_or(("rfc822", v));
    let kind = kind.trim();
    if !(kind.eq_ignore_ascii_case("rfc822") || kind.eq_ignore_ascii_case("utf-8")) {
        return None;
    }
    let a = strip_angles(a.trim());
    let (local, domain) = a.rsplit_once('@')?;
    (!local.is_empty() && domain.contains('.') && !a.contains(char::is_whitespace))
        .then(|| a.to_string())
}

fn strip_angles(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
        .trim()
}

/// The blank-line separated blocks of a delivery-status body.
fn blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `Name: value` fields with folded continuation lines unfolded.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(bytes: &[u8]) -> Fields {
        let text = String::from_utf8_lossy(bytes);
        let mut out: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = out.last_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        Fields(out)
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The original message as quoted by a report: a `message/rfc822` part, a
/// `text/rfc822-headers` part, or the headers after a plain bounce's marker.
fn original(msg: &Message<'_>) -> Original {
    original_in(msg, None)
}

/// [`original`], given the report's readable text and where its quoted
/// original starts when the caller has them already (a plain bounce).
fn original_in(msg: &Message<'_>, prose: Option<(&str, Option<usize>)>) -> Original {
    for part in &msg.parts {
        if let PartType::Message(inner) = &part.body {
            return original_of(inner);
        }
    }
    if let Some(part) = parts_of(msg, "text", "rfc822-headers").next() {
        if let Some(inner) = parser().parse_headers(part.contents()) {
            return original_of(&inner);
        }
    }
    // A plain bounce quoting the original inline: the first Message-ID line
    // after the marker.
    let mut o = Original::default();
    let owned;
    let (text, cut) = match prose {
        Some(p) => p,
        None => {
            owned = human_text(msg);
            (owned.as_str(), cut_point(&owned))
        }
    };
    if let Some(at) = cut {
        for line in text[at..].lines() {
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("message-id") && o.message_id.is_none() {
                    o.message_id = Some(strip_angles(value).to_string());
                }
            }
        }
    }
    o
}

fn original_of(inner: &Message<'_>) -> Original {
    Original {
        message_id: inner.message_id().map(str::to_string),
        to: all_addresses(inner.to()),
    }
}

fn first_address(a: Option<&Address<'_>>) -> Option<String> {
    all_addresses(a).into_iter().next()
}

fn all_addresses(a: Option<&Address<'_>>) -> Vec<String> {
    a.map(|a| {
        a.iter()
            .filter_map(|x| x.address.as_deref().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

fn header_text<'a>(msg: &'a Message<'_>, name: &'static str) -> Option<&'a str> {
    match msg.header(name)? {
        HeaderValue::Text(t) => Some(t.as_ref()),
        HeaderValue::TextList(l) => l.first().map(|t| t.as_ref()),
        _ => msg.header_raw(name).map(str::trim),
    }
}

/// RFC 3834 and the vendor headers that mark a vacation/out-of-office reply.
fn is_auto_reply(msg: &Message<'_>) -> bool {
    if let Some(v) = header_text(msg, "Auto-Submitted") {
        if v.trim().to_ascii_lowercase().starts_with("auto-replied") {
            return true;
        }
    }
    if msg.header("X-Autoreply").is_some()
        || msg.header("X-Autorespond").is_some()
        || header_text(msg, "X-Auto-Response-Suppress").is_some_and(|_| {
            // Exchange sets this on its automatic replies together with
            // a subject prefix; alone it is set on many kinds of mail.
            subject_has(msg, &["automatic reply", "out of office", "autoreply"])
        })
    {
        return true;
    }
    if header_text(msg, "Precedence").is_some_and(|p| p.eq_ignore_ascii_case("auto_reply")) {
        return true;
    }
    subject_has(
        msg,
        &[
            "out of office",
            "out of the office",
            "automatic reply",
            "auto-reply",
            "autoreply",
            "auto reply",
            "vacation",
            "abwesenheitsnotiz",
            "réponse automatique",
        ],
    ) && !looks_like_bounce(msg)
}

fn subject_has(msg: &Message<'_>, needles: &[&str]) -> bool {
    let s = msg.subject().unwrap_or("").to_lowercase();
    needles.iter().any(|n| s.contains(n))
}

/// A delivery report by who sent it: the null sender, or a mailer daemon.
fn looks_like_bounce(msg: &Message<'_>) -> bool {
    let from = first_address(msg.from())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let local = from.split('@').next().unwrap_or("");
    let name = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.name.as_deref())
        .unwrap_or("")
        .to_ascii_lowercase();
    if is_role(local) || name.contains("mail delivery") || name.contains("mailer-daemon") {
        return true;
    }
    if msg.return_address() == Some("")
        || msg
            .header_raw("Return-Path")
            .is_some_and(|r| r.trim() == "<>")
    {
        return true;
    }
    subject_has(
        msg,
        &[
            "undeliver",
            "delivery fail",
            "delivery status notification",
            "returned mail",
            "failure notice",
            "mail delivery",
            "nondeliverable",
            "non-deliverable",
            "not delivered",
            "delivery problem",
            "could not be delivered",
            "delivery error",
            "mail system error",
            "non-delivery",
            "unknown user",
            "user unknown",
            "bounce",
        ],
    )
}

/// Local parts of mail-system mailboxes: never a reader that failed.
fn is_role(local: &str) -> bool {
    let l = local.to_ascii_lowercase();
    matches!(
        l.as_str(),
        "mailer-daemon"
            | "mailer_daemon"
            | "mailerdaemon"
            | "postmaster"
            | "mail-daemon"
            | "maildaemon"
            | "mail.daemon"
            | "mdaemon"
            | "root"
            | "nobody"
            | "daemon"
            | "smtp"
            | "exchange"
            | "mailadmin"
            | "mail-delivery-subsystem"
    ) || l.starts_with("mailer-daemon")
        || l.starts_with("postmaster")
}

/// Subject or first body line is `unsubscribe` (what the List-Unsubscribe
/// mailto asks the mail client to send).
fn is_unsubscribe(msg: &Message<'_>) -> bool {
    let word = |s: &str| {
        let s = s
            .trim()
            .trim_start_matches("Re:")
            .trim()
            .to_ascii_lowercase();
        s == "unsubscribe" || s == "remove" || s.starts_with("unsubscribe ")
    };
    msg.subject().is_some_and(word)
        || msg
            .body_text(0)
            .is_some_and(|b| b.lines().find(|l| !l.trim().is_empty()).is_some_and(word))
}

/// The readable text of the report: its text/plain parts (html stripped of
/// tags when there is no plain text), not those of attached messages.
fn human_text(msg: &Message<'_>) -> String {
    let mut out = String::new();
    for part in msg.text_bodies() {
        match &part.body {
            PartType::Text(t) => {
                out.push_str(t);
                out.push('\n');
            }
            PartType::Html(h) => {
                out.push_str(&strip_tags(h));
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    html_escape::decode_html_entities(&out).replace("&nbsp;", " ")
}

/// The patterns of the plain-text reading. Word boundaries are ASCII ones
/// (`(?-u:\b)`): a Unicode `\b` makes the regex engine give up its fast
/// automaton on any text with a non-ASCII letter (most bounces in another
/// language), and the words and codes they bound are ASCII anyway.
fn regexes() -> &'static Regexes {
    static R: OnceLock<Regexes> = OnceLock::new();
    R.get_or_init(|| Regexes {
        address: Regex::new(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
            .expect("address regex"),
        header_line: Regex::new(
            r"(?i)^\s*[*•-]?\s*(?:to|from|cc|sender|reply-to|subject|sent|date)\s*:",
        )
        .expect("header line regex"),
        prefix: Regex::new(r"(?i)^(?:smtp|rfc822)[=:]").expect("prefix regex"),
        status: Regex::new(r"(?-u:\b)([245])\.([0-9]{1,3})\.([0-9]{1,3})(?-u:\b)")
            .expect("status regex"),
        reply: Regex::new(r"(?:^|[\s(:\[])([45][0-5][0-9])(?:[\s\-:)\]]|$)").expect("reply regex"),
    })
}

struct Regexes {
    address: Regex,
    header_line: Regex,
    prefix: Regex,
    status: Regex,
    reply: Regex,
}

/// Where the quoted original starts in a plain bounce's text.
///
/// That is the first line announcing the copy (see [`announces_original`])
/// or, when blank lines come right before it, the first of those: where a
/// search for `(?m)^\s*` followed by the announcement would start. Written
/// out rather than as one large case-insensitive regular expression (the
/// same answers, see the tests; a little less CPU when batches are
/// classified on many threads); ASCII case is ignored.
fn cut_point(text: &str) -> Option<usize> {
    let mut blank_from: Option<usize> = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let body = line.trim_start();
        if body.is_empty() {
            blank_from.get_or_insert(start);
        } else if announces_original(body) {
            return Some(blank_from.unwrap_or(start));
        } else {
            blank_from = None;
        }
    }
    None
}

/// The lines (leading white space removed) that start the copy of the
/// original in a plain bounce: a separator of three or more `-=_*` with one
/// of [`SEPARATOR_WORDS`] later on the line, or one of [`COPY_PHRASES`] at
/// its start.
fn announces_original(line: &str) -> bool {
    let b = line.as_bytes();
    let starts = |p: &str| b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    if COPY_PHRASES.iter().any(|p| starts(p)) {
        return true;
    }
    if b.len() < 3 || !b[..3].iter().all(|c| b"-=_*".contains(c)) {
        return false;
    }
    // A whole word (ASCII word boundaries) anywhere after the separator.
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    (3..b.len()).any(|p| {
        !word(b[p - 1])
            && SEPARATOR_WORDS.iter().any(|w| {
                let end = p + w.len();
                end <= b.len()
                    && b[p..end].eq_ignore_ascii_case(w.as_bytes())
                    && b.get(end).map_or(true, |&c| !word(c))
            })
    })
}

/// Words that, on a separator line, announce the copy of the original.
const SEPARATOR_WORDS: [&str; 7] = [
    "original", "copy", "header", "headers", "returned", "unsent", "below",
];

/// Line openings (lower case) that announce the copy of the original.
const COPY_PHRASES: [&str; 13] = [
    "original message follows",
    "original message as received",
    "below this line is a copy",
    "a copy of the original message",
    "this is a copy of the message",
    "old message:",
    "your message reads",
    "unsent message below",
    "returned message",
    "here is your message",
    "content-type: message/rfc822",
    "received: from",
    "return-path:",
];

fn first_reply_code(text: &str) -> Option<u16> {
    // The match is the code with at most one delimiter on each side (none
    // is a digit): no capture group needed to read it.
    let m = regexes().reply.find(text)?;
    let code = m.as_str().trim_start_matches(|c: char| !c.is_ascii_digit());
    code.get(..3)?.parse().ok()
}

fn first_status(text: &str) -> Option<EnhancedStatus> {
    regexes()
        .status
        .find(text)
        .and_then(|m| EnhancedStatus::parse(m.as_str()))
}

/// A bounce in prose: every address in the text above the quoted original,
/// except the report's own correspondents and mail-system mailboxes, with
/// the status code found on its line or the lines right after it.
fn plain_bounce(msg: &Message<'_>, report: &mut Report) {
    report.kind = Kind::Bounce;
    let text = human_text(msg);
    let cut = cut_point(&text);
    let head = match cut {
        Some(at) => &text[..at],
        None => &text[..],
    };
    let mut own: Vec<String> = Vec::new();
    for a in [msg.from(), msg.to(), msg.reply_to(), msg.sender(), msg.cc()] {
        own.extend(all_addresses(a).into_iter().map(|a| a.to_ascii_lowercase()));
    }
    own.extend(report.envelope_to.iter().map(|a| a.to_ascii_lowercase()));
    let lines: Vec<&str> = head.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        // Quoted lines and the original's header lines restated in the
        // report ("To: the-list@...") name the sender's side, not a failure.
        // (Most lines hold no `@`, and a header line needs a `:`: the cheap
        // tests first, the regular expressions only where they can match.)
        if !line.contains('@')
            || line.trim_start().starts_with('>')
            || (line.contains(':') && regexes().header_line.is_match(line))
        {
            continue;
        }
        for m in regexes().address.find_iter(line) {
            let address = m
                .as_str()
                .trim_matches(|c| c == '.' || c == '\'' || c == '-');
            let address = regexes().prefix.replace(address, "");
            let address = address.as_ref();
            let Some((local, domain)) = address.rsplit_once('@') else {
                continue;
            };
            if local.is_empty() || !domain.contains('.') || is_role(local) {
                continue;
            }
            if own.contains(&address.to_ascii_lowercase()) {
                continue;
            }
            // The status on the address's own line or the few after it (the
            // server's reply is usually written just below the address).
            let window: String = lines[i..lines.len().min(i + 4)].join(" ");
            let status = first_status(&window);
            let severity = status
                .map(Severity::of)
                .or_else(|| first_reply_code(&window).and_then(Severity::of_reply_code))
                .unwrap_or(Severity::Permanent);
            let diagnostic = one_line_of(lines[i..lines.len().min(i + 3)].iter().copied());
            push_failure(
                &mut report.failures,
                Failure {
                    address: address.to_string(),
                    severity,
                    status,
                    diagnostic,
                },
            );
        }
    }
    if report.original == Original::default() {
        report.original = original_in(msg, Some((&text, cut)));
    }
    if report.failures.is_empty() {
        report.kind = Kind::Unknown;
    }
}

/// Adds `f` unless the same address (case-insensitively) is there already;
/// a later mention with a status code improves an earlier one without.
fn push_failure(list: &mut Vec<Failure>, f: Failure) {
    if let Some(old) = list
        .iter_mut()
        .find(|o| o.address.eq_ignore_ascii_case(&f.address))
    {
        if old.status.is_none() && f.status.is_some() {
            *old = f;
        }
        return;
    }
    list.push(f);
}

/// `s`'s words joined by single spaces, cut to at most 300 bytes (on a
/// character boundary).
fn one_line(s: &str) -> String {
    one_line_of(std::iter::once(s))
}

/// [`one_line`] of the pieces one after the other (a space between them),
/// without joining them first.
fn one_line_of<'a>(pieces: impl IntoIterator<Item = &'a str>) -> String {
    const MAX: usize = 300;
    let mut out = String::new();
    for word in pieces.into_iter().flat_map(str::split_whitespace) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > MAX {
            // What comes after is cut off anyway.
            let mut end = MAX;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DSN: &str = "From: MAILER-DAEMON@mx.example\r\n\
To: bounces@news.example\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Message-ID: <r1@mx.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
\r\n\
--B\r\n\
Content-Type: text/plain\r\n\
\r\n\
I could not deliver it.\r\n\
--B\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example\r\n\
\r\n\
Final-Recipient: rfc822; gone@reader.example\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <gone@reader.example>: Recipient address\r\n\
\x20 rejected: User unknown\r\n\
\r\n\
Final-Recipient: rfc822; full@reader.example\r\n\
Action: failed\r\n\
Status: 5.2.2\r\n\
\r\n\
Final-Recipient: rfc822; spam@reader.example\r\n\
Action: failed\r\n\
Status: 5.7.1\r\n\
Diagnostic-Code: smtp; 550 5.7.1 blocked for spam\r\n\
\r\n\
Final-Recipient: rfc822; fine@reader.example\r\n\
Action: delivered\r\n\
Status: 2.0.0\r\n\
--B\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
Message-ID: <040.abc@news.example>\r\n\
To: gone@reader.example\r\n\
Subject: Issue 40\r\n\
--B--\r\n";

    #[test]
    fn dsn_recipients_status_and_headers_only_original() {
        let r = parse(DSN.as_bytes());
        assert_eq!(r.kind, Kind::Bounce);
        let got: Vec<(&str, Severity, String)> = r
            .failures
            .iter()
            .map(|f| {
                (
                    f.address.as_str(),
                    f.severity,
                    f.status.map(|s| s.to_string()).unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("gone@reader.example", Severity::Permanent, "5.1.1".into()),
                ("full@reader.example", Severity::Transient, "5.2.2".into()),
                ("spam@reader.example", Severity::Policy, "5.7.1".into()),
            ]
        );
        assert!(r.failures[0]
            .diagnostic
            .contains("Recipient address rejected: User unknown"));
        assert_eq!(
            r.original.message_id.as_deref(),
            Some("040.abc@news.example")
        );
        assert_eq!(r.message_id.as_deref(), Some("r1@mx.example"));
        assert_eq!(r.envelope_to, vec!["bounces@news.example".to_string()]);
    }

    #[test]
    fn arf_complaint_with_original_rcpt_to() {
        let raw = "From: feedback@fbl.example\r\n\
To: bounces@news.example\r\n\
Subject: complaint\r\n\
Content-Type: multipart/report; report-type=feedback-report; boundary=B\r\n\
\r\n\
--B\r\n\
Content-Type: text/plain\r\n\
\r\n\
This is an abuse report.\r\n\
--B\r\n\
Content-Type: message/feedback-report\r\n\
\r\n\
Feedback-Type: abuse\r\n\
User-Agent: fbl/1.0\r\n\
Version: 1\r\n\
Original-Rcpt-To: <angry@reader.example>\r\n\
--B\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Message-ID: <040.x@news.example>\r\n\
To: redacted@reader.example\r\n\
\r\n\
body\r\n\
--B--\r\n";
        let r = parse(raw.as_bytes());
        assert_eq!(r.kind, Kind::Complaint);
        assert_eq!(r.feedback_type.as_deref(), Some("abuse"));
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].address, "angry@reader.example");
        assert_eq!(r.original.message_id.as_deref(), Some("040.x@news.example"));
    }

    #[test]
    fn auto_reply_is_not_a_bounce() {
        let raw = "From: reader@reader.example\r\nTo: news@news.example\r\n\
Auto-Submitted: auto-replied\r\nSubject: Out of office: Issue 40\r\n\r\n\
I am away until Monday; write to other@reader.example.\r\n";
        let r = parse(raw.as_bytes());
        assert_eq!(r.kind, Kind::AutoReply);
        assert!(r.failures.is_empty());
    }

    #[test]
    fn unsubscribe_request() {
        let raw = "From: Reader <reader@reader.example>\r\nTo: unsubscribe@news.example\r\n\
Subject: unsubscribe\r\n\r\n\r\n";
        let r = parse(raw.as_bytes());
        assert_eq!(r.kind, Kind::Unsubscribe);
        assert_eq!(r.from.as_deref(), Some("reader@reader.example"));
        assert_eq!(r.envelope_to, vec!["unsubscribe@news.example".to_string()]);
    }

    #[test]
    fn qmail_plain_bounce() {
        let raw = "From: MAILER-DAEMON@mx.example\r\nTo: bounces@news.example\r\n\
Subject: failure notice\r\n\r\n\
Hi. This is the qmail-send program at mx.example.\r\n\
I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
This is a permanent error; I've given up. Sorry it didn't work out.\r\n\
\r\n\
<gone@reader.example>:\r\n\
192.0.2.1 does not like recipient.\r\n\
Remote host said: 550 5.1.1 no mailbox here by that name\r\n\
\r\n\
--- Below this line is a copy of the message.\r\n\
\r\n\
Return-Path: <bounces@news.example>\r\n\
Message-ID: <040.q@news.example>\r\n\
To: gone@reader.example\r\n";
        let r = parse(raw.as_bytes());
        assert_eq!(r.kind, Kind::Bounce);
        assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
        assert_eq!(r.failures[0].address, "gone@reader.example");
        assert_eq!(
            r.failures[0].status.map(|s| s.to_string()).as_deref(),
            Some("5.1.1")
        );
        assert_eq!(r.original.message_id.as_deref(), Some("040.q@news.example"));
    }

    #[test]
    fn plain_bounce_in_another_language() {
        // Non-ASCII prose around ASCII codes: the word boundaries of the
        // patterns are ASCII ones, and must still find code and cut.
        let raw = "From: MAILER-DAEMON@mx.example\r\nTo: bounces@news.example\r\n\
Subject: Unzustellbar\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Ihre Nachricht konnte nicht zugestellt werden an:\r\n\
weg@leser.example: 550 5.1.1 Empfänger unbekannt (Postfach gelöscht)\r\n\
\r\n\
------ Ursprüngliche Nachricht, original message below ------\r\n\
Message-ID: <040.de@news.example>\r\n\
To: anderer@leser.example\r\n";
        let r = parse(raw.as_bytes());
        assert_eq!(r.kind, Kind::Bounce);
        let got: Vec<_> = r
            .failures
            .iter()
            .map(|f| (f.address.as_str(), f.status.map(|s| s.to_string())))
            .collect();
        assert_eq!(got, [("weg@leser.example", Some("5.1.1".to_string()))]);
        assert_eq!(
            r.original.message_id.as_deref(),
            Some("040.de@news.example")
        );
    }

    #[test]
    fn an_unreadable_date_does_not_hide_the_sender() {
        // A date mail-parser cannot read ("UT") once swallowed the From
        // line after it; headers nobody reads are now skipped, not parsed.
        let raw = "Date: Sat, 22 Apr 2006 17:14:50 UT\r\n\
From: Campus Mailserver <MAILER-DAEMON@campus.example>\r\n\
To: list-owner@news.example\r\nSubject: Your message could not be delivered.\r\n\r\n\
Your message to gone@campus.example has reached our local address\r\n\
gone@campus.example, but this address is no longer valid.\r\n";
        let r = parse(raw.as_bytes());
        assert_eq!(r.from.as_deref(), Some("MAILER-DAEMON@campus.example"));
        assert_eq!(r.kind, Kind::Bounce);
        assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
        assert_eq!(r.failures[0].address, "gone@campus.example");
    }

    #[test]
    fn one_line_joins_words_and_cuts_at_300_bytes() {
        assert_eq!(one_line("  a\r\n  b\tc  "), "a b c");
        assert_eq!(one_line_of(["x  y", "", " z "]), "x y z");
        let long = "é".repeat(200); // 400 bytes, 2 per character
        let cut = one_line(&format!("ab {long}"));
        assert_eq!(cut.len(), 299, "cut on a character boundary");
        assert!(cut.starts_with("ab é"));
        let words = "word ".repeat(100); // 499 bytes once joined
        assert_eq!(one_line(&words), words.trim_end()[..300]);
    }

    /// The one regular expression `cut_point` used to be.
    fn cut_regex() -> Regex {
        Regex::new(concat!(
            r"(?im)^(?:",
            r"\s*[-=_*]{3,}.*(?-u:\b)(?:original|copy|header|headers|returned|unsent|below)(?-u:\b)",
            r"|\s*(?:original message follows|original message as received|below this line is a copy",
            r"|a copy of the original message|this is a copy of the message|old message:",
            r"|your message reads|unsent message below|returned message|here is your message",
            r"|content-type: message/rfc822|received: from|return-path:)",
            r")",
        ))
        .unwrap()
    }

    #[test]
    fn cut_point_finds_what_the_regular_expression_found() {
        let re = cut_regex();
        let pieces = [
            "",
            " ",
            "\t",
            "\r",
            "\u{a0}",
            "x",
            "é",
            "_",
            "-",
            "---",
            "===",
            "***",
            "__",
            "___",
            "-=*",
            "--- ",
            "original",
            "Original",
            "ORIGINAL",
            "headers",
            "header",
            "headerx",
            "xcopy",
            "copy",
            "below",
            "unsent",
            "returned",
            "message",
            ":",
            "Original message follows",
            "returned message",
            "Received: from",
            "return-path:",
            "Content-Type: message/rfc822",
            "old message:",
            "é---copy",
        ];
        // Every text of up to four lines made of up to three pieces each,
        // from a fixed pseudo-random walk (the same cases every run).
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..1 + next(4) {
                for _ in 0..next(4) {
                    text.push_str(pieces[next(pieces.len())]);
                }
                text.push_str(["\n", "\r\n", "\n\n"][next(3)]);
            }
            if next(4) == 0 {
                text.pop();
            }
            assert_eq!(
                cut_point(&text),
                re.find(&text).map(|m| m.start()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn reply_codes_are_read_without_captures() {
        assert_eq!(first_reply_code("550 no such user"), Some(550));
        assert_eq!(first_reply_code("said: (452) mailbox full"), Some(452));
        assert_eq!(first_reply_code("host\u{a0}554-denied"), Some(554));
        assert_eq!(first_reply_code("[421]"), Some(421));
        assert_eq!(first_reply_code("5501 600 250 ok"), None);
    }

    #[test]
    fn garbage_is_unknown_not_a_panic() {
        for raw in [
            &b""[..],
            b"\xff\xfe",
            b"Subject: hi\r\n\r\nhello",
            b"\r\n\r\n",
        ] {
            let r = parse(raw);
            assert!(matches!(r.kind, Kind::Unknown), "{raw:?}: {r:?}");
        }
    }

    #[test]
    fn severity_from_codes() {
        let s = |t: &str| Severity::of(EnhancedStatus::parse(t).unwrap());
        assert_eq!(s("5.1.1"), Severity::Permanent);
        assert_eq!(s("5.2.2"), Severity::Transient);
        assert_eq!(s("4.4.7"), Severity::Transient);
        assert_eq!(s("5.7.1"), Severity::Policy);
        assert_eq!(s("5.3.4"), Severity::Policy);
        assert_eq!(Severity::of_reply_code(550), Some(Severity::Permanent));
        assert_eq!(Severity::of_reply_code(452), Some(Severity::Transient));
    }
}
