//! The read cache: verified blocks of shard files kept in memory, shared by
//! every core of the node.
//!
//! A video origin reads the same few titles over and over; with O_DIRECT
//! every one of those reads went to the disk again. Blocks that passed their
//! crc32c on the way in are kept here, keyed by (volume, shard, block), and
//! a read served from here needs neither the disk nor the checksum.
//!
//! Why this is safe without invalidation: a volume's bytes never change
//! under its id. A new body, a copy, a tier move or a rewrite by repair gets
//! a new volume id (random 64 bits), or writes the same bytes back; a freed
//! volume's entries are simply never asked for again and age out.
//!
//! Why shared across cores: a GET reads the body on the core holding the
//! connection, so per-core caches would keep a popular title once per core.
//! The map is split in shards under their own locks; a lookup holds one for
//! a hash probe.
//!
//! Eviction is S3-FIFO (Yang et al., SOSP '23): a new block enters a small
//! queue and reaches the main one only if it is read again while there, so
//! a long one-off read (a restore, a bulk download) passes through without
//! flushing the titles that are read all day.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::limits::SECTOR_BYTES;

/// Lock shards: enough that cores rarely meet on one.
const SHARDS: usize = 64;
/// Share of each shard's capacity for blocks seen once.
const SMALL_PERCENT: usize = 10;
/// Reads of a block counted at most (S3-FIFO's two bits).
const MAX_FREQ: u8 = 3;

/// Which block: a volume's shard file (ids are random, and the slice is
/// part of a shard's path) and a block in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockKey {
    pub volume: u64,
    pub slice: u16,
    pub shard: u16,
    pub block: u64,
}

/// A block's bytes, which of its sectors are present, and each present
/// sector's crc32c. Immutable once cached: adding sectors makes a new one.
pub struct CachedBlock {
    bytes: Box<[u8]>,
    valid: u64,
    /// Checked again on every hit: a block may sit in memory for hours, and
    /// a bit flipped there (memory without ECC) must not reach every reader.
    crcs: Box<[u32]>,
}

impl CachedBlock {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True when every sector of `[start, end)` (bytes within the block) is here.
    pub fn covers(&self, start: usize, end: usize) -> bool {
        match sector_mask(start, end) {
            Some(mask) => self.valid & mask == mask,
            None => false,
        }
    }

    /// True when every sector of `[start, end)` still matches its crc32c.
    fn intact(&self, start: usize, end: usize) -> bool {
        let sector = SECTOR_BYTES as usize;
        (start / sector..end.div_ceil(sector)).all(|s| {
            let bytes = self.bytes.get(s * sector..(s + 1) * sector);
            matches!((bytes, self.crcs.get(s)), (Some(b), Some(c)) if crc32c::crc32c(b) == *c)
        })
    }
}

/// The sectors of bytes `[start, end)` of a block as bits; `None` past 64
/// sectors (a block size this cache does not keep) or for an empty range.
fn sector_mask(start: usize, end: usize) -> Option<u64> {
    let sector = SECTOR_BYTES as usize;
    if end <= start {
        return None;
    }
    let (first, last) = (start / sector, (end - 1) / sector);
    if last >= 64 {
        return None;
    }
    let upto = if last == 63 { u64::MAX } else { (1u64 << (last + 1)) - 1 };
    Some(upto & !((1u64 << first) - 1))
}

struct Slot {
    block: Arc<CachedBlock>,
    freq: u8,
}

#[derive(Default)]
struct Shard {
    map: HashMap<BlockKey, Slot>,
    small: VecDeque<BlockKey>,
    main: VecDeque<BlockKey>,
    /// Keys recently evicted from the small queue: seen again, they go to main.
    /// Each with the number of its entry in `ghost_order`: a key that left
    /// and came back has an older entry there, which must not remove it.
    ghost: HashMap<BlockKey, u64>,
    ghost_order: VecDeque<(BlockKey, u64)>,
    ghost_seq: u64,
    small_bytes: usize,
    main_bytes: usize,
}

/// Hits, misses and what the cache holds, for `admin stats` and /metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub capacity_bytes: u64,
    pub resident_bytes: u64,
    pub hit_bytes: u64,
    pub miss_bytes: u64,
}

pub struct ReadCache {
    shards: Box<[Mutex<Shard>]>,
    shard_capacity: usize,
    capacity: u64,
    resident: AtomicU64,
    hit_bytes: AtomicU64,
    miss_bytes: AtomicU64,
}

