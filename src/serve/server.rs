//! The HTTP side: the page, the state as JSON, the rendered files, and a
//! server-sent event stream that pushes each new state to every open page.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream};
use tokio::sync::watch;

use super::render::Rendered;
use super::{Snapshot, PAGE_HTML};

#[derive(Clone)]
struct AppState {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    stop: watch::Receiver<bool>,
}

/// The routes of the preview server.
pub fn router(snapshots: watch::Receiver<Arc<Snapshot>>, stop: watch::Receiver<bool>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/state", get(state))
        .route("/events", get(events))
        .route(
            "/email.html",
            get(|s: State<AppState>| file(s, Part::EmailHtml)),
        )
        .route(
            "/email.txt",
            get(|s: State<AppState>| file(s, Part::EmailText)),
        )
        .route("/email.mjml", get(|s: State<AppState>| file(s, Part::Mjml)))
        .route(
            "/sample.html",
            get(|s: State<AppState>| file(s, Part::SampleHtml)),
        )
        .route(
            "/sample.txt",
            get(|s: State<AppState>| file(s, Part::SampleText)),
        )
        .route("/sample.eml", get(|s: State<AppState>| file(s, Part::Eml)))
        .route(
            "/archive/issue/",
            get(|s: State<AppState>| file(s, Part::ArchivePage)),
        )
        .route("/archive/{name}", get(archive_file))
        .with_state(AppState { snapshots, stop })
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn page() -> Response {
    no_store(
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            PAGE_HTML,
        )
            .into_response(),
    )
}

async fn state(State(s): State<AppState>) -> Response {
    let json = s.snapshots.borrow().json.clone();
    no_store(
        (
            [(header::CONTENT_TYPE, "application/json")],
            json.as_str().to_owned(),
        )
            .into_response(),
    )
}

/// The files of a render that can be fetched.
#[derive(Clone, Copy)]
enum Part {
    /// `email.html`: what `preview` writes to `<stem>.html`.
    EmailHtml,
    /// `email.text`: what `preview` writes to `<stem>.txt`.
    EmailText,
    /// What `preview` writes to `<stem>.mjml`.
    Mjml,
    /// The sample message's HTML part, decoded: what the iframes show.
    SampleHtml,
    /// The sample message's text part, decoded: what the text pane shows.
    SampleText,
    /// The sample message (`<stem>.eml`).
    Eml,
    /// The page in the web archive.
    ArchivePage,
}

impl Part {
    fn pick(self, r: &Rendered) -> (&'static str, &[u8]) {
        match self {
            Part::EmailHtml => ("text/html; charset=utf-8", r.email_html.as_bytes()),
            Part::EmailText => ("text/plain; charset=utf-8", r.email_text.as_bytes()),
            Part::Mjml => ("text/plain; charset=utf-8", r.mjml.as_bytes()),
            Part::SampleHtml => ("text/html; charset=utf-8", r.sample_html.as_bytes()),
            Part::SampleText => ("text/plain; charset=utf-8", r.sample_text.as_bytes()),
            Part::Eml => ("message/rfc822", &r.eml),
            Part::ArchivePage => ("text/html; charset=utf-8", r.archive_html.as_bytes()),
        }
    }
}

/// One of the last good render's files, byte for byte.
async fn file(State(s): State<AppState>, part: Part) -> Response {
    let snapshot = s.snapshots.borrow().clone();
    let Some(good) = snapshot.good.as_deref() else {
        let why = snapshot
            .error
            .as_ref()
            .map_or_else(|| "nothing rendered yet".to_string(), |e| e.display.clone());
        return no_store((StatusCode::SERVICE_UNAVAILABLE, why).into_response());
    };
    let (ctype, bytes) = part.pick(good);
    no_store(([(header::CONTENT_TYPE, ctype)], bytes.to_vec()).into_response())
}

/// One of the archive's static files (`/archive/style.css`), by exact name:
/// only names `templates/archive/static/` holds are served.
async fn archive_file(
    State(s): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    let snapshot = s.snapshots.borrow().clone();
    let found = snapshot
        .good
        .as_deref()
        .and_then(|g| g.archive_files.get(&name).cloned());
    match found {
        Some(bytes) => {
            let ctype = if name.ends_with(".css") {
                "text/css; charset=utf-8"
            } else {
                "application/octet-stream"
            };
            no_store(([(header::CONTENT_TYPE, ctype)], bytes).into_response())
        }
        None => no_store((StatusCode::NOT_FOUND, "no such archive file").into_response()),
    }
}

/// `event: state` with the snapshot's JSON, now and after every render,
/// until the server shuts down.
async fn events(State(s): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = stream::unfold((s, true), |(mut s, first)| async move {
        if !first {
            tokio::select! {
                changed = s.snapshots.changed() => changed.ok()?,
                _ = s.stop.wait_for(|stop| *stop) => return None,
            }
        }
        let json = s.snapshots.borrow_and_update().json.clone();
        let event = Event::default().event("state").data(json.as_str());
        Some((Ok(event), (s, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
