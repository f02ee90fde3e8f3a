//! `letterpress.toml`: the newsletter's settings.
//!
//! Every table rejects unknown keys, so a typo is an error that names the key
//! instead of a setting silently ignored.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::fs::read_text;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The newsletter itself: name, sender, addresses.
    pub newsletter: Newsletter,
    /// UTM tagging of links.
    #[serde(default)]
    pub utm: UtmConfig,
    /// Where things live, relative to the config file.
    #[serde(default)]
    pub paths: Paths,
    /// Unsubscribe links and the secret that signs them.
    #[serde(default)]
    pub unsubscribe: Unsubscribe,
    /// `letterpress listen`, the public service behind the unsubscribe URL.
    #[serde(default)]
    pub listen: Listen,
    /// The audience store and, when `listen` runs elsewhere, where its events come from.
    #[serde(default)]
    pub audience: Audience,
    /// The SMTP relay and the delivery engine.
    #[serde(default)]
    pub smtp: Smtp,
    /// Optional DKIM signing.
    #[serde(default)]
    pub dkim: Option<Dkim>,
    /// How often issues go out (used by `letterpress new`).
    #[serde(default)]
    pub schedule: Schedule,
    /// The web archive and feed (`letterpress archive`).
    #[serde(default)]
    pub archive: Archive,
    /// What `letterpress bounces` does with what comes back.
    #[serde(default)]
    pub bounces: Bounces,
    /// The relay webhooks `letterpress listen` answers (SES through SNS,
    /// Postmark, Mailgun); each is off unless its table is present.
    #[serde(default)]
    pub webhooks: Webhooks,
    /// The directory the config file is in; relative paths resolve against it.
    #[serde(skip)]
    pub root: PathBuf,
}

/// `[bounces]`: the bounce policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounces {
    /// Soft bounces (mailbox full, 4.x.x) on this many distinct issues
    /// suppress an address; fewer never do. At least 1.
    #[serde(default = "default_soft_bounce_limit")]
    pub soft_bounce_limit: u32,
    /// VERP: with `bounces@news.example`, each message's envelope sender is
    /// `bounces+<sealed tag>@news.example`, naming its reader and issue
    /// (`From:` is unchanged). Mail to it must reach the bounce mailbox.
    #[serde(default)]
    pub return_path: Option<String>,
    /// A shell command that prints the bounce mailbox's IMAP password
    /// (`bounces --imap`), used when `LETTERPRESS_IMAP_PASSWORD` is not set.
    #[serde(default)]
    pub imap_password_command: Option<String>,
    /// The CA certificate (PEM) that signed the IMAP server's certificate,
    /// for a private CA or a self-signed server (`bounces --imap`); the
    /// public web roots are trusted either way. Relative to this file.
    #[serde(default)]
    pub imap_ca_file: Option<PathBuf>,
}

impl Default for Bounces {
    fn default() -> Self {
        Bounces {
            soft_bounce_limit: default_soft_bounce_limit(),
            return_path: None,
            imap_password_command: None,
            imap_ca_file: None,
        }
    }
}

fn default_soft_bounce_limit() -> u32 {
    3
}

/// `[webhooks]`: bounces and complaints posted by the relay to `listen`.
/// A relay's route answers only when its table is present; secrets come
/// from the environment variables named here, never from this file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhooks {
    /// `[webhooks.ses]`: Amazon SES notifications through an SNS topic,
    /// at `POST /webhooks/ses`.
    #[serde(default)]
    pub ses: Option<SesWebhook>,
    /// `[webhooks.postmark]`: Postmark's bounce and spam-complaint
    /// webhooks, at `POST /webhooks/postmark`, behind HTTP basic auth.
    #[serde(default)]
    pub postmark: Option<PostmarkWebhook>,
    /// `[webhooks.mailgun]`: Mailgun's `failed` and `complained` webhooks,
    /// at `POST /webhooks/mailgun`, signed with the webhook signing key.
    #[serde(default)]
    pub mailgun: Option<MailgunWebhook>,
}

