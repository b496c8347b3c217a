"""ListObjectsV2 and ListObjects (v1): prefix, delimiter, pagination, start-after,
fetch-owner, encoding-type=url, and the merge of every core's partition."""

import hashlib
import random
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote_plus

import pytest
from botocore.exceptions import ClientError

from s3util import (
    core_header,
    encode_path,
    error_code,
    raw_request,
    xml_children,
    xml_text,
)


def bsorted(keys):
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def put_all(s3, bucket, keys, body=lambda k: k.encode()):
    """PUTs every key (8 in parallel); returns {key: owner core}."""
    def one(k):
        r = s3.put_object(Bucket=bucket, Key=k, Body=body(k))
        hdr = r["ResponseMetadata"]["HTTPHeaders"]
        return k, hdr.get("x-stratum-core")
    with ThreadPoolExecutor(8) as ex:
        return dict(ex.map(one, keys))


def list_v2_all(s3, bucket, **kw):
    pages, token = [], None
    while True:
        args = dict(kw)
        if token:
            args["ContinuationToken"] = token
        r = s3.list_objects_v2(Bucket=bucket, **args)
        pages.append(r)
        if not r["IsTruncated"]:
            return pages
        token = r["NextContinuationToken"]
        assert len(pages) < 1000, "pagination does not end"


def keys_of(r):
    return [o["Key"] for o in r.get("Contents", [])]


def prefixes_of(r):
    return [p["Prefix"] for p in r.get("CommonPrefixes", [])]


def make_keys(n, seed=1):
    rnd = random.Random(seed)
    keys = set()
    seps = ["", "/", "-", ".", "_", "/x/", "0"]
    while len(keys) < n:
        h = hashlib.sha1(str(rnd.random()).encode()).hexdigest()
        keys.add(h[: rnd.randrange(1, 6)] + rnd.choice(seps) + h[10: 10 + rnd.randrange(0, 12)])
    return list(keys)


@pytest.fixture
def populated(s3, bucket):
    keys = make_keys(250)
    owners = put_all(s3, bucket, keys)
    return bucket, keys, owners


def test_v2_paginate_250_with_max_keys_7(s3, populated):
    bucket, keys, owners = populated
    # the keys really live on more than one core
    assert {core_header({"x-stratum-core": v})[1] for v in owners.values()} >= {0, 1}

    pages = list_v2_all(s3, bucket, MaxKeys=7)
    got = []
    for i, p in enumerate(pages):
        ks = keys_of(p)
        assert p["KeyCount"] == len(ks)
        assert p["MaxKeys"] == 7
        assert p["Name"] == bucket
        if i < len(pages) - 1:
            assert len(ks) == 7 and p["IsTruncated"] and p["NextContinuationToken"]
        else:
            assert not p["IsTruncated"] and "NextContinuationToken" not in p
        if i > 0:
            assert p["ContinuationToken"]
        got += ks
    assert len(pages) == (250 + 6) // 7
    assert got == bsorted(keys)

    # sizes and ETags are right in the listing
    for p in pages[:3]:
        for o in p["Contents"]:
            assert o["Size"] == len(o["Key"].encode())
            assert o["ETag"] == '"%s"' % hashlib.md5(o["Key"].encode()).hexdigest()
            assert o["LastModified"]


def test_v2_single_page_sorted(s3, populated):
    bucket, keys, _ = populated
    r = s3.list_objects_v2(Bucket=bucket)
    assert r["KeyCount"] == 250 and not r["IsTruncated"]
    assert keys_of(r) == bsorted(keys)


def test_v2_start_after(s3, populated):
    bucket, keys, _ = populated
    sk = bsorted(keys)
    pivot = sk[100]
    got = [k for p in list_v2_all(s3, bucket, StartAfter=pivot, MaxKeys=50) for k in keys_of(p)]
    assert got == sk[101:]
    # start-after a key that does not exist
    between = sk[10] + "\x01"
    got = [k for p in list_v2_all(s3, bucket, StartAfter=between) for k in keys_of(p)]
    assert got == [k for k in sk if k.encode() > between.encode()]
    r = s3.list_objects_v2(Bucket=bucket, StartAfter="\U0010ffff")
    assert r["KeyCount"] == 0 and not r["IsTruncated"]


