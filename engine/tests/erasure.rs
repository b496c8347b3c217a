//! Erasure-coded volumes on real files: written, damaged, read back.

use std::path::PathBuf;
use std::sync::Arc;

use glommio::LocalExecutorBuilder;
use stratum_engine::volume::{VolumeReader, VolumeWriter};
use stratum_engine::{Node, NodeConfig, Scheme, Tier, TierConfig};
use stratum_meta::{SegmentBody, VolumeRef};

fn node(name: &str, disks: usize, scheme: Option<Scheme>) -> (Arc<Node>, PathBuf) {
    node_with_cache(name, disks, scheme, 0)
}

fn node_with_cache(name: &str, disks: usize, scheme: Option<Scheme>, cache: u64) -> (Arc<Node>, PathBuf) {
    let root = std::env::temp_dir().join(format!("stratum-ec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let disks = (0..disks).map(|i| root.join(format!("disk{i}"))).collect();
    let config = config(vec![TierConfig { tier: Tier::Hot, disks, scheme }], cache);
    (Node::open(&config).expect("node opens"), root)
}

/// One core, no scrub, these tiers and this much read cache.
fn config(tiers: Vec<TierConfig>, read_cache_bytes: u64) -> NodeConfig {
    NodeConfig {
        tiers,
        cores: 1,
        inline_max_bytes: 64 * 1024,
        scrub_bytes_per_sec: 0,
        scrub_interval: std::time::Duration::from_secs(3600),
        multipart_expiry: std::time::Duration::from_secs(3600),
        autotier: Default::default(),
        read_cache_bytes,
    }
}

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn write(node: &Arc<Node>, data: &[u8]) -> (VolumeRef, u64) {
    let mut w = VolumeWriter::new(node.clone(), 0, Tier::Hot).expect("writer");
    for chunk in data.chunks(100_003) {
        w.write(chunk).await.expect("write");
    }
    let sealed = w.seal().await.expect("seal");
    match sealed.body {
        SegmentBody::Volume(v) => (v, sealed.size),
        SegmentBody::Inline { .. } => panic!("expected a volume"),
    }
}

async fn read(node: &Arc<Node>, v: &VolumeRef, size: u64, start: u64, end: u64) -> stratum_engine::Result<Vec<u8>> {
    let reader = VolumeReader::new(node.clone(), v.clone(), size);
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        let step = (end - pos).min(1 << 20);
        for piece in reader.read(pos, pos + step).await? {
            out.extend_from_slice(piece.as_slice());
        }
        pos += step;
    }
    Ok(out)
}

fn shard_path(node: &Node, v: &VolumeRef, shard: usize) -> PathBuf {
    node.disk(v.disks[shard]).expect("disk").shard_path(v.slice, v.id, shard)
}

fn flip_byte(path: &PathBuf, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read shard");
    bytes[offset as usize] ^= 0x5a;
    std::fs::write(path, bytes).expect("write shard");
}

fn run<F: std::future::Future<Output = ()> + 'static>(f: impl FnOnce() -> F + Send + 'static) {
    LocalExecutorBuilder::default().spawn(f).expect("executor").join().expect("join");
}

#[test]
fn reads_survive_up_to_parity_lost_shards_and_fail_beyond() {
    run(|| async {
        let (node, root) = node("lose", 4, None);
        let data = pattern(3 * 1024 * 1024 + 12345, 7);
        let (v, size) = write(&node, &data).await;
        assert_eq!((v.data_shards, v.parity_shards), (2, 2));
        let mut distinct = v.disks.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 4, "shards on distinct disks");
        assert_eq!(read(&node, &v, size, 0, size).await.expect("whole"), data);

        // Corrupt one data shard in its middle, delete a parity shard: still exact.
        flip_byte(&shard_path(&node, &v, 0), 4096 + 70_000);
        std::fs::remove_file(shard_path(&node, &v, 3)).expect("remove");
        assert_eq!(read(&node, &v, size, 0, size).await.expect("whole after damage"), data);
        let (a, b) = (60_000u64, 200_000u64);
        assert_eq!(read(&node, &v, size, a, b).await.expect("range"), data[a as usize..b as usize]);
        assert!(node.counters.reconstructed_stripes.load(std::sync::atomic::Ordering::Relaxed) > 0);

        // Three damaged shards in one stripe are beyond 2 parity: an error,
        // never wrong bytes.
        flip_byte(&shard_path(&node, &v, 0), 4096 + 10);
        flip_byte(&shard_path(&node, &v, 1), 4096 + 10);
        let err = read(&node, &v, size, 0, 1000).await;
        assert!(err.is_err(), "three damaged shards must fail");
        let _ = std::fs::remove_dir_all(root);
    });
}

