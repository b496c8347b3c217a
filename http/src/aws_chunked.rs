//! Incremental decoder for `Content-Encoding: aws-chunked` bodies, and the
//! checksums S3 clients send in their trailers.
//!
//! Push-based and pure: feed the body's bytes as they arrive, take the
//! decoded data out, call `finish` once the body has ended. Memory stays
//! bounded by the limits below whatever the body's size. What it is not: a
//! checksum verifier (the caller hashes the decoded data with
//! [`ChecksumHasher`] and compares with the trailer value).
//!
//! ```ignore
//! let mode = ChunkMode::from_payload(&verified.payload).expect("aws-chunked");
//! let mut decoder = AwsChunkedDecoder::new(mode, Some(decoded_content_length));
//! let mut data = Vec::new();
//! decoder.feed(&body_piece, &mut data)?;   // as often as pieces arrive
//! let trailers = decoder.finish()?;
//! ```
//!
//! Wire format (AWS's sigv4-streaming docs):
//! `hex-size[;chunk-signature=sig]\r\n data \r\n` … `0[;chunk-signature=sig]\r\n`
//! then optional trailer lines `name:value\r\n` and a final `\r\n`.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::sigv4::{ChunkSigner, Payload, EMPTY_SHA256_HEX};

/// Longest chunk header line, without its CRLF.
pub const MAX_CHUNK_HEADER_BYTES: usize = 4096;
/// Most hex digits in a chunk size (16 fill a u64, so parsing cannot overflow).
pub const MAX_CHUNK_SIZE_HEX_DIGITS: usize = 16;
/// Most bytes in the trailer block (every line and line ending after the
/// final chunk's header line).
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;

const _: () = assert!(MAX_CHUNK_SIZE_HEX_DIGITS * 4 <= u64::BITS as usize);
const _: () = assert!(MAX_CHUNK_HEADER_BYTES <= MAX_TRAILER_BYTES);

const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";

/// How the chunks (and trailer) are authenticated.
#[derive(Debug, Clone)]
pub enum ChunkMode {
    /// No chunk signatures; trailers allowed, returned unverified.
    Unsigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: every chunk signed, no trailer.
    Signed(ChunkSigner),
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: no chunk signatures, a trailer.
    UnsignedTrailer,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: every chunk signed, and
    /// the trailer signed by `x-amz-trailer-signature`.
    SignedTrailer(ChunkSigner),
}

impl ChunkMode {
    /// The mode for a verified request's payload; `None` when the body is
    /// not aws-chunked (`Unsigned`, `Sha256Hex`).
    pub fn from_payload(payload: &Payload) -> Option<ChunkMode> {
        match payload {
            Payload::StreamingSigned(signer) => Some(ChunkMode::Signed(signer.clone())),
            Payload::StreamingUnsignedTrailer => Some(ChunkMode::UnsignedTrailer),
            Payload::StreamingSignedTrailer(signer) => Some(ChunkMode::SignedTrailer(signer.clone())),
            Payload::Unsigned | Payload::Sha256Hex(_) => None,
        }
    }

    fn signer(&mut self) -> Option<&mut ChunkSigner> {
        match self {
            ChunkMode::Signed(signer) | ChunkMode::SignedTrailer(signer) => Some(signer),
            ChunkMode::Unsigned | ChunkMode::UnsignedTrailer => None,
        }
    }

    fn expects_trailer(&self) -> bool {
        matches!(self, ChunkMode::UnsignedTrailer | ChunkMode::SignedTrailer(_))
    }
}

/// Trailer headers in arrival order: (lowercased name, trimmed value). The
/// `x-amz-trailer-signature` line is consumed, not returned.
pub type Trailers = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// Bad framing or a limit exceeded.
    #[error("malformed aws-chunked body: {0}")]
    Malformed(&'static str),
    /// A chunk or the trailer is not signed by the request's key.
    #[error("The request signature we calculated does not match the signature you provided.")]
    SignatureDoesNotMatch,
    /// The body ended inside the encoding.
    #[error("The body ended before the aws-chunked encoding did")]
    Incomplete,
    /// The decoded data is longer or shorter than x-amz-decoded-content-length.
    #[error("The decoded length differs from x-amz-decoded-content-length")]
    DecodedLengthMismatch,
}

impl ChunkError {
    /// The S3 error code.
    pub fn s3_code(&self) -> &'static str {
        match self {
            ChunkError::Malformed(_) => "InvalidRequest",
            ChunkError::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            ChunkError::Incomplete | ChunkError::DecodedLengthMismatch => "IncompleteBody",
        }
    }

    /// The HTTP status S3 answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            ChunkError::SignatureDoesNotMatch => 403,
            _ => 400,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading `hex-size[;ext]\r\n`.
    ChunkHeader,
    /// Inside a chunk's data, `remaining` bytes to go.
    Data,
    /// After a chunk's data: `\r` then `\n`.
    DataCr,
    DataLf,
    /// After the final chunk's header: trailer lines up to an empty line.
    Trailer,
    /// The encoding has ended; later bytes are not consumed.
    Done,
    /// An error was returned; every later call fails.
    Failed,
}

