//! What all cores of a node share: the disks and tiers, the metadata
//! partitions, the bucket table (small, read on every request) and counters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use stratum_meta::{partition_of_bucket, partition_of_object, BucketRecord, Partition};

use crate::disk::{read_id, write_id, Disk};
use crate::error::{EngineError, Result};
use crate::io::DiskIo;
use crate::tier::{Scheme, Tier, TierConfig};

const FORMAT_FILE: &str = "stratum.format";
const FORMAT_LINE: &str = "stratum data v1";

/// How the node is laid out on its disks.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The first disk of the hot tier also holds the metadata (of a new
    /// node; an existing one finds it on whichever disk holds it).
    pub tiers: Vec<TierConfig>,
    pub cores: usize,
    /// Bodies up to this size live inside their metadata record.
    pub inline_max_bytes: usize,
    /// Background scrub rate per core (0: no background scrub).
    pub scrub_bytes_per_sec: u64,
    /// Pause before each background scrub pass.
    pub scrub_interval: std::time::Duration,
    /// Multipart uploads older than this are aborted (their parts freed).
    pub multipart_expiry: std::time::Duration,
    /// Automatic tiering (acts only on a node with two tiers or more).
    pub autotier: crate::autotier::AutoTierConfig,
    /// Memory for verified blocks read by clients (0: no read cache).
    pub read_cache_bytes: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct ScrubSchedule {
    pub bytes_per_sec: u64,
    pub interval: std::time::Duration,
}

impl NodeConfig {
    /// One data directory, the hot tier, default scheme.
    pub fn single(data: &Path, cores: usize) -> NodeConfig {
        NodeConfig {
            tiers: vec![TierConfig { tier: Tier::Hot, disks: vec![data.to_owned()], scheme: None }],
            cores,
            inline_max_bytes: crate::limits::INLINE_MAX_BYTES,
            scrub_bytes_per_sec: crate::limits::SCRUB_BYTES_PER_SEC,
            scrub_interval: crate::limits::SCRUB_INTERVAL,
            multipart_expiry: crate::limits::MULTIPART_EXPIRY,
            autotier: Default::default(),
            read_cache_bytes: 0,
        }
    }
}

pub struct TierState {
    pub tier: Tier,
    pub disks: Vec<u32>,
    pub scheme: Scheme,
}

