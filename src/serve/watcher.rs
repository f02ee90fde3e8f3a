//! Watches the issue, the template directory and the config, debounces the
//! events of one save, renders once and publishes the new [`Snapshot`].
//!
//! Directories are watched rather than files: editors that save by writing a
//! temporary file and renaming it over the original replace the watched
//! inode, and a file watch would go deaf after the first save.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::{mpsc, watch};

use super::render::{self, Inputs};
use super::{log_render, Snapshot};
use crate::error::{Error, Result};

/// Quiet time after the last event of a save before rendering.
pub const DEBOUNCE_MS: u64 = 50;

/// A burst of events never delays a render longer than this.
const MAX_DELAY: Duration = Duration::from_millis(400);

/// The running watcher; dropping it leaves it running, [`Watcher::stop`] ends it.
pub struct Watcher {
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    /// Starts watching what `inputs` names and re-rendering on changes.
    pub fn start(
        config: PathBuf,
        issue: PathBuf,
        inputs: Inputs,
        tx: watch::Sender<Arc<Snapshot>>,
        debounce: Duration,
    ) -> Result<Watcher> {
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let mut notifier = notify::recommended_watcher(move |res: notify::Result<Event>| {
            let _ = ev_tx.send(res);
        })
        .map_err(|e| Error::Usage(format!("cannot watch files for changes: {e}")))?;
        let mut targets = Targets::default();
        targets.update(&mut notifier, &inputs);
        let task = tokio::spawn(run(notifier, targets, ev_rx, tx, config, issue, debounce));
        Ok(Watcher { task })
    }

    /// Stops watching.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// What is watched, as absolute paths comparable with event paths.
#[derive(Debug, Default)]
struct Targets {
    issue: PathBuf,
    config: PathBuf,
    templates: Option<PathBuf>,
    watched: Vec<(PathBuf, RecursiveMode)>,
}

impl Targets {
    /// Re-targets the watcher at `inputs`, watching only what changed.
    fn update(&mut self, notifier: &mut RecommendedWatcher, inputs: &Inputs) {
        self.issue = absolute(&inputs.issue);
        self.config = absolute(&inputs.config);
        self.templates = inputs.templates.as_deref().map(absolute);
        let mut wanted: Vec<(PathBuf, RecursiveMode)> = Vec::new();
        if let Some(t) = self.templates.as_ref().filter(|t| t.is_dir()) {
            wanted.push((t.clone(), RecursiveMode::Recursive));
        }
        for file in [&self.issue, &self.config] {
            if let Some(dir) = file.parent() {
                let covered = wanted.iter().any(|(w, mode)| {
                    w == dir || (*mode == RecursiveMode::Recursive && dir.starts_with(w))
                });
                if !covered {
                    wanted.push((dir.to_path_buf(), RecursiveMode::NonRecursive));
                }
            }
        }
        for (dir, _) in self.watched.iter().filter(|w| !wanted.contains(w)) {
            let _ = notifier.unwatch(dir);
        }
        for (dir, mode) in wanted.iter().filter(|w| !self.watched.contains(w)) {
            if let Err(e) = notifier.watch(dir, *mode) {
                eprintln!(
                    "warning: cannot watch {}: {e}; changes there will not reload the page",
                    dir.display()
                );
            }
        }
        self.watched = wanted;
    }

