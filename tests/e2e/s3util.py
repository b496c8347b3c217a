"""Helpers for the end-to-end tests: raw SigV4-signed requests, S3 error XML,
boto3 clients, hashes, a deterministic streaming body, data-dir walking.

Imported by conftest.py and the test modules (pytest puts this directory on
sys.path because tests/e2e has no __init__.py).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import http.client
import io
import os
import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence
from urllib.parse import quote, urlsplit

import boto3
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REGION = "us-east-1"
DEFAULT_ACCESS_KEY = "stratumadmin"
DEFAULT_SECRET_KEY = "stratumadmin"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MiB = 1024 * 1024
KiB = 1024


# --------------------------------------------------------------------------
# hashes


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def multipart_etag(parts: Sequence[bytes]) -> str:
    """S3's multipart ETag (quoted): md5 of the concatenated binary part md5s, -N."""
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def rand_bytes(n: int, seed: int | None = None) -> bytes:
    if seed is None:
        return os.urandom(n)
    return random.Random(seed).randbytes(n)


# --------------------------------------------------------------------------
# boto3


def make_client(endpoint: str, access_key: str = DEFAULT_ACCESS_KEY,
                secret_key: str = DEFAULT_SECRET_KEY, **config_kwargs):
    cfg = dict(
        s3={"addressing_style": "path"},
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        signature_version="s3v4",
    )
    cfg.update(config_kwargs)
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(**cfg),
    )


def error_code(exc) -> str:
    return exc.response.get("Error", {}).get("Code")


