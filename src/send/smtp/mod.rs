//! One SMTP connection, owned by one worker.
//!
//! lettre 0.11.23 speaks the protocol; this module works around its traps:
//!
//! - It never sets `TCP_NODELAY`, so every command waits ~40 ms for delayed
//!   ACKs. We open the TCP socket ourselves, set `TCP_NODELAY`, and hand the
//!   stream to
//!   [`lettre::transport::smtp::client::AsyncSmtpConnection::connect_with_transport`]. For implicit
//!   TLS (`smtps://`) we wrap that socket in tokio-rustls first, for the same
//!   reason.
//! - Its pool caps idle, not open, connections, and a send cancelled by a
//!   timeout goes back to the pool half-used (the next send can read the old
//!   `354` as success). We use no pool: a [`Connection`] belongs to one
//!   worker, every step has a timeout, and after any network error or timeout
//!   the connection is marked broken and dropped.
//! - Its `send` aborts the connection on every negative reply. We drive
//!   `MAIL`/`RCPT`/`DATA` ourselves with its public `command`, so a `550` for
//!   one recipient costs a `RSET`, not a reconnect, and pipeline the three
//!   commands (RFC 2920) when the server offers `PIPELINING`.
//!
//! - Its reply reader checks a line's length only once the whole line has
//!   arrived, so one endless line is buffered without limit. Our socket
//!   wrapper, [`stream::Bounded`], fails the read at 2,048 bytes.
//!
//! TLS policy: `smtps://` is implicit TLS; `smtp://` upgrades with STARTTLS
//! and refuses a server that does not offer it, unless the host is a loopback
//! address or plaintext was explicitly allowed.
//!
//! The module is split the way lettre splits its transport:
//!
//! - [`url`]: settings from `[smtp]` and the SMTP URL.
//! - [`error`]: failure classification by reply category.
//! - [`stream`]: the socket under lettre, with reply lines bounded.
//! - `tls`: the implicit-TLS stream.
//! - [`connection`]: one session, owned by one worker.

pub mod connection;
pub mod error;
pub mod stream;
mod tls;
pub mod url;

pub use connection::Connection;
pub use error::{Accepted, EnhancedStatus, Failure, Stage};
pub use url::{Secret, Security, SmtpSettings, PASSWORD_ENV};