def test_v2_prefix_with_pagination(s3, populated):
    bucket, keys, _ = populated
    sk = bsorted(keys)
    prefix = sk[len(sk) // 2][0]
    want = [k for k in sk if k.startswith(prefix)]
    assert len(want) > 3
    pages = list_v2_all(s3, bucket, Prefix=prefix, MaxKeys=3)
    assert [k for p in pages for k in keys_of(p)] == want
    assert all(p["Prefix"] == prefix for p in pages)


TREE = [
    "a-f", "a/b/c", "a/b/d", "a/e", "b", "c/d", "c/e/f", "c/e/g",
    "photos/2024/jan/1.jpg", "photos/2024/feb/2.jpg", "photos/index.html", "z",
]


@pytest.fixture
def tree(s3, bucket):
    put_all(s3, bucket, TREE)
    return bucket


def test_v2_delimiter(s3, tree):
    r = s3.list_objects_v2(Bucket=tree, Delimiter="/")
    assert keys_of(r) == ["a-f", "b", "z"]
    assert prefixes_of(r) == ["a/", "c/", "photos/"]
    assert r["KeyCount"] == 6
    assert r["Delimiter"] == "/"

    r = s3.list_objects_v2(Bucket=tree, Delimiter="/", Prefix="a/")
    assert keys_of(r) == ["a/e"]
    assert prefixes_of(r) == ["a/b/"]
    assert r["KeyCount"] == 2

    r = s3.list_objects_v2(Bucket=tree, Delimiter="/", Prefix="photos/2024/")
    assert keys_of(r) == []
    assert prefixes_of(r) == ["photos/2024/feb/", "photos/2024/jan/"]

    r = s3.list_objects_v2(Bucket=tree, Prefix="a")
    assert keys_of(r) == ["a-f", "a/b/c", "a/b/d", "a/e"]
    assert "CommonPrefixes" not in r or r["CommonPrefixes"] == []

    r = s3.list_objects_v2(Bucket=tree, Prefix="nothing-here", Delimiter="/")
    assert r["KeyCount"] == 0 and keys_of(r) == [] and prefixes_of(r) == []

    # a delimiter that is not '/'
    r = s3.list_objects_v2(Bucket=tree, Delimiter="e")
    want_prefixes = sorted({k[: k.index("e") + 1] for k in TREE if "e" in k})
    want_keys = [k for k in TREE if "e" not in k]
    assert prefixes_of(r) == bsorted(want_prefixes)
    assert keys_of(r) == bsorted(want_keys)


def test_v2_delimiter_pagination(s3, tree):
    """CommonPrefixes count towards max-keys and pages continue past them."""
    seq = []
    pages = list_v2_all(s3, tree, Delimiter="/", MaxKeys=1)
    for p in pages:
        entries = [("k", k) for k in keys_of(p)] + [("p", x) for x in prefixes_of(p)]
        assert p["KeyCount"] == len(entries) <= 1
        seq += entries
    assert seq == [("k", "a-f"), ("p", "a/"), ("k", "b"), ("p", "c/"), ("p", "photos/"), ("k", "z")]

    seq = []
    for p in list_v2_all(s3, tree, Delimiter="/", MaxKeys=2, Prefix="c/"):
        seq += keys_of(p) + prefixes_of(p)
    assert seq == ["c/d", "c/e/"]


def test_v2_fetch_owner(s3, tree):
    r = s3.list_objects_v2(Bucket=tree, FetchOwner=True)
    assert r["Contents"]
    for o in r["Contents"]:
        assert o.get("Owner", {}).get("ID"), o
    r = s3.list_objects_v2(Bucket=tree)
    for o in r["Contents"]:
        assert "Owner" not in o


ENC_KEYS = ["sp ace", "plus+sign", "pct%41", "ünïcödé", "amp&lt<gt>", "new\tline", "q?#", "ключ/файл"]


def test_v2_encoding_type_url_raw(endpoint, s3, bucket):
    put_all(s3, bucket, ENC_KEYS)
    r = raw_request(endpoint, "GET", encode_path(bucket),
                    query=[("list-type", "2"), ("encoding-type", "url")])
    assert r.status == 200, r.body
    root = r.xml()
    assert xml_text(root, "EncodingType") == "url"
    raw_keys = [xml_text(c, "Key") for c in xml_children(root, "Contents")]
    for k in raw_keys:
        assert " " not in k and "\t" not in k and all(ord(ch) < 128 for ch in k), f"not URL-encoded: {k!r}"
    assert [unquote_plus(k) for k in raw_keys] == bsorted(ENC_KEYS)

    # delimiter + prefixes are encoded too
    r = raw_request(endpoint, "GET", encode_path(bucket),
                    query=[("list-type", "2"), ("encoding-type", "url"), ("delimiter", "/")])
    root = r.xml()
    cps = [xml_text(c, "Prefix") for c in xml_children(root, "CommonPrefixes")]
    assert [unquote_plus(p) for p in cps] == ["ключ/"]
    assert all(ord(ch) < 128 for p in cps for ch in p)


def test_v2_plain_keys_are_xml_escaped(endpoint, s3, bucket):
    put_all(s3, bucket, ENC_KEYS)
    r = raw_request(endpoint, "GET", encode_path(bucket), query=[("list-type", "2")])
    assert r.status == 200
    keys = [xml_text(c, "Key") for c in xml_children(r.xml(), "Contents")]
    assert keys == bsorted(ENC_KEYS)


def test_v2_boto3_default_round_trips_odd_keys(s3, bucket):
    put_all(s3, bucket, ENC_KEYS)
    got = [k for p in list_v2_all(s3, bucket, MaxKeys=3) for k in keys_of(p)]
    assert got == bsorted(ENC_KEYS)
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert prefixes_of(r) == ["ключ/"]


def test_v1_marker_pagination(s3, populated):
    bucket, keys, _ = populated
    sk = bsorted(keys)
    got, marker, n = [], "", 0
    while True:
        r = s3.list_objects(Bucket=bucket, MaxKeys=11, Marker=marker)
        ks = keys_of(r)
        assert r.get("Marker", "") == marker
        assert len(ks) <= 11
        got += ks
        n += 1
        if not r["IsTruncated"]:
            break
        assert len(ks) == 11
        # without a delimiter NextMarker is optional; the last key is the marker
        marker = r.get("NextMarker") or ks[-1]
        assert marker == ks[-1]
        assert n < 100
    assert got == sk

    r = s3.list_objects(Bucket=bucket, Marker=sk[199])
    assert keys_of(r) == sk[200:]


def test_v1_next_marker_with_delimiter(s3, tree):
    seq, marker = [], ""
    for _ in range(20):
        r = s3.list_objects(Bucket=tree, Delimiter="/", MaxKeys=2, Marker=marker)
        entries = keys_of(r) + prefixes_of(r)
        seq += bsorted(entries)
        if not r["IsTruncated"]:
            break
        assert r.get("NextMarker"), "NextMarker is required when a delimiter is given"
        assert r["NextMarker"] == max(entries, key=lambda s: s.encode())
        marker = r["NextMarker"]
    else:
        pytest.fail("v1 pagination does not end")
    assert seq == ["a-f", "a/", "b", "c/", "photos/", "z"]


@pytest.mark.parametrize("list_type", ["2", "1"])
@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_invalid_max_keys(endpoint, bucket, list_type, value):
    query = [("max-keys", value)]
    if list_type == "2":
        query.append(("list-type", "2"))
    r = raw_request(endpoint, "GET", encode_path(bucket), query=query)
    assert r.status == 400, r.body
    assert r.error()["Code"] == "InvalidArgument"


def test_invalid_continuation_token(s3, bucket):
    with pytest.raises(ClientError) as ei:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="definitely not a token!!")
    assert error_code(ei.value) == "InvalidArgument"


