//! The live stream's fan-out: N subscribers on `GET /api/v1/stream`, one change committed
//! through the API, and the time until each subscriber has the event.
//!
//! Subscribers are raw sockets (one task each, 8 KB buffer): at 10,000 of them a full HTTP client
//! per subscriber would cost the harness more than the server. Each scans its bytes for the event
//! line; the chunked framing never splits `event: change` in practice, and a tail of the previous
//! read is kept in case it does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, IF_MATCH};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};

use super::Context;
use crate::driver::client::{Body, Conn};
use crate::driver::{Latency, describe, histogram};
use crate::server::Server;

const EVENT: &[u8] = b"event: change";

/// What one fan-out measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FanOut {
    pub subscribers: usize,
    pub connected: usize,
    pub connect_secs: f64,
    pub events: usize,
    /// From just before the change was sent to each subscriber's receipt, over all events.
    pub latency: Latency,
    /// Receipts that did not arrive within the wait.
    pub missing: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub server_rss_before_kb: u64,
    pub server_rss_connected_kb: u64,
    /// The growth of the server's resident memory per subscriber. Only meaningful on a server
    /// whose allocator holds no freed memory from earlier scenarios (run with `--only stream`):
    /// otherwise subscribers reuse it and this reads low.
    pub kb_per_subscriber: f64,
    /// Server CPU per delivered event.
    pub server_cpu_us_per_delivery: f64,
    /// Each event's own timings, to tell a slow commit from a slow fan-out: with few events, the
    /// p99 is the slowest event's.
    pub per_event: Vec<EventTimes>,
}

/// One event of a fan-out, in milliseconds from just before its change was sent.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EventTimes {
    /// The `PATCH`'s answer (the change committed).
    pub committed_ms: f64,
    /// The first subscriber's receipt.
    pub first_ms: f64,
    /// The last subscriber's receipt (of those that arrived).
    pub last_ms: f64,
}

/// Connects `n` subscribers, commits `events` changes one after another, and times the receipts.
pub async fn fan_out(ctx: &Context, server: &Server, n: usize, events: usize, wait: Duration) -> FanOut {
    let mut result = FanOut { subscribers: n, events, ..FanOut::default() };
    server.reset_peak();
    result.server_rss_before_kb = server.stats().rss_kb;
    let (receipts, mut received) = mpsc::unbounded_channel::<Instant>();
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<Result<(), String>>();
    let connecting = Arc::new(Semaphore::new(256));
    let request = format!(
        "GET /api/v1/stream?entity=activity HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Accept: text/event-stream\r\n\r\n",
        ctx.staff_token
    );
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (request, receipts, ready_tx, connecting) =
            (request.clone(), receipts.clone(), ready_tx.clone(), connecting.clone());
        let addr = ctx.addr;
        tasks.spawn(async move {
            let permit = connecting.acquire_owned().await;
            let stream = subscribe(addr, &request).await;
            drop(permit);
            match stream {
                Ok((stream, rest)) => {
                    let _ = ready_tx.send(Ok(()));
                    listen(stream, rest, &receipts).await;
                }
                Err(error) => {
                    let _ = ready_tx.send(Err(format!("{error:#}")));
                }
            }
        });
    }
    drop(ready_tx);
    for _ in 0..n {
        match tokio::time::timeout(Duration::from_secs(120), ready.recv()).await {
            Ok(Some(Ok(()))) => result.connected += 1,
            Ok(Some(Err(error))) => {
                result.errors += 1;
                result.first_error.get_or_insert(error);
            }
            _ => break,
        }
    }
    result.connect_secs = started.elapsed().as_secs_f64();
    // Let the server settle (the subscriptions' first polls) before its memory is read.
    tokio::time::sleep(Duration::from_millis(500)).await;
    result.server_rss_connected_kb = server.stats().rss_kb;
    if result.connected > 0 {
        result.kb_per_subscriber = (result.server_rss_connected_kb.saturating_sub(result.server_rss_before_kb)) as f64
            / result.connected as f64;
    }
    let mut latency = histogram();
    let cpu_before = server.stats().cpu_secs;
    // The connection that commits the changes is opened before the timing starts: what is timed is
    // the change's request and its fan-out, not a TCP handshake.
    let mut conn = Conn::new(ctx.addr);
    if let Err(error) = conn.connect().await {
        result.errors += 1;
        result.first_error.get_or_insert(format!("connecting to commit the changes: {error:#}"));
    }
    let id = ctx.stream_activity().0.clone();
    let mut version = ctx.stream_version.load(std::sync::atomic::Ordering::Relaxed);
    for round in 0..events {
        let sent = Instant::now();
        let ms_since_sent = |at: Instant| (at - sent).as_secs_f64() * 1e3;
        let mut times = EventTimes::default();
        match change(&mut conn, &ctx.staff_token, &id, version, round).await {
            Ok(next) => {
                times.committed_ms = ms_since_sent(Instant::now());
                version = next;
                ctx.stream_version.store(next, std::sync::atomic::Ordering::Relaxed);
            }
            Err(error) => {
                result.errors += 1;
                result.first_error.get_or_insert(format!("committing the change: {error:#}"));
                continue;
            }
        }
        let deadline = tokio::time::Instant::now() + wait;
        let mut got = 0;
        while got < result.connected {
            match tokio::time::timeout_at(deadline, received.recv()).await {
                Ok(Some(at)) => {
                    let _ = latency.record(u64::try_from((at - sent).as_micros()).unwrap_or(u64::MAX).max(1));
                    if got == 0 {
                        times.first_ms = ms_since_sent(at);
                    }
                    times.last_ms = ms_since_sent(at);
                    got += 1;
                }
                _ => break,
            }
        }
        result.per_event.push(times);
        result.missing += (result.connected - got) as u64;
        // A pause between events, so each is measured alone.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = latency.len();
    if delivered > 0 {
        result.server_cpu_us_per_delivery = (server.stats().cpu_secs - cpu_before) * 1e6 / delivered as f64;
    }
    result.latency = Latency::of(&latency);
    tasks.shutdown().await;
    // Give the server a moment to notice the closed connections before whatever comes next.
    tokio::time::sleep(Duration::from_millis(500)).await;
    result
}

