//! `letterpress doctor` against real peers on loopback: dnsmasq serving the
//! sender's DNS records (correct ones, a DKIM record holding another key, a
//! domain without DMARC), aiosmtpd with and without STARTTLS, and Python's
//! http.server for the unsubscribe URL and `/healthz`. The DKIM records are
//! made by openssl from the key files, independently of letterpress.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// Kills the child when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn judges_ready() -> bool {
    if !Path::new(DNSMASQ).is_file() {
        common::skip("dnsmasq not found at /usr/sbin/dnsmasq (Debian dnsmasq-base)");
        return false;
    }
    if !common::has_program("openssl", &["version"]) {
        common::skip("openssl is needed to make DKIM keys and certificates");
        return false;
    }
    if !common::has_python_module("aiosmtpd") {
        common::skip("python3 with aiosmtpd is needed for the SMTP relay");
        return false;
    }
    true
}

/// A private key file and the `p=` of its DKIM record, both from openssl.
fn dkim_key(dir: &Path, name: &str, algorithm: &str) -> (PathBuf, String) {
    let file = format!("{name}.pem");
    match algorithm {
        "ed25519" => common::openssl(dir, &["genpkey", "-algorithm", "ed25519", "-out", &file]),
        _ => common::openssl(dir, &["genrsa", "-out", &file, "2048"]),
    };
    let der = common::openssl(dir, &["pkey", "-in", &file, "-pubout", "-outform", "DER"]);
    // Ed25519: the raw key is the last 32 bytes of the SubjectPublicKeyInfo.
    let key = if algorithm == "ed25519" {
        der[der.len() - 32..].to_vec()
    } else {
        der
    };
    (
        dir.join(file),
        base64::engine::general_purpose::STANDARD.encode(key),
    )
}

