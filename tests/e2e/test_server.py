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
            # mostly small (inline) bodies, some that stream into volumes
            body = os.urandom(100 + i if i % 5 else 300 * KiB + i * 7919)
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


def test_many_simultaneous_connections(endpoint, bucket, s3):
    s3.put_object(Bucket=bucket, Key="shared", Body=b"shared body")
    path = encode_path(bucket, "shared")
    conns = [open_conn(endpoint, timeout=30) for _ in range(150)]
    try:
        for c in conns:
            c.connect()
        def one(c):
            return send(c, "GET", path, sign_headers(endpoint, "GET", path))
        with ThreadPoolExecutor(30) as ex:
            rs = list(ex.map(one, conns))
    finally:
        for c in conns:
            c.close()
    assert all(r.status == 200 and r.body == b"shared body" for r in rs)
    assert {core_header(r.headers)[0] for r in rs} == {0, 1}


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


# -------------------------------------------------------------------------
# HTTP/1.1 framing


def _read_responses(sock, n, timeout=10):
    """Reads n HTTP responses (Content-Length framed) from a raw socket."""
    sock.settimeout(timeout)
    buf = b""
    out = []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            d = sock.recv(65536)
            if not d:
                raise AssertionError(f"connection closed after {len(out)} of {n} responses")
            buf += d
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        if status == 100:
            continue
        length = int(hdrs.get("content-length", "0"))
        while len(buf) < length:
            d = sock.recv(65536)
            if not d:
                raise AssertionError("connection closed inside a body")
            buf += d
        out.append((status, hdrs, buf[:length]))
        buf = buf[length:]
    return out


def _raw_head(endpoint, method, path, headers=None, body=b""):
    hdrs = sign_headers(endpoint, method, path, "", {**(headers or {}), "Content-Length": str(len(body))}
                        if method == "PUT" else (headers or {}), payload_hash=sha256_hex(body))
    return (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
            + "\r\n").encode() + body


@pytest.mark.parametrize("size", [10, 100 * KiB, MiB + 3])
def test_pipelined_put_then_get(endpoint, bucket, size):
    """A PUT body followed in the same write by the next request: the body
    reader must stop exactly at Content-Length."""
    data = os.urandom(size)
    keys = [f"pipe-{size}-{i}" for i in range(3)]
    wire = b"".join(_raw_head(endpoint, "PUT", encode_path(bucket, k), body=data) for k in keys)
    wire += b"".join(_raw_head(endpoint, "GET", encode_path(bucket, k)) for k in keys)
    host, port = endpoint.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(wire)
        rs = _read_responses(s, 6, timeout=30)
    for status, hdrs, body in rs[:3]:
        assert status == 200, body[:300]
        assert hdrs["etag"] == f'"{md5_hex(data)}"'
    for status, _hdrs, body in rs[3:]:
        assert status == 200
        assert body == data


def test_pipelined_gets(endpoint, bucket, s3):
    objs = {f"pg-{i}": os.urandom(50 + 1000 * i) for i in range(8)}
    for k, v in objs.items():
        s3.put_object(Bucket=bucket, Key=k, Body=v)
    wire = b"".join(_raw_head(endpoint, "GET", encode_path(bucket, k)) for k in objs)
    host, port = endpoint.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(wire)
        rs = _read_responses(s, len(objs))
    assert [body for _, _, body in rs] == list(objs.values()), "responses out of order or wrong"


# -------------------------------------------------------------------------
# more crash and restart cases


