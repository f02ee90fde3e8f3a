//! `letterpress serve`: a live preview of one issue in the browser.
//!
//! ```text
//!  issue.md, templates/*, letterpress.toml
//!        │  notify events, debounced (watcher)
//!        ▼
//!  render::render ── pipeline::compose_file (the code path of preview and send)
//!        │  once per change, not per client
//!        ▼
//!  watch::Sender<Arc<Snapshot>> ──▶ GET /events (server-sent events, one JSON per render)
//!                                ──▶ GET /api/state, /email.html, /sample.html, ...
//!  page.html (the outer page; its script writes each render into fresh iframes and keeps their scroll)
//! ```
//!
//! A render that fails keeps the last good email on the page and shows the
//! error with file, line and the lines around it; the next good save clears it.

pub mod open;
pub mod render;
mod server;
mod watcher;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::error::{Error, Result};
use render::{ErrorInfo, Outcome, Rendered};

/// The preview page, served at `/`.
pub const PAGE_HTML: &str = include_str!("page.html");

/// What `serve` serves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The issue file (already resolved from a number if need be).
    pub issue: PathBuf,
    /// The configuration file; re-read on every render.
    pub config: PathBuf,
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
}

/// The state of the preview after a render; the page gets it as JSON.
#[derive(Debug)]
pub struct Snapshot {
    /// Counts renders, starting at 1.
    pub version: u64,
    /// The last good render (kept while the files are broken).
    pub good: Option<Arc<Rendered>>,
    /// The render `good` came from.
    pub good_version: u64,
    /// Why the latest render failed, if it did.
    pub error: Option<ErrorInfo>,
    /// How long the latest render took, in milliseconds.
    pub render_ms: f64,
    /// The files whose change caused this render (empty for the first).
    pub changed: Vec<PathBuf>,
    /// The snapshot as the JSON the page reads, serialised once per render.
    pub json: Arc<String>,
}

impl Snapshot {
    fn next(prev: Option<&Snapshot>, outcome: Outcome, changed: Vec<PathBuf>) -> Snapshot {
        let version = prev.map_or(1, |p| p.version + 1);
        let (good, good_version, error) = match outcome.result {
            Ok(r) => (Some(Arc::new(r)), version, None),
            Err(e) => (
                prev.and_then(|p| p.good.clone()),
                prev.map_or(0, |p| p.good_version),
                Some(e),
            ),
        };
        let render_ms = outcome.took.as_secs_f64() * 1000.0;
        let json = json!({
            "server": instance_id(),
            "version": version,
            "ok": error.is_none(),
            "render_ms": (render_ms * 10.0).round() / 10.0,
            "changed": changed,
            "error": error,
            "good_version": good_version,
            "email": good.as_deref(),
        })
        .to_string();
        Snapshot {
            version,
            good,
            good_version,
            error,
            render_ms,
            changed,
            json: Arc::new(json),
        }
    }
}

/// Identifies this server process, so a page that outlives a restart
/// (whose versions start again at 1) knows to take the new state.
fn instance_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}-{nanos}", std::process::id())
    })
}

/// Renders the issue, binds `opts.addr`, calls `ready` with the real address
/// (port 0 becomes the port the OS picked), then serves and watches until
/// `shutdown` completes.
pub async fn serve<F, S>(opts: Options, ready: F, shutdown: S) -> Result<()>
where
    F: FnOnce(SocketAddr),
    S: Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind(opts.addr)
        .await
        .map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
                "; another program uses that port: pass --port N, or --port 0 for any free one"
            } else {
                ""
            };
            Error::Usage(format!("cannot listen on {}: {e}{hint}", opts.addr))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Usage(format!("cannot read the listening address: {e}")))?;

    let first = {
        let (config, issue) = (opts.config.clone(), opts.issue.clone());
        tokio::task::spawn_blocking(move || render::render(&config, &issue))
            .await
            .map_err(|e| Error::Usage(format!("the first render crashed: {e}")))?
    };
    let inputs = first.inputs.clone();
    let snapshot = Snapshot::next(None, first, Vec::new());
    log_render(&snapshot);
    let (tx, rx) = watch::channel(Arc::new(snapshot));
    let (stop_tx, stop_rx) = watch::channel(false);

    let watcher = watcher::Watcher::start(
        opts.config.clone(),
        opts.issue.clone(),
        inputs,
        tx,
        Duration::from_millis(watcher::DEBOUNCE_MS),
    )?;
    let app = server::router(rx, stop_rx.clone());
    ready(addr);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await;
    watcher.stop();
    result.map_err(|e| Error::Usage(format!("the server stopped: {e}")))
}

/// One line on stderr per render, so the terminal shows what happened too.
fn log_render(s: &Snapshot) {
    let now = chrono::Local::now().format("%H:%M:%S");
    let why = if s.changed.is_empty() {
        "first render".to_string()
    } else {
        let names: Vec<String> = s
            .changed
            .iter()
            .map(|p| {
                p.file_name()
                    .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
            })
            .collect();
        format!("{} changed", names.join(", "))
    };
    match &s.error {
        None => eprintln!(
            "[{now}] {why}: rendered in {:.0} ms (v{})",
            s.render_ms, s.version
        ),
        Some(e) => eprintln!(
            "[{now}] {why}: error (v{}): {}; the page keeps the last good render",
            s.version, e.display
        ),
    }
}