/// `[webhooks.ses]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SesWebhook {
    /// The ARNs of the SNS topics SES publishes bounces and complaints to,
    /// e.g. `arn:aws:sns:us-east-1:123456789012:letterpress-feedback`.
    /// Messages of any other topic are refused, however well signed.
    pub topic_arns: Vec<String>,
}

/// `[webhooks.postmark]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmarkWebhook {
    /// The basic-auth user name written into the webhook URL at Postmark.
    pub username: String,
    /// The environment variable holding the basic-auth password (at least
    /// 16 bytes).
    #[serde(default = "default_postmark_password_env")]
    pub password_env: String,
}

/// `[webhooks.mailgun]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailgunWebhook {
    /// The environment variable holding Mailgun's HTTP webhook signing key
    /// (Sending → Webhooks → "HTTP webhook signing key").
    #[serde(default = "default_mailgun_key_env")]
    pub signing_key_env: String,
}

fn default_postmark_password_env() -> String {
    "LETTERPRESS_POSTMARK_PASSWORD".into()
}
fn default_mailgun_key_env() -> String {
    "LETTERPRESS_MAILGUN_SIGNING_KEY".into()
}

/// `[newsletter]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Newsletter {
    /// Shown in the header and as the From display name default.
    pub name: String,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// Where replies go; defaults to `from`.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The public web address of the newsletter (archive, list pages).
    pub web_url: String,
    /// The sender's postal address (required by CAN-SPAM and friends), shown in the footer.
    pub postal_address: String,
    /// One line under the name in the header; optional.
    #[serde(default)]
    pub tagline: Option<String>,
    /// Why the reader gets this email, shown in the footer.
    #[serde(default = "default_reason")]
    pub reason: String,
    /// The `lang` of the HTML, e.g. `en`.
    #[serde(default = "default_language")]
    pub language: String,
    /// The `List-Id` header's identifier, e.g. `weekly.example.com`; defaults to the sender's domain.
    #[serde(default)]
    pub list_id: Option<String>,
    /// Colour of links and accents, a CSS colour.
    #[serde(default = "default_accent")]
    pub accent_color: String,
}

fn default_reason() -> String {
    "You are receiving this because you subscribed to this newsletter.".into()
}
fn default_language() -> String {
    "en".into()
}
fn default_accent() -> String {
    "#2563eb".into()
}

/// `[utm]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UtmConfig {
    /// Tag links at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `utm_source`; defaults to the newsletter name.
    #[serde(default)]
    pub source: Option<String>,
    /// `utm_medium`.
    #[serde(default = "default_medium")]
    pub medium: String,
    /// `utm_campaign`, a template with `{{ number }}`, `{{ date }}`, `{{ slug }}`.
    #[serde(default = "default_campaign")]
    pub campaign: String,
    /// Replace the `utm_*` parameters a link already carries (say, from an
    /// issue migrated from another service) with these; by default such
    /// links are kept exactly as written.
    #[serde(default)]
    pub retag: bool,
}

impl Default for UtmConfig {
    fn default() -> Self {
        UtmConfig {
            enabled: true,
            source: None,
            medium: default_medium(),
            campaign: default_campaign(),
            retag: false,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_medium() -> String {
    "email".into()
}
fn default_campaign() -> String {
    "issue-{{ number }}".into()
}

/// `[paths]`, relative to the config file's directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    /// Issue files (`ISSUE` numbers are looked up here).
    #[serde(default = "default_issues")]
    pub issues: PathBuf,
    /// Templates (`email.mjml`, `email.txt`, `new-issue.md`).
    #[serde(default = "default_templates")]
    pub templates: PathBuf,
    /// The subscriber list.
    #[serde(default = "default_subscribers")]
    pub subscribers: PathBuf,
    /// Where `preview` writes by default.
    #[serde(default = "default_out")]
    pub out: PathBuf,
    /// Where send journals live.
    #[serde(default = "default_journal")]
    pub journal: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            issues: default_issues(),
            templates: default_templates(),
            subscribers: default_subscribers(),
            out: default_out(),
            journal: default_journal(),
        }
    }
}

