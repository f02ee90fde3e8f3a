//! The relay webhooks of `listen`: bounces and complaints posted by Amazon
//! SES (through SNS), Postmark and Mailgun.
//!
//! ```text
//!  POST body ──▶ authenticated? ──▶ Payload::Report ──▶ policy::decide ──▶ Store::record_report
//!  (≤ 1 MiB)     (SNS signature,     (per-recipient       (the same Roster   (key `ses:<MessageId>`,
//!                 basic auth, HMAC)   Failure, Severity)   and Policy as      `postmark:<ID>`,
//!                                                          `bounces`)         `mailgun:<id>`: never twice)
//! ```
//!
//! - Each route exists only when its `[webhooks.*]` table is present;
//!   otherwise it is the same 404 as any unknown path.
//! - A post that does not authenticate is refused (401/403) before its
//!   payload is read as a report; nothing is recorded.
//! - The answer is 2xx only once the result is durable (the store work
//!   runs on a blocking thread); 503 when the store fails, so the relay
//!   retries; the retry is not counted twice (the report key).
//! - Deliveries, opens and other event types: 200, ignored, not recorded.
//! - Attribution needs the subscriber file (an address not on the list is
//!   never suppressed): `listen` refuses to start a webhook without it,
//!   and re-reads it when it changes.

pub mod mailgun;
pub mod postmark;
pub mod ses;
pub mod sns;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::routes::Outcome;
use super::App;
use crate::audience::store::{now_ms, Source, Store};
use crate::bounces::classify::Report;
use crate::bounces::policy::{Policy, Roster};
use crate::bounces::Processed;
use crate::config::Config;
use crate::error::{Error, Result};
pub use sns::SnsTrust;

/// The largest webhook body read: an SNS message is at most 256 KiB, and
/// JSON escaping inside the envelope can nearly double it.
pub const MAX_BODY: usize = 1024 * 1024;
/// The shortest Postmark password or Mailgun signing key accepted, in bytes.
pub const MIN_SECRET: usize = 16;
/// Bodies read at once before their post can be authenticated (SES's
/// and Mailgun's: the signature is inside): up to [`MAX_BODY`] each, so
/// at most 32 MiB of memory for anyone on the internet, instead of
/// `max_connections` MiB. A post past them waits at most the body
/// timeout for its turn, then gets 503 (the relays retry).
pub const ANONYMOUS_BODIES: usize = 32;

/// What a relay's payload is, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A bounce or complaint, for the policy.
    Report(Report),
    /// A delivery, open, click or other event: answered, not recorded.
    Ignored,
}

/// The configured relays.
pub(super) struct Webhooks {
    ses: Option<sns::Sns>,
    /// SHA-256 of `user:password`.
    postmark: Option<[u8; 32]>,
    mailgun: Option<(Vec<u8>, mailgun::Tokens)>,
    sink: Arc<Sink>,
    /// [`ANONYMOUS_BODIES`] permits.
    anonymous: tokio::sync::Semaphore,
}

impl Webhooks {
    /// The relays whose routes are on, for the start-up line.
    pub(super) fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.ses.is_some() {
            v.push("ses");
        }
        if self.postmark.is_some() {
            v.push("postmark");
        }
        if self.mailgun.is_some() {
            v.push("mailgun");
        }
        v
    }

    pub(super) fn has_ses(&self) -> bool {
        self.ses.is_some()
    }
    pub(super) fn has_postmark(&self) -> bool {
        self.postmark.is_some()
    }
    pub(super) fn has_mailgun(&self) -> bool {
        self.mailgun.is_some()
    }
}

