//! Failure classification: every outcome of a step, by reply category,
//! never by the server's text.

use std::fmt;

use lettre::transport::smtp::response::Response;

/// Where in the transaction something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Opening the connection: TCP, TLS, greeting, EHLO, AUTH.
    Connect,
    /// `MAIL FROM`.
    Mail,
    /// `RCPT TO`.
    Rcpt,
    /// `DATA`.
    Data,
    /// The message body and the server's final reply.
    Body,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connect",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Body => "end of data",
        })
    }
}

/// Why a message did not go out, classified by category, never by text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A 5xx reply: this recipient will not get this message. Never retried.
    Permanent {
        /// The reply code.
        code: u16,
        /// The server's text.
        text: String,
        /// Where.
        stage: Stage,
    },
    /// A 4xx reply: try again later.
    Transient {
        /// The reply code.
        code: u16,
        /// The server's text.
        text: String,
        /// Where.
        stage: Stage,
    },
    /// The connection broke, timed out or spoke nonsense: try again later on
    /// a new connection. `in_doubt` when the whole body had been sent and the
    /// final reply never came: the server may have accepted it.
    Connection {
        /// What happened.
        reason: String,
        /// Where.
        stage: Stage,
        /// The message may have been delivered.
        in_doubt: bool,
    },
    /// We refused to send this message (e.g. a non-ASCII address to a server
    /// without SMTPUTF8). Permanent for this recipient.
    Local(String),
    /// Nothing can be sent at all (TLS policy, authentication): stop the run.
    Fatal(String),
}

/// An RFC 3463 enhanced status code (`class.subject.detail`, e.g. `5.1.1`),
/// as RFC 2034 puts it at the start of a reply's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnhancedStatus {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// The subject: 0 other, 1 addressing, 2 mailbox, 3 mail system,
    /// 4 network and routing, 5 mail delivery protocol, 6 content, 7 security.
    pub subject: u16,
    /// The detail within the subject (e.g. 1 in `5.1.1`, "bad destination mailbox").
    pub detail: u16,
}

impl EnhancedStatus {
    /// Parses the code at the start of `text` (the reply's text, after the
    /// three-digit reply code). `None` when the text does not start with one:
    /// the class must be 2, 4 or 5, subject and detail one to three digits,
    /// followed by a space or the end of the text.
    pub fn parse(text: &str) -> Option<EnhancedStatus> {
        let token = text.trim_start().split([' ', '\t', '\r', '\n']).next()?;
        let mut parts = token.split('.');
        let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let number = |s: &str, max_len: usize| {
            (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u16>().ok())
                .flatten()
        };
        let class = number(class, 1).filter(|c| matches!(c, 2 | 4 | 5))? as u8;
        Some(EnhancedStatus {
            class,
            subject: number(subject, 3)?,
            detail: number(detail, 3)?,
        })
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl Failure {
    pub(super) fn fatal(s: impl Into<String>) -> Self {
        Failure::Fatal(s.into())
    }

    /// The reply code, when the server gave one.
    pub fn code(&self) -> Option<u16> {
        match self {
            Failure::Permanent { code, .. } | Failure::Transient { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The enhanced status code the server gave with its reply, when it
    /// gave one whose class agrees with the reply code (a `5.1.1` on a `550`,
    /// not on a `451`). Decide bounces from this, never from the text.
    pub fn enhanced_status(&self) -> Option<EnhancedStatus> {
        match self {
            Failure::Permanent { code, text, .. } | Failure::Transient { code, text, .. } => {
                EnhancedStatus::parse(text).filter(|e| u16::from(e.class) == code / 100)
            }
            _ => None,
        }
    }

    /// True for 5xx and local refusals: recorded as failed, not retried.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Failure::Permanent { .. } | Failure::Local(_))
    }

    /// A one-line description: the code and the server's text.
    pub fn describe(&self) -> String {
        match self {
            Failure::Permanent { code, text, stage } | Failure::Transient { code, text, stage } => {
                format!("{code} {text} (at {stage})")
            }
            Failure::Connection {
                reason,
                stage,
                in_doubt,
            } => {
                if *in_doubt {
                    format!(
                        "{reason} (after the whole message was sent: it may have been delivered)"
                    )
                } else {
                    format!("{reason} (at {stage})")
                }
            }
            Failure::Local(s) | Failure::Fatal(s) => s.clone(),
        }
    }
}

/// `s` made safe to show on a terminal or write to a report: tabs and line
/// breaks become spaces; every other control character (ESC, BEL, C1 codes
/// such as CSI, DEL) and every invisible bidirectional or zero-width format
/// character is written as `\u{..}`, so a relay's reply can neither move the
/// cursor, retitle the terminal nor reorder what is shown.
pub fn printable(s: &str) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' | '\r' | '\n' => out.push(' '),
            c if c.is_control()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}') =>
            {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The server's text from a lettre error, single-line and printable.
pub(super) fn server_text(e: &lettre::transport::smtp::Error) -> String {
    printable(
        &std::error::Error::source(e)
            .map(|s| s.to_string())
            .unwrap_or_default(),
    )
}

/// The TLS error inside a lettre or I/O error, if there is one.
pub(super) fn rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a tokio_rustls::rustls::Error> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<tokio_rustls::rustls::Error>() {
            return Some(r);
        }
        if let Some(r) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<tokio_rustls::rustls::Error>())
        {
            return Some(r);
        }
        next = e.source();
    }
    None
}

/// True when a TLS failure is about the server's certificate: it will not fix
/// itself by retrying.
pub(super) fn is_certificate_error(e: &tokio_rustls::rustls::Error) -> bool {
    matches!(
        e,
        tokio_rustls::rustls::Error::InvalidCertificate(_)
            | tokio_rustls::rustls::Error::NoCertificatesPresented
    )
}

/// Classifies a lettre error by its category (`is_transient`, `is_permanent`,
/// `status`), never by its text.
pub(super) fn classify(e: &lettre::transport::smtp::Error, stage: Stage) -> Failure {
    match e.status() {
        Some(code) if e.is_permanent() => Failure::Permanent {
            code: u16::from(code),
            text: server_text(e),
            stage,
        },
        Some(code) if e.is_transient() => Failure::Transient {
            code: u16::from(code),
            text: server_text(e),
            stage,
        },
        _ if e.is_client() => Failure::Local(printable(&e.to_string())),
        // A reply lettre could not parse (garbage, a `999`): say so, and
        // show what came, cut short.
        _ if e.is_response() => Failure::Connection {
            reason: {
                // nom says `error Tag at: <the input>`; show only the input.
                let text = server_text(e);
                let what = text.split_once(" at: ").map_or(text.as_str(), |(_, w)| w);
                format!(
                    "the server's reply to {stage} is not a valid SMTP reply: {:?}",
                    cut(what.trim(), 120)
                )
            },
            stage,
            in_doubt: false,
        },
        _ => Failure::Connection {
            reason: printable(&e.to_string()),
            stage,
            in_doubt: false,
        },
    }
}

/// At most `max` characters of `s`, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// What the server said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The reply code (250).
    pub code: u16,
    /// The server's text (often a queue id).
    pub text: String,
}

