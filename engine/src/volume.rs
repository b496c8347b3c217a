//! Volumes: the stored body of one object or part, erasure-coded over the
//! disks of a tier (or, when small, kept inline in its record).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use futures_util::future::join_all;
use stratum_meta::{SegmentBody, VolumeRef};

use crate::cache::{BlockKey, ReadCache};
use crate::error::{EngineError, Result};
use crate::hashing::Md5Stream;
use crate::io::{ReadBytes, ReadFile};
use crate::layout::{self, Piece};
use crate::limits::{BLOCK_SIZE_BYTES, SECTOR_BYTES};
use crate::node::{Counters, Node};
use crate::shard::{block_offset, crc_table_offset, ShardHeader, ShardSink, Target};
use crate::tier::Tier;

/// A finished, durable body, ready for its metadata to be committed.
#[derive(Debug, Clone)]
pub struct SealedVolume {
    pub body: SegmentBody,
    pub size: u64,
    pub md5: [u8; 16],
}

pub struct VolumeWriter {
    node: Arc<Node>,
    tier: Tier,
    vref: VolumeRef,
    sinks: Vec<ShardSink>,
    stripe: Vec<u8>,
    /// Bytes at the start of `stripe` already fed to `md5`.
    md5_fed: usize,
    len: u64,
    md5: Md5Stream,
}

