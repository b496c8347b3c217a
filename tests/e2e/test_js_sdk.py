"""The AWS SDK for JavaScript v3 (@aws-sdk/client-s3, lib-storage,
s3-request-presigner, pinned by tests/e2e/js/package-lock.json) against the
real server. Each test runs one scenario of tests/e2e/js/s3.mjs in node;
the script reports what the SDK saw as JSON and the assertions are here.

The SDK sends CRC32 flexible checksums by default: a header for a Buffer
body, an aws-chunked body with a trailer (and Transfer-Encoding: chunked)
for a stream, and x-amz-checksum-mode on GETs it validates.
scripts/test.sh installs node and runs `npm ci`; without them these tests
are skipped."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from s3util import KiB, MiB, empty_and_delete_bucket, md5_hex, multipart_etag, sha256_hex
from test_checksums import composite
from test_streaming import checksum_b64

JS_DIR = Path(__file__).resolve().parent / "js"
ALGOS = ["CRC32", "CRC32C", "SHA1", "SHA256"]


def node_major(node: str) -> int:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.match(r"v(\d+)\.", out.strip())
    return int(m.group(1)) if m else 0


@pytest.fixture(scope="session")
def _node():
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed (scripts/test.sh installs nodejs from Debian)")
    if node_major(node) < 18:
        pytest.skip("node is older than 18, which the AWS SDK for JavaScript v3 needs")
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-s3").is_dir():
        pytest.skip("tests/e2e/js/node_modules is missing: run `npm ci` there (scripts/test.sh does)")
    return node


@pytest.fixture
def js(_node, server, tmp_path):
    """run(scenario, bucket, data=None, **env) -> the scenario's JSON report."""
    def run(scenario: str, bucket: str, data: bytes | None = None, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(S3_ENDPOINT=server.endpoint, S3_ACCESS_KEY=server.access_key,
                   S3_SECRET_KEY=server.secret_key, S3_BUCKET=bucket,
                   AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED="true", **extra)
        if data is not None:
            path = tmp_path / f"{scenario}.bin"
            path.write_bytes(data)
            env["S3_DATA"] = str(path)
        p = subprocess.run([_node, "s3.mjs", scenario], cwd=JS_DIR, env=env, capture_output=True,
                           text=True, timeout=90)
        assert p.returncode == 0, f"node s3.mjs {scenario} exited {p.returncode}\n{p.stderr[-4000:]}"
        return json.loads(p.stdout)
    return run


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def failed(r: dict, name: str, status: int):
    """An SDK call that failed with S3's error `name` and HTTP `status`."""
    assert r["ok"] is False and r.get("name") == name and r.get("status") == status, r


# --------------------------------------------------------------------------


def test_buckets(js, s3, bucket_name):
    try:
        r = js("buckets", bucket_name)
        assert r["create"] == {"status": 200, "location": f"/{bucket_name}"}
        assert r["head"] == {"status": 200, "region": "us-east-1"}
        assert bucket_name in r["listed"] and r["listedDates"] == [True]
        failed(r["createAgain"], "BucketAlreadyOwnedByYou", 409)
        failed(r["headMissing"], "NotFound", 404)  # a HEAD has no error body
        s3.head_bucket(Bucket=bucket_name)
    finally:
        empty_and_delete_bucket(s3, bucket_name)


@pytest.mark.parametrize("body", ["buffer", "stream"])
def test_put_checksums(js, s3, bucket, body):
    """PutObject with the SDK's default checksum (CRC32) and each algorithm
    named: stored, echoed by PutObject, returned (and validated by the SDK)
    with ChecksumMode ENABLED."""
    data = os.urandom(300 * KiB + 13)
    r = js("put_checksums", bucket, data, S3_BODY=body)
    for algo in ["default", *ALGOS]:
        want_algo = "CRC32" if algo == "default" else algo
        want = checksum_b64(want_algo.lower(), data)
        got = r[algo]
        assert got["put"] == {"status": 200, "etag": f'"{md5_hex(data)}"', "checksums": {want_algo: want}}, algo
        wire = got["wire"]
        assert wire["x-amz-sdk-checksum-algorithm"] == want_algo
        if body == "buffer":
            assert wire[f"x-amz-checksum-{want_algo.lower()}"] == want and "content-encoding" not in wire
        else:
            assert wire["content-encoding"] == "aws-chunked"
            assert wire["x-amz-trailer"] == f"x-amz-checksum-{want_algo.lower()}"
            assert wire["x-amz-decoded-content-length"] == str(len(data))
        g = got["get"]
        assert (g["status"], g["length"], g["sha256"]) == (200, len(data), sha256_hex(data)), algo
        assert g["checksums"] == {want_algo: want} and g["checksumType"] == "FULL_OBJECT", algo
        # what boto3 reads back is the same
        assert s3.get_object(Bucket=bucket, Key=f"put/{algo}-{body}")["Body"].read() == data


def test_get_range(js, bucket):
    data = os.urandom(300_000)
    n = len(data)
    r = js("get_range", bucket, data)
    cases = {
        "bytes=0-0": (0, 0),
        "bytes=100-199": (100, 199),
        "bytes=-10": (n - 10, n - 1),
        f"bytes={n - 5}-": (n - 5, n - 1),
        f"bytes=10-{n + 100}": (10, n - 1),  # the end is clamped to the object
    }
    for rng, (first, last) in cases.items():
        got = r[rng]
        assert got["status"] == 206, rng
        assert got["contentRange"] == f"bytes {first}-{last}/{n}", rng
        assert got["contentLength"] == last - first + 1, rng
        assert got["body"] == b64(data[first:last + 1]), rng
    failed(r["unsatisfiable"], "InvalidRange", 416)


def test_head_object_metadata(js, bucket):
    data = os.urandom(10 * KiB)
    r = js("head_metadata", bucket, data)
    assert r["putEtag"] == f'"{md5_hex(data)}"' == f'"{r["md5"]}"'
    for via in ("head", "get"):
        got = r[via]
        assert got["status"] == 200
        assert got["metadata"] == {"color": "blue", "multi-word": "a b  c", "camelcase": "MiXeD"}, via
        assert got["contentType"] == "text/plain; charset=utf-8"
        assert got["contentLength"] == len(data) and got["etag"] == r["putEtag"]
        assert got["cacheControl"] == "max-age=60"
        assert got["contentDisposition"] == 'attachment; filename="x.txt"'
        assert got["contentLanguage"] == "en" and got["contentEncoding"] == "identity"
        assert got["acceptRanges"] == "bytes"
        assert got["lastModifiedIsDate"] and -5 < got["lastModifiedAgeSeconds"] < 120


def test_list_objects_v2(js, bucket):
    r = js("list_objects", bucket)
    keys = ["a/1", "a/2", "a/b/3", "a/b/4", "b/5", "c", "d/6", "d/7/8", "e f/ü.txt"]
    assert r["all"]["keys"] == keys and r["all"]["truncated"] is False and r["all"]["keyCount"] == 9
    assert r["all"]["sizes"] == [len(k.encode()) for k in keys]
    assert r["prefix"]["keys"] == ["a/1", "a/2", "a/b/3", "a/b/4"]
    assert r["delimiter"]["keys"] == ["c"] and r["delimiter"]["prefixes"] == ["a/", "b/", "d/", "e f/"]
    assert r["delimiter"]["keyCount"] == 5
    assert r["prefixDelimiter"]["keys"] == ["a/1", "a/2"] and r["prefixDelimiter"]["prefixes"] == ["a/b/"]
    assert r["startAfter"]["keys"] == keys[5:] and r["startAfter"]["startAfter"] == "b/5"
    pages = r["pages"]
    assert [p["keys"] for p in pages] == [keys[i:i + 2] for i in range(0, 9, 2)]
    assert [p["truncated"] for p in pages] == [True] * 4 + [False]
    assert all(p["next"] for p in pages[:-1]) and pages[-1]["next"] is None
    assert [p["keyCount"] for p in pages] == [2, 2, 2, 2, 1]
    assert r["paginated"] == [keys[0:3], keys[3:6], keys[6:9]]
    failed(r["missingBucket"], "NoSuchBucket", 404)


def test_copy_object(js, s3, bucket):
    data = os.urandom(200 * KiB)
    r = js("copy_object", bucket, data)
    etag = f'"{md5_hex(data)}"'
    c = r["copied"]
    assert c["status"] == 200 and c["etag"] == etag and c["lastModifiedIsDate"]
    assert c["head"] == {"contentType": "application/x-src", "metadata": {"origin": "src"}, "etag": etag,
                         "length": len(data)}
    assert c["get"]["sha256"] == sha256_hex(data)
    rep = r["replaced"]
    assert rep["etag"] == etag
    assert rep["head"] == {"contentType": "text/x-new", "metadata": {"origin": "replaced"}, "etag": etag,
                           "length": len(data)}
    assert rep["get"]["sha256"] == sha256_hex(data)
    failed(r["missingSource"], "NoSuchKey", 404)
    assert s3.get_object(Bucket=bucket, Key="dst/copy")["Body"].read() == data


def test_delete_objects(js, s3, bucket):
    r = js("delete_objects", bucket)
    assert r["one"] == 204 and r["missing"] == 204
    b = r["batch"]
    # S3 reports a key that was not there as deleted too
    assert b["status"] == 200 and b["deleted"] == ["dir/k6", "k2", "k3", "never-was"] and b["errors"] == []
    # no Content-MD5: the SDK sends a CRC32 of the XML instead, which must do
    assert "content-md5" not in b["wire"] and b["wire"]["x-amz-checksum-crc32"]
    assert r["quiet"] == {"status": 200, "deleted": [], "errors": []}
    assert r["left"] == ["k5"]
    failed(r["getDeleted"], "NoSuchKey", 404)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])] == ["k5"]


