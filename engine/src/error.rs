use stratum_meta::MetaError;
use thiserror::Error;

/// Errors of the storage engine. "The request failed" (a client's mistake, a
/// missing thing) is told apart from "the disk is broken" (`Io`, `Corrupt`).
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("no such bucket")]
    NoSuchBucket,
    #[error("no such key")]
    NoSuchKey,
    #[error("bucket already exists")]
    BucketAlreadyOwnedByYou,
    #[error("bucket is not empty")]
    BucketNotEmpty,
    #[error("no such upload")]
    NoSuchUpload,
    #[error("invalid part {0}")]
    InvalidPart(u32),
    #[error("parts not in ascending order")]
    InvalidPartOrder,
    #[error("part {0} too small")]
    EntityTooSmall(u32),
    #[error("disk I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("volume {volume} block {block}: checksum mismatch")]
    Corrupt { volume: String, block: u64 },
    #[error("metadata: {0}")]
    Meta(MetaError),
    #[error("the object changed while the operation ran")]
    Conflict,
    #[error("not enough healthy disks in the tier for its erasure scheme")]
    InsufficientDisks,
    /// An admin request about a disk that cannot be done (unknown id, a
    /// directory that still holds data).
    #[error("{0}")]
    InvalidDisk(String),
    #[error("core {0} is not answering")]
    CoreUnavailable(usize),
    /// A metadata group failed after its ops were applied (its fsync): each
    /// may or may not be durable, and may already be visible. Volumes it
    /// references must stay (an unreferenced one is an orphan the next
    /// start removes; a removed referenced one is a lost object).
    #[error("metadata commit failed, durability unknown: {0}")]
    DurabilityUnknown(String),
}

impl EngineError {
    /// Whether the op that failed may still be applied (and visible, and
    /// durable after a restart): its volumes must then be kept.
    pub fn may_be_applied(&self) -> bool {
        matches!(self, EngineError::DurabilityUnknown(_))
    }
}

impl From<MetaError> for EngineError {
    fn from(e: MetaError) -> Self {
        match e {
            MetaError::NoSuchBucket => EngineError::NoSuchBucket,
            MetaError::BucketExists => EngineError::BucketAlreadyOwnedByYou,
            MetaError::BucketNotEmpty => EngineError::BucketNotEmpty,
            MetaError::NoSuchUpload => EngineError::NoSuchUpload,
            MetaError::NoSuchKey => EngineError::NoSuchKey,
            MetaError::Conflict => EngineError::Conflict,
            MetaError::InvalidPart(n) => EngineError::InvalidPart(n),
            MetaError::InvalidPartOrder => EngineError::InvalidPartOrder,
            MetaError::EntityTooSmall(n) => EngineError::EntityTooSmall(n),
            other => EngineError::Meta(other),
        }
    }
}

impl<T> From<glommio::GlommioError<T>> for EngineError {
    fn from(e: glommio::GlommioError<T>) -> Self {
        EngineError::Io(e.into())
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