impl VolumeWriter {
    /// Starts a volume written by `core` into `tier`. No file exists until
    /// the body outgrows the inline threshold, and the disks are chosen
    /// only then: a body that goes inline needs none (full or faulty shard
    /// disks do not refuse a small object the metadata can still hold).
    pub fn new(node: Arc<Node>, core: u16, tier: Tier) -> Result<VolumeWriter> {
        let scheme = node.tier(tier).ok_or(EngineError::InsufficientDisks)?.scheme;
        let id: u64 = rand::random();
        let vref = VolumeRef {
            slice: core,
            id,
            block_size: BLOCK_SIZE_BYTES,
            data_shards: scheme.data,
            parity_shards: scheme.parity,
            // Chosen by `open_sinks`, once the body needs them.
            disks: Vec::new(),
            tier: tier.code(),
        };
        let stripe = Vec::with_capacity(usize::from(scheme.data) * BLOCK_SIZE_BYTES as usize);
        Ok(VolumeWriter { node, tier, vref, sinks: Vec::new(), stripe, md5_fed: 0, len: 0, md5: Md5Stream::new() })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// MD5 of the bytes written so far (checked against Content-MD5 before sealing).
    pub async fn md5(&mut self) -> [u8; 16] {
        if self.md5_fed < self.stripe.len() {
            self.md5.update(&self.stripe[self.md5_fed..]).await;
            self.md5_fed = self.stripe.len();
        }
        self.md5.finish().await
    }

    fn stripe_capacity(&self) -> usize {
        usize::from(self.vref.data_shards) * self.vref.block_size as usize
    }

    /// Appends body bytes. A full stripe is written out only when more
    /// bytes follow, so a body of at most one stripe can still go inline.
    pub async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        self.len += data.len() as u64;
        while !data.is_empty() {
            if self.stripe.len() == self.stripe_capacity() {
                self.emit_stripe().await?;
            }
            let n = (self.stripe_capacity() - self.stripe.len()).min(data.len());
            self.stripe.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(())
    }

    /// Places the volume on the tier's writable disks and creates its
    /// shard files. A disk whose file cannot be created is marked faulty
    /// (or full) by then, and the volume is placed again on the disks left
    /// while they meet the scheme: nothing is written yet, so the client
    /// sees no error for a disk that vanished under a running node.
    async fn open_sinks(&mut self) -> Result<()> {
        let shards = usize::from(self.vref.data_shards) + usize::from(self.vref.parity_shards);
        let mut failed: Option<EngineError> = None;
        let mut id_tries = 0;
        loop {
            let healthy = writable_disks(&self.node, self.tier);
            if healthy.is_empty() || healthy.len() < usize::from(self.vref.data_shards) {
                return Err(failed.unwrap_or_else(|| no_room(&self.node, self.tier)));
            }
            let disks = layout::place(&healthy, shards, self.vref.id);
            if let Some(e) = failed.take() {
                if disks == self.vref.disks {
                    return Err(e);
                }
                tracing::warn!(volume = %format!("{:016x}", self.vref.id), error = %e, "shard file not created: volume placed again");
            }
            self.vref.disks = disks;
            // Shards must not eat the metadata store's reserve; the check
            // marks that disk full, so the next volume is placed around it.
            let on_metadata_disk =
                self.vref.disks.iter().any(|d| self.node.disk(*d).is_some_and(|d| d.path == self.node.data_dir()));
            if on_metadata_disk && self.node.metadata_is_short() {
                return Err(EngineError::Io(std::io::Error::from_raw_os_error(libc::ENOSPC)));
            }
            match self.create_sinks().await {
                Ok(()) => return Ok(()),
                Err(e) if is_taken(&e) && id_tries < ID_TRIES => {
                    // Another writer has a volume of this random id under
                    // way: nothing is written yet, so take another id.
                    for sink in self.sinks.drain(..) {
                        sink.discard().await;
                    }
                    id_tries += 1;
                    self.vref.id = rand::random();
                }
                Err(e) => {
                    for sink in self.sinks.drain(..) {
                        sink.discard().await;
                    }
                    failed = Some(e);
                }
            }
        }
    }

    async fn create_sinks(&mut self) -> Result<()> {
        let v = &self.vref;
        for (shard, disk_id) in v.disks.iter().enumerate() {
            let disk = self.node.disk(*disk_id).ok_or(EngineError::InsufficientDisks)?.clone();
            let header = ShardHeader::of(v, shard);
            let sink = ShardSink::create(
                &disk,
                v.slice,
                header,
                disk.tmp_path(v.slice, v.id, shard),
                disk.shard_path(v.slice, v.id, shard),
                disk.volume_dir(v.slice, v.id),
                Target::New,
            )
            .await
            .map_err(|e| self.disk_failed(disk.id, e))?;
            self.sinks.push(sink);
        }
        Ok(())
    }

    /// Encodes the (zero-padded) stripe and appends one block to every shard.
    async fn emit_stripe(&mut self) -> Result<()> {
        if self.sinks.is_empty() {
            self.open_sinks().await?;
        }
        let filled = self.stripe.len();
        self.stripe.resize(self.stripe_capacity(), 0);
        let bs = self.vref.block_size as usize;
        let parity = encode_parity(&self.stripe, &self.vref)?;
        for (i, block) in self.stripe.chunks(bs).chain(parity.iter().map(Vec::as_slice)).enumerate() {
            if let Some(sink) = self.sinks.get_mut(i) {
                sink.push_block(block).await.map_err(|e| fail(&self.node, sink.disk, e))?;
            }
        }
        // The stripe's bytes go on to the MD5 queue as they are (no copy);
        // the next stripe gets a new buffer.
        self.stripe.truncate(filled);
        let next = Vec::with_capacity(self.stripe_capacity());
        let done = std::mem::replace(&mut self.stripe, next);
        match std::mem::take(&mut self.md5_fed) {
            0 => self.md5.update_owned(done).await,
            fed => self.md5.update(&done[fed..]).await,
        }
        // Shards fill in lock-step: write them out together, one per disk.
        if self.sinks.first().is_some_and(ShardSink::buffer_is_full) {
            let results = join_all(self.sinks.iter_mut().map(|s| async move { (s.disk, s.flush().await) })).await;
            for (disk, result) in results {
                result.map_err(|e| fail(&self.node, disk, e))?;
            }
        }
        Ok(())
    }

    fn disk_failed(&self, disk: u32, e: EngineError) -> EngineError {
        fail(&self.node, disk, e)
    }

    /// Finishes the body: inline if small, else the last stripe, the crc
    /// tables and the fsyncs of every shard. After this the volume survives
    /// power loss; it becomes visible only when its metadata is committed.
    pub async fn seal(mut self) -> Result<SealedVolume> {
        if self.sinks.is_empty() && self.len <= self.node.inline_max_bytes() as u64 {
            let md5 = self.md5().await;
            let bytes = std::mem::take(&mut self.stripe);
            let crc32c = crc32c::crc32c(&bytes);
            return Ok(SealedVolume { body: SegmentBody::Inline { bytes, crc32c }, size: self.len, md5 });
        }
        if !self.stripe.is_empty() || self.sinks.is_empty() {
            if let Err(e) = self.emit_stripe().await {
                self.discard().await;
                return Err(e);
            }
        }
        let node = self.node.clone();
        let results = join_all(self.sinks.drain(..).map(|s| async move { (s.disk, s.seal().await) })).await;
        // On failure the shards this writer put in place are removed; a name
        // that was taken (a volume with the same random id) is not ours.
        let mut failed = None;
        let mut ours = self.vref.clone();
        for (shard, (disk, result)) in results.into_iter().enumerate() {
            if let Err(e) = result {
                if let Some(d) = ours.disks.get_mut(shard).filter(|_| is_taken(&e)) {
                    *d = NO_DISK;
                    tracing::error!(volume = %format!("{:016x}", self.vref.id), shard, "a volume with the same id is in place: this upload fails, the other volume is kept");
                }
                failed = Some(fail(&node, disk, e));
            }
        }
        if let Some(e) = failed {
            crate::commit::remove_volumes(&node, std::slice::from_ref(&ours));
            return Err(e);
        }
        // Asked for only now: while the shards were made durable, the other
        // uploads of this core queued more bytes, so the hasher that this
        // wakes fills more lanes.
        let md5 = self.md5().await;
        Ok(SealedVolume { body: SegmentBody::Volume(self.vref.clone()), size: self.len, md5 })
    }

    /// Drops an unfinished volume (a failed upload): nothing stays behind.
    pub async fn discard(mut self) {
        for sink in self.sinks.drain(..) {
            sink.discard().await;
        }
    }
}

/// Why a tier takes no volume now: short of disks because some are full
/// is the client's 507 (ENOSPC); otherwise disks are missing or faulty.
fn no_room(node: &Node, tier: Tier) -> EngineError {
    let disks = node.tier(tier).map(|t| t.disks.as_slice()).unwrap_or_default();
    if disks.iter().any(|d| node.disk(*d).is_some_and(|d| d.is_full() && !d.is_faulty())) {
        return EngineError::Io(std::io::Error::from_raw_os_error(libc::ENOSPC));
    }
    EngineError::InsufficientDisks
}

/// Whether `tier` has enough writable disks for a new volume now.
pub(crate) fn takes_volumes(node: &Node, tier: Tier) -> bool {
    node.tier(tier).is_some_and(|t| {
        let healthy = writable_disks(node, tier).len();
        healthy > 0 && healthy >= usize::from(t.scheme.data)
    })
}

/// Whether `tier` has enough writable disks with room for the shards of a
/// `size`-byte body. A disk is marked full only when a write fails, so
/// without this the first body into a tier that just filled would fail
/// (507) where another tier had room. Best effort: bodies written at once
/// may still fill a disk between the check and the write.
pub(crate) fn takes_body(node: &Node, tier: Tier, size: u64) -> bool {
    let Some(state) = node.tier(tier) else { return false };
    let k = usize::from(state.scheme.data).max(1);
    if size <= node.inline_max_bytes() as u64 {
        return takes_volumes(node, tier);
    }
    let blocks = layout::stripe_count(size, k, BLOCK_SIZE_BYTES as usize);
    // The shard file (header, blocks, crc table) and a MiB for the filesystem's own.
    let need = crc_table_offset(blocks, BLOCK_SIZE_BYTES) + blocks * (u64::from(BLOCK_SIZE_BYTES) / SECTOR_BYTES) * 4;
    let need = need + (1 << 20);
    let roomy = writable_disks(node, tier)
        .into_iter()
        .filter(|id| node.disk(*id).and_then(|d| d.space()).is_none_or(|(_, free)| free >= need))
        .count();
    roomy > 0 && roomy >= k
}

/// The tier's disks that take new shards (two shards may share one while
/// others are out, never fewer disks than data shards).
fn writable_disks(node: &Node, tier: Tier) -> Vec<u32> {
    let disks = node.tier(tier).map(|t| t.disks.as_slice()).unwrap_or_default();
    disks.iter().copied().filter(|d| node.disk(*d).is_some_and(|d| d.is_writable())).collect()
}

/// An I/O error on a disk marks it faulty; ENOSPC marks it full (not
/// broken: it takes shards again once space is freed). A name already
/// taken says nothing about the disk.
fn fail(node: &Node, disk: u32, e: EngineError) -> EngineError {
    if let (EngineError::Io(io), Some(d)) = (&e, node.disk(disk)) {
        if io.raw_os_error() == Some(libc::ENOSPC) {
            d.mark_full();
        } else if !is_taken(&e) {
            d.mark_faulty(&io.to_string());
        }
    }
    e
}

/// Fresh ids tried when a new volume's id is taken (2^-64 each).
const ID_TRIES: u32 = 4;
/// A disk id no disk has: `remove_volumes` skips the shard.
const NO_DISK: u32 = u32::MAX;

/// The file name was taken: another volume drew the same random id.
fn is_taken(e: &EngineError) -> bool {
    matches!(e, EngineError::Io(io) if io.kind() == std::io::ErrorKind::AlreadyExists)
}

fn encode_parity(stripe: &[u8], v: &VolumeRef) -> Result<Vec<Vec<u8>>> {
    if v.parity_shards == 0 {
        return Ok(Vec::new());
    }
    let blocks = stripe.chunks(v.block_size as usize);
    reed_solomon_simd::encode(usize::from(v.data_shards), usize::from(v.parity_shards), blocks)
        .map_err(|e| EngineError::Io(std::io::Error::other(format!("erasure coding: {e}"))))
}

/// Verified bytes, borrowed from a read buffer or a rebuilt block without a copy.
#[derive(Clone)]
pub struct Verified {
    bytes: ReadBytes,
    start: usize,
    end: usize,
}

impl Verified {
    pub fn inline(bytes: Rc<Vec<u8>>, start: usize, end: usize) -> Verified {
        Verified { bytes: ReadBytes::Heap(bytes), start, end }
    }

    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(self.start..self.end).unwrap_or_default()
    }
}

