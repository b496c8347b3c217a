"""Bucket CORS: Put/Get/DeleteBucketCors, the browser's unsigned OPTIONS
preflight, and CORS headers on GET/HEAD for an allowed Origin."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from s3util import parse_error

PLAYER = "https://player.example.com"
RULES = {"CORSRules": [
    {"ID": "video", "AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET", "HEAD"],
     "AllowedHeaders": ["Range", "x-amz-*"], "ExposeHeaders": ["ETag", "Content-Range"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]},
]}


@pytest.fixture
def cors_bucket(s3, bucket):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    s3.put_object(Bucket=bucket, Key="movie.mp4", Body=b"0123456789" * 100, ContentType="video/mp4")
    return bucket


def test_put_get_delete_bucket_cors(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got[0]["AllowedOrigins"] == ["https://*.example.com"]
    assert got[0]["AllowedMethods"] == ["GET", "HEAD"] and got[0]["MaxAgeSeconds"] == 600
    assert got[0]["ExposeHeaders"] == ["ETag", "Content-Range"] and got[0]["ID"] == "video"
    assert got[1]["AllowedOrigins"] == ["*"]
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"


def test_invalid_cors_rules(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]})
    assert e.value.response["Error"]["Code"] in ("InvalidRequest", "MalformedXML")


def test_preflight_allowed(endpoint, cors_bucket):
    r = requests.options(f"{endpoint}/{cors_bucket}/movie.mp4", timeout=10, headers={
        "Origin": PLAYER, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range, x-amz-date"})
    assert r.status_code == 200, r.text
    assert r.headers["Access-Control-Allow-Origin"] == PLAYER
    assert r.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert r.headers["Access-Control-Allow-Headers"].lower() == "range, x-amz-date"
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    # any origin may PUT, with any header
    r = requests.options(f"{endpoint}/{cors_bucket}/upload", timeout=10, headers={
        "Origin": "https://elsewhere.test", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("origin, method, headers", [
    ("https://evil.test", "GET", None),
    (PLAYER, "DELETE", None),
    (PLAYER, "GET", "authorization"),
])
def test_preflight_refused(endpoint, cors_bucket, origin, method, headers):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    r = requests.options(f"{endpoint}/{cors_bucket}/movie.mp4", headers=h, timeout=10)
    assert r.status_code == 403
    assert parse_error(r.content)["Code"] == "AccessForbidden"
    assert "Access-Control-Allow-Origin" not in r.headers


def test_preflight_without_origin_or_rules(endpoint, s3, bucket, cors_bucket):
    r = requests.options(f"{endpoint}/{cors_bucket}/movie.mp4", timeout=10)
    assert r.status_code == 400
    # a bucket without rules refuses every preflight
    other = bucket + "-x"
    s3.create_bucket(Bucket=other)
    try:
        r = requests.options(f"{endpoint}/{other}", timeout=10,
                             headers={"Origin": PLAYER, "Access-Control-Request-Method": "GET"})
        assert r.status_code == 403
    finally:
        s3.delete_bucket(Bucket=other)


def test_cors_headers_on_get_and_head(endpoint, s3, cors_bucket):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": cors_bucket, "Key": "movie.mp4"}, ExpiresIn=300)
    r = requests.get(url, headers={"Origin": PLAYER, "Range": "bytes=0-9"}, timeout=10)
    assert r.status_code == 206 and r.content == b"0123456789"
    assert r.headers["Access-Control-Allow-Origin"] == PLAYER
    assert r.headers["Access-Control-Expose-Headers"] == "ETag, Content-Range"
    assert "Origin" in r.headers["Vary"]
    head_url = s3.generate_presigned_url("head_object", Params={"Bucket": cors_bucket, "Key": "movie.mp4"},
                                         ExpiresIn=300)
    r = requests.head(head_url, headers={"Origin": PLAYER}, timeout=10)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == PLAYER
    # an origin no rule allows gets no CORS headers (the browser then blocks the read)
    r = requests.get(url, headers={"Origin": "https://evil.test"}, timeout=10)
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    # and no Origin, no CORS headers
    assert "Access-Control-Allow-Origin" not in requests.get(url, timeout=10).headers


def test_preflight_on_missing_bucket(endpoint, bucket_name):
    r = requests.options(f"{endpoint}/{bucket_name}/k", timeout=10,
                         headers={"Origin": PLAYER, "Access-Control-Request-Method": "GET"})
    assert r.status_code == 404 and parse_error(r.content)["Code"] == "NoSuchBucket"
