//! One render of the served issue: config → composer → [`compose_file`], the
//! same code path as `preview` and `send`, turned into what the page shows.
//!
//! The iframes show the HTML part of the sample message (the `.eml` that
//! `preview` writes), decoded from quoted-printable: exactly the bytes a
//! subscriber's mail client receives. `/email.html` serves `email.html`
//! unchanged, which is byte-for-byte the `<stem>.html` that `preview` writes
//! (with the per-recipient slot sentinels still in it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::check::GMAIL_CLIP_BYTES;
use crate::compose::Composer;
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::pipeline::{compose_file, SAMPLE_RECIPIENT};

/// A successful render: everything the page shows about the email.
#[derive(Debug, Clone, Serialize)]
pub struct Rendered {
    /// The issue file.
    pub issue_file: PathBuf,
    /// The `From` header (the configured sender).
    pub from: String,
    /// The `Reply-To` header, when configured.
    pub reply_to: Option<String>,
    /// The sample recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The inbox preview line.
    pub preheader: String,
    /// Size of the HTML part in bytes, as `check` measures it against Gmail's clip.
    pub html_bytes: usize,
    /// Gmail's clipping threshold in bytes.
    pub clip_bytes: usize,
    /// Size of the plain-text part in bytes.
    pub text_bytes: usize,
    /// Size of the whole sample message in bytes.
    pub eml_bytes: usize,
    /// Every check's findings.
    pub diagnostics: Vec<Diagnostic>,
    /// The HTML part of the sample message, decoded: what the iframes show.
    pub sample_html: String,
    /// The plain-text part of the sample message, decoded.
    pub sample_text: String,
    /// `email.html`: byte-for-byte what `preview` writes to `<stem>.html`.
    #[serde(skip)]
    pub email_html: String,
    /// `email.text`: what `preview` writes to `<stem>.txt`.
    #[serde(skip)]
    pub email_text: String,
    /// The MJML document (`<stem>.mjml`).
    #[serde(skip)]
    pub mjml: String,
    /// The sample message (`<stem>.eml`).
    #[serde(skip)]
    pub eml: Vec<u8>,
    /// The issue's page as `letterpress archive` writes it (served at
    /// `/archive/issue/`), or a page saying why it could not be made.
    #[serde(skip)]
    pub archive_html: String,
    /// The archive's static files the page links to (served at `/archive/<name>`).
    #[serde(skip)]
    pub archive_files: std::collections::BTreeMap<String, Vec<u8>>,
}

/// A failed render: what went wrong, where, and the lines around it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorInfo {
    /// The file at fault, when known.
    pub file: Option<PathBuf>,
    /// 1-based line in that file, when known.
    pub line: Option<usize>,
    /// What is wrong (without the location).
    pub message: String,
    /// The whole message as the command line would print it (with `file:line`).
    pub display: String,
    /// Up to five lines of the file around `line`.
    pub excerpt: Vec<ExcerptLine>,
}

/// One line of an [`ErrorInfo`] excerpt.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExcerptLine {
    /// 1-based line number.
    pub number: usize,
    /// The line's text.
    pub text: String,
    /// True for the line the error is on.
    pub hit: bool,
}

/// The files one render depends on, so the watcher knows what to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The issue file.
    pub issue: PathBuf,
    /// The configuration file.
    pub config: PathBuf,
    /// The template directory, when the config could be read.
    pub templates: Option<PathBuf>,
}

/// The outcome of one render.
#[derive(Debug)]
pub struct Outcome {
    /// The email, or why there is none.
    pub result: Result<Rendered, ErrorInfo>,
    /// What to watch for the next render.
    pub inputs: Inputs,
    /// How long the render took.
    pub took: Duration,
}

