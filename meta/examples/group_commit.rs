//! Measures what group commit buys: small object records applied one per
//! fsync, against groups of 8 and 64 sharing one fsync.
//!
//! `cargo run --release -p stratum-meta --example group_commit [dir]`

use std::time::Instant;

use stratum_meta::{ObjectRecord, Op, Partition, Segment, SegmentBody};

fn record(i: usize) -> ObjectRecord {
    let bytes = vec![i as u8; 4096];
    ObjectRecord {
        size: 4096,
        etag: format!("{i:032x}"),
        modified_ms: 0,
        content_type: "application/octet-stream".into(),
        headers: vec![],
        user_meta: vec![],
        segments: vec![Segment { size: 4096, body: SegmentBody::Inline { crc32c: crc(&bytes), bytes } }],
        tags: vec![],
        checksum: None,
    }
}

fn crc(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |a, b| a.rotate_left(5) ^ u32::from(*b))
}

fn main() -> Result<(), stratum_meta::MetaError> {
    let dir = std::env::args().nth(1).map_or_else(|| std::env::temp_dir().join("stratum-group-commit"), Into::into);
    let ops = 2000;
    for group in [1usize, 8, 64] {
        let path = dir.join(format!("g{group}"));
        let _ = std::fs::remove_dir_all(&path);
        let partition = Partition::open(&path)?;
        let started = Instant::now();
        let mut i = 0;
        while i < ops {
            let batch: Vec<Op> = (i..(i + group).min(ops))
                .map(|n| Op::PutObject { bucket: "b".into(), key: format!("k{n}"), record: record(n) })
                .collect();
            i += batch.len();
            for result in partition.apply_group(batch)? {
                result?;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "group of {group:>2}: {ops} durable 4 KiB inline PUT records in {secs:.2} s = {:.0}/s",
            ops as f64 / secs
        );
        drop(partition);
        let _ = std::fs::remove_dir_all(&path);
    }
    Ok(())
}