#[derive(Clone)]
enum ShardFile {
    Unopened,
    Open(Rc<dyn ReadFile>),
    Missing,
}

/// One shard's blocks, read and checked.
struct ShardRead {
    data: ReadBytes,
    ok: Vec<bool>,
}

/// One shard's sectors `first..`, read and checked (the client read path).
struct SectorRead {
    first: u64,
    data: ReadBytes,
    ok: Vec<bool>,
}

/// An open volume for reading: every byte handed out has passed its block's
/// crc32c, or was rebuilt from blocks that did.
pub struct VolumeReader {
    node: Arc<Node>,
    vref: VolumeRef,
    size: u64,
    files: RefCell<Vec<ShardFile>>,
    /// Set when a read had to reconstruct: the volume needs repair.
    pub damaged: std::cell::Cell<bool>,
    /// Client reads count toward read amplification and use the read
    /// cache; background reads (scrub, tier moves) do neither.
    client: bool,
}

impl VolumeReader {
    pub fn new(node: Arc<Node>, vref: VolumeRef, size: u64) -> VolumeReader {
        let files = RefCell::new(vec![ShardFile::Unopened; vref.disks.len()]);
        VolumeReader { node, vref, size, files, damaged: std::cell::Cell::new(false), client: true }
    }

    /// A reader for background work (the scrubber, tier moves): its reads
    /// and rebuilds are not client traffic, and each block is read once, so
    /// it neither counts toward read amplification nor fills the read cache.
    pub fn background(node: Arc<Node>, vref: VolumeRef, size: u64) -> VolumeReader {
        VolumeReader { client: false, ..VolumeReader::new(node, vref, size) }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    fn blocks(&self) -> u64 {
        layout::stripe_count(self.size, usize::from(self.vref.data_shards), self.vref.block_size as usize)
    }

    async fn file(&self, shard: usize) -> Option<Rc<dyn ReadFile>> {
        let state = self.files.borrow().get(shard).cloned()?;
        match state {
            ShardFile::Open(f) => return Some(f),
            ShardFile::Missing => return None,
            ShardFile::Unopened => {}
        }
        let disk = self.node.disk(*self.vref.disks.get(shard)?)?;
        let path = disk.shard_path(self.vref.slice, self.vref.id, shard);
        // A faulty disk is still read: every block is checked, and what
        // fails is rebuilt.
        let opened = match disk.io.open(&path).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(volume = %format!("{:016x}", self.vref.id), shard, error = %e, "shard unavailable");
                None
            }
        };
        if let Some(slot) = self.files.borrow_mut().get_mut(shard) {
            *slot = opened.clone().map_or(ShardFile::Missing, ShardFile::Open);
        }
        opened
    }

    /// Reads blocks `first..=last` of one shard; a block is good when all its
    /// sectors are. `None` when the shard cannot be read at all.
    async fn read_shard(&self, shard: usize, first: u64, last: u64) -> Option<ShardRead> {
        let per_block = u64::from(self.vref.block_size) / SECTOR_BYTES;
        let sectors = self.read_sectors(shard, first * per_block, (last + 1) * per_block - 1).await?;
        let ok = sectors.ok.chunks(per_block as usize).map(|s| s.iter().all(|ok| *ok)).collect();
        Some(ShardRead { data: sectors.data, ok })
    }

    /// Reads sectors `first..=last` of one shard and checks each crc32c.
    async fn read_sectors(&self, shard: usize, first: u64, last: u64) -> Option<SectorRead> {
        let file = self.file(shard).await?;
        let bs = self.vref.block_size;
        let count = (last - first + 1) as usize;
        let sector = SECTOR_BYTES as usize;
        let (data, crcs) = futures_lite::future::zip(
            file.read_at(block_offset(0, bs) + first * SECTOR_BYTES, count * sector),
            file.read_at(crc_table_offset(self.blocks(), bs) + first * 4, count * 4),
        )
        .await;
        let (data, crcs) = match (data, crcs) {
            (Ok(d), Ok(c)) => (d, c),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, shard, "shard read failed");
                return None;
            }
        };
        if self.client {
            Counters::add(&self.node.counters.disk_read_bytes, (data.len() + crcs.len()) as u64);
        }
        let ok: Vec<bool> = (0..count)
            .map(|i| {
                let bytes = data.get(i * sector..(i + 1) * sector);
                let stored = crcs.get(i * 4..i * 4 + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                matches!((bytes, stored), (Some(b), Some(c)) if crc32c::crc32c(b) == c)
            })
            .collect();
        let bad = ok.iter().filter(|ok| !**ok).count() as u64;
        if bad > 0 {
            Counters::add(&self.node.counters.corrupt_blocks, bad);
        }
        Some(SectorRead { first, data, ok })
    }

    /// The verified bytes `[start, end)` of the volume, as pieces in order:
    /// from the node's read cache where it holds them, else from the disks
    /// (and then kept in the cache).
    pub async fn read(&self, start: u64, end: u64) -> Result<Vec<Verified>> {
        let end = end.min(self.size);
        if start >= end {
            return Ok(Vec::new());
        }
        let k = usize::from(self.vref.data_shards);
        let bs = self.vref.block_size as usize;
        let pieces = layout::pieces(start, end, k, bs);
        // Client reads only: a scrub or a tier move reads each block once.
        let cache = if self.client { self.node.read_cache() } else { None };
        let mut cached: Vec<Option<Verified>> = pieces
            .iter()
            .map(|p| {
                let block = cache?.get(&self.block_key(p), p.offset, p.offset + p.len)?;
                Some(Verified { bytes: ReadBytes::Cached(block), start: p.offset, end: p.offset + p.len })
            })
            .collect();
        if cached.iter().all(Option::is_some) {
            return Ok(cached.into_iter().flatten().collect());
        }
        let missing: Vec<Piece> = pieces.iter().zip(&cached).filter(|(_, c)| c.is_none()).map(|(p, _)| *p).collect();
        let spans = layout::byte_spans(&missing, bs);
        let sector = SECTOR_BYTES;
        let reads =
            join_all(spans.iter().map(|s| self.read_sectors(s.shard, s.from / sector, (s.to - 1) / sector))).await;
        let mut by_shard: BTreeMap<usize, Option<SectorRead>> = BTreeMap::new();
        for (span, read) in spans.iter().zip(reads) {
            by_shard.insert(span.shard, read);
        }
        let mut rebuilt: BTreeMap<u64, Vec<Rc<Vec<u8>>>> = BTreeMap::new();
        let mut out = Vec::with_capacity(pieces.len());
        for (p, hit) in pieces.iter().zip(cached.iter_mut()) {
            if let Some(v) = hit.take() {
                out.push(v);
                continue;
            }
            if let Some(v) = direct_piece(&by_shard, p, bs) {
                if let (Some(cache), Some(Some(read))) = (cache, by_shard.get(&p.shard)) {
                    self.keep(cache, read, p, bs);
                }
                out.push(v);
                continue;
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = rebuilt.entry(p.block) {
                slot.insert(self.reconstruct(p.block).await?);
            }
            let block =
                rebuilt.get(&p.block).and_then(|b| b.get(p.shard)).cloned().ok_or_else(|| self.corrupt(p.block))?;
            out.push(Verified::inline(block, p.offset, p.offset + p.len));
        }
        Ok(out)
    }

    /// Rebuilds the data blocks of stripe `block` from any `data` good shards.
    async fn reconstruct(&self, block: u64) -> Result<Vec<Rc<Vec<u8>>>> {
        self.damaged.set(true);
        let k = usize::from(self.vref.data_shards);
        let m = usize::from(self.vref.parity_shards);
        let reads = join_all((0..k + m).map(|shard| self.read_shard(shard, block, block))).await;
        let good: Vec<(usize, &[u8])> = reads
            .iter()
            .enumerate()
            .filter_map(|(shard, r)| {
                let r = r.as_ref()?;
                r.ok.first().copied().filter(|ok| *ok)?;
                Some((shard, &r.data[..]))
            })
            .collect();
        if good.len() < k || m == 0 {
            Counters::add(&self.node.counters.unrecoverable_reads, 1);
            tracing::error!(volume = %format!("{:016x}", self.vref.id), stripe = block, good = good.len(), needed = k, "stripe unrecoverable");
            return Err(self.corrupt(block));
        }
        let originals = good.iter().filter(|(i, _)| *i < k).map(|(i, d)| (*i, *d));
        let recovery = good.iter().filter(|(i, _)| *i >= k).map(|(i, d)| (*i - k, *d));
        let mut restored = reed_solomon_simd::decode(k, m, originals, recovery)
            .map_err(|e| EngineError::Io(std::io::Error::other(format!("erasure decoding: {e}"))))?;
        let mut blocks = Vec::with_capacity(k);
        for shard in 0..k {
            let bytes = match good.iter().find(|(i, _)| *i == shard) {
                Some((_, d)) => d.to_vec(),
                None => restored.remove(&shard).ok_or_else(|| self.corrupt(block))?,
            };
            blocks.push(Rc::new(bytes));
        }
        if self.client {
            Counters::add(&self.node.counters.reconstructed_stripes, 1);
        }
        Ok(blocks)
    }

    fn block_key(&self, p: &Piece) -> BlockKey {
        BlockKey { volume: self.vref.id, slice: self.vref.slice, shard: p.shard as u16, block: p.block }
    }

    /// Keeps the sectors under piece `p`, just read from its shard, in the cache.
    fn keep(&self, cache: &ReadCache, read: &SectorRead, p: &Piece, bs: usize) {
        let sector = SECTOR_BYTES as usize;
        let from = p.offset / sector * sector;
        let to = (p.offset + p.len).div_ceil(sector) * sector;
        let first = (p.block * bs as u64 + from as u64) / SECTOR_BYTES;
        let Some(index) = first.checked_sub(read.first).and_then(|i| usize::try_from(i).ok()) else { return };
        let count = (to - from) / sector;
        let (Some(data), Some(ok)) =
            (read.data.get(index * sector..(index + count) * sector), read.ok.get(index..index + count))
        else {
            return;
        };
        cache.fill(self.block_key(p), bs, from, data, ok);
    }

    fn corrupt(&self, block: u64) -> EngineError {
        EngineError::Corrupt { volume: format!("{}/{:016x}", self.vref.slice, self.vref.id), block }
    }

    /// The number of blocks in each shard.
    pub fn block_count(&self) -> u64 {
        self.blocks()
    }

    /// For every shard (data, then parity), whether each block of
    /// `first..=last` is present and passes its crc32c.
    pub async fn check(&self, first: u64, last: u64) -> Vec<Vec<bool>> {
        let count = (last - first + 1) as usize;
        let shards = self.vref.disks.len();
        let reads = join_all((0..shards).map(|shard| self.read_shard(shard, first, last))).await;
        reads.into_iter().map(|r| r.map_or_else(|| vec![false; count], |r| r.ok)).collect()
    }

    /// Every shard's block of stripe `block`, rebuilding data and parity
    /// from any `k` good shards: what a repair writes back.
    pub async fn stripe_blocks(&self, block: u64) -> Result<Vec<Vec<u8>>> {
        let data = self.reconstruct(block).await?;
        let mut stripe: Vec<u8> = Vec::with_capacity(data.len() * self.vref.block_size as usize);
        for b in &data {
            stripe.extend_from_slice(b);
        }
        let parity = encode_parity(&stripe, &self.vref)?;
        Ok(data.iter().map(|b| b.to_vec()).chain(parity).collect())
    }

    pub fn vref(&self) -> &VolumeRef {
        &self.vref
    }
}

