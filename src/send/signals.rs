//! Stopping a send gracefully: the first Ctrl-C (SIGINT) or SIGTERM
//! (systemd, `docker stop`, `timeout`, a cancelled CI job) stops taking new
//! recipients and lets the messages in flight finish, so the summary is
//! printed, the journal's end record is written and a resumed run re-sends
//! nothing it does not have to; a second signal quits at once (the journal
//! is safe either way).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::ProgressBar;

/// Exit status after a second SIGINT (128 + 2, as shells report it).
pub const EXIT_SIGINT: i32 = 130;
/// Exit status after a second SIGTERM (128 + 15).
pub const EXIT_SIGTERM: i32 = 143;

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Interrupt,
    Terminate,
}

/// Waits for SIGINT or SIGTERM.
async fn next_signal(
    #[cfg(unix)] term: &mut Option<tokio::signal::unix::Signal>,
) -> Option<Signal> {
    #[cfg(unix)]
    {
        let term_recv = async {
            match term {
                Some(t) => t.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.ok().map(|()| Signal::Interrupt),
            r = term_recv => r.map(|()| Signal::Terminate),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .ok()
            .map(|()| Signal::Interrupt)
    }
}

/// Spawns (on the current Tokio runtime) the watcher that sets `stop` on
/// the first SIGINT or SIGTERM, saying so above `progress`, and exits the
/// process on the second.
pub fn stop_on_signals(stop: Arc<AtomicBool>, progress: ProgressBar) {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::spawn(async move {
        let Some(first) = next_signal(
            #[cfg(unix)]
            &mut term,
        )
        .await
        else {
            return;
        };
        stop.store(true, Ordering::Relaxed);
        let what = match first {
            Signal::Interrupt => "Ctrl-C",
            Signal::Terminate => "SIGTERM",
        };
        progress.suspend(|| {
            eprintln!(
                "\n{what}: stopping after the messages in flight (a second Ctrl-C or SIGTERM quits at once; the journal is safe either way)"
            )
        });
        if let Some(second) = next_signal(
            #[cfg(unix)]
            &mut term,
        )
        .await
        {
            std::process::exit(match second {
                Signal::Interrupt => EXIT_SIGINT,
                Signal::Terminate => EXIT_SIGTERM,
            });
        }
    });
}
