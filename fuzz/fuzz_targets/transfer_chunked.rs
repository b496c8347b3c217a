//! The Transfer-Encoding: chunked decoder (`ChunkedDecoder`).
//!
//! Input: a byte choosing piece sizes, then the wire bytes.
//!
//! Properties: fed in pieces of any size, it gives the same data,
//! consumption and verdict as fed at once; it never yields more data than it
//! consumed, and takes nothing past the end of the body. Round trip: data
//! framed in chunks of the sizes the input picks decodes to exactly that
//! data, and the bytes after the body are left untouched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratum_http::transfer_chunked::{ChunkedDecoder, ChunkedError};

#[derive(Debug, PartialEq)]
struct Outcome {
    data: Vec<u8>,
    consumed: usize,
    done: bool,
    error: Option<ChunkedError>,
}

fn decode(wire: &[u8], piece: usize) -> Outcome {
    let mut decoder = ChunkedDecoder::new();
    let mut data = Vec::new();
    let mut consumed = 0;
    for chunk in wire.chunks(piece.max(1)) {
        let before = data.len();
        match decoder.feed(chunk, &mut data) {
            Ok(used) => {
                assert!(used <= chunk.len());
                assert!(data.len() - before <= used, "more data out than bytes in");
                assert!(used == chunk.len() || decoder.is_done(), "stopped early without ending");
                consumed += used;
                if decoder.is_done() {
                    break;
                }
            }
            Err(e) => return Outcome { data, consumed, done: false, error: Some(e) },
        }
    }
    Outcome { data, consumed, done: decoder.is_done(), error: None }
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, wire)) = input.split_first() else { return };
    let whole = decode(wire, wire.len());
    let pieces = decode(wire, usize::from(control % 17) + 1);
    match (&whole.error, &pieces.error) {
        (None, None) => assert_eq!(whole, pieces),
        // Fed in pieces it may fail before reading as far; the same error.
        (Some(a), Some(b)) => assert_eq!(a, b),
        _ => panic!("whole {whole:?} vs pieces {pieces:?}"),
    }

    // Round trip: the input's bytes as data, in chunks of 1..=64 bytes
    // chosen by the control byte, then a next request.
    let mut framed = Vec::new();
    let mut sizes = wire.iter().cycle().map(|b| usize::from(b % 64) + 1);
    let mut rest = wire;
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(1).min(rest.len());
        framed.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        framed.extend_from_slice(&rest[..n]);
        framed.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    framed.extend_from_slice(b"0\r\n\r\n");
    let body_len = framed.len();
    framed.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    let out = decode(&framed, usize::from(control % 23) + 1);
    assert_eq!(out.error, None);
    assert!(out.done);
    assert_eq!(out.data, wire);
    assert_eq!(out.consumed, body_len, "the next request was taken");
});
