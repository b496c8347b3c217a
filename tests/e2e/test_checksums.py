"""Checksums as first-class object data: what the client sent is stored and
returned with `x-amz-checksum-mode: ENABLED`; multipart objects carry the
composite checksum (checksum of the parts' checksums, then -N)."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from s3util import KiB, MiB, encode_path, raw_request
from test_streaming import checksum_b64, streaming_put


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def composite(algo: str, parts: list[bytes]) -> str:
    raw = b"".join(base64.b64decode(checksum_b64(algo, p)) for p in parts)
    return f"{checksum_b64(algo, raw)}-{len(parts)}"


@pytest.mark.parametrize("algo", ["CRC32", "SHA1", "SHA256"])
def test_put_checksum_is_stored_and_returned(s3, bucket, algo):
    data = os.urandom(100 * KiB)
    r = s3.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm=algo)
    want = checksum_b64(algo.lower(), data)
    assert r[f"Checksum{algo}"] == want
    h = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert h[f"Checksum{algo}"] == want
    assert h["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] == "FULL_OBJECT"
    # boto3 checks the body against it on a GET
    g = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert g[f"Checksum{algo}"] == want and g["Body"].read() == data
    # not asked, not given
    assert f"Checksum{algo}" not in s3.head_object(Bucket=bucket, Key="k")


def test_checksum_header_on_plain_put(endpoint, s3, bucket):
    """x-amz-checksum-crc32c as a header on an ordinary body (other SDKs do this)."""
    data = os.urandom(90 * KiB)
    want = checksum_b64("crc32c", data)
    r = raw_request(endpoint, "PUT", encode_path(bucket, "hdr"), body=data,
                    headers={"x-amz-checksum-crc32c": want})
    assert r.status == 200, r.body
    assert r.header("x-amz-checksum-crc32c") == want
    h = raw_request(endpoint, "HEAD", encode_path(bucket, "hdr"), headers={"x-amz-checksum-mode": "ENABLED"})
    assert h.header("x-amz-checksum-crc32c") == want
    # a range is not the object: no checksum for it
    g = raw_request(endpoint, "GET", encode_path(bucket, "hdr"),
                    headers={"x-amz-checksum-mode": "ENABLED", "Range": "bytes=0-9"})
    assert g.status == 206 and g.header("x-amz-checksum-crc32c") is None


def test_trailing_checksum_is_stored(endpoint, s3, bucket):
    data = os.urandom(150 * KiB)
    want = checksum_b64("crc64nvme", data)
    r = streaming_put(endpoint, bucket, "trail", data, "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                      trailers=[("x-amz-checksum-crc64nvme", want)])
    assert r.status == 200, r.body
    h = raw_request(endpoint, "HEAD", encode_path(bucket, "trail"), headers={"x-amz-checksum-mode": "ENABLED"})
    assert h.header("x-amz-checksum-crc64nvme") == want


def test_object_without_checksum_has_none(endpoint, bucket):
    raw_request(endpoint, "PUT", encode_path(bucket, "plain"), body=b"plain")
    h = raw_request(endpoint, "HEAD", encode_path(bucket, "plain"), headers={"x-amz-checksum-mode": "ENABLED"})
    assert not [n for n in h.headers if n.lower().startswith("x-amz-checksum")]


@pytest.mark.parametrize("algo", ["CRC32", "SHA256"])
def test_multipart_composite_checksum(s3, bucket, algo):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(123 * KiB)]
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm=algo)
    assert up["ChecksumAlgorithm"] == algo
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=i, Body=p,
                           ChecksumAlgorithm=algo)
        assert r[f"Checksum{algo}"] == checksum_b64(algo.lower(), p)
        done.append({"PartNumber": i, "ETag": r["ETag"], f"Checksum{algo}": r[f"Checksum{algo}"]})
    # ListParts gives each part's checksum back (an SDK resuming the upload checks them).
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=up["UploadId"])
    assert listed["ChecksumAlgorithm"] == algo
    assert [p[f"Checksum{algo}"] for p in listed["Parts"]] == [d[f"Checksum{algo}"] for d in done]
    c = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": done})
    want = composite(algo.lower(), parts)
    assert c[f"Checksum{algo}"] == want
    h = s3.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert h[f"Checksum{algo}"] == want
    assert h["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] == "COMPOSITE"
    g = s3.get_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert g["Body"].read() == b"".join(parts)


def test_multipart_part_checksums_computed_when_not_sent(server, bucket):
    """An upload with an algorithm whose parts arrive without checksums: the
    server computes each part's, so the object still gets its composite."""
    c = server.client(request_checksum_calculation="when_required", response_checksum_validation="when_required")
    parts = [os.urandom(5 * MiB), os.urandom(64 * KiB)]
    up = c.create_multipart_upload(Bucket=bucket, Key="computed", ChecksumAlgorithm="SHA1")
    done = []
    for i, p in enumerate(parts, 1):
        r = c.upload_part(Bucket=bucket, Key="computed", UploadId=up["UploadId"], PartNumber=i, Body=p)
        assert r["ChecksumSHA1"] == checksum_b64("sha1", p)
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    c.complete_multipart_upload(Bucket=bucket, Key="computed", UploadId=up["UploadId"],
                                MultipartUpload={"Parts": done})
    h = c.head_object(Bucket=bucket, Key="computed", ChecksumMode="ENABLED")
    assert h["ChecksumSHA1"] == composite("sha1", parts)


