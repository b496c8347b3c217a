#!/usr/bin/env python3
"""Turns the JSON that bench/compare.sh collected into the markdown table of
bench/results/compare-<commit>.md: both sides, their ratios, the issue's
targets met or missed, and each figure against the machine's limits."""

import argparse
import glob
import json
import os
import platform
import statistics
import time

A, B = "Stratum", "s3s-fs"


def load_runs(work):
    """{(job, side): [outcome per round]} from json/<job>.<side>.<tag>.json."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(work, "json", "*.json"))):
        job, side, tag = os.path.basename(path)[: -len(".json")].split(".", 2)
        with open(path) as f:
            outcomes = json.load(f)
        for o in outcomes:
            runs.setdefault((job, side, tag.split(".")[0] if tag.startswith("cores") else "std"), []).append(o)
    return runs


def load_limits(work):
    """{name: [before, after, unit]} from limits-before.txt and limits.txt
    (bench/limits.sh before and after the jobs; NaN where not measured)."""
    table = {}
    for index, name in enumerate(("limits-before.txt", "limits.txt")):
        path = os.path.join(work, name)
        if not os.path.exists(path):
            continue
        for line in open(path):
            parts = line.split()
            if len(parts) == 4 and parts[0] == "limit":
                entry = table.setdefault(parts[1], [float("nan"), float("nan"), parts[3]])
                entry[index] = float(parts[2])
    return table


def best(limits):
    """{name: (value, unit)}: the better of before and after. This disk's
    speed drifts, so a figure is held to the best the machine showed."""
    out = {}
    for name, (before, after, unit) in limits.items():
        values = [v for v in (before, after) if v == v]
        if values:
            out[name] = (max(values), unit)
    return out


def mean(values):
    return statistics.mean(values) if values else float("nan")


def figure(rounds, key):
    if key.startswith("latency."):
        return mean([r["latency"][key.split(".")[1]] / 1000 for r in rounds])
    if key.startswith("server."):
        return mean([r["server"][key.split(".")[1]] for r in rounds if r.get("server")])
    return mean([r[key] for r in rounds])


def ratio(a, b):
    return a / b if b else float("inf")


def fmt(x, digits=1):
    if x != x:  # NaN
        return "–"
    if x == float("inf"):
        return "∞"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def both_sides(runs, jobs):
    """(job, Stratum's rounds, s3s-fs's rounds) for each job both sides ran."""
    for job in jobs:
        a = [o for o in runs.get((job, "A", "std"), []) if o["kind"] == "ops"]
        b = [o for o in runs.get((job, "B", "std"), []) if o["kind"] == "ops"]
        if a and b:
            yield job, a, b


def results_table(runs, jobs):
    rows = [
        f"| job | {A} ops/s | {B} ops/s | ops × | {A} MB/s | {B} MB/s | {A} p50 / p99 ms | {B} p50 / p99 ms "
        f"| p99 {B} ÷ {A} | errors {A} / {B} |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for job, a, b in both_sides(runs, jobs):
        fa = {k: figure(a, k) for k in ("ops_per_s", "mb_per_s", "latency.p50_us", "latency.p99_us", "error_count")}
        fb = {k: figure(b, k) for k in fa}
        rows.append(
            f"| {job} | {fmt(fa['ops_per_s'])} | {fmt(fb['ops_per_s'])} | **{fmt(ratio(fa['ops_per_s'], fb['ops_per_s']), 2)}** "
            f"| {fmt(fa['mb_per_s'])} | {fmt(fb['mb_per_s'])} "
            f"| {fmt(fa['latency.p50_us'], 2)} / {fmt(fa['latency.p99_us'], 2)} "
            f"| {fmt(fb['latency.p50_us'], 2)} / {fmt(fb['latency.p99_us'], 2)} "
            f"| {fmt(ratio(fb['latency.p99_us'], fa['latency.p99_us']), 2)} "
            f"| {fmt(fa['error_count'], 0)} / {fmt(fb['error_count'], 0)} |"
        )
    return "\n".join(rows)


def cpu_table(runs, jobs):
    rows = [
        f"| job | {A} server µs CPU/op | {B} server µs CPU/op | {A} disk read ÷ served | {B} disk read ÷ served "
        f"| {A} read() bytes ÷ served | {B} read() bytes ÷ served | generator µs CPU/op |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for job, a, b in both_sides(runs, jobs):
        rows.append(
            f"| {job} | {fmt(figure(a, 'server.cpu_us_per_op'))} | {fmt(figure(b, 'server.cpu_us_per_op'))} "
            f"| {fmt(figure(a, 'server.disk_read_per_byte_served'), 2)} | {fmt(figure(b, 'server.disk_read_per_byte_served'), 2)} "
            f"| {fmt(figure(a, 'server.read_syscall_per_byte_served'), 2)} | {fmt(figure(b, 'server.read_syscall_per_byte_served'), 2)} "
            f"| {fmt(mean([r['client_cpu_us_per_op'] for r in a + b if r.get('client_cpu_us_per_op')]))} |"
        )
    return "\n".join(rows)


def rounds_table(runs, jobs):
    rows = ["| job | side | ops/s per round | MB/s per round | p99 ms per round |", "| --- | --- | --- | --- | --- |"]
    for job in jobs:
        for side, name in (("A", A), ("B", B)):
            rs = runs.get((job, side, "std"), [])
            if rs:
                rows.append(
                    f"| {job} | {name} | {', '.join(fmt(r['ops_per_s']) for r in rs)} "
                    f"| {', '.join(fmt(r['mb_per_s']) for r in rs)} "
                    f"| {', '.join(fmt(r['latency']['p99_us'] / 1000, 2) for r in rs)} |"
                )
    return "\n".join(rows)


def video_section(runs):
    a, b = runs.get(("video", "A", "std")), runs.get(("video", "B", "std"))
    if not a or not b:
        return None, "(not run)"
    va, vb = a[0], b[0]
    lines = [
        f"Viewers each play a {va['chunk_bytes'] // (1 << 20)} MiB-chunked object at {va['bitrate_mbps']} Mbit/s; "
        "a chunk after its play-out deadline is a stall. Most viewers with no stall at all:",
        "",
        f"| | {A} | {B} | × |",
        "| --- | ---: | ---: | ---: |",
        f"| viewers without stalls | {va['viewers_without_stalls']} | {vb['viewers_without_stalls']} "
        f"| **{fmt(ratio(va['viewers_without_stalls'], vb['viewers_without_stalls']), 2)}** |",
    ]
    for side, name, v in (("A", A, va), ("B", B, vb)):
        lines += ["", f"{name}'s probes:", "", "| viewers | stalls | stalled viewers | errors | MB/s | TTFB p50 / p99 ms | chunk p99 ms |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in v["runs"]:
            lines.append(
                f"| {r['viewers']} | {r['stalls']} | {r['stalled_viewers']} | {r['errors']} | {fmt(r['mb_per_s'])} "
                f"| {fmt(r['ttfb']['p50_us'] / 1000, 2)} / {fmt(r['ttfb']['p99_us'] / 1000, 2)} | {fmt(r['chunk_latency']['p99_us'] / 1000, 2)} |"
            )
    return (va["viewers_without_stalls"], vb["viewers_without_stalls"]), "\n".join(lines)


def scaling_section(runs):
    one, two = runs.get(("get-4k", "A", "cores1")), runs.get(("get-4k", "A", "cores2"))
    if not one or not two:
        return None, "(not run)"
    r1, r2 = figure(one, "ops_per_s"), figure(two, "ops_per_s")
    c1, c2 = figure(one, "server.cpu_us_per_op"), figure(two, "server.cpu_us_per_op")
    text = (
        f"get-4k on Stratum, generator unpinned: `--cores 1` {fmt(r1)} ops/s "
        f"(rounds {', '.join(fmt(r['ops_per_s']) for r in one)}), `--cores 2` {fmt(r2)} ops/s "
        f"(rounds {', '.join(fmt(r['ops_per_s']) for r in two)}): **{fmt(ratio(r2, r1), 2)}×**. "
        "On this 2-CPU machine the generator shares the CPUs with the two cores, so the rate cannot double. "
        f"Stratum's CPU per request: {fmt(c1)} µs with one core, {fmt(c2)} µs with two; were the CPUs its own, "
        f"two cores would serve 2 × {fmt(c1)} ÷ {fmt(c2)} = **{fmt(2 * c1 / c2, 2)}×** as much."
    )
    return (ratio(r2, r1), 2 * c1 / c2), text


def std(runs, job, side, key):
    rs = [o for o in runs.get((job, side, "std"), []) if o["kind"] == "ops"]
    return figure(rs, key) if rs else float("nan")


def targets_table(runs, all_limits, video, scaling):
    limits = best(all_limits)
    def met(ok, *figures):
        if any(f != f for f in figures):  # NaN: the job did not run
            return "not run"
        return "met" if ok else "**missed**"

    rows = ["| target | figure | |", "| --- | --- | --- |"]
    for job, key, unit, want in (("put-4k", "ops_per_s", "ops/s", 2.0), ("get-4k", "ops_per_s", "ops/s", 2.0),
                                 ("put-1m", "mb_per_s", "MB/s", 1.5), ("get-1m", "mb_per_s", "MB/s", 1.5)):
        a, b = std(runs, job, "A", key), std(runs, job, "B", key)
        r = ratio(a, b)
        rows.append(f"| {job} {unit} ≥ {want}× {B} | {fmt(a)} vs {fmt(b)}: {fmt(r, 2)}× | {met(r >= want, a, b)} |")
    fio = limits.get("fio_seq_write_1m_fdatasync_qd8") or limits.get("fio_seq_write_1m_fdatasync_qd1")
    if fio:
        a = std(runs, "put-1m", "A", "mb_per_s")
        rows.append(f"| durable put-1m ≥ 70 % of fio's durable sequential write | {fmt(a)} of {fmt(fio[0])} MB/s: "
                    f"{fmt(100 * a / fio[0], 0)} % | {met(a >= 0.7 * fio[0], a)} |")
    pa, pb = std(runs, "range-64k-in-1g", "A", "latency.p99_us"), std(runs, "range-64k-in-1g", "B", "latency.p99_us")
    rows.append(f"| range-64k-in-1g p99 ≤ ½ {B}'s | {fmt(pa, 2)} vs {fmt(pb, 2)} ms | {met(pa <= pb / 2, pa, pb)} |")
    amp = std(runs, "range-64k-in-1g", "A", "server.disk_read_per_byte_served")
    rows.append(f"| range-64k-in-1g disk bytes read ÷ bytes served ≤ 1.1 | {fmt(amp, 2)} | {met(amp <= 1.1, amp)} |")
    if video:
        rows.append(f"| video viewers without stalls ≥ 2× {B} | {video[0]} vs {video[1]} | {met(video[0] >= 2 * video[1])} |")
    if scaling:
        measured, projected = scaling
        rows.append(f"| get-4k `--cores 2` ≥ 1.8× `--cores 1` | {fmt(measured, 2)}× | {met(measured >= 1.8)} |")
        rows.append(f"| the same, from Stratum's CPU per request (CPUs not shared) | {fmt(projected, 2)}× "
                    f"| {met(projected >= 1.8, projected)} |")
    return "\n".join(rows)


def limits_section(runs, all_limits):
    if not all_limits:
        return "(not measured)"
    limits = best(all_limits)
    rows = ["| limit | before the jobs | after the jobs |", "| --- | ---: | ---: |"]
    rows += [f"| {name} | {fmt(b)} {unit} | {fmt(a)} {unit} |" for name, (b, a, unit) in all_limits.items()]
    pairs = [("put-1m", "mb_per_s", "fio_seq_write_1m_fdatasync_qd8"), ("put-1m", "mb_per_s", "fio_seq_write_1m_fdatasync_qd1"),
             ("get-1m", "mb_per_s", "iperf3_loopback_split_cpus"), ("get-1m", "mb_per_s", "fio_seq_read_1m_qd8")]
    rows += ["", "The better of the two is the limit below.", "",
             "| figure | % of limit (" + A + ") | % of limit (" + B + ") |", "| --- | ---: | ---: |"]
    for job, key, name in pairs:
        if name in limits:
            lim = limits[name][0]
            rows.append(f"| {job} MB/s ÷ {name} | {fmt(100 * std(runs, job, 'A', key) / lim, 0)} % "
                        f"| {fmt(100 * std(runs, job, 'B', key) / lim, 0)} % |")
    return "\n".join(rows)


def ceiling_section(work):
    path = os.path.join(work, "ceiling.json")
    if not os.path.exists(path):
        return "(not measured)"
    rows = ["| job | ops/s | MB/s | generator µs CPU/op |", "| --- | ---: | ---: | ---: |"]
    for r in json.load(open(path)):
        rows.append(f"| {r['job']} | {fmt(r['ops_per_s'])} | {fmt(r['mb_per_s'])} | {fmt(r.get('client_cpu_us_per_op') or float('nan'))} |")
    return "\n".join(rows)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    for flag in ("--commit", "--dirty", "--cores", "--server-cpus", "--client-cpus", "--duration", "--rounds", "--peer-version"):
        p.add_argument(flag, required=True)
    p.add_argument("--warmup", default="a")
    args = p.parse_args()
    runs = load_runs(args.work)
    limits = load_limits(args.work)
    jobs = []
    for (job, _, tag) in runs:
        if tag == "std" and job != "video" and job not in jobs:
            jobs.append(job)
    order = ["put-4k", "get-4k", "head", "delete", "list", "mixed-70-30", "put-1m", "get-1m", "range-64k-in-1g"]
    jobs.sort(key=lambda j: order.index(j) if j in order else len(order))
    video, video_text = video_section(runs)
    scaling, scaling_text = scaling_section(runs)
    load_before = open(os.path.join(args.work, "load-before.txt")).read().strip()
    load_after = open(os.path.join(args.work, "load-after.txt")).read().strip()
    dirty = "" if args.dirty == "0" else f" plus {args.dirty} uncommitted changes in engine/, http/, meta/, src/ (other engineers' work in progress)"
    print(f"""# {A} vs {B} {args.peer_version}, commit {args.commit[:7]}

