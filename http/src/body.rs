//! Request bodies as the handlers see them: the decoded bytes of a
//! Content-Length body, plain or aws-chunked, checked as they stream against
//! what the client signed or declared (x-amz-content-sha256, chunk
//! signatures, trailing checksums). A body that fails a check never reaches
//! a committed object.

use sha2::{Digest, Sha256};

use crate::aws_chunked::{AwsChunkedDecoder, ChecksumAlgo, ChecksumHasher, ChunkMode};
use crate::conn::Conn;
use crate::error::S3Error;
use crate::limits::BODY_CHUNK_BYTES;
use crate::request::{parse_decimal, Request};
use crate::sigv4::Payload;
use crate::transfer_chunked::ChunkedDecoder;

/// How the body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Content-Length bytes (none without the header).
    Length(u64),
    /// `Transfer-Encoding: chunked`, taken only around an aws-chunked body
    /// whose decoded length is declared: what the AWS SDK for JavaScript
    /// sends for a streamed PutObject.
    Chunked,
}

impl Wire {
    /// The length when the header gave it.
    pub fn known_len(self) -> Option<u64> {
        match self {
            Wire::Length(n) => Some(n),
            Wire::Chunked => None,
        }
    }
}

/// How the body is framed on the wire, decided before the handler runs.
pub struct Framing {
    pub wire: Wire,
    /// Bytes the object will have (x-amz-decoded-content-length for aws-chunked).
    pub decoded_len: Option<u64>,
    /// The body is aws-chunked (Content-Encoding or a streaming payload).
    aws_chunked: bool,
    pub payload: Payload,
    /// A checksum the client declared in a header (x-amz-checksum-*), to verify.
    pub header_checksum: Option<(ChecksumAlgo, String)>,
}

/// How the body is delimited on the wire, from the transport's point of
/// view; checked before authentication, since a request we cannot frame
/// cannot be answered and kept alive.
pub fn wire_framing(req: &Request) -> Result<Wire, S3Error> {
    let encodings: Vec<&str> =
        req.head.headers.iter().filter(|(n, _)| n == "transfer-encoding").map(|(_, v)| v.as_str()).collect();
    if !encodings.is_empty() {
        // Both framings at once is how requests get smuggled: refuse.
        if req.header("content-length").is_some() {
            return Err(S3Error::invalid_request("Content-Length and Transfer-Encoding together"));
        }
        let only_chunked = matches!(encodings.as_slice(), [one] if one.trim().eq_ignore_ascii_case("chunked"));
        let aws_chunked =
            req.header("content-encoding").is_some_and(|v| v.split(',').any(|e| e.trim() == "aws-chunked"));
        if only_chunked && aws_chunked && req.header("x-amz-decoded-content-length").is_some() {
            return Ok(Wire::Chunked);
        }
        return Err(S3Error::not_implemented("Transfer-Encoding"));
    }
    let lengths: Vec<&str> =
        req.head.headers.iter().filter(|(n, _)| n == "content-length").map(|(_, v)| v.as_str()).collect();
    match lengths.as_slice() {
        [] => Ok(Wire::Length(0)),
        [first, rest @ ..] if rest.iter().all(|v| v == first) => {
            parse_decimal(first).map(Wire::Length).ok_or_else(|| S3Error::invalid_argument("invalid Content-Length"))
        }
        _ => Err(S3Error::invalid_argument("conflicting Content-Length headers")),
    }
}

impl Framing {
    pub fn from_request(req: &Request, payload: Payload) -> Result<Framing, S3Error> {
        let wire = wire_framing(req)?;
        let chunked =
            matches!(
                payload,
                Payload::StreamingSigned(_) | Payload::StreamingSignedTrailer(_) | Payload::StreamingUnsignedTrailer
            ) || req.header("content-encoding").is_some_and(|v| v.split(',').any(|e| e.trim() == "aws-chunked"));
        let decoded_len = if chunked {
            Some(req.header_u64("x-amz-decoded-content-length")?.ok_or_else(|| {
                S3Error::new("MissingContentLength", 411, "You must provide the Content-Length HTTP header.")
            })?)
        } else {
            wire.known_len()
        };
        let header_checksum =
            req.head.headers.iter().find_map(|(name, value)| {
                ChecksumAlgo::from_header_name(name).map(|algo| (algo, value.trim().to_owned()))
            });
        Ok(Framing { wire, decoded_len, aws_chunked: chunked, payload, header_checksum })
    }

    /// A body of `wire_len` bytes read only to be skipped (its request was
    /// refused before authentication said how it is framed).
    pub fn unread(wire_len: u64) -> Framing {
        Framing {
            wire: Wire::Length(wire_len),
            decoded_len: Some(wire_len),
            aws_chunked: false,
            payload: Payload::Unsigned,
            header_checksum: None,
        }
    }

