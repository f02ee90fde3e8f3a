//! One SMTP connection, owned by one worker.
//!
//! lettre 0.11.23 speaks the protocol; this module works around its traps:
//!
//! - It never sets `TCP_NODELAY`, so every command waits ~40 ms for delayed
//!   ACKs. We open the TCP socket ourselves, set `TCP_NODELAY`, and hand the
//!   stream to [`AsyncSmtpConnection::connect_with_transport`]. For implicit
//!   TLS (`smtps://`) we wrap that socket in tokio-rustls first, for the same
//!   reason.
//! - Its pool caps idle, not open, connections, and a send cancelled by a
//!   timeout goes back to the pool half-used (the next send can read the old
//!   `354` as success). We use no pool: a [`Connection`] belongs to one
//!   worker, every step has a timeout, and after any network error or timeout
//!   the connection is marked broken and dropped.
//! - Its `send` aborts the connection on every negative reply. We drive
//!   `MAIL`/`RCPT`/`DATA` ourselves with its public `command`, so a `550` for
//!   one recipient costs a `RSET`, not a reconnect, and pipeline the three
//!   commands (RFC 2920) when the server offers `PIPELINING`.
//!
//! TLS policy: `smtps://` is implicit TLS; `smtp://` upgrades with STARTTLS
//! and refuses a server that does not offer it, unless the host is a loopback
//! address or plaintext was explicitly allowed.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Quit, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::config::Smtp;
use crate::error::{Error, Result};

/// The environment variable that holds the SMTP password.
pub const PASSWORD_ENV: &str = "LETTERPRESS_SMTP_PASSWORD";

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte.
    ImplicitTls,
    /// `smtp://`: STARTTLS, required unless plaintext is allowed.
    StartTls,
}

/// A password that never shows up in `Debug` output or error messages.
#[derive(Clone)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

