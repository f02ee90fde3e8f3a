//! Markdown to plain text: the text/plain twin of the email.
//!
//! Paragraphs are wrapped to a display width (CJK counts double and may break
//! between characters; URLs never break). Links become `text [n]` with the
//! numbered URLs listed at the end of each `#`/`##` section; footnotes become
//! `[^n]` with a "Notes" list at the end. Raw HTML is reduced to its text.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use pulldown_cmark::{Alignment, Event, HeadingLevel, Tag, TagEnd};
use unicode_width::UnicodeWidthStr;

use super::blocks::{
    self, attr, html_block_source, html_tokens, link_target, matching_end, plain_text, Figure,
    Footnotes, HtmlToken, Spanned,
};
use super::html_policy::{tag_policy, RawHtmlFilter, TagPolicy};
use super::links::LinkRewriter;
use super::wrap::wrap;

/// Converts Markdown to wrapped plain text.
pub fn markdown_to_text(markdown: &str, links: &LinkRewriter, width: usize) -> String {
    let events = blocks::parse(markdown);
    let mut w = Writer {
        links,
        events: &events,
        width: width.max(1),
        lines: Vec::new(),
        containers: Vec::new(),
        blank_before: false,
        inline: String::new(),
        links_open: Vec::new(),
        refs: HashMap::new(),
        pending_refs: Vec::new(),
        lists: Vec::new(),
        filter: RawHtmlFilter::default(),
        footnotes: Footnotes::new(&events),
        table: None,
        code: None,
        task: None,
        raw_pre: 0,
        raw_cells: 0,
    };
    w.walk(0..events.len());
    w.finish()
}

/// What a rule looks like.
const RULE: &str = "--------------------";

/// The narrowest a nested block is wrapped to, however deep it is.
const MIN_WRAP: usize = 20;

#[derive(Debug)]
enum Container {
    Quote,
    Item {
        marker: String,
        used: bool,
        tight: bool,
    },
}

struct Table {
    alignments: Vec<Alignment>,
    rows: Vec<Vec<String>>,
    has_head: bool,
}

struct Writer<'a, 'e> {
    links: &'a LinkRewriter,
    events: &'e [Spanned<'a>],
    width: usize,
    /// Lines written so far.
    lines: Vec<String>,
    /// The quotes and list items the next line is in.
    containers: Vec<Container>,
    /// The next block needs a blank line before it.
    blank_before: bool,
    /// Inline text of the block being built; `\n` breaks a line, a blank
    /// line separates paragraphs (raw HTML can hold several).
    inline: String,
    /// Open links: where their text starts in `inline`, and their target.
    links_open: Vec<(usize, Option<String>)>,
    /// Reference number of each URL.
    refs: HashMap<String, usize>,
    /// References not listed yet.
    pending_refs: Vec<(usize, String)>,
    /// Open lists: the next item number (ordered lists) and tightness.
    lists: Vec<(Option<u64>, bool)>,
    filter: RawHtmlFilter,
    footnotes: Footnotes,
    table: Option<Table>,
    code: Option<String>,
    /// A task list marker waiting for its item's text.
    task: Option<bool>,
    /// Inside raw `<pre>`.
    raw_pre: usize,
    /// Cells seen in the current raw `<tr>`.
    raw_cells: usize,
}

