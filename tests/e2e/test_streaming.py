"""Streaming (aws-chunked) uploads made by hand, byte for byte as the SDKs
frame them: signed chunks, unsigned chunks with a trailing checksum, signed
chunks with a signed trailer; every checksum algorithm S3 offers. A bad
chunk signature or checksum must reject the upload and leave nothing behind:
no object, no volume file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import zlib
from pathlib import Path

import pytest

from s3util import (
    EMPTY_SHA256,
    KiB,
    REGION,
    md5_hex,
    open_conn,
    send,
    sha256_hex,
    sign_headers,
    signing_key,
)

SECRET = "stratumadmin"
# above the engine's inline threshold (64 KiB), so the body goes to a volume file
BODY_BYTES = 200 * KiB + 13


def _crc_table(poly: int, width: int) -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c & ((1 << width) - 1))
    return table


_CRC32C = _crc_table(0x82F63B78, 32)
_CRC64NVME = _crc_table(0x9A6C9329AC4BC9B5, 64)


def _reflected_crc(data: bytes, table: list[int], width: int) -> int:
    mask = (1 << width) - 1
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ mask


def checksum_b64(algo: str, data: bytes) -> str:
    """The base64 value S3 expects in x-amz-checksum-<algo>."""
    if algo == "crc32":
        raw = zlib.crc32(data).to_bytes(4, "big")
    elif algo == "crc32c":
        raw = _reflected_crc(data, _CRC32C, 32).to_bytes(4, "big")
    elif algo == "crc64nvme":
        raw = _reflected_crc(data, _CRC64NVME, 64).to_bytes(8, "big")
    else:
        raw = hashlib.new(algo, data).digest()
    return base64.b64encode(raw).decode()


def test_checksum_vectors():
    """Published check values, so a wrong helper cannot pass as a server bug."""
    assert _reflected_crc(b"123456789", _CRC32C, 32) == 0xE3069283
    assert _reflected_crc(b"123456789", _CRC64NVME, 64) == 0xAE8B14860A799888


def frame(data: bytes, chunk: int, *, signer=None, trailers=()) -> bytes:
    """aws-chunked framing; ``signer`` (a ChunkSigner) adds chunk signatures
    and, with trailers, the trailer signature."""
    out = io.BytesIO()
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for piece in pieces:
        ext = f";chunk-signature={signer.chunk(piece)}" if signer else ""
        out.write(f"{len(piece):x}{ext}\r\n".encode())
        if piece:
            out.write(piece + b"\r\n")
    for name, value in trailers:
        out.write(f"{name}:{value}\r\n".encode())
    if trailers and signer:
        out.write(f"x-amz-trailer-signature:{signer.trailer(trailers)}\r\n".encode())
    out.write(b"\r\n")
    return out.getvalue()


class ChunkSigner:
    """The signature chain of AWS's sigv4-streaming docs, seeded by the
    request's own signature."""

    def __init__(self, seed: str, timestamp: str, secret: str = SECRET):
        self.prev = seed
        self.timestamp = timestamp
        self.scope = f"{timestamp[:8]}/{REGION}/s3/aws4_request"
        self.key = signing_key(secret, timestamp[:8])

    def _sign(self, lines: list[str]) -> str:
        self.prev = hmac.new(self.key, "\n".join(lines).encode(), hashlib.sha256).hexdigest()
        return self.prev

    def chunk(self, piece: bytes) -> str:
        return self._sign(["AWS4-HMAC-SHA256-PAYLOAD", self.timestamp, self.scope, self.prev,
                           EMPTY_SHA256, sha256_hex(piece)])

    def trailer(self, trailers) -> str:
        canonical = "".join(f"{n}:{v}\n" for n, v in trailers)
        return self._sign(["AWS4-HMAC-SHA256-TRAILER", self.timestamp, self.scope, self.prev,
                           sha256_hex(canonical.encode())])


def streaming_put(endpoint, bucket, key, data, payload, *, chunk=64 * KiB, trailers=(), extra=None,
                  secret=SECRET, tamper=None):
    """Signs a PUT whose body is aws-chunked as ``payload`` says, frames the
    body with that signature as the seed, and sends it. ``tamper`` may edit
    the framed body before it goes."""
    signed = payload.startswith("STREAMING-AWS4")
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    if trailers:
        headers["x-amz-trailer"] = ",".join(n for n, _ in trailers)
    headers.update(extra or {})
    # The framed length does not depend on signature values: frame once with a dummy.
    dummy = ChunkSigner("0" * 64, "20250101T000000Z") if signed else None
    framed = frame(data, chunk, signer=dummy, trailers=trailers)
    headers["Content-Length"] = str(len(tamper(framed) if tamper else framed))
    path = "/" + bucket + "/" + key
    hdrs, ctx = sign_headers(endpoint, "PUT", path, "", headers, payload_hash=payload, with_context=True)
    signer = ChunkSigner(ctx["signature"], ctx["timestamp"], secret) if signed else None
    body = frame(data, chunk, signer=signer, trailers=trailers)
    if tamper:
        body = tamper(body)
    conn = open_conn(endpoint)
    try:
        return send(conn, "PUT", path, hdrs, body)
    finally:
        conn.close()


