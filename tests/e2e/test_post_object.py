"""PostObject: browser form uploads authorized by a policy that boto3's
generate_presigned_post signs (SigV4), sent as multipart/form-data by
`requests` like a browser's form. The policy's conditions hold or the upload
is refused with S3's codes; nothing is stored by a refused upload."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import xml.etree.ElementTree as ET

import pytest
import requests


TAGGING = "<Tagging>\n  <TagSet><Tag><Key>kind</Key><Value>photo</Value></Tag></TagSet>\n</Tagging>"


def post(presigned, body, filename="photo.png", extra=None, file_type="image/png"):
    fields = dict(presigned["fields"])
    fields.update(extra or {})
    # The file goes last, as S3 requires (fields after it are ignored).
    return requests.post(presigned["url"], data=fields, files={"file": (filename, body, file_type)}, timeout=30)


def error_code(resp):
    return ET.fromstring(resp.content).findtext("Code")


def stored(s3, bucket):
    return {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_a_presigned_post_uploads_the_file(s3, bucket):
    body = os.urandom(300_000)
    presigned = s3.generate_presigned_post(
        bucket, "uploads/${filename}",
        Fields={"Content-Type": "image/png", "x-amz-meta-owner": "ada", "success_action_status": "201",
                "tagging": TAGGING},
        Conditions=[["starts-with", "$key", "uploads/"], {"Content-Type": "image/png"},
                    {"x-amz-meta-owner": "ada"}, {"success_action_status": "201"}, {"tagging": TAGGING},
                    ["content-length-range", 1, 1_000_000]],
        ExpiresIn=600)
    resp = post(presigned, body)
    assert resp.status_code == 201, resp.text
    doc = {el.tag.split("}")[-1]: el.text for el in ET.fromstring(resp.content)}
    assert doc["Key"] == "uploads/photo.png"
    assert doc["Bucket"] == bucket
    assert doc["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert doc["Location"] == resp.headers["Location"]
    got = s3.get_object(Bucket=bucket, Key="uploads/photo.png")
    assert got["Body"].read() == body
    assert got["ContentType"] == "image/png"
    assert got["Metadata"] == {"owner": "ada"}
    tags = s3.get_object_tagging(Bucket=bucket, Key="uploads/photo.png")["TagSet"]
    assert tags == [{"Key": "kind", "Value": "photo"}]


def test_the_default_answer_is_204_and_a_redirect_is_303(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "plain.txt", ExpiresIn=600)
    resp = post(presigned, b"hello", filename="x.txt", file_type="text/plain")
    assert resp.status_code == 204, resp.text
    assert resp.headers["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="plain.txt")["Body"].read() == b"hello"
    redirect = "https://example.com/done"
    presigned = s3.generate_presigned_post(bucket, "r.txt", Fields={"success_action_redirect": redirect},
                                           Conditions=[{"success_action_redirect": redirect}], ExpiresIn=600)
    resp = requests.post(presigned["url"], data=presigned["fields"], files={"file": ("r.txt", b"r")},
                         allow_redirects=False, timeout=30)
    assert resp.status_code == 303, resp.text
    assert resp.headers["Location"].startswith(f"{redirect}?bucket={bucket}&key=r.txt&etag=")


def test_the_policy_is_enforced(s3, bucket):
    presigned = s3.generate_presigned_post(
        bucket, "only/${filename}", Conditions=[["starts-with", "$key", "only/"], ["content-length-range", 10, 100]],
        ExpiresIn=600)
    too_big = post(presigned, b"x" * 101)
    assert (too_big.status_code, error_code(too_big)) == (400, "EntityTooLarge")
    too_small = post(presigned, b"x" * 9)
    assert (too_small.status_code, error_code(too_small)) == (400, "EntityTooSmall")
    elsewhere = post(presigned, b"x" * 50, extra={"key": "other/photo.png"})
    assert (elsewhere.status_code, error_code(elsewhere)) == (403, "AccessDenied")
    extra_field = post(presigned, b"x" * 50, extra={"x-amz-meta-sneaky": "1"})
    assert (extra_field.status_code, error_code(extra_field)) == (403, "AccessDenied")
    assert "Extra input fields" in extra_field.text
    # A value with a line break would become a header of the object.
    presigned_ct = s3.generate_presigned_post(bucket, "ct.txt", Conditions=[["starts-with", "$Content-Type", "text/"]],
                                              ExpiresIn=600)
    injected = post(presigned_ct, b"x", extra={"Content-Type": "text/plain\r\nSet-Cookie: s=evil"})
    assert (injected.status_code, error_code(injected)) == (400, "InvalidArgument")
    # One value per field: a condition checks the value that is stored.
    twice = requests.post(presigned["url"], timeout=30, files=[
        *[(k, (None, v)) for k, v in presigned["fields"].items()], ("key", (None, "only/x")),
        ("file", ("f", b"x" * 50))])
    assert (twice.status_code, error_code(twice)) == (400, "InvalidArgument")
    forged = dict(presigned, fields=dict(presigned["fields"], **{"x-amz-signature": "0" * 64}))
    bad_sig = post(forged, b"x" * 50)
    assert (bad_sig.status_code, error_code(bad_sig)) == (403, "SignatureDoesNotMatch")
    expired = s3.generate_presigned_post(bucket, "late.txt", ExpiresIn=-10)
    late = post(expired, b"x")
    assert (late.status_code, error_code(late)) == (403, "AccessDenied")
    assert "Policy expired" in late.text
    assert stored(s3, bucket) == {}, "nothing refused was stored"
    ok = post(presigned, b"x" * 50)
    assert ok.status_code == 204, ok.text
    assert stored(s3, bucket) == {"only/photo.png": 50}


def test_a_form_without_a_policy_or_file_is_refused(server, bucket):
    url = f"{server.endpoint}/{bucket}"
    anonymous = requests.post(url, data={"key": "k"}, files={"file": ("f", b"x")}, timeout=30)
    assert (anonymous.status_code, error_code(anonymous)) == (403, "AccessDenied")
    no_file = requests.post(url, files={"key": (None, "k"), "policy": (None, "e30=")}, timeout=30)
    assert (no_file.status_code, error_code(no_file)) == (400, "InvalidArgument")
    many = {f"x-ignore-{i}": (None, "") for i in range(2000)}
    many["file"] = ("f", b"x")
    flood = requests.post(url, files=many, timeout=30)
    assert (flood.status_code, error_code(flood)) == (400, "MaxPostPreDataLengthExceeded")
    garbage = requests.post(url, data=b"--x\r\nnot a part", headers={"Content-Type": "multipart/form-data; boundary=x"},
                            timeout=30)
    assert (garbage.status_code, error_code(garbage)) == (400, "MalformedPOSTRequest")


def test_a_sigv2_policy_is_taken_too(server, s3, bucket):
    policy = base64.b64encode(json.dumps({
        "expiration": (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5))
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [{"bucket": bucket}, {"key": "v2.bin"}]}).encode()).decode()
    signature = base64.b64encode(hmac.new(server.secret_key.encode(), policy.encode(), hashlib.sha1).digest()).decode()
    resp = requests.post(f"{server.endpoint}/{bucket}", timeout=30, data={
        "key": "v2.bin", "AWSAccessKeyId": server.access_key, "policy": policy, "signature": signature},
        files={"file": ("v2.bin", b"version two")})
    assert resp.status_code == 204, resp.text
    assert s3.get_object(Bucket=bucket, Key="v2.bin")["Body"].read() == b"version two"


def test_a_file_full_of_near_delimiters_arrives_whole(s3, bucket):
    """The file is split from the form only at the whole delimiter, wherever
    the body's reads happen to cut it (several MiB, so many reads)."""
    presigned = s3.generate_presigned_post(bucket, "tricky.bin", ExpiresIn=600)
    boundary = "StratumBoundary7"
    near = [b"\r\n--StratumBoundary", b"\r\n--", b"\r\n", b"--StratumBoundary7", b"\r\n--StratumBoundary6"]
    chunks, size = [], 0
    rng = __import__("random").Random(3)
    while size < 3 * 1024 * 1024:
        piece = rng.choice(near) if rng.random() < 0.3 else os.urandom(rng.randint(1, 70_000))
        chunks.append(piece)
        size += len(piece)
    data = b"".join(chunks) + b"\r\n--StratumBoundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in presigned["fields"].items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="t.bin"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    resp = requests.post(presigned["url"], data=body, timeout=60,
                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert resp.status_code == 204, resp.text
    assert s3.get_object(Bucket=bucket, Key="tricky.bin")["Body"].read() == data
