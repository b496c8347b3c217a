//! stratum-engine: the per-core storage engine of a Stratum node.
//!
//! Each core owns a [`Store`]: its slice of the data directory (where the
//! bodies it receives are written as checksummed shard files, see
//! `engine/FORMAT.md`) and the metadata partitions it decides for. Calls for
//! another core's partition travel through the [`mesh`] of glommio channels.
//! A write is acknowledged only after its shard file and its metadata are
//! durable; a read hands out only bytes whose block crc32c matched.
//!
//! It is not: HTTP or S3 (that is `stratum-http`), nor a thread pool: a
//! `Store` is `!Send` and lives on its core's glommio executor.
//!
//! ```ignore
//! let node = Node::open(&NodeConfig::single("./data".as_ref(), cores))?; // once, on the main thread
//! let store = Store::new(node.clone(), core);                // on each core
//! store.join_mesh(mesh_ends).await;
//! let mut volume = store.new_volume()?;
//! volume.write(&body).await?;
//! store.put_object("bucket", "key", record, volume.seal().await?).await?;
//! ```

pub mod autotier;
pub mod cache;
mod commit;
pub mod disk;
pub mod error;
pub mod hashing;
pub mod io;
pub mod layout;
pub mod limits;
pub mod mesh;
pub mod mover;
mod node;
mod orphans;
mod reader;
pub mod scrub;
pub mod shard;
mod store;
pub mod tier;
pub mod volume;

pub use autotier::{AutoTierConfig, Why};
pub use commit::remove_volumes;
pub use error::{EngineError, Result};
pub use node::{Node, NodeConfig};
pub use reader::ObjectReader;
pub use store::{ListRequest, Store};
pub use stratum_meta::{
    BucketRecord, CorsRule, ListEntry, ListPage, ObjectRecord, PartRecord, UploadEntry, UploadRecord,
};
pub use tier::{Scheme, Tier, TierConfig};
pub use volume::{SealedVolume, VolumeWriter};
