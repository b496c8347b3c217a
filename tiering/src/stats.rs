//! Per-object access statistics: all the policy remembers about one object.

use crate::limits::{HOURS_PER_DAY, HOUR_BUCKET_MAX, MS_PER_HOUR, STATS_SIZE_BYTES_MAX};
use crate::{ContentClass, PolicyConfig};

/// One read as the policy sees it: when, and which bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub now_ms: u64,
    pub offset: u64,
    pub length: u64,
}

/// What the policy keeps per object: 64 bytes (checked below), updated in
/// O(1) per access with no allocation.
///
/// The two moving averages are decayed counts of accesses "as of
/// `last_access_ms`": reading them at a later time decays them further, so
/// nothing needs updating between accesses.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct AccessStats {
    last_access_ms: u64,
    /// All bytes ever read; with `reads` gives the mean share of the object
    /// one read touches, which is what a hot byte is worth.
    bytes_read: u64,
    /// Where the last read ended: a read starting here continues a stream.
    next_offset: u64,
    ema_fast: f32,
    ema_slow: f32,
    /// Accesses: reads, with a run of sequential ranges counted once.
    reads: u32,
    /// Consecutive reads that each started where the previous one ended.
    sequential_run: u16,
    /// Reads that started inside the first `head_bytes` (halved with the
    /// profile, so it stays recent).
    head_reads: u16,
    /// When the object was written (or, if it existed before the policy
    /// saw it, first seen), in seconds: a young object's slow average has
    /// had less time to gather its reads.
    created_s: u32,
    /// 24 four-bit counters of reads per UTC hour.
    hour_profile: [u8; HOURS_PER_DAY / 2],
    content: ContentClass,
}

const _: () = assert!(std::mem::size_of::<AccessStats>() <= STATS_SIZE_BYTES_MAX);

/// Decays a count made at `then_ms` to `now_ms` with the given half-life.
fn decayed(count: f32, then_ms: u64, now_ms: u64, half_life_ms: u64) -> f64 {
    let age_ms = now_ms.saturating_sub(then_ms) as f64;
    f64::from(count) * (-age_ms / half_life_ms as f64).exp2()
}

/// A decayed count over a half-life is a rate: count * ln 2 / half-life.
fn rate_per_hour(count: f64, half_life_ms: u64) -> f64 {
    count * std::f64::consts::LN_2 * MS_PER_HOUR as f64 / half_life_ms as f64
}

impl AccessStats {
    /// Statistics of an object written at `created_ms` and not read yet.
    /// Idle time counts from creation until the first read.
    pub fn new(content: ContentClass, created_ms: u64) -> AccessStats {
        let created_s = u32::try_from(created_ms / 1000).unwrap_or(u32::MAX);
        AccessStats { content, last_access_ms: created_ms, created_s, ..AccessStats::default() }
    }

    /// Counts one read. O(1); a clock that goes backwards is treated as no
    /// time passing (the averages never grow from a stale timestamp).
    ///
    /// A range that starts where the previous one ended is the same reader
    /// going on (a stream): its bytes count, but it is not a new access, or
    /// one viewer fetching 8 MiB every 10 s would look like a crowd.
    pub fn record(&mut self, access: Access, cfg: &PolicyConfig) {
        let now = access.now_ms.max(self.last_access_ms);
        let continues = self.reads > 0 && access.offset > 0 && access.offset == self.next_offset;
        let new_access = if continues { 0.0 } else { 1.0 };
        let fast = decayed(self.ema_fast, self.last_access_ms, now, cfg.ema_fast_half_life_ms);
        let slow = decayed(self.ema_slow, self.last_access_ms, now, cfg.ema_slow_half_life_ms);
        self.ema_fast = (fast + new_access) as f32;
        self.ema_slow = (slow + new_access) as f32;
        self.last_access_ms = now;
        if !continues {
            self.reads = self.reads.saturating_add(1);
            self.record_hour(now);
        }
        self.bytes_read = self.bytes_read.saturating_add(access.length);
        self.sequential_run = if continues { self.sequential_run.saturating_add(1) } else { 0 };
        if access.offset < cfg.head_bytes {
            self.head_reads = self.head_reads.saturating_add(1);
        }
        self.next_offset = access.offset.saturating_add(access.length);
    }

