"""Bucket API through boto3: create (naming rules), head, delete, list, location."""

import datetime
import uuid

import pytest
from botocore.exceptions import ClientError

from s3util import empty_and_delete_bucket, error_code, http_status


def suffix(n):
    return uuid.uuid4().hex[:n]


@pytest.mark.parametrize("make_name", [
    lambda: "a" + suffix(2),                          # 3 chars: shortest allowed
    lambda: ("b" + suffix(30) + "x" * 63)[:63],       # 63 chars: longest allowed
    lambda: f"dots.and-hyphens.{suffix(8)}",
    lambda: f"0digits{suffix(6)}9",
    lambda: f"{suffix(4)}.{suffix(4)}.{suffix(4)}.x",
], ids=["3-chars", "63-chars", "dots-hyphens", "digits", "dotted-non-ip"])
def test_create_valid_names(s3, make_name):
    name = make_name()
    assert 3 <= len(name) <= 63
    try:
        r = s3.create_bucket(Bucket=name)
        assert http_status(r) == 200
        s3.head_bucket(Bucket=name)
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        empty_and_delete_bucket(s3, name)


INVALID = {
    "too-short": "ab",
    "too-long": "a" * 64,
    "uppercase": "UpperCase-bucket",
    "underscore": "under_score-bucket",
    "ip-address": "192.168.10.20",
    "leading-hyphen": "-leading-hyphen",
    "trailing-hyphen": "trailing-hyphen-",
    "double-dot": "double..dot",
    "leading-dot": ".leading-dot",
}


@pytest.mark.parametrize("name", list(INVALID.values()), ids=list(INVALID))
def test_create_invalid_name(s3, name):
    with pytest.raises(ClientError) as ei:
        s3.create_bucket(Bucket=name)
    assert error_code(ei.value) == "InvalidBucketName"
    assert http_status(ei.value) == 400
    # and nothing was created
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_create_existing_is_already_owned(s3, bucket):
    with pytest.raises(ClientError) as ei:
        s3.create_bucket(Bucket=bucket)
    assert error_code(ei.value) == "BucketAlreadyOwnedByYou"
    assert http_status(ei.value) == 409
    # the existing bucket and its content are untouched
    s3.head_bucket(Bucket=bucket)


def test_create_existing_keeps_objects(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    with pytest.raises(ClientError):
        s3.create_bucket(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


def test_head_bucket(s3, bucket, bucket_name):
    r = s3.head_bucket(Bucket=bucket)
    assert http_status(r) == 200
    with pytest.raises(ClientError) as ei:
        s3.head_bucket(Bucket="missing-" + suffix(12))
    assert http_status(ei.value) == 404


def test_delete_bucket(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    r = s3.delete_bucket(Bucket=bucket_name)
    assert http_status(r) == 204
    with pytest.raises(ClientError) as ei:
        s3.head_bucket(Bucket=bucket_name)
    assert http_status(ei.value) == 404
    # the name can be used again, and the new bucket is empty
    s3.create_bucket(Bucket=bucket_name)
    assert s3.list_objects_v2(Bucket=bucket_name)["KeyCount"] == 0
    s3.delete_bucket(Bucket=bucket_name)


def test_delete_missing_bucket(s3):
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket(Bucket="missing-" + suffix(12))
    assert error_code(ei.value) == "NoSuchBucket"
    assert http_status(ei.value) == 404


def test_delete_bucket_with_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="some/key", Body=b"x")
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket(Bucket=bucket)
    assert error_code(ei.value) == "BucketNotEmpty"
    assert http_status(ei.value) == 409
    assert s3.get_object(Bucket=bucket, Key="some/key")["Body"].read() == b"x"
    s3.delete_object(Bucket=bucket, Key="some/key")
    assert http_status(s3.delete_bucket(Bucket=bucket)) == 204


def test_delete_bucket_with_many_objects_over_cores(s3, bucket):
    # objects whose keys land on different cores: every core's partition counts
    for i in range(16):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    for i in range(15):
        s3.delete_object(Bucket=bucket, Key=f"k{i}")
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket(Bucket=bucket)
    assert error_code(ei.value) == "BucketNotEmpty"


def test_delete_bucket_with_multipart_upload(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="pending")
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket(Bucket=bucket)
    assert error_code(ei.value) == "BucketNotEmpty"
    assert http_status(ei.value) == 409
    s3.abort_multipart_upload(Bucket=bucket, Key="pending", UploadId=up["UploadId"])
    assert http_status(s3.delete_bucket(Bucket=bucket)) == 204


def test_list_buckets(s3, unique_name):
    names = sorted(unique_name("lb") for _ in range(3))
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    try:
        for n in names:
            s3.create_bucket(Bucket=n)
        r = s3.list_buckets()
        listed = [b["Name"] for b in r["Buckets"]]
        for n in names:
            assert n in listed
        assert listed == sorted(listed), "ListBuckets is sorted by name"
        for b in r["Buckets"]:
            if b["Name"] in names:
                cd = b["CreationDate"]
                assert before <= cd <= datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
        assert r["Owner"]["ID"]
    finally:
        for n in names:
            empty_and_delete_bucket(s3, n)
    listed = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert not set(names) & set(listed)


def test_get_bucket_location(s3, bucket):
    r = s3.get_bucket_location(Bucket=bucket)
    # S3 answers an empty LocationConstraint for us-east-1 (boto3 gives None)
    assert r.get("LocationConstraint") in (None, "", "us-east-1")
    with pytest.raises(ClientError) as ei:
        s3.get_bucket_location(Bucket="missing-" + suffix(12))
    assert error_code(ei.value) == "NoSuchBucket"
