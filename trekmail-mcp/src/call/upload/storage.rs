//! Sending a file's bytes to the storage URLs the API hands out: where they may go, and a PUT
//! of one byte range streamed from disk.
//!
//! A hostile or mistaken API must not be able to make the server send a local file anywhere it
//! likes: a storage URL is followed only if it is `https` to a host the outbound-host guard
//! accepts, or has exactly the scheme, host and port of `TREKMAIL_BASE_URL` (the sandbox, tests).
//! Redirects are never followed, and TrekMail's `Authorization` is never sent: the request
//! carries only what the API said to send (`headers`) and `Content-Length`.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;
use url::Url;

use crate::catalog::hostguard;

/// Bytes read from disk at a time, and chunks in flight between the reader and the socket: at
/// most `CHUNK * (QUEUE + 2)` bytes of a part are in memory, whatever its size.
pub const CHUNK: usize = 256 * 1024;
const QUEUE: usize = 4;

/// The storage URL `raw`, if the server may send file bytes to it. `Err` says why not.
pub fn allowed(raw: &str, base_url: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|_| "the storage URL is not a URL".to_owned())?;
    let host = url.host_str().unwrap_or_default();
    let same_as_api = Url::parse(base_url).is_ok_and(|b| {
        b.scheme() == url.scheme()
            && b.host_str() == url.host_str()
            && b.port_or_known_default() == url.port_or_known_default()
    });
    if same_as_api {
        return Ok(url);
    }
    if url.scheme() != "https" {
        return Err(format!(
            "the storage URL is {}:// to {host}, not https (and not the API's own host)",
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the storage URL carries credentials".into());
    }
    if let Some(why) = hostguard::refusal(host) {
        return Err(format!("the storage host is refused: {why}"));
    }
    Ok(url)
}

/// A byte range of an open file as a request body, read on a blocking thread ahead of the
/// socket through a short queue.
pub struct RangeBody {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    left: u64,
}

impl RangeBody {
    /// `len` bytes of `file` from `offset`. A file that ends early is an error of the body
    /// (the request fails; nothing short is accepted as the part).
    pub fn new(file: &File, offset: u64, len: u64) -> std::io::Result<Self> {
        let file = file.try_clone()?;
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::task::spawn_blocking(move || {
            let mut at = offset;
            let end = offset + len;
            let mut buf = vec![0u8; CHUNK];
            while at < end {
                let want = usize::try_from((end - at).min(CHUNK as u64)).unwrap_or(CHUNK);
                let item = match file.read_at(&mut buf[..want], at) {
                    Ok(0) => Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file became shorter while it was uploaded",
                    )),
                    Ok(n) => {
                        at += n as u64;
                        Ok(Bytes::copy_from_slice(&buf[..n]))
                    }
                    Err(e) => Err(e),
                };
                let stop = item.is_err();
                // The receiver is gone when the request ended (failed or cancelled): stop reading.
                if tx.blocking_send(item).is_err() || stop {
                    return;
                }
            }
        });
        Ok(Self { rx, left: len })
    }
}

impl Body for RangeBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(b))) => {
                self.left = self.left.saturating_sub(b.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(b))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file could not be read to the end",
            )))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

/// How one PUT of a part ended.
#[derive(Debug)]
pub enum PutError {
    /// Worth another attempt: the connection failed, timed out, or the storage answered 5xx/429.
    Retryable(String),
    /// Not worth another: a 4xx, a redirect, a file that changed.
    Final(String),
    /// The storage refused the URL (403: expired or revoked): worth one more with a fresh URL.
    Refused(String),
}

impl PutError {
    /// The reason, in words.
    pub fn reason(&self) -> &str {
        match self {
            Self::Retryable(s) | Self::Final(s) | Self::Refused(s) => s,
        }
    }
}

/// PUTs `len` bytes of `file` from `offset` to `url` with the API's `headers`, within
/// `timeout`. The answer's `ETag` (quotes stripped) on success.
pub async fn put(
    http: &reqwest::Client,
    url: &Url,
    headers: &[(String, String)],
    file: &File,
    (offset, len): (u64, u64),
    timeout: Duration,
) -> Result<Option<String>, PutError> {
    let body = RangeBody::new(file, offset, len).map_err(|e| PutError::Final(e.to_string()))?;
    let mut req = http
        .put(url.clone())
        .timeout(timeout)
        .header(reqwest::header::CONTENT_LENGTH, len)
        .body(reqwest::Body::wrap(body));
    for (k, v) in headers {
        // The API chooses the storage headers; it does not get to send our token.
        if k.eq_ignore_ascii_case("authorization") || k.eq_ignore_ascii_case("host") {
            continue;
        }
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.map_err(|e| {
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else if e.is_body() || e.is_request() {
            // A body error is the file's (shorter, unreadable): another attempt reads it again.
            "the request failed"
        } else {
            "failed"
        };
        PutError::Retryable(format!(
            "the PUT to {} {what}",
            url.host_str().unwrap_or("")
        ))
    })?;
    let status = resp.status().as_u16();
    let host = url.host_str().unwrap_or("");
    if (300..400).contains(&status) {
        return Err(PutError::Final(format!(
            "the storage at {host} answered a redirect ({status}), which is not followed"
        )));
    }
    if status == 429 || status >= 500 {
        return Err(PutError::Retryable(format!(
            "the storage at {host} answered {status}"
        )));
    }
    if status == 403 {
        return Err(PutError::Refused(format!(
            "the storage at {host} answered 403"
        )));
    }
    if !(200..300).contains(&status) {
        return Err(PutError::Final(format!(
            "the storage at {host} answered {status}"
        )));
    }
    Ok(resp
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(|e| e.trim_matches('"').to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_https_or_the_apis_own_origin() {
        let base = "http://127.0.0.1:8080";
        assert!(allowed("http://127.0.0.1:8080/_sandbox/upload/1", base).is_ok());
        assert!(allowed("https://storage.example.com/bucket/k?sig=1", base).is_ok());
        for bad in [
            "http://storage.example.com/k",
            "http://127.0.0.1:8081/k",
            "ftp://127.0.0.1:8080/k",
            "https://127.0.0.1/k",
            "https://169.254.169.254/latest",
            "https://localhost/k",
            "https://u:p@storage.example.com/k",
            "not a url",
        ] {
            assert!(allowed(bad, base).is_err(), "{bad}");
        }
    }
}
