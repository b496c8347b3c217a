"""Keys are any UTF-8 up to 1024 bytes, stored and listed exactly as
given: spaces, '+', '%', unicode, '//', '..' segments, a leading '/'.
Keys never name files, so none of them can reach outside the data
directory."""

from __future__ import annotations

import os
from urllib.parse import unquote

import pytest

from s3util import encode_path, raw_request

KEYS = [
    "with space", "plus+sign", "percent%20not-decoded", "100%", "ünïcödé/日本語/🎬.mp4",
    "double//slash", "trailing//", "/leading", "//two-leading", "a/../b", "../../../../etc/passwd",
    "./dot/./segments/.", "..", ".", "back\\slash", "tab\tand\nnewline", "   ", "+", "%2F", "~tilde",
    "\u00e9" * 512,  # 1024 bytes of two-byte characters
]


def bsorted(keys):
    return sorted(keys, key=lambda k: k.encode())


def test_odd_keys_stored_and_listed_exactly(s3, bucket, server):
    for i, k in enumerate(KEYS):
        s3.put_object(Bucket=bucket, Key=k, Body=f"{i}".encode())
    for i, k in enumerate(KEYS):
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == f"{i}".encode(), repr(k)
    listed = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 5})
              for o in p.get("Contents", [])]
    assert listed == bsorted(KEYS)
    # v1 listing with url encoding (boto3 leaves it encoded when asked explicitly)
    v1 = [unquote(o["Key"]) for o in s3.list_objects(Bucket=bucket, EncodingType="url")["Contents"]]
    assert v1 == bsorted(KEYS)
    # nothing was created outside the data directory, nor named after a key
    assert not os.path.exists(os.path.join(str(server.data_dir), "..", "etc"))
    names = {n for _, dirs, files in os.walk(server.data_dir) for n in dirs + files}
    assert not names & {"passwd", "leading", "segments", "with space"}


def test_prefix_and_delimiter_over_odd_keys(s3, bucket):
    keys = ["/a", "//b", "/c/d", "a//b", "a/b", "a/../c"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["/", "a/"]
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/", Prefix="/")
    assert [o["Key"] for o in r["Contents"]] == ["/a"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["//", "/c/"]
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/", Prefix="a/")
    assert [o["Key"] for o in r.get("Contents", [])] == ["a/b"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/../", "a//"]  # '.' sorts before '/'


def test_raw_dot_segments_are_not_normalised(endpoint, s3, bucket):
    """A literal '/x/../y' on the wire is the key 'x/../y', not 'y'."""
    r = raw_request(endpoint, "PUT", f"/{bucket}/x/../y", body=b"dots")
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="x/../y")["Body"].read() == b"dots"
    assert raw_request(endpoint, "GET", f"/{bucket}/y").status == 404
    r = raw_request(endpoint, "GET", f"/{bucket}/x/%2E%2E/y")
    assert r.status == 200 and r.body == b"dots"


@pytest.mark.parametrize("key", ["ünï cödé+%/x", "//lead", "a/../b"])
def test_awscli_odd_keys(aws, s3, bucket, tmp_path, key):
    src = tmp_path / "f"
    src.write_bytes(b"cli")
    aws("s3", "cp", "--no-progress", str(src), f"s3://{bucket}/{key}")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"cli"
    listed = aws("s3api", "list-objects-v2", "--bucket", bucket, "--query", "Contents[].Key", "--output", "text").stdout
    assert key in listed.split("\t") or key == listed.strip()


def test_encoded_slash_in_raw_path_is_part_of_the_key(endpoint, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a/b", Body=b"slash")
    s3.put_object(Bucket=bucket, Key="a%2Fb", Body=b"literal")
    assert raw_request(endpoint, "GET", encode_path(bucket, "a%2Fb")).body == b"literal"
    assert raw_request(endpoint, "GET", f"/{bucket}/a%2Fb").body == b"slash"
