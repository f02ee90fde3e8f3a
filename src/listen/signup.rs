//! The double opt-in sign-up: `POST /subscribe` from a plain HTML form on the
//! author's site, a confirmation mail with a sealed, expiring link, and
//! `GET`/`POST /confirm/{token}` (the GET only shows a button, for link
//! scanners; the POST records the confirmation, after which `send` mails
//! the reader: [`crate::audience::mailable`]).
//!
//! Abuse, from day one:
//! - one confirmation mail per address per [`RESEND_AFTER_MS`] whatever is
//!   posted (the `SignUp` event in the store is the record, checked and
//!   written by the one mailer task, so concurrent posts cannot race it);
//! - a token bucket per client IP ([`BURST`], refilled at [`PER_IP_PER_MIN`]
//!   a minute), in a map of at most [`MAX_CLIENTS`] entries;
//! - the address must pass the list's own grammar
//!   ([`crate::audience::address::validate`]);
//! - a filled honeypot field gets the same answer as a sign-up, and nothing
//!   else happens; so does an address that hard-bounced or complained;
//! - the confirmations wait in a queue of [`QUEUE`]; when it is full the
//!   form answers 503 and nothing is queued.
//!
//! Every answer to the form is the same whether the address was new,
//! already confirmed or rate-limited, so the form tells nobody who reads
//! the newsletter. The mail (`templates/confirm.txt` and `confirm.html`)
//! goes through `[smtp]` and `[dkim]`, as issues do (the send stack's
//! [`Connection`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::routes::{commit, html, invalid, read_body};
use super::{page, App};
use crate::audience::address::{validate, wire_address};
use crate::audience::store::{now_ms, Event, EventKind, Source};
use crate::audience::AddressKey;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::send::smtp::{Connection, SmtpSettings};
use crate::template::Templates;

/// At most one confirmation mail per address in this long (24 h).
pub const RESEND_AFTER_MS: i64 = 24 * 3600 * 1000;
/// How long a confirmation link works (48 h).
pub const VALID_FOR_MS: i64 = 48 * 3600 * 1000;
/// Sign-ups one client IP may post in a burst.
pub const BURST: f64 = 5.0;
/// Sign-ups one client IP gets back per minute.
pub const PER_IP_PER_MIN: f64 = 2.0;
/// Client IPs remembered by the rate limit at most.
pub const MAX_CLIENTS: usize = 10_000;
/// Confirmation mails waiting to go out at most.
pub const QUEUE: usize = 256;
/// The longest name kept from the form, in characters.
const MAX_NAME: usize = 100;

/// One confirmation to mail.
struct Job {
    key: AddressKey,
    email: lettre::Address,
    name: Option<String>,
}

/// What the sign-up routes need beside the rest of [`App`].
pub(super) struct Signup {
    queue: mpsc::Sender<Job>,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    thank_you: Option<String>,
}

/// What the mailer task needs.
pub(super) struct Mailer {
    rx: mpsc::Receiver<Job>,
    settings: SmtpSettings,
    dkim: Option<lettre::message::dkim::DkimConfig>,
    templates: Templates,
    from: Mailbox,
    public_url: String,
}

/// The sign-up, when `[listen] signup = true`; it needs `[listen]
/// public_url` (for the link) and `[smtp] url` (for the mail). `None` turns
/// `/subscribe` off.
pub(super) fn setup(config: &Config) -> Result<Option<(Signup, Mailer)>> {
    if !config.listen.signup {
        return Ok(None);
    }
    let (Some(public_url), Some(_)) = (&config.listen.public_url, &config.smtp.url) else {
        return Err(Error::Usage(
            "[listen] signup = true in letterpress.toml needs [listen] public_url (the \
             confirmation link points there) and [smtp] url (the confirmation mail goes \
             through it): set both, or set signup = false"
                .into(),
        ));
    };
    let thank_you = match &config.listen.thank_you_url {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => Some(u.clone()),
        Some(u) => {
            return Err(Error::Usage(format!(
                "[listen] thank_you_url = {u:?} in letterpress.toml: it must be an absolute \
                 http(s) URL such as \"https://blog.example/thanks/\""
            )))
        }
        None => None,
    };
    if thank_you
        .as_deref()
        .is_some_and(|u| HeaderValue::from_str(u).is_err())
    {
        return Err(Error::Usage(
            "[listen] thank_you_url in letterpress.toml: not a valid URL (percent-encode spaces \
             and non-ASCII)"
                .into(),
        ));
    }
    let domain = config.from_mailbox().email.domain().to_string();
    let settings = SmtpSettings::new(
        &config.smtp,
        None,
        config.smtp.allow_plaintext,
        &domain,
        &config.root,
    )?;
    let dkim = match &config.dkim {
        Some(d) => Some(crate::send::dkim::load(d, &config.resolve(&d.private_key))?),
        None => None,
    };
    let dir = config.resolve(&config.paths.templates);
    for name in ["confirm.txt", "confirm.html"] {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(Error::Usage(format!(
                "{}: not found; `listen` mails sign-up confirmations from it. Copy \
                 templates/{name} from the letterpress repository, or set [listen] signup = false",
                path.display()
            )));
        }
    }
    let templates = Templates::from_dir(&dir)?;
    // Render both now: a missing or broken template stops `listen` at start
    // with the file named, instead of failing every confirmation silently.
    let trial = minijinja::context! {
        newsletter => config.newsletter.name.as_str(),
        confirm_url => "https://example.invalid/confirm/token",
        valid_hours => VALID_FOR_MS / 3_600_000,
    };
    for name in ["confirm.txt", "confirm.html"] {
        templates.render(name, &trial)?;
    }
    let (tx, rx) = mpsc::channel(QUEUE);
    Ok(Some((
        Signup {
            queue: tx,
            buckets: Mutex::new(HashMap::new()),
            thank_you,
        },
        Mailer {
            rx,
            settings,
            dkim,
            templates,
            from: config.from_mailbox(),
            public_url: public_url.trim_end_matches('/').to_string(),
        },
    )))
}

