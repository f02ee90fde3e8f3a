//! Markdown to MJML: the body of the email.
//!
//! The output is a sequence of MJML column children. Consecutive flow blocks
//! (paragraphs, headings, lists, quotes, code, tables) share one `<mj-text>`
//! holding ordinary HTML; only top-level block images (`<mj-image>`, with an
//! optional `<mj-text mj-class="lp-caption">`) and rules (`<mj-divider>`)
//! break out of it. Footnotes go to a final `<mj-text css-class="lp-footnotes">`.
//!
//! Raw HTML is sanitised so the result is valid MJML whatever the input: see
//! [`super::html_policy`] for which tags, attributes, URLs and styles
//! survive; attributes are re-escaped, and tags are kept balanced.

use std::ops::Range;

use pulldown_cmark::{Alignment, CodeBlockKind, Event, HeadingLevel, Tag, TagEnd};

use super::blocks::{
    self, attr, html_block_source, html_tokens, is_void, link_target, matching_end, plain_text,
    Figure, Footnotes, HtmlToken, Spanned,
};
use super::html_policy::{
    attr_policy, is_safe_style, is_safe_url, scheme, tag_policy, AttrPolicy, RawHtmlFilter,
    TagPolicy,
};
use super::links::LinkRewriter;
use crate::diagnostic::{line_of, Diagnostic};

/// The MJML for an issue's body plus what the walk noticed.
#[derive(Debug, Clone, Default)]
pub struct MjmlBody {
    /// A sequence of MJML column children (`<mj-text>`, `<mj-image>`,
    /// `<mj-divider>`) to put inside `<mj-section><mj-column>`.
    pub mjml: String,
    /// Findings (e.g. image without alt text), lines relative to the Markdown.
    pub warnings: Vec<Diagnostic>,
}

/// Style of images that stay inline in the text.
const INLINE_IMG_STYLE: &str = "max-width:100%;height:auto";

/// Converts Markdown to MJML.
pub fn markdown_to_mjml(markdown: &str, links: &LinkRewriter) -> MjmlBody {
    let events = blocks::parse(markdown);
    let mut w = Writer {
        md: markdown,
        links,
        events: &events,
        out: String::with_capacity(markdown.len() * 3 / 2),
        text_open: false,
        warnings: Vec::new(),
        depth: 0,
        raw_open: Vec::new(),
        phrasing: 0,
        filter: RawHtmlFilter::default(),
        footnotes: Footnotes::new(&events),
        table: None,
        raw_table_rows: Vec::new(),
    };
    w.walk(0..events.len());
    w.finish()
}

struct Table {
    alignments: Vec<Alignment>,
    in_head: bool,
    column: usize,
}

struct Writer<'a, 'e> {
    md: &'a str,
    links: &'a LinkRewriter,
    events: &'e [Spanned<'a>],
    out: String,
    /// An `<mj-text>` is open in the body.
    text_open: bool,
    warnings: Vec<Diagnostic>,
    /// Markdown elements currently open.
    depth: usize,
    /// Raw HTML elements currently open, with the `depth` they were opened at.
    raw_open: Vec<(String, usize)>,
    /// Markdown paragraphs and headings currently open: raw block tags
    /// inside them are unwrapped, as a browser would end the paragraph.
    phrasing: usize,
    filter: RawHtmlFilter,
    footnotes: Footnotes,
    table: Option<Table>,
    /// Rows opened so far in each raw HTML `<table>` still open.
    raw_table_rows: Vec<usize>,
}

impl Writer<'_, '_> {
    /// The output, inside an `<mj-text>`.
    fn html(&mut self) -> &mut String {
        if !self.text_open {
            self.out.push_str("<mj-text>\n");
            self.text_open = true;
        }
        &mut self.out
    }

    /// Closes the open `<mj-text>` (and raw HTML elements in it).
    fn close_text(&mut self) {
        self.close_raw(0);
        if self.text_open {
            self.out.push_str("</mj-text>\n");
            self.text_open = false;
        }
    }

    /// Closes the raw HTML elements opened at `depth` or deeper.
    fn close_raw(&mut self, depth: usize) {
        while let Some((name, d)) = self.raw_open.last() {
            if *d < depth {
                break;
            }
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push('>');
            self.raw_open.pop();
        }
    }

    /// At the top level of the body, outside raw HTML: block images and rules
    /// can break out of the `<mj-text>` here.
    fn at_top(&self) -> bool {
        self.depth == 0 && self.raw_open.is_empty()
    }

    fn line(&self, index: usize) -> usize {
        line_of(self.md, self.events[index].1.start)
    }

    fn walk(&mut self, range: Range<usize>) {
        let mut i = range.start;
        while i < range.end {
            let (event, _) = &self.events[i];
            match event {
                Event::Start(Tag::Paragraph) if self.at_top() => {
                    if let Some(figure) = Figure::at(self.events, i) {
                        self.figure(&figure);
                        i = figure.next;
                        continue;
                    }
                    self.start(i);
                }
                Event::Start(Tag::Image { .. }) => {
                    let end = matching_end(self.events, i);
                    self.inline_image(i, end);
                    i = end + 1;
                    continue;
                }
                Event::Start(Tag::HtmlBlock) => {
                    let end = matching_end(self.events, i);
                    self.html_block(i, end);
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
                    if !self.filter.skipping() {
                        escape_text(self.html(), text);
                    }
                }
                Event::Code(code) | Event::InlineMath(code) => {
                    if !self.filter.skipping() {
                        let out = self.html();
                        out.push_str("<code class=\"lp-code\">");
                        escape_text(out, code);
                        out.push_str("</code>");
                    }
                }
                Event::DisplayMath(code) => {
                    let out = self.html();
                    out.push_str("<pre class=\"lp-pre\"><code>");
                    escape_text(out, code);
                    out.push_str("</code></pre>\n");
                }
                Event::Html(html) | Event::InlineHtml(html) => {
                    let line = self.line(i);
                    self.raw_html(html, line);
                }
                Event::FootnoteReference(label) => match self.footnotes.number(label) {
                    Some(n) => {
                        let out = self.html();
                        out.push_str(&format!(
                            "<sup class=\"lp-fnref\"><a href=\"#fn-{n}\">{n}</a></sup>"
                        ));
                    }
                    None => escape_text(self.html(), &format!("[^{label}]")),
                },
                Event::SoftBreak => self.html().push('\n'),
                Event::HardBreak => self.html().push_str("<br />\n"),
                Event::Rule => {
                    if self.at_top() {
                        self.close_text();
                        self.out.push_str("<mj-divider css-class=\"lp-rule\" />\n");
                    } else {
                        self.html().push_str("<hr class=\"lp-rule\" />\n");
                    }
                }
                Event::TaskListMarker(checked) => {
                    let mark = if *checked { '\u{2611}' } else { '\u{2610}' };
                    self.html()
                        .push_str(&format!("<span class=\"lp-task\">{mark}</span> "));
                }
            }
            i += 1;
        }
    }

