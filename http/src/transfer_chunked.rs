//! Incremental decoder for `Transfer-Encoding: chunked` (RFC 9112 §7.1),
//! the transport framing the AWS SDK for JavaScript puts around an
//! aws-chunked body it streams (no Content-Length on the wire).
//!
//! Push-based and pure, like [`crate::aws_chunked`]: feed bytes as they
//! arrive; it takes only the bytes of this body (the rest of the input
//! belongs to the next request on the connection) and appends the data to
//! `out`. Chunk extensions and trailer fields are read and dropped, within
//! limits, so memory stays bounded whatever the body's size.
//!
//! `hex-size[;ext]\r\n data \r\n` … `0[;ext]\r\n` then trailer lines
//! `name: value\r\n` and a final `\r\n`.

/// Longest chunk-size line (size and extensions), without its CRLF.
pub const MAX_SIZE_LINE_BYTES: usize = 4096;
/// Most hex digits in a chunk size (16 fill a u64, so it cannot overflow).
pub const MAX_SIZE_HEX_DIGITS: usize = 16;
/// Most bytes in the trailer section after the last chunk.
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed chunked transfer encoding: {0}")]
pub struct ChunkedError(pub &'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In a chunk-size line: the size so far, its digits, the line's length.
    Size {
        size: u64,
        digits: usize,
        line: usize,
        in_ext: bool,
    },
    /// The LF after a chunk-size line's CR.
    SizeLf {
        size: u64,
    },
    Data {
        left: u64,
    },
    DataCr,
    DataLf,
    /// In the trailer section: bytes so far, and this line's length.
    Trailer {
        total: usize,
        line: usize,
    },
    TrailerLf {
        total: usize,
        empty_line: bool,
    },
    Done,
    Failed,
}

