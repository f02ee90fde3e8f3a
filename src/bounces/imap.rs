//! The bounce mailbox over IMAP: `imap://USER@HOST[:PORT]/MAILBOX`.
//!
//! Everything about the URL is decided before a socket opens ([`ImapUrl`]),
//! with the same rules as the SMTP relay: `imaps://` is TLS from the first
//! byte, `imap://` requires STARTTLS, and plaintext is allowed only to a
//! loopback address. The password comes from [`PASSWORD_ENV`] or
//! `[bounces] imap_password_command`, never from the URL.
//!
//! The server's certificate must verify against the public web roots, or
//! against the CA named by `[bounces] imap_ca_file` (a private CA, a
//! self-signed server); a failed check names that key ([`Connect`]).
//!
//! [`Mailbox`] fetches messages in batches (by UID, `BODY.PEEK[]`, so nothing
//! is marked read by fetching) and files them away only when told, which
//! the caller ([`super::run`]) does after each result is committed to the
//! store. [`Mailbox::wait`] waits for new mail: IDLE (RFC 2177) when the
//! server announces it, re-issued before its 29 minutes run out, else a
//! NOOP poll.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::{Client, Session};
use futures_util::StreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::error::{Error, Result};
use crate::send::smtp::url::Secret;

/// The environment variable that holds the IMAP password.
pub const PASSWORD_ENV: &str = "LETTERPRESS_IMAP_PASSWORD";

/// The keyword set on a counted message when the server cannot MOVE.
pub const PROCESSED_KEYWORD: &str = "$LetterpressProcessed";

/// The keyword set on an unrecognised message when the server cannot MOVE
/// (left unread, for a person to find).
pub const NEEDS_LOOK_KEYWORD: &str = "$LetterpressNeedsLook";

/// Where a message goes once handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filing<'a> {
    /// Counted: to this folder, or flagged \Seen and [`PROCESSED_KEYWORD`].
    Processed(&'a str),
    /// Not recognised: to this folder, or flagged [`NEEDS_LOOK_KEYWORD`].
    NeedsLook(&'a str),
}

/// How many messages one FETCH asks for (and one transaction commits).
pub const BATCH: usize = 500;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `imaps://`: TLS from the first byte (port 993).
    ImplicitTls,
    /// `imap://`: STARTTLS, required unless the host is loopback (port 143).
    StartTls,
}

/// A parsed `--imap` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapUrl {
    /// The URL as shown to the user (never holds a password).
    pub shown: String,
    /// The login name.
    pub user: String,
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// True when the host is a loopback address (plaintext allowed).
    pub loopback: bool,
    /// The mailbox to read, e.g. `INBOX`.
    pub mailbox: String,
}

impl ImapUrl {
    /// Parses `imap[s]://USER@HOST[:PORT]/MAILBOX`; errors name `--imap` and
    /// say what to write instead.
    pub fn parse(raw: &str) -> Result<ImapUrl> {
        let bad = |why: &str| Error::Usage(format!("--imap {raw:?}: {why}"));
        let url = url::Url::parse(raw).map_err(|_| {
            bad("not a URL; write imaps://USER@HOST/INBOX (implicit TLS) or imap://USER@HOST/INBOX (STARTTLS)")
        })?;
        let security = match url.scheme() {
            "imaps" => Security::ImplicitTls,
            "imap" => Security::StartTls,
            _ => {
                return Err(bad(
                    "use imaps://USER@HOST:993/MAILBOX (implicit TLS) or imap://USER@HOST:143/MAILBOX (STARTTLS)",
                ))
            }
        };
        if url.password().is_some() {
            return Err(Error::Usage(format!(
                "--imap: never put the password in the URL; export {PASSWORD_ENV} or set \
                 [bounces] imap_password_command"
            )));
        }
        let user = percent_decode(url.username());
        if user.is_empty() {
            return Err(bad("no user; write imaps://USER@HOST/MAILBOX"));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port().unwrap_or(match security {
            Security::ImplicitTls => 993,
            Security::StartTls => 143,
        });
        let mailbox = percent_decode(url.path().trim_start_matches('/'));
        if mailbox.is_empty() {
            return Err(bad(
                "no mailbox; end the URL with /INBOX or the bounce folder's name",
            ));
        }
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let mut shown = url.clone();
        let _ = shown.set_username("");
        Ok(ImapUrl {
            shown: format!("{}://{}@{}", url.scheme(), user, {
                let s = shown.to_string();
                s.split_once("://").map(|x| x.1.to_string()).unwrap_or(s)
            }),
            user,
            host,
            port,
            security,
            loopback,
            mailbox,
        })
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The socket: plain (loopback only) or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Plain(_) => "Plain",
            Stream::Tls(_) => "Tls",
        })
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One message fetched from the mailbox.
#[derive(Debug)]
pub struct Fetched {
    /// Its UID in the mailbox.
    pub uid: u32,
    /// The whole message.
    pub raw: Vec<u8>,
}

/// A logged-in session on the bounce mailbox.
pub struct Mailbox {
    session: Session<Stream>,
    url: ImapUrl,
    can_move: bool,
    can_idle: bool,
    timeout: Duration,
    /// The server's hierarchy delimiter (`/` in folder names given to
    /// [`Mailbox::file`] is written as this), e.g. `.` for Dovecot's maildir.
    delimiter: Option<String>,
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("url", &self.url.shown)
            .field("can_move", &self.can_move)
            .finish_non_exhaustive()
    }
}

