"""The server process: thread-per-core routing, keep-alive across cores,
restart persistence, crash safety, start-up clean-up, configuration, logs."""

import json
import os
import random
import signal
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from conftest import free_port
from s3util import (
    KiB,
    MiB,
    core_header,
    dirs_named,
    encode_path,
    error_code,
    make_client,
    md5_hex,
    multipart_etag,
    open_conn,
    raw_request,
    send,
    sha256_hex,
    sign_headers,
)


# -------------------------------------------------------------------------
# cores


def test_keepalive_across_cores(endpoint, bucket):
    conn = open_conn(endpoint)
    accepts, owners, socks = set(), {}, set()
    bodies = {}
    try:
        for i in range(25):
            key = f"ka-{i}-{random.random()}"
            body = os.urandom(100 + i)
            bodies[key] = body
            path = encode_path(bucket, key)
            r = send(conn, "PUT", path, sign_headers(endpoint, "PUT", path, payload_hash=sha256_hex(body)), body)
            assert r.status == 200, r.body
            a, o = core_header(r.headers)
            accepts.add(a)
            owners[key] = o
            socks.add(r.local_addr)
            assert (r.header("Connection") or "").lower() != "close"
        for key, body in bodies.items():
            path = encode_path(bucket, key)
            r = send(conn, "GET", path, sign_headers(endpoint, "GET", path))
            assert r.status == 200
            assert r.body == body, key
            a, o = core_header(r.headers)
            accepts.add(a)
            socks.add(r.local_addr)
            assert o == owners[key], f"{key}: PUT owned by core {owners[key]}, GET by core {o}"
    finally:
        conn.close()
    assert len(socks) == 1, f"the client had to reconnect: {socks}"
    assert len(accepts) == 1, f"one connection, but accept cores {accepts}"
    assert set(owners.values()) == {0, 1}, f"50 requests on 25 keys were all owned by {set(owners.values())}"


def test_every_core_accepts(endpoint):
    accepts, owners = [], set()
    for _ in range(64):
        r = raw_request(endpoint, "GET", "/")
        assert r.status == 200
        a, o = core_header(r.headers)
        accepts.append(a)
        owners.add(o)
    assert set(accepts) == {0, 1}, f"accepting cores over 64 connections: {sorted(set(accepts))}"
    assert owners <= {0, 1}


def test_core_header_on_errors_and_bucket_calls(endpoint, bucket):
    for method, path in [("GET", encode_path(bucket, "missing")), ("HEAD", encode_path(bucket)),
                         ("GET", encode_path(bucket + "-nope"))]:
        r = raw_request(endpoint, method, path)
        a, o = core_header(r.headers)
        assert a in (0, 1) and o in (0, 1)


def test_concurrent_clients(server, bucket):
    c = server.client(max_pool_connections=16)
    errors = []

    def worker(t):
        rnd = random.Random(t)
        for i in range(15):
            key = f"conc/{t}/{i}"
            data = rnd.randbytes(rnd.choice([10, 5000, 70 * KiB, 300 * KiB]))
            c.put_object(Bucket=bucket, Key=key, Body=data)
            got = c.get_object(Bucket=bucket, Key=key)["Body"].read()
            if got != data:
                errors.append(key)
        return t

    with ThreadPoolExecutor(8) as ex:
        list(ex.map(worker, range(8)))
    assert errors == []
    keys = [o["Key"] for p in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="conc/")
            for o in p.get("Contents", [])]
    assert len(keys) == 120


def test_small_gets_on_keepalive_are_not_delayed(endpoint, bucket, s3):
    """Nagle + delayed ACK stalls every kept-alive small GET by ~40 ms unless
    the server sets TCP_NODELAY (or writes head and body at once)."""
    s3.put_object(Bucket=bucket, Key="tiny", Body=b"x" * 4096)
    path = encode_path(bucket, "tiny")
    conn = open_conn(endpoint)
    times = []
    try:
        for _ in range(30):
            hdrs = sign_headers(endpoint, "GET", path)
            t0 = time.perf_counter()
            r = send(conn, "GET", path, hdrs)
            times.append(time.perf_counter() - t0)
            assert r.status == 200 and len(r.body) == 4096
    finally:
        conn.close()
    med = statistics.median(times[1:])
    assert med < 0.02, f"median kept-alive 4 KiB GET took {med * 1000:.1f} ms"