impl ReadCache {
    /// A cache of at most `capacity` bytes of blocks; `None` (off) below 4 MiB.
    pub fn new(capacity: u64) -> Option<ReadCache> {
        // Below one block per lock shard nothing could stay: off.
        if capacity < SHARDS as u64 * 64 * 1024 {
            return None;
        }
        let shard_capacity = usize::try_from(capacity / SHARDS as u64).unwrap_or(usize::MAX).max(1);
        Some(ReadCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shard_capacity,
            capacity,
            resident: AtomicU64::new(0),
            hit_bytes: AtomicU64::new(0),
            miss_bytes: AtomicU64::new(0),
        })
    }

    fn shard(&self, key: &BlockKey) -> &Mutex<Shard> {
        // The volume id is random: its low bits with the block spread evenly.
        let h = key.volume ^ key.block.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(key.shard).rotate_left(32);
        &self.shards[(h as usize) % SHARDS]
    }

    /// The cached block when it holds every sector of `[start, end)`, and
    /// they still match their checksums (a block that does not is dropped,
    /// and the caller reads the disk).
    pub fn get(&self, key: &BlockKey, start: usize, end: usize) -> Option<Arc<CachedBlock>> {
        let found = {
            let mut shard = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
            shard.map.get_mut(key).filter(|s| s.block.covers(start, end)).map(|slot| {
                slot.freq = (slot.freq + 1).min(MAX_FREQ);
                slot.block.clone()
            })
        };
        let found = found.filter(|block| {
            let intact = block.intact(start, end);
            if !intact {
                tracing::error!(volume = %format!("{:016x}", key.volume), block = key.block, "cached block changed in memory: dropped");
                self.drop_block(key);
            }
            intact
        });
        let counter = if found.is_some() { &self.hit_bytes } else { &self.miss_bytes };
        counter.fetch_add((end - start) as u64, Ordering::Relaxed);
        found
    }

    /// Forgets a block (its bytes stay with readers that hold them).
    fn drop_block(&self, key: &BlockKey) {
        let mut shard = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = shard.map.remove(key) {
            let size = slot.block.bytes.len();
            if shard.small.contains(key) {
                shard.small.retain(|k| k != key);
                shard.small_bytes -= size;
            } else {
                shard.main.retain(|k| k != key);
                shard.main_bytes -= size;
            }
            self.resident.fetch_sub(size as u64, Ordering::Relaxed);
        }
    }

    /// Keeps sectors of a block just read and verified: `data` holds the
    /// block's bytes from `start` (sector-aligned) on, and `ok[i]` says
    /// whether its i-th sector passed its checksum. Sectors already cached
    /// are kept.
    pub fn fill(&self, key: BlockKey, block_size: usize, start: usize, data: &[u8], ok: &[bool]) {
        let sector = SECTOR_BYTES as usize;
        if block_size > 64 * sector
            || !block_size.is_multiple_of(sector)
            || !start.is_multiple_of(sector)
            || start >= block_size
        {
            return;
        }
        let mut add = 0u64;
        for (i, good) in ok.iter().enumerate() {
            let at = start + i * sector;
            if *good && at + sector <= block_size && (i + 1) * sector <= data.len() {
                add |= 1 << (at / sector);
            }
        }
        if add == 0 {
            return;
        }
        let old = {
            let shard = self.shard(&key).lock().unwrap_or_else(|p| p.into_inner());
            shard.map.get(&key).map(|s| s.block.clone())
        };
        if old.as_ref().is_some_and(|b| b.valid & add == add) {
            return;
        }
        // Built outside the lock: other cores' lookups do not wait on a copy.
        // Sectors another core adds meanwhile may be lost; they are read again.
        let (mut bytes, mut crcs) = match &old {
            Some(b) => (b.bytes.clone(), b.crcs.clone()),
            None => (vec![0u8; block_size].into_boxed_slice(), vec![0u32; block_size / sector].into_boxed_slice()),
        };
        let mut valid = old.as_ref().map_or(0, |b| b.valid);
        // Only the sectors `add` names: each lies inside the block and the data.
        for s in (0..64usize).filter(|s| add & (1u64 << s) != 0) {
            let from = s * sector - start;
            let (Some(src), Some(dst)) = (data.get(from..from + sector), bytes.get_mut(s * sector..(s + 1) * sector))
            else {
                continue;
            };
            dst.copy_from_slice(src);
            if let Some(c) = crcs.get_mut(s) {
                *c = crc32c::crc32c(src);
            }
            valid |= 1 << s;
        }
        let block = Arc::new(CachedBlock { bytes, valid, crcs });
        let size = block.bytes.len();
        let mut shard = self.shard(&key).lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = shard.map.get_mut(&key) {
            // Same size as before: the queues' byte counts stay right.
            slot.block = block;
            return;
        }
        let to_main = shard.ghost.remove(&key).is_some();
        shard.map.insert(key, Slot { block, freq: 0 });
        if to_main {
            shard.main.push_back(key);
            shard.main_bytes += size;
        } else {
            shard.small.push_back(key);
            shard.small_bytes += size;
        }
        self.resident.fetch_add(size as u64, Ordering::Relaxed);
        let freed = self.evict(&mut shard);
        self.resident.fetch_sub(freed as u64, Ordering::Relaxed);
    }

    /// Evicts until the shard fits its capacity; returns the bytes freed.
    fn evict(&self, shard: &mut Shard) -> usize {
        let mut freed = 0;
        let small_max = self.shard_capacity * SMALL_PERCENT / 100;
        while shard.small_bytes + shard.main_bytes > self.shard_capacity {
            if shard.small_bytes > small_max || shard.main.is_empty() {
                let Some(key) = shard.small.pop_front() else { break };
                let Some(slot) = shard.map.get_mut(&key) else { continue };
                let size = slot.block.bytes.len();
                shard.small_bytes -= size;
                if slot.freq > 0 {
                    // Read again while new: it earns a place in main.
                    slot.freq = 0;
                    shard.main.push_back(key);
                    shard.main_bytes += size;
                } else {
                    shard.map.remove(&key);
                    freed += size;
                    shard.ghost_seq += 1;
                    let seq = shard.ghost_seq;
                    shard.ghost.insert(key, seq);
                    shard.ghost_order.push_back((key, seq));
                    // Remember about as many keys as main holds blocks.
                    let ghost_max = (self.shard_capacity / size.max(1)).max(1);
                    while shard.ghost_order.len() > ghost_max {
                        if let Some((old, seq)) = shard.ghost_order.pop_front() {
                            if shard.ghost.get(&old) == Some(&seq) {
                                shard.ghost.remove(&old);
                            }
                        }
                    }
                }
            } else {
                let Some(key) = shard.main.pop_front() else { break };
                let Some(slot) = shard.map.get_mut(&key) else { continue };
                if slot.freq > 0 {
                    slot.freq -= 1;
                    shard.main.push_back(key);
                } else {
                    let size = slot.block.bytes.len();
                    shard.map.remove(&key);
                    shard.main_bytes -= size;
                    freed += size;
                }
            }
        }
        freed
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            capacity_bytes: self.capacity,
            resident_bytes: self.resident.load(Ordering::Relaxed),
            hit_bytes: self.hit_bytes.load(Ordering::Relaxed),
            miss_bytes: self.miss_bytes.load(Ordering::Relaxed),
        }
    }
}

