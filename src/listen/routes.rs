//! The routes of `listen`, the security headers every response carries, and
//! the access log.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{page, App};
use crate::audience::store::{Event, EventKind, Source};

/// What a request came to, for the access log (a response extension).
#[derive(Clone, Copy)]
pub(super) struct Outcome(pub(super) &'static str);

/// The most events one `/api/events` answer carries.
const EVENTS_PAGE: usize = 5000;

/// The routes, with the security headers and the access log around them.
pub(super) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/unsubscribe/{token}",
            get(show_unsubscribe).post(unsubscribe),
        )
        .route(
            "/resubscribe/{token}",
            get(show_resubscribe).post(resubscribe),
        )
        .route("/subscribe", axum::routing::post(super::signup::subscribe))
        .route(
            "/confirm/{token}",
            get(super::signup::show_confirm).post(super::signup::confirm),
        )
        .route("/healthz", get(healthz))
        .route("/api/events", get(events))
        .merge(webhook_routes(&app))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), harden_and_log))
        .with_state(app)
}

/// The relay webhooks that are configured (the others stay 404).
fn webhook_routes(app: &App) -> Router<Arc<App>> {
    use super::webhooks;
    let mut r = Router::new();
    if let Some(w) = &app.webhooks {
        if w.has_ses() {
            r = r.route("/webhooks/ses", axum::routing::post(webhooks::ses));
        }
        if w.has_postmark() {
            r = r.route(
                "/webhooks/postmark",
                axum::routing::post(webhooks::postmark),
            );
        }
        if w.has_mailgun() {
            r = r.route("/webhooks/mailgun", axum::routing::post(webhooks::mailgun));
        }
    }
    r
}

pub(super) fn html(status: StatusCode, outcome: &'static str, body: String) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    r.extensions_mut().insert(Outcome(outcome));
    r
}

pub(super) fn invalid() -> Response {
    html(StatusCode::NOT_FOUND, "invalid-token", page::invalid_link())
}

async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "not-found",
        page::plain_error("Not found"),
    )
}

