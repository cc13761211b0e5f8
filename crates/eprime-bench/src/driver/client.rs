//! One keep-alive HTTP/1.1 connection: hyper's connection-level client, with no pool, retry or
//! redirect between the harness and the server, so what is timed is one request on one socket.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderMap, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub type Body = Full<Bytes>;

/// A complete answer.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct Conn {
    addr: SocketAddr,
    sender: Option<SendRequest<Body>>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, sender: None }
    }

    /// Opens the connection now (so the first timed request does not pay for it).
    pub async fn connect(&mut self) -> anyhow::Result<()> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        Ok(())
    }

    /// Sends `request` and reads the whole answer; a failed connection is dropped and opened
    /// again on the next request.
    pub async fn send(&mut self, mut request: Request<Body>) -> anyhow::Result<Reply> {
        self.connect().await?;
        request.headers_mut().entry(HOST).or_insert(HeaderValue::from_static("127.0.0.1"));
        let result = async {
            let sender = self.sender.as_mut().ok_or_else(|| anyhow::anyhow!("not connected"))?;
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            anyhow::Ok(Reply { status: parts.status, headers: parts.headers, body })
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }
}

/// A GET request for `path`.
pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::default()).expect("the harness builds valid requests")
}

/// Whether `GET path` answers 200 now (one fresh connection).
pub async fn probe(addr: SocketAddr, path: &str) -> bool {
    let mut conn = Conn::new(addr);
    matches!(conn.send(get(path)).await, Ok(reply) if reply.status == StatusCode::OK)
}
