"""Object API: put/get/head/delete, headers and metadata, Content-MD5,
odd keys, aws-chunked bodies."""

import datetime
import email.utils
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from s3util import (
    KiB,
    MiB,
    aws_chunked_signed,
    aws_chunked_unsigned_trailer,
    encode_path,
    error_code,
    http_status,
    md5_b64,
    md5_hex,
    raw_request,
    sha256_hex,
    sign_headers,
    open_conn,
    send,
)

SIZES = [0, 1, 4095, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, MiB, 3 * MiB + 5, 9 * MiB + 1]


@pytest.mark.parametrize("size", SIZES)
def test_put_get_head_sizes(s3, bucket, size):
    data = os.urandom(size)
    key = f"obj-{size}"
    r = s3.put_object(Bucket=bucket, Key=key, Body=data)
    assert r["ETag"] == f'"{md5_hex(data)}"'

    g = s3.get_object(Bucket=bucket, Key=key)
    body = g["Body"].read()
    assert len(body) == size
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert g["ContentLength"] == size
    assert g["ETag"] == r["ETag"]

    h = s3.head_object(Bucket=bucket, Key=key)
    assert h["ContentLength"] == size
    assert h["ETag"] == r["ETag"]
    assert h["LastModified"] == g["LastModified"]


def test_headers_and_metadata_round_trip(s3, bucket):
    data = b"<html>hello</html>" * 100
    expires = datetime.datetime(2037, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(seconds=2)
    s3.put_object(
        Bucket=bucket, Key="doc.html", Body=data,
        ContentType="text/html; charset=utf-8",
        CacheControl="max-age=3600, public",
        ContentDisposition='attachment; filename="doc.html"',
        ContentEncoding="identity",
        ContentLanguage="en-GB",
        Expires=expires,
        Metadata={"colour": "blue", "multi-word": "Hello World", "empty-ish": "-"},
    )
    after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
    for op in (s3.head_object, s3.get_object):
        r = op(Bucket=bucket, Key="doc.html")
        hdrs = r["ResponseMetadata"]["HTTPHeaders"]
        assert r["ContentType"] == "text/html; charset=utf-8"
        assert r["ContentLength"] == len(data)
        assert r["ETag"] == f'"{md5_hex(data)}"'
        assert r["CacheControl"] == "max-age=3600, public"
        assert r["ContentDisposition"] == 'attachment; filename="doc.html"'
        assert r["ContentEncoding"] == "identity"
        assert r["ContentLanguage"] == "en-GB"
        assert email.utils.parsedate_to_datetime(hdrs["expires"]) == expires
        assert r["Metadata"] == {"colour": "blue", "multi-word": "Hello World", "empty-ish": "-"}
        assert before <= r["LastModified"] <= after
        # Last-Modified is an RFC 7231 HTTP date
        assert hdrs["last-modified"].endswith(" GMT")
        assert hdrs.get("x-amz-request-id")
        if op is s3.get_object:
            assert r["Body"].read() == data


def test_metadata_not_leaking_between_objects(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a", Metadata={"only-a": "1"}, ContentType="text/plain")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    h = s3.head_object(Bucket=bucket, Key="b")
    assert h["Metadata"] == {}
    assert h["ContentType"] != "text/plain"


def test_overwrite_replaces(s3, bucket):
    big = os.urandom(2 * MiB + 3)
    s3.put_object(Bucket=bucket, Key="k", Body=big, Metadata={"v": "1"}, ContentType="application/x-one")
    small = b"second version"
    r = s3.put_object(Bucket=bucket, Key="k", Body=small, Metadata={"v": "2"})
    g = s3.get_object(Bucket=bucket, Key="k")
    assert g["Body"].read() == small
    assert g["ContentLength"] == len(small)
    assert g["ETag"] == r["ETag"] == f'"{md5_hex(small)}"'
    assert g["Metadata"] == {"v": "2"}
    assert g["ContentType"] != "application/x-one"
    # and back to a large body
    s3.put_object(Bucket=bucket, Key="k", Body=big)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == big
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("k", len(big))]


def test_delete(s3, bucket):
    s3.put_object(Bucket=bucket, Key="gone", Body=os.urandom(200 * KiB))
    r = s3.delete_object(Bucket=bucket, Key="gone")
    assert http_status(r) == 204
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="gone")
    assert error_code(ei.value) == "NoSuchKey"
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="gone")
    assert http_status(ei.value) == 404
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    # deleting again (a missing key) is still 204
    assert http_status(s3.delete_object(Bucket=bucket, Key="gone")) == 204
    assert http_status(s3.delete_object(Bucket=bucket, Key="never-existed")) == 204


