//! CSS inlining for the HTML part: the rules of the layout's
//! `<mj-style inline="inline">` are written into the `style` attribute of
//! every element they match, because many mail clients ignore `<style>`.
//!
//! mrml can do this itself through the `css-inline` crate, which parses the
//! whole document into a DOM and serialises it again: two thirds of the time
//! of rendering an issue. The layouts people write for email use a small
//! part of CSS, so [`StyleSheet::parse`] accepts that part (type, class, id
//! and universal selectors, descendant combinators, plain declarations) and
//! [`StyleSheet::inline`] applies it in one pass over mrml's output with
//! css-inline's rules: specificity then source order decide between rules,
//! declarations are written least specific first, the element's own `style`
//! wins unless a rule says `!important`, and new declarations come first. A stylesheet outside that part (pseudo-classes,
//! attribute selectors, `>`/`+`/`~`, at-rules) makes `parse` return `None`
//! and the caller lets css-inline do the work. A test renders every fixture
//! and corpus issue both ways and compares the styles element by element.

use std::collections::HashMap;
use std::ops::Range;

use super::blocks::{html_tokens, is_void, HtmlToken};

/// The inlinable rules of a stylesheet, in source order.
#[derive(Debug, Clone, Default)]
pub struct StyleSheet {
    /// One rule per selector of each comma-separated list.
    rules: Vec<Rule>,
    /// Every declaration, as (property, value); rules index into it.
    declarations: Vec<(String, String)>,
    /// Rules by what their last compound requires most specifically: an
    /// element is only tested against the rules its id, classes or tag name
    /// can satisfy, plus those for any element.
    by_id: HashMap<String, Vec<usize>>,
    by_class: HashMap<String, Vec<usize>>,
    by_tag: HashMap<String, Vec<usize>>,
    universal: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Rule {
    /// Compound selectors, outermost ancestor first; each must match an
    /// ancestor of the next (descendant combinator).
    selector: Vec<Compound>,
    specificity: (u32, u32, u32),
    declarations: Range<usize>,
}

/// `tag.class#id` (each part optional; `*` is no tag).
#[derive(Debug, Clone, Default)]
struct Compound {
    tag: Option<String>,
    id: Option<String>,
    classes: Vec<String>,
}

/// An open element as the selectors see it.
#[derive(Debug)]
struct Element {
    name: String,
    /// Attributes, lowercase names, entity-decoded values, first of each name.
    attrs: Vec<(String, String)>,
}

impl Element {
    fn attr(&self, key: &str) -> &str {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl Compound {
    fn matches(&self, e: &Element) -> bool {
        self.tag.as_ref().map_or(true, |t| *t == e.name)
            && self.id.as_ref().map_or(true, |id| id == e.attr("id"))
            && self.classes.iter().all(|c| {
                e.attr("class")
                    .split_ascii_whitespace()
                    .any(|have| have == c)
            })
    }
}

impl Rule {
    /// Does the rule match `element`, whose open ancestors are `ancestors`
    /// (outermost first)?
    fn matches(&self, element: &Element, ancestors: &[Element]) -> bool {
        let Some((last, outer)) = self.selector.split_last() else {
            return false;
        };
        if !last.matches(element) {
            return false;
        }
        // Right to left, each compound on the nearest ancestor that fits:
        // with descendant combinators only, the greedy choice is exact.
        let mut above = ancestors.len();
        for compound in outer.iter().rev() {
            match ancestors[..above].iter().rposition(|a| compound.matches(a)) {
                Some(i) => above = i,
                None => return false,
            }
        }
        true
    }
}

impl StyleSheet {
    /// Parses `css`, or `None` when it uses anything outside the supported
    /// part of CSS (see the module documentation).
    pub fn parse(css: &str) -> Option<StyleSheet> {
        let css = strip_comments(css)?;
        let mut sheet = StyleSheet::default();
        let mut rest = css.as_str();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                return Some(sheet);
            }
            let open = rest.find('{')?;
            let close = open + rest[open..].find('}')?;
            let (prelude, body) = (&rest[..open], &rest[open + 1..close]);
            if prelude.contains(['@', '}']) || body.contains('{') {
                return None;
            }
            let first = sheet.declarations.len();
            for declaration in split_top_level(body, b';') {
                if declaration.trim().is_empty() {
                    continue;
                }
                let (name, value) = declaration.split_once(':')?;
                let name = name.trim();
                let valid = !name.is_empty() && ident_len(name) == name.len();
                if !valid || value.trim().is_empty() {
                    return None;
                }
                sheet
                    .declarations
                    .push((name.to_string(), value.to_string()));
            }
            for selector in prelude.split(',') {
                let selector = parse_selector(selector)?;
                let specificity = selector.iter().fold((0, 0, 0), |(a, b, c), s| {
                    (
                        a + u32::from(s.id.is_some()),
                        b + s.classes.len() as u32,
                        c + u32::from(s.tag.is_some()),
                    )
                });
                let index = sheet.rules.len();
                let last = selector.last().expect("a selector has a compound");
                let key = |m: &mut HashMap<String, Vec<usize>>, k: &str| {
                    m.entry(k.to_string()).or_default().push(index);
                };
                if let Some(id) = &last.id {
                    key(&mut sheet.by_id, id);
                } else if let Some(class) = last.classes.first() {
                    key(&mut sheet.by_class, class);
                } else if let Some(tag) = &last.tag {
                    key(&mut sheet.by_tag, tag);
                } else {
                    sheet.universal.push(index);
                }
                sheet.rules.push(Rule {
                    selector,
                    specificity,
                    declarations: first..sheet.declarations.len(),
                });
            }
            rest = &rest[close + 1..];
        }
    }

