//! What a run did: the summary, the failed recipients with the server's code
//! and text, and the progress bar.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, TermLike};

use crate::error::Result;
use crate::fs::write_file;
use crate::send::smtp::error::printable;

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
            "sent {} of {} in {:.1} s ({:.1} msg/s, {:.1} MB); failed {}; deferred {}{}",
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
            let _ = writeln!(s, "stopped: {}", printable(f));
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
                let _ = writeln!(s, "  {}  {}", printable(&p.email), printable(&code_text(p)));
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
                    printable(&p.email),
                    p.code.map(|c| c.to_string()).unwrap_or_default(),
                    printable(&p.text)
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

/// How often a progress line is printed when stderr is not a terminal.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The progress display on stderr. On a terminal: a bar with the counts,
/// the rate (one decimal) and the ETA. Without one (cron, CI, `--yes` in a
/// script): one line every [`PROGRESS_EVERY`], e.g.
/// `progress: 120/3000 (4%): sent 118, failed 2, deferred 0; 24.6 msg/s; ETA 1m 57s`.
pub fn progress_bar(total: usize) -> ProgressBar {
    let terminal = std::io::stderr().is_terminal();
    let (target, template) = if terminal {
        (
            ProgressDrawTarget::stderr_with_hz(8),
            "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} {rate} ETA {eta} {msg}",
        )
    } else {
        (
            ProgressDrawTarget::term_like_with_hz(Box::new(Lines::new(PROGRESS_EVERY)), 1),
            "progress: {pos}/{len} ({percent}%): {msg}; {rate}; ETA {eta}",
        )
    };
    let bar = ProgressBar::with_draw_target(Some(total as u64), target);
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1} msg/s", state.per_sec());
                },
            )
            .progress_chars("=> "),
    );
    bar.set_message("sent 0, failed 0, deferred 0");
    if !terminal {
        // Redraw while nothing happens too (a slow relay), so lines keep coming.
        bar.enable_steady_tick(Duration::from_secs(1));
    }
    bar
}

/// A draw target that turns indicatif's redraws into plain lines on stderr,
/// at most one per interval (no cursor movement, no escape sequences).
#[derive(Debug)]
struct Lines {
    every: Duration,
    state: std::sync::Mutex<(std::time::Instant, String)>,
}

impl Lines {
    fn new(every: Duration) -> Lines {
        Lines {
            every,
            state: std::sync::Mutex::new((std::time::Instant::now(), String::new())),
        }
    }
}

impl TermLike for Lines {
    fn width(&self) -> u16 {
        u16::MAX
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.1.push_str(s.trim_matches(['\r', ' ']));
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let line = std::mem::take(&mut st.1);
        if !line.is_empty() && st.0.elapsed() >= self.every {
            st.0 = std::time::Instant::now();
            eprintln!("{line}");
        }
        Ok(())
    }
}
