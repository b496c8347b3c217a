//! `stratum-bench tiering`: replays access traces against the tiering
//! policy and the baselines, and reports hot byte hit ratio, bytes moved,
//! decisions per reason and cost.

pub mod baselines;
pub mod cost;
pub mod generate;
pub mod ledger;
pub mod report;
pub mod sim;
pub mod stratum;
pub mod trace;

use std::io::BufReader;
use std::path::PathBuf;

use stratum_tiering::{Capacity, Policy, PolicyConfig};

use crate::Error;
use baselines::{Belady, Cache, IntelligentTiering, Lfu, Lifecycle, Lru};
use cost::Prices;
use generate::GenConfig;
use report::TraceReport;
use sim::{Model, SimConfig};
use trace::Trace;

const MS_PER_DAY: u64 = 86_400_000;

/// Arguments of `stratum-bench tiering`.
#[derive(Clone, Debug, clap::Args)]
pub struct TieringArgs {
    /// Generated trace: zipf, diurnal, video, backup, mixed, or all.
    #[arg(long, default_value = "all")]
    pub trace: String,
    /// Replay this CSV trace instead (timestamp_ms,key,size,offset,length[,op[,content_type]]).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Length of generated traces. Intelligent-Tiering's first move is at 30 days.
    #[arg(long, default_value_t = 42)]
    pub days: u64,
    /// Multiplies objects and rates of generated traces.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Hot tier capacity, percent of the trace's footprint.
    #[arg(long, default_value_t = 10.0)]
    pub hot_percent: f64,
    /// Warm tier capacity, percent of the footprint (cold is unbounded).
    #[arg(long, default_value_t = 30.0)]
    pub warm_percent: f64,
    /// Tally only from this day on, for every model alike (the policy's
    /// warm-up is 7 days by default).
    #[arg(long, default_value_t = 7)]
    pub scored_from_day: u64,
    /// A TOML file with the policy's thresholds (the `[tiering]` table).
    #[arg(long)]
    pub policy_config: Option<PathBuf>,
    /// Write each generated trace as CSV into this directory.
    #[arg(long)]
    pub write_traces: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Run only these models (comma-separated names as in the table), to
    /// iterate on one faster; the goal is judged only when the policy,
    /// Belady, LRU and Intelligent-Tiering all ran.
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
}

/// Runs the subcommand; returns what to print.
pub fn run(args: &TieringArgs) -> Result<String, Error> {
    let policy = load_policy(args.policy_config.as_ref())?;
    let mut reports = Vec::new();
    for trace in traces(args)? {
        if let Some(dir) = &args.write_traces {
            write_trace(&trace, dir)?;
        }
        reports.push(compare(&trace, &policy, args));
    }
    if args.json {
        return Ok(serde_json::to_string_pretty(&reports)?);
    }
    Ok(reports.iter().map(TraceReport::render).collect::<Vec<_>>().join("\n"))
}

fn load_policy(path: Option<&PathBuf>) -> Result<Policy, Error> {
    let cfg = match path {
        None => PolicyConfig::default(),
        Some(p) => {
            let bad = |why: String| Error::Config { path: p.display().to_string(), why };
            let text = std::fs::read_to_string(p).map_err(|e| bad(e.to_string()))?;
            toml::from_str(&text).map_err(|e| bad(e.to_string()))?
        }
    };
    Ok(Policy::new(cfg, 0)?)
}

fn traces(args: &TieringArgs) -> Result<Vec<Trace>, Error> {
    if let Some(path) = &args.csv {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| Error::Io { path: name.clone(), source: e })?;
        return Ok(vec![Trace::read_csv(&name, BufReader::new(file))?]);
    }
    let cfg = GenConfig { seed: args.seed, days: args.days, scale: args.scale };
    let names: Vec<&str> = match args.trace.as_str() {
        "all" => generate::NAMES.to_vec(),
        one => vec![one],
    };
    names
        .into_iter()
        .map(|n| {
            let why = format!("unknown trace {n:?}; want one of {:?} or all", generate::NAMES);
            generate::generate(n, cfg).ok_or(Error::Trace { line: 0, why })
        })
        .collect()
}

fn write_trace(trace: &Trace, dir: &std::path::Path) -> Result<(), Error> {
    let path = dir.join(format!("{}.csv", trace.name));
    let io = |e| Error::Io { path: path.display().to_string(), source: e };
    let file = std::fs::File::create(&path).map_err(io)?;
    trace.write_csv(std::io::BufWriter::new(file)).map_err(io)
}

