//! Seeded trace generators. The same seed, days and scale give the same
//! trace, so results can be reproduced and compared across commits.
//!
//! Catalogue objects exist before the trace (they start cold everywhere);
//! objects created during it are written with a PUT. Timestamps start at 0
//! (a Thursday, 00:00 UTC, as the Unix epoch).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stratum_tiering::{ContentClass, Hint};

use crate::tiering::trace::{Event, ObjectId, ObjectInfo, Op, Trace};

const MS_PER_HOUR: u64 = 3_600_000;
const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;
const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// What every generator takes.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    pub seed: u64,
    pub days: u64,
    /// Multiplies object counts and rates (1.0: ~0.3–1 M reads per trace).
    pub scale: f64,
}

/// The generated workloads, by name.
pub const NAMES: [&str; 5] = ["zipf", "diurnal", "video", "backup", "mixed"];

/// Generates the named trace, or `None` for an unknown name.
pub fn generate(name: &str, cfg: GenConfig) -> Option<Trace> {
    let trace = match name {
        "zipf" => zipf_churn(cfg),
        "diurnal" => diurnal(cfg),
        "video" => video(cfg),
        "backup" => backup(cfg),
        "mixed" => mixed(cfg),
        _ => return None,
    };
    Some(trace)
}

fn scaled(n: f64, scale: f64) -> usize {
    ((n * scale).round() as usize).max(1)
}

/// Samples ranks 0..n with probability proportional to 1 / (rank + 1)^alpha.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, alpha: f64) -> Zipf {
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (0..n.max(1))
            .map(|r| {
                total += 1.0 / ((r + 1) as f64).powf(alpha);
                total
            })
            .collect();
        cdf.iter_mut().for_each(|c| *c /= total);
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut StdRng) -> usize {
        let u: f64 = rng.gen();
        self.cdf.partition_point(|c| *c < u).min(self.cdf.len() - 1)
    }
}

/// Collects objects and events; sorts the events by time at the end.
struct Builder {
    rng: StdRng,
    trace: Trace,
}

impl Builder {
    fn new(name: &str, seed: u64) -> Builder {
        let trace = Trace { name: name.to_string(), ..Trace::default() };
        Builder { rng: StdRng::seed_from_u64(seed), trace }
    }

    /// A new object, written at `put_ms` or existing before the trace.
    fn object(&mut self, name: String, size_bytes: u64, content: ContentClass, put_ms: Option<u64>) -> ObjectId {
        let id = self.trace.objects.len() as ObjectId;
        self.trace.objects.push(ObjectInfo { name, size_bytes, content, hint: Hint::Auto });
        if let Some(ts_ms) = put_ms {
            let ev = Event { ts_ms, obj: id, op: Op::Put, offset: 0, length: size_bytes };
            self.trace.events.push(ev);
        }
        id
    }

    fn get(&mut self, ts_ms: u64, obj: ObjectId, offset: u64, length: u64) {
        self.trace.events.push(Event { ts_ms, obj, op: Op::Get, offset, length });
    }

    fn get_whole(&mut self, ts_ms: u64, obj: ObjectId) {
        let size = self.trace.objects.get(obj as usize).map_or(0, |o| o.size_bytes);
        self.get(ts_ms, obj, 0, size);
    }

    /// `count` whole reads within the hour from `start_ms`, of `objects`
    /// picked by popularity.
    fn read_popular(&mut self, start_ms: u64, count: usize, zipf: &Zipf, objects: &[ObjectId]) {
        for _ in 0..count {
            let obj = objects[zipf.sample(&mut self.rng)];
            let ts = self.at(start_ms, MS_PER_HOUR);
            self.get_whole(ts, obj);
        }
    }

    /// A uniformly random time within `[start_ms, start_ms + len_ms)`.
    fn at(&mut self, start_ms: u64, len_ms: u64) -> u64 {
        start_ms + self.rng.gen_range(0..len_ms.max(1))
    }

    fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (l, h) = ((lo as f64).ln(), (hi as f64).ln());
        self.rng.gen_range(l..h).exp() as u64
    }

    /// Sizes of general objects: a third small (under Intelligent-Tiering's
    /// 128 KiB floor), half medium, a few large that hold most bytes.
    fn mixed_size(&mut self) -> u64 {
        match self.rng.gen_range(0..100) {
            0..=34 => self.log_uniform(4 * KIB, 128 * KIB),
            35..=84 => self.log_uniform(128 * KIB, 16 * MIB),
            _ => self.log_uniform(16 * MIB, 256 * MIB),
        }
    }

    fn finish(mut self) -> Trace {
        self.trace.events.sort_by_key(|e| e.ts_ms);
        self.trace
    }
}

