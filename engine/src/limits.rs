//! Limits and sizes of the engine, with their relations checked at compile time.

/// The checksum unit: small enough that a 64 KiB range read touches at most
/// two blocks, large enough that the crc table is 1/16384 of the data.
pub const BLOCK_SIZE_BYTES: u32 = 64 * 1024;
/// The crc32c unit inside a block: a range read fetches and checks only the
/// 4 KiB sectors it covers (a 64 KiB range reads 68 KiB, not two blocks).
pub const SECTOR_BYTES: u64 = 4096;
/// O_DIRECT alignment of every file offset and write length.
pub const ALIGN_BYTES: u64 = 4096;
/// The shard file header occupies the first aligned page.
pub const HEADER_BYTES: u64 = ALIGN_BYTES;
/// Write buffer per shard file (four blocks: a 6+2 PUT holds 2 MiB).
pub const SHARD_BUFFER_BYTES: usize = 256 * 1024;
/// Object bytes per chunk when streaming a body out.
pub const READ_CHUNK_BYTES: u64 = 1024 * 1024;
/// Bodies up to this size live inside their metadata record: one durable
/// write, no shard files. It is also at most one stripe of any scheme.
pub const INLINE_MAX_BYTES: usize = 64 * 1024;

/// Free space the metadata disk keeps for the metadata store, at most: an
/// eighth of smaller filesystems. fjall refuses every write after one that
/// met ENOSPC (until a restart), so new records and shards stop short of it.
pub const METADATA_RESERVE_BYTES: u64 = 1 << 30;

/// Default background scrub rate per core, and the pause before each pass.
pub const SCRUB_BYTES_PER_SEC: u64 = 32 * 1024 * 1024;
pub const SCRUB_INTERVAL: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Abandoned multipart uploads are aborted after this (S3 lifecycle's usual 7 days).
pub const MULTIPART_EXPIRY: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Reads waiting on a core to be told to their objects' deciding cores;
/// past it reads are dropped (statistics only) and counted.
pub const AUTOTIER_READS_QUEUED_MAX: usize = 65_536;
/// Reads the owner takes in between two yields of its core (~1 ms).
pub const AUTOTIER_READS_STEP: usize = 512;
/// How often they are told.
pub const AUTOTIER_READS_ROUND: std::time::Duration = std::time::Duration::from_millis(200);
/// How often each core writes the statistics that changed.
pub const AUTOTIER_KEEP_ROUND: std::time::Duration = std::time::Duration::from_secs(30);
/// Statistics written per batch (a yield between batches).
pub const AUTOTIER_KEEP_STEP: usize = 4096;
/// Objects the sweep looks at between two yields of the core (~2 ms).
pub const AUTOTIER_SWEEP_STEP: usize = 4096;
/// Objects read from metadata per step of the start-up scan.
pub const AUTOTIER_SCAN_PAGE: usize = 1024;

/// How long a freed volume's files outlive the commit that freed them.
pub const FREE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Freed shard files kept per core slice of a disk for new shards to
/// overwrite (sparing the filesystem an inode and a block allocation per
/// shard): their bytes at most, and the largest file kept. Enough for
/// about a second of 1 MiB PUTs on a core between two removal rounds.
pub const FREE_BYTES_PER_SLICE: u64 = 512 * 1024 * 1024;
pub const FREE_FILE_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// How often freed volumes past their grace period are removed (or kept
/// for reuse): often, so a few files' worth of reuse covers the gaps.
pub const FREE_ROUND: std::time::Duration = std::time::Duration::from_millis(100);
/// A kept file not reused within this long is unlinked: deletes give their
/// space back to the filesystem seconds after their grace period.
pub const FREE_KEEP: std::time::Duration = std::time::Duration::from_secs(3);

const _: () = assert!((SHARD_BUFFER_BYTES as u64).is_multiple_of(ALIGN_BYTES));
const _: () = assert!((BLOCK_SIZE_BYTES as u64).is_multiple_of(ALIGN_BYTES));
const _: () = assert!((BLOCK_SIZE_BYTES as u64).is_multiple_of(SECTOR_BYTES));
const _: () = assert!(SECTOR_BYTES.is_multiple_of(ALIGN_BYTES));
const _: () = assert!(INLINE_MAX_BYTES <= BLOCK_SIZE_BYTES as usize);
