//! Streaming an object's bytes (or a range of them) out of its segments.

use std::rc::Rc;
use std::sync::Arc;

use stratum_meta::{Segment, SegmentBody};

use crate::error::{EngineError, Result};
use crate::limits::READ_CHUNK_BYTES;
use crate::node::{Counters, Node};
use crate::volume::{Verified, VolumeReader};

/// Yields verified chunks of `[start, end)` of an object, about one MiB
/// each, reading only the blocks the range covers.
pub struct ObjectReader {
    node: Arc<Node>,
    segments: Vec<Segment>,
    /// Inline bodies, checked once and shared by every chunk without a copy
    /// (`Err` when the crc32c failed); `None` for volume segments.
    inline: Vec<Option<std::result::Result<Rc<Vec<u8>>, ()>>>,
    pos: u64,
    end: u64,
    open: Option<(usize, VolumeReader)>,
}

impl ObjectReader {
    pub fn new(node: Arc<Node>, mut segments: Vec<Segment>, start: u64, end: u64) -> Self {
        node.hold(&volume_ids(&segments));
        let inline = segments
            .iter_mut()
            .map(|s| match &mut s.body {
                SegmentBody::Inline { bytes, crc32c } => {
                    let bytes = std::mem::take(bytes);
                    let whole = crc32c::crc32c(&bytes) == *crc32c && bytes.len() as u64 == s.size;
                    Some(if whole { Ok(Rc::new(bytes)) } else { Err(()) })
                }
                SegmentBody::Volume(_) => None,
            })
            .collect();
        Self { node, segments, inline, pos: start, end, open: None }
    }

    /// The next verified pieces, in order, about one MiB; `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Vec<Verified>>> {
        self.next_up_to(READ_CHUNK_BYTES).await
    }

    /// Like [`ObjectReader::next`], holding at most `max` bytes (at least one
    /// sector is read): a server short of memory asks for less.
    pub async fn next_up_to(&mut self, max: u64) -> Result<Option<Vec<Verified>>> {
        if self.pos >= self.end {
            self.close();
            return Ok(None);
        }
        let Some((index, seg_start)) = self.segment_at(self.pos) else {
            return Ok(None);
        };
        let in_seg = self.pos - seg_start;
        let seg_size = self.segments[index].size;
        let want_end = (in_seg + max.max(1)).min(seg_size).min(self.end - seg_start);
        let pieces = match self.inline.get(index).cloned().flatten() {
            Some(Ok(bytes)) => vec![Verified::inline(bytes, in_seg as usize, want_end as usize)],
            Some(Err(())) => {
                Counters::add(&self.node.counters.unrecoverable_reads, 1);
                return Err(EngineError::Corrupt { volume: "inline".into(), block: 0 });
            }
            None => {
                if self.open.as_ref().map(|(i, _)| *i) != Some(index) {
                    let Some(vref) = self.segments[index].body.volume().cloned() else { return Ok(None) };
                    self.close();
                    self.open = Some((index, VolumeReader::new(self.node.clone(), vref, seg_size)));
                }
                let Some((_, reader)) = self.open.as_ref() else { return Ok(None) };
                reader.read(in_seg, want_end).await?
            }
        };
        let served: u64 = pieces.iter().map(|p| p.as_slice().len() as u64).sum();
        Counters::add(&self.node.counters.served_bytes, served);
        self.pos += served;
        if served == 0 {
            return Err(EngineError::Corrupt { volume: "empty read".into(), block: 0 });
        }
        Ok(Some(pieces))
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

    /// Closing a volume that needed reconstruction queues it for repair.
    fn close(&mut self) {
        if let Some((_, reader)) = self.open.take() {
            if reader.damaged.get() {
                self.node.queue_repair(reader.vref().clone(), reader.size());
            }
        }
    }
}

impl Drop for ObjectReader {
    fn drop(&mut self) {
        self.close();
        self.node.release(&volume_ids(&self.segments));
    }
}

fn volume_ids(segments: &[Segment]) -> Vec<u64> {
    segments.iter().filter_map(|s| s.body.volume().map(|v| v.id)).collect()
}
