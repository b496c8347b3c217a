//! stratum-meta: the metadata of one Stratum node, kept in fjall.
//!
//! A node's metadata is split into a fixed number of *partitions*, one fjall
//! database each, chosen at first start. A partition holds the buckets whose
//! name hashes to it and the objects, multipart uploads and parts whose
//! `(bucket, key)` hashes to it. The core that owns a partition is its only
//! writer; it applies [`Op`]s in groups and makes each group durable with one
//! fsync ([`Partition::apply_group`]).
//!
//! It is not: a file store (volumes are opaque [`VolumeRef`]s here), a network
//! service, or async: every call blocks, and the engine decides on which thread.
//!
//! ```no_run
//! use stratum_meta::{Partition, Op, BucketRecord};
//! let p = Partition::open("/tmp/meta-p0".as_ref())?;
//! let results = p.apply_group(vec![Op::CreateBucket(BucketRecord { name: "media".into(), created_ms: 0, cors: vec![] })])?;
//! assert!(results[0].is_ok());
//! # Ok::<(), stratum_meta::MetaError>(())
//! ```

mod composite;
mod error;
mod keys;
pub mod limits;
pub mod listing;
mod partition;
mod record;

pub use error::MetaError;
pub use keys::{object_key, partition_of_bucket, partition_of_object, split_object_key};
pub use listing::{ListEntry, ListPage, UploadEntry};
pub use partition::{AccessEntry, AccessUpdate, Applied, Op, Partition};
pub use record::{
    storage_class, BucketRecord, CorsRule, ObjectRecord, PartRecord, Segment, SegmentBody, UploadRecord, VolumeRef,
    STORAGE_CLASS_HEADER,
};
