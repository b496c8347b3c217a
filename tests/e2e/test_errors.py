"""Every error is S3's XML with the right status; unknown operations answer
NotImplemented; SigV4 is checked for real."""

import os
import socket

import pytest
from botocore.exceptions import ClientError

from s3util import (
    EMPTY_SHA256,
    encode_path,
    error_code,
    http_status,
    make_client,
    md5_b64,
    open_conn,
    raw_request,
    send,
    sha256_hex,
    sign_headers,
)


@pytest.fixture
def errb(s3, bucket):
    s3.put_object(Bucket=bucket, Key="obj", Body=b"0123456789" * 10)
    return bucket


def check_error(r, status, code, resource_hint=None):
    assert r.status == status, f"expected {status} {code}, got {r.status}: {r.body[:300]!r}"
    err = r.error()
    assert err.get("Code") == code, err
    assert err.get("Message"), f"{code}: empty Message"
    assert "Resource" in err, f"{code}: no Resource element"
    if resource_hint:
        assert resource_hint in err["Resource"], (err["Resource"], resource_hint)
    assert err.get("RequestId"), f"{code}: no RequestId"
    assert r.request_id, f"{code}: no x-amz-request-id header"
    assert err["RequestId"] == r.request_id, "RequestId in the body matches x-amz-request-id"
    ct = r.header("Content-Type") or ""
    assert "xml" in ct, f"{code}: Content-Type {ct!r}"
    assert int(r.header("Content-Length", len(r.body))) == len(r.body)
    return err


CASES = {
    "NoSuchKey": ("GET", lambda b: encode_path(b, "missing-key"), None, {}, None, 404),
    "NoSuchBucket": ("GET", lambda b: encode_path(b + "-nope", "k"), None, {}, None, 404),
    "NoSuchBucket-list": ("GET", lambda b: encode_path(b + "-nope"), [("list-type", "2")], {}, None, 404),
    "BucketNotEmpty": ("DELETE", lambda b: encode_path(b), None, {}, None, 409),
    "InvalidBucketName": ("PUT", lambda b: encode_path("Bad_Bucket_" + b[-6:]), None, {}, None, 400),
    "BucketAlreadyOwnedByYou": ("PUT", lambda b: encode_path(b), None, {}, None, 409),
    "InvalidRange": ("GET", lambda b: encode_path(b, "obj"), None, {"Range": "bytes=1000-"}, None, 416),
    "PreconditionFailed": ("GET", lambda b: encode_path(b, "obj"), None,
                           {"If-Match": '"0123456789abcdef0123456789abcdef"'}, None, 412),
    "NoSuchUpload": ("PUT", lambda b: encode_path(b, "k"), [("partNumber", "1"), ("uploadId", "bogus")],
                     {}, b"x", 404),
    "BadDigest": ("PUT", lambda b: encode_path(b, "k"), None, {"Content-MD5": md5_b64(b"other")}, b"x", 400),
    "InvalidDigest": ("PUT", lambda b: encode_path(b, "k"), None, {"Content-MD5": "!!"}, b"x", 400),
    "InvalidArgument": ("GET", lambda b: encode_path(b), [("list-type", "2"), ("max-keys", "abc")], {}, None, 400),
}


@pytest.mark.parametrize("code", list(CASES))
def test_error_xml(endpoint, errb, code):
    method, path, query, headers, body, status = CASES[code]
    p = path(errb)
    r = raw_request(endpoint, method, p, query=query, headers=headers, body=body)
    err = check_error(r, status, code.split("-")[0])
    assert err["Resource"].startswith("/"), err["Resource"]


def test_head_error_has_no_body(endpoint, errb):
    r = raw_request(endpoint, "HEAD", encode_path(errb, "missing"))
    assert r.status == 404
    assert r.body == b""
    assert r.request_id


def test_malformed_complete_xml(endpoint, s3, errb):
    up = s3.create_multipart_upload(Bucket=errb, Key="mx")["UploadId"]
    r = raw_request(endpoint, "POST", encode_path(errb, "mx"), query=[("uploadId", up)],
                    body=b"<CompleteMultipartUpload><Part><PartNumber>1</Part>")
    check_error(r, 400, "MalformedXML")
    s3.abort_multipart_upload(Bucket=errb, Key="mx", UploadId=up)


