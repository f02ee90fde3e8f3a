//! Starting a real `letterpress listen` for the tests: a config in a
//! temporary folder, the secret in the environment, port 0, and the address
//! read back from the line it prints.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use letterpress::audience::{AddressKey, Tokens};
use letterpress::config::Config;

/// The list secret the tests run with (at least 32 bytes).
pub const SECRET: &str = "listen-tests-secret-0123456789-abcdefghijklmnop";
/// The bearer token of `/api/events` in the tests.
pub const API_TOKEN: &str = "listen-tests-api-token-0123456789-abcdefghijkl";
/// The newsletter's name in the test config.
pub const NAME: &str = "Listen <Test> Weekly";

/// A folder with a `letterpress.toml`; the store goes in `.letterpress/`.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Site {
    /// A site whose config ends with `extra` (more TOML tables).
    pub fn new(extra: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("letterpress.toml");
        std::fs::write(
            &config,
            format!(
                r#"[newsletter]
name = "{}"
from = "Listen Weekly <news@listen.example>"
web_url = "https://listen.example"
postal_address = "1 Example Street, Exampleton"

[listen]
public_url = "https://listen.example"
{extra}
"#,
                NAME.replace('"', "\\\"")
            ),
        )
        .unwrap();
        Site { dir, config }
    }

    /// The parsed config.
    pub fn parsed(&self) -> Config {
        Config::from_file(&self.config).unwrap()
    }

    /// The store's path.
    pub fn store(&self) -> PathBuf {
        let c = self.parsed();
        c.resolve(&c.audience.store)
    }

    /// The list id tokens are bound to.
    pub fn list_id(&self) -> String {
        self.parsed().list_id()
    }
}

/// The list's tokens, as `send` makes them.
pub fn tokens() -> Tokens {
    Tokens::new(SECRET.as_bytes()).unwrap()
}

/// The key of `addr`.
pub fn key(addr: &str) -> AddressKey {
    AddressKey::parse(addr).unwrap()
}

/// A running `letterpress listen`; killed on drop.
pub struct Listen {
    pub child: Child,
    pub addr: SocketAddr,
    /// Everything it wrote to standard error (the access log).
    pub log: Arc<Mutex<String>>,
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Listen {
    /// `http://ADDR`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The access log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// The `listen` command for `site` with the secret set, not yet started.
pub fn command(site: &Site, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_letterpress"));
    c.arg("--config")
        .arg(&site.config)
        .arg("listen")
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("LETTERPRESS_REMOTE_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Starts `listen` on `site` with `env` added; panics with its error output
/// when it does not come up.
pub fn start(site: &Site, env: &[(&str, &str)], args: &[&str]) -> Listen {
    let mut c = command(site, args);
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("start letterpress listen");
    let log = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("on http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok());
    let Some(addr) = addr else {
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(100));
        panic!(
            "listen did not start: stdout {line:?}, stderr {:?}",
            log.lock().unwrap()
        );
    };
    Listen { child, addr, log }
}

/// Sends `request` as is over a fresh connection and returns everything
/// the server answers until it closes (or 5 s pass).
pub fn raw(addr: SocketAddr, request: &[u8]) -> String {
    try_raw(addr, request).unwrap()
}

/// [`raw`], with connection errors returned instead of panicking.
pub fn try_raw(addr: SocketAddr, request: &[u8]) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(request)?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The status of a one-click POST to `path`, or `None` when the connection failed.
pub fn try_one_click(addr: SocketAddr, path: &str) -> Option<u16> {
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 26\r\n\r\n\
         List-Unsubscribe=One-Click"
    );
    let answer = try_raw(addr, req.as_bytes()).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// One HTTP/1.1 request with `Connection: close`; returns (status, head, body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let answer = raw(addr, req.as_bytes());
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// The RFC 8058 one-click POST to `path`.
pub fn one_click(addr: SocketAddr, path: &str) -> (u16, String, String) {
    http(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "List-Unsubscribe=One-Click",
    )
}
