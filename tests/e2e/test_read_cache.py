"""The read cache: a body read again comes from memory, byte for byte, and
an overwrite is never answered with the old bytes."""

import os
import time

import pytest

from s3util import MiB


def read_stats(srv) -> tuple[int, int]:
    """(disk bytes read, cache hit bytes) so far."""
    stats = srv.admin("stats")
    cache = stats["read_cache"] or {"hit_bytes": 0}
    return stats["disk_read_bytes"], cache["hit_bytes"]


def get_range(c, key, first, last) -> bytes:
    return c.get_object(Bucket="cache", Key=key, Range=f"bytes={first}-{last}")["Body"].read()


@pytest.mark.timeout(120)
def test_a_second_read_comes_from_memory(server_factory):
    srv = server_factory.start(cores=2)
    c = srv.client()
    c.create_bucket(Bucket="cache")
    data = os.urandom(3 * MiB + 77)
    c.put_object(Bucket="cache", Key="title", Body=data)
    first, last = 123_457, 2 * MiB + 999
    assert get_range(c, "title", first, last) == data[first:last + 1]
    disk_before, hits_before = read_stats(srv)
    assert disk_before >= last + 1 - first, "the first read went to the disk"
    for _ in range(3):
        assert get_range(c, "title", first, last) == data[first:last + 1]
    # Inside what was read, at other offsets: still memory.
    assert get_range(c, "title", first + 5000, first + 70_000) == data[first + 5000:first + 70_001]
    disk_after, hits_after = read_stats(srv)
    assert disk_after == disk_before, "the cached range was read from the disk again"
    assert hits_after - hits_before == 3 * (last + 1 - first) + 65_001
    # The whole object: the uncached head and tail come from the disk.
    assert c.get_object(Bucket="cache", Key="title")["Body"].read() == data
    assert read_stats(srv)[0] > disk_after


@pytest.mark.timeout(120)
def test_overwrites_are_never_answered_from_the_old_bytes(server_factory):
    srv = server_factory.start(cores=2)
    c = srv.client()
    c.create_bucket(Bucket="cache")
    versions = []
    # Past the 5 s grace, freed shard files are reused for new bodies: the
    # later versions land in files that held cached bytes of earlier ones.
    deadline = time.monotonic() + 14
    while time.monotonic() < deadline or len(versions) < 4:
        body = os.urandom(2 * MiB + 4096)
        c.put_object(Bucket="cache", Key="same", Body=body)
        versions.append(body)
        for _ in range(2):
            got = c.get_object(Bucket="cache", Key="same")["Body"].read()
            assert got == body, f"version {len(versions)} answered with other bytes"
        time.sleep(1.5)
    assert read_stats(srv)[1] > 0, "the second read of each version was a cache hit"


@pytest.mark.timeout(60)
def test_read_cache_off(server_factory):
    srv, _ = server_factory.start_with_config("read_cache_bytes = 0\n")
    c = srv.client()
    c.create_bucket(Bucket="cache")
    data = os.urandom(MiB + 5)
    c.put_object(Bucket="cache", Key="k", Body=data)
    assert c.get_object(Bucket="cache", Key="k")["Body"].read() == data
    disk = srv.admin("stats")["disk_read_bytes"]
    assert c.get_object(Bucket="cache", Key="k")["Body"].read() == data
    stats = srv.admin("stats")
    assert stats["read_cache"] is None
    assert stats["disk_read_bytes"] >= disk + MiB, "without a cache every read goes to the disk"
