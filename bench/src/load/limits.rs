//! The load generator's limits, in one place.

/// Socket read buffer: a 1 MiB GET body arrives in a few reads.
pub const READ_BUF_BYTES: usize = 256 * 1024;
/// A response head larger than this is refused (S3 heads are < 2 KiB).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How much of an error body is kept to find its `<Code>`.
pub const ERROR_BODY_KEEP_BYTES: usize = 8 * 1024;
/// Requests up to this size (head and body) go out in one write.
pub const SMALL_WRITE_BYTES: usize = 64 * 1024;
/// PUT bodies cycle through this many random bytes: incompressible, never
/// allocated per request.
pub const PATTERN_BYTES: usize = 1 << 20;
/// Latencies are recorded in microseconds up to this (one minute).
pub const LATENCY_US_MAX: u64 = 60_000_000;
/// Connections used to prepare objects before a run.
pub const PREPARE_CONNECTIONS_MAX: usize = 8;
/// How long the first request of a job retries while the server starts.
pub const STARTUP_GRACE: std::time::Duration = std::time::Duration::from_secs(15);
/// Stack of a viewer thread: a search may start thousands; buffers live on
/// the heap.
pub const VIEWER_STACK_BYTES: usize = 256 * 1024;

const _: () = assert!(SMALL_WRITE_BYTES <= READ_BUF_BYTES);
const _: () = assert!(ERROR_BODY_KEEP_BYTES <= MAX_HEAD_BYTES);