@pytest.mark.timeout(180)
def test_multipart_upload(js, s3, bucket):
    """lib-storage's Upload, 5 MiB parts, from a Buffer and from a stream."""
    data = os.urandom(20 * MiB + 12345)
    parts = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    assert len(parts) == 5
    r = js("multipart_upload", bucket, data)
    for how in ("buffer", "stream"):
        got = r[how]
        assert got["etag"] == multipart_etag(parts), how
        assert got["partRequests"] == 5
        assert got["partWire"]["x-amz-checksum-crc32"] == checksum_b64("crc32", parts[0])
        assert got["head"] == {"length": len(data), "etag": multipart_etag(parts), "metadata": {"how": how}}
        g = got["get"]
        assert (g["status"], g["length"], g["sha256"]) == (200, len(data), sha256_hex(data)), how
        assert g["checksums"] == {"CRC32": composite("crc32", parts)} and g["checksumType"] == "COMPOSITE"
        assert hashlib.sha256(s3.get_object(Bucket=bucket, Key=f"mpu/{how}")["Body"].read()).hexdigest() \
            == sha256_hex(data)


def test_presigned_urls_with_fetch(js, s3, bucket):
    data = os.urandom(100 * KiB)
    r = js("presigned", bucket, data)
    assert r["getUrl"]["hostPath"] == f"/{bucket}/pre/get%20me"
    assert {"X-Amz-Signature", "X-Amz-Expires", "X-Amz-Credential"} <= set(r["getUrl"]["params"])
    assert r["get"] == {"status": 200, "sha256": sha256_hex(data), "etag": f'"{md5_hex(data)}"'}
    assert r["put"]["status"] == 200 and r["put"]["etag"] == f'"{md5_hex(data)}"', r["put"]
    assert r["putBack"]["sha256"] == sha256_hex(data)
    assert s3.get_object(Bucket=bucket, Key="pre/put me")["Body"].read() == data
    assert r["missing"]["status"] == 404 and "<Code>NoSuchKey</Code>" in r["missing"]["body"]
    assert r["tampered"]["status"] == 403 and "<Code>SignatureDoesNotMatch</Code>" in r["tampered"]["body"]