    /// Opens the element started at `events[index]`.
    fn start(&mut self, index: usize) {
        let Event::Start(tag) = &self.events[index].0 else {
            return;
        };
        let inline = blocks::is_inline_end(&tag.to_end());
        if !inline {
            self.filter.reset();
        }
        if matches!(tag, Tag::Paragraph | Tag::Heading { .. }) {
            self.phrasing += 1;
        }
        let mut open = String::new();
        match tag {
            Tag::Paragraph => open.push_str("<p>"),
            Tag::Heading {
                level, id, classes, ..
            } => {
                let n = body_heading_number(*level);
                open.push_str(&format!("<h{n} class=\"lp-h{n}"));
                for class in classes {
                    open.push(' ');
                    escape_attr(&mut open, class);
                }
                open.push('"');
                if let Some(id) = id {
                    open.push_str(" id=\"");
                    escape_attr(&mut open, id);
                    open.push('"');
                }
                open.push('>');
            }
            Tag::BlockQuote(_) => open.push_str("<blockquote class=\"lp-quote\">\n"),
            Tag::CodeBlock(kind) => {
                open.push_str("<pre class=\"lp-pre\"><code");
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
                        .next()
                        .unwrap_or(""),
                    CodeBlockKind::Indented => "",
                };
                if !lang.is_empty() {
                    open.push_str(" class=\"language-");
                    escape_attr(&mut open, lang);
                    open.push('"');
                }
                open.push('>');
            }
            Tag::List(Some(1)) => open.push_str("<ol>\n"),
            Tag::List(Some(start)) => open.push_str(&format!("<ol start=\"{start}\">\n")),
            Tag::List(None) => open.push_str("<ul>\n"),
            Tag::Item => {
                let task = self.events[index + 1..]
                    .iter()
                    .take(2)
                    .find(|(e, _)| !matches!(e, Event::Start(Tag::Paragraph)))
                    .is_some_and(|(e, _)| matches!(e, Event::TaskListMarker(_)));
                open.push_str(if task {
                    "<li class=\"lp-task\">"
                } else {
                    "<li>"
                });
            }
            Tag::DefinitionList => open.push_str("<dl>\n"),
            Tag::DefinitionListTitle => open.push_str("<dt>"),
            Tag::DefinitionListDefinition => open.push_str("<dd>"),
            Tag::Table(alignments) => {
                self.table = Some(Table {
                    alignments: alignments.clone(),
                    in_head: false,
                    column: 0,
                });
                // The wrapper scrolls a table wider than a phone instead of clipping it.
                open.push_str("<div class=\"lp-table-wrap\"><table class=\"lp-table\">\n");
            }
            Tag::TableHead => {
                if let Some(t) = &mut self.table {
                    t.in_head = true;
                    t.column = 0;
                }
                open.push_str("<thead>\n<tr>");
            }
            Tag::TableRow => {
                if let Some(t) = &mut self.table {
                    t.column = 0;
                }
                open.push_str("<tr>");
            }
            Tag::TableCell => {
                let (cell, align) = match &mut self.table {
                    Some(t) => {
                        t.column += 1;
                        let align = t.alignments.get(t.column - 1).copied();
                        (if t.in_head { "th scope=\"col\"" } else { "td" }, align)
                    }
                    None => ("td", None),
                };
                let align = match align {
                    Some(Alignment::Left) => " style=\"text-align:left\"",
                    Some(Alignment::Center) => " style=\"text-align:center\"",
                    Some(Alignment::Right) => " style=\"text-align:right\"",
                    Some(Alignment::None) | None => "",
                };
                open.push_str(&format!("<{cell}{align}>"));
            }
            Tag::Emphasis => open.push_str("<em>"),
            Tag::Strong => open.push_str("<strong>"),
            Tag::Strikethrough => open.push_str("<del>"),
            Tag::Superscript => open.push_str("<sup>"),
            Tag::Subscript => open.push_str("<sub>"),
            Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            } => {
                let line = self.line(index);
                let href = self.link_href(&link_target(*link_type, dest_url), line);
                open.push_str("<a");
                push_attr(&mut open, "href", href.as_deref());
                push_attr(&mut open, "class", Some("lp-a"));
                push_attr(&mut open, "title", non_empty(title));
                open.push('>');
            }
            // Handled by `walk`.
            Tag::Image { .. }
            | Tag::HtmlBlock
            | Tag::MetadataBlock(_)
            | Tag::FootnoteDefinition(_) => {}
        }
        if !open.is_empty() {
            let out = self.html();
            // Block elements start on a line of their own.
            if !inline && !matches!(tag, Tag::TableCell) && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&open);
        }
        self.depth += 1;
    }

    /// Closes a Markdown element, and the raw HTML left open inside it.
    fn end(&mut self, end: &TagEnd) {
        self.close_raw(self.depth);
        self.depth = self.depth.saturating_sub(1);
        if !blocks::is_inline_end(end) {
            self.filter.reset();
        }
        if matches!(end, TagEnd::Paragraph | TagEnd::Heading(_)) {
            self.phrasing = self.phrasing.saturating_sub(1);
        }
        let close = match end {
            TagEnd::Paragraph => "</p>\n",
            TagEnd::Heading(level) => match body_heading_number(*level) {
                2 => "</h2>\n",
                3 => "</h3>\n",
                4 => "</h4>\n",
                5 => "</h5>\n",
                _ => "</h6>\n",
            },
            TagEnd::BlockQuote(_) => "</blockquote>\n",
            TagEnd::CodeBlock => "</code></pre>\n",
            TagEnd::List(true) => "</ol>\n",
            TagEnd::List(false) => "</ul>\n",
            TagEnd::Item => "</li>\n",
            TagEnd::DefinitionList => "</dl>\n",
            TagEnd::DefinitionListTitle => "</dt>\n",
            TagEnd::DefinitionListDefinition => "</dd>\n",
            TagEnd::Table => {
                self.table = None;
                "</tbody>\n</table></div>\n"
            }
            TagEnd::TableHead => {
                if let Some(t) = &mut self.table {
                    t.in_head = false;
                }
                "</tr>\n</thead>\n<tbody>\n"
            }
            TagEnd::TableRow => "</tr>\n",
            TagEnd::TableCell => match &self.table {
                Some(t) if t.in_head => "</th>",
                _ => "</td>",
            },
            TagEnd::Emphasis => "</em>",
            TagEnd::Strong => "</strong>",
            TagEnd::Strikethrough => "</del>",
            TagEnd::Superscript => "</sup>",
            TagEnd::Subscript => "</sub>",
            TagEnd::Link => "</a>",
            TagEnd::Image
            | TagEnd::HtmlBlock
            | TagEnd::MetadataBlock(_)
            | TagEnd::FootnoteDefinition => "",
        };
        if !close.is_empty() {
            self.html().push_str(close);
        }
    }

    /// A block image: `<mj-image>`, then its caption in its own `<mj-text>`.
    fn figure(&mut self, figure: &Figure) {
        let events = self.events;
        let Event::Start(Tag::Image {
            dest_url, title, ..
        }) = &events[figure.image].0
        else {
            return;
        };
        let line = self.line(figure.image);
        let mut alt = plain_text(&events[figure.image + 1..figure.image_end]);
        self.check_alt(&alt, line);
        // A screen reader reads the alt text (and a title) and then the
        // caption: one that only repeats the caption would be heard twice.
        let caption_text = figure
            .caption
            .as_ref()
            .map(|c| plain_text(&events[c.clone()]))
            .unwrap_or_default();
        let title: &str = if same_words(title, &caption_text) || same_words(title, &alt) {
            ""
        } else {
            title
        };
        if same_words(&alt, &caption_text) {
            alt.clear();
        }
        let src = self.image_src(dest_url, line);
        let href = figure.link.and_then(|l| match &events[l].0 {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            }) => self.link_href(&link_target(*link_type, dest_url), self.line(l)),
            _ => None,
        });
        self.close_text();
        if let Some(src) = &src {
            self.mj_image(src, &alt, title, href.as_deref());
        }
        if let Some(caption) = &figure.caption {
            self.out.push_str("<mj-text mj-class=\"lp-caption\">");
            self.text_open = true;
            self.walk(caption.clone());
            self.out.push('\n');
            self.close_text();
        }
    }

    fn mj_image(&mut self, src: &str, alt: &str, title: &str, href: Option<&str>) {
        let out = &mut self.out;
        out.push_str("<mj-image");
        push_attr(out, "src", Some(src));
        push_attr(out, "alt", Some(alt));
        push_attr(out, "title", non_empty(title));
        push_attr(out, "href", href);
        out.push_str(" fluid-on-mobile=\"true\" />\n");
    }

    /// An image inside text: `<img>`.
    fn inline_image(&mut self, start: usize, end: usize) {
        let events = self.events;
        let Event::Start(Tag::Image {
            dest_url, title, ..
        }) = &events[start].0
        else {
            return;
        };
        if self.filter.skipping() {
            return;
        }
        let line = self.line(start);
        let alt = plain_text(&events[start + 1..end]);
        self.check_alt(&alt, line);
        let Some(src) = self.image_src(dest_url, line) else {
            return;
        };
        let mut img = String::from("<img");
        push_attr(&mut img, "src", Some(&src));
        push_attr(&mut img, "alt", Some(&alt));
        push_attr(&mut img, "title", non_empty(title));
        push_attr(&mut img, "style", Some(INLINE_IMG_STYLE));
        img.push_str(" />");
        self.html().push_str(&img);
    }

    /// A raw HTML block; a lone `<img>` at the top level becomes an `<mj-image>`.
    fn html_block(&mut self, start: usize, end: usize) {
        let html = html_block_source(self.events, start, end);
        let line = self.line(start);
        self.filter.reset();
        if self.at_top() {
            let mut tokens = html_tokens(&html).filter(|(_, t)| match t {
                HtmlToken::Text(s) => !s.trim().is_empty(),
                HtmlToken::Comment => false,
                _ => true,
            });
            if let (Some((pos, HtmlToken::Start { name, attrs, .. })), None) =
                (tokens.next(), tokens.next())
            {
                if name == "img" {
                    let line = line + count_lines(&html[..pos]);
                    let alt = attr(&attrs, "alt").unwrap_or_default();
                    self.check_alt(alt, line);
                    let src = attr(&attrs, "src").unwrap_or_default();
                    if let Some(src) = self.image_src(src, line) {
                        self.close_text();
                        let title = attr(&attrs, "title").unwrap_or_default();
                        self.mj_image(&src, alt, title, None);
                    }
                    return;
                }
            }
        }
        self.raw_html(&html, line);
        self.filter.reset();
    }

    /// Writes sanitised raw HTML; `line` is the line `html` starts on.
    fn raw_html(&mut self, html: &str, line: usize) {
        for (pos, token) in html_tokens(html) {
            let Some(token) = self.filter.accept(token) else {
                continue;
            };
            match token {
                HtmlToken::Text(text) => {
                    let in_pre = self.raw_open.iter().any(|(name, _)| name == "pre");
                    if text.trim().is_empty() && !in_pre {
                        // Whitespace between tags: one space or line break is
                        // enough, and none at all before the first content.
                        let space = if text.contains('\n') { '\n' } else { ' ' };
                        if self.text_open && !self.out.ends_with(['\n', space]) {
                            self.out.push(space);
                        }
                        continue;
                    }
                    escape_text(self.html(), &html_escape::decode_html_entities(text));
                }
                HtmlToken::Start {
                    name,
                    attrs,
                    self_closing,
                    raw,
                } => match tag_policy(&name) {
                    TagPolicy::Keep if !self.fits_here(&name) => {}
                    TagPolicy::Keep => {
                        let line = line + count_lines(&html[..pos]);
                        self.close_implied(&name);
                        // A row directly in a table: the browser puts it in a
                        // <tbody>, and so does the output.
                        if name == "tr"
                            && self
                                .raw_open
                                .last()
                                .is_some_and(|(n, d)| n == "table" && *d == self.depth)
                        {
                            self.raw_start("tbody", &[], false, line);
                        }
                        self.raw_start(&name, &attrs, self_closing, line);
                    }
                    TagPolicy::Text => escape_text(self.html(), raw),
                    TagPolicy::Unwrap | TagPolicy::Remove => {}
                },
                HtmlToken::End { name, raw } => match tag_policy(&name) {
                    TagPolicy::Keep => self.raw_end(&name),
                    TagPolicy::Text => escape_text(self.html(), raw),
                    TagPolicy::Unwrap | TagPolicy::Remove => {}
                },
                HtmlToken::Comment => {}
            }
        }
    }

    /// True inside a paragraph or heading (Markdown or raw): only phrasing
    /// content may follow.
    fn in_phrasing(&self) -> bool {
        self.phrasing > 0
            || self
                .raw_open
                .iter()
                .any(|(n, _)| matches!(n.as_str(), "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"))
    }

    /// An allowed start tag with its allowed attributes.
    fn raw_start(
        &mut self,
        name: &str,
        attrs: &[(String, String)],
        self_closing: bool,
        line: usize,
    ) {
        let mut tag = format!("<{name}");
        for (key, value) in attrs {
            match attr_policy(name, key) {
                AttrPolicy::Href => {
                    let href = self.link_href(value, line);
                    push_attr(&mut tag, "href", href.as_deref());
                }
                AttrPolicy::Src => {
                    let src = self.image_src(value, line);
                    push_attr(&mut tag, "src", src.as_deref());
                }
                AttrPolicy::Style if is_safe_style(value) => {
                    push_attr(&mut tag, "style", Some(value))
                }
                AttrPolicy::Keep => push_attr(&mut tag, key, Some(value)),
                AttrPolicy::Style | AttrPolicy::Drop => {}
            }
        }
        // Rows seen in each open raw table, to tell column headers from row headers.
        let open_tables = self.raw_open.iter().filter(|(n, _)| n == "table").count();
        self.raw_table_rows.truncate(open_tables);
        match name {
            "table" => self.raw_table_rows.push(0),
            "tr" => {
                if let Some(rows) = self.raw_table_rows.last_mut() {
                    *rows += 1;
                }
            }
            "th" if attr(attrs, "scope").is_none() => {
                // In the head or the first row, a header cell labels its
                // column; further down, its row.
                let in_head = self.raw_open.iter().any(|(n, _)| n == "thead");
                let first_row = self.raw_table_rows.last().is_some_and(|&r| r <= 1);
                let scope = if in_head || first_row { "col" } else { "row" };
                push_attr(&mut tag, "scope", Some(scope));
            }
            _ => {}
        }
        if name == "a" && attr(attrs, "class").is_none() {
            push_attr(&mut tag, "class", Some("lp-a"));
        }
        if name == "img" {
            self.check_alt(attr(attrs, "alt").unwrap_or_default(), line);
            if attr(attrs, "style").is_none() {
                push_attr(&mut tag, "style", Some(INLINE_IMG_STYLE));
            }
        }
        if is_void(name) {
            tag.push_str(" />");
        } else if self_closing {
            tag.push_str(&format!("></{name}>"));
        } else {
            tag.push('>');
            self.raw_open.push((name.to_string(), self.depth));
        }
        self.html().push_str(&tag);
    }

    /// An allowed end tag: closes the matching raw element opened at this
    /// Markdown depth (and those inside it); a stray one is dropped.
    fn raw_end(&mut self, name: &str) {
        let depth = self.depth;
        if let Some(pos) = self
            .raw_open
            .iter()
            .rposition(|(n, d)| *d == depth && n == name)
        {
            self.close_raw_from(pos);
        }
    }

    /// Closes the raw elements from `raw_open[pos]` up.
    fn close_raw_from(&mut self, pos: usize) {
        while self.raw_open.len() > pos {
            let (name, _) = self.raw_open.pop().unwrap_or_default();
            self.out.push_str(&format!("</{name}>"));
        }
    }

    /// False for a raw tag a browser would not keep here: a block inside a
    /// paragraph or heading (it would end the paragraph), or a table part
    /// outside a table (it would be dropped). Such tags are unwrapped.
    fn fits_here(&self, name: &str) -> bool {
        let table_part = matches!(
            name,
            "tr" | "td" | "th" | "thead" | "tbody" | "tfoot" | "caption"
        );
        !(blocks::closes_paragraph(name) && self.in_phrasing()
            || table_part && !self.raw_open.iter().any(|(n, _)| n == "table"))
    }

    /// Writes the end tags HTML leaves implicit before a start tag `name`:
    /// `<li>` ends an open `li` of the same list, `<td>` an open cell, and
    /// so on, so the output's structure is the one a browser builds.
    fn close_implied(&mut self, name: &str) {
        let (closes, scope): (&[&str], &[&str]) = match name {
            "li" => (&["li"], &["ul", "ol"]),
            "dt" | "dd" => (&["dt", "dd"], &["dl"]),
            "tr" => (&["tr"], &["table", "thead", "tbody", "tfoot"]),
            "td" | "th" => (&["td", "th"], &["tr", "table"]),
            "thead" | "tbody" | "tfoot" => (&["thead", "tbody", "tfoot"], &["table"]),
            _ => return,
        };
        let depth = self.depth;
        for pos in (0..self.raw_open.len()).rev() {
            let (open, d) = &self.raw_open[pos];
            if *d != depth || scope.contains(&open.as_str()) {
                return;
            }
            if closes.contains(&open.as_str()) {
                self.close_raw_from(pos);
                return;
            }
        }
    }

    /// A link's `href` as written into the email (UTM-tagged), or `None`
    /// when the target is unsafe. Warns about relative targets.
    fn link_href(&mut self, url: &str, line: usize) -> Option<String> {
        let url = url.trim();
        if url.is_empty() || (!url.starts_with('#') && scheme(url).is_none()) {
            self.relative(url, "link", line);
        }
        is_safe_url(url, false).then(|| self.links.rewrite(url).into_owned())
    }

    /// An image's `src`, or `None` when unsafe. Warns about relative sources.
    fn image_src(&mut self, url: &str, line: usize) -> Option<String> {
        let url = url.trim();
        if scheme(url).is_none() {
            self.relative(url, "image", line);
        }
        is_safe_url(url, true).then(|| url.to_string())
    }

    fn relative(&mut self, url: &str, what: &str, line: usize) {
        let message = if url.is_empty() {
            format!("{what} has an empty target")
        } else {
            format!("{what} target `{url}` is relative")
        };
        self.warnings.push(
            Diagnostic::warning("relative-link", message)
                .at_line(line)
                .with_help(
                    "email clients cannot resolve relative URLs; use an absolute https:// URL",
                ),
        );
    }

    fn check_alt(&mut self, alt: &str, line: usize) {
        if alt.trim().is_empty() {
            self.warnings.push(
                Diagnostic::warning("image-alt", "image has no alt text")
                    .at_line(line)
                    .with_help("add alt text: ![what the image shows](url)"),
            );
        }
    }

    /// Closes the body and adds the footnotes in their own `<mj-text>`.
    fn finish(mut self) -> MjmlBody {
        self.close_text();
        let notes = self.footnotes.definitions();
        if !notes.is_empty() {
            self.out.push_str(
                "<mj-text css-class=\"lp-footnotes\">\n<p class=\"lp-footnotes-title\">Notes</p>\n<ol class=\"lp-footnotes\">\n",
            );
            self.text_open = true;
            // Inside the list: nothing breaks out of this `<mj-text>`.
            self.depth = 1;
            for (n, events) in notes {
                self.out.push_str(&format!("<li id=\"fn-{n}\">"));
                self.walk(events);
                self.close_raw(1);
                self.out.push_str("</li>\n");
            }
            self.depth = 0;
            self.out.push_str("</ol>\n");
            self.close_text();
        }
        MjmlBody {
            mjml: self.out,
            warnings: self.warnings,
        }
    }
}

