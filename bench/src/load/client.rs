//! A minimal blocking HTTP/1.1 client: one kept-alive `TcpStream` with
//! TCP_NODELAY, requests written whole, responses parsed with httparse and
//! their bodies counted and dropped.
//!
//! Hand-written because the generator must cost far less than the server it
//! measures: no allocation per request once warm, one `write` for a small
//! request, large reads into one reused buffer.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::limits::{ERROR_BODY_KEEP_BYTES, MAX_HEAD_BYTES, READ_BUF_BYTES, SMALL_WRITE_BYTES};

/// A request body: `len` bytes cycled from `pattern` starting at `start`.
/// Nothing is allocated per request, however big the body.
#[derive(Clone, Copy)]
pub struct Body<'a> {
    pub pattern: &'a [u8],
    pub start: usize,
    pub len: u64,
}

impl Body<'static> {
    pub const EMPTY: Body<'static> = Body { pattern: &[], start: 0, len: 0 };
}

/// What came back.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The `Content-Length` header, when one was sent (HEAD reports the
    /// object's size this way).
    pub content_length: Option<u64>,
    /// Body bytes received.
    pub body_bytes: u64,
    /// The S3 `<Code>` of an error body.
    pub error_code: Option<String>,
    /// From the end of the request's write to the first byte of the answer.
    pub ttfb: Duration,
    /// The server said `Connection: close`: open a new connection next.
    pub server_closes: bool,
}

/// One kept-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf[..filled]` not yet consumed.
    pos: usize,
    filled: usize,
    /// Scratch for building a small request in one write.
    out: Vec<u8>,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        // Without it, a small request after a kept-alive response waits for
        // the delayed ACK (~40 ms).
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Conn { stream, buf: vec![0; READ_BUF_BYTES], pos: 0, filled: 0, out: Vec::new() })
    }

    /// Sends `head` (ending in the blank line) and `body`, then reads the
    /// whole response. `is_head` says the response has no body whatever its
    /// `Content-Length` says. An `Err` means the connection is unusable.
    pub fn exchange(&mut self, head: &[u8], body: Body<'_>, is_head: bool) -> io::Result<Response> {
        self.send(head, body)?;
        let sent = Instant::now();
        let (status, content_length, chunked, server_closes, head_len) = self.read_head()?;
        let ttfb = sent.elapsed();
        self.pos += head_len;
        let keep_error = status >= 300;
        let no_body = is_head || status == 204 || status == 304 || (100..200).contains(&status);
        let mut error_body = Vec::new();
        let body_bytes = if no_body {
            0
        } else if chunked {
            self.read_chunked(keep_error.then_some(&mut error_body))?
        } else if let Some(len) = content_length {
            self.read_exact_body(len, keep_error.then_some(&mut error_body))?
        } else {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "response without length"));
        };
        let error_code = if keep_error { s3_error_code(&error_body) } else { None };
        Ok(Response { status, content_length, body_bytes, error_code, ttfb, server_closes })
    }

    fn send(&mut self, head: &[u8], body: Body<'_>) -> io::Result<()> {
        let total = head.len() as u64 + body.len;
        if total <= SMALL_WRITE_BYTES as u64 {
            self.out.clear();
            self.out.extend_from_slice(head);
            let mut body_out = std::mem::take(&mut self.out);
            let result = write_body(&mut body_out, body).and_then(|()| self.stream.write_all(&body_out));
            self.out = body_out;
            return result;
        }
        self.stream.write_all(head)?;
        write_body(&mut self.stream, body)
    }

    /// Reads until a complete response head is buffered; returns status,
    /// content length, chunked, connection-close and the head's length.
    fn read_head(&mut self) -> io::Result<(u16, Option<u64>, bool, bool, usize)> {
        loop {
            if self.pos < self.filled {
                let mut headers = [httparse::EMPTY_HEADER; 64];
                let mut resp = httparse::Response::new(&mut headers);
                let parsed = resp
                    .parse(&self.buf[self.pos..self.filled])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                if let httparse::Status::Complete(len) = parsed {
                    let status = resp.code.unwrap_or(0);
                    if status == 100 {
                        self.pos += len;
                        continue;
                    }
                    let (content_length, chunked, close) = framing(resp.headers)?;
                    return Ok((status, content_length, chunked, close, len));
                }
            }
            if self.filled - self.pos >= MAX_HEAD_BYTES {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "response head too large"));
            }
            self.fill()?;
        }
    }

    /// Makes room and reads more bytes; EOF is an error (the server closed
    /// mid-response).
    fn fill(&mut self) -> io::Result<()> {
        if self.pos == self.filled {
            self.pos = 0;
            self.filled = 0;
        } else if self.filled == self.buf.len() {
            self.buf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
        }
        let n = self.stream.read(&mut self.buf[self.filled..])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection"));
        }
        self.filled += n;
        Ok(())
    }

    /// Consumes `len` body bytes, keeping the first few when `keep` is given.
    fn read_exact_body(&mut self, len: u64, mut keep: Option<&mut Vec<u8>>) -> io::Result<u64> {
        let mut left = len;
        while left > 0 {
            if self.pos == self.filled {
                self.fill()?;
            }
            let take = (self.filled - self.pos).min(usize::try_from(left).unwrap_or(usize::MAX));
            if let Some(kept) = keep.as_deref_mut() {
                let room = ERROR_BODY_KEEP_BYTES.saturating_sub(kept.len()).min(take);
                kept.extend_from_slice(&self.buf[self.pos..self.pos + room]);
            }
            self.pos += take;
            left -= take as u64;
        }
        Ok(len)
    }

    fn read_chunked(&mut self, mut keep: Option<&mut Vec<u8>>) -> io::Result<u64> {
        let mut total = 0;
        loop {
            let line = self.read_line()?;
            let size_hex = line.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_hex, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailers, then the blank line.
                while !self.read_line()?.is_empty() {}
                return Ok(total);
            }
            total += self.read_exact_body(size, keep.as_deref_mut())?;
            self.read_line()?;
        }
    }

    fn read_line(&mut self) -> io::Result<String> {
        loop {
            let window = &self.buf[self.pos..self.filled];
            if let Some(i) = window.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&window[..i]).into_owned();
                self.pos += i + 2;
                return Ok(line);
            }
            if window.len() >= MAX_HEAD_BYTES {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "chunk line too long"));
            }
            self.fill()?;
        }
    }
}

