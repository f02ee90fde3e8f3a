//! A fault-injecting SMTP server for the send tests (tokio, loopback only).
//!
//! What it does to a message depends on the recipient's local part prefix:
//!
//! | prefix        | behaviour                                                        |
//! |---------------|------------------------------------------------------------------|
//! | `rcpt550`     | `550 5.1.1` at RCPT, every time                                  |
//! | `data554`     | `554 5.6.0` after the body, every time                           |
//! | `t451x<k>`    | `451 4.3.0` after the body for the first k attempts, then 250    |
//! | `always451`   | `451` at RCPT, every time                                        |
//! | `rcpt421`     | `421` at RCPT and hang up, the first time                        |
//! | `drop`        | hang up after the whole body, without a reply, the first time    |
//! | `slow`        | reply to the body after `slow_reply`, the first time             |
//! | `esc550`      | `550 5.1.1` at RCPT, with terminal escape sequences in the text  |
//! | anything else | 250                                                              |
//!
//! Beyond that, [`PeerConfig::greeting`] makes the whole server silent (it
//! accepts connections and never speaks) or endless (one greeting line that
//! never ends), and [`PeerConfig::mail_reply`] replaces the reply to every
//! `MAIL FROM` (garbage, a `999`), and [`PeerConfig::mute_after`] makes
//! later connections hang after EHLO.
//!
//! Every complete body received is counted per recipient ("received"), and
//! every body answered with 250 ("accepted"), so tests can count lost and
//! duplicated messages.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the peer greets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Greeting {
    /// `220`.
    Normal,
    /// Accept the connection, never say anything.
    Silent,
    /// `220 ` followed by an endless line.
    Endless,
}

/// How the peer behaves beyond the per-recipient rules.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Advertise PIPELINING.
    pub pipelining: bool,
    /// Delay before every reply to the end of data.
    pub accept_delay: Duration,
    /// Delay for `slow` recipients.
    pub slow_reply: Duration,
    /// Greet the first n connections with 421 and hang up.
    pub greet_421: usize,
    /// How every (other) connection is greeted.
    pub greeting: Greeting,
    /// The raw reply (with its CRLF) to every `MAIL FROM`, instead of 250.
    pub mail_reply: Option<&'static str>,
    /// Connections after the first n greet and answer EHLO, then fall
    /// silent (a relay that hangs: every later command waits forever).
    pub mute_after: Option<usize>,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            pipelining: true,
            accept_delay: Duration::ZERO,
            slow_reply: Duration::from_secs(3),
            greet_421: 0,
            greeting: Greeting::Normal,
            mail_reply: None,
            mute_after: None,
        }
    }
}

/// What the peer saw.
#[derive(Debug, Default)]
pub struct PeerState {
    /// Complete bodies received, per recipient.
    pub received: HashMap<String, usize>,
    /// Bodies answered with 250, per recipient.
    pub accepted: HashMap<String, usize>,
    /// Transactions that reached the end of data or a rejection, per recipient.
    pub attempts: HashMap<String, usize>,
    /// Connections opened.
    pub connections: usize,
    /// Most connections open at once.
    pub max_concurrent: usize,
    /// Open now.
    pub open: usize,
    /// The last body received, per recipient.
    pub bodies: HashMap<String, Vec<u8>>,
    /// Bytes of endless greeting written, over all connections.
    pub endless_bytes: usize,
}

/// A running peer.
pub struct Peer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// What it saw.
    pub state: Arc<Mutex<PeerState>>,
}

impl Peer {
    /// Starts a peer on the current tokio runtime.
    pub async fn start(config: PeerConfig) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(PeerState::default()));
        let s = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let n = {
                    let mut st = s.lock().unwrap();
                    st.connections += 1;
                    st.open += 1;
                    st.max_concurrent = st.max_concurrent.max(st.open);
                    st.connections
                };
                let s2 = s.clone();
                let c = config.clone();
                tokio::spawn(async move {
                    let mute = c.mute_after.is_some_and(|m| n > m);
                    let _ = session(sock, &s2, &c, n <= c.greet_421, mute).await;
                    s2.lock().unwrap().open -= 1;
                });
            }
        });
        Peer { port, state }
    }

    /// A snapshot of counts: (received, accepted) for `rcpt`.
    pub fn counts(&self, rcpt: &str) -> (usize, usize) {
        let st = self.state.lock().unwrap();
        (
            st.received.get(rcpt).copied().unwrap_or(0),
            st.accepted.get(rcpt).copied().unwrap_or(0),
        )
    }
}

fn local(rcpt: &str) -> &str {
    rcpt.split('@').next().unwrap_or("")
}

fn first_time(st: &Mutex<PeerState>, rcpt: &str) -> bool {
    st.lock().unwrap().attempts.get(rcpt).copied().unwrap_or(0) == 0
}