fn default_issues() -> PathBuf {
    "issues".into()
}
fn default_templates() -> PathBuf {
    "templates".into()
}
fn default_subscribers() -> PathBuf {
    "subscribers.toml".into()
}
fn default_out() -> PathBuf {
    "out".into()
}
fn default_journal() -> PathBuf {
    ".letterpress/journal".into()
}

/// `[unsubscribe]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unsubscribe {
    /// No longer used: the unsubscribe URL is `{listen.public_url}/unsubscribe/{token}`.
    /// Kept only to answer an old configuration with what to write instead.
    #[serde(default)]
    pub url: Option<toml::Spanned<String>>,
    /// A `mailto:` address for `List-Unsubscribe`, e.g. `unsubscribe@example.com`.
    #[serde(default)]
    pub mailto: Option<String>,
    /// The environment variable holding the list secret (at least 32 bytes) that
    /// seals unsubscribe tokens and keys Message-IDs.
    #[serde(default = "default_secret_env")]
    pub secret_env: String,
}

impl Default for Unsubscribe {
    fn default() -> Self {
        Unsubscribe {
            url: None,
            mailto: None,
            secret_env: default_secret_env(),
        }
    }
}

fn default_secret_env() -> String {
    "LETTERPRESS_UNSUBSCRIBE_SECRET".into()
}

/// `[listen]`: the public unsubscribe service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// The public base URL where `letterpress listen` is reachable (behind TLS),
    /// e.g. `https://news.example`. Every message's unsubscribe URL is
    /// `{public_url}/unsubscribe/{token}`, and the one-click POST goes there too.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Seconds a client has to send a request's headers (also how long an idle
    /// keep-alive connection stays open): slow clients cannot hold the server.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_seconds: f64,
    /// Seconds a client has to send a request's body once its headers are in.
    #[serde(default = "default_body_timeout")]
    pub body_timeout_seconds: f64,
    /// Connections served at once; more wait in the kernel's queue.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Take double opt-in sign-ups at `POST /subscribe` (docs/signup.md);
    /// needs `public_url` and `[smtp] url`. Off by default.
    #[serde(default)]
    pub signup: bool,
    /// Where `POST /subscribe` sends the reader (303) after a sign-up, e.g.
    /// `https://blog.example/thanks/`; unset, `listen` answers with its own
    /// "check your inbox" page. Only this one URL is ever redirected to.
    #[serde(default)]
    pub thank_you_url: Option<String>,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            public_url: None,
            signup: false,
            thank_you_url: None,
            header_timeout_seconds: default_header_timeout(),
            body_timeout_seconds: default_body_timeout(),
            max_connections: default_max_connections(),
        }
    }
}

fn default_header_timeout() -> f64 {
    10.0
}
fn default_body_timeout() -> f64 {
    10.0
}
fn default_max_connections() -> usize {
    1024
}

impl Listen {
    /// The unsubscribe URL for `token`, when `public_url` is set.
    pub fn unsubscribe_url(&self, token: &str) -> Option<String> {
        let base = self.public_url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}/unsubscribe/{token}"))
    }
}

/// `[audience]`: where the world's answers are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// The audience store (SQLite), relative to the config file; holds
    /// addresses, so keep it out of git and back it up (docs/deploy.md).
    #[serde(default = "default_store")]
    pub store: PathBuf,
    /// When `listen` runs on another machine: its public base URL, from which
    /// `send` pulls the unsubscribes before every run (and refuses to send when
    /// it cannot, unless `--skip-remote`).
    #[serde(default)]
    pub remote_url: Option<String>,
    /// The environment variable holding the bearer token for `remote_url`.
    #[serde(default = "default_remote_token_env")]
    pub remote_token_env: String,
}

impl Default for Audience {
    fn default() -> Self {
        Audience {
            store: default_store(),
            remote_url: None,
            remote_token_env: default_remote_token_env(),
        }
    }
}

fn default_store() -> PathBuf {
    ".letterpress/audience.db".into()
}
fn default_remote_token_env() -> String {
    "LETTERPRESS_REMOTE_TOKEN".into()
}

