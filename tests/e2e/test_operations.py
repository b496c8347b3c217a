"""Operations endpoints: Prometheus text on /metrics, /health for load
balancers, and a bucket named like them still works over signed S3."""

from __future__ import annotations

import re

import requests


def test_metrics_count_requests_bytes_and_disks(server):
    c = server.client()
    c.create_bucket(Bucket="metrics")  # a bucket may be called that
    c.put_object(Bucket="metrics", Key="k", Body=b"x" * 1000)
    for i in range(20):  # keys spread over both cores' partitions: some are handed off
        c.head_bucket(Bucket="metrics")
        c.put_object(Bucket="metrics", Key=f"spread-{i}", Body=b"y")
    assert c.get_object(Bucket="metrics", Key="k")["Body"].read() == b"x" * 1000
    assert [o["Key"] for o in c.list_objects_v2(Bucket="metrics")["Contents"]][0] == "k"

    r = requests.get(f"{server.endpoint}/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    ops = dict(re.findall(r'stratum_requests_total\{op="(\w+)",status="200"\} (\d+)', text))
    assert int(ops["PutObject"]) >= 1 and int(ops["GetObject"]) >= 1, ops
    assert re.search(r"stratum_sent_bytes_total \d+", text)
    assert re.search(r'stratum_request_duration_seconds_bucket\{le="\+Inf"\} [1-9]', text)
    assert re.search(r'stratum_disk_bytes\{disk="\d+",tier="hot",kind="free"\} [1-9]', text)
    assert re.search(r'stratum_in_flight_requests\{core="1"\}', text)
    c.head_bucket(Bucket="metrics")
    try:
        c.get_object(Bucket="metrics", Key="missing")
    except Exception:
        pass
    text = requests.get(f"{server.endpoint}/metrics", timeout=10).text
    assert int(re.search(r'stratum_errors_total\{code="NoSuchKey"\} (\d+)', text).group(1)) >= 1, text
    handoffs = [int(n) for n in re.findall(r'stratum_core_handoffs_total\{core="\d+"\} (\d+)', text)]
    assert len(handoffs) == 2 and sum(handoffs) >= 1, handoffs
    assert re.findall(r'stratum_core_queued_jobs\{core="\d+"\} (\d+)', text) == ["0", "0"]
    assert requests.get(f"{server.endpoint}/_stratum/metrics", timeout=10).status_code == 200
    for key in ["k"] + [f"spread-{i}" for i in range(20)]:
        c.delete_object(Bucket="metrics", Key=key)
    c.delete_bucket(Bucket="metrics")


def test_health(server):
    r = requests.get(f"{server.endpoint}/health", timeout=10)
    assert (r.status_code, r.text) == (200, "ok\n")