/// Zipf(0.9) popularity over 20 000 objects, 1 500 reads an hour; each day
/// 2 % of popularity slots, drawn by popularity, are taken over by newly
/// written objects (new content is what is popular), and the objects they
/// replace are never read again.
pub fn zipf_churn(cfg: GenConfig) -> Trace {
    let mut b = Builder::new("zipf", cfg.seed);
    let n = scaled(20_000.0, cfg.scale);
    let zipf = Zipf::new(n, 0.9);
    let mut slots: Vec<ObjectId> = (0..n)
        .map(|i| {
            let size = b.mixed_size();
            b.object(format!("zipf/{i}"), size, ContentClass::Other, None)
        })
        .collect();
    let reads_per_hour = scaled(1_500.0, cfg.scale);
    for hour in 0..cfg.days * 24 {
        let start = hour * MS_PER_HOUR;
        if hour % 24 == 0 && hour > 0 {
            for slot in distinct_ranks(&zipf, n / 50, &mut b.rng) {
                let size = b.mixed_size();
                let name = format!("zipf/{}", b.trace.objects.len());
                slots[slot] = b.object(name, size, ContentClass::Other, Some(start));
            }
        }
        b.read_popular(start, reads_per_hour, &zipf, &slots);
    }
    b.finish()
}

/// `count` distinct ranks (at most the Zipf's size), drawn by popularity.
/// Drawn with replacement, about a quarter of zipf's daily draws hit a
/// slot already taken that day, whose first new object was then replaced
/// at once and never read.
fn distinct_ranks(zipf: &Zipf, count: usize, rng: &mut StdRng) -> Vec<usize> {
    let count = count.min(zipf.cdf.len());
    let mut taken = vec![false; zipf.cdf.len()];
    let mut ranks = Vec::with_capacity(count);
    while ranks.len() < count {
        let r = zipf.sample(rng);
        if !std::mem::replace(&mut taken[r], true) {
            ranks.push(r);
        }
    }
    ranks
}

/// Three groups of 4 000 objects, each read in its own hours (office 9–17,
/// evening 18–23, nightly batch 2–4 UTC) at 1 500 reads an hour, and at 3 %
/// of that outside them; Zipf(0.8) popularity within a group.
pub fn diurnal(cfg: GenConfig) -> Trace {
    let mut b = Builder::new("diurnal", cfg.seed);
    let n = scaled(4_000.0, cfg.scale);
    let windows = [("office", 9..17), ("evening", 18..23), ("batch", 2..4)];
    let zipf = Zipf::new(n, 0.8);
    let groups: Vec<Vec<ObjectId>> = windows
        .iter()
        .map(|(name, _)| {
            (0..n)
                .map(|i| {
                    let size = b.mixed_size();
                    b.object(format!("{name}/{i}"), size, ContentClass::Other, None)
                })
                .collect()
        })
        .collect();
    let peak = scaled(1_500.0, cfg.scale);
    for hour in 0..cfg.days * 24 {
        let start = hour * MS_PER_HOUR;
        for ((_, window), objects) in windows.iter().zip(&groups) {
            let on = window.contains(&(hour % 24));
            let reads = if on { peak } else { peak * 3 / 100 };
            b.read_popular(start, reads, &zipf, objects);
        }
    }
    b.finish()
}