/// `[smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// `smtps://host:465` (implicit TLS), `smtp://host:587` (STARTTLS required),
    /// or `smtp://127.0.0.1:2525` (plaintext, loopback only unless `allow_plaintext`).
    #[serde(default)]
    pub url: Option<String>,
    /// The AUTH user name; the password comes from `LETTERPRESS_SMTP_PASSWORD` or `password_command`.
    #[serde(default)]
    pub username: Option<String>,
    /// A command whose standard output is the password (e.g. `pass show smtp`).
    #[serde(default)]
    pub password_command: Option<String>,
    /// Allow plaintext SMTP to a non-loopback host. Dangerous.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// Parallel connections.
    #[serde(default = "default_connections")]
    pub connections: usize,
    /// Messages per second across all connections (unlimited when absent).
    #[serde(default)]
    pub rate_per_second: Option<f64>,
    /// Messages per hour across all connections (unlimited when absent).
    #[serde(default)]
    pub rate_per_hour: Option<u64>,
    /// Reconnect after this many messages on one connection.
    #[serde(default = "default_per_connection")]
    pub max_per_connection: usize,
    /// Seconds to wait for any one SMTP reply (fractions allowed).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
    /// Attempts per recipient for temporary (4xx) failures before it is deferred.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The name we greet the server with (EHLO); defaults to the sender's domain.
    #[serde(default)]
    pub hello_name: Option<String>,
    /// A PEM file of extra trusted CA certificates (a private CA or a test server's own certificate).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds before the first retry of a temporary failure; doubles each time.
    #[serde(default = "default_retry_delay")]
    pub retry_delay_seconds: f64,
    /// The longest wait between retries, in seconds.
    #[serde(default = "default_retry_max_delay")]
    pub retry_max_delay_seconds: f64,
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            url: None,
            username: None,
            password_command: None,
            allow_plaintext: false,
            connections: default_connections(),
            rate_per_second: None,
            rate_per_hour: None,
            max_per_connection: default_per_connection(),
            timeout_seconds: default_timeout(),
            max_attempts: default_attempts(),
            hello_name: None,
            ca_file: None,
            retry_delay_seconds: default_retry_delay(),
            retry_max_delay_seconds: default_retry_max_delay(),
        }
    }
}

fn default_connections() -> usize {
    4
}
fn default_per_connection() -> usize {
    1000
}
fn default_timeout() -> f64 {
    60.0
}
fn default_retry_delay() -> f64 {
    2.0
}
fn default_retry_max_delay() -> f64 {
    300.0
}
fn default_attempts() -> u32 {
    5
}

/// `[dkim]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dkim {
    /// The signing domain (`d=`).
    pub domain: String,
    /// The selector (`s=`).
    pub selector: String,
    /// `ed25519` or `rsa`.
    pub algorithm: String,
    /// PEM file with the private key (never committed).
    pub private_key: PathBuf,
}

/// `[schedule]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Days between issues.
    #[serde(default = "default_cadence")]
    pub cadence_days: u32,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            cadence_days: default_cadence(),
        }
    }
}

fn default_cadence() -> u32 {
    14
}

/// `[archive]`: the static web archive, its feed, and the links to it in every email.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Archive {
    /// Where the archive is published, e.g. `https://example.org/newsletter/`
    /// (a sub-path works). When set, every email's "View in browser" link
    /// goes to the issue's page here and `List-Archive` to the index.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Where `letterpress archive` writes the site [default: `public`].
    #[serde(default)]
    pub out: Option<PathBuf>,
    /// Issues in the Atom feed, newest first [default: 20].
    #[serde(default)]
    pub feed_entries: Option<usize>,
    /// Where the web pages send readers to subscribe [default: `newsletter.web_url`].
    #[serde(default)]
    pub subscribe_url: Option<String>,
    /// The composed-issue cache that makes a re-run fast
    /// [default: `.letterpress/archive-cache.json`].
    #[serde(default)]
    pub cache: Option<PathBuf>,
}

