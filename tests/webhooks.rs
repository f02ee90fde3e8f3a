//! The relay webhooks of `listen`, against real peers:
//!
//! - SES through SNS: messages signed by `openssl dgst -sign` (not our
//!   code) with a certificate made by the openssl CLI and served over
//!   loopback HTTPS by Python (`http.server` in `ssl`); the server runs
//!   in-process with that CA as its only trust root and the SNS host name
//!   pointed at loopback (through `listen::Options::sns`, which the CLI
//!   always sets to the public roots and system DNS).
//! - Postmark and Mailgun through the real `letterpress listen` binary,
//!   their HMACs computed by Python's `hmac`.
//! - End to end: after a Mailgun hard bounce and complaint, the next issue
//!   reaches everyone else at an aiosmtpd capture; a soft bounce alone
//!   does not suppress.

mod common;
mod listen_support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use letterpress::audience::store::{EventKind, Source, Store};
use letterpress::config::Config;
use letterpress::listen::{Options, SnsTrust};
use listen_support::{http, key, start, Site};
use serde_json::Value;

const SNS_HOST: &str = "sns.us-east-1.amazonaws.com";
/// Amazon S3's virtual-hosted name of a bucket called `sns` on a legacy
/// endpoint: under amazonaws.com, starting `sns.`, but anyone's content.
const S3_BUCKET_HOST: &str = "sns.s3-external-1.amazonaws.com";
/// An SNS host name the test server's TLS certificate does not cover.
const OTHER_SNS_HOST: &str = "sns.eu-central-1.amazonaws.com";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:letterpress-feedback";
const CERT_PATH: &str = "/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem";
const POSTMARK_PASSWORD: &str = "postmark-webhook-password-0123456789";
const MAILGUN_KEY: &str = "key-0123456789abcdef0123456789abcdef";

fn fixture(name: &str) -> Value {
    let p = common::root().join("tests/fixtures/webhooks").join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string()
}

/// A CA, a TLS certificate for the SNS host, the SNS signing certificate
/// (both issued by the CA) and an unrelated key, all by the openssl CLI.
fn sns_certificates(dir: &Path) {
    common::openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=webhook test CA",
        ],
    );
    for (name, cn, ext) in [
        ("tls", SNS_HOST, format!("subjectAltName=DNS:{SNS_HOST},DNS:{S3_BUCKET_HOST}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")),
        ("signing", "sns.amazonaws.com", "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n".to_string()),
    ] {
        std::fs::write(dir.join(format!("{name}.cnf")), ext).unwrap();
        common::openssl(dir, &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &format!("{name}.key"), "-out", &format!("{name}.csr"), "-subj", &format!("/CN={cn}")]);
        common::openssl(dir, &["x509", "-req", "-in", &format!("{name}.csr"), "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", &format!("{name}.pem"), "-days", "2", "-extfile", &format!("{name}.cnf")]);
    }
    common::openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "wrong.key",
        ],
    );
}

/// Python's HTTPS server on loopback: serves `dir`, answers SNS's
/// ConfirmSubscription, and prints a line for every connection it accepts
/// and every GET it answers. A path with `Slow` in it is answered 404
/// after 3 s (a slow SNS host); `/SimpleNotificationService-Redirect.pem`
/// redirects to `/followed.pem`.
const HTTPS_SERVER: &str = r#"
import http.server, ssl, sys, time
root, cert, key = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=root, **k)
    def do_GET(self):
        print("GET " + self.path, flush=True)
        if "Slow" in self.path:
            time.sleep(3)
            self.send_error(404)
            return
        if self.path == "/SimpleNotificationService-Redirect.pem":
            self.send_response(302)
            self.send_header("Location", "/followed.pem")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/?Action=ConfirmSubscription"):
            body = b"<ConfirmSubscriptionResponse><ConfirmSubscriptionResult/></ConfirmSubscriptionResponse>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    def get_request(self):
        sock, addr = self.socket.accept()
        print("CONNECT %d" % addr[1], flush=True)
        return ctx.wrap_socket(sock, server_side=True), addr
srv = S(("127.0.0.1", 0), H)
print("READY %d" % srv.server_address[1], flush=True)
srv.serve_forever()
"#;

struct Https {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    /// The lines of `seen`'s own connections.
    own: Mutex<Vec<String>>,
}

