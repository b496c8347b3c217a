//! Memory of automatic tiering per object: one core's planner told of a
//! million stored objects (keys like `videos/2026/11/title-000123.mp4`),
//! then a read of each. Prints resident bytes per object and the time per
//! read. Run: `cargo run --release -p stratum-engine --example autotier_memory`.

use std::time::Instant;

use stratum_engine::autotier::{name_of, AutoTier, AutoTierConfig, AutoTierShared, Found, ReadNote};
use stratum_engine::Tier;
use stratum_tiering::{Capacity, ContentClass, Facts, Hint};

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn main() {
    const OBJECTS: u64 = 1_000_000;
    let present = [Tier::Hot, Tier::Warm, Tier::Cold];
    let Ok(Some(shared)) = AutoTierShared::new(AutoTierConfig::default(), &present, 1, 0) else {
        eprintln!("tiering config refused");
        return;
    };
    let capacity = Capacity { hot_bytes: Some(OBJECTS * (1 << 20) / 10), warm_bytes: Some(OBJECTS * (1 << 20) / 3) };
    let before = resident_bytes();
    let at = AutoTier::with_capacity(&shared, capacity);
    let names: Vec<Vec<u8>> =
        (0..OBJECTS).map(|i| name_of("media", &format!("videos/2026/11/title-{i:06}.mp4"))).collect();
    let names_bytes = resident_bytes() - before;
    let facts = Facts { size_bytes: 1 << 20, content: ContentClass::Video, hint: Hint::Auto };
    let now = 30 * 24 * 3_600_000;
    for name in &names {
        at.existing(&shared, name, facts, Tier::Warm, Found::WrittenAt(now), now);
    }
    let tiering_bytes = resident_bytes() - before - names_bytes;
    let started = Instant::now();
    for (i, name) in names.iter().enumerate() {
        let note = ReadNote { name: name.clone(), offset: 0, length: 1 << 20, at_ms: now + i as u64 };
        at.read(&shared, &note);
    }
    let per_read = started.elapsed().as_nanos() as f64 / OBJECTS as f64;
    println!(
        "{OBJECTS} objects (key {} bytes): {:.0} bytes each in memory for tiering; {per_read:.0} ns per read \
         (clone of the name included); {} moves queued",
        names[0].len(),
        tiering_bytes as f64 / OBJECTS as f64,
        at.queued()
    );
}
