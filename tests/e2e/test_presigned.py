"""Presigned URLs, as boto3 (SigV4) and `aws s3 presign` (SigV2 by default) make them."""

import os
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from botocore.exceptions import ClientError

from s3util import make_client, parse_error


def test_presigned_get_and_put(s3, bucket):
    data = os.urandom(70_000)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre/put"}, ExpiresIn=300)
    r = requests.put(put_url, data=data, timeout=30)
    assert r.status_code == 200, r.text[:300]
    assert s3.get_object(Bucket=bucket, Key="pre/put")["Body"].read() == data

    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre/put"}, ExpiresIn=300)
    r = requests.get(get_url, timeout=30)
    assert r.status_code == 200
    assert r.content == data
    r = requests.get(get_url, headers={"Range": "bytes=10-19"}, timeout=30)
    assert r.status_code == 206 and r.content == data[10:20]


def test_presigned_odd_key(s3, bucket):
    key = "dir/ünï cödé+plus%pct"
    s3.put_object(Bucket=bucket, Key=key, Body=b"odd")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == b"odd"


def test_presigned_expired(s3, bucket):
    s3.put_object(Bucket=bucket, Key="exp", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "exp"}, ExpiresIn=1)
    time.sleep(2.5)
    r = requests.get(url, timeout=30)
    assert r.status_code == 403
    assert parse_error(r.content)["Code"] == "AccessDenied"


def _with_query(url, **changes):
    u = urlsplit(url)
    q = dict(parse_qsl(u.query, keep_blank_values=True))
    q.update(changes)
    return urlunsplit(u._replace(query=urlencode(q)))


def test_presigned_tampered(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=300)
    # another key with a's signature
    r = requests.get(url.replace(f"/{bucket}/a?", f"/{bucket}/b?"), timeout=30)
    assert r.status_code == 403
    assert parse_error(r.content)["Code"] == "SignatureDoesNotMatch"
    # a longer expiry than was signed
    r = requests.get(_with_query(url, **{"X-Amz-Expires": "3600"}), timeout=30)
    assert r.status_code == 403
    assert parse_error(r.content)["Code"] == "SignatureDoesNotMatch"
    # the wrong method
    r = requests.put(url, data=b"overwrite", timeout=30)
    assert r.status_code == 403
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"a"


def test_presigned_wrong_secret(endpoint, bucket, s3):
    from s3util import make_client
    s3.put_object(Bucket=bucket, Key="s", Body=b"s")
    bad = make_client(endpoint, "stratumadmin", "not-the-secret")
    url = bad.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "s"}, ExpiresIn=300)
    r = requests.get(url, timeout=30)
    assert r.status_code == 403
    assert parse_error(r.content)["Code"] == "SignatureDoesNotMatch"


def test_awscli_presign_sigv2_default(aws, s3, bucket):
    """awscli 1.x presigns with SigV2 unless the profile asks for s3v4."""
    s3.put_object(Bucket=bucket, Key="cli v2/ü+x", Body=b"signed the old way")
    url = aws("s3", "presign", f"s3://{bucket}/cli v2/ü+x", "--expires-in", "120").stdout.strip()
    assert "AWSAccessKeyId=" in url and "X-Amz-Signature" not in url, url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == b"signed the old way", (url, r.content[:500])
    r = requests.get(url, headers={"Range": "bytes=4-9"}, timeout=30)
    assert r.status_code == 206 and r.content == b"ed the"
    # the method, the path and the expiry are signed
    assert requests.head(url, timeout=30).status_code == 403
    other = url.replace("/cli%20v2/", "/cli%20v3/")
    r = requests.get(other, timeout=30)
    assert r.status_code == 403 and parse_error(r.content)["Code"] == "SignatureDoesNotMatch"
    r = requests.get(_with_query(url, Expires=str(int(time.time()) + 600)), timeout=30)
    assert r.status_code == 403 and parse_error(r.content)["Code"] == "SignatureDoesNotMatch"
    short = aws("s3", "presign", f"s3://{bucket}/cli v2/ü+x", "--expires-in", "1").stdout.strip()
    time.sleep(2.5)
    r = requests.get(short, timeout=30)
    assert r.status_code == 403 and parse_error(r.content)["Code"] == "AccessDenied"