pub(super) fn accepted(r: &Response) -> Accepted {
    Accepted {
        code: u16::from(r.code()),
        text: printable(&r.message().collect::<Vec<_>>().join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permanent(code: u16, text: &str) -> Failure {
        Failure::Permanent {
            code,
            text: text.into(),
            stage: Stage::Rcpt,
        }
    }

    #[test]
    fn printable_escapes_what_a_terminal_would_obey() {
        assert_eq!(
            printable("550 \u{1b}[2J\u{1b}]0;x\u{7}ok\tline\r\n\u{9b}1m \u{202e}abc \u{7f}"),
            "550 \\u{1b}[2J\\u{1b}]0;x\\u{7}ok line  \\u{9b}1m \\u{202e}abc \\u{7f}"
        );
        assert_eq!(printable("Grüße, 5.1.1 ok"), "Grüße, 5.1.1 ok");
        let once = printable("\u{1b}x");
        assert_eq!(printable(&once), once, "idempotent");
    }

    #[test]
    fn enhanced_status_codes() {
        let e = |s| EnhancedStatus::parse(s);
        let es = |class, subject, detail| {
            Some(EnhancedStatus {
                class,
                subject,
                detail,
            })
        };
        assert_eq!(e("5.1.1 <x@y>: User unknown"), es(5, 1, 1));
        assert_eq!(e("5.1.10 Recipient address rejected"), es(5, 1, 10));
        assert_eq!(e("4.7.1"), es(4, 7, 1));
        assert_eq!(e("2.0.0 Ok: queued"), es(2, 0, 0));
        assert_eq!(e("5.1.1").unwrap().to_string(), "5.1.1");
        for bad in [
            "",
            "User unknown",
            "3.1.1 x",
            "5.1 x",
            "5.1.1.1 x",
            "5.1.1000 x",
            "55.1.1 x",
            "5.a.1 x",
            "5..1 x",
            "5.1.1: x",
        ] {
            assert_eq!(e(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_failure_exposes_its_enhanced_status_when_the_class_agrees() {
        let status = permanent(550, "5.1.1 <nobody>: User unknown").enhanced_status();
        assert_eq!(status.map(|s| s.to_string()).as_deref(), Some("5.1.1"));
        assert_eq!(permanent(550, "4.2.2 mailbox full").enhanced_status(), None);
        assert_eq!(permanent(550, "User unknown").enhanced_status(), None);
        let transient = Failure::Transient {
            code: 452,
            text: "4.2.2 Mailbox full".into(),
            stage: Stage::Rcpt,
        };
        assert_eq!(transient.enhanced_status().map(|s| s.subject), Some(2));
        assert_eq!(Failure::Local("x".into()).enhanced_status(), None);
    }
}