    fn is_chunked(&self) -> bool {
        self.aws_chunked
            || matches!(
                self.payload,
                Payload::StreamingSigned(_) | Payload::StreamingSignedTrailer(_) | Payload::StreamingUnsignedTrailer
            )
    }
}

/// What the body's checksum is checked against.
enum Expected {
    /// An x-amz-checksum-* header, or the trailer once it came.
    Value(String),
    /// Announced in x-amz-trailer; the value comes after the last chunk.
    Trailer,
    /// Nothing to check: computed to be stored.
    Compute,
}

pub struct Body<'c> {
    conn: &'c mut Conn,
    /// Bytes left of a Content-Length body.
    wire_left: u64,
    /// The transport decoder of a Transfer-Encoding: chunked body.
    transfer: Option<ChunkedDecoder>,
    decoded_len: u64,
    decoded_seen: u64,
    decoder: Option<AwsChunkedDecoder>,
    sha256: Option<(Sha256, String)>,
    checksum: Option<(ChecksumHasher, Expected)>,
    /// The body's checksum once every check passed: to store with the object.
    checksum_result: Option<(ChecksumAlgo, String)>,
    raw: Vec<u8>,
    out: Vec<u8>,
    finished: bool,
}

impl<'c> Body<'c> {
    pub fn new(conn: &'c mut Conn, framing: Framing) -> Body<'c> {
        let chunked = framing.is_chunked();
        let decoded_len = framing.decoded_len.or(framing.wire.known_len()).unwrap_or(0);
        let sha256 = match &framing.payload {
            Payload::Sha256Hex(hex) => Some((Sha256::new(), hex.to_ascii_lowercase())),
            _ => None,
        };
        let decoder = chunked.then(|| {
            let mode = ChunkMode::from_payload(&framing.payload).unwrap_or(ChunkMode::Unsigned);
            AwsChunkedDecoder::new(mode, Some(decoded_len))
        });
        let checksum = framing.header_checksum.map(|(algo, value)| (ChecksumHasher::new(algo), Expected::Value(value)));
        Body {
            conn,
            wire_left: framing.wire.known_len().unwrap_or(0),
            transfer: (framing.wire == Wire::Chunked).then(ChunkedDecoder::new),
            decoded_len,
            decoded_seen: 0,
            decoder,
            sha256,
            checksum,
            checksum_result: None,
            raw: Vec::new(),
            out: Vec::new(),
            finished: framing.wire == Wire::Length(0) && !chunked,
        }
    }

    /// The number of bytes the body decodes to.
    pub fn len(&self) -> u64 {
        self.decoded_len
    }

    /// True once every byte of the body has been read from the connection.
    pub fn is_drained(&self) -> bool {
        match &self.transfer {
            None => self.wire_left == 0,
            Some(t) => t.is_done(),
        }
    }

    /// Bytes still unread on the wire (unknown, so the most, while a
    /// chunked body goes on).
    pub fn wire_left(&self) -> u64 {
        match &self.transfer {
            None => self.wire_left,
            Some(t) if t.is_done() => 0,
            Some(_) => u64::MAX,
        }
    }

    /// The next decoded bytes, or `None` at the end, after every check passed.
    pub async fn next(&mut self) -> Result<Option<&[u8]>, S3Error> {
        loop {
            if self.finished {
                return Ok(None);
            }
            if self.is_drained() {
                self.finish()?;
                self.finished = true;
                return Ok(None);
            }
            let n = match &mut self.transfer {
                None => {
                    let want = self.wire_left.min(BODY_CHUNK_BYTES as u64) as usize;
                    self.raw.resize(want, 0);
                    let n = self.conn.read_some(&mut self.raw[..want]).await.map_err(|_| incomplete())?;
                    if n == 0 {
                        return Err(incomplete());
                    }
                    self.wire_left -= n as u64;
                    n
                }
                Some(transfer) => {
                    // Only this body's bytes are taken: the next request's
                    // stay in the connection's buffer.
                    let wire = self.conn.fill_buf().await.map_err(|_| incomplete())?;
                    if wire.is_empty() {
                        return Err(incomplete());
                    }
                    self.raw.clear();
                    let used = transfer
                        .feed(wire, &mut self.raw)
                        .map_err(|e| S3Error::new("IncompleteBody", 400, e.to_string()))?;
                    self.conn.consume(used);
                    if self.raw.is_empty() {
                        continue;
                    }
                    self.raw.len()
                }
            };
            if let Some(decoder) = &mut self.decoder {
                self.out.clear();
                decoder.feed(&self.raw[..n], &mut self.out).map_err(chunk_error)?;
                if self.out.is_empty() {
                    continue;
                }
            }
            // A plain body is handed out where it was read: no copy.
            let out: &[u8] = if self.decoder.is_some() { &self.out } else { &self.raw[..n] };
            self.decoded_seen += out.len() as u64;
            if self.decoded_seen > self.decoded_len {
                return Err(incomplete());
            }
            if let Some((sha, _)) = &mut self.sha256 {
                sha.update(out);
            }
            if let Some((hasher, _)) = &mut self.checksum {
                hasher.update(out);
            }
            return Ok(Some(out));
        }
    }

    /// Reads the whole body into memory, refusing more than `max` bytes.
    pub async fn read_all(&mut self, max: usize) -> Result<Vec<u8>, S3Error> {
        if self.decoded_len > max as u64 {
            return Err(S3Error::new("MaxMessageLengthExceeded", 400, "Your request was too big."));
        }
        let mut all = Vec::with_capacity(self.decoded_len as usize);
        while let Some(bytes) = self.next().await? {
            all.extend_from_slice(bytes);
        }
        Ok(all)
    }

    fn finish(&mut self) -> Result<(), S3Error> {
        if let Some(decoder) = self.decoder.take() {
            let trailers = decoder.finish().map_err(chunk_error)?;
            if let Some((name, value)) = trailers.iter().find(|(n, _)| ChecksumAlgo::from_header_name(n).is_some()) {
                if let Some(algo) = ChecksumAlgo::from_header_name(name) {
                    // The trailer names the algorithm only now: hash what we kept.
                    if self.checksum.is_none() {
                        return Err(S3Error::invalid_request(format!("trailer {name} was not announced")));
                    }
                    if let Some((hasher, expected)) = &mut self.checksum {
                        if hasher.algo() == algo {
                            *expected = Expected::Value(value.clone());
                        }
                    }
                }
            }
        }
        if self.decoded_seen != self.decoded_len {
            return Err(incomplete());
        }
        if let Some((sha, expected)) = self.sha256.take() {
            if hex::encode(sha.finalize()) != expected {
                return Err(S3Error::new(
                    "XAmzContentSHA256Mismatch",
                    400,
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ));
            }
        }
        self.check_checksum()
    }

    fn check_checksum(&mut self) -> Result<(), S3Error> {
        let Some((hasher, expected)) = self.checksum.take() else { return Ok(()) };
        let algo = hasher.algo();
        let actual = hasher.finalize_base64();
        match expected {
            // Announced in x-amz-trailer but never sent: nothing vouches for the body.
            Expected::Trailer => {
                Err(malformed_trailer(format!("the {} trailer was announced but not sent", algo.header_name())))
            }
            Expected::Value(claimed) if claimed != actual => Err(S3Error::new(
                "BadDigest",
                400,
                format!("The {} you specified did not match the calculated checksum.", algo.algorithm_name()),
            )),
            Expected::Value(_) | Expected::Compute => {
                self.checksum_result = Some((algo, actual));
                Ok(())
            }
        }
    }

    /// The algorithm of the checksum this body is checked against or computes.
    pub fn checksum_algo(&self) -> Option<ChecksumAlgo> {
        self.checksum.as_ref().map(|(h, _)| h.algo()).or(self.checksum_result.as_ref().map(|(a, _)| *a))
    }

    /// Computes a checksum the client did not send (a multipart upload's
    /// algorithm, for the composite checksum).
    pub fn compute_checksum(&mut self, algo: ChecksumAlgo) {
        if self.checksum.is_none() {
            self.checksum = Some((ChecksumHasher::new(algo), Expected::Compute));
        }
    }

    /// The body's verified (or computed) checksum, once the body has ended.
    pub fn checksum(&self) -> Option<&(ChecksumAlgo, String)> {
        self.checksum_result.as_ref()
    }

    /// Prepares to hash a checksum the client announced in
    /// `x-amz-trailer` (its value comes at the end of the body).
    pub fn expect_trailer_checksum(&mut self, header: Option<&str>) {
        // Only an aws-chunked body can carry a trailer.
        if self.checksum.is_some() || self.decoder.is_none() {
            return;
        }
        if let Some(algo) = header.and_then(|h| ChecksumAlgo::from_header_name(h.trim())) {
            self.checksum = Some((ChecksumHasher::new(algo), Expected::Trailer));
        }
    }
}

fn incomplete() -> S3Error {
    S3Error::new(
        "IncompleteBody",
        400,
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
    )
}

fn malformed_trailer(message: String) -> S3Error {
    S3Error::new("MalformedTrailerError", 400, message)
}

fn chunk_error(e: crate::aws_chunked::ChunkError) -> S3Error {
    S3Error::new(e.s3_code(), e.http_status(), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body skipped unread is taken as plain bytes, whatever its request
    /// claimed: no aws-chunked decoding, no hash to match.
    #[test]
    fn unread_framing_is_plain_bytes() {
        let f = Framing::unread(10);
        assert!(!f.is_chunked());
        assert_eq!((f.wire, f.decoded_len), (Wire::Length(10), Some(10)));
        assert!(f.header_checksum.is_none() && matches!(f.payload, Payload::Unsigned));
    }
}
