//! The per-recipient placeholders. Composing runs once per issue, before any
//! recipient is known: the templates see a [`Slot`] sentinel where a
//! recipient's value goes, and [`message`](crate::message) fills them in per
//! recipient (the archive fills them for the web).

/// A value that differs per recipient. Templates see a sentinel in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `{{ subscriber.name }}` (empty when the subscriber has none).
    Name,
    /// `{{ subscriber.email }}`.
    Email,
    /// `{{ unsubscribe_url }}`.
    UnsubscribeUrl,
}

impl Slot {
    /// Every slot.
    pub const ALL: [Slot; 3] = [Slot::Name, Slot::Email, Slot::UnsubscribeUrl];

    /// The placeholder composed into the HTML and text. Letters and digits
    /// only, so HTML escaping, CSS inlining and minifying leave it intact.
    pub const fn sentinel(self) -> &'static str {
        match self {
            Slot::Name => "LPSLOTxNAMEx7q",
            Slot::Email => "LPSLOTxEMAILx7q",
            Slot::UnsubscribeUrl => "LPSLOTxUNSUBx7q",
        }
    }
}
