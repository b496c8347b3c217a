//! Job files: a named workload in TOML (`bench/jobs/put-4k.toml`), parsed
//! into a [`Job`] that the runner executes. Command-line flags override the
//! file; the file overrides the defaults.
//!
//! ```toml
//! operation = "range-get"   # put get range-get mixed list head delete video
//! size = "1GiB"             # or { min = "4KiB", max = "1MiB" } or { choices = [["4KiB", 9], ["1MiB", 1]] }
//! range_size = "64KiB"
//! objects = 1
//! connections = 16
//! duration = "10s"          # or ops = 100000
//! warmup = "2s"
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::sign::Credentials;
use crate::Error;

/// One S3 operation the generator issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    Put,
    Get,
    RangeGet,
    List,
    Head,
    Delete,
}

impl OpKind {
    pub fn parse(name: &str) -> Option<OpKind> {
        Some(match name {
            "put" => OpKind::Put,
            "get" => OpKind::Get,
            "range-get" => OpKind::RangeGet,
            "list" => OpKind::List,
            "head" => OpKind::Head,
            "delete" => OpKind::Delete,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Put => "put",
            OpKind::Get => "get",
            OpKind::RangeGet => "range-get",
            OpKind::List => "list",
            OpKind::Head => "head",
            OpKind::Delete => "delete",
        }
    }

    /// Whether the objects must exist before the run.
    pub fn reads_objects(self) -> bool {
        !matches!(self, OpKind::Put)
    }
}

/// Object sizes: one size, a uniform range, or weighted choices.
#[derive(Clone, Debug, PartialEq)]
pub enum SizeSpec {
    Fixed(u64),
    Uniform { min: u64, max: u64 },
    Choices(Vec<(u64, u32)>),
}

impl SizeSpec {
    /// The size of object `index`: deterministic, so a run that reads finds
    /// the sizes a preparation wrote.
    pub fn size_of(&self, index: u64) -> u64 {
        let h = splitmix64(index);
        match self {
            SizeSpec::Fixed(n) => *n,
            SizeSpec::Uniform { min, max } => min + h % (max - min + 1),
            SizeSpec::Choices(choices) => {
                let total: u64 = choices.iter().map(|(_, w)| u64::from(*w)).sum();
                let mut pick = h % total.max(1);
                for (size, weight) in choices {
                    if pick < u64::from(*weight) {
                        return *size;
                    }
                    pick -= u64::from(*weight);
                }
                choices.last().map_or(0, |(size, _)| *size)
            }
        }
    }

    pub fn max(&self) -> u64 {
        match self {
            SizeSpec::Fixed(n) => *n,
            SizeSpec::Uniform { max, .. } => *max,
            SizeSpec::Choices(c) => c.iter().map(|(s, _)| *s).max().unwrap_or(0),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            SizeSpec::Fixed(n) => format_size(*n),
            SizeSpec::Uniform { min, max } => format!("{}..{}", format_size(*min), format_size(*max)),
            SizeSpec::Choices(c) => {
                c.iter().map(|(s, w)| format!("{}x{w}", format_size(*s))).collect::<Vec<_>>().join(",")
            }
        }
    }
}

/// The workload the runner executes.
#[derive(Clone, Debug)]
pub struct Job {
    pub name: String,
    pub description: String,
    pub workload: Workload,
    pub size: SizeSpec,
    pub objects: u64,
    pub connections: usize,
    /// Threads of the generator that drive the connections.
    pub client_threads: usize,
    pub stop: Stop,
    pub warmup: Duration,
    pub bucket: String,
    pub prefix: String,
    pub endpoint: String,
    pub creds: Credentials,
    pub range_size: u64,
    pub list_max_keys: u32,
    pub seed: u64,
}

/// What the connections do.
#[derive(Clone, Debug)]
pub enum Workload {
    /// Weighted operations (one entry for a plain job).
    Ops(Vec<(OpKind, u32)>),
    Video(VideoSpec),
}

/// When a run stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stop {
    After(Duration),
    Ops(u64),
}