@pytest.mark.timeout(180)
def test_sigkill_right_after_each_kind_of_write(server_factory):
    """Every acknowledged mutation survives an immediate kill -9."""
    srv = server_factory.start(cores=2)
    c = srv.client()
    c.create_bucket(Bucket="kill9")
    state = {}
    for i in range(6):
        d = os.urandom([0, 10, 70 * KiB, 1 * MiB][i % 4])
        c.put_object(Bucket="kill9", Key=f"obj{i}", Body=d)
        state[f"obj{i}"] = d
    srv.kill()
    srv.start()
    c = srv.client()

    # overwrite, then kill
    new = os.urandom(200 * KiB)
    c.put_object(Bucket="kill9", Key="obj1", Body=new)
    state["obj1"] = new
    srv.kill()
    srv.start()
    c = srv.client()
    assert c.get_object(Bucket="kill9", Key="obj1")["Body"].read() == new

    # delete, then kill
    c.delete_object(Bucket="kill9", Key="obj2")
    del state["obj2"]
    srv.kill()
    srv.start()
    c = srv.client()
    with pytest.raises(ClientError):
        c.head_object(Bucket="kill9", Key="obj2")

    # complete a multipart upload, then kill
    parts = [os.urandom(5 * MiB), os.urandom(1000)]
    up = c.create_multipart_upload(Bucket="kill9", Key="mp")["UploadId"]
    done = [{"PartNumber": i, "ETag": c.upload_part(Bucket="kill9", Key="mp", UploadId=up, PartNumber=i,
                                                      Body=p)["ETag"]} for i, p in enumerate(parts, 1)]
    c.complete_multipart_upload(Bucket="kill9", Key="mp", UploadId=up, MultipartUpload={"Parts": done})
    state["mp"] = b"".join(parts)
    # an upload left in progress, then kill
    pending = c.create_multipart_upload(Bucket="kill9", Key="pending")["UploadId"]
    c.upload_part(Bucket="kill9", Key="pending", UploadId=pending, PartNumber=1, Body=os.urandom(5 * MiB))
    # create and delete buckets, then kill
    c.create_bucket(Bucket="kill9-new")
    c.create_bucket(Bucket="kill9-gone")
    c.delete_bucket(Bucket="kill9-gone")
    srv.kill()
    srv.start()
    c = srv.client()

    names = [b["Name"] for b in c.list_buckets()["Buckets"]]
    assert "kill9-new" in names and "kill9-gone" not in names
    listed = {o["Key"] for o in c.list_objects_v2(Bucket="kill9").get("Contents", [])}
    assert listed == set(state)
    for k, v in state.items():
        assert c.get_object(Bucket="kill9", Key=k)["Body"].read() == v, k
    ups = c.list_multipart_uploads(Bucket="kill9").get("Uploads", [])
    assert [(u["Key"], u["UploadId"]) for u in ups] == [("pending", pending)]
    lp = c.list_parts(Bucket="kill9", Key="pending", UploadId=pending)["Parts"]
    assert [p["PartNumber"] for p in lp] == [1]


@pytest.mark.timeout(180)
def test_reopen_with_another_core_count(server_factory):
    """The data dir outlives the machine's core count: reopening it with
    --cores 1 (and back with 2) must find every object, or refuse to start;
    never silently hide objects."""
    srv = server_factory.start(cores=2)
    c = srv.client()
    c.create_bucket(Bucket="cores")
    objs = {f"k{i}": os.urandom(i * 997) for i in range(40)}
    for k, v in objs.items():
        c.put_object(Bucket="cores", Key=k, Body=v)
    up = c.create_multipart_upload(Bucket="cores", Key="upl")["UploadId"]
    assert srv.stop() == 0

    one = server_factory.create(cores=1, data_dir=srv.data_dir)
    one.spawn()
    try:
        one.wait_ready()
    except AssertionError:
        assert one.proc.poll() not in (None, 0), "neither started nor refused"
        pytest.skip("the server refuses to reopen a data dir with another core count (acceptable)")
    c = one.client()
    listed = [o["Key"] for p in c.get_paginator("list_objects_v2").paginate(Bucket="cores")
              for o in p.get("Contents", [])]
    assert sorted(listed) == sorted(objs)
    for k, v in objs.items():
        assert c.get_object(Bucket="cores", Key=k)["Body"].read() == v, k
    assert [u["UploadId"] for u in c.list_multipart_uploads(Bucket="cores").get("Uploads", [])] == [up]
    more = {f"m{i}": os.urandom(100) for i in range(20)}
    for k, v in more.items():
        c.put_object(Bucket="cores", Key=k, Body=v)
    assert one.stop() == 0

    srv.start()
    c = srv.client()
    for k, v in {**objs, **more}.items():
        assert c.get_object(Bucket="cores", Key=k)["Body"].read() == v, k