impl Config {
    /// Parses a configuration; `path` is used in error messages and as the root.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let mut config: Config = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        config.root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        config.validate(path, text)?;
        Ok(config)
    }

    /// Reads and parses `path`.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = read_text(path).map_err(|e| match e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Error::Usage(format!(
                "{}: no configuration file here; run `letterpress init` to start a newsletter in this folder, or pass --config PATH",
                path.display()
            )),
            other => other,
        })?;
        Config::parse(&text, path)
    }

    fn validate(&self, path: &Path, text: &str) -> Result<()> {
        let bad = |key: &str, msg: String| {
            let line = key
                .split_once('.')
                .and_then(|(section, k)| key_line(text, section, k));
            Err(Error::parse(path, line, format!("`{key}`: {msg}")))
        };
        let seconds: [(&str, f64, &RangeInclusive<f64>); 3] = [
            (
                "smtp.timeout_seconds",
                self.smtp.timeout_seconds,
                &TIMEOUT_SECONDS,
            ),
            (
                "smtp.retry_delay_seconds",
                self.smtp.retry_delay_seconds,
                &RETRY_SECONDS,
            ),
            (
                "smtp.retry_max_delay_seconds",
                self.smtp.retry_max_delay_seconds,
                &RETRY_SECONDS,
            ),
        ];
        for (key, value, range) in seconds {
            if !range.contains(&value) {
                return bad(key, out_of_range(value, range, "seconds"));
            }
        }
        if let Some(r) = self.smtp.rate_per_second {
            if !RATE_PER_SECOND.contains(&r) {
                return bad(
                    "smtp.rate_per_second",
                    out_of_range(r, &RATE_PER_SECOND, "messages per second"),
                );
            }
        }
        if let Err(e) = self.newsletter.from.parse::<lettre::message::Mailbox>() {
            return bad(
                "newsletter.from",
                format!("{e}; write `Name <you@example.com>`"),
            );
        }
        if let Some(r) = &self.newsletter.reply_to {
            if let Err(e) = r.parse::<lettre::message::Mailbox>() {
                return bad(
                    "newsletter.reply_to",
                    format!("{e}; write `Name <you@example.com>`"),
                );
            }
        }
        if url::Url::parse(&self.newsletter.web_url).is_err() {
            return bad(
                "newsletter.web_url",
                "must be an absolute URL such as https://example.com".into(),
            );
        }
        if let Some(u) = &self.unsubscribe.url {
            let line = crate::diagnostic::line_of(text, u.span().start);
            let base = url::Url::parse(u.get_ref())
                .ok()
                .filter(|u| u.has_host())
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|| "https://news.example".into());
            return Err(Error::parse(
                path,
                Some(line),
                format!(
                    "`unsubscribe.url` is no longer used: the unsubscribe URL is now \
                     `{{public_url}}/unsubscribe/{{token}}`, answered by `letterpress listen`, \
                     and carries no address. Remove this line and write instead:\n\n    \
                     [listen]\n    public_url = \"{base}\"\n"
                ),
            ));
        }
        if let Some(u) = &self.listen.public_url {
            match url::Url::parse(u) {
                Ok(p) if matches!(p.scheme(), "https" | "http")
                    && p.has_host()
                    && p.query().is_none()
                    && p.fragment().is_none() => {}
                _ => {
                    return bad(
                        "listen.public_url",
                        format!("`{u}` must be an absolute http(s) URL without query, such as https://news.example"),
                    )
                }
            }
        }
        for (key, v) in [
            (
                "listen.header_timeout_seconds",
                self.listen.header_timeout_seconds,
            ),
            (
                "listen.body_timeout_seconds",
                self.listen.body_timeout_seconds,
            ),
        ] {
            if !(0.05..=3600.0).contains(&v) {
                return bad(
                    key,
                    format!("{v} is out of range; write a number of seconds between 0.05 and 3600"),
                );
            }
        }
        if self.listen.max_connections == 0 {
            return bad("listen.max_connections", "must be at least 1".into());
        }
        if let Some(u) = &self.audience.remote_url {
            if !matches!(
                url::Url::parse(u)
                    .map(|p| p.scheme().to_string())
                    .as_deref(),
                Ok("https" | "http")
            ) {
                return bad(
                    "audience.remote_url",
                    format!("`{u}` must be an absolute http(s) URL, such as https://news.example"),
                );
            }
        }
        if let Some(u) = &self.archive.base_url {
            match url::Url::parse(u) {
                Ok(p) if matches!(p.scheme(), "http" | "https") && p.host().is_some() => {}
                _ => {
                    return bad(
                        "archive.base_url",
                        "must be an absolute http(s) URL such as https://example.org/newsletter/"
                            .into(),
                    )
                }
            }
        }
        if self.archive.feed_entries == Some(0) {
            return bad("archive.feed_entries", "must be at least 1".into());
        }
        if self.smtp.connections == 0 {
            return bad("smtp.connections", "must be at least 1".into());
        }
        if self.bounces.soft_bounce_limit == 0 {
            return bad(
                "bounces.soft_bounce_limit",
                "must be at least 1 (3 suppresses after soft bounces on three issues)".into(),
            );
        }
        self.validate_webhooks(path, text)
    }

    fn validate_webhooks(&self, path: &Path, text: &str) -> Result<()> {
        let bad = |section: &str, key: &str, msg: String| {
            Err(Error::parse(
                path,
                key_line(text, section, key),
                format!("`{section}.{key}`: {msg}"),
            ))
        };
        if let Some(ses) = &self.webhooks.ses {
            if ses.topic_arns.is_empty() {
                return bad(
                    "webhooks.ses",
                    "topic_arns",
                    "name at least one SNS topic, e.g. \
                     [\"arn:aws:sns:us-east-1:123456789012:letterpress-feedback\"]"
                        .into(),
                );
            }
            for arn in &ses.topic_arns {
                let parts: Vec<&str> = arn.split(':').collect();
                let ok = parts.len() == 6
                    && parts[0] == "arn"
                    && parts[1].starts_with("aws")
                    && parts[2] == "sns"
                    && parts[3..].iter().all(|p| !p.is_empty());
                if !ok {
                    return bad(
                        "webhooks.ses",
                        "topic_arns",
                        format!(
                            "`{arn}` is not an SNS topic ARN; copy it from the SNS console, \
                             e.g. arn:aws:sns:us-east-1:123456789012:letterpress-feedback"
                        ),
                    );
                }
            }
        }
        if let Some(p) = &self.webhooks.postmark {
            if p.username.is_empty() || p.username.contains(':') {
                return bad(
                    "webhooks.postmark",
                    "username",
                    "must be a non-empty user name without `:` (basic auth)".into(),
                );
            }
        }
        Ok(())
    }

    /// Resolves a path from the config against the config's directory
    /// (`issues`, not `./issues`, when that is the current directory).
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() || self.root == Path::new(".") {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }

    /// The list's identifier: `newsletter.list_id`, or the sender's domain.
    /// It goes into the `List-Id` header and binds the unsubscribe tokens,
    /// so `send` and `listen` must agree on it.
    pub fn list_id(&self) -> String {
        self.newsletter
            .list_id
            .clone()
            .unwrap_or_else(|| self.from_mailbox().email.domain().to_string())
    }

    /// The sender's mailbox (validated at parse time).
    pub fn from_mailbox(&self) -> lettre::message::Mailbox {
        self.newsletter
            .from
            .parse()
            .expect("validated in Config::parse")
    }
}

