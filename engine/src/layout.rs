//! Where an object byte lives in an erasure-coded volume, and which disks a
//! volume's shards go to. Pure functions.
//!
//! A volume is cut into stripes of `data * block` bytes. Stripe `s` puts its
//! `i`-th block of data into block `s` of data shard `i`, and block `s` of
//! each parity shard holds that stripe's parity. So a byte range maps to a
//! contiguous run of blocks in each data shard it touches.

/// Shard blocks to read for a byte range: for shard `shard`, the blocks
/// `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpan {
    pub shard: usize,
    pub first: u64,
    pub last: u64,
}

/// One stretch of the requested range, in object order: `len` bytes of shard
/// `shard`, block `block`, starting `offset` bytes into that block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub shard: usize,
    pub block: u64,
    pub offset: usize,
    pub len: usize,
}

pub fn stripe_bytes(data: usize, block: usize) -> u64 {
    (data * block) as u64
}

pub fn stripe_count(size: u64, data: usize, block: usize) -> u64 {
    size.div_ceil(stripe_bytes(data, block))
}

/// The pieces that make up `[start, end)` (end within the volume), in order.
pub fn pieces(start: u64, end: u64, data: usize, block: usize) -> Vec<Piece> {
    let mut out = Vec::new();
    let bs = block as u64;
    let mut pos = start;
    while pos < end {
        let stripe = pos / stripe_bytes(data, block);
        let in_stripe = pos % stripe_bytes(data, block);
        let shard = (in_stripe / bs) as usize;
        let offset = (in_stripe % bs) as usize;
        let len = (bs - offset as u64).min(end - pos) as usize;
        out.push(Piece { shard, block: stripe, offset, len });
        pos += len as u64;
    }
    out
}

/// Per data shard, the run of blocks the pieces touch.
pub fn spans(pieces: &[Piece]) -> Vec<ShardSpan> {
    let mut spans: Vec<ShardSpan> = Vec::new();
    for p in pieces {
        match spans.iter_mut().find(|s| s.shard == p.shard) {
            Some(s) => {
                s.first = s.first.min(p.block);
                s.last = s.last.max(p.block);
            }
            None => spans.push(ShardSpan { shard: p.shard, first: p.block, last: p.block }),
        }
    }
    spans
}

/// A contiguous byte range `[from, to)` of one shard's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSpan {
    pub shard: usize,
    pub from: u64,
    pub to: u64,
}

/// Per data shard, the bytes of its data the pieces touch (contiguous:
/// stripes are consecutive blocks of each shard).
pub fn byte_spans(pieces: &[Piece], block: usize) -> Vec<ByteSpan> {
    let mut spans: Vec<ByteSpan> = Vec::new();
    for p in pieces {
        let from = p.block * block as u64 + p.offset as u64;
        let to = from + p.len as u64;
        match spans.iter_mut().find(|s| s.shard == p.shard) {
            Some(s) => {
                s.from = s.from.min(from);
                s.to = s.to.max(to);
            }
            None => spans.push(ByteSpan { shard: p.shard, from, to }),
        }
    }
    spans
}

/// Chooses the disks for a volume's `shards` shards among `disks` (ids of
/// the tier's healthy disks), starting at a place that varies with the volume
/// id so load spreads. Distinct disks when there are enough; otherwise they
/// wrap (distinct files still protect against bit rot).
pub fn place(disks: &[u32], shards: usize, volume_id: u64) -> Vec<u32> {
    if disks.is_empty() {
        return Vec::new();
    }
    let start = (volume_id % disks.len() as u64) as usize;
    (0..shards).map(|i| disks[(start + i) % disks.len()]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_range_in_order() {
        // 2 data shards of 4-byte blocks: stripe = 8 bytes.
        let p = pieces(3, 13, 2, 4);
        assert_eq!(
            p,
            vec![
                Piece { shard: 0, block: 0, offset: 3, len: 1 },
                Piece { shard: 1, block: 0, offset: 0, len: 4 },
                Piece { shard: 0, block: 1, offset: 0, len: 4 },
                Piece { shard: 1, block: 1, offset: 0, len: 1 },
            ]
        );
        assert_eq!(p.iter().map(|p| p.len).sum::<usize>(), 10);
        assert_eq!(
            spans(&p),
            vec![ShardSpan { shard: 0, first: 0, last: 1 }, ShardSpan { shard: 1, first: 0, last: 1 }]
        );
        assert_eq!(
            byte_spans(&p, 4),
            vec![ByteSpan { shard: 0, from: 3, to: 8 }, ByteSpan { shard: 1, from: 0, to: 5 }]
        );
    }

    #[test]
    fn a_small_range_touches_one_block() {
        let p = pieces(70_000, 70_100, 4, 65536);
        assert_eq!(p, vec![Piece { shard: 1, block: 0, offset: 70_000 - 65536, len: 100 }]);
        assert_eq!(stripe_count(0, 4, 65536), 0);
        assert_eq!(stripe_count(1, 4, 65536), 1);
        assert_eq!(stripe_count(4 * 65536 + 1, 4, 65536), 2);
    }

    #[test]
    fn placement_is_distinct_when_it_can_be() {
        let disks = [10, 11, 12, 13, 14, 15];
        for id in 0..20 {
            let mut chosen = place(&disks, 6, id);
            chosen.sort_unstable();
            chosen.dedup();
            assert_eq!(chosen.len(), 6);
        }
        assert_eq!(place(&[7], 3, 5), vec![7, 7, 7]);
        assert!(place(&[], 3, 5).is_empty());
    }
}
