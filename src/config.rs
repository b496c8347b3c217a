//! Configuration: flags, then `STRATUM_*` environment variables (clap reads
//! both), then `stratum.toml` (`--config`), then the embedded defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Deserialize;
use stratum_engine::{AutoTierConfig, Scheme, Tier, TierConfig};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9000";
pub const DEFAULT_DATA: &str = "./data";
/// Used only on a loopback address when no credentials are configured.
pub const DEV_CREDENTIAL: &str = "stratumadmin";
/// Each idle connection costs a 32 KiB head buffer: 10,000 per core is 320 MiB at most.
pub const DEFAULT_MAX_CONNECTIONS_PER_CORE: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A stratum.toml with any of the keys below (flags and env vars win).
    #[arg(long, env = "STRATUM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory; repeat for several disks of the hot tier [default: ./data]
    #[arg(long, env = "STRATUM_DATA", value_delimiter = ',')]
    pub data: Vec<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:9000]
    #[arg(long, env = "STRATUM_LISTEN")]
    pub listen: Option<String>,
    /// Cores to run on, one pinned executor each [default: all]
    #[arg(long, env = "STRATUM_CORES")]
    pub cores: Option<usize>,
    #[arg(long, env = "STRATUM_ACCESS_KEY")]
    pub access_key: Option<String>,
    #[arg(long, env = "STRATUM_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Log format [default: human]
    #[arg(long, env = "STRATUM_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Region reported to clients [default: us-east-1]
    #[arg(long, env = "STRATUM_REGION")]
    pub region: Option<String>,
    /// Accept unsigned requests as the one account (local development; loopback only)
    #[arg(long, env = "STRATUM_ANONYMOUS")]
    pub anonymous: bool,
    /// Allow --anonymous on a non-loopback address: anyone who reaches it can read and write
    #[arg(long, env = "STRATUM_ANONYMOUS_FORCE")]
    pub anonymous_force: bool,
    /// A domain for virtual-hosted-style requests (bucket.DOMAIN/key); repeatable
    #[arg(long = "domain", env = "STRATUM_DOMAINS", value_delimiter = ',')]
    pub domains: Vec<String>,
}

/// `data = "/d1"` or `data = ["/d1", "/d2"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DataDirs {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

/// `[tiers.warm] disks = [...]`, `scheme = "4+2"` (default: by disk count).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierFile {
    disks: Vec<PathBuf>,
    scheme: Option<String>,
}

/// `[tiering]`: automatic tiering between the node's tiers; its policy's
/// thresholds in `[tiering.policy]` (see `stratum_tiering::PolicyConfig`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TieringFile {
    enabled: Option<bool>,
    sweep_secs: Option<u64>,
    move_mib_per_sec: Option<u64>,
    fill_percent: Option<u8>,
    hot_bytes: Option<u64>,
    warm_bytes: Option<u64>,
    policy: Option<stratum_tiering::PolicyConfig>,
}

