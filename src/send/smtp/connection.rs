//! One open SMTP session: TCP (with `TCP_NODELAY`), TLS per policy, EHLO,
//! AUTH, then `MAIL`/`RCPT`/`DATA` driven step by step.

use std::fmt;
use std::io;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Quit, Rcpt, Rset};
use lettre::transport::smtp::extension::{Extension, MailBodyParameter, MailParameter};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;

use super::error::{
    accepted, classify, is_certificate_error, printable, rustls_error, server_text, Accepted,
    Failure, Stage,
};
use super::stream::Bounded;
use super::tls::TlsStream;
use super::url::{Secret, Security, SmtpSettings};

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
        let (stream, ciphertext): (Box<dyn AsyncTokioStream>, _) = match s.security {
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
                (Box::new(Bounded::new(TlsStream(tls))), None)
            }
            Security::StartTls => {
                let bounded = Bounded::new(tcp);
                let switch = bounded.ciphertext();
                (Box::new(bounded), Some(switch))
            }
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
                if let Some(switch) = &ciphertext {
                    switch.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                match timed(
                    t,
                    Stage::Connect,
                    "STARTTLS",
                    inner.starttls(params, &s.hello),
                )
                .await?
                {
                    Ok(()) => {}
                    Err(e) if e.is_tls() || rustls_error(&e).is_some() => {
                        return Err(starttls_failure(&s.host, &e))
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
                        e.status().map_or_else(
                            || printable(&e.to_string()),
                            |c| format!("{c} {}", server_text(&e))
                        )
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
                // Not a reply at all (garbage, a `999`): that is the failure,
                // whatever came after it; the connection is not trusted again.
                (Some(f @ Failure::Connection { .. }), Ok(_)) => {
                    self.broken = true;
                    return Err(f);
                }
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
    match rustls_error(e) {
        Some(r) if is_certificate_error(r) => Failure::fatal(format!(
            "TLS with {host} failed: {r}; if the server uses a private CA, set smtp.ca_file to its certificate (PEM)"
        )),
        _ => Failure::Connection {
            reason: printable(&format!("TLS handshake with {host} failed: {e}")),
            stage: Stage::Connect,
            in_doubt: false,
        },
    }
}

/// A failed STARTTLS upgrade: fatal (the policy or the certificate will not
/// change by retrying), with the `smtp.ca_file` hint for a certificate the
/// roots do not trust, and without rustls' debug text.
fn starttls_failure(host: &str, e: &lettre::transport::smtp::Error) -> Failure {
    match rustls_error(e) {
        Some(r) if is_certificate_error(r) => Failure::fatal(format!(
            "STARTTLS with {host} failed: {r}; if the server uses a private CA, set smtp.ca_file to its certificate (PEM)"
        )),
        Some(r) => Failure::fatal(format!("STARTTLS with {host} failed: {r}")),
        None => Failure::fatal(printable(&format!("STARTTLS with {host} failed: {e}"))),
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
}