/// A `--txt-record` argument; long values split into 255-byte strings
/// (no shell here, so no quotes; the values hold no commas).
fn txt(name: &str, value: &str) -> String {
    assert!(!value.contains(','), "{value}");
    let parts: Vec<&str> = value
        .as_bytes()
        .chunks(255)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!("--txt-record={name},{}", parts.join(","))
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// dnsmasq on loopback answering only `records`.
fn dnsmasq(records: &[String]) -> (Peer, SocketAddr) {
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new(DNSMASQ)
            .args([
                "--no-daemon",
                &format!("--port={port}"),
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--pid-file=",
                "--user=",
                "--log-facility=-",
            ])
            .args(records)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dnsmasq");
        let mut peer = Peer(child);
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        // Ready when it answers over TCP (it serves TCP and UDP on the port).
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = peer.0.try_wait() {
                break; // port taken: try another
            }
            if std::net::TcpStream::connect(addr).is_ok() {
                return (peer, addr);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = peer.0.kill();
    }
    panic!("dnsmasq did not start");
}

/// aiosmtpd (tests/judges/smtp_capture.py), optionally with STARTTLS.
fn relay(dir: &Path, starttls: Option<(&Path, &Path)>) -> (Peer, u16) {
    let mut cmd = Command::new("python3");
    cmd.arg(common::root().join("tests/judges/smtp_capture.py"))
        .arg("--dir")
        .arg(dir)
        .args(["--port", "0"]);
    if let Some((cert, key)) = starttls {
        cmd.arg("--starttls").arg(cert).arg(key);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .strip_prefix("READY ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("smtp_capture said {line:?}"));
    (Peer(child), port)
}

/// `python3 -m http.server` over `dir`.
fn http_server(dir: &Path) -> (Peer, u16) {
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut peer = Peer(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = peer.0.try_wait() {
                break;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (peer, port);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = peer.0.kill();
    }
    panic!("http.server did not start");
}

struct Setup<'a> {
    from_domain: &'a str,
    selector: &'a str,
    algorithm: &'a str,
    key: &'a Path,
    smtp_port: u16,
    http_port: u16,
    ca: Option<&'a Path>,
}

fn write_config(dir: &Path, s: &Setup) -> PathBuf {
    let ca =
        s.ca.map(|c| format!("ca_file = \"{}\"\n", c.display()))
            .unwrap_or_default();
    let text = format!(
        r#"[newsletter]
name = "Doctor Test"
from = "Doctor Test <letters@{from}>"
web_url = "https://{from}"
postal_address = "1 Test Street"

[listen]
public_url = "http://127.0.0.1:{http}"

[smtp]
url = "smtp://127.0.0.1:{smtp}"
timeout_seconds = 5
{ca}
[dkim]
domain = "{from}"
selector = "{selector}"
algorithm = "{algorithm}"
private_key = "{key}"
"#,
        from = s.from_domain,
        http = s.http_port,
        smtp = s.smtp_port,
        selector = s.selector,
        algorithm = s.algorithm,
        key = s.key.display(),
    );
    let path = dir.join(format!("{}-{}.toml", s.from_domain, s.selector));
    std::fs::write(&path, text).unwrap();
    path
}

fn doctor(config: &Path, dns: SocketAddr, secret: &str) -> Output {
    common::bin()
        .arg("--config")
        .arg(config)
        .arg("doctor")
        .arg("--dns")
        .arg(dns.to_string())
        .args(["--timeout", "5"])
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", secret)
        .output()
        .unwrap()
}

/// The line `doctor` printed for check `name`.
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no `{name}` line in:\n{out}"))
}

#[test]
fn doctor_against_dnsmasq_aiosmtpd_and_http() {
    if !judges_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ed_key, ed_p) = dkim_key(d, "ed", "ed25519");
    let (rsa_key, rsa_p) = dkim_key(d, "rsa", "rsa");
    let (_, other_p) = dkim_key(d, "other", "ed25519");
    assert!(common::certificates(d));
    let records = vec![
        txt("good.test", "v=spf1 include:_spf.good.test ~all"),
        txt("_spf.good.test", "v=spf1 ip4:192.0.2.0/24 -all"),
        txt(
            "ed._domainkey.good.test",
            &format!("v=DKIM1; k=ed25519; p={ed_p}"),
        ),
        txt(
            "rsa._domainkey.good.test",
            &format!("v=DKIM1; k=rsa; p={rsa_p}"),
        ),
        txt(
            "other._domainkey.good.test",
            &format!("v=DKIM1; k=ed25519; p={other_p}"),
        ),
        txt(
            "_dmarc.good.test",
            "v=DMARC1; p=none; rua=mailto:dmarc@good.test",
        ),
        "--mx-host=good.test,mx.good.test,10".to_string(),
        "--host-record=mx.good.test,192.0.2.25".to_string(),
        "--host-record=relay.good.test,192.0.2.7".to_string(),
        "--host-record=elsewhere.good.test,198.51.100.9".to_string(),
        // nodmarc.test: SPF, DKIM and MX, but no DMARC record.
        txt("nodmarc.test", "v=spf1 ip4:192.0.2.0/24 -all"),
        txt(
            "ed._domainkey.nodmarc.test",
            &format!("v=DKIM1; k=ed25519; p={ed_p}"),
        ),
        "--mx-host=nodmarc.test,mx.good.test,10".to_string(),
    ];
    let (_dns, dns) = dnsmasq(&records);
    let web = d.join("web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("healthz"), "ok\n").unwrap();
    let (_http, http_port) = http_server(&web);
    let mail = d.join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    let (cert, key) = (d.join("server.pem"), d.join("server.key"));
    let (_tls_relay, tls_port) = relay(&mail, Some((&cert, &key)));
    let (_plain_relay, plain_port) = relay(&mail, None);
    let ca = d.join("ca.pem");
    let secret = "0123456789abcdef0123456789abcdef0123456789abcdef";

    // Correct records, Ed25519 and RSA: nothing enforced fails.
    for (selector, algorithm, key_file) in [("ed", "ed25519", &ed_key), ("rsa", "rsa", &rsa_key)] {
        let config = write_config(
            d,
            &Setup {
                from_domain: "good.test",
                selector,
                algorithm,
                key: key_file,
                smtp_port: tls_port,
                http_port,
                ca: Some(&ca),
            },
        );
        let o = doctor(&config, dns, secret);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{algorithm}:\n{out}{err}");
        assert!(line(&out, "dkim").starts_with("pass"), "{out}");
        assert!(line(&out, "dkim").contains(algorithm), "{out}");
        assert!(line(&out, "dmarc").starts_with("pass"), "{out}");
        assert!(line(&out, "dmarc").contains("p=none"), "{out}");
        assert!(
            line(&out, "mx").starts_with("pass") && out.contains("mx.good.test"),
            "{out}"
        );
        // The relay is on loopback: doctor says it cannot know which server sends.
        assert!(line(&out, "spf").starts_with("warn"), "{out}");
        assert!(line(&out, "spf").contains("cannot know"), "{out}");
        assert!(line(&out, "tls").starts_with("pass"), "{out}");
        assert!(
            line(&out, "tls").contains("STARTTLS offered, certificate valid"),
            "{out}"
        );
        assert!(line(&out, "secret").starts_with("pass"), "{out}");
        assert!(line(&out, "listen").starts_with("pass"), "{out}");
        // http.server answers 404 for the made-up token; plain http on loopback warns.
        assert!(line(&out, "unsubscribe").starts_with("warn"), "{out}");
        assert!(line(&out, "unsubscribe").contains("HTTP 404"), "{out}");
        assert!(!out.contains(secret), "the secret was printed:\n{out}");
    }

    // The DKIM record holds another key; the secret is short.
    let config = write_config(
        d,
        &Setup {
            from_domain: "good.test",
            selector: "other",
            algorithm: "ed25519",
            key: &ed_key,
            smtp_port: tls_port,
            http_port,
            ca: Some(&ca),
        },
    );
    let o = doctor(&config, dns, "short");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(5), "{out}");
    assert!(line(&out, "dkim").starts_with("fail"), "{out}");
    assert!(line(&out, "dkim").contains("another key"), "{out}");
    assert!(
        out.contains(&format!("p={}", ed_p)),
        "the fix shows the record to publish:\n{out}"
    );
    assert!(
        line(&out, "secret").starts_with("fail") && line(&out, "secret").contains("5 bytes"),
        "{out}"
    );

    // No DMARC record, and a relay without STARTTLS.
    let config = write_config(
        d,
        &Setup {
            from_domain: "nodmarc.test",
            selector: "ed",
            algorithm: "ed25519",
            key: &ed_key,
            smtp_port: plain_port,
            http_port,
            ca: None,
        },
    );
    let o = doctor(&config, dns, secret);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(5), "{out}");
    assert!(line(&out, "dmarc").starts_with("fail"), "{out}");
    assert!(
        line(&out, "dmarc").contains("no DMARC record at _dmarc.nodmarc.test"),
        "{out}"
    );
    assert!(
        out.contains("v=DMARC1; p=none"),
        "the fix shows a record:\n{out}"
    );
    assert!(line(&out, "dkim").starts_with("pass"), "{out}");
    assert!(line(&out, "tls").starts_with("fail"), "{out}");
    assert!(line(&out, "tls").contains("STARTTLS"), "{out}");
    assert!(err.contains("dmarc") && err.contains("tls"), "{err}");
}