/// Decodes an aws-chunked body pushed in pieces of any size.
///
/// Data is appended to `out` as it arrives, before its chunk's signature can
/// be checked (the signature covers the whole chunk): in signed modes only
/// the first [`AwsChunkedDecoder::verified_len`] bytes are authenticated, and
/// on any error the caller must discard everything it was given.
pub struct AwsChunkedDecoder {
    mode: ChunkMode,
    state: State,
    /// The header or trailer line read so far.
    line: Vec<u8>,
    /// Data bytes left in the current chunk.
    remaining: u64,
    /// The current chunk's claimed signature and running hash (signed modes).
    chunk_signature: String,
    chunk_hash: Sha256,
    decoded_len: u64,
    verified_len: u64,
    expected_decoded_len: Option<u64>,
    trailer_bytes: usize,
    /// Lines seen in the trailer block, the empty one AWS's examples put
    /// right after the final chunk included.
    trailer_lines: usize,
    trailers: Trailers,
    /// `name:value\n` for each trailer, what x-amz-trailer-signature signs.
    trailer_hash: Sha256,
    trailer_signature: Option<String>,
}

impl fmt::Debug for AwsChunkedDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsChunkedDecoder")
            .field("mode", &self.mode)
            .field("state", &self.state)
            .field("decoded_len", &self.decoded_len)
            .field("verified_len", &self.verified_len)
            .finish_non_exhaustive()
    }
}

impl AwsChunkedDecoder {
    /// `expected_decoded_len` is x-amz-decoded-content-length when given:
    /// more data is refused as soon as it arrives, less at `finish`.
    pub fn new(mode: ChunkMode, expected_decoded_len: Option<u64>) -> Self {
        AwsChunkedDecoder {
            mode,
            state: State::ChunkHeader,
            line: Vec::new(),
            remaining: 0,
            chunk_signature: String::new(),
            chunk_hash: Sha256::new(),
            decoded_len: 0,
            verified_len: 0,
            expected_decoded_len,
            trailer_bytes: 0,
            trailer_lines: 0,
            trailers: Vec::new(),
            trailer_hash: Sha256::new(),
            trailer_signature: None,
        }
    }

    /// Decodes `input`, appending data to `out`. Returns how many bytes of
    /// `input` belong to the encoding: all of them until its end, fewer when
    /// it ends inside `input` (what follows is not this body's; with a known
    /// body length that is an error for the caller to report).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkError> {
        if self.state == State::Failed {
            return Err(ChunkError::Malformed("the decoder has already failed"));
        }
        let result = self.feed_inner(input, out);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    /// Ends the body: checks it is complete (and the trailer signature in
    /// signed-trailer mode) and returns the trailers.
    ///
    /// Lenient where clients differ: the final empty line may be missing, and
    /// so may the line ending of the last trailer line.
    pub fn finish(mut self) -> Result<Trailers, ChunkError> {
        match self.state {
            State::Done => {}
            State::Trailer => {
                if !self.line.is_empty() {
                    let line = std::mem::take(&mut self.line);
                    self.trailer_line(&line)?;
                }
                if self.state != State::Done {
                    self.end_trailer()?;
                }
            }
            State::Failed => return Err(ChunkError::Malformed("the decoder has already failed")),
            State::ChunkHeader | State::Data | State::DataCr | State::DataLf => return Err(ChunkError::Incomplete),
        }
        if let Some(expected) = self.expected_decoded_len {
            if expected != self.decoded_len {
                return Err(ChunkError::DecodedLengthMismatch);
            }
        }
        Ok(self.trailers)
    }

