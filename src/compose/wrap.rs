//! Line breaking for the plain-text part.
//!
//! Paragraphs are broken to minimise raggedness (the squared gap at the end of
//! every line but the last, as in TeX and textwrap's "optimal fit"), never
//! splitting a word or URL: a word wider than the line overruns it alone.
//! Breaks fall at spaces and between wide (CJK) characters, except before
//! closing and after opening punctuation.
//!
//! This is textwrap's optimal-fit cost model with its default penalties,
//! computed directly: only lines that fit are considered, which is exact
//! because an overflowing line of two or more words always costs more than
//! breaking it up. A test checks the result against textwrap itself.

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar;

/// Cost of every line: prefers fewer lines when gaps are equal.
const LINE_PENALTY: u64 = 1000;
/// Cost per column of a line wider than the width (only a lone long word).
const OVERFLOW_PENALTY: u64 = 1 << 30;
/// Cost of a last line holding one short word ...
const SHORT_LAST_LINE_PENALTY: u64 = 25;
/// ... where short means under this fraction of the width.
const SHORT_LAST_LINE_FRACTION: usize = 4;

/// Wraps `text` to `width` display columns, line by line (`\n` ends a line).
/// Lines come back without trailing spaces; text that fits is borrowed.
pub fn wrap(text: &str, width: usize) -> Vec<Cow<'_, str>> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for line in text.split('\n') {
        // A line with fewer bytes than columns cannot be wider than them.
        if line.len() < width {
            lines.push(Cow::Borrowed(line.trim_end_matches(' ')));
        } else {
            wrap_line(line, width, &mut lines);
        }
    }
    lines
}

/// A word as laid out: where it starts and ends in the line (without its
/// trailing spaces), how many columns it takes, and how many spaces follow.
#[derive(Debug, Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
    width: usize,
    spaces: usize,
}

fn wrap_line<'a>(line: &'a str, width: usize, lines: &mut Vec<Cow<'a, str>>) {
    let words = words(line);
    // `advance[k]`: columns from the start of word 0 to the start of word k.
    let mut advance = Vec::with_capacity(words.len() + 1);
    advance.push(0usize);
    for w in &words {
        advance.push(advance.last().copied().unwrap_or(0) + w.width + w.spaces);
    }
    let n = words.len();
    // best[j] = (cost, first word of the last line) of the best layout of words[..j].
    let mut best: Vec<(u64, usize)> = Vec::with_capacity(n + 1);
    best.push((0, 0));
    for j in 1..=n {
        let mut choice = (u64::MAX, j - 1);
        for i in (0..j).rev() {
            let used = advance[j] - advance[i] - words[j - 1].spaces;
            if used > width && i + 1 < j {
                break; // adding earlier words only widens the line
            }
            let mut cost = best[i].0 + LINE_PENALTY;
            if used > width {
                cost += (used - width) as u64 * OVERFLOW_PENALTY;
            } else if j < n {
                cost += ((width - used) as u64).pow(2);
            } else if i + 1 == j && used * SHORT_LAST_LINE_FRACTION < width {
                cost += SHORT_LAST_LINE_PENALTY;
            }
            if cost <= choice.0 {
                choice = (cost, i);
            }
        }
        best.push(choice);
    }
    let mut breaks = Vec::new();
    let mut j = n;
    while j > 0 {
        let i = best[j].1;
        breaks.push((i, j));
        j = i;
    }
    if breaks.is_empty() {
        lines.push(Cow::Borrowed(""));
    }
    for &(i, j) in breaks.iter().rev() {
        lines.push(Cow::Borrowed(&line[words[i].start..words[j - 1].end]));
    }
}

/// Splits `line` into words: a word ends after its spaces, and around wide
/// characters (CJK ideographs, kana, hangul, fullwidth forms) except before
/// closing and after opening punctuation. URLs are never split, and a link
/// reference like `[3]` stays with the word before it.
fn words(line: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    let mut url_end = 0;
    for (i, c) in line.char_indices() {
        if i >= url_end {
            match prev {
                Some(' ') if c != ' ' && !is_reference(&line[i..]) => {
                    words.push(word(line, start, i));
                    start = i;
                }
                Some(p) if p != ' ' && c != ' ' && can_break_between(p, c) => {
                    words.push(word(line, start, i));
                    start = i;
                }
                _ => {}
            }
            if c.is_ascii_alphabetic() && prev.map_or(true, |p| !p.is_ascii_alphanumeric()) {
                if let Some(len) = url_len(&line[i..]) {
                    url_end = i + len;
                }
            }
        }
        prev = Some(c);
    }
    if start < line.len() {
        words.push(word(line, start, line.len()));
    }
    words
}

/// The word in `line[start..end]`, its trailing spaces counted apart.
fn word(line: &str, start: usize, end: usize) -> Word {
    let text = line[start..end].trim_end_matches(' ');
    Word {
        start,
        end: start + text.len(),
        width: text.chars().map(|c| c.width().unwrap_or(0)).sum(),
        spaces: end - start - text.len(),
    }
}

