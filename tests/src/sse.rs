//! Reading a Server-Sent Events response (the live availability stream) frame by frame.

use serde_json::Value;
use std::time::{Duration, Instant};

/// A Server-Sent Events response read frame by frame.
pub struct Frames {
    response: reqwest::Response,
    buffer: String,
}

/// One `event:` frame: its `id:` and its `data:` as JSON.
#[derive(Debug)]
pub struct Frame {
    /// The `id:` line.
    pub id: u64,
    /// The `data:` line.
    pub data: Value,
}

impl Frames {
    /// Opens the stream at `url`, asserting 200 `text/event-stream`.
    pub async fn open(client: &reqwest::Client, url: &str) -> Self {
        let response = client.get(url).send().await.expect("stream opens");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().expect("text");
        assert_eq!(content_type, "text/event-stream");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next frame with data within `timeout` (comments are skipped); `None` when
    /// the stream ends.
    pub async fn next(&mut self, timeout: Duration) -> Option<Frame> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                        .map(str::to_owned)
                };
                let Some(data) = field("data") else {
                    continue; // a comment
                };
                assert_eq!(field("event").as_deref(), Some("availability"), "{block}");
                let id = field("id").expect("an id").parse().expect("a number");
                let data = serde_json::from_str(&data).expect("JSON data");
                return Some(Frame { id, data });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no frame within {timeout:?}; read {:?}", self.buffer))
                .expect("the stream reads");
            self.buffer
                .push_str(std::str::from_utf8(&chunk?).expect("UTF-8"));
        }
    }
}