impl TieringFile {
    fn resolve(self) -> Result<AutoTierConfig, String> {
        let d = AutoTierConfig::default();
        let fill_percent = self.fill_percent.unwrap_or(d.fill_percent);
        if !(1..=100).contains(&fill_percent) {
            return Err("[tiering] fill_percent must be 1 to 100".into());
        }
        if self.move_mib_per_sec == Some(0) {
            return Err("[tiering] move_mib_per_sec must be at least 1 (enabled = false stops tiering)".into());
        }
        if self.sweep_secs == Some(0) {
            return Err("[tiering] sweep_secs must be at least 1".into());
        }
        let policy = self.policy.unwrap_or_default();
        policy.validate().map_err(|e| format!("[tiering.policy] {e}"))?;
        Ok(AutoTierConfig {
            enabled: self.enabled.unwrap_or(d.enabled),
            policy,
            sweep_interval: self.sweep_secs.map_or(d.sweep_interval, std::time::Duration::from_secs),
            move_bytes_per_sec: self.move_mib_per_sec.map_or(d.move_bytes_per_sec, |m| m.saturating_mul(1 << 20)),
            fill_percent,
            hot_bytes: self.hot_bytes,
            warm_bytes: self.warm_bytes,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data: Option<DataDirs>,
    tiering: Option<TieringFile>,
    tiers: Option<std::collections::BTreeMap<String, TierFile>>,
    inline_max_bytes: Option<usize>,
    read_cache_bytes: Option<u64>,
    scrub_bytes_per_sec: Option<u64>,
    scrub_interval_secs: Option<u64>,
    multipart_expiry_secs: Option<u64>,
    max_connections_per_core: Option<usize>,
    idle_timeout_secs: Option<u64>,
    listen: Option<String>,
    cores: Option<usize>,
    access_key: Option<String>,
    secret_key: Option<String>,
    log_format: Option<LogFormat>,
    region: Option<String>,
    anonymous: Option<bool>,
    anonymous_force: Option<bool>,
    domains: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct Config {
    /// The first hot disk: metadata lives there.
    pub data: PathBuf,
    pub tiers: Vec<TierConfig>,
    pub autotier: AutoTierConfig,
    pub inline_max_bytes: usize,
    /// Memory for blocks read from disk and verified, shared by all cores
    /// (below 4 MiB, e.g. 0: none; default an eighth of the machine's
    /// memory, or of the cgroup's limit when lower).
    pub read_cache_bytes: u64,
    /// Background scrub rate per core (0 disables it) and pause between passes.
    pub scrub_bytes_per_sec: u64,
    pub scrub_interval_secs: u64,
    /// Abandoned multipart uploads are aborted after this.
    pub multipart_expiry_secs: u64,
    /// Connections a core holds open at most; more are closed at accept.
    pub max_connections_per_core: usize,
    /// An idle keep-alive connection, or a client whose body or reading
    /// stalls this long, is closed.
    pub idle_timeout_secs: u64,
    pub listen: SocketAddr,
    pub cores: usize,
    pub access_key: String,
    pub secret_key: String,
    /// True when the development credentials were filled in.
    pub dev_credentials: bool,
    pub log_format: LogFormat,
    pub region: String,
    /// Unsigned requests are accepted (signed ones are still verified).
    pub anonymous: bool,
    /// Domains under which `bucket.<domain>` names a bucket (lowercase, no port).
    pub domains: Vec<String>,
}

impl Config {
    pub fn resolve(args: ServeArgs) -> Result<Config, String> {
        let file = match &args.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| format!("config {}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let listen_text = args.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr =
            listen_text.parse().map_err(|e| format!("--listen {listen_text}: {e} (expected IP:PORT)"))?;
        let cores = args.cores.or(file.cores).unwrap_or_else(available_cores);
        if cores == 0 {
            return Err("--cores must be at least 1".into());
        }
        let anonymous = args.anonymous || file.anonymous.unwrap_or(false);
        let anonymous_force = args.anonymous_force || file.anonymous_force.unwrap_or(false);
        if anonymous && !anonymous_force && !listen.ip().is_loopback() {
            return Err(format!(
                "refusing --anonymous on {listen}: anyone who reaches it could read and write every bucket; \
                 listen on loopback, or add --anonymous-force if that is what you mean"
            ));
        }
        let access_key = args.access_key.or(file.access_key);
        let secret_key = args.secret_key.or(file.secret_key);
        let (access_key, secret_key, dev_credentials) = match (access_key, secret_key) {
            (Some(a), Some(s)) if !a.is_empty() && !s.is_empty() => (a, s, false),
            // Anonymous mode is open anyway: signed clients may use the dev key too.
            (None, None) if listen.ip().is_loopback() || anonymous => {
                (DEV_CREDENTIAL.to_owned(), DEV_CREDENTIAL.to_owned(), true)
            }
            (None, None) => {
                return Err(format!(
                    "refusing to listen on {listen} without credentials: set --access-key and --secret-key \
                     (or STRATUM_ACCESS_KEY / STRATUM_SECRET_KEY); development credentials are only used on loopback"
                ))
            }
            _ => return Err("set both --access-key and --secret-key, non-empty".into()),
        };
        let mut tiers = resolve_tiers(args.data, file.data, file.tiers)?;
        // Disks are opened relative to nothing: glommio's directory fsync
        // failed on relative paths (EBADF), so every path is made absolute.
        for tier in &mut tiers {
            for disk in &mut tier.disks {
                *disk = std::path::absolute(&*disk).map_err(|e| format!("data directory {}: {e}", disk.display()))?;
            }
        }
        let data = tiers.first().and_then(|t| t.disks.first()).cloned().unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
        let inline_max_bytes = file.inline_max_bytes.unwrap_or(stratum_engine::limits::INLINE_MAX_BYTES);
        if inline_max_bytes > stratum_engine::limits::INLINE_MAX_BYTES {
            return Err(format!("inline_max_bytes may be at most {}", stratum_engine::limits::INLINE_MAX_BYTES));
        }
        Ok(Config {
            data,
            tiers,
            autotier: file.tiering.unwrap_or_default().resolve()?,
            inline_max_bytes,
            read_cache_bytes: file.read_cache_bytes.unwrap_or_else(stratum_engine::cache::default_capacity),
            max_connections_per_core: file.max_connections_per_core.unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_CORE).max(1),
            idle_timeout_secs: file.idle_timeout_secs.unwrap_or(stratum_http::limits::IDLE_TIMEOUT_SECS).max(1),
            multipart_expiry_secs: file
                .multipart_expiry_secs
                .unwrap_or(stratum_engine::limits::MULTIPART_EXPIRY.as_secs())
                .max(1),
            scrub_bytes_per_sec: file.scrub_bytes_per_sec.unwrap_or(stratum_engine::limits::SCRUB_BYTES_PER_SEC),
            scrub_interval_secs: file
                .scrub_interval_secs
                .unwrap_or(stratum_engine::limits::SCRUB_INTERVAL.as_secs())
                .max(1),
            listen,
            cores,
            access_key,
            secret_key,
            dev_credentials,
            log_format: args.log_format.or(file.log_format).unwrap_or(LogFormat::Human),
            region: args.region.or(file.region).unwrap_or_else(|| "us-east-1".to_owned()),
            anonymous,
            domains: resolve_domains(if args.domains.is_empty() {
                file.domains.unwrap_or_default()
            } else {
                args.domains
            })?,
        })
    }
}

/// The hot tier's disks come from `--data` (or `data` in the file), else
/// `[tiers.hot]`, else `./data`; warm and cold only from `[tiers.*]`.
fn resolve_tiers(
    flags: Vec<PathBuf>,
    data: Option<DataDirs>,
    tiers: Option<std::collections::BTreeMap<String, TierFile>>,
) -> Result<Vec<TierConfig>, String> {
    let mut out: Vec<TierConfig> = Vec::new();
    for (name, t) in tiers.unwrap_or_default() {
        let tier = Tier::parse(&name).ok_or_else(|| format!("unknown tier {name:?} (hot, warm, cold)"))?;
        let scheme = match t.scheme {
            Some(s) => Some(Scheme::parse(&s).ok_or_else(|| format!("tier {name}: scheme {s:?} is not like \"4+2\""))?),
            None => None,
        };
        if t.disks.is_empty() {
            return Err(format!("tier {name} has no disks"));
        }
        out.push(TierConfig { tier, disks: t.disks, scheme });
    }
    let hot_disks = if !flags.is_empty() {
        Some(flags)
    } else {
        data.map(|d| match d {
            DataDirs::One(p) => vec![p],
            DataDirs::Many(v) => v,
        })
    };
    match (hot_disks, out.iter_mut().find(|t| t.tier == Tier::Hot)) {
        (Some(disks), Some(hot)) => hot.disks = disks,
        (Some(disks), None) => out.push(TierConfig { tier: Tier::Hot, disks, scheme: None }),
        (None, Some(_)) => {}
        (None, None) => {
            out.push(TierConfig { tier: Tier::Hot, disks: vec![PathBuf::from(DEFAULT_DATA)], scheme: None })
        }
    }
    out.sort_by_key(|t| t.tier);
    Ok(out)
}

/// `s3.example.com`: a host name without scheme, port or path.
fn resolve_domains(domains: Vec<String>) -> Result<Vec<String>, String> {
    domains
        .into_iter()
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .map(|d| {
            let ok = !d.is_empty() && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if ok {
                Ok(d)
            } else {
                Err(format!("--domain {d:?}: expected a host name like s3.example.com"))
            }
        })
        .collect()
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(listen: Option<&str>, keys: Option<(&str, &str)>) -> ServeArgs {
        ServeArgs {
            config: None,
            data: Vec::new(),
            listen: listen.map(str::to_owned),
            cores: Some(1),
            access_key: keys.map(|k| k.0.to_owned()),
            secret_key: keys.map(|k| k.1.to_owned()),
            log_format: None,
            region: None,
            anonymous: false,
            anonymous_force: false,
            domains: Vec::new(),
        }
    }

    #[test]
    fn domains_are_host_names() {
        let mut a = args(None, None);
        a.domains = vec!["S3.Example.com.".into(), "localhost".into()];
        assert_eq!(Config::resolve(a).expect("resolves").domains, ["s3.example.com", "localhost"]);
        for bad in ["http://s3.example.com", "s3.example.com:9000", "", "a/b"] {
            let mut a = args(None, None);
            a.domains = vec![bad.into()];
            assert!(Config::resolve(a).is_err(), "{bad}");
        }
    }

    #[test]
    fn anonymous_is_loopback_only_unless_forced() {
        let mut a = args(None, None);
        a.anonymous = true;
        assert!(Config::resolve(a).expect("loopback resolves").anonymous);
        let mut a = args(Some("0.0.0.0:9000"), None);
        a.anonymous = true;
        let e = Config::resolve(a).expect_err("refused");
        assert!(e.contains("--anonymous-force"), "{e}");
        let mut a = args(Some("0.0.0.0:9000"), None);
        a.anonymous = true;
        a.anonymous_force = true;
        let c = Config::resolve(a).expect("forced");
        assert!(c.anonymous && c.dev_credentials);
    }

    /// The documented example must stay a valid config.
    #[test]
    fn the_deploy_example_parses() {
        let example: FileConfig = toml::from_str(include_str!("../deploy/stratum.toml")).expect("parses");
        assert!(example.access_key.is_some() && example.data.is_some());
        let all = include_str!("../deploy/stratum.toml")
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|l| l.contains(" = ") || l.starts_with('[')).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        toml::from_str::<FileConfig>(&all).expect("every commented option is a real key");
    }

    #[test]
    fn loopback_without_credentials_uses_dev_ones() {
        let c = Config::resolve(args(None, None)).expect("resolves");
        assert!(c.dev_credentials);
        assert_eq!(c.access_key, DEV_CREDENTIAL);
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn public_address_without_credentials_is_refused() {
        let e = Config::resolve(args(Some("0.0.0.0:9000"), None)).expect_err("refused");
        assert!(e.contains("without credentials"), "{e}");
        let c = Config::resolve(args(Some("0.0.0.0:9000"), Some(("ak", "sk")))).expect("resolves");
        assert!(!c.dev_credentials);
    }

    #[test]
    fn file_values_fill_what_flags_leave() {
        let dir = std::env::temp_dir().join(format!("stratum-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("stratum.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9100\"\ncores = 3\nlog_format = \"json\"\n").expect("write");
        let mut a = args(None, None);
        a.cores = None;
        a.config = Some(path.clone());
        let c = Config::resolve(a).expect("resolves");
        assert_eq!((c.listen.port(), c.cores, c.log_format), (9100, 3, LogFormat::Json));
        std::fs::write(&path, "bogus = 1\n").expect("write");
        let mut a = args(None, None);
        a.config = Some(path);
        assert!(Config::resolve(a).is_err());
    }
}
