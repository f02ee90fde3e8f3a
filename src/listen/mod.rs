//! `letterpress listen`: the public HTTP service behind every message's
//! unsubscribe URL (axum on tokio, served by hyper with explicit limits).
//!
//! - `GET /unsubscribe/{token}` shows who and one button, and changes nothing
//!   (mail providers' link scanners fetch every GET).
//! - `POST /unsubscribe/{token}`, from that button or an RFC 8058 one-click
//!   client (`List-Unsubscribe=One-Click`), records the unsubscribe and
//!   answers 2xx only once it is durable (the store's [`GroupCommit`]); the
//!   page then offers the signed undo, `POST /resubscribe/{token}`.
//! - `POST /subscribe` (the sign-up form on the author's site), then
//!   `GET`/`POST /confirm/{token}` from the confirmation mail: the double
//!   opt-in of [`signup`].
//! - `GET /healthz`; `GET /api/events?since=ID`, the store's events for a
//!   `send` on another machine ([`crate::audience::remote::pull`]), only with
//!   the bearer token from the environment and only when that is set.
//! - `POST /webhooks/ses` (Amazon SES through SNS: signature checked with
//!   the certificate fetched from the SNS host, subscription confirmed),
//!   `POST /webhooks/postmark` (HTTP basic auth), `POST /webhooks/mailgun`
//!   (HMAC signature): the relays' bounces and complaints, through the same
//!   policy as `letterpress bounces` ([`webhooks`]); each only when its
//!   `[webhooks.*]` table is present, else the same 404 as any unknown path.
//!
//! A token that does not open gets the same 404 page whatever was wrong
//! with it. Every response carries a strict CSP and the usual security
//! headers; nothing redirects; every value shown is escaped. The access log
//! (standard error, one JSON object a line) names routes, never a path, so
//! neither tokens nor addresses reach it.
//!
//! [`GroupCommit`]: crate::audience::store::GroupCommit

/// Writes one line to standard error, ignoring failure: a closed or full
/// log pipe must not take a request down (`eprintln!` would panic).
macro_rules! log_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
use log_line;

pub mod page;
mod routes;
mod server;
mod signup;
pub mod webhooks;

pub use webhooks::SnsTrust;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::audience::store::{GroupCommit, Store};
use crate::config::Config;
use crate::error::{Error, Result};

/// The shortest bearer token accepted for `/api/events`, in bytes.
pub const MIN_API_TOKEN: usize = 32;

/// How `listen` runs (from the command line).
#[derive(Debug, Clone)]
pub struct Options {
    /// The address and port to listen on.
    pub bind: SocketAddr,
    /// Commit every request in its own transaction instead of in groups:
    /// the benchmark's floor, never for production.
    pub commit_each: bool,
    /// Whom the SES webhook trusts when it fetches from SNS: the CLI always
    /// passes [`SnsTrust::public`]; only in-process tests pass another.
    pub sns: SnsTrust,
}

/// The limits that keep a public server standing (from `[listen]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time a client has to send a request's headers, and the longest an idle
    /// keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Time a client has to send a request's body once its headers are in.
    pub body_timeout: Duration,
    /// The largest request body read (a form or a one-click POST is tiny).
    pub max_body: usize,
    /// The largest request head (request line and headers), in bytes.
    pub max_head: usize,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
}

impl Limits {
    /// The limits configured in `[listen]`.
    pub fn from_config(config: &Config) -> Limits {
        let l = &config.listen;
        Limits {
            header_timeout: Duration::from_secs_f64(l.header_timeout_seconds),
            body_timeout: Duration::from_secs_f64(l.body_timeout_seconds),
            max_body: 4096,
            max_head: 8192,
            max_connections: l.max_connections,
        }
    }
}

