//! HTTP/1.1 on one glommio TCP connection: read a request head, read its
//! body, write responses. Keep-alive; no pipelining beyond what the buffer
//! holds (requests are answered in order).

use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use crate::limits::{HEADER_COUNT_MAX, HEAD_SIZE_MAX_BYTES, HEAD_TIMEOUT_SECS};

#[derive(Debug)]
pub struct Head {
    pub method: String,
    /// The request target exactly as sent (path and query, still encoded).
    pub target: String,
    /// HTTP/1.x minor version.
    pub minor_version: u8,
    /// Lowercased names, values as sent (trimmed by httparse).
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Why a request head could not be read: each maps to a status and then the
/// connection closes.
#[derive(Debug)]
pub enum HeadError {
    /// The peer closed (or timed out) between requests: close quietly.
    Closed,
    TooLarge,
    Malformed(String),
    /// The head did not arrive within the head timeout.
    TimedOut,
    Io,
}

pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Between requests, and for each read or write within one.
    idle: Duration,
}

impl Conn {
    pub fn new(stream: TcpStream, idle: Duration) -> Self {
        // Small responses must not wait for Nagle (a 40 ms stall per GET).
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(idle));
        let _ = stream.set_write_timeout(Some(idle));
        Self { stream, buf: vec![0; HEAD_SIZE_MAX_BYTES * 2], start: 0, end: 0, idle }
    }

    /// Reads the next request head; `Closed` when the client is done.
    pub async fn read_head(&mut self) -> Result<Head, HeadError> {
        let mut head_started = (self.end > self.start).then(Instant::now);
        loop {
            if self.end > self.start {
                if let Some((head, len)) = parse_head(&self.buf[self.start..self.end])? {
                    self.start += len;
                    return Ok(head);
                }
            }
            self.compact();
            // Idle between requests: the idle timeout. Once a head has begun
            // it must complete within the head timeout (slowloris).
            let timeout = match head_started {
                None => self.idle,
                Some(at) => match Duration::from_secs(HEAD_TIMEOUT_SECS).checked_sub(at.elapsed()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return Err(HeadError::TimedOut),
                },
            };
            let _ = self.stream.set_read_timeout(Some(timeout));
            let read = self.stream.read(&mut self.buf[self.end..]).await;
            let _ = self.stream.set_read_timeout(Some(self.idle));
            match read {
                Ok(0) if self.end == self.start => return Err(HeadError::Closed),
                Ok(0) => return Err(HeadError::Malformed("connection closed mid-head".into())),
                Ok(n) => {
                    self.end += n;
                    head_started.get_or_insert_with(Instant::now);
                }
                Err(_) if self.end == self.start => return Err(HeadError::Closed),
                Err(_) if head_started.is_some() => return Err(HeadError::TimedOut),
                Err(_) => return Err(HeadError::Io),
            }
        }
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// Reads up to `out.len()` body bytes: buffered ones first, then the socket.
    /// Returns 0 only when the peer closed.
    pub async fn read_some(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.end > self.start {
            let n = out.len().min(self.end - self.start);
            out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
            self.start += n;
            return Ok(n);
        }
        self.stream.read(out).await
    }

    /// The buffered bytes, reading from the socket when none are: for a
    /// body whose end only its framing tells, which must leave what follows
    /// it (the next request) in the buffer. Empty only when the peer closed.
    pub async fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.end == self.start {
            self.start = 0;
            self.end = self.stream.read(&mut self.buf).await?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// Marks `n` bytes of [`Conn::fill_buf`]'s answer as taken.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }
}

/// The request head at the start of `buf` and its length in bytes, or
/// `None` while it is incomplete (read more, then call again). Pure, so the
/// framing rules are tested and fuzzed without a socket.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; HEADER_COUNT_MAX];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len > HEAD_SIZE_MAX_BYTES => Err(HeadError::TooLarge),
        Ok(httparse::Status::Complete(len)) => Ok(Some((to_head(&req)?, len))),
        Ok(httparse::Status::Partial) if buf.len() >= HEAD_SIZE_MAX_BYTES => Err(HeadError::TooLarge),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooLarge),
        Err(e) => Err(HeadError::Malformed(e.to_string())),
    }
}

fn to_head(req: &httparse::Request) -> Result<Head, HeadError> {
    let method = req.method.ok_or_else(|| HeadError::Malformed("no method".into()))?;
    let target = req.path.ok_or_else(|| HeadError::Malformed("no target".into()))?;
    let minor_version = req.version.ok_or_else(|| HeadError::Malformed("no version".into()))?;
    let mut headers = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| HeadError::Malformed(format!("header {} is not UTF-8", h.name)))?;
        headers.push((h.name.to_ascii_lowercase(), value.to_owned()));
    }
    Ok(Head { method: method.to_owned(), target: target.to_owned(), minor_version, headers })
}
