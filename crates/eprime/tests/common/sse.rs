//! A minimal reader of the live stream's Server-Sent Events.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::TestApp;

/// A minimal Server-Sent Events reader.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

#[derive(Debug)]
pub struct ChangeEvent {
    pub id: i64,
    pub data: Value,
}

impl EventStream {
    pub async fn open(app: &TestApp, query: &str, token: Option<&str>, last_event_id: Option<i64>) -> Self {
        let mut request = app.request(reqwest::Method::GET, &format!("/api/v1/stream{query}"), token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { response, buffer: String::new() }
    }

    /// The next `change` event, or `None` when none arrives within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<ChangeEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field =
                    |name: &str| block.lines().find_map(|l| l.strip_prefix(name).map(str::trim).map(str::to_owned));
                if field("event:").as_deref() == Some("change") {
                    let id = field("id:").unwrap().parse().unwrap();
                    let data = serde_json::from_str(&field("data:").unwrap()).unwrap();
                    return Some(ChangeEvent { id, data });
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.unwrap()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
