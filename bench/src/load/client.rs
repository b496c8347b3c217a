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

use super::limits::{READ_BUF_BYTES, SMALL_WRITE_BYTES};
pub use super::parse::Response;
use super::parse::ResponseParser;

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

/// One kept-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    parser: ResponseParser,
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
        Ok(Conn { stream, buf: vec![0; READ_BUF_BYTES], parser: ResponseParser::new(), out: Vec::new() })
    }

    /// Sends `head` (ending in the blank line) and `body`, then reads the
    /// whole response. `is_head` says the response has no body whatever its
    /// `Content-Length` says. An `Err` means the connection is unusable.
    pub fn exchange(&mut self, head: &[u8], body: Body<'_>, is_head: bool) -> io::Result<Response> {
        self.send(head, body)?;
        let sent = Instant::now();
        let mut ttfb = None;
        self.parser.reset(is_head);
        while !self.parser.is_done() {
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection"));
            }
            ttfb.get_or_insert_with(|| sent.elapsed());
            // Bytes past the response would be a response nobody asked for.
            if self.parser.feed(&self.buf[..n])? < n {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bytes after the response"));
            }
        }
        Ok(self.parser.response(ttfb.unwrap_or_default()))
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
}

pub fn write_body(out: &mut impl Write, body: Body<'_>) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_cycles_the_pattern() {
        let mut out = Vec::new();
        write_body(&mut out, Body { pattern: b"abc", start: 1, len: 7 }).unwrap();
        assert_eq!(out, b"bcabcab");
    }
}
