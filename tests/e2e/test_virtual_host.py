"""Virtual-hosted-style addressing (`bucket.s3.test.internal/key`) for a
configured --domain, beside path style. The test resolves the domain's
names to 127.0.0.1 inside this process, so boto3 connects as it would to a
real wildcard DNS name."""

from __future__ import annotations

import os
import socket

import pytest
import requests

from s3util import make_client, parse_error

DOMAIN = "s3.test.internal"


@pytest.fixture(scope="module")
def vhost(tmp_path_factory):
    from conftest import ServerFactory
    real = socket.getaddrinfo

    def resolve(host, *args, **kw):
        if isinstance(host, str) and (host == DOMAIN or host.endswith("." + DOMAIN)):
            host = "127.0.0.1"
        return real(host, *args, **kw)

    socket.getaddrinfo = resolve
    factory = ServerFactory(tmp_path_factory.mktemp("vhost"))
    srv = factory.start(cores=2, extra=["--domain", DOMAIN, "--domain", "other.test.internal"])
    yield srv
    factory.cleanup()
    socket.getaddrinfo = real


def clients(srv):
    endpoint = f"http://{DOMAIN}:{srv.port}"
    return make_client(endpoint, s3={"addressing_style": "virtual"}), make_client(srv.endpoint)


def test_virtual_and_path_style_side_by_side(vhost):
    virtual, path = clients(vhost)
    virtual.create_bucket(Bucket="vbucket")
    keys = ["plain", "dir/sub/file.txt", "ünï cödé+%", "//double", "/lead"]
    for k in keys:
        r = virtual.put_object(Bucket="vbucket", Key=k, Body=k.encode())
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    for k in keys:
        assert path.get_object(Bucket="vbucket", Key=k)["Body"].read() == k.encode(), k
        assert virtual.get_object(Bucket="vbucket", Key=k)["Body"].read() == k.encode(), k
    listed = [o["Key"] for o in virtual.list_objects_v2(Bucket="vbucket")["Contents"]]
    assert sorted(listed) == sorted(keys, key=lambda k: k.encode())
    assert "vbucket" in [b["Name"] for b in virtual.list_buckets()["Buckets"]]


def test_virtual_multipart_and_presigned(vhost):
    virtual, _ = clients(vhost)
    virtual.create_bucket(Bucket="vmp")
    data = os.urandom(6 * 1024 * 1024)
    up = virtual.create_multipart_upload(Bucket="vmp", Key="big")
    p1 = virtual.upload_part(Bucket="vmp", Key="big", UploadId=up["UploadId"], PartNumber=1, Body=data[:5 << 20])
    p2 = virtual.upload_part(Bucket="vmp", Key="big", UploadId=up["UploadId"], PartNumber=2, Body=data[5 << 20:])
    virtual.complete_multipart_upload(Bucket="vmp", Key="big", UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
    url = virtual.generate_presigned_url("get_object", Params={"Bucket": "vmp", "Key": "big"}, ExpiresIn=60)
    assert url.startswith(f"http://vmp.{DOMAIN}:")
    r = requests.get(url, headers={"Range": "bytes=0-99"}, timeout=30)
    assert r.status_code == 206 and r.content == data[:100]


def test_unconfigured_host_is_path_style(vhost):
    """A bucket-looking host under no configured domain does not name a bucket."""
    _, path = clients(vhost)
    path.create_bucket(Bucket="pstyle")
    path.put_object(Bucket="pstyle", Key="k", Body=b"v")
    url = path.generate_presigned_url("get_object", Params={"Bucket": "pstyle", "Key": "k"}, ExpiresIn=60)
    r = requests.get(url, headers={"Host": f"pstyle.elsewhere.test:{vhost.port}"}, timeout=30)
    # Host is signed: path style still names the object, the signature still covers Host
    assert r.status_code == 403 and parse_error(r.content)["Code"] == "SignatureDoesNotMatch"
    assert requests.get(url, timeout=30).content == b"v"


def test_missing_virtual_bucket(vhost):
    virtual, _ = clients(vhost)
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as e:
        virtual.get_object(Bucket="no-such-vbucket", Key="k")
    assert e.value.response["Error"]["Code"] == "NoSuchBucket"


def test_virtual_host_sigv2(vhost):
    """SigV2 signs the Host's bucket before the path (`/bucket/key`): header
    auth and a presigned URL, both virtual-hosted."""
    endpoint = f"http://{DOMAIN}:{vhost.port}"
    v2 = make_client(endpoint, s3={"addressing_style": "virtual"}, signature_version="s3")
    v2.create_bucket(Bucket="vsig2")
    v2.put_object(Bucket="vsig2", Key="dir/ü k", Body=b"v2 hosted")
    assert v2.get_object(Bucket="vsig2", Key="dir/ü k")["Body"].read() == b"v2 hosted"
    assert [o["Key"] for o in v2.list_objects_v2(Bucket="vsig2")["Contents"]] == ["dir/ü k"]
    url = v2.generate_presigned_url("get_object", Params={"Bucket": "vsig2", "Key": "dir/ü k"}, ExpiresIn=60)
    assert "vsig2." + DOMAIN in url and "AWSAccessKeyId=" in url, url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == b"v2 hosted", r.content[:300]
    # the same signature does not open another bucket's object of that name
    other = url.replace("vsig2." + DOMAIN, "vmp." + DOMAIN)
    r = requests.get(other, timeout=30)
    assert r.status_code == 403 and parse_error(r.content)["Code"] == "SignatureDoesNotMatch"
