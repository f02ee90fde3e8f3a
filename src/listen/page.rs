//! The few small pages `listen` shows a reader. Every value put in a page
//! goes through [`esc`]; the style is one inline block allowed by its hash in
//! the Content-Security-Policy (no script at all).

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The one style block of every page.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1f2937}\
h1{font-size:1.4rem}button{font:inherit;padding:.5rem 1.2rem;border:1px solid #1f2937;border-radius:.4rem;background:#1f2937;color:#fff;cursor:pointer}\
.who{font-family:ui-monospace,monospace}.note{color:#6b7280;font-size:.9rem}";

/// The Content-Security-Policy of every response: nothing loads, nothing
/// runs, forms post only back here, no page may frame ours.
pub fn content_security_policy() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    html_escape::encode_quoted_attribute(s).into_owned()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n",
        esc(title)
    )
}

/// A one-button form. `action` is relative (`../unsubscribe/…`), so the pages
/// work when the proxy serves `listen` under a path prefix.
fn form(action: &str, id: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"confirm\" value=\"yes\">\
         <button type=\"submit\" id=\"{id}\">{}</button></form>",
        esc(action),
        esc(label)
    )
}

/// The page at a message's unsubscribe URL: who, and one button. Showing it
/// changes nothing (link scanners fetch every GET).
pub fn confirm_unsubscribe(newsletter: &str, masked: &str, token: &str) -> String {
    page(
        &format!("Unsubscribe from {newsletter}"),
        &format!(
            "<h1>Unsubscribe from {}?</h1>\n<p>The address <span class=\"who\" id=\"address\">{}</span> \
             will get no more issues.</p>\n{}",
            esc(newsletter),
            esc(masked),
            form(&format!("../unsubscribe/{token}"), "unsubscribe", "Unsubscribe")
        ),
    )
}

/// After an unsubscribe: done, and the signed undo.
pub fn unsubscribed(newsletter: &str, masked: &str, resubscribe_token: &str) -> String {
    page(
        &format!("Unsubscribed from {newsletter}"),
        &format!(
            "<h1 id=\"done\">You are unsubscribed</h1>\n<p><span class=\"who\" id=\"address\">{}</span> \
             will get no more issues of {}.</p>\n<p class=\"note\">Did you click by mistake?</p>\n{}",
            esc(masked),
            esc(newsletter),
            form(
                &format!("../resubscribe/{resubscribe_token}"),
                "resubscribe",
                "Resubscribe"
            )
        ),
    )
}

/// The page at an undo URL fetched with GET: one button, no change.
pub fn confirm_resubscribe(newsletter: &str, masked: &str, token: &str) -> String {
    page(
        &format!("Resubscribe to {newsletter}"),
        &format!(
            "<h1>Resubscribe to {}?</h1>\n<p><span class=\"who\" id=\"address\">{}</span> \
             will get the next issues again.</p>\n{}",
            esc(newsletter),
            esc(masked),
            form(
                &format!("../resubscribe/{token}"),
                "resubscribe",
                "Resubscribe"
            )
        ),
    )
}

/// After the undo.
pub fn resubscribed(newsletter: &str, masked: &str, unsubscribe_token: &str) -> String {
    page(
        &format!("Subscribed to {newsletter}"),
        &format!(
            "<h1 id=\"done\">You are subscribed again</h1>\n<p><span class=\"who\" id=\"address\">{}</span> \
             will get the next issues of {}.</p>\n{}",
            esc(masked),
            esc(newsletter),
            form(
                &format!("../unsubscribe/{unsubscribe_token}"),
                "unsubscribe",
                "Unsubscribe"
            )
        ),
    )
}

/// Any link that does not open: the same words whatever was wrong with it,
/// so the page tells nothing about any address.
pub fn invalid_link() -> String {
    page(
        "Link not valid",
        "<h1>This link is not valid</h1>\n<p>It may have been cut or changed. \
         Use the unsubscribe link in the newsletter itself, or reply to the newsletter \
         and ask to be removed.</p>",
    )
}

/// The store could not take the change: nothing was changed.
pub fn try_again() -> String {
    page(
        "Please try again",
        "<h1>Please try again in a minute</h1>\n<p>Your request could not be saved, \
         so nothing was changed.</p>",
    )
}

/// A short page for other errors (size limits, timeouts, unknown pages).
pub fn plain_error(title: &str) -> String {
    page(title, &format!("<h1>{}</h1>", esc(title)))
}

/// After `POST /subscribe`: check your inbox (the same whatever happened,
/// so the form tells nobody who is on the list).
pub fn check_inbox(newsletter: &str) -> String {
    page(
        &format!("Check your inbox: {newsletter}"),
        &format!(
            "<h1 id=\"check\">Check your inbox</h1>\n<p>If the address can get mail, a message with \
             a link to confirm your subscription to {} is on its way. Nothing is sent until you confirm.</p>",
            esc(newsletter)
        ),
    )
}

/// The sign-up form sent an address the list would refuse.
pub fn bad_address(newsletter: &str) -> String {
    page(
        &format!("Sign up for {newsletter}"),
        "<h1>That address does not look right</h1>\n<p>Go back and check the email address you typed.</p>",
    )
}

/// The page at a confirmation link: who, and one button. Showing it
/// confirms nothing (link scanners fetch every GET).
pub fn confirm_signup(newsletter: &str, masked: &str, token: &str) -> String {
    page(
        &format!("Confirm your subscription to {newsletter}"),
        &format!(
            "<h1>Subscribe to {}?</h1>\n<p>The address <span class=\"who\" id=\"address\">{}</span> \
             will get the next issues.</p>\n{}",
            esc(newsletter),
            esc(masked),
            form(&format!("../confirm/{token}"), "confirm", "Confirm")
        ),
    )
}

/// After the confirmation: done, and the way out.
pub fn signup_confirmed(newsletter: &str, masked: &str, unsubscribe_token: &str) -> String {
    page(
        &format!("Subscribed to {newsletter}"),
        &format!(
            "<h1 id=\"done\">You are subscribed</h1>\n<p><span class=\"who\" id=\"address\">{}</span> \
             will get the next issue of {}.</p>\n<p class=\"note\">Changed your mind?</p>\n{}",
            esc(masked),
            esc(newsletter),
            form(
                &format!("../unsubscribe/{unsubscribe_token}"),
                "unsubscribe",
                "Unsubscribe"
            )
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let p = confirm_unsubscribe("<script>\"x\"&", "a***@b***.example", "t\"><b>");
        assert!(!p.contains("<script>"), "{p}");
        assert!(p.contains("&lt;script&gt;&quot;x&quot;&amp;"), "{p}");
        assert!(p.contains("../unsubscribe/t&quot;&gt;&lt;b&gt;"), "{p}");
    }

    #[test]
    fn the_policy_allows_exactly_our_style() {
        let csp = content_security_policy();
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        assert!(csp.contains(&hash));
        assert!(csp.starts_with("default-src 'none'"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }
}