/// SPF evaluation over real DNS: include:, ip4 networks, a relay inside
/// and one outside the authorised network, and a domain without SPF.
#[test]
fn spf_authorises_the_relay_through_includes() {
    if !Path::new(DNSMASQ).is_file() {
        common::skip("dnsmasq not found at /usr/sbin/dnsmasq (Debian dnsmasq-base)");
        return;
    }
    let records = vec![
        txt(
            "good.test",
            "v=spf1 a:mail.good.test include:_spf.good.test ~all",
        ),
        txt("_spf.good.test", "v=spf1 ip4:192.0.2.0/24 -all"),
        txt("loop.test", "v=spf1 include:loop.test -all"),
        "--host-record=mail.good.test,203.0.113.5".to_string(),
        "--host-record=relay.good.test,192.0.2.7".to_string(),
        "--host-record=elsewhere.good.test,198.51.100.9".to_string(),
    ];
    let (_dns, addr) = dnsmasq(&records);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use letterpress::doctor::{dns::Dns, spf, Status};
        let dns = Dns::new(Some(addr)).unwrap();
        let c = spf(&dns, "good.test", Some("smtp://relay.good.test:587")).await;
        assert_eq!(c.status, Status::Pass, "{c:?}");
        assert!(
            c.summary.contains("192.0.2.7") && c.summary.contains("2 of 10"),
            "{c:?}"
        );
        let c = spf(&dns, "good.test", Some("smtp://203.0.113.5:587")).await;
        assert_eq!(c.status, Status::Pass, "{c:?}");
        let c = spf(&dns, "good.test", Some("smtp://elsewhere.good.test:587")).await;
        assert_eq!(c.status, Status::Warn, "{c:?}");
        assert!(c.fix.unwrap().contains("ip4:198.51.100.9"));
        let c = spf(&dns, "nothing.test", Some("smtp://relay.good.test:587")).await;
        assert_eq!(c.status, Status::Fail, "{c:?}");
        assert!(c.enforced);
        let c = spf(&dns, "loop.test", Some("smtp://relay.good.test:587")).await;
        assert_eq!(c.status, Status::Fail, "{c:?}");
        assert!(c.summary.contains("cannot be evaluated"), "{c:?}");
    });
}
