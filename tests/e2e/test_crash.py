"""The real crash test: concurrent PUT, multipart and DELETE traffic against
the real binary, killed with SIGKILL at random moments, restarted, and
checked: every acknowledged write reads back byte for byte, every
acknowledged delete stays deleted, nothing unacknowledged is half-visible,
and start-up removed every temp file.

STRATUM_CRASH_CYCLES sets the number of cycles (default 100)."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time

import pytest
from botocore.exceptions import ClientError

CYCLES = int(os.environ.get("STRATUM_CRASH_CYCLES", "100"))
THREADS = 3
KEYS_PER_THREAD = 12
SIZES = [0, 1, 5_000, 64 * 1024, 64 * 1024 + 1, 300_000, 1_100_000]


class Model:
    """Per key: the states a read may see. An acknowledged op replaces them
    with its result; an op in flight at the kill adds its result as a
    possibility (it may or may not have become durable)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.allowed: dict[str, set] = {}
        self.acks = 0

    def begin(self, key, outcome):
        with self.lock:
            self.allowed.setdefault(key, {None}).add(outcome)

    def ack(self, key, outcome):
        with self.lock:
            self.allowed[key] = {outcome}
            self.acks += 1


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def traffic(client, bucket, thread, model: Model, stop: threading.Event, rnd: random.Random):
    while not stop.is_set():
        key = f"t{thread}/k{rnd.randrange(KEYS_PER_THREAD)}"
        op = rnd.random()
        try:
            if op < 0.55:
                data = rnd.randbytes(rnd.choice(SIZES))
                model.begin(key, digest(data))
                client.put_object(Bucket=bucket, Key=key, Body=data)
                model.ack(key, digest(data))
            elif op < 0.75:
                model.begin(key, None)
                client.delete_object(Bucket=bucket, Key=key)
                model.ack(key, None)
            else:
                data = rnd.randbytes(rnd.choice(SIZES[1:5]))
                upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
                part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=data)
                model.begin(key, digest(data))
                client.complete_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload,
                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
                model.ack(key, digest(data))
        except Exception:
            return  # the server died under us: this op stays "in flight"


def verify(client, bucket, model: Model):
    listed = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        listed.update(o["Key"] for o in page.get("Contents", []))
    for key, allowed in model.allowed.items():
        try:
            got = digest(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as e:
            assert e.response["Error"]["Code"] == "NoSuchKey", e
            got = None
        assert got in allowed, f"{key}: read {got}, allowed {allowed}"
        assert (key in listed) == (got is not None), f"{key}: listing disagrees with GET"
        model.allowed[key] = {got}
    assert listed <= set(model.allowed), f"unknown keys listed: {listed - set(model.allowed)}"


def temp_files(data_dirs):
    return [p for d in data_dirs for p in d.glob("core-*/tmp/*")]


@pytest.mark.timeout(1800)
def test_sigkill_at_random_moments_loses_nothing_acknowledged(server_factory):
    root = server_factory.new_dir("crash")
    disks = [root / f"d{i}" for i in range(3)]
    extra = [a for d in disks[1:] for a in ("--data", str(d))]
    srv = server_factory.start(cores=2, data_dir=disks[0], extra=extra)
    config = dict(connect_timeout=2, read_timeout=10)
    srv.client(**config).create_bucket(Bucket="crash")
    model = Model()
    rnd = random.Random(2026)
    for cycle in range(CYCLES):
        client = srv.client(**config)
        stop = threading.Event()
        threads = [threading.Thread(target=traffic, args=(client, "crash", t, model, stop, random.Random(rnd.random())))
                   for t in range(THREADS)]
        for t in threads:
            t.start()
        time.sleep(rnd.uniform(0.05, 0.6))
        srv.kill()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        srv.start()
        assert temp_files(disks) == [], f"cycle {cycle}: temp files survived start-up"
        verify(srv.client(**config), "crash", model)
    # The test only means something if traffic was acknowledged between kills.
    assert model.acks >= CYCLES, f"only {model.acks} acknowledged ops over {CYCLES} cycles"
