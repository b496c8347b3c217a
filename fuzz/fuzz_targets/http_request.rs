//! The request head parser and framing checks (`frame_request`): what the
//! server does with the bytes of a request before authentication.
//!
//! Properties: a request it accepts has no Transfer-Encoding, and every
//! Content-Length it carries is the same run of digits, the body length;
//! every strict prefix of an accepted head is "incomplete", never an error
//! (a head split across reads must not be refused); the parse depends on the
//! head's bytes only, not on what follows it (pipelining).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratum_http::limits::KEY_SIZE_MAX_BYTES;
use stratum_http::{frame_request, FramedRequest, Wire};

fuzz_target!(|data: &[u8]| {
    let domains = ["s3.example.com".to_owned()];
    let Ok(Some(framed)) = frame_request(data, &domains) else { return };
    check_framing(&framed);
    let req = &framed.request;
    assert!(framed.head_len <= data.len());
    if let Some(key) = &req.key {
        assert!(key.len() <= KEY_SIZE_MAX_BYTES && !key.contains('\0'), "key {key:?} accepted");
    }

    // The head alone parses the same as the head with what followed it.
    let head = &data[..framed.head_len];
    let alone = match frame_request(head, &domains) {
        Ok(Some(f)) => f,
        other => panic!("the head alone gave {other:?}"),
    };
    assert_eq!(alone.head_len, framed.head_len);
    assert_eq!(alone.body, framed.body);
    assert_eq!((&alone.request.bucket, &alone.request.key), (&req.bucket, &req.key));
    assert_eq!(alone.request.query, req.query);

    // Any strict prefix is incomplete; check a few cut points.
    for cut in [framed.head_len - 1, framed.head_len / 2, framed.head_len / 3] {
        if let Ok(Some(_)) | Err(_) = frame_request(&head[..cut], &domains) {
            panic!("a head cut at {cut} of {} was not incomplete", framed.head_len);
        }
    }
});

fn check_framing(framed: &FramedRequest) {
    let headers = &framed.request.head.headers;
    let encodings: Vec<&str> =
        headers.iter().filter(|(n, _)| n == "transfer-encoding").map(|(_, v)| v.as_str()).collect();
    if framed.body == Wire::Chunked {
        // Only plain chunked, alone, around a declared aws-chunked body.
        assert!(matches!(encodings.as_slice(), [one] if one.trim().eq_ignore_ascii_case("chunked")), "{encodings:?}");
        assert!(!headers.iter().any(|(n, _)| n == "content-length"), "Transfer-Encoding with Content-Length");
        assert!(headers.iter().any(|(n, _)| n == "x-amz-decoded-content-length"));
        return;
    }
    assert!(encodings.is_empty(), "a request with Transfer-Encoding was framed by length");
    for (_, value) in headers.iter().filter(|(n, _)| n == "content-length") {
        let digits = value.trim();
        assert!(!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()), "Content-Length {value:?} accepted");
        assert_eq!(digits.parse::<u64>().ok().map(Wire::Length), Some(framed.body), "Content-Length {value:?}");
    }
    if !headers.iter().any(|(n, _)| n == "content-length") {
        assert_eq!(framed.body, Wire::Length(0));
    }
}
