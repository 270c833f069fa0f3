//! hyper answers a request it cannot parse itself (400 for a malformed
//! request, 414 for a URI over 64 KiB, 431 for headers too large) with an
//! empty body, and then closes the connection; nothing above hyper sees
//! such a request. [`ProblemBodies`] sits between hyper and the socket and
//! gives those answers the same problem document every other error has.
//!
//! It does not parse requests. It recognises hyper's own error heads by
//! their shape: the start of a write, status 400, 414 or 431, and
//! `content-length: 0` (every answer of this service's own with those
//! statuses has a problem body). hyper writes a head in one buffer, as
//! vectored writes are declined here.
//!
//! A client that opens with the HTTP/2 preface (prior knowledge) would be
//! closed by hyper without an answer; [`refuse_http2`] answers it first.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

const STATUSES: [(&[u8], &str, &str); 3] = [
    (
        b"HTTP/1.1 400 ",
        "400 Bad Request",
        "the request is not valid HTTP/1.1",
    ),
    (
        b"HTTP/1.1 414 ",
        "414 URI Too Long",
        "the request URI is too long (at most 65,534 bytes)",
    ),
    (
        b"HTTP/1.1 431 ",
        "431 Request Header Fields Too Large",
        "the request headers are too large",
    ),
];

pub struct ProblemBodies<IO> {
    inner: IO,
    /// A replacement being written: the bytes, how far, and how many bytes
    /// of the original write it stands for.
    pending: Option<(Vec<u8>, usize, usize)>,
    /// Whether a line end was read since the last answer was written: if
    /// not, the request line itself is still coming.
    line_ended: bool,
}

impl<IO> ProblemBodies<IO> {
    pub fn new(inner: IO) -> Self {
        Self {
            inner,
            pending: None,
            line_ended: false,
        }
    }
}

/// hyper answers 431 when a request head fills its read buffer (about
/// 400 KiB), even when it is the request line that did: its own 414 comes
/// only for a URI that fits in the buffer. A head whose first line has not
/// ended is a URI too long.
const URI_TOO_LONG_431: &[u8] = b"HTTP/1.1 414 ";

/// The answer to write instead of `head`, if `head` is one of hyper's own
/// empty error answers.
pub fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    let (_, status_line, detail) = STATUSES
        .iter()
        .find(|(start, _, _)| head.starts_with(start))?;
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if end != head.len() {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    if !text.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let status: u16 = status_line[..3].parse().ok()?;
    let title = &status_line[4..];
    let body = serde_json::json!({
        "type": "urn:taskman:problem:bad-request",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [],
    })
    .to_string();
    Some(
        format!(
            "HTTP/1.1 {status_line}\r\ncontent-type: application/problem+json\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// What an HTTP/2 client with prior knowledge sends first.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// Answers a client that starts with the HTTP/2 preface with an HTTP/1.1
/// 505 problem. Says whether the connection is done with: answered so, or
/// silent (or closed) for `wait`, as hyper would close it for a head not
/// sent in time.
pub async fn refuse_http2(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut first = [0u8; HTTP2_PREFACE.len()];
    let peeked = tokio::time::timeout(wait, async {
        loop {
            let n = stream.peek(&mut first).await.unwrap_or(0);
            // Decided once the bytes differ from the preface, or all match.
            if n == 0 || n == first.len() || !HTTP2_PREFACE.starts_with(&first[..n]) {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    match peeked {
        Err(_) | Ok(0) => return true,
        Ok(n) if n < HTTP2_PREFACE.len() || first != HTTP2_PREFACE => return false,
        Ok(_) => {}
    }
    let body = serde_json::json!({
        "type": "urn:taskman:problem:http-version-not-supported",
        "title": "HTTP Version Not Supported",
        "status": 505,
        "detail": "this server speaks HTTP/1.1 only; send HTTP/1.1 requests (no HTTP/2 prior knowledge)",
        "errors": [],
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 505 HTTP Version Not Supported\r\ncontent-type: application/problem+json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        // Closing with the client's frames unread would reset the
        // connection and could discard the answer before it is read.
        let mut buffer = [0u8; 2048];
        while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
    })
    .await;
    true
}

impl<IO: AsyncRead + Unpin> AsyncRead for ProblemBodies<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled()[before..].contains(&b'\n') {
            self.line_ended = true;
        }
        read
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for ProblemBodies<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.pending.is_none() {
            let too_long;
            let head = if !self.line_ended && buf.starts_with(b"HTTP/1.1 431 ") {
                too_long = [URI_TOO_LONG_431, &buf[URI_TOO_LONG_431.len()..]].concat();
                &too_long[..]
            } else {
                buf
            };
            self.line_ended = false;
            match replacement(head) {
                Some(bytes) => self.pending = Some((bytes, 0, buf.len())),
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        let this = &mut *self;
        while let Some((bytes, written, _)) = this.pending.as_mut()
            && *written < bytes.len()
        {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let stood_for = this.pending.take().map_or(0, |(_, _, original)| original);
        Poll::Ready(Ok(stood_for))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    /// One buffer per write, so that a head arrives whole.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_empty_error_answers_get_a_problem_body() {
        let head = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Sat, 28 Nov 2026 10:00:00 GMT\r\n\r\n";
        let replaced = String::from_utf8(replacement(head).unwrap()).unwrap();
        assert!(
            replaced.starts_with("HTTP/1.1 414 URI Too Long\r\n"),
            "{replaced}"
        );
        assert!(
            replaced.contains("content-type: application/problem+json"),
            "{replaced}"
        );
        let body = replaced.split("\r\n\r\n").nth(1).unwrap();
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 414);
    }

    #[test]
    fn other_answers_are_left_alone() {
        for head in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 120\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"{\"title\": \"HTTP/1.1 400 \"}",
        ] {
            assert_eq!(replacement(head), None, "{}", String::from_utf8_lossy(head));
        }
    }
}