    fn record_hour(&mut self, now_ms: u64) {
        let hour = Self::hour_of(now_ms);
        if self.hour_count(hour) == HOUR_BUCKET_MAX {
            // Keep the shape, forget half the history: the profile follows
            // a pattern that moves, and never overflows.
            for byte in &mut self.hour_profile {
                *byte = ((*byte >> 4) >> 1) << 4 | ((*byte & 0x0f) >> 1);
            }
            self.head_reads /= 2;
        }
        let shift = (hour & 1) * 4;
        self.hour_profile[hour / 2] += 1 << shift;
    }

    /// The UTC hour of a timestamp.
    pub fn hour_of(now_ms: u64) -> usize {
        ((now_ms / MS_PER_HOUR) % HOURS_PER_DAY as u64) as usize
    }

    /// Reads counted for one UTC hour (0..24) in the profile.
    pub fn hour_count(&self, hour: usize) -> u8 {
        let byte = self.hour_profile[hour % HOURS_PER_DAY / 2];
        if hour & 1 == 0 {
            byte & 0x0f
        } else {
            byte >> 4
        }
    }

    /// Sum of the time-of-day profile.
    pub fn hour_total(&self) -> u32 {
        (0..HOURS_PER_DAY).map(|h| u32::from(self.hour_count(h))).sum()
    }

    /// Usual access rate (slow average) at `now_ms`.
    pub fn slow_rate_per_hour(&self, now_ms: u64, cfg: &PolicyConfig) -> f64 {
        let hl = cfg.ema_slow_half_life_ms;
        rate_per_hour(decayed(self.ema_slow, self.last_access_ms, now_ms, hl), hl)
    }

    /// Recent access rate (fast average) at `now_ms`.
    pub fn fast_rate_per_hour(&self, now_ms: u64, cfg: &PolicyConfig) -> f64 {
        let hl = cfg.ema_fast_half_life_ms;
        rate_per_hour(decayed(self.ema_fast, self.last_access_ms, now_ms, hl), hl)
    }

    /// Estimated share of the object one access (a read, or a run of
    /// sequential ranges) touches, in (0, 1]: the mean over all accesses
    /// plus one imagined whole read. The imagined read matters only while
    /// there is little history: a stream that has just begun has read only
    /// the head, and must not look like a head-only reader.
    pub fn read_fraction(&self, size_bytes: u64) -> f64 {
        if size_bytes == 0 {
            return 1.0;
        }
        let bytes = self.bytes_read as f64 + size_bytes as f64;
        let per_access = bytes / (f64::from(self.reads) + 1.0);
        (per_access / size_bytes as f64).clamp(f64::MIN_POSITIVE, 1.0)
    }

