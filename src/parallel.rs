//! Work spread over every core, for the stages that do the same pure work
//! on many independent inputs (composing the archive's issues, classifying
//! a batch of returned mail).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `job(0..n)` on every core; results in index order.
pub fn map<T: Send>(n: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(n.max(1));
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break mine;
                        }
                        mine.push((i, job(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker panicked"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parallel_keeps_order_and_uses_every_core() {
        let ids = std::sync::Mutex::new(std::collections::HashSet::new());
        let out = super::map(64, |i| {
            ids.lock().unwrap().insert(std::thread::current().id());
            std::thread::sleep(std::time::Duration::from_millis(2));
            i * 2
        });
        assert_eq!(out, (0..64).map(|i| i * 2).collect::<Vec<_>>());
        let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
        assert_eq!(
            ids.lock().unwrap().len(),
            cores.min(64),
            "one worker per core"
        );
        assert!(super::map(0, |i| i).is_empty());
    }
}