/// Event counters, exported by the admin and metrics endpoints.
#[derive(Default)]
pub struct Counters {
    /// Stripes rebuilt from parity during reads.
    pub reconstructed_stripes: AtomicU64,
    /// Reads that failed because more shards were damaged than parity covers.
    pub unrecoverable_reads: AtomicU64,
    /// Blocks whose crc32c did not match.
    pub corrupt_blocks: AtomicU64,
    /// Bytes read from disk, and bytes served, for read amplification.
    pub disk_read_bytes: AtomicU64,
    pub served_bytes: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Cross-core traffic, per core: how often a core handed a request to the
/// core owning its partition, and how many jobs wait on each core now.
pub struct CoreCounters {
    handoffs: Vec<AtomicU64>,
    queued: Vec<AtomicU64>,
}

impl CoreCounters {
    fn new(cores: usize) -> CoreCounters {
        CoreCounters {
            handoffs: (0..cores).map(|_| AtomicU64::new(0)).collect(),
            queued: (0..cores).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// A job handed from core `from` to core `to`: queued until `done`.
    pub fn handed(&self, from: usize, to: usize) {
        if let Some(c) = self.handoffs.get(from) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(q) = self.queued.get(to) {
            q.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn done(&self, to: usize) {
        if let Some(q) = self.queued.get(to) {
            q.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Requests core `core` handed to another core, in total.
    pub fn handoffs(&self, core: usize) -> u64 {
        self.handoffs.get(core).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Jobs handed to core `core` and not yet answered.
    pub fn queued(&self, core: usize) -> u64 {
        self.queued.get(core).map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

pub struct Node {
    primary: PathBuf,
    io: Arc<dyn DiskIo>,
    cores: usize,
    partitions: Vec<Arc<Partition>>,
    buckets: RwLock<BTreeMap<String, BucketRecord>>,
    disks: BTreeMap<u32, Arc<Disk>>,
    tiers: Vec<TierState>,
    inline_max_bytes: usize,
    scrub: ScrubSchedule,
    multipart_expiry: std::time::Duration,
    pub counters: Counters,
    pub core_counters: CoreCounters,
    pub scrub_totals: crate::scrub::ScrubTotals,
    /// Readers of each volume id: its files are not removed while held.
    in_use: std::sync::Mutex<std::collections::HashMap<u64, usize>>,
    read_cache: Option<crate::cache::ReadCache>,
    /// Volumes freed by commits, with when: removed after a grace period.
    freed: std::sync::Mutex<Vec<(std::time::Instant, stratum_meta::VolumeRef)>>,
    /// Volumes being repaired right now: one repair per volume at a time.
    repairing: std::sync::Mutex<std::collections::HashSet<u64>>,
    /// Buckets a DeleteBucket is emptiness-checking: they take no new content.
    deleting: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Volumes a read had to reconstruct, waiting for the scrubber to repair.
    repairs: std::sync::Mutex<std::collections::VecDeque<(stratum_meta::VolumeRef, u64)>>,
    /// Paces the metadata flushes a short metadata disk starts.
    metadata_flush: Pacer,
    /// Temp files of interrupted writes removed at start-up.
    pub temp_files_removed: usize,
    /// Shard files no record referenced, removed at start-up.
    pub orphans_removed: usize,
    /// Automatic tiering, when it can act on this node.
    pub autotier: Option<crate::autotier::AutoTierShared>,
}

impl Node {
    /// Opens (or creates) a node. The number of metadata partitions is fixed
    /// when the node is created; with a different core count later, partition
    /// `p` is served by core `p % cores`.
    pub fn open(config: &NodeConfig) -> Result<Arc<Node>> {
        Node::open_with_io(config, Arc::new(crate::io::Uring))
    }

    /// Opens a node whose shard files go through `io` (a simulated disk in tests).
    pub fn open_with_io(config: &NodeConfig, io: Arc<dyn DiskIo>) -> Result<Arc<Node>> {
        let first_hot = config
            .tiers
            .iter()
            .find(|t| t.tier == Tier::Hot)
            .and_then(|t| t.disks.first())
            .ok_or_else(|| EngineError::Io(std::io::Error::other("the hot tier needs at least one disk")))?;
        let primary = locate_metadata(config, first_hot, io.as_ref())?;
        std::fs::create_dir_all(&primary)?;
        let format = read_format(&primary)?;
        let partition_count = format.as_ref().map_or(config.cores, |f| f.partitions);
        let partition_dirs: Vec<PathBuf> =
            (0..partition_count).map(|p| primary.join("meta").join(format!("p{p}"))).collect();
        if format.is_some() {
            if let Some(gone) = partition_dirs.iter().find(|d| !d.exists()) {
                refuse_if_any_holds_shards(
                    config,
                    io.as_ref(),
                    &format!("the metadata partition {} is missing", gone.display()),
                )?;
            }
        }
        let known = format.map(|f| f.disks).unwrap_or_default();
        let (disks, tiers) = open_disks(config, &known, &io)?;
        write_format(&primary, partition_count, &disks)?;

        let mut partitions = Vec::with_capacity(partition_count);
        let mut buckets = BTreeMap::new();
        for dir in &partition_dirs {
            let partition = Partition::open(dir)?;
            for bucket in partition.buckets()? {
                buckets.insert(bucket.name.clone(), bucket);
            }
            partitions.push(Arc::new(partition));
        }
        let orphans_removed = {
            let mut referenced = std::collections::HashSet::new();
            for partition in &partitions {
                partition.referenced_volumes(&mut referenced)?;
            }
            let healthy: Vec<&Disk> = disks.values().map(|d| d.as_ref()).collect();
            crate::orphans::sweep(&healthy, &referenced)?
        };
        let deployed_ms = match partitions.first() {
            Some(p) => p.deployed_ms(crate::autotier::now_ms())?,
            None => crate::autotier::now_ms(),
        };
        let present: Vec<Tier> = tiers.iter().map(|t| t.tier).collect();
        let autotier =
            crate::autotier::AutoTierShared::new(config.autotier.clone(), &present, config.cores, deployed_ms)
                .map_err(|e| EngineError::Io(std::io::Error::other(format!("[tiering] {e}"))))?;
        let mut temp_files_removed = 0;
        for disk in disks.values().filter(|d| !d.is_faulty()) {
            let mut slices: Vec<u16> = (0..config.cores as u16).collect();
            slices.extend(disk.slices()?);
            slices.sort_unstable();
            slices.dedup();
            for core in slices {
                match disk.prepare_slice(core) {
                    Ok(n) => temp_files_removed += n,
                    Err(e) => disk.mark_faulty(&format!("cannot prepare core-{core}: {e}")),
                }
            }
        }
        Ok(Arc::new(Node {
            primary,
            io,
            cores: config.cores,
            partitions,
            buckets: RwLock::new(buckets),
            disks,
            tiers,
            inline_max_bytes: config.inline_max_bytes,
            scrub: ScrubSchedule { bytes_per_sec: config.scrub_bytes_per_sec, interval: config.scrub_interval },
            multipart_expiry: config.multipart_expiry,
            counters: Counters::default(),
            core_counters: CoreCounters::new(config.cores),
            scrub_totals: Default::default(),
            repairs: Default::default(),
            repairing: Default::default(),
            deleting: Default::default(),
            in_use: Default::default(),
            read_cache: crate::cache::ReadCache::new(config.read_cache_bytes),
            freed: Default::default(),
            metadata_flush: Pacer::default(),
            temp_files_removed,
            orphans_removed,
            autotier,
        }))
    }

    /// Verified blocks kept for client reads, when the node has a cache.
    pub fn read_cache(&self) -> Option<&crate::cache::ReadCache> {
        self.read_cache.as_ref()
    }

    /// The disk holding the metadata (the first hot disk when the node was made).
    pub fn data_dir(&self) -> &Path {
        &self.primary
    }

    /// The disk operations of the shard path.
    pub fn io(&self) -> &Arc<dyn DiskIo> {
        &self.io
    }

    pub fn cores(&self) -> usize {
        self.cores
    }

    pub fn inline_max_bytes(&self) -> usize {
        self.inline_max_bytes
    }

    pub fn scrub_schedule(&self) -> ScrubSchedule {
        self.scrub
    }

    pub fn multipart_expiry(&self) -> std::time::Duration {
        self.multipart_expiry
    }

    /// Whether the metadata disk is down to its reserve
    /// (`METADATA_RESERVE_BYTES`) plus what the memtables will write when
    /// flushed. It then also counts as full, so shards go to other disks
    /// and kept freed files are given back; it takes shards again once
    /// `Disk::check_space` finds room.
    pub fn metadata_is_short(&self) -> bool {
        let Some(disk) = self.disks.values().find(|d| d.path == self.primary) else { return false };
        let Some((total, free)) = disk.space() else { return false };
        let unflushed: u64 = self.partitions.iter().map(|p| p.unflushed_bytes()).sum();
        let reserve = crate::limits::METADATA_RESERVE_BYTES.min(total / 8);
        let short = free < reserve.saturating_add(unflushed);
        // Memtables near the room left: flush them while their tables
        // still fit (a 64 MiB memtable on a small disk would otherwise
        // grow until the flush meets ENOSPC, and fjall stops for good).
        let tight = free < reserve.saturating_add(2 * unflushed);
        if tight && unflushed > 0 && self.metadata_flush.take_turn(std::time::Duration::from_secs(1)) {
            for p in &self.partitions {
                if let Err(e) = p.start_flush() {
                    tracing::warn!(error = %e, "cannot start a metadata flush");
                }
            }
        }
        if short {
            disk.mark_full();
        }
        short
    }

    pub fn disk(&self, id: u32) -> Option<&Arc<Disk>> {
        self.disks.get(&id)
    }

    pub fn disks(&self) -> impl Iterator<Item = &Arc<Disk>> {
        self.disks.values()
    }

    pub fn tier(&self, tier: Tier) -> Option<&TierState> {
        self.tiers.iter().find(|t| t.tier == tier)
    }

    pub fn tiers(&self) -> &[TierState] {
        &self.tiers
    }

    pub fn partition(&self, p: usize) -> Option<&Arc<Partition>> {
        self.partitions.get(p)
    }

    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    pub fn core_of_partition(&self, p: usize) -> usize {
        p % self.cores
    }

    pub fn object_partition(&self, bucket: &str, key: &str) -> usize {
        partition_of_object(bucket, key, self.partitions.len())
    }

    pub fn bucket_partition(&self, bucket: &str) -> usize {
        partition_of_bucket(bucket, self.partitions.len())
    }

    pub fn bucket(&self, name: &str) -> Option<BucketRecord> {
        self.buckets.read().ok()?.get(name).cloned()
    }

    pub fn buckets(&self) -> Vec<BucketRecord> {
        self.buckets.read().map(|b| b.values().cloned().collect()).unwrap_or_default()
    }

    /// Marks volumes as being read, so a concurrent overwrite or delete does
    /// not remove their files under the reader.
    pub(crate) fn hold(&self, ids: &[u64]) {
        if let Ok(mut held) = self.in_use.lock() {
            for id in ids {
                *held.entry(*id).or_default() += 1;
            }
        }
    }

    pub(crate) fn release(&self, ids: &[u64]) {
        if let Ok(mut held) = self.in_use.lock() {
            for id in ids {
                if let Some(n) = held.get_mut(id) {
                    *n -= 1;
                    if *n == 0 {
                        held.remove(id);
                    }
                }
            }
        }
    }

    /// Queues volumes that a commit unreferenced. Their files stay for a
    /// grace period (a GET may have looked the old record up a moment ago)
    /// and while any reader holds them.
    pub(crate) fn free_later(&self, volumes: Vec<stratum_meta::VolumeRef>) {
        if volumes.is_empty() {
            return;
        }
        let now = std::time::Instant::now();
        if let Ok(mut freed) = self.freed.lock() {
            freed.extend(volumes.into_iter().map(|v| (now, v)));
        }
    }

    /// Takes the freed volumes whose files can go now (`all`: every one, at shutdown).
    pub fn take_freed(&self, all: bool) -> Vec<stratum_meta::VolumeRef> {
        let held = self.in_use.lock().map(|h| h.keys().copied().collect::<std::collections::HashSet<u64>>());
        let (Ok(held), Ok(mut freed)) = (held, self.freed.lock()) else { return Vec::new() };
        let now = std::time::Instant::now();
        let (ready, waiting): (Vec<_>, Vec<_>) = freed.drain(..).partition(|(at, v)| {
            all || (now.duration_since(*at) >= crate::limits::FREE_GRACE && !held.contains(&v.id))
        });
        *freed = waiting;
        ready.into_iter().map(|(_, v)| v).collect()
    }

    /// Claims a volume for repair; false if another task is repairing it.
    pub(crate) fn begin_repair(&self, id: u64) -> bool {
        self.repairing.lock().map(|mut r| r.insert(id)).unwrap_or(false)
    }

    pub(crate) fn end_repair(&self, id: u64) {
        if let Ok(mut r) = self.repairing.lock() {
            r.remove(&id);
        }
    }

    pub(crate) fn queue_repair(&self, vref: stratum_meta::VolumeRef, size: u64) {
        if let Ok(mut q) = self.repairs.lock() {
            if !q.iter().any(|(v, _)| v.id == vref.id) {
                q.push_back((vref, size));
            }
        }
    }

    /// Takes the volumes queued for repair.
    pub fn take_repairs(&self) -> Vec<(stratum_meta::VolumeRef, u64)> {
        self.repairs.lock().map(|mut q| q.drain(..).collect()).unwrap_or_default()
    }

    /// Takes a new, empty directory in place of disk `id` (which lost its
    /// id: wiped or swapped): writes the id, creates the core slices and
    /// marks the disk healthy and refilling. Its shards are rewritten by
    /// a scrub of every volume (see `Store::refill`). Refuses a directory
    /// that still carries an id or holds anything: a forgotten mount must
    /// never be taken for a blank disk.
    pub fn replace_disk(&self, id: u32) -> Result<()> {
        let disk = self.disk(id).ok_or_else(|| EngineError::InvalidDisk(format!("no disk has id {id}")))?;
        match read_id(&disk.path) {
            Some(found) if found == id => {
                return Err(EngineError::InvalidDisk(format!(
                    "disk {id} ({}) still carries its id: it was not replaced",
                    disk.path.display()
                )))
            }
            Some(found) => {
                return Err(EngineError::InvalidDisk(format!("{} carries the id of disk {found}", disk.path.display())))
            }
            None => {}
        }
        std::fs::create_dir_all(&disk.path)?;
        // A fresh filesystem may hold its own lost+found; anything else is data.
        let foreign = std::fs::read_dir(&disk.path)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .find(|name| name != "lost+found");
        if let Some(name) = foreign {
            return Err(EngineError::InvalidDisk(format!(
                "{} is not empty (it holds {}): only an empty directory can replace a disk",
                disk.path.display(),
                name.to_string_lossy()
            )));
        }
        write_id(&disk.path, id)?;
        let mut slices: Vec<u16> = (0..self.cores as u16).collect();
        for other in self.disks.values().filter(|d| d.id != id && !d.is_faulty()) {
            slices.extend(other.slices().unwrap_or_default());
        }
        slices.sort_unstable();
        slices.dedup();
        for core in slices {
            disk.prepare_slice(core)?;
        }
        disk.set_refilling(true);
        if !disk.probe() {
            disk.set_refilling(false);
            return Err(EngineError::InvalidDisk(format!("{} does not take a durable write", disk.path.display())));
        }
        tracing::info!(disk = id, path = %disk.path.display(), "disk replaced; refilling");
        Ok(())
    }

    pub(crate) fn remember_bucket(&self, record: BucketRecord) {
        if let Ok(mut b) = self.buckets.write() {
            b.insert(record.name.clone(), record);
        }
    }

    pub(crate) fn forget_bucket(&self, name: &str) {
        if let Ok(mut b) = self.buckets.write() {
            b.remove(name);
        }
    }

    /// Starts deleting a bucket; false if another delete of it is running.
    pub(crate) fn begin_bucket_delete(&self, name: &str) -> bool {
        self.deleting.lock().is_ok_and(|mut d| d.insert(name.to_owned()))
    }

    pub(crate) fn end_bucket_delete(&self, name: &str) {
        if let Ok(mut d) = self.deleting.lock() {
            d.remove(name);
        }
    }

    /// New objects and uploads may be committed into the bucket: it exists
    /// and no DeleteBucket is checking it.
    pub(crate) fn takes_new_content(&self, bucket: &str) -> bool {
        self.bucket(bucket).is_some() && self.deleting.lock().is_ok_and(|d| !d.contains(bucket))
    }
}

struct Format {
    partitions: usize,
    /// Disk paths the node has used, by id.
    disks: BTreeMap<PathBuf, u32>,
}

/// Where the node's metadata lives: the configured disk holding its format
/// file. That is the first hot disk when the node was made, wherever the
/// configuration lists it now, so reordering `--data` loses nothing. A new
/// node is made only when no configured disk holds shards: starting with
/// empty metadata beside them (the metadata disk not mounted, or left out)
/// would remove every one of them as an orphan.
/// Lets one caller through per interval, from any thread.
#[derive(Default)]
struct Pacer {
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Pacer {
    fn take_turn(&self, every: std::time::Duration) -> bool {
        let Ok(mut last) = self.last.lock() else { return false };
        if last.is_some_and(|at| at.elapsed() < every) {
            return false;
        }
        *last = Some(std::time::Instant::now());
        true
    }
}

fn locate_metadata(config: &NodeConfig, first_hot: &Path, io: &dyn DiskIo) -> Result<PathBuf> {
    let all: Vec<&PathBuf> = config.tiers.iter().flat_map(|t| &t.disks).collect();
    let homes: Vec<&PathBuf> = all.iter().copied().filter(|d| d.join(FORMAT_FILE).exists()).collect();
    match homes.as_slice() {
        [home] => Ok((*home).clone()),
        [] => {
            refuse_if_any_holds_shards(
                config,
                io,
                "no configured disk holds this node's metadata (stratum.format, meta/)",
            )?;
            Ok(first_hot.to_owned())
        }
        many => {
            let names: Vec<String> = many.iter().map(|d| d.display().to_string()).collect();
            Err(EngineError::Io(std::io::Error::other(format!(
                "several configured disks hold a node's metadata ({}): disks of different nodes are mixed",
                names.join(", ")
            ))))
        }
    }
}

/// Refuses to go on with `why` when some configured disk holds shard files.
fn refuse_if_any_holds_shards(config: &NodeConfig, io: &dyn DiskIo, why: &str) -> Result<()> {
    let all = config.tiers.iter().flat_map(|t| &t.disks);
    match all.into_iter().find(|d| holds_shards(io, d)) {
        None => Ok(()),
        Some(disk) => Err(EngineError::Io(std::io::Error::other(format!(
            "{why}, but {} holds shard files: is the disk holding the metadata mounted and configured? \
             Refusing to start, since empty metadata would make every shard an orphan",
            disk.display()
        )))),
    }
}

/// Whether `disk` holds any shard file (`core-*/vol/*/<id>.<shard>`). A
/// directory that cannot be listed counts as holding some.
fn holds_shards(io: &dyn DiskIo, disk: &Path) -> bool {
    let list = |dir: &Path| match io.list(dir) {
        Ok(names) => Some(names),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Vec::new()),
        Err(_) => None,
    };
    let Some(slices) = list(disk) else { return true };
    for slice in slices.iter().filter(|n| n.starts_with("core-")) {
        let vol = disk.join(slice).join("vol");
        let Some(fans) = list(&vol) else { return true };
        for fan in fans {
            match list(&vol.join(fan)) {
                None => return true,
                Some(names) if names.iter().any(|n| crate::orphans::volume_id(n).is_some()) => return true,
                Some(_) => {}
            }
        }
    }
    false
}

fn read_format(primary: &Path) -> Result<Option<Format>> {
    let path = primary.join(FORMAT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    parse_format(&text).map(Some).ok_or_else(|| {
        EngineError::Io(std::io::Error::other(format!("{} is not a Stratum format file", path.display())))
    })
}

fn parse_format(text: &str) -> Option<Format> {
    let mut lines = text.lines();
    (lines.next()? == FORMAT_LINE).then_some(())?;
    let mut partitions = None;
    let mut disks = BTreeMap::new();
    for line in lines {
        if let Some(n) = line.strip_prefix("partitions=") {
            partitions = n.trim().parse().ok().filter(|n| *n > 0);
        } else if let Some(rest) = line.strip_prefix("disk ") {
            let (id, path) = rest.split_once(' ')?;
            disks.insert(PathBuf::from(path), id.parse().ok()?);
        }
    }
    Some(Format { partitions: partitions?, disks })
}

fn write_format(primary: &Path, partitions: usize, disks: &BTreeMap<u32, Arc<Disk>>) -> Result<()> {
    let mut text = format!("{FORMAT_LINE}\npartitions={partitions}\n");
    for disk in disks.values() {
        text.push_str(&format!("disk {} {}\n", disk.id, disk.path.display()));
    }
    let path = primary.join(FORMAT_FILE);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    let tmp = primary.join(format!("{FORMAT_FILE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(primary)?.sync_all()?;
    Ok(())
}

type DiskMap = BTreeMap<u32, Arc<Disk>>;

/// Identifies every configured disk. A disk the node knew whose directory
/// lost its id (unmounted, wiped) is kept under its old id, marked faulty:
/// reads reconstruct around it and no shard is written to it.
fn open_disks(
    config: &NodeConfig,
    known: &BTreeMap<PathBuf, u32>,
    io: &Arc<dyn DiskIo>,
) -> Result<(DiskMap, Vec<TierState>)> {
    let mut disks: BTreeMap<u32, Arc<Disk>> = BTreeMap::new();
    let mut tiers = Vec::new();
    let mut next_id = known.values().copied().max().map_or(1, |m| m + 1);
    for tier in &config.tiers {
        let mut ids = Vec::new();
        for path in &tier.disks {
            let found = read_id(path);
            let (id, missing) = match (found, known.get(path)) {
                // An id this node never gave: the disk is another node's,
                // and the orphan sweep would take every shard on it.
                (Some(id), _)
                    if !known.is_empty() && !known.values().any(|k| *k == id) && holds_shards(io.as_ref(), path) =>
                {
                    return Err(EngineError::Io(std::io::Error::other(format!(
                        "disk {} carries id {id}, which this node never gave, and holds shard files: \
                         it belongs to another node. Refusing to start",
                        path.display()
                    ))));
                }
                (Some(id), _) => (id, false),
                (None, Some(id)) => (*id, true),
                (None, None) => {
                    while disks.contains_key(&next_id) {
                        next_id += 1;
                    }
                    write_id(path, next_id)?;
                    next_id += 1;
                    (next_id - 1, false)
                }
            };
            if disks.contains_key(&id) {
                return Err(EngineError::Io(std::io::Error::other(format!(
                    "disk {} is configured twice (id {id})",
                    path.display()
                ))));
            }
            let disk = Arc::new(Disk::new(id, path.clone(), tier.tier, io.clone()));
            if missing {
                disk.mark_faulty("its directory lost its stratum.disk id (missing or replaced disk)");
            }
            disks.insert(id, disk);
            ids.push(id);
        }
        let scheme = tier.scheme.unwrap_or_else(|| Scheme::for_disks(ids.len()));
        tiers.push(TierState { tier: tier.tier, disks: ids, scheme });
    }
    Ok((disks, tiers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_file_parses_and_rejects() {
        let f = parse_format("stratum data v1\npartitions=4\ndisk 1 /a b/c\n").expect("parses");
        assert_eq!(f.partitions, 4);
        assert_eq!(f.disks.get(Path::new("/a b/c")), Some(&1));
        assert!(parse_format("stratum data v1\npartitions=0\n").is_none());
        assert!(parse_format("something else\npartitions=4\n").is_none());
    }

    #[test]
    fn a_disk_that_lost_its_id_is_faulty_not_reinitialised() {
        let root = fresh_root("ids");
        let disks: Vec<PathBuf> = (0..3).map(|i| root.join(format!("d{i}"))).collect();
        let config = hot(&disks, 1);
        let node = Node::open(&config).expect("opens");
        assert_eq!(node.tier(Tier::Hot).map(|t| t.scheme), Some(Scheme { data: 2, parity: 1 }));
        drop(node);
        std::fs::remove_dir_all(&disks[2]).expect("remove disk");
        std::fs::create_dir_all(&disks[2]).expect("empty disk");
        let node = Node::open(&config).expect("reopens");
        let faulty: Vec<u32> = node.disks().filter(|d| d.is_faulty()).map(|d| d.id).collect();
        assert_eq!(faulty, vec![3]);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// An empty directory of this test process under the temp dir.
    fn fresh_root(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("stratum-node-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        root
    }

    fn hot(disks: &[PathBuf], cores: usize) -> NodeConfig {
        NodeConfig {
            tiers: vec![TierConfig { tier: Tier::Hot, disks: disks.to_vec(), scheme: None }],
            cores,
            inline_max_bytes: 0,
            scrub_bytes_per_sec: 0,
            scrub_interval: std::time::Duration::from_secs(1),
            multipart_expiry: std::time::Duration::from_secs(3600),
            autotier: Default::default(),
            read_cache_bytes: 0,
        }
    }

    /// A shard file as the engine names them, unreferenced by any record.
    fn plant_shard(disk: &Path) -> PathBuf {
        let dir = disk.join("core-0").join("vol").join("ab");
        std::fs::create_dir_all(&dir).expect("vol dir");
        let shard = dir.join("00000000000000ab.0");
        std::fs::write(&shard, b"shard").expect("shard");
        shard
    }

    #[test]
    fn metadata_is_found_on_whichever_disk_holds_it() {
        let root = fresh_root("order");
        let disks: Vec<PathBuf> = (0..2).map(|i| root.join(format!("d{i}"))).collect();
        let node = Node::open(&hot(&disks, 3)).expect("opens");
        assert_eq!(node.data_dir(), disks[0].as_path());
        drop(node);
        // Listed the other way round, with another core count: the same
        // node (its three partitions), its metadata where it was.
        let swapped = vec![disks[1].clone(), disks[0].clone()];
        let node = Node::open(&hot(&swapped, 1)).expect("reopens");
        assert_eq!(node.data_dir(), disks[0].as_path());
        assert_eq!(node.partition_count(), 3);
        assert!(!disks[1].join("meta").exists(), "no second, empty metadata is made");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn no_empty_node_is_made_beside_disks_holding_shards() {
        let root = fresh_root("unmounted");
        let disks: Vec<PathBuf> = (0..2).map(|i| root.join(format!("d{i}"))).collect();
        drop(Node::open(&hot(&disks, 1)).expect("opens"));
        let shard = plant_shard(&disks[1]);
        // The metadata disk is not mounted: its mount point is empty.
        std::fs::remove_dir_all(&disks[0]).expect("unmount");
        std::fs::create_dir_all(&disks[0]).expect("empty mount point");
        let err = Node::open(&hot(&disks, 1)).err().expect("refuses").to_string();
        assert!(err.contains("no configured disk holds this node's metadata"), "{err}");
        assert!(shard.exists(), "the shard is untouched");
        // Left out of the configuration altogether: refused the same way.
        assert!(Node::open(&hot(&disks[1..], 1)).is_err());
        assert!(shard.exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn another_nodes_disk_holding_shards_is_refused() {
        let root = fresh_root("foreign");
        let ours: Vec<PathBuf> = (0..2).map(|i| root.join(format!("ours{i}"))).collect();
        let theirs: Vec<PathBuf> = (0..4).map(|i| root.join(format!("theirs{i}"))).collect();
        drop(Node::open(&hot(&ours, 1)).expect("ours"));
        drop(Node::open(&hot(&theirs, 1)).expect("theirs"));
        let mut mixed = ours.clone();
        mixed.push(theirs[3].clone());
        let shard = plant_shard(&theirs[3]);
        let err = Node::open(&hot(&mixed, 1)).err().expect("refuses").to_string();
        assert!(err.contains("belongs to another node"), "{err}");
        assert!(shard.exists(), "the other node's shard is untouched");
        // Without shards it could be anything's: taken under its id.
        std::fs::remove_file(&shard).expect("empty it");
        let node = Node::open(&hot(&mixed, 1)).expect("a foreign disk without shards is taken");
        assert_eq!(node.disks().map(|d| d.id).collect::<Vec<_>>(), vec![1, 2, 4]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn missing_metadata_partitions_beside_shards_are_refused() {
        let root = fresh_root("nometa");
        let disks = vec![root.join("d0")];
        drop(Node::open(&hot(&disks, 2)).expect("opens"));
        std::fs::remove_dir_all(disks[0].join("meta").join("p1")).expect("lose a partition");
        // Nothing stored: nothing to lose, the partition is made again.
        drop(Node::open(&hot(&disks, 2)).expect("reopens without shards"));
        std::fs::remove_dir_all(disks[0].join("meta").join("p1")).expect("lose a partition");
        let shard = plant_shard(&disks[0]);
        let err = Node::open(&hot(&disks, 2)).err().expect("refuses").to_string();
        assert!(err.contains("is missing"), "{err}");
        assert!(shard.exists(), "the shard is untouched");
        let _ = std::fs::remove_dir_all(&root);
    }
}