/// The allowed `smtp.timeout_seconds`.
pub const TIMEOUT_SECONDS: RangeInclusive<f64> = 0.1..=3600.0;
/// The allowed `smtp.retry_delay_seconds` and `smtp.retry_max_delay_seconds`.
pub const RETRY_SECONDS: RangeInclusive<f64> = 0.0..=86400.0;
/// The allowed `smtp.rate_per_second` and `send --rate`.
pub const RATE_PER_SECOND: RangeInclusive<f64> = 0.001..=100_000.0;

/// "`1e300` is out of range: use 0.1 to 3600 seconds".
pub fn out_of_range(value: f64, range: &RangeInclusive<f64>, unit: &str) -> String {
    format!(
        "{value} is out of range: use {} to {} {unit}",
        range.start(),
        range.end()
    )
}

/// The 1-based line of `key` in `[section]` (or of `section.key` at the top
/// level), found by a plain scan of the text; `None` when it is not written
/// there (a default).
fn key_line(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(header) = t.strip_prefix('[') {
            current = header
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            continue;
        }
        let Some((lhs, _)) = t.split_once('=') else {
            continue;
        };
        let lhs: String = lhs
            .split('.')
            .map(|p| p.trim().trim_matches('"'))
            .collect::<Vec<_>>()
            .join(".");
        let full = if current.is_empty() {
            lhs
        } else {
            format!("{current}.{lhs}")
        };
        if full == format!("{section}.{key}") {
            return Some(i + 1);
        }
    }
    None
}