    /// `html` with the rules inlined into the `style` attributes of the
    /// elements they match. Everything else is copied as it is.
    pub fn inline(&self, html: &str) -> String {
        let mut out = String::with_capacity(html.len() + html.len() / 2);
        let mut copied = 0;
        let mut open: Vec<Element> = Vec::new();
        let mut styles: Vec<(&str, (u32, u32, u32), &str)> = Vec::new();
        let mut candidates: Vec<usize> = Vec::new();
        for (offset, token) in html_tokens(html) {
            match token {
                HtmlToken::Start {
                    name, attrs, raw, ..
                } => {
                    let element = Element { name, attrs };
                    self.candidates(&element, &mut candidates);
                    styles.clear();
                    for rule in candidates.iter().map(|&i| &self.rules[i]) {
                        if !rule.matches(&element, &open) {
                            continue;
                        }
                        for (property, value) in &self.declarations[rule.declarations.clone()] {
                            add_declaration(&mut styles, property, rule.specificity, value);
                        }
                    }
                    if !styles.is_empty() {
                        // Least specific first, as css-inline writes them.
                        styles.sort_by_key(|&(_, specificity, _)| specificity);
                        out.push_str(&html[copied..offset]);
                        write_start_tag(&mut out, &element.name, &element.attrs, &styles, raw);
                        copied = offset + raw.len();
                    } else if is_void(&element.name) && raw.ends_with("/>") {
                        // `<br />` → `<br>`: HTML has no self-closing syntax,
                        // and mjml's own output writes void elements bare.
                        out.push_str(&html[copied..offset]);
                        out.push_str(raw[..raw.len() - 2].trim_end());
                        out.push('>');
                        copied = offset + raw.len();
                    }
                    // As in HTML, `/>` closes only void elements.
                    if !is_void(&element.name) {
                        open.push(element);
                    }
                }
                HtmlToken::End { name, .. } => {
                    if let Some(i) = open.iter().rposition(|e| e.name == name) {
                        open.truncate(i);
                    }
                }
                HtmlToken::Text(_) | HtmlToken::Comment => {}
            }
        }
        out.push_str(&html[copied..]);
        out
    }
}

impl StyleSheet {
    /// The rules `element` might match, in source order.
    fn candidates(&self, element: &Element, out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.universal);
        let mut add = |rules: Option<&Vec<usize>>| out.extend(rules.into_iter().flatten());
        add(self.by_tag.get(&element.name));
        add(self.by_id.get(element.attr("id")));
        for class in element.attr("class").split_ascii_whitespace() {
            add(self.by_class.get(class));
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// Records one declaration for an element: a property already set keeps its
/// place and takes the new value when the new rule is at least as specific,
/// or is `!important` where the old one is not.
fn add_declaration<'a>(
    styles: &mut Vec<(&'a str, (u32, u32, u32), &'a str)>,
    property: &'a str,
    specificity: (u32, u32, u32),
    value: &'a str,
) {
    let important = |v: &str| v.trim_end().ends_with("!important");
    match styles.iter_mut().find(|(p, ..)| *p == property) {
        None => styles.push((property, specificity, value)),
        Some(old) => {
            let replace = match (important(value), important(old.2)) {
                (true, false) => true,
                (false, true) => false,
                _ => old.1 <= specificity,
            };
            if replace {
                *old = (property, specificity, value);
            }
        }
    }
}

/// Writes `<name attrs… style="…">` (or `… />`) with `styles` merged into
/// the element's own `style`.
fn write_start_tag(
    out: &mut String,
    name: &str,
    attrs: &[(String, String)],
    styles: &[(&str, (u32, u32, u32), &str)],
    raw: &str,
) {
    let style = match attrs.iter().find(|(k, _)| k == "style") {
        Some((_, own)) => merge_styles(own, styles),
        None => {
            let mut style = String::new();
            for (property, _, value) in styles {
                write_declaration(&mut style, property, value);
                style.push(';');
            }
            style
        }
    };
    let mut outlook = outlook_attributes(name, &style);
    out.push('<');
    out.push_str(name);
    for (key, value) in attrs {
        out.push(' ');
        out.push_str(key);
        out.push_str("=\"");
        if key == "style" {
            escape_attribute(out, &style);
        } else if let Some(i) = outlook.iter().position(|(k, _)| k == key) {
            escape_attribute(out, &outlook.remove(i).1);
        } else {
            escape_attribute(out, value);
        }
        out.push('"');
    }
    if !attrs.iter().any(|(k, _)| k == "style") {
        out.push_str(" style=\"");
        escape_attribute(out, &style);
        out.push('"');
    }
    for (key, value) in outlook {
        out.push(' ');
        out.push_str(key);
        out.push_str("=\"");
        escape_attribute(out, &value);
        out.push('"');
    }
    out.push_str(if raw.ends_with("/>") && !is_void(name) {
        " />"
    } else {
        ">"
    });
}

/// The presentational attributes Word-engine Outlook reads instead of CSS,
/// from an element's final inline `style`, as mjml's inliner (juice) writes
/// them on the elements its rules touched: `bgcolor`, `background`, `align`
/// and `valign` on table parts, `width` and `height` (px, `auto`, or % on
/// table parts) on tables, cells and images. Later declarations win.
fn outlook_attributes(name: &str, style: &str) -> Vec<(&'static str, String)> {
    let table_part = matches!(
        name,
        "table" | "th" | "tr" | "td" | "caption" | "colgroup" | "col" | "thead" | "tbody" | "tfoot"
    );
    let sized = matches!(name, "table" | "td" | "th" | "img");
    if !table_part && !sized {
        return Vec::new();
    }
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let mut set = |key: &'static str, value: String| match found.iter_mut().find(|(k, _)| *k == key)
    {
        Some(old) => old.1 = value,
        None => found.push((key, value)),
    };
    let mut sizes: Vec<(&'static str, String)> = Vec::new();
    for declaration in split_top_level(style, b';') {
        let Some((property, value)) = declaration.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let value = value.strip_suffix("!important").unwrap_or(value).trim();
        let property = property.trim().to_ascii_lowercase();
        match property.as_str() {
            "background-color" if table_part => set("bgcolor", value.to_string()),
            "background-image" if table_part && !value.contains("gradient(") => {
                let url = value
                    .strip_prefix("url(")
                    .and_then(|v| v.strip_suffix(')'))
                    .map_or(value, |v| v.trim_matches(['"', '\'']));
                set("background", url.to_string());
            }
            "text-align" if table_part => set("align", value.to_string()),
            "vertical-align" if table_part => set("valign", value.to_string()),
            // juice takes the first width/height declaration that fits.
            p @ ("width" | "height") if sized && !sizes.iter().any(|(k, _)| *k == p) => {
                let key = if p == "width" { "width" } else { "height" };
                if value.contains("px") || value.contains("auto") {
                    sizes.push((key, value.replacen("px", "", 1)));
                } else if table_part && value.contains('%') {
                    sizes.push((key, value.to_string()));
                }
            }
            _ => {}
        }
    }
    sizes.extend(found);
    sizes
}

/// The element's own declarations `current` merged with the rules' `styles`:
/// the new properties first, then the element's own, which win unless only
/// the rule's value is `!important`.
fn merge_styles(current: &str, styles: &[(&str, (u32, u32, u32), &str)]) -> String {
    let mut own: Vec<String> = Vec::new();
    for declaration in split_top_level(current, b';') {
        if let Some((property, value)) = declaration.split_once(':') {
            let mut d = String::new();
            write_declaration(&mut d, property.trim(), value);
            own.push(d);
        }
    }
    let own_count = own.len();
    let mut added: Vec<String> = Vec::new();
    for (property, _, value) in styles {
        let existing = own[..own_count].iter_mut().find(|d| {
            d.strip_prefix(property)
                .is_some_and(|rest| rest.starts_with(": "))
        });
        match (value.trim_end().strip_suffix("!important"), existing) {
            (Some(value), Some(d)) => {
                if !d.ends_with("!important") {
                    d.truncate(property.len() + 2);
                    d.push_str(&value.trim().replace('"', "'"));
                    d.push_str(" !important");
                }
            }
            (Some(value), None) => {
                let mut d = String::new();
                write_declaration(&mut d, property, value);
                d.push_str(" !important");
                added.push(d);
            }
            (None, None) => {
                let mut d = String::new();
                write_declaration(&mut d, property, value);
                added.push(d);
            }
            (None, Some(_)) => {}
        }
    }
    added.extend(own);
    added.join(";")
}

/// `property: value`, the value trimmed and with `"` made `'` (the
/// attribute is double-quoted).
fn write_declaration(out: &mut String, property: &str, value: &str) {
    out.push_str(property);
    out.push_str(": ");
    out.push_str(&value.trim().replace('"', "'"));
}

/// Escapes `&`, `"` and no-break spaces for a double-quoted attribute value.
fn escape_attribute(out: &mut String, value: &str) {
    // 0xC2 starts the UTF-8 of U+00A0.
    if memchr::memchr3(b'&', b'"', 0xC2, value.as_bytes()).is_none() {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
}

/// `css` without `/* comments */`, or `None` if one is unterminated.
fn strip_comments(css: &str) -> Option<String> {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        out.push(' ');
        let end = rest[start + 2..].find("*/")?;
        rest = &rest[start + 2 + end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// Splits `s` at `sep` where it is outside quotes and parentheses.
fn split_top_level(s: &str, sep: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None, 0);
    for (i, b) in s.bytes().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'(') => depth += 1,
            (None, b')') => depth = depth.saturating_sub(1),
            (None, _) if b == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Parses `a .b p.c#d` (descendant combinators only), or `None`: for
/// anything else, and for elements the HTML parser may add where they are
/// not written (a `tbody` in every table; `html`, `head`, `body` as
/// ancestors), which a one-pass inliner cannot see.
fn parse_selector(selector: &str) -> Option<Vec<Compound>> {
    if !selector.is_ascii() {
        return None;
    }
    let compounds = selector
        .split_ascii_whitespace()
        .map(parse_compound)
        .collect::<Option<Vec<_>>>()?;
    let (_, ancestors) = compounds.split_last()?;
    let tag_in = |c: &Compound, tags: &[&str]| c.tag.as_deref().is_some_and(|t| tags.contains(&t));
    if compounds
        .iter()
        .any(|c| tag_in(c, &["tbody", "thead", "tfoot"]))
        || ancestors
            .iter()
            .any(|c| tag_in(c, &["html", "head", "body"]))
    {
        return None;
    }
    Some(compounds)
}

/// Length of the CSS identifier (ASCII letters, digits, `-`, `_`; not
/// starting with a digit or `-digit`) at the start of `s`.
fn ident_len(s: &str) -> usize {
    let b = s.as_bytes();
    let start = usize::from(b.first() == Some(&b'-'));
    if b.get(start).is_some_and(u8::is_ascii_digit) {
        return 0;
    }
    b.iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        .count()
}

/// Parses one ASCII compound selector like `p.c#d` or `*`.
fn parse_compound(s: &str) -> Option<Compound> {
    let mut compound = Compound::default();
    let mut rest = s;
    if let Some(r) = rest.strip_prefix('*') {
        rest = r;
    } else {
        let n = ident_len(rest);
        if n > 0 {
            compound.tag = Some(rest[..n].to_ascii_lowercase());
            rest = &rest[n..];
        }
    }
    while let Some(kind) = rest.chars().next() {
        if !matches!(kind, '.' | '#') {
            return None;
        }
        let n = ident_len(&rest[1..]);
        if n == 0 {
            return None;
        }
        let ident = rest[1..1 + n].to_string();
        if kind == '.' {
            compound.classes.push(ident);
        } else if compound.id.replace(ident).is_some() {
            return None;
        }
        rest = &rest[1 + n..];
    }
    Some(compound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline(css: &str, html: &str) -> String {
        StyleSheet::parse(css).expect("supported CSS").inline(html)
    }

    #[test]
    fn type_class_and_descendant_selectors() {
        let css = "p { margin: 0 } .x { color: red } pre code { padding: 0 } div .y b { x: 1 }";
        assert_eq!(
            inline(
                css,
                r#"<p class="x">a</p><pre><code>c</code></pre><code>d</code>"#
            ),
            r#"<p class="x" style="margin: 0;color: red;">a</p><pre><code style="padding: 0;">c</code></pre><code>d</code>"#
        );
        assert_eq!(
            inline(
                css,
                r#"<div><span class="y"><i><b>z</b></i></span></div><b>w</b>"#
            ),
            r#"<div><span class="y"><i><b style="x: 1;">z</b></i></span></div><b>w</b>"#
        );
    }

    #[test]
    fn specificity_then_order_and_own_style_wins() {
        let css = ".a { color: red } p { color: blue; margin: 1px } p { margin: 2px }";
        assert_eq!(
            inline(css, r#"<p class="a">x</p>"#),
            r#"<p class="a" style="margin: 2px;color: red;">x</p>"#
        );
        assert_eq!(
            inline(css, r#"<p style="margin:0;font-size:2px">x</p>"#),
            r#"<p style="color: blue;margin: 0;font-size: 2px">x</p>"#
        );
        assert_eq!(
            inline(
                "p { margin: 5px !important }",
                r#"<p style="margin:0">x</p>"#
            ),
            r#"<p style="margin: 5px !important">x</p>"#
        );
    }

    #[test]
    fn comments_and_raw_text_are_left_alone_and_void_elements_written_bare() {
        let css = "td { color: red } p { margin: 0 }";
        let html = r#"<!--[if mso]><table><tr><td><![endif]--><style>td { x }</style><img src="a.png" /><br/><p>t</p>"#;
        assert_eq!(
            inline(css, html),
            r#"<!--[if mso]><table><tr><td><![endif]--><style>td { x }</style><img src="a.png"><br><p style="margin: 0;">t</p>"#
        );
        assert_eq!(
            inline("img { border: 0 }", r#"<img src="a&amp;b" alt='"q"'/>"#),
            r#"<img src="a&amp;b" alt="&quot;q&quot;" style="border: 0;">"#
        );
    }

    #[test]
    fn outlook_attributes_as_juice_writes_them() {
        let css = ".t th, .t td { vertical-align: top } .t th { background-color: #f9fafb } img { height: auto; width: 120px }";
        assert_eq!(
            inline(
                css,
                r#"<table class="t"><tr><th style="text-align:center">a</th><td align="left" style="text-align:right !important">b</td></tr></table><img src="i.png" width="9"><p style="text-align:center">p</p>"#
            ),
            r##"<table class="t"><tr><th style="vertical-align: top;background-color: #f9fafb;text-align: center" valign="top" bgcolor="#f9fafb" align="center">a</th><td align="right" style="vertical-align: top;text-align: right !important" valign="top">b</td></tr></table><img src="i.png" width="120" style="height: auto;width: 120px;" height="auto"><p style="text-align:center">p</p>"##
        );
        // Only on elements a rule touched, like juice.
        assert_eq!(
            inline(
                "p { margin: 0 }",
                r#"<td style="vertical-align:top">x</td>"#
            ),
            r#"<td style="vertical-align:top">x</td>"#
        );
    }

    #[test]
    fn values_with_quotes_semicolons_and_parentheses() {
        let css = r#"code { font-family: "A B", monospace; background: url(a;b.png) }"#;
        assert_eq!(
            inline(css, "<code>x</code>"),
            r#"<code style="font-family: 'A B', monospace;background: url(a;b.png);">x</code>"#
        );
    }

    #[test]
    fn unsupported_css_is_refused() {
        for css in [
            "a:hover { color: red }",
            "a > b { x: 1 }",
            "a + b { x: 1 }",
            "[href] { x: 1 }",
            "@media (max-width: 480px) { p { x: 1 } }",
            "p { color }",
            "p { x: 1 /* open",
            "p { x: 1",
            ".café { color: red }",
            "é { color: red }",
            "p\u{a0}{ color: red }",
            "p,\u{a0}a { color: red }",
            ".2col { x: 1 }",
            "#1 { x: 1 }",
            "p { 1x: 0 }",
            "tbody td { x: 1 }",
            "body p { x: 1 }",
        ] {
            assert!(StyleSheet::parse(css).is_none(), "{css}");
        }
        assert!(StyleSheet::parse("  /* nothing */ ").is_some());
        assert!(StyleSheet::parse("td.x, body, .-a_b1 p { x: 1 }").is_some());
        assert!(StyleSheet::parse("tbody { x: 1 }").is_none());
    }
}
