"""A full disk: PUTs fail with a clear S3 error, GETs keep working, nothing
is corrupted, and PUTs work again once space is freed. Runs on a small tmpfs
the test mounts (skipped where the machine cannot mount one)."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError


def tmpfs(mnt: Path, size: str):
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill_until_refused(c, bucket: str, rnd: random.Random, size: int, what: str,
                       seconds: float = 150) -> tuple[dict, dict]:
    """PUTs random bodies of ``size`` bytes until one is refused; the bodies
    stored by key, and the refusal's response."""
    stored = {}
    deadline = time.monotonic() + seconds
    while True:
        assert time.monotonic() < deadline, f"{what} took {len(stored)} bodies of {size} bytes"
        key = f"k{len(stored):06d}"
        body = rnd.randbytes(size)
        try:
            c.put_object(Bucket=bucket, Key=key, Body=body)
        except ClientError as e:
            return stored, e.response
        stored[key] = body


def retry_while_full(put, seconds: float, what: str):
    """Calls ``put`` until it is no longer refused for lack of space; any
    other error fails at once, and so does no success within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return put()
        except ClientError as e:
            assert e.response["Error"]["Code"] == "InsufficientStorage", e.response["Error"]
            assert time.monotonic() < deadline, what
            time.sleep(1)


@pytest.fixture
def small_fs(tmp_path):
    yield from tmpfs(tmp_path / "small", "48m")


@pytest.mark.timeout(180)
def test_full_disk_refuses_puts_keeps_gets_and_recovers(server_factory, small_fs: Path):
    srv = server_factory.start(cores=2, data_dir=small_fs / "data")
    c = srv.client()
    c.create_bucket(Bucket="full")
    data = random.Random(5).randbytes(8 * 1024 * 1024)
    stored = []
    for i in range(12):
        try:
            c.put_object(Bucket="full", Key=f"k{i}", Body=data)
            stored.append(f"k{i}")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "InsufficientStorage", e.response["Error"]
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 507
            break
    else:
        pytest.fail("a 48 MiB disk took 96 MiB")
    assert len(stored) >= 3
    for key in stored:
        assert c.get_object(Bucket="full", Key=key)["Body"].read() == data, key
    assert not list(small_fs.glob("data/core-*/tmp/*")), "a refused PUT left temp files"

    for key in stored[:2]:
        c.delete_object(Bucket="full", Key=key)
    # Freed volumes go after a 5 s grace.
    retry_while_full(lambda: c.put_object(Bucket="full", Key="after", Body=data), 20,
                     "PUTs did not recover after space was freed")
    assert c.get_object(Bucket="full", Key="after")["Body"].read() == data
    for key in stored[2:]:
        assert c.get_object(Bucket="full", Key=key)["Body"].read() == data, key
    srv.stop()
    srv.start()
    assert c.get_object(Bucket="full", Key="after")["Body"].read() == data


@pytest.mark.timeout(180)
def test_a_full_disk_of_two_takes_no_shards_and_writes_go_on(server_factory, small_fs: Path):
    """Two disks mirror (1+1); the small one fills. The write that meets the
    full disk fails with 507, the disk shows `full`, and later writes go to
    the other disk alone. Once space is freed the disk takes shards again."""
    root = server_factory.new_dir("fullpair")
    small = small_fs / "d1"
    srv = server_factory.start(cores=1, data_dir=root / "d0", extra=["--data", str(small)])
    c = srv.client()
    c.create_bucket(Bucket="pair")
    data = random.Random(8).randbytes(8 * 1024 * 1024)
    stored, refused = [], 0
    for i in range(12):
        try:
            c.put_object(Bucket="pair", Key=f"k{i}", Body=data)
            stored.append(f"k{i}")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "InsufficientStorage", e.response["Error"]
            refused += 1
    assert refused <= 2, f"{refused} of 12 PUTs refused: writes did not go on with the other disk"
    states = {d["path"]: d["state"] for d in srv.admin("disks")["disks"]}
    assert states[str(small)] == "full", states
    small_id = next(d["id"] for d in srv.admin("disks")["disks"] if d["path"] == str(small))
    for key in stored:
        assert c.get_object(Bucket="pair", Key=key)["Body"].read() == data, key

    for key in stored:
        layout = srv.admin("object", "pair", key)
        if small_id in layout["segments"][0]["disks"]:
            c.delete_object(Bucket="pair", Key=key)
    deadline = time.monotonic() + 30  # freed volumes go after a 5 s grace
    while {d["path"]: d["state"] for d in srv.admin("disks")["disks"]}[str(small)] != "ok":
        assert time.monotonic() < deadline, "the disk never took shards again after space was freed"
        time.sleep(0.5)
    c.put_object(Bucket="pair", Key="later", Body=data)
    assert small_id in srv.admin("object", "pair", "later")["segments"][0]["disks"]
    assert c.get_object(Bucket="pair", Key="later")["Body"].read() == data


@pytest.mark.timeout(240)
def test_metadata_full_refuses_puts_and_recovers(server_factory, small_fs: Path):
    """Small bodies live in the metadata records. Filling the disk with them
    must answer 507 like a full shard disk, never 500: the metadata store
    refuses every write after one that met ENOSPC, until a restart. Every
    acknowledged object stays readable, and once space is freed (large
    objects deleted) PUTs work again without a restart."""
    srv = server_factory.start(cores=1, data_dir=small_fs / "data")
    c = srv.client()
    c.create_bucket(Bucket="meta")
    rnd = random.Random(11)
    big = rnd.randbytes(1024 * 1024)
    for i in range(24):
        c.put_object(Bucket="meta", Key=f"big{i}", Body=big)
    stored, refused = fill_until_refused(c, "meta", rnd, 32 * 1024, "a 48 MiB disk holding 24 MiB")
    assert refused["Error"]["Code"] == "InsufficientStorage", refused["Error"]
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 507
    assert len(stored) > 100
    with pytest.raises(ClientError) as large:
        c.put_object(Bucket="meta", Key="large", Body=big)
    assert large.value.response["Error"]["Code"] == "InsufficientStorage"
    for key in rnd.sample(sorted(stored), 100):
        assert c.get_object(Bucket="meta", Key=key)["Body"].read() == stored[key], key

    for i in range(24):
        c.delete_object(Bucket="meta", Key=f"big{i}")
    def put_both():  # freed volumes go after a 5 s grace
        c.put_object(Bucket="meta", Key="after", Body=b"x" * 3000)
        c.put_object(Bucket="meta", Key="large", Body=big)
    retry_while_full(put_both, 40, "PUTs did not come back after space was freed")
    assert c.get_object(Bucket="meta", Key="after")["Body"].read() == b"x" * 3000
    assert c.get_object(Bucket="meta", Key="large")["Body"].read() == big
    for key in rnd.sample(sorted(stored), 100):
        assert c.get_object(Bucket="meta", Key=key)["Body"].read() == stored[key], key


@pytest.fixture
def fs_96m(tmp_path):
    yield from tmpfs(tmp_path / "small96", "96m")


@pytest.mark.timeout(240)
def test_small_bodies_filling_the_disk_never_stop_the_metadata_store(server_factory, fs_96m: Path):
    """Only small bodies, so only the metadata grows: its 64 MiB memtable
    fills before the disk's reserve is reached. Its flush must still find
    room (it met ENOSPC once, and fjall then refused every write, deletes
    included, with 500 until a restart)."""
    srv = server_factory.start(cores=1, data_dir=fs_96m / "data")
    c = srv.client()
    c.create_bucket(Bucket="small")
    rnd = random.Random(12)
    stored, refused = fill_until_refused(c, "small", rnd, 20_000, "a 96 MiB disk", seconds=180)
    assert refused["Error"]["Code"] == "InsufficientStorage", refused["Error"]
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 507
    assert len(stored) > 1000
    keys = sorted(stored)
    for key in keys[::2]:
        c.delete_object(Bucket="small", Key=key)
    for key in rnd.sample(keys[1::2], 100):
        assert c.get_object(Bucket="small", Key=key)["Body"].read() == stored[key], key
    assert "Poisoned" not in srv.log_text()
    # Small bodies need no shard disk: once the memtables are flushed, the
    # metadata's room above its reserve takes them again, though the disk
    # still counts as full for shards.
    retry_while_full(lambda: c.put_object(Bucket="small", Key="again", Body=b"y" * 20_000), 20,
                     "small PUTs never came back")
    assert c.get_object(Bucket="small", Key="again")["Body"].read() == b"y" * 20_000
    srv.restart()
    for key in rnd.sample(keys[1::2], 100):
        assert c.get_object(Bucket="small", Key=key)["Body"].read() == stored[key], key
    c.delete_object(Bucket="small", Key=keys[1])


@pytest.mark.timeout(180)
def test_a_tier_that_fills_gives_way_before_a_put_fails(server_factory, small_fs: Path):
    """Bodies hinted warm, on a node whose one warm disk is a 48 MiB tmpfs:
    once it has no room for the next body, that body goes to the cold tier
    (colder first) instead of failing with 507 and marking the disk full."""
    root = server_factory.new_dir("tier-fills")
    hot, cold = root / "hot", root / "cold"
    config = root / "stratum.toml"
    config.write_text(
        f"[tiers.hot]\ndisks = [\"{hot}\"]\n"
        f"[tiers.warm]\ndisks = [\"{small_fs}\"]\n"
        f"[tiers.cold]\ndisks = [\"{cold}\"]\n"
        "[tiering]\nsweep_secs = 3600\n[tiering.policy]\nwarmup_ms = 86400000\n")
    srv = server_factory.start(cores=1, data_dir=hot, extra=["--config", str(config)])
    c = srv.client()
    c.create_bucket(Bucket="fill")
    rnd = random.Random(11)
    bodies = {}
    for i in range(16):  # 64 MiB into a 48 MiB warm disk
        key = f"b{i:02d}"
        bodies[key] = rnd.randbytes(4 << 20)
        c.put_object(Bucket="fill", Key=key, Body=bodies[key], Metadata={"stratum-tier": "warm"})
    tiers = {key: {s.get("tier") for s in srv.admin("object", "fill", key)["segments"]} for key in bodies}
    assert sum(t == {"warm"} for t in tiers.values()) >= 8, tiers
    assert sum(t == {"cold"} for t in tiers.values()) >= 3, tiers
    assert all(t in ({"warm"}, {"cold"}) for t in tiers.values()), tiers
    for key, body in bodies.items():
        assert c.get_object(Bucket="fill", Key=key)["Body"].read() == body, key
    warm = [d for d in srv.admin("disks")["disks"] if d["tier"] == "warm"]
    assert warm and all(d["state"] == "ok" for d in warm), f"no write failed on the warm disk: {warm}"
