//! File descriptors for a server that holds many connections at once.
//!
//! Every HTTP connection, and every live-stream subscriber, is an open socket, so a server with 10,000
//! subscribers needs more descriptors than the 1,024 a process is usually given. [`prepare`] raises the
//! process's limit to the most it is allowed (as Go's runtime does for every program), then grows the
//! kernel's descriptor table to its final size while the server is still starting.
//!
//! Why the second step: Linux keeps each process's descriptors in one table that it doubles when a new
//! descriptor does not fit (at 64, 128, …, 1,024, 2,048, …), and in a process with more than one thread
//! it waits for an RCU grace period before it can free the old table. That wait, 10–15 ms here, is spent
//! inside the `accept` of the connection that did not fit, on the thread that serves every request: the
//! server's one core stood idle while all its requests waited. The benchmark's live stream showed it as
//! one slow event in five (BENCHMARKS.md, "A sixteenth machine"): with 1,000 subscribers connected, the
//! connection that sent the change was the 1,025th descriptor. A table grown once at start never grows
//! again below [`RESERVED`] descriptors. The kernel allocates it outside the process's resident memory:
//! 8 bytes per slot, 256 KiB for the largest reserved table.

/// The most descriptors whose table is grown at start: 16,384 connections, and above the 10,000
/// subscribers of the benchmark's largest stream. Beyond that the table grows as before.
pub const RESERVED: u64 = 16_384;

/// What [`prepare`] left in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptors {
    /// The process's limit on open descriptors (its soft `RLIMIT_NOFILE`) after raising it; `u64::MAX`
    /// where there is none.
    pub limit: u64,
    /// How many descriptors the table was grown to hold: the limit, at most [`RESERVED`]; 0 if growing
    /// it failed (the server runs anyway, its table grows on demand).
    pub reserved: u64,
}

/// Raises the open-descriptor limit to the hard limit, and grows the descriptor table to hold
/// `min(limit, RESERVED)` descriptors. Call it as the server starts, off the async runtime's threads
/// (`spawn_blocking`): growing the table waits for a grace period, since the process has threads
/// already (jemalloc's among them). Neither step can fail the start: a limit that cannot be raised
/// stays as it was.
#[cfg(unix)]
pub fn prepare() -> Descriptors {
    use rustix::process::{Resource, getrlimit, setrlimit};

    let mut rlimit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (rlimit.current, rlimit.maximum)
        && current < maximum
    {
        let raised = rustix::process::Rlimit { current: Some(maximum), ..rlimit };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            rlimit = raised;
        }
    }
    // `None` is "unlimited".
    let limit = rlimit.current.unwrap_or(u64::MAX);
    let wanted = limit.min(RESERVED);
    Descriptors { limit, reserved: if grow_table_to(wanted) { wanted } else { 0 } }
}

/// Elsewhere there is no such limit to raise, nor a table to grow.
#[cfg(not(unix))]
pub fn prepare() -> Descriptors {
    Descriptors { limit: u64::MAX, reserved: 0 }
}

/// Grows the table to hold descriptors `0..slots`: duplicates standard error (any open descriptor would
/// do) onto the lowest free descriptor at or above `slots - 1`, which the table must reach, then closes
/// it. The table is never shrunk.
#[cfg(unix)]
fn grow_table_to(slots: u64) -> bool {
    let Some(highest) = slots.checked_sub(1).and_then(|highest| i32::try_from(highest).ok()) else {
        return false;
    };
    rustix::io::fcntl_dupfd_cloexec(std::io::stderr(), highest).is_ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    /// `FDSize` in `/proc/self/status`: how many descriptors the process's table holds now.
    fn table_size() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find_map(|line| line.strip_prefix("FDSize:")).expect("an FDSize line");
        line.trim().parse().unwrap()
    }

    #[test]
    fn the_limit_is_raised_to_the_hard_limit_and_the_table_grown_once_for_it() {
        let prepared = prepare();
        let rlimit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(rlimit.current, rlimit.maximum, "the soft limit is the hard one");
        assert_eq!(Some(prepared.limit), rlimit.current);
        assert_eq!(prepared.reserved, prepared.limit.min(RESERVED));
        assert!(table_size() >= prepared.reserved, "a table of {} for {prepared:?}", table_size());
        assert!(!grow_table_to(0), "no table to grow for no descriptors");
        // Nothing was left open: the next descriptor is a low one.
        let file = std::fs::File::open("/proc/self/status").unwrap();
        assert!(u64::try_from(file.as_raw_fd()).unwrap() < prepared.reserved / 2, "{}", file.as_raw_fd());
    }
}