# -- unknown operations


@pytest.mark.parametrize("method,query,body", [
    ("GET", [("torrent", None)], None),
    ("PUT", [("lifecycle", None)],
     b'<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled</Status><Filter/>'
     b'<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>'),
    ("GET", [("replication", None)], None),
    ("PUT", [("object-lock", None)], b"<ObjectLockConfiguration/>"),
    ("POST", [("select", None), ("select-type", "2")],
     b"<SelectObjectContentRequest><Expression>select * from s3object</Expression>"
     b"<ExpressionType>SQL</ExpressionType></SelectObjectContentRequest>"),
], ids=["torrent", "put-lifecycle", "replication", "object-lock", "select"])
def test_not_implemented(endpoint, errb, method, query, body):
    key = "obj" if query[0][0] in ("torrent", "select") else None
    r = raw_request(endpoint, method, encode_path(errb, key), query=query, body=body, timeout=10)
    check_error(r, 501, "NotImplemented")


def test_unknown_method(endpoint, errb):
    r = raw_request(endpoint, "PATCH", encode_path(errb, "obj"), body=b"x", timeout=10)
    assert r.status in (405, 501), r.status
    err = r.error()
    assert err["Code"] in ("MethodNotAllowed", "NotImplemented")


def test_lifecycle_via_boto3_not_a_hang(s3, errb):
    with pytest.raises(ClientError) as ei:
        s3.put_bucket_lifecycle_configuration(Bucket=errb, LifecycleConfiguration={"Rules": [{
            "ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]})
    assert error_code(ei.value) == "NotImplemented"
    assert http_status(ei.value) == 501


# -- auth


def test_wrong_secret_boto3(endpoint, errb):
    c = make_client(endpoint, "stratumadmin", "wrong-secret")
    with pytest.raises(ClientError) as ei:
        c.get_object(Bucket=errb, Key="obj")
    assert error_code(ei.value) == "SignatureDoesNotMatch"
    assert http_status(ei.value) == 403
    with pytest.raises(ClientError) as ei:
        c.put_object(Bucket=errb, Key="by-wrong-secret", Body=b"x")
    assert error_code(ei.value) == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as ei:
        c.list_buckets()
    assert error_code(ei.value) == "SignatureDoesNotMatch"


def test_wrong_secret_raw(endpoint, errb, s3):
    r = raw_request(endpoint, "PUT", encode_path(errb, "w"), body=b"data", secret_key="nope")
    check_error(r, 403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=errb, Key="w")


def test_unknown_access_key(endpoint, errb):
    r = raw_request(endpoint, "GET", encode_path(errb, "obj"), access_key="AKIAUNKNOWNKEY000000")
    check_error(r, 403, "InvalidAccessKeyId")
    c = make_client(endpoint, "AKIAUNKNOWNKEY000000", "stratumadmin")
    with pytest.raises(ClientError) as ei:
        c.list_buckets()
    assert error_code(ei.value) == "InvalidAccessKeyId"


@pytest.mark.parametrize("method,key,body", [("GET", "obj", None), ("PUT", "anon", b"x"), ("GET", None, None)])
def test_unsigned_request_denied(endpoint, errb, s3, method, key, body):
    r = raw_request(endpoint, method, encode_path(errb, key), body=body, sign=False)
    check_error(r, 403, "AccessDenied")
    r = raw_request(endpoint, "GET", "/", sign=False)
    check_error(r, 403, "AccessDenied")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=errb, Key="anon")


@pytest.mark.parametrize("offset_min", [-20, 20])
def test_request_time_too_skewed(endpoint, errb, offset_min):
    r = raw_request(endpoint, "GET", encode_path(errb, "obj"), time_offset=offset_min * 60)
    check_error(r, 403, "RequestTimeTooSkewed")


def test_small_skew_accepted(endpoint, errb):
    r = raw_request(endpoint, "GET", encode_path(errb, "obj"), time_offset=-10 * 60)
    assert r.status == 200
    r = raw_request(endpoint, "GET", encode_path(errb, "obj"), time_offset=10 * 60)
    assert r.status == 200


def test_content_sha256_mismatch(endpoint, errb, s3):
    data = os.urandom(5000)
    r = raw_request(endpoint, "PUT", encode_path(errb, "sha-bad"), body=data,
                    payload_hash=sha256_hex(data + b"x"))
    check_error(r, 400, "XAmzContentSHA256Mismatch")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=errb, Key="sha-bad")
    # and a large body (streamed, checked at the end)
    big = os.urandom(3 * 1024 * 1024)
    r = raw_request(endpoint, "PUT", encode_path(errb, "sha-bad-big"), body=big, payload_hash=EMPTY_SHA256)
    check_error(r, 400, "XAmzContentSHA256Mismatch")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=errb, Key="sha-bad-big")


def test_signature_covers_path_query_and_headers(endpoint, errb):
    good = encode_path(errb, "obj")
    # path changed after signing
    hdrs = sign_headers(endpoint, "GET", encode_path(errb, "other"))
    conn = open_conn(endpoint)
    try:
        r = send(conn, "GET", good, hdrs)
        check_error(r, 403, "SignatureDoesNotMatch")
    finally:
        conn.close()
    # signed header changed after signing
    hdrs = sign_headers(endpoint, "GET", good, "", {"Range": "bytes=0-1"})
    hdrs["Range"] = "bytes=0-50"
    r = _send_once(endpoint, "GET", good, hdrs)
    check_error(r, 403, "SignatureDoesNotMatch")
    # query added after signing
    hdrs = sign_headers(endpoint, "GET", encode_path(errb), "list-type=2")
    r = _send_once(endpoint, "GET", encode_path(errb) + "?list-type=2&prefix=o", hdrs)
    check_error(r, 403, "SignatureDoesNotMatch")
    # and the untampered request works
    r = _send_once(endpoint, "GET", good, sign_headers(endpoint, "GET", good))
    assert r.status == 200


def _send_once(endpoint, method, target, hdrs, body=None):
    conn = open_conn(endpoint)
    try:
        return send(conn, method, target, hdrs, body)
    finally:
        conn.close()


def test_malformed_authorization(endpoint, errb):
    for auth in ("AWS4-HMAC-SHA256 garbage", "Bearer abc", "AWS4-HMAC-SHA256 Credential=x, Signature=y"):
        hdrs = {"Host": endpoint.split("//")[1], "Authorization": auth, "x-amz-date": "20250101T000000Z",
                "x-amz-content-sha256": EMPTY_SHA256}
        r = _send_once(endpoint, "GET", encode_path(errb, "obj"), hdrs)
        assert r.status in (400, 403), (auth, r.status)
        assert r.error()["Code"], auth


def test_wrong_region_in_scope(endpoint, errb):
    hdrs = sign_headers(endpoint, "GET", encode_path(errb, "obj"))
    hdrs["Authorization"] = hdrs["Authorization"].replace("/us-east-1/", "/eu-west-1/")
    r = _send_once(endpoint, "GET", encode_path(errb, "obj"), hdrs)
    assert r.status in (400, 403), r.status
    assert r.error()["Code"] in ("AuthorizationHeaderMalformed", "SignatureDoesNotMatch")


def test_garbage_request_line_does_not_hurt(endpoint, errb, s3):
    host, port = endpoint.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        try:
            data = s.recv(1024)
        except socket.timeout:
            pytest.fail("server neither answered nor closed a garbage request within 10 s")
    assert data == b"" or data.startswith(b"HTTP/1.1 4"), data[:100]
    assert s3.get_object(Bucket=errb, Key="obj")["Body"].read() == b"0123456789" * 10


def test_oversized_request_head(endpoint, errb, s3):
    host, port = endpoint.split("//")[1].split(":")
    head = f"GET {encode_path(errb, 'obj')} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    head += "".join(f"x-filler-{i}: {'v' * 1000}\r\n" for i in range(200)) + "\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as s:
        try:
            s.sendall(head.encode())
        except OSError:
            pass  # the server may close before reading it all
        try:
            data = s.recv(1024)
        except socket.timeout:
            pytest.fail("no answer to a 200 KB request head within 10 s")
        except ConnectionResetError:
            data = b""
    assert data == b"" or data.split(b" ")[1][:1] == b"4", data[:100]
    assert s3.get_object(Bucket=errb, Key="obj")["Body"].read() == b"0123456789" * 10
