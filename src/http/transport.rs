//! The connection under the HTTP layer. actix-http answers a few protocol errors itself, before
//! any service sees a request, and with an empty body: request headers too large (431), no
//! request head in time (408) and an unparsable request (400). This wrapper recognises those
//! canned answers on their way out and sends the same status as RFC 9457 problem+json with a
//! stable code instead, so that every error the service produces speaks one language.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::http::problem::{Problem, PROBLEM_TYPE_PREFIX};

/// The canned answers: status line, code, title, detail.
const CANNED: &[(&[u8], &str, &str, &str)] = &[
    (
        b"HTTP/1.1 431 ",
        "request_header_fields_too_large",
        "Request header fields too large",
        "the request's headers are larger than the service accepts",
    ),
    (
        b"HTTP/1.1 408 ",
        "request_timeout",
        "Request timeout",
        "no complete request arrived in time; the connection is closed",
    ),
    (
        b"HTTP/1.1 400 ",
        "malformed_request",
        "Malformed request",
        "the request is not valid HTTP/1.1",
    ),
];

/// A connection whose canned protocol-error answers are rewritten as problems.
pub struct ProblemIo<T> {
    inner: T,
    /// A rewritten answer still being written, and how much of it is out.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> ProblemIo<T> {
    pub fn new(inner: T) -> ProblemIo<T> {
        ProblemIo {
            inner,
            pending: None,
        }
    }
}

/// The problem answer for a canned empty-bodied one, or `None` for anything else. Answers of the
/// application always have a body, so an empty-bodied 400/408/431 can only be actix-http's own.
fn rewrite(written: &[u8]) -> Option<Vec<u8>> {
    let (_, code, title, detail) = CANNED
        .iter()
        .find(|(status_line, ..)| written.starts_with(status_line))?;
    let head_end = written.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&written[..head_end]).to_ascii_lowercase();
    if head_end != written.len() || !head.contains("content-length: 0\r\n") {
        return None;
    }
    let status: u16 = std::str::from_utf8(&written[9..12]).ok()?.parse().ok()?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let problem = Problem {
        problem_type: format!("{PROBLEM_TYPE_PREFIX}{code}"),
        title: (*title).into(),
        status,
        detail: (*detail).into(),
        code: (*code).into(),
        field: None,
        request_id: Some(request_id.clone()),
    };
    let body = serde_json::to_vec(&problem).ok()?;
    let reason =
        std::str::from_utf8(&written[13..written.iter().position(|&b| b == b'\r')?]).ok()?;
    let mut answer = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n\
         content-length: {}\r\nx-request-id: {request_id}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

impl<T: AsyncWrite + Unpin> ProblemIo<T> {
    /// Writes out the rewritten answer, if one is pending.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((answer, sent)) = &mut self.pending {
            if *sent == answer.len() {
                self.pending = None;
                break;
            }
            match Pin::new(&mut self.inner).poll_write(cx, &answer[*sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *sent += n,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        if let Some(answer) = rewrite(buf) {
            this.pending = Some((answer, 0));
            // The canned answer counts as written; the problem goes out in its place.
            let _ = this.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_empty_bodied_protocol_errors_are_rewritten() {
        let canned = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\ndate: Wed, 02 Dec 2026 10:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(rewrite(canned).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(answer.contains("content-type: application/problem+json\r\n"));
        let body: serde_json::Value =
            serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["code"], "request_header_fields_too_large");
        assert_eq!(body["status"], 431);

        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 42\r\n\r\n";
        assert!(
            rewrite(ours).is_none(),
            "an answer with a body is the application's"
        );
        assert!(rewrite(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
