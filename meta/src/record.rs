//! The records stored in a partition. Each value is one format byte followed
//! by the postcard encoding, so later formats can be told apart.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::MetaError;

const FORMAT_V1: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRecord {
    pub name: String,
    pub created_ms: i64,
    /// The bucket's CORS rules (empty: no CORS configuration).
    pub cors: Vec<CorsRule>,
}

/// One CORS rule, as PutBucketCors gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    pub id: Option<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<u32>,
}

/// Where a volume lives: the core slice that wrote it and its id there.
/// Only the engine knows how that maps to files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRef {
    pub slice: u16,
    pub id: u64,
    pub block_size: u32,
}

/// One stretch of an object's body: a whole volume (the body of a simple
/// PUT, or one multipart part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub volume: VolumeRef,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    pub size: u64,
    /// MD5 hex, or MD5-of-MD5s hex with `-N` for multipart; no quotes.
    pub etag: String,
    pub modified_ms: i64,
    pub content_type: String,
    /// Stored response headers (cache-control, content-disposition, ...).
    pub headers: Vec<(String, String)>,
    /// `x-amz-meta-*` entries, names lowercased without the prefix.
    pub user_meta: Vec<(String, String)>,
    pub segments: Vec<Segment>,
    /// Object tags (PutObjectTagging, x-amz-tagging).
    pub tags: Vec<(String, String)>,
    /// The checksum the client sent: algorithm name (e.g. "CRC32") and base64 value.
    pub checksum: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub initiated_ms: i64,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub user_meta: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    /// The checksum algorithm announced at CreateMultipartUpload, if any.
    pub checksum_algorithm: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    pub part_number: u32,
    /// MD5 hex, no quotes.
    pub etag: String,
    pub size: u64,
    pub modified_ms: i64,
    pub volume: VolumeRef,
    /// The part's checksum as the client sent it (base64), if any.
    pub checksum: Option<String>,
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, MetaError> {
    let mut out = vec![FORMAT_V1];
    let body = postcard::to_stdvec(value).map_err(|e| MetaError::Corrupt(e.to_string()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MetaError> {
    match bytes.split_first() {
        Some((&FORMAT_V1, body)) => postcard::from_bytes(body).map_err(|e| MetaError::Corrupt(e.to_string())),
        Some((format, _)) => Err(MetaError::Corrupt(format!("unknown record format {format}"))),
        None => Err(MetaError::Corrupt("empty record".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_record_round_trips() {
        let rec = ObjectRecord {
            size: 5,
            etag: "abc".into(),
            modified_ms: 1,
            content_type: "video/mp4".into(),
            headers: vec![("cache-control".into(), "no-cache".into())],
            user_meta: vec![("a".into(), "\u{e9}".into())],
            segments: vec![Segment { volume: VolumeRef { slice: 1, id: 7, block_size: 65536 }, size: 5 }],
            tags: vec![("k".into(), "v".into())],
            checksum: Some(("CRC32".into(), "AAAAAA==".into())),
        };
        let bytes = encode(&rec).expect("encodes");
        assert_eq!(decode::<ObjectRecord>(&bytes).expect("decodes"), rec);
    }

    #[test]
    fn unknown_format_is_an_error_not_garbage() {
        assert!(matches!(decode::<BucketRecord>(&[9, 1, 2]), Err(MetaError::Corrupt(_))));
        assert!(matches!(decode::<BucketRecord>(&[]), Err(MetaError::Corrupt(_))));
        assert!(matches!(decode::<BucketRecord>(&[1, 200]), Err(MetaError::Corrupt(_))));
    }
}
