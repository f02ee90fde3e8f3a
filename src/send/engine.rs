//! The delivery engine: N workers, each owning one SMTP connection, pulling
//! recipients from a shared queue.
//!
//! - One recipient per envelope; the message is built per recipient by
//!   [`MessageTemplate::build`] (the same call `preview` and `--dry-run` use).
//! - Rate limits across all workers: per second (evenly spaced) and per hour
//!   (an exact sliding window), for relays such as SES.
//! - A connection is closed after `max_per_connection` messages, and dropped
//!   after any network error or timeout (never reused half-way).
//! - 4xx replies and lost connections are retried later with exponential
//!   backoff and jitter, at most `max_attempts` times, then *deferred* to the
//!   next run. 5xx replies are *failed*: recorded, never retried. A message
//!   whose connection broke after the whole body was sent is *in doubt*: it
//!   is retried (the alternative is possibly never delivering it) and
//!   reported.
//! - One recipient's failure never stops the run; only a fatal condition
//!   (TLS policy, authentication, a journal that cannot be written) does.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::config::Smtp;
use crate::message::{MessageTemplate, Recipient};
use crate::send::journal::{Journal, OutcomeKind, Record};
use crate::send::report::{Problem, Report};
use crate::send::smtp::{Connection, Failure, SmtpSettings};

/// Throughput and retry settings.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Parallel connections (workers).
    pub connections: usize,
    /// Messages per second across all workers.
    pub rate_per_second: Option<f64>,
    /// Messages per hour across all workers.
    pub rate_per_hour: Option<u64>,
    /// Messages per connection before reconnecting.
    pub max_per_connection: usize,
    /// Attempts per recipient before deferring.
    pub max_attempts: u32,
    /// First retry delay (doubles each attempt).
    pub retry_delay: Duration,
    /// Longest retry delay.
    pub retry_max_delay: Duration,
}

impl Limits {
    /// The limits in `[smtp]`. Numbers outside the ranges in [`crate::config`]
    /// (rejected when the file is read) are clamped here, never a panic.
    pub fn from_config(smtp: &Smtp) -> Limits {
        use crate::config::{RATE_PER_SECOND, RETRY_SECONDS};
        Limits {
            connections: smtp.connections.max(1),
            rate_per_second: smtp
                .rate_per_second
                .filter(|r| *r > 0.0)
                .map(|r| clamp(r, &RATE_PER_SECOND)),
            rate_per_hour: smtp.rate_per_hour.filter(|r| *r > 0),
            max_per_connection: smtp.max_per_connection.max(1),
            max_attempts: smtp.max_attempts.max(1),
            retry_delay: seconds(smtp.retry_delay_seconds, &RETRY_SECONDS),
            retry_max_delay: seconds(smtp.retry_max_delay_seconds, &RETRY_SECONDS),
        }
    }

    /// Connection-level failures in a row (no reply from the server in
    /// between, on any connection) after which the relay counts as dead:
    /// one failure on every connection at once, then `max_attempts - 1` more.
    pub fn dead_after(&self) -> usize {
        self.connections.max(1) + self.max_attempts.max(1) as usize - 1
    }

    /// The wait before attempt `n + 1` after `n` failures: doubling, capped,
    /// with up to 50% jitter so workers do not retry in lockstep.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .retry_delay
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
        let d = exp.min(self.retry_max_delay);
        d.mul_f64(0.5 + 0.5 * jitter())
    }
}

/// `v` within `range` (NaN: its start).
pub(crate) fn clamp(v: f64, range: &std::ops::RangeInclusive<f64>) -> f64 {
    if v.is_nan() {
        *range.start()
    } else {
        v.clamp(*range.start(), *range.end())
    }
}

/// `v` seconds, clamped to `range`: never the panic of `Duration::from_secs_f64`.
pub fn seconds(v: f64, range: &std::ops::RangeInclusive<f64>) -> Duration {
    Duration::from_secs_f64(clamp(v, range))
}

/// Parses `send --rate`: messages per second within
/// [`crate::config::RATE_PER_SECOND`] (for clap's `value_parser`).
pub fn parse_rate(s: &str) -> std::result::Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of messages per second"))?;
    if crate::config::RATE_PER_SECOND.contains(&r) {
        Ok(r)
    } else {
        Err(crate::config::out_of_range(
            r,
            &crate::config::RATE_PER_SECOND,
            "messages per second",
        ))
    }
}

