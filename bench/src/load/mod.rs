//! `stratum-bench run` and `stratum-bench ceiling`: the fio-style S3 load
//! generator. Jobs are named TOML files (`bench/jobs/*.toml`, see [`job`]);
//! the generator signs with SigV4 itself, so it drives any S3 endpoint, and
//! reports ops/s, MB/s, latency percentiles and errors by S3 code.

pub mod ceiling;
pub mod client;
pub mod evloop;
pub mod job;
pub mod limits;
pub mod parse;
pub mod prepare;
pub mod procstat;
pub mod report;
pub mod run;
pub mod s3;
pub mod session;
pub mod sign;
pub mod video;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Error;
use job::{Job, JobFile, Workload};
use report::JobReport;
use run::Watch;
use s3::Target;
use video::VideoReport;

/// Arguments of `stratum-bench run`. Flags override the job files.
#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    /// Job names (looked up as <jobs-dir>/NAME.toml) or paths to job files.
    #[arg(required = true)]
    pub jobs: Vec<String>,
    /// The S3 endpoint, http://host:port.
    #[arg(long, env = "STRATUM_BENCH_ENDPOINT")]
    pub endpoint: Option<String>,
    #[arg(long, env = "STRATUM_BENCH_ACCESS_KEY")]
    pub access_key: Option<String>,
    #[arg(long, env = "STRATUM_BENCH_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub bucket: Option<String>,
    /// Measured time, e.g. 10s (replaces the job's duration or op count).
    #[arg(long)]
    pub duration: Option<String>,
    /// Measured operations (replaces the job's duration or op count).
    #[arg(long, conflicts_with = "duration")]
    pub ops: Option<u64>,
    #[arg(long)]
    pub warmup: Option<String>,
    #[arg(long)]
    pub connections: Option<usize>,
    #[arg(long)]
    pub objects: Option<u64>,
    /// Generator threads driving the connections (default 1).
    #[arg(long)]
    pub client_threads: Option<usize>,
    /// Video jobs: this many viewers instead of a search.
    #[arg(long)]
    pub viewers: Option<usize>,
    /// Where job names are looked up (default: ./bench/jobs, then the
    /// crate's own jobs/).
    #[arg(long)]
    pub jobs_dir: Option<PathBuf>,
    /// The server's pid: report its CPU and disk traffic during each job.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// One job's results, of either kind.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Outcome {
    Ops(Box<JobReport>),
    Video(VideoReport),
}

/// Runs the jobs one after the other; returns what to print.
pub fn run(args: &RunArgs) -> Result<String, Error> {
    let mut outcomes = Vec::new();
    for name in &args.jobs {
        let path = resolve(name, args.jobs_dir.as_deref())?;
        let job = with_overrides(job::load(&path)?, args).into_job(&path)?;
        outcomes.push(execute(&job, args)?);
    }
    if args.json {
        return Ok(serde_json::to_string_pretty(&outcomes)?);
    }
    Ok(render(&outcomes))
}

fn execute(job: &Job, args: &RunArgs) -> Result<Outcome, Error> {
    let target = Target::parse(&job.endpoint).map_err(|why| job::job_error(Path::new(&job.name), why))?;
    let progress = !args.quiet;
    prepare::bucket(job, &target)?;
    let pattern = prepare::pattern(job.seed);
    let reads = match &job.workload {
        Workload::Ops(ops) => ops.iter().any(|(k, _)| k.reads_objects()),
        Workload::Video(_) => true,
    };
    if reads {
        let written = prepare::objects(job, &target, &pattern)?;
        if progress && written > 0 {
            eprintln!("{}: wrote {written} of {} objects first", job.name, job.objects);
        }
    }
    match &job.workload {
        Workload::Ops(ops) => {
            let watch = Watch { progress, server_pid: args.server_pid };
            Ok(Outcome::Ops(Box::new(run::run(job, ops, &target, &pattern, watch)?)))
        }
        Workload::Video(spec) => Ok(Outcome::Video(video::run(job, spec, &target, progress)?)),
    }
}

/// A path as given, or a name in the jobs directory.
fn resolve(name: &str, jobs_dir: Option<&Path>) -> Result<PathBuf, Error> {
    let as_path = PathBuf::from(name);
    if as_path.is_file() {
        return Ok(as_path);
    }
    let dirs: Vec<PathBuf> = match jobs_dir {
        Some(dir) => vec![dir.to_path_buf()],
        None => vec![PathBuf::from("bench/jobs"), Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs")],
    };
    dirs.iter()
        .map(|d| d.join(format!("{name}.toml")))
        .find(|p| p.is_file())
        .ok_or_else(|| job::job_error(&as_path, format!("no such job file (looked in {dirs:?})")))
}

fn with_overrides(mut file: JobFile, args: &RunArgs) -> JobFile {
    let set = |slot: &mut Option<String>, value: &Option<String>| {
        if value.is_some() {
            slot.clone_from(value);
        }
    };
    set(&mut file.endpoint, &args.endpoint);
    set(&mut file.access_key, &args.access_key);
    set(&mut file.secret_key, &args.secret_key);
    set(&mut file.region, &args.region);
    set(&mut file.bucket, &args.bucket);
    set(&mut file.warmup, &args.warmup);
    if args.duration.is_some() {
        file.duration.clone_from(&args.duration);
        file.ops = None;
    }
    if args.ops.is_some() {
        file.ops = args.ops;
        file.duration = None;
    }
    file.connections = args.connections.or(file.connections);
    file.objects = args.objects.or(file.objects);
    file.client_threads = args.client_threads.or(file.client_threads);
    if let Some(n) = args.viewers {
        file.video.get_or_insert_with(Default::default).viewers = Some(n);
    }
    file
}

/// The tables: load jobs together, then each video job.
pub fn render(outcomes: &[Outcome]) -> String {
    let ops: Vec<JobReport> =
        outcomes.iter().filter_map(|o| if let Outcome::Ops(r) = o { Some((**r).clone()) } else { None }).collect();
    let mut out = if ops.is_empty() { String::new() } else { report::render_table(&ops) };
    for o in outcomes {
        if let Outcome::Video(v) = o {
            out.push_str(&video::render(v));
        }
    }
    out
}

/// `stratum-bench ceiling`: the rates and the generator's CPU per op.
pub fn ceiling(args: &ceiling::CeilingArgs) -> Result<String, Error> {
    let reports = ceiling::ceiling(args)?;
    if args.json {
        return Ok(serde_json::to_string_pretty(&reports)?);
    }
    let mut out = String::from(
        "The generator against an in-process responder that answers at once (both share this machine's cores):\n",
    );
    out.push_str(&report::render_table(&reports));
    for r in &reports {
        if let Some(us) = r.client_cpu_us_per_op.filter(|us| *us > 0.0) {
            out.push_str(&format!("{}: one generator core drives about {:.0} ops/s\n", r.job, 1e6 / us));
        }
    }
    Ok(out)
}