/// Loads the config afresh and renders `issue` with it. Never panics on bad
/// input: every failure comes back as an [`ErrorInfo`].
pub fn render(config_path: &Path, issue: &Path) -> Outcome {
    let start = Instant::now();
    let mut inputs = Inputs {
        issue: issue.to_path_buf(),
        config: config_path.to_path_buf(),
        templates: None,
    };
    let result = (|| {
        let config = Config::from_file(config_path)?;
        inputs.templates = Some(config.resolve(&config.paths.templates));
        render_with(&config, issue)
    })()
    .map_err(|e| ErrorInfo::from_error(&e));
    Outcome {
        result,
        inputs,
        took: start.elapsed(),
    }
}

/// Renders `issue` with `config` through [`compose_file`].
pub fn render_with(config: &Config, issue: &Path) -> crate::Result<Rendered> {
    let composer = Composer::new(config)?;
    let composed = compose_file(&composer, issue)?;
    // The web page is a second view: when it fails (say, templates/archive/
    // is missing) the email preview still works and the pane says why.
    let (archive_html, archive_files) = match crate::archive::preview(config, &composed.issue) {
        Ok(p) => (p.html, p.files),
        Err(e) => (
            format!(
                "<!doctype html><meta charset=\"utf-8\"><title>No archive page</title><p>The archive page could not be made: {}</p>",
                html_escape::encode_text(&e.to_string())
            ),
            Default::default(),
        ),
    };
    let eml = composed.sample.bytes;
    let sample_html = mime_part(&eml, "text/html")
        .ok_or_else(|| Error::Usage("the sample message has no text/html part".into()))?;
    let sample_text = mime_part(&eml, "text/plain")
        .ok_or_else(|| Error::Usage("the sample message has no text/plain part".into()))?;
    Ok(Rendered {
        issue_file: issue.to_path_buf(),
        from: config.newsletter.from.clone(),
        reply_to: config.newsletter.reply_to.clone(),
        to: SAMPLE_RECIPIENT.to_string(),
        subject: composed.email.subject.clone(),
        preheader: composed.email.preheader.clone(),
        html_bytes: composed.email.html.len(),
        clip_bytes: GMAIL_CLIP_BYTES,
        text_bytes: composed.email.text.len(),
        eml_bytes: eml.len(),
        diagnostics: composed.diagnostics,
        sample_html,
        sample_text,
        email_html: composed.email.html,
        email_text: composed.email.text,
        mjml: composed.email.mjml,
        eml,
        archive_html,
        archive_files,
    })
}

impl ErrorInfo {
    /// The location, message and excerpt of `e`.
    pub fn from_error(e: &Error) -> ErrorInfo {
        let (file, line, message) = match e {
            Error::Parse {
                path,
                line,
                message,
            }
            | Error::Template {
                path,
                line,
                message,
            } => (Some(path.clone()), *line, message.clone()),
            Error::NotUtf8 { path, line, .. } => (Some(path.clone()), Some(*line), e.to_string()),
            Error::Io { path, source, .. } => (Some(path.clone()), None, format!("{e}: {source}")),
            Error::Mjml(m) | Error::Usage(m) => (None, None, m.clone()),
            Error::Store { path, message, .. } => (Some(path.clone()), None, message.clone()),
        };
        let display = match e {
            Error::Io { source, .. } => format!("{e}: {source}"),
            _ => e.to_string(),
        };
        let excerpt = match (&file, line) {
            (Some(f), Some(l)) => excerpt(f, l),
            _ => Vec::new(),
        };
        ErrorInfo {
            file,
            line,
            message,
            display,
            excerpt,
        }
    }
}

/// Lines `line - 2 ..= line + 2` of `file` (empty when it cannot be read).
fn excerpt(file: &Path, line: usize) -> Vec<ExcerptLine> {
    let Ok(bytes) = std::fs::read(file) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let first = line.saturating_sub(2).max(1);
    text.lines()
        .enumerate()
        .map(|(i, t)| (i + 1, t))
        .skip(first - 1)
        .take_while(|&(n, _)| n <= line + 2)
        .map(|(number, t)| ExcerptLine {
            number,
            text: t.chars().take(300).collect(),
            hit: number == line,
        })
        .collect()
}