/// A cheap random number in [0, 1) (no crate needed for jitter).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Where messages go.
#[derive(Debug, Clone)]
pub enum Transport {
    /// An SMTP relay.
    Smtp(Arc<SmtpSettings>),
    /// `--dry-run`: one `.eml` file per recipient in this folder.
    Outbox(PathBuf),
}

/// One run's work.
pub struct Delivery {
    /// The per-recipient message builder.
    pub template: Arc<MessageTemplate>,
    /// Who gets it, in order.
    pub recipients: Vec<Recipient>,
    /// Where it goes.
    pub transport: Transport,
    /// Throughput and retries.
    pub limits: Limits,
    /// The journal (absent for test sends and dry runs).
    pub journal: Option<Arc<Journal>>,
    /// Progress display (use `ProgressBar::hidden()` for none).
    pub progress: ProgressBar,
    /// Set to stop taking new recipients (Ctrl-C); in-flight ones finish.
    pub stop: Arc<AtomicBool>,
}

#[derive(Debug, Clone, Copy)]
struct Job {
    idx: u32,
    attempts: u32,
    /// A stale reused connection may cost one free retry.
    free_retry: bool,
}

#[derive(Default)]
struct Queue {
    next: usize,
    retry: BinaryHeap<Reverse<(Instant, u32, u32, bool)>>,
    in_flight: usize,
}

enum Next {
    Job(Job),
    Wait(Duration),
    Done,
}

#[derive(Default)]
struct Outcomes {
    sent: usize,
    failed: Vec<Problem>,
    deferred: Vec<Problem>,
    in_doubt_resent: Vec<String>,
    fatal: Option<String>,
    gave_up: Vec<String>,
}

struct Rate {
    interval: Option<Duration>,
    next: Instant,
    per_hour: Option<u64>,
    window: VecDeque<Instant>,
}

