"""x-amz-storage-class: accepted with S3's spelling, kept with the object,
answered on GET and HEAD (not for STANDARD, as S3 does), shown in listings,
reset to STANDARD by a copy that names none, and changed by a copy onto
itself. Where it places the body on a tiered node: test_autotier.py."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


def class_of(s3, bucket, key):
    return s3.head_object(Bucket=bucket, Key=key).get("StorageClass")


def listed(s3, bucket):
    v2 = {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    v1 = {o["Key"]: o["StorageClass"] for o in s3.list_objects(Bucket=bucket)["Contents"]}
    assert v1 == v2
    return v2


def test_the_class_is_kept_answered_and_listed(s3, bucket):
    s3.put_object(Bucket=bucket, Key="default", Body=b"d")
    s3.put_object(Bucket=bucket, Key="standard", Body=b"s", StorageClass="STANDARD")
    s3.put_object(Bucket=bucket, Key="ia", Body=b"i" * 100_000, StorageClass="STANDARD_IA")
    s3.put_object(Bucket=bucket, Key="glacier-ir", Body=b"g", StorageClass="GLACIER_IR")
    assert class_of(s3, bucket, "default") is None
    assert class_of(s3, bucket, "standard") is None
    assert class_of(s3, bucket, "ia") == "STANDARD_IA"
    got = s3.get_object(Bucket=bucket, Key="glacier-ir")
    assert got["StorageClass"] == "GLACIER_IR"
    assert got["Body"].read() == b"g", "every class reads at once: there is no restore here"
    assert listed(s3, bucket) == {
        "default": "STANDARD", "standard": "STANDARD", "ia": "STANDARD_IA", "glacier-ir": "GLACIER_IR"}


@pytest.mark.parametrize("class_", ["FAST", "standard_ia", "OUTPOSTS", ""])
def test_a_class_s3_does_not_take_is_refused(s3, bucket, class_):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", StorageClass=class_)
    assert e.value.response["Error"]["Code"] == "InvalidStorageClass"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket), "nothing was stored"


def test_a_copy_is_standard_unless_it_names_a_class_and_a_copy_onto_itself_changes_it(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"body", StorageClass="STANDARD_IA", Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="plain", CopySource={"Bucket": bucket, "Key": "src"})
    assert class_of(s3, bucket, "plain") is None
    s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"}, StorageClass="GLACIER_IR")
    head = s3.head_object(Bucket=bucket, Key="src")
    assert head["StorageClass"] == "GLACIER_IR"
    assert head["Metadata"] == {"a": "1"}, "the metadata is copied as it was"
    assert s3.get_object(Bucket=bucket, Key="src")["Body"].read() == b"body"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert e.value.response["Error"]["Code"] == "InvalidRequest"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"}, StorageClass="GLACIER_IR")
    assert e.value.response["Error"]["Code"] == "InvalidRequest", "the same class is no change"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="bad", CopySource={"Bucket": bucket, "Key": "src"}, StorageClass="COLD")
    assert e.value.response["Error"]["Code"] == "InvalidStorageClass"


def test_a_multipart_upload_keeps_its_class(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", StorageClass="ONEZONE_IA")["UploadId"]
    listed_uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["StorageClass"]) for u in listed_uploads] == [("mp", "ONEZONE_IA")]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"p" * 1000)["ETag"]
    assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload)["StorageClass"] == "ONEZONE_IA"
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert class_of(s3, bucket, "mp") == "ONEZONE_IA"
    assert listed(s3, bucket) == {"mp": "ONEZONE_IA"}


def test_awscli_storage_class_option(aws, tmp_path, bucket):
    path = tmp_path / "f.bin"
    path.write_bytes(b"z" * 4096)
    aws("s3", "cp", "--no-progress", "--storage-class", "DEEP_ARCHIVE", str(path), f"s3://{bucket}/f.bin")
    head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "f.bin").stdout)
    assert head["StorageClass"] == "DEEP_ARCHIVE"
    out = json.loads(aws("s3api", "list-objects-v2", "--bucket", bucket).stdout)
    assert [o["StorageClass"] for o in out["Contents"]] == ["DEEP_ARCHIVE"]
    # awscli itself skips archive classes unless forced; the server reads
    # them at once (there is no restore step here).
    aws("s3", "cp", "--no-progress", "--force-glacier-transfer", f"s3://{bucket}/f.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == path.read_bytes()