def test_truncated_upload_is_not_visible(endpoint, bucket, s3):
    path = encode_path(bucket, "truncated")
    data = os.urandom(200 * KiB)
    hdrs = sign_headers(endpoint, "PUT", path, "", {"Content-Length": str(len(data))},
                        payload_hash="UNSIGNED-PAYLOAD")
    host, port = endpoint.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        s.sendall(head.encode() + data[: len(data) // 2])
        time.sleep(0.3)
    time.sleep(0.5)
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="truncated")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_default_credentials_warning_logged(server):
    assert "warn" in server.log_text().lower(), "no warning logged about the default credentials"


# -------------------------------------------------------------------------
# persistence, shutdown, crashes


def _fill(client, bucket, n_plain=19):
    """Puts n_plain objects of assorted sizes and one multipart object.
    Returns {key: (bytes, etag, content_type, metadata)}."""
    client.create_bucket(Bucket=bucket)
    rnd = random.Random(42)
    sizes = [0, 1, 100, 4 * KiB, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 200 * KiB, MiB, MiB + 1, 3 * MiB + 7]
    objs = {}
    for i in range(n_plain):
        key = f"persist/{i:02d}-{'ü' if i % 3 == 0 else 'a'} b"
        data = rnd.randbytes(sizes[i % len(sizes)])
        ct = f"application/x-test-{i}"
        meta = {"index": str(i)}
        r = client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=ct, Metadata=meta)
        objs[key] = (data, r["ETag"], ct, meta)
    parts = [rnd.randbytes(5 * MiB), rnd.randbytes(MiB + 3)]
    key = "persist/multipart"
    up = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType="video/mp4")["UploadId"]
    done = []
    for i, p in enumerate(parts, 1):
        e = client.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=i, Body=p)["ETag"]
        done.append({"PartNumber": i, "ETag": e})
    r = client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": done})
    assert r["ETag"] == multipart_etag(parts)
    objs[key] = (b"".join(parts), r["ETag"], "video/mp4", {})
    return objs


def _verify(client, bucket, objs):
    listed = {o["Key"]: o for p in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
              for o in p.get("Contents", [])}
    assert set(listed) == set(objs)
    for key, (data, etag, ct, meta) in objs.items():
        g = client.get_object(Bucket=bucket, Key=key)
        assert g["Body"].read() == data, key
        assert g["ETag"] == etag, key
        assert g["ContentType"] == ct, key
        assert g["Metadata"] == meta, key
        assert listed[key]["Size"] == len(data)


@pytest.mark.timeout(180)
def test_restart_persistence(server_factory):
    srv = server_factory.start(cores=2)
    c = srv.client()
    objs = _fill(c, "persist-bucket")
    assert len(objs) == 20
    rc = srv.stop(signal.SIGTERM)
    assert rc == 0, f"SIGTERM exit code {rc}\n{srv.log_tail()}"
    srv.start()
    c = srv.client()
    assert "persist-bucket" in [b["Name"] for b in c.list_buckets()["Buckets"]]
    _verify(c, "persist-bucket", objs)
    # and once more, with SIGINT
    rc = srv.stop(signal.SIGINT)
    assert rc == 0, f"SIGINT exit code {rc}\n{srv.log_tail()}"
    srv.start()
    _verify(srv.client(), "persist-bucket", objs)