def http_status(resp_or_exc) -> int:
    r = getattr(resp_or_exc, "response", resp_or_exc)
    return r["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------
# raw SigV4


class _RawSigV4(SigV4Auth):
    """botocore's SigV4 with two changes for tests: the path is signed exactly
    as sent (S3 does not normalise or double-encode), and the clock can be
    shifted to provoke RequestTimeTooSkewed."""

    def __init__(self, credentials, time_offset: float = 0.0):
        super().__init__(credentials, "s3", REGION)
        self._offset = time_offset

    def _normalize_url_path(self, path):
        return path or "/"

    def add_auth(self, request):
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        now += datetime.timedelta(seconds=self._offset)
        request.context["timestamp"] = now.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        signature = self.signature(string_to_sign, request)
        self._inject_signature_to_request(request, signature)
        request.context["signature"] = signature
        request.context["canonical_request"] = canonical_request


def signing_key(secret_key: str, date: str, region: str = REGION, service: str = "s3") -> bytes:
    k = hmac.new(f"AWS4{secret_key}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def encode_path(bucket: str | None = None, key: str | None = None) -> str:
    if not bucket:
        return "/"
    path = "/" + quote(bucket, safe="")
    if key is not None:
        path += "/" + quote(key, safe="/~")
    return path


def encode_query(query) -> str:
    """query: None, a str (sent as is), or pairs/mapping; a value of None
    gives a bare sub-resource (``?uploads``)."""
    if not query:
        return ""
    if isinstance(query, str):
        return query
    items = query.items() if isinstance(query, Mapping) else query
    out = []
    for k, v in items:
        if v is None:
            out.append(quote(k, safe="-_.~"))
        else:
            out.append(f"{quote(k, safe='-_.~')}={quote(str(v), safe='-_.~')}")
    return "&".join(out)


def sign_headers(endpoint: str, method: str, path: str, query: str = "",
                 headers: Mapping[str, str] | None = None,
                 payload_hash: str = EMPTY_SHA256,
                 access_key: str = DEFAULT_ACCESS_KEY,
                 secret_key: str = DEFAULT_SECRET_KEY,
                 time_offset: float = 0.0,
                 with_context: bool = False):
    """Returns the headers to send (Host, X-Amz-Date, X-Amz-Content-SHA256,
    Authorization and the given ones). ``payload_hash`` goes verbatim into
    x-amz-content-sha256 and the canonical request."""
    host = urlsplit(endpoint).netloc
    url = endpoint.rstrip("/") + path + (("?" + query) if query else "")
    req = AWSRequest(method=method, url=url, data=b"")
    req.headers["Host"] = host
    for k, v in (headers or {}).items():
        req.headers[k] = v
    req.headers["X-Amz-Content-SHA256"] = payload_hash
    signer = _RawSigV4(Credentials(access_key, secret_key), time_offset)
    signer.add_auth(req)
    out = dict(req.headers.items())
    if with_context:
        return out, req.context
    return out


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes
    local_addr: tuple | None = None

    def header(self, name: str, default=None):
        return self.headers.get(name, default)

    def error(self) -> dict:
        return parse_error(self.body)

    @property
    def request_id(self):
        return self.headers.get("x-amz-request-id")

    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)


def open_conn(endpoint: str, timeout: float = 30) -> http.client.HTTPConnection:
    u = urlsplit(endpoint)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


def send(conn: http.client.HTTPConnection, method: str, target: str,
         headers: Mapping[str, str], body=None) -> RawResponse:
    conn.request(method, target, body=body, headers=dict(headers))
    local = conn.sock.getsockname() if conn.sock else None
    r = conn.getresponse()
    data = r.read()
    return RawResponse(r.status, r.reason, r.headers, data, local)


def raw_request(endpoint: str, method: str, path: str, query=None,
                headers: Mapping[str, str] | None = None, body: bytes | None = None,
                access_key: str = DEFAULT_ACCESS_KEY,
                secret_key: str = DEFAULT_SECRET_KEY,
                sign: bool = True, payload_hash: str | None = None,
                time_offset: float = 0.0, timeout: float = 30,
                conn: http.client.HTTPConnection | None = None) -> RawResponse:
    """One request, signed with SigV4 (Authorization header) unless sign=False.
    ``path`` must already be URI-encoded (see encode_path)."""
    q = encode_query(query)
    body_bytes = body if body is not None else b""
    if payload_hash is None:
        payload_hash = sha256_hex(body_bytes)
    if sign:
        hdrs = sign_headers(endpoint, method, path, q, headers, payload_hash,
                            access_key, secret_key, time_offset)
    else:
        hdrs = {"Host": urlsplit(endpoint).netloc, **(headers or {})}
    target = path + (("?" + q) if q else "")
    own = conn is None
    c = conn or open_conn(endpoint, timeout)
    try:
        send_body = body if (body is not None and (body or method in ("PUT", "POST"))) else None
        return send(c, method, target, hdrs, send_body)
    finally:
        if own:
            c.close()


def _strip_ns(tag: str) -> str:
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def xml_children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem if _strip_ns(c.tag) == name]


def xml_text(elem: ET.Element, name: str, default=None):
    for c in elem:
        if _strip_ns(c.tag) == name:
            return c.text if c.text is not None else ""
    return default


def parse_error(body: bytes) -> dict:
    """Parses S3's <Error> document; raises AssertionError when it is not one."""
    assert body, "error response has an empty body (expected S3 error XML)"
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:  # pragma: no cover - message for the report
        raise AssertionError(f"error body is not XML ({e}): {body[:300]!r}") from None
    assert _strip_ns(root.tag) == "Error", f"root element is {root.tag}, not Error: {body[:300]!r}"
    return {_strip_ns(c.tag): (c.text or "") for c in root}


def core_header(headers) -> tuple[int, int]:
    """x-stratum-core: '<accepting core>/<owning core>' -> (accept, owner)."""
    v = headers.get("x-stratum-core")
    assert v is not None, "response lacks x-stratum-core"
    a, sep, o = v.strip().partition("/")
    assert sep == "/", f"malformed x-stratum-core: {v!r}"
    return int(a), int(o)


# --------------------------------------------------------------------------
# aws-chunked bodies