/// A video catalogue of 1 500 titles (100 MiB–2 GiB, Zipf(1.0)) and 8 new
/// releases a day at noon whose popularity spikes and halves every ~1.4
/// days. 30 viewing sessions an hour, peaking in the evening; a session
/// reads the 512 KiB head (the moov atom), then sequential 8 MiB ranges
/// every 10 s for an exponential share of the title (mean 35 %); one in
/// five starts at a random point (a seek).
pub fn video(cfg: GenConfig) -> Trace {
    let mut b = Builder::new("video", cfg.seed);
    let n = scaled(1_500.0, cfg.scale);
    let catalogue: Vec<ObjectId> = (0..n)
        .map(|i| {
            let size = b.log_uniform(100 * MIB, 2 * GIB);
            b.object(format!("vod/{i}.mp4"), size, ContentClass::Video, None)
        })
        .collect();
    let zipf = Zipf::new(n, 1.0);
    let mut releases: Vec<(u64, ObjectId)> = Vec::new();
    let sessions_per_hour = 30.0 * cfg.scale;
    for hour in 0..cfg.days * 24 {
        let start = hour * MS_PER_HOUR;
        if hour % 24 == 12 {
            for _ in 0..scaled(8.0, cfg.scale) {
                let size = b.log_uniform(100 * MIB, 2 * GIB);
                let name = format!("new/{}.mp4", b.trace.objects.len());
                releases.push((start, b.object(name, size, ContentClass::Video, Some(start))));
            }
            // Titles older than a month have faded into the catalogue's tail.
            releases.retain(|(t, _)| start - t < 30 * MS_PER_DAY);
        }
        // +1 at 19:00, -1 at 07:00.
        let evening = (std::f64::consts::TAU * ((hour % 24) as f64 - 13.0) / 24.0).sin();
        let sessions = (sessions_per_hour * (1.0 + 0.7 * evening)).round() as usize;
        for _ in 0..sessions {
            let ts = b.at(start, MS_PER_HOUR);
            let obj = pick_title(&mut b, &zipf, &catalogue, &releases, ts);
            watch(&mut b, ts, obj);
        }
    }
    b.finish()
}

/// A title by popularity: the catalogue weighs 1, each release released
/// before `ts_ms` weighs 0.08 halving every ~1.4 days.
fn pick_title(
    b: &mut Builder,
    zipf: &Zipf,
    catalogue: &[ObjectId],
    releases: &[(u64, ObjectId)],
    ts_ms: u64,
) -> ObjectId {
    let weight = |t: u64| 0.08 * (-((ts_ms - t) as f64) / (2.0 * MS_PER_DAY as f64)).exp();
    let live = || releases.iter().filter(|(t, _)| *t <= ts_ms);
    let total: f64 = 1.0 + live().map(|(t, _)| weight(*t)).sum::<f64>();
    let mut u = b.rng.gen_range(0.0..total) - 1.0;
    if u >= 0.0 {
        for (t, obj) in live() {
            u -= weight(*t);
            if u < 0.0 {
                return *obj;
            }
        }
    }
    catalogue[zipf.sample(&mut b.rng)]
}

/// One viewing session of `obj` starting at `ts_ms`.
fn watch(b: &mut Builder, ts_ms: u64, obj: ObjectId) {
    const HEAD: u64 = 512 * KIB;
    const CHUNK: u64 = 8 * MIB;
    let size = b.trace.objects.get(obj as usize).map_or(0, |o| o.size_bytes);
    b.get(ts_ms, obj, 0, HEAD.min(size));
    let share = (-(1.0 - b.rng.gen::<f64>()).ln() * 0.35).min(1.0);
    let mut offset = if b.rng.gen_range(0..5) == 0 { b.rng.gen_range(HEAD..size.max(HEAD + 1)) } else { HEAD };
    let end = (offset + (share * size as f64) as u64).min(size);
    let mut t = ts_ms;
    while offset < end {
        t += 10_000;
        let len = CHUNK.min(end - offset);
        b.get(t, obj, offset, len);
        offset += len;
    }
}

/// 40 hosts back up nightly between 01:00 and 04:00: a full backup
/// (5–40 GiB) one night a week, an incremental (200 MiB–3 GiB) the others,
/// each with a small index (64 KiB–1 MiB). Before writing, the tool reads
/// the host's last 7 indexes; a verify job reads each new backup once
/// within 30–90 minutes; 20 index lookups and 2 restores (a backup about 3
/// days old, and its index) a day.
pub fn backup(cfg: GenConfig) -> Trace {
    let mut b = Builder::new("backup", cfg.seed);
    let hosts = scaled(40.0, cfg.scale);
    let mut history: Vec<Vec<(ObjectId, ObjectId)>> = vec![Vec::new(); hosts];
    for day in 0..cfg.days {
        for (h, done) in history.iter_mut().enumerate() {
            let ts = b.at(day * MS_PER_DAY + MS_PER_HOUR, 3 * MS_PER_HOUR);
            for (_, index) in done.iter().rev().take(7) {
                b.get_whole(ts.saturating_sub(60_000), *index);
            }
            // Hosts take turns: each has its full backup on its own night.
            let night = (day + h as u64) % 7;
            let full = night == 0;
            let size = if full { b.log_uniform(5 * GIB, 40 * GIB) } else { b.log_uniform(200 * MIB, 3 * GIB) };
            let data = b.object(format!("backup/{h}/{day}.tar"), size, ContentClass::Backup, Some(ts));
            let isize = b.log_uniform(64 * KIB, MIB);
            let index = b.object(format!("backup/{h}/{day}.idx"), isize, ContentClass::Other, Some(ts));
            let verify = ts + 30 * 60_000 + b.rng.gen_range(0..60 * 60_000);
            b.get_whole(verify, data);
            done.push((data, index));
        }
        backup_lookups(&mut b, &history, day, cfg.scale);
    }
    b.finish()
}