def volume_files(data_dir: Path) -> list[Path]:
    return sorted(p for sub in ("vol", "tmp") for p in data_dir.glob(f"core-*/{sub}/**/*") if p.is_file())


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """A server of this module's own, so its data directory holds only what
    these tests wrote."""
    from conftest import ServerFactory
    factory = ServerFactory(tmp_path_factory.mktemp("streaming"))
    server = factory.start(cores=2)
    server.client().create_bucket(Bucket="stream")
    yield server
    factory.cleanup()


def get_back(srv, key) -> bytes:
    return srv.client().get_object(Bucket="stream", Key=key)["Body"].read()


def assert_nothing_left(srv, key, files_before):
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as e:
        srv.client().head_object(Bucket="stream", Key=key)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert volume_files(srv.data_dir) == files_before


def test_signed_chunks(srv):
    data = os.urandom(BODY_BYTES)
    r = streaming_put(srv.endpoint, "stream", "signed", data, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    assert r.status == 200, r.body
    assert r.header("ETag") == f'"{md5_hex(data)}"'
    assert get_back(srv, "signed") == data


def test_signed_chunks_of_odd_sizes(srv):
    """Chunk boundaries that do not align with the server's reads."""
    data = os.urandom(BODY_BYTES)
    for chunk in (8 * KiB + 1, 100_003):
        r = streaming_put(srv.endpoint, "stream", f"odd-{chunk}", data, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                          chunk=chunk)
        assert r.status == 200, r.body
        assert get_back(srv, f"odd-{chunk}") == data


@pytest.mark.parametrize("payload", ["STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"])
@pytest.mark.parametrize("algo", ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"])
def test_trailer_every_algorithm(srv, algo, payload):
    data = os.urandom(BODY_BYTES)
    key = f"{payload[10:14]}-{algo}"
    trailers = [(f"x-amz-checksum-{algo}", checksum_b64(algo, data))]
    r = streaming_put(srv.endpoint, "stream", key, data, payload, trailers=trailers,
                      extra={"x-amz-sdk-checksum-algorithm": algo.upper()})
    assert r.status == 200, r.body
    assert get_back(srv, key) == data


def test_empty_streaming_body(srv):
    trailers = [("x-amz-checksum-crc32", checksum_b64("crc32", b""))]
    r = streaming_put(srv.endpoint, "stream", "empty", b"", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                      trailers=trailers)
    assert r.status == 200, r.body
    assert get_back(srv, "empty") == b""


def test_bad_chunk_signature_leaves_nothing(srv):
    before = volume_files(srv.data_dir)
    data = os.urandom(BODY_BYTES)
    r = streaming_put(srv.endpoint, "stream", "bad-sig", data, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                      secret="not-the-secret")
    assert r.status == 403, r.body
    assert r.error()["Code"] == "SignatureDoesNotMatch"
    assert_nothing_left(srv, "bad-sig", before)


def test_chunk_data_changed_in_flight_leaves_nothing(srv):
    """The last data chunk altered after signing: every earlier chunk was
    good, so the volume was being written when the lie shows up."""
    before = volume_files(srv.data_dir)
    data = os.urandom(BODY_BYTES)

    def flip_late_byte(body: bytes) -> bytes:
        i = len(body) - 200
        return body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]

    r = streaming_put(srv.endpoint, "stream", "flipped", data, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                      tamper=flip_late_byte)
    assert r.status == 403, r.body
    assert r.error()["Code"] == "SignatureDoesNotMatch"
    assert_nothing_left(srv, "flipped", before)


@pytest.mark.parametrize("payload", ["STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"])
def test_bad_trailing_checksum_leaves_nothing(srv, payload):
    before = volume_files(srv.data_dir)
    data = os.urandom(BODY_BYTES)
    trailers = [("x-amz-checksum-crc32c", checksum_b64("crc32c", data + b"!"))]
    r = streaming_put(srv.endpoint, "stream", "bad-crc", data, payload, trailers=trailers)
    assert r.status == 400, r.body
    assert r.error()["Code"] == "BadDigest"
    assert_nothing_left(srv, "bad-crc", before)


def test_bad_trailer_signature_leaves_nothing(srv):
    before = volume_files(srv.data_dir)
    data = os.urandom(BODY_BYTES)
    good = checksum_b64("sha256", data)

    def swap_checksum(body: bytes) -> bytes:
        # a valid checksum of other bytes, under the original trailer signature
        return body.replace(good.encode(), checksum_b64("sha256", b"other").encode())

    r = streaming_put(srv.endpoint, "stream", "bad-trailer-sig", data, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                      trailers=[("x-amz-checksum-sha256", good)], tamper=swap_checksum)
    assert r.status in (400, 403), r.body
    assert r.error()["Code"] in ("SignatureDoesNotMatch", "BadDigest")
    assert_nothing_left(srv, "bad-trailer-sig", before)


def test_announced_trailer_missing_is_rejected(srv):
    before = volume_files(srv.data_dir)
    data = os.urandom(BODY_BYTES)

    def drop_trailer(body: bytes) -> bytes:
        head, _, _ = body.rpartition(b"0\r\n")
        return head + b"0\r\n\r\n"

    r = streaming_put(srv.endpoint, "stream", "no-trailer", data, "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                      trailers=[("x-amz-checksum-crc32", checksum_b64("crc32", data))], tamper=drop_trailer)
    assert r.status == 400, r.body
    assert_nothing_left(srv, "no-trailer", before)


def test_decoded_length_is_honoured(srv):
    before = volume_files(srv.data_dir)
    data = os.urandom(BODY_BYTES)
    for wrong in (len(data) - 1, len(data) + 1):
        r = streaming_put(srv.endpoint, "stream", "bad-len", data, "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                          trailers=[("x-amz-checksum-crc32", checksum_b64("crc32", data))],
                          extra={"x-amz-decoded-content-length": str(wrong)})
        assert r.status == 400, (wrong, r.body)
    assert_nothing_left(srv, "bad-len", before)


def test_boto3_streams_with_checksums(srv):
    """boto3 itself (1.36+) sends aws-chunked bodies with trailing checksums."""
    c = srv.client()
    data = os.urandom(BODY_BYTES)
    for algo in ("CRC32", "SHA1", "SHA256"):  # CRC32C needs awscrt in botocore
        c.put_object(Bucket="stream", Key=f"boto-{algo}", Body=io.BytesIO(data), ChecksumAlgorithm=algo)
        assert get_back(srv, f"boto-{algo}") == data


def http_chunked(body: bytes, sizes) -> bytes:
    """``body`` in Transfer-Encoding: chunked, in chunks of the given sizes
    (cycled), as the AWS SDK for JavaScript sends a streamed PutObject."""
    out, i, n = io.BytesIO(), 0, 0
    while i < len(body):
        size = sizes[n % len(sizes)]
        piece = body[i:i + size]
        out.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        i, n = i + size, n + 1
    out.write(b"0\r\n\r\n")
    return out.getvalue()


def transfer_chunked_put(srv, key, data, wire_body):
    """A signed PUT of an aws-chunked body (crc32 trailer) whose transport
    is Transfer-Encoding: chunked, head bytes only (the caller adds the body)."""
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
               "x-amz-trailer": "x-amz-checksum-crc32", "Transfer-Encoding": "chunked"}
    path = f"/stream/{key}"
    hdrs = sign_headers(srv.endpoint, "PUT", path, "", headers, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    return head.encode() + wire_body


def read_responses(sock, count: int) -> list[tuple[int, bytes]]:
    """``count`` HTTP/1.1 responses (Content-Length framed) off ``sock``."""
    buf, out = b"", []
    while len(out) < count:
        while b"\r\n\r\n" not in buf:
            more = sock.recv(65536)
            assert more, f"connection closed after {len(out)} responses"
            buf += more
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        length = next((int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length:")), 0)
        while len(buf) < length:
            more = sock.recv(65536)
            assert more, "connection closed mid-body"
            buf += more
        out.append((int(lines[0].split()[1]), buf[:length]))
        buf = buf[length:]
    return out


def test_transfer_chunked_aws_chunked_put_and_a_pipelined_request(srv):
    """The transport framing ends where its last chunk says: the request
    pipelined right after it on the same connection is answered as such."""
    import socket
    data = os.urandom(700 * KiB + 3)
    aws = frame(data, 64 * KiB, trailers=[("x-amz-checksum-crc32", checksum_b64("crc32", data))])
    put = transfer_chunked_put(srv, "te-chunked", data, http_chunked(aws, [1000, 7, 65536, 3]))
    path = "/stream/te-chunked"
    get_hdrs = sign_headers(srv.endpoint, "GET", path)
    get = (f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in get_hdrs.items()) + "\r\n").encode()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(put + get)
        (put_status, put_body), (get_status, got) = read_responses(s, 2)
    assert put_status == 200, put_body
    assert get_status == 200 and got == data
    assert srv.client().head_object(Bucket="stream", Key="te-chunked", ChecksumMode="ENABLED")[
        "ChecksumCRC32"] == checksum_b64("crc32", data)


@pytest.mark.parametrize("wire", [
    lambda aws: http_chunked(aws, [4096])[:-5] + b"zz\r\n\r\n",          # a size that is not hex
    lambda aws: http_chunked(aws, [4096]).replace(b"\r\n", b"\n", 1),     # a bare LF
    lambda aws: http_chunked(aws[:len(aws) // 2], [4096]),                # aws-chunked cut short
])
def test_bad_transfer_chunking_leaves_nothing(srv, wire):
    import socket
    data = os.urandom(200 * KiB)
    aws = frame(data, 64 * KiB, trailers=[("x-amz-checksum-crc32", checksum_b64("crc32", data))])
    before = volume_files(srv.data_dir)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(transfer_chunked_put(srv, "te-bad", data, wire(aws)))
        (status, body), = read_responses(s, 1)
    assert status == 400, body
    assert_nothing_left(srv, "te-bad", before)
