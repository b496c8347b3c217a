//! The aws-chunked body decoder (`AwsChunkedDecoder`), in all four modes.
//!
//! Input: a control byte (bits 0-1: mode; bit 2: declare the decoded
//! length; bit 3: round trip), a byte choosing piece sizes, then the body.
//!
//! Properties: fed in pieces of any size, the decoder gives the same data,
//! consumption and verdict as fed at once; it never yields more data than it
//! consumed, nor data past a declared length; in signed modes only verified
//! bytes are reported as such. Round trip: data we encode and sign as a
//! client would decodes to exactly that data and its trailer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use stratum_http::aws_chunked::{AwsChunkedDecoder, ChunkError, ChunkMode, Trailers};
use stratum_http::sigv4::{signing_key, ChunkSigner};

const AMZ_DATE: &str = "20130524T000000Z";
const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";
const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

fn signer() -> ChunkSigner {
    let key = signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");
    ChunkSigner::new(key, AMZ_DATE, SCOPE, SEED)
}

fn mode(bits: u8) -> ChunkMode {
    match bits & 3 {
        0 => ChunkMode::Unsigned,
        1 => ChunkMode::UnsignedTrailer,
        2 => ChunkMode::Signed(signer()),
        _ => ChunkMode::SignedTrailer(signer()),
    }
}

/// What a decode came to: data, bytes consumed, and the verdict.
#[derive(Debug, PartialEq)]
struct Outcome {
    data: Vec<u8>,
    consumed: usize,
    result: Result<Trailers, ChunkError>,
}

fn decode(control: u8, body: &[u8], piece: usize, declared: Option<u64>) -> Outcome {
    let mut decoder = AwsChunkedDecoder::new(mode(control), declared);
    let mut data = Vec::new();
    let mut consumed = 0;
    for chunk in body.chunks(piece.max(1)) {
        let before = data.len();
        match decoder.feed(chunk, &mut data) {
            Ok(used) => {
                assert!(used <= chunk.len());
                assert!(data.len() - before <= used, "more data out than bytes in");
                assert!(used == chunk.len() || decoder.is_done(), "stopped early without ending");
                consumed += used;
                assert_eq!(decoder.decoded_len(), data.len() as u64);
                assert!(decoder.verified_len() <= decoder.decoded_len());
                if let Some(max) = declared {
                    assert!(data.len() as u64 <= max, "data past the declared length");
                }
                if used < chunk.len() {
                    break;
                }
            }
            Err(e) => return Outcome { data, consumed, result: Err(e) },
        }
    }
    let verified = decoder.verified_len();
    let result = decoder.finish();
    if result.is_ok() {
        assert!(data.len() <= consumed);
        assert_eq!(verified, data.len() as u64, "a complete body with unverified bytes");
        assert!(data.len() < consumed, "the encoding has no overhead");
    }
    Outcome { data, consumed, result }
}

fuzz_target!(|input: &[u8]| {
    let [control, piece, body @ ..] = input else { return };
    if control & 8 != 0 {
        round_trip(*control, *piece, body);
        return;
    }
    let declared = (control & 4 != 0).then_some(u64::from(*piece) * 3);
    let whole = decode(*control, body, body.len(), declared);
    let pieces = decode(*control, body, usize::from(*piece % 17) + 1, declared);
    // Where the pieces end must not matter. Only on an error may the data
    // given out differ (a piece is refused whole, and the caller discards
    // everything on an error): then one is a prefix of the other.
    assert_eq!(whole.result, pieces.result, "piece size changed the verdict");
    if whole.result.is_ok() {
        assert_eq!((&whole.data, whole.consumed), (&pieces.data, pieces.consumed), "piece size changed the data");
    } else {
        let n = whole.data.len().min(pieces.data.len());
        assert_eq!(whole.data[..n], pieces.data[..n], "piece size changed the data");
    }
});

/// Encodes `data` as a client would, in chunks of `piece` bytes (signed
/// when the mode is), with a checksum trailer in trailer modes.
fn round_trip(control: u8, piece: u8, data: &[u8]) {
    // One HMAC per chunk: bound the chunks per input to keep the rate up.
    let data = &data[..data.len().min(2048)];
    let size = usize::from(piece).max(1);
    let mut signer = signer();
    let signed = control & 2 != 0;
    let trailer = control & 1 != 0;
    let mut body = Vec::new();
    let ext = |signer: &mut ChunkSigner, chunk: &[u8]| {
        if signed {
            format!(";chunk-signature={}", signer.next_chunk_signature(&hex::encode(Sha256::digest(chunk))))
        } else {
            String::new()
        }
    };
    for chunk in data.chunks(size) {
        body.extend_from_slice(format!("{:x}{}\r\n", chunk.len(), ext(&mut signer, chunk)).as_bytes());
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("0{}\r\n", ext(&mut signer, b"")).as_bytes());
    let trailers = if trailer {
        let value = hex::encode(&Sha256::digest(data)[..4]);
        body.extend_from_slice(format!("x-amz-checksum-crc32:{value}\r\n").as_bytes());
        if signed {
            let canonical = format!("x-amz-checksum-crc32:{value}\n");
            let sig = signer.trailer_signature(&hex::encode(Sha256::digest(canonical.as_bytes())));
            body.extend_from_slice(format!("x-amz-trailer-signature:{sig}\r\n").as_bytes());
        }
        vec![("x-amz-checksum-crc32".to_owned(), value)]
    } else {
        vec![]
    };
    body.extend_from_slice(b"\r\n");
    let declared = (control & 4 != 0).then_some(data.len() as u64);
    let out = decode(control, &body, usize::from(piece % 13) + 1, declared);
    assert_eq!(out.result, Ok(trailers), "our own encoding is refused");
    assert_eq!(out.data, data);
    assert_eq!(out.consumed, body.len());
}
