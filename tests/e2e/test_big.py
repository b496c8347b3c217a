"""A >2 GiB object streamed up and down with the server's peak RSS under
300 MiB. The body is generated on the fly (never held in memory).
Skipped with STRATUM_SKIP_BIG=1."""

import hashlib

import pytest
from boto3.s3.transfer import TransferConfig

from s3util import MiB, PatternReader, encode_path, open_conn, proc_status_kib, sign_headers

GiB = 1024 * MiB
# just over 2 GiB, so that offsets past 2^31 are exercised too
SIZE = 2 * GiB + MiB + 123
# Streaming holds little; the read cache holds what it is given (kept
# small here, so the bound also checks that the cache keeps to its size).
READ_CACHE = 32 * MiB
RSS_LIMIT_KIB = 300 * 1024 + READ_CACHE // 1024
CONFIG = f"read_cache_bytes = {READ_CACHE}\n"
PART = 64 * MiB

pytestmark = [pytest.mark.big, pytest.mark.timeout(1500)]


def digests(reader, part_size=PART):
    """One pass: sha256 and md5 of the whole, md5 of each part."""
    sha, md5, parts = hashlib.sha256(), hashlib.md5(), []
    reader.seek(0)
    while True:
        part = hashlib.md5()
        left = part_size
        got = 0
        while left:
            d = reader.read(min(8 * MiB, left))
            if not d:
                break
            sha.update(d)
            md5.update(d)
            part.update(d)
            left -= len(d)
            got += len(d)
        if not got:
            break
        parts.append(part.digest())
    reader.seek(0)
    return sha.hexdigest(), md5.hexdigest(), parts


def hwm_kib(srv):
    return proc_status_kib(srv.pid, "VmHWM")


def get_streamed(endpoint, path, headers=None, expect=200):
    h = hashlib.sha256()
    n = 0
    conn = open_conn(endpoint, timeout=120)
    try:
        conn.request("GET", path, headers=sign_headers(endpoint, "GET", path, "", headers or {}))
        r = conn.getresponse()
        assert r.status == expect, r.read(2000)
        while True:
            d = r.read(4 * MiB)
            if not d:
                break
            h.update(d)
            n += len(d)
    finally:
        conn.close()
    return n, h.hexdigest()


def test_big_single_put_streams(server_factory):
    server_factory.remove_data = True
    srv, _ = server_factory.start_with_config(CONFIG)
    c = srv.client()
    c.create_bucket(Bucket="big")
    reader = PatternReader(SIZE, seed=2024)
    sha, md5, _ = digests(reader)

    path = encode_path("big", "single")
    hdrs = sign_headers(srv.endpoint, "PUT", path, "", {"Content-Length": str(SIZE)}, payload_hash=sha)
    conn = open_conn(srv.endpoint, timeout=300)
    try:
        conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        for chunk in reader.iter_chunks(4 * MiB):
            conn.send(chunk)
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200, body
        assert r.getheader("ETag") == f'"{md5}"'
    finally:
        conn.close()
    hwm_put = hwm_kib(srv)

    assert c.head_object(Bucket="big", Key="single")["ContentLength"] == SIZE
    n, got = get_streamed(srv.endpoint, path)
    assert n == SIZE
    assert got == sha, "downloaded bytes differ"

    # a range across the 2^31 boundary
    a, b = 2 * GiB - 1000, 2 * GiB + 1000
    reader.seek(a)
    want = hashlib.sha256(reader.read(b - a + 1)).hexdigest()
    n, got = get_streamed(srv.endpoint, path, {"Range": f"bytes={a}-{b}"}, expect=206)
    assert n == b - a + 1 and got == want

    hwm = hwm_kib(srv)
    print(f"stratum peak RSS: {hwm_put / 1024:.0f} MiB after PUT, {hwm / 1024:.0f} MiB after GETs")
    assert hwm_put < RSS_LIMIT_KIB, f"peak RSS {hwm_put / 1024:.0f} MiB during the 2 GiB PUT"
    assert hwm < RSS_LIMIT_KIB, f"peak RSS {hwm / 1024:.0f} MiB after the 2 GiB GET"
    c.delete_object(Bucket="big", Key="single")


def test_big_multipart_boto3(server_factory):
    server_factory.remove_data = True
    srv, _ = server_factory.start_with_config(CONFIG)
    c = srv.client(max_pool_connections=8, read_timeout=300)
    c.create_bucket(Bucket="bigmp")
    reader = PatternReader(SIZE, seed=77)
    sha, _, part_md5s = digests(reader, PART)
    cfg = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4)
    c.upload_fileobj(reader, "bigmp", "multi", Config=cfg)
    hwm_put = hwm_kib(srv)

    h = c.head_object(Bucket="bigmp", Key="multi")
    assert h["ContentLength"] == SIZE
    want_etag = '"%s-%d"' % (hashlib.md5(b"".join(part_md5s)).hexdigest(), len(part_md5s))
    assert h["ETag"] == want_etag

    body = c.get_object(Bucket="bigmp", Key="multi")["Body"]
    hs = hashlib.sha256()
    n = 0
    for chunk in body.iter_chunks(4 * MiB):
        hs.update(chunk)
        n += len(chunk)
    assert n == SIZE
    assert hs.hexdigest() == sha, "downloaded bytes differ"

    hwm = hwm_kib(srv)
    print(f"stratum peak RSS: {hwm_put / 1024:.0f} MiB after upload, {hwm / 1024:.0f} MiB after GET")
    assert hwm_put < RSS_LIMIT_KIB, f"peak RSS {hwm_put / 1024:.0f} MiB during the multipart upload"
    assert hwm < RSS_LIMIT_KIB, f"peak RSS {hwm / 1024:.0f} MiB after the GET"
    c.delete_object(Bucket="bigmp", Key="multi")
