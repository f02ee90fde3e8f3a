//! A cap on how deeply Markdown may nest: lists in lists, quotes in quotes,
//! emphasis in emphasis. Both walkers and the MJML renderer recurse on the
//! structure, so 10,000 nested list items (`- - - - …`, 20 KB) or 50,000
//! `>` would overflow the stack and abort the process — `serve` included.
//!
//! [`check`] finds the first place past [`MAX_NESTING`], for an error that
//! names the line; [`flatten`] is the guard where the events are produced
//! ([`super::blocks::parse`]): it ends the document where the cap is passed
//! (closing what is open), so no caller can be driven past it.

use std::ops::Range;

use pulldown_cmark::{Event, Parser};

use super::blocks::{html_tokens, is_void, HtmlToken};

/// The deepest nesting of Markdown elements accepted. Real issues stay far
/// below: all 77 corpus issues and the seed compose under it (tests/corpus.rs).
pub const MAX_NESTING: usize = 64;

/// Where the nesting first goes past [`MAX_NESTING`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    /// Byte offset of the element that goes past the cap.
    pub offset: usize,
}

/// The first element nested deeper than [`MAX_NESTING`], if any.
/// Raw HTML counts too: its elements nest inside the Markdown ones (and
/// each other) in the HTML the renderer parses. Void elements and those
/// whose end tag may be left out (`p`, `li`, `td`, …) are not counted.
pub fn check(markdown: &str) -> Result<(), TooDeep> {
    let (mut depth, mut html) = (0usize, 0usize);
    for (event, range) in Parser::new_ext(markdown, super::markdown_options()).into_offset_iter() {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Html(ref s) | Event::InlineHtml(ref s) => {
                for (_, token) in html_tokens(s) {
                    match token {
                        HtmlToken::Start {
                            name, self_closing, ..
                        } if !self_closing && !is_void(&name) && !end_tag_optional(&name) => {
                            html += 1;
                            if depth + html > MAX_NESTING {
                                break;
                            }
                        }
                        HtmlToken::End { name, .. } if !end_tag_optional(&name) => {
                            html = html.saturating_sub(1)
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        if depth + html > MAX_NESTING {
            return Err(TooDeep {
                offset: range.start,
            });
        }
    }
    Ok(())
}

/// Elements whose end tag HTML lets authors leave out.
fn end_tag_optional(name: &str) -> bool {
    matches!(
        name,
        "p" | "li"
            | "dt"
            | "dd"
            | "tr"
            | "td"
            | "th"
            | "thead"
            | "tbody"
            | "tfoot"
            | "option"
            | "optgroup"
            | "colgroup"
            | "rp"
            | "rt"
            | "caption"
    )
}

/// `events` up to the first element nested deeper than [`MAX_NESTING`],
/// with the elements still open then closed in order: the rest of such a
/// document is not read at all (pulldown-cmark's iteration of tens of
/// thousands of nested quotes is quadratic, a minute for 50,000 `>`), and
/// [`check`] has already refused it wherever an issue is composed.
pub fn flatten<'a>(
    events: impl Iterator<Item = (Event<'a>, Range<usize>)>,
) -> Vec<(Event<'a>, Range<usize>)> {
    let mut out = Vec::new();
    let mut open: Vec<(pulldown_cmark::TagEnd, Range<usize>)> = Vec::new();
    for (event, range) in events {
        match &event {
            Event::Start(tag) => {
                if open.len() >= MAX_NESTING {
                    break;
                }
                open.push((tag.to_end(), range.clone()));
            }
            Event::End(_) => {
                open.pop();
            }
            _ => {}
        }
        out.push((event, range));
    }
    while let Some((end, range)) = open.pop() {
        out.push((Event::End(end), range));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep_list(n: usize) -> String {
        format!("intro\n\n{}x\n", "- ".repeat(n))
    }

    #[test]
    fn the_cap_is_found_with_its_offset() {
        assert_eq!(check(&deep_list(MAX_NESTING / 2)), Ok(()));
        let md = deep_list(10_000);
        let e = check(&md).unwrap_err();
        assert!(e.offset >= "intro\n\n".len(), "{e:?}");
        assert!(check(&format!("{} x\n", ">".repeat(50_000))).is_err());
        assert!(check(&format!(
            "{}x{}\n",
            "*a ".repeat(10_000),
            " b*".repeat(10_000)
        ))
        .is_err());
        assert!(check(&format!(
            "{}x{}\n",
            "<div>".repeat(20_000),
            "</div>".repeat(20_000)
        ))
        .is_err());
        assert!(check(&format!("a {}x\n", "<b>".repeat(20_000))).is_err());
        // Siblings are not nesting, and unclosed <p>/<li> do not accumulate.
        assert_eq!(check(&"<div>x</div>\n\n".repeat(500)), Ok(()));
        assert_eq!(check(&"<p>x<br>\n".repeat(500)), Ok(()));
    }

    #[test]
    fn the_walkers_called_directly_survive_deep_input() {
        // Run on a thread with a small (256 KB) stack: without the guard in
        // blocks::parse the recursion overflows long before 10,000 levels
        // (and 50,000 quotes took a minute to iterate).
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let links = crate::compose::links::LinkRewriter::default();
                for md in [
                    deep_list(10_000),
                    format!("{} x\n", ">".repeat(50_000)),
                    format!("{}x{}\n", "*a ".repeat(10_000), " b*".repeat(10_000)),
                ] {
                    let t = std::time::Instant::now();
                    let mjml = crate::compose::mjml::markdown_to_mjml(&md, &links);
                    let text = crate::compose::text::markdown_to_text(&md, &links, 72);
                    assert!(
                        t.elapsed() < std::time::Duration::from_secs(10),
                        "{:?}",
                        t.elapsed()
                    );
                    assert!(!mjml.mjml.is_empty() && !text.is_empty());
                }
            })
            .unwrap();
        handle.join().expect("no overflow");
    }

    #[test]
    fn flatten_stops_at_the_cap_balanced() {
        let md = format!("before\n\n{}", deep_list(1_000));
        let events =
            flatten(Parser::new_ext(&md, super::super::markdown_options()).into_offset_iter());
        let mut depth = 0usize;
        let mut max = 0;
        for (e, _) in &events {
            match e {
                Event::Start(_) => {
                    depth += 1;
                    max = max.max(depth);
                }
                Event::End(_) => depth -= 1,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
        assert_eq!(max, MAX_NESTING);
        assert!(events
            .iter()
            .any(|(e, _)| matches!(e, Event::Text(t) if t.as_ref() == "before")));
    }
}
