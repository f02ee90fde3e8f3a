//! Never twice, never skipped: `kill -9` the sender mid-run, resume, and
//! count lost and duplicated recipients at the server.

mod common;

use common::output_text as text;
#[path = "send/peer.rs"]
mod peer;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use peer::{Peer, PeerConfig};

const CONNECTIONS: usize = 4;

fn project(n: usize) -> tempfile::TempDir {
    common::minimal_project("Resume Weekly", "resume.example", n, CONNECTIONS)
}

fn send(dir: &std::path::Path, port: u16) -> std::process::Command {
    common::minimal_send(dir, port, "resume-secret-of-at-least-32-bytes")
}

#[test]
fn kill_9_then_resume_loses_nobody_and_duplicates_at_most_the_connections() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Each message takes ~4 ms to be acknowledged, so the kill lands mid-send
    // with messages in flight on every connection.
    let peer = rt.block_on(Peer::start(PeerConfig {
        accept_delay: Duration::from_millis(4),
        ..PeerConfig::default()
    }));
    let n = 400;
    let dir = project(n);

    for round in 0..3 {
        let mut child = send(dir.path(), peer.port)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let target = 60 + round * 90;
        let t = Instant::now();
        loop {
            let received: usize = peer.state.lock().unwrap().received.values().sum();
            if received >= target || t.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let delivered_before: usize = peer.state.lock().unwrap().received.len();
    assert!(
        delivered_before < n,
        "the kills must land mid-run ({delivered_before} of {n} already)"
    );

    // A torn record, as a power cut could leave it.
    let journal = dir.path().join("journal/issue-12.journal");
    let mut j = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut j, b"D\t17000000\tr1@res").unwrap();
    drop(j);

    let o = send(dir.path(), peer.port).output().unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("torn record"), "{out}");
    assert!(out.contains("resuming:"), "{out}");

    let st = peer.state.lock().unwrap();
    let lost: Vec<String> = (0..n)
        .map(|i| format!("r{i}@resume.example"))
        .filter(|r| st.received.get(r).copied().unwrap_or(0) == 0)
        .collect();
    assert!(lost.is_empty(), "never skipped: {lost:?}");
    let duplicated: BTreeSet<String> = st
        .received
        .iter()
        .filter(|(_, &c)| c > 1)
        .map(|(r, _)| r.clone())
        .collect();
    let extra: usize = st.received.values().map(|c| c - 1).sum();
    drop(st);
    eprintln!("3 kills: {extra} duplicate deliveries ({duplicated:?})");
    // At most the messages in flight at each kill: one per connection.
    assert!(
        extra <= 3 * CONNECTIONS,
        "{extra} duplicates after 3 kills with {CONNECTIONS} connections"
    );
    // Every duplicate was in doubt: the journal shows it attempted twice.
    let records = std::fs::read_to_string(&journal).unwrap();
    for d in &duplicated {
        let attempts = records
            .lines()
            .filter(|l| l.starts_with("A\t") && l.ends_with(&format!("\t{d}")))
            .count();
        assert!(
            attempts >= 2,
            "{d} was delivered twice but attempted {attempts} time(s)"
        );
    }
    // The resumed run listed what the last kill left in doubt: at most one per connection.
    if let Some(line) = out
        .lines()
        .find(|l| l.contains("were in flight when the last run stopped"))
    {
        let k: usize = line.split_whitespace().next().unwrap().parse().unwrap();
        assert!((1..=CONNECTIONS).contains(&k), "{line}");
    }

    // Done: a further run sends nothing.
    let before: usize = peer.state.lock().unwrap().received.values().sum();
    let o = send(dir.path(), peer.port).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("already sent"), "{}", text(&o));
    assert_eq!(
        peer.state.lock().unwrap().received.values().sum::<usize>(),
        before
    );
}

#[test]
fn failures_are_reported_with_the_server_reply_and_retry_failed_retries_them() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let peer = rt.block_on(Peer::start(PeerConfig::default()));
    let dir = project(0);
    std::fs::write(
        dir.path().join("subscribers.toml"),
        "[[subscriber]]\nemail = \"ok1@resume.example\"\n[[subscriber]]\nemail = \"data554-x@resume.example\"\n\
         [[subscriber]]\nemail = \"always451-y@resume.example\"\n[[subscriber]]\nemail = \"ok2@resume.example\"\n",
    )
    .unwrap();
    let o = send(dir.path(), peer.port).output().unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}");
    assert!(out.contains("sent 2 of 4"), "{out}");
    assert!(
        out.contains("data554-x@resume.example  554 5.6.0 Message content rejected"),
        "{out}"
    );
    assert!(
        out.contains("always451-y@resume.example  451 4.7.1 Greylisted"),
        "{out}"
    );
    let tsv = std::fs::read_to_string(dir.path().join("journal/issue-12.problems.tsv")).unwrap();
    assert!(
        tsv.contains("failed\tdata554-x@resume.example\t554\t"),
        "{tsv}"
    );
    assert!(
        tsv.contains("deferred\talways451-y@resume.example\t451\t"),
        "{tsv}"
    );

    // Resuming retries the deferred one only; the 554 is not retried. (A
    // content refusal, 5.6.0, is no bounce: --retry-failed is for it. A
    // 5.1.1 would be a hard bounce, suppressed in the store: tests/audience_e2e.rs.)
    let o = send(dir.path(), peer.port).output().unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("sent 0 of 1"), "{}", text(&o));
    assert_eq!(
        peer.state.lock().unwrap().attempts["data554-x@resume.example"],
        1
    );
    // --retry-failed includes it again.
    let o = send(dir.path(), peer.port)
        .arg("--retry-failed")
        .output()
        .unwrap();
    assert!(text(&o).contains("of 2"), "{}", text(&o));
    assert_eq!(
        peer.state.lock().unwrap().attempts["data554-x@resume.example"],
        2
    );
    assert_eq!(
        peer.counts("ok1@resume.example").0,
        1,
        "delivered ones are never resent"
    );
}
