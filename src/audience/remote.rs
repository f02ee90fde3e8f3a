//! The remote layout: `listen` on a server, `send` on a laptop. Before every
//! run `send` calls [`pull`], which fetches the server's events since the
//! last pull (`GET {remote_url}/api/events?since=ID`, bearer token from the
//! environment) into the local store. It fails closed: any trouble is an
//! error, and the caller refuses to send unless told to go on knowingly.

use std::time::Duration;

use serde::Deserialize;

use super::address::AddressKey;
use super::store::{Event, EventKind, Source, Store};
use crate::config::Config;
use crate::error::{Error, Result};

/// How long one request of a pull may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What a pull brought in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pulled {
    /// Events added to the local store.
    pub events: usize,
    /// The remote's last event id now recorded locally.
    pub last_id: i64,
}

#[derive(Deserialize)]
struct Page {
    events: Vec<RemoteEvent>,
    last_id: i64,
    more: bool,
}

#[derive(Deserialize)]
struct RemoteEvent {
    address: String,
    kind: String,
    source: String,
    at_ms: i64,
    detail: String,
}

/// Pulls the events of the `listen` at `[audience] remote_url` into `store`.
/// `Ok(None)` when no remote is configured. Plain http is refused except to
/// a loopback address (tests, an SSH tunnel).
pub async fn pull(config: &Config, store: &Store) -> Result<Option<Pulled>> {
    let Some(base) = config.audience.remote_url.as_deref() else {
        return Ok(None);
    };
    let base = base.trim_end_matches('/');
    let var = &config.audience.remote_token_env;
    let fail = |why: String| {
        Error::Usage(format!(
            "cannot pull unsubscribes from `audience.remote_url` {base}: {why}; \
             nothing was sent (fix it, or run `send --skip-remote` if you \
             know the remote has nothing new)"
        ))
    };
    let token = std::env::var(var).map_err(|_| {
        fail(format!(
            "${var} is not set; export the bearer token that the server's `listen` has in ${var}"
        ))
    })?;
    let url = url::Url::parse(base).map_err(|e| fail(format!("not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(fail(
            "plain http is only allowed to a loopback address; use https://".into(),
        ));
    }
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| fail(format!("cannot start the HTTP client ({e})")))?;
    let mut pulled = Pulled {
        events: 0,
        last_id: store.remote_cursor(base)?,
    };
    loop {
        let since = pulled.last_id;
        let answer = client
            .get(format!("{base}/api/events?since={since}"))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| fail(format!("the request failed ({e})")))?;
        let status = answer.status();
        if !status.is_success() {
            let hint = match status.as_u16() {
                401 => "the token was refused: use the same value on both machines",
                404 => "the export is off there: set the token variable for `listen` too",
                _ => "see the server's log",
            };
            return Err(fail(format!("the server answered {status} ({hint})")));
        }
        let body = answer
            .bytes()
            .await
            .map_err(|e| fail(format!("the answer was cut ({e})")))?;
        let page: Page = serde_json::from_slice(&body)
            .map_err(|e| fail(format!("the answer is not an events page ({e})")))?;
        let events = page
            .events
            .into_iter()
            .map(|e| to_event(e).map_err(&fail))
            .collect::<Result<Vec<_>>>()?;
        if page.last_id < since {
            return Err(fail(format!(
                "the server went back from event {since} to {}: its store was replaced; \
                 reset with `sqlite3 STORE \"DELETE FROM remote_cursor\"` to pull it all again",
                page.last_id
            )));
        }
        store.record_pulled(base, page.last_id, &events)?;
        pulled.events += events.len();
        pulled.last_id = page.last_id;
        if !page.more {
            return Ok(Some(pulled));
        }
    }
}

/// [`pull`] for synchronous callers (`send` before its runtime starts).
/// Must not be called from inside an async runtime.
pub fn pull_blocking(config: &Config, store: &Store) -> Result<Option<Pulled>> {
    if config.audience.remote_url.is_none() {
        return Ok(None);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime for the pull: {e}")))?
        .block_on(pull(config, store))
}

fn to_event(e: RemoteEvent) -> std::result::Result<Event, String> {
    let address = AddressKey::parse(&e.address)
        .map_err(|_| "the server sent an address that does not parse".to_string())?;
    let kind = EventKind::parse(&e.kind)
        .ok_or_else(|| format!("the server sent an unknown event kind `{}`", e.kind))?;
    Ok(Event {
        address,
        kind,
        source: Source::Remote,
        at_ms: e.at_ms,
        detail: format!("{} (remote): {}", e.source, e.detail),
    })
}
