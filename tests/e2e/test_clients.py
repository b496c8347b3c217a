"""rclone and s3cmd (Debian's packages, installed by scripts/test.sh) and
awscli s3api against the real server: copy, sync, check, lsf, delete, with
files above the clients' multipart thresholds."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from s3util import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, KiB, MiB, REGION


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def local_tree(tmp_path) -> Path:
    """Small files, odd names, and two above the 5 MiB multipart cutoffs."""
    root = tmp_path / "src"
    files = {
        "small.txt": b"hello clients",
        "empty": b"",
        "dir/with space.bin": os.urandom(100 * KiB),
        "dir/ünï+cödé%.dat": os.urandom(3 * KiB),
        "dir/sub/deep.bin": os.urandom(70 * KiB),
        "video/big.mp4": os.urandom(12 * MiB + 17),
        "video/bigger.ts": os.urandom(17 * MiB + 5),
    }
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def runner(prefix: list[str], env: dict[str, str]):
    """Runs ``prefix + args``; a failure shows the command and its output."""
    def run(*args, check=True):
        cmd = [*prefix, *args]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} -> {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
        return p
    return run


# --------------------------------------------------------------------------
# rclone


@pytest.fixture
def rclone(server, tmp_path):
    if not shutil.which("rclone"):
        pytest.skip("rclone is not installed (scripts/test.sh installs it from Debian)")
    # AWS_* (e.g. AWS_CA_BUNDLE) would reach rclone's S3 SDK and break plain HTTP.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "AWS_"))}
    env.update({
        "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
        "RCLONE_CONFIG_ST_TYPE": "s3",
        "RCLONE_CONFIG_ST_PROVIDER": "Other",
        "RCLONE_CONFIG_ST_ACCESS_KEY_ID": server.access_key,
        "RCLONE_CONFIG_ST_SECRET_ACCESS_KEY": server.secret_key,
        "RCLONE_CONFIG_ST_ENDPOINT": server.endpoint,
        "RCLONE_CONFIG_ST_REGION": REGION,
        "RCLONE_CONFIG_ST_FORCE_PATH_STYLE": "true",
    })
    (tmp_path / "rclone.conf").write_text("")

    return runner(["rclone", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "--low-level-retries", "1",
                   "--retries", "1"], env)


def test_rclone_copy_check_lsf_sync_delete(rclone, s3, bucket, local_tree, tmp_path):
    remote = f"st:{bucket}/media"
    rclone("copy", str(local_tree), remote)
    listed = sorted(rclone("lsf", "-R", "--files-only", remote).stdout.splitlines())
    assert listed == sorted(tree(local_tree))
    rclone("check", str(local_tree), remote)  # sizes and hashes, both ways
    h = s3.head_object(Bucket=bucket, Key="media/video/bigger.ts")
    assert h["ETag"].endswith('-4"'), h["ETag"]  # 17 MiB in 5 MiB parts
    back = tmp_path / "back"
    rclone("copy", remote, str(back))
    assert tree(back) == tree(local_tree)
    # sync: a changed file, a new one, a removed one
    (local_tree / "small.txt").write_bytes(b"changed")
    (local_tree / "new.txt").write_bytes(b"new")
    (local_tree / "dir/sub/deep.bin").unlink()
    rclone("sync", str(local_tree), remote)
    rclone("check", str(local_tree), remote)
    assert s3.get_object(Bucket=bucket, Key="media/small.txt")["Body"].read() == b"changed"
    assert "dir/sub/deep.bin" not in rclone("lsf", "-R", remote).stdout
    # a server-side copy of a large object (UploadPartCopy) and of a small one
    rclone("copyto", f"{remote}/video/big.mp4", f"st:{bucket}/copies/big.mp4")
    rclone("copyto", f"{remote}/small.txt", f"st:{bucket}/copies/small.txt")
    rclone("check", "--one-way", str(local_tree / "video"), f"st:{bucket}/copies", "--include", "big.mp4")
    rclone("delete", remote)
    rclone("purge", f"st:{bucket}/copies")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_rclone_detects_a_difference(rclone, s3, bucket, local_tree):
    remote = f"st:{bucket}/d"
    rclone("copy", str(local_tree), remote)
    s3.put_object(Bucket=bucket, Key="d/small.txt", Body=b"tampered!!!!!")
    p = rclone("check", str(local_tree), remote, check=False)
    assert p.returncode != 0 and "small.txt" in p.stderr


# --------------------------------------------------------------------------
# s3cmd


@pytest.fixture
def s3cmd(server, tmp_path):
    if not shutil.which("s3cmd"):
        pytest.skip("s3cmd is not installed (scripts/test.sh installs it from Debian)")
    host = server.endpoint.split("//")[1]
    cfg = tmp_path / "s3cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {server.access_key}\nsecret_key = {server.secret_key}\n"
        f"host_base = {host}\nhost_bucket = {host}\n"
        f"bucket_location = {REGION}\nuse_https = False\nsignature_v2 = False\n"
        "multipart_chunk_size_mb = 5\ncheck_ssl_certificate = False\n")

    return runner(["s3cmd", "-c", str(cfg), "--no-progress"], {**os.environ, "HOME": str(tmp_path)})


def test_s3cmd_put_get_sync_ls_del(s3cmd, s3, bucket_name, local_tree, tmp_path):
    url = f"s3://{bucket_name}"
    s3cmd("mb", url)
    try:
        s3cmd("put", str(local_tree / "video/bigger.ts"), f"{url}/one/bigger.ts")  # multipart, 5 MiB chunks
        h = s3.head_object(Bucket=bucket_name, Key="one/bigger.ts")
        assert h["ContentLength"] == (local_tree / "video/bigger.ts").stat().st_size
        assert h["ETag"].endswith('-4"'), h["ETag"]
        got = tmp_path / "got.ts"
        s3cmd("get", f"{url}/one/bigger.ts", str(got))
        assert got.read_bytes() == (local_tree / "video/bigger.ts").read_bytes()
        s3cmd("sync", str(local_tree) + "/", f"{url}/tree/")
        listing = s3cmd("ls", "-r", f"{url}/tree/").stdout
        for name in tree(local_tree):
            assert f"{url}/tree/{name}" in listing, name
        back = tmp_path / "back"
        back.mkdir()
        s3cmd("sync", f"{url}/tree/", str(back) + "/")
        assert tree(back) == tree(local_tree)
        info = s3cmd("info", f"{url}/tree/small.txt").stdout
        assert hashlib.md5(b"hello clients").hexdigest() in info
        s3cmd("cp", f"{url}/tree/small.txt", f"{url}/copied.txt")
        assert s3.get_object(Bucket=bucket_name, Key="copied.txt")["Body"].read() == b"hello clients"
        s3cmd("del", "-r", "--force", f"{url}/")
        assert s3.list_objects_v2(Bucket=bucket_name).get("KeyCount", 0) == 0
    finally:
        for o in s3.list_objects_v2(Bucket=bucket_name).get("Contents", []):
            s3.delete_object(Bucket=bucket_name, Key=o["Key"])
        s3cmd("rb", url, check=False)
    assert bucket_name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


# --------------------------------------------------------------------------
# awscli s3api


def test_awscli_s3api_calls(aws, bucket, tmp_path):
    def api(*args):
        out = aws("s3api", *args).stdout
        return json.loads(out) if out.strip() else {}

    f = tmp_path / "part"
    f.write_bytes(os.urandom(5 * MiB))
    up = api("create-multipart-upload", "--bucket", bucket, "--key", "mp", "--tagging", "via=cli")
    part = api("upload-part", "--bucket", bucket, "--key", "mp", "--upload-id", up["UploadId"],
               "--part-number", "1", "--body", str(f))
    parts = api("list-parts", "--bucket", bucket, "--key", "mp", "--upload-id", up["UploadId"])
    assert [p["PartNumber"] for p in parts["Parts"]] == [1]
    done = tmp_path / "done.json"
    done.write_text(json.dumps({"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}))
    api("complete-multipart-upload", "--bucket", bucket, "--key", "mp", "--upload-id", up["UploadId"],
        "--multipart-upload", f"file://{done}")
    head = api("head-object", "--bucket", bucket, "--key", "mp")
    assert head["ContentLength"] == 5 * MiB and head["ETag"].endswith('-1"')
    api("copy-object", "--bucket", bucket, "--key", "mp-copy", "--copy-source", f"{bucket}/mp")
    assert api("get-object-tagging", "--bucket", bucket, "--key", "mp-copy")["TagSet"] == [
        {"Key": "via", "Value": "cli"}]
    out = tmp_path / "range"
    api("get-object", "--bucket", bucket, "--key", "mp-copy", "--range", "bytes=10-19", str(out))
    assert out.read_bytes() == f.read_bytes()[10:20]
    listed = api("list-objects-v2", "--bucket", bucket)
    assert sorted(o["Key"] for o in listed["Contents"]) == ["mp", "mp-copy"]
    deleted = api("delete-objects", "--bucket", bucket, "--delete",
                  json.dumps({"Objects": [{"Key": "mp"}, {"Key": "mp-copy"}]}))
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["mp", "mp-copy"]


def test_default_credentials_match(server):
    """The clients above use the server's dev credentials."""
    assert (server.access_key, server.secret_key) == (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)


