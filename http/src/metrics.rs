//! Prometheus metrics, process-wide: requests by operation and status,
//! bytes in and out, a latency histogram, requests in flight per core, and
//! (gathered at scrape time) the engine's counters and disk usage per tier.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use stratum_engine::Node;

/// Upper bounds of the latency buckets, in microseconds.
const LATENCY_BOUNDS_US: [u64; 14] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 10_000_000,
];
const MAX_CORES: usize = 256;

pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// S3 error documents sent, by code.
    errors: Mutex<BTreeMap<&'static str, u64>>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    latency: [AtomicU64; LATENCY_BOUNDS_US.len() + 1],
    latency_sum_us: AtomicU64,
    in_flight: [AtomicU64; MAX_CORES],
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);

pub static METRICS: Metrics = Metrics {
    requests: Mutex::new(BTreeMap::new()),
    errors: Mutex::new(BTreeMap::new()),
    bytes_in: AtomicU64::new(0),
    bytes_out: AtomicU64::new(0),
    latency: [ZERO; LATENCY_BOUNDS_US.len() + 1],
    latency_sum_us: AtomicU64::new(0),
    in_flight: [ZERO; MAX_CORES],
};

impl Metrics {
    pub fn record(&self, op: &str, status: u16, bytes_in: u64, bytes_out: u64, micros: u64) {
        if let Ok(mut r) = self.requests.lock() {
            match r.get_mut(&(op.to_owned(), status)) {
                Some(n) => *n += 1,
                None => {
                    r.insert((op.to_owned(), status), 1);
                }
            }
        }
        self.bytes_in.fetch_add(bytes_in, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes_out, Ordering::Relaxed);
        let bucket = LATENCY_BOUNDS_US.iter().position(|b| micros <= *b).unwrap_or(LATENCY_BOUNDS_US.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts an S3 error document by its code (NoSuchKey, SlowDown, ...).
    pub fn error(&self, code: &'static str) {
        if let Ok(mut e) = self.errors.lock() {
            *e.entry(code).or_default() += 1;
        }
    }

    pub fn set_in_flight(&self, core: usize, n: usize) {
        if let Some(g) = self.in_flight.get(core) {
            g.store(n as u64, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, node: &Node) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# TYPE stratum_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((op, status), n) in r.iter() {
                let _ = writeln!(out, "stratum_requests_total{{op=\"{op}\",status=\"{status}\"}} {n}");
            }
        }
        out.push_str("# TYPE stratum_errors_total counter\n");
        if let Ok(e) = self.errors.lock() {
            for (code, n) in e.iter() {
                let _ = writeln!(out, "stratum_errors_total{{code=\"{code}\"}} {n}");
            }
        }
        counter(&mut out, "stratum_received_bytes_total", self.bytes_in.load(Ordering::Relaxed));
        counter(&mut out, "stratum_sent_bytes_total", self.bytes_out.load(Ordering::Relaxed));
        out.push_str("# TYPE stratum_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, bound) in LATENCY_BOUNDS_US.iter().enumerate() {
            cumulative += self.latency[i].load(Ordering::Relaxed);
            let le = *bound as f64 / 1e6;
            let _ = writeln!(out, "stratum_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}");
        }
        cumulative += self.latency[LATENCY_BOUNDS_US.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "stratum_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "stratum_request_duration_seconds_sum {sum}\nstratum_request_duration_seconds_count {cumulative}"
        );
        out.push_str("# TYPE stratum_in_flight_requests gauge\n");
        for core in 0..node.cores().min(MAX_CORES) {
            let n = self.in_flight[core].load(Ordering::Relaxed);
            let _ = writeln!(out, "stratum_in_flight_requests{{core=\"{core}\"}} {n}");
        }
        let cores = node.cores().min(MAX_CORES);
        out.push_str("# TYPE stratum_core_handoffs_total counter\n");
        for core in 0..cores {
            let n = node.core_counters.handoffs(core);
            let _ = writeln!(out, "stratum_core_handoffs_total{{core=\"{core}\"}} {n}");
        }
        out.push_str("# TYPE stratum_core_queued_jobs gauge\n");
        for core in 0..cores {
            let n = node.core_counters.queued(core);
            let _ = writeln!(out, "stratum_core_queued_jobs{{core=\"{core}\"}} {n}");
        }
        engine_metrics(&mut out, node);
        out
    }
}

fn counter(out: &mut String, name: &str, value: u64) {
    let _ = writeln!(out, "# TYPE {name} counter\n{name} {value}");
}

fn engine_metrics(out: &mut String, node: &Node) {
    let c = &node.counters;
    let s = &node.scrub_totals;
    let read = |a: &AtomicU64| a.load(Ordering::Relaxed);
    counter(out, "stratum_reconstructed_stripes_total", read(&c.reconstructed_stripes));
    counter(out, "stratum_unrecoverable_reads_total", read(&c.unrecoverable_reads));
    counter(out, "stratum_corrupt_blocks_total", read(&c.corrupt_blocks));
    counter(out, "stratum_disk_read_bytes_total", read(&c.disk_read_bytes));
    counter(out, "stratum_served_bytes_total", read(&c.served_bytes));
    if let Some(cache) = node.read_cache() {
        let stats = cache.stats();
        counter(out, "stratum_read_cache_hit_bytes_total", stats.hit_bytes);
        counter(out, "stratum_read_cache_miss_bytes_total", stats.miss_bytes);
        let _ =
            writeln!(out, "# TYPE stratum_read_cache_bytes gauge\nstratum_read_cache_bytes {}", stats.resident_bytes);
    }
    counter(out, "stratum_scrub_bytes_checked_total", read(&s.bytes_checked));
    counter(out, "stratum_scrub_bad_blocks_total", read(&s.bad_blocks));
    counter(out, "stratum_scrub_shards_repaired_total", read(&s.shards_repaired));
    counter(out, "stratum_scrub_volumes_respread_total", read(&s.volumes_respread));
    if let Some(t) = &node.autotier {
        counter(out, "stratum_tier_moves_total", read(&t.counters.moves_done));
        counter(out, "stratum_tier_moves_failed_total", read(&t.counters.moves_failed));
        counter(out, "stratum_tier_moved_bytes_total", read(&t.counters.bytes_moved));
        counter(out, "stratum_tier_reads_dropped_total", read(&t.counters.reads_dropped));
        out.push_str("# TYPE stratum_tier_planned_bytes gauge\n");
        for state in node.tiers() {
            let bytes: u64 = t.counters.cores.iter().map(|g| read(&g.planned_bytes[state.tier.index()])).sum();
            let _ = writeln!(out, "stratum_tier_planned_bytes{{tier=\"{}\"}} {bytes}", state.tier.name());
        }
    }
    out.push_str("# TYPE stratum_disk_bytes gauge\n# TYPE stratum_disk_faulty gauge\n# TYPE stratum_disk_full gauge\n");
    for disk in node.disks() {
        let labels = format!("disk=\"{}\",tier=\"{}\"", disk.id, disk.tier.name());
        if let Some((total, free)) = disk.space() {
            let _ = writeln!(out, "stratum_disk_bytes{{{labels},kind=\"total\"}} {total}");
            let _ = writeln!(out, "stratum_disk_bytes{{{labels},kind=\"free\"}} {free}");
        }
        let _ = writeln!(out, "stratum_disk_faulty{{{labels}}} {}", u8::from(disk.is_faulty()));
        let _ = writeln!(out, "stratum_disk_full{{{labels}}} {}", u8::from(disk.is_full()));
    }
}
