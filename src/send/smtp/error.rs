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

/// The server's text from a lettre error, single-line.
pub(super) fn server_text(e: &lettre::transport::smtp::Error) -> String {
    std::error::Error::source(e)
        .map(|s| s.to_string())
        .unwrap_or_default()
        .replace(['\r', '\n', '\t'], " ")
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
        _ if e.is_client() => Failure::Local(e.to_string()),
        _ => Failure::Connection {
            reason: e.to_string().replace(['\r', '\n'], " "),
            stage,
            in_doubt: false,
        },
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
        text: r
            .message()
            .collect::<Vec<_>>()
            .join(" ")
            .replace(['\r', '\n', '\t'], " "),
    }
}