#[test]
fn single_disk_detects_every_flipped_block() {
    run(|| async {
        let (node, root) = node("one", 1, None);
        let data = pattern(1024 * 1024, 3);
        let (v, size) = write(&node, &data).await;
        assert_eq!((v.data_shards, v.parity_shards), (1, 0));
        flip_byte(&shard_path(&node, &v, 0), 4096 + 500_000);
        // The damaged block fails; others still read.
        assert!(read(&node, &v, size, 500_000, 500_001).await.is_err());
        assert_eq!(read(&node, &v, size, 0, 65536).await.expect("clean block"), data[..65536]);
        let _ = std::fs::remove_dir_all(root);
    });
}

#[test]
fn small_bodies_go_inline_and_ranges_match_the_model() {
    run(|| async {
        let (node, root) = node("inline", 3, Some(Scheme { data: 2, parity: 1 }));
        let mut w = VolumeWriter::new(node.clone(), 0, Tier::Hot).expect("writer");
        w.write(b"hello").await.expect("write");
        let sealed = w.seal().await.expect("seal");
        assert!(matches!(sealed.body, SegmentBody::Inline { .. }));

        let data = pattern(700_001, 11);
        let (v, size) = write(&node, &data).await;
        let mut x = 99u64;
        for _ in 0..200 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let a = (x >> 20) % size;
            let b = (a + (x >> 40) % 200_000 + 1).min(size);
            assert_eq!(read(&node, &v, size, a, b).await.expect("range"), data[a as usize..b as usize], "{a}..{b}");
        }
        let _ = std::fs::remove_dir_all(root);
    });
}

#[test]
fn scrub_rewrites_damaged_and_missing_shards() {
    use stratum_engine::scrub::{scrub_volume, Throttle};
    run(|| async {
        let (node, root) = node("scrub", 6, None);
        let data = pattern(2 * 1024 * 1024 + 999, 5);
        let (v, size) = write(&node, &data).await;
        assert_eq!((v.data_shards, v.parity_shards), (4, 2));
        flip_byte(&shard_path(&node, &v, 1), 4096 + 3);
        std::fs::remove_file(shard_path(&node, &v, 4)).expect("remove parity shard");
        let report = scrub_volume(&node, &v, size, &mut Throttle::new(0)).await;
        assert!(report.bad_blocks >= 2, "{report:?}");
        assert_eq!(report.shards_repaired, 2, "{report:?}");
        assert_eq!(report.volumes_unrecoverable, 0);
        let again = scrub_volume(&node, &v, size, &mut Throttle::new(0)).await;
        assert_eq!((again.bad_blocks, again.shards_repaired), (0, 0), "whole after repair: {again:?}");
        // The repaired shards now carry the data on their own: lose two others.
        std::fs::remove_file(shard_path(&node, &v, 0)).expect("remove");
        std::fs::remove_file(shard_path(&node, &v, 5)).expect("remove");
        assert_eq!(read(&node, &v, size, 0, size).await.expect("read"), data);
        let _ = std::fs::remove_dir_all(root);
    });
}

fn disk_read(node: &Node) -> u64 {
    node.counters.disk_read_bytes.load(std::sync::atomic::Ordering::Relaxed)
}

