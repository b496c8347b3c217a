//! Shard files: one per shard of a volume. The byte layout and the order of
//! writes and fsyncs are drawn in `engine/FORMAT.md`.
//!
//! A shard is written as one stream: a header page, its blocks (one per
//! stripe), the crc32c table (one little-endian u32 per block), padding.
//! Every write is a whole aligned buffer at an aligned offset (O_DIRECT).

use std::path::PathBuf;
use std::sync::Arc;

use crate::disk::Disk;
use crate::error::{EngineError, Result};
use crate::io::{DiskIo, WriteBuf, WriteFile};
use crate::limits::{ALIGN_BYTES, HEADER_BYTES, SECTOR_BYTES, SHARD_BUFFER_BYTES};

pub const MAGIC: &[u8; 8] = b"STRSHARD";
pub const FORMAT_VERSION: u32 = 1;

pub fn align_up(v: u64) -> u64 {
    v.div_ceil(ALIGN_BYTES) * ALIGN_BYTES
}

/// Where the crc table (one u32 per 4 KiB sector) of a shard with `blocks` blocks starts.
pub fn crc_table_offset(blocks: u64, block_size: u32) -> u64 {
    align_up(HEADER_BYTES + blocks * u64::from(block_size))
}

pub fn block_offset(block: u64, block_size: u32) -> u64 {
    HEADER_BYTES + block * u64::from(block_size)
}

/// What identifies a shard file on its own (for a scrubber or a human).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardHeader {
    pub volume: u64,
    pub block_size: u32,
    pub shard: u8,
    pub data_shards: u8,
    pub parity_shards: u8,
}

impl ShardHeader {
    /// The header of shard `shard` of a volume.
    pub fn of(v: &stratum_meta::VolumeRef, shard: usize) -> ShardHeader {
        ShardHeader {
            volume: v.id,
            block_size: v.block_size,
            shard: shard as u8,
            data_shards: v.data_shards,
            parity_shards: v.parity_shards,
        }
    }

    pub fn encode(&self) -> [u8; 27] {
        let mut h = [0u8; 27];
        h[..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&self.block_size.to_le_bytes());
        h[16..24].copy_from_slice(&self.volume.to_le_bytes());
        h[24] = self.shard;
        h[25] = self.data_shards;
        h[26] = self.parity_shards;
        h
    }

    pub fn decode(bytes: &[u8]) -> Option<ShardHeader> {
        if bytes.get(..8)? != MAGIC || u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) != FORMAT_VERSION {
            return None;
        }
        Some(ShardHeader {
            block_size: u32::from_le_bytes(bytes.get(12..16)?.try_into().ok()?),
            volume: u64::from_le_bytes(bytes.get(16..24)?.try_into().ok()?),
            shard: *bytes.get(24)?,
            data_shards: *bytes.get(25)?,
            parity_shards: *bytes.get(26)?,
        })
    }
}

/// A shard file being written under `tmp/`.
pub struct ShardSink {
    io: Arc<dyn DiskIo>,
    file: Box<dyn WriteFile>,
    buf: WriteBuf,
    fill: usize,
    /// File offset at which `buf` starts.
    pos: u64,
    crcs: Vec<u32>,
    tmp_path: PathBuf,
    final_path: PathBuf,
    final_dir: PathBuf,
    pub disk: u32,
    /// The length of the freed file this shard overwrites (cut at seal).
    reused_len: Option<u64>,
    /// A repair: the file takes the place of the damaged shard. A new
    /// volume's shard never takes the place of a file already there.
    replace: bool,
}

/// What the sealed shard file may take the place of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A new volume's shard: an existing file of that name (another
    /// volume with the same random id) is an error, never overwritten.
    New,
    /// A fresh copy of a damaged or missing shard of the same volume.
    Replace,
}

