//! Load: many keep-alive connections, each one task sending one request at a time.
//!
//! * **Closed loop** (saturation): every connection sends its next request as soon as the answer
//!   to the previous one is in. Throughput is what the server sustains.
//! * **Open loop** (fixed rate): requests are due at `t0 + i / rate` whatever the server does;
//!   the next free connection takes the next due request. Latency is timed from the actual send
//!   (`latency`) and from when the request was due (`corrected`, which charges the server for a
//!   queue that builds up when it falls behind — coordinated omission). The two differ by the
//!   timer's millisecond granularity when the server keeps up.

pub mod client;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hyper::Request;
use serde::Serialize;

use self::client::{Body, Conn, Reply};
use crate::server::ProcStats;

/// What a scenario sends, per connection (`worker`: 0..connections).
pub trait Workload: Send + Sync {
    fn request(&self, worker: usize) -> Request<Body>;
    /// Whether the answer is the right one; may keep what it needs (an ETag) for the next request.
    fn check(&self, _worker: usize, reply: &Reply) -> Result<(), String> {
        if reply.status.is_success() { Ok(()) } else { Err(describe(reply)) }
    }
}

/// A short description of an unexpected answer.
pub fn describe(reply: &Reply) -> String {
    let body = String::from_utf8_lossy(&reply.body[..reply.body.len().min(200)]).into_owned();
    format!("{} {body}", reply.status)
}

/// Latencies in microseconds, 1 µs to 100 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50_ms: ms(h.value_at_quantile(0.5)),
            p90_ms: ms(h.value_at_quantile(0.9)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

/// One measured phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Phase {
    pub mode: &'static str,
    pub connections: usize,
    /// The fixed rate asked for (open loop only).
    pub offered_rate: Option<f64>,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub secs: f64,
    /// Answered requests per second (errors included: they were answered too).
    pub throughput: f64,
    pub latency: Latency,
    /// Open loop: latency from when the request was due.
    pub corrected: Option<Latency>,
    /// Open loop: the p99 (ms) of the requests sent in each whole second of the phase, in order (`None`
    /// for a second in which nothing was sent). With a p99 over a few seconds, one bad second can be
    /// the whole p99; this tells a steady miss from a burst.
    pub p99_by_second_ms: Vec<Option<f64>>,
    /// Open loop: requests sent more than 5 ms after they were due (every connection was busy).
    pub late_starts: u64,
    /// Open loop: requests due within the phase but not sent by its end (the server fell behind).
    pub unsent: u64,
    /// Server CPU seconds over the phase, and per request.
    pub server_cpu_secs: f64,
    pub server_cpu_us_per_request: f64,
}

/// What one connection counted.
struct Tally {
    latency: Histogram<u64>,
    corrected: Histogram<u64>,
    /// Open loop: (second of the phase it was sent in, latency in µs) of each request.
    by_second: Vec<(u64, u64)>,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    late: u64,
    unsent: u64,
}

impl Tally {
    fn new() -> Self {
        Self {
            latency: histogram(),
            corrected: histogram(),
            by_second: Vec::new(),
            requests: 0,
            errors: 0,
            first_error: None,
            late: 0,
            unsent: 0,
        }
    }

    /// Records one answer to a request sent at `sent`, and returns its latency in µs.
    fn record(&mut self, workload: &dyn Workload, worker: usize, result: anyhow::Result<Reply>, sent: Instant) -> u64 {
        let latency = micros(Instant::now() - sent);
        self.requests += 1;
        let _ = self.latency.record(latency);
        let outcome = match result {
            Ok(reply) => workload.check(worker, &reply),
            Err(error) => Err(format!("{error:#}")),
        };
        if let Err(error) = outcome {
            self.errors += 1;
            self.first_error.get_or_insert(error);
        }
        latency
    }
}

/// The p99 (ms, nearest rank) of each of the first `seconds` seconds, from (second, latency in µs)
/// samples; samples of later seconds (a last part-second) are left out.
fn p99_by_second(mut samples: Vec<(u64, u64)>, seconds: u64) -> Vec<Option<f64>> {
    samples.sort_unstable();
    (0..seconds)
        .map(|second| {
            let from = samples.partition_point(|&(s, _)| s < second);
            let to = samples.partition_point(|&(s, _)| s <= second);
            let latencies = &samples[from..to];
            // Sorted by (second, latency): the rank is an index into this second's latencies.
            let rank = (latencies.len() * 99).div_ceil(100);
            rank.checked_sub(1).map(|i| latencies[i].1 as f64 / 1000.0)
        })
        .collect()
}

/// How requests are paced.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// As fast as answers come back.
    Closed,
    /// This many requests per second in total.
    Rate(f64),
}

