//! The socket under lettre, bounded: a reply line may not grow without end.
//!
//! lettre's reply reader (`read_line` into a `String`) checks a line's length
//! only once the whole line has arrived, so a relay (or anyone on the path
//! before STARTTLS) sending one endless line makes it buffer without limit.
//! [`Bounded`] sits between lettre and our own socket and fails the read as
//! soon as a line passes [`MAX_REPLY_LINE`] bytes, the limit Postfix uses
//! (`line_length_limit = 2048`).
//!
//! After STARTTLS lettre wraps this stream in TLS itself, so what passes here
//! is ciphertext, where lines cannot be seen; from then on
//! ([`Bounded::ciphertext`]) the bound is on the bytes the server sends
//! between two of our writes, [`MAX_REPLY_TURN`].

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use lettre::transport::smtp::client::AsyncTokioStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest reply line accepted, in bytes, not counting the CRLF.
pub const MAX_REPLY_LINE: usize = 2048;

/// The most bytes a server may send between two of our writes once the
/// stream carries TLS records (a certificate chain fits many times over).
pub const MAX_REPLY_TURN: usize = 256 * 1024;

/// A stream that fails a read once a reply line (or, under STARTTLS, a
/// server's turn) is too long.
#[derive(Debug)]
pub struct Bounded<S> {
    inner: S,
    line: usize,
    turn: usize,
    ciphertext: Arc<AtomicBool>,
}

impl<S> Bounded<S> {
    /// Wraps `inner`, counting plaintext lines.
    pub fn new(inner: S) -> Bounded<S> {
        Bounded {
            inner,
            line: 0,
            turn: 0,
            ciphertext: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A switch to set just before STARTTLS: from then on the stream carries
    /// TLS records and the per-turn bound applies instead of the line bound.
    pub fn ciphertext(&self) -> Arc<AtomicBool> {
        self.ciphertext.clone()
    }

    /// Counts `new` bytes; an error once a bound is passed.
    fn count(&mut self, new: &[u8]) -> io::Result<()> {
        if self.ciphertext.load(Ordering::Relaxed) {
            self.turn += new.len();
            if self.turn > MAX_REPLY_TURN {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the server sent more than {MAX_REPLY_TURN} bytes without waiting for a command"),
                ));
            }
            return Ok(());
        }
        for &b in new {
            if b == b'\n' {
                self.line = 0;
            } else {
                self.line += 1;
                // + 1: the CR before the LF.
                if self.line > MAX_REPLY_LINE + 1 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the server sent a reply line longer than {MAX_REPLY_LINE} bytes"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Bounded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let this = &mut *self;
                Poll::Ready(this.count(&buf.filled()[before..]))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Bounded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.turn = 0;
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.turn = 0;
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl<S: AsyncTokioStream> AsyncTokioStream for Bounded<S> {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_across_reads_and_reset_by_lf() {
        let mut b = Bounded::new(());
        b.count(&[b'x'; 2000]).unwrap();
        b.count(&[b'x'; 48]).unwrap();
        b.count(b"\r\n").unwrap();
        b.count(&[b'y'; 2049]).unwrap(); // 2048 + the CR
        assert!(b.count(b"y").is_err());
        let mut b = Bounded::new(());
        b.ciphertext().store(true, Ordering::Relaxed);
        b.count(&vec![b'z'; MAX_REPLY_TURN]).unwrap();
        assert!(b.count(b"z").is_err());
    }
}