/// Everything a request handler needs.
struct App {
    tokens: crate::audience::Tokens,
    list_id: String,
    newsletter: String,
    writer: GroupCommit,
    reader: Arc<Store>,
    /// SHA-256 of the bearer token for `/api/events`, when enabled.
    api_token: Option<[u8; 32]>,
    limits: Limits,
    csp: String,
    /// The sign-up form's queue and rate limit; `None` when it is off.
    signup: Option<signup::Signup>,
    /// The relay webhooks `[webhooks]` turns on; `None` when none is.
    webhooks: Option<webhooks::Webhooks>,
}

/// Runs `listen` until SIGINT or SIGTERM: checks the secret and the store
/// first and refuses to start when either is unusable.
pub fn run(config: &Config, options: &Options) -> Result<()> {
    run_until(config, options, shutdown_signal(), |_| {})
}

/// [`run`], stopping when `shutdown` resolves instead of on a signal;
/// `bound` is told the address once it listens (for port 0).
pub fn run_until(
    config: &Config,
    options: &Options,
    shutdown: impl std::future::Future<Output = ()>,
    bound: impl FnOnce(SocketAddr),
) -> Result<()> {
    let secret = std::env::var_os(&config.unsubscribe.secret_env).map(os_bytes);
    let tokens = crate::message::list_tokens(config, secret.as_deref())?;
    let api_token = api_token(config)?;
    // `list_tokens` refused a missing secret above.
    let webhooks = match &secret {
        Some(secret) => webhooks::setup(config, secret, &options.sns)?,
        None => None,
    };
    let store_path = config.resolve(&config.audience.store);
    let writer = GroupCommit::spawn(
        Store::open(&store_path)?,
        if options.commit_each { 1 } else { 4096 },
    )?;
    let reader = Arc::new(Store::open(&store_path)?);
    let limits = Limits::from_config(config);
    let (signup, mailer) = match signup::setup(config)? {
        Some((s, m)) => (Some(s), Some(m)),
        None => (None, None),
    };
    let app = Arc::new(App {
        tokens,
        list_id: config.list_id(),
        newsletter: config.newsletter.name.clone(),
        writer,
        reader,
        api_token,
        limits,
        csp: page::content_security_policy(),
        signup,
        webhooks,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        if let Some(mailer) = mailer {
            tokio::spawn(signup::run_mailer(app.clone(), mailer));
        }
        let listener = tokio::net::TcpListener::bind(options.bind)
            .await
            .map_err(|e| {
                Error::Usage(format!(
                    "--bind {}: {e}; pick a free port or stop what listens there",
                    options.bind
                ))
            })?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::Usage(format!("--bind {}: {e}", options.bind)))?;
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "letterpress listen: serving {} on http://{local} (store {}, events export {}, sign-up {}, webhooks {})",
                config.newsletter.name,
                store_path.display(),
                if app.api_token.is_some() { "on" } else { "off" },
                if app.signup.is_some() { "on" } else { "off" },
                app.webhooks
                    .as_ref()
                    .map_or_else(|| "off".to_string(), |w| w.names().join(" "))
            );
            let _ = out.flush();
        }
        bound(local);
        server::serve(listener, routes::router(app), limits, shutdown).await;
        Ok(())
    })
}

/// The bearer token for `/api/events` from `[audience] remote_token_env`;
/// `None` (export off) when unset, refused when too short.
fn api_token(config: &Config) -> Result<Option<[u8; 32]>> {
    let var = &config.audience.remote_token_env;
    match std::env::var_os(var).map(os_bytes) {
        None => Ok(None),
        Some(t) if t.len() < MIN_API_TOKEN => Err(Error::Usage(format!(
            "${var} is {} bytes; the events export needs a token of at least {MIN_API_TOKEN} \
             (e.g. `head -c 32 /dev/urandom | base64`), or unset it to turn the export off",
            t.len()
        ))),
        Some(t) => Ok(Some(Sha256::digest(&t).into())),
    }
}

fn os_bytes(s: std::ffi::OsString) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStringExt::into_vec(s)
    }
    #[cfg(not(unix))]
    {
        s.to_string_lossy().into_owned().into_bytes()
    }
}

/// Resolves on Ctrl-C or SIGTERM (what systemd sends on stop).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
