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

/// Where a volume lives and how it is laid out: the core slice that wrote
/// it, its id there, its erasure scheme (`data_shards + parity_shards`), its
/// block size, and the disk holding each shard. Only the engine knows how
/// that maps to files; the layout is stored per volume so a change of config
/// never strands old objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRef {
    pub slice: u16,
    pub id: u64,
    pub block_size: u32,
    pub data_shards: u8,
    pub parity_shards: u8,
    /// Disk id of shard `i` (data shards first, then parity).
    pub disks: Vec<u32>,
    /// The tier the volume was written to (0 hot, 1 warm, 2 cold).
    pub tier: u8,
}

/// The bytes of one segment: shard files, or (below the inline threshold)
/// the bytes themselves inside the record, with their crc32c.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SegmentBody {
    Volume(VolumeRef),
    /// `serde_bytes`: decoded in one copy, not byte by byte (same encoding).
    Inline {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        crc32c: u32,
    },
}

impl SegmentBody {
    pub fn volume(&self) -> Option<&VolumeRef> {
        match self {
            SegmentBody::Volume(v) => Some(v),
            SegmentBody::Inline { .. } => None,
        }
    }
}

/// The stored header naming an object's (or upload's) S3 storage class,
/// kept in `headers` only when it is not STANDARD (as S3 answers it).
pub const STORAGE_CLASS_HEADER: &str = "x-amz-storage-class";

/// The storage class among stored headers; `None` is STANDARD.
pub fn storage_class(headers: &[(String, String)]) -> Option<&str> {
    headers.iter().find(|(k, _)| k == STORAGE_CLASS_HEADER).map(|(_, v)| v.as_str())
}

/// One stretch of an object's body: the body of a simple PUT, or one
/// multipart part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub size: u64,
    pub body: SegmentBody,
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
    pub body: SegmentBody,
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
            segments: vec![
                Segment {
                    size: 5,
                    body: SegmentBody::Volume(VolumeRef {
                        slice: 1,
                        id: 7,
                        block_size: 65536,
                        data_shards: 2,
                        parity_shards: 1,
                        disks: vec![3, 1, 2],
                        tier: 0,
                    }),
                },
                Segment { size: 2, body: SegmentBody::Inline { bytes: vec![1, 2], crc32c: 9 } },
            ],
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
