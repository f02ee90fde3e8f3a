//! # letterpress
//!
//! Compose a newsletter issue written in Markdown into a responsive MJML
//! email with a plain-text twin, preview it, check it, and send it over SMTP.
//!
//! Data flows through named types, one stage per module:
//!
//! ```text
//!  issues/040.md ──▶ issue::Issue ──▶ compose::RenderedEmail ──▶ message::OutgoingMessage ──▶ send::Outcome ──▶ report
//!  (front matter      (parse, fix     (MJML + HTML + text,       (per recipient: headers,      (per recipient,     (summary,
//!   + Markdown)        entities)        rendered ONCE per issue)    slots filled, DKIM)          journaled)          failures)
//!                                                                         ▲
//!  beside it, the audience:                                               │ who may be mailed
//!  subscribers.toml ──▶ audience::subscribers ──┐                         │ (audience::mailable,
//!  (the author's list)                          ├──▶ list − suppressions ─┘  then send::select
//!  .letterpress/audience.db ──▶ store ──────────┘                            applies the journal)
//!  (the world's answers)          ▲
//!                                 └── unsubscribes and confirmed sign-ups (listen), hard bounces (send::campaign),
//!                                     manual (`letterpress audience`),
//!                                     returned mail ──▶ bounces::classify::Report ──▶ bounces::policy
//!                                     relay webhooks (listen::webhooks: SES/SNS, Postmark, Mailgun) ──▶ Report ──┘
//!
//!  collection::Collection ──▶ issue::Issue ──▶ compose::RenderedEmail (Output::Web) ──▶ archive::web::WebBody ──▶ public/
//!  (the issues folder)                        (same layout, web = true)                 (slots filled for the web)  (pages, feed)
//! ```
//!
//! - [`config`]: `letterpress.toml`, the newsletter's settings.
//! - [`collection`]: the issues folder, listed once (numbers and dates from file names).
//! - [`issue`]: an issue file: front matter (YAML, TOML or Pelican) + Markdown body.
//! - [`fs`]: file helpers whose errors name the path (`read_text`, `replace_file`, `write_file`).
//! - [`mojibake`]: detection and repair of UTF-8 text mis-decoded as Mac Roman or Windows-1252.
//! - [`compose`]: Markdown to MJML and plain text, templates, MJML to HTML; the one HTML safety
//!   policy for raw HTML in issues ([`compose::html_policy`]); dark mode and contrast ([`compose::color`]).
//! - [`check`]: pre-flight checks that turn a composed issue into [`diagnostic::Diagnostic`]s.
//! - [`message`]: the per-recipient RFC 5322 message, built the same way for `preview`, `--dry-run` and `send`.
//! - [`audience`]: who may be mailed: the one address identity ([`audience::AddressKey`]), unsubscribe tokens,
//!   the audience store (SQLite) of what came back (unsubscribes, bounces, complaints),
//!   `subscribers.toml` (streamed line by line; a million entries load in about a second).
//! - [`import`]: `letterpress import`, other platforms' exports (Substack, Mailchimp, Buttondown, listmonk, …)
//!   merged into `subscribers.toml`, never re-subscribing anyone; suppressions go to the store.
//! - [`bounces`]: what comes back by mail (DSNs, ARF complaints, auto-replies, unsubscribe requests), classified and
//!   attributed (VERP tag, named recipient, Message-ID) into audience-store events.
//!   [`bounces::run`] is the run protocol: files or the IMAP mailbox (once, or watched with IDLE), commit then file.
//! - [`send`]: delivery over SMTP: one connection per worker, rate limits, retries, a crash-safe journal, the report;
//!   [`send::campaign`] is the list-send protocol around it (journal start/end, who is skipped, hard bounces).
//! - [`listen`]: `letterpress listen`, the public service behind every unsubscribe URL (pages, one-click, the events export)
//!   and the double opt-in sign-up form (`/subscribe`, `/confirm/{token}`; confirmed sign-ups join the list in `audience::mailable`),
//!   and the relays' signed bounce and complaint webhooks ([`listen::webhooks`]), decided by [`bounces::policy`].
//! - [`serve`]: `letterpress serve`, a live preview (phone, desktop, plain text, envelope) that re-renders on save.
//! - [`template`]: the one minijinja environment (strict undefined) for the email, `new` and the archive.
//! - [`archive`]: `letterpress archive`, the issues as a static site (index, a page per issue from the
//!   same compose path, Atom feed, sitemap, alias pages), composed in parallel, rewritten only when changed.
//! - [`parallel`]: the same pure work on many inputs spread over every core (the archive's issues,
//!   a batch of returned mail).
//! - [`new_issue`]: `letterpress new`, the next issue file (number, date by cadence, skeleton).
//! - [`scaffold`]: `letterpress init`, a new newsletter folder (commented config, templates, first issue, .gitignore).
//! - [`doctor`]: `letterpress doctor`, whether Gmail and Outlook.com will accept the mail: SPF, DKIM,
//!   DMARC and MX over DNS, the unsubscribe endpoint, the token secret, TLS on the relay.

pub mod archive;
pub mod audience;
pub mod bounces;
pub mod check;
pub mod collection;
pub mod compose;
pub mod config;
pub mod diagnostic;
pub mod doctor;
pub mod error;
pub mod fs;
pub mod import;
pub mod issue;
pub mod listen;
pub mod message;
pub mod mojibake;
pub mod new_issue;
pub mod parallel;
pub mod pipeline;
pub mod scaffold;
pub mod send;
pub mod serve;
pub mod template;

/// The subscriber list; it lives in [`audience::subscribers`] (this path is kept for callers).
pub use audience::subscribers;

pub use error::{Error, Result};
