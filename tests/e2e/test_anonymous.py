"""`--anonymous`: unsigned requests served for local development, on
loopback only unless forced; `aws --no-sign-request` works end to end."""

from __future__ import annotations

import os
import subprocess

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from conftest import AwsCli, free_port, port_open, stratum_bin
from s3util import MiB, REGION, encode_path, raw_request


@pytest.fixture(scope="module")
def anon(tmp_path_factory):
    from conftest import ServerFactory
    factory = ServerFactory(tmp_path_factory.mktemp("anonymous"))
    yield factory.start(cores=2, extra=["--anonymous"])
    factory.cleanup()


def unsigned_client(endpoint):
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=REGION,
        config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"},
                      retries={"total_max_attempts": 1}))


def test_boto3_unsigned(anon):
    c = unsigned_client(anon.endpoint)
    c.create_bucket(Bucket="anon-boto")
    data = os.urandom(300_000)
    c.put_object(Bucket="anon-boto", Key="a/b", Body=data, ContentType="text/x-anon")
    assert c.get_object(Bucket="anon-boto", Key="a/b")["Body"].read() == data
    assert [o["Key"] for o in c.list_objects_v2(Bucket="anon-boto")["Contents"]] == ["a/b"]
    c.delete_object(Bucket="anon-boto", Key="a/b")
    c.delete_bucket(Bucket="anon-boto")


def test_a_form_upload_without_a_policy(anon):
    import requests
    c = unsigned_client(anon.endpoint)
    c.create_bucket(Bucket="anon-form")
    resp = requests.post(f"{anon.endpoint}/anon-form", data={"key": "f/${filename}"},
                         files={"file": ("a.txt", b"from a form", "text/plain")}, timeout=30)
    assert resp.status_code == 204, resp.text
    got = c.get_object(Bucket="anon-form", Key="f/a.txt")
    assert (got["Body"].read(), got["ContentType"]) == (b"from a form", "text/plain")
    c.delete_object(Bucket="anon-form", Key="f/a.txt")
    c.delete_bucket(Bucket="anon-form")


def test_signed_requests_still_verified(anon):
    """Anonymous mode does not turn a bad signature into a pass."""
    r = raw_request(anon.endpoint, "GET", "/", secret_key="wrong-secret")
    assert r.status == 403 and r.error()["Code"] == "SignatureDoesNotMatch"
    good = anon.client()
    good.create_bucket(Bucket="anon-signed")
    good.put_object(Bucket="anon-signed", Key="k", Body=b"signed")
    assert unsigned_client(anon.endpoint).get_object(Bucket="anon-signed", Key="k")["Body"].read() == b"signed"


def test_unsigned_body_hash_is_checked(anon):
    unsigned_client(anon.endpoint).create_bucket(Bucket="anon-hash")
    r = raw_request(anon.endpoint, "PUT", encode_path("anon-hash", "k"), body=b"body", sign=False,
                    headers={"x-amz-content-sha256": "0" * 64})
    assert r.status == 400 and r.error()["Code"] == "XAmzContentSHA256Mismatch"


def test_awscli_no_sign_request(anon, tmp_path):
    aws = AwsCli(anon.endpoint, "", "", tmp_path / "awshome")
    aws("--no-sign-request", "s3", "mb", "s3://anon-cli")
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello anonymous")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(17 * MiB))  # multipart with awscli's 8 MiB parts
    aws("--no-sign-request", "s3", "cp", "--no-progress", str(small), "s3://anon-cli/small.txt")
    aws("--no-sign-request", "s3", "cp", "--no-progress", str(big), "s3://anon-cli/big.bin")
    listing = aws("--no-sign-request", "s3", "ls", "s3://anon-cli/").stdout
    assert "small.txt" in listing and "big.bin" in listing
    out = tmp_path / "back.bin"
    aws("--no-sign-request", "s3", "cp", "--no-progress", "s3://anon-cli/big.bin", str(out))
    assert out.read_bytes() == big.read_bytes()
    head = aws("--no-sign-request", "s3api", "head-object", "--bucket", "anon-cli", "--key", "small.txt").stdout
    assert '"ContentLength": 15' in head
    aws("--no-sign-request", "s3", "rm", "--recursive", "s3://anon-cli/")
    aws("--no-sign-request", "s3", "rb", "s3://anon-cli")


def test_without_anonymous_unsigned_is_denied(endpoint):
    r = raw_request(endpoint, "GET", "/", sign=False)
    assert r.status == 403 and r.error()["Code"] == "AccessDenied"


def _serve(tmp_path, listen, *flags):
    return subprocess.Popen([stratum_bin(), "serve", "--listen", listen, "--data", str(tmp_path / "d"),
                             "--cores", "1", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={k: v for k, v in os.environ.items() if not k.startswith("STRATUM_")})


def test_anonymous_refused_off_loopback(tmp_path):
    p = _serve(tmp_path, f"0.0.0.0:{free_port()}", "--anonymous")
    out, _ = p.communicate(timeout=20)
    assert p.returncode != 0
    assert b"--anonymous-force" in out


def test_anonymous_forced_off_loopback(tmp_path):
    port = free_port()
    p = _serve(tmp_path, f"0.0.0.0:{port}", "--anonymous", "--anonymous-force")
    try:
        import time
        deadline = time.monotonic() + 20
        while not port_open(port) and time.monotonic() < deadline:
            assert p.poll() is None, p.stdout.read() if p.stdout else b""
            time.sleep(0.05)
        r = raw_request(f"http://127.0.0.1:{port}", "GET", "/", sign=False)
        assert r.status == 200
    finally:
        p.terminate()
        p.wait(timeout=30)