#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> ChunkedDecoder {
        ChunkedDecoder { state: State::Size { size: 0, digits: 0, line: 0, in_ext: false } }
    }

    /// True once the last chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, appending chunk data to `out`. Returns how many
    /// bytes of `input` belong to this body: all of it, or fewer once the
    /// body ends.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkedError> {
        if self.state == State::Failed {
            return Err(ChunkedError("the decoder has already failed"));
        }
        let result = self.feed_inner(input, out);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn feed_inner(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkedError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            self.state = match self.state {
                State::Done | State::Failed => return Ok(i),
                State::Data { left } => {
                    let n = (input.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                    out.extend_from_slice(&input[i..i + n]);
                    i += n;
                    let left = left - n as u64;
                    self.state = if left == 0 { State::DataCr } else { State::Data { left } };
                    continue;
                }
                State::Size { size, digits, line, in_ext } => {
                    if line >= MAX_SIZE_LINE_BYTES {
                        return Err(ChunkedError("chunk-size line too long"));
                    }
                    match b {
                        b'\r' if digits > 0 => State::SizeLf { size },
                        b';' | b' ' | b'\t' if digits > 0 => State::Size { size, digits, line: line + 1, in_ext: true },
                        _ if in_ext => {
                            if b == b'\n' || b == b'\r' {
                                return Err(ChunkedError("bare line ending in a chunk extension"));
                            }
                            State::Size { size, digits, line: line + 1, in_ext }
                        }
                        _ => {
                            let Some(d) = (b as char).to_digit(16) else {
                                return Err(ChunkedError("chunk size is not hexadecimal"));
                            };
                            if digits == MAX_SIZE_HEX_DIGITS {
                                return Err(ChunkedError("chunk size too large"));
                            }
                            State::Size { size: size << 4 | u64::from(d), digits: digits + 1, line: line + 1, in_ext }
                        }
                    }
                }
                State::SizeLf { size } => match b {
                    b'\n' if size == 0 => State::Trailer { total: 0, line: 0 },
                    b'\n' => State::Data { left: size },
                    _ => return Err(ChunkedError("CR without LF after a chunk size")),
                },
                State::DataCr => match b {
                    b'\r' => State::DataLf,
                    _ => return Err(ChunkedError("chunk data longer than its size")),
                },
                State::DataLf => match b {
                    b'\n' => State::Size { size: 0, digits: 0, line: 0, in_ext: false },
                    _ => return Err(ChunkedError("CR without LF after chunk data")),
                },
                State::Trailer { total, line } => {
                    if total >= MAX_TRAILER_BYTES {
                        return Err(ChunkedError("trailer section too long"));
                    }
                    match b {
                        b'\r' => State::TrailerLf { total: total + 1, empty_line: line == 0 },
                        b'\n' => return Err(ChunkedError("bare LF in the trailer section")),
                        _ => State::Trailer { total: total + 1, line: line + 1 },
                    }
                }
                State::TrailerLf { total, empty_line } => match b {
                    b'\n' if empty_line => State::Done,
                    b'\n' => State::Trailer { total: total + 1, line: 0 },
                    _ => return Err(ChunkedError("CR without LF in the trailer section")),
                },
            };
            i += 1;
        }
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(wire: &[u8], piece: usize) -> Result<(Vec<u8>, usize, bool), ChunkedError> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut used = 0;
        for part in wire.chunks(piece.max(1)) {
            let n = d.feed(part, &mut out)?;
            used += n;
            if n < part.len() {
                break;
            }
        }
        Ok((out, used, d.is_done()))
    }

    #[test]
    fn decodes_in_any_pieces_and_stops_at_the_end() {
        let body = b"5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: 1\r\n\r\n";
        let mut wire = body.to_vec();
        wire.extend_from_slice(b"GET / HTTP/1.1\r\n");
        for piece in [1, 2, 3, 7, 64, wire.len()] {
            let (out, used, done) = decode_in_pieces(&wire, piece).expect("decodes");
            assert_eq!(out, b"helloabcdefghijklmnopqrstuvwxyz", "piece {piece}");
            assert_eq!(used, body.len(), "piece {piece}: the next request is not taken");
            assert!(done);
        }
        let (out, used, done) = decode_in_pieces(b"0\r\n\r\n", 1).expect("empty body");
        assert_eq!((out.len(), used, done), (0, 5, true));
    }

    #[test]
    fn an_unfinished_body_is_not_done() {
        for cut in [0, 1, 3, 8, 10, 11, 13, 14] {
            let (_, _, done) = decode_in_pieces(&b"5\r\nhello\r\n0\r\n\r\n"[..cut], 2).expect("valid so far");
            assert!(!done, "cut at {cut}");
        }
    }

    #[test]
    fn malformed_framing_and_limits_are_refused() {
        let bad: &[&[u8]] = &[
            b"g\r\n",
            b"\r\n",
            b";ext\r\n",
            b"5\rX",
            b"5\r\nhelloX",
            b"5\r\nhello\rX",
            b"0\r\n\n",
            b"0\r\nname: v\rX",
            b"11111111111111111\r\n",
            b"5;a\nb\r\n",
        ];
        for wire in bad {
            assert!(decode_in_pieces(wire, 64).is_err(), "{:?}", String::from_utf8_lossy(wire));
        }
        let long_ext = [b"5;".as_slice(), &vec![b'a'; MAX_SIZE_LINE_BYTES], b"\r\n"].concat();
        assert_eq!(decode_in_pieces(&long_ext, 100).err(), Some(ChunkedError("chunk-size line too long")));
        let long_trailer = [b"0\r\n".as_slice(), &vec![b'a'; MAX_TRAILER_BYTES + 1]].concat();
        assert_eq!(decode_in_pieces(&long_trailer, 100).err(), Some(ChunkedError("trailer section too long")));
        let max = decode_in_pieces(b"ffffffffffffffff\r\nab", 64).expect("the largest size parses");
        assert_eq!((max.0.as_slice(), max.2), (b"ab".as_slice(), false));
        let mut d = ChunkedDecoder::new();
        assert!(d.feed(b"z", &mut Vec::new()).is_err());
        assert!(d.feed(b"0\r\n\r\n", &mut Vec::new()).is_err(), "a failed decoder stays failed");
    }
}