/// The webhooks `[webhooks]` configures, or `None` when it names none.
/// Refuses (naming the variable or file and the fix) when a secret is
/// missing or short, or the subscriber file cannot be read.
pub(super) fn setup(config: &Config, secret: &[u8], trust: &SnsTrust) -> Result<Option<Webhooks>> {
    let w = &config.webhooks;
    if w.ses.is_none() && w.postmark.is_none() && w.mailgun.is_none() {
        return Ok(None);
    }
    let postmark = match &w.postmark {
        Some(p) => Some(postmark::credentials_digest(
            &p.username,
            &env_secret(
                &p.password_env,
                "webhooks.postmark",
                "password_env",
                "the Postmark password",
                "make one with `openssl rand -base64 24` and give Postmark the same",
            )?,
        )),
        None => None,
    };
    let mailgun = match &w.mailgun {
        Some(m) => Some((
            env_secret(
                &m.signing_key_env,
                "webhooks.mailgun",
                "signing_key_env",
                "Mailgun's HTTP webhook signing key",
                "copy the whole key from Mailgun's Sending → Webhooks page",
            )?,
            mailgun::Tokens::default(),
        )),
        None => None,
    };
    let ses = match &w.ses {
        Some(s) => Some(sns::Sns::new(s.topic_arns.clone(), trust)?),
        None => None,
    };
    let sink = Sink::open(config, secret)?;
    Ok(Some(Webhooks {
        ses,
        postmark,
        mailgun,
        sink: Arc::new(sink),
        anonymous: tokio::sync::Semaphore::new(ANONYMOUS_BODIES),
    }))
}

/// The secret in `$var` (named by `[table] key`), refused when unset or
/// shorter than [`MIN_SECRET`]; `hint` says where a good one comes from.
fn env_secret(var: &str, table: &str, key: &str, what: &str, hint: &str) -> Result<Vec<u8>> {
    match std::env::var_os(var).map(super::os_bytes) {
        None => Err(Error::Usage(format!(
            "${var} is not set: [{table}] needs {what} in it ({table}.{key}); export it \
             (e.g. from /etc/letterpress/listen.env), or remove [{table}] to turn that webhook off"
        ))),
        Some(s) if s.len() < MIN_SECRET => Err(Error::Usage(format!(
            "${var} is {} bytes: [{table}] needs {what} of at least {MIN_SECRET} bytes; {hint}",
            s.len()
        ))),
        Some(s) => Ok(s),
    }
}

/// Where webhook results are committed: the list (re-read when the file
/// changes), the policy and a store connection of its own, behind one
/// lock so that reading the soft-bounce history and recording stay one step.
struct Sink {
    inner: Mutex<SinkInner>,
}

struct SinkInner {
    config: Config,
    secret: Vec<u8>,
    list: PathBuf,
    stamp: Option<(SystemTime, u64)>,
    roster: Roster,
    policy: Policy,
    store: Store,
}

fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl Sink {
    fn open(config: &Config, secret: &[u8]) -> Result<Sink> {
        let list = config.resolve(&config.paths.subscribers);
        let roster = Roster::from_config(config, Some(secret)).map_err(|e| {
            Error::Usage(format!(
                "[webhooks]: a bounce suppresses only an address on the list, so `listen` needs \
                 the subscriber file ({}, [paths] subscribers) where it runs: {e}; copy the list \
                 there (mode 0600) with each change, or remove [webhooks] and run \
                 `letterpress bounces` where the list is",
                list.display()
            ))
        })?;
        let store = Store::open(&config.resolve(&config.audience.store))?;
        Ok(Sink {
            inner: Mutex::new(SinkInner {
                config: config.clone(),
                secret: secret.to_vec(),
                stamp: stamp(&list),
                list,
                roster,
                policy: Policy::from_config(config),
                store,
            }),
        })
    }

    /// Decides `report` and commits it under `key` (blocking).
    fn record(&self, key: &str, report: Report) -> Result<Recorded> {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = stamp(&s.list);
        if now != s.stamp {
            match Roster::from_config(&s.config, Some(&s.secret)) {
                Ok(r) => {
                    s.roster = r;
                    s.stamp = now;
                }
                Err(e) => super::log_line!(
                    "{}",
                    serde_json::json!({"level": "error", "msg": "subscriber file unreadable; keeping the list read before", "error": e.to_string()})
                ),
            }
        }
        let decision = match crate::bounces::record(
            report,
            key,
            &s.roster,
            &s.policy,
            &s.store,
            Source::Webhook,
        )? {
            Processed::Counted(_, decision) => decision,
            _ => return Ok(Recorded::AlreadyCounted),
        };
        Ok(if !decision.events.is_empty() {
            Recorded::Events
        } else if !decision.sender_problems.is_empty() {
            // The author must hear of it (reputation, DKIM/SPF, content);
            // the status code only: the diagnostic may name the reader.
            let statuses: Vec<String> = decision
                .sender_problems
                .iter()
                .map(|f| f.status.map_or_else(|| "-".to_string(), |s| s.to_string()))
                .collect();
            super::log_line!(
                "{}",
                serde_json::json!({"level": "warn", "msg": "the relay reports a rejection of the sender itself (check reputation, DKIM/SPF and content); nobody suppressed", "status": statuses})
            );
            Recorded::SenderProblem
        } else {
            Recorded::NotOnList
        })
    }
}