impl Writer<'_, '_> {
    fn walk(&mut self, range: Range<usize>) {
        let mut i = range.start;
        while i < range.end {
            match &self.events[i].0 {
                Event::Start(Tag::Paragraph) => {
                    if let Some(figure) = Figure::at(self.events, i) {
                        self.figure(&figure);
                        i = figure.next;
                        continue;
                    }
                    self.start(i);
                }
                Event::Start(Tag::Image { .. }) => {
                    let end = matching_end(self.events, i);
                    if !self.filter.skipping() {
                        let alt = plain_text(&self.events[i + 1..end]);
                        push_image(&mut self.inline, &alt);
                    }
                    i = end + 1;
                    continue;
                }
                Event::Start(Tag::HtmlBlock) => {
                    let end = matching_end(self.events, i);
                    self.flush_inline();
                    self.filter.reset();
                    self.raw_html(&html_block_source(self.events, i, end));
                    self.flush_inline();
                    self.filter.reset();
                    i = end + 1;
                    continue;
                }
                Event::Start(Tag::MetadataBlock(_) | Tag::FootnoteDefinition(_)) => {
                    i = matching_end(self.events, i) + 1;
                    continue;
                }
                Event::Start(_) => self.start(i),
                Event::End(end) => self.end(end),
                Event::Text(text) => {
                    if let Some(code) = &mut self.code {
                        code.push_str(text);
                    } else if !self.filter.skipping() {
                        self.inline.push_str(text);
                    }
                }
                Event::Code(code) | Event::InlineMath(code) => {
                    if !self.filter.skipping() {
                        self.inline.push('`');
                        self.inline.push_str(code);
                        self.inline.push('`');
                    }
                }
                Event::DisplayMath(code) => self.code_block(code),
                Event::Html(html) | Event::InlineHtml(html) => self.raw_html(html),
                Event::FootnoteReference(label) => match self.footnotes.number(label) {
                    Some(n) => self.inline.push_str(&format!("[^{n}]")),
                    None => self.inline.push_str(&format!("[^{label}]")),
                },
                Event::SoftBreak => self.inline.push(' '),
                Event::HardBreak => self.inline.push('\n'),
                Event::Rule => {
                    self.flush_inline();
                    self.block(RULE);
                }
                Event::TaskListMarker(checked) => self.task = Some(*checked),
            }
            i += 1;
        }
    }