@pytest.mark.timeout(180)
def test_sigkill_keeps_acknowledged_puts(server_factory):
    srv = server_factory.start(cores=2)
    c = srv.client(max_pool_connections=8)
    c.create_bucket(Bucket="crash")
    acked, attempted = {}, {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(t):
        rnd = random.Random(t)
        i = 0
        while not stop.is_set():
            key = f"w{t}/{i}"
            data = rnd.randbytes(rnd.choice([100, 30 * KiB, 100 * KiB, 700 * KiB]))
            with lock:
                attempted[key] = data
            try:
                c.put_object(Bucket="crash", Key=key, Body=data)
            except Exception:
                return
            with lock:
                acked[key] = data
            i += 1

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 30
    while len(acked) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(10)
    stop.set()
    for th in threads:
        th.join(30)
    with lock:
        acked_now = dict(acked)
        attempted_now = dict(attempted)
    assert len(acked_now) >= 60, f"only {len(acked_now)} PUTs acknowledged before the kill"

    srv.start()
    c = srv.client()
    listed = {o["Key"] for p in c.get_paginator("list_objects_v2").paginate(Bucket="crash")
              for o in p.get("Contents", [])}
    missing = [k for k in acked_now if k not in listed]
    assert not missing, f"{len(missing)} acknowledged objects lost after kill -9: {missing[:5]}"
    for key, data in acked_now.items():
        assert c.get_object(Bucket="crash", Key=key)["Body"].read() == data, key
    # writes in flight at the kill are all-or-nothing
    for key in listed - set(acked_now):
        assert key in attempted_now, f"unknown key {key} after restart"
        assert c.get_object(Bucket="crash", Key=key)["Body"].read() == attempted_now[key], key


@pytest.mark.timeout(180)
def test_startup_removes_temp_files(server_factory):
    srv = server_factory.start(cores=2)
    c = srv.client()
    c.create_bucket(Bucket="tmpclean")
    c.put_object(Bucket="tmpclean", Key="big", Body=os.urandom(2 * MiB))
    c.put_object(Bucket="tmpclean", Key="small", Body=b"small")
    assert srv.stop() == 0
    tmps = dirs_named(srv.data_dir, "tmp")
    assert tmps, f"no directory named tmp under {srv.data_dir}: " + str(
        sorted(os.path.relpath(os.path.join(d, n), srv.data_dir)
               for d, ds, _ in os.walk(srv.data_dir) for n in ds)[:30])
    planted = []
    for t in tmps:
        for name in ("interrupted-write.part", "00000042.tmp"):
            p = os.path.join(t, name)
            with open(p, "wb") as f:
                f.write(os.urandom(300 * KiB))
            planted.append(p)
    srv.start()
    # removal may happen before or right after the port opens
    deadline = time.monotonic() + 10
    while any(os.path.exists(p) for p in planted) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in planted if os.path.exists(p)]
    assert not left, f"temp files survived start-up: {left}"
    c = srv.client()
    assert c.get_object(Bucket="tmpclean", Key="small")["Body"].read() == b"small"
    assert len(c.get_object(Bucket="tmpclean", Key="big")["Body"].read()) == 2 * MiB


@pytest.mark.timeout(180)
def test_sigterm_finishes_inflight_request(server_factory):
    srv = server_factory.start(cores=2)
    c = srv.client()
    c.create_bucket(Bucket="inflight")
    data = os.urandom(6 * MiB)
    path = encode_path("inflight", "slow-upload")
    hdrs = sign_headers(srv.endpoint, "PUT", path, "", {"Content-Length": str(len(data))},
                        payload_hash=sha256_hex(data))
    conn = open_conn(srv.endpoint, timeout=60)
    try:
        conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(data[:MiB])
        time.sleep(0.5)
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        assert srv.alive(), "the server exited with a request in flight"
        for i in range(MiB, len(data), MiB):
            conn.send(data[i:i + MiB])
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body
        assert resp.getheader("ETag") == f'"{md5_hex(data)}"'
    finally:
        conn.close()
    try:
        rc = srv.proc.wait(30)
    except Exception:
        pytest.fail("server did not exit within 30 s of SIGTERM after its last request")
    assert rc == 0
    srv.start()
    assert srv.client().get_object(Bucket="inflight", Key="slow-upload")["Body"].read() == data


# -------------------------------------------------------------------------
# configuration


def test_non_loopback_without_credentials_refuses(server_factory):
    port = free_port()
    data = server_factory.new_dir()
    srv = server_factory.create(args=["serve", "--listen", f"0.0.0.0:{port}", "--data", str(data),
                                      "--cores", "1"], port=port)
    srv.spawn()
    try:
        rc = srv.proc.wait(15)
    except Exception:
        srv.kill()
        pytest.fail("stratum kept running on 0.0.0.0 without credentials")
    assert rc != 0
    msg = srv.log_text().lower()
    assert any(w in msg for w in ("credential", "access-key", "access key", "secret")), srv.log_tail()


def test_non_loopback_with_credentials_starts(server_factory):
    port = free_port()
    data = server_factory.new_dir()
    srv = server_factory.create(args=["serve", "--listen", f"0.0.0.0:{port}", "--data", str(data), "--cores",
                                      "1", "--access-key", "opkey", "--secret-key", "opsecret-123"],
                                port=port, access_key="opkey", secret_key="opsecret-123")
    srv.start()
    c = srv.client()
    c.create_bucket(Bucket="nonloop")
    assert [b["Name"] for b in c.list_buckets()["Buckets"]] == ["nonloop"]
    assert srv.stop() == 0


def _creds_work_and_defaults_fail(srv, ak, sk):
    c = make_client(srv.endpoint, ak, sk)
    c.create_bucket(Bucket="cfg-bucket")
    c.put_object(Bucket="cfg-bucket", Key="k", Body=b"v")
    assert c.get_object(Bucket="cfg-bucket", Key="k")["Body"].read() == b"v"
    with pytest.raises(ClientError) as ei:
        make_client(srv.endpoint).list_buckets()
    assert error_code(ei.value) == "InvalidAccessKeyId"


