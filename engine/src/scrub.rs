//! The scrubber: walks volumes, verifies every block of every shard at a
//! bounded rate, and rewrites shards that are damaged or missing from the
//! others' parity.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stratum_meta::VolumeRef;

use crate::error::Result;
use crate::node::Node;
use crate::shard::{ShardHeader, ShardSink, Target};
use crate::volume::VolumeReader;

/// Stripes checked per read round.
const STRIPES_PER_ROUND: u64 = 16;

/// What scrubbing found, summed over volumes (and cores).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScrubReport {
    pub volumes: u64,
    pub bytes_checked: u64,
    pub bad_blocks: u64,
    pub shards_repaired: u64,
    pub volumes_unrecoverable: u64,
    /// Volumes written again with one shard per disk (see `mover::needs_respread`).
    pub volumes_respread: u64,
}

impl ScrubReport {
    pub fn add(&mut self, other: &ScrubReport) {
        self.volumes += other.volumes;
        self.bytes_checked += other.bytes_checked;
        self.bad_blocks += other.bad_blocks;
        self.shards_repaired += other.shards_repaired;
        self.volumes_unrecoverable += other.volumes_unrecoverable;
        self.volumes_respread += other.volumes_respread;
    }
}

/// Node-wide scrub totals, for the admin endpoint and metrics.
#[derive(Default)]
pub struct ScrubTotals {
    pub volumes: AtomicU64,
    pub bytes_checked: AtomicU64,
    pub bad_blocks: AtomicU64,
    pub shards_repaired: AtomicU64,
    pub volumes_unrecoverable: AtomicU64,
    pub volumes_respread: AtomicU64,
}

impl ScrubTotals {
    pub fn record(&self, r: &ScrubReport) {
        self.volumes.fetch_add(r.volumes, Ordering::Relaxed);
        self.bytes_checked.fetch_add(r.bytes_checked, Ordering::Relaxed);
        self.bad_blocks.fetch_add(r.bad_blocks, Ordering::Relaxed);
        self.shards_repaired.fetch_add(r.shards_repaired, Ordering::Relaxed);
        self.volumes_unrecoverable.fetch_add(r.volumes_unrecoverable, Ordering::Relaxed);
        self.volumes_respread.fetch_add(r.volumes_respread, Ordering::Relaxed);
    }
}

/// Paces work to `bytes_per_sec` (0: as fast as the disks go).
pub struct Throttle {
    bytes_per_sec: u64,
    started: Instant,
    bytes: u64,
}

impl Throttle {
    pub fn new(bytes_per_sec: u64) -> Throttle {
        Throttle { bytes_per_sec, started: Instant::now(), bytes: 0 }
    }

    pub(crate) async fn pace(&mut self, bytes: u64) {
        self.bytes += bytes;
        if self.bytes_per_sec == 0 {
            return;
        }
        let due = Duration::from_secs_f64(self.bytes as f64 / self.bytes_per_sec as f64);
        if let Some(wait) = due.checked_sub(self.started.elapsed()) {
            glommio::timer::sleep(wait).await;
        }
    }
}

/// Verifies every block of every shard of a volume; rewrites damaged or
/// missing shards on their (healthy) disks.
pub async fn scrub_volume(node: &Arc<Node>, vref: &VolumeRef, size: u64, throttle: &mut Throttle) -> ScrubReport {
    let reader = VolumeReader::background(node.clone(), vref.clone(), size);
    let mut report = ScrubReport { volumes: 1, ..Default::default() };
    let blocks = reader.block_count();
    let shards = vref.disks.len();
    let mut damaged = vec![false; shards];
    let mut first = 0;
    while first < blocks {
        let last = (first + STRIPES_PER_ROUND - 1).min(blocks - 1);
        let checked = reader.check(first, last).await;
        for (shard, oks) in checked.iter().enumerate() {
            let bad = oks.iter().filter(|ok| !**ok).count() as u64;
            report.bad_blocks += bad;
            damaged[shard] |= bad > 0;
        }
        let bytes = (last - first + 1) * u64::from(vref.block_size) * shards as u64;
        report.bytes_checked += bytes;
        throttle.pace(bytes).await;
        first = last + 1;
    }
    // Another task repairing the same volume will finish the job.
    if damaged.iter().any(|d| *d) && node.begin_repair(vref.id) {
        match rewrite_shards(node, &reader, &damaged).await {
            Ok(n) => report.shards_repaired += n,
            Err(e) => {
                tracing::error!(volume = %format!("{:016x}", vref.id), error = %e, "volume cannot be repaired");
                report.volumes_unrecoverable += 1;
            }
        }
        node.end_repair(vref.id);
    }
    report
}

/// Writes fresh copies of the damaged shards (each to a temp file, then
/// renamed over the old one), stripe by stripe from the good shards.
async fn rewrite_shards(node: &Arc<Node>, reader: &VolumeReader, damaged: &[bool]) -> Result<u64> {
    let v = reader.vref().clone();
    let mut sinks: Vec<(usize, ShardSink)> = Vec::new();
    for (shard, _) in damaged.iter().enumerate().filter(|(_, d)| **d) {
        let Some(disk) = v.disks.get(shard).and_then(|id| node.disk(*id)).filter(|d| !d.is_faulty()) else {
            tracing::warn!(volume = %format!("{:016x}", v.id), shard, "shard's disk is faulty: the volume is written elsewhere once the tier has room");
            continue;
        };
        let header = ShardHeader::of(&v, shard);
        let tmp = disk.tmp_dir(v.slice).join(format!("{:016x}.{shard}.repair", v.id));
        let sink = ShardSink::create(
            disk,
            v.slice,
            header,
            tmp,
            disk.shard_path(v.slice, v.id, shard),
            disk.volume_dir(v.slice, v.id),
            Target::Replace,
        )
        .await?;
        sinks.push((shard, sink));
    }
    for block in 0..reader.block_count() {
        let blocks = reader.stripe_blocks(block).await?;
        for (shard, sink) in sinks.iter_mut() {
            if let Some(b) = blocks.get(*shard) {
                sink.push_block(b).await?;
            }
        }
    }
    let repaired = sinks.len() as u64;
    for (shard, sink) in sinks {
        sink.seal().await?;
        tracing::info!(volume = %format!("{:016x}", v.id), shard, "shard rewritten");
    }
    Ok(repaired)
}
