"""Tiers as an engine operation: `stratum admin move-tier` copies an
object's body into another tier's disks (its own scheme), verifies it,
switches the record atomically and frees the old shards."""

from __future__ import annotations

import json
import random
import time

import pytest


def shard_files(disk):
    return sorted(disk.glob("core-*/vol/*/*"))


@pytest.mark.timeout(180)
def test_move_tier_copies_verifies_switches_and_frees(server_factory):
    root = server_factory.new_dir("tiers")
    hot = root / "hot"
    warm = [root / f"warm{i}" for i in range(3)]
    config = root / "stratum.toml"
    config.write_text(
        "[tiers.hot]\n"
        f"disks = [\"{hot}\"]\n"
        "[tiers.warm]\n"
        f"disks = [{', '.join(json.dumps(str(w)) for w in warm)}]\n")
    srv = server_factory.start(cores=2, data_dir=hot, extra=["--config", str(config)])
    tiers = {t["tier"]: t["scheme"] for t in srv.admin("disks")["tiers"]}
    assert tiers == {"hot": "1+0", "warm": "2+1"}

    c = srv.client()
    c.create_bucket(Bucket="tiered")
    rnd = random.Random(3)
    big = rnd.randbytes(3_000_000)
    small = b"tiny"
    c.put_object(Bucket="tiered", Key="movie.mp4", Body=big)
    c.put_object(Bucket="tiered", Key="note.txt", Body=small)
    before = srv.admin("object", "tiered", "movie.mp4")
    assert [s["tier"] for s in before["segments"]] == ["hot"]
    hot_files = shard_files(hot)
    assert hot_files

    moved = srv.admin("move-tier", "tiered", "movie.mp4", "warm")
    (segment,) = moved["segments"]
    assert segment["tier"] == "warm" and segment["scheme"] == "2+1"
    assert moved["etag"] == before["etag"]
    assert c.get_object(Bucket="tiered", Key="movie.mp4")["Body"].read() == big
    assert c.get_object(Bucket="tiered", Key="movie.mp4", Range="bytes=1000000-1000099")["Body"].read() \
        == big[1_000_000:1_000_100]
    assert sum(len(shard_files(w)) for w in warm) == 3

    deadline = time.monotonic() + 20
    while any(f.exists() for f in hot_files):
        assert time.monotonic() < deadline, "the hot copy was not freed"
        time.sleep(0.5)

    # Inline bodies live in metadata: they have no tier to leave.
    note = srv.admin("move-tier", "tiered", "note.txt", "warm")
    assert note["segments"] == [{"size": 4, "inline": True}]
    assert c.get_object(Bucket="tiered", Key="note.txt")["Body"].read() == small

    back = srv.admin("move-tier", "tiered", "movie.mp4", "hot")
    assert back["segments"][0]["tier"] == "hot"
    srv.restart()
    assert c.get_object(Bucket="tiered", Key="movie.mp4")["Body"].read() == big

    missing = srv.admin_run("move-tier", "tiered", "movie.mp4", "cold")
    assert missing.returncode != 0 and "no cold tier" in missing.stderr
    gone = srv.admin_run("move-tier", "tiered", "nothing-here", "warm")
    assert gone.returncode != 0 and "NoSuchKey" in gone.stderr