def aws_chunked_unsigned_trailer(data: bytes, chunk: int = 64 * KiB) -> tuple[bytes, str]:
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER framing with an x-amz-checksum-crc32 trailer.
    Returns (framed body, crc32 base64)."""
    out = io.BytesIO()
    for i in range(0, len(data), chunk):
        piece = data[i:i + chunk]
        out.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    crc = base64.b64encode(binascii.crc32(data).to_bytes(4, "big")).decode()
    out.write(b"0\r\n")
    out.write(f"x-amz-checksum-crc32:{crc}\r\n".encode())
    out.write(b"\r\n")
    return out.getvalue(), crc


def aws_chunked_signed(data: bytes, seed_signature: str, timestamp: str,
                       secret_key: str, chunk: int = 64 * KiB) -> bytes:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD framing with real chunk signatures."""
    date = timestamp[:8]
    scope = f"{date}/{REGION}/s3/aws4_request"
    key = signing_key(secret_key, date)
    prev = seed_signature
    out = io.BytesIO()
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for piece in pieces:
        sts = "\n".join([
            "AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, prev,
            EMPTY_SHA256, sha256_hex(piece),
        ])
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        out.write(f"{len(piece):x};chunk-signature={sig}\r\n".encode() + piece + b"\r\n")
        prev = sig
    return out.getvalue()


# --------------------------------------------------------------------------
# deterministic streaming body


class PatternReader(io.RawIOBase):
    """A seekable, readable stream of ``size`` bytes that never holds more than
    a block and a read in memory. Block i is a fixed random block whose first
    8 bytes are i (little-endian), so a misplaced block changes the hash."""

    def __init__(self, size: int, block: int = MiB, seed: int = 1234):
        self.size = size
        self.block = block
        self._base = random.Random(seed).randbytes(block)
        self.pos = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_SET:
            self.pos = offset
        elif whence == io.SEEK_CUR:
            self.pos += offset
        else:
            self.pos = self.size + offset
        self.pos = max(0, self.pos)
        return self.pos

    def __len__(self):
        return self.size

    def _block(self, i: int) -> bytes:
        return i.to_bytes(8, "little") + self._base[8:]

    def read(self, n=-1):
        if self.pos >= self.size:
            return b""
        if n is None or n < 0:
            n = self.size - self.pos
        n = min(n, self.size - self.pos)
        out = []
        remaining = n
        while remaining:
            bi, off = divmod(self.pos, self.block)
            take = min(self.block - off, remaining)
            out.append(self._block(bi)[off:off + take])
            self.pos += take
            remaining -= take
        return b"".join(out)

    def readinto(self, b):
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def iter_chunks(self, chunk: int = MiB) -> Iterable[bytes]:
        self.seek(0)
        while True:
            d = self.read(chunk)
            if not d:
                return
            yield d

    def sha256(self) -> str:
        h = hashlib.sha256()
        for c in self.iter_chunks(8 * MiB):
            h.update(c)
        self.seek(0)
        return h.hexdigest()


# --------------------------------------------------------------------------
# data dir


def dir_bytes(root) -> int:
    """Bytes of object data under a data dir: the core-*/ slices only. The
    metadata database (meta/) grows and compacts on its own schedule, which
    would make space checks flaky."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        if os.path.relpath(dirpath, root).split(os.sep)[0] == "meta":
            continue
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except FileNotFoundError:
                pass
    return total


def dirs_named(root, name: str) -> list[str]:
    return [os.path.join(d, n) for d, dirs, _f in os.walk(root) for n in dirs if n == name]


def proc_status_kib(pid: int, field_name: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise KeyError(field_name)


def empty_and_delete_bucket(client, bucket):
    """Best-effort cleanup: aborts uploads, deletes objects, deletes the bucket."""
    try:
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for u in page.get("Uploads", []):
                client.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=o["Key"])
        client.delete_bucket(Bucket=bucket)
    except Exception:
        pass
