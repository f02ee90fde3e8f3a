//! Helpers for the `serve` tests: a scratch copy of an issue with its config
//! and templates, a running `letterpress serve`, and a tiny HTTP client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::common;

/// A scratch newsletter: `letterpress.toml`, `issues/<issue>`, maybe `templates/`.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub issue: PathBuf,
    pub templates: PathBuf,
}

/// The seed issue when `../shared` is present, else the shipped example.
pub fn source_issue() -> PathBuf {
    common::seed().unwrap_or_else(|| {
        common::markdown_files(&common::root().join("issues"))
            .into_iter()
            .next()
            .expect("the repository ships an example issue in issues/")
    })
}

/// Copies the issue into a temporary directory with a config whose paths point
/// there. With `own_templates`, the templates are copied too (so a test may
/// break them); otherwise the config points at the repository's templates.
pub fn site(own_templates: bool) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let src = source_issue();
    let issue = dir.path().join("issues").join(src.file_name().unwrap());
    std::fs::create_dir_all(issue.parent().unwrap()).unwrap();
    std::fs::copy(&src, &issue).unwrap();
    let repo_templates = common::root().join("templates");
    let templates = if own_templates {
        let t = dir.path().join("templates");
        std::fs::create_dir_all(&t).unwrap();
        for e in std::fs::read_dir(&repo_templates).unwrap() {
            let e = e.unwrap();
            if e.path().is_file() {
                std::fs::copy(e.path(), t.join(e.file_name())).unwrap();
            }
        }
        t
    } else {
        repo_templates
    };
    let text = std::fs::read_to_string(common::root().join("letterpress.toml")).unwrap();
    let mut table: toml::Table = toml::from_str(&text).unwrap();
    let paths = table
        .entry("paths")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .unwrap();
    paths.insert("issues".into(), "issues".into());
    paths.insert("out".into(), "out".into());
    paths.insert(
        "templates".into(),
        templates.to_string_lossy().into_owned().into(),
    );
    let config = dir.path().join("letterpress.toml");
    std::fs::write(&config, toml::to_string(&table).unwrap()).unwrap();
    Site {
        dir,
        config,
        issue,
        templates,
    }
}

/// A running `letterpress serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub url: String,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// What it printed on stderr so far.
    pub fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

fn pump(
    stream: impl Read + Send + 'static,
    sink: Arc<Mutex<Vec<String>>>,
    tx: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &tx {
                let _ = tx.send(line.clone());
            }
            sink.lock().unwrap().push(line);
        }
    });
}

/// Starts `letterpress --config <config> serve <issue> --port 0 <extra>` and
/// waits for the URL it prints.
pub fn start(config: &Path, issue: &str, extra: &[&str], envs: &[(&str, Option<&str>)]) -> Server {
    let mut cmd = common::bin();
    cmd.arg("--config")
        .arg(config)
        .args(["serve", issue, "--port", "0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let mut child = cmd.spawn().expect("start letterpress serve");
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    pump(child.stdout.take().unwrap(), stdout.clone(), Some(tx));
    pump(child.stderr.take().unwrap(), stderr.clone(), None);
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(i) = line.find("http://") {
                    break line[i..].trim().to_string();
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "serve printed no URL; stdout: {:?}; stderr: {:?}",
                    stdout.lock().unwrap(),
                    stderr.lock().unwrap()
                );
            }
        }
    };
    let hostport = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let addr: SocketAddr = hostport.parse().unwrap_or_else(|_| panic!("bad URL {url}"));
    assert_ne!(addr.port(), 0, "the printed URL has the real port: {url}");
    Server {
        child,
        addr,
        url,
        stdout,
        stderr,
    }
}

/// An HTTP response.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
}

/// `GET path` over HTTP/1.1 with `Connection: close`.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let i = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&b[..i]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[i + 2 + size + 2..];
    }
}

/// The server's state as JSON.
pub fn state(addr: SocketAddr) -> serde_json::Value {
    let r = get(addr, "/api/state");
    assert_eq!(r.status, 200);
    serde_json::from_slice(&r.body).unwrap()
}

/// Polls `/api/state` until `pred` holds; panics with the last state after `timeout`.
pub fn wait_state(
    addr: SocketAddr,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let s = state(addr);
        if pred(&s) {
            return s;
        }
        if Instant::now() > deadline {
            let mut s = s;
            if let Some(e) = s.get_mut("email").and_then(|e| e.as_object_mut()) {
                e.remove("sample_html");
                e.remove("sample_text");
            }
            panic!("timed out after {timeout:?} waiting for {what}; state: {s:#}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Replaces the issue's `title:` line.
pub fn with_title(text: &str, title: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in text.split_inclusive('\n') {
        if !done && line.starts_with("title:") {
            out.push_str(&format!("title: \"{title}\"\n"));
            done = true;
        } else {
            out.push_str(line);
        }
    }
    assert!(done, "the issue has a title line");
    out
}