/// Turns a `toml` error into one naming the file, the line and the fix.
pub fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let line = e.span().map(|s| crate::diagnostic::line_of(text, s.start));
    let mut message = e.message().to_string();
    if message.starts_with("unknown field") {
        message.push_str("; remove it or fix its spelling");
    }
    Error::parse(path, line, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
[newsletter]
name = "Test Weekly"
from = "Test Weekly <news@example.com>"
web_url = "https://example.com"
postal_address = "1 Example Street, Exampleton"
"#;

    #[test]
    fn minimal_config_has_defaults() {
        let c = Config::parse(MIN, Path::new("dir/letterpress.toml")).unwrap();
        assert_eq!(c.smtp.connections, 4);
        assert_eq!(c.schedule.cadence_days, 14);
        assert_eq!(c.root, PathBuf::from("dir"));
        assert!(c.utm.enabled);
    }

    #[test]
    fn webhooks_are_off_unless_their_table_is_present() {
        let c = Config::parse(MIN, Path::new("letterpress.toml")).unwrap();
        assert!(
            c.webhooks.ses.is_none()
                && c.webhooks.postmark.is_none()
                && c.webhooks.mailgun.is_none()
        );
        let text = format!(
            "{MIN}[webhooks.ses]\ntopic_arns = [\"arn:aws:sns:us-east-1:123456789012:t\"]\n\
             [webhooks.postmark]\nusername = \"pm\"\n[webhooks.mailgun]\n"
        );
        let c = Config::parse(&text, Path::new("letterpress.toml")).unwrap();
        assert_eq!(
            c.webhooks.postmark.unwrap().password_env,
            "LETTERPRESS_POSTMARK_PASSWORD"
        );
        assert_eq!(
            c.webhooks.mailgun.unwrap().signing_key_env,
            "LETTERPRESS_MAILGUN_SIGNING_KEY"
        );
    }

    #[test]
    fn webhook_mistakes_name_the_key_line_and_fix() {
        let bad_arn = format!("{MIN}[webhooks.ses]\ntopic_arns = [\"my-topic\"]\n");
        let e = Config::parse(&bad_arn, Path::new("letterpress.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("letterpress.toml:8")
                && e.contains("webhooks.ses.topic_arns")
                && e.contains("arn:aws:sns:"),
            "{e}"
        );
        let empty = format!("{MIN}[webhooks.ses]\ntopic_arns = []\n");
        assert!(Config::parse(&empty, Path::new("letterpress.toml")).is_err());
        let other = format!("{MIN}[webhooks.sendgrid]\n");
        let e = Config::parse(&other, Path::new("letterpress.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("sendgrid"), "{e}");
        let secret_in_file = format!("{MIN}[webhooks.mailgun]\nsigning_key = \"abc\"\n");
        assert!(Config::parse(&secret_in_file, Path::new("letterpress.toml")).is_err());
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let text = format!("{MIN}colour = \"red\"\n");
        let e = Config::parse(&text, Path::new("letterpress.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("letterpress.toml:7"), "{e}");
        assert!(e.contains("colour"), "{e}");
        assert!(e.contains("remove it"), "{e}");
    }

    #[test]
    fn archive_settings_are_checked() {
        let bad = |extra: &str| {
            Config::parse(&format!("{MIN}[archive]\n{extra}\n"), Path::new("l.toml"))
                .unwrap_err()
                .to_string()
        };
        assert!(bad("base_url = \"example.org/news\"").contains("archive.base_url"));
        assert!(bad("base_url = \"ftp://example.org/\"").contains("archive.base_url"));
        assert!(bad("feed_entries = 0").contains("archive.feed_entries"));
        assert!(bad("baseurl = \"https://x.example/\"").contains("baseurl"));
        let ok = Config::parse(
            &format!("{MIN}[archive]\nbase_url = \"https://example.org/news/\"\n"),
            Path::new("l.toml"),
        )
        .unwrap();
        assert_eq!(
            ok.archive.base_url.as_deref(),
            Some("https://example.org/news/")
        );
    }

    #[test]
    fn bad_from_is_rejected() {
        let text = MIN.replace("Test Weekly <news@example.com>", "not an address");
        let e = Config::parse(&text, Path::new("l.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("newsletter.from"), "{e}");
        assert!(e.starts_with("l.toml:4: "), "the error names its line: {e}");
    }

    #[test]
    fn out_of_range_numbers_name_key_line_and_range() {
        for (key, value, want) in [
            ("timeout_seconds", "inf", "0.1 to 3600 seconds"),
            ("timeout_seconds", "0.0", "0.1 to 3600 seconds"),
            ("retry_delay_seconds", "inf", "0 to 86400 seconds"),
            ("retry_max_delay_seconds", "1e300", "0 to 86400 seconds"),
            ("retry_delay_seconds", "nan", "0 to 86400 seconds"),
            (
                "rate_per_second",
                "1e-320",
                "0.001 to 100000 messages per second",
            ),
        ] {
            let text = format!("{MIN}[smtp]\n{key} = {value}\n");
            let e = Config::parse(&text, Path::new("l.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("l.toml:8: `smtp.{key}`: ")) && e.contains(want),
                "{key} = {value}: {e}"
            );
        }
        let ok = format!("{MIN}[smtp]\ntimeout_seconds = 0.5\nrate_per_second = 0.01\n");
        assert!(Config::parse(&ok, Path::new("l.toml")).is_ok());
    }

    #[test]
    fn old_unsubscribe_url_says_what_to_write_instead() {
        let text = format!(
            "{MIN}[unsubscribe]\nurl = \"https://news.example/u?email={{email}}&token={{token}}\"\n"
        );
        let e = Config::parse(&text, Path::new("letterpress.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("letterpress.toml:8"), "{e}");
        assert!(e.contains("[listen]"), "{e}");
        assert!(e.contains("public_url = \"https://news.example\""), "{e}");
    }

    #[test]
    fn public_url_makes_the_unsubscribe_url() {
        let text = format!("{MIN}[listen]\npublic_url = \"https://news.example/\"\n");
        let c = Config::parse(&text, Path::new("l.toml")).unwrap();
        assert_eq!(
            c.listen.unsubscribe_url("TOK").as_deref(),
            Some("https://news.example/unsubscribe/TOK")
        );
        assert_eq!(c.list_id(), "example.com");
        for bad in [
            "news.example",
            "ftp://news.example",
            "https://news.example/?x=1",
        ] {
            let text = format!("{MIN}[listen]\npublic_url = \"{bad}\"\n");
            let e = Config::parse(&text, Path::new("l.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("listen.public_url"), "{e}");
        }
        let c = Config::parse(MIN, Path::new("l.toml")).unwrap();
        assert_eq!(c.audience.store, PathBuf::from(".letterpress/audience.db"));
    }

    #[test]
    fn shipped_config_parses() {
        let c = Config::parse(
            include_str!("../letterpress.toml"),
            Path::new("letterpress.toml"),
        )
        .unwrap();
        assert!(c.listen.public_url.is_some());
    }
}
