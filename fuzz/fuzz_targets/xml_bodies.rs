//! The XML request bodies: DeleteObjects, CompleteMultipartUpload,
//! Put{Object,Bucket}Tagging, PutBucketCors, CreateBucket. The first byte
//! picks the parser, the rest is the body.
//!
//! Properties: the parsers stay inside their limits (object, part, tag and
//! rule counts); what a parser accepts, our writer writes back to a body the
//! parser reads as the same thing (tags and CORS rules are stored as parsed
//! and served with the writer, so a client reads back what it put).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratum_http::xml::{
    cors_configuration, parse_complete_multipart_upload, parse_cors, parse_create_bucket, parse_delete_objects,
    parse_tagging, parse_tagging_max, tagging, MAX_BUCKET_TAGS, MAX_CORS_RULES, MAX_DELETE_OBJECTS, MAX_OBJECT_TAGS,
    MAX_PARTS,
};

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    match which % 6 {
        0 => {
            if let Ok(req) = parse_delete_objects(body) {
                assert!(!req.objects.is_empty() && req.objects.len() <= MAX_DELETE_OBJECTS);
                assert!(req.objects.iter().all(|o| o.version_id.as_deref() != Some("")));
            }
        }
        1 => {
            if let Ok(parts) = parse_complete_multipart_upload(body) {
                assert!(!parts.is_empty() && parts.len() <= MAX_PARTS);
            }
        }
        2 => tags_round_trip(body, MAX_OBJECT_TAGS),
        3 => tags_round_trip(body, MAX_BUCKET_TAGS),
        4 => {
            if let Ok(rules) = parse_cors(body) {
                assert!(!rules.is_empty() && rules.len() <= MAX_CORS_RULES);
                let written = cors_configuration(&rules);
                match parse_cors(&written) {
                    Ok(again) => assert_eq!(again, rules, "CORS rules changed through the writer"),
                    Err(e) => panic!("our own CORS document is refused: {e}"),
                }
            }
        }
        _ => {
            if let Ok(Some(location)) = parse_create_bucket(body) {
                assert!(!location.is_empty());
            }
        }
    }
});

fn tags_round_trip(body: &[u8], max_tags: usize) {
    let parsed = if max_tags == MAX_OBJECT_TAGS { parse_tagging(body) } else { parse_tagging_max(body, max_tags) };
    let Ok(tags) = parsed else { return };
    assert!(tags.len() <= max_tags);
    let written = tagging(&tags);
    match parse_tagging_max(&written, max_tags) {
        Ok(again) => assert_eq!(again, tags, "tags changed through the writer"),
        Err(e) => panic!("our own Tagging document is refused: {e}"),
    }
}
