//! Streaming an object's bytes (or a range of them) out of its volumes.

use std::path::PathBuf;

use stratum_meta::Segment;

use crate::error::Result;
use crate::limits::STRIPE_BYTES;
use crate::volume::{Verified, VolumeReader};

/// Yields verified chunks of `[start, end)` of an object, at most one stripe
/// each, reading only the blocks the range covers.
pub struct ObjectReader {
    data_dir: PathBuf,
    segments: Vec<Segment>,
    pos: u64,
    end: u64,
    open: Option<(usize, VolumeReader)>,
    /// Bytes read from disk (whole blocks), for read amplification.
    pub disk_bytes: u64,
}

impl ObjectReader {
    pub fn new(data_dir: PathBuf, segments: Vec<Segment>, start: u64, end: u64) -> Self {
        Self { data_dir, segments, pos: start, end, open: None, disk_bytes: 0 }
    }

    pub async fn next(&mut self) -> Result<Option<Verified>> {
        if self.pos >= self.end {
            self.close().await;
            return Ok(None);
        }
        let Some((index, seg_start)) = self.segment_at(self.pos) else {
            return Ok(None);
        };
        if self.open.as_ref().map(|(i, _)| *i) != Some(index) {
            self.close().await;
            let seg = &self.segments[index];
            let reader = VolumeReader::open(&self.data_dir, seg.volume, seg.size).await?;
            self.open = Some((index, reader));
        }
        let Some((_, reader)) = self.open.as_ref() else { return Ok(None) };
        let in_seg = self.pos - seg_start;
        // End chunks on stripe boundaries of the volume so no block is read twice.
        let stripe_end = (in_seg / STRIPE_BYTES as u64 + 1) * STRIPE_BYTES as u64;
        let len = (stripe_end - in_seg).min(self.end - self.pos).min(reader.size() - in_seg);
        let chunk = reader.read(in_seg, len as usize).await?;
        self.disk_bytes += chunk.disk_bytes();
        self.pos += chunk.as_slice().len() as u64;
        Ok(Some(chunk))
    }

    fn segment_at(&self, pos: u64) -> Option<(usize, u64)> {
        let mut start = 0;
        for (i, seg) in self.segments.iter().enumerate() {
            if pos < start + seg.size {
                return Some((i, start));
            }
            start += seg.size;
        }
        None
    }

    async fn close(&mut self) {
        if let Some((_, reader)) = self.open.take() {
            reader.close().await;
        }
    }
}
