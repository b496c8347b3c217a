use thiserror::Error;

/// Everything that can go wrong in the metadata layer. Variants that a client
/// can cause carry what the HTTP layer needs to name the S3 error.
#[derive(Debug, Error)]
pub enum MetaError {
    #[error("metadata store: {0}")]
    Store(#[from] fjall::Error),
    #[error("{0} is in use by another process (another stratum serving the same data?)")]
    InUse(String),
    #[error("corrupt metadata record: {0}")]
    Corrupt(String),
    #[error("no such bucket")]
    NoSuchBucket,
    #[error("bucket already exists")]
    BucketExists,
    #[error("bucket is not empty")]
    BucketNotEmpty,
    #[error("the object changed while the operation ran")]
    Conflict,
    #[error("no such key")]
    NoSuchKey,
    #[error("no such upload")]
    NoSuchUpload,
    #[error("part {0} was not uploaded or its ETag does not match")]
    InvalidPart(u32),
    #[error("parts must be listed in ascending order")]
    InvalidPartOrder,
    #[error("part {0} is smaller than the minimum part size")]
    EntityTooSmall(u32),
}
