//! What a run did: the summary, the failed recipients with the server's code
//! and text, and the progress bar.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::Result;
use crate::fs::write_file;

/// A recipient that did not get the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The address.
    pub email: String,
    /// The server's reply code, when there was one.
    pub code: Option<u16>,
    /// The server's text, or what went wrong.
    pub text: String,
}

/// The outcome of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Recipients in this run.
    pub total: usize,
    /// Accepted by the server (or written to the outbox).
    pub sent: usize,
    /// 5xx or refused locally: never retried automatically.
    pub failed: Vec<Problem>,
    /// Still failing temporarily after every attempt: retried on the next run.
    pub deferred: Vec<Problem>,
    /// Never tried (the run was interrupted or could not connect).
    pub not_attempted: usize,
    /// Messages whose connection broke after the whole body was sent, so the
    /// server may have delivered them; they were sent again.
    pub in_doubt_resent: Vec<String>,
    /// Why the run stopped early, when it did.
    pub fatal: Option<String>,
    /// Ctrl-C.
    pub interrupted: bool,
    /// Wall time.
    pub elapsed: Duration,
    /// Message bytes handed to the server.
    pub bytes: u64,
}

impl Report {
    /// True when every recipient got the message.
    pub fn all_sent(&self) -> bool {
        self.sent == self.total
    }

    /// True when nothing is left to send in a later run (failures aside).
    pub fn nothing_left(&self) -> bool {
        self.deferred.is_empty()
            && self.not_attempted == 0
            && self.fatal.is_none()
            && !self.interrupted
    }

    /// Messages per second over the whole run.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.sent as f64 / s
        } else {
            0.0
        }
    }

    /// The summary and up to `max_listed` failures, as printed at the end.
    pub fn summary(&self, max_listed: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "sent {} of {} in {:.1} s ({:.0} msg/s, {:.1} MB); failed {}; deferred {}{}",
            self.sent,
            self.total,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.bytes as f64 / 1e6,
            self.failed.len(),
            self.deferred.len() + self.not_attempted,
            if self.not_attempted > 0 {
                format!(" ({} not attempted)", self.not_attempted)
            } else {
                String::new()
            }
        );
        if self.interrupted {
            let _ = writeln!(
                s,
                "interrupted: run `send` again to resume where it stopped"
            );
        }
        if let Some(f) = &self.fatal {
            let _ = writeln!(s, "stopped: {f}");
        }
        if !self.in_doubt_resent.is_empty() {
            let _ = writeln!(
                s,
                "{} message(s) may have arrived twice (the connection broke after the whole message was sent, so it was sent again): {}",
                self.in_doubt_resent.len(),
                list(&self.in_doubt_resent, 10)
            );
        }
        for (title, problems) in [("failed", &self.failed), ("deferred", &self.deferred)] {
            if problems.is_empty() {
                continue;
            }
            let _ = writeln!(s, "{title}:");
            for p in problems.iter().take(max_listed) {
                let _ = writeln!(s, "  {}  {}", p.email, code_text(p));
            }
            if problems.len() > max_listed {
                let _ = writeln!(s, "  … and {} more", problems.len() - max_listed);
            }
        }
        s
    }

    /// Writes every failed and deferred recipient as tab-separated lines:
    /// `failed|deferred <TAB> email <TAB> code <TAB> text`.
    pub fn write_problems(&self, path: &Path) -> Result<()> {
        let mut s = String::from("outcome\temail\tcode\ttext\n");
        for (kind, problems) in [("failed", &self.failed), ("deferred", &self.deferred)] {
            for p in problems {
                let _ = writeln!(
                    s,
                    "{kind}\t{}\t{}\t{}",
                    p.email,
                    p.code.map(|c| c.to_string()).unwrap_or_default(),
                    p.text.replace(['\t', '\n', '\r'], " ")
                );
            }
        }
        write_file(path, s)
    }
}

fn code_text(p: &Problem) -> String {
    match p.code {
        Some(c) if !p.text.starts_with(&c.to_string()) => format!("{c} {}", p.text),
        _ => p.text.clone(),
    }
}

/// `a, b, c and 7 more`.
pub fn list(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        let _ = write!(s, " and {} more", items.len() - max);
    }
    s
}

/// A progress bar with rate and ETA on a terminal (stderr), hidden otherwise.
pub fn progress_bar(total: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar =
        ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr_with_hz(8));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}
