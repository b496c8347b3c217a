"""S3's limits, each refused with S3's own error: single PUT and part size
(checked before any body byte is read), part count, key length, user
metadata size, DeleteObjects batch size, listing parameters."""

from __future__ import annotations

import socket

import pytest
from botocore.exceptions import ClientError

from s3util import encode_path, parse_error, raw_request, sign_headers

GiB = 1024 ** 3
UNSIGNED = "UNSIGNED-PAYLOAD"


def code_of(e) -> str:
    return e.value.response["Error"]["Code"]


def head_only(endpoint, path, query, content_length):
    """Sends a signed PUT head announcing ``content_length`` bytes and no
    body; returns the answer, which must come before any body byte."""
    host, port = endpoint.split("//")[1].split(":")
    hdrs = sign_headers(endpoint, "PUT", path, query, {"Content-Length": str(content_length)}, payload_hash=UNSIGNED)
    head = f"PUT {path}{'?' + query if query else ''} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall((head + "\r\n").encode())
        data = b""
        try:
            while b"</Error>" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pytest.fail(f"no answer within 10 s to a {content_length}-byte PUT head: the server waits for the body")
    status = int(data.split(b" ", 2)[1])
    return status, parse_error(data.split(b"\r\n\r\n", 1)[1])


def test_put_over_5_gib_refused_before_the_body(endpoint, bucket):
    status, err = head_only(endpoint, encode_path(bucket, "huge"), "", 5 * GiB + 1)
    assert (status, err["Code"]) == (400, "EntityTooLarge")


def test_part_over_5_gib_refused_before_the_body(endpoint, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="huge-mp")["UploadId"]
    status, err = head_only(endpoint, encode_path(bucket, "huge-mp"), f"partNumber=1&uploadId={uid}", 5 * GiB + 1)
    assert (status, err["Code"]) == (400, "EntityTooLarge")
    s3.abort_multipart_upload(Bucket=bucket, Key="huge-mp", UploadId=uid)


def test_part_number_limit(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="many")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="many", UploadId=uid, PartNumber=10000, Body=b"last")
    for bad in (0, 10001):
        with pytest.raises(ClientError) as e:
            s3.upload_part(Bucket=bucket, Key="many", UploadId=uid, PartNumber=bad, Body=b"x")
        assert code_of(e) == "InvalidArgument"
    parts = [{"PartNumber": i, "ETag": '"00000000000000000000000000000000"'} for i in range(1, 10002)]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="many", UploadId=uid, MultipartUpload={"Parts": parts})
    assert code_of(e) in ("MalformedXML", "InvalidArgument")
    s3.abort_multipart_upload(Bucket=bucket, Key="many", UploadId=uid)


def test_entity_too_small_names_the_part(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="small", UploadId=uid, PartNumber=n, Body=b"x" * 1024)["ETag"]
             for n in (1, 2)]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": t} for n, t in zip((1, 2), etags)]})
    assert code_of(e) == "EntityTooSmall"
    s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=uid)


def test_key_length(s3, bucket):
    exact = "\u20ac" * 341 + "k"  # 3 * 341 + 1 = 1024 bytes
    assert len(exact.encode()) == 1024
    s3.put_object(Bucket=bucket, Key=exact, Body=b"ok")
    assert s3.get_object(Bucket=bucket, Key=exact)["Body"].read() == b"ok"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=exact + "k", Body=b"no")
    assert code_of(e) == "KeyTooLongError"
    with pytest.raises(ClientError) as e:
        s3.create_multipart_upload(Bucket=bucket, Key="k" * 1025)
    assert code_of(e) == "KeyTooLongError"


def test_user_metadata_size(s3, bucket):
    # names and values count, the x-amz-meta- prefix does not
    s3.put_object(Bucket=bucket, Key="meta-ok", Body=b"", Metadata={"a": "v" * 2047})
    assert len(s3.head_object(Bucket=bucket, Key="meta-ok")["Metadata"]["a"]) == 2047
    for call in (lambda: s3.put_object(Bucket=bucket, Key="meta-big", Body=b"", Metadata={"a": "v" * 2048}),
                 lambda: s3.create_multipart_upload(Bucket=bucket, Key="meta-big", Metadata={"ab": "v" * 2047}),
                 lambda: s3.copy_object(Bucket=bucket, Key="meta-big", CopySource={"Bucket": bucket, "Key": "meta-ok"},
                                        MetadataDirective="REPLACE", Metadata={"x": "v" * 3000})):
        with pytest.raises(ClientError) as e:
            call()
        assert code_of(e) == "MetadataTooLarge"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="meta-big")


def test_delete_objects_batch_limit(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k0", Body=b"x")
    keys = [{"Key": f"k{i}"} for i in range(1000)]
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    assert not r.get("Errors")
    with pytest.raises(ClientError) as e:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys + [{"Key": "one-more"}]})
    assert code_of(e) == "MalformedXML"


@pytest.mark.parametrize("query", [
    {"uploads": None, "max-uploads": "-1"},
    {"uploads": None, "max-uploads": "many"},
    {"list-type": "2", "max-keys": "1e3"},
    {"max-keys": "-5"},
    {"list-type": "2", "continuation-token": "!!not-base64!!"},
])
def test_invalid_listing_arguments(endpoint, bucket, query):
    r = raw_request(endpoint, "GET", encode_path(bucket), query=query)
    assert r.status == 400 and r.error()["Code"] == "InvalidArgument", (query, r.body[:300])


def test_invalid_max_parts(endpoint, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    for bad in ("-1", "ten"):
        r = raw_request(endpoint, "GET", encode_path(bucket, "mp"), query={"uploadId": uid, "max-parts": bad})
        assert r.status == 400 and r.error()["Code"] == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid)