/// The key that names a private CA for the IMAP server.
pub const CA_FILE_KEY: &str = "[bounces] imap_ca_file";

/// The TLS client settings: the public web roots, plus the certificates of
/// `ca_file` (PEM) when set, for a server with a private or self-signed CA.
fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
        let bad = |e: &dyn fmt::Display| {
            Error::Usage(format!(
                "{CA_FILE_KEY} = {:?}: {e}; it must hold the server's CA certificate (PEM)",
                path.display()
            ))
        };
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            n += 1;
        }
        if n == 0 {
            return Err(bad(&"no PEM certificate in it"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Usage(format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// Everything needed to (re)open the bounce mailbox: the URL, the
/// password, the TLS roots and the time each step may take.
#[derive(Clone)]
pub struct Connect {
    url: ImapUrl,
    password: Secret,
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    /// File by flags even where the server can MOVE.
    flag_in_place: bool,
}

impl fmt::Debug for Connect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connect")
            .field("url", &self.url.shown)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Connect {
    /// Settles how to reach `url`: `ca_file` (the resolved
    /// `[bounces] imap_ca_file`) adds a private CA to the public roots;
    /// `timeout` bounds each step. Errors name the file.
    pub fn new(
        url: ImapUrl,
        password: Secret,
        ca_file: Option<&Path>,
        timeout: Duration,
    ) -> Result<Connect> {
        Ok(Connect {
            tls: tls_config(ca_file)?,
            url,
            password,
            timeout,
            flag_in_place: false,
        })
    }

    /// With `yes`, handled messages stay where they are, flagged (`\Seen`
    /// and [`PROCESSED_KEYWORD`], or [`NEEDS_LOOK_KEYWORD`]), even on a
    /// server that can MOVE: a STORE of flags costs the server far less
    /// than moving every message, and later runs skip them by keyword.
    pub fn flag_in_place(mut self, yes: bool) -> Connect {
        self.flag_in_place = yes;
        self
    }

    /// The mailbox's URL.
    pub fn url(&self) -> &ImapUrl {
        &self.url
    }
}

/// Why [`Mailbox::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server said the mailbox changed (IDLE), or the poll interval
    /// passed (no IDLE): look for new messages.
    Changed,
    /// IDLE ran for the renewal interval with no news: re-issue it.
    Renew,
    /// The caller asked to stop.
    Stopped,
}

impl Mailbox {
    /// Connects, protects the connection as the URL says, logs in and
    /// selects the mailbox; each step is bounded by the connection's timeout.
    pub async fn open(connect: &Connect) -> Result<Mailbox> {
        let (url, password, timeout) = (&connect.url, &connect.password, connect.timeout);
        let fail = |what: &str, e: &dyn fmt::Display| {
            Error::Usage(format!("IMAP {}: {what}: {e}", url.shown))
        };
        let step = |what: &'static str| {
            move |_: tokio::time::error::Elapsed| {
                Error::Usage(format!(
                    "IMAP {}: {what} took longer than {} s",
                    url.shown,
                    timeout.as_secs()
                ))
            }
        };
        let tcp = tokio::time::timeout(timeout, TcpStream::connect((url.host.as_str(), url.port)))
            .await
            .map_err(step("connecting"))?
            .map_err(|e| fail("could not connect", &e))?;
        // Commands go out in several small writes: do not let Nagle hold
        // them back waiting for an ACK.
        let _ = tcp.set_nodelay(true);
        let tls = |tcp: TcpStream| async move {
            let name = rustls_pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| fail("bad host name for TLS", &e))?;
            let s = tokio::time::timeout(
                timeout,
                tokio_rustls::TlsConnector::from(connect.tls.clone()).connect(name, tcp),
            )
            .await
            .map_err(step("the TLS handshake"))?
            .map_err(|e| {
                Error::Usage(format!(
                    "IMAP {}: TLS handshake failed: {e}; if the server's certificate is from a \
                     private CA or self-signed, set {CA_FILE_KEY} to that CA's certificate (PEM)",
                    url.shown
                ))
            })?;
            Ok::<_, Error>(Stream::Tls(Box::new(s)))
        };
        let mut client = match url.security {
            Security::ImplicitTls => Client::new(tls(tcp).await?),
            Security::StartTls => Client::new(Stream::Plain(tcp)),
        };
        tokio::time::timeout(timeout, client.read_response())
            .await
            .map_err(step("the greeting"))?
            .map_err(|e| fail("no greeting", &e))?;
        // To a loopback address (a local Dovecot, a tunnel) plaintext is
        // allowed, as for SMTP; anywhere else STARTTLS must succeed.
        if url.security == Security::StartTls && !url.loopback {
            tokio::time::timeout(timeout, client.run_command_and_check_ok("STARTTLS", None))
                .await
                .map_err(step("STARTTLS"))?
                .map_err(|e| {
                    Error::Usage(format!(
                        "IMAP {}: the server refused STARTTLS ({e}), and the password must not \
                         cross the network in clear; use imaps:// (port 993) or enable STARTTLS \
                         on the server",
                        url.shown
                    ))
                })?;
            let Stream::Plain(tcp) = client.into_inner() else {
                unreachable!("STARTTLS starts from the plain socket")
            };
            client = Client::new(tls(tcp).await?);
        }
        let mut session = tokio::time::timeout(timeout, client.login(&url.user, &password.0))
            .await
            .map_err(step("LOGIN"))?
            .map_err(|(e, _)| {
                Error::Usage(format!(
                    "IMAP {}: login refused ({e}); check the user name and {PASSWORD_ENV} \
                     or [bounces] imap_password_command",
                    url.shown
                ))
            })?;
        let caps = tokio::time::timeout(timeout, session.capabilities())
            .await
            .map_err(step("CAPABILITY"))?
            .map_err(|e| fail("CAPABILITY", &e))?;
        let can_move = caps.has_str("MOVE") && !connect.flag_in_place;
        let can_idle = caps.has_str("IDLE");
        tokio::time::timeout(timeout, session.select(&url.mailbox))
            .await
            .map_err(step("SELECT"))?
            .map_err(|e| {
                fail(
                    &format!("cannot open the mailbox {:?} (check its name)", url.mailbox),
                    &e,
                )
            })?;
        let delimiter = {
            let list = tokio::time::timeout(timeout, session.list(Some(""), None))
                .await
                .map_err(step("LIST"))?;
            let mut list = list.map_err(|e| fail("LIST", &e))?;
            let mut d = None;
            while let Some(n) = list.next().await {
                if let Ok(n) = n {
                    d = n.delimiter().map(str::to_string);
                }
            }
            d
        };
        Ok(Mailbox {
            session,
            url: url.clone(),
            can_move,
            can_idle,
            timeout,
            delimiter,
        })
    }

    /// The mailbox read, as the URL names it (e.g. `INBOX`).
    pub fn name(&self) -> &str {
        &self.url.mailbox
    }

    /// True when the server announces IDLE (RFC 2177); else
    /// [`Mailbox::wait`] polls.
    pub fn can_idle(&self) -> bool {
        self.can_idle
    }

    /// Waits until the mailbox may hold new mail: with IDLE, until the
    /// server says something changed or `renew` passes (re-issue IDLE before
    /// the 29 minutes RFC 2177 allows); without, `poll` later (then NOOP).
    /// Returns early with [`Wake::Stopped`] once `stop` turns true, after
    /// ending IDLE with DONE. An error means the connection is gone.
    pub async fn wait(
        self,
        renew: Duration,
        poll: Duration,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<(Mailbox, Wake)> {
        let Mailbox {
            session,
            url,
            can_move,
            can_idle,
            timeout,
            delimiter,
        } = self;
        let fail = |what: &str, e: &dyn fmt::Display| {
            Error::Usage(format!("IMAP {}: {what}: {e}", url.shown))
        };
        let late = |what: &str| {
            Error::Usage(format!(
                "IMAP {}: {what} got no answer in {} s",
                url.shown,
                timeout.as_secs()
            ))
        };
        let (session, wake) = if can_idle {
            let mut idle = session.idle();
            tokio::time::timeout(timeout, idle.init())
                .await
                .map_err(|_| late("IDLE"))?
                .map_err(|e| fail("IDLE", &e))?;
            let wake = {
                // Dropping the stop source ends the wait: keep it alive.
                let (news, _interrupt) = idle.wait_with_timeout(renew);
                tokio::select! {
                    r = tokio::time::timeout(renew, news) => match r {
                        Err(_) | Ok(Ok(IdleResponse::Timeout)) => Wake::Renew,
                        Ok(Ok(IdleResponse::NewData(_))) => Wake::Changed,
                        // The stream ended without being interrupted.
                        Ok(Ok(IdleResponse::ManualInterrupt)) => {
                            return Err(fail("IDLE", &"the server closed the connection"))
                        }
                        Ok(Err(e)) => return Err(fail("IDLE", &e)),
                    },
                    () = stopped(stop) => Wake::Stopped,
                }
            };
            let session = tokio::time::timeout(timeout, idle.done())
                .await
                .map_err(|_| late("DONE"))?
                .map_err(|e| fail("DONE (ending IDLE)", &e))?;
            (session, wake)
        } else {
            let mut session = session;
            let wake = tokio::select! {
                () = tokio::time::sleep(poll) => Wake::Changed,
                () = stopped(stop) => Wake::Stopped,
            };
            if wake == Wake::Changed {
                tokio::time::timeout(timeout, session.noop())
                    .await
                    .map_err(|_| late("NOOP"))?
                    .map_err(|e| fail("NOOP", &e))?;
            }
            (session, wake)
        };
        // What the server said meanwhile (EXISTS, EXPUNGE) is read again by
        // the next SEARCH: drop the copies.
        while session.unsolicited_responses.try_recv().is_ok() {}
        Ok((
            Mailbox {
                session,
                url,
                can_move,
                can_idle,
                timeout,
                delimiter,
            },
            wake,
        ))
    }

    /// True when the server can MOVE (else filing sets keywords).
    pub fn can_move(&self) -> bool {
        self.can_move
    }

    /// `folder` (levels separated by `/`) as this server names it.
    fn server_name(&self, folder: &str) -> String {
        match &self.delimiter {
            Some(d) if d != "/" => folder.replace('/', d),
            _ => folder.to_string(),
        }
    }

    fn fail(&self, what: &str, e: &dyn fmt::Display) -> Error {
        Error::Usage(format!("IMAP {}: {what}: {e}", self.url.shown))
    }

    /// The UIDs of the messages to read, oldest first: all of them, less
    /// those already filed by keyword when the server cannot MOVE.
    pub async fn uids(&mut self) -> Result<Vec<u32>> {
        let query = if self.can_move {
            "ALL".to_string()
        } else {
            format!("UNKEYWORD {PROCESSED_KEYWORD} UNKEYWORD {NEEDS_LOOK_KEYWORD}")
        };
        let found = self.session.uid_search(&query).await;
        let mut v: Vec<u32> = found
            .map_err(|e| self.fail("UID SEARCH", &e))?
            .into_iter()
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    /// Fetches the whole messages `uids` (without marking them read).
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<Fetched>> {
        let set = uid_set(uids);
        let timeout = self.timeout;
        let shown = self.url.shown.clone();
        let result = tokio::time::timeout(timeout * 10, async {
            let mut stream = self.session.uid_fetch(&set, "(UID BODY.PEEK[])").await?;
            let mut out = Vec::with_capacity(uids.len());
            while let Some(f) = stream.next().await {
                let f = f?;
                if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                    out.push(Fetched {
                        uid,
                        raw: body.to_vec(),
                    });
                }
            }
            Ok::<_, async_imap::error::Error>(out)
        })
        .await
        .map_err(|_| Error::Usage(format!("IMAP {shown}: UID FETCH took too long")))?;
        let mut out = result.map_err(|e| self.fail("UID FETCH", &e))?;
        out.sort_by_key(|f| f.uid);
        Ok(out)
    }

    /// Creates `folder` (levels separated by `/`) unless it exists.
    pub async fn ensure_folder(&mut self, folder: &str) -> Result<()> {
        check_folder(folder)?;
        let folder = &self.server_name(folder);
        let exists = {
            let shown = &self.url.shown;
            // async-imap sends the pattern as given: quote it (the name was
            // checked by `check_folder`).
            let pattern = format!("\"{folder}\"");
            let list = self.session.list(Some(""), Some(&pattern)).await;
            let mut list = list.map_err(|e| Error::Usage(format!("IMAP {shown}: LIST: {e}")))?;
            let mut found = false;
            while let Some(n) = list.next().await {
                if n.is_ok_and(|n| n.name() == folder) {
                    found = true;
                }
            }
            found
        };
        if !exists {
            let r = self.session.create(folder).await;
            r.map_err(|e| self.fail(&format!("cannot create the folder {folder:?}"), &e))?;
        }
        Ok(())
    }

    /// Files `uids` as `to` says: MOVE into its folder, or, when the
    /// server cannot move, flags them where they are (nothing is deleted).
    pub async fn file(&mut self, uids: &[u32], to: Filing<'_>) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        if self.can_move {
            let (Filing::Processed(folder) | Filing::NeedsLook(folder)) = to;
            let folder = &self.server_name(folder);
            let r = self.session.uid_mv(&set, folder).await;
            r.map_err(|e| self.fail(&format!("UID MOVE to {folder:?}"), &e))
        } else {
            let flags = match to {
                Filing::Processed(_) => format!("\\Seen {PROCESSED_KEYWORD}"),
                Filing::NeedsLook(_) => NEEDS_LOOK_KEYWORD.to_string(),
            };
            let r = async {
                let mut s = self
                    .session
                    .uid_store(&set, format!("+FLAGS.SILENT ({flags})"))
                    .await?;
                while let Some(x) = s.next().await {
                    x?;
                }
                Ok::<_, async_imap::error::Error>(())
            }
            .await;
            r.map_err(|e| self.fail("UID STORE", &e))
        }
    }

    /// Logs out (errors ignored: the work is done and committed).
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(self.timeout, self.session.logout()).await;
    }
}