/// Everything needed to open connections to the relay.
#[derive(Clone)]
pub struct SmtpSettings {
    /// The URL as shown to the user (never contains a password).
    pub url: String,
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// True when the host is a loopback address (plaintext allowed).
    pub loopback: bool,
    /// Plaintext allowed to a non-loopback host.
    pub allow_plaintext: bool,
    /// The EHLO name.
    pub hello: ClientId,
    /// AUTH user and password, when configured.
    pub credentials: Option<(String, Secret)>,
    /// The limit for any one step (connect, TLS, each reply).
    pub timeout: Duration,
    /// Roots for implicit TLS.
    tls_config: Arc<rustls::ClientConfig>,
    /// The extra CA, for STARTTLS through lettre's TLS parameters.
    extra_ca: Option<Vec<u8>>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &self.url)
            .field("security", &self.security)
            .field("loopback", &self.loopback)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpSettings {
    /// Settings from `[smtp]`, with `url` and `allow_plaintext` overridable
    /// from the command line. `default_hello` is used when `hello_name` is not
    /// set (the sender's domain). `root` resolves `ca_file`.
    pub fn new(
        smtp: &Smtp,
        url_override: Option<&str>,
        allow_plaintext: bool,
        default_hello: &str,
        root: &Path,
    ) -> Result<SmtpSettings> {
        let raw = url_override.or(smtp.url.as_deref()).ok_or_else(|| {
            Error::Usage(
                "no SMTP server: set `url` in [smtp] in letterpress.toml or pass --smtp URL (e.g. smtp://127.0.0.1:2525)".into(),
            )
        })?;
        let bad = |why: &str| Error::Usage(format!("SMTP URL {raw:?}: {why}"));
        let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
        let security = match url.scheme() {
            "smtps" => Security::ImplicitTls,
            "smtp" => Security::StartTls,
            _ => {
                return Err(bad(
                    "use smtps://host:465 (implicit TLS) or smtp://host:587 (STARTTLS)",
                ))
            }
        };
        if url.password().is_some() {
            return Err(bad(&format!(
                "never put the password in the URL; export {PASSWORD_ENV} or set smtp.password_command"
            )));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port().unwrap_or(match security {
            Security::ImplicitTls => 465,
            Security::StartTls => 587,
        });
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let user = (!url.username().is_empty())
            .then(|| url.username().to_string())
            .or_else(|| smtp.username.clone());
        let credentials = match user {
            Some(user) => Some((user, password(smtp)?)),
            None => None,
        };
        let extra_ca = match &smtp.ca_file {
            Some(p) => {
                let path = if p.is_absolute() {
                    p.clone()
                } else {
                    root.join(p)
                };
                Some(std::fs::read(&path).map_err(|e| Error::io("read", path, e))?)
            }
            None => None,
        };
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(pem) = &extra_ca {
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| Error::Usage(format!("smtp.ca_file: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| Error::Usage(format!("smtp.ca_file: {e}")))?;
                n += 1;
            }
            if n == 0 {
                return Err(Error::Usage("smtp.ca_file holds no PEM certificate".into()));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls_config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Usage(format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let hello = smtp
            .hello_name
            .clone()
            .unwrap_or_else(|| default_hello.to_string());
        let mut shown = url.clone();
        let _ = shown.set_username("");
        Ok(SmtpSettings {
            url: shown.to_string(),
            host,
            port,
            security,
            loopback,
            allow_plaintext: allow_plaintext || smtp.allow_plaintext,
            hello: ClientId::Domain(hello),
            credentials,
            timeout: Duration::from_secs_f64(smtp.timeout_seconds.max(0.001)),
            tls_config: Arc::new(tls_config),
            extra_ca,
        })
    }

    fn starttls_parameters(&self) -> std::result::Result<TlsParameters, Failure> {
        let mut b = TlsParameters::builder(self.host.clone());
        if let Some(pem) = &self.extra_ca {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| Failure::fatal(format!("smtp.ca_file: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build()
            .map_err(|e| Failure::fatal(format!("TLS setup: {e}")))
    }
}

/// The password from the environment or `password_command`.
fn password(smtp: &Smtp) -> Result<Secret> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        if !p.is_empty() {
            return Ok(Secret(p));
        }
    }
    let Some(cmd) = &smtp.password_command else {
        return Err(Error::Usage(format!(
            "smtp.username is set but there is no password: export {PASSWORD_ENV} or set smtp.password_command"
        )));
    };
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| Error::Usage(format!("smtp.password_command could not run: {e}")))?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "smtp.password_command failed ({}); its output is not shown",
            out.status
        )));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| {
        Error::Usage("smtp.password_command printed something that is not UTF-8".into())
    })?;
    let p = text.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        return Err(Error::Usage("smtp.password_command printed nothing".into()));
    }
    Ok(Secret(p))
}

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
    fn fatal(s: impl Into<String>) -> Self {
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
fn server_text(e: &lettre::transport::smtp::Error) -> String {
    std::error::Error::source(e)
        .map(|s| s.to_string())
        .unwrap_or_default()
        .replace(['\r', '\n', '\t'], " ")
}

/// Classifies a lettre error by its category (`is_transient`, `is_permanent`,
/// `status`), never by its text.
fn classify(e: &lettre::transport::smtp::Error, stage: Stage) -> Failure {
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

fn accepted(r: &Response) -> Accepted {
    Accepted {
        code: u16::from(r.code()),
        text: r
            .message()
            .collect::<Vec<_>>()
            .join(" ")
            .replace(['\r', '\n', '\t'], " "),
    }
}

/// An implicit-TLS stream lettre can drive (it only needs tokio's traits).
struct TlsStream(tokio_rustls::client::TlsStream<TcpStream>);

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsStream")
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// Several commands written in one go (RFC 2920 pipelining).
struct Pipelined(String);

impl fmt::Display for Pipelined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The message body, dot-stuffed, followed by the end-of-data marker, written
/// with one `write` (lettre's `message` copies it byte by byte).
struct DotStuffed<'a>(&'a str);

impl fmt::Display for DotStuffed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = self.0;
        let bytes = body.as_bytes();
        let mut start = 0;
        if bytes.first() == Some(&b'.') {
            f.write_str(".")?;
        }
        for i in memchr::memmem::find_iter(bytes, b"\n.") {
            f.write_str(&body[start..=i])?;
            f.write_str(".")?;
            start = i + 1;
        }
        f.write_str(&body[start..])?;
        if body.is_empty() || body.ends_with("\r\n") {
            f.write_str(".\r\n")
        } else {
            f.write_str("\r\n.\r\n")
        }
    }
}

