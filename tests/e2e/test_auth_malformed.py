"""Every malformed part of an Authorization header gets S3's error code,
never a 500 or a hang (the signature math itself is unit-tested in sigv4.rs
against AWS's published vectors)."""

from __future__ import annotations

import socket
import time

import pytest

NOW = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
DAY = NOW[:8]
GOOD_CRED = f"Credential=stratumadmin/{DAY}/us-east-1/s3/aws4_request"
SIG = "Signature=" + "0" * 64
SIGNED = "SignedHeaders=host;x-amz-content-sha256;x-amz-date"


def ask(server, authorization: str | None, date: str = NOW, extra: str = "") -> tuple[int, bytes]:
    head = (f"GET / HTTP/1.1\r\nhost: 127.0.0.1:{server.port}\r\nx-amz-date: {date}\r\n"
            "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nconnection: close\r\n" + extra)
    if authorization is not None:
        head += f"authorization: {authorization}\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall((head + "\r\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.parametrize("authorization,code", [
    (None, b"AccessDenied"),
    ("AWS4-HMAC-SHA256", b"AuthorizationHeaderMalformed"),
    (f"AWS4-HMAC-SHA256 {SIGNED}, {SIG}", b"AuthorizationHeaderMalformed"),
    (f"AWS4-HMAC-SHA256 {GOOD_CRED}, {SIG}", b"AuthorizationHeaderMalformed"),
    (f"AWS4-HMAC-SHA256 {GOOD_CRED}, {SIGNED}", b"AuthorizationHeaderMalformed"),
    (f"AWS4-HMAC-SHA256 Credential=stratumadmin/{DAY}/us-east-1/s3, {SIGNED}, {SIG}", b"AuthorizationHeaderMalformed"),
    (f"AWS4-HMAC-SHA256 Credential=stratumadmin/20200101/us-east-1/s3/aws4_request, {SIGNED}, {SIG}",
     b"AuthorizationHeaderMalformed"),
    (f"AWS4-HMAC-SHA256 Credential=stratumadmin/{DAY}/us-east-1/ec2/aws4_request, {SIGNED}, {SIG}",
     b"AuthorizationHeaderMalformed"),
    (f"AWS4-HMAC-SHA256 Credential=nobody/{DAY}/us-east-1/s3/aws4_request, {SIGNED}, {SIG}", b"InvalidAccessKeyId"),
    (f"AWS4-HMAC-SHA256 {GOOD_CRED}, {SIGNED}, {SIG}", b"SignatureDoesNotMatch"),
    # Host must be signed.
    (f"AWS4-HMAC-SHA256 {GOOD_CRED}, SignedHeaders=x-amz-content-sha256;x-amz-date, {SIG}",
     b"AuthorizationHeaderMalformed"),
    (f"AWS4-HMAC-SHA256 {GOOD_CRED}, SignedHeaders=host;x-amz-date;x-missing, {SIG}", b""),
    # SigV2 wants an HTTP date; this request's x-amz-date is SigV4's form.
    ("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", b"AWS authentication requires a valid Date"),
    ("AWS no-colon-here", b"InvalidArgument"),
    ("Bearer abc", b""),
])
def test_malformed_authorization(server, authorization, code):
    status, data = ask(server, authorization)
    assert 400 <= status < 500, data[:400]
    assert code in data, data[:600]


def test_bad_and_skewed_dates(server):
    cred = f"AWS4-HMAC-SHA256 {GOOD_CRED}, {SIGNED}, {SIG}"
    status, data = ask(server, cred, date="yesterday")
    assert 400 <= status < 500 and b"<Error>" in data, data[:400]
    old = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 20 * 60))
    old_cred = f"AWS4-HMAC-SHA256 Credential=stratumadmin/{old[:8]}/us-east-1/s3/aws4_request, {SIGNED}, {SIG}"
    status, data = ask(server, old_cred, date=old)
    assert status == 403 and b"RequestTimeTooSkewed" in data, data[:400]