def test_list_reflects_deletes_on_all_cores(s3, bucket):
    keys = [f"d{i:03d}" for i in range(40)]
    put_all(s3, bucket, keys)
    for k in keys[::2]:
        s3.delete_object(Bucket=bucket, Key=k)
    got = [k for p in list_v2_all(s3, bucket, MaxKeys=6) for k in keys_of(p)]
    assert got == keys[1::2]


def test_directory_marker_objects(s3, bucket):
    keys = ["dir/", "dir/a", "dir/sub/", "dir/sub/b", "top"]
    put_all(s3, bucket, keys)
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert keys_of(r) == ["top"] and prefixes_of(r) == ["dir/"]
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/", Prefix="dir/")
    assert keys_of(r) == ["dir/", "dir/a"]
    assert prefixes_of(r) == ["dir/sub/"]
    r = s3.list_objects_v2(Bucket=bucket, Prefix="dir/sub/")
    assert keys_of(r) == ["dir/sub/", "dir/sub/b"]


def test_delimiter_pagination_many_keys_per_prefix(s3, bucket):
    """Prefixes whose keys live on every core are rolled up once, in order,
    across page boundaries."""
    keys = [f"p{j}/{i:03d}" for j in range(4) for i in range(30)] + [f"q{i}" for i in range(5)] + ["p1"]
    put_all(s3, bucket, keys)
    want = bsorted(["p0/", "p1", "p1/", "p2/", "p3/"] + [f"q{i}" for i in range(5)])
    for mk in (1, 2, 3, 1000):
        seq = []
        for p in list_v2_all(s3, bucket, Delimiter="/", MaxKeys=mk):
            seq += keys_of(p) + prefixes_of(p)
        assert bsorted(seq) == want and len(seq) == len(want), (mk, seq)
    got, marker = [], ""
    for _ in range(50):
        r = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2, Marker=marker)
        got += keys_of(r) + prefixes_of(r)
        if not r["IsTruncated"]:
            break
        marker = r["NextMarker"]
    assert bsorted(got) == want and len(got) == len(want)


def test_list_with_odd_query_values(s3, bucket):
    """Query values that SigV4 canonicalisation must encode exactly as the
    client did: spaces, '+', '=', '&', '%', '~', unicode."""
    base = "ünï cödé+&=%~*'()/"
    keys = [base + s for s in ("a", "b", "sub/c", "sub/d")] + ["other"]
    put_all(s3, bucket, keys)
    r = s3.list_objects_v2(Bucket=bucket, Prefix=base, Delimiter="/")
    assert keys_of(r) == [base + "a", base + "b"]
    assert prefixes_of(r) == [base + "sub/"]
    r = s3.list_objects_v2(Bucket=bucket, Prefix=base, StartAfter=base + "a")
    assert keys_of(r) == [base + "b", base + "sub/c", base + "sub/d"]
    r = s3.list_objects(Bucket=bucket, Prefix=base, Marker=base + "b", Delimiter="/")
    assert keys_of(r) == [] and prefixes_of(r) == [base + "sub/"]