impl Signup {
    /// Takes one token from `ip`'s bucket; false when it is empty.
    fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let refill = |(tokens, at): (f64, Instant)| {
            (tokens + now.duration_since(at).as_secs_f64() * PER_IP_PER_MIN / 60.0).min(BURST)
        };
        if map.len() >= MAX_CLIENTS && !map.contains_key(&ip) {
            // Forget the clients whose bucket is full again; if that frees
            // nothing, forget everyone rather than grow without bound.
            map.retain(|_, b| refill(*b) < BURST);
            if map.len() >= MAX_CLIENTS {
                map.clear();
            }
        }
        let tokens = map.get(&ip).map_or(BURST, |b| refill(*b));
        if tokens < 1.0 {
            return false;
        }
        map.insert(ip, (tokens - 1.0, now));
        true
    }
}

/// The sign-up form's fields.
#[derive(Deserialize)]
struct Form {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    /// The honeypot, `website`: hidden from people, filled by bots.
    #[serde(default, rename = "website")]
    honeypot: String,
}

fn check_inbox(app: &App, signup: &Signup) -> Response {
    match &signup.thank_you {
        Some(url) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(url) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r.extensions_mut().insert(super::routes::Outcome("signup"));
            r
        }
        None => html(StatusCode::OK, "signup", page::check_inbox(&app.newsletter)),
    }
}

/// `POST /subscribe`.
pub(super) async fn subscribe(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    request: axum::extract::Request<Body>,
) -> Response {
    let Some(signup) = &app.signup else {
        return html(
            StatusCode::NOT_FOUND,
            "signup-off",
            page::plain_error("Not found"),
        );
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer {
        if !signup.allow(ip) {
            return html(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                page::plain_error("Too many sign-ups from here; try again in a minute"),
            );
        }
    }
    let body = match read_body(&app, &headers, request.into_body()).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(form) = serde_urlencoded::from_bytes::<Form>(&body) else {
        return html(
            StatusCode::BAD_REQUEST,
            "bad-form",
            page::plain_error("Bad request: send the form's email field"),
        );
    };
    if !form.honeypot.is_empty() {
        return check_inbox(&app, signup);
    }
    let email = match validate(form.email.trim()) {
        Ok(e) => e,
        Err(_) => {
            return html(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad-address",
                page::bad_address(&app.newsletter),
            )
        }
    };
    let Ok(key) = AddressKey::parse(email.as_ref()) else {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-address",
            page::bad_address(&app.newsletter),
        );
    };
    let name: String = form
        .name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let name = Some(name.trim().to_string()).filter(|n| !n.is_empty());
    match signup.queue.try_send(Job { key, email, name }) {
        Ok(()) => check_inbox(&app, signup),
        Err(_) => html(
            StatusCode::SERVICE_UNAVAILABLE,
            "queue-full",
            page::try_again(),
        ),
    }
}

/// `GET /confirm/{token}`: a page with the button; confirms nothing.
pub(super) async fn show_confirm(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
) -> Response {
    match app.tokens.open_confirm(&app.list_id, &token, now_ms()) {
        Some(key) => html(
            StatusCode::OK,
            "shown",
            page::confirm_signup(&app.newsletter, &key.masked(), &token),
        ),
        None => invalid(),
    }
}