    /// Time since the last read, or since creation if never read.
    pub fn idle_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.last_access_ms)
    }

    pub fn last_access_ms(&self) -> u64 {
        self.last_access_ms
    }
    pub fn reads(&self) -> u32 {
        self.reads
    }
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }
    pub fn sequential_run(&self) -> u16 {
        self.sequential_run
    }
    pub fn head_reads(&self) -> u16 {
        self.head_reads
    }
    /// When the object was written (or first seen), to the second.
    pub fn created_ms(&self) -> u64 {
        u64::from(self.created_s) * 1000
    }
    pub fn content(&self) -> ContentClass {
        self.content
    }
    /// The slow average as stored (as of the last access), for ranking.
    pub(crate) fn ema_slow_at_last_access(&self) -> f32 {
        self.ema_slow
    }

    /// The statistics as stored by the engine: a version byte, then every
    /// field little-endian in declaration order.
    pub fn to_bytes(&self) -> [u8; STATS_STORED_BYTES] {
        let mut out = [0u8; STATS_STORED_BYTES];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(&[STATS_FORMAT]);
        put(&self.last_access_ms.to_le_bytes());
        put(&self.bytes_read.to_le_bytes());
        put(&self.next_offset.to_le_bytes());
        put(&self.ema_fast.to_le_bytes());
        put(&self.ema_slow.to_le_bytes());
        put(&self.reads.to_le_bytes());
        put(&self.sequential_run.to_le_bytes());
        put(&self.head_reads.to_le_bytes());
        put(&self.created_s.to_le_bytes());
        put(&self.hour_profile);
        put(&[self.content.index() as u8]);
        out
    }

    /// Statistics stored by [`AccessStats::to_bytes`]; `None` for bytes of
    /// another format or length (the object then starts afresh).
    pub fn from_bytes(bytes: &[u8]) -> Option<AccessStats> {
        let bytes: &[u8; STATS_STORED_BYTES] = bytes.try_into().ok()?;
        if bytes[0] != STATS_FORMAT {
            return None;
        }
        let mut at = 1;
        let mut take = |n: usize| {
            let field = &bytes[at..at + n];
            at += n;
            field
        };
        let u64_at = |b: &[u8]| b.try_into().map(u64::from_le_bytes).unwrap_or(0);
        let last_access_ms = u64_at(take(8));
        let bytes_read = u64_at(take(8));
        let next_offset = u64_at(take(8));
        let ema_fast = take(4).try_into().map(f32::from_le_bytes).unwrap_or(0.0);
        let ema_slow = take(4).try_into().map(f32::from_le_bytes).unwrap_or(0.0);
        let reads = take(4).try_into().map(u32::from_le_bytes).unwrap_or(0);
        let sequential_run = take(2).try_into().map(u16::from_le_bytes).unwrap_or(0);
        let head_reads = take(2).try_into().map(u16::from_le_bytes).unwrap_or(0);
        let created_s = take(4).try_into().map(u32::from_le_bytes).unwrap_or(0);
        let hour_profile = take(HOURS_PER_DAY / 2).try_into().ok()?;
        let content = *ContentClass::ALL.get(usize::from(take(1)[0]))?;
        if !(ema_fast.is_finite() && ema_slow.is_finite()) {
            return None;
        }
        Some(AccessStats {
            last_access_ms,
            bytes_read,
            next_offset,
            ema_fast,
            ema_slow,
            reads,
            sequential_run,
            head_reads,
            created_s,
            hour_profile,
            content,
        })
    }
}

