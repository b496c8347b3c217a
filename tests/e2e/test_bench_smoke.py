"""Smoke run of the load generator (`stratum-bench run`) against the real
binary: a second or so of each kind of job, checking the output is sane
(operations done, no errors, percentiles in order). Speed is measured by
bench/compare.sh, never asserted here."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

JOBS_DIR = REPO / "bench" / "jobs"


def bench_bin() -> str:
    """The generator, built by `cargo test` (its integration tests need the
    binary); built here when missing."""
    path = os.environ.get("STRATUM_BENCH_BIN") or str(REPO / "target" / "release" / "stratum-bench")
    if not os.path.exists(path):
        subprocess.run(["cargo", "build", "--release", "-p", "stratum-bench"], cwd=REPO, check=True)
    return path


def run_bench(endpoint: str, pid: int, *args: str) -> list[dict]:
    cmd = [bench_bin(), "run", *args, "--endpoint", endpoint, "--server-pid", str(pid), "--json", "--quiet"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def check_ops(outcome: dict):
    assert outcome["kind"] == "ops"
    name = outcome["job"]
    assert outcome["ops"] > 0, name
    assert outcome["error_count"] == 0, (name, outcome["errors"])
    assert outcome["ops_per_s"] > 0, name
    lat = outcome["latency"]
    assert 0 < lat["p50_us"] <= lat["p90_us"] <= lat["p99_us"] <= lat["p999_us"] <= lat["max_us"], (name, lat)
    assert outcome["server"] is not None and outcome["server"]["cpu_s"] >= 0, name


@pytest.fixture
def bench_server(server_factory):
    return server_factory.start(cores=2)


def test_standard_jobs_run_clean(bench_server):
    jobs = ["put-4k", "get-4k", "head", "list", "mixed-70-30", "get-1m"]
    outcomes = run_bench(bench_server.endpoint, bench_server.pid, *jobs, "--duration", "1s", "--warmup", "200ms",
                         "--connections", "4", "--objects", "40")
    assert [o["job"] for o in outcomes] == jobs
    for o in outcomes:
        check_ops(o)
    by_job = {o["job"]: o for o in outcomes}
    # Payload bytes: a 4 KiB GET moves 4096 bytes, a HEAD none.
    get = by_job["get-4k"]
    assert abs(get["mb_per_s"] * 1e6 / get["ops_per_s"] - 4096) < 1
    assert by_job["head"]["mb_per_s"] == 0
    assert {op["operation"] for op in by_job["mixed-70-30"]["by_operation"]} == {"get", "put"}


def test_deletes_count_their_operations(bench_server):
    [outcome] = run_bench(bench_server.endpoint, bench_server.pid, "delete", "--ops", "120", "--objects", "120",
                          "--connections", "4")
    check_ops(outcome)
    assert outcome["ops"] == 120


def test_range_and_video_jobs(bench_server, tmp_path: Path):
    # The shipped jobs read 1 GiB and 4 x 256 MiB: too much for CI, so the
    # same operations over small objects.
    ranged = tmp_path / "range-small.toml"
    ranged.write_text('operation = "range-get"\nsize = "4MiB"\nrange_size = "64KiB"\nobjects = 2\n'
                      'connections = 4\nduration = "1s"\nwarmup = "200ms"\n')
    video = tmp_path / "video-small.toml"
    video.write_text('operation = "video"\nsize = "8MiB"\nobjects = 2\nduration = "2s"\n'
                     'video = { chunk = "1MiB", bitrate_mbps = 16.0, ramp = "200ms" }\n')
    r, v = run_bench(bench_server.endpoint, bench_server.pid, str(ranged), str(video), "--viewers", "2")
    check_ops(r)
    assert abs(r["mb_per_s"] * 1e6 / r["ops_per_s"] - 65536) < 1
    assert v["kind"] == "video"
    # A run with a stall is repeated once (the search's rule), so one or two.
    assert 1 <= len(v["runs"]) <= 2
    run = v["runs"][0]
    assert run["viewers"] == 2 and run["chunks"] >= 2 and run["errors"] == 0
    assert run["ttfb"]["p50_us"] > 0