/// One open SMTP session.
pub struct Connection {
    inner: AsyncSmtpConnection,
    timeout: Duration,
    pipelining: bool,
    /// Messages accepted or attempted on this connection.
    pub used: usize,
    broken: bool,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("pipelining", &self.pipelining)
            .field("used", &self.used)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// Runs `fut` with the step timeout; a timeout is a connection failure.
async fn timed<T>(
    timeout: Duration,
    stage: Stage,
    what: &str,
    fut: impl std::future::Future<Output = std::result::Result<T, lettre::transport::smtp::Error>>,
) -> std::result::Result<std::result::Result<T, lettre::transport::smtp::Error>, Failure> {
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| Failure::Connection {
            reason: format!("no reply to {what} within {} s", timeout.as_secs_f64()),
            stage,
            in_doubt: false,
        })
}

impl Connection {
    /// Opens a session: TCP (with `TCP_NODELAY`), TLS per policy, EHLO, AUTH.
    pub async fn open(s: &SmtpSettings) -> std::result::Result<Connection, Failure> {
        let t = s.timeout;
        let connect_err = |reason: String| Failure::Connection {
            reason,
            stage: Stage::Connect,
            in_doubt: false,
        };
        let tcp = tokio::time::timeout(t, tcp_connect(&s.host, s.port))
            .await
            .map_err(|_| {
                connect_err(format!(
                    "could not connect to {}:{} within {} s",
                    s.host,
                    s.port,
                    t.as_secs_f64()
                ))
            })?
            .map_err(|e| connect_err(format!("could not connect to {}:{}: {e}", s.host, s.port)))?;
        let stream: Box<dyn AsyncTokioStream> = match s.security {
            Security::ImplicitTls => {
                let name = ServerName::try_from(s.host.clone()).map_err(|e| {
                    Failure::fatal(format!("{}: not a valid TLS server name: {e}", s.host))
                })?;
                let tls = tokio::time::timeout(
                    t,
                    tokio_rustls::TlsConnector::from(s.tls_config.clone()).connect(name, tcp),
                )
                .await
                .map_err(|_| connect_err(format!("TLS handshake with {} timed out", s.host)))?
                .map_err(|e| tls_failure(&s.host, &e))?;
                Box::new(TlsStream(tls))
            }
            Security::StartTls => Box::new(tcp),
        };
        let mut inner = match timed(
            t,
            Stage::Connect,
            "the greeting and EHLO",
            AsyncSmtpConnection::connect_with_transport(stream, &s.hello),
        )
        .await?
        {
            Ok(c) => c,
            Err(e) => return Err(classify(&e, Stage::Connect)),
        };
        if s.security == Security::StartTls {
            if inner.server_info().supports_feature(Extension::StartTls) {
                let params = s.starttls_parameters()?;
                match timed(t, Stage::Connect, "STARTTLS", inner.starttls(params, &s.hello)).await? {
                    Ok(()) => {}
                    Err(e) if e.is_tls() => {
                        return Err(Failure::fatal(format!(
                            "STARTTLS with {} failed: {e}; if the server uses a private CA, set smtp.ca_file",
                            s.host
                        )))
                    }
                    Err(e) => return Err(classify(&e, Stage::Connect)),
                }
            } else if !(s.loopback || s.allow_plaintext) {
                return Err(Failure::fatal(format!(
                    "{} does not offer STARTTLS, and letterpress only sends in plaintext to a loopback address; \
                     use smtps:// if the server speaks implicit TLS, or pass --allow-plaintext (or set smtp.allow_plaintext) if you really mean it",
                    s.host
                )));
            }
        }
        // lettre keeps no record of PIPELINING: ask again and read the list.
        let ehlo = match timed(
            t,
            Stage::Connect,
            "EHLO",
            inner.command(Ehlo::new(s.hello.clone())),
        )
        .await?
        {
            Ok(r) => r,
            Err(e) => return Err(classify(&e, Stage::Connect)),
        };
        let pipelining = ehlo.message().any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("PIPELINING"))
        });
        if let Some((user, Secret(pass))) = &s.credentials {
            let creds = Credentials::new(user.clone(), pass.clone());
            match timed(
                t,
                Stage::Connect,
                "AUTH",
                inner.auth(&[Mechanism::Plain, Mechanism::Login], &creds),
            )
            .await?
            {
                Ok(_) => {}
                Err(e) if e.is_permanent() || e.is_client() => {
                    return Err(Failure::fatal(format!(
                        "authentication as {user} at {} failed: {}",
                        s.host,
                        e.status()
                            .map_or_else(|| e.to_string(), |c| format!("{c} {}", server_text(&e)))
                    )))
                }
                Err(e) => return Err(classify(&e, Stage::Connect)),
            }
        }
        Ok(Connection {
            inner,
            timeout: t,
            pipelining,
            used: 0,
            broken: false,
        })
    }

    /// True after a network error, a timeout or a `421`: drop it.
    pub fn is_broken(&self) -> bool {
        self.broken || self.inner.has_broken()
    }

    /// Sends one message to its single envelope recipient. `before_body` runs
    /// after the server's `354`, just before the body is written (the
    /// journal's "attempt" record goes there); if it fails, the connection is
    /// dropped without the final dot, so nothing is delivered.
    pub async fn send(
        &mut self,
        envelope: &lettre::address::Envelope,
        body: &[u8],
        before_body: impl FnOnce() -> std::result::Result<(), String>,
    ) -> std::result::Result<Accepted, Failure> {
        self.used += 1;
        let r = self.send_inner(envelope, body, before_body).await;
        match &r {
            Err(Failure::Connection { .. } | Failure::Fatal(_)) => self.broken = true,
            Err(
                Failure::Transient { code: 421, .. }
                | Failure::Permanent {
                    code: 521 | 554,
                    stage: Stage::Connect,
                    ..
                },
            ) => self.broken = true,
            Err(Failure::Permanent { stage, .. } | Failure::Transient { stage, .. })
                if *stage != Stage::Body =>
            {
                // The transaction is open: reset it, or give up on the connection.
                let t = self.timeout;
                match tokio::time::timeout(t, self.inner.command(Rset)).await {
                    Ok(Ok(_)) => {}
                    _ => self.broken = true,
                }
            }
            _ => {}
        }
        r
    }

    async fn send_inner(
        &mut self,
        envelope: &lettre::address::Envelope,
        body: &[u8],
        before_body: impl FnOnce() -> std::result::Result<(), String>,
    ) -> std::result::Result<Accepted, Failure> {
        let t = self.timeout;
        let [to] = envelope.to() else {
            return Err(Failure::Local(
                "letterpress sends one recipient per envelope".into(),
            ));
        };
        let info = self.inner.server_info();
        let mut params = Vec::new();
        if !(envelope
            .from()
            .map_or(true, |a| AsRef::<str>::as_ref(a).is_ascii())
            && AsRef::<str>::as_ref(to).is_ascii())
        {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(Failure::Local(
                    "the address is not ASCII and the server does not support SMTPUTF8".into(),
                ));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        // One scan of the body decides 8BITMIME and how it is written.
        let ascii = body.is_ascii();
        if !ascii {
            if !info.supports_feature(Extension::EightBitMime) {
                return Err(Failure::Local(
                    "the message is not ASCII and the server does not support 8BITMIME".into(),
                ));
            }
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mail = Mail::new(envelope.from().cloned(), params);
        let rcpt = Rcpt::new(to.clone(), vec![]);
        if self.pipelining {
            let group = Pipelined(format!("{mail}{rcpt}{Data}"));
            let r_mail = timed(t, Stage::Mail, "MAIL FROM", self.inner.command(group)).await?;
            let r_rcpt = timed(t, Stage::Rcpt, "RCPT TO", self.inner.read_response()).await?;
            let r_data = timed(t, Stage::Data, "DATA", self.inner.read_response()).await?;
            let first_err = [
                (r_mail.as_ref().err(), Stage::Mail),
                (r_rcpt.as_ref().err(), Stage::Rcpt),
            ]
            .into_iter()
            .find_map(|(e, s)| e.map(|e| classify(e, s)));
            match (first_err, r_data) {
                (None, Ok(_)) => {}
                (None, Err(e)) => return Err(classify(&e, Stage::Data)),
                (Some(f), Err(_)) => return Err(f),
                (Some(_), Ok(_)) => {
                    // 354 after a rejected MAIL or RCPT: the server is in DATA
                    // mode with nobody to deliver to. Do not guess: hang up.
                    self.broken = true;
                    return Err(Failure::Connection {
                        reason: "the server accepted DATA after rejecting the sender or recipient"
                            .into(),
                        stage: Stage::Data,
                        in_doubt: false,
                    });
                }
            }
        } else {
            timed(t, Stage::Mail, "MAIL FROM", self.inner.command(mail))
                .await?
                .map_err(|e| classify(&e, Stage::Mail))?;
            timed(t, Stage::Rcpt, "RCPT TO", self.inner.command(rcpt))
                .await?
                .map_err(|e| classify(&e, Stage::Rcpt))?;
            timed(t, Stage::Data, "DATA", self.inner.command(Data))
                .await?
                .map_err(|e| classify(&e, Stage::Data))?;
        }
        if let Err(why) = before_body() {
            // We are in DATA mode: hanging up without the final dot makes the
            // server discard the message.
            self.broken = true;
            return Err(Failure::Fatal(why));
        }
        let text = if ascii {
            // SAFETY: ASCII is valid UTF-8 (checked just above); this spares
            // a second full validation of every message.
            Some(unsafe { std::str::from_utf8_unchecked(body) })
        } else {
            std::str::from_utf8(body).ok()
        };
        let reply = match text {
            Some(text) => {
                timed(
                    t,
                    Stage::Body,
                    "the message",
                    self.inner.command(DotStuffed(text)),
                )
                .await
            }
            None => timed(t, Stage::Body, "the message", self.inner.message(body)).await,
        };
        match reply {
            Ok(Ok(r)) => Ok(accepted(&r)),
            Ok(Err(e)) => match classify(&e, Stage::Body) {
                Failure::Connection { reason, stage, .. } => Err(Failure::Connection {
                    reason,
                    stage,
                    in_doubt: true,
                }),
                other => Err(other),
            },
            Err(Failure::Connection { reason, stage, .. }) => Err(Failure::Connection {
                reason,
                stage,
                in_doubt: true,
            }),
            Err(other) => Err(other),
        }
    }

    /// Says goodbye (best effort, bounded by the timeout).
    pub async fn quit(mut self) {
        if !self.is_broken() {
            let _ = tokio::time::timeout(
                self.timeout.min(Duration::from_secs(5)),
                self.inner.command(Quit),
            )
            .await;
        }
    }
}

/// TCP connect to the first address that answers, with `TCP_NODELAY` set.
async fn tcp_connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolved to no address",
        )
    }))
}

