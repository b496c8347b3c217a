//! Results of a load run: what was measured, as JSON and as a table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::procstat::ProcSample;

/// Latency percentiles, microseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: h.mean(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct OpReport {
    pub operation: String,
    pub ops: u64,
    pub latency: Latency,
}

/// What the server spent during the measured phase (given its pid).
#[derive(Clone, Debug, Serialize)]
pub struct ServerReport {
    pub cpu_s: f64,
    pub cpu_us_per_op: f64,
    pub cores_busy: f64,
    pub disk_read_bytes: u64,
    pub disk_write_bytes: u64,
    pub read_syscall_bytes: u64,
    /// Bytes read from storage per byte served.
    pub disk_read_per_byte_served: f64,
    /// Bytes returned by read syscalls (page cache included) per byte served.
    pub read_syscall_per_byte_served: f64,
}

impl ServerReport {
    pub fn new(delta: &ProcSample, ops: u64, secs: f64, bytes_served: u64) -> ServerReport {
        let per_byte = |n: u64| if bytes_served == 0 { 0.0 } else { n as f64 / bytes_served as f64 };
        ServerReport {
            cpu_s: delta.cpu_s,
            cpu_us_per_op: if ops == 0 { 0.0 } else { delta.cpu_s * 1e6 / ops as f64 },
            cores_busy: if secs > 0.0 { delta.cpu_s / secs } else { 0.0 },
            disk_read_bytes: delta.disk_read_bytes,
            disk_write_bytes: delta.disk_write_bytes,
            read_syscall_bytes: delta.read_syscall_bytes,
            disk_read_per_byte_served: per_byte(delta.disk_read_bytes),
            read_syscall_per_byte_served: per_byte(delta.read_syscall_bytes),
        }
    }
}

/// One job's results.
#[derive(Clone, Debug, Serialize)]
pub struct JobReport {
    pub job: String,
    pub operation: String,
    pub endpoint: String,
    pub size: String,
    pub connections: usize,
    pub duration_s: f64,
    pub ops: u64,
    pub ops_per_s: f64,
    /// Payload bytes (PUT bodies sent, GET bodies received), 10^6 per MB.
    pub mb_per_s: f64,
    pub latency: Latency,
    /// Per operation, when the job mixes several.
    pub by_operation: Vec<OpReport>,
    pub errors: BTreeMap<String, u64>,
    pub error_count: u64,
    /// CPU the generator's connections spent per operation.
    pub client_cpu_us_per_op: Option<f64>,
    pub client_cores_busy: Option<f64>,
    pub server: Option<ServerReport>,
}

/// One line per job (and per operation of a mixed job), fio-style.
pub fn render_table(reports: &[JobReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:<10} {:>9} {:>5} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "job", "op", "size", "conns", "ops/s", "MB/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors"
    );
    for r in reports {
        let _ = writeln!(
            out,
            "{:<18} {:<10} {:>9} {:>5} {:>10.0} {:>9.1} {} {:>7}",
            r.job,
            r.operation,
            r.size,
            r.connections,
            r.ops_per_s,
            r.mb_per_s,
            latency_cells(&r.latency),
            r.error_count
        );
        for op in &r.by_operation {
            let rate = if r.duration_s > 0.0 { op.ops as f64 / r.duration_s } else { 0.0 };
            let _ = writeln!(
                out,
                "{:<18} {:<10} {:>9} {:>5} {:>10.0} {:>9} {}",
                "",
                op.operation,
                "",
                "",
                rate,
                "",
                latency_cells(&op.latency)
            );
        }
    }
    for r in reports {
        let notes = notes(r);
        if !notes.is_empty() {
            let _ = writeln!(out, "{}: {}", r.job, notes.join("; "));
        }
    }
    out
}

fn latency_cells(l: &Latency) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    format!(
        "{:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
        ms(l.p50_us),
        ms(l.p90_us),
        ms(l.p99_us),
        ms(l.p999_us),
        ms(l.max_us)
    )
}

fn notes(r: &JobReport) -> Vec<String> {
    let mut notes = Vec::new();
    if let (Some(us), Some(cores)) = (r.client_cpu_us_per_op, r.client_cores_busy) {
        notes.push(format!("generator {us:.1} µs CPU/op ({cores:.2} cores)"));
    }
    if let Some(s) = &r.server {
        notes.push(format!(
            "server {:.1} µs CPU/op ({:.2} cores), disk read {} write {}, disk read per byte served {:.2}",
            s.cpu_us_per_op,
            s.cores_busy,
            human_bytes(s.disk_read_bytes),
            human_bytes(s.disk_write_bytes),
            s.disk_read_per_byte_served
        ));
    }
    if !r.errors.is_empty() {
        let errors: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k} x{n}")).collect();
        notes.push(format!("errors: {}", errors.join(", ")));
    }
    notes
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_from_a_histogram() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for v in 1..=1000 {
            h.record(v).unwrap();
        }
        let l = Latency::of(&h);
        assert!((495..=505).contains(&l.p50_us));
        assert!((985..=995).contains(&l.p99_us));
        assert_eq!(l.max_us, 1000);
        assert_eq!(Latency::of(&Histogram::new(3).unwrap()).max_us, 0);
    }

    #[test]
    fn bytes_for_people() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