struct Shared {
    d: Delivery,
    queue: Mutex<Queue>,
    out: Mutex<Outcomes>,
    rate: Mutex<Rate>,
    halt: AtomicBool,
    bytes: AtomicU64,
    /// A connection has been opened in this run (so the server exists).
    connected_once: AtomicBool,
    /// Failed connection attempts before any connection was opened.
    failures_before_first: AtomicUsize,
    /// How many workers run.
    workers: usize,
    /// Connection-level failures since the server last replied to anything.
    failures_in_a_row: AtomicUsize,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.halt.load(Ordering::Relaxed) || self.d.stop.load(Ordering::Relaxed)
    }

    fn next_job(&self) -> Next {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some(Reverse((due, idx, attempts, free_retry))) = q.retry.peek().copied() {
            if due <= now {
                q.retry.pop();
                q.in_flight += 1;
                return Next::Job(Job {
                    idx,
                    attempts,
                    free_retry,
                });
            }
        }
        if q.next < self.d.recipients.len() {
            let idx = q.next as u32;
            q.next += 1;
            q.in_flight += 1;
            return Next::Job(Job {
                idx,
                attempts: 0,
                free_retry: true,
            });
        }
        match q.retry.peek() {
            Some(Reverse((due, _, _, _))) => {
                Next::Wait((*due - now).min(Duration::from_millis(100)))
            }
            None if q.in_flight > 0 => Next::Wait(Duration::from_millis(20)),
            None => Next::Done,
        }
    }

    fn requeue(&self, job: Job, at: Instant) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.retry
            .push(Reverse((at, job.idx, job.attempts, job.free_retry)));
        q.in_flight -= 1;
    }

    fn done(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.in_flight -= 1;
    }

    fn fatal(&self, why: String) {
        let mut o = self.out.lock().unwrap_or_else(|e| e.into_inner());
        o.fatal.get_or_insert(why);
        self.halt.store(true, Ordering::Relaxed);
    }

    /// The server replied (to anything): it is alive.
    fn replied(&self) {
        self.failures_in_a_row.store(0, Ordering::Relaxed);
    }

    /// A connection-level failure (no connection, no reply, a broken one).
    /// After [`Limits::dead_after`] in a row the relay counts as dead, like
    /// Postfix's dead destination: stop opening connections and defer
    /// everyone left at once, rather than making each recipient wait out
    /// its own attempts × timeouts.
    fn connection_failed(&self, settings: &SmtpSettings, f: &Failure) {
        let n = self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.d.limits.dead_after() {
            self.fatal(format!(
                "the SMTP server at {}:{} is not answering ({n} connection failures in a row, the last: {}); \
                 the rest of the list is deferred: run `send` again to resume once it answers",
                settings.host,
                settings.port,
                f.describe()
            ));
        }
    }

    /// Updates the progress display's counts.
    fn show_counts(&self, o: &Outcomes) {
        self.d.progress.set_message(format!(
            "sent {}, failed {}, deferred {}",
            o.sent,
            o.failed.len(),
            o.deferred.len()
        ));
    }

    fn email(&self, job: Job) -> &str {
        self.d.recipients[job.idx as usize].email.as_ref()
    }

    /// Records an outcome in the journal; a journal that cannot be written
    /// stops the run (we could no longer promise "never twice").
    fn journal(&self, kind: OutcomeKind, job: Job, code: Option<u16>, text: &str) {
        if let Some(j) = &self.d.journal {
            let email = self.email(job);
            if let Err(e) = j.append(Record::Outcome {
                kind,
                email,
                code,
                text,
            }) {
                self.fatal(format!(
                    "cannot write the journal {}: {e}",
                    j.path().display()
                ));
            }
        }
    }

    fn delivered(&self, job: Job, code: u16, text: &str) {
        self.journal(OutcomeKind::Delivered, job, Some(code), text);
        let mut o = self.out.lock().unwrap_or_else(|e| e.into_inner());
        o.sent += 1;
        self.show_counts(&o);
        drop(o);
        self.d.progress.inc(1);
    }

    fn failed(&self, job: Job, f: &Failure) {
        let text = f.describe();
        self.journal(OutcomeKind::Failed, job, f.code(), &text);
        let p = Problem {
            email: self.email(job).to_string(),
            code: f.code(),
            text,
        };
        let mut o = self.out.lock().unwrap_or_else(|e| e.into_inner());
        o.failed.push(p);
        self.show_counts(&o);
        drop(o);
        self.d.progress.inc(1);
    }

    /// A temporary failure: retry later, or defer when out of attempts.
    fn temporary(&self, mut job: Job, f: &Failure, connection_was_reused: bool) {
        let in_doubt = matches!(f, Failure::Connection { in_doubt: true, .. });
        if in_doubt {
            self.out
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .in_doubt_resent
                .push(self.email(job).to_string());
        }
        let text = f.describe();
        // A connection that died while idle in a worker's hands is not the
        // recipient's fault: one immediate retry on a fresh connection.
        if matches!(
            f,
            Failure::Connection {
                in_doubt: false,
                ..
            }
        ) && connection_was_reused
            && job.free_retry
        {
            self.journal(OutcomeKind::Temporary, job, None, &text);
            job.free_retry = false;
            self.requeue(job, Instant::now());
            return;
        }
        job.attempts += 1;
        if job.attempts >= self.d.limits.max_attempts {
            self.journal(OutcomeKind::Deferred, job, f.code(), &text);
            let p = Problem {
                email: self.email(job).to_string(),
                code: f.code(),
                text,
            };
            let mut o = self.out.lock().unwrap_or_else(|e| e.into_inner());
            o.deferred.push(p);
            self.show_counts(&o);
            drop(o);
            self.d.progress.inc(1);
            self.done();
        } else {
            let kind = if in_doubt {
                OutcomeKind::InDoubt
            } else {
                OutcomeKind::Temporary
            };
            self.journal(kind, job, f.code(), &text);
            let at = Instant::now() + self.d.limits.backoff(job.attempts);
            self.requeue(job, at);
        }
    }

    /// Waits for a send slot under the rate limits. False if stopped meanwhile.
    async fn rate_slot(&self) -> bool {
        let at = {
            let mut r = self.rate.lock().unwrap_or_else(|e| e.into_inner());
            if r.interval.is_none() && r.per_hour.is_none() {
                return true;
            }
            let now = Instant::now();
            let mut at = now.max(r.next);
            if let Some(n) = r.per_hour {
                if r.window.len() as u64 >= n {
                    let oldest = r.window.pop_front().expect("window is full");
                    at = at.max(oldest + Duration::from_secs(3600));
                }
                r.window.push_back(at);
            }
            if let Some(i) = r.interval {
                r.next = at + i;
            }
            at
        };
        self.sleep_until(at).await
    }

    /// Sleeps until `at`, waking early when the run is stopped.
    async fn sleep_until(&self, at: Instant) -> bool {
        loop {
            if self.stopping() {
                return false;
            }
            let now = Instant::now();
            if now >= at {
                return true;
            }
            tokio::time::sleep((at - now).min(Duration::from_millis(200))).await;
        }
    }
}

