"""The README's quick start as a user runs it: `stratum serve` with no
flags but the port, in a fresh directory, so data goes to the relative
default ./data; bodies big enough for shard files must work there."""

from __future__ import annotations

import random

import pytest

from conftest import free_port


@pytest.mark.timeout(120)
def test_default_relative_data_dir_serves_shard_sized_bodies(server_factory):
    home = server_factory.new_dir("home")
    port = free_port()
    srv = server_factory.start(args=["serve", "--listen", f"127.0.0.1:{port}", "--cores", "2"],
                               port=port, data_dir=home / "data")
    c = srv.client()
    c.create_bucket(Bucket="quick")
    rnd = random.Random(8)
    bodies = {f"k{n}": rnd.randbytes(n) for n in (10, 100_000, 3_000_000)}
    for key, body in bodies.items():
        c.put_object(Bucket="quick", Key=key, Body=body)
    assert (home / "data" / "stratum.format").exists(), "data did not go to ./data"
    assert list((home / "data").glob("core-*/vol/*/*")), "no shard files under ./data"
    srv.restart()
    for key, body in bodies.items():
        assert c.get_object(Bucket="quick", Key=key)["Body"].read() == body, key
