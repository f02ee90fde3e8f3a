//! The whole composing pipeline for one issue file, shared by `preview`,
//! `check`, `serve` and `send`: parse → compose → check → sample message.

use std::path::Path;

use crate::check;
use crate::compose::{Composer, RenderedEmail};
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::error::Result;
use crate::fs::read_text;
use crate::issue::Issue;
use crate::message::{MessageOptions, MessageTemplate, OutgoingMessage, Recipient};

/// The address the sample message in `preview` and `serve` goes to.
pub const SAMPLE_RECIPIENT: &str = "Ada Reader <reader@example.com>";

/// An issue carried through every stage but sending.
#[derive(Debug)]
pub struct Composed {
    /// The parsed issue.
    pub issue: Issue,
    /// The issue file's text as read.
    pub source: String,
    /// The rendered email (once per issue).
    pub email: RenderedEmail,
    /// Every check's findings.
    pub diagnostics: Vec<Diagnostic>,
    /// The message as it would go to [`SAMPLE_RECIPIENT`].
    pub sample: OutgoingMessage,
}

/// The unsubscribe secret from the environment variable the config names.
/// Preview-only callers may fall back to a fixed, clearly-fake secret.
pub fn unsubscribe_secret(config: &Config, allow_preview_secret: bool) -> Option<Vec<u8>> {
    match std::env::var(&config.unsubscribe.secret_env) {
        Ok(s) if !s.is_empty() => Some(s.into_bytes()),
        _ if allow_preview_secret => Some(b"letterpress-preview-secret-not-for-sending".to_vec()),
        _ => None,
    }
}

/// Reads, composes and checks the issue at `path`, and builds the sample message.
pub fn compose_file(composer: &Composer, path: &Path) -> Result<Composed> {
    let config = composer.config();
    let source = read_text(path)?;
    // Mis-decoded text is repaired in memory so the email reads right; `check`
    // still reports it (from this one scan) until `check --fix` repairs the file.
    let mojibake = crate::mojibake::scan(&source);
    let text = mojibake
        .as_ref()
        .map_or(source.as_str(), |r| r.repaired.as_str());
    let mut issue =
        Issue::parse(text).map_err(|e| crate::Error::parse(path, Some(e.line), e.message))?;
    issue.path = path.to_path_buf();
    let email = composer.compose(&issue)?;
    let diagnostics = check::check(&issue, mojibake.as_ref(), &email, config);
    let opts = MessageOptions {
        test: false,
        unsubscribe_secret: unsubscribe_secret(config, true),
        dkim: None,
    };
    let template = MessageTemplate::new(&email, &issue, config, opts)?;
    let mailbox: lettre::message::Mailbox =
        SAMPLE_RECIPIENT.parse().expect("a valid constant address");
    let sample = template.build(&Recipient {
        email: mailbox.email,
        name: mailbox.name,
    })?;
    Ok(Composed {
        issue,
        source,
        email,
        diagnostics,
        sample,
    })
}
