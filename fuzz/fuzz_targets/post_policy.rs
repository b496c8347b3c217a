//! A POST form's policy, part heads and boundary (`post_policy`).
//!
//! Input: one byte choosing what is read, then the text. Properties: no
//! panic; a parsed policy's length range runs upwards; a part head that
//! parses has a name that came from the input.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use stratum_http::post_policy::{boundary, part_head, Policy};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    match which % 3 {
        0 => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            // As sent (base64) and as the JSON the client wrote.
            for policy in [text.to_owned(), base64::engine::general_purpose::STANDARD.encode(rest)] {
                if let Ok(p) = Policy::parse(&policy) {
                    if let Some((min, max)) = p.length_range() {
                        assert!(min <= max);
                    }
                    let fields = vec![("key".to_owned(), text.to_owned()), ("policy".to_owned(), policy.clone())];
                    let _ = p.check("bucket", &fields, 0);
                    let _ = p.check(text, &fields, i64::MAX);
                }
            }
        }
        1 => {
            if let Some(head) = part_head(rest) {
                let text = String::from_utf8_lossy(rest);
                assert!(text.contains(head.name.as_str()));
            }
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            if let Some(b) = boundary(text) {
                assert!((1..=70).contains(&b.len()));
            }
        }
    }
});