/// The default size: an eighth of the memory this process may use (the
/// rest is the kernel's, the metadata's and the response buffers'): the
/// machine's, or a container's cgroup limit when that is lower (a
/// container sees the host's MemTotal).
pub fn default_capacity() -> u64 {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let meminfo = read("/proc/meminfo");
    let total = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024);
    let limit = cgroup_limit(&read("/proc/self/cgroup"), |p| read(p)).unwrap_or(u64::MAX);
    total.min(limit) / 8
}

/// The lowest memory limit over this process's cgroup and its ancestors
/// (v2 `memory.max`, v1 `memory.limit_in_bytes`), given /proc/self/cgroup;
/// `None` when unlimited. Every ancestor, because a limit set on a parent
/// (a systemd slice, a pod) binds too, down to the mount's root, because
/// inside a container the root is the container's own cgroup.
fn cgroup_limit(self_cgroup: &str, read: impl Fn(&str) -> String) -> Option<u64> {
    let mut files = Vec::new();
    for line in self_cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let (root, file) = if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")
        } else {
            continue;
        };
        let mut dir = path.trim_end_matches('/');
        loop {
            files.push(format!("{root}{dir}/{file}"));
            match dir.rfind('/') {
                Some(cut) => dir = &dir[..cut],
                None => break,
            }
        }
    }
    files
        .iter()
        // "max" (v2) and v1's huge sentinel both mean no limit.
        .filter_map(|file| read(file).trim().parse::<u64>().ok())
        .filter(|limit| *limit < 1 << 60)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: usize = 64 * 1024;
    const SECTOR: usize = SECTOR_BYTES as usize;

    fn key(volume: u64, block: u64) -> BlockKey {
        BlockKey { volume, slice: 0, shard: 0, block }
    }

    fn block_bytes(seed: u8) -> Vec<u8> {
        (0..BLOCK).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    #[test]
    fn sector_masks() {
        assert_eq!(sector_mask(0, SECTOR), Some(1));
        assert_eq!(sector_mask(SECTOR - 1, SECTOR + 1), Some(0b11));
        assert_eq!(sector_mask(0, BLOCK), Some(0xffff));
        assert_eq!(sector_mask(0, 64 * SECTOR), Some(u64::MAX));
        assert_eq!(sector_mask(0, 64 * SECTOR + 1), None);
        assert_eq!(sector_mask(5, 5), None);
    }

    #[test]
    fn a_block_read_whole_is_served_with_its_bytes() {
        let cache = ReadCache::new(16 << 20).expect("on");
        let data = block_bytes(7);
        assert!(cache.get(&key(1, 0), 0, BLOCK).is_none());
        cache.fill(key(1, 0), BLOCK, 0, &data, &[true; 16]);
        let hit = cache.get(&key(1, 0), 100, 5000).expect("cached");
        assert_eq!(&hit.bytes()[100..5000], &data[100..5000]);
        // Another volume, shard or block is another entry.
        assert!(cache.get(&key(2, 0), 0, 10).is_none());
        assert!(cache.get(&BlockKey { volume: 1, slice: 0, shard: 1, block: 0 }, 0, 10).is_none());
        let s = cache.stats();
        assert_eq!(s.hit_bytes, 4900);
        assert_eq!(s.resident_bytes, BLOCK as u64);
    }

    #[test]
    fn only_verified_sectors_are_served_and_parts_merge() {
        let cache = ReadCache::new(16 << 20).expect("on");
        let data = block_bytes(3);
        // Sectors 2..6 read; sector 4 failed its checksum.
        let ok = [true, true, false, true];
        cache.fill(key(1, 0), BLOCK, 2 * SECTOR, &data[2 * SECTOR..6 * SECTOR], &ok);
        assert!(cache.get(&key(1, 0), 2 * SECTOR, 4 * SECTOR).is_some());
        assert!(cache.get(&key(1, 0), 2 * SECTOR, 5 * SECTOR).is_none(), "sector 4 was bad");
        assert!(cache.get(&key(1, 0), 0, SECTOR).is_none(), "sector 0 never read");
        // A later read brings sectors 0..5: the block now covers 0..6.
        cache.fill(key(1, 0), BLOCK, 0, &data[..5 * SECTOR], &[true; 5]);
        let hit = cache.get(&key(1, 0), 0, 6 * SECTOR).expect("merged");
        assert_eq!(&hit.bytes()[..6 * SECTOR], &data[..6 * SECTOR]);
        assert_eq!(cache.stats().resident_bytes, BLOCK as u64, "one block, not two");
    }

    #[test]
    fn a_short_read_fills_only_whole_sectors() {
        let cache = ReadCache::new(16 << 20).expect("on");
        let data = block_bytes(1);
        cache.fill(key(1, 0), BLOCK, 0, &data[..SECTOR + 10], &[true, true]);
        assert!(cache.get(&key(1, 0), 0, SECTOR).is_some());
        assert!(cache.get(&key(1, 0), 0, SECTOR + 1).is_none());
    }

    #[test]
    fn capacity_is_kept_and_a_one_off_scan_does_not_flush_what_is_read_again() {
        // 64 shards of 8 blocks each.
        let cache = ReadCache::new((SHARDS * 8 * BLOCK) as u64).expect("on");
        let data = block_bytes(0);
        let hot: Vec<BlockKey> = (0..64).map(|b| key(42, b)).collect();
        for _ in 0..3 {
            for k in &hot {
                if cache.get(k, 0, BLOCK).is_none() {
                    cache.fill(*k, BLOCK, 0, &data, &[true; 16]);
                }
            }
        }
        // A scan of 20 times the capacity, each block read once.
        for b in 0..(SHARDS as u64 * 8 * 20) {
            cache.fill(key(7, b), BLOCK, 0, &data, &[true; 16]);
            assert!(cache.stats().resident_bytes <= (SHARDS * 8 * BLOCK) as u64);
        }
        let kept = hot.iter().filter(|k| cache.get(k, 0, BLOCK).is_some()).count();
        assert!(kept >= 60, "the blocks read again survive the scan: {kept} of 64");
    }

    #[test]
    fn a_container_limit_lowers_the_default() {
        let files = |path: &str| match path {
            "/sys/fs/cgroup/docker/abc/memory.max" => "2147483648\n".to_owned(),
            "/sys/fs/cgroup/memory/ctr/memory.limit_in_bytes" => "1073741824\n".to_owned(),
            "/sys/fs/cgroup/memory/free/memory.limit_in_bytes" => "9223372036854771712\n".to_owned(),
            "/sys/fs/cgroup/memory.max" => "max\n".to_owned(),
            _ => String::new(),
        };
        assert_eq!(cgroup_limit("0::/docker/abc\n", files), Some(2 << 30));
        assert_eq!(cgroup_limit("4:memory:/ctr\n1:cpu:/\n", files), Some(1 << 30));
        assert_eq!(cgroup_limit("4:memory:/free\n", files), None);
        assert_eq!(cgroup_limit("0::/\n", files), None);
        // A container on v1: its own cgroup is mounted at the root.
        let v1_container = |path: &str| match path {
            "/sys/fs/cgroup/memory/memory.limit_in_bytes" => "1073741824\n".to_owned(),
            _ => String::new(),
        };
        assert_eq!(cgroup_limit("12:memory:/docker/3f2a\n1:name=systemd:/docker/3f2a\n", v1_container), Some(1 << 30));
        // v2, the limit on a parent slice and the leaf unlimited.
        let v2_parent = |path: &str| match path {
            "/sys/fs/cgroup/stratum.slice/memory.max" => "1073741824\n".to_owned(),
            "/sys/fs/cgroup/stratum.slice/stratum.service/memory.max" => "max\n".to_owned(),
            _ => String::new(),
        };
        assert_eq!(cgroup_limit("0::/stratum.slice/stratum.service\n", v2_parent), Some(1 << 30));
        assert_eq!(cgroup_limit("", files), None);
        assert!(default_capacity() > 0, "this machine has memory");
    }

    #[test]
    fn off_at_zero_and_below_one_block_per_shard() {
        assert!(ReadCache::new(0).is_none());
        assert!(ReadCache::new(4 << 20).is_some());
        assert!(ReadCache::new((4 << 20) - 1).is_none());
    }

    #[test]
    fn sectors_offered_past_the_block_are_ignored() {
        let cache = ReadCache::new(16 << 20).expect("on");
        let data = vec![7u8; 80 * SECTOR];
        cache.fill(key(1, 0), BLOCK, 0, &data, &[true; 80]);
        let hit = cache.get(&key(1, 0), 0, BLOCK).expect("the block's own 16 sectors");
        assert!(hit.bytes().iter().all(|b| *b == 7));
        cache.fill(key(1, 1), BLOCK, 8 * SECTOR, &data, &[true; 80]);
        assert!(cache.get(&key(1, 1), 8 * SECTOR, BLOCK).is_some());
        assert!(cache.get(&key(1, 1), 0, SECTOR).is_none());
    }

    #[test]
    fn a_block_changed_in_memory_is_dropped_not_served() {
        let cache = ReadCache::new(16 << 20).expect("on");
        let data = block_bytes(9);
        cache.fill(key(3, 0), BLOCK, 0, &data, &[true; 16]);
        // Flip a bit of the cached copy behind the cache's back, as bad memory would.
        {
            let mut shard = cache.shard(&key(3, 0)).lock().expect("lock");
            let slot = shard.map.get_mut(&key(3, 0)).expect("cached");
            let mut bytes = slot.block.bytes.clone();
            bytes[5 * SECTOR + 17] ^= 0x04;
            slot.block = Arc::new(CachedBlock { bytes, valid: slot.block.valid, crcs: slot.block.crcs.clone() });
        }
        assert!(cache.get(&key(3, 0), 0, SECTOR).is_some(), "sector 0 is intact");
        assert!(cache.get(&key(3, 0), 5 * SECTOR, 6 * SECTOR).is_none(), "sector 5 no longer matches");
        assert!(cache.get(&key(3, 0), 0, SECTOR).is_none(), "the whole block is gone");
        assert_eq!(cache.stats().resident_bytes, 0);
    }
}