/// True when `s` starts with a link reference like `[12]`.
fn is_reference(s: &str) -> bool {
    s.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Length of the URL at the start of `s`, if one starts there.
fn url_len(s: &str) -> Option<usize> {
    let scheme = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        .count();
    if scheme == 0 || !s[scheme..].starts_with("://") {
        return None;
    }
    Some(s.find(char::is_whitespace).unwrap_or(s.len()))
}

fn can_break_between(before: char, after: char) -> bool {
    let wide = |c: char| c.width() == Some(2);
    (wide(before) || wide(after)) && !no_break_before(after) && !no_break_after(before)
}

/// Closing punctuation and marks that must not start a line.
fn no_break_before(c: char) -> bool {
    "、。，．：；！？）］｝〕〉》」』】〙〗〟’”｠»ー々〻ゝゞヽヾ…‥・゠ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ,.;:!?)]}%'\"–—"
        .contains(c)
}

/// Opening punctuation that must not end a line.
fn no_break_after(c: char) -> bool {
    "（［｛〔〈《「『【〘〖〝‘“｟«([{$#".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    fn wrapped(text: &str, width: usize) -> Vec<String> {
        wrap(text, width).into_iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn short_lines_are_borrowed_and_trimmed() {
        assert_eq!(wrapped("hello  ", 76), ["hello"]);
        assert_eq!(wrapped("", 76), [""]);
        assert_eq!(wrapped("a\nb", 76), ["a", "b"]);
        assert!(matches!(wrap("fits", 76)[0], Cow::Borrowed(_)));
    }

    #[test]
    fn minimises_raggedness_rather_than_filling_greedily() {
        // Greedy filling gives "aaa bb" / "cc" / "ddddd"; balanced lines are better.
        assert_eq!(wrapped("aaa bb cc ddddd", 6), ["aaa", "bb cc", "ddddd"]);
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(8);
        for line in wrap(&text, 30) {
            assert!(line.width() <= 30, "{line:?}");
            assert_eq!(line.trim_end(), line);
        }
    }

    #[test]
    fn long_words_and_urls_overrun_alone() {
        let url = "https://example.com/a/very/long/path/that/does/not/fit?utm_source=x";
        let lines = wrapped(&format!("see {url} now"), 20);
        assert_eq!(lines, ["see", url, "now"]);
    }

    #[test]
    fn references_stay_with_their_word() {
        let lines = wrapped("aaaa bbbb [12] cc", 10);
        assert!(lines.iter().any(|l| l.ends_with("bbbb [12]")), "{lines:?}");
    }

    #[test]
    fn cjk_breaks_between_characters_but_not_before_closing_punctuation() {
        let lines = wrapped("漢字漢字漢字漢字漢字。漢字漢字", 10);
        assert!(lines.iter().all(|l| l.width() <= 10), "{lines:?}");
        assert!(lines.iter().all(|l| !l.starts_with('。')), "{lines:?}");
        assert_eq!(lines.concat(), "漢字漢字漢字漢字漢字。漢字漢字");
    }

    #[test]
    fn blank_and_space_only_lines() {
        assert_eq!(wrapped(&" ".repeat(90), 10), [""]);
        assert_eq!(wrapped("x\n\ny", 1), ["x", "", "y"]);
    }

    /// The same line breaking through textwrap's optimal fit, as it was done
    /// before this module: the reference the test below compares against.
    fn textwrap_reference(text: &str, width: usize) -> Vec<String> {
        use textwrap::wrap_algorithms::Penalties;
        use textwrap::{WordSeparator, WordSplitter, WrapAlgorithm};
        fn separate(line: &str) -> Box<dyn Iterator<Item = textwrap::core::Word<'_>> + '_> {
            let words = words(line);
            let ends = words.iter().skip(1).map(|w| w.start).chain([line.len()]);
            let pieces: Vec<_> = words
                .iter()
                .zip(ends)
                .map(|(w, end)| textwrap::core::Word::from(&line[w.start..end]))
                .collect();
            Box::new(pieces.into_iter())
        }
        let penalties = Penalties {
            overflow_penalty: 1 << 30,
            ..Penalties::new()
        };
        let options = textwrap::Options::new(width)
            .wrap_algorithm(WrapAlgorithm::OptimalFit(penalties))
            .word_separator(WordSeparator::Custom(separate))
            .word_splitter(WordSplitter::NoHyphenation)
            .break_words(false);
        textwrap::wrap(text, options)
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    /// Every paragraph of the fixtures (and of ../shared/corpus where it is
    /// present) wraps exactly as textwrap's optimal fit wraps it.
    #[test]
    fn agrees_with_textwrap_optimal_fit() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in [
            "tests/fixtures/compose",
            "issues",
            "../shared/corpus",
            "../shared/seeds",
        ] {
            if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
                files.extend(entries.flatten().map(|e| e.path()));
            }
        }
        let mut compared = 0;
        for file in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
        {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for paragraph in text.split("\n\n") {
                let joined = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
                for width in [12, 30, 47, 76] {
                    assert_eq!(
                        wrapped(&joined, width),
                        textwrap_reference(&joined, width),
                        "{} at width {width}: {joined:?}",
                        file.display()
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 100, "only {compared} paragraphs compared");
    }
}
