"""Automatic tiering: the policy places new bodies, moves objects between
tiers from how they are read, holds the hot tier to its budget, and says
why any object is where it is (`stratum admin why`). Time is shortened by
config (no warm-up, decay after seconds, a sweep every second); the rules
are those of the simulator's policy (`stratum-tiering`)."""

from __future__ import annotations

import json
import random
import subprocess
import time
import urllib.request

import pytest

from conftest import free_port, stratum_bin

MB = 1_000_000


def tiered_config(root, hot_bytes=None, cold=True):
    hot, warm = root / "hot", [root / f"warm{i}" for i in range(3)]
    text = (
        "[tiers.hot]\n"
        f"disks = [\"{hot}\"]\n"
        "[tiers.warm]\n"
        f"disks = [{', '.join(json.dumps(str(w)) for w in warm)}]\n")
    if cold:
        text += f"[tiers.cold]\ndisks = [\"{root / 'cold'}\"]\n"
    text += "[tiering]\nsweep_secs = 1\n"
    if hot_bytes is not None:
        text += f"hot_bytes = {hot_bytes}\n"
    text += (
        "[tiering.policy]\n"
        "warmup_ms = 0\n"
        "decay_after_ms = 3000\n"
        "ema_fast_half_life_ms = 2000\n"
        "ema_slow_half_life_ms = 20000\n")
    config = root / "stratum.toml"
    config.write_text(text)
    return hot, config


def start_tiered(server_factory, name, bucket, cores=2, **config):
    """A node with hot, warm (and cold) tiers on `tiered_config`, and a bucket."""
    hot, path = tiered_config(server_factory.new_dir(name), **config)
    srv = server_factory.start(cores=cores, data_dir=hot, extra=["--config", str(path)])
    c = srv.client()
    c.create_bucket(Bucket=bucket)
    return srv, c


def tier_of(srv, bucket, key):
    segments = srv.admin("object", bucket, key)["segments"]
    tiers = {s.get("tier", "inline") for s in segments}
    assert len(tiers) == 1, segments
    return tiers.pop()


def wait_for_tier(srv, bucket, key, want, seconds, while_waiting=None):
    deadline = time.monotonic() + seconds
    while True:
        if while_waiting:
            while_waiting()
        tier = tier_of(srv, bucket, key)
        if tier in want:
            return tier
        assert time.monotonic() < deadline, f"{key} still in {tier}: {srv.admin('why', bucket, key)}"
        time.sleep(0.2)