def test_missing_key_and_bucket(s3, bucket):
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="nope")
    assert error_code(ei.value) == "NoSuchKey"
    assert http_status(ei.value) == 404

    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="nope")
    assert http_status(ei.value) == 404

    missing = bucket + "-missing"
    for call in (
        lambda: s3.get_object(Bucket=missing, Key="k"),
        lambda: s3.put_object(Bucket=missing, Key="k", Body=b"x"),
        lambda: s3.delete_object(Bucket=missing, Key="k"),
        lambda: s3.list_objects_v2(Bucket=missing),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert error_code(ei.value) == "NoSuchBucket"
        assert http_status(ei.value) == 404
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=missing, Key="k")
    assert http_status(ei.value) == 404


def test_content_md5_boto3(s3, bucket):
    data = os.urandom(100 * KiB)
    r = s3.put_object(Bucket=bucket, Key="md5-ok", Body=data, ContentMD5=md5_b64(data))
    assert r["ETag"] == f'"{md5_hex(data)}"'

    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="md5-bad", Body=data, ContentMD5=md5_b64(b"other"))
    assert error_code(ei.value) == "BadDigest"
    assert http_status(ei.value) == 400
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="md5-bad")
    assert http_status(ei.value) == 404


@pytest.mark.parametrize("size", [10, 300 * KiB])
def test_content_md5_raw(endpoint, s3, bucket, size):
    data = os.urandom(size)
    path = encode_path(bucket, "raw-md5")
    r = raw_request(endpoint, "PUT", path, body=data, headers={"Content-MD5": md5_b64(data)})
    assert r.status == 200, r.body
    assert r.header("ETag") == f'"{md5_hex(data)}"'

    bad = encode_path(bucket, "raw-md5-bad")
    r = raw_request(endpoint, "PUT", bad, body=data, headers={"Content-MD5": md5_b64(data + b"!")})
    assert r.status == 400
    assert r.error()["Code"] == "BadDigest"

    for malformed in ("not-base64!!", "AAAA", md5_hex(data)):  # bad b64, wrong length, hex not b64
        r = raw_request(endpoint, "PUT", bad, body=data, headers={"Content-MD5": malformed})
        assert r.status == 400, malformed
        assert r.error()["Code"] == "InvalidDigest", malformed

    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="raw-md5-bad")
    assert s3.get_object(Bucket=bucket, Key="raw-md5")["Body"].read() == data


ODD_KEYS = [
    "with space",
    "two  spaces and trailing space ",
    "ünïcödé/ключ/键/🙂",
    "plus+sign",
    "percent%20literal",
    "percent%",
    "double//slash",
    "/leading-slash",
    "trailing/",
    "tilde~and*star",
    "amp&lt<gt>\"quote'",
    "question?mark=1&x",
    "hash#fragment",
    "semi;colon,comma:colon@at$dollar",
    "brackets[]{}()^|`\\",
    "k" * 1024,
]


def test_odd_keys_round_trip_and_list(s3, bucket):
    for i, key in enumerate(ODD_KEYS):
        s3.put_object(Bucket=bucket, Key=key, Body=f"body-{i}".encode())
    for i, key in enumerate(ODD_KEYS):
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == f"body-{i}".encode(), key
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(f"body-{i}")
    listed = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
              for o in p.get("Contents", [])]
    assert listed == sorted(ODD_KEYS, key=lambda k: k.encode("utf-8"))
    for key in ODD_KEYS:
        assert http_status(s3.delete_object(Bucket=bucket, Key=key)) == 204
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_distinct_keys_do_not_collide(s3, bucket):
    # keys that a careless path decoder would map onto each other
    keys = ["a b", "a+b", "a%20b", "a%2Bb", "a/b", "a%2Fb", "a//b"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    for k in keys:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == k.encode(), k
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed) == sorted(keys)


