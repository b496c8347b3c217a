"""A disk that turns read-only is marked faulty: writes go on to the other
disk, reads keep working, and once it is writable again a probe brings it
back. Uses a tmpfs the test mounts and remounts (skipped without root)."""

from __future__ import annotations

import json
import random
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from conftest import stratum_bin


def admin(srv, command):
    out = subprocess.run([stratum_bin(), "admin", command, "--endpoint", srv.endpoint,
                          "--access-key", srv.access_key, "--secret-key", srv.secret_key],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


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
    states = {d["path"]: d["state"] for d in admin(srv, "disks")["disks"]}
    assert states[str(flaky_fs / "d1")].startswith("faulty"), states
    assert c.get_object(Bucket="faults", Key="before")["Body"].read() == before
    assert c.get_object(Bucket="faults", Key="after")["Body"].read() == after

    remount(flaky_fs, "rw")
    deadline = time.monotonic() + 30
    while admin(srv, "disks")["disks"][1]["state"] != "ok":
        assert time.monotonic() < deadline, "the disk never came back after it was writable again"
        time.sleep(1)
    c.put_object(Bucket="faults", Key="later", Body=before)
    assert c.get_object(Bucket="faults", Key="later")["Body"].read() == before