def _single_core(srv, ak, sk):
    seen = set()
    for i in range(16):
        r = raw_request(srv.endpoint, "GET", encode_path("cfg-bucket", f"key-{i}"), access_key=ak, secret_key=sk)
        seen.add(core_header(r.headers))
    assert seen == {(0, 0)}, f"--cores 1 but x-stratum-core values {seen}"


def test_custom_credentials_flags(server_factory):
    srv = server_factory.start(cores=2, access_key="flagkey", secret_key="flagsecret-0123")
    _creds_work_and_defaults_fail(srv, "flagkey", "flagsecret-0123")
    c = make_client(srv.endpoint, "flagkey", "wrong")
    with pytest.raises(ClientError) as ei:
        c.list_buckets()
    assert error_code(ei.value) == "SignatureDoesNotMatch"


def test_env_vars(server_factory):
    port = free_port()
    data = server_factory.new_dir()
    env = {
        "STRATUM_LISTEN": f"127.0.0.1:{port}",
        "STRATUM_DATA": str(data),
        "STRATUM_CORES": "1",
        "STRATUM_ACCESS_KEY": "envkey",
        "STRATUM_SECRET_KEY": "envsecret-0123",
    }
    srv = server_factory.create(args=["serve"], port=port, env=env, data_dir=data,
                                access_key="envkey", secret_key="envsecret-0123")
    srv.start()
    _creds_work_and_defaults_fail(srv, "envkey", "envsecret-0123")
    _single_core(srv, "envkey", "envsecret-0123")
    assert srv.stop() == 0
    assert any(files for _, _, files in os.walk(data)), f"nothing written under STRATUM_DATA={data}"


def _write_config(path, port, data, cores=1, ak="cfgkey", sk="cfgsecret-0123", log_format="human"):
    path.write_text(
        f'listen = "127.0.0.1:{port}"\n'
        f'data = "{data}"\n'
        f"cores = {cores}\n"
        f'access_key = "{ak}"\n'
        f'secret_key = "{sk}"\n'
        f'log_format = "{log_format}"\n'
    )


def test_config_file(server_factory, tmp_path):
    port = free_port()
    data = server_factory.new_dir()
    cfg = tmp_path / "stratum.toml"
    _write_config(cfg, port, data, log_format="json")
    srv = server_factory.create(args=["serve", "--config", str(cfg)], port=port, data_dir=data,
                                access_key="cfgkey", secret_key="cfgsecret-0123")
    srv.start()
    _creds_work_and_defaults_fail(srv, "cfgkey", "cfgsecret-0123")
    _single_core(srv, "cfgkey", "cfgsecret-0123")
    assert srv.stop() == 0
    assert any(files for _, _, files in os.walk(data)), f"nothing written under data={data}"
    _assert_json_lines(srv)


def test_flags_override_config(server_factory, tmp_path):
    port = free_port()
    data = server_factory.new_dir()
    cfg = tmp_path / "stratum.toml"
    _write_config(cfg, 1, data, cores=1)  # port 1 in the file: the flag must win
    srv = server_factory.create(
        args=["serve", "--config", str(cfg), "--listen", f"127.0.0.1:{port}", "--access-key", "flagwins",
              "--secret-key", "flagwins-secret"], port=port, data_dir=data,
        access_key="flagwins", secret_key="flagwins-secret")
    srv.start()
    c = make_client(srv.endpoint, "flagwins", "flagwins-secret")
    c.create_bucket(Bucket="override")
    with pytest.raises(ClientError) as ei:
        make_client(srv.endpoint, "cfgkey", "cfgsecret-0123").list_buckets()
    assert error_code(ei.value) == "InvalidAccessKeyId"


def _assert_json_lines(srv):
    text = srv.log_text()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("===== start")]
    assert lines, "no log output at all"
    for ln in lines:
        try:
            obj = json.loads(ln)
        except ValueError:
            pytest.fail(f"log line is not JSON: {ln[:200]!r}")
        assert isinstance(obj, dict), ln[:200]


def test_log_format_json(server_factory):
    srv = server_factory.start(cores=2, extra=["--log-format", "json"])
    c = srv.client()
    c.create_bucket(Bucket="logs")
    c.put_object(Bucket="logs", Key="k", Body=b"x")
    with pytest.raises(ClientError):
        c.get_object(Bucket="logs", Key="missing")
    assert srv.stop() == 0
    _assert_json_lines(srv)
