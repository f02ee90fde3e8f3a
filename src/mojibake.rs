//! Mojibake: UTF-8 text that was decoded as Mac Roman or Windows-1252 on
//! its way to us, so `’` reads `‚Äô` (Mac Roman) or `â€™` (Windows-1252).
//!
//! Detection re-encodes each run of non-ASCII characters in the suspected
//! legacy encoding and looks for well-formed multi-byte UTF-8 sequences in
//! the bytes. Correct text almost never does that: a lone `é` or `’` maps
//! to one byte that is not valid UTF-8 on its own, and characters outside the
//! legacy encoding (CJK, most emoji) cannot be mis-decoded in it at all.

use std::sync::OnceLock;

/// A legacy encoding that UTF-8 text is commonly mis-decoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    /// Classic Mac OS Roman (`’` → `‚Äô`).
    MacRoman,
    /// Windows-1252, the web's "Latin-1" (`’` → `â€™`).
    Windows1252,
}

impl Legacy {
    fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            Legacy::MacRoman => encoding_rs::MACINTOSH,
            Legacy::Windows1252 => encoding_rs::WINDOWS_1252,
        }
    }

    /// Human name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Legacy::MacRoman => "Mac Roman",
            Legacy::Windows1252 => "Windows-1252",
        }
    }

    /// The 128 characters that bytes 0x80..=0xFF decode to.
    fn upper_half(self) -> &'static [char; 128] {
        static MAC: OnceLock<[char; 128]> = OnceLock::new();
        static WIN: OnceLock<[char; 128]> = OnceLock::new();
        let cell = match self {
            Legacy::MacRoman => &MAC,
            Legacy::Windows1252 => &WIN,
        };
        cell.get_or_init(|| {
            let bytes: Vec<u8> = (0x80..=0xFF).collect();
            let (decoded, _) = self.encoding().decode_without_bom_handling(&bytes);
            let chars: Vec<char> = decoded.chars().collect();
            chars
                .try_into()
                .expect("single-byte encoding maps 128 bytes to 128 chars")
        })
    }

    /// The byte this character was in the legacy encoding, if it is one of the upper half.
    fn byte_of(self, c: char) -> Option<u8> {
        static MAC: OnceLock<Vec<(char, u8)>> = OnceLock::new();
        static WIN: OnceLock<Vec<(char, u8)>> = OnceLock::new();
        if c.is_ascii() {
            return None;
        }
        let cell = match self {
            Legacy::MacRoman => &MAC,
            Legacy::Windows1252 => &WIN,
        };
        let sorted = cell.get_or_init(|| {
            let mut v: Vec<(char, u8)> =
                self.upper_half().iter().copied().zip(0x80..=0xFF).collect();
            v.sort_unstable();
            v
        });
        sorted
            .binary_search_by_key(&c, |&(c, _)| c)
            .ok()
            .map(|i| sorted[i].1)
    }
}

/// One mis-decoded sequence found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line.
    pub line: usize,
    /// The garbled characters as they appear (`‚Äô`).
    pub garbled: String,
    /// What they should read (`’`).
    pub fixed: String,
}

/// The result of scanning a text for mojibake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The encoding the text was mis-decoded as.
    pub encoding: Legacy,
    /// Every garbled sequence, in order.
    pub findings: Vec<Finding>,
    /// The repaired text.
    pub repaired: String,
}

/// Scans `text`; `None` when it has no mojibake.
pub fn scan(text: &str) -> Option<Report> {
    [Legacy::MacRoman, Legacy::Windows1252]
        .into_iter()
        .map(|enc| scan_as(text, enc))
        .filter(|r| !r.findings.is_empty())
        .max_by_key(|r| r.findings.len())
}

/// Repairs `text`, returning it unchanged when there is nothing to repair.
pub fn repair(text: &str) -> String {
    scan(text)
        .map(|r| r.repaired)
        .unwrap_or_else(|| text.to_string())
}

fn scan_as(text: &str, enc: Legacy) -> Report {
    let mut repaired = String::with_capacity(text.len());
    let mut findings = Vec::new();
    let mut line = 1;
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        let Some(lead) = enc.byte_of(c) else {
            if c == '\n' {
                line += 1;
            }
            repaired.push(c);
            continue;
        };
        let want = match lead {
            0xC2..=0xDF => 1,
            0xE0..=0xEF => 2,
            0xF0..=0xF4 => 3,
            _ => 0,
        };
        let mut bytes = vec![lead];
        let mut garbled = String::from(c);
        let mut look = chars.clone();
        for _ in 0..want {
            match look
                .next()
                .and_then(|(_, n)| enc.byte_of(n).map(|b| (n, b)))
            {
                Some((n, b)) if (0x80..=0xBF).contains(&b) => {
                    bytes.push(b);
                    garbled.push(n);
                }
                _ => break,
            }
        }
        match std::str::from_utf8(&bytes) {
            Ok(fixed) if want > 0 && bytes.len() == want + 1 => {
                chars = look;
                repaired.push_str(fixed);
                findings.push(Finding {
                    line,
                    garbled,
                    fixed: fixed.to_string(),
                });
            }
            _ => repaired.push(c),
        }
    }
    Report {
        encoding: enc,
        findings,
        repaired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_roman_quotes_and_dashes() {
        let r = scan("I‚Äôm ‚Äúhere‚Äù ‚Äî ok").unwrap();
        assert_eq!(r.encoding, Legacy::MacRoman);
        assert_eq!(r.repaired, "I’m “here” — ok");
        assert_eq!(r.findings.len(), 4);
    }

    #[test]
    fn mac_roman_emoji_with_apple_logo_byte() {
        // U+1F50C ELECTRIC PLUG is F0 9F 94 8C; 0xF0 is the Apple logo U+F8FF in Mac Roman.
        let r = scan("AI \u{F8FF}üîå\nnext").unwrap();
        assert_eq!(r.repaired, "AI 🔌\nnext");
        assert_eq!(r.findings[0].line, 1);
    }

    #[test]
    fn windows_1252() {
        let r = scan("It’s").map(|r| r.repaired);
        assert_eq!(r, None);
        let r = scan("Itâ€™s cafÃ©").unwrap();
        assert_eq!(r.encoding, Legacy::Windows1252);
        assert_eq!(r.repaired, "It’s café");
    }

    #[test]
    fn correct_text_is_left_alone() {
        for t in [
            "café — “quoted” ’",
            "中文比特币闪电网络",
            "emoji 🔌✨",
            "naïve façade Ω ≈ ∑",
            "plain ascii",
        ] {
            assert!(scan(t).is_none(), "false positive on {t}");
            assert_eq!(repair(t), t);
        }
    }

    #[test]
    fn lines_are_counted() {
        let r = scan("a\nb\nc‚Äôd").unwrap();
        assert_eq!(r.findings[0].line, 3);
        assert_eq!(r.findings[0].garbled, "‚Äô");
    }
}