/// What committing one report did (the access log's outcome).
enum Recorded {
    /// Events written (a bounce, a complaint, a soft bounce).
    Events,
    /// A rejection of the sender itself: nobody suppressed.
    SenderProblem,
    /// The addresses named are not on the list: nobody suppressed.
    NotOnList,
    /// An earlier post of the same report was counted: nothing written.
    AlreadyCounted,
}

/// A short plain-text answer carrying its outcome for the access log.
fn answer(status: StatusCode, outcome: &'static str, text: &'static str) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response();
    r.extensions_mut().insert(Outcome(outcome));
    r
}

fn forbidden(outcome: &'static str) -> Response {
    answer(StatusCode::FORBIDDEN, outcome, "forbidden\n")
}

/// Commits `report` under `key` on a blocking thread; 200 once durable,
/// 503 when the store fails (the relay retries).
async fn commit(app: &App, key: String, report: Report) -> Response {
    let Some(w) = &app.webhooks else {
        return answer(StatusCode::NOT_FOUND, "not-found", "not found\n");
    };
    let sink = w.sink.clone();
    match tokio::task::spawn_blocking(move || sink.record(&key, report)).await {
        Ok(Ok(Recorded::Events)) => answer(StatusCode::OK, "recorded", "ok\n"),
        Ok(Ok(Recorded::SenderProblem)) => answer(StatusCode::OK, "sender-problem", "ok\n"),
        Ok(Ok(Recorded::NotOnList)) => answer(StatusCode::OK, "not-on-list", "ok\n"),
        Ok(Ok(Recorded::AlreadyCounted)) => answer(StatusCode::OK, "already-counted", "ok\n"),
        Ok(Err(e)) => {
            super::log_line!(
                "{}",
                serde_json::json!({"level": "error", "msg": "store write failed", "error": e.to_string()})
            );
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "store-error",
                "try again\n",
            )
        }
        Err(_) => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "store-error",
            "try again\n",
        ),
    }
}

async fn read(
    app: &App,
    headers: &HeaderMap,
    body: Body,
) -> std::result::Result<axum::body::Bytes, Response> {
    super::routes::read_body_max(app, headers, body, MAX_BODY).await
}

/// [`read`] for a post not yet authenticated, holding one of the
/// [`ANONYMOUS_BODIES`] permits (keep it while the body is in use).
async fn read_anonymous<'a>(
    app: &App,
    w: &'a Webhooks,
    headers: &HeaderMap,
    body: Body,
) -> std::result::Result<(axum::body::Bytes, tokio::sync::SemaphorePermit<'a>), Response> {
    let permit = match tokio::time::timeout(app.limits.body_timeout, w.anonymous.acquire()).await {
        Ok(Ok(p)) => p,
        _ => {
            return Err(answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "try again\n",
            ))
        }
    };
    Ok((read(app, headers, body).await?, permit))
}