/// `POST /confirm/{token}`: records the confirmation, durably, then says so.
pub(super) async fn confirm(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = read_body(&app, &headers, body).await {
        return r;
    }
    let Some(key) = app.tokens.open_confirm(&app.list_id, &token, now_ms()) else {
        return invalid();
    };
    let masked = key.masked();
    let unsubscribe = app.tokens.unsubscribe(&app.list_id, &key);
    if let Err(r) = commit(
        &app,
        Event::now(
            key,
            EventKind::Confirm,
            Source::Page,
            "sign-up confirmation button",
        ),
    )
    .await
    {
        return r;
    }
    html(
        StatusCode::OK,
        "confirmed",
        page::signup_confirmed(&app.newsletter, &masked, &unsubscribe),
    )
}

fn log_error(msg: &str, error: &str) {
    super::log_line!(
        "{}",
        serde_json::json!({"level": "error", "msg": msg, "error": error})
    );
}

/// The mailer task: one confirmation at a time, so the once-a-day check
/// and its record cannot race.
pub(super) async fn run_mailer(app: Arc<App>, mut mailer: Mailer) {
    while let Some(job) = mailer.rx.recv().await {
        let reader = app.reader.clone();
        let key = job.key.clone();
        let last = tokio::task::spawn_blocking(move || {
            Ok::<_, Error>((
                reader.last_event(&key, EventKind::SignUp)?,
                reader.status(&key)?.map(|s| s.kind),
            ))
        })
        .await;
        match last {
            Ok(Ok((Some(at), _))) if now_ms() - at < RESEND_AFTER_MS => continue,
            // An address that bounced for good or complained gets nothing
            // from the form; only the author lifts that.
            Ok(Ok((_, Some(EventKind::HardBounce | EventKind::Complaint)))) => continue,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                log_error("store read failed", &e.to_string());
                continue;
            }
            Err(e) => {
                log_error("store read failed", &e.to_string());
                continue;
            }
        }
        // Recorded before the mail goes: a crash in between loses one mail,
        // never allows a second.
        let record = Event::now(
            job.key.clone(),
            EventKind::SignUp,
            Source::Page,
            job.name.clone().unwrap_or_default(),
        );
        if let Err(e) = app.writer.submit(record).await {
            log_error("store write failed", &e.to_string());
            continue;
        }
        match send_confirmation(&app, &mailer, &job).await {
            Ok(()) => super::log_line!(
                "{}",
                serde_json::json!({"level": "info", "msg": "confirmation mailed"})
            ),
            Err(e) => log_error("confirmation mail failed", &e),
        }
    }
}

async fn send_confirmation(
    app: &App,
    mailer: &Mailer,
    job: &Job,
) -> std::result::Result<(), String> {
    let token = app
        .tokens
        .confirm(&app.list_id, &job.key, now_ms() + VALID_FOR_MS);
    let confirm_url = format!("{}/confirm/{token}", mailer.public_url);
    let ctx = minijinja::context! {
        newsletter => app.newsletter.as_str(),
        confirm_url => confirm_url.as_str(),
        valid_hours => VALID_FOR_MS / 3_600_000,
    };
    let text = mailer
        .templates
        .render("confirm.txt", &ctx)
        .map_err(|e| e.to_string())?;
    let html = mailer
        .templates
        .render("confirm.html", &ctx)
        .map_err(|e| e.to_string())?;
    let to = Mailbox::new(job.name.clone(), wire_address(&job.email));
    let mut message = lettre::Message::builder()
        .from(mailer.from.clone())
        .to(to)
        .subject(format!("Confirm your subscription to {}", app.newsletter))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .map_err(|e| e.to_string())?;
    if let Some(dkim) = &mailer.dkim {
        message.sign(dkim);
    }
    let mut conn = Connection::open(&mailer.settings)
        .await
        .map_err(|e| e.describe())?;
    let sent = conn
        .send(message.envelope(), &message.formatted(), || Ok(()))
        .await;
    conn.quit().await;
    sent.map(|_| ()).map_err(|e| e.describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_per_ip_and_stays_bounded() {
        let (queue, _rx) = mpsc::channel(1);
        let s = Signup {
            queue,
            buckets: Mutex::new(HashMap::new()),
            thank_you: None,
        };
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let allowed = (0..10).filter(|_| s.allow(a)).count();
        assert_eq!(allowed, BURST as usize);
        assert!(s.allow(b), "another client has its own bucket");
        for i in 0..(MAX_CLIENTS as u32 + 10) {
            s.allow(IpAddr::from(i.to_be_bytes()));
        }
        assert!(s.buckets.lock().unwrap().len() <= MAX_CLIENTS);
    }
}
