"""Multipart upload: create, upload, list, complete (ETag), abort (files gone),
errors, and boto3's managed upload_file."""

import os
import time

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from s3util import MiB, dir_bytes, error_code, http_status, md5_hex, multipart_etag


def upload_parts(s3, bucket, key, parts, upload_id=None):
    if upload_id is None:
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=i, Body=p)
        assert r["ETag"] == f'"{md5_hex(p)}"'
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    return upload_id, done


def test_full_cycle(s3, bucket):
    key = "big/multi.bin"
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(1234567)]
    r = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="video/mp4",
                                   Metadata={"origin": "multipart"})
    assert r["Bucket"] == bucket and r["Key"] == key and r["UploadId"]
    upload_id = r["UploadId"]
    _, done = upload_parts(s3, bucket, key, parts, upload_id)

    # not visible before completion
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key=key)
    assert http_status(ei.value) == 404
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0

    lp = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert lp["UploadId"] == upload_id
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in lp["Parts"]] == \
        [(i, f'"{md5_hex(p)}"', len(p)) for i, p in enumerate(parts, 1)]
    assert not lp["IsTruncated"]

    lp = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in lp["Parts"]] == [1, 2]
    assert lp["IsTruncated"] and int(lp["NextPartNumberMarker"]) == 2
    lp = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=2)
    assert [p["PartNumber"] for p in lp["Parts"]] == [3]

    lu = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in lu["Uploads"]] == [(key, upload_id)]

    c = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                     MultipartUpload={"Parts": done})
    assert c["ETag"] == multipart_etag(parts)
    assert c["Key"] == key and c["Bucket"] == bucket

    g = s3.get_object(Bucket=bucket, Key=key)
    body = g["Body"].read()
    assert len(body) == sum(map(len, parts))
    assert body == b"".join(parts)
    assert g["ETag"] == multipart_etag(parts)
    assert g["ContentType"] == "video/mp4"
    assert g["Metadata"] == {"origin": "multipart"}
    h = s3.head_object(Bucket=bucket, Key=key)
    assert h["ContentLength"] == len(body) and h["ETag"] == c["ETag"]

    # the upload is gone once completed
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(ClientError) as ei:
        s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert error_code(ei.value) == "NoSuchUpload"
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [(key, len(body), c["ETag"])]


def test_single_part_upload(s3, bucket):
    data = os.urandom(100)  # the only (= last) part may be small
    upload_id, done = upload_parts(s3, bucket, "one", [data])
    c = s3.complete_multipart_upload(Bucket=bucket, Key="one", UploadId=upload_id,
                                     MultipartUpload={"Parts": done})
    assert c["ETag"] == multipart_etag([data])
    assert s3.get_object(Bucket=bucket, Key="one")["Body"].read() == data


def test_reuploaded_part_replaces(s3, bucket):
    key = "re"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    first = os.urandom(5 * MiB)
    second = os.urandom(5 * MiB)
    tail = os.urandom(10)
    e_first = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=first)["ETag"]
    e_second = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=second)["ETag"]
    e_tail = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=2, Body=tail)["ETag"]
    lp = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in lp] == [(1, e_second), (2, e_tail)]

    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e_first}, {"PartNumber": 2, "ETag": e_tail}]})
    assert error_code(ei.value) == "InvalidPart"

    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e_second}, {"PartNumber": 2, "ETag": e_tail}]})
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == second + tail


def test_complete_with_a_subset_of_parts(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(1000)]
    upload_id, done = upload_parts(s3, bucket, "subset", parts)
    c = s3.complete_multipart_upload(Bucket=bucket, Key="subset", UploadId=upload_id,
                                     MultipartUpload={"Parts": [done[0], done[2]]})
    assert c["ETag"] == multipart_etag([parts[0], parts[2]])
    assert s3.get_object(Bucket=bucket, Key="subset")["Body"].read() == parts[0] + parts[2]


def test_invalid_part_wrong_etag(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(100)]
    upload_id, done = upload_parts(s3, bucket, "k", parts)
    bad = [done[0], {"PartNumber": 2, "ETag": '"0123456789abcdef0123456789abcdef"'}]
    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": bad})
    assert error_code(ei.value) == "InvalidPart"
    assert http_status(ei.value) == 400
    # a part number never uploaded
    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={
            "Parts": done + [{"PartNumber": 7, "ETag": done[1]["ETag"]}]})
    assert error_code(ei.value) == "InvalidPart"
    # the upload survives failed completions and can still complete
    c = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": done})
    assert c["ETag"] == multipart_etag(parts)


def test_invalid_part_order(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB)]
    upload_id, done = upload_parts(s3, bucket, "k", parts)
    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": [done[1], done[0]]})
    assert error_code(ei.value) == "InvalidPartOrder"
    assert http_status(ei.value) == 400
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="k")
    assert http_status(ei.value) == 404


