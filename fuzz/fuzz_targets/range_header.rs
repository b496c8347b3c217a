//! The Range header of a GET (`range::parse`, `range::resolve`).
//!
//! Input: 8 bytes of object size (little-endian; short inputs pad with
//! zeros), then the header value. Properties: a range that parses resolves
//! inside the object, to the bytes it names; an unsatisfiable one is
//! exactly one whose start lies at or past the end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratum_http::range::{parse, resolve, RangeSpec};

fuzz_target!(|data: &[u8]| {
    let (size_bytes, header) = data.split_at(data.len().min(8));
    let mut size = [0u8; 8];
    size[..size_bytes.len()].copy_from_slice(size_bytes);
    // Half the time a small object, so ranges often overlap its end.
    let size = match u64::from_le_bytes(size) {
        s if s & 1 == 0 => (s >> 1) % 4096,
        s => s >> 1,
    };
    let Ok(header) = std::str::from_utf8(header) else { return };
    let Some(spec) = parse(header) else { return };
    if let RangeSpec::From { first, last: Some(last) } = spec {
        assert!(first <= last, "{header:?} parsed to a backwards range");
    }
    let resolved = resolve(spec, size);
    match (spec, resolved) {
        (_, Some((start, end))) => {
            assert!(start < end && end <= size, "{header:?} on {size} bytes gave [{start}, {end})");
            match spec {
                RangeSpec::From { first, last } => {
                    assert_eq!(start, first);
                    assert_eq!(end, last.map_or(size, |l| l.saturating_add(1).min(size)));
                }
                RangeSpec::Suffix(n) => assert_eq!(end - start, n.min(size)),
            }
        }
        (RangeSpec::From { first, .. }, None) => assert!(first >= size, "{header:?} refused on {size} bytes"),
        (RangeSpec::Suffix(n), None) => assert!(n == 0 || size == 0, "{header:?} refused on {size} bytes"),
    }
});
