"""A disk that turns read-only is marked faulty: writes go on to the other
disk, reads keep working, and once it is writable again a probe brings it
back. Uses a tmpfs the test mounts and remounts (skipped without root)."""

from __future__ import annotations

import random
import shutil
import subprocess
import time

import pytest
from botocore.exceptions import ClientError
from conftest import free_port


@pytest.fixture
def flaky_fs(tmp_path):
    mnt = tmp_path / "flaky"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def remount(mnt, mode):
    subprocess.run(["mount", "-o", f"remount,{mode}", str(mnt)], check=True, capture_output=True)


@pytest.mark.timeout(120)
def test_read_only_disk_is_faulty_then_healthy_again(server_factory, flaky_fs):
    root = server_factory.new_dir("faults")
    srv = server_factory.start(cores=2, data_dir=root / "d0", extra=["--data", str(flaky_fs / "d1")])
    c = srv.client()
    c.create_bucket(Bucket="faults")
    rnd = random.Random(6)
    before = rnd.randbytes(500_000)
    c.put_object(Bucket="faults", Key="before", Body=before)

    remount(flaky_fs, "ro")
    after = rnd.randbytes(500_000)
    stored = False
    for _ in range(3):  # the write that meets the read-only disk may fail; the next avoids it
        try:
            c.put_object(Bucket="faults", Key="after", Body=after)
            stored = True
            break
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503), e.response["Error"]
    assert stored, "writes did not go on with one healthy disk of two"
    states = {d["path"]: d["state"] for d in srv.admin("disks")["disks"]}
    assert states[str(flaky_fs / "d1")].startswith("faulty"), states
    assert c.get_object(Bucket="faults", Key="before")["Body"].read() == before
    assert c.get_object(Bucket="faults", Key="after")["Body"].read() == after

    remount(flaky_fs, "rw")
    deadline = time.monotonic() + 30
    while srv.admin("disks")["disks"][1]["state"] != "ok":
        assert time.monotonic() < deadline, "the disk never came back after it was writable again"
        time.sleep(1)
    c.put_object(Bucket="faults", Key="later", Body=before)
    assert c.get_object(Bucket="faults", Key="later")["Body"].read() == before


def disk_states(srv):
    return {d["path"]: (d["id"], d["state"]) for d in srv.admin("disks")["disks"]}


@pytest.mark.timeout(180)
def test_replaced_disk_is_refilled_by_the_healer(server_factory):
    root = server_factory.new_dir("replace")
    d0, d1, d2 = root / "d0", root / "d1", root / "d2"
    srv = server_factory.start(cores=2, data_dir=d0, extra=["--data", str(d1), "--data", str(d2)])
    c = srv.client()
    c.create_bucket(Bucket="rep")
    rnd = random.Random(11)
    bodies = {f"obj-{i}": rnd.randbytes(rnd.choice([100, 70_000, 300_000, 1_100_000])) for i in range(40)}
    for key, body in bodies.items():
        c.put_object(Bucket="rep", Key=key, Body=body)

    ok = srv.admin_run("replace-disk", str(disk_states(srv)[str(d2)][0]))
    assert ok.returncode != 0 and "still carries its id" in ok.stderr, ok.stderr

    # The disk is swapped for a blank one while the server is down.
    srv.stop()
    shutil.rmtree(d2)
    d2.mkdir()
    (d2 / "notes.txt").write_text("someone else's data")
    srv.start()
    disk_id, state = disk_states(srv)[str(d2)]
    assert state.startswith("faulty"), state
    for key, body in bodies.items():
        assert c.get_object(Bucket="rep", Key=key)["Body"].read() == body, key

    refused = srv.admin_run("replace-disk", str(disk_id))
    assert refused.returncode != 0 and "not empty" in refused.stderr, refused.stderr
    assert (d2 / "notes.txt").read_text() == "someone else's data"
    (d2 / "notes.txt").unlink()
    unknown = srv.admin_run("replace-disk", "999")
    assert unknown.returncode != 0 and "no disk has id 999" in unknown.stderr, unknown.stderr

    srv.admin("replace-disk", str(disk_id))
    deadline = time.monotonic() + 60
    while disk_states(srv)[str(d2)][1] != "ok":
        assert time.monotonic() < deadline, f"disk never finished refilling: {disk_states(srv)}"
        time.sleep(0.5)
    assert srv.admin("stats")["scrub"]["shards_repaired"] > 0

    # Proof the refill is whole: lose another disk; every object must still
    # read from the refilled one and the third.
    srv.stop()
    shutil.rmtree(d1)
    d1.mkdir()
    srv.start()
    for key, body in bodies.items():
        assert c.get_object(Bucket="rep", Key=key)["Body"].read() == body, key


