"""CopyObject (directives, x-amz-copy-source-if-*, onto itself, between
buckets and cores) and UploadPartCopy with x-amz-copy-source-range."""

from __future__ import annotations

import datetime
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from s3util import KiB, MiB, md5_hex


def code_of(e) -> str:
    return e.value.response["Error"]["Code"]


@pytest.fixture
def src(s3, bucket):
    data = os.urandom(150 * KiB)
    s3.put_object(Bucket=bucket, Key="src", Body=data, ContentType="video/mp4", Metadata={"colour": "red"},
                  CacheControl="max-age=60")
    head = s3.head_object(Bucket=bucket, Key="src")
    return data, head


def test_copy_keeps_metadata_by_default(s3, bucket, src):
    data, _ = src
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    h = s3.head_object(Bucket=bucket, Key="dst")
    assert (h["ContentType"], h["Metadata"], h["CacheControl"]) == ("video/mp4", {"colour": "red"}, "max-age=60")
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == data


def test_copy_onto_itself(s3, bucket, src):
    data, head = src
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert code_of(e) == "InvalidRequest"
    s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", ContentType="text/plain", Metadata={"colour": "blue"})
    h = s3.head_object(Bucket=bucket, Key="src")
    assert (h["ContentType"], h["Metadata"]) == ("text/plain", {"colour": "blue"})
    assert "CacheControl" not in h
    assert h["ETag"] == head["ETag"]
    assert s3.get_object(Bucket=bucket, Key="src")["Body"].read() == data


def test_bad_directive(s3, bucket, src):
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "src"},
                       MetadataDirective="MERGE")
    assert code_of(e) == "InvalidArgument"


def _when(head, seconds):
    return head["LastModified"] + datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize("conditions, ok", [
    ({"CopySourceIfMatch": "ETAG"}, True),
    ({"CopySourceIfMatch": '"0123456789abcdef0123456789abcdef"'}, False),
    ({"CopySourceIfNoneMatch": "ETAG"}, False),
    ({"CopySourceIfNoneMatch": '"0123456789abcdef0123456789abcdef"'}, True),
    ({"CopySourceIfModifiedSince": -3600}, True),
    ({"CopySourceIfModifiedSince": 3600}, False),
    ({"CopySourceIfUnmodifiedSince": 3600}, True),
    ({"CopySourceIfUnmodifiedSince": -3600}, False),
    # S3's precedence: a true If-Match wins over a false If-Unmodified-Since,
    ({"CopySourceIfMatch": "ETAG", "CopySourceIfUnmodifiedSince": -3600}, True),
    # and a false If-None-Match over a true If-Modified-Since.
    ({"CopySourceIfNoneMatch": "ETAG", "CopySourceIfModifiedSince": -3600}, False),
])
def test_copy_source_conditions(s3, bucket, src, conditions, ok):
    _, head = src
    args = {}
    for name, value in conditions.items():
        if value == "ETAG":
            value = head["ETag"]
        elif isinstance(value, int):
            value = _when(head, value)
        args[name] = value
    call = lambda: s3.copy_object(Bucket=bucket, Key="cond", CopySource={"Bucket": bucket, "Key": "src"}, **args)  # noqa: E731
    if ok:
        call()
        assert s3.head_object(Bucket=bucket, Key="cond")["ETag"] == head["ETag"]
    else:
        with pytest.raises(ClientError) as e:
            call()
        assert code_of(e) == "PreconditionFailed"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
        with pytest.raises(ClientError):
            s3.head_object(Bucket=bucket, Key="cond")


def test_copy_between_buckets_and_cores(s3, bucket, unique_name):
    other = unique_name()
    s3.create_bucket(Bucket=other)
    try:
        # 'a' is an odd byte: the keys' owners differ (FNV-1a's low bit is the
        # parity of the odd bytes, so keys like k00..k11 all land on one core)
        bodies = {f"k{i:02d}/\u00e9 {'a' * i}": os.urandom(70 * KiB + i) for i in range(12)}
        cores = set()
        for k, v in bodies.items():
            r = s3.put_object(Bucket=bucket, Key=k, Body=v)
            cores.add(r["ResponseMetadata"]["HTTPHeaders"]["x-stratum-core"].split("/")[1])
        for k, v in bodies.items():
            r = s3.copy_object(Bucket=other, Key="copy/" + k, CopySource={"Bucket": bucket, "Key": k})
            cores.add(r["ResponseMetadata"]["HTTPHeaders"]["x-stratum-core"].split("/")[1])
            assert s3.get_object(Bucket=other, Key="copy/" + k)["Body"].read() == v
            assert r["CopyObjectResult"]["ETag"] == f'"{md5_hex(v)}"'
        assert len(cores) > 1, cores  # owners on more than one core
    finally:
        for o in s3.list_objects_v2(Bucket=other).get("Contents", []):
            s3.delete_object(Bucket=other, Key=o["Key"])
        s3.delete_bucket(Bucket=other)


