//! The audience: who may be mailed, and what came back.
//!
//! Two sources meet here. The author's list, `subscribers.toml`
//! ([`subscribers`]), says who signed up; letterpress never rewrites it. The
//! world's answers (unsubscribes, bounces, complaints) are events in the
//! audience store, beside the send journal. Who may be mailed is the list's
//! active readers minus the store's suppressions, compared by one identity:
//!
//! - [`address`]: [`AddressKey`], the one identity of an address (IDNA
//!   A-label domain, NFC lower-cased local part), and the one address
//!   grammar the list, the message builder and the store share.
//! - [`token`]: [`Tokens`], the opaque, list-bound tokens in unsubscribe URLs
//!   (and the keyed tag in Message-IDs).
//! - [`subscribers`]: `subscribers.toml`, streamed line by line.
//! - [`store`]: the audience store (SQLite event log) and its suppressions.
//!
//! ```text
//!  subscribers.toml ──▶ Subscribers ──┐
//!                                      ├─▶ who may be mailed ──▶ send
//!  store (events)   ──▶ Suppressions ─┘        ▲
//!        ▲                                      │
//!        └── unsubscribes (listen), bounces (send), manual (`audience`)
//! ```

pub mod address;
pub mod store;
pub mod subscribers;
pub mod token;

pub use address::{AddressError, AddressKey};
pub use token::{TokenError, Tokens};
