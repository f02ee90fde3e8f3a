//! Durability of `listen`: 1,000 one-click POSTs, 32 at a time, and
//! `kill -9` of the server half way. Every POST that was answered 2xx must
//! be in the store afterwards (answers come only after the group commit);
//! the next `listen` on the same store starts and serves normally.

mod listen_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use letterpress::audience::store::{EventKind, Store};
use listen_support::{key, one_click, start, tokens, try_one_click, Site};

const READERS: usize = 1000;
const CONCURRENCY: usize = 32;
const KILL_AFTER: usize = 400;

#[test]
fn every_answered_unsubscribe_survives_kill_9() {
    let site = Site::new("");
    let mut server = start(&site, &[], &[]);
    let addr = server.addr;
    let list = site.list_id();
    let jobs: Vec<(String, String)> = (0..READERS)
        .map(|i| {
            let a = format!("reader{i:04}@durable.example");
            let t = tokens().unsubscribe(&list, &key(&a));
            (a, format!("/unsubscribe/{t}"))
        })
        .collect();
    let jobs = Arc::new(Mutex::new(jobs.into_iter()));
    let answered = Arc::new(Mutex::new(BTreeSet::new()));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (jobs, answered, ok, failed) =
                (jobs.clone(), answered.clone(), ok.clone(), failed.clone());
            std::thread::spawn(move || loop {
                let Some((address, path)) = jobs.lock().unwrap().next() else {
                    return;
                };
                let status = try_one_click(addr, &path);
                if status.is_some_and(|s| (200..300).contains(&s)) {
                    answered.lock().unwrap().insert(address);
                    ok.fetch_add(1, Ordering::SeqCst);
                } else {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while ok.load(Ordering::SeqCst) < KILL_AFTER && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    // SIGKILL: no shutdown path runs, buffers are not flushed.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    let failed = failed.load(Ordering::SeqCst);
    eprintln!(
        "answered 2xx before the kill: {}, unanswered: {failed}",
        answered.len()
    );
    assert!(answered.len() >= KILL_AFTER, "{}", answered.len());
    assert!(failed > 0, "the kill came after every POST; raise READERS");

    let store = Store::open(&site.store()).unwrap();
    let suppressed = store.suppressions().unwrap();
    let lost: Vec<_> = answered
        .iter()
        .filter(|a| suppressed.get(&key(a)).map(|s| s.kind) != Some(EventKind::Unsubscribe))
        .collect();
    assert!(
        lost.is_empty(),
        "answered 2xx but not in the store: {lost:?}"
    );
    assert!(suppressed.len() <= READERS);
    drop(store);

    // The next `listen` opens the same store (WAL recovered) and serves.
    let again = start(&site, &[], &[]);
    let t = tokens().unsubscribe(&list, &key("after@durable.example"));
    assert_eq!(one_click(again.addr, &format!("/unsubscribe/{t}")).0, 200);
    let store = Store::open(&site.store()).unwrap();
    assert_eq!(store.suppressions().unwrap().len(), suppressed.len() + 1);
}