    /// Whether the encoding has ended (the final chunk and trailer block).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Data bytes decoded so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded_len
    }

    /// Data bytes whose chunk signatures have been verified (in unsigned
    /// modes, every complete chunk's bytes).
    pub fn verified_len(&self) -> u64 {
        self.verified_len
    }

    fn feed_inner(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkError> {
        let mut pos = 0;
        while pos < input.len() {
            let rest = &input[pos..];
            match self.state {
                State::Done | State::Failed => break,
                State::ChunkHeader => {
                    let (used, complete) = self.read_line(rest, MAX_CHUNK_HEADER_BYTES)?;
                    pos += used;
                    if complete {
                        let line = std::mem::take(&mut self.line);
                        self.chunk_header(&line)?;
                    }
                }
                State::Data => {
                    let take = usize::try_from(self.remaining).map_or(rest.len(), |r| r.min(rest.len()));
                    let data = &rest[..take];
                    self.add_data(data)?;
                    out.extend_from_slice(data);
                    pos += take;
                    if self.remaining == 0 {
                        self.end_chunk(false)?;
                        self.state = State::DataCr;
                    }
                }
                State::DataCr | State::DataLf => {
                    let (expected, next) =
                        if self.state == State::DataCr { (b'\r', State::DataLf) } else { (b'\n', State::ChunkHeader) };
                    if rest[0] != expected {
                        return Err(ChunkError::Malformed("chunk data not followed by CRLF"));
                    }
                    pos += 1;
                    self.state = next;
                }
                State::Trailer => {
                    let allowance = MAX_TRAILER_BYTES - self.trailer_bytes;
                    let (used, complete) = self.read_line(rest, allowance)?;
                    pos += used;
                    self.trailer_bytes += used;
                    if complete {
                        let line = std::mem::take(&mut self.line);
                        self.trailer_line(&line)?;
                    }
                }
            }
        }
        Ok(pos)
    }

    /// Appends to `self.line` up to and including `\n`; the line (without
    /// `\n`) may be at most `limit` bytes. Returns (bytes used, line complete).
    fn read_line(&mut self, input: &[u8], limit: usize) -> Result<(usize, bool), ChunkError> {
        let room = limit.saturating_sub(self.line.len());
        let window = &input[..input.len().min(room.saturating_add(1))];
        match window.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.line.extend_from_slice(&window[..i]);
                Ok((i + 1, true))
            }
            None if window.len() > room => Err(ChunkError::Malformed(if self.state == State::Trailer {
                "trailer block too long"
            } else {
                "chunk header line too long"
            })),
            None => {
                self.line.extend_from_slice(window);
                Ok((window.len(), false))
            }
        }
    }

    fn chunk_header(&mut self, line: &[u8]) -> Result<(), ChunkError> {
        let line = line.strip_suffix(b"\r").ok_or(ChunkError::Malformed("chunk header not ended by CRLF"))?;
        let (size, signature) = parse_chunk_header(line, self.mode.signer().is_some())?;
        self.chunk_signature = signature.unwrap_or_default();
        self.chunk_hash = Sha256::new();
        self.remaining = size;
        if size == 0 {
            self.end_chunk(true)?;
            self.state = State::Trailer;
        } else {
            self.state = State::Data;
        }
        Ok(())
    }

    fn add_data(&mut self, data: &[u8]) -> Result<(), ChunkError> {
        let len = data.len() as u64;
        self.remaining -= len;
        self.decoded_len = self.decoded_len.checked_add(len).ok_or(ChunkError::DecodedLengthMismatch)?;
        if self.expected_decoded_len.is_some_and(|max| self.decoded_len > max) {
            return Err(ChunkError::DecodedLengthMismatch);
        }
        if self.mode.signer().is_some() {
            self.chunk_hash.update(data);
        }
        Ok(())
    }

    /// A chunk's data is complete: check its signature.
    fn end_chunk(&mut self, last: bool) -> Result<(), ChunkError> {
        if let Some(signer) = self.mode.signer() {
            let digest = if last {
                EMPTY_SHA256_HEX.to_owned()
            } else {
                hex::encode(std::mem::take(&mut self.chunk_hash).finalize())
            };
            if !signer.verify_chunk(&digest, &self.chunk_signature) {
                return Err(ChunkError::SignatureDoesNotMatch);
            }
        }
        self.verified_len = self.decoded_len;
        Ok(())
    }

    fn trailer_line(&mut self, line: &[u8]) -> Result<(), ChunkError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.trailer_lines += 1;
        if line.is_empty() {
            // AWS's own examples put an empty line between the final chunk
            // and the trailers; SDKs do not. Take one there as that.
            let leading_blank = self.trailer_lines == 1 && self.mode.expects_trailer();
            if !leading_blank {
                self.end_trailer()?;
            }
            return Ok(());
        }
        if matches!(self.mode, ChunkMode::Signed(_)) {
            return Err(ChunkError::Malformed("trailer in a payload without one"));
        }
        let line = std::str::from_utf8(line).map_err(|_| ChunkError::Malformed("trailer line is not UTF-8"))?;
        let (name, value) = line.split_once(':').ok_or(ChunkError::Malformed("trailer line without ':'"))?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ChunkError::Malformed("bad trailer name"));
        }
        if name == TRAILER_SIGNATURE {
            if self.trailer_signature.replace(value.to_owned()).is_some() {
                return Err(ChunkError::Malformed("repeated trailer signature"));
            }
            return Ok(());
        }
        if self.trailer_signature.is_some() {
            return Err(ChunkError::Malformed("trailer after the trailer signature"));
        }
        self.trailer_hash.update(name.as_bytes());
        self.trailer_hash.update(b":");
        self.trailer_hash.update(value.as_bytes());
        self.trailer_hash.update(b"\n");
        self.trailers.push((name, value.to_owned()));
        Ok(())
    }

    /// The trailer block has ended: check its signature in signed-trailer mode.
    fn end_trailer(&mut self) -> Result<(), ChunkError> {
        if let ChunkMode::SignedTrailer(signer) = &mut self.mode {
            let claimed =
                self.trailer_signature.as_deref().ok_or(ChunkError::Malformed("missing x-amz-trailer-signature"))?;
            let digest = hex::encode(std::mem::take(&mut self.trailer_hash).finalize());
            if !signer.verify_trailer(&digest, claimed) {
                return Err(ChunkError::SignatureDoesNotMatch);
            }
        }
        self.state = State::Done;
        Ok(())
    }
}