/// Resolves once `stop` holds true (never, if its sender is gone).
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Refuses folder names that cannot be sent as a quoted IMAP string.
pub fn check_folder(folder: &str) -> Result<()> {
    if folder.is_empty()
        || folder
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control() || c == '*' || c == '%')
    {
        return Err(Error::Usage(format!(
            "folder name {folder:?} (--processed / --needs-a-look): use letters, digits, \
             spaces, `-`, `.` and `/` between levels, e.g. letterpress/processed"
        )));
    }
    Ok(())
}

/// Batches of at most [`BATCH`] UIDs.
pub fn batches(uids: &[u32]) -> impl Iterator<Item = &[u32]> {
    uids.chunks(BATCH)
}

/// `1:5,7,9:10` for the UIDs given (sorted).
fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = ImapUrl::parse("imap://bounces@127.0.0.1:1143/INBOX").unwrap();
        assert_eq!(
            (
                u.user.as_str(),
                u.host.as_str(),
                u.port,
                u.security,
                u.loopback,
                u.mailbox.as_str()
            ),
            (
                "bounces",
                "127.0.0.1",
                1143,
                Security::StartTls,
                true,
                "INBOX"
            )
        );
        assert_eq!(u.shown, "imap://bounces@127.0.0.1:1143/INBOX");
        let u = ImapUrl::parse("imaps://b%40news.example@mail.example.com/Bounces").unwrap();
        assert_eq!(
            (u.user.as_str(), u.port, u.security, u.loopback),
            ("b@news.example", 993, Security::ImplicitTls, false)
        );
        assert_eq!(ImapUrl::parse("imap://b@mx.example/X").unwrap().port, 143);
        for bad in [
            "pop3://b@h/INBOX",
            "imap://h/INBOX",
            "imap://b@h",
            "imap://b@h/",
            "b@h/INBOX",
        ] {
            assert!(ImapUrl::parse(bad).is_err(), "{bad}");
        }
        let e = ImapUrl::parse("imap://b:hunter2@h/INBOX")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("never put the password") && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[test]
    fn folder_names() {
        assert!(check_folder("letterpress/processed").is_ok());
        for bad in ["", "a\"b", "a\\b", "a\r\nb", "x*"] {
            assert!(check_folder(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn uid_sets() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[4]), "4");
    }
}
