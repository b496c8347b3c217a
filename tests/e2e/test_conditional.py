"""Conditional GET/HEAD: If-Match, If-None-Match, If-Modified-Since,
If-Unmodified-Since and S3's precedence rules."""

import datetime
import email.utils
import os

import pytest
from botocore.exceptions import ClientError

from s3util import encode_path, http_status, raw_request

SEC = datetime.timedelta(seconds=1)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def obj(s3, bucket):
    data = os.urandom(100_000)
    etag = s3.put_object(Bucket=bucket, Key="cond", Body=data)["ETag"]
    lm = s3.head_object(Bucket=bucket, Key="cond")["LastModified"]
    assert lm.microsecond == 0
    return bucket, "cond", data, etag, lm


def status_of(call, **kw):
    """HTTP status of a GET/HEAD with the given conditions (boto3 raises on
    304/412; both are answers here)."""
    try:
        r = call(**kw)
        if "Body" in r:
            r["Body"].read()
        return http_status(r), r
    except ClientError as e:
        return http_status(e), e.response


@pytest.fixture(params=["get", "head"])
def op(request, s3):
    return s3.get_object if request.param == "get" else s3.head_object


def test_if_match(op, obj):
    bucket, key, data, etag, lm = obj
    st, r = status_of(op, Bucket=bucket, Key=key, IfMatch=etag)
    assert st == 200
    st, r = status_of(op, Bucket=bucket, Key=key, IfMatch='"0123456789abcdef0123456789abcdef"')
    assert st == 412
    if op.__name__ == "get_object":
        assert r["Error"]["Code"] == "PreconditionFailed"


def test_if_none_match(op, obj):
    bucket, key, data, etag, lm = obj
    st, r = status_of(op, Bucket=bucket, Key=key, IfNoneMatch=etag)
    assert st == 304
    assert r["ResponseMetadata"]["HTTPHeaders"].get("etag") == etag, "304 carries the ETag"
    st, r = status_of(op, Bucket=bucket, Key=key, IfNoneMatch='"0123456789abcdef0123456789abcdef"')
    assert st == 200


def test_if_modified_since(op, obj):
    bucket, key, data, etag, lm = obj
    assert status_of(op, Bucket=bucket, Key=key, IfModifiedSince=lm - DAY)[0] == 200
    assert status_of(op, Bucket=bucket, Key=key, IfModifiedSince=lm - SEC)[0] == 200
    # exactly Last-Modified (what a cache sends back): not modified
    assert status_of(op, Bucket=bucket, Key=key, IfModifiedSince=lm)[0] == 304
    assert status_of(op, Bucket=bucket, Key=key, IfModifiedSince=lm + SEC)[0] == 304


def test_if_unmodified_since(op, obj):
    bucket, key, data, etag, lm = obj
    st, r = status_of(op, Bucket=bucket, Key=key, IfUnmodifiedSince=lm - DAY)
    assert st == 412
    if op.__name__ == "get_object":
        assert r["Error"]["Code"] == "PreconditionFailed"
    assert status_of(op, Bucket=bucket, Key=key, IfUnmodifiedSince=lm - SEC)[0] == 412
    assert status_of(op, Bucket=bucket, Key=key, IfUnmodifiedSince=lm)[0] == 200
    assert status_of(op, Bucket=bucket, Key=key, IfUnmodifiedSince=lm + DAY)[0] == 200


def test_precedence_if_match_beats_if_unmodified_since(op, obj):
    bucket, key, data, etag, lm = obj
    # If-Match true + If-Unmodified-Since false -> 200
    st, r = status_of(op, Bucket=bucket, Key=key, IfMatch=etag, IfUnmodifiedSince=lm - DAY)
    assert st == 200
    # If-Match false + If-Unmodified-Since true -> 412
    st, _ = status_of(op, Bucket=bucket, Key=key, IfMatch='"ffffffffffffffffffffffffffffffff"',
                      IfUnmodifiedSince=lm + DAY)
    assert st == 412


def test_precedence_if_none_match_beats_if_modified_since(op, obj):
    bucket, key, data, etag, lm = obj
    # If-None-Match false + If-Modified-Since true -> 304
    st, _ = status_of(op, Bucket=bucket, Key=key, IfNoneMatch=etag, IfModifiedSince=lm - DAY)
    assert st == 304


def test_if_match_false_beats_if_none_match(op, obj):
    bucket, key, data, etag, lm = obj
    st, _ = status_of(op, Bucket=bucket, Key=key, IfMatch='"ffffffffffffffffffffffffffffffff"',
                      IfNoneMatch=etag)
    assert st == 412


def test_conditional_get_body(s3, obj):
    bucket, key, data, etag, lm = obj
    r = s3.get_object(Bucket=bucket, Key=key, IfMatch=etag, IfModifiedSince=lm - DAY)
    assert r["Body"].read() == data


def test_conditions_follow_overwrite(s3, obj):
    bucket, key, data, etag, lm = obj
    new_etag = s3.put_object(Bucket=bucket, Key=key, Body=b"new body")["ETag"]
    assert new_etag != etag
    assert status_of(s3.get_object, Bucket=bucket, Key=key, IfMatch=etag)[0] == 412
    assert status_of(s3.get_object, Bucket=bucket, Key=key, IfNoneMatch=etag)[0] == 200
    assert status_of(s3.get_object, Bucket=bucket, Key=key, IfNoneMatch=new_etag)[0] == 304


def test_raw_304_has_no_body_and_412_is_xml(endpoint, obj):
    bucket, key, data, etag, lm = obj
    path = encode_path(bucket, key)
    r = raw_request(endpoint, "GET", path, headers={"If-None-Match": etag})
    assert r.status == 304
    assert r.body == b""
    r = raw_request(endpoint, "GET", path,
                    headers={"If-Unmodified-Since": email.utils.format_datetime((lm - DAY).astimezone(datetime.timezone.utc), usegmt=True)})
    assert r.status == 412
    err = r.error()
    assert err["Code"] == "PreconditionFailed"
    assert err.get("RequestId") == r.request_id