fn write_body(out: &mut impl Write, body: Body<'_>) -> io::Result<()> {
    if body.len == 0 {
        return Ok(());
    }
    if body.pattern.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "body without a pattern"));
    }
    let mut at = body.start % body.pattern.len();
    let mut left = body.len;
    while left > 0 {
        let take = (body.pattern.len() - at).min(usize::try_from(left).unwrap_or(usize::MAX));
        out.write_all(&body.pattern[at..at + take])?;
        left -= take as u64;
        at = 0;
    }
    Ok(())
}

/// Content length, chunked, and whether the server will close.
fn framing(headers: &[httparse::Header<'_>]) -> io::Result<(Option<u64>, bool, bool)> {
    let mut content_length = None;
    let mut chunked = false;
    let mut close = false;
    for h in headers {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let len = value.parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?;
            content_length = Some(len);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    Ok((content_length, chunked, close))
}

/// The `<Code>` of an S3 error document.
pub fn s3_error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let end = text[start..].find("</Code>")? + start;
    Some(text[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_from_body() {
        let body = b"<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>x</Message></Error>";
        assert_eq!(s3_error_code(body).as_deref(), Some("NoSuchKey"));
        assert_eq!(s3_error_code(b"not xml"), None);
    }

    #[test]
    fn body_cycles_the_pattern() {
        let mut out = Vec::new();
        write_body(&mut out, Body { pattern: b"abc", start: 1, len: 7 }).unwrap();
        assert_eq!(out, b"bcabcab");
    }
}
