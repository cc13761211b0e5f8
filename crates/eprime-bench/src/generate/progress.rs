//! Progress lines for the generator's long steps: at scale L each runs for minutes, and a step
//! that prints nothing cannot be told from one that hangs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Prints how far a long step has got, each time it passes another tenth of its total.
pub struct Progress {
    what: &'static str,
    total: usize,
    done: AtomicUsize,
    started: Instant,
}

impl Progress {
    pub fn new(what: &'static str, total: usize) -> Self {
        Self { what, total, done: AtomicUsize::new(0), started: Instant::now() }
    }

    /// One more item done.
    pub fn tick(&self) {
        self.add(1);
    }

    /// `n` more items done (a batch).
    pub fn add(&self, n: usize) {
        let before = self.done.fetch_add(n, Ordering::Relaxed);
        if let Some(done) = self.passed_a_tenth(before, before + n) {
            let secs = self.started.elapsed().as_secs_f64();
            eprintln!("  {} {done}/{} ({:.0}/s)", self.what, self.total, done as f64 / secs.max(1e-9));
        }
    }

    /// The count to report when going from `before` to `after` crossed a tenth of the total.
    fn passed_a_tenth(&self, before: usize, after: usize) -> Option<usize> {
        let tenth = (self.total / 10).max(1);
        (self.total >= 10 && after / tenth > before / tenth).then_some(after)
    }
}

#[cfg(test)]
mod tests {
    use super::Progress;

    #[test]
    fn a_line_is_due_each_time_a_tenth_is_passed_one_by_one_or_in_batches() {
        let progress = Progress::new("entries", 1_000);
        assert_eq!(progress.passed_a_tenth(98, 99), None);
        assert_eq!(progress.passed_a_tenth(99, 100), Some(100));
        assert_eq!(progress.passed_a_tenth(150, 650), Some(650), "a batch over several tenths reports once");
        assert_eq!(progress.passed_a_tenth(650, 700), Some(700));
        assert_eq!(progress.passed_a_tenth(700, 799), None);
        assert_eq!(Progress::new("few", 5).passed_a_tenth(0, 5), None, "too few to report");
    }
}