/// A day's index lookups and restores, of backups made before that day.
fn backup_lookups(b: &mut Builder, history: &[Vec<(ObjectId, ObjectId)>], day: u64, scale: f64) {
    let pick = |b: &mut Builder, age_mean_days: f64| {
        let done = &history[b.rng.gen_range(0..history.len())];
        let age = (-(1.0 - b.rng.gen::<f64>()).ln() * age_mean_days) as usize + 1;
        done.len().checked_sub(age + 1).and_then(|i| done.get(i)).copied()
    };
    for _ in 0..scaled(20.0, scale) {
        let ts = b.at(day * MS_PER_DAY + 8 * MS_PER_HOUR, 10 * MS_PER_HOUR);
        if let Some((_, index)) = pick(b, 5.0) {
            b.get_whole(ts, index);
        }
    }
    for _ in 0..scaled(2.0, scale) {
        let ts = b.at(day * MS_PER_DAY + 8 * MS_PER_HOUR, 10 * MS_PER_HOUR);
        if let Some((data, index)) = pick(b, 3.0) {
            b.get_whole(ts, index);
            b.get_whole(ts + 60_000, data);
        }
    }
}

/// All four at a third of their scale, in one store, with their own seeds.
pub fn mixed(cfg: GenConfig) -> Trace {
    let part = GenConfig { scale: cfg.scale / 3.0, ..cfg };
    let parts = [
        zipf_churn(GenConfig { seed: cfg.seed ^ 1, ..part }),
        diurnal(GenConfig { seed: cfg.seed ^ 2, ..part }),
        video(GenConfig { seed: cfg.seed ^ 3, ..part }),
        backup(GenConfig { seed: cfg.seed ^ 4, ..part }),
    ];
    let mut trace = Trace { name: "mixed".to_string(), ..Trace::default() };
    for p in parts {
        let base = trace.objects.len() as ObjectId;
        trace.objects.extend(p.objects);
        trace.events.extend(p.events.into_iter().map(|e| Event { obj: e.obj + base, ..e }));
    }
    trace.events.sort_by_key(|e| e.ts_ms);
    trace
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: GenConfig = GenConfig { seed: 7, days: 3, scale: 0.05 };

    #[test]
    fn generators_are_deterministic_sorted_and_consistent() {
        for name in NAMES {
            let t = generate(name, SMALL).unwrap();
            let again = generate(name, SMALL).unwrap();
            assert_eq!(t.events, again.events, "{name}");
            assert!(t.reads() > 0, "{name}");
            assert!(t.events.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms), "{name}");
            for e in &t.events {
                let size = t.objects[e.obj as usize].size_bytes;
                assert!(e.offset + e.length <= size, "{name}: read past the end");
            }
            let other = generate(name, GenConfig { seed: 8, ..SMALL }).unwrap();
            assert_ne!(t.events, other.events, "{name}: seed ignored");
        }
        assert!(generate("nope", SMALL).is_none());
    }

    #[test]
    fn zipf_churn_takes_over_distinct_slots() {
        let z = Zipf::new(20_000, 0.9);
        let mut rng = StdRng::seed_from_u64(1);
        let mut ranks = distinct_ranks(&z, 400, &mut rng);
        assert!(ranks.iter().filter(|r| **r < 100).count() > 50, "drawn by popularity");
        ranks.sort_unstable();
        ranks.dedup();
        assert_eq!(ranks.len(), 400);
        assert_eq!(distinct_ranks(&Zipf::new(3, 1.0), 5, &mut rng).len(), 3);
        // The trace writes 2 % of its slots anew each day after the first.
        let t = zipf_churn(GenConfig { seed: 1, days: 3, scale: 0.25 });
        assert_eq!(t.events.iter().filter(|e| e.op == Op::Put).count(), 200);
    }

    #[test]
    fn zipf_favours_low_ranks() {
        let z = Zipf::new(100, 1.0);
        let mut rng = StdRng::seed_from_u64(1);
        let hits = (0..10_000).filter(|_| z.sample(&mut rng) == 0).count();
        // P(rank 0) = 1 / H(100) ≈ 0.193.
        assert!((1_700..2_200).contains(&hits), "{hits}");
    }
}
