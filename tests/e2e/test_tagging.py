"""Object tagging: Put/Get/DeleteObjectTagging, x-amz-tagging on PUT,
CreateMultipartUpload and CopyObject, x-amz-tagging-count on GET/HEAD."""

from __future__ import annotations

import os

import pytest
from botocore.exceptions import ClientError

from s3util import MiB, encode_path, raw_request


def tags_of(s3, bucket, key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def tag_count(resp):
    return resp["ResponseMetadata"]["HTTPHeaders"].get("x-amz-tagging-count")


def test_put_get_delete_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert tags_of(s3, bucket, "k") == {}
    assert tag_count(s3.head_object(Bucket=bucket, Key="k")) is None
    tagset = [{"Key": "tier", "Value": "hot"}, {"Key": "ünï cödé", "Value": "a&b<c>=d"}, {"Key": "empty", "Value": ""}]
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tagset})
    assert tags_of(s3, bucket, "k") == {"tier": "hot", "ünï cödé": "a&b<c>=d", "empty": ""}
    assert tag_count(s3.head_object(Bucket=bucket, Key="k")) == "3"
    g = s3.get_object(Bucket=bucket, Key="k")
    assert g["TagCount"] == 3 and g["Body"].read() == b"x"
    # replaced whole, not merged
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "only", "Value": "1"}]})
    assert tags_of(s3, bucket, "k") == {"only": "1"}
    assert s3.delete_object_tagging(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(s3, bucket, "k") == {}
    # the body is untouched by all this
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_tagging_header_on_put(s3, bucket):
    s3.put_object(Bucket=bucket, Key="h", Body=b"x", Tagging="a=1&b%20c=d%26e&plus=x+y")
    assert tags_of(s3, bucket, "h") == {"a": "1", "b c": "d&e", "plus": "x y"}
    # an overwrite without tags has none
    s3.put_object(Bucket=bucket, Key="h", Body=b"y")
    assert tags_of(s3, bucket, "h") == {}


def test_tagging_on_multipart(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="project=stratum&kind=video")
    p = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=os.urandom(MiB))
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
    assert tags_of(s3, bucket, "mp") == {"project": "stratum", "kind": "video"}
    assert tag_count(s3.head_object(Bucket=bucket, Key="mp")) == "2"


def test_tagging_on_copy(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"s", Tagging="from=src")
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "src"})
    assert tags_of(s3, bucket, "copied") == {"from": "src"}
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "src"},
                   TaggingDirective="REPLACE", Tagging="new=1")
    assert tags_of(s3, bucket, "replaced") == {"new": "1"}


@pytest.mark.parametrize("tagset, code", [
    ([{"Key": f"k{i}", "Value": "v"} for i in range(11)], "BadRequest"),
    ([{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}], "InvalidTag"),
    ([{"Key": "k" * 129, "Value": "v"}], "InvalidTag"),
    ([{"Key": "k", "Value": "v" * 257}], "InvalidTag"),
])
def test_invalid_tags(s3, bucket, tagset, code):
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="keep=me")
    with pytest.raises(ClientError) as e:
        s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": tagset})
    assert e.value.response["Error"]["Code"] == code
    assert tags_of(s3, bucket, "t") == {"keep": "me"}


def test_invalid_tagging_header_stores_nothing(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"x", Tagging="a=1&a=2")
    assert e.value.response["Error"]["Code"] == "InvalidTag"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def test_tagging_missing_object(s3, bucket):
    for call in (lambda: s3.get_object_tagging(Bucket=bucket, Key="nope"),
                 lambda: s3.put_object_tagging(Bucket=bucket, Key="nope", Tagging={"TagSet": []}),
                 lambda: s3.delete_object_tagging(Bucket=bucket, Key="nope")):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "NoSuchKey"


def test_malformed_tagging_xml(endpoint, s3, bucket):
    s3.put_object(Bucket=bucket, Key="m", Body=b"x")
    r = raw_request(endpoint, "PUT", encode_path(bucket, "m"), query={"tagging": None}, body=b"<Tagging><TagSet>")
    assert r.status == 400 and r.error()["Code"] == "MalformedXML"


def test_awscli_tagging(aws, s3, bucket):
    s3.put_object(Bucket=bucket, Key="cli", Body=b"x")
    aws("s3api", "put-object-tagging", "--bucket", bucket, "--key", "cli",
        "--tagging", "TagSet=[{Key=env,Value=dev}]")
    out = aws("s3api", "get-object-tagging", "--bucket", bucket, "--key", "cli").stdout
    assert '"env"' in out and '"dev"' in out