/// `hex-size[;chunk-signature=sig]`; the signature is required when `signed`,
/// other extensions are ignored when not.
fn parse_chunk_header(line: &[u8], signed: bool) -> Result<(u64, Option<String>), ChunkError> {
    let (size_hex, extension) = match line.iter().position(|&b| b == b';') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    if size_hex.is_empty() || size_hex.len() > MAX_CHUNK_SIZE_HEX_DIGITS || !size_hex.iter().all(u8::is_ascii_hexdigit)
    {
        return Err(ChunkError::Malformed("bad chunk size"));
    }
    let size = size_hex.iter().try_fold(0u64, |acc, &digit| {
        let value = u64::from(hex_value(digit));
        acc.checked_mul(16)?.checked_add(value)
    });
    let size = size.ok_or(ChunkError::Malformed("bad chunk size"))?;
    if !signed {
        return Ok((size, None));
    }
    let signature = extension
        .and_then(|ext| ext.strip_prefix(b"chunk-signature="))
        .ok_or(ChunkError::Malformed("missing chunk-signature"))?;
    if signature.len() != 64 || !signature.iter().all(u8::is_ascii_hexdigit) {
        return Err(ChunkError::Malformed("bad chunk-signature"));
    }
    // All ASCII hex digits, so this is valid UTF-8.
    Ok((size, Some(String::from_utf8_lossy(signature).into_owned())))
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

/// An HTTP token character (RFC 9110), what a header name may hold.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

// ---------------------------------------------------------------------------
// Checksums

/// The checksum algorithms of S3's `x-amz-checksum-*` headers and trailers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgo {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl ChecksumAlgo {
    pub const ALL: [ChecksumAlgo; 5] =
        [ChecksumAlgo::Crc32, ChecksumAlgo::Crc32c, ChecksumAlgo::Crc64Nvme, ChecksumAlgo::Sha1, ChecksumAlgo::Sha256];

    /// From a header or trailer name such as `x-amz-checksum-crc32c`
    /// (any case).
    pub fn from_header_name(name: &str) -> Option<ChecksumAlgo> {
        ChecksumAlgo::ALL.into_iter().find(|algo| algo.header_name().eq_ignore_ascii_case(name.trim()))
    }

    /// From an algorithm name as in `x-amz-sdk-checksum-algorithm` or
    /// `x-amz-checksum-algorithm` (`CRC32`, `CRC64NVME`, …; any case).
    pub fn from_algorithm_name(name: &str) -> Option<ChecksumAlgo> {
        ChecksumAlgo::ALL.into_iter().find(|algo| algo.algorithm_name().eq_ignore_ascii_case(name.trim()))
    }

    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgo::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgo::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgo::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgo::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgo::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The name used in `x-amz-checksum-algorithm` and in XML (`CRC64NVME`).
    pub fn algorithm_name(self) -> &'static str {
        match self {
            ChecksumAlgo::Crc32 => "CRC32",
            ChecksumAlgo::Crc32c => "CRC32C",
            ChecksumAlgo::Crc64Nvme => "CRC64NVME",
            ChecksumAlgo::Sha1 => "SHA1",
            ChecksumAlgo::Sha256 => "SHA256",
        }
    }

    /// Length of the raw digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgo::Crc32 | ChecksumAlgo::Crc32c => 4,
            ChecksumAlgo::Crc64Nvme => 8,
            ChecksumAlgo::Sha1 => 20,
            ChecksumAlgo::Sha256 => 32,
        }
    }

    pub fn hasher(self) -> ChecksumHasher {
        ChecksumHasher::new(self)
    }
}

/// A running checksum of one of the [`ChecksumAlgo`]s.
#[derive(Clone)]
pub struct ChecksumHasher {
    state: HasherState,
}

#[derive(Clone)]
enum HasherState {
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Crc64Nvme(crc64fast_nvme::Digest),
    Sha1(sha1::Sha1),
    Sha256(Sha256),
}

impl fmt::Debug for ChecksumHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChecksumHasher").field("algo", &self.algo()).finish_non_exhaustive()
    }
}

impl ChecksumHasher {
    pub fn new(algo: ChecksumAlgo) -> Self {
        let state = match algo {
            ChecksumAlgo::Crc32 => HasherState::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgo::Crc32c => HasherState::Crc32c(0),
            ChecksumAlgo::Crc64Nvme => HasherState::Crc64Nvme(crc64fast_nvme::Digest::new()),
            ChecksumAlgo::Sha1 => HasherState::Sha1(sha1::Sha1::new()),
            ChecksumAlgo::Sha256 => HasherState::Sha256(Sha256::new()),
        };
        ChecksumHasher { state }
    }

