//! Reads a Server-Sent Events stream event by event.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;

pub struct SseClient {
    bytes: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseClient {
    pub async fn connect(url: &str) -> Self {
        Self::resume(url, None).await
    }

    /// Connects with `Last-Event-ID` when given: the stream resumes after it.
    pub async fn resume(url: &str, last_event_id: Option<&str>) -> Self {
        let mut request = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("stream request");
        assert_eq!(response.status(), 200);
        let content_type = crate::common::header(&response, "content-type");
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            bytes: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The JSON of the next `data:` event, or `None` if none came within `wait`.
    pub async fn next_json(&mut self, wait: Duration) -> Option<Value> {
        self.next_event(wait).await.map(|(_, data)| data)
    }

    /// The next `data:` event's `id:` (if it has one) and JSON, or `None`
    /// if none came within `wait`.
    pub async fn next_event(&mut self, wait: Duration) -> Option<(Option<String>, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                let id = event
                    .lines()
                    .find_map(|line| line.strip_prefix("id:"))
                    .map(|id| id.trim_start().to_owned());
                if !data.is_empty() {
                    let json = serde_json::from_str(&data.join("\n")).expect("event JSON");
                    return Some((id, json));
                }
                continue;
            }
            match tokio::time::timeout_at(deadline, self.bytes.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Some(Err(err))) => panic!("stream failed: {err}"),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}