async fn healthz() -> Response {
    let mut r = (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
        .into_response();
    r.extensions_mut().insert(Outcome("ok"));
    r
}

async fn show_unsubscribe(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    match app.tokens.open_unsubscribe(&app.list_id, &token) {
        Some(key) => html(
            StatusCode::OK,
            "shown",
            page::confirm_unsubscribe(&app.newsletter, &key.masked(), &token),
        ),
        None => invalid(),
    }
}

async fn show_resubscribe(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    match app.tokens.open_resubscribe(&app.list_id, &token) {
        Some(key) => html(
            StatusCode::OK,
            "shown",
            page::confirm_resubscribe(&app.newsletter, &key.masked(), &token),
        ),
        None => invalid(),
    }
}

/// Reads a small request body within the size and time limits.
pub(super) async fn read_body(
    app: &App,
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, Response> {
    read_body_max(app, headers, body, app.limits.max_body).await
}

/// Reads a request body of at most `max` bytes within the time limit.
pub(super) async fn read_body_max(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    max: usize,
) -> Result<axum::body::Bytes, Response> {
    let too_large = || {
        html(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            page::plain_error("Request too large"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(app.limits.body_timeout, axum::body::to_bytes(body, max)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(too_large()),
        Err(_) => Err(html(
            StatusCode::REQUEST_TIMEOUT,
            "body-timeout",
            page::plain_error("Request timed out"),
        )),
    }
}

/// True when the body is RFC 8058's `List-Unsubscribe=One-Click` (as a form
/// field, urlencoded or multipart).
fn is_one_click(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"List-Unsubscribe=One-Click").is_some()
        || (memchr::memmem::find(body, b"name=\"List-Unsubscribe\"").is_some()
            && memchr::memmem::find(body, b"One-Click").is_some())
}

pub(super) async fn commit(app: &App, event: Event) -> Result<(), Response> {
    app.writer.submit(event).await.map_err(|e| {
        super::log_line!(
            "{}",
            serde_json::json!({"level": "error", "msg": "store write failed", "error": e.to_string()})
        );
        html(
            StatusCode::SERVICE_UNAVAILABLE,
            "store-error",
            page::try_again(),
        )
    })
}

async fn unsubscribe(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match read_body(&app, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(key) = app.tokens.open_unsubscribe(&app.list_id, &token) else {
        return invalid();
    };
    let (source, detail) = if is_one_click(&body) {
        (Source::OneClick, "RFC 8058 one-click POST")
    } else {
        (Source::Page, "unsubscribe page button")
    };
    let masked = key.masked();
    let undo = app.tokens.resubscribe(&app.list_id, &key);
    if let Err(r) = commit(
        &app,
        Event::now(key, EventKind::Unsubscribe, source, detail),
    )
    .await
    {
        return r;
    }
    html(
        StatusCode::OK,
        "unsubscribed",
        page::unsubscribed(&app.newsletter, &masked, &undo),
    )
}

async fn resubscribe(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = read_body(&app, &headers, body).await {
        return r;
    }
    let Some(key) = app.tokens.open_resubscribe(&app.list_id, &token) else {
        return invalid();
    };
    let masked = key.masked();
    let again = app.tokens.unsubscribe(&app.list_id, &key);
    if let Err(r) = commit(
        &app,
        Event::now(
            key,
            EventKind::Resubscribe,
            Source::Page,
            "undo on the unsubscribe page",
        ),
    )
    .await
    {
        return r;
    }
    html(
        StatusCode::OK,
        "resubscribed",
        page::resubscribed(&app.newsletter, &masked, &again),
    )
}

/// `?since=ID`: events after that id.
#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: i64,
}

/// The events export for a `send` on another machine: bearer token
/// compared in constant time (as SHA-256 digests, so the length leaks
/// nothing either); absent unless the token variable was set.
async fn events(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    query: Result<Query<Since>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(expected) = app.api_token else {
        return html(
            StatusCode::NOT_FOUND,
            "export-off",
            page::plain_error("Not found"),
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let digest: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    if !bool::from(digest.ct_eq(&expected)) || given.is_empty() {
        let mut r = html(
            StatusCode::UNAUTHORIZED,
            "bad-bearer",
            page::plain_error("Unauthorized"),
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    let Ok(Query(Since { since })) = query else {
        return html(
            StatusCode::BAD_REQUEST,
            "bad-query",
            page::plain_error("Bad request: since must be an event id"),
        );
    };
    let reader = app.reader.clone();
    let read =
        tokio::task::spawn_blocking(move || reader.events_after(since, EVENTS_PAGE + 1)).await;
    let mut rows = match read {
        Ok(Ok(rows)) => rows,
        _ => {
            return html(
                StatusCode::SERVICE_UNAVAILABLE,
                "store-error",
                page::try_again(),
            )
        }
    };
    let more = rows.len() > EVENTS_PAGE;
    rows.truncate(EVENTS_PAGE);
    let last_id = rows.last().map_or(since, |(id, _)| *id);
    let events: Vec<_> = rows
        .iter()
        .map(|(id, e)| {
            serde_json::json!({
                "id": id,
                "address": e.address.as_str(),
                "kind": e.kind.as_str(),
                "source": e.source.as_str(),
                "at_ms": e.at_ms,
                "detail": e.detail,
            })
        })
        .collect();
    let body = serde_json::json!({"events": events, "last_id": last_id, "more": more});
    let mut r = (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    r.extensions_mut().insert(Outcome("exported"));
    r
}

/// The route a path belongs to, for the log: never the path itself, which
/// carries a token.
fn route_of(path: &str) -> &'static str {
    if path.starts_with("/unsubscribe/") {
        "/unsubscribe/{token}"
    } else if path.starts_with("/resubscribe/") {
        "/resubscribe/{token}"
    } else if path.starts_with("/confirm/") {
        "/confirm/{token}"
    } else if path == "/subscribe" {
        "/subscribe"
    } else if path == "/healthz" {
        "/healthz"
    } else if path == "/api/events" {
        "/api/events"
    } else if path == "/webhooks/ses" {
        "/webhooks/ses"
    } else if path == "/webhooks/postmark" {
        "/webhooks/postmark"
    } else if path == "/webhooks/mailgun" {
        "/webhooks/mailgun"
    } else {
        "other"
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Adds the security headers to every response and writes one access-log
/// line (JSON) per request: time, method, route, status, outcome, duration.
async fn harden_and_log(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_name(req.method());
    let route = route_of(req.uri().path());
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&app.csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let outcome = r.extensions().get::<Outcome>().map_or("-", |o| o.0);
    super::log_line!(
        "{{\"ts_ms\":{},\"method\":\"{method}\",\"route\":\"{route}\",\"status\":{},\"outcome\":\"{outcome}\",\"ms\":{:.3}}}",
        crate::audience::store::now_ms(),
        r.status().as_u16(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_click_bodies_are_recognised() {
        assert!(is_one_click(b"List-Unsubscribe=One-Click"));
        assert!(is_one_click(
            b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--"
        ));
        assert!(!is_one_click(b"confirm=yes"));
    }

    #[test]
    fn the_log_names_routes_not_paths() {
        assert_eq!(route_of("/unsubscribe/SECRETTOKEN"), "/unsubscribe/{token}");
        assert_eq!(route_of("/a@b.example"), "other");
    }
}