    pub fn algo(&self) -> ChecksumAlgo {
        match self.state {
            HasherState::Crc32(_) => ChecksumAlgo::Crc32,
            HasherState::Crc32c(_) => ChecksumAlgo::Crc32c,
            HasherState::Crc64Nvme(_) => ChecksumAlgo::Crc64Nvme,
            HasherState::Sha1(_) => ChecksumAlgo::Sha1,
            HasherState::Sha256(_) => ChecksumAlgo::Sha256,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            HasherState::Crc32(h) => h.update(data),
            HasherState::Crc32c(crc) => *crc = crc32c::crc32c_append(*crc, data),
            HasherState::Crc64Nvme(h) => h.write(data),
            HasherState::Sha1(h) => sha1::Digest::update(h, data),
            HasherState::Sha256(h) => h.update(data),
        }
    }

    /// The raw digest, big-endian for the CRCs (as S3 encodes them).
    pub fn finalize(self) -> Vec<u8> {
        match self.state {
            HasherState::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
            HasherState::Crc32c(crc) => crc.to_be_bytes().to_vec(),
            HasherState::Crc64Nvme(h) => h.sum64().to_be_bytes().to_vec(),
            HasherState::Sha1(h) => sha1::Digest::finalize(h).to_vec(),
            HasherState::Sha256(h) => h.finalize().to_vec(),
        }
    }