    fn start(&mut self, index: usize) {
        let Event::Start(tag) = &self.events[index].0 else {
            return;
        };
        match tag {
            Tag::Emphasis | Tag::Superscript | Tag::Subscript => {}
            Tag::Strong => self.inline.push('*'),
            Tag::Strikethrough => self.inline.push('~'),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                let target = link_target(*link_type, dest_url);
                self.links_open.push((self.inline.len(), Some(target)));
            }
            _ => {
                self.flush_inline();
                self.filter.reset();
            }
        }
        match tag {
            // References are listed at the end of each `#`/`##` section.
            Tag::Heading {
                level: HeadingLevel::H1 | HeadingLevel::H2,
                ..
            } if self.at_top() => self.flush_refs(),
            Tag::BlockQuote(_) => {
                self.begin_block();
                self.containers.push(Container::Quote);
            }
            Tag::CodeBlock(_) => self.code = Some(String::new()),
            Tag::List(start) => {
                self.begin_block();
                self.lists.push((*start, list_is_tight(self.events, index)));
            }
            Tag::Item => {
                let (marker, tight) = match self.lists.last_mut() {
                    Some((Some(n), tight)) => {
                        *n += 1;
                        (format!("{}. ", *n - 1), *tight)
                    }
                    Some((None, tight)) => ("- ".to_string(), *tight),
                    None => ("- ".to_string(), true),
                };
                if !tight && self.blank_before {
                    self.separator();
                }
                self.blank_before = false;
                self.containers.push(Container::Item {
                    marker,
                    used: false,
                    tight,
                });
            }
            Tag::Table(alignments) => {
                self.table = Some(Table {
                    alignments: alignments.clone(),
                    rows: Vec::new(),
                    has_head: false,
                });
            }
            Tag::TableHead | Tag::TableRow => {
                if let Some(t) = &mut self.table {
                    t.rows.push(Vec::new());
                }
            }
            _ => {}
        }
    }

    fn end(&mut self, end: &TagEnd) {
        match end {
            TagEnd::Emphasis | TagEnd::Superscript | TagEnd::Subscript | TagEnd::Image => {}
            TagEnd::Strong => self.inline.push('*'),
            TagEnd::Strikethrough => self.inline.push('~'),
            TagEnd::Link => {
                if let Some((start, target)) = self.links_open.pop() {
                    self.finish_link(start, target.as_deref());
                }
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.inline);
                let cell = cell.split_whitespace().collect::<Vec<_>>().join(" ");
                if let Some(row) = self.table.as_mut().and_then(|t| t.rows.last_mut()) {
                    row.push(cell);
                }
            }
            TagEnd::TableHead => {
                if let Some(t) = &mut self.table {
                    t.has_head = true;
                }
            }
            TagEnd::TableRow => {}
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.render_table(&table);
                }
            }
            TagEnd::Heading(level) => {
                let text = std::mem::take(&mut self.inline);
                self.heading(*level, text.trim());
            }
            TagEnd::CodeBlock => {
                if let Some(code) = self.code.take() {
                    self.code_block(&code);
                }
            }
            TagEnd::BlockQuote(_) => {
                self.flush_inline();
                self.containers.pop();
                self.blank_before = true;
            }
            TagEnd::List(_) => {
                self.flush_inline();
                self.lists.pop();
                self.blank_before = true;
            }
            TagEnd::Item => self.end_item(),
            _ => self.flush_inline(),
        }
        if !blocks::is_inline_end(end) {
            self.filter.reset();
            self.links_open.clear();
        }
    }

    /// Writes what is left of a list item (or note) and closes it.
    fn end_item(&mut self) {
        self.flush_inline();
        if let Some(done) = self.task.take() {
            self.block(task_box(done));
        }
        if matches!(
            self.containers.last(),
            Some(Container::Item { used: false, .. })
        ) {
            self.emit("");
        }
        self.containers.pop();
        self.blank_before = true;
    }

    /// An image paragraph: `[Image: alt]`, its caption on the next line
    /// unless it only repeats the alt text.
    fn figure(&mut self, figure: &Figure) {
        self.flush_inline();
        let opener = figure.link.unwrap_or(figure.image);
        self.walk(opener..matching_end(self.events, opener) + 1);
        if let Some(caption) = &figure.caption {
            let alt = plain_text(&self.events[figure.image + 1..figure.image_end]);
            if plain_text(&self.events[caption.clone()]).trim() != alt.trim() {
                self.inline.push('\n');
                self.walk(caption.clone());
            }
        }
        self.flush_inline();
    }

    /// Ends a link whose text starts at `start` in `inline`: a reference
    /// number, the address of a `mailto:`, or the URL itself as the text.
    fn finish_link(&mut self, start: usize, target: Option<&str>) {
        let Some(target) = target.map(str::trim).filter(|t| !t.is_empty()) else {
            return;
        };
        let start = start.min(self.inline.len());
        let text = self.inline[start..].trim();
        if let Some(mailto) = target
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("mailto:"))
        {
            let address = target[mailto.len()..].split('?').next().unwrap_or_default();
            if text.is_empty() || text == address || text == target {
                self.inline.truncate(start);
                self.inline.push_str(address);
            } else if !address.is_empty() {
                self.inline.push_str(&format!(" ({address})"));
            }
            return;
        }
        if target.starts_with('#') {
            return;
        }
        let url = self.links.rewrite(target).into_owned();
        if text.is_empty() || text == target || text == url {
            self.inline.truncate(start);
            self.inline.push_str(&url);
            return;
        }
        let next = self.refs.len() + 1;
        let n = *self.refs.entry(url.clone()).or_insert_with(|| {
            self.pending_refs.push((next, url));
            next
        });
        self.inline.push_str(&format!(" [{n}]"));
    }

    /// Appends the text of raw HTML to `inline`.
    fn raw_html(&mut self, html: &str) {
        for (_, token) in html_tokens(html) {
            let Some(token) = self.filter.accept(token) else {
                continue;
            };
            match token {
                HtmlToken::Text(text) => {
                    let text = html_escape::decode_html_entities(text);
                    if self.raw_pre > 0 {
                        self.inline.push_str(&text);
                    } else {
                        push_collapsed(&mut self.inline, &text);
                    }
                }
                HtmlToken::Start {
                    name, attrs, raw, ..
                } => match (tag_policy(&name), name.as_str()) {
                    (TagPolicy::Text, _) => self.inline.push_str(raw),
                    (TagPolicy::Remove, _) => {}
                    (_, "br") => self.inline.push('\n'),
                    (_, "img") => push_image(&mut self.inline, attr(&attrs, "alt").unwrap_or("")),
                    (_, "hr") => self.inline.push_str(&format!("\n\n{RULE}\n\n")),
                    (_, "a") => self
                        .links_open
                        .push((self.inline.len(), attr(&attrs, "href").map(str::to_string))),
                    (_, "li") => self.inline.push_str("\n- "),
                    (_, "tr") => {
                        self.raw_cells = 0;
                        self.inline.push('\n');
                    }
                    (_, "td" | "th") => {
                        if self.raw_cells > 0 {
                            self.inline.push_str(" | ");
                        }
                        self.raw_cells += 1;
                    }
                    (_, name) => {
                        if name == "pre" {
                            self.raw_pre += 1;
                        }
                        if is_html_block(name) {
                            self.inline.push_str("\n\n");
                        }
                    }
                },
                HtmlToken::End { name, raw } => match (tag_policy(&name), name.as_str()) {
                    (TagPolicy::Text, _) => self.inline.push_str(raw),
                    (TagPolicy::Remove, _) => {}
                    (_, "a") => {
                        if let Some((start, target)) = self.links_open.pop() {
                            self.finish_link(start, target.as_deref());
                        }
                    }
                    (_, name) => {
                        if name == "pre" {
                            self.raw_pre = self.raw_pre.saturating_sub(1);
                        }
                        if is_html_block(name) {
                            self.inline.push_str("\n\n");
                        }
                    }
                },
                HtmlToken::Comment => {}
            }
        }
    }

    fn heading(&mut self, level: HeadingLevel, text: &str) {
        if text.is_empty() {
            return;
        }
        let text = match level {
            HeadingLevel::H1 | HeadingLevel::H2 => Cow::Borrowed(text),
            _ => Cow::Owned(format!("{} {text}", "#".repeat(level as usize))),
        };
        let lines = wrap(&text, self.avail());
        self.begin_block();
        for line in &lines {
            self.emit(line);
        }
        let underline = match level {
            HeadingLevel::H1 => "=",
            HeadingLevel::H2 => "-",
            _ => "",
        };
        if !underline.is_empty() {
            let width = lines.iter().map(|l| l.width()).max().unwrap_or(0);
            self.emit(&underline.repeat(width));
        }
        self.blank_before = true;
    }

    fn code_block(&mut self, code: &str) {
        self.begin_block();
        for line in code.trim_end_matches('\n').split('\n') {
            self.emit(&format!("    {line}"));
        }
        self.blank_before = true;
    }

    /// A table aligned in columns if it fits, else one `Header: value` block per row.
    fn render_table(&mut self, table: &Table) {
        let columns = table.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &table.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.width());
            }
        }
        let total = widths.iter().sum::<usize>() + 3 * columns.saturating_sub(1);
        if total <= self.avail() {
            self.begin_block();
            for (r, row) in table.rows.iter().enumerate() {
                let cells: Vec<String> = widths
                    .iter()
                    .enumerate()
                    .map(|(c, &w)| {
                        let cell = row.get(c).map_or("", String::as_str);
                        let align = table.alignments.get(c).copied().unwrap_or(Alignment::None);
                        pad(cell, w, align)
                    })
                    .collect();
                self.emit(&cells.join(" | "));
                if r == 0 && table.has_head {
                    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
                    self.emit(&rule.join("-|-"));
                }
            }
            self.blank_before = true;
            return;
        }
        let (head, body) = match table.rows.split_first() {
            Some((head, body)) if table.has_head => (Some(head), body),
            _ => (None, &table.rows[..]),
        };
        for row in body {
            let mut text = String::new();
            for (c, cell) in row.iter().enumerate() {
                match head.and_then(|h| h.get(c)).filter(|h| !h.is_empty()) {
                    Some(h) => text.push_str(&format!("{h}: {cell}\n")),
                    None => text.push_str(&format!("{cell}\n")),
                }
            }
            self.block(&text);
            self.blank_before = true;
        }
    }

    /// Writes the pending inline text as wrapped paragraphs.
    fn flush_inline(&mut self) {
        if self.inline.trim().is_empty() {
            self.inline.clear();
            return;
        }
        let mut text = std::mem::take(&mut self.inline);
        if let Some(done) = self.task.take() {
            text.insert_str(0, &format!("{} ", task_box(done)));
        }
        self.links_open.clear();
        self.block(&text);
    }

    /// Writes `text` as paragraphs (split at blank lines) of wrapped lines
    /// (split at `\n`).
    fn block(&mut self, text: &str) {
        let width = self.avail();
        let mut paragraph: Vec<String> = Vec::new();
        let write = |this: &mut Self, paragraph: &mut Vec<String>| {
            if !paragraph.is_empty() {
                this.begin_block();
                for line in paragraph.drain(..) {
                    this.emit(&line);
                }
                this.blank_before = true;
            }
        };
        let mut blank = false;
        for segment in text.split('\n').map(str::trim) {
            if segment.is_empty() {
                blank = true;
                continue;
            }
            if blank {
                write(self, &mut paragraph);
                blank = false;
            }
            paragraph.extend(wrap(segment, width).into_iter().map(Cow::into_owned));
        }
        write(self, &mut paragraph);
    }

    /// Lists the references not listed yet.
    fn flush_refs(&mut self) {
        if self.pending_refs.is_empty() {
            return;
        }
        self.begin_block();
        for (n, url) in std::mem::take(&mut self.pending_refs) {
            self.emit(&format!("[{n}] {url}"));
        }
        self.blank_before = true;
    }

    fn at_top(&self) -> bool {
        self.containers.is_empty()
    }

    /// The width left for text inside the open containers.
    fn avail(&self) -> usize {
        let used: usize = self
            .containers
            .iter()
            .map(|c| match c {
                Container::Quote => 2,
                Container::Item { marker, .. } => marker.width(),
            })
            .sum();
        self.width
            .saturating_sub(used)
            .max(MIN_WRAP.min(self.width))
    }

    /// The prefix of a line: quote marks, then list markers (the first time) or indentation.
    fn prefix(&mut self, use_markers: bool) -> String {
        let mut prefix = String::new();
        for c in &mut self.containers {
            match c {
                Container::Quote => prefix.push_str("> "),
                Container::Item { marker, used, .. } => {
                    if use_markers && !*used {
                        prefix.push_str(marker);
                        *used = true;
                    } else {
                        prefix.push_str(&" ".repeat(marker.width()));
                    }
                }
            }
        }
        prefix
    }

    fn emit(&mut self, line: &str) {
        let mut full = self.prefix(true);
        full.push_str(line);
        full.truncate(full.trim_end().len());
        self.lines.push(full);
    }

    /// A blank line (quote marks only) between blocks.
    fn separator(&mut self) {
        if self.marker_pending() {
            return;
        }
        let mut line = self.prefix(false);
        line.truncate(line.trim_end().len());
        self.lines.push(line);
    }

    fn marker_pending(&self) -> bool {
        self.containers
            .iter()
            .any(|c| matches!(c, Container::Item { used: false, .. }))
    }

    /// Before a block: a blank line, unless it is the first thing in a list
    /// item or in a tight list.
    fn begin_block(&mut self) {
        let tight = matches!(
            self.containers.last(),
            Some(Container::Item { tight: true, .. })
        );
        if self.blank_before && !tight {
            self.separator();
        }
        self.blank_before = false;
    }

    fn finish(mut self) -> String {
        self.flush_inline();
        self.flush_refs();
        let notes = self.footnotes.definitions();
        if !notes.is_empty() {
            self.heading(HeadingLevel::H2, "Notes");
            for (i, (n, events)) in notes.into_iter().enumerate() {
                // One loose item per note, with no blank line between notes.
                if i == 0 {
                    self.begin_block();
                }
                self.blank_before = false;
                self.containers.push(Container::Item {
                    marker: format!("[^{n}] "),
                    used: false,
                    tight: false,
                });
                self.walk(events);
                self.end_item();
            }
            self.flush_refs();
        }
        let mut text = String::new();
        let mut blank = false;
        for line in &self.lines {
            let line = line.trim_end();
            if line.is_empty() {
                blank = !text.is_empty();
                continue;
            }
            if blank {
                text.push('\n');
                blank = false;
            }
            text.push_str(line);
            text.push('\n');
        }
        if text.is_empty() {
            text.push('\n');
        }
        text
    }
}