@pytest.mark.timeout(240)
def test_objects_move_between_tiers_by_how_they_are_read(server_factory):
    srv, c = start_tiered(server_factory, "autotier", "media")
    rnd = random.Random(11)
    clip, backup, pinned = rnd.randbytes(2 * MB), rnd.randbytes(3 * MB), rnd.randbytes(1 * MB)
    c.put_object(Bucket="media", Key="clip.bin", Body=clip)
    c.put_object(Bucket="media", Key="nightly.tar.gz", Body=backup)
    c.put_object(Bucket="media", Key="logo.bin", Body=pinned,
                 Metadata={"stratum-tier": "hot", "stratum-pin": "true"})

    # Written where the policy places them (no move after): a generic body
    # to warm, a backup to cold, a pinned one to its tier.
    assert tier_of(srv, "media", "clip.bin") == "warm"
    assert tier_of(srv, "media", "nightly.tar.gz") == "cold"
    assert tier_of(srv, "media", "logo.bin") == "hot"
    why = srv.admin("why", "media", "nightly.tar.gz")
    assert why["automatic"] and why["tier"] == "cold"
    assert why["placed"]["rule"]["name"] == "content_default", why
    # A copy is written where its own name and type place it.
    c.copy_object(Bucket="media", Key="clip-copy.tar.gz", CopySource={"Bucket": "media", "Key": "clip.bin"})
    assert tier_of(srv, "media", "clip-copy.tar.gz") == "cold"
    assert srv.admin("stats")["tiering"]["moves_done"] == 0
    deadline = time.monotonic() + 10
    while True:  # each core publishes its planner's figures every 250 ms
        tiering = srv.admin("stats")["tiering"]
        if tiering["objects"] == 4:
            break
        assert time.monotonic() < deadline, tiering
        time.sleep(0.2)
    assert tiering["planned_bytes"] == {"hot": 1 * MB, "warm": 2 * MB, "cold": 5 * MB}, tiering
    assert tiering["queued_moves"] == 0

    # A burst of reads promotes it; every read meanwhile returns its bytes.
    def read_clip():
        assert c.get_object(Bucket="media", Key="clip.bin")["Body"].read() == clip
    wait_for_tier(srv, "media", "clip.bin", {"hot"}, 20, while_waiting=read_clip)
    why = srv.admin("why", "media", "clip.bin")
    assert why["tier"] == "hot" and why["planned"] == "hot"
    assert why["placed"]["rule"]["name"] in ("spike", "frequency", "spare"), why
    assert why["placed"]["from"] == "warm"
    assert why["decision"]["reason"]["inputs"]["reads"] >= 1
    assert "hot" in why["summary"]

    # Unread, it decays (the sweep acts without a read); the pin holds.
    wait_for_tier(srv, "media", "clip.bin", {"warm", "cold"}, 30)
    why = srv.admin("why", "media", "clip.bin")
    assert why["placed"]["rule"]["name"] == "decay", why
    assert c.get_object(Bucket="media", Key="clip.bin")["Body"].read() == clip
    assert tier_of(srv, "media", "logo.bin") == "hot"
    assert srv.admin("why", "media", "logo.bin")["decision"]["reason"]["rule"]["name"] == "pinned"
    stats = srv.admin("stats")["tiering"]
    assert stats["moves_done"] >= 2 and stats["moves_failed"] == 0, stats
    metrics = urllib.request.urlopen(f"{srv.endpoint}/metrics", timeout=10).read().decode()
    moves = [line for line in metrics.splitlines() if line.startswith("stratum_tier_moves_total ")]
    assert moves and int(moves[0].split()[1]) >= 2, moves

    time.sleep(1)  # the last GET's note reaches the planner within 200 ms
    reads_before = srv.admin("why", "media", "clip.bin")["decision"]["reason"]["inputs"]["reads"]

    # After a restart the planner finds every stored object again, with
    # the statistics it kept (a restart does not forget reads).
    srv.restart()
    deadline = time.monotonic() + 10
    while srv.admin("why", "media", "nightly.tar.gz")["planned"] is None:
        assert time.monotonic() < deadline, "the planner did not find the stored objects"
        time.sleep(0.2)
    why = srv.admin("why", "media", "clip.bin")
    assert why["decision"]["reason"]["inputs"]["reads"] == reads_before >= 1, why
    for key, body in (("clip.bin", clip), ("nightly.tar.gz", backup), ("logo.bin", pinned)):
        assert c.get_object(Bucket="media", Key=key)["Body"].read() == body
    c.delete_object(Bucket="media", Key="clip.bin")
    assert srv.admin_run("why", "media", "clip.bin").returncode != 0


@pytest.mark.timeout(240)
def test_the_hot_tier_holds_no_more_than_its_budget(server_factory):
    # One core: its planner has the whole budget, room for one object.
    srv, c = start_tiered(server_factory, "budget", "bud", cores=1, hot_bytes=3 * MB, cold=False)
    bodies = {k: random.Random(k).randbytes(2 * MB) for k in ("a.bin", "b.bin")}
    for key, body in bodies.items():
        c.put_object(Bucket="bud", Key=key, Body=body)

    def reads(key):
        return lambda: c.get_object(Bucket="bud", Key=key)["Body"].read() == bodies[key] or pytest.fail(key)

    wait_for_tier(srv, "bud", "a.bin", {"hot"}, 20, while_waiting=reads("a.bin"))
    # b's burst makes it the hotter one: it takes a's place, a goes down.
    wait_for_tier(srv, "bud", "b.bin", {"hot"}, 20, while_waiting=reads("b.bin"))
    wait_for_tier(srv, "bud", "a.bin", {"warm"}, 20)
    hot_keys = [k for k in bodies if tier_of(srv, "bud", k) == "hot"]
    assert hot_keys == ["b.bin"], "the budget holds one 2 MB object"
    why = srv.admin("why", "bud", "a.bin")
    # Displaced by the budget (or, if the burst had ended, decayed).
    assert why["placed"]["rule"]["name"] in ("budget", "decay"), why
    if why["placed"]["rule"]["name"] == "budget":
        assert why["placed"]["rule"]["tier"] == "hot"
        assert why["placed"]["rule"]["capacity_bytes"] == 3 * MB
    # No cold tier on this node: cold decisions land in warm.
    assert {t["tier"] for t in srv.admin("disks")["tiers"]} == {"hot", "warm"}
    for key, body in bodies.items():
        assert c.get_object(Bucket="bud", Key=key)["Body"].read() == body