    /// The digest as S3 writes it in headers, trailers and XML: base64.
    pub fn finalize_base64(self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.finalize())
    }

    /// Whether the digest equals `expected_base64` (a client's header or
    /// trailer value).
    pub fn matches_base64(self, expected_base64: &str) -> bool {
        self.finalize_base64() == expected_base64.trim()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::sigv4::{self, Credentials, RequestParts};
    use super::*;

    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const NOW: i64 = 1_369_353_600;
    const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    const CHUNK_1: &str = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
    const CHUNK_2: &str = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
    const CHUNK_LAST: &str = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

    const TRAILER_SEED: &str = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    const TRAILER_CHUNK_1: &str = "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2";
    const TRAILER_CHUNK_2: &str = "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7";
    const TRAILER_CHUNK_LAST: &str = "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992";
    const TRAILER_SIGNATURE_VALUE: &str = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";

    fn signer(seed: &str) -> ChunkSigner {
        let key = sigv4::signing_key(SK, "20130524", "us-east-1", "s3");
        ChunkSigner::new(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", seed)
    }

    /// The AWS chunked upload example, authenticated through `sigv4::verify`.
    /// The chunk mode AWS's example request verifies to.
    fn mode_for(headers: &[(&str, &str)]) -> ChunkMode {
        let headers: Vec<(String, String)> = headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        let req = RequestParts {
            method: "PUT",
            raw_path: "/examplebucket/chunkObject.txt",
            raw_query: "",
            headers: &headers,
            host_bucket: None,
        };
        let creds = [Credentials { access_key: "AKIAIOSFODNN7EXAMPLE".to_owned(), secret_key: SK.to_owned() }];
        let verified = sigv4::verify(&req, &creds, NOW).unwrap();
        ChunkMode::from_payload(&verified.payload).unwrap()
    }

    fn example_mode() -> ChunkMode {
        let headers = [
            ("host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
                 SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
                 x-amz-decoded-content-length;x-amz-storage-class,\
                 Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
            ),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("content-length", "66824"),
        ];
        mode_for(&headers)
    }

    fn example_body() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(format!("10000;chunk-signature={CHUNK_1}\r\n").as_bytes());
        body.extend_from_slice(&[b'a'; 65_536]);
        body.extend_from_slice(format!("\r\n400;chunk-signature={CHUNK_2}\r\n").as_bytes());
        body.extend_from_slice(&[b'a'; 1_024]);
        body.extend_from_slice(format!("\r\n0;chunk-signature={CHUNK_LAST}\r\n\r\n").as_bytes());
        body
    }

    /// Feeds `body` in pieces of `piece` bytes; returns data and trailers.
    fn decode(
        mode: ChunkMode,
        expected: Option<u64>,
        body: &[u8],
        piece: usize,
    ) -> Result<(Vec<u8>, Trailers), ChunkError> {
        let mut decoder = AwsChunkedDecoder::new(mode, expected);
        let mut out = Vec::new();
        for part in body.chunks(piece.max(1)) {
            let used = decoder.feed(part, &mut out)?;
            assert_eq!(used, part.len(), "every byte belongs to the body");
        }
        let trailers = decoder.finish()?;
        Ok((out, trailers))
    }

    #[test]
    fn aws_example_signed_chunks() {
        let body = example_body();
        assert_eq!(body.len(), 66_824, "the published Content-Length");
        let (data, trailers) = decode(example_mode(), Some(66_560), &body, body.len()).unwrap();
        assert_eq!(data, vec![b'a'; 66_560]);
        assert!(trailers.is_empty());
    }

    #[test]
    fn aws_example_chunk_signatures_chain() {
        let mut signer = signer(SEED);
        let digest = |data: &[u8]| hex::encode(Sha256::digest(data));
        assert_eq!(signer.next_chunk_signature(&digest(&[b'a'; 65_536])), CHUNK_1);
        assert_eq!(signer.next_chunk_signature(&digest(&[b'a'; 1_024])), CHUNK_2);
        assert_eq!(signer.next_chunk_signature(EMPTY_SHA256_HEX), CHUNK_LAST);
    }

    #[test]
    fn byte_at_a_time_equals_one_shot() {
        let body = example_body();
        let whole = decode(example_mode(), Some(66_560), &body, body.len()).unwrap();
        for piece in [1, 2, 3, 7, 64, 4_095, 65_537] {
            assert_eq!(decode(example_mode(), Some(66_560), &body, piece).unwrap(), whole, "piece {piece}");
        }
    }

    #[test]
    fn verified_len_trails_the_data() {
        let body = example_body();
        let mut decoder = AwsChunkedDecoder::new(example_mode(), None);
        let mut out = Vec::new();
        // Up to the middle of the first chunk: data out, nothing verified.
        decoder.feed(&body[..1_000], &mut out).unwrap();
        assert_eq!(decoder.decoded_len(), out.len() as u64);
        assert!(!out.is_empty());
        assert_eq!(decoder.verified_len(), 0);
        decoder.feed(&body[1_000..66_000], &mut out).unwrap();
        assert_eq!(decoder.verified_len(), 65_536);
        decoder.feed(&body[66_000..], &mut out).unwrap();
        assert!(decoder.is_done());
        assert_eq!(decoder.verified_len(), 66_560);
        decoder.finish().unwrap();
    }

    #[test]
    fn bytes_after_the_end_are_not_consumed() {
        let mut body = example_body();
        let len = body.len();
        body.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let mut decoder = AwsChunkedDecoder::new(example_mode(), None);
        let mut out = Vec::new();
        assert_eq!(decoder.feed(&body, &mut out).unwrap(), len);
        assert_eq!(decoder.feed(b"more", &mut out).unwrap(), 0);
        assert_eq!(out.len(), 66_560);
        decoder.finish().unwrap();
    }

    #[test]
    fn tampered_chunks_fail_the_signature() {
        let mut body = example_body();
        let i = body.iter().position(|&b| b == b'a').unwrap() + 100;
        body[i] = b'b';
        assert_eq!(decode(example_mode(), None, &body, 8_192), Err(ChunkError::SignatureDoesNotMatch));
        // Chunks swapped or dropped break the chain too.
        let mut dropped = Vec::new();
        dropped.extend_from_slice(format!("400;chunk-signature={CHUNK_2}\r\n").as_bytes());
        dropped.extend_from_slice(&[b'a'; 1_024]);
        dropped.extend_from_slice(format!("\r\n0;chunk-signature={CHUNK_LAST}\r\n\r\n").as_bytes());
        assert_eq!(decode(example_mode(), None, &dropped, 100), Err(ChunkError::SignatureDoesNotMatch));
        // Stopping early with the final chunk of another chain.
        let mut truncated = Vec::new();
        truncated.extend_from_slice(format!("10000;chunk-signature={CHUNK_1}\r\n").as_bytes());
        truncated.extend_from_slice(&[b'a'; 65_536]);
        truncated.extend_from_slice(format!("\r\n0;chunk-signature={CHUNK_LAST}\r\n\r\n").as_bytes());
        assert_eq!(decode(example_mode(), None, &truncated, 100), Err(ChunkError::SignatureDoesNotMatch));
    }

    #[test]
    fn decoded_length_is_enforced() {
        let body = example_body();
        assert_eq!(decode(example_mode(), Some(66_559), &body, 4_096), Err(ChunkError::DecodedLengthMismatch));
        assert_eq!(decode(example_mode(), Some(66_561), &body, 4_096), Err(ChunkError::DecodedLengthMismatch));
    }

    #[test]
    fn truncated_bodies_are_incomplete() {
        let body = example_body();
        for cut in [0, 5, 90, 1_000, 65_626, 65_627, body.len() - 90] {
            assert_eq!(decode(example_mode(), None, &body[..cut], 4_096), Err(ChunkError::Incomplete), "cut at {cut}");
        }
        // Only the final empty line missing: accepted.
        decode(example_mode(), Some(66_560), &body[..body.len() - 2], 4_096).unwrap();
    }

    /// The AWS trailer example's request: its seed signature, through `sigv4::verify`.
    fn trailer_example_mode() -> ChunkMode {
        let headers = [
            ("host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
                 SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;\
                 x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,\
                 Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
            ),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("x-amz-trailer", "x-amz-checksum-crc32c"),
        ];
        let mode = mode_for(&headers);
        assert!(matches!(mode, ChunkMode::SignedTrailer(_)));
        mode
    }

    fn trailer_example_body(separator: &str, ending: &str) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(format!("10000;chunk-signature={TRAILER_CHUNK_1}\r\n").as_bytes());
        body.extend_from_slice(&[b'a'; 65_536]);
        body.extend_from_slice(format!("\r\n400;chunk-signature={TRAILER_CHUNK_2}\r\n").as_bytes());
        body.extend_from_slice(&[b'a'; 1_024]);
        body.extend_from_slice(
            format!(
                "\r\n0;chunk-signature={TRAILER_CHUNK_LAST}\r\n{separator}\
                 x-amz-checksum-crc32c:sOO8/Q==\r\n\
                 x-amz-trailer-signature:{TRAILER_SIGNATURE_VALUE}{ending}"
            )
            .as_bytes(),
        );
        body
    }

    #[test]
    fn aws_example_signed_trailer() {
        // With or without AWS's empty line before the trailers, with or
        // without the final line endings.
        for separator in ["", "\r\n"] {
            for ending in ["\r\n\r\n", "\r\n", ""] {
                let body = trailer_example_body(separator, ending);
                for piece in [1, 5, 4_096, body.len()] {
                    let mode = trailer_example_mode();
                    let (data, trailers) = decode(mode, Some(66_560), &body, piece)
                        .unwrap_or_else(|e| panic!("{separator:?} {ending:?} {piece}: {e}"));
                    assert_eq!(data.len(), 66_560);
                    assert_eq!(trailers, vec![("x-amz-checksum-crc32c".to_owned(), "sOO8/Q==".to_owned())]);
                    // The trailer value is the published crc32c of the data.
                    let mut hasher = ChecksumAlgo::Crc32c.hasher();
                    hasher.update(&data);
                    assert!(hasher.matches_base64(&trailers[0].1));
                }
            }
        }
    }

    #[test]
    fn signed_trailer_failures() {
        let good = String::from_utf8(trailer_example_body("", "\r\n\r\n")).unwrap();
        let mode = || ChunkMode::SignedTrailer(signer(TRAILER_SEED));
        let changed = good.replace("sOO8/Q==", "sOO8/Q=A");
        assert_eq!(decode(mode(), None, changed.as_bytes(), 4_096), Err(ChunkError::SignatureDoesNotMatch));
        let unsigned = good.replace(&format!("x-amz-trailer-signature:{TRAILER_SIGNATURE_VALUE}\r\n"), "");
        assert_eq!(
            decode(mode(), None, unsigned.as_bytes(), 4_096),
            Err(ChunkError::Malformed("missing x-amz-trailer-signature"))
        );
        let after = good.replace("\r\n\r\n", "\r\nx-amz-meta-a:b\r\n\r\n");
        assert!(matches!(decode(mode(), None, after.as_bytes(), 4_096), Err(ChunkError::Malformed(_))));
    }

    #[test]
    fn unsigned_trailer() {
        let body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
        for piece in 1..body.len() {
            let (data, trailers) = decode(ChunkMode::UnsignedTrailer, Some(5), body, piece).unwrap();
            assert_eq!(data, b"hello");
            assert_eq!(trailers, vec![("x-amz-checksum-crc32".to_owned(), "NhCmhg==".to_owned())]);
        }
        let mut hasher = ChecksumAlgo::Crc32.hasher();
        hasher.update(b"hello");
        assert_eq!(hasher.finalize_base64(), "NhCmhg==");
        // Bare LF line endings and several trailers; extensions ignored.
        let body = b"3;foo=bar\r\nabc\r\n0\r\nX-Amz-Checksum-Sha256 : x \nx-amz-meta-k:v\n\n";
        let (data, trailers) = decode(ChunkMode::UnsignedTrailer, None, body, 3).unwrap();
        assert_eq!(data, b"abc");
        assert_eq!(
            trailers,
            vec![("x-amz-checksum-sha256".to_owned(), "x".to_owned()), ("x-amz-meta-k".to_owned(), "v".to_owned())]
        );
        // No trailer at all.
        let (data, trailers) = decode(ChunkMode::Unsigned, None, b"0\r\n\r\n", 1).unwrap();
        assert!(data.is_empty() && trailers.is_empty());
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let sig = CHUNK_1;
        let empty_after_seed = signer(SEED).next_chunk_signature(EMPTY_SHA256_HEX);
        let cases: Vec<(ChunkMode, Vec<u8>)> = vec![
            (ChunkMode::Unsigned, b"zz\r\n".to_vec()),
            (ChunkMode::Unsigned, b"\r\n".to_vec()),
            (ChunkMode::Unsigned, b"-1\r\n".to_vec()),
            (ChunkMode::Unsigned, b" 5\r\nhello\r\n".to_vec()),
            (ChunkMode::Unsigned, b"5\nhello\r\n".to_vec()),
            (ChunkMode::Unsigned, b"5\r\nhelloXY".to_vec()),
            (ChunkMode::Unsigned, b"5\r\nhello\rX".to_vec()),
            (ChunkMode::Unsigned, b"10000000000000000\r\n".to_vec()),
            (ChunkMode::Unsigned, b"0\r\nno-colon\r\n\r\n".to_vec()),
            (ChunkMode::Unsigned, b"0\r\n:v\r\n\r\n".to_vec()),
            (ChunkMode::Unsigned, b"0\r\nna me:v\r\n\r\n".to_vec()),
            (ChunkMode::Unsigned, b"0\r\nname:\xff\r\n\r\n".to_vec()),
            (ChunkMode::Unsigned, [&b"1"[..], &[b'0'; 5_000], b"\r\n"].concat()),
            (ChunkMode::Unsigned, [&b"0\r\n"[..], &[b'x'; 20_000]].concat()),
            (ChunkMode::Unsigned, [&b"0\r\n"[..], &b"x-amz-meta-a:b\r\n".repeat(2_000)].concat()),
            (ChunkMode::Signed(signer(SEED)), b"5\r\nhello\r\n".to_vec()),
            (ChunkMode::Signed(signer(SEED)), b"5;chunk-signature=abc\r\n".to_vec()),
            (ChunkMode::Signed(signer(SEED)), format!("5;chunk-signature={}\r\n", &sig[..63]).into_bytes()),
            (ChunkMode::Signed(signer(SEED)), format!("5;chunk-sig={sig}\r\n").into_bytes()),
            (
                ChunkMode::Signed(signer(SEED)),
                format!("0;chunk-signature={empty_after_seed}\r\nx-amz-meta-a:b\r\n\r\n").into_bytes(),
            ),
        ];
        for (i, (mode, body)) in cases.into_iter().enumerate() {
            for piece in [1, 3, body.len()] {
                let result = decode(mode.clone(), None, &body, piece);
                assert!(matches!(result, Err(ChunkError::Malformed(_))), "case {i} piece {piece}: {result:?}");
            }
        }
    }

    #[test]
    fn a_failed_decoder_stays_failed() {
        let mut decoder = AwsChunkedDecoder::new(ChunkMode::Unsigned, None);
        let mut out = Vec::new();
        assert!(decoder.feed(b"zz\r\n", &mut out).is_err());
        assert!(decoder.feed(b"0\r\n\r\n", &mut out).is_err());
        assert!(decoder.finish().is_err());
    }

    #[test]
    fn largest_chunk_size_does_not_overflow() {
        let mut decoder = AwsChunkedDecoder::new(ChunkMode::Unsigned, None);
        let mut out = Vec::new();
        decoder.feed(b"ffffffffffffffff\r\nabc", &mut out).unwrap();
        assert_eq!(out, b"abc");
        assert_eq!(decoder.finish(), Err(ChunkError::Incomplete));
        let mut decoder = AwsChunkedDecoder::new(ChunkMode::Unsigned, Some(2));
        assert_eq!(decoder.feed(b"ffffffffffffffff\r\nabc", &mut out), Err(ChunkError::DecodedLengthMismatch));
    }

    #[test]
    fn checksum_algorithms() {
        for algo in ChecksumAlgo::ALL {
            assert_eq!(ChecksumAlgo::from_header_name(algo.header_name()), Some(algo));
            assert_eq!(ChecksumAlgo::from_algorithm_name(algo.algorithm_name()), Some(algo));
            assert_eq!(algo.hasher().finalize().len(), algo.digest_len());
        }
        assert_eq!(ChecksumAlgo::from_header_name("X-Amz-Checksum-CRC64NVME"), Some(ChecksumAlgo::Crc64Nvme));
        assert_eq!(ChecksumAlgo::from_algorithm_name("crc32c"), Some(ChecksumAlgo::Crc32c));
        assert_eq!(ChecksumAlgo::from_header_name("x-amz-checksum-md5"), None);
        assert_eq!(ChecksumAlgo::from_header_name("x-amz-trailer-signature"), None);

        let digest = |algo: ChecksumAlgo, data: &[u8]| {
            let mut hasher = algo.hasher();
            // In two pieces, to exercise the running state.
            let (a, b) = data.split_at(data.len() / 2);
            hasher.update(a);
            hasher.update(b);
            hex::encode(hasher.finalize())
        };
        // Check values of the catalogue of CRC parameters ("123456789").
        assert_eq!(digest(ChecksumAlgo::Crc32, b"123456789"), "cbf43926");
        assert_eq!(digest(ChecksumAlgo::Crc32c, b"123456789"), "e3069283");
        assert_eq!(digest(ChecksumAlgo::Crc64Nvme, b"123456789"), "ae8b14860a799888");
        assert_eq!(digest(ChecksumAlgo::Sha1, b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            digest(ChecksumAlgo::Sha256, b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut hasher = ChecksumAlgo::Sha256.hasher();
        hasher.update(b"abc");
        assert_eq!(hasher.finalize_base64(), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    }
}
