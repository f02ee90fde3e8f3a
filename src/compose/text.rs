//! Markdown to plain text (the text/plain twin). PLACEHOLDER: being written.
use super::links::LinkRewriter;

/// Converts Markdown to wrapped plain text.
pub fn markdown_to_text(markdown: &str, links: &LinkRewriter, width: usize) -> String {
    let _ = (links, width);
    markdown.to_string()
}
