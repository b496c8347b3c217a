//! The `stratum-bench` binary as a user runs it: the ceiling subcommand
//! end to end (generator and in-process responder), and a clear failure for
//! a job that does not exist. No timed assertions: rates only above zero.

use std::process::Command;

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stratum-bench"))
}

#[test]
fn ceiling_runs_and_reports_json() {
    let out = bench().args(["ceiling", "--duration", "300ms", "--connections", "2", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 3);
    for r in reports {
        assert!(r["ops"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["error_count"].as_u64(), Some(0), "{r}");
        let l = &r["latency"];
        assert!(l["p50_us"].as_u64() <= l["p99_us"].as_u64() && l["p99_us"].as_u64() <= l["max_us"].as_u64());
    }
}

#[test]
fn a_missing_job_fails_clearly() {
    let out = bench().args(["run", "no-such-job", "--endpoint", "http://127.0.0.1:1"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such job file"));
}