async fn session(
    sock: TcpStream,
    st: &Mutex<PeerState>,
    c: &PeerConfig,
    greet_421: bool,
    mute: bool,
) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    if greet_421 {
        w.write_all(b"421 4.3.2 busy, try later\r\n").await?;
        return Ok(());
    }
    match c.greeting {
        Greeting::Normal => {}
        Greeting::Silent => {
            // Read (and ignore) until the client gives up.
            let mut sink = Vec::new();
            while r.read_until(b'\n', &mut sink).await? > 0 {
                sink.clear();
            }
            return Ok(());
        }
        Greeting::Endless => {
            w.write_all(b"220 ").await?;
            let chunk = vec![b'a'; 64 * 1024];
            loop {
                w.write_all(&chunk).await?;
                st.lock().unwrap().endless_bytes += chunk.len();
            }
        }
    }
    w.write_all(b"220 peer.test ESMTP fault injector\r\n")
        .await?;
    let mut rcpt: Option<String> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if mute && !upper.starts_with("EHLO") {
            continue;
        }
        if upper.starts_with("EHLO") {
            let mut reply = String::from("250-peer.test\r\n");
            if c.pipelining {
                reply.push_str("250-PIPELINING\r\n");
            }
            reply.push_str("250-8BITMIME\r\n250 SMTPUTF8\r\n");
            w.write_all(reply.as_bytes()).await?;
        } else if upper.starts_with("MAIL FROM:") {
            rcpt = None;
            let reply = c.mail_reply.unwrap_or("250 2.1.0 Ok\r\n");
            w.write_all(reply.as_bytes()).await?;
        } else if upper.starts_with("RCPT TO:") {
            let addr = cmd[8..]
                .trim()
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or("")
                .to_string();
            let l = local(&addr);
            if l.starts_with("rcpt550") {
                *st.lock().unwrap().attempts.entry(addr.clone()).or_default() += 1;
                w.write_all(b"550 5.1.1 <nobody>: Recipient address rejected: User unknown\r\n")
                    .await?;
            } else if l.starts_with("esc550") {
                *st.lock().unwrap().attempts.entry(addr.clone()).or_default() += 1;
                w.write_all(
                    b"550 5.1.1 \x1b[2J\x1b]0;pwned\x07\x1b[31mno such user\x1b[0m \xe2\x80\xae\xc2\x9b\r\n",
                )
                .await?;
            } else if l.starts_with("always451") {
                *st.lock().unwrap().attempts.entry(addr.clone()).or_default() += 1;
                w.write_all(b"451 4.7.1 Greylisted, come back later\r\n")
                    .await?;
            } else if l.starts_with("rcpt421") && first_time(st, &addr) {
                *st.lock().unwrap().attempts.entry(addr.clone()).or_default() += 1;
                w.write_all(b"421 4.4.2 closing, too busy\r\n").await?;
                return Ok(());
            } else {
                rcpt = Some(addr);
                w.write_all(b"250 2.1.5 Ok\r\n").await?;
            }
        } else if upper == "DATA" {
            let Some(to) = rcpt.clone() else {
                w.write_all(b"554 5.5.1 Error: no valid recipients\r\n")
                    .await?;
                continue;
            };
            w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut body = Vec::new();
            loop {
                let mut l = Vec::new();
                if r.read_until(b'\n', &mut l).await? == 0 {
                    return Ok(()); // client hung up mid-body: nothing delivered
                }
                if l == b".\r\n" {
                    break;
                }
                let l = if l.starts_with(b"..") {
                    l[1..].to_vec()
                } else {
                    l
                };
                body.extend_from_slice(&l);
            }
            let first = first_time(st, &to);
            {
                let mut s = st.lock().unwrap();
                *s.attempts.entry(to.clone()).or_default() += 1;
            }
            let l = local(&to).to_string();
            let t451 = l
                .strip_prefix("t451x")
                .and_then(|k| k.split('-').next())
                .and_then(|k| k.parse::<usize>().ok());
            if let Some(k) = t451 {
                let n = st.lock().unwrap().attempts[&to];
                if n <= k {
                    w.write_all(b"451 4.3.0 Temporary local problem, try again\r\n")
                        .await?;
                    continue;
                }
            }
            if l.starts_with("data554") {
                w.write_all(b"554 5.6.0 Message content rejected\r\n")
                    .await?;
                continue;
            }
            // The message is committed here: it counts as received.
            {
                let mut s = st.lock().unwrap();
                *s.received.entry(to.clone()).or_default() += 1;
                s.bodies.insert(to.clone(), body);
            }
            if l.starts_with("drop") && first {
                return Ok(());
            }
            if l.starts_with("slow") && first {
                tokio::time::sleep(c.slow_reply).await;
            }
            if !c.accept_delay.is_zero() {
                tokio::time::sleep(c.accept_delay).await;
            }
            w.write_all(b"250 2.0.0 Ok: queued\r\n").await?;
            *st.lock().unwrap().accepted.entry(to).or_default() += 1;
        } else if upper == "RSET" || upper == "NOOP" {
            rcpt = None;
            w.write_all(b"250 2.0.0 Ok\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 5.5.2 Error: command not recognized\r\n")
                .await?;
        }
    }
}
