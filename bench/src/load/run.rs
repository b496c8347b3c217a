//! The closed-loop runner: every connection issues its next request as soon
//! as the last one is answered, for a duration or an operation count after a
//! warm-up. A few event-loop threads ([`evloop`]) drive all the connections.
//! Latencies go into a per-thread hdrhistogram, merged at the end; nothing
//! is shared on the hot path but a few relaxed counters.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::SeedableRng;

use super::client::{write_body, Body, Response};
use super::evloop;
use super::job::{Job, OpKind, Stop};
use super::limits::{LATENCY_US_MAX, SMALL_WRITE_BYTES};
use super::prepare::{body_of, run_error};
use super::procstat::{thread_cpu_ns, ProcSample};
use super::report::{JobReport, Latency, OpReport, ServerReport};
use super::s3::{key, list_query, object_path, plan, Heads, Plan, Req, Target};
use super::session::failure;
use crate::Error;

/// How the run is watched.
#[derive(Clone, Copy, Debug, Default)]
pub struct Watch {
    /// Print a progress line to stderr every second.
    pub progress: bool,
    /// The server's pid, to report its CPU and disk traffic.
    pub server_pid: Option<u32>,
}

/// State the connections share.
struct Shared<'a> {
    job: &'a Job,
    ops: &'a [(OpKind, u32)],
    target: &'a Target,
    pattern: &'a [u8],
    measure_from: Instant,
    deadline: Option<Instant>,
    seq: AtomicU64,
    measured: AtomicU64,
    stop: AtomicBool,
    done_ops: AtomicU64,
    done_bytes: AtomicU64,
    done_errors: AtomicU64,
    finished: AtomicUsize,
}

/// One connection's tally of the measured phase.
struct Tally {
    hists: BTreeMap<OpKind, Histogram<u64>>,
    bytes: u64,
    errors: BTreeMap<String, u64>,
    last_end: Option<Instant>,
    cpu_ns: Option<u64>,
}

/// Runs `ops` (weighted) as `job` says; the bucket and objects must exist.
pub fn run(
    job: &Job,
    ops: &[(OpKind, u32)],
    target: &Target,
    pattern: &[u8],
    watch: Watch,
) -> Result<JobReport, Error> {
    let start = Instant::now();
    let measure_from = start + job.warmup;
    let shared = Shared {
        job,
        ops,
        target,
        pattern,
        measure_from,
        deadline: match job.stop {
            Stop::After(d) => Some(measure_from + d),
            Stop::Ops(_) => None,
        },
        seq: AtomicU64::new(0),
        measured: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        done_ops: AtomicU64::new(0),
        done_bytes: AtomicU64::new(0),
        done_errors: AtomicU64::new(0),
        finished: AtomicUsize::new(0),
    };
    let threads = job.client_threads.clamp(1, job.connections);
    let (tallies, server) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|id| {
                // Connections dealt out as evenly as they go.
                let connections = job.connections / threads + usize::from(id < job.connections % threads);
                let shared = &shared;
                s.spawn(move || loop_thread(shared, id, connections))
            })
            .collect();
        let server = watch_run(&shared, watch, threads);
        let tallies: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        (tallies, server)
    });
    let tallies = tallies.into_iter().collect::<Result<Result<Vec<Tally>, Error>, _>>();
    let tallies = tallies.map_err(|_| run_error(job, "an event-loop thread panicked"))??;
    Ok(summarise(job, ops, measure_from, tallies, server))
}

/// Prints progress until the connections finish; samples the server at the
/// start and the end of the measured phase.
fn watch_run(shared: &Shared<'_>, watch: Watch, threads: usize) -> Option<(ProcSample, ProcSample)> {
    let mut before = None;
    let mut last = (Instant::now(), 0u64, 0u64);
    let mut next_tick = Instant::now() + Duration::from_secs(1);
    while shared.finished.load(Ordering::Acquire) < threads {
        std::thread::sleep(Duration::from_millis(20));
        let now = Instant::now();
        if before.is_none() && now >= shared.measure_from {
            before = watch.server_pid.and_then(ProcSample::of);
        }
        if now >= next_tick {
            next_tick += Duration::from_secs(1);
            let ops = shared.done_ops.load(Ordering::Relaxed);
            let bytes = shared.done_bytes.load(Ordering::Relaxed);
            if watch.progress {
                let secs = now.duration_since(last.0).as_secs_f64();
                let phase = if now < shared.measure_from { " (warm-up)" } else { "" };
                eprintln!(
                    "{:>6.1}s {:<18} {:>9.0} ops/s {:>9.1} MB/s errors {}{phase}",
                    now.duration_since(shared.measure_from).as_secs_f64(),
                    shared.job.name,
                    (ops - last.1) as f64 / secs,
                    (bytes - last.2) as f64 / secs / 1e6,
                    shared.done_errors.load(Ordering::Relaxed),
                );
            }
            last = (now, ops, bytes);
        }
    }
    let after = watch.server_pid.and_then(ProcSample::of);
    before.zip(after)
}