@pytest.mark.timeout(120)
def test_parts_are_written_where_the_upload_places_the_object(server_factory):
    srv, c = start_tiered(server_factory, "parts", "uploads")
    parts = [random.Random(i).randbytes(size) for i, size in enumerate((5 * 1024 * 1024, 1 * MB))]
    upload = c.create_multipart_upload(Bucket="uploads", Key="film.bin", ContentType="application/octet-stream",
                                       Metadata={"stratum-tier": "cold"})["UploadId"]
    etags = [c.upload_part(Bucket="uploads", Key="film.bin", UploadId=upload, PartNumber=n + 1,
                           Body=body)["ETag"] for n, body in enumerate(parts)]
    c.complete_multipart_upload(Bucket="uploads", Key="film.bin", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]})
    assert tier_of(srv, "uploads", "film.bin") == "cold"
    assert srv.admin("why", "uploads", "film.bin")["placed"]["rule"]["name"] == "hint"
    assert srv.admin("stats")["tiering"]["moves_done"] == 0
    assert c.get_object(Bucket="uploads", Key="film.bin")["Body"].read() == b"".join(parts)


def test_the_storage_class_places_the_body_unless_a_tier_hint_says_otherwise(server_factory):
    srv, c = start_tiered(server_factory, "classes", "classes")
    body = random.Random(5).randbytes(200_000)
    for key, class_, meta in (("ia.bin", "STANDARD_IA", {}), ("ir.bin", "GLACIER_IR", {}),
                              ("deep.bin", "DEEP_ARCHIVE", {}), ("hinted.bin", "STANDARD_IA", {"stratum-tier": "hot"})):
        c.put_object(Bucket="classes", Key=key, Body=body, ContentType="video/mp4", StorageClass=class_, Metadata=meta)
    # video/mp4 alone would go hot: the class (or the hint) decides.
    assert tier_of(srv, "classes", "ia.bin") == "warm"
    assert tier_of(srv, "classes", "ir.bin") == "cold"
    assert tier_of(srv, "classes", "deep.bin") == "cold"
    assert tier_of(srv, "classes", "hinted.bin") == "hot"
    rules = {key: srv.admin("why", "classes", key)["placed"]["rule"]["name"]
             for key in ("ia.bin", "ir.bin", "deep.bin", "hinted.bin")}
    assert rules == {"ia.bin": "hint", "ir.bin": "hint", "deep.bin": "pinned", "hinted.bin": "hint"}
    # A copy onto itself into another class moves the body there.
    c.copy_object(Bucket="classes", Key="ia.bin", CopySource={"Bucket": "classes", "Key": "ia.bin"},
                  StorageClass="GLACIER_IR")
    assert tier_of(srv, "classes", "ia.bin") == "cold"
    assert c.get_object(Bucket="classes", Key="ia.bin")["Body"].read() == body


def test_a_node_with_one_tier_says_tiering_is_off(server):
    c = server.client()
    bucket = f"one-{random.randrange(1 << 30)}"
    c.create_bucket(Bucket=bucket)
    c.put_object(Bucket=bucket, Key="big", Body=b"x" * (200 * 1024))
    c.put_object(Bucket=bucket, Key="small", Body=b"tiny")
    why = server.admin("why", bucket, "big")
    assert why["tier"] == "hot" and not why["automatic"] and "off" in why["summary"], why
    assert server.admin("stats")["tiering"] is None
    small = server.admin("why", bucket, "small")
    assert small["tier"] is None and "inline" in small["summary"]
    missing = server.admin_run("why", bucket, "nothing")
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr


def test_a_bad_tiering_config_is_refused_at_start(tmp_path):
    config = tmp_path / "stratum.toml"
    port = free_port()
    for text, words in (
        ("[tiering]\nfill_percent = 0\n", "fill_percent"),
        ("[tiering]\nmove_mib_per_sec = 0\n", "move_mib_per_sec"),
        ("[tiering]\nsweep_secs = 0\n", "sweep_secs"),
        ("[tiering.policy]\nspike_ratio = 1e9\nbogus = 1\n", "bogus"),
        ("[tiering.policy]\nema_fast_half_life_ms = 0\n", "half_life"),
    ):
        config.write_text(text)
        r = subprocess.run([stratum_bin(), "serve", "--listen", f"127.0.0.1:{port}", "--data",
                            str(tmp_path / "d"), "--config", str(config)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0 and words in r.stderr, (text, r.stderr)
