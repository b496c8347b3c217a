//! `stratum-bench`: parse, then dispatch to a subcommand.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "stratum-bench", about = "Benchmarks of Stratum")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run S3 load jobs (bench/jobs/*.toml) against an endpoint.
    Run(stratum_bench::load::RunArgs),
    /// Measure the load generator's own ceiling against an in-process responder.
    Ceiling(stratum_bench::load::ceiling::CeilingArgs),
    /// Replay access traces against the tiering policy and its baselines.
    Tiering(stratum_bench::tiering::TieringArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(args) => stratum_bench::load::run(args),
        Command::Ceiling(args) => stratum_bench::load::ceiling(args),
        Command::Tiering(args) => stratum_bench::tiering::run(args),
    };
    match result {
        Ok(out) => {
            println!("{out}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stratum-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
