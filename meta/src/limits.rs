//! Limits of the metadata layer.

/// S3's minimum size of every part but the last.
pub const PART_SIZE_MIN_BYTES: u64 = 5 * 1024 * 1024;
/// S3's maximum number of parts in one upload.
pub const PART_COUNT_MAX: u32 = 10_000;
/// Upload ids are 128 random bits in lowercase hex.
pub const UPLOAD_ID_LEN: usize = 32;

const _: () = assert!(PART_SIZE_MIN_BYTES > 0);
