//! Moving an object's body between tiers: copy every segment into the
//! target tier, verify the copy by reading it back, then (the store)
//! switches the metadata atomically and the old shards are freed.

use std::sync::Arc;

use md5::{Digest, Md5};
use stratum_meta::{Segment, SegmentBody};

use crate::error::{EngineError, Result};
use crate::node::Node;
use crate::tier::Tier;
use crate::volume::{VolumeReader, VolumeWriter};

/// Bytes copied per read.
const COPY_CHUNK_BYTES: u64 = 4 * 1024 * 1024;

/// Copies one segment into `tier`. Inline segments live in metadata and
/// belong to no tier: they come back unchanged, as do segments already there.
pub async fn copy_segment(node: &Arc<Node>, core: u16, segment: &Segment, tier: Tier) -> Result<Segment> {
    match &segment.body {
        SegmentBody::Volume(vref) if vref.tier != tier.code() => rewrite_segment(node, core, segment, tier).await,
        _ => Ok(segment.clone()),
    }
}

/// True when a volume is less safe than its scheme promises, and the tier
/// could now place it properly: two of its shards share a disk (placed
/// while disks were faulty or full), or a shard sits on a faulty disk.
pub fn needs_respread(node: &Node, vref: &stratum_meta::VolumeRef) -> bool {
    let shards = vref.disks.len();
    let mut distinct = vref.disks.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let on_faulty = vref.disks.iter().any(|d| node.disk(*d).is_none_or(|d| d.is_faulty()));
    if distinct.len() == shards && !on_faulty {
        return false;
    }
    let Some(tier) = Tier::from_code(vref.tier).and_then(|t| node.tier(t)) else { return false };
    let writable = tier.disks.iter().filter(|d| node.disk(**d).is_some_and(|d| d.is_writable())).count();
    writable >= shards
}

/// Writes a volume segment again into `tier`, placed afresh, and checks
/// the copy. The caller commits it (or drops it).
pub async fn rewrite_segment(node: &Arc<Node>, core: u16, segment: &Segment, tier: Tier) -> Result<Segment> {
    let SegmentBody::Volume(vref) = &segment.body else { return Ok(segment.clone()) };
    let source = VolumeReader::background(node.clone(), vref.clone(), segment.size);
    let mut writer = VolumeWriter::new(node.clone(), core, tier)?;
    let mut pos = 0;
    while pos < segment.size {
        let end = (pos + COPY_CHUNK_BYTES).min(segment.size);
        let pieces = match source.read(pos, end).await {
            Ok(p) => p,
            Err(e) => {
                writer.discard().await;
                return Err(e);
            }
        };
        for piece in &pieces {
            if let Err(e) = writer.write(piece.as_slice()).await {
                writer.discard().await;
                return Err(e);
            }
        }
        pos = end;
    }
    let written_md5 = writer.md5().await;
    let sealed = writer.seal().await?;
    let copy = Segment { size: sealed.size, body: sealed.body };
    if let Err(e) = verify_copy(node, &copy, written_md5).await {
        drop_copies(node, std::slice::from_ref(&copy));
        return Err(e);
    }
    Ok(copy)
}

/// Reads the new copy back and checks it carries the bytes that were written.
async fn verify_copy(node: &Arc<Node>, copy: &Segment, expected_md5: [u8; 16]) -> Result<()> {
    let SegmentBody::Volume(vref) = &copy.body else { return Ok(()) };
    let reader = VolumeReader::background(node.clone(), vref.clone(), copy.size);
    let mut md5 = Md5::new();
    let mut pos = 0;
    while pos < copy.size {
        let end = (pos + COPY_CHUNK_BYTES).min(copy.size);
        for piece in reader.read(pos, end).await? {
            md5.update(piece.as_slice());
        }
        pos = end;
    }
    let got: [u8; 16] = md5.finalize().into();
    if got != expected_md5 {
        return Err(EngineError::Corrupt { volume: format!("{:016x} (tier copy)", vref.id), block: 0 });
    }
    Ok(())
}

/// Removes copies that will not be committed.
pub fn drop_copies(node: &Node, copies: &[Segment]) {
    let volumes: Vec<_> = copies.iter().filter_map(|s| s.body.volume().cloned()).collect();
    crate::commit::remove_volumes(node, &volumes);
}