/// Runs the delivery and reports what happened.
pub async fn deliver(d: Delivery) -> Report {
    let started = Instant::now();
    let total = d.recipients.len();
    let workers = match d.transport {
        Transport::Smtp(_) => d.limits.connections,
        Transport::Outbox(_) => d.limits.connections.clamp(1, 4),
    }
    .min(total.max(1));
    let rate = Rate {
        // Clamped, the interval is 10 µs to 1000 s: never a panic.
        interval: d
            .limits
            .rate_per_second
            .map(|r| Duration::from_secs_f64(1.0 / clamp(r, &crate::config::RATE_PER_SECOND))),
        next: Instant::now(),
        per_hour: d.limits.rate_per_hour,
        window: VecDeque::new(),
    };
    d.progress.set_length(total as u64);
    let shared = Arc::new(Shared {
        d,
        queue: Mutex::new(Queue::default()),
        out: Mutex::new(Outcomes::default()),
        rate: Mutex::new(rate),
        halt: AtomicBool::new(false),
        bytes: AtomicU64::new(0),
        connected_once: AtomicBool::new(false),
        failures_before_first: AtomicUsize::new(0),
        workers,
        failures_in_a_row: AtomicUsize::new(0),
    });
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let s = shared.clone();
        handles.push(tokio::spawn(async move { worker(&s).await }));
    }
    for h in handles {
        if let Err(e) = h.await {
            shared.fatal(format!("a delivery worker crashed: {e}"));
        }
    }
    shared.d.progress.finish_and_clear();
    let q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
    let left = (total - q.next) + q.retry.len();
    drop(q);
    let mut o = std::mem::take(&mut *shared.out.lock().unwrap_or_else(|e| e.into_inner()));
    if o.fatal.is_none()
        && left > 0
        && !shared.d.stop.load(Ordering::Relaxed)
        && !o.gave_up.is_empty()
    {
        o.fatal = Some(format!(
            "could not connect to the server: {}",
            o.gave_up.last().cloned().unwrap_or_default()
        ));
    }
    o.in_doubt_resent.sort();
    o.in_doubt_resent.dedup();
    Report {
        total,
        sent: o.sent,
        failed: o.failed,
        deferred: o.deferred,
        not_attempted: left,
        in_doubt_resent: o.in_doubt_resent,
        fatal: o.fatal,
        interrupted: shared.d.stop.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        bytes: shared.bytes.load(Ordering::Relaxed),
    }
}