def test_multipart_part_with_other_algorithm_refused(server, bucket):
    c = server.client(request_checksum_calculation="when_required")
    up = c.create_multipart_upload(Bucket=bucket, Key="mixed", ChecksumAlgorithm="SHA256")
    with pytest.raises(ClientError) as e:
        c.upload_part(Bucket=bucket, Key="mixed", UploadId=up["UploadId"], PartNumber=1, Body=b"x",
                      ChecksumAlgorithm="CRC32")
    assert e.value.response["Error"]["Code"] == "InvalidRequest"
    c.abort_multipart_upload(Bucket=bucket, Key="mixed", UploadId=up["UploadId"])


def test_unknown_checksum_algorithm_refused(endpoint, bucket):
    r = raw_request(endpoint, "POST", encode_path(bucket, "x"), query={"uploads": None},
                    headers={"x-amz-checksum-algorithm": "MD4"})
    assert r.status == 400 and r.error()["Code"] == "InvalidRequest"


def test_copy_keeps_full_object_checksum(s3, bucket):
    data = os.urandom(80 * KiB)
    s3.put_object(Bucket=bucket, Key="src", Body=data, ChecksumAlgorithm="SHA256")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    h = s3.head_object(Bucket=bucket, Key="dst", ChecksumMode="ENABLED")
    assert h["ChecksumSHA256"] == b64(hashlib.sha256(data).digest())


def test_complete_compares_part_checksums(s3, bucket):
    """The checksums a Complete request lists must be the parts' own."""
    parts = [os.urandom(5 * MiB), os.urandom(KiB)]
    up = s3.create_multipart_upload(Bucket=bucket, Key="cmp", ChecksumAlgorithm="SHA256")
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key="cmp", UploadId=up["UploadId"], PartNumber=i, Body=p,
                           ChecksumAlgorithm="SHA256")
        done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
    wrong = [dict(done[0]), dict(done[1], ChecksumSHA256=checksum_b64("sha256", b"other"))]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="cmp", UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": wrong})
    assert e.value.response["Error"]["Code"] == "InvalidPart"
    s3.complete_multipart_upload(Bucket=bucket, Key="cmp", UploadId=up["UploadId"], MultipartUpload={"Parts": done})
    assert s3.head_object(Bucket=bucket, Key="cmp", ChecksumMode="ENABLED")["ChecksumSHA256"] == \
        composite("sha256", parts)