    /// The paths in `event` that a render depends on.
    fn relevant(&self, event: &Event, out: &mut BTreeSet<PathBuf>) {
        if matches!(
            event.kind,
            EventKind::Access(
                AccessKind::Open(_)
                    | AccessKind::Read
                    | AccessKind::Close(AccessMode::Read)
                    | AccessKind::Close(AccessMode::Execute)
                    | AccessKind::Any
                    | AccessKind::Other
            )
        ) {
            return;
        }
        for p in &event.paths {
            let hit = *p == self.issue
                || *p == self.config
                || self
                    .templates
                    .as_ref()
                    .is_some_and(|t| p.starts_with(t) && !is_editor_scratch(p));
            if hit {
                out.insert(p.clone());
            }
        }
    }
}

/// Editor scratch files in the template directory (vim's `.swp` and `4913`,
/// emacs' `#x#` and `.#x`, backups `x~`) do not change what renders.
fn is_editor_scratch(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name == "4913"
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
}

/// `p` made absolute and canonical where it exists; for a file that is
/// momentarily missing (mid-save) its canonical directory plus its name.
fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    if let (Some(dir), Some(name)) = (p.parent(), p.file_name()) {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = dir.canonicalize() {
            return d.join(name);
        }
    }
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

async fn run(
    mut notifier: RecommendedWatcher,
    mut targets: Targets,
    mut events: mpsc::UnboundedReceiver<notify::Result<Event>>,
    tx: watch::Sender<Arc<Snapshot>>,
    config: PathBuf,
    issue: PathBuf,
    debounce: Duration,
) {
    let take =
        |res: notify::Result<Event>, targets: &Targets, out: &mut BTreeSet<PathBuf>| match res {
            Ok(ev) => targets.relevant(&ev, out),
            Err(e) => eprintln!("warning: file watcher: {e}"),
        };
    loop {
        let Some(first) = events.recv().await else {
            return;
        };
        let mut changed = BTreeSet::new();
        take(first, &targets, &mut changed);
        if changed.is_empty() {
            continue;
        }
        // One save is often several events (truncate, write, close, rename):
        // wait for `debounce` of quiet, but never longer than MAX_DELAY.
        let started = Instant::now();
        loop {
            let wait = debounce.min(MAX_DELAY.saturating_sub(started.elapsed()));
            if wait.is_zero() {
                break;
            }
            match tokio::time::timeout(wait, events.recv()).await {
                Ok(Some(res)) => take(res, &targets, &mut changed),
                Ok(None) => return,
                Err(_) => break,
            }
        }
        let (c, i) = (config.clone(), issue.clone());
        let Ok(outcome) = tokio::task::spawn_blocking(move || render::render(&c, &i)).await else {
            eprintln!("warning: a render crashed; waiting for the next change");
            continue;
        };
        targets.update(&mut notifier, &outcome.inputs);
        let snapshot = Snapshot::next(Some(&tx.borrow()), outcome, changed.into_iter().collect());
        log_render(&snapshot);
        tx.send_replace(Arc::new(snapshot));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_files_are_ignored() {
        for n in [
            "4913",
            "email.mjml~",
            ".email.mjml.swp",
            ".#email.mjml",
            "#email.mjml#",
        ] {
            assert!(is_editor_scratch(Path::new(n)), "{n}");
        }
        assert!(!is_editor_scratch(Path::new("email.mjml")));
    }

    #[test]
    fn only_inputs_and_writes_are_relevant() {
        let t = Targets {
            issue: PathBuf::from("/x/issues/040.md"),
            config: PathBuf::from("/x/letterpress.toml"),
            templates: Some(PathBuf::from("/x/templates")),
            watched: Vec::new(),
        };
        let ev = |kind, p: &str| Event::new(kind).add_path(PathBuf::from(p));
        let write = EventKind::Access(AccessKind::Close(AccessMode::Write));
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        let modify = EventKind::Modify(notify::event::ModifyKind::Any);
        let mut out = BTreeSet::new();
        t.relevant(&ev(open, "/x/issues/040.md"), &mut out);
        t.relevant(&ev(modify, "/x/issues/041.md"), &mut out);
        t.relevant(&ev(modify, "/x/templates/.email.mjml.swp"), &mut out);
        assert!(out.is_empty(), "{out:?}");
        t.relevant(&ev(write, "/x/issues/040.md"), &mut out);
        t.relevant(&ev(modify, "/x/templates/partials/head.mjml"), &mut out);
        t.relevant(&ev(modify, "/x/letterpress.toml"), &mut out);
        assert_eq!(out.len(), 3, "{out:?}");
    }
}