def test_aws_chunked_unsigned_trailer(endpoint, s3, bucket):
    data = os.urandom(200 * KiB + 11)
    framed, crc = aws_chunked_unsigned_trailer(data, chunk=64 * KiB)
    r = raw_request(
        endpoint, "PUT", encode_path(bucket, "chunked-trailer"), body=framed,
        payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        headers={
            "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data)),
            "x-amz-trailer": "x-amz-checksum-crc32",
            "x-amz-sdk-checksum-algorithm": "CRC32",
            "Content-Type": "application/octet-stream",
        },
    )
    assert r.status == 200, r.body
    assert r.header("ETag") == f'"{md5_hex(data)}"'
    g = s3.get_object(Bucket=bucket, Key="chunked-trailer")
    assert g["Body"].read() == data
    assert g["ContentLength"] == len(data)
    assert "aws-chunked" not in (g.get("ContentEncoding") or "")


def test_aws_chunked_signed(endpoint, s3, bucket):
    data = os.urandom(150 * KiB + 7)
    path = encode_path(bucket, "chunked-signed")
    chunk = 64 * KiB
    framed_len = len(aws_chunked_signed(data, "0" * 64, "20250101T000000Z", "x", chunk))
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "Content-Length": str(framed_len),
    }
    hdrs, ctx = sign_headers(endpoint, "PUT", path, "", headers,
                             payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD", with_context=True)
    body = aws_chunked_signed(data, ctx["signature"], ctx["timestamp"], "stratumadmin", chunk)
    assert len(body) == framed_len
    conn = open_conn(endpoint)
    try:
        r = send(conn, "PUT", path, hdrs, body)
    finally:
        conn.close()
    assert r.status == 200, r.body
    assert r.header("ETag") == f'"{md5_hex(data)}"'
    g = s3.get_object(Bucket=bucket, Key="chunked-signed")
    assert g["Body"].read() == data
    assert "aws-chunked" not in (g.get("ContentEncoding") or "")


def test_unsigned_payload_put(endpoint, s3, bucket):
    data = os.urandom(70 * KiB)
    r = raw_request(endpoint, "PUT", encode_path(bucket, "unsigned-payload"), body=data,
                    payload_hash="UNSIGNED-PAYLOAD")
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="unsigned-payload")["Body"].read() == data


def test_every_response_has_request_id(endpoint, bucket):
    seen = set()
    for method, path in [("GET", "/"), ("HEAD", encode_path(bucket)), ("GET", encode_path(bucket, "missing")),
                         ("PUT", encode_path(bucket, "rid")), ("GET", encode_path(bucket, "rid")),
                         ("DELETE", encode_path(bucket, "rid"))]:
        r = raw_request(endpoint, method, path, body=b"x" if method == "PUT" else None)
        rid = r.header("x-amz-request-id")
        assert rid, f"{method} {path} -> {r.status} without x-amz-request-id"
        seen.add(rid)
    assert len(seen) == 6, "request ids are unique per request"