/// The decoded body of the first part of `message` whose content type is
/// `content_type` (a single part message or one level of multipart).
pub fn mime_part(message: &[u8], content_type: &str) -> Option<String> {
    let text = std::str::from_utf8(message).ok()?;
    let (headers, body) = split_head(text)?;
    let ctype = header(headers, "content-type")?;
    if let Some(boundary) = param(&ctype, "boundary") {
        let delimiter = format!("--{boundary}");
        for part in body.split(&delimiter).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part.strip_prefix("\r\n").unwrap_or(part);
            let part = part.strip_suffix("\r\n").unwrap_or(part);
            if let Some(found) = mime_part(part.as_bytes(), content_type) {
                return Some(found);
            }
        }
        return None;
    }
    let mime = ctype.split(';').next()?.trim();
    if !mime.eq_ignore_ascii_case(content_type) {
        return None;
    }
    let encoding = header(headers, "content-transfer-encoding").unwrap_or_default();
    if encoding.trim().eq_ignore_ascii_case("quoted-printable") {
        String::from_utf8(qp_decode(body.as_bytes())).ok()
    } else if encoding.trim().eq_ignore_ascii_case("base64") {
        use base64::Engine as _;
        let clean: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(clean)
            .ok()?;
        String::from_utf8(bytes).ok()
    } else {
        Some(body.to_string())
    }
}

/// Splits a message or part at the blank line after its headers.
fn split_head(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix("\r\n") {
        return Some(("", rest));
    }
    let i = text.find("\r\n\r\n")?;
    Some((&text[..i], &text[i + 4..]))
}

/// The unfolded value of header `name` (case-insensitive).
fn header(headers: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in headers.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(v) = value.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_string());
            }
        }
    }
    value
}

/// Parameter `name` of a structured header value (`boundary="x"`).
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Decodes quoted-printable (RFC 2045): soft breaks removed, `=XX` decoded,
/// hard CRLF line breaks kept as they are.
pub fn qp_decode(encoded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        let b = encoded[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        let rest = &encoded[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let Some(v) = rest
            .get(..2)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::qp_encode;

    #[test]
    fn qp_decode_inverts_the_encoder() {
        let text =
            "héllo = wörld 🔌 trailing \r\n.dot\r\n<a href=\"x\">".to_string() + &"y".repeat(200);
        assert_eq!(qp_decode(&qp_encode(&text, false)), text.as_bytes());
        assert_eq!(qp_decode(b"a=3Db=\r\nc=\nd"), b"a=bcd");
        assert_eq!(qp_decode(b"bad=ZZ end="), b"bad=ZZ end=");
    }

    #[test]
    fn finds_parts_of_a_multipart_message() {
        let eml = "From: a@b.c\r\nContent-Type: multipart/alternative;\r\n boundary=\"XyZ\"\r\nMIME-Version: 1.0\r\n\r\n\
--XyZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nplain =C3=A9\r\n\
--XyZ\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p a=3D\"1\">long=\r\nline</p>\r\n--XyZ--\r\n";
        assert_eq!(mime_part(eml.as_bytes(), "text/plain").unwrap(), "plain é");
        assert_eq!(
            mime_part(eml.as_bytes(), "text/html").unwrap(),
            "<p a=\"1\">longline</p>"
        );
        assert_eq!(mime_part(eml.as_bytes(), "image/png"), None);
    }

    #[test]
    fn error_info_names_file_line_and_shows_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("040.md");
        std::fs::write(&f, "---\ntitle: x\ndate: someday\n---\nbody\n").unwrap();
        let e = crate::issue::Issue::from_file(&f).unwrap_err();
        let info = ErrorInfo::from_error(&e);
        assert_eq!(info.file.as_deref(), Some(f.as_path()));
        assert_eq!(info.line, Some(2));
        assert!(info.display.contains("040.md:2"), "{}", info.display);
        assert!(info.excerpt.iter().any(|l| l.hit && l.text == "title: x"));
        assert_eq!(info.excerpt.first().unwrap().number, 1);
        assert_eq!(info.excerpt.last().unwrap().number, 4);
    }
}
