//! Colour arithmetic for the layout: WCAG 2 contrast ratios, and the link
//! colour for the dark version of the email derived from the accent colour.

/// The dark card's background in `templates/email.mjml` (`#1f2937`).
pub const DARK_CARD: Rgb = Rgb(0x1f, 0x29, 0x37);

/// The contrast WCAG 2 asks of body text (AA).
pub const MIN_CONTRAST: f64 = 4.5;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Parses `#rgb` or `#rrggbb` (the forms a layout's colours take).
    pub fn parse(css: &str) -> Option<Rgb> {
        let hex = css.trim().strip_prefix('#')?;
        let digit = |i: usize, len: usize| u8::from_str_radix(hex.get(i..i + len)?, 16).ok();
        match hex.len() {
            3 => Some(Rgb(digit(0, 1)? * 17, digit(1, 1)? * 17, digit(2, 1)? * 17)),
            6 => Some(Rgb(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
            _ => None,
        }
    }

    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG 2 relative luminance.
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    /// `self` mixed with white: `amount` 0 is `self`, 1 is white.
    fn lighten(self, amount: f64) -> Rgb {
        let mix = |c: u8| (f64::from(c) + (255.0 - f64::from(c)) * amount).round() as u8;
        Rgb(mix(self.0), mix(self.1), mix(self.2))
    }
}

/// The WCAG 2 contrast ratio of two colours, from 1 to 21.
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// The accent colour `css` lightened just enough to read (≥ 4.5:1) on the
/// dark card, keeping its hue. A colour that is not `#rgb`/`#rrggbb` (a
/// name, `rgb()`) cannot be measured and gives a light blue that passes.
pub fn for_dark_background(css: &str) -> String {
    let Some(color) = Rgb::parse(css) else {
        return "#93c5fd".to_string();
    };
    (0..=20)
        .map(|step| color.lighten(f64::from(step) / 20.0))
        .find(|c| contrast(*c, DARK_CARD) >= MIN_CONTRAST + 0.1)
        .unwrap_or(Rgb(255, 255, 255))
        .hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_matches_wcag_examples() {
        let white = Rgb(255, 255, 255);
        assert!((contrast(Rgb(0, 0, 0), white) - 21.0).abs() < 1e-9);
        // The old header grey on the page: 4.39:1, below AA.
        let old = contrast(
            Rgb::parse("#6b7280").unwrap(),
            Rgb::parse("#f3f4f6").unwrap(),
        );
        assert!((old - 4.39).abs() < 0.01, "{old}");
        assert_eq!(Rgb::parse("#abc"), Some(Rgb(0xaa, 0xbb, 0xcc)));
        assert_eq!(Rgb::parse("red"), None);
    }

    #[test]
    fn dark_accent_reads_on_the_dark_card() {
        for accent in ["#b45309", "#2563eb", "#000000", "#ffffff", "#0a0"] {
            let dark = Rgb::parse(&for_dark_background(accent)).unwrap();
            assert!(
                contrast(dark, DARK_CARD) >= MIN_CONTRAST,
                "{accent} -> {dark:?}"
            );
        }
        // Already light enough: unchanged.
        assert_eq!(for_dark_background("#fbbf24"), "#fbbf24");
    }
}