def test_copy_of_multipart_source(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(1 * MiB)]
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    done = [{"PartNumber": i, "ETag": s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                                      PartNumber=i, Body=p)["ETag"]}
            for i, p in enumerate(parts, 1)]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": done})
    s3.copy_object(Bucket=bucket, Key="mp-copy", CopySource={"Bucket": bucket, "Key": "mp"})
    whole = b"".join(parts)
    assert s3.head_object(Bucket=bucket, Key="mp-copy")["ETag"] == f'"{md5_hex(whole)}"'
    assert hashlib.sha256(s3.get_object(Bucket=bucket, Key="mp-copy")["Body"].read()).digest() == \
        hashlib.sha256(whole).digest()


def test_copy_missing_source(s3, bucket, unique_name):
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "nope"})
    assert code_of(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": unique_name(), "Key": "nope"})
    assert code_of(e) == "NoSuchBucket"


def test_copy_odd_source_key(s3, bucket):
    key = "/lead/ü nï+%//x"
    s3.put_object(Bucket=bucket, Key=key, Body=b"odd")
    s3.copy_object(Bucket=bucket, Key="plain", CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"odd"


def test_upload_part_copy_ranges(s3, bucket):
    source = os.urandom(12 * MiB + 5)
    s3.put_object(Bucket=bucket, Key="big-src", Body=source)
    s3.put_object(Bucket=bucket, Key="tail-src", Body=b"tail!")
    up = s3.create_multipart_upload(Bucket=bucket, Key="assembled")
    uid = up["UploadId"]
    cut = 6 * MiB
    r1 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "big-src"}, CopySourceRange=f"bytes=0-{cut - 1}")
    r2 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "big-src"},
                             CopySourceRange=f"bytes={cut}-{len(source) - 1}")
    r3 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=3,
                             CopySource={"Bucket": bucket, "Key": "tail-src"})
    assert r1["CopyPartResult"]["ETag"] == f'"{md5_hex(source[:cut])}"'
    parts = [{"PartNumber": i, "ETag": r["CopyPartResult"]["ETag"]} for i, r in enumerate((r1, r2, r3), 1)]
    listed = s3.list_parts(Bucket=bucket, Key="assembled", UploadId=uid)["Parts"]
    assert [p["Size"] for p in listed] == [cut, len(source) - cut, 5]
    s3.complete_multipart_upload(Bucket=bucket, Key="assembled", UploadId=uid, MultipartUpload={"Parts": parts})
    got = s3.get_object(Bucket=bucket, Key="assembled")["Body"].read()
    assert got == source + b"tail!"


def test_upload_part_copy_errors(s3, bucket):
    s3.put_object(Bucket=bucket, Key="s", Body=b"0123456789")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="t")["UploadId"]
    for bad in ("bytes=0-10", "bytes=5-2", "bytes=3-"):
        with pytest.raises(ClientError) as e:
            s3.upload_part_copy(Bucket=bucket, Key="t", UploadId=uid, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "s"}, CopySourceRange=bad)
        assert code_of(e) == "InvalidArgument", bad
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="t", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "s"}, CopySourceIfMatch='"nope"')
    assert code_of(e) == "PreconditionFailed"
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="t", UploadId="no-such-upload", PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "s"})
    assert code_of(e) == "NoSuchUpload"
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="t", UploadId=uid, PartNumber=10001,
                            CopySource={"Bucket": bucket, "Key": "s"})
    assert code_of(e) == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=bucket, Key="t", UploadId=uid)


def test_awscli_copies_large_objects_with_part_copy(aws, s3, bucket):
    """awscli copies objects above its multipart threshold with UploadPartCopy."""
    data = os.urandom(20 * MiB + 3)
    s3.put_object(Bucket=bucket, Key="large", Body=data)
    aws("s3", "cp", "--no-progress", f"s3://{bucket}/large", f"s3://{bucket}/large-copy")
    h = s3.head_object(Bucket=bucket, Key="large-copy")
    assert h["ContentLength"] == len(data) and h["ETag"].endswith('-3"'), h["ETag"]
    assert s3.get_object(Bucket=bucket, Key="large-copy")["Body"].read() == data
