#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/corpus/<target>/.

Seeds are small real inputs: S3 requests as clients send them, AWS's
published SigV4 examples, aws-chunked bodies signed as SDKs sign them, the
XML bodies of the S3 docs, and the Range forms. Rerun after changing a
target's input format; the fuzzer's own finds are never committed.
"""
import hashlib
import hmac
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders={},Signature={}")
EMPTY = hashlib.sha256(b"").hexdigest()


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def http_request():
    heads = {
        "get_object": "GET /bucket/key.txt HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nx-amz-date: 20130524T000000Z\r\n"
                      "x-amz-content-sha256: " + EMPTY + "\r\nRange: bytes=0-9\r\n\r\n",
        "put_object": "PUT /bucket/a%20b/%E2%82%AC HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                      "Content-Type: text/plain\r\nx-amz-meta-k: v\r\n\r\nhello",
        "put_chunked": "PUT /examplebucket/chunkObject.txt HTTP/1.1\r\nHost: s3.amazonaws.com\r\n"
                       "x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\r\nContent-Encoding: aws-chunked\r\n"
                       "x-amz-decoded-content-length: 66560\r\nContent-Length: 66824\r\n\r\n",
        "virtual_host": "GET /photos/2006/feb/sample.jpg HTTP/1.1\r\nHost: media.s3.example.com:9000\r\n\r\n",
        "list_v2": "GET /bucket?list-type=2&prefix=a+b%2B&delimiter=%2F&max-keys=2 HTTP/1.1\r\nHost: h\r\n\r\n",
        "presigned": "GET /test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524"
                     "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
                     "&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c2659"
                     "57d157751f604d404 HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\n\r\n",
        "delete_objects": "POST /bucket?delete HTTP/1.1\r\nHost: h\r\nContent-Length: 61\r\n"
                          "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==\r\n\r\n",
        "multipart_part": "PUT /b/k?partNumber=1&uploadId=abc HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
                          "Content-Length: 0\r\n\r\n",
        "http10": "HEAD /b/k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "pipelined": "GET /b/1 HTTP/1.1\r\nHost: h\r\n\r\nGET /b/2 HTTP/1.1\r\nHost: h\r\n\r\n",
        # Refused ones, so mutations start near the edges.
        "cl_and_te": "POST /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
        "cl_conflict": "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
        "cl_plus": "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: +4\r\n\r\n",
        "te_chunked": "PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        "nul_key": "GET /b/a%00b HTTP/1.1\r\nHost: h\r\n\r\n",
        "bad_utf8": "GET /b/%FF HTTP/1.1\r\nHost: h\r\n\r\n",
        "dotdot": "GET /b/%2e%2e/../x HTTP/1.1\r\nHost: h\r\n\r\n",
    }
    for name, head in heads.items():
        write("http_request", name, head)


def sigv4_canonical():
    v = lambda name, text: write("sigv4_canonical", name, "V" + text)
    date = "x-amz-date: 20130524T000000Z\n"
    host = "host: examplebucket.s3.amazonaws.com\n"
    v("aws_get_object", "GET\n/test.txt\n" + host + "authorization: " + AUTH.format(
        "host;range;x-amz-content-sha256;x-amz-date",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") +
      "\nrange: bytes=0-9\nx-amz-content-sha256: " + EMPTY + "\n" + date)
    put_hash = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()
    v("aws_put_object", "PUT\n/test$file.text\n" + host + "date: Fri, 24 May 2013 00:00:00 GMT\nauthorization: " +
      AUTH.format("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                  "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd") +
      "\n" + date + "x-amz-storage-class: REDUCED_REDUNDANCY\nx-amz-content-sha256: " + put_hash + "\n")
    bucket = lambda sig: host + "authorization: " + AUTH.format("host;x-amz-content-sha256;x-amz-date", sig) + \
        "\n" + date + "x-amz-content-sha256: " + EMPTY + "\n"
    v("aws_lifecycle", "GET\n/?lifecycle\n" + bucket(
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"))
    v("aws_list_objects", "GET\n/?max-keys=2&prefix=J\n" + bucket(
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
    v("aws_presigned", "GET\n/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
      "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
      "&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404\n"
      + host)
    v("aws_chunked_put", "PUT\n/examplebucket/chunkObject.txt\nhost: s3.amazonaws.com\n" + date +
      "x-amz-storage-class: REDUCED_REDUNDANCY\nauthorization: " + AUTH.format(
          "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
          "x-amz-storage-class", "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9") +
      "\nx-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\ncontent-encoding: aws-chunked\n"
      "x-amz-decoded-content-length: 66560\ncontent-length: 66824\n")
    v("sigv2", "GET\n/b/k?AWSAccessKeyId=AK&Signature=abc&Expires=1\nhost: h\n")
    v("odd_path", "GET\n/a%2fb/%7Ec+d%20e//./../\nhost: h\nauthorization: AWS4-HMAC-SHA256 Credential=a/b/c/s3/aws4_request\n")
    s = lambda name, text: write("sigv4_canonical", name, "S" + text)
    s("sign_admin", "GET\n127.0.0.1:9000\n/_stratum/admin/disks?a=b c\n1700000000")
    s("sign_unicode", "PUT\nlocalhost\n/b/\u20ac%20x/~y?tagging&versionId=1%2B2\n1369353600")
    s("sign_empty", "DELETE\nh\n\n0")


def chunk_signer(key, prev):
    def sign(kind, tail):
        sts = "\n".join([kind, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", prev[0]] + tail)
        prev[0] = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        return prev[0]
    return sign


def signing_key():
    k = ("AWS4" + SK).encode()
    for part in ["20130524", "us-east-1", "s3", "aws4_request"]:
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def aws_chunked():
    seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

    def encode(data, size, signed, trailer):
        sign = chunk_signer(signing_key(), [seed])
        out = b""
        chunks = [data[i:i + size] for i in range(0, len(data), size)] + [b""]
        for c in chunks:
            ext = ""
            if signed:
                ext = ";chunk-signature=" + sign("AWS4-HMAC-SHA256-PAYLOAD", [EMPTY, hashlib.sha256(c).hexdigest()])
            out += b"%x%s\r\n" % (len(c), ext.encode()) + c + (b"\r\n" if c else b"")
        if trailer:
            line = "x-amz-checksum-crc32:NhCmhg=="
            out += line.encode() + b"\r\n"
            if signed:
                digest = hashlib.sha256((line + "\n").encode()).hexdigest()
                out += b"x-amz-trailer-signature:" + sign("AWS4-HMAC-SHA256-TRAILER", [digest]).encode() + b"\r\n"
        return out + b"\r\n"

    data = b"hello world, this is an aws-chunked body."
    for mode, name in enumerate(["unsigned", "unsigned_trailer", "signed", "signed_trailer"]):
        body = encode(data, 16, mode >= 2, mode & 1)
        # control: mode bits, bit 2 declares the length (the piece byte * 3)
        write("aws_chunked", name, bytes([mode, 7]) + body)
        write("aws_chunked", name + "_declared", bytes([mode | 4, len(data) // 3]) + body)
        write("aws_chunked", name + "_round_trip", bytes([mode | 8 | 4, 5]) + data)
    write("aws_chunked", "sdk_trailer", b"\x00\x01" + b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n")
    write("aws_chunked", "extension", b"\x00\x03" + b"3;foo=bar\r\nabc\r\n0\r\nX-Amz-Checksum-Sha256 : x \n\n")
    write("aws_chunked", "aws_blank_line", b"\x01\x02" + b"0\r\n\r\nx-amz-checksum-crc32c:sOO8/Q==\r\n\r\n")
    write("aws_chunked", "huge_size", b"\x04\x01" + b"ffffffffffffffff\r\nabc")
    write("aws_chunked", "trailing_request", b"\x00\x09" + b"0\r\n\r\nGET / HTTP/1.1\r\n")


XML = [
    (0, "delete", "<Delete>\n<Object>\n<Key>sample1.txt</Key>\n</Object>\n<Object>\n<Key>sample2.txt</Key>\n"
                  "</Object>\n</Delete>"),
    (0, "delete_versioned", '<?xml version="1.0" encoding="UTF-8"?>\n<Delete xmlns="http://s3.amazonaws.com/doc/'
                            '2006-03-01/"><Quiet>true</Quiet><Object><Key>a\r\nb</Key><VersionId>UIORUnfnd89493jJ'
                            'FJ</VersionId></Object></Delete>'),
    (0, "delete_cdata", "<Delete><Object><Key><![CDATA[x<&>]]>&#x41;&#66;%2F</Key></Object></Delete>"),
    (0, "delete_doctype", '<!DOCTYPE d [<!ENTITY a "aaaa">]><Delete><Object><Key>&a;</Key></Object></Delete>'),
    (1, "complete", '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1'
                    '</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part><Part><PartNumber>2</Part'
                    'Number><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag><ChecksumCRC32>NhCmhg==</ChecksumCRC32>'
                    '</Part></CompleteMultipartUpload>'),
    (1, "complete_prefixed", '<s3:CompleteMultipartUpload xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">'
                             '<s3:Part><s3:PartNumber>1</s3:PartNumber><s3:ETag>x</s3:ETag></s3:Part>'
                             '</s3:CompleteMultipartUpload>'),
    (2, "tagging", '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>Project</Key>'
                   '<Value>Project One</Value></Tag><Tag><Key>User</Key><Value>jsmith</Value></Tag></TagSet>'
                   '</Tagging>'),
    (2, "tagging_escaped", "<Tagging><TagSet><Tag><Key> a&amp;b </Key><Value>&#13;&#x1F600;\t\u00e9</Value>"
                           "</Tag></TagSet></Tagging>"),
    (3, "bucket_tagging", "<Tagging><TagSet><Tag><Key>k</Key><Value></Value></Tag></TagSet></Tagging>"),
    (4, "cors", '<CORSConfiguration><CORSRule><ID>r1</ID><AllowedOrigin>http://www.example.com</AllowedOrigin>'
                '<AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedHeader>*</AllowedHeader>'
                '<ExposeHeader>x-amz-server-side-encryption</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds>'
                '</CORSRule><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>'
                '</CORSRule></CORSConfiguration>'),
    (5, "create_bucket", '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                         '<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>'),
    (5, "create_bucket_empty", "  \n"),
]


def xml_bodies():
    for which, name, body in XML:
        write("xml_bodies", name, bytes([which]) + body.encode())


def range_header():
    for size, header in [(1000, "bytes=0-99"), (1000, "bytes=990-2000"), (1000, "bytes=100-"), (1000, "bytes=-10"),
                         (1000, "bytes=-5000"), (0, "bytes=-1"), (1, "bytes=0-0"), (1000, "bytes=0-1,5-6"),
                         (1000, "items=0-1"), (1000, " bytes = 5 - 9 "), (7, "bytes=18446744073709551614-"),
                         (1000, "bytes=-0")]:
        # The target halves the size word; an even word is a small object.
        name = "size%d_%s" % (size, header.strip().replace("=", "_").replace(",", "_").replace(" ", ""))
        write("range_header", name, struct.pack("<Q", size * 2) + header.encode())


if __name__ == "__main__":
    shutil.rmtree(ROOT, ignore_errors=True)
    http_request()
    sigv4_canonical()
    aws_chunked()
    xml_bodies()
    range_header()
