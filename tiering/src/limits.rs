//! Limits and units of the tiering policy, in one place, their relations
//! checked at compile time.

/// Milliseconds in one hour: the unit of rates (`*_per_hour`).
pub const MS_PER_HOUR: u64 = 3_600_000;
/// Milliseconds in one day.
pub const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;
/// Buckets of the time-of-day profile: one per UTC hour.
pub const HOURS_PER_DAY: usize = 24;
/// Largest count one time-of-day bucket holds (4 bits); the whole profile is
/// halved when a bucket would overflow, so it keeps the shape, not the total.
pub const HOUR_BUCKET_MAX: u8 = 15;
/// The per-object state must stay this small: it is kept for every object
/// and updated on every GET, at millions of objects per core.
pub const STATS_SIZE_BYTES_MAX: usize = 64;
/// Objects are moved whole, so there are exactly three tiers to plan.
pub const TIERS: usize = 3;
/// Content classes ([`crate::ContentClass`]), each with its own read-back counts.
pub const CLASSES: usize = 5;

const _: () = assert!(MS_PER_DAY == HOURS_PER_DAY as u64 * MS_PER_HOUR);
// Two 4-bit buckets share a byte.
const _: () = assert!(HOURS_PER_DAY & 1 == 0);
const _: () = assert!(HOUR_BUCKET_MAX as u32 == (1 << 4) - 1);