impl ShardSink {
    /// Starts shard `header.shard` at `tmp_path` of the slice `core`: in a
    /// freed file of the slice when one is kept, else in a new file. Fails
    /// with `AlreadyExists` when `tmp_path` is taken (a writer of another
    /// volume with the same id).
    pub async fn create(
        disk: &Disk,
        core: u16,
        header: ShardHeader,
        tmp_path: PathBuf,
        final_path: PathBuf,
        final_dir: PathBuf,
        target: Target,
    ) -> Result<ShardSink> {
        let io = disk.io.clone();
        if target == Target::Replace {
            // An earlier repair of this shard that failed half-way.
            let _ = io.remove(&tmp_path);
        }
        let mut reused_len = None;
        let mut file = None;
        if let Some(free) = disk.take_free(core) {
            match io.reuse(&free.path, &tmp_path).await {
                Ok(f) => {
                    file = Some(f);
                    reused_len = Some(free.len);
                }
                Err(e) => {
                    tracing::debug!(path = %free.path.display(), error = %e, "freed file not reused");
                    let _ = io.remove(&free.path);
                }
            }
        }
        let file = match file {
            Some(f) => f,
            None => io.create(&tmp_path).await?,
        };
        let buf = file.alloc(SHARD_BUFFER_BYTES);
        let mut sink = ShardSink {
            io,
            file,
            buf,
            fill: 0,
            pos: 0,
            crcs: Vec::new(),
            tmp_path,
            final_path,
            final_dir,
            disk: disk.id,
            reused_len,
            replace: target == Target::Replace,
        };
        sink.push(&header.encode()).await?;
        sink.pad().await?;
        Ok(sink)
    }

    /// Appends one block (a whole block: the last stripe is zero-padded),
    /// with a crc32c for each of its sectors.
    pub async fn push_block(&mut self, block: &[u8]) -> Result<()> {
        self.crcs.extend(block.chunks(SECTOR_BYTES as usize).map(crc32c::crc32c));
        self.push(block).await
    }

    /// True when the buffer is full and the next push would write.
    pub fn buffer_is_full(&self) -> bool {
        self.fill == self.buf.len()
    }

    async fn push(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            if self.fill == self.buf.len() {
                self.flush().await?;
            }
            let n = (self.buf.len() - self.fill).min(bytes.len());
            self.buf.as_bytes_mut()[self.fill..self.fill + n].copy_from_slice(&bytes[..n]);
            self.fill += n;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    async fn pad(&mut self) -> Result<()> {
        let at = self.pos + self.fill as u64;
        let pad = (align_up(at) - at) as usize;
        if pad > 0 {
            self.push(&[0u8; ALIGN_BYTES as usize][..pad]).await?;
        }
        Ok(())
    }

    /// Writes the filled, aligned part of the buffer.
    pub async fn flush(&mut self) -> Result<()> {
        if self.fill == 0 {
            return Ok(());
        }
        let next = self.file.alloc(SHARD_BUFFER_BYTES);
        let mut full = std::mem::replace(&mut self.buf, next);
        full.trim_to_size(self.fill);
        let expected = full.len();
        let written = self.file.write_at(full, self.pos).await?;
        if written != expected {
            // io_uring file writes come back short only when the disk is full.
            return Err(EngineError::Io(std::io::Error::from_raw_os_error(libc::ENOSPC)));
        }
        self.pos += expected as u64;
        self.fill = 0;
        Ok(())
    }

    /// Writes the crc table, makes the file durable and moves it into
    /// place (step 5 of FORMAT.md). On failure the temp file is removed
    /// (a renamed file is the caller's to remove, with the volume).
    pub async fn seal(mut self) -> Result<()> {
        let written = self.write_out().await;
        let ShardSink { io, file, tmp_path, final_dir, .. } = self;
        let closed = file.close().await;
        let result = match (written, closed) {
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(e.into()),
            (Ok(()), Ok(())) => io.sync_dir(&final_dir).await.map_err(EngineError::from),
        };
        if result.is_err() {
            let _ = io.remove(&tmp_path);
        }
        result
    }

    async fn write_out(&mut self) -> Result<()> {
        self.pad().await?;
        let table: Vec<u8> = self.crcs.iter().flat_map(|c| c.to_le_bytes()).collect();
        self.push(&table).await?;
        self.pad().await?;
        self.flush().await?;
        // A reused file longer than this shard keeps no stale tail.
        if self.reused_len.is_some_and(|len| len > self.pos) {
            self.file.set_len(self.pos).await?;
        }
        self.file.fdatasync().await?;
        self.file.rename(&self.final_path, self.replace).await?;
        Ok(())
    }

    /// Drops an unfinished shard: nothing stays behind.
    pub async fn discard(self) {
        let _ = self.file.close().await;
        let _ = self.io.remove(&self.tmp_path);
    }
}