/// The piece straight from its shard's read, if every sector it covers
/// checked out.
fn direct_piece(by_shard: &BTreeMap<usize, Option<SectorRead>>, p: &Piece, bs: usize) -> Option<Verified> {
    let read = by_shard.get(&p.shard)?.as_ref()?;
    let pos = p.block * bs as u64 + p.offset as u64;
    let (first, last) = (pos / SECTOR_BYTES, (pos + p.len as u64 - 1) / SECTOR_BYTES);
    for sector in first..=last {
        if !*read.ok.get(usize::try_from(sector.checked_sub(read.first)?).ok()?)? {
            return None;
        }
    }
    let start = usize::try_from(pos - read.first * SECTOR_BYTES).ok()?;
    Some(Verified { bytes: read.data.clone(), start, end: start + p.len })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::NodeConfig;

    fn node(name: &str) -> (Arc<Node>, PathBuf) {
        let root = std::env::temp_dir().join(format!("stratum-vol-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        // Two disks: a volume has a shard on each.
        let mut config = NodeConfig::single(&root.join("d0"), 1);
        config.tiers[0].disks.push(root.join("d1"));
        (Node::open(&config).expect("node opens"), root)
    }

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    /// A writer whose random id is forced to `id`, fed `data`.
    async fn writer(node: &Arc<Node>, id: u64, data: &[u8]) -> VolumeWriter {
        let mut w = VolumeWriter::new(node.clone(), 0, Tier::Hot).expect("writer");
        w.vref.id = id;
        w.write(data).await.expect("write");
        w
    }

    async fn read_back(node: &Arc<Node>, sealed: &SealedVolume) -> Vec<u8> {
        let SegmentBody::Volume(v) = &sealed.body else { panic!("expected a volume") };
        let reader = VolumeReader::new(node.clone(), v.clone(), sealed.size);
        let mut out = Vec::new();
        for piece in reader.read(0, sealed.size).await.expect("read") {
            out.extend_from_slice(piece.as_slice());
        }
        out
    }

    fn run<F: std::future::Future<Output = ()> + 'static>(f: impl FnOnce() -> F + Send + 'static) {
        glommio::LocalExecutorBuilder::default().spawn(f).expect("executor").join().expect("join");
    }

    #[test]
    fn a_new_volume_never_takes_the_place_of_a_sealed_one_with_the_same_id() {
        run(|| async {
            let (node, root) = node("same-id-sealed");
            let (first, second) = (bytes(300_000, 1), bytes(300_000, 2));
            let sealed = writer(&node, 7, &first).await.seal().await.expect("first seals");
            let err = writer(&node, 7, &second).await.seal().await.expect_err("the second upload fails");
            assert!(is_taken(&err), "{err}");
            assert_eq!(read_back(&node, &sealed).await, first, "the first volume's bytes are untouched");
            assert!(node.disks().all(|d| !d.is_faulty()), "a taken name says nothing about the disk");
            let _ = std::fs::remove_dir_all(root);
        });
    }

    #[test]
    fn a_writer_whose_id_is_under_way_takes_another() {
        run(|| async {
            let (node, root) = node("same-id-open");
            let (first, second) = (bytes(300_000, 3), bytes(300_000, 4));
            // Both past their first stripe: the first has its shard files.
            let a = writer(&node, 9, &first).await;
            let b = writer(&node, 9, &second).await;
            assert_ne!(b.vref.id, 9, "the second writer drew a new id");
            let (a, b) = (a.seal().await.expect("a seals"), b.seal().await.expect("b seals"));
            assert_eq!(read_back(&node, &a).await, first);
            assert_eq!(read_back(&node, &b).await, second);
            let _ = std::fs::remove_dir_all(root);
        });
    }
}
