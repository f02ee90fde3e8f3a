//! A real Dovecot IMAP server in a temporary folder (on 127.0.0.1, one
//! passwd-file user; plaintext, or with a test certificate STARTTLS and
//! implicit TLS too), and Python's imaplib to fill and inspect it as a mail
//! client would.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The program.
pub const DOVECOT: &str = "/usr/sbin/dovecot";

/// The one user.
pub const USER: &str = "bounces";

/// Its password.
pub const PASSWORD: &str = "imap-test-password";

/// A running Dovecot, stopped on drop.
pub struct Dovecot {
    child: Child,
    /// The IMAP port on 127.0.0.1 (STARTTLS offered when started with TLS).
    pub port: u16,
    /// The IMAPS (implicit TLS) port on 127.0.0.1; 0 without TLS.
    pub imaps_port: u16,
    /// Its folder.
    pub dir: PathBuf,
    /// The owner of the mail files (the `dovecot` user and group).
    owner: (u32, u32),
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn id(flag: &str, name: &str) -> Option<u32> {
    let o = Command::new("id").args([flag, name]).output().ok()?;
    String::from_utf8_lossy(&o.stdout).trim().parse().ok()
}

impl Dovecot {
    /// Starts Dovecot under `dir` (made world-readable: the mail processes
    /// run as the `dovecot` user); `extra` is appended to its config. None
    /// (after `skip`) when Dovecot or imaplib is missing.
    pub fn start(dir: &Path, extra: &str) -> Option<Dovecot> {
        Dovecot::launch(dir, extra, None)
    }

    /// [`Dovecot::start`] with TLS: `certs` holds `server.pem` and
    /// `server.key` (see `common::certificates`); IMAP offers STARTTLS and
    /// [`Dovecot::imaps_port`] speaks implicit TLS.
    pub fn start_tls(dir: &Path, extra: &str, certs: &Path) -> Option<Dovecot> {
        Dovecot::launch(dir, extra, Some(certs))
    }

    fn launch(dir: &Path, extra: &str, certs: Option<&Path>) -> Option<Dovecot> {
        if !Path::new(DOVECOT).exists() || !super::has_python_module("imaplib") {
            super::skip("dovecot (apt install dovecot-imapd) and python3 are needed");
            return None;
        }
        let (Some(uid), Some(gid)) = (id("-u", "dovecot"), id("-g", "dovecot")) else {
            super::skip("the dovecot user is missing (apt install dovecot-imapd)");
            return None;
        };
        let free_port = || {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let port = free_port();
        let (ssl, imaps_port) = match certs {
            Some(c) => (
                format!(
                    "ssl = yes\nssl_cert = <{}\nssl_key = <{}",
                    c.join("server.pem").display(),
                    c.join("server.key").display()
                ),
                free_port(),
            ),
            None => ("ssl = no".to_string(), 0),
        };
        let d = dir.to_path_buf();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(d.join("mail"), Some(uid), Some(gid)).unwrap();
        std::fs::write(
            d.join("users"),
            format!(
                "{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::\n",
                home = d.join("mail").display()
            ),
        )
        .unwrap();
        let conf = format!(
            r#"protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {uid}
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
  }}
}}
{extra}
"#,
            d = d.display()
        );
        let conf_path = d.join("dovecot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let dovecot = Dovecot {
            child,
            port,
            imaps_port,
            dir: d,
            owner: (uid, gid),
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            || (imaps_port != 0 && std::net::TcpStream::connect(("127.0.0.1", imaps_port)).is_err())
        {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "dovecot did not listen on {port}: {}",
                std::fs::read_to_string(dovecot.dir.join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        Some(dovecot)
    }

    /// `imap://bounces@127.0.0.1:PORT/MAILBOX`.
    pub fn url(&self, mailbox: &str) -> String {
        format!("imap://{USER}@127.0.0.1:{}/{mailbox}", self.port)
    }

    /// Runs a Python imaplib snippet with `M` logged in; its stdout.
    pub fn python(&self, body: &str) -> String {
        let script = format!(
            "import imaplib, sys, os\nM = imaplib.IMAP4('127.0.0.1', {port})\n\
             M.login({USER:?}, {PASSWORD:?})\n{body}\nM.logout()\n",
            port = self.port
        );
        let o = Command::new("python3")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "imaplib failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// APPENDs every file in `dir` (sorted) to `mailbox`.
    pub fn append_dir(&self, mailbox: &str, dir: &Path) {
        self.python(&format!(
            "d = {dir:?}\nfor n in sorted(os.listdir(d)):\n    \
             M.append({mailbox:?}, None, None, open(os.path.join(d, n), 'rb').read())",
            dir = dir.display().to_string()
        ));
    }

    /// Delivers every file in `dir` straight into the INBOX maildir, as a
    /// local delivery agent would (much faster than APPEND for thousands).
    pub fn deliver_dir(&self, dir: &Path) {
        let inbox = self.dir.join("mail").join(USER);
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(inbox.join(sub)).unwrap();
        }
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for (i, from) in names.iter().enumerate() {
            let to = inbox.join("new").join(format!("{i:06}.letterpress-test"));
            std::fs::copy(from, &to).unwrap();
        }
        let (uid, gid) = self.owner;
        let o = Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{gid}"))
            .arg(&inbox)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// How many message files the maildir folder `folder` (as the server
    /// names it, e.g. `letterpress.processed`) holds, read from disk
    /// without a connection (cheap enough to poll).
    pub fn files_in(&self, folder: &str) -> usize {
        let base = self.dir.join("mail").join(USER).join(format!(".{folder}"));
        ["new", "cur"]
            .iter()
            .map(|s| std::fs::read_dir(base.join(s)).map_or(0, |d| d.count()))
            .sum()
    }

    /// How many messages `mailbox` holds (0 when it does not exist).
    pub fn count(&self, mailbox: &str) -> usize {
        self.python(&format!(
            "t, d = M.select('\"{mailbox}\"', readonly=True)\n\
             print(int(d[0]) if t == 'OK' else 0)"
        ))
        .trim()
        .parse()
        .unwrap()
    }

    /// The Subject lines in `mailbox`, sorted.
    pub fn subjects(&self, mailbox: &str) -> Vec<String> {
        let out = self.python(&format!(
            "M.select('\"{mailbox}\"', readonly=True)\nt, d = M.search(None, 'ALL')\n\
             for n in d[0].split():\n    \
             t, x = M.fetch(n, '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')\n    \
             print(x[0][1].decode().strip())"
        ));
        let mut v: Vec<String> = out.lines().map(str::to_string).collect();
        v.sort();
        v
    }
}