/// The video-origin job: viewers playing objects by sequential Range reads.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoSpec {
    pub chunk_bytes: u64,
    pub bitrate_bps: u64,
    /// Play-out starts once this many chunks have arrived.
    pub prebuffer_chunks: u32,
    /// A viewer fetches at most this many chunks ahead of play-out.
    pub buffer_chunks: u32,
    /// Viewers start spread over this long.
    pub ramp: Duration,
    /// A fixed number of viewers, or `None` to search for the most served
    /// without stalls.
    pub viewers: Option<usize>,
    pub search_start: usize,
    pub search_max: usize,
}

impl VideoSpec {
    /// How long one chunk plays.
    pub fn chunk_play(&self) -> Duration {
        Duration::from_secs_f64(self.chunk_bytes as f64 * 8.0 / self.bitrate_bps.max(1) as f64)
    }
}

/// The job file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub operation: Option<String>,
    pub size: Option<SizeField>,
    pub objects: Option<u64>,
    pub connections: Option<usize>,
    pub client_threads: Option<usize>,
    pub duration: Option<String>,
    pub ops: Option<u64>,
    pub warmup: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub endpoint: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub region: Option<String>,
    pub range_size: Option<String>,
    /// For `operation = "mixed"`: weights by operation, e.g. `{ get = 70, put = 30 }`.
    pub mix: Option<BTreeMap<String, u32>>,
    pub list_max_keys: Option<u32>,
    pub seed: Option<u64>,
    pub video: Option<VideoField>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SizeField {
    Fixed(String),
    Uniform { min: String, max: String },
    Choices { choices: Vec<(String, u32)> },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoField {
    pub chunk: Option<String>,
    pub bitrate_mbps: Option<f64>,
    pub prebuffer_chunks: Option<u32>,
    pub buffer_chunks: Option<u32>,
    pub ramp: Option<String>,
    pub viewers: Option<usize>,
    pub search_start: Option<usize>,
    pub search_max: Option<usize>,
}

/// Reads and checks a job file; the name defaults to the file's stem.
pub fn load(path: &Path) -> Result<JobFile, Error> {
    let text =
        std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    let mut file: JobFile = toml::from_str(&text).map_err(|e| job_error(path, e.to_string()))?;
    if file.name.is_none() {
        file.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    }
    Ok(file)
}

pub fn job_error(path: &Path, why: impl Into<String>) -> Error {
    Error::Job { path: path.display().to_string(), why: why.into() }
}

impl JobFile {
    /// Fills defaults and checks the values; `origin` names the file in errors.
    pub fn into_job(self, origin: &Path) -> Result<Job, Error> {
        let bad = |why: String| job_error(origin, why);
        let name = self.name.clone().unwrap_or_else(|| "job".to_owned());
        let operation = self.operation.clone().unwrap_or_else(|| "get".to_owned());
        let workload = self.workload(&operation).map_err(bad)?;
        let size = match &self.size {
            None => SizeSpec::Fixed(4096),
            Some(field) => size_spec(field).map_err(bad)?,
        };
        let stop = match (&self.duration, self.ops) {
            (Some(_), Some(_)) => return Err(bad("give duration or ops, not both".into())),
            (_, Some(n)) => Stop::Ops(n),
            (Some(d), None) => Stop::After(parse_duration(d).map_err(bad)?),
            (None, None) => Stop::After(Duration::from_secs(10)),
        };
        let job = Job {
            description: self.description.clone().unwrap_or_default(),
            workload,
            size,
            objects: self.objects.unwrap_or(1000).max(1),
            connections: self.connections.unwrap_or(16).max(1),
            // One thread drives thousands of requests a second per
            // connection set; more only help a generator with spare CPUs.
            client_threads: self.client_threads.unwrap_or(1).max(1),
            stop,
            warmup: parse_duration(self.warmup.as_deref().unwrap_or("1s")).map_err(bad)?,
            bucket: self.bucket.clone().unwrap_or_else(|| "stratum-bench".to_owned()),
            prefix: self.prefix.clone().unwrap_or_else(|| format!("{name}/")),
            endpoint: self.endpoint.clone().unwrap_or_else(|| "http://127.0.0.1:9000".to_owned()),
            creds: Credentials {
                access_key: self.access_key.clone().unwrap_or_else(|| "stratumadmin".to_owned()),
                secret_key: self.secret_key.clone().unwrap_or_else(|| "stratumadmin".to_owned()),
                region: self.region.clone().unwrap_or_else(|| "us-east-1".to_owned()),
            },
            range_size: parse_size(self.range_size.as_deref().unwrap_or("64KiB")).map_err(bad)?,
            list_max_keys: self.list_max_keys.unwrap_or(1000),
            seed: self.seed.unwrap_or(1),
            name,
        };
        check(&job).map_err(bad)?;
        Ok(job)
    }

    fn workload(&self, operation: &str) -> Result<Workload, String> {
        match operation {
            "mixed" => {
                let mix = self.mix.as_ref().ok_or("mixed needs a mix table, e.g. mix = { get = 70, put = 30 }")?;
                let mut ops = Vec::new();
                for (name, weight) in mix {
                    let kind = OpKind::parse(name).ok_or_else(|| format!("unknown operation {name:?} in mix"))?;
                    ops.push((kind, *weight));
                }
                Ok(Workload::Ops(ops))
            }
            "video" => Ok(Workload::Video(video_spec(self.video.as_ref())?)),
            other => {
                let kind = OpKind::parse(other).ok_or_else(|| format!("unknown operation {other:?}"))?;
                Ok(Workload::Ops(vec![(kind, 1)]))
            }
        }
    }
}

fn check(job: &Job) -> Result<(), String> {
    if let Workload::Ops(ops) = &job.workload {
        if ops.iter().map(|(_, w)| u64::from(*w)).sum::<u64>() == 0 {
            return Err("the mix's weights add up to zero".into());
        }
        let ranged = ops.iter().any(|(k, _)| *k == OpKind::RangeGet);
        if ranged && job.range_size == 0 {
            return Err("range_size must be above zero".into());
        }
    }
    if let SizeSpec::Uniform { min, max } = job.size {
        if min > max {
            return Err("size: min above max".into());
        }
    }
    if let SizeSpec::Choices(c) = &job.size {
        if c.is_empty() || c.iter().all(|(_, w)| *w == 0) {
            return Err("size: choices need a positive weight".into());
        }
    }
    Ok(())
}

fn size_spec(field: &SizeField) -> Result<SizeSpec, String> {
    Ok(match field {
        SizeField::Fixed(s) => SizeSpec::Fixed(parse_size(s)?),
        SizeField::Uniform { min, max } => SizeSpec::Uniform { min: parse_size(min)?, max: parse_size(max)? },
        SizeField::Choices { choices } => {
            SizeSpec::Choices(choices.iter().map(|(s, w)| Ok((parse_size(s)?, *w))).collect::<Result<_, String>>()?)
        }
    })
}

fn video_spec(field: Option<&VideoField>) -> Result<VideoSpec, String> {
    let default = VideoField::default();
    let v = field.unwrap_or(&default);
    let bitrate_mbps = v.bitrate_mbps.unwrap_or(16.0);
    if bitrate_mbps.is_nan() || bitrate_mbps <= 0.0 {
        return Err("video.bitrate_mbps must be above zero".into());
    }
    let spec = VideoSpec {
        chunk_bytes: parse_size(v.chunk.as_deref().unwrap_or("1MiB"))?,
        bitrate_bps: (bitrate_mbps * 1e6) as u64,
        prebuffer_chunks: v.prebuffer_chunks.unwrap_or(1).max(1),
        buffer_chunks: v.buffer_chunks.unwrap_or(3).max(1),
        ramp: parse_duration(v.ramp.as_deref().unwrap_or("1s"))?,
        viewers: v.viewers,
        search_start: v.search_start.unwrap_or(8).max(1),
        search_max: v.search_max.unwrap_or(4096),
    };
    if spec.chunk_bytes == 0 {
        return Err("video.chunk must be above zero".into());
    }
    Ok(spec)
}

/// `4096`, `4KiB`, `1MiB`, `1GiB`, `4k`, `1m`, `1g` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits_end);
    let n: u64 = number.parse().map_err(|_| format!("bad size {text:?}"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        "g" | "gib" | "gb" => 30,
        _ => return Err(format!("bad size unit in {text:?}")),
    };
    n.checked_mul(1 << shift).ok_or_else(|| format!("size {text:?} too large"))
}

/// `500ms`, `10s`, `2m`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().map_err(|_| format!("bad duration {text:?}"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1e3,
        "m" | "min" => n * 60.0,
        _ => return Err(format!("bad duration unit in {text:?}")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("bad duration {text:?}"))
}