/// One event-loop thread: its share of the connections, and its tally.
fn loop_thread(shared: &Shared<'_>, id: usize, connections: usize) -> Result<Tally, Error> {
    let job = shared.job;
    let mut ops = LoopOps::new(shared, id, connections);
    let driven = evloop::drive(shared.target.addr, connections, &mut ops);
    shared.finished.fetch_add(1, Ordering::Release);
    driven.map_err(|e| run_error(job, &format!("event loop: {e}")))?;
    let mut tally = ops.tally;
    tally.cpu_ns = match (ops.cpu_from.flatten(), thread_cpu_ns()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    Ok(tally)
}

/// Plans, signs and tallies the requests of one event-loop thread.
struct LoopOps<'s, 'j> {
    shared: &'s Shared<'j>,
    heads: Heads,
    rng: rand::rngs::StdRng,
    tally: Tally,
    /// Per connection: the request in flight, when it began, whether it
    /// counts (began after the warm-up).
    current: Vec<Option<(Plan, Instant, bool)>>,
    cpu_from: Option<Option<u64>>,
}

impl<'s, 'j> LoopOps<'s, 'j> {
    fn new(shared: &'s Shared<'j>, id: usize, connections: usize) -> Self {
        let job = shared.job;
        let mut hists = BTreeMap::new();
        for (kind, _) in shared.ops {
            // Bounds are constants that hdrhistogram accepts.
            if let Ok(h) = Histogram::new_with_bounds(1, LATENCY_US_MAX, 3) {
                hists.insert(*kind, h);
            }
        }
        LoopOps {
            shared,
            heads: Heads::new(job.creds.clone(), &shared.target.host),
            rng: rand::rngs::StdRng::seed_from_u64(job.seed ^ (id as u64).wrapping_mul(0x9E37_79B9)),
            tally: Tally { hists, bytes: 0, errors: BTreeMap::new(), last_end: None, cpu_ns: None },
            current: vec![None; connections],
            cpu_from: None,
        }
    }

    /// Whether another request may start now, and whether it counts.
    fn admit(&mut self, now: Instant) -> Option<bool> {
        let shared = self.shared;
        let measuring = now >= shared.measure_from;
        if measuring && self.cpu_from.is_none() {
            self.cpu_from = Some(thread_cpu_ns());
        }
        if shared.stop.load(Ordering::Relaxed) || shared.deadline.is_some_and(|d| now >= d) {
            return None;
        }
        if let (true, Stop::Ops(limit)) = (measuring, shared.job.stop) {
            if shared.measured.fetch_add(1, Ordering::Relaxed) >= limit {
                shared.stop.store(true, Ordering::Relaxed);
                return None;
            }
        }
        Some(measuring)
    }
}

impl<'s, 'j> evloop::Ops<'j> for LoopOps<'s, 'j> {
    fn next(&mut self, slot: usize) -> Option<evloop::Request<'j>> {
        let began = Instant::now();
        let measuring = self.admit(began)?;
        let shared = self.shared;
        let seq = shared.seq.fetch_add(1, Ordering::Relaxed);
        let p = plan(shared.job, shared.ops, &mut self.rng, seq);
        let request = build(&mut self.heads, shared.job, shared.pattern, &p);
        if let Some(c) = self.current.get_mut(slot) {
            *c = Some((p, began, measuring));
        }
        Some(request)
    }

    fn finished(&mut self, slot: usize, result: Result<Response, String>) {
        let ended = Instant::now();
        let current = self.current.get_mut(slot).and_then(Option::take);
        let shared = self.shared;
        shared.done_ops.fetch_add(1, Ordering::Relaxed);
        let (plan, began, measuring) = match current {
            Some((p, began, measuring)) => (Some(p), began, measuring),
            None => (None, ended, ended >= shared.measure_from),
        };
        let kind = plan.map(|p| p.kind);
        let outcome = result.and_then(|r| match failure(&r) {
            Some(key) => Err(key),
            None => Ok(r.body_bytes),
        });
        match outcome {
            Ok(received) => {
                // A PUT moved its body, whatever the answer's body was.
                let bytes = match plan {
                    Some(p) if p.kind == OpKind::Put => shared.job.size.size_of(p.index),
                    _ => received,
                };
                shared.done_bytes.fetch_add(bytes, Ordering::Relaxed);
                if measuring {
                    let us = ended.duration_since(began).as_micros() as u64;
                    if let Some(h) = kind.and_then(|k| self.tally.hists.get_mut(&k)) {
                        h.saturating_record(us.max(1));
                    }
                    self.tally.bytes += bytes;
                }
            }
            Err(key) => {
                shared.done_errors.fetch_add(1, Ordering::Relaxed);
                if measuring {
                    *self.tally.errors.entry(key).or_insert(0) += 1;
                }
            }
        }
        if measuring {
            self.tally.last_end = Some(ended);
        }
    }

    fn abandon(&self) -> bool {
        let grace = Duration::from_secs(30);
        self.shared.deadline.is_some_and(|d| Instant::now() >= d + grace)
    }
}

