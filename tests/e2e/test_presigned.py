"""Presigned (query-string SigV4) URLs, as boto3 and `aws s3 presign` make them."""

import os
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from s3util import parse_error


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


def test_awscli_presign(aws, s3, bucket, tmp_path):
    """awscli 1.x presigns with SigV2 unless the profile asks for s3v4; the
    server speaks SigV4 only, so the profile here sets signature_version."""
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