def test_entity_too_small(s3, bucket):
    parts = [os.urandom(MiB), os.urandom(MiB)]
    upload_id, done = upload_parts(s3, bucket, "k", parts)
    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": done})
    assert error_code(ei.value) == "EntityTooSmall"
    assert http_status(ei.value) == 400
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="k")
    assert http_status(ei.value) == 404


def test_no_such_upload(s3, bucket):
    bogus = "this-upload-id-does-not-exist"
    calls = [
        lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId=bogus, PartNumber=1, Body=b"x"),
        lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId=bogus),
        lambda: s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=bogus, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"0123456789abcdef0123456789abcdef"'}]}),
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=bogus),
    ]
    for call in calls:
        with pytest.raises(ClientError) as ei:
            call()
        assert error_code(ei.value) == "NoSuchUpload"
        assert http_status(ei.value) == 404

    # an upload id is bound to its key
    up = s3.create_multipart_upload(Bucket=bucket, Key="real")["UploadId"]
    with pytest.raises(ClientError) as ei:
        s3.upload_part(Bucket=bucket, Key="other-key", UploadId=up, PartNumber=1, Body=b"x")
    assert error_code(ei.value) == "NoSuchUpload"


def test_invalid_part_number(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    for n in (0, 10001):
        with pytest.raises(ClientError) as ei:
            s3.upload_part(Bucket=bucket, Key="k", UploadId=up, PartNumber=n, Body=b"x")
        assert http_status(ei.value) == 400
        assert error_code(ei.value) == "InvalidArgument"


def wait_for(pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def test_abort_removes_upload_and_part_files(server_factory):
    # A server of its own: the shared one's data directory also moves with
    # other tests' deletes and freed files.
    server = server_factory.start(cores=2)
    s3, bucket = server.client(), "abort"
    s3.create_bucket(Bucket=bucket)
    baseline = dir_bytes(server.data_dir)
    key = "to-abort"
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(3 * MiB)]
    upload_id, _ = upload_parts(s3, bucket, key, parts)
    grown = dir_bytes(server.data_dir)
    assert grown - baseline >= 12 * MiB, f"parts are not on disk under {server.data_dir}?"

    r = s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    assert http_status(r) == 204
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(ClientError) as ei:
        s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert error_code(ei.value) == "NoSuchUpload"
    with pytest.raises(ClientError) as ei:
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=4, Body=b"x")
    assert error_code(ei.value) == "NoSuchUpload"
    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": f'"{md5_hex(parts[0])}"'}]})
    assert error_code(ei.value) == "NoSuchUpload"
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key=key)
    assert http_status(ei.value) == 404

    slack = 2 * MiB
    ok = wait_for(lambda: dir_bytes(server.data_dir) - baseline < slack)
    assert ok, (f"data dir still holds {(dir_bytes(server.data_dir) - baseline) / MiB:.1f} MiB "
                f"more than before the upload after abort")


def test_list_multipart_uploads(s3, bucket):
    ids = {}
    for key in ("logs/a", "logs/b", "img/c", "logs/a"):
        ids.setdefault(key, []).append(s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
    assert len(set(ids["logs/a"])) == 2, "each CreateMultipartUpload gets its own id"
    lu = s3.list_multipart_uploads(Bucket=bucket)
    got = [(u["Key"], u["UploadId"]) for u in lu["Uploads"]]
    assert sorted(got) == sorted((k, i) for k, v in ids.items() for i in v)
    assert [k for k, _ in got] == sorted(k for k, _ in got), "uploads are listed in key order"
    for u in lu["Uploads"]:
        assert u["Initiated"]
    lu = s3.list_multipart_uploads(Bucket=bucket, Prefix="logs/")
    assert sorted(u["Key"] for u in lu["Uploads"]) == ["logs/a", "logs/a", "logs/b"]
    lu = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert sorted(p["Prefix"] for p in lu.get("CommonPrefixes", [])) == ["img/", "logs/"]


def test_upload_file_managed_23mib(s3, bucket, tmp_path):
    src = tmp_path / "src.bin"
    data = os.urandom(23 * MiB)
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_file(str(src), bucket, "managed.bin", Config=cfg)
    h = s3.head_object(Bucket=bucket, Key="managed.bin")
    assert h["ContentLength"] == len(data)
    chunks = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    assert len(chunks) == 5
    assert h["ETag"] == multipart_etag(chunks)
    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, "managed.bin", str(dst), Config=cfg)  # ranged, concurrent GETs
    assert dst.read_bytes() == data


def test_multipart_over_existing_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"old small object")
    parts = [os.urandom(5 * MiB), os.urandom(7)]
    upload_id, done = upload_parts(s3, bucket, "k", parts)
    # the old object stays readable while the upload is in progress
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old small object"
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": done})
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"".join(parts)