/// Runs `workload` on `connections` connections for `duration`, paced by `pace`.
pub async fn run(
    addr: SocketAddr,
    workload: Arc<dyn Workload>,
    connections: usize,
    pace: Pace,
    duration: Duration,
    server_pid: u32,
) -> Phase {
    let connections = connections.max(1);
    // Every connection is open before the clock starts.
    let connected = Arc::new(tokio::sync::Barrier::new(connections + 1));
    let go = Arc::new(tokio::sync::Barrier::new(connections + 1));
    let start = Arc::new(std::sync::Mutex::new(Instant::now()));
    let tickets = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(connections);
    for worker in 0..connections {
        let (workload, start, tickets) = (workload.clone(), start.clone(), tickets.clone());
        let (connected, go) = (connected.clone(), go.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            // Open, and answered once, before the clock: the kernel completes the handshake before the
            // server's one worker thread accepts the connection, so a first request would otherwise wait
            // for that accept on the clock (and 128 of them open at a phase's start).
            let _ = conn.send(client::get("/healthz")).await;
            connected.wait().await;
            go.wait().await;
            let t0 = *start.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let deadline = t0 + duration;
            let mut tally = Tally::new();
            match pace {
                Pace::Closed => {
                    while Instant::now() < deadline {
                        let sent = Instant::now();
                        let result = conn.send(workload.request(worker)).await;
                        tally.record(workload.as_ref(), worker, result, sent);
                    }
                }
                Pace::Rate(rate) => loop {
                    let ticket = tickets.fetch_add(1, Ordering::Relaxed);
                    let due = t0 + Duration::from_secs_f64(ticket as f64 / rate);
                    // A server that cannot keep up leaves requests due before the deadline still
                    // unsent at it: they are dropped (counted), or a slow scenario would run for
                    // as long as its backlog takes.
                    if due >= deadline || Instant::now() >= deadline {
                        if due < deadline {
                            tally.unsent += 1;
                            continue;
                        }
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                    let sent = Instant::now();
                    if sent - due > Duration::from_millis(5) {
                        tally.late += 1;
                    }
                    let result = conn.send(workload.request(worker)).await;
                    let latency = tally.record(workload.as_ref(), worker, result, sent);
                    let _ = tally.corrected.record(micros(Instant::now() - due));
                    tally.by_second.push(((sent - t0).as_secs(), latency));
                },
            }
            tally
        }));
    }
    connected.wait().await;
    let before = ProcStats::of(server_pid);
    let t0 = Instant::now();
    *start.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = t0;
    go.wait().await;
    let mut total = Tally::new();
    for task in tasks {
        if let Ok(tally) = task.await {
            let _ = total.latency.add(&tally.latency);
            let _ = total.corrected.add(&tally.corrected);
            total.requests += tally.requests;
            total.errors += tally.errors;
            total.late += tally.late;
            total.unsent += tally.unsent;
            total.by_second.extend(tally.by_second);
            if total.first_error.is_none() {
                total.first_error = tally.first_error;
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = ProcStats::of(server_pid).cpu_secs - before.cpu_secs;
    let open = matches!(pace, Pace::Rate(_));
    Phase {
        mode: if open { "fixed_rate" } else { "saturation" },
        connections,
        offered_rate: match pace {
            Pace::Rate(rate) => Some(rate),
            Pace::Closed => None,
        },
        requests: total.requests,
        errors: total.errors,
        first_error: total.first_error,
        secs,
        throughput: total.requests as f64 / secs.max(1e-9),
        latency: Latency::of(&total.latency),
        corrected: open.then(|| Latency::of(&total.corrected)),
        p99_by_second_ms: if open { p99_by_second(total.by_second, duration.as_secs()) } else { Vec::new() },
        late_starts: total.late,
        unsent: total.unsent,
        server_cpu_secs: cpu,
        server_cpu_us_per_request: if total.requests > 0 { cpu * 1e6 / total.requests as f64 } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_second_has_its_own_p99_and_a_last_part_second_is_left_out() {
        let mut samples = Vec::new();
        // Second 0: a hundred answers of 1 ms; the 99th of them is the p99.
        samples.extend((0..100).map(|_| (0, 1_000)));
        // Second 1: two slow answers in a hundred make its p99 slow.
        samples.extend((0..98).map(|_| (1, 1_000)));
        samples.extend([(1, 50_000), (1, 60_000)]);
        // Second 3 only (second 2 sent nothing), then a part-second past the phase's end.
        samples.extend([(3, 2_000), (4, 90_000)]);
        samples.reverse();
        assert_eq!(p99_by_second(samples, 4), vec![Some(1.0), Some(50.0), None, Some(2.0)]);
    }
}