Run by `bench/compare.sh` on {time.strftime('%Y-%m-%d %H:%M %Z')}: commit `{args.commit}`{dirty}.
Machine: {cpu_model()}, {os.cpu_count()} CPUs, Linux {platform.release()}. Both servers pinned to CPU {args.server_cpus}
(Stratum `--cores {args.cores}`), the generator (`stratum-bench`) to CPU {args.client_cpus}. Each job: {args.rounds} rounds
of {args.duration} measured after {args.warmup} warm-up, alternating {A}, {B}, {A}, {B}; figures are the means of the rounds.
Load average before: `{load_before}`; after: `{load_after}` (other engineers' builds and tests share this
machine: read the figures as side-by-side ratios, not absolutes).

**Durability differs.** {A} fsyncs every PUT (the volume and its metadata, group commit) before it answers 200.
{B} never fsyncs: its acknowledged PUTs live in the page cache. {B} also does not set TCP_NODELAY, so a
kept-alive small GET can wait for a delayed ACK (~40 ms): that shows in its p99.

## Results

{results_table(runs, jobs)}

ops × is {A} ÷ {B} (higher is better for {A}); p99 {B} ÷ {A} likewise (above 1: {A}'s tail is shorter).

## The issue's targets

{targets_table(runs, limits, video, scaling)}

## Where the time and the bytes go

{cpu_table(runs, jobs)}

Server CPU is utime + stime of the server process over the measured phase, divided by its operations.
"Disk read" is /proc/PID/io `read_bytes` (what reached the block device); `read()` bytes is `rchar` (page cache
and sockets included).

## Video origin

{video_text}

## Scaling

{scaling_text}

## This machine's limits (bench/limits.sh)

{limits_section(runs, limits)}

## The generator's ceiling (`stratum-bench ceiling`, against an in-process responder)

{ceiling_section(args.work)}

## Every round

{rounds_table(runs, jobs)}
""")


if __name__ == "__main__":
    main()
