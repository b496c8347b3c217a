"""awscli 1.45 against the server: mb, cp up/down, ls, sync, rm, rb, s3api get-object --range."""

import hashlib
import json
import os
import time

import pytest

from s3util import KiB, MiB


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            h.update(chunk)
    return h.hexdigest()


def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(os.urandom(n))
            left -= n


def ls_lines(aws, url, *extra):
    out = aws("s3", "ls", url, *extra).stdout
    return [line for line in out.splitlines() if line.strip()]


@pytest.mark.timeout(300)
def test_mb_cp_roundtrip_ls_rm_rb(aws, tmp_path, bucket_name, s3):
    p = aws("s3", "mb", f"s3://{bucket_name}")
    assert f"make_bucket: {bucket_name}" in p.stdout
    assert any(b["Name"] == bucket_name for b in s3.list_buckets()["Buckets"])
    assert bucket_name in aws("s3", "ls").stdout

    sizes = {"zero": 0, "one-kib": KiB, "ten-mib": 10 * MiB, "hundred-mib": 100 * MiB}
    up = tmp_path / "up"
    down = tmp_path / "down"
    up.mkdir()
    down.mkdir()
    for name, size in sizes.items():
        write_random(up / name, size)
        aws("s3", "cp", "--no-progress", str(up / name), f"s3://{bucket_name}/files/{name}")

    for name, size in sizes.items():
        aws("s3", "cp", "--no-progress", f"s3://{bucket_name}/files/{name}", str(down / name))
        assert os.path.getsize(down / name) == size, name
        assert sha256_file(down / name) == sha256_file(up / name), f"{name}: downloaded bytes differ"

    # ls: one line per object with its size and name
    lines = ls_lines(aws, f"s3://{bucket_name}/files/")
    listed = {}
    for line in lines:
        parts = line.split()
        listed[parts[-1]] = int(parts[-2])
    assert listed == sizes
    # top-level ls shows the prefix as a PRE entry
    top = ls_lines(aws, f"s3://{bucket_name}/")
    assert [t.split() for t in top] == [["PRE", "files/"]]

    # rb on a non-empty bucket fails (BucketNotEmpty)
    p = aws("s3", "rb", f"s3://{bucket_name}", check=False)
    assert p.returncode != 0
    assert "BucketNotEmpty" in p.stderr

    p = aws("s3", "rm", "--recursive", f"s3://{bucket_name}/")
    assert p.stdout.count("delete:") == len(sizes)
    assert ls_lines(aws, f"s3://{bucket_name}/", "--recursive") == []
    assert s3.list_objects_v2(Bucket=bucket_name)["KeyCount"] == 0

    aws("s3", "rb", f"s3://{bucket_name}")
    assert not any(b["Name"] == bucket_name for b in s3.list_buckets()["Buckets"])
    p = aws("s3", "ls", f"s3://{bucket_name}", check=False)
    assert p.returncode != 0 and "NoSuchBucket" in p.stderr


@pytest.mark.timeout(300)
def test_sync_200_files(aws, tmp_path, bucket):
    src = tmp_path / "src"
    expected = {}
    for i in range(200):
        sub = src / f"d{i % 4}" if i % 5 else src
        sub.mkdir(parents=True, exist_ok=True)
        data = os.urandom(100 + i * 37)
        (sub / f"file-{i:03d}.bin").write_bytes(data)
        expected[str((sub / f"file-{i:03d}.bin").relative_to(src))] = data
        # an mtime in the past: Last-Modified has one-second granularity, and a
        # file written in the same second as its upload would look newer
        old = time.time() - 3600
        os.utime(sub / f"file-{i:03d}.bin", (old, old))

    p = aws("s3", "sync", "--no-progress", str(src), f"s3://{bucket}/sync/")
    assert p.stdout.count("upload:") == 200

    lines = ls_lines(aws, f"s3://{bucket}/sync/", "--recursive")
    assert len(lines) == 200
    names = {line.split()[-1][len("sync/"):] for line in lines}
    assert names == set(expected)

    # nothing changed: a second sync uploads nothing
    p = aws("s3", "sync", "--no-progress", str(src), f"s3://{bucket}/sync/")
    assert "upload:" not in p.stdout, p.stdout[:2000]

    # one file changed: exactly one upload
    changed = next(iter(sorted(expected)))
    (src / changed).write_bytes(b"changed and longer " * 50)
    p = aws("s3", "sync", "--no-progress", str(src), f"s3://{bucket}/sync/")
    assert p.stdout.count("upload:") == 1, p.stdout
    expected[changed] = (src / changed).read_bytes()

    # and back down: every byte equal
    dst = tmp_path / "dst"
    p = aws("s3", "sync", "--no-progress", f"s3://{bucket}/sync/", str(dst))
    assert p.stdout.count("download:") == 200
    for rel, data in expected.items():
        assert (dst / rel).read_bytes() == data, rel

    aws("s3", "rm", "--recursive", f"s3://{bucket}/sync/")
    assert ls_lines(aws, f"s3://{bucket}/", "--recursive") == []