@pytest.mark.timeout(120)
def test_sigterm_with_idle_keepalive_connection(server_factory):
    srv = server_factory.start(cores=2)
    conn = open_conn(srv.endpoint)
    try:
        r = send(conn, "GET", "/", sign_headers(srv.endpoint, "GET", "/"))
        assert r.status == 200
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        try:
            rc = srv.proc.wait(15)
        except Exception:
            pytest.fail("an idle kept-alive connection kept the server from exiting for 15 s")
        assert rc == 0
        assert time.monotonic() - t0 < 15
    finally:
        conn.close()


@pytest.mark.timeout(180)
def test_sigkill_mid_upload_leaves_no_temp_files(server_factory):
    srv = server_factory.start(cores=2)
    srv.client().create_bucket(Bucket="mid")
    path = encode_path("mid", "partial")
    size = 64 * MiB
    hdrs = sign_headers(srv.endpoint, "PUT", path, "", {"Content-Length": str(size)},
                        payload_hash="UNSIGNED-PAYLOAD")
    conn = open_conn(srv.endpoint)
    try:
        conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        chunk = os.urandom(MiB)
        for _ in range(20):
            conn.send(chunk)
        time.sleep(0.5)
        in_tmp = sum(os.path.getsize(os.path.join(d, f)) for t in dirs_named(srv.data_dir, "tmp")
                     for d, _, fs in os.walk(t) for f in fs)
        assert in_tmp > 0, "a body being written left nothing in any tmp directory"
        srv.kill()
    finally:
        conn.close()
    srv.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [os.path.join(d, f) for t in dirs_named(srv.data_dir, "tmp") for d, _, fs in os.walk(t) for f in fs]
        if not left:
            break
        time.sleep(0.1)
    assert not left, f"temp files of the interrupted PUT survived the restart: {left[:5]}"
    with pytest.raises(ClientError):
        srv.client().head_object(Bucket="mid", Key="partial")


def _volume_files(data_dir):
    out = []
    for d, _, fs in os.walk(data_dir):
        if os.sep + "vol" in d:
            out += [os.path.join(d, f) for f in fs]
    return out


def _get_checked(endpoint, path, headers=None):
    """(status, body, complete) where complete is False when the connection
    ended before Content-Length bytes arrived."""
    import http.client
    conn = open_conn(endpoint, timeout=30)
    try:
        conn.request("GET", path, headers=sign_headers(endpoint, "GET", path, "", headers or {}))
        r = conn.getresponse()
        try:
            body = r.read()
            return r.status, body, True
        except http.client.IncompleteRead as e:
            return r.status, e.partial, False
    except (ConnectionError, http.client.HTTPException):
        return None, b"", False
    finally:
        conn.close()


@pytest.mark.timeout(180)
def test_corrupted_volume_never_returns_wrong_bytes(server_factory):
    srv = server_factory.start(cores=2)
    c = srv.client()
    c.create_bucket(Bucket="rot")
    data = os.urandom(3 * MiB + 5)
    before = set(_volume_files(srv.data_dir))
    c.put_object(Bucket="rot", Key="victim", Body=data)
    assert srv.stop() == 0
    new = [f for f in _volume_files(srv.data_dir) if f not in before]
    assert new, f"no new file under a vol/ directory of {srv.data_dir}"
    victim = max(new, key=os.path.getsize)
    size = os.path.getsize(victim)
    offset = min(size - 1, 2 * MiB + 12345)
    with open(victim, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))
        f.flush()
        os.fsync(f.fileno())
    srv.start()
    path = encode_path("rot", "victim")
    for headers in (None, {"Range": f"bytes={2 * MiB}-{2 * MiB + 100000}"}, {"Range": "bytes=0-1000"}):
        status, body, complete = _get_checked(srv.endpoint, path, headers)
        if status == 200 and complete:
            assert body == data, "a corrupted volume was served as a complete 200 with wrong bytes"
        elif status == 206 and complete:
            a = int(headers["Range"].split("=")[1].split("-")[0])
            assert body == data[a:a + len(body)], f"wrong bytes for {headers}"
        else:
            # an error status or a cut connection: fine, as long as what came was right
            if status in (200, 206) and body:
                a = int(headers["Range"].split("=")[1].split("-")[0]) if headers else 0
                assert body == data[a:a + len(body)], "the bytes before the cut were wrong"
    # the server is still serving
    assert srv.client().list_buckets()["Buckets"]