async fn worker(s: &Shared) {
    let mut conn: Option<Connection> = None;
    let mut connect_failures = 0u32;
    loop {
        if s.stopping() {
            break;
        }
        let job = match s.next_job() {
            Next::Job(j) => j,
            Next::Wait(d) => {
                tokio::time::sleep(d).await;
                continue;
            }
            Next::Done => break,
        };
        let recipient = &s.d.recipients[job.idx as usize];
        let msg = match s.d.template.build(recipient) {
            Ok(m) => m,
            Err(e) => {
                s.failed(job, &Failure::Local(e.to_string()));
                s.done();
                continue;
            }
        };
        let settings = match &s.d.transport {
            Transport::Outbox(dir) => {
                let path = dir.join(outbox_name(job.idx as usize, recipient.email.as_ref()));
                match tokio::fs::write(&path, &msg.bytes).await {
                    Ok(()) => {
                        s.bytes.fetch_add(msg.bytes.len() as u64, Ordering::Relaxed);
                        s.delivered(job, 250, &path.display().to_string());
                        s.done();
                    }
                    Err(e) => {
                        s.fatal(format!("cannot write {}: {e}", path.display()));
                        s.requeue(job, Instant::now());
                    }
                }
                continue;
            }
            Transport::Smtp(settings) => settings,
        };
        if !s.rate_slot().await {
            s.requeue(job, Instant::now());
            break;
        }
        if conn
            .as_ref()
            .is_some_and(|c| c.is_broken() || c.used >= s.d.limits.max_per_connection)
        {
            if let Some(c) = conn.take() {
                c.quit().await;
            }
        }
        if conn.is_none() {
            match Connection::open(settings).await {
                Ok(c) => {
                    conn = Some(c);
                    connect_failures = 0;
                    s.connected_once.store(true, Ordering::Relaxed);
                }
                Err(Failure::Fatal(why)) => {
                    s.fatal(why);
                    s.requeue(job, Instant::now());
                    break;
                }
                Err(f @ Failure::Connection { .. })
                    if !s.connected_once.load(Ordering::Relaxed)
                        && s.failures_before_first.fetch_add(1, Ordering::Relaxed) + 1
                            >= s.workers =>
                {
                    // The first connection of the run failed on every
                    // worker: retrying helps nobody when the server is down
                    // or the URL is wrong. (One worker turned away while
                    // another got in is retried as usual.)
                    s.fatal(format!(
                        "cannot reach the SMTP server at {}:{}: {}; check smtp.url (or --smtp) and that the server is running",
                        settings.host,
                        settings.port,
                        f.describe()
                    ));
                    s.requeue(job, Instant::now());
                    break;
                }
                Err(f) => {
                    if matches!(f, Failure::Connection { .. }) {
                        s.connection_failed(settings, &f);
                    } else {
                        s.replied();
                    }
                    // Not the recipient's fault: put it back untouched and
                    // back off this worker.
                    s.requeue(job, Instant::now());
                    connect_failures += 1;
                    if connect_failures >= s.d.limits.max_attempts {
                        s.out
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .gave_up
                            .push(f.describe());
                        break;
                    }
                    if !s
                        .sleep_until(Instant::now() + s.d.limits.backoff(connect_failures))
                        .await
                    {
                        break;
                    }
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected above");
        let reused = c.used > 0;
        let email = recipient.email.as_ref();
        let journal = s.d.journal.as_deref();
        let result = c
            .send(&msg.envelope, &msg.bytes, || match journal {
                Some(j) => j
                    .append(Record::Attempt { email })
                    .map_err(|e| format!("cannot write the journal {}: {e}", j.path().display())),
                None => Ok(()),
            })
            .await;
        match &result {
            Err(f @ Failure::Connection { .. }) => s.connection_failed(settings, f),
            Err(Failure::Fatal(_) | Failure::Local(_)) => {}
            _ => s.replied(),
        }
        match result {
            Ok(accepted) => {
                s.bytes.fetch_add(msg.bytes.len() as u64, Ordering::Relaxed);
                s.delivered(job, accepted.code, &accepted.text);
                s.done();
            }
            Err(Failure::Fatal(why)) => {
                s.fatal(why);
                s.requeue(job, Instant::now());
                break;
            }
            Err(f) if f.is_permanent() => {
                s.failed(job, &f);
                s.done();
            }
            Err(f) => s.temporary(job, &f, reused),
        }
        if conn.as_ref().is_some_and(Connection::is_broken) {
            conn = None;
        }
    }
    if let Some(c) = conn {
        c.quit().await;
    }
}

/// `000042-ada_example.com.eml`: sortable, and safe on every file system.
pub fn outbox_name(index: usize, email: &str) -> String {
    let safe: String = email
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{:06}-{safe}.eml", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let l = Limits {
            connections: 1,
            rate_per_second: None,
            rate_per_hour: None,
            max_per_connection: 10,
            max_attempts: 5,
            retry_delay: Duration::from_secs(2),
            retry_max_delay: Duration::from_secs(10),
        };
        for (n, max) in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (30, 10.0)] {
            let d = l.backoff(n).as_secs_f64();
            assert!(d >= max * 0.5 && d <= max, "attempt {n}: {d}");
        }
    }

    #[test]
    fn outbox_names_are_safe() {
        assert_eq!(
            outbox_name(0, "a/b\\c@x.example"),
            "000001-a_b_c@x.example.eml"
        );
    }
}
