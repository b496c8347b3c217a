// One scenario of the AWS SDK for JavaScript v3 against stratum, run by
// tests/e2e/test_js_sdk.py:  node s3.mjs SCENARIO
// Environment: S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET (the
// bucket, created by the test unless the scenario creates it), S3_DATA (a
// file of bytes to upload, for the scenarios that need one), S3_BODY
// (put_checksums: buffer or stream).
// Prints one JSON object of what the SDK saw; the Python test asserts on it.
// Bodies read back are reported as sha256 hex (or base64 when tiny).
// An SDK error a scenario does not expect exits 1 with the error on stderr.

import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync } from "node:fs";

const env = process.env;
const bucket = env.S3_BUCKET;
const MiB = 1024 * 1024;

// Every request as it goes on the wire (after signing and checksums).
const sent = [];

function client(overrides = {}) {
  const c = new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: "us-east-1",
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: env.S3_SECRET_KEY },
    ...overrides,
  });
  c.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request;
      sent.push({ method: r.method, hostname: r.hostname, port: r.port, path: r.path,
                  query: r.query, headers: { ...r.headers } });
      return next(args);
    },
    { step: "deserialize", priority: "low", name: "recordRequest" },
  );
  return c;
}

const s3 = client();

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");
const md5 = (buf) => createHash("md5").update(buf).digest("hex");
const data = () => readFileSync(env.S3_DATA);

async function bodyBytes(resp) {
  return Buffer.from(await resp.Body.transformToByteArray());
}

// The SDK's error as data: S3's code, HTTP status.
async function attempt(fn) {
  try {
    const r = await fn();
    return { ok: true, status: r.$metadata.httpStatusCode };
  } catch (e) {
    if (!e.$metadata) throw e;
    return { ok: false, name: e.name, code: e.Code ?? null, status: e.$metadata.httpStatusCode,
             message: e.message };
  }
}

// The headers of the last request with `method` to `path`, lower-cased names.
function lastSent(method, path) {
  const r = sent.filter((q) => q.method === method && q.path === path).at(-1);
  return Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
}

async function getBack(key, extra = {}) {
  const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
  const body = await bodyBytes(g);
  return { status: g.$metadata.httpStatusCode, sha256: sha256(body), length: body.length,
           etag: g.ETag, contentLength: g.ContentLength, checksumType: g.ChecksumType ?? null,
           checksums: checksumsOf(g) };
}

function checksumsOf(r) {
  const out = {};
  for (const a of ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]) {
    if (r[`Checksum${a}`] !== undefined) out[a] = r[`Checksum${a}`];
  }
  return out;
}

const WIRE = ["content-encoding", "content-length", "transfer-encoding", "x-amz-content-sha256",
  "x-amz-decoded-content-length", "x-amz-sdk-checksum-algorithm", "x-amz-trailer", "content-md5",
  "x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-sha1", "x-amz-checksum-sha256"];

function wire(headers) {
  return Object.fromEntries(WIRE.filter((h) => h in headers).map((h) => [h, headers[h]]));
}

// PutObject of S3_DATA with the SDK's default checksum and with each
// algorithm named, read back with ChecksumMode ENABLED (the SDK then checks
// the body against the checksum too). S3_BODY=buffer sends a Buffer (the
// checksum goes in a header); S3_BODY=stream a file stream, which the SDK
// sends aws-chunked with the checksum in a trailer, Transfer-Encoding chunked.
async function putChecksums() {
  const out = {};
  const size = statSync(env.S3_DATA).size;
  for (const algo of ["default", "CRC32", "CRC32C", "SHA1", "SHA256"]) {
    const key = `put/${algo}-${env.S3_BODY}`;
    const body = env.S3_BODY === "stream" ? createReadStream(env.S3_DATA) : data();
    const p = await s3.send(new PutObjectCommand({
      Bucket: bucket, Key: key, Body: body, ContentLength: size,
      ...(algo === "default" ? {} : { ChecksumAlgorithm: algo }) }));
    out[algo] = { put: { status: p.$metadata.httpStatusCode, etag: p.ETag, checksums: checksumsOf(p) },
                  wire: wire(lastSent("PUT", `/${bucket}/${key}`)),
                  get: await getBack(key, { ChecksumMode: "ENABLED" }) };
  }
  return out;
}