# -------------------------------------------------------------------------
# consistency under concurrency


@pytest.mark.timeout(180)
@pytest.mark.parametrize("change", ["overwrite", "delete"])
def test_gets_racing_overwrites_and_deletes(server_factory, change):
    """GETs of a key that other clients keep overwriting (or deleting and
    re-creating) answer 200 with a body matching its ETag, or 404; never a
    dropped connection, a hang, or a mixed body."""
    srv = server_factory.start(cores=2)
    c = srv.client(max_pool_connections=16, read_timeout=20)
    c.create_bucket(Bucket="race")
    versions = [bytes([i]) * (200 * KiB + i) for i in range(8)]
    etags = {f'"{md5_hex(v)}"': v for v in versions}
    c.put_object(Bucket="race", Key="hot", Body=versions[0])
    stop = threading.Event()
    bad, errors, ok = [], [], [0]
    path = encode_path("race", "hot")

    def reader():
        while not stop.is_set():
            conn = open_conn(srv.endpoint, timeout=10)
            try:
                r = send(conn, "GET", path, sign_headers(srv.endpoint, "GET", path))
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                errors.append(repr(e))
                continue
            finally:
                conn.close()
            if r.status == 404 and change == "delete":
                continue
            if r.status != 200 or etags.get(r.header("ETag")) != r.body:
                bad.append((r.status, r.header("ETag"), len(r.body), r.body[:100]))
            else:
                ok[0] += 1

    def writer(i):
        for _ in range(12):
            if change == "delete" and i % 2:
                c.delete_object(Bucket="race", Key="hot")
            else:
                c.put_object(Bucket="race", Key="hot", Body=versions[i])

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(writer, range(8)))
    finally:
        stop.set()
        for t in readers:
            t.join(30)
    assert not errors, f"{len(errors)} GETs failed at the connection level (ok: {ok[0]}): {errors[:3]}"
    assert not bad, f"GETs with a wrong answer: {bad[:3]}"
    assert ok[0] > 0
    # every core still answers
    for _ in range(16):
        assert raw_request(srv.endpoint, "GET", "/", timeout=5).status == 200
    assert srv.stop() == 0


@pytest.mark.parametrize("action", ["delete", "overwrite"])
def test_get_streaming_while_object_changes(endpoint, s3, bucket, action):
    """A GET that started on a version returns that version's bytes (or is
    cut short), even when the object is deleted or replaced meanwhile."""
    import http.client
    old = os.urandom(48 * MiB)
    s3.put_object(Bucket=bucket, Key="moving", Body=old)
    path = encode_path(bucket, "moving")
    conn = open_conn(endpoint, timeout=60)
    got = bytearray()
    try:
        conn.request("GET", path, headers=sign_headers(endpoint, "GET", path))
        r = conn.getresponse()
        assert r.status == 200
        got += r.read(2 * MiB)
        if action == "delete":
            s3.delete_object(Bucket=bucket, Key="moving")
        else:
            s3.put_object(Bucket=bucket, Key="moving", Body=os.urandom(48 * MiB))
        time.sleep(0.5)
        try:
            while True:
                d = r.read(MiB)
                if not d:
                    break
                got += d
        except (http.client.IncompleteRead, ConnectionError):
            pass
    finally:
        conn.close()
    assert bytes(got) == old[:len(got)], "the GET mixed in bytes that are not the version it started on"
