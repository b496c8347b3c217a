//! An HTTP/1.1 response parser that is fed bytes as they arrive, so the
//! blocking client and the event loop share it. It keeps no body: it counts
//! body bytes, keeping only the start of an error body to find its S3
//! `<Code>`.

use std::io;

use super::limits::{ERROR_BODY_KEEP_BYTES, MAX_HEAD_BYTES};

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
    pub ttfb: std::time::Duration,
    /// The server said `Connection: close`: open a new connection next.
    pub server_closes: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Head,
    Body { left: u64 },
    ChunkSize,
    ChunkData { left: u64 },
    ChunkEnd,
    Trailer,
    Done,
}

/// Parses one response at a time; [`ResponseParser::reset`] before each.
pub struct ResponseParser {
    is_head: bool,
    phase: Phase,
    /// A head that arrived in pieces, or a chunk-size or trailer line.
    pending: Vec<u8>,
    status: u16,
    content_length: Option<u64>,
    server_closes: bool,
    body_bytes: u64,
    error_body: Vec<u8>,
}

impl ResponseParser {
    pub fn new() -> ResponseParser {
        ResponseParser {
            is_head: false,
            phase: Phase::Head,
            pending: Vec::new(),
            status: 0,
            content_length: None,
            server_closes: false,
            body_bytes: 0,
            error_body: Vec::new(),
        }
    }

