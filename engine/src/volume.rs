//! Shard files: the on-disk body of one volume. The byte layout and the
//! order of writes and fsyncs are drawn in `engine/FORMAT.md`.
//!
//! A volume is written as one stream: header page, data, zero padding to the
//! next page, the crc32c table (one little-endian u32 per block), padding.
//! Every write is a whole aligned buffer at an aligned offset (O_DIRECT).

use std::path::PathBuf;

use glommio::io::{Directory, DmaBuffer, DmaFile};
use md5::{Digest, Md5};
use stratum_meta::VolumeRef;

use crate::error::{EngineError, Result};
use crate::limits::{ALIGN_BYTES, BLOCK_SIZE_BYTES, HEADER_BYTES, STRIPE_BYTES};
use crate::slice::Slice;

pub const MAGIC: &[u8; 8] = b"STRVOL01";
pub const FORMAT_VERSION: u32 = 1;

pub fn align_up(v: u64) -> u64 {
    v.div_ceil(ALIGN_BYTES) * ALIGN_BYTES
}

fn block_count(len: u64, block_size: u32) -> u64 {
    len.div_ceil(u64::from(block_size))
}

/// Where the crc table of a volume with `len` data bytes starts.
pub fn crc_table_offset(len: u64) -> u64 {
    align_up(HEADER_BYTES + len)
}

fn header(vref: &VolumeRef) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&vref.block_size.to_le_bytes());
    h[16..24].copy_from_slice(&vref.id.to_le_bytes());
    h
}

/// A finished, durable volume, ready for its metadata to be committed.
#[derive(Debug, Clone)]
pub struct SealedVolume {
    pub vref: VolumeRef,
    pub size: u64,
    pub md5: [u8; 16],
}

pub struct VolumeWriter {
    file: DmaFile,
    slice: Slice,
    vref: VolumeRef,
    buf: DmaBuffer,
    buf_fill: usize,
    /// File offset at which `buf` starts.
    file_pos: u64,
    len: u64,
    block_fill: u32,
    block_crc: u32,
    crcs: Vec<u32>,
    md5: Md5,
}

impl VolumeWriter {
    /// Starts a volume in `slice`'s temp directory. `size_hint` (the declared
    /// body length) sizes the first buffer so small bodies stay small.
    pub async fn create(slice: Slice, size_hint: u64) -> Result<Self> {
        let vref = VolumeRef { slice: slice.core(), id: rand::random(), block_size: BLOCK_SIZE_BYTES };
        Self::create_as(slice, vref, size_hint).await
    }

    pub async fn create_as(slice: Slice, vref: VolumeRef, size_hint: u64) -> Result<Self> {
        let file = DmaFile::create(slice.tmp_path(vref.id)).await?;
        let total = crc_table_offset(size_hint) + align_up(block_count(size_hint, vref.block_size) * 4);
        let cap = total.clamp(ALIGN_BYTES, STRIPE_BYTES as u64) as usize;
        let buf = file.alloc_dma_buffer(cap);
        let mut writer = Self {
            file,
            slice,
            vref,
            buf,
            buf_fill: 0,
            file_pos: 0,
            len: 0,
            block_fill: 0,
            block_crc: 0,
            crcs: Vec::new(),
            md5: Md5::new(),
        };
        writer.push(&header(&vref)).await?;
        writer.pad_to_alignment().await?;
        Ok(writer)
    }

    pub fn vref(&self) -> VolumeRef {
        self.vref
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// MD5 of the bytes written so far (checked against Content-MD5 before sealing).
    pub fn md5(&self) -> [u8; 16] {
        self.md5.clone().finalize().into()
    }

    /// Appends body bytes, checksumming each block as it fills.
    pub async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        self.md5.update(data);
        self.len += data.len() as u64;
        while !data.is_empty() {
            let room = (self.vref.block_size - self.block_fill) as usize;
            let (now, rest) = data.split_at(room.min(data.len()));
            self.block_crc = crc32c::crc32c_append(self.block_crc, now);
            self.block_fill += now.len() as u32;
            if self.block_fill == self.vref.block_size {
                self.crcs.push(self.block_crc);
                self.block_crc = 0;
                self.block_fill = 0;
            }
            self.push(now).await?;
            data = rest;
        }
        Ok(())
    }

    /// Writes the tail and the crc table, makes the file durable and moves it
    /// into place. After this the volume survives power loss; it becomes
    /// visible only when its metadata is committed.
    pub async fn seal(mut self) -> Result<SealedVolume> {
        if self.block_fill > 0 {
            self.crcs.push(self.block_crc);
        }
        self.pad_to_alignment().await?;
        let table: Vec<u8> = self.crcs.iter().flat_map(|c| c.to_le_bytes()).collect();
        self.push(&table).await?;
        self.pad_to_alignment().await?;
        self.flush().await?;
        self.file.fdatasync().await?;
        let final_path = self.slice.volume_path(self.vref.id);
        self.file.rename(&final_path).await?;
        self.file.close().await?;
        sync_dir(self.slice.volume_dir(self.vref.id)).await?;
        Ok(SealedVolume { vref: self.vref, size: self.len, md5: self.md5.finalize().into() })
    }