def test_s3api_get_object_range(aws, tmp_path, bucket, s3):
    data = os.urandom(3 * MiB + 333)
    src = tmp_path / "obj"
    src.write_bytes(data)
    aws("s3", "cp", str(src), f"s3://{bucket}/ranged")

    cases = [(0, 0), (100, 199), (MiB - 5, MiB + 5), (len(data) - 10, len(data) - 1)]
    for i, (a, b) in enumerate(cases):
        out = tmp_path / f"range{i}"
        p = aws("s3api", "get-object", "--bucket", bucket, "--key", "ranged",
                "--range", f"bytes={a}-{b}", str(out))
        meta = json.loads(p.stdout)
        assert meta["ContentRange"] == f"bytes {a}-{b}/{len(data)}"
        assert meta["ContentLength"] == b - a + 1
        assert out.read_bytes() == data[a:b + 1], (a, b)

    out = tmp_path / "suffix"
    aws("s3api", "get-object", "--bucket", bucket, "--key", "ranged", "--range", "bytes=-1000", str(out))
    assert out.read_bytes() == data[-1000:]

    out = tmp_path / "open"
    aws("s3api", "get-object", "--bucket", bucket, "--key", "ranged",
        "--range", f"bytes={len(data) - 77}-", str(out))
    assert out.read_bytes() == data[-77:]

    p = aws("s3api", "get-object", "--bucket", bucket, "--key", "ranged",
            "--range", f"bytes={len(data)}-", str(tmp_path / "bad"), check=False)
    assert p.returncode != 0 and "InvalidRange" in p.stderr


def test_s3api_put_head_metadata(aws, tmp_path, bucket):
    src = tmp_path / "m"
    src.write_bytes(b"hello awscli")
    aws("s3api", "put-object", "--bucket", bucket, "--key", "meta/obj", "--body", str(src),
        "--content-type", "text/plain", "--metadata", "colour=blue,size=big")
    head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "meta/obj").stdout)
    assert head["ContentLength"] == 12
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"colour": "blue", "size": "big"}
    assert head["ETag"] == '"%s"' % hashlib.md5(b"hello awscli").hexdigest()


def test_cp_from_stdin_streams_multipart(aws, tmp_path, bucket, s3):
    import subprocess
    data = os.urandom(19 * MiB + 11)
    cmd = ["aws", "--endpoint-url", aws.endpoint, "s3", "cp", "-", f"s3://{bucket}/from-stdin"]
    p = subprocess.run(cmd, input=data, env=aws.env, capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    h = s3.head_object(Bucket=bucket, Key="from-stdin")
    assert h["ContentLength"] == len(data)
    assert h["ETag"].endswith('-3"'), h["ETag"]  # 8 MiB parts
    out = tmp_path / "back"
    aws("s3", "cp", "--no-progress", f"s3://{bucket}/from-stdin", str(out))
    assert out.read_bytes() == data
    # and to stdout
    p = subprocess.run(["aws", "--endpoint-url", aws.endpoint, "s3", "cp", f"s3://{bucket}/from-stdin", "-"],
                       env=aws.env, capture_output=True, timeout=300)
    assert p.returncode == 0 and p.stdout == data