def test_errors(js, bucket):
    r = js("errors", bucket)
    failed(r["noSuchKey"], "NoSuchKey", 404)
    failed(r["headNoSuchKey"], "NotFound", 404)
    failed(r["noSuchBucket"], "NoSuchBucket", 404)
    failed(r["putNoSuchBucket"], "NoSuchBucket", 404)
    failed(r["wrongSecretGet"], "SignatureDoesNotMatch", 403)
    failed(r["wrongSecretPut"], "SignatureDoesNotMatch", 403)
    failed(r["wrongAccessKey"], "InvalidAccessKeyId", 403)
    failed(r["deniedWasNotWritten"], "NotFound", 404)
    failed(r["invalidBucketName"], "InvalidBucketName", 400)


def test_rejected_put_leaves_connection_usable(js, bucket):
    """The SDK sends its next request on the kept-alive socket of a PUT
    refused for its signature: the server skips the small body unread."""
    r = js("rejected_put_then_more", bucket)
    for size in ("1", "1000", "61440"):
        failed(r[size]["put"], "SignatureDoesNotMatch", 403)
        failed(r[size]["list"], "SignatureDoesNotMatch", 403)


def test_conditional_get(js, bucket):
    r = js("conditional_get", bucket, os.urandom(1000))
    ok = {"ok": True, "status": 200}
    # 304 has no body: the SDK cannot name it, only its status counts
    for case in ("ifNoneMatchSame", "ifNoneMatchStar", "ifModifiedSinceFuture", "headIfNoneMatchSame"):
        assert r[case]["ok"] is False and r[case]["status"] == 304, case
    assert r["ifNoneMatchOther"] == ok and r["ifMatchSame"] == ok and r["ifModifiedSincePast"] == ok
    failed(r["ifMatchOther"], "PreconditionFailed", 412)
    failed(r["ifUnmodifiedSincePast"], "PreconditionFailed", 412)


def test_force_path_style(js, server, bucket):
    r = js("path_style", bucket)
    assert r["text"] == "path style"
    reqs = r["requests"]
    assert [q["method"] for q in reqs] == ["PUT", "GET", "GET"]
    for q in reqs:
        assert q["hostname"] == "127.0.0.1" and q["host"] == f"127.0.0.1:{server.port}", q
    assert [q["path"] for q in reqs] == [f"/{bucket}/dir/p%20s%2Bq"] * 2 + [f"/{bucket}/"]
