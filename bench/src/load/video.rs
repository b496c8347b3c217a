//! The video-origin job: viewers each play one large object by sequential
//! Range requests of one chunk, at a bitrate. A viewer fetches ahead of
//! play-out by at most `buffer_chunks`; play-out starts when the first
//! `prebuffer_chunks` have arrived; a chunk that arrives after its play-out
//! deadline is a stall (the player rebuffers: its clock shifts by the delay).
//! A search finds the most viewers served with no stall at all (a failed
//! probe is repeated once before it counts).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use super::client::Body;
use super::job::{Job, Stop, VideoSpec};
use super::limits::{LATENCY_US_MAX, VIEWER_STACK_BYTES};
use super::prepare::run_error;
use super::report::Latency;
use super::s3::{key, object_path, Req, Target};
use super::session::{failure, Session};
use crate::Error;

/// How long a probe lasts when the job gives an operation count instead.
const DEFAULT_PROBE: Duration = Duration::from_secs(6);

/// One run with a fixed number of viewers.
#[derive(Clone, Debug, Serialize)]
pub struct ViewerRun {
    pub viewers: usize,
    pub secs: f64,
    pub chunks: u64,
    pub stalls: u64,
    pub stalled_viewers: usize,
    pub errors: u64,
    pub mb_per_s: f64,
    /// Startup: from a viewer's first request to the first byte.
    pub ttfb: Latency,
    /// Every chunk: request to last byte.
    pub chunk_latency: Latency,
}

impl ViewerRun {
    pub fn clean(&self) -> bool {
        self.stalls == 0 && self.errors == 0
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct VideoReport {
    pub job: String,
    pub endpoint: String,
    pub chunk_bytes: u64,
    pub bitrate_mbps: f64,
    /// The most viewers of a clean run (a search), or of the one run.
    pub viewers_without_stalls: usize,
    pub runs: Vec<ViewerRun>,
}

/// Runs the job: a fixed number of viewers, or a search.
pub fn run(job: &Job, spec: &VideoSpec, target: &Target, progress: bool) -> Result<VideoReport, Error> {
    // A search runs many probes: each lasts the job's duration.
    let secs = match job.stop {
        Stop::After(d) => d,
        Stop::Ops(_) => DEFAULT_PROBE,
    };
    let mut runs = Vec::new();
    // A failed probe is tried once more before it counts: on a shared
    // machine one stall of the server or of its CPU (another tenant, a
    // compaction) would otherwise end the search far below the real answer.
    let mut attempt = |viewers: usize| -> Result<bool, Error> {
        for _ in 0..2 {
            let r = play(job, spec, target, viewers, secs)?;
            if progress {
                eprintln!("video {}: {}", job.name, describe(&r));
            }
            let clean = r.clean();
            runs.push(r);
            if clean {
                return Ok(true);
            }
        }
        Ok(false)
    };
    let best = match spec.viewers {
        Some(n) => {
            if attempt(n)? {
                n
            } else {
                0
            }
        }
        None => search(spec.search_start, spec.search_max, &mut attempt)?,
    };
    Ok(VideoReport {
        job: job.name.clone(),
        endpoint: job.endpoint.clone(),
        chunk_bytes: spec.chunk_bytes,
        bitrate_mbps: spec.bitrate_bps as f64 / 1e6,
        viewers_without_stalls: best,
        runs,
    })
}

fn describe(r: &ViewerRun) -> String {
    format!(
        "{} viewers, {} stalls ({} viewers), {} errors, ttfb p99 {:.1} ms, {:.0} MB/s",
        r.viewers,
        r.stalls,
        r.stalled_viewers,
        r.errors,
        r.ttfb.p99_us as f64 / 1e3,
        r.mb_per_s
    )
}

/// The runs as a table, headed by the answer.
pub fn render(r: &VideoReport) -> String {
    let ms = |us: u64| us as f64 / 1e3;
    let mut out = format!(
        "video {}: {} chunks at {} Mbit/s: {} viewers without stalls\n",
        r.job,
        super::job::format_size(r.chunk_bytes),
        r.bitrate_mbps,
        r.viewers_without_stalls
    );
    out.push_str(&format!(
        "{:>8} {:>7} {:>8} {:>7} {:>8} {:>9} {:>9} {:>9} {:>11}\n",
        "viewers", "stalls", "stalled", "errors", "MB/s", "ttfb p50", "ttfb p99", "ttfb max", "chunk p99"
    ));
    for run in &r.runs {
        out.push_str(&format!(
            "{:>8} {:>7} {:>8} {:>7} {:>8.1} {:>9.2} {:>9.2} {:>9.2} {:>11.2}\n",
            run.viewers,
            run.stalls,
            run.stalled_viewers,
            run.errors,
            run.mb_per_s,
            ms(run.ttfb.p50_us),
            ms(run.ttfb.p99_us),
            ms(run.ttfb.max_us),
            ms(run.chunk_latency.p99_us)
        ));
    }
    out
}

/// The largest `n` in `1..=max` for which `clean(n)` holds, assuming it
/// holds below some threshold only: doubling from `start`, then bisection
/// to within 1/16.
pub fn search<E>(start: usize, max: usize, clean: &mut impl FnMut(usize) -> Result<bool, E>) -> Result<usize, E> {
    let (mut lo, mut hi) = (0, None);
    let mut n = start.clamp(1, max.max(1));
    loop {
        if clean(n)? {
            lo = n;
            if n >= max {
                break;
            }
            n = (n * 2).min(max);
        } else {
            hi = Some(n);
            break;
        }
    }
    let Some(mut hi) = hi else { return Ok(lo) };
    while hi - lo > (lo / 16).max(1) {
        let mid = lo + (hi - lo) / 2;
        if clean(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// What one viewer saw.
struct Seen {
    chunks: u64,
    stalls: u64,
    errors: u64,
    bytes: u64,
    ttfb_us: Option<u64>,
    chunk_us: Vec<u64>,
}

fn play(job: &Job, spec: &VideoSpec, target: &Target, viewers: usize, secs: Duration) -> Result<ViewerRun, Error> {
    let start = Instant::now();
    let end = start + spec.ramp + secs;
    let seen: Vec<Seen> = std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(viewers);
        for id in 0..viewers {
            let begin = start + spec.ramp.mul_f64(id as f64 / viewers as f64);
            let builder = std::thread::Builder::new().stack_size(VIEWER_STACK_BYTES);
            let handle = builder
                .spawn_scoped(s, move || viewer(job, spec, target, id as u64, begin, end))
                .map_err(|e| run_error(job, &format!("start viewer: {e}")))?;
            handles.push(handle);
        }
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| run_error(job, "viewer panicked")))
            .collect::<Result<Vec<Seen>, Error>>()
    })?;
    let mut ttfb =
        Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3).map_err(|e| run_error(job, &e.to_string()))?;
    let mut chunk = ttfb.clone();
    for v in &seen {
        if let Some(us) = v.ttfb_us {
            ttfb.saturating_record(us.max(1));
        }
        for us in &v.chunk_us {
            chunk.saturating_record((*us).max(1));
        }
    }
    let wall = start.elapsed().as_secs_f64();
    Ok(ViewerRun {
        viewers,
        secs: wall,
        chunks: seen.iter().map(|v| v.chunks).sum(),
        stalls: seen.iter().map(|v| v.stalls).sum(),
        stalled_viewers: seen.iter().filter(|v| v.stalls > 0).count(),
        errors: seen.iter().map(|v| v.errors).sum(),
        mb_per_s: seen.iter().map(|v| v.bytes).sum::<u64>() as f64 / wall / 1e6,
        ttfb: Latency::of(&ttfb),
        chunk_latency: Latency::of(&chunk),
    })
}

