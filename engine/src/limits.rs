//! Limits and sizes of the engine, with their relations checked at compile time.

/// The checksum unit: small enough that a 64 KiB range read touches at most
/// two blocks, large enough that the crc table is 1/16384 of the data.
pub const BLOCK_SIZE_BYTES: u32 = 64 * 1024;
/// O_DIRECT alignment of every file offset and write length.
pub const ALIGN_BYTES: u64 = 4096;
/// The shard file header occupies the first aligned page.
pub const HEADER_BYTES: u64 = ALIGN_BYTES;
/// Size of one write to a shard file, and of one read when streaming a body.
pub const STRIPE_BYTES: usize = 1024 * 1024;
/// Largest object or part body we accept (S3's single PUT limit).
pub const VOLUME_SIZE_MAX_BYTES: u64 = 5 * 1024 * 1024 * 1024;

const _: () = assert!((STRIPE_BYTES as u64).is_multiple_of(ALIGN_BYTES));
const _: () = assert!(STRIPE_BYTES.is_multiple_of(BLOCK_SIZE_BYTES as usize));
const _: () = assert!((BLOCK_SIZE_BYTES as u64).is_multiple_of(ALIGN_BYTES));