# --------------------------------------------------------------------------
# s3fs (a bucket mounted as a filesystem through FUSE)


@pytest.fixture
def s3fs_mount(server, bucket, tmp_path):
    if not shutil.which("s3fs"):
        pytest.skip("s3fs is not installed (scripts/test.sh installs it from Debian)")
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        pytest.skip("no usable /dev/fuse here")
    passwd = tmp_path / "passwd"
    passwd.write_text(f"{server.access_key}:{server.secret_key}\n")
    passwd.chmod(0o600)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # No stat or data caching: each step below reaches the server.
    r = subprocess.run(["s3fs", bucket, str(mnt), "-o", f"passwd_file={passwd}", "-o", f"url={server.endpoint}",
                        "-o", "use_path_request_style", "-o", f"endpoint={REGION}", "-o", "stat_cache_expire=0",
                        "-o", "multipart_size=5", "-o", "dbglevel=warn"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip(f"s3fs cannot mount here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, timeout=30)


def test_s3fs_files_dirs_renames_and_modes(s3fs_mount: Path, s3, bucket):
    mnt = s3fs_mount
    big = os.urandom(12 * MiB + 5)
    (mnt / "big.bin").write_bytes(big)  # multipart
    (mnt / "dir" / "sub").mkdir(parents=True)
    (mnt / "dir" / "sub" / "note.txt").write_text("hello")
    (mnt / "dir" / "sub" / "note.txt").rename(mnt / "dir" / "moved.txt")  # copy, then delete
    (mnt / "dir" / "moved.txt").chmod(0o640)  # metadata replaced by a self-copy
    with open(mnt / "big.bin", "rb") as f:  # a range read in the middle
        f.seek(7 * MiB)
        assert f.read(1000) == big[7 * MiB:7 * MiB + 1000]

    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == big
    etag = s3.head_object(Bucket=bucket, Key="big.bin")["ETag"]
    assert int(etag.strip('"').rsplit("-", 1)[1]) >= 2, etag  # uploaded in parts
    assert s3.get_object(Bucket=bucket, Key="dir/moved.txt")["Body"].read() == b"hello"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert "dir/sub/note.txt" not in keys and {"big.bin", "dir/moved.txt"} <= keys
    assert sorted(p.name for p in (mnt / "dir").iterdir()) == ["moved.txt", "sub"]
    assert (mnt / "dir" / "moved.txt").stat().st_mode & 0o777 == 0o640

    (mnt / "big.bin").unlink()
    assert "big.bin" not in {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