fn tls_failure(host: &str, e: &io::Error) -> Failure {
    // A certificate problem will not fix itself: stop. Anything else is a
    // network hiccup during the handshake.
    let is_cert = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| {
            matches!(
                r,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            )
        });
    if is_cert {
        Failure::fatal(format!(
            "TLS with {host} failed: {e}; if the server uses a private CA, set smtp.ca_file"
        ))
    } else {
        Failure::Connection {
            reason: format!("TLS handshake with {host} failed: {e}"),
            stage: Stage::Connect,
            in_doubt: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing() {
        let s = DotStuffed(".a\r\n.b\r\nc.\r\n..\r\n").to_string();
        assert_eq!(s, "..a\r\n..b\r\nc.\r\n...\r\n.\r\n");
        assert_eq!(DotStuffed("x").to_string(), "x\r\n.\r\n");
        assert_eq!(DotStuffed("").to_string(), ".\r\n");
    }

    fn settings(url: &str) -> Result<SmtpSettings> {
        SmtpSettings::new(
            &Smtp::default(),
            Some(url),
            false,
            "example.com",
            Path::new("."),
        )
    }

    #[test]
    fn urls() {
        let s = settings("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security, s.loopback),
            ("127.0.0.1", 2525, Security::StartTls, true)
        );
        let s = settings("smtps://mail.example.com").unwrap();
        assert_eq!(
            (s.port, s.security, s.loopback),
            (465, Security::ImplicitTls, false)
        );
        let s = settings("smtp://[::1]:25").unwrap();
        assert_eq!((s.host.as_str(), s.loopback), ("::1", true));
        assert_eq!(settings("smtp://mail.example.com").unwrap().port, 587);
        assert!(settings("http://x").is_err());
        let e = settings("smtp://u:hunter2@mail.example.com")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("never put the password") && !e.contains("hunter2")
                || e.contains("hunter2") && e.contains("never"),
            "{e}"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "<hidden>");
    }
}