/// One viewer: from `begin`, plays object `id mod objects` until `end`.
fn viewer(job: &Job, spec: &VideoSpec, target: &Target, id: u64, begin: Instant, end: Instant) -> Seen {
    let mut seen = Seen { chunks: 0, stalls: 0, errors: 0, bytes: 0, ttfb_us: None, chunk_us: Vec::new() };
    sleep_until(begin);
    let mut session = Session::new(target, &job.creds);
    let index = id % job.objects;
    let size = job.size.size_of(index);
    let path = object_path(&job.bucket, &key(&job.prefix, index));
    let chunks_in_object = size.div_ceil(spec.chunk_bytes).max(1);
    let play = spec.chunk_play();
    let mut playout: Option<Instant> = None;
    for i in 0u32.. {
        if let Some(p) = playout {
            // Fetch chunk i once chunk i - buffer_chunks starts playing.
            sleep_until(p + play * i.saturating_sub(spec.buffer_chunks));
        }
        let asked = Instant::now();
        if asked >= end {
            break;
        }
        let first = (u64::from(i) % chunks_in_object) * spec.chunk_bytes;
        let last = (first + spec.chunk_bytes).min(size) - 1;
        let req = Req { method: "GET", path: &path, query: "", range: Some((first, last)), content_length: 0 };
        match session.call(&req, Body::EMPTY) {
            Ok(r) if failure(&r).is_none() => {
                seen.ttfb_us.get_or_insert(r.ttfb.as_micros() as u64);
                seen.bytes += r.body_bytes;
            }
            _ => seen.errors += 1,
        }
        let arrived = Instant::now();
        seen.chunks += 1;
        seen.chunk_us.push(arrived.duration_since(asked).as_micros() as u64);
        match playout {
            // Chunk 0 plays once the prebuffer is full.
            None if i + 1 >= spec.prebuffer_chunks => playout = Some(arrived),
            None => {}
            Some(p) => {
                let deadline = p + play * i;
                if arrived > deadline {
                    seen.stalls += 1;
                    playout = Some(p + (arrived - deadline));
                }
            }
        }
    }
    seen
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_the_threshold() {
        for threshold in [0usize, 1, 7, 8, 100, 333, 5000] {
            let mut probes = 0;
            let found = search(8, 4096, &mut |n| -> Result<bool, ()> {
                probes += 1;
                Ok(n <= threshold)
            })
            .unwrap();
            let want = threshold.min(4096);
            assert!(found <= want && want - found <= (want / 16).max(1), "{threshold}: {found}");
            assert!(probes < 20);
        }
    }
}