const scenarios = {
  async buckets() {
    const created = await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const head = await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    const list = await s3.send(new ListBucketsCommand({}));
    return {
      create: { status: created.$metadata.httpStatusCode, location: created.Location ?? null },
      head: { status: head.$metadata.httpStatusCode, region: head.BucketRegion ?? null },
      listed: list.Buckets.map((b) => b.Name),
      listedDates: list.Buckets.filter((b) => b.Name === bucket).map((b) => b.CreationDate instanceof Date),
      owner: list.Owner ? { id: list.Owner.ID ?? null } : null,
      createAgain: await attempt(() => s3.send(new CreateBucketCommand({ Bucket: bucket }))),
      headMissing: await attempt(() => s3.send(new HeadBucketCommand({ Bucket: `${bucket}-missing` }))),
    };
  },

  async put_checksums() {
    return putChecksums();
  },

  async get_range() {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "r", Body: data() }));
    const out = {};
    const n = statSync(env.S3_DATA).size;
    for (const range of ["bytes=0-0", "bytes=100-199", "bytes=-10", `bytes=${n - 5}-`, `bytes=10-${n + 100}`]) {
      const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "r", Range: range }));
      const body = await bodyBytes(g);
      out[range] = { status: g.$metadata.httpStatusCode, contentRange: g.ContentRange ?? null,
                     contentLength: g.ContentLength, body: body.toString("base64") };
    }
    out.unsatisfiable = await attempt(() => s3.send(new GetObjectCommand({
      Bucket: bucket, Key: "r", Range: `bytes=${n}-` })));
    return out;
  },

  async head_metadata() {
    const body = data();
    const put = await s3.send(new PutObjectCommand({
      Bucket: bucket, Key: "meta/obj.txt", Body: body, ContentType: "text/plain; charset=utf-8",
      Metadata: { color: "blue", "multi-word": "a b  c", camelcase: "MiXeD" },
      CacheControl: "max-age=60", ContentDisposition: 'attachment; filename="x.txt"',
      ContentLanguage: "en", ContentEncoding: "identity",
    }));
    const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "meta/obj.txt" }));
    const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "meta/obj.txt" }));
    await bodyBytes(g);
    const fields = (r) => ({
      status: r.$metadata.httpStatusCode, metadata: r.Metadata, contentType: r.ContentType,
      contentLength: r.ContentLength, etag: r.ETag, cacheControl: r.CacheControl ?? null,
      contentDisposition: r.ContentDisposition ?? null, contentLanguage: r.ContentLanguage ?? null,
      contentEncoding: r.ContentEncoding ?? null, acceptRanges: r.AcceptRanges ?? null,
      lastModifiedIsDate: r.LastModified instanceof Date,
      lastModifiedAgeSeconds: (Date.now() - r.LastModified?.getTime()) / 1000,
    });
    return { putEtag: put.ETag, md5: md5(body), head: fields(h), get: fields(g) };
  },

  async list_objects() {
    const keys = ["a/1", "a/2", "a/b/3", "a/b/4", "b/5", "c", "d/6", "d/7/8", "e f/ü.txt"];
    for (const k of keys) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }));
    }
    const list = async (params) => {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...params }));
      return { keys: (r.Contents ?? []).map((c) => c.Key),
               sizes: (r.Contents ?? []).map((c) => c.Size),
               prefixes: (r.CommonPrefixes ?? []).map((p) => p.Prefix),
               truncated: r.IsTruncated, keyCount: r.KeyCount,
               next: r.NextContinuationToken ?? null, startAfter: r.StartAfter ?? null };
    };
    const pages = [];
    let token;
    do {
      const page = await list({ MaxKeys: 2, ContinuationToken: token });
      pages.push(page);
      token = page.next;
    } while (token && pages.length < 20);
    const paginated = [];
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: 3 }, { Bucket: bucket })) {
      paginated.push((page.Contents ?? []).map((c) => c.Key));
    }
    return {
      all: await list({}),
      prefix: await list({ Prefix: "a/" }),
      delimiter: await list({ Delimiter: "/" }),
      prefixDelimiter: await list({ Prefix: "a/", Delimiter: "/" }),
      startAfter: await list({ StartAfter: "b/5" }),
      pages,
      paginated,
      missingBucket: await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: `${bucket}-missing` }))),
    };
  },

  async copy_object() {
    const body = data();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "src/ä b.bin", Body: body,
      ContentType: "application/x-src", Metadata: { origin: "src" } }));
    const source = `${bucket}/${encodeURIComponent("src/ä b.bin")}`;
    const c1 = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "dst/copy", CopySource: source }));
    const c2 = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "dst/replaced", CopySource: source,
      MetadataDirective: "REPLACE", ContentType: "text/x-new", Metadata: { origin: "replaced" } }));
    const head = async (key) => {
      const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { contentType: h.ContentType, metadata: h.Metadata, etag: h.ETag, length: h.ContentLength };
    };
    return {
      md5: md5(body),
      copied: { status: c1.$metadata.httpStatusCode, etag: c1.CopyObjectResult?.ETag ?? null,
                lastModifiedIsDate: c1.CopyObjectResult?.LastModified instanceof Date,
                head: await head("dst/copy"), get: await getBack("dst/copy") },
      replaced: { etag: c2.CopyObjectResult?.ETag ?? null, head: await head("dst/replaced"),
                  get: await getBack("dst/replaced") },
      missingSource: await attempt(() => s3.send(new CopyObjectCommand({
        Bucket: bucket, Key: "dst/none", CopySource: `${bucket}/nope` }))),
    };
  },

  async delete_objects() {
    const keys = ["k1", "k2", "k3", "k4", "k5", "dir/k6"];
    for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }));
    const one = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k1" }));
    const missing = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "never-was" }));
    const batch = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: {
      Objects: [{ Key: "k2" }, { Key: "k3" }, { Key: "dir/k6" }, { Key: "never-was" }] } }));
    const batchWire = wire(lastSent("POST", `/${bucket}/`));
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: {
      Objects: [{ Key: "k4" }], Quiet: true } }));
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    return {
      one: one.$metadata.httpStatusCode,
      missing: missing.$metadata.httpStatusCode,
      batch: { status: batch.$metadata.httpStatusCode, deleted: (batch.Deleted ?? []).map((d) => d.Key).sort(),
               errors: batch.Errors ?? [], wire: batchWire },
      quiet: { status: quiet.$metadata.httpStatusCode, deleted: quiet.Deleted ?? [], errors: quiet.Errors ?? [] },
      left: (left.Contents ?? []).map((c) => c.Key),
      getDeleted: await attempt(() => s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k1" }))),
    };
  },

  async multipart_upload() {
    const body = data();
    const out = { size: body.length };
    // A Buffer (lib-storage slices it) and a file stream of unknown length
    // (lib-storage buffers 5 MiB parts from it).
    for (const [how, source] of [["buffer", body], ["stream", createReadStream(env.S3_DATA)]]) {
      const key = `mpu/${how}`;
      const before = sent.length;
      const up = new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: source,
        ContentType: "application/octet-stream", Metadata: { how } }, partSize: 5 * MiB, queueSize: 4 });
      const r = await up.done();
      const parts = sent.slice(before).filter((q) => q.method === "PUT" && q.query?.partNumber);
      const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      out[how] = { etag: r.ETag, key: r.Key, location: r.Location ?? null, partRequests: parts.length,
                   partWire: parts.length ? wire(Object.fromEntries(
                     Object.entries(parts[0].headers).map(([k, v]) => [k.toLowerCase(), v]))) : null,
                   head: { length: h.ContentLength, etag: h.ETag, metadata: h.Metadata },
                   get: await getBack(key, { ChecksumMode: "ENABLED" }) };
    }
    return out;
  },

  async presigned() {
    const body = data();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "pre/get me", Body: body }));
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: "pre/get me" }),
      { expiresIn: 300 });
    const g = await fetch(getUrl);
    const gBody = Buffer.from(await g.arrayBuffer());
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: "pre/put me" }),
      { expiresIn: 300 });
    const p = await fetch(putUrl, { method: "PUT", body });
    const pText = await p.text();
    const missingUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: "pre/none" }),
      { expiresIn: 300 });
    const m = await fetch(missingUrl);
    const tampered = new URL(getUrl);
    tampered.searchParams.set("X-Amz-Expires", "301");
    const t = await fetch(tampered);
    return {
      getUrl: { hostPath: new URL(getUrl).pathname, params: [...new URL(getUrl).searchParams.keys()].sort() },
      get: { status: g.status, sha256: sha256(gBody), etag: g.headers.get("etag") },
      putUrl: { params: [...new URL(putUrl).searchParams.keys()].sort() },
      put: { status: p.status, etag: p.headers.get("etag"), body: pText.slice(0, 500) },
      putBack: p.ok ? await getBack("pre/put me") : null,
      md5: md5(body),
      missing: { status: m.status, body: (await m.text()).slice(0, 500) },
      tampered: { status: t.status, body: (await t.text()).slice(0, 500) },
    };
  },

  async errors() {
    const wrongSecret = client({ credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: "wrong-secret" } });
    const wrongKey = client({ credentials: { accessKeyId: "NOSUCHACCESSKEY", secretAccessKey: env.S3_SECRET_KEY } });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "exists", Body: "x" }));
    return {
      noSuchKey: await attempt(() => s3.send(new GetObjectCommand({ Bucket: bucket, Key: "missing" }))),
      headNoSuchKey: await attempt(() => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "missing" }))),
      noSuchBucket: await attempt(() => s3.send(new GetObjectCommand({ Bucket: `${bucket}-missing`, Key: "k" }))),
      putNoSuchBucket: await attempt(() => s3.send(new PutObjectCommand({
        Bucket: `${bucket}-missing`, Key: "k", Body: "x" }))),
      wrongSecretGet: await attempt(() => wrongSecret.send(new GetObjectCommand({ Bucket: bucket, Key: "exists" }))),
      wrongSecretPut: await attempt(() => wrongSecret.send(new PutObjectCommand({
        Bucket: bucket, Key: "denied", Body: "x" }))),
      wrongAccessKey: await attempt(() => wrongKey.send(new ListBucketsCommand({}))),
      deniedWasNotWritten: await attempt(() => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "denied" }))),
      invalidBucketName: await attempt(() => s3.send(new CreateBucketCommand({ Bucket: "Invalid_Name" }))),
    };
  },

  // A keep-alive client goes on with the connection its rejected PUT used.
  async rejected_put_then_more() {
    const wrongSecret = client({ credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: "wrong-secret" } });
    const out = {};
    for (const size of [1, 1000, 60 * 1024]) {
      out[size] = {
        put: await attempt(() => wrongSecret.send(new PutObjectCommand({
          Bucket: bucket, Key: "denied", Body: Buffer.alloc(size, 1) }))),
        list: await attempt(() => wrongSecret.send(new ListBucketsCommand({}))),
      };
    }
    return out;
  },

  async conditional_get() {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "cond", Body: data() }));
    const etag = put.ETag;
    const future = new Date(Date.now() + 3600 * 1000);
    const past = new Date(Date.now() - 24 * 3600 * 1000);
    const get = (extra) => attempt(async () => {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "cond", ...extra }));
      await bodyBytes(r);
      return r;
    });
    return {
      etag,
      ifNoneMatchSame: await get({ IfNoneMatch: etag }),
      ifNoneMatchOther: await get({ IfNoneMatch: '"0123456789abcdef0123456789abcdef"' }),
      ifNoneMatchStar: await get({ IfNoneMatch: "*" }),
      ifMatchSame: await get({ IfMatch: etag }),
      ifMatchOther: await get({ IfMatch: '"0123456789abcdef0123456789abcdef"' }),
      ifModifiedSinceFuture: await get({ IfModifiedSince: future }),
      ifModifiedSincePast: await get({ IfModifiedSince: past }),
      ifUnmodifiedSincePast: await get({ IfUnmodifiedSince: past }),
      headIfNoneMatchSame: await attempt(() => s3.send(new HeadObjectCommand({
        Bucket: bucket, Key: "cond", IfNoneMatch: etag }))),
    };
  },

  async path_style() {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "dir/p s+q", Body: "path style" }));
    const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "dir/p s+q" }));
    const text = await g.Body.transformToString();
    await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "dir/" }));
    return { text, requests: sent.map((r) => ({ method: r.method, hostname: r.hostname, port: r.port,
                                                   path: r.path, host: r.headers.host ?? null })) };
  },
};

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
try {
  const result = await scenarios[name]();
  process.stdout.write(JSON.stringify(result) + "\n");
} catch (e) {
  console.error(`${name}: ${e.name}: ${e.message}`);
  if (e.$metadata) console.error(`status ${e.$metadata.httpStatusCode}`);
  if (e.$response?.body) console.error(String(e.$response.body).slice(0, 1000));
  console.error(e.stack);
  process.exit(1);
}