pub fn format_size(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if n >= unit && n.is_multiple_of(unit) {
            return format!("{}{name}", n / unit);
        }
    }
    format!("{n}B")
}

/// A well-mixed hash of an integer (SplitMix64's finaliser).
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Job, Error> {
        let file: JobFile = toml::from_str(text).map_err(|e| job_error(Path::new("test.toml"), e.to_string()))?;
        file.into_job(Path::new("test.toml"))
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("17").unwrap(), 17);
        assert!(parse_size("4 parsecs").is_err());
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(format_size(1 << 30), "1GiB");
        assert_eq!(format_size(1000), "1000B");
    }

    #[test]
    fn mixed_job() {
        let job = parse("operation = \"mixed\"\nmix = { get = 70, put = 30 }\nsize = \"4KiB\"\nops = 500").unwrap();
        let Workload::Ops(ops) = &job.workload else { panic!("not ops") };
        assert_eq!(ops, &vec![(OpKind::Get, 70), (OpKind::Put, 30)]);
        assert_eq!(job.stop, Stop::Ops(500));
    }

    #[test]
    fn distributions_are_deterministic_and_bounded() {
        let job = parse("size = { min = \"1KiB\", max = \"8KiB\" }").unwrap();
        for i in 0..1000 {
            let s = job.size.size_of(i);
            assert!((1024..=8192).contains(&s));
            assert_eq!(s, job.size.size_of(i));
        }
        let job = parse("size = { choices = [[\"4KiB\", 9], [\"1MiB\", 1]] }").unwrap();
        let big = (0..10_000).filter(|i| job.size.size_of(*i) == 1 << 20).count();
        assert!((700..1300).contains(&big), "{big}");
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse("operation = \"fly\"").is_err());
        assert!(parse("operation = \"mixed\"").is_err());
        assert!(parse("duration = \"1s\"\nops = 3").is_err());
        assert!(parse("colour = \"blue\"").is_err());
        assert!(parse("operation = \"video\"\nvideo = { bitrate_mbps = 0.0 }").is_err());
    }

    #[test]
    fn every_shipped_job_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let job = load(&path).unwrap().into_job(&path).unwrap();
            names.push(job.name);
        }
        names.sort();
        let want = [
            "delete",
            "get-1m",
            "get-4k",
            "head",
            "list",
            "mixed-70-30",
            "put-1m",
            "put-4k",
            "range-64k-in-1g",
            "video",
        ];
        assert_eq!(names, want);
    }

    #[test]
    fn video_defaults() {
        let job = parse("operation = \"video\"\nvideo = { chunk = \"1MiB\", bitrate_mbps = 8.0 }").unwrap();
        let Workload::Video(v) = &job.workload else { panic!("not video") };
        assert!((v.chunk_play().as_secs_f64() - 1.048576).abs() < 1e-6);
        assert_eq!(v.viewers, None);
    }
}