def test_empty_put_then_put_on_same_connection(s3, bucket):
    """boto3 sends `Expect: 100-continue` with every PutObject body. When the
    server answers an empty PUT with its final status straight away, botocore
    1.43 keeps that status line and misreads the next Expect request's
    response on the same kept-alive connection, so the server must answer
    `100 Continue` even when Content-Length is 0."""
    for i in range(3):
        r0 = s3.put_object(Bucket=bucket, Key=f"empty-{i}", Body=b"")
        assert r0["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
        r1 = s3.put_object(Bucket=bucket, Key=f"after-empty-{i}", Body=b"1", Metadata={"n": str(i)})
        assert r1.get("ETag") == f'"{md5_hex(b"1")}"', r1["ResponseMetadata"]
    for i in range(3):
        assert s3.get_object(Bucket=bucket, Key=f"after-empty-{i}")["Body"].read() == b"1"


def _wait_below(path, limit, timeout=15.0):
    import time
    from s3util import dir_bytes
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dir_bytes(path) < limit:
            return True
        time.sleep(0.2)
    return dir_bytes(path) < limit


def test_delete_and_overwrite_free_disk(s3, bucket, server):
    from s3util import dir_bytes
    baseline = dir_bytes(server.data_dir)
    s3.put_object(Bucket=bucket, Key="space", Body=os.urandom(12 * MiB))
    assert dir_bytes(server.data_dir) - baseline >= 12 * MiB
    # overwrite with a small body: the old 12 MiB go
    s3.put_object(Bucket=bucket, Key="space", Body=b"small now")
    assert _wait_below(server.data_dir, baseline + 2 * MiB), \
        f"{(dir_bytes(server.data_dir) - baseline) / MiB:.1f} MiB still used after overwrite"
    s3.put_object(Bucket=bucket, Key="space2", Body=os.urandom(12 * MiB))
    s3.delete_object(Bucket=bucket, Key="space2")
    assert _wait_below(server.data_dir, baseline + 2 * MiB), \
        f"{(dir_bytes(server.data_dir) - baseline) / MiB:.1f} MiB still used after delete"


def test_key_too_long(s3, bucket):
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert error_code(ei.value) == "KeyTooLongError"
    assert http_status(ei.value) == 400


def test_put_with_plain_chunked_transfer_encoding(endpoint, s3, bucket):
    """No Content-Length, Transfer-Encoding: chunked: S3 refuses it (501
    NotImplemented for the header, or 411 MissingContentLength); storing the
    right bytes is fine too. Never a hang, never the chunk framing as content."""
    data = os.urandom(100 * KiB)
    path = encode_path(bucket, "te-chunked")
    hdrs = sign_headers(endpoint, "PUT", path, "", {"Transfer-Encoding": "chunked"},
                        payload_hash=sha256_hex(data))
    body = b"".join(f"{len(data[i:i + 30000]):x}\r\n".encode() + data[i:i + 30000] + b"\r\n"
                    for i in range(0, len(data), 30000)) + b"0\r\n\r\n"
    conn = open_conn(endpoint, timeout=15)
    try:
        r = send(conn, "PUT", path, hdrs, body)
    finally:
        conn.close()
    if r.status == 200:
        assert s3.get_object(Bucket=bucket, Key="te-chunked")["Body"].read() == data
    else:
        assert (r.status, r.error()["Code"]) in ((411, "MissingContentLength"), (501, "NotImplemented")), \
            (r.status, r.body[:300])
        with pytest.raises(ClientError):
            s3.head_object(Bucket=bucket, Key="te-chunked")


def test_checksum_header_checked(endpoint, s3, bucket):
    import base64
    import binascii
    data = os.urandom(50 * KiB)
    good = base64.b64encode(binascii.crc32(data).to_bytes(4, "big")).decode()
    bad = base64.b64encode((binascii.crc32(data) ^ 1).to_bytes(4, "big")).decode()
    r = raw_request(endpoint, "PUT", encode_path(bucket, "crc-ok"), body=data,
                    headers={"x-amz-checksum-crc32": good})
    assert r.status == 200, r.body
    r = raw_request(endpoint, "PUT", encode_path(bucket, "crc-bad"), body=data,
                    headers={"x-amz-checksum-crc32": bad})
    assert r.status == 400, r.body
    assert r.error()["Code"] == "BadDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="crc-bad")
    # boto3's own checksums
    s3.put_object(Bucket=bucket, Key="sha-algo", Body=data, ChecksumAlgorithm="SHA256")
    assert s3.get_object(Bucket=bucket, Key="sha-algo")["Body"].read() == data


def test_aws_chunked_bad_trailer_rejected(endpoint, s3, bucket):
    import base64
    data = os.urandom(100 * KiB)
    framed, crc = aws_chunked_unsigned_trailer(data)
    wrong = base64.b64encode(b"\x00\x00\x00\x00").decode()
    framed = framed.replace(crc.encode(), wrong.encode())
    r = raw_request(endpoint, "PUT", encode_path(bucket, "bad-trailer"), body=framed,
                    payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                    headers={"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                             "x-amz-trailer": "x-amz-checksum-crc32"})
    assert r.status == 400, r.body
    assert r.error()["Code"] == "BadDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad-trailer")


def test_aws_chunked_bad_chunk_signature_rejected(endpoint, s3, bucket):
    data = os.urandom(150 * KiB)
    path = encode_path(bucket, "bad-chunk-sig")
    chunk = 64 * KiB
    framed_len = len(aws_chunked_signed(data, "0" * 64, "20250101T000000Z", "x", chunk))
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
               "Content-Length": str(framed_len)}
    hdrs, ctx = sign_headers(endpoint, "PUT", path, "", headers,
                             payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD", with_context=True)
    # chunk signatures made with the wrong key
    body = aws_chunked_signed(data, ctx["signature"], ctx["timestamp"], "wrong-secret", chunk)
    conn = open_conn(endpoint)
    try:
        r = send(conn, "PUT", path, hdrs, body)
    finally:
        conn.close()
    assert r.status == 403, r.body
    assert r.error()["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad-chunk-sig")


def test_copy_object_works_or_is_refused(s3, bucket):
    """CopyObject (awscli cp/mv between keys) must copy, or answer an error;
    never a 200 that stores an empty object."""
    data = os.urandom(100 * KiB)
    s3.put_object(Bucket=bucket, Key="src", Body=data, ContentType="text/x-src")
    try:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    except ClientError as e:
        assert error_code(e) == "NotImplemented", e.response["Error"]
        with pytest.raises(ClientError):
            s3.head_object(Bucket=bucket, Key="dst")
        return
    g = s3.get_object(Bucket=bucket, Key="dst")
    assert g["Body"].read() == data
    assert g["ContentType"] == "text/x-src"


def test_upload_part_copy_works_or_is_refused(s3, bucket):
    data = os.urandom(5 * MiB + 10)
    s3.put_object(Bucket=bucket, Key="src", Body=data)
    up = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    try:
        r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=up, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "src"})
    except ClientError as e:
        assert error_code(e) == "NotImplemented", e.response["Error"]
        parts = s3.list_parts(Bucket=bucket, Key="dst", UploadId=up).get("Parts", [])
        assert parts == [], "a refused UploadPartCopy left a part behind"
        return
    etag = r["CopyPartResult"]["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == data


def test_delete_objects_works_or_is_refused(s3, bucket):
    keys = [f"multi-del/{i}" for i in range(5)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    try:
        r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[:3]] +
                                                     [{"Key": "multi-del/never-existed"}]})
    except ClientError as e:
        assert error_code(e) == "NotImplemented", e.response["Error"]
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 5
        return
    assert sorted(d["Key"] for d in r.get("Deleted", [])) == sorted(keys[:3] + ["multi-del/never-existed"])
    assert not r.get("Errors")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == keys[3:]