/// The signed request for a plan; a small body rides in the head's buffer
/// so it goes out in one write.
fn build<'p>(heads: &mut Heads, job: &Job, pattern: &'p [u8], p: &Plan) -> evloop::Request<'p> {
    let path;
    let query;
    let (req, body) = if p.kind == OpKind::List {
        path = format!("/{}", job.bucket);
        query = list_query(&job.prefix, job.list_max_keys);
        (Req { method: "GET", path: &path, query: &query, range: None, content_length: 0 }, Body::EMPTY)
    } else {
        path = object_path(&job.bucket, &key(&job.prefix, p.index));
        let method = match p.kind {
            OpKind::Put => "PUT",
            OpKind::Head => "HEAD",
            OpKind::Delete => "DELETE",
            _ => "GET",
        };
        let size = if p.kind == OpKind::Put { job.size.size_of(p.index) } else { 0 };
        let req = Req { method, path: &path, query: "", range: p.range, content_length: size };
        (req, body_of(pattern, p.index, size))
    };
    let mut head = heads.build(&req).to_vec();
    if head.len() as u64 + body.len <= SMALL_WRITE_BYTES as u64 && write_body(&mut head, body).is_ok() {
        return evloop::Request { head, body: Body::EMPTY, is_head: req.method == "HEAD" };
    }
    evloop::Request { head, body, is_head: req.method == "HEAD" }
}

fn summarise(
    job: &Job,
    ops: &[(OpKind, u32)],
    measure_from: Instant,
    tallies: Vec<Tally>,
    server: Option<(ProcSample, ProcSample)>,
) -> JobReport {
    let mut hists: BTreeMap<OpKind, Histogram<u64>> = BTreeMap::new();
    let mut total = Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3).ok();
    let mut errors = BTreeMap::new();
    let (mut bytes, mut cpu_ns, mut cpu_known, mut last_end) = (0, 0, true, measure_from);
    for t in tallies {
        for (kind, h) in t.hists {
            if let Some(total) = total.as_mut() {
                let _ = total.add(&h);
            }
            match hists.get_mut(&kind) {
                Some(merged) => {
                    let _ = merged.add(&h);
                }
                None => {
                    hists.insert(kind, h);
                }
            }
        }
        for (k, n) in t.errors {
            *errors.entry(k).or_insert(0) += n;
        }
        bytes += t.bytes;
        cpu_known &= t.cpu_ns.is_some();
        cpu_ns += t.cpu_ns.unwrap_or(0);
        last_end = last_end.max(t.last_end.unwrap_or(measure_from));
    }
    let secs = last_end.duration_since(measure_from).as_secs_f64().max(1e-9);
    let n: u64 = hists.values().map(|h| h.len()).sum();
    let by_operation = if ops.len() > 1 {
        hists
            .iter()
            .map(|(k, h)| OpReport { operation: k.name().into(), ops: h.len(), latency: Latency::of(h) })
            .collect()
    } else {
        Vec::new()
    };
    let operation = ops.iter().map(|(k, w)| if ops.len() > 1 { format!("{}{w}", k.name()) } else { k.name().into() });
    JobReport {
        job: job.name.clone(),
        operation: operation.collect::<Vec<_>>().join("/"),
        endpoint: job.endpoint.clone(),
        size: if ops.iter().all(|(k, _)| *k == OpKind::RangeGet) {
            super::job::format_size(job.range_size)
        } else {
            job.size.describe()
        },
        connections: job.connections,
        duration_s: secs,
        ops: n,
        ops_per_s: n as f64 / secs,
        mb_per_s: bytes as f64 / secs / 1e6,
        latency: total.as_ref().map(Latency::of).unwrap_or_default(),
        by_operation,
        error_count: errors.values().sum(),
        errors,
        client_cpu_us_per_op: (cpu_known && n > 0).then(|| cpu_ns as f64 / 1e3 / n as f64),
        client_cores_busy: cpu_known.then(|| cpu_ns as f64 / 1e9 / secs),
        server: server.map(|(a, b)| ServerReport::new(&b.since(&a), n, secs, bytes)),
    }
}