/// Version of [`AccessStats::to_bytes`]'s layout.
const STATS_FORMAT: u8 = 1;
/// Its length: the version and the fields (57 bytes).
pub const STATS_STORED_BYTES: usize = 1 + 8 * 3 + 4 * 2 + 4 + 2 * 2 + 4 + HOURS_PER_DAY / 2 + 1;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MS_PER_DAY;

    fn read(stats: &mut AccessStats, now_ms: u64, cfg: &PolicyConfig) {
        let access = Access { now_ms, offset: 0, length: 100 };
        stats.record(access, cfg);
    }

    #[test]
    fn stored_statistics_read_back_equal_and_bad_bytes_are_refused() {
        let cfg = PolicyConfig::default();
        let mut stats = AccessStats::new(ContentClass::Video, 5 * MS_PER_DAY);
        for i in 0..40 {
            let access = Access { now_ms: 5 * MS_PER_DAY + i * 3_600_000, offset: i * 100, length: 100 };
            stats.record(access, &cfg);
        }
        let bytes = stats.to_bytes();
        assert_eq!(AccessStats::from_bytes(&bytes), Some(stats));
        assert_eq!(AccessStats::from_bytes(&bytes[1..]), None, "short");
        let mut other = bytes;
        other[0] = 9;
        assert_eq!(AccessStats::from_bytes(&other), None, "another format");
        let mut bad_class = bytes;
        bad_class[STATS_STORED_BYTES - 1] = 200;
        assert_eq!(AccessStats::from_bytes(&bad_class), None, "no such content class");
        let mut nan = bytes;
        nan[25..29].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(AccessStats::from_bytes(&nan), None, "a NaN average");
    }

    #[test]
    fn stays_within_the_size_budget() {
        assert!(std::mem::size_of::<AccessStats>() <= 64);
        assert_eq!(std::mem::size_of::<AccessStats>(), 64);
    }

    #[test]
    fn steady_reads_converge_to_their_rate() {
        let cfg = PolicyConfig::default();
        let mut s = AccessStats::new(ContentClass::Other, 0);
        // One read every 10 minutes for a week: 6 per hour.
        let step = MS_PER_HOUR / 6;
        for i in 0..(7 * MS_PER_DAY / step) {
            read(&mut s, i * step, &cfg);
        }
        let now = s.last_access_ms();
        let slow = s.slow_rate_per_hour(now, &cfg);
        let fast = s.fast_rate_per_hour(now, &cfg);
        assert!((slow - 6.0).abs() < 0.5, "slow {slow}");
        assert!((fast - 6.0).abs() < 1.0, "fast {fast}");
        // A day later with no reads, the slow rate has halved.
        let later = s.slow_rate_per_hour(now + MS_PER_DAY, &cfg);
        assert!((later - slow / 2.0).abs() < 1e-6);
    }

    #[test]
    fn backwards_clock_does_not_inflate() {
        let cfg = PolicyConfig::default();
        let mut s = AccessStats::new(ContentClass::Other, 0);
        read(&mut s, 10 * MS_PER_DAY, &cfg);
        read(&mut s, MS_PER_DAY, &cfg);
        assert_eq!(s.last_access_ms(), 10 * MS_PER_DAY);
        assert_eq!(s.reads(), 2);
    }

    #[test]
    fn profile_counts_hours_and_halves_instead_of_overflowing() {
        let cfg = PolicyConfig::default();
        let mut s = AccessStats::new(ContentClass::Other, 0);
        for day in 0..40 {
            read(&mut s, day * MS_PER_DAY + 19 * MS_PER_HOUR, &cfg);
        }
        read(&mut s, 40 * MS_PER_DAY + 3 * MS_PER_HOUR, &cfg);
        assert!(s.hour_count(19) >= 8, "{}", s.hour_count(19));
        assert_eq!(s.hour_count(3), 1);
        assert_eq!(s.hour_count(18), 0);
        assert_eq!(s.hour_count(20), 0);
    }

    #[test]
    fn ranges_are_classified() {
        let cfg = PolicyConfig::default();
        let mut s = AccessStats::new(ContentClass::Video, 0);
        let mb = 1u64 << 20;
        for i in 0..5 {
            let a = Access { now_ms: i, offset: i * 4 * mb, length: 4 * mb };
            s.record(a, &cfg);
        }
        assert_eq!(s.sequential_run(), 4);
        assert_eq!((s.reads(), s.head_reads()), (1, 1));
        // One stream of 20 MiB is one access of a fifth of the object,
        // averaged with one imagined whole read.
        assert!((s.read_fraction(100 * mb) - 0.6).abs() < 1e-9);
        s.record(Access { now_ms: 9, offset: 0, length: 1024 }, &cfg);
        assert_eq!((s.reads(), s.sequential_run()), (2, 0));
        assert_eq!(s.head_reads(), 2);
        for i in 0..98 {
            s.record(Access { now_ms: 10 + i, offset: 0, length: 20 * mb }, &cfg);
        }
        // With history the imagined read fades: about (100 * 20 + 100) / 101.
        let f = s.read_fraction(100 * mb);
        assert!((0.2..0.21).contains(&f), "{f}");
    }
}