impl Drop for Https {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Https {
    /// Serves `root` with the TLS certificate `dir/<tls>.pem` (and `.key`).
    fn start(dir: &Path, root: &Path, tls: &str) -> Https {
        let script = dir.join("https_server.py");
        std::fs::write(&script, HTTPS_SERVER).unwrap();
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(root)
            .arg(dir.join(format!("{tls}.pem")))
            .arg(dir.join(format!("{tls}.key")))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("READY ").unwrap().parse().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for l in out.lines() {
                let Ok(l) = l else { break };
                sink.lock().unwrap().push(l);
            }
        });
        Https {
            child,
            port,
            lines,
            own: Mutex::new(Vec::new()),
        }
    }

    /// Everything the server printed so far (connections and GETs), but
    /// for our own marks. A connection of our own marks the end: once
    /// Python has printed it, it has printed everything that came before.
    fn seen(&self) -> Vec<String> {
        let mark = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let line = format!("CONNECT {}", mark.local_addr().unwrap().port());
        drop(mark);
        self.own.lock().unwrap().push(line.clone());
        for _ in 0..400 {
            let lines = self.lines.lock().unwrap().clone();
            if lines.contains(&line) {
                let own = self.own.lock().unwrap();
                return lines.into_iter().filter(|l| !own.contains(l)).collect();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the https server did not print {line}");
    }
}

/// AWS's string to sign, written out here independently of the library.
fn string_to_sign(m: &serde_json::Map<String, Value>) -> String {
    let order: &[&str] = if m["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut s = String::new();
    for k in order {
        if let Some(v) = m.get(*k).and_then(Value::as_str) {
            s.push_str(&format!("{k}\n{v}\n"));
        }
    }
    s
}

/// Signs `m` with `openssl dgst -sha1|-sha256 -sign KEY`, as SNS
/// SignatureVersion 1 or 2 does.
fn sign(dir: &Path, m: &mut serde_json::Map<String, Value>, key: &str, version: u8) {
    m.insert("SignatureVersion".into(), Value::from(version.to_string()));
    let msg = dir.join("to-sign.txt");
    std::fs::write(&msg, string_to_sign(m)).unwrap();
    let digest = if version == 1 { "-sha1" } else { "-sha256" };
    common::openssl(
        dir,
        &[
            "dgst",
            digest,
            "-sign",
            key,
            "-out",
            "sig.bin",
            "to-sign.txt",
        ],
    );
    let sig = std::fs::read(dir.join("sig.bin")).unwrap();
    m.insert(
        "Signature".into(),
        Value::from(base64::engine::general_purpose::STANDARD.encode(sig)),
    );
}

/// An SNS notification carrying the `Message` of `fixture`, fresh, for our topic.
fn notification(fixture_name: &str, message_id: &str) -> serde_json::Map<String, Value> {
    let Value::Object(mut m) = fixture(fixture_name) else {
        panic!("fixture is an object")
    };
    m.insert("MessageId".into(), Value::from(message_id));
    m.insert("TopicArn".into(), Value::from(TOPIC));
    m.insert("Timestamp".into(), Value::from(iso(now_secs())));
    m.insert(
        "SigningCertURL".into(),
        Value::from(format!("https://{SNS_HOST}{CERT_PATH}")),
    );
    m.remove("Subject");
    m
}

fn post_sns(
    addr: SocketAddr,
    m: &serde_json::Map<String, Value>,
    extra: &[(&str, &str)],
) -> (u16, String) {
    let kind = m["Type"].as_str().unwrap_or("Notification").to_string();
    let mut headers = vec![
        ("Content-Type", "text/plain; charset=UTF-8"),
        ("x-amz-sns-message-type", kind.as_str()),
    ];
    headers.extend_from_slice(extra);
    let (status, head, _) = http(
        addr,
        "POST",
        "/webhooks/ses",
        &headers,
        &Value::Object(m.clone()).to_string(),
    );
    (status, head)
}

fn events(store: &Path) -> Vec<(String, EventKind, Source)> {
    Store::open(store)
        .unwrap()
        .recent(1000)
        .unwrap()
        .into_iter()
        .map(|e| (e.address.as_str().to_string(), e.kind, e.source))
        .collect()
}

fn subscribers(dir: &Path, addresses: &[&str]) {
    let mut s = String::new();
    for a in addresses {
        s.push_str(&format!("[[subscriber]]\nemail = \"{a}\"\n\n"));
    }
    std::fs::write(dir.join("subscribers.toml"), s).unwrap();
}

/// `listen` run in-process with the SES webhook on: the certificates of
/// [`sns_certificates`], the signing certificate served by [`Https`] on
/// [`SNS_HOST`] (pointed at loopback, as are the hosts the rule must
/// refuse, so a fetch that slipped through would show in its log).
struct SnsRig {
    tmp: tempfile::TempDir,
    https: Https,
    site: Site,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<std::thread::JoinHandle<letterpress::error::Result<()>>>,
}

impl SnsRig {
    /// `subscribers` on the list; `trust` may point more hosts somewhere.
    fn start(subscribers_: &[&str], trust: impl FnOnce(SnsTrust) -> SnsTrust) -> SnsRig {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        sns_certificates(dir);
        let served = dir.join("served");
        std::fs::create_dir(&served).unwrap();
        std::fs::copy(
            dir.join("signing.pem"),
            served.join(CERT_PATH.trim_start_matches('/')),
        )
        .unwrap();
        let https = Https::start(dir, &served, "tls");
        let loopback: SocketAddr = ([127, 0, 0, 1], https.port).into();
        let site = Site::new(&format!(
            "[unsubscribe]\nsecret_env = \"LETTERPRESS_WEBHOOKS_SNS_TEST_SECRET\"\n\n\
             [webhooks.ses]\ntopic_arns = [\"{TOPIC}\"]\n"
        ));
        subscribers(site.dir.path(), subscribers_);
        std::env::set_var(
            "LETTERPRESS_WEBHOOKS_SNS_TEST_SECRET",
            listen_support::SECRET,
        );
        let config = Config::from_file(&site.config).unwrap();
        let mut t = SnsTrust::with_roots_pem(&std::fs::read(dir.join("ca.pem")).unwrap())
            .connect(SNS_HOST, loopback);
        for h in [
            "evil.example",
            "sns.us-east-1.amazonaws.com.evil.example",
            S3_BUCKET_HOST,
            OTHER_SNS_HOST,
        ] {
            t = t.connect(h, loopback);
        }
        let options = Options {
            bind: "127.0.0.1:0".parse().unwrap(),
            commit_each: false,
            sns: trust(t),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (tell, bound) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || {
            letterpress::listen::run_until(
                &config,
                &options,
                async move {
                    let _ = stopped.await;
                },
                move |a| tell.send(a).unwrap(),
            )
        });
        let addr: SocketAddr = bound
            .recv_timeout(Duration::from_secs(30))
            .expect("listen starts");
        SnsRig {
            tmp,
            https,
            site,
            addr,
            stop: Some(stop),
            server: Some(server),
        }
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Stops `listen` and checks that it stopped cleanly.
    fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.server.take().unwrap().join().unwrap().unwrap();
    }
}

impl Drop for SnsRig {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

#[test]
fn sns_only_correctly_signed_messages_from_sns_hosts_count() {
    if !common::has_program("openssl", &["version"]) {
        return common::skip("the openssl CLI is needed to make and sign with a test certificate");
    }
    if !common::has_python_module("ssl") {
        return common::skip("python3 with ssl is needed to serve the certificate over https");
    }
    let rig = SnsRig::start(
        &[
            "jane@example.com",
            "richard@example.com",
            "bob@example.com",
            "success@example.com",
        ],
        |t| t,
    );
    let (dir, https, addr, store) = (rig.dir(), &rig.https, rig.addr, rig.site.store());

    // A hard bounce signed with SHA1withRSA (SignatureVersion 1): counted.
    let mut bounce = notification(
        "ses-bounce-permanent.json",
        "6a3f0c1e-0000-4000-8000-000000000001",
    );
    sign(dir, &mut bounce, "signing.key", 1);
    assert_eq!(post_sns(addr, &bounce, &[]).0, 200);
    let after_first = https.seen();
    assert_eq!(
        after_first.iter().filter(|l| l.starts_with("GET ")).count(),
        1,
        "{after_first:?}"
    );
    assert!(after_first.contains(&format!("GET {CERT_PATH}")));
    // SNS's retry of the same message: answered, not counted again; the
    // certificate comes from the cache.
    assert_eq!(post_sns(addr, &bounce, &[]).0, 200);
    assert_eq!(
        events(&store),
        vec![(
            "jane@example.com".to_string(),
            EventKind::HardBounce,
            Source::Webhook
        )]
    );

    // A complaint signed with SHA256withRSA (SignatureVersion 2): counted.
    let mut complaint = notification("ses-complaint.json", "6a3f0c1e-0000-4000-8000-000000000002");
    sign(dir, &mut complaint, "signing.key", 2);
    assert_eq!(post_sns(addr, &complaint, &[]).0, 200);

    // Refused, nothing recorded: each would make bob bounce.
    let bob = |id: &str| {
        let mut m = notification("ses-bounce-permanent.json", id);
        let msg = m["Message"]
            .as_str()
            .unwrap()
            .replace("jane@example.com", "bob@example.com");
        m.insert("Message".into(), Value::from(msg));
        m
    };
    let mut altered = bob("6a3f0c1e-0000-4000-8000-000000000003");
    sign(dir, &mut altered, "signing.key", 1);
    let msg = altered["Message"]
        .as_str()
        .unwrap()
        .replace("5.1.1", "5.1.2");
    altered.insert("Message".into(), Value::from(msg));
    let mut wrong_key = bob("6a3f0c1e-0000-4000-8000-000000000004");
    sign(dir, &mut wrong_key, "wrong.key", 2);
    let mut other_topic = bob("6a3f0c1e-0000-4000-8000-000000000005");
    other_topic.insert(
        "TopicArn".into(),
        Value::from("arn:aws:sns:us-east-1:123456789012:someone-else"),
    );
    sign(dir, &mut other_topic, "signing.key", 1);
    let mut stale = bob("6a3f0c1e-0000-4000-8000-000000000006");
    stale.insert("Timestamp".into(), Value::from(iso(now_secs() - 2 * 3600)));
    sign(dir, &mut stale, "signing.key", 1);
    let mut unsigned = bob("6a3f0c1e-0000-4000-8000-000000000007");
    unsigned.remove("Signature");
    let mut version3 = bob("6a3f0c1e-0000-4000-8000-000000000008");
    sign(dir, &mut version3, "signing.key", 2);
    version3.insert("SignatureVersion".into(), Value::from("3"));
    for (what, m) in [
        ("altered after signing", &altered),
        ("signed by another key", &wrong_key),
        ("another topic", &other_topic),
        ("two hours old", &stale),
        ("unsigned", &unsigned),
        ("unknown signature version", &version3),
    ] {
        let (status, head) = post_sns(addr, m, &[]);
        assert_eq!(status, 403, "{what}: {head}");
    }
    // Raw message delivery: the bare SES JSON, flagged by SNS or not.
    let raw = bob("x")["Message"].as_str().unwrap().to_string();
    for extra in [&[("x-amz-sns-rawdelivery", "true")][..], &[]] {
        let mut headers = vec![("Content-Type", "text/plain; charset=UTF-8")];
        headers.extend_from_slice(extra);
        let (status, _, _) = http(addr, "POST", "/webhooks/ses", &headers, &raw);
        assert_eq!(status, 403, "raw delivery {extra:?}");
    }

    // Certificate URLs off the SNS host rule: refused without any fetch.
    let before = https.seen().len();
    for url in [
        format!("http://{SNS_HOST}{CERT_PATH}"),
        format!("https://evil.example{CERT_PATH}"),
        format!("https://{SNS_HOST}.evil.example{CERT_PATH}"),
        format!("https://user@{SNS_HOST}{CERT_PATH}"),
        format!("https://{SNS_HOST}:{}{CERT_PATH}", https.port),
        format!("https://{SNS_HOST}/not-a-certificate"),
    ] {
        let mut m = bob(&format!("6a3f0c1e-1111-4000-8000-{:012}", url.len()));
        m.insert("SigningCertURL".into(), Value::from(url.clone()));
        sign(dir, &mut m, "signing.key", 1);
        let (status, head) = post_sns(addr, &m, &[]);
        assert_eq!(status, 403, "{url}: {head}");
    }
    assert_eq!(
        https.seen().len(),
        before,
        "the https server saw a request: {:?}",
        https.seen()
    );

    // A delivery notification, correctly signed: answered, not recorded.
    let mut delivery = notification("ses-delivery.json", "6a3f0c1e-0000-4000-8000-000000000009");
    sign(dir, &mut delivery, "signing.key", 2);
    assert_eq!(post_sns(addr, &delivery, &[]).0, 200);

    let got = events(&store);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.contains(&(
        "richard@example.com".into(),
        EventKind::Complaint,
        Source::Webhook
    )));
    assert!(!got
        .iter()
        .any(|(a, ..)| a == "bob@example.com" || a == "success@example.com"));

    // A subscription confirmation: exactly one GET of its SubscribeURL.
    let subscribe_path = format!(
        "/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e241dbca52e"
    );
    let mut confirm = serde_json::Map::new();
    for (k, v) in [
        ("Type", "SubscriptionConfirmation".to_string()),
        ("MessageId", "165545c9-2a5c-472c-8df2-7ff2be2b3b1b".to_string()),
        ("Token", "2336412f37fb687f5d51e6e241dbca52e".to_string()),
        ("TopicArn", TOPIC.to_string()),
        ("Message", format!("You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.")),
        ("SubscribeURL", format!("https://{SNS_HOST}{subscribe_path}")),
        ("Timestamp", iso(now_secs())),
        ("SigningCertURL", format!("https://{SNS_HOST}{CERT_PATH}")),
    ] {
        confirm.insert(k.into(), Value::from(v));
    }
    sign(dir, &mut confirm, "signing.key", 1);
    let (status, head) = post_sns(addr, &confirm, &[]);
    assert_eq!(status, 200, "{head}");
    let gets: Vec<String> = https
        .seen()
        .into_iter()
        .filter(|l| l.starts_with("GET /?"))
        .collect();
    assert_eq!(gets, vec![format!("GET {subscribe_path}")]);
    // A confirmation whose SubscribeURL leaves the SNS hosts: not followed.
    let before = https.seen().len();
    confirm.insert(
        "SubscribeURL".into(),
        Value::from(format!("https://evil.example{subscribe_path}")),
    );
    sign(dir, &mut confirm, "signing.key", 1);
    assert_eq!(post_sns(addr, &confirm, &[]).0, 403);
    assert_eq!(https.seen().len(), before);
    rig.stop();
}

/// POSTs `body` to `path` and waits up to a minute for the answer (where
/// [`http`] gives up after 5 s): its status and how long it took.
fn post_patiently(
    addr: SocketAddr,
    path: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> (u16, Duration) {
    use std::io::{Read, Write};
    let start = std::time::Instant::now();
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(
        c,
        "{head}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, start.elapsed())
}

#[test]
fn sns_refuses_what_an_attacker_can_name_or_reshape() {
    if !common::has_program("openssl", &["version"]) {
        return common::skip("the openssl CLI is needed to make and sign with a test certificate");
    }
    if !common::has_python_module("ssl") {
        return common::skip("python3 with ssl is needed to serve the certificate over https");
    }
    // A second SNS host whose TLS certificate no trusted CA issued: it
    // serves the genuine signing certificate, which must not be taken.
    const UNTRUSTED: &str = "sns.eu-west-1.amazonaws.com";
    let other = tempfile::tempdir().unwrap();
    let odir = other.path();
    common::openssl(
        odir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "self.key",
            "-out",
            "self.pem",
            "-days",
            "2",
            "-subj",
            &format!("/CN={UNTRUSTED}"),
            "-addext",
            &format!("subjectAltName=DNS:{UNTRUSTED}"),
        ],
    );
    let oserved = odir.join("served");
    std::fs::create_dir(&oserved).unwrap();
    let rig = SnsRig::start(&["jane@example.com", "bob@example.com"], |t| t);
    let (dir, https, addr, store) = (rig.dir(), &rig.https, rig.addr, rig.site.store());
    let gets = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| l.starts_with("GET "))
            .collect()
    };

    // The real certificate, fetched once.
    let mut jane = notification(
        "ses-bounce-permanent.json",
        "7b000000-0000-4000-8000-000000000001",
    );
    jane.insert(
        "Subject".into(),
        Value::from("Amazon SES Email Event Notification"),
    );
    sign(dir, &mut jane, "signing.key", 1);
    assert_eq!(post_sns(addr, &jane, &[]).0, 200);
    assert_eq!(events(&store).len(), 1);

    // (1) The same certificate under other names (a query, a fragment,
    // percent-encoding, a doubled slash) and other paths: each would be a fetch and a cache
    // entry of its own, 16 of which push the real one out. Refused
    // before any fetch.
    let before = gets(https.seen()).len();
    let name = CERT_PATH.trim_start_matches("/SimpleNotificationService-");
    for (i, url) in [
        format!("https://{SNS_HOST}{CERT_PATH}?1"),
        format!("https://{SNS_HOST}{CERT_PATH}?"),
        format!("https://{SNS_HOST}{CERT_PATH}#x"),
        format!("https://{SNS_HOST}/%53impleNotificationService-{name}"),
        format!("https://{SNS_HOST}//SimpleNotificationService-{name}"),
        format!("https://{SNS_HOST}/SimpleNotificationService-%2e%2e.pem"),
        format!("https://{SNS_HOST}/certs/x.pem"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut m = notification(
            "ses-bounce-permanent.json",
            &format!("7b000000-1111-4000-8000-{i:012}"),
        );
        m.insert("SigningCertURL".into(), Value::from(url.clone()));
        sign(dir, &mut m, "wrong.key", 1);
        let (status, head) = post_sns(addr, &m, &[]);
        assert_eq!(status, 403, "{url}: {head}");
    }
    let fetched = gets(https.seen());
    assert_eq!(
        fetched.len(),
        before,
        "fetched for another name: {fetched:?}"
    );

    // (1b) An S3 bucket named `sns` (whoever registered it) serves its
    // owner's certificate under a name that starts `sns.` and ends
    // `.amazonaws.com`, with a valid TLS certificate: a message signed
    // with that key would be a forged bounce for any reader. Only
    // region-shaped names (`us-east-1`, `us-gov-west-1`, `cn-north-1`)
    // are SNS hosts; refused without a fetch.
    let mut m = notification(
        "ses-bounce-permanent.json",
        "7b000000-1111-4000-8000-999999999999",
    );
    let msg = m["Message"]
        .as_str()
        .unwrap()
        .replace("jane@example.com", "bob@example.com");
    m.insert("Message".into(), Value::from(msg));
    m.insert(
        "SigningCertURL".into(),
        Value::from(format!("https://{S3_BUCKET_HOST}{CERT_PATH}")),
    );
    sign(dir, &mut m, "signing.key", 1);
    let (status, head) = post_sns(addr, &m, &[]);
    assert_eq!(status, 403, "an S3 bucket's certificate: {head}");
    assert_eq!(gets(https.seen()).len(), before, "fetched from the bucket");
    assert_eq!(events(&store).len(), 1, "{:?}", events(&store));

    // (2) A signed message with a Subject, reshaped: its Subject moved
    // into the MessageId keeps the string to sign and would count again
    // under a new id.
    let mut reshaped = jane.clone();
    let subject = reshaped.remove("Subject").unwrap();
    reshaped.insert(
        "MessageId".into(),
        Value::from(format!(
            "{}\nSubject\n{}",
            jane["MessageId"].as_str().unwrap(),
            subject.as_str().unwrap()
        )),
    );
    let (status, head) = post_sns(addr, &reshaped, &[]);
    assert_eq!(status, 403, "reshaped: {head}");
    assert_eq!(events(&store).len(), 1, "{:?}", events(&store));

    // (3) A redirect from the certificate URL is not followed.
    let mut m = notification(
        "ses-bounce-permanent.json",
        "7b000000-2222-4000-8000-000000000001",
    );
    m.insert(
        "SigningCertURL".into(),
        Value::from(format!(
            "https://{SNS_HOST}/SimpleNotificationService-Redirect.pem"
        )),
    );
    sign(dir, &mut m, "signing.key", 1);
    assert_eq!(post_sns(addr, &m, &[]).0, 503);
    let fetched = gets(https.seen());
    assert!(
        fetched.contains(&"GET /SimpleNotificationService-Redirect.pem".to_string()),
        "{fetched:?}"
    );
    assert!(
        !fetched.iter().any(|l| l.contains("followed")),
        "{fetched:?}"
    );

    // (4) Many forged certificate URLs at once on a slow SNS host: each
    // waits for the fetch before it for at most a fetch's timeout, so no
    // post holds its connection for long (one at a time, eight of them
    // took 8 × 3 s).
    let posts: Vec<String> = (0..8)
        .map(|i| {
            let mut m = notification(
                "ses-bounce-permanent.json",
                &format!("7b000000-3333-4000-8000-{i:012}"),
            );
            m.insert(
                "SigningCertURL".into(),
                Value::from(format!(
                    "https://{SNS_HOST}/SimpleNotificationService-Slow{i}.pem"
                )),
            );
            sign(dir, &mut m, "wrong.key", 1);
            Value::Object(m).to_string()
        })
        .collect();
    let waits: Vec<(u16, Duration)> = std::thread::scope(|s| {
        let hs: Vec<_> = posts
            .iter()
            .map(|b| s.spawn(move || post_patiently(addr, "/webhooks/ses", b, &[])))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(waits.iter().all(|(s, _)| *s == 503), "{waits:?}");
    let longest = waits.iter().map(|(_, d)| *d).max().unwrap();
    assert!(
        longest < Duration::from_secs(12),
        "a post waited {longest:?}: {waits:?}"
    );

    // (4b) A TLS certificate for another name: no certificate taken.
    let mut m = notification(
        "ses-bounce-permanent.json",
        "7b000000-4444-4000-8000-000000000002",
    );
    m.insert(
        "SigningCertURL".into(),
        Value::from(format!("https://{OTHER_SNS_HOST}{CERT_PATH}")),
    );
    sign(dir, &mut m, "signing.key", 1);
    let fetched_before = gets(https.seen()).len();
    assert_eq!(post_sns(addr, &m, &[]).0, 503);
    assert_eq!(gets(https.seen()).len(), fetched_before);
    rig.stop();

    // (5) A host whose TLS certificate no trusted CA issued: no
    // certificate taken from it, not even the genuine one.
    let untrusted = Https::start(odir, &oserved, "self");
    let rig = SnsRig::start(&["jane@example.com"], |t| {
        t.connect(UNTRUSTED, ([127, 0, 0, 1], untrusted.port).into())
    });
    std::fs::copy(
        rig.dir().join("signing.pem"),
        oserved.join(CERT_PATH.trim_start_matches('/')),
    )
    .unwrap();
    let mut m = notification(
        "ses-bounce-permanent.json",
        "7b000000-4444-4000-8000-000000000001",
    );
    m.insert(
        "SigningCertURL".into(),
        Value::from(format!("https://{UNTRUSTED}{CERT_PATH}")),
    );
    sign(rig.dir(), &mut m, "signing.key", 1);
    assert_eq!(post_sns(rig.addr, &m, &[]).0, 503);
    let seen = untrusted.seen();
    assert!(seen.iter().any(|l| l.starts_with("CONNECT")), "{seen:?}");
    assert!(!seen.iter().any(|l| l.starts_with("GET")), "{seen:?}");
    assert!(events(&rig.site.store()).is_empty());
    rig.stop();
}

/// `python3 -c` HMAC-SHA256 hex of `timestamp + token` under the key.
fn mailgun_signature(key: &str, timestamp: &str, token: &str) -> String {
    let o = Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), (sys.argv[2] + sys.argv[3]).encode(), hashlib.sha256).hexdigest())",
            key,
            timestamp,
            token,
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// A Mailgun fixture for `recipient`, signed at `timestamp` with `token`.
fn mailgun(
    name: &str,
    recipient: &str,
    id: &str,
    timestamp: i64,
    token: &str,
    message_id: Option<&str>,
) -> String {
    let mut v = fixture(name);
    v["event-data"]["recipient"] = Value::from(recipient);
    v["event-data"]["id"] = Value::from(id);
    if let Some(m) = message_id {
        v["event-data"]["message"]["headers"]["message-id"] = Value::from(m);
    }
    let ts = timestamp.to_string();
    v["signature"] = serde_json::json!({
        "timestamp": ts,
        "token": token,
        "signature": mailgun_signature(MAILGUN_KEY, &ts, token),
    });
    v.to_string()
}

fn post_json(
    addr: SocketAddr,
    path: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> (u16, String, String) {
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend_from_slice(extra);
    http(addr, "POST", path, &headers, body)
}

/// `letterpress audience --show-addresses`: the "why" line of each
/// suppressed address.
fn why(site: &Site) -> Vec<String> {
    let o = common::bin()
        .arg("--config")
        .arg(&site.config)
        .args(["audience", "--show-addresses"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .skip_while(|l| !l.starts_with("suppressed"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::to_string)
        .collect()
}

/// Another process (Python's sqlite3) holding the store's write lock
/// until dropped.
struct StoreLock(Child);

impl StoreLock {
    fn hold(store: &Path) -> StoreLock {
        let mut lock = Command::new("python3")
            .args([
                "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); \
                 c.execute('BEGIN EXCLUSIVE'); print('LOCKED', flush=True); sys.stdin.read()",
            ])
            .arg(store)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(lock.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "LOCKED");
        StoreLock(lock)
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[test]
fn postmark_needs_its_credentials_and_counts_each_record_once() {
    if !common::has_python_module("sqlite3") {
        return common::skip("python3 with sqlite3 is needed to hold the store's lock");
    }
    let site = Site::new("[webhooks.postmark]\nusername = \"postmark\"\n");
    subscribers(
        site.dir.path(),
        &["john@example.com", "mary@example.org", "soft@example.com"],
    );

    // Without its password, listen refuses to start and says what to set.
    let o = listen_support::command(&site, &[])
        .env_remove("LETTERPRESS_POSTMARK_PASSWORD")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("$LETTERPRESS_POSTMARK_PASSWORD is not set")
            && err.contains("[webhooks.postmark]"),
        "{err}"
    );
    let o = listen_support::command(&site, &[])
        .env("LETTERPRESS_POSTMARK_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 16 bytes"));

    let server = start(
        &site,
        &[("LETTERPRESS_POSTMARK_PASSWORD", POSTMARK_PASSWORD)],
        &[],
    );
    let good = basic("postmark", POSTMARK_PASSWORD);
    let hard = fixture("postmark-bounce-hard.json").to_string();
    let mut spam = fixture("postmark-spam-complaint.json");
    spam["Email"] = Value::from("mary@example.org");
    let spam = spam.to_string();

    // Wrong or missing credentials: 401 with a challenge, nothing recorded.
    for auth in [
        None,
        Some(basic("postmark", "not-the-password-at-all")),
        Some(basic("other", POSTMARK_PASSWORD)),
        Some("Bearer x".to_string()),
    ] {
        let extra: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let (status, head, _) = post_json(server.addr, "/webhooks/postmark", &hard, &extra);
        assert_eq!(status, 401, "{auth:?}");
        assert!(
            head.to_ascii_lowercase()
                .contains("www-authenticate: basic"),
            "{head}"
        );
    }
    assert!(events(&site.store()).is_empty());

    // Correct: suppressed, and `audience` says why; the retry counts once.
    for _ in 0..2 {
        let (status, _, _) = post_json(
            server.addr,
            "/webhooks/postmark",
            &hard,
            &[("Authorization", &good)],
        );
        assert_eq!(status, 200);
    }
    assert_eq!(
        post_json(
            server.addr,
            "/webhooks/postmark",
            &spam,
            &[("Authorization", &good)]
        )
        .0,
        200
    );
    let soft = fixture("postmark-bounce-soft.json");
    let mut soft_body = soft.clone();
    soft_body["Email"] = Value::from("soft@example.com");
    // While another process holds the store's write lock, the post gets
    // 503 (Postmark retries) and nothing is recorded; the retry counts.
    let lock = StoreLock::hold(&site.store());
    // The store waits out its 5 s busy timeout first: read the answer
    // with more patience than `http` has.
    let (status, _) = post_patiently(
        server.addr,
        "/webhooks/postmark",
        &soft_body.to_string(),
        &[("Authorization", &good)],
    );
    assert_eq!(status, 503, "a store that cannot be written");
    drop(lock);
    assert_eq!(
        post_json(
            server.addr,
            "/webhooks/postmark",
            &soft_body.to_string(),
            &[("Authorization", &good)]
        )
        .0,
        200
    );
    // Real payloads exceed the 4 KiB of the other routes: a bounce whose
    // `Content` dump is 200 KiB is read; past 1 MiB, 413.
    let mut big = fixture("postmark-bounce-soft.json");
    big["ID"] = Value::from(7);
    big["Email"] = Value::from("nobody@example.net");
    big["Content"] = Value::from("x".repeat(200 * 1024));
    let (status, head, _) = post_json(
        server.addr,
        "/webhooks/postmark",
        &big.to_string(),
        &[("Authorization", &good)],
    );
    assert_eq!(status, 200, "{head}");
    big["Content"] = Value::from("x".repeat(1536 * 1024));
    let (status, _, _) = post_json(
        server.addr,
        "/webhooks/postmark",
        &big.to_string(),
        &[("Authorization", &good)],
    );
    assert_eq!(status, 413);
    let delivery = fixture("postmark-delivery.json").to_string();
    assert_eq!(
        post_json(
            server.addr,
            "/webhooks/postmark",
            &delivery,
            &[("Authorization", &good)]
        )
        .0,
        200
    );

    let ev = events(&site.store());
    assert_eq!(
        ev.iter().filter(|(a, ..)| a == "john@example.com").count(),
        1,
        "{ev:?}"
    );
    assert_eq!(ev.len(), 3, "hard, complaint, one soft bounce: {ev:?}");
    let why = why(&site);
    assert_eq!(why.len(), 2, "{why:?}");
    let john = why.iter().find(|l| l.contains("john@example.com")).unwrap();
    assert!(
        john.contains("bounced") && john.contains("webhook") && john.contains("HardBounce"),
        "{john}"
    );
    let mary = why.iter().find(|l| l.contains("mary@example.org")).unwrap();
    assert!(mary.contains("complained"), "{mary}");

    // Routes not configured are the same 404 as any unknown path.
    let (s1, _, b1) = post_json(server.addr, "/webhooks/mailgun", "{}", &[]);
    let (s2, _, b2) = post_json(server.addr, "/no-such-path", "{}", &[]);
    assert_eq!((s1, &b1), (404, &b2));
    assert_eq!(s2, 404);
    let log = server.log();
    assert!(
        log.contains("\"route\":\"/webhooks/postmark\"")
            && log.contains("\"outcome\":\"bad-credentials\""),
        "{log}"
    );
    assert!(!log.contains("john@example.com") && !log.contains(POSTMARK_PASSWORD));
}

#[test]
fn mailgun_needs_its_signature_and_refuses_stale_and_replayed_posts() {
    if !common::has_program("python3", &["--version"]) {
        return common::skip("python3 is needed to compute Mailgun's HMAC");
    }
    let site = Site::new("[webhooks.mailgun]\n");
    // Without the subscriber file nobody could be attributed: listen
    // refuses to start, naming the file.
    let o = listen_support::command(&site, &[])
        .env("LETTERPRESS_MAILGUN_SIGNING_KEY", MAILGUN_KEY)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("subscribers.toml") && err.contains("[webhooks]"),
        "{err}"
    );
    subscribers(
        site.dir.path(),
        &["alice@example.com", "carol@example.org", "dave@example.com"],
    );
    let server = start(
        &site,
        &[("LETTERPRESS_MAILGUN_SIGNING_KEY", MAILGUN_KEY)],
        &[],
    );
    let now = now_secs();
    let path = "/webhooks/mailgun";

    // A bad signature, another key, unsigned, stale: 403, nothing recorded.
    let mut forged: Value = serde_json::from_str(&mailgun(
        "mailgun-failed-permanent.json",
        "dave@example.com",
        "ev-forged",
        now,
        "tok-forged-000000000000000000000000000000",
        None,
    ))
    .unwrap();
    forged["event-data"]["severity"] = Value::from("permanent");
    forged["signature"]["signature"] = Value::from(mailgun_signature(
        "key-another-key-entirely-0000000000",
        &now.to_string(),
        "tok-forged-000000000000000000000000000000",
    ));
    let mut unsigned = forged.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    let stale = mailgun(
        "mailgun-failed-permanent.json",
        "dave@example.com",
        "ev-stale",
        now - 20 * 60,
        "tok-stale-0000000000000000000000000000000",
        None,
    );
    for (what, body) in [
        ("other key", forged.to_string()),
        ("unsigned", unsigned.to_string()),
        ("stale", stale),
    ] {
        let (status, _, _) = post_json(server.addr, path, &body, &[]);
        assert_eq!(status, 403, "{what}");
    }
    assert!(events(&site.store()).is_empty());

    // Signed: counted; the same post again (same token) is refused as a
    // replay, and the same event with a fresh signature counts once.
    let good = mailgun(
        "mailgun-failed-permanent.json",
        "alice@example.com",
        "ev-alice",
        now,
        "tok-alice-0000000000000000000000000000000",
        None,
    );
    assert_eq!(post_json(server.addr, path, &good, &[]).0, 200);
    assert_eq!(post_json(server.addr, path, &good, &[]).0, 403);
    let again = mailgun(
        "mailgun-failed-permanent.json",
        "alice@example.com",
        "ev-alice",
        now,
        "tok-alice-again-000000000000000000000000",
        None,
    );
    assert_eq!(post_json(server.addr, path, &again, &[]).0, 200);
    let complained = mailgun(
        "mailgun-complained.json",
        "carol@example.org",
        "ev-carol",
        now,
        "tok-carol-0000000000000000000000000000000",
        None,
    );
    assert_eq!(post_json(server.addr, path, &complained, &[]).0, 200);
    let delivered = mailgun(
        "mailgun-delivered.json",
        "dave@example.com",
        "ev-dave",
        now,
        "tok-dave-00000000000000000000000000000000",
        None,
    );
    assert_eq!(post_json(server.addr, path, &delivered, &[]).0, 200);

    // The sender's own problem (Mailgun's ESP block): nobody suppressed.
    let mut blocked: Value = serde_json::from_str(&mailgun(
        "mailgun-failed-permanent.json",
        "dave@example.com",
        "ev-block",
        now,
        "tok-block-0000000000000000000000000000000",
        None,
    ))
    .unwrap();
    blocked["event-data"]["reason"] = Value::from("espblock");
    blocked["event-data"]["delivery-status"]["enhanced-code"] = Value::Null;
    let (status, _, _) = post_json(server.addr, path, &blocked.to_string(), &[]);
    assert_eq!(status, 200);
    // A reader who joined after listen started: not on the list it read,
    // so not suppressed; once the file names them, the next report counts.
    let late = mailgun(
        "mailgun-failed-permanent.json",
        "late@example.com",
        "ev-late-1",
        now,
        "tok-late-1-000000000000000000000000000000",
        None,
    );
    assert_eq!(post_json(server.addr, path, &late, &[]).0, 200);
    assert_eq!(events(&site.store()).len(), 2);
    subscribers(
        site.dir.path(),
        &[
            "alice@example.com",
            "carol@example.org",
            "dave@example.com",
            "late@example.com",
        ],
    );
    let late = mailgun(
        "mailgun-failed-permanent.json",
        "late@example.com",
        "ev-late-2",
        now,
        "tok-late-2-000000000000000000000000000000",
        None,
    );
    assert_eq!(post_json(server.addr, path, &late, &[]).0, 200);

    let ev = events(&site.store());
    assert_eq!(ev.len(), 3, "{ev:?}");
    assert!(ev.contains(&(
        "late@example.com".into(),
        EventKind::HardBounce,
        Source::Webhook
    )));
    assert!(!ev.iter().any(|(a, ..)| a == "dave@example.com"));
    let why = why(&site);
    let alice = why
        .iter()
        .find(|l| l.contains("alice@example.com"))
        .expect("alice suppressed");
    assert!(
        alice.contains("bounced") && alice.contains("5.1.1"),
        "{alice}"
    );
    assert!(why
        .iter()
        .any(|l| l.contains("carol@example.org") && l.contains("complained")));
    let log = server.log();
    for outcome in [
        "bad-signature",
        "unsigned",
        "stale",
        "replayed",
        "recorded",
        "already-counted",
        "ignored",
        "sender-problem",
        "not-on-list",
    ] {
        assert!(
            log.contains(&format!("\"outcome\":\"{outcome}\"")),
            "{outcome}: {log}"
        );
    }
    assert!(!log.contains("alice@example.com"));
}

#[test]
fn mailgun_a_signature_carries_one_event_only() {
    if !common::has_python_module("sqlite3") {
        return common::skip("python3 with sqlite3 is needed to hold the store's lock");
    }
    let site = Site::new("[webhooks.mailgun]\n");
    subscribers(site.dir.path(), &["alice@example.com", "dave@example.com"]);
    let server = start(
        &site,
        &[("LETTERPRESS_MAILGUN_SIGNING_KEY", MAILGUN_KEY)],
        &[],
    );
    let path = "/webhooks/mailgun";
    let now = now_secs();
    let token = "tok-once-00000000000000000000000000000000";
    let genuine = mailgun(
        "mailgun-failed-permanent.json",
        "alice@example.com",
        "ev-alice",
        now,
        token,
        None,
    );
    // Mailgun's signature covers the timestamp and token, not the event.
    // A genuine post that is not accepted (here: the store is locked, so
    // 503 and Mailgun retries) leaves its signature unused, and whoever
    // saw it (a proxy's log, a debugging dump) could put any event under
    // it for fifteen minutes: a complaint for any reader.
    let lock = StoreLock::hold(&site.store());
    assert_eq!(post_patiently(server.addr, path, &genuine, &[]).0, 503);
    drop(lock);
    let mut forged: Value = serde_json::from_str(&genuine).unwrap();
    let complaint = fixture("mailgun-complained.json");
    forged["event-data"] = complaint["event-data"].clone();
    forged["event-data"]["recipient"] = Value::from("dave@example.com");
    forged["event-data"]["id"] = Value::from("ev-forged");
    let (status, _, _) = post_json(server.addr, path, &forged.to_string(), &[]);
    assert_eq!(status, 403, "another event under a used signature");
    // The same post again (Mailgun's retry) is still taken, once.
    assert_eq!(post_json(server.addr, path, &genuine, &[]).0, 200);
    assert_eq!(post_json(server.addr, path, &genuine, &[]).0, 403);
    assert_eq!(
        events(&site.store()),
        vec![(
            "alice@example.com".to_string(),
            EventKind::HardBounce,
            Source::Webhook
        )]
    );
}

/// The resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn anonymous_webhook_bodies_are_held_a_few_at_a_time() {
    if !Path::new("/proc/self/status").exists() {
        return common::skip("/proc is needed to read listen's resident memory");
    }
    let site = Site::new("[webhooks.mailgun]\n");
    subscribers(site.dir.path(), &["alice@example.com"]);
    let server = start(
        &site,
        &[("LETTERPRESS_MAILGUN_SIGNING_KEY", MAILGUN_KEY)],
        &[],
    );
    let pid = server.child.id();
    let before = rss(pid);
    // 150 clients, no signature, each sending all but the last byte of a
    // body just under the 1 MiB limit and then waiting: a post must be
    // read whole before its signature can be checked, so each read one
    // is a MiB of listen's memory for anyone.
    let body = format!("[{}", "0,".repeat(512 * 1024 - 8));
    let head = format!(
        "POST /webhooks/mailgun HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len() + 2
    );
    let mut streams = Vec::new();
    let mut writers = Vec::new();
    for _ in 0..150 {
        let s = std::net::TcpStream::connect(server.addr).unwrap();
        streams.push(s.try_clone().unwrap());
        let (head, body) = (head.clone(), body.clone());
        writers.push(std::thread::spawn(move || {
            use std::io::Write;
            let mut s = s;
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body.as_bytes());
        }));
    }
    std::thread::sleep(Duration::from_secs(3));
    let grown = rss(pid).saturating_sub(before);
    for s in &streams {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    for w in writers {
        w.join().unwrap();
    }
    assert!(
        grown < 80 * 1024 * 1024,
        "150 unsigned bodies grew listen by {} MiB",
        grown / (1024 * 1024)
    );
    // Once they are gone, a signed post is read and counted as usual.
    let good = mailgun(
        "mailgun-failed-permanent.json",
        "alice@example.com",
        "ev-after",
        now_secs(),
        "tok-after-000000000000000000000000000000",
        None,
    );
    assert_eq!(
        post_patiently(server.addr, "/webhooks/mailgun", &good, &[]).0,
        200
    );
}

/// recipient → Message-ID of each message captured in `dir`.
fn message_ids(capture: &common::capture::Capture) -> Vec<(String, String)> {
    capture
        .parsed()
        .into_iter()
        .map(|m| {
            (
                m["to_addr"].as_str().unwrap().to_lowercase(),
                m["headers"]["Message-ID"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn send(site: &Site, issue: &Path, port: u16) {
    let o = common::bin()
        .arg("--config")
        .arg(&site.config)
        .arg("send")
        .arg(issue)
        .args(["--yes", "--smtp", &format!("smtp://127.0.0.1:{port}")])
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", listen_support::SECRET)
        .env_remove("LETTERPRESS_SMTP_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "send: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn after_a_mailgun_bounce_and_complaint_the_next_issue_skips_those_two() {
    if !common::has_program("python3", &["--version"]) {
        return common::skip("python3 is needed to compute Mailgun's HMAC");
    }
    let root = common::root();
    let site = Site::new(&format!(
        "[paths]\ntemplates = {:?}\n\n[webhooks.mailgun]\n",
        root.join("templates").display().to_string()
    ));
    let readers: Vec<String> = (0..8).map(|i| format!("reader{i}@example.com")).collect();
    subscribers(
        site.dir.path(),
        &readers.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let issue_a: PathBuf = root.join("issues/012-reviving-a-sleepy-starter.md");

    let cap_a = tempfile::tempdir().unwrap();
    let Some(smtp) = common::capture::Capture::start(cap_a.path(), &[]) else {
        return;
    };
    send(&site, &issue_a, smtp.port);
    let ids = message_ids(&smtp);
    drop(smtp);
    assert_eq!(ids.len(), readers.len());
    let id_of = |r: &str| ids.iter().find(|(a, _)| a == r).unwrap().1.clone();

    let server = start(
        &site,
        &[("LETTERPRESS_MAILGUN_SIGNING_KEY", MAILGUN_KEY)],
        &[],
    );
    let now = now_secs();
    // Mailgun names the recipient; the Message-ID names the issue (for the
    // soft bounce's distinct-issue count).
    for (fixture_name, reader, n) in [
        ("mailgun-failed-permanent.json", &readers[0], 0),
        ("mailgun-complained.json", &readers[1], 1),
        ("mailgun-failed-temporary.json", &readers[2], 2),
    ] {
        let body = mailgun(
            fixture_name,
            reader,
            &format!("ev-{n}"),
            now,
            &format!("tok-e2e-{n}-0000000000000000000000000000000"),
            Some(&id_of(reader)),
        );
        let (status, _, _) = post_json(server.addr, "/webhooks/mailgun", &body, &[]);
        assert_eq!(status, 200, "{fixture_name}");
    }
    // The issue a letterpress Message-ID names (`<issue>.<tag>@<domain>`).
    let parts = |id: &str| {
        let (local, domain) = id.trim_matches(['<', '>']).rsplit_once('@').unwrap();
        let (issue, tag) = local.rsplit_once('.').unwrap();
        (issue.to_string(), tag.to_string(), domain.to_string())
    };
    // Another reader soft-bounces on three distinct issues (this one and
    // two earlier ones, Message-IDs made the same way): that suppresses.
    let (issue, tag, domain) = parts(&id_of(&readers[3]));
    for (n, i) in ["issue-10", "issue-11", issue.as_str()]
        .into_iter()
        .enumerate()
    {
        let body = mailgun(
            "mailgun-failed-temporary.json",
            &readers[3],
            &format!("ev-soft-{n}"),
            now,
            &format!("tok-e2e-soft-{n}-000000000000000000000000000"),
            Some(&format!("<{i}.{tag}@{domain}>")),
        );
        assert_eq!(
            post_json(server.addr, "/webhooks/mailgun", &body, &[]).0,
            200
        );
    }
    drop(server);
    let store = Store::open(&site.store()).unwrap();
    let soft = store.soft_bounce_issues(&key(&readers[2])).unwrap();
    assert_eq!(
        soft,
        vec![parts(&id_of(&readers[2])).0],
        "the soft bounce is counted against its issue"
    );
    assert_eq!(
        store.soft_bounce_issues(&key(&readers[3])).unwrap().len(),
        3
    );
    assert!(
        store.status(&key(&readers[2])).unwrap().is_none(),
        "one soft bounce does not suppress"
    );
    assert!(
        store.status(&key(&readers[3])).unwrap().is_some(),
        "three distinct issues do"
    );

    let issue_b = site.dir.path().join("013-b.md");
    let text = std::fs::read_to_string(&issue_a)
        .unwrap()
        .replacen("number: 12", "number: 13", 1)
        .replacen("title: \"#12:", "title: \"#13:", 1);
    std::fs::write(&issue_b, text).unwrap();
    let cap_b = tempfile::tempdir().unwrap();
    let smtp = common::capture::Capture::start(cap_b.path(), &[]).unwrap();
    send(&site, &issue_b, smtp.port);
    let mut got: Vec<String> = message_ids(&smtp).into_iter().map(|(a, _)| a).collect();
    got.sort();
    let mut want: Vec<String> = readers[4..].to_vec();
    want.push(readers[2].clone());
    want.sort();
    assert_eq!(
        got, want,
        "everyone but the bounced and the complainer, the soft bouncer included"
    );
}