/// Opens one subscription; returns the socket and whatever followed the response head.
async fn subscribe(addr: SocketAddr, request: &str) -> anyhow::Result<(TcpStream, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let read = stream.read(&mut buf).await?;
        if read == 0 {
            bail!("the server closed the stream before answering");
        }
        head.extend_from_slice(&buf[..read]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            if !head.starts_with(b"HTTP/1.1 200") {
                bail!("{}", String::from_utf8_lossy(&head[..end]));
            }
            return Ok((stream, head[end + 4..].to_vec()));
        }
        if head.len() > 16 * 1024 {
            bail!("no end of the response head");
        }
    }
}

/// Reports the arrival of every event on the stream until it ends.
async fn listen(mut stream: TcpStream, mut pending: Vec<u8>, receipts: &mpsc::UnboundedSender<Instant>) {
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let mut from = 0;
        while let Some(at) = pending[from..].windows(EVENT.len()).position(|w| w == EVENT) {
            let _ = receipts.send(Instant::now());
            from += at + EVENT.len();
        }
        // Keep a tail shorter than the marker, in case a read splits it.
        let keep = pending.len().saturating_sub(from).min(EVENT.len() - 1);
        pending.drain(..pending.len() - keep);
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(read) => pending.extend_from_slice(&buf[..read]),
        }
    }
}

/// Commits one change to the activity; returns its new version.
async fn change(conn: &mut Conn, token: &str, id: &str, version: i64, round: usize) -> anyhow::Result<i64> {
    let body = serde_json::json!({"location": format!("Stream test {round}")}).to_string();
    let request = hyper::Request::patch(format!("/api/v1/activities/{id}"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(CONTENT_TYPE, "application/json")
        .header(IF_MATCH, format!("\"v{version}\""))
        .body(Body::new(body.into()))?;
    let reply = conn.send(request).await?;
    if reply.status != StatusCode::OK {
        bail!("{}", describe(&reply));
    }
    reply
        .headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_matches('"').strip_prefix('v').and_then(|v| v.parse().ok()))
        .ok_or_else(|| anyhow::anyhow!("no version ETag"))
}
