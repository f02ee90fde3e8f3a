//! Markdown to MJML (the body of the email). PLACEHOLDER: being written.
use super::links::LinkRewriter;
use crate::diagnostic::Diagnostic;

/// The MJML for an issue's body plus what the walk noticed.
#[derive(Debug, Clone, Default)]
pub struct MjmlBody {
    /// A sequence of MJML section-level elements (`<mj-section>`…) to put inside `<mj-body>`.
    pub mjml: String,
    /// Findings (e.g. image without alt text), lines relative to the Markdown.
    pub warnings: Vec<Diagnostic>,
}

/// Converts Markdown to MJML.
pub fn markdown_to_mjml(markdown: &str, links: &LinkRewriter) -> MjmlBody {
    let _ = (markdown, links);
    MjmlBody::default()
}