/// Every model on one trace, at the same capacities.
pub fn compare(trace: &Trace, policy: &Policy, args: &TieringArgs) -> TraceReport {
    let footprint = trace.footprint_bytes();
    let share = |pct: f64| (footprint as f64 * pct / 100.0) as u64;
    let sim = SimConfig {
        hot_bytes: share(args.hot_percent),
        warm_bytes: Some(share(args.warm_percent)),
        scored_from_ms: args.scored_from_day * MS_PER_DAY,
    };
    let capacity = Capacity { hot_bytes: Some(sim.hot_bytes), warm_bytes: sim.warm_bytes };
    let mut models: Vec<Box<dyn Model>> = vec![
        Box::new(Cache::new(Belady::new(trace), trace)),
        Box::new(stratum::Stratum::new(policy.clone(), capacity, trace)),
        Box::new(Cache::new(Lru, trace)),
        Box::new(Cache::new(Lfu::new(trace), trace)),
        Box::new(Cache::new(Lifecycle { hot_days: 7, cold_days: 30 }, trace)),
        Box::new(Cache::new(IntelligentTiering, trace)),
    ];
    if !args.models.is_empty() {
        models.retain(|m| args.models.iter().any(|name| name == m.name()));
    }
    let prices = Prices::default();
    let outcomes = models.iter_mut().map(|m| sim::run(trace, m.as_mut(), &sim, &prices)).collect();
    let mut report = TraceReport {
        trace: trace.name.clone(),
        objects: trace.objects.len(),
        reads: trace.reads(),
        footprint_bytes: footprint,
        sim,
        outcomes,
        goal: None,
    };
    report.judge();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> TieringArgs {
        TieringArgs {
            trace: "all".to_string(),
            csv: None,
            seed: 1,
            days: 9,
            scale: 0.02,
            hot_percent: 10.0,
            warm_percent: 30.0,
            scored_from_day: 7,
            policy_config: None,
            write_traces: None,
            json: true,
            models: Vec::new(),
        }
    }

    #[test]
    fn runs_every_trace_and_replays_what_it_wrote() {
        let dir = std::env::temp_dir().join(format!("stratum-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("policy.toml");
        std::fs::write(&config, "warmup_ms = 0\n[content]\nbackup = \"hot\"\n").unwrap();
        let a = TieringArgs { write_traces: Some(dir.clone()), policy_config: Some(config), ..args() };
        let json: serde_json::Value = serde_json::from_str(&run(&a).unwrap()).unwrap();
        let reports = json.as_array().unwrap();
        assert_eq!(reports.len(), generate::NAMES.len());
        for r in reports {
            assert_eq!(r["outcomes"].as_array().unwrap().len(), 6, "{}", r["trace"]);
            assert!(r["goal"].is_object());
        }
        // The CSV written for zipf replays the same reads. (Not the same
        // figures: objects never read are not in a CSV, so the footprint
        // and with it the capacities are smaller.)
        let csv = TieringArgs { csv: Some(dir.join("zipf.csv")), ..args() };
        let replayed: serde_json::Value = serde_json::from_str(&run(&csv).unwrap()).unwrap();
        let generated = TieringArgs { trace: "zipf".to_string(), ..args() };
        let direct: serde_json::Value = serde_json::from_str(&run(&generated).unwrap()).unwrap();
        assert_eq!(replayed[0]["reads"], direct[0]["reads"]);
        let belady = &replayed[0]["outcomes"][0];
        assert_eq!(belady["tally"]["read_bytes_total"], direct[0]["outcomes"][0]["tally"]["read_bytes_total"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn models_can_be_picked_and_the_goal_then_waits_for_its_references() {
        let a = TieringArgs { trace: "zipf".to_string(), models: vec!["stratum".to_string()], ..args() };
        let json: serde_json::Value = serde_json::from_str(&run(&a).unwrap()).unwrap();
        let outcomes = json[0]["outcomes"].as_array().unwrap();
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0]["model"], "stratum");
        assert!(json[0]["goal"].is_null());
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let a = TieringArgs { trace: "nope".to_string(), ..args() };
        assert!(run(&a).is_err());
        let a = TieringArgs { policy_config: Some("/nonexistent.toml".into()), ..args() };
        assert!(matches!(run(&a), Err(Error::Config { .. })));
        let a = TieringArgs { csv: Some("/nonexistent.csv".into()), ..args() };
        assert!(matches!(run(&a), Err(Error::Io { .. })));
    }
}