def shard_files(*disks):
    return sorted(str(p) for d in disks for p in d.glob("core-*/vol/*/*") if p.is_file())


@pytest.mark.timeout(120)
def test_metadata_disk_order_and_absence_never_cost_a_shard(server_factory):
    root = server_factory.new_dir("order")
    d0, d1 = root / "d0", root / "d1"
    port = free_port()

    def server(*disks):
        args = ["serve", "--listen", f"127.0.0.1:{port}", "--cores", "2"]
        for d in disks:
            args += ["--data", str(d)]
        return server_factory.create(cores=2, data_dir=disks[0], port=port, args=args)

    srv = server(d0, d1).start()
    c = srv.client()
    c.create_bucket(Bucket="order")
    rnd = random.Random(5)
    bodies = {f"obj-{i}": rnd.randbytes(rnd.choice([200, 300_000, 2_100_000])) for i in range(12)}
    for key, body in bodies.items():
        c.put_object(Bucket="order", Key=key, Body=body)
    srv.stop()
    shards = shard_files(d0, d1)
    assert shards, "large bodies are stored as shard files"

    # The disks listed the other way round: the same node, every object.
    srv = server(d1, d0).start()
    for key, body in bodies.items():
        assert srv.client().get_object(Bucket="order", Key=key)["Body"].read() == body, key
    srv.stop()
    assert shard_files(d0, d1) == shards

    # The metadata disk not mounted (an empty mount point), or left out:
    # the server refuses to start rather than sweep the other disk's shards
    # as orphans of an empty node.
    hidden = root / "d0-unmounted"
    d0.rename(hidden)
    d0.mkdir()
    for disks in [(d0, d1), (d1,)]:
        srv = server(*disks)
        srv.spawn()
        assert srv.proc.wait(timeout=30) != 0
        assert "holds shard files" in srv.log_text(), srv.log_tail()
        assert shard_files(d1) == [s for s in shards if s.startswith(str(d1))]

    # Mounted again: everything is there.
    d0.rmdir()
    hidden.rename(d0)
    srv = server(d0, d1).start()
    for key, body in bodies.items():
        assert srv.client().get_object(Bucket="order", Key=key)["Body"].read() == body, key


@pytest.mark.timeout(120)
def test_disk_vanishing_under_a_running_node_costs_no_request(server_factory):
    root = server_factory.new_dir("vanish")
    d0, d1, d2 = root / "d0", root / "d1", root / "d2"
    srv = server_factory.start(cores=2, data_dir=d0, extra=["--data", str(d1), "--data", str(d2)])
    c = srv.client()  # no retries: every request must succeed the first time
    c.create_bucket(Bucket="vanish")
    rnd = random.Random(3)
    before = {f"old-{i}": rnd.randbytes(1_500_000) for i in range(6)}
    for key, body in before.items():
        c.put_object(Bucket="vanish", Key=key, Body=body)

    # The disk's tree disappears while the node runs (a pulled drive, an
    # unmount under it): reads rebuild around it, and writes that meet it
    # go to the disks left instead of failing.
    for slice_dir in d2.glob("core-*"):
        shutil.rmtree(slice_dir)
    after = {f"new-{i}": rnd.randbytes(1_500_000) for i in range(8)}
    for key, body in after.items():
        c.put_object(Bucket="vanish", Key=key, Body=body)
    for key, body in {**before, **after}.items():
        assert c.get_object(Bucket="vanish", Key=key)["Body"].read() == body, key
    assert disk_states(srv)[str(d2)][1].startswith("faulty")
    assert "volume placed again" in srv.log_text()
