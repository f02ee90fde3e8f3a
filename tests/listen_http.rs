//! `letterpress listen` over real TCP: the unsubscribe page and POSTs, the
//! undo, forged tokens, the security headers, the size limits and the
//! slowloris timeouts (a raw client that dribbles bytes), the access log,
//! the refusal of short secrets, and the events export with
//! `audience::remote::pull` reading it into another store.

mod listen_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use letterpress::audience::store::{EventKind, Source, Store};
use listen_support::{http, key, one_click, raw, start, tokens, Site, API_TOKEN, SECRET};

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn assert_hardened(head: &str) {
    let csp = header(head, "content-security-policy").unwrap_or_else(|| panic!("CSP in {head}"));
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(header(head, "x-frame-options"), Some("DENY"), "{head}");
    assert_eq!(
        header(head, "x-content-type-options"),
        Some("nosniff"),
        "{head}"
    );
    assert_eq!(
        header(head, "referrer-policy"),
        Some("no-referrer"),
        "{head}"
    );
    assert!(header(head, "location").is_none(), "no redirects: {head}");
}

#[test]
fn get_shows_post_unsubscribes_and_the_undo_resubscribes() {
    let site = Site::new("");
    let server = start(&site, &[], &[]);
    let list = site.list_id();
    let reader = key("Reader.One@Listen.Example");
    let token = tokens().unsubscribe(&list, &reader);
    let path = format!("/unsubscribe/{token}");

    // GET, as a link scanner does: a page, and nothing recorded.
    for _ in 0..3 {
        let (status, head, body) = http(server.addr, "GET", &path, &[], "");
        assert_eq!(status, 200, "{head}");
        assert_hardened(&head);
        assert!(body.contains(&reader.masked()), "{body}");
        assert!(
            !body.contains(reader.as_str()),
            "the full address is never shown"
        );
        assert!(
            body.contains("Listen &lt;Test&gt; Weekly"),
            "escaped name: {body}"
        );
        assert!(body.contains("<button"), "{body}");
    }
    let store = Store::open(&site.store()).unwrap();
    assert_eq!(
        store.status(&reader).unwrap(),
        None,
        "GET must not unsubscribe"
    );

    // The button's POST.
    let (status, head, body) = http(
        server.addr,
        "POST",
        &path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "confirm=yes",
    );
    assert_eq!(status, 200, "{head}");
    assert_hardened(&head);
    let s = store.status(&reader).unwrap().expect("unsubscribed");
    assert_eq!((s.kind, s.source), (EventKind::Unsubscribe, Source::Page));

    // The undo on that page.
    let undo = body
        .split("action=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("undo form")
        .to_string();
    // Relative, so a proxy may serve listen under a path prefix.
    let undo = undo
        .strip_prefix("..")
        .unwrap_or_else(|| panic!("{undo}"))
        .to_string();
    assert!(undo.starts_with("/resubscribe/"), "{undo}");
    let (status, _, body) = http(server.addr, "POST", &undo, &[], "confirm=yes");
    assert_eq!(status, 200);
    assert!(body.contains("subscribed again"), "{body}");
    assert_eq!(store.status(&reader).unwrap(), None);

    // RFC 8058 one-click.
    let (status, _, _) = one_click(server.addr, &path);
    assert_eq!(status, 200);
    let s = store.status(&reader).unwrap().unwrap();
    assert_eq!(s.source, Source::OneClick);

    // An undo token is not an unsubscribe token, and the reverse.
    let undo_token = undo.trim_start_matches("/resubscribe/");
    let (status, _, _) = one_click(server.addr, &format!("/unsubscribe/{undo_token}"));
    assert_eq!(status, 404);
    let (status, _, _) = http(
        server.addr,
        "POST",
        &format!("/resubscribe/{token}"),
        &[],
        "",
    );
    assert_eq!(status, 404);

    // The log names routes and outcomes, never a token or an address.
    std::thread::sleep(Duration::from_millis(100));
    let log = server.log();
    assert!(log.contains("\"route\":\"/unsubscribe/{token}\""), "{log}");
    assert!(log.contains("\"outcome\":\"unsubscribed\""), "{log}");
    assert!(!log.contains(&token), "{log}");
    assert!(!log.contains(undo_token), "{log}");
    assert!(!log.to_lowercase().contains("reader.one"), "{log}");
}

#[test]
fn forged_and_altered_tokens_get_the_same_404() {
    let site = Site::new("");
    let server = start(&site, &[], &[]);
    let token = tokens().unsubscribe(&site.list_id(), &key("someone@listen.example"));
    let mut altered = token.clone().into_bytes();
    let mid = altered.len() / 2;
    altered[mid] = if altered[mid] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let other_list = letterpress::audience::Tokens::new(SECRET.as_bytes())
        .unwrap()
        .unsubscribe("other.example", &key("someone@listen.example"));
    let other_secret = letterpress::audience::Tokens::new(&[7u8; 32])
        .unwrap()
        .unsubscribe(&site.list_id(), &key("someone@listen.example"));
    let mut bodies = Vec::new();
    for t in [
        altered.as_str(),
        "forged",
        other_list.as_str(),
        other_secret.as_str(),
        "%3Cscript%3E",
    ] {
        for method in ["GET", "POST"] {
            let (status, head, body) = if method == "GET" {
                http(server.addr, "GET", &format!("/unsubscribe/{t}"), &[], "")
            } else {
                one_click(server.addr, &format!("/unsubscribe/{t}"))
            };
            assert_eq!(status, 404, "{method} {t}: {head}");
            assert_hardened(&head);
            assert!(!body.contains("<script>"), "{body}");
            bodies.push(body);
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one page for every bad token"
    );
    let store = Store::open(&site.store()).unwrap();
    assert_eq!(store.counts().unwrap().events, 0);
}

#[test]
fn limits_on_sizes_and_unknown_routes() {
    let site = Site::new("");
    let server = start(&site, &[], &[]);
    let token = tokens().unsubscribe(&site.list_id(), &key("big@listen.example"));
    let path = format!("/unsubscribe/{token}");
    // A body over the limit, declared...
    let (status, head, _) = http(server.addr, "POST", &path, &[], &"x".repeat(100_000));
    assert_eq!(status, 413, "{head}");
    // ... or chunked without a length.
    let chunk = "x".repeat(5000);
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let answer = raw(server.addr, req.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // A head over the limit.
    let req = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "y".repeat(20_000)
    );
    let answer = raw(server.addr, req.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let store = Store::open(&site.store()).unwrap();
    assert_eq!(store.counts().unwrap().events, 0);
    // Unknown routes and methods: hardened errors, no redirect.
    let (status, head, _) = http(server.addr, "GET", "//evil.example/", &[], "");
    assert_eq!(status, 404, "{head}");
    assert_hardened(&head);
    let (status, head, _) = http(server.addr, "DELETE", &path, &[], "");
    assert_eq!(status, 405, "{head}");
    assert_hardened(&head);
    let (status, _, body) = http(server.addr, "GET", "/healthz", &[], "");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
}

/// Writes `prefix`, then one byte of `dribble` every `every`, and returns how
/// long the server took to close the connection (None: still open at `max`).
fn dribble(
    addr: std::net::SocketAddr,
    prefix: &str,
    dribble: &[u8],
    every: Duration,
    max: Duration,
) -> (Option<Duration>, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
    let start = Instant::now();
    s.write_all(prefix.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut i = 0;
    while start.elapsed() < max {
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(0) => return (Some(start.elapsed()), String::from_utf8_lossy(&got).into()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (Some(start.elapsed()), String::from_utf8_lossy(&got).into()),
        }
        if !dribble.is_empty() && s.write_all(&dribble[i % dribble.len()..][..1]).is_err() {
            return (Some(start.elapsed()), String::from_utf8_lossy(&got).into());
        }
        i += 1;
        std::thread::sleep(every);
    }
    (None, String::from_utf8_lossy(&got).into())
}

#[test]
fn slow_clients_are_cut_off() {
    let site = Site::new("header_timeout_seconds = 1.0\nbody_timeout_seconds = 1.0\n");
    let server = start(&site, &[], &[]);
    // Headers dribbled a byte every 100 ms, forever: closed after ~1 s.
    let (closed, _) = dribble(
        server.addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\n",
        b"X-Slow: aaaaaaaaaaaaaaaaaaaa\r\n",
        Duration::from_millis(100),
        Duration::from_secs(6),
    );
    let closed = closed.expect("a slow head is cut off");
    assert!(closed < Duration::from_secs(3), "{closed:?}");
    // A body dribbled the same way: 408 and closed after ~1 s.
    let token = tokens().unsubscribe(&site.list_id(), &key("slow@listen.example"));
    let (closed, answer) = dribble(
        server.addr,
        &format!("POST /unsubscribe/{token} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"),
        b"List-Unsubscribe=One-Click",
        Duration::from_millis(100),
        Duration::from_secs(6),
    );
    let closed = closed.expect("a slow body is cut off");
    assert!(closed < Duration::from_secs(3), "{closed:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // An idle keep-alive connection does not stay open either.
    let (closed, _) = dribble(
        server.addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"",
        Duration::from_millis(100),
        Duration::from_secs(6),
    );
    assert!(closed.expect("idle connection closed") < Duration::from_secs(3));
    // And the server still answers everyone else.
    let (status, _, _) = http(server.addr, "GET", "/healthz", &[], "");
    assert_eq!(status, 200);
    let store = Store::open(&site.store()).unwrap();
    assert_eq!(store.counts().unwrap().events, 0);
}

#[test]
fn refuses_to_start_with_a_short_secret_or_token() {
    let site = Site::new("");
    let out = listen_support::command(&site, &[])
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", "short-secret")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("LETTERPRESS_UNSUBSCRIBE_SECRET"), "{err}");
    assert!(err.contains("32"), "{err}");
    let out = listen_support::command(&site, &[])
        .env_remove("LETTERPRESS_UNSUBSCRIBE_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = listen_support::command(&site, &[])
        .env("LETTERPRESS_REMOTE_TOKEN", "too-short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("LETTERPRESS_REMOTE_TOKEN"), "{err}");
}

#[test]
fn the_events_export_needs_the_token_and_feeds_a_remote_pull() {
    // Off when the token variable is unset.
    let site = Site::new("");
    let off = start(&site, &[], &[]);
    let (status, _, _) = http(
        off.addr,
        "GET",
        "/api/events?since=0",
        &[("Authorization", &format!("Bearer {API_TOKEN}"))],
        "",
    );
    assert_eq!(status, 404);
    drop(off);

    let server = start(&site, &[("LETTERPRESS_REMOTE_TOKEN", API_TOKEN)], &[]);
    let list = site.list_id();
    for i in 0..7 {
        let t = tokens().unsubscribe(&list, &key(&format!("r{i}@listen.example")));
        assert_eq!(one_click(server.addr, &format!("/unsubscribe/{t}")).0, 200);
    }
    for auth in [
        "",
        "Bearer ",
        "Bearer wrong-token-wrong-token-wrong-token-xx",
        API_TOKEN,
    ] {
        let (status, head, _) = http(
            server.addr,
            "GET",
            "/api/events?since=0",
            &[("Authorization", auth)],
            "",
        );
        assert_eq!(status, 401, "{auth:?}: {head}");
    }
    let (status, _, body) = http(
        server.addr,
        "GET",
        "/api/events?since=0",
        &[("Authorization", &format!("Bearer {API_TOKEN}"))],
        "",
    );
    assert_eq!(status, 200);
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 7);

    // A laptop pulls them into its own store, twice: nothing doubles.
    let laptop = Site::new(&format!(
        "[audience]\nremote_url = \"http://{}\"\n",
        server.addr
    ));
    let config = laptop.parsed();
    let local = Store::open(&laptop.store()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    std::env::set_var("LETTERPRESS_REMOTE_TOKEN", API_TOKEN);
    let pulled = rt
        .block_on(letterpress::audience::remote::pull(&config, &local))
        .unwrap()
        .unwrap();
    assert_eq!(pulled.events, 7);
    let t = tokens().unsubscribe(&list, &key("late@listen.example"));
    assert_eq!(one_click(server.addr, &format!("/unsubscribe/{t}")).0, 200);
    let again = rt
        .block_on(letterpress::audience::remote::pull(&config, &local))
        .unwrap()
        .unwrap();
    assert_eq!(again.events, 1);
    let s = local.suppressions().unwrap();
    assert_eq!(s.len(), 8);
    let late = s.get(&key("late@listen.example")).unwrap();
    assert_eq!(
        (late.kind, late.source),
        (EventKind::Unsubscribe, Source::Remote)
    );

    // A wrong token fails closed, naming the variable's role.
    std::env::set_var(
        "LETTERPRESS_REMOTE_TOKEN",
        "wrong-token-wrong-token-wrong-token-xx",
    );
    let e = rt
        .block_on(letterpress::audience::remote::pull(&config, &local))
        .unwrap_err()
        .to_string();
    assert!(e.contains("401"), "{e}");
    std::env::remove_var("LETTERPRESS_REMOTE_TOKEN");
    let e = rt
        .block_on(letterpress::audience::remote::pull(&config, &local))
        .unwrap_err()
        .to_string();
    assert!(e.contains("LETTERPRESS_REMOTE_TOKEN"), "{e}");
    // Plain http to a non-loopback host is refused before any request.
    let far = Site::new("[audience]\nremote_url = \"http://news.example\"\n");
    std::env::set_var("LETTERPRESS_REMOTE_TOKEN", API_TOKEN);
    let e = rt
        .block_on(letterpress::audience::remote::pull(&far.parsed(), &local))
        .unwrap_err()
        .to_string();
    assert!(e.contains("https"), "{e}");
}