    /// Drops an unfinished volume (a failed upload): nothing stays behind.
    pub async fn discard(self) {
        let path = self.slice.tmp_path(self.vref.id);
        let _ = self.file.close().await;
        let _ = std::fs::remove_file(path);
    }

    async fn push(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let room = self.buf.len() - self.buf_fill;
            let n = room.min(bytes.len());
            self.buf.as_bytes_mut()[self.buf_fill..self.buf_fill + n].copy_from_slice(&bytes[..n]);
            self.buf_fill += n;
            bytes = &bytes[n..];
            if self.buf_fill == self.buf.len() {
                self.flush().await?;
            }
        }
        Ok(())
    }

    async fn pad_to_alignment(&mut self) -> Result<()> {
        let pos = self.file_pos + self.buf_fill as u64;
        let pad = (align_up(pos) - pos) as usize;
        if pad > 0 {
            let zeros = [0u8; ALIGN_BYTES as usize];
            self.push(&zeros[..pad]).await?;
        }
        Ok(())
    }

    /// Writes the filled, aligned part of the buffer. Only called at aligned
    /// fill levels: when the buffer is full, or after padding.
    async fn flush(&mut self) -> Result<()> {
        if self.buf_fill == 0 {
            return Ok(());
        }
        let next = self.file.alloc_dma_buffer(STRIPE_BYTES);
        let mut full = std::mem::replace(&mut self.buf, next);
        full.trim_to_size(self.buf_fill);
        let expected = full.len();
        let written = self.file.write_at(full, self.file_pos).await?;
        if written != expected {
            return Err(EngineError::Io(std::io::Error::other("short write to shard file")));
        }
        self.file_pos += expected as u64;
        self.buf_fill = 0;
        Ok(())
    }
}

pub async fn sync_dir(path: PathBuf) -> Result<()> {
    let dir = Directory::open(&path).await?;
    dir.sync().await?;
    dir.close().await?;
    Ok(())
}

/// An open volume for reading: every byte handed out has passed its block's crc32c.
pub struct VolumeReader {
    file: DmaFile,
    vref: VolumeRef,
    size: u64,
}

impl VolumeReader {
    pub async fn open(data_dir: &std::path::Path, vref: VolumeRef, size: u64) -> Result<Self> {
        let path = Slice::at(data_dir, &vref).volume_path(vref.id);
        let file = DmaFile::open(&path).await?;
        Ok(Self { file, vref, size })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads `len` bytes at `offset` (within the volume), reading the whole
    /// blocks that cover them and checking each block's crc32c.
    pub async fn read(&self, offset: u64, len: usize) -> Result<Verified> {
        let end = (offset + len as u64).min(self.size);
        if offset >= end {
            return Ok(Verified { bytes: Vec::new().into(), start: 0, end: 0 });
        }
        let bs = u64::from(self.vref.block_size);
        let first = offset / bs;
        let last = (end - 1) / bs;
        let blocks_start = first * bs;
        let blocks_len = ((last + 1) * bs).min(self.size) - blocks_start;
        let crc_pos = crc_table_offset(self.size) + first * 4;
        let crc_len = ((last - first + 1) * 4) as usize;
        let (data, crcs) = futures_lite::future::zip(
            self.file.read_at(HEADER_BYTES + blocks_start, blocks_len as usize),
            self.file.read_at(crc_pos, crc_len),
        )
        .await;
        let (data, crcs) = (data?, crcs?);
        if data.len() as u64 != blocks_len || crcs.len() != crc_len {
            return Err(self.corrupt(first));
        }
        for (i, block) in data.chunks(bs as usize).enumerate() {
            let stored = crcs.get(i * 4..i * 4 + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if stored != Some(crc32c::crc32c(block)) {
                return Err(self.corrupt(first + i as u64));
            }
        }
        let start = (offset - blocks_start) as usize;
        Ok(Verified { bytes: data.into(), start, end: start + (end - offset) as usize })
    }

    fn corrupt(&self, block: u64) -> EngineError {
        EngineError::Corrupt { volume: format!("{}/{:016x}", self.vref.slice, self.vref.id), block }
    }

    pub async fn close(self) {
        let _ = self.file.close().await;
    }
}

/// Verified bytes, borrowed from the read buffer without a copy.
pub struct Verified {
    bytes: Bytes,
    start: usize,
    end: usize,
}

enum Bytes {
    Read(glommio::io::ReadResult),
    Owned(Vec<u8>),
}

impl From<glommio::io::ReadResult> for Bytes {
    fn from(r: glommio::io::ReadResult) -> Self {
        Bytes::Read(r)
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes::Owned(v)
    }
}

impl Verified {
    /// Bytes that were read from disk to produce this chunk.
    pub fn disk_bytes(&self) -> u64 {
        match &self.bytes {
            Bytes::Read(r) => r.len() as u64,
            Bytes::Owned(v) => v.len() as u64,
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        let all: &[u8] = match &self.bytes {
            Bytes::Read(r) => r,
            Bytes::Owned(v) => v,
        };
        &all[self.start..self.end]
    }
}