def test_dot_segments_are_literal_key_characters(endpoint, s3, bucket, unique_name):
    """S3 keys are opaque: '/b/x/../y' is key 'x/../y' in bucket b. A server
    that normalised the path would let one bucket's request write another's."""
    other = unique_name("other")
    s3.create_bucket(Bucket=other)
    try:
        for raw_key in ("x/../y", "../" + other + "/stolen", "./dot", "a/./b", ".."):
            path = "/" + bucket + "/" + raw_key
            r = raw_request(endpoint, "PUT", path, body=b"literal")
            assert r.status in (200, 400), (raw_key, r.status)
            if r.status == 200:
                assert s3.get_object(Bucket=bucket, Key=raw_key)["Body"].read() == b"literal"
        assert s3.list_objects_v2(Bucket=other)["KeyCount"] == 0, "a write escaped into another bucket"
        with pytest.raises(ClientError):
            s3.head_object(Bucket=bucket, Key="y")
    finally:
        from s3util import empty_and_delete_bucket
        empty_and_delete_bucket(s3, other)


def test_header_values_with_runs_of_spaces(s3, bucket):
    """SigV4 signs header values with runs of spaces collapsed; the server
    must canonicalise them the same way."""
    s3.put_object(Bucket=bucket, Key="spaces", Body=b"x",
                  Metadata={"note": "a   b  c", "lead": "  padded  "},
                  ContentDisposition='inline;   filename="a  b.txt"')
    h = s3.head_object(Bucket=bucket, Key="spaces")
    assert h["Metadata"]["note"].split() == ["a", "b", "c"]
    assert h["Metadata"]["lead"].strip() == "padded"
    assert h["ContentDisposition"].replace(" ", "") == 'inline;filename="ab.txt"'