/// The HTML heading level of a Markdown heading in the body: one below its
/// Markdown level, since the layout's title is the email's one `<h1>`
/// (`#` becomes `<h2>`; `#####` and `######` both become `<h6>`).
fn body_heading_number(level: HeadingLevel) -> usize {
    (level as usize + 1).min(6)
}

fn count_lines(s: &str) -> usize {
    memchr::memchr_iter(b'\n', s.as_bytes()).count()
}

/// True when `a` and `b` are the same words, ignoring case, spacing and
/// punctuation.
fn same_words(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (a, b) = (words(a), words(b));
    !a.is_empty() && a == b
}

fn non_empty(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty())
}

/// ` key="value"`, escaped; nothing when `value` is `None`.
fn push_attr(out: &mut String, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        out.push(' ');
        out.push_str(key);
        out.push_str("=\"");
        escape_attr(out, value);
        out.push('"');
    }
}

/// Escapes text content (`&`, `<`, `>`), dropping control characters.
fn escape_text(out: &mut String, s: &str) {
    escape(out, s, false);
}

/// Escapes an attribute value (`&`, `<`, `>`, `"`), dropping control characters.
fn escape_attr(out: &mut String, s: &str) {
    escape(out, s, true);
}

fn escape(out: &mut String, s: &str, attr: bool) {
    out.reserve(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::compose::links::Utm;

    /// Parses and renders `body` inside a column with mrml, panicking with
    /// the body when it is not valid MJML; returns the HTML.
    pub(crate) fn render_mjml(body: &str) -> String {
        let doc = format!(
            "<mjml><mj-body><mj-section><mj-column>{body}</mj-column></mj-section></mj-body></mjml>"
        );
        let parsed = mrml::parse(&doc).unwrap_or_else(|e| panic!("invalid MJML ({e:?}):\n{body}"));
        assert!(
            parsed.warnings.is_empty(),
            "mrml warnings {:?}:\n{body}",
            parsed.warnings
        );
        parsed
            .element
            .render(&mrml::prelude::render::RenderOptions::default())
            .unwrap_or_else(|e| panic!("cannot render ({e:?}):\n{body}"))
    }

    fn utm() -> LinkRewriter {
        LinkRewriter::new(Some(Utm {
            source: "lp".into(),
            medium: "email".into(),
            campaign: "issue-1".into(),
        }))
    }

    /// The MJML of `md` (checked to parse and render) and its warnings.
    fn convert(md: &str) -> MjmlBody {
        let body = markdown_to_mjml(md, &utm());
        render_mjml(&body.mjml);
        body
    }

    fn mjml(md: &str) -> String {
        convert(md).mjml
    }

    #[test]
    fn flow_blocks_share_one_mj_text() {
        let out = mjml("# Title\n\nPara *em* **strong** ~~gone~~ `a<b`.\n\n## Sub {#sub .wide}\n\n###### Six\n");
        assert_eq!(
            out,
            "<mj-text>\n<h2 class=\"lp-h2\">Title</h2>\n\
             <p>Para <em>em</em> <strong>strong</strong> <del>gone</del> <code class=\"lp-code\">a&lt;b</code>.</p>\n\
             <h3 class=\"lp-h3 wide\" id=\"sub\">Sub</h3>\n<h6 class=\"lp-h6\">Six</h6>\n</mj-text>\n"
        );
    }

    #[test]
    fn empty_input_gives_nothing() {
        assert_eq!(mjml(""), "");
        assert_eq!(mjml("<!-- more -->\n"), "");
    }

    #[test]
    fn links_are_rewritten_and_escaped() {
        let out = mjml("See [the \"post\"](https://a.example/p?x=1&y=2 \"T <1>\") and <https://b.example>, <me@c.example>, [top](#top).");
        assert!(out.contains(
            "<a href=\"https://a.example/p?x=1&amp;y=2&amp;utm_source=lp&amp;utm_medium=email&amp;utm_campaign=issue-1\" class=\"lp-a\" title=\"T &lt;1&gt;\">the \"post\"</a>"
        ), "{out}");
        assert!(out.contains("<a href=\"https://b.example?utm_source=lp&amp;utm_medium=email&amp;utm_campaign=issue-1\" class=\"lp-a\">https://b.example</a>"), "{out}");
        assert!(
            out.contains("<a href=\"mailto:me@c.example\" class=\"lp-a\">me@c.example</a>"),
            "{out}"
        );
        assert!(
            out.contains("<a href=\"#top\" class=\"lp-a\">top</a>"),
            "{out}"
        );
        assert!(convert("[top](#top)").warnings.is_empty());
    }

    #[test]
    fn script_links_lose_their_href() {
        let out = mjml("[x](javascript:alert(1)) [y](JAVA%0Ascript:x)");
        assert!(out.contains("<a class=\"lp-a\">x</a>"), "{out}");
        assert!(
            !out.to_ascii_lowercase().contains("javascript:alert"),
            "{out}"
        );
    }

    #[test]
    fn image_alone_becomes_mj_image() {
        let out =
            mjml("Intro.\n\n![A \"cat\" & dog](https://img.example/c.png?a=1&b=2)\n\nAfter.\n");
        assert_eq!(
            out,
            "<mj-text>\n<p>Intro.</p>\n</mj-text>\n\
             <mj-image src=\"https://img.example/c.png?a=1&amp;b=2\" alt=\"A &quot;cat&quot; &amp; dog\" fluid-on-mobile=\"true\" />\n\
             <mj-text>\n<p>After.</p>\n</mj-text>\n"
        );
    }

    #[test]
    fn linked_image_with_title() {
        let out = mjml("[![Alt *x*](https://i.example/a.png \"Tip\")](https://l.example/)\n");
        assert_eq!(
            out,
            "<mj-image src=\"https://i.example/a.png\" alt=\"Alt x\" title=\"Tip\" \
             href=\"https://l.example/?utm_source=lp&amp;utm_medium=email&amp;utm_campaign=issue-1\" fluid-on-mobile=\"true\" />\n"
        );
    }

    #[test]
    fn figure_caption_follows_image() {
        let out = mjml("![Chart](https://i.example/c.png)\n\n_Sales by [month](https://m.example), 2020._\n\nNext.\n");
        assert_eq!(
            out,
            "<mj-image src=\"https://i.example/c.png\" alt=\"Chart\" fluid-on-mobile=\"true\" />\n\
             <mj-text mj-class=\"lp-caption\">Sales by <a href=\"https://m.example?utm_source=lp&amp;utm_medium=email&amp;utm_campaign=issue-1\" class=\"lp-a\">month</a>, 2020.\n</mj-text>\n\
             <mj-text>\n<p>Next.</p>\n</mj-text>\n"
        );
        // Not a caption: emphasis is only part of the paragraph.
        let out = mjml("![Chart](https://i.example/c.png)\n\n_Sales_ by month.\n");
        assert!(out.contains("<p><em>Sales</em> by month.</p>"), "{out}");
        assert!(!out.contains("lp-caption"));
    }

    #[test]
    fn inline_image_stays_in_text() {
        let out = mjml("An icon ![ok](https://i.example/ok.png \"OK\") here.\n");
        assert!(out.contains(
            "<p>An icon <img src=\"https://i.example/ok.png\" alt=\"ok\" title=\"OK\" style=\"max-width:100%;height:auto\" /> here.</p>"
        ), "{out}");
        // Images inside containers stay inline too: the list must not be split.
        let out = mjml("- ![a](https://i.example/a.png)\n- b\n");
        assert!(
            !out.contains("mj-image") && out.contains("<li><img"),
            "{out}"
        );
    }

    #[test]
    fn warnings_for_alt_and_relative_targets() {
        let body = convert("Text\n\n![](https://i.example/a.png)\n\nSee [here](/about) and [nothing]().\n\n![Logo](img/logo.png)\n\n<a href=\"../x\">raw</a>\n");
        let found: Vec<(&str, Option<usize>)> =
            body.warnings.iter().map(|d| (d.code, d.line)).collect();
        assert_eq!(
            found,
            [
                ("image-alt", Some(3)),
                ("relative-link", Some(5)),
                ("relative-link", Some(5)),
                ("relative-link", Some(7)),
                ("relative-link", Some(9)),
            ]
        );
        assert_eq!(
            body.warnings[0].help.as_deref(),
            Some("add alt text: ![what the image shows](url)")
        );
        assert_eq!(
            body.warnings[1].help.as_deref(),
            Some("email clients cannot resolve relative URLs; use an absolute https:// URL")
        );
        assert!(body.warnings[2].message.contains("empty"));
    }

    #[test]
    fn lists_keep_start_nesting_and_tasks() {
        let out = mjml("3. three\n4. four\n   - nested\n     1. deep\n\n- [x] done\n- [ ] todo\n");
        assert_eq!(
            out,
            "<mj-text>\n<ol start=\"3\">\n<li>three</li>\n<li>four\n<ul>\n<li>nested\n<ol>\n<li>deep</li>\n</ol>\n</li>\n</ul>\n</li>\n</ol>\n\
             <ul>\n<li class=\"lp-task\"><span class=\"lp-task\">\u{2611}</span> done</li>\n<li class=\"lp-task\"><span class=\"lp-task\">\u{2610}</span> todo</li>\n</ul>\n</mj-text>\n"
        );
        assert!(mjml("1. one\n").contains("<ol>\n"));
    }

    #[test]
    fn nested_quotes_and_rules() {
        let out = mjml("> outer\n>\n> > inner\n>\n> ---\n\n---\n\nend\n");
        assert_eq!(
            out,
            "<mj-text>\n<blockquote class=\"lp-quote\">\n<p>outer</p>\n<blockquote class=\"lp-quote\">\n<p>inner</p>\n</blockquote>\n<hr class=\"lp-rule\" />\n</blockquote>\n</mj-text>\n\
             <mj-divider css-class=\"lp-rule\" />\n<mj-text>\n<p>end</p>\n</mj-text>\n"
        );
    }

    #[test]
    fn code_blocks_are_escaped_verbatim() {
        let out = mjml(
            "```rust ignore\nfn f() -> &'a str { \"<x>\" }\n\n// done\n```\n\n    indented & <b>\n",
        );
        assert!(out.contains(
            "<pre class=\"lp-pre\"><code class=\"language-rust\">fn f() -&gt; &amp;'a str { \"&lt;x&gt;\" }\n\n// done\n</code></pre>\n"
        ), "{out}");
        assert!(
            out.contains("<pre class=\"lp-pre\"><code>indented &amp; &lt;b&gt;\n</code></pre>"),
            "{out}"
        );
        let html = render_mjml(&out);
        assert!(html.contains("fn f() -&gt; &amp;'a str"), "{html}");
    }

    #[test]
    fn tables_with_alignment() {
        let out = mjml("| A | B | C |\n|:--|:-:|--:|\n| 1 | *2* | 3 |\n");
        assert!(out.contains(
            "<div class=\"lp-table-wrap\"><table class=\"lp-table\">\n<thead>\n<tr><th scope=\"col\" style=\"text-align:left\">A</th><th scope=\"col\" style=\"text-align:center\">B</th><th scope=\"col\" style=\"text-align:right\">C</th></tr>\n</thead>\n<tbody>\n\
             <tr><td style=\"text-align:left\">1</td><td style=\"text-align:center\"><em>2</em></td><td style=\"text-align:right\">3</td></tr>\n</tbody>\n</table></div>\n"
        ), "{out}");
    }

    #[test]
    fn body_headings_sit_below_the_title() {
        let out = mjml("# One\n\n## Two\n\n##### Five\n");
        assert!(!out.contains("<h1"), "{out}");
        assert!(out.contains("<h2 class=\"lp-h2\">One</h2>"), "{out}");
        assert!(out.contains("<h3 class=\"lp-h3\">Two</h3>"), "{out}");
        assert!(out.contains("<h6 class=\"lp-h6\">Five</h6>"), "{out}");
    }

    #[test]
    fn raw_header_cells_get_a_scope() {
        let out = mjml("<table><tr><th>A</th><th scope=\"colgroup\">B</th></tr><tr><th>r</th><td>1</td></tr></table>\n\n<table><thead><tr><th>H</th></tr></thead></table>\n");
        assert!(
            out.contains("<th scope=\"col\">A</th><th scope=\"colgroup\">B</th>"),
            "{out}"
        );
        assert!(out.contains("<th scope=\"row\">r</th>"), "{out}");
        assert!(out.contains("<thead><tr><th scope=\"col\">H</th>"), "{out}");
    }

    #[test]
    fn figure_alt_text_is_not_read_twice() {
        // The alt only repeats the caption: screen readers hear the caption once.
        let out = mjml("![The loaf, cooling.](https://i.example/l.png \"The loaf cooling\")\n\n_The loaf cooling_\n");
        assert!(out.contains("alt=\"\""), "{out}");
        assert!(!out.contains("title="), "{out}");
        // A different alt, and a title that only repeats the alt.
        let out = mjml(
            "![A crumb shot](https://i.example/c.png \"a crumb shot\")\n\n_Open crumb at 80%_\n",
        );
        assert!(out.contains("alt=\"A crumb shot\""), "{out}");
        assert!(!out.contains("title="), "{out}");
    }

    #[test]
    fn footnotes_numbered_and_collected() {
        let out =
            mjml("B[^b] a[^a] b again[^b] x[^missing]\n\n[^a]: Note *A*.\n[^b]: Note B <i>raw\n");
        assert!(out.contains(
            "<p>B<sup class=\"lp-fnref\"><a href=\"#fn-1\">1</a></sup> a<sup class=\"lp-fnref\"><a href=\"#fn-2\">2</a></sup> b again<sup class=\"lp-fnref\"><a href=\"#fn-1\">1</a></sup> x[^missing]</p>"
        ), "{out}");
        assert!(out.ends_with(
            "<mj-text css-class=\"lp-footnotes\">\n<p class=\"lp-footnotes-title\">Notes</p>\n<ol class=\"lp-footnotes\">\n\
             <li id=\"fn-1\">\n<p>Note B <i>raw</i></p>\n</li>\n<li id=\"fn-2\">\n<p>Note <em>A</em>.</p>\n</li>\n</ol>\n</mj-text>\n"
        ), "{out}");
    }

    #[test]
    fn breaks() {
        assert_eq!(
            mjml("one  \ntwo\nthree\n"),
            "<mj-text>\n<p>one<br />\ntwo\nthree</p>\n</mj-text>\n"
        );
    }

    #[test]
    fn raw_html_allowlist() {
        let out = mjml("<div align=\"center\" onclick=\"evil()\" data-x=1><span style=\"color:red\" class=c>hi</span> <b>bold</b></div>\n\nA <kbd>Ctrl</kbd>+<u>C</u> <font color=red>red</font> <a href=\"https://x.example\" target=_blank>x</a>.\n");
        assert!(out.contains("<div align=\"center\"><span style=\"color:red\" class=\"c\">hi</span> <b>bold</b></div>"), "{out}");
        assert!(out.contains("A <kbd>Ctrl</kbd>+<u>C</u> red <a href=\"https://x.example?utm_source=lp&amp;utm_medium=email&amp;utm_campaign=issue-1\" class=\"lp-a\">x</a>."), "{out}");
    }

    #[test]
    fn raw_html_dangerous_content_removed() {
        let out = mjml("<script>alert('x')</script>\n\nA <script>steal()</script>B <iframe src=\"https://e.example\">frame</iframe>C<style>p{}</style>\n\n<form><input name=q><button>Go</button></form>\n\n<img src=\"javascript:x\" alt=\"i\" onerror=\"x()\"> <a href=\" javascript:y\">y</a> <span style=\"width: expression(alert(1))\">s</span>\n");
        for bad in [
            "alert",
            "steal",
            "iframe",
            "frame<",
            "p{}",
            "form",
            "input",
            "Go",
            "onerror",
            "javascript",
            "expression",
        ] {
            assert!(!out.contains(bad), "{bad} in {out}");
        }
        assert!(out.contains("<p>A B C</p>"), "{out}");
        assert!(out.contains("<img alt=\"i\""), "{out}");
    }

    #[test]
    fn raw_html_balanced() {
        // Unclosed, stray and misnested tags; a rule in the middle.
        let out = mjml(
            "<div><b>open\n\npara <i>never closed\n\n</span></b> stray\n\n---\n\n</div> after\n",
        );
        let html = render_mjml(&out);
        assert!(html.contains("open"));
        for tag in ["div", "b", "i"] {
            assert_eq!(
                out.matches(&format!("<{tag}>")).count(),
                out.matches(&format!("</{tag}>")).count(),
                "{tag} in {out}"
            );
        }
        assert!(!out.contains("</span>"), "{out}");
        assert!(out.contains("<p>para <i>never closed</i></p>"), "{out}");
        // A raw wrapper keeps block images and rules inside the text.
        let out =
            mjml("<div align=\"center\">\n\n![a](https://i.example/a.png)\n\n---\n\n</div>\n");
        assert!(
            !out.contains("mj-image") && !out.contains("mj-divider"),
            "{out}"
        );
        assert!(
            out.contains("<div align=\"center\">") && out.contains("</div>"),
            "{out}"
        );
    }

    #[test]
    fn raw_block_tags_inside_a_paragraph_are_unwrapped() {
        // A browser would end the paragraph at <p>/<div>, leaving </p> stray.
        let out =
            mjml("Text <p>inner</p> and <div>box</div><hr> end\n\n<div>\n\nblock\n\n</div>\n");
        assert!(out.contains("<p>Text inner and box end</p>"), "{out}");
        assert!(out.contains("<div>\n<p>block</p>"), "{out}");
        let out = mjml("<p>raw <div>x</div> y</p>\n");
        assert!(out.contains("<p>raw x y</p>"), "{out}");
    }

    #[test]
    fn raw_html_gets_the_end_tags_a_browser_would_imply() {
        let out = mjml("<ul><li>a<li>b</ul>\n\n<dl><dt>t<dd>d</dl>\n");
        assert!(out.contains("<ul><li>a</li><li>b</li></ul>"), "{out}");
        assert!(out.contains("<dl><dt>t</dt><dd>d</dd></dl>"), "{out}");
        let out = mjml("<table><tr><td>1<td>2<tr><td>3</table>\n");
        assert!(
            out.contains(
                "<table><tbody><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></tbody></table>"
            ),
            "{out}"
        );
        // Nested lists keep their items.
        let out = mjml("<ul><li>a<ul><li>b</li></ul></li></ul>\n");
        assert!(
            out.contains("<ul><li>a<ul><li>b</li></ul></li></ul>"),
            "{out}"
        );
        // Table parts outside a table are dropped, as browsers drop them.
        let out = mjml("Text <table><tr><td>x</td></tr></table> more\n\n<tr><td>y</td></tr>\n");
        assert!(out.contains("<p>Text x more</p>"), "{out}");
        assert!(!out.contains("<tr") && !out.contains("<td"), "{out}");
    }

    #[test]
    fn raw_html_cannot_inject_mjml() {
        let md = "Hi </mj-text><mj-raw><script>alert(1)</script></mj-raw><mj-text>\n\n</mj-column></mj-section><mj-section>\n\n<mj-image src=\"x\" />\n";
        let out = mjml(md);
        assert_eq!(out.matches("<mj-").count(), 1, "{out}");
        assert_eq!(out.matches("</mj-text>").count(), 1, "{out}");
        assert!(
            out.contains("Hi &lt;/mj-text&gt;&lt;mj-raw&gt;&lt;/mj-raw&gt;&lt;mj-text&gt;"),
            "{out}"
        );
        assert!(out.contains("&lt;mj-image src=\"x\" /&gt;"), "{out}");
    }

    #[test]
    fn comments_and_unknown_tags() {
        let out = mjml(
            "a <!-- hidden --> b Vec<T> <pubkey>\n\n<!--\nmulti\n-->\n\n<section>kept</section>\n",
        );
        assert_eq!(
            out,
            "<mj-text>\n<p>a  b Vec&lt;T&gt; &lt;pubkey&gt;</p>\nkept\n</mj-text>\n"
        );
    }

    #[test]
    fn raw_whitespace_compacted_except_in_pre() {
        let out = mjml("<div>\n\n\n</div>\n\n<pre><b>x</b>\n\n  <b>y</b></pre>\n");
        assert_eq!(
            out,
            "<mj-text>\n<div>\n</div>\n<pre><b>x</b>\n\n  <b>y</b></pre>\n</mj-text>\n"
        );
    }

    #[test]
    fn raw_block_image_becomes_mj_image() {
        let out = mjml("<img src=\"https://i.example/a.png\" alt='A &amp; B' title=\"t\">\n");
        assert_eq!(
            out,
            "<mj-image src=\"https://i.example/a.png\" alt=\"A &amp; B\" title=\"t\" fluid-on-mobile=\"true\" />\n"
        );
        let body = convert("<img src=\"a.png\">\n");
        let codes: Vec<_> = body.warnings.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["image-alt", "relative-link"]);
    }

    #[test]
    fn text_escaping_and_entities() {
        let out = mjml("AT&T < 3 > 2 \"q\" &amp; &copy; &#x27; &nbsp;x \u{1}\n\n<p title='a\"b'>&lt;raw&gt; &amp;amp; &bogus;</p>\n");
        assert!(
            out.contains("<p>AT&amp;T &lt; 3 &gt; 2 \"q\" &amp; \u{a9} ' \u{a0}x </p>"),
            "{out}"
        );
        assert!(
            out.contains("<p title=\"a&quot;b\">&lt;raw&gt; &amp;amp; &amp;bogus;</p>"),
            "{out}"
        );
    }

    #[test]
    fn liquid_and_kramdown_are_text() {
        let out = mjml("{% include references.md %}\n{:.center}\n\nHi {{ subscriber.name | default: \"there\" }}\n{: #id}\n");
        assert!(
            out.contains("<p>{% include references.md %}\n{:.center}</p>"),
            "{out}"
        );
        assert!(
            out.contains("{{ subscriber.name | default: \"there\" }}"),
            "{out}"
        );
    }
}