#[test]
fn the_read_cache_serves_what_was_read_without_the_disk() {
    run(|| async {
        let (node, root) = node_with_cache("cache", 4, None, 64 << 20);
        let data = pattern(3 * 1024 * 1024 + 12345, 11);
        let (v, size) = write(&node, &data).await;
        let (a, b) = (60_001u64, 1_500_003u64);
        assert_eq!(read(&node, &v, size, a, b).await.expect("first"), data[a as usize..b as usize]);
        let after_first = disk_read(&node);
        assert!(after_first >= b - a, "the first read went to the disks");

        // Every shard file damaged: the range read before still comes whole
        // from memory, with no disk read.
        for shard in 0..4 {
            let path = shard_path(&node, &v, shard);
            let len = std::fs::metadata(&path).expect("shard").len();
            for at in (4096..len).step_by(4096) {
                flip_byte(&path, at);
            }
        }
        assert_eq!(read(&node, &v, size, a, b).await.expect("cached"), data[a as usize..b as usize]);
        assert_eq!(read(&node, &v, size, a + 7, a + 9).await.expect("inside"), data[a as usize + 7..a as usize + 9]);
        assert_eq!(disk_read(&node), after_first, "served from the cache");
        let stats = node.read_cache().expect("cache on").stats();
        assert!(stats.hit_bytes >= b - a && stats.resident_bytes > 0, "{stats:?}");

        // Past what was read, the disks are asked, and their damage shows:
        // an error, never the cache's bytes in the wrong place.
        assert!(read(&node, &v, size, b, size).await.is_err(), "the uncached rest is damaged beyond parity");
        let _ = std::fs::remove_dir_all(root);
    });
}

#[test]
fn the_read_cache_keeps_no_block_that_failed_its_checksum() {
    run(|| async {
        let (node, root) = node_with_cache("cache-bad", 1, None, 64 << 20);
        let data = pattern(1024 * 1024, 5);
        let (v, size) = write(&node, &data).await;
        // One byte of the second 4 KiB sector of the first block is bad.
        flip_byte(&shard_path(&node, &v, 0), 4096 + 4096 + 10);
        assert!(read(&node, &v, size, 0, 64 * 1024).await.is_err(), "the bad sector is refused");
        assert!(read(&node, &v, size, 0, 64 * 1024).await.is_err(), "and not served from the cache later");
        // Its neighbours were good: cached, and served.
        assert_eq!(read(&node, &v, size, 0, 4096).await.expect("sector 0"), data[..4096]);
        assert_eq!(read(&node, &v, size, 8192, 70_000).await.expect("after it"), data[8192..70_000]);
        let before = disk_read(&node);
        assert_eq!(read(&node, &v, size, 0, 4096).await.expect("sector 0 again"), data[..4096]);
        assert_eq!(disk_read(&node), before, "sector 0 came from the cache");
        let _ = std::fs::remove_dir_all(root);
    });
}

#[test]
fn scrub_reads_do_not_fill_the_read_cache() {
    run(|| async {
        let (node, root) = node_with_cache("cache-scrub", 1, None, 64 << 20);
        let data = pattern(1024 * 1024, 9);
        let (v, size) = write(&node, &data).await;
        let reader = VolumeReader::background(node.clone(), v.clone(), size);
        let pieces = reader.read(0, size).await.expect("scrub read");
        assert_eq!(pieces.iter().map(|p| p.as_slice().len() as u64).sum::<u64>(), size);
        assert_eq!(node.read_cache().expect("cache on").stats().resident_bytes, 0);
        let _ = std::fs::remove_dir_all(root);
    });
}

#[test]
fn tier_moves_do_not_fill_the_read_cache() {
    run(|| async {
        let root = std::env::temp_dir().join(format!("stratum-ec-cache-move-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let config = config(
            vec![
                TierConfig { tier: Tier::Hot, disks: vec![root.join("h0")], scheme: None },
                TierConfig { tier: Tier::Warm, disks: vec![root.join("w0")], scheme: None },
            ],
            64 << 20,
        );
        let node = Node::open(&config).expect("node opens");
        let data = pattern(2 * 1024 * 1024, 3);
        let (v, size) = write(&node, &data).await;
        let segment = stratum_meta::Segment { size, body: SegmentBody::Volume(v) };
        let copy = stratum_engine::mover::rewrite_segment(&node, 0, &segment, Tier::Warm).await.expect("move");
        let SegmentBody::Volume(moved) = copy.body else { panic!("expected a volume") };
        let stats = node.read_cache().expect("on").stats();
        assert_eq!(stats.resident_bytes, 0, "the move's reads are not client reads: {stats:?}");
        assert_eq!(disk_read(&node), 0, "nor counted as client disk reads");
        assert_eq!(read(&node, &moved, size, 0, size).await.expect("moved"), data);
        let _ = std::fs::remove_dir_all(root);
    });
}