fn task_box(done: bool) -> &'static str {
    if done {
        "[x]"
    } else {
        "[ ]"
    }
}

fn push_image(out: &mut String, alt: &str) {
    let alt = alt.trim();
    if alt.is_empty() {
        out.push_str("[Image]");
    } else {
        out.push_str("[Image: ");
        push_collapsed(out, alt);
        out.push(']');
    }
}

/// Appends `text` with runs of whitespace collapsed to one space, as HTML shows it.
fn push_collapsed(out: &mut String, text: &str) {
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            space = true;
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    if space {
        out.push(' ');
    }
}

/// Block-level HTML elements: their edges separate paragraphs. Those that
/// end a paragraph, and the inner parts of tables and fieldsets.
fn is_html_block(name: &str) -> bool {
    blocks::closes_paragraph(name)
        || matches!(name, "thead" | "tbody" | "tfoot" | "caption" | "legend")
}

/// True when no item of the list starting at `start` holds a paragraph
/// (pulldown-cmark wraps item content in paragraphs only in loose lists).
fn list_is_tight(events: &[Spanned], start: usize) -> bool {
    let end = matching_end(events, start);
    let mut depth = 0usize;
    for (event, _) in &events[start + 1..end] {
        match event {
            Event::Start(tag) => {
                if depth == 1 && matches!(tag, Tag::Paragraph) {
                    return false;
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// `cell` padded to `width` columns.
fn pad(cell: &str, width: usize, align: Alignment) -> String {
    let gap = width.saturating_sub(cell.width());
    let (left, right) = match align {
        Alignment::Right => (gap, 0),
        Alignment::Center => (gap / 2, gap - gap / 2),
        Alignment::Left | Alignment::None => (0, gap),
    };
    format!("{}{cell}{}", " ".repeat(left), " ".repeat(right))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::links::Utm;

    fn utm() -> LinkRewriter {
        LinkRewriter::new(Some(Utm {
            source: "lp".into(),
            medium: "email".into(),
            campaign: "issue-1".into(),
        }))
    }

    fn text(md: &str) -> String {
        text_w(md, 76)
    }

    fn text_w(md: &str, width: usize) -> String {
        let out = markdown_to_text(md, &LinkRewriter::default(), width);
        assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "{out:?}");
        assert!(!out.contains("\n\n\n"), "{out:?}");
        assert!(out.lines().all(|l| l == l.trim_end()), "{out:?}");
        out
    }

    #[test]
    fn raw_html_blocks_separate_paragraphs() {
        let out = text("<ul><li>one</li><li>two</li></ul>\n\n<p>three</p><hr><div>four</div>\n");
        let words: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            words,
            ["- one", "- two", "three", &"-".repeat(20), "four"],
            "{out}"
        );
    }

    #[test]
    fn paragraphs_wrap_at_width() {
        let md = "The quick brown fox jumps over the lazy dog. ".repeat(6);
        let out = text_w(&md, 30);
        assert!(out.lines().count() > 5, "{out}");
        assert!(out.lines().all(|l| l.width() <= 30), "{out}");
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            md.split_whitespace().collect::<Vec<_>>()
        );
        assert_eq!(text("a\nb\n\n\n\nc  \nd\n"), "a b\n\nc\nd\n");
        assert_eq!(text(""), "\n");
    }

    #[test]
    fn headings() {
        assert_eq!(
            text("# Hello *world*\n\n## Café 漢字\n\n### Third\n\n#### Fourth\ntext\n"),
            "Hello world\n===========\n\nCafé 漢字\n---------\n\n### Third\n\n#### Fourth\n\ntext\n"
        );
    }

    #[test]
    fn inline_styles() {
        assert_eq!(
            text("_em_ **strong** `co de` ~~old~~ ***both***\n"),
            "em *strong* `co de` ~old~ *both*\n"
        );
    }

    #[test]
    fn links_get_numbered_references_per_section() {
        let md = "Intro [one](https://a.example/1), [two](https://b.example/) and [one again](https://a.example/1).\n\n\
                  ## Next\n\nAuto <https://c.example/x>, [mail](mailto:me@d.example?subject=hi), <you@e.example>, [top](#top), [a](https://a.example/1).\n";
        let out = markdown_to_text(md, &utm(), 76);
        let q = "utm_source=lp&utm_medium=email&utm_campaign=issue-1";
        assert_eq!(
            out,
            format!(
                "Intro one [1], two [2] and one again [1].\n\n\
                 [1] https://a.example/1?{q}\n[2] https://b.example/?{q}\n\n\
                 Next\n----\n\n\
                 Auto\nhttps://c.example/x?{q},\nmail (me@d.example), you@e.example, top, a [1].\n"
            )
        );
    }

    #[test]
    fn images_and_figures() {
        assert_eq!(
            text("![A cat](https://i.example/c.png)\n\n_A cat_\n\n![Chart](c.png)\n\n_Sales in 2020_\n\nSee ![icon](i.png) and ![](x.png).\n\n[![Logo](l.png)](https://l.example)\n"),
            "[Image: A cat]\n\n[Image: Chart]\nSales in 2020\n\nSee [Image: icon] and [Image].\n\n[Image: Logo] [1]\n\n[1] https://l.example\n"
        );
    }

    #[test]
    fn lists() {
        let md = "3. three\n4. four is a rather long item that will need to wrap onto a second line\n   - nested\n     - deeper\n\n- [x] done\n- [ ] todo\n\n* loose one\n\n* loose two\n\n  second para\n";
        assert_eq!(
            text_w(md, 40),
            "3. three\n\
             4. four is a rather long item that will\n   need to wrap onto a second line\n   - nested\n     - deeper\n\n\
             - [x] done\n- [ ] todo\n\n\
             - loose one\n\n- loose two\n\n  second para\n"
        );
    }

    #[test]
    fn nested_quotes_wrap_inside_prefix() {
        let md = "> outer words that go on and on and on\n>\n> > inner quote with many words in it too\n\nafter\n";
        assert_eq!(
            text_w(md, 24),
            "> outer words that go on\n> and on and on\n>\n> > inner quote with\n> > many words in it too\n\nafter\n"
        );
    }

    #[test]
    fn code_blocks_indented_not_wrapped() {
        let long = "x".repeat(100);
        let md = format!("Code:\n\n```rust\nfn main() {{\n\n    let s = \"{long}\";\n}}\n```\n\n- item\n\n      indented <b>code</b> &amp;\n");
        assert_eq!(
            text(&md),
            format!("Code:\n\n    fn main() {{\n\n        let s = \"{long}\";\n    }}\n\n- item\n\n      indented <b>code</b> &amp;\n")
        );
    }

    #[test]
    fn rule_and_hard_break() {
        assert_eq!(
            text("a\\\nb\n\n---\n\nc\n"),
            format!("a\nb\n\n{RULE}\n\nc\n")
        );
    }

    #[test]
    fn tables() {
        let md = "| Name | Qty | Note |\n|:-----|----:|:----:|\n| apple | 3 | *red* |\n| kiwi | 12 | x |\n";
        assert_eq!(
            text(md),
            "Name  | Qty | Note\n------|-----|-----\napple |   3 | red\nkiwi  |  12 |  x\n"
        );
        let wide =
            "| Key | Value |\n|---|---|\n| a | one two three four five six |\n| b | seven |\n";
        assert_eq!(
            text_w(wide, 20),
            "Key: a\nValue: one two three\nfour five six\n\nKey: b\nValue: seven\n"
        );
    }

    #[test]
    fn footnotes_go_to_notes() {
        let md = "Claim[^src] and more[^2].\n\n[^2]: Second, see [docs](https://docs.example).\n[^src]: First.\n\n## Later\n\n[x](https://x.example)\n";
        assert_eq!(
            text(md),
            "Claim[^1] and more[^2].\n\nLater\n-----\n\nx [1]\n\n[1] https://x.example\n\n\
             Notes\n-----\n\n[^1] First.\n[^2] Second, see docs [2].\n\n[2] https://docs.example\n"
        );
    }

    #[test]
    fn raw_html_reduced_to_text() {
        let md = "<div class=\"x\">\n<p>One &amp; <b>two</b></p>\n<p>Three<br>four</p>\n</div>\n\n<script>alert(1)</script>\n\n<!-- more -->\n\nInline <span>kept</span> <style>p{}</style>gone? no: <a href=\"https://r.example\">raw link</a> &lt;T&gt; Vec<T>.\n\n<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>\n";
        assert_eq!(
            text(md),
            "One & two\n\nThree\nfour\n\nInline kept gone? no: raw link [1] <T> Vec<T>.\n\nA | B\n1 | 2\n\n[1] https://r.example\n"
        );
    }

    #[test]
    fn cjk_wraps_by_display_width() {
        let md = "比特币是一种去中心化的数字货币，不需要中央银行或单一管理员。它可以在点对点网络上从一个用户发送到另一个用户，无需中介。";
        let out = text_w(md, 20);
        assert!(out.lines().count() >= 6, "{out}");
        for line in out.lines() {
            assert!(line.width() <= 20, "{line:?} is {} wide", line.width());
            assert!(!line.starts_with(['，', '。']), "{line:?}");
        }
        assert_eq!(out.replace('\n', ""), md);
        // Mixed: spaces still break, words are not split.
        let out = text_w("日本語 and English words 日本語のテキスト", 12);
        assert!(out.lines().all(|l| l.width() <= 12), "{out}");
        assert!(out.contains("English"), "{out}");
    }

    #[test]
    fn references_stay_with_their_link_text() {
        // "aaaa bbbb Ext" would fill the width exactly, leaving "[1] cccc
        // dddd" for the next line; the reference takes "Ext" along instead.
        assert_eq!(
            text_w("aaaa bbbb [Ext](https://x.example/) cccc dddd", 13),
            "aaaa bbbb\nExt [1] cccc\ndddd\n\n[1] https://x.example/\n"
        );
    }

    #[test]
    fn long_urls_overrun_unbroken() {
        let url = format!("https://example.com/{}-path?x=1", "very-long".repeat(10));
        let out = text_w(&format!("Go to {url} now, or to 漢字{url}漢字."), 30);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines.iter().filter(|l| l.contains(&url)).count(),
            2,
            "{out}"
        );
        assert!(
            lines.iter().all(|l| l.width() <= 30 || l.contains(&url)),
            "{out}"
        );
    }
}