def test_boto3_sigv2_header_auth(server, bucket):
    """boto3 with signature_version "s3" signs `Authorization: AWS key:sig`."""
    v2 = make_client(server.endpoint, server.access_key, server.secret_key, signature_version="s3")
    data = os.urandom(100_000)
    v2.put_object(Bucket=bucket, Key="v2/obj", Body=data, ContentType="application/x-test",
                  Metadata={"who": "v2"})
    got = v2.get_object(Bucket=bucket, Key="v2/obj")
    assert got["Body"].read() == data and got["Metadata"] == {"who": "v2"}
    assert [o["Key"] for o in v2.list_objects_v2(Bucket=bucket, Prefix="v2/")["Contents"]] == ["v2/obj"]
    # sub-resources (?uploads, ?partNumber&uploadId) are part of what is signed
    part = os.urandom(5 * 1024 * 1024)
    up = v2.create_multipart_upload(Bucket=bucket, Key="v2/multi")["UploadId"]
    etags = [v2.upload_part(Bucket=bucket, Key="v2/multi", UploadId=up, PartNumber=n, Body=part)["ETag"]
             for n in (1, 2)]
    v2.complete_multipart_upload(Bucket=bucket, Key="v2/multi", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags)]})
    assert v2.get_object(Bucket=bucket, Key="v2/multi")["Body"].read() == part + part
    v2.delete_object(Bucket=bucket, Key="v2/obj")
    wrong = make_client(server.endpoint, server.access_key, "not-the-secret", signature_version="s3")
    with pytest.raises(ClientError) as e:
        wrong.get_object(Bucket=bucket, Key="v2/obj")
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_awscli_presign(aws, s3, bucket, tmp_path):
    """With signature_version = s3v4 in the profile, awscli presigns SigV4."""
    s3.put_object(Bucket=bucket, Key="cli", Body=b"from the cli")
    cfg = tmp_path / "presign-config"
    cfg.write_text("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"
                   "    signature_version = s3v4\n")
    aws.env["AWS_CONFIG_FILE"] = str(cfg)
    url = aws("s3", "presign", f"s3://{bucket}/cli", "--expires-in", "120").stdout.strip()
    assert "X-Amz-Signature=" in url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == b"from the cli", (url, r.content[:500])


def test_presigned_head(s3, bucket):
    s3.put_object(Bucket=bucket, Key="h", Body=b"12345", ContentType="text/plain")
    url = s3.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "h"}, ExpiresIn=300)
    r = requests.head(url, timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "5" and r.headers["Content-Type"] == "text/plain"
    # a GET URL does not authorise a HEAD: the method is signed
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "h"}, ExpiresIn=300)
    assert requests.head(get_url, timeout=30).status_code == 403


def test_presigned_put_with_content_type(s3, bucket):
    """A signed header must be sent as signed; another value fails."""
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "ct", "ContentType": "video/mp4"},
                                    ExpiresIn=300)
    r = requests.put(url, data=b"mp4", headers={"Content-Type": "video/mp4"}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    assert s3.head_object(Bucket=bucket, Key="ct")["ContentType"] == "video/mp4"
    r = requests.put(url, data=b"other", headers={"Content-Type": "text/html"}, timeout=30)
    assert r.status_code == 403
    assert parse_error(r.content)["Code"] == "SignatureDoesNotMatch"
    assert s3.get_object(Bucket=bucket, Key="ct")["Body"].read() == b"mp4"


def test_presigned_expired_message(s3, bucket):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "gone"}, ExpiresIn=1)
    time.sleep(2.5)
    r = requests.get(url, timeout=30)
    err = parse_error(r.content)
    assert (r.status_code, err["Code"], err["Message"]) == (403, "AccessDenied", "Request has expired")
    # an expired PUT leaves nothing behind
    put = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "late"}, ExpiresIn=1)
    time.sleep(2.5)
    r = requests.put(put, data=b"too late", timeout=30)
    assert r.status_code == 403 and parse_error(r.content)["Code"] == "AccessDenied"
    with pytest.raises(Exception) as e:
        s3.head_object(Bucket=bucket, Key="late")
    assert "404" in str(e.value)


def test_presigned_expiry_longer_than_a_week(s3, bucket):
    s3.put_object(Bucket=bucket, Key="week", Body=b"w")
    ok = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "week"}, ExpiresIn=604800)
    assert requests.get(ok, timeout=30).status_code == 200
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "week"}, ExpiresIn=604801)
    r = requests.get(url, timeout=30)
    err = parse_error(r.content)
    assert r.status_code in (400, 403), r.status_code
    assert err["Code"] == "AuthorizationQueryParametersError"
    assert "604800" in err["Message"]


def test_presigned_tampered_signature(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t", Body=b"t")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "t"}, ExpiresIn=300)
    sig = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    r = requests.get(_with_query(url, **{"X-Amz-Signature": flipped}), timeout=30)
    assert r.status_code == 403 and parse_error(r.content)["Code"] == "SignatureDoesNotMatch"
    # an added query parameter is not covered by the signature
    r = requests.get(_with_query(url, **{"response-content-type": "text/html"}), timeout=30)
    assert r.status_code == 403 and parse_error(r.content)["Code"] == "SignatureDoesNotMatch"


def test_presigned_override_params_signed(s3, bucket):
    """response-* overrides signed into the URL are honoured (browser downloads)."""
    s3.put_object(Bucket=bucket, Key="dl", Body=b"movie")
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": "dl", "ResponseContentDisposition": 'attachment; filename="m.mp4"',
                "ResponseContentType": "video/mp4"},
        ExpiresIn=300)
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == b"movie"
    assert r.headers["Content-Disposition"] == 'attachment; filename="m.mp4"'
    assert r.headers["Content-Type"] == "video/mp4"
