"""Range GET on a single-PUT multi-MiB object and on a multipart object."""

import os

import pytest
from botocore.exceptions import ClientError

from s3util import MiB, encode_path, error_code, http_status, raw_request

SIZE = 7 * MiB + 123


@pytest.fixture
def single(s3, bucket):
    data = os.urandom(SIZE)
    etag = s3.put_object(Bucket=bucket, Key="single", Body=data)["ETag"]
    return bucket, "single", data, etag


@pytest.fixture
def multipart(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 3), os.urandom(MiB + 17)]
    key = "multi"
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for i, p in enumerate(parts, 1):
        e = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=i, Body=p)["ETag"]
        done.append({"PartNumber": i, "ETag": e})
    etag = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up,
                                        MultipartUpload={"Parts": done})["ETag"]
    return bucket, key, b"".join(parts), etag


def get_range(s3, bucket, key, rng):
    r = s3.get_object(Bucket=bucket, Key=key, Range=rng)
    return r, r["Body"].read()


def check_range(s3, obj, a, b):
    """bytes=a-b with b already within the object."""
    bucket, key, data, etag = obj
    r, body = get_range(s3, bucket, key, f"bytes={a}-{b}")
    assert http_status(r) == 206
    assert r["ContentRange"] == f"bytes {a}-{b}/{len(data)}"
    assert r["ContentLength"] == b - a + 1
    assert r["ResponseMetadata"]["HTTPHeaders"].get("accept-ranges") == "bytes"
    assert r["ETag"] == etag
    assert body == data[a:b + 1], f"bytes={a}-{b}: wrong bytes"


def single_cases(n):
    return [
        (0, 0), (0, 99), (1, 1), (n - 1, n - 1), (MiB - 1, MiB), (MiB - 7, 2 * MiB + 7),
        (3 * MiB, 4 * MiB - 1), (123457, 5 * MiB + 99), (0, n - 1), (64 * 1024 - 1, 64 * 1024),
    ]


def test_ranges_single(s3, single):
    n = len(single[2])
    for a, b in single_cases(n):
        check_range(s3, single, a, b)


def test_ranges_multipart_spanning_parts(s3, multipart):
    data = multipart[2]
    n = len(data)
    p1, p2 = 5 * MiB, 10 * MiB + 3   # part boundaries
    cases = [
        (p1 - 10, p1 + 10), (p1 - 1, p1), (p1, p1), (p2 - 1, p2), (p1 - 1, p2 + 1),
        (0, n - 1), (100, n - 100), (p2, n - 1), (n - 1, n - 1), (MiB + 1, 3 * MiB),
    ]
    for a, b in cases:
        check_range(s3, multipart, a, b)


@pytest.mark.parametrize("which", ["single", "multipart"])
def test_open_suffix_and_clipped(s3, which, request):
    obj = request.getfixturevalue(which)
    bucket, key, data, etag = obj
    n = len(data)

    r, body = get_range(s3, bucket, key, f"bytes={n - 1000}-")
    assert http_status(r) == 206
    assert r["ContentRange"] == f"bytes {n - 1000}-{n - 1}/{n}"
    assert body == data[-1000:]

    r, body = get_range(s3, bucket, key, f"bytes={5 * MiB - 3}-")
    assert r["ContentRange"] == f"bytes {5 * MiB - 3}-{n - 1}/{n}"
    assert body == data[5 * MiB - 3:]

    r, body = get_range(s3, bucket, key, "bytes=-1")
    assert r["ContentRange"] == f"bytes {n - 1}-{n - 1}/{n}"
    assert body == data[-1:]

    r, body = get_range(s3, bucket, key, f"bytes=-{MiB + 5}")
    assert r["ContentRange"] == f"bytes {n - MiB - 5}-{n - 1}/{n}"
    assert body == data[-(MiB + 5):]

    # last byte past the end: clipped to the object
    r, body = get_range(s3, bucket, key, f"bytes={n - 10}-{n + 10_000_000}")
    assert http_status(r) == 206
    assert r["ContentRange"] == f"bytes {n - 10}-{n - 1}/{n}"
    assert r["ContentLength"] == 10
    assert body == data[-10:]

    # suffix longer than the object: the whole object
    r, body = get_range(s3, bucket, key, f"bytes=-{n + 5}")
    assert r["ContentRange"] == f"bytes 0-{n - 1}/{n}"
    assert body == data


@pytest.mark.parametrize("rng", ["bytes={n}-", "bytes={n}-{n5}", "bytes={n5}-{n9}"])
def test_unsatisfiable(s3, single, rng):
    bucket, key, data, _ = single
    n = len(data)
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key=key, Range=rng.format(n=n, n5=n + 5, n9=n + 9))
    assert http_status(ei.value) == 416
    assert error_code(ei.value) == "InvalidRange"


def test_range_on_empty_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="empty", Range="bytes=0-0")
    assert http_status(ei.value) == 416


def test_full_get_advertises_ranges(s3, single):
    bucket, key, data, _ = single
    r = s3.get_object(Bucket=bucket, Key=key)
    assert http_status(r) == 200
    assert r["ResponseMetadata"]["HTTPHeaders"].get("accept-ranges") == "bytes"
    assert "ContentRange" not in r
    assert r["Body"].read() == data


@pytest.mark.parametrize("rng", ["bytes=abc", "bytes=10-5", "items=0-10"])
def test_malformed_range_is_ignored(endpoint, single, rng):
    # S3 ignores a Range header it cannot parse and answers the whole object
    bucket, key, data, _ = single
    r = raw_request(endpoint, "GET", encode_path(bucket, key), headers={"Range": rng})
    assert r.status == 200, (rng, r.status, r.body[:200])
    assert r.body == data


def test_many_small_ranges_keep_alive(endpoint, single):
    """Video-style: many Range reads on one connection, each exact."""
    from s3util import open_conn, send, sign_headers
    bucket, key, data, _ = single
    n = len(data)
    path = encode_path(bucket, key)
    conn = open_conn(endpoint)
    try:
        import random
        rnd = random.Random(7)
        for _ in range(60):
            a = rnd.randrange(0, n)
            b = min(n - 1, a + rnd.randrange(0, 300_000))
            hdrs = sign_headers(endpoint, "GET", path, "", {"Range": f"bytes={a}-{b}"})
            r = send(conn, "GET", path, hdrs)
            assert r.status == 206
            assert r.body == data[a:b + 1], (a, b)
    finally:
        conn.close()
