//! Limits of the HTTP layer, in one place.

/// Largest request head (request line and headers) we read.
pub const HEAD_SIZE_MAX_BYTES: usize = 16 * 1024;
/// Most headers in one request.
pub const HEADER_COUNT_MAX: usize = 100;
/// How much body we read from the socket at a time.
pub const BODY_CHUNK_BYTES: usize = 256 * 1024;
/// An idle keep-alive connection, or a stalled client, is closed after this.
pub const IDLE_TIMEOUT_SECS: u64 = 60;
/// A request head that has begun must be complete within this (slowloris).
pub const HEAD_TIMEOUT_SECS: u64 = 10;
/// Object body bytes a core may hold in read buffers for responses before
/// it reads in small chunks: slow readers then hold little each, so memory
/// stays bounded by about this plus connections × the small chunk.
pub const RESPONSE_BUFFER_SOFT_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// Body chunk read for a response under that pressure (1 MiB otherwise).
pub const RESPONSE_CHUNK_UNDER_PRESSURE_BYTES: u64 = 32 * 1024;
/// Largest single PUT (S3's limit).
pub const PUT_SIZE_MAX_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// S3's limits on keys and user metadata.
pub const KEY_SIZE_MAX_BYTES: usize = 1024;
pub const USER_META_MAX_BYTES: usize = 2 * 1024;
/// S3's default and largest page of a listing.
pub const LIST_KEYS_MAX: usize = 1000;

const _: () = assert!(BODY_CHUNK_BYTES as u64 <= PUT_SIZE_MAX_BYTES);