def test_upload_part_content_md5(s3, bucket):
    import base64
    import hashlib
    up = s3.create_multipart_upload(Bucket=bucket, Key="md5")["UploadId"]
    data = os.urandom(MiB)
    ok = s3.upload_part(Bucket=bucket, Key="md5", UploadId=up, PartNumber=1, Body=data,
                        ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode())
    assert ok["ETag"] == f'"{md5_hex(data)}"'
    with pytest.raises(ClientError) as ei:
        s3.upload_part(Bucket=bucket, Key="md5", UploadId=up, PartNumber=2, Body=data,
                       ContentMD5=base64.b64encode(hashlib.md5(b"x").digest()).decode())
    assert error_code(ei.value) == "BadDigest"
    parts = s3.list_parts(Bucket=bucket, Key="md5", UploadId=up)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1]


def test_list_multipart_uploads_pagination(s3, bucket):
    made = []
    for k in ("a", "b", "b", "c", "d"):
        made.append((k, s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"]))
    seen, km, um = [], None, None
    for _ in range(20):
        args = {"Bucket": bucket, "MaxUploads": 2}
        if km is not None:
            args.update(KeyMarker=km, UploadIdMarker=um)
        r = s3.list_multipart_uploads(**args)
        ups = r.get("Uploads", [])
        assert len(ups) <= 2
        seen += [(u["Key"], u["UploadId"]) for u in ups]
        if not r["IsTruncated"]:
            break
        km, um = r["NextKeyMarker"], r["NextUploadIdMarker"]
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(made), "an upload was listed twice"


@pytest.mark.timeout(120)
def test_abandoned_uploads_expire_and_free_their_parts(server_factory):
    """A client that opens uploads and walks away: expiry aborts them and
    their part files go (multipart_expiry_secs in stratum.toml)."""
    import time
    from s3util import dir_bytes
    srv, data_dir = server_factory.start_with_config("multipart_expiry_secs = 2\n")
    c = srv.client()
    c.create_bucket(Bucket="abandon")
    for i in range(5):
        upload = c.create_multipart_upload(Bucket="abandon", Key=f"walked-away-{i}")["UploadId"]
        c.upload_part(Bucket="abandon", Key=f"walked-away-{i}", UploadId=upload, PartNumber=1,
                      Body=os.urandom(2 * MiB))
    assert len(c.list_multipart_uploads(Bucket="abandon").get("Uploads", [])) == 5
    assert dir_bytes(data_dir) >= 10 * MiB
    deadline = time.monotonic() + 30
    while c.list_multipart_uploads(Bucket="abandon").get("Uploads"):
        assert time.monotonic() < deadline, "abandoned uploads never expired"
        time.sleep(0.5)
    while dir_bytes(data_dir) >= 2 * MiB:
        assert time.monotonic() < deadline, "expired uploads kept their parts on disk"
        time.sleep(0.5)
    c.delete_bucket(Bucket="abandon")  # nothing holds the bucket any more


def test_get_and_head_by_part_number(s3, bucket):
    """partNumber reads one part (a ranged GET of its bytes), as the AWS SDKs'
    multipart downloads do: first part 1, then up to x-amz-mp-parts-count."""
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 17), os.urandom(100_000)]
    upload_id, done = upload_parts(s3, bucket, "mp", parts)
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": done})
    size = sum(len(p) for p in parts)
    first = s3.get_object(Bucket=bucket, Key="mp", PartNumber=1)
    assert http_status(first) == 206
    assert first["PartsCount"] == 3
    assert first["ContentRange"] == f"bytes 0-{5 * MiB - 1}/{size}"
    got = [first["Body"].read()] + [
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=n)["Body"].read() for n in range(2, first["PartsCount"] + 1)]
    assert got == parts
    head = s3.head_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert (http_status(head), head["ContentLength"], head["PartsCount"]) == (206, len(parts[1]), 3)
    assert head["ContentRange"] == f"bytes {5 * MiB}-{10 * MiB + 16}/{size}"
    assert "PartsCount" not in s3.head_object(Bucket=bucket, Key="mp"), "only a part's answer counts the parts"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=4)
    assert (error_code(e.value), http_status(e.value)) == ("InvalidPartNumber", 416)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=2, Range="bytes=0-9")
    assert (error_code(e.value), http_status(e.value)) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=10_001)
    assert (error_code(e.value), http_status(e.value)) == ("InvalidArgument", 400)


def test_part_number_one_of_a_plain_object_is_all_of_it(s3, bucket):
    body = os.urandom(300_000)
    s3.put_object(Bucket=bucket, Key="plain", Body=body)
    got = s3.get_object(Bucket=bucket, Key="plain", PartNumber=1)
    assert (http_status(got), got["ContentRange"], got["Body"].read()) == (206, f"bytes 0-299999/300000", body)
    assert "PartsCount" not in got
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="plain", PartNumber=2)
    assert (error_code(e.value), http_status(e.value)) == ("InvalidPartNumber", 416)
