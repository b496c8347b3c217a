//! `stratum`: the S3-compatible object store. `stratum serve` starts one
//! pinned glommio executor per core, each accepting on the shared port.

mod admin;
mod config;

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use glommio::{LocalExecutorBuilder, Placement};
use stratum_engine::{mesh, Node, NodeConfig, Store};
use stratum_http::sigv4::Credentials;
use stratum_http::{serve_connection, Ctx, HttpConfig};

use crate::config::{Config, LogFormat, ServeArgs};

/// glibc's malloc was an eighth of a 4 KiB GET's server CPU (its arena
/// locks and free-list work on every request's small buffers).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "stratum", version, about = "An S3-compatible object store on io_uring, thread per core")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (defaults: data in ./data, listening on 127.0.0.1:9000).
    Serve(ServeArgs),
    /// Ask a running server: disks, stats, scrub.
    Admin(admin::AdminArgs),
}

/// How often an idle core looks at the shutdown flag.
const SHUTDOWN_POLL: Duration = Duration::from_millis(50);
/// Longest we wait for requests in flight after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

fn main() {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Serve(args) => args,
        Command::Admin(args) => match admin::run(args) {
            Ok(out) => {
                use std::io::Write;
                let _ = writeln!(std::io::stdout(), "{out}");
                return;
            }
            Err(e) => {
                eprintln!("stratum admin: {e}");
                std::process::exit(1);
            }
        },
    };
    let config = match Config::resolve(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("stratum: {e}");
            std::process::exit(2);
        }
    };
    init_logging(config.log_format);
    if let Err(e) = serve(config) {
        tracing::error!("{e}");
        eprintln!("stratum: {e}");
        std::process::exit(1);
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.init(),
    }
}

fn serve(config: Config) -> Result<(), String> {
    if config.anonymous {
        tracing::warn!(listen = %config.listen, "anonymous mode: unsigned requests may read and write every bucket");
    }
    if config.dev_credentials {
        tracing::warn!(
            "no credentials configured: using access key and secret key \"{}\" (loopback only)",
            config::DEV_CREDENTIAL
        );
    }
    let node_config = NodeConfig {
        tiers: config.tiers.clone(),
        cores: config.cores,
        inline_max_bytes: config.inline_max_bytes,
        scrub_bytes_per_sec: config.scrub_bytes_per_sec,
        scrub_interval: std::time::Duration::from_secs(config.scrub_interval_secs),
        multipart_expiry: std::time::Duration::from_secs(config.multipart_expiry_secs),
        autotier: config.autotier.clone(),
        read_cache_bytes: config.read_cache_bytes,
    };
    let node =
        Node::open(&node_config).map_err(|e| format!("cannot open data directory {}: {e}", config.data.display()))?;
    for tier in node.tiers() {
        tracing::info!(tier = tier.tier.name(), disks = tier.disks.len(), scheme = %tier.scheme, "tier");
    }
    let cache_bytes = node.read_cache().map_or(0, |c| c.stats().capacity_bytes);
    tracing::info!(bytes = cache_bytes, "read cache");
    if node.temp_files_removed > 0 {
        tracing::info!(count = node.temp_files_removed, "removed temp files of interrupted writes");
    }
    if node.orphans_removed > 0 {
        tracing::info!(count = node.orphans_removed, "removed shard files no record referenced");
    }
    let shutting_down = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, shutting_down.clone()).map_err(|e| format!("signal handler: {e}"))?;
    }
    let http = Arc::new(HttpConfig {
        credentials: vec![Credentials { access_key: config.access_key.clone(), secret_key: config.secret_key.clone() }],
        region: config.region.clone(),
        anonymous: config.anonymous,
        domains: config.domains.clone(),
        idle_timeout: std::time::Duration::from_secs(config.idle_timeout_secs),
    });
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let drained = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for (core, ends) in mesh::build(config.cores).into_iter().enumerate() {
        let (node, http, shutting_down, drained) = (node.clone(), http.clone(), shutting_down.clone(), drained.clone());
        let listen = config.listen;
        let max_connections = config.max_connections_per_core;
        let cores = config.cores;
        let handle = LocalExecutorBuilder::new(Placement::Fixed(core % cpus))
            .name(&format!("core-{core}"))
            .spawn(move || async move {
                let store = Store::new(node, core);
                store.join_mesh(ends).await;
                store.spawn_housekeeping();
                let ctx = Rc::new(Ctx { store, config: http, in_flight: 0.into(), shutting_down });
                run_core(ctx, listen, core, cores, drained, max_connections).await
            })
            .map_err(|e| format!("cannot start core {core}: {e}"))?;
        handles.push(handle);
    }
    tracing::info!(listen = %config.listen, cores = config.cores, data = %config.data.display(), "stratum listening");
    let mut failed = None;
    for handle in handles {
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed = Some(e),
            Err(e) => failed = Some(format!("core stopped: {e}")),
        }
    }
    // No reader is left: volumes freed in the last seconds can go now.
    stratum_engine::remove_volumes(&node, &node.take_freed(true));
    drop(node);
    match failed {
        Some(e) => Err(e),
        None => {
            tracing::info!("stopped");
            Ok(())
        }
    }
}

/// Accepts connections until shutdown, then waits for this core's requests
/// to finish, then for every other core's (they may still call on this core's
/// partitions), then returns.
async fn run_core(
    ctx: Rc<Ctx>,
    listen: std::net::SocketAddr,
    core: usize,
    cores: usize,
    drained: Arc<AtomicUsize>,
    max_connections: usize,
) -> Result<(), String> {
    let open = Rc::new(std::cell::Cell::new(0usize));
    let listener =
        glommio::net::TcpListener::bind(listen).map_err(|e| format!("core {core}: cannot listen on {listen}: {e}"))?;
    loop {
        let accept = async { Some(listener.accept().await) };
        let stop = async {
            while !ctx.is_shutting_down() {
                glommio::timer::sleep(SHUTDOWN_POLL).await;
            }
            None
        };
        match futures_lite::future::or(accept, stop).await {
            Some(Ok(stream)) if open.get() >= max_connections => {
                // Over the cap: close at once, so one client's flood cannot
                // take the memory every other connection needs.
                tracing::debug!(core, open = open.get(), "connection refused: per-core cap reached");
                drop(stream);
            }
            Some(Ok(stream)) => {
                open.set(open.get() + 1);
                let (ctx, open) = (ctx.clone(), open.clone());
                glommio::spawn_local(async move {
                    serve_connection(ctx, stream).await;
                    open.set(open.get() - 1);
                })
                .detach();
            }
            Some(Err(e)) => {
                tracing::warn!(core, error = %e, "accept failed");
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
            None => break,
        }
    }
    drop(listener);
    let deadline = std::time::Instant::now() + SHUTDOWN_GRACE;
    while ctx.in_flight.get() > 0 && std::time::Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
    drained.fetch_add(1, Ordering::SeqCst);
    while drained.load(Ordering::SeqCst) < cores && std::time::Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
    ctx.store.keep_statistics().await;
    Ok(())
}