    /// Ready for the response to a new request; `is_head` says it has no
    /// body whatever its `Content-Length` says.
    pub fn reset(&mut self, is_head: bool) {
        self.is_head = is_head;
        self.phase = Phase::Head;
        self.pending.clear();
        self.status = 0;
        self.content_length = None;
        self.server_closes = false;
        self.body_bytes = 0;
        self.error_body.clear();
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The finished response (call once [`Self::is_done`]).
    pub fn response(&self, ttfb: std::time::Duration) -> Response {
        let error_code = if self.status >= 300 { s3_error_code(&self.error_body) } else { None };
        Response {
            status: self.status,
            content_length: self.content_length,
            body_bytes: self.body_bytes,
            error_code,
            ttfb,
            server_closes: self.server_closes,
        }
    }

    /// Consumes what it can of `data`; returns how many bytes it used (less
    /// than all only once the response is complete).
    pub fn feed(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut used = 0;
        while used < data.len() && self.phase != Phase::Done {
            let rest = &data[used..];
            used += match self.phase {
                Phase::Head => self.feed_head(rest)?,
                Phase::Body { left } | Phase::ChunkData { left } => self.feed_body(rest, left),
                Phase::ChunkSize | Phase::ChunkEnd | Phase::Trailer => self.feed_line(rest)?,
                Phase::Done => 0,
            };
        }
        Ok(used)
    }

    fn feed_head(&mut self, data: &[u8]) -> io::Result<usize> {
        // The common case: the whole head in one read, parsed in place.
        let had = self.pending.len();
        let parsed = if had == 0 { parse_head(data)? } else { None };
        let (len, head) = match parsed {
            Some(found) => found,
            None => {
                self.pending.extend_from_slice(data);
                match parse_head(&self.pending)? {
                    Some(found) => found,
                    None if self.pending.len() > MAX_HEAD_BYTES => return Err(invalid("response head too large")),
                    None => return Ok(data.len()),
                }
            }
        };
        self.pending.clear();
        let used = len - had;
        if head.status == 100 {
            return Ok(used);
        }
        self.status = head.status;
        self.content_length = head.content_length;
        self.server_closes = head.close;
        let no_body = self.is_head || matches!(head.status, 204 | 304) || head.status < 200;
        self.phase = match (no_body, head.chunked, head.content_length) {
            (true, _, _) | (false, false, Some(0)) => Phase::Done,
            (false, true, _) => Phase::ChunkSize,
            (false, false, Some(left)) => Phase::Body { left },
            (false, false, None) => return Err(invalid("response without length")),
        };
        Ok(used)
    }

    fn feed_body(&mut self, data: &[u8], left: u64) -> usize {
        let take = (data.len() as u64).min(left) as usize;
        if self.status >= 300 {
            let room = ERROR_BODY_KEEP_BYTES.saturating_sub(self.error_body.len()).min(take);
            self.error_body.extend_from_slice(&data[..room]);
        }
        self.body_bytes += take as u64;
        let left = left - take as u64;
        self.phase = match (self.phase, left) {
            (Phase::Body { .. }, 0) => Phase::Done,
            (Phase::Body { .. }, _) => Phase::Body { left },
            (_, 0) => Phase::ChunkEnd,
            _ => Phase::ChunkData { left },
        };
        take
    }

    /// A chunk-size line, the CRLF after a chunk, or a trailer line.
    fn feed_line(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(end) = data.iter().position(|b| *b == b'\n') else {
            self.pending.extend_from_slice(data);
            if self.pending.len() > MAX_HEAD_BYTES {
                return Err(invalid("chunk line too long"));
            }
            return Ok(data.len());
        };
        self.pending.extend_from_slice(&data[..end]);
        let line = String::from_utf8_lossy(&self.pending).trim().to_owned();
        self.pending.clear();
        self.phase = match self.phase {
            Phase::ChunkSize => {
                let size_hex = line.split(';').next().unwrap_or("").trim();
                match u64::from_str_radix(size_hex, 16).map_err(|_| invalid("bad chunk size"))? {
                    0 => Phase::Trailer,
                    left => Phase::ChunkData { left },
                }
            }
            Phase::ChunkEnd => Phase::ChunkSize,
            _ if line.is_empty() => Phase::Done,
            other => other,
        };
        Ok(end + 1)
    }
}

impl Default for ResponseParser {
    fn default() -> Self {
        ResponseParser::new()
    }
}

struct Head {
    status: u16,
    content_length: Option<u64>,
    chunked: bool,
    close: bool,
}

/// The head's length and framing, once `bytes` holds a whole head.
fn parse_head(bytes: &[u8]) -> io::Result<Option<(usize, Head)>> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(len) = resp.parse(bytes).map_err(|e| invalid(&e.to_string()))? else {
        return Ok(None);
    };
    let mut head = Head { status: resp.code.unwrap_or(0), content_length: None, chunked: false, close: false };
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            head.content_length = Some(value.parse().map_err(|_| invalid("bad content-length"))?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            head.close = value.eq_ignore_ascii_case("close");
        }
    }
    Ok(Some((len, head)))
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
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
    use std::time::Duration;

    /// Feeds `bytes` in pieces of `step`; returns the response and the
    /// bytes left over.
    fn parse(bytes: &[u8], step: usize, is_head: bool) -> (Response, usize) {
        let mut p = ResponseParser::new();
        p.reset(is_head);
        let mut at = 0;
        while !p.is_done() {
            assert!(at < bytes.len(), "ran out of bytes");
            let end = (at + step).min(bytes.len());
            at += p.feed(&bytes[at..end]).unwrap();
        }
        (p.response(Duration::ZERO), bytes.len() - at)
    }

    #[test]
    fn content_length_bodies_in_any_pieces() {
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1";
        for step in [1, 2, 7, 100] {
            let (r, left) = parse(bytes, step, false);
            assert_eq!((r.status, r.body_bytes, left), (200, 5, 8), "step {step}");
        }
    }

    #[test]
    fn chunked_bodies_and_trailers() {
        let bytes =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n";
        for step in [1, 3, 1000] {
            let (r, left) = parse(bytes, step, false);
            assert_eq!((r.body_bytes, left), (8, 0), "step {step}");
        }
    }

    #[test]
    fn heads_errors_and_continues() {
        let (r, _) = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n", 10, true);
        assert_eq!((r.content_length, r.body_bytes), (Some(4096), 0));
        let err = b"HTTP/1.1 404 Not Found\r\nContent-Length: 48\r\nConnection: close\r\n\r\n<Error><Code>NoSuchKey</Code><Message/></Error>\n";
        let (r, _) = parse(err, 5, false);
        assert_eq!((r.status, r.error_code.as_deref(), r.server_closes), (404, Some("NoSuchKey"), true));
        let (r, _) = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 4, false);
        assert_eq!(r.status, 204);
        assert_eq!(s3_error_code(b"not xml"), None);
    }
}