/// `POST /webhooks/ses`: an SNS message.
pub(super) async fn ses(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let Some((w, sns)) = app
        .webhooks
        .as_ref()
        .and_then(|w| Some((w, w.ses.as_ref()?)))
    else {
        return answer(StatusCode::NOT_FOUND, "not-found", "not found\n");
    };
    let (body, _permit) = match read_anonymous(&app, w, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if headers
        .get("x-amz-sns-rawdelivery")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
    {
        // Unsigned: turn raw message delivery off on the subscription.
        return forbidden("raw-delivery");
    }
    let e = match sns.verify(&body, now_ms()).await {
        Ok(e) => e,
        Err(sns::Refusal::NoCertificate) => {
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "no-certificate",
                "try again\n",
            )
        }
        Err(sns::Refusal::Malformed) => return forbidden("unsigned"),
        Err(r) => return forbidden(r.outcome()),
    };
    match e.kind.as_str() {
        "Notification" => match ses::parse(&e.message) {
            Ok(Payload::Report(report)) => {
                commit(&app, format!("ses:{}", clean(&e.message_id)), report).await
            }
            Ok(Payload::Ignored) => answer(StatusCode::OK, "ignored", "ok\n"),
            Err(_) => answer(
                StatusCode::BAD_REQUEST,
                "unrecognised",
                "not an SES notification\n",
            ),
        },
        "SubscriptionConfirmation" => match sns.confirm(&e).await {
            Ok(true) => {
                super::log_line!(
                    "{}",
                    serde_json::json!({"level": "info", "msg": "SNS subscription confirmed", "topic": e.topic_arn})
                );
                answer(StatusCode::OK, "subscription-confirmed", "ok\n")
            }
            Ok(false) => answer(StatusCode::BAD_GATEWAY, "confirm-failed", "try again\n"),
            Err(r) => forbidden(r.outcome()),
        },
        _ => {
            super::log_line!(
                "{}",
                serde_json::json!({"level": "info", "msg": "SNS subscription ended (UnsubscribeConfirmation); re-subscribe the endpoint to receive SES feedback", "topic": e.topic_arn})
            );
            answer(StatusCode::OK, "unsubscribe-confirmation", "ok\n")
        }
    }
}

/// `POST /webhooks/postmark`: basic auth, then a bounce or spam complaint.
pub(super) async fn postmark(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(expected) = app.webhooks.as_ref().and_then(|w| w.postmark.as_ref()) else {
        return answer(StatusCode::NOT_FOUND, "not-found", "not found\n");
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    if !postmark::authorized(given, expected) {
        let mut r = answer(
            StatusCode::UNAUTHORIZED,
            "bad-credentials",
            "unauthorized\n",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"letterpress webhooks\", charset=\"UTF-8\""),
        );
        return r;
    }
    let body = match read(&app, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return answer(StatusCode::BAD_REQUEST, "malformed", "not JSON\n");
    };
    match postmark::parse(&v) {
        Ok(Payload::Report(report)) => match postmark::key(&v) {
            Some(key) => commit(&app, key, report).await,
            None => answer(StatusCode::BAD_REQUEST, "malformed", "no ID\n"),
        },
        Ok(Payload::Ignored) => answer(StatusCode::OK, "ignored", "ok\n"),
        Err(_) => answer(
            StatusCode::BAD_REQUEST,
            "malformed",
            "not a Postmark webhook\n",
        ),
    }
}

/// `POST /webhooks/mailgun`: the HMAC signature, then a failure or complaint.
pub(super) async fn mailgun(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some((w, (key, tokens))) = app
        .webhooks
        .as_ref()
        .and_then(|w| Some((w, w.mailgun.as_ref()?)))
    else {
        return answer(StatusCode::NOT_FOUND, "not-found", "not found\n");
    };
    let (body, _permit) = match read_anonymous(&app, w, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return forbidden("unsigned");
    };
    let now = now_ms() / 1000;
    let signed = match mailgun::verify(&v, key, now, tokens) {
        Ok(s) => s,
        Err(r) => return forbidden(r.outcome()),
    };
    let r = match mailgun::parse(&v) {
        Ok(Payload::Report(report)) => match mailgun::key(&v) {
            Some(k) => commit(&app, k, report).await,
            None => return answer(StatusCode::BAD_REQUEST, "malformed", "no event id\n"),
        },
        Ok(Payload::Ignored) => answer(StatusCode::OK, "ignored", "ok\n"),
        Err(_) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "malformed",
                "not a Mailgun event\n",
            )
        }
    };
    if r.status().is_success() {
        tokens.remember(signed, now);
    }
    r
}

/// One line of at most 300 characters, control characters as spaces:
/// what a relay wrote, made safe to store and show.
pub(crate) fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.trim_start().to_string()
}

/// `id` without surrounding whitespace and angle brackets.
pub(crate) fn strip_angles(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// A payload of `tests/fixtures/webhooks/`, parsed, for the relays' unit tests.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/tests/fixtures/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_makes_one_short_line() {
        assert_eq!(
            clean("  550 5.1.1\r\nno such user \u{1b}[31m "),
            "550 5.1.1  no such user  [31m"
        );
        assert_eq!(clean(&"x".repeat(400)).len(), 300);
        assert_eq!(strip_angles(" <a.b@c> "), "a.b@c");
    }
}
