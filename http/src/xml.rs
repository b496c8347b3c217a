//! S3 XML bodies: response writers and request parsers.
//!
//! It is: plain structs with `std` types, one writer per S3 response document
//! (bytes out, no allocation beyond the output buffer), and one parser per S3
//! request document, written for hostile input.
//!
//! It is not: routing, I/O, or the mapping of errors to S3 codes and HTTP
//! status — the caller maps [`XmlError`] (normally to `MalformedXML`, 400).
//!
//! Parsers read with quick-xml's event reader (no serde), and:
//! - reject any `<!DOCTYPE …>` outright, so no entity can be declared and
//!   expanded (billion laughs); only the five predefined entities and
//!   character references are resolved;
//! - refuse bodies over [`MAX_XML_BODY_BYTES`] (4 MiB for
//!   CompleteMultipartUpload, 64 KiB for CORS; the caller must also stop
//!   reading the socket there), deeper than [`MAX_XML_DEPTH`] or with more
//!   than [`MAX_XML_ELEMENTS`] elements;
//! - match element local names (any namespace or prefix) and skip unknown
//!   elements.
//!
//! ```text
//! let parts = xml::parse_complete_multipart_upload(&body)?;
//! let body = xml::complete_multipart_upload_result(&xml::CompleteMultipartUploadResult {
//!     location, bucket, key, etag, checksum: None,
//! });
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use time::OffsetDateTime;

/// The S3 namespace every response document declares, except `<Error>`.
pub const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
const XML_DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Largest request body any parser accepts, except CompleteMultipartUpload.
pub const MAX_XML_BODY_BYTES: usize = 1 << 20;
/// CompleteMultipartUpload may list 10,000 parts, each with a checksum
/// (~130 bytes a part as botocore writes it with CRC32, more with SHA-256 and
/// indentation), which does not fit in 1 MiB.
pub const MAX_COMPLETE_MULTIPART_BODY_BYTES: usize = 4 << 20;
/// S3 limits a CORS configuration document to 64 KB.
pub const MAX_CORS_BODY_BYTES: usize = 64 << 10;
/// Deepest legitimate document is 4 levels (Tagging/TagSet/Tag/Key).
pub const MAX_XML_DEPTH: usize = 16;
/// Elements per document, counted before any semantic limit is checked.
pub const MAX_XML_ELEMENTS: usize = 100_000;
pub const MAX_DELETE_OBJECTS: usize = 1000;
pub const MAX_PARTS: usize = 10_000;
pub const MAX_OBJECT_TAGS: usize = 10;
pub const MAX_BUCKET_TAGS: usize = 50;
pub const MAX_TAG_KEY_CHARS: usize = 128;
pub const MAX_TAG_VALUE_CHARS: usize = 256;
pub const MAX_CORS_RULES: usize = 100;

const _: () = assert!(MAX_CORS_BODY_BYTES <= MAX_XML_BODY_BYTES);
const _: () = assert!(MAX_XML_BODY_BYTES <= MAX_COMPLETE_MULTIPART_BODY_BYTES);
// 10,000 parts of up to 8 elements each (Part, PartNumber, ETag, 5 checksums).
const _: () = assert!(MAX_PARTS * 8 < MAX_XML_ELEMENTS);
// 1000 objects of up to 6 elements each (Object, Key, VersionId, ETag, …).
const _: () = assert!(MAX_DELETE_OBJECTS * 6 < MAX_XML_ELEMENTS);

/// Why a request body was refused. Each variant is named for the S3 error
/// code it maps to, except `Malformed` and `TooLarge` (both `MalformedXML`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("XML body too large")]
    TooLarge,
    /// Tag key or value too long, empty key, duplicate key (`InvalidTag`).
    #[error("invalid tag: {0}")]
    InvalidTag(String),
    /// Too many tags: S3 answers `BadRequest` here, not `InvalidTag`.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Well-formed but unsupported content, e.g. a CORS method (`InvalidRequest`).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

fn malformed(msg: impl Into<String>) -> XmlError {
    XmlError::Malformed(msg.into())
}

// ───────────────────────────── shared types ─────────────────────────────

/// An owner or initiator: `<ID>` and `<DisplayName>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owner {
    pub id: String,
    pub display_name: String,
}

/// One CORS rule, as parsed from PutBucketCors and written by GetBucketCors:
/// the bucket record's own type, so rules are stored as parsed.
pub use stratum_meta::CorsRule;

// ───────────────────────────── writer core ──────────────────────────────

/// Percent-encode everything but `A-Za-z0-9-._~` and `/`, as S3 does for
/// `encoding-type=url` (`a+b c/` → `a%2Bb%20c/`). A space becomes `%20`, never
/// `+`, so both `unquote` and botocore's `unquote_plus` restore it.
const URL_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// Appends `s` escaped for XML text. Besides the five markup characters,
/// `\r` becomes `&#13;` (a literal CR would be normalised to LF by the
/// client's parser) and other C0 controls become character references.
fn push_escaped(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            b'\r' => "&#13;",
            b'\t' | b'\n' => continue,
            0x00..=0x1f => "",
            _ => continue,
        };
        // Every byte matched above is ASCII, so `i` is a char boundary.
        out.push_str(&s[last..i]);
        if rep.is_empty() {
            let _ = write!(out, "&#x{b:X};");
        } else {
            out.push_str(rep);
        }
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// Escapes `s` for XML text (see [`push_escaped`] for what is escaped).
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_escaped(&mut out, s);
    out
}

/// Percent-encodes `s` as S3 does for `encoding-type=url`.
pub fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_ENCODE_SET).to_string()
}

/// Latest instant [`iso8601_ms`] formats: 9999-12-31T23:59:59.999Z.
const MAX_UNIX_MS: i64 = 253_402_300_799_999;

fn push_iso8601_ms(out: &mut String, unix_ms: i64) {
    let ms = unix_ms.clamp(0, MAX_UNIX_MS);
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    );
}

/// Formats unix milliseconds as S3 does: `2026-01-02T03:04:05.000Z`.
/// Instants before 1970 or after 9999 are clamped to that range.
pub fn iso8601_ms(unix_ms: i64) -> String {
    let mut s = String::with_capacity(24);
    push_iso8601_ms(&mut s, unix_ms);
    s
}

/// A response document under construction.
struct Doc {
    buf: String,
}

impl Doc {
    fn new(root: &str, capacity: usize) -> Self {
        let mut buf = String::with_capacity(capacity + 128);
        buf.push_str(XML_DECL);
        buf.push('<');
        buf.push_str(root);
        buf.push_str(" xmlns=\"");
        buf.push_str(S3_XMLNS);
        buf.push_str("\">");
        Doc { buf }
    }

    fn open(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
    }

    fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    fn text(&mut self, name: &str, value: &str) {
        self.open(name);
        push_escaped(&mut self.buf, value);
        self.close(name);
    }

    /// A key-like value, percent-encoded when the client asked for
    /// `encoding-type=url`.
    fn key_text(&mut self, name: &str, value: &str, url: bool) {
        if url {
            self.open(name);
            self.buf.extend(utf8_percent_encode(value, URL_ENCODE_SET));
            self.close(name);
        } else {
            self.text(name, value);
        }
    }

    fn opt_text(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.text(name, v);
        }
    }

    /// Numbers and booleans: their `Display` never needs escaping.
    fn value(&mut self, name: &str, value: impl std::fmt::Display) {
        self.open(name);
        let _ = write!(self.buf, "{value}");
        self.close(name);
    }

    fn time(&mut self, name: &str, unix_ms: i64) {
        self.open(name);
        push_iso8601_ms(&mut self.buf, unix_ms);
        self.close(name);
    }

    fn owner(&mut self, name: &str, owner: &Owner) {
        self.open(name);
        self.text("ID", &owner.id);
        self.text("DisplayName", &owner.display_name);
        self.close(name);
    }

    fn encoding_type(&mut self, url: bool) {
        if url {
            self.text("EncodingType", "url");
        }
    }

    fn common_prefixes(&mut self, prefixes: &[String], url: bool) {
        for p in prefixes {
            self.open("CommonPrefixes");
            self.key_text("Prefix", p, url);
            self.close("CommonPrefixes");
        }
    }

    fn finish(mut self, root: &str) -> Vec<u8> {
        self.close(root);
        self.buf.into_bytes()
    }
}

// ───────────────────────────── responses ────────────────────────────────

/// The `<Error>` body. `extra` elements (BucketName, Key, Condition,
/// ArgumentName, ArgumentValue, …) follow `<Message>`; their names must be
/// plain XML names. Like S3, the document carries no namespace.
pub fn error(code: &str, message: &str, resource: &str, request_id: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut d = Doc { buf: String::with_capacity(256 + message.len() + resource.len()) };
    d.buf.push_str(XML_DECL);
    d.open("Error");
    d.text("Code", code);
    d.text("Message", message);
    for (name, value) in extra {
        debug_assert!(!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric()));
        d.text(name, value);
    }
    d.text("Resource", resource);
    d.text("RequestId", request_id);
    d.finish("Error")
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucketEntry {
    pub name: String,
    pub creation_date_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListAllMyBucketsResult {
    pub owner: Owner,
    pub buckets: Vec<BucketEntry>,
    /// Set when the listing was cut by `max-buckets`.
    pub continuation_token: Option<String>,
    /// Echoes the request's `prefix`, if any.
    pub prefix: Option<String>,
}

pub fn list_all_my_buckets_result(r: &ListAllMyBucketsResult) -> Vec<u8> {
    const ROOT: &str = "ListAllMyBucketsResult";
    let mut d = Doc::new(ROOT, 256 + r.buckets.len() * 96);
    d.owner("Owner", &r.owner);
    d.open("Buckets");
    for b in &r.buckets {
        d.open("Bucket");
        d.text("Name", &b.name);
        d.time("CreationDate", b.creation_date_ms);
        d.close("Bucket");
    }
    d.close("Buckets");
    d.opt_text("ContinuationToken", r.continuation_token.as_deref());
    d.opt_text("Prefix", r.prefix.as_deref());
    d.finish(ROOT)
}

/// GetBucketLocation: an empty element for us-east-1, else the region.
pub fn location_constraint(region: Option<&str>) -> Vec<u8> {
    let mut buf = String::with_capacity(160);
    buf.push_str(XML_DECL);
    buf.push_str("<LocationConstraint xmlns=\"");
    buf.push_str(S3_XMLNS);
    match region {
        None | Some("") | Some("us-east-1") => buf.push_str("\"/>"),
        Some(r) => {
            buf.push_str("\">");
            push_escaped(&mut buf, r);
            buf.push_str("</LocationConstraint>");
        }
    }
    buf.into_bytes()
}

/// One `<Contents>` of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectEntry {
    pub key: String,
    pub last_modified_ms: i64,
    /// Already quoted (`"…"`); written as `&quot;…&quot;`.
    pub etag: String,
    pub size: u64,
    pub storage_class: String,
    /// Written when set: always for ListObjects v1, on `fetch-owner` for v2.
    pub owner: Option<Owner>,
}

/// ListObjectsV2. With `encoding_type_url`, `Prefix`, `Delimiter`,
/// `StartAfter`, `Key` and `CommonPrefixes/Prefix` are percent-encoded and
/// `<EncodingType>url</EncodingType>` is written; continuation tokens never
/// are (botocore does not decode them). `KeyCount` is computed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListObjectsV2Result {
    pub name: String,
    pub prefix: String,
    /// Omitted when `None` or empty, as S3 does.
    pub delimiter: Option<String>,
    pub max_keys: u32,
    pub is_truncated: bool,
    pub continuation_token: Option<String>,
    pub next_continuation_token: Option<String>,
    pub start_after: Option<String>,
    pub encoding_type_url: bool,
    pub contents: Vec<ObjectEntry>,
    pub common_prefixes: Vec<String>,
}

/// ListObjects (v1). With `encoding_type_url`, `Prefix`, `Delimiter`,
/// `Marker`, `NextMarker`, `Key` and `CommonPrefixes/Prefix` are encoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListObjectsV1Result {
    pub name: String,
    pub prefix: String,
    pub marker: String,
    /// S3 sends it only with a delimiter and a truncated listing.
    pub next_marker: Option<String>,
    pub delimiter: Option<String>,
    pub max_keys: u32,
    pub is_truncated: bool,
    pub encoding_type_url: bool,
    pub contents: Vec<ObjectEntry>,
    pub common_prefixes: Vec<String>,
}

fn listing_capacity(contents: &[ObjectEntry], prefixes: &[String]) -> usize {
    let keys: usize = contents.iter().map(|c| c.key.len()).sum();
    let pfx: usize = prefixes.iter().map(|p| p.len()).sum();
    // Room for url-encoding some bytes; the String grows if needed.
    keys + keys / 4 + contents.len() * 256 + pfx + prefixes.len() * 48
}

fn write_contents(d: &mut Doc, contents: &[ObjectEntry], url: bool) {
    for c in contents {
        d.open("Contents");
        d.key_text("Key", &c.key, url);
        d.time("LastModified", c.last_modified_ms);
        d.text("ETag", &c.etag);
        d.value("Size", c.size);
        if let Some(o) = &c.owner {
            d.owner("Owner", o);
        }
        d.text("StorageClass", &c.storage_class);
        d.close("Contents");
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

pub fn list_bucket_result_v2(r: &ListObjectsV2Result) -> Vec<u8> {
    const ROOT: &str = "ListBucketResult";
    let url = r.encoding_type_url;
    let cap = listing_capacity(&r.contents, &r.common_prefixes);
    let mut d = Doc::new(ROOT, 384 + cap);
    d.text("Name", &r.name);
    d.key_text("Prefix", &r.prefix, url);
    if let Some(s) = &r.start_after {
        d.key_text("StartAfter", s, url);
    }
    d.opt_text("ContinuationToken", r.continuation_token.as_deref());
    d.opt_text("NextContinuationToken", r.next_continuation_token.as_deref());
    d.value("KeyCount", r.contents.len() + r.common_prefixes.len());
    d.value("MaxKeys", r.max_keys);
    if let Some(delim) = non_empty(&r.delimiter) {
        d.key_text("Delimiter", delim, url);
    }
    d.encoding_type(url);
    d.value("IsTruncated", r.is_truncated);
    write_contents(&mut d, &r.contents, url);
    d.common_prefixes(&r.common_prefixes, url);
    d.finish(ROOT)
}

pub fn list_bucket_result_v1(r: &ListObjectsV1Result) -> Vec<u8> {
    const ROOT: &str = "ListBucketResult";
    let url = r.encoding_type_url;
    let cap = listing_capacity(&r.contents, &r.common_prefixes);
    let mut d = Doc::new(ROOT, 384 + cap);
    d.text("Name", &r.name);
    d.key_text("Prefix", &r.prefix, url);
    d.key_text("Marker", &r.marker, url);
    if let Some(m) = &r.next_marker {
        d.key_text("NextMarker", m, url);
    }
    d.value("MaxKeys", r.max_keys);
    if let Some(delim) = non_empty(&r.delimiter) {
        d.key_text("Delimiter", delim, url);
    }
    d.encoding_type(url);
    d.value("IsTruncated", r.is_truncated);
    write_contents(&mut d, &r.contents, url);
    d.common_prefixes(&r.common_prefixes, url);
    d.finish(ROOT)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitiateMultipartUploadResult {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
}

pub fn initiate_multipart_upload_result(r: &InitiateMultipartUploadResult) -> Vec<u8> {
    const ROOT: &str = "InitiateMultipartUploadResult";
    let mut d = Doc::new(ROOT, r.bucket.len() + r.key.len() + r.upload_id.len());
    d.text("Bucket", &r.bucket);
    d.text("Key", &r.key);
    d.text("UploadId", &r.upload_id);
    d.finish(ROOT)
}

/// What a PostObject with `success_action_status=201` answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostResponse {
    pub location: String,
    pub bucket: String,
    pub key: String,
    /// Already quoted.
    pub etag: String,
}

pub fn post_response(r: &PostResponse) -> Vec<u8> {
    const ROOT: &str = "PostResponse";
    let mut d = Doc::new(ROOT, r.location.len() + r.bucket.len() + r.key.len() + 64);
    d.text("Location", &r.location);
    d.text("Bucket", &r.bucket);
    d.text("Key", &r.key);
    d.text("ETag", &r.etag);
    d.finish(ROOT)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompleteMultipartUploadResult {
    pub location: String,
    pub bucket: String,
    pub key: String,
    /// Already quoted, e.g. `"3858f62230ac3c915f300c664312c11f-9"`.
    pub etag: String,
    /// The composite checksum: algorithm name (`CRC32`) and value (`…-9`).
    pub checksum: Option<(String, String)>,
}

pub fn complete_multipart_upload_result(r: &CompleteMultipartUploadResult) -> Vec<u8> {
    const ROOT: &str = "CompleteMultipartUploadResult";
    let mut d = Doc::new(ROOT, r.location.len() + r.bucket.len() + r.key.len() + 64);
    d.text("Location", &r.location);
    d.text("Bucket", &r.bucket);
    d.text("Key", &r.key);
    d.text("ETag", &r.etag);
    if let Some((algorithm, value)) = &r.checksum {
        d.text(&format!("Checksum{algorithm}"), value);
    }
    d.finish(ROOT)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartEntry {
    pub part_number: u32,
    pub last_modified_ms: i64,
    /// Already quoted.
    pub etag: String,
    pub size: u64,
    /// The part's checksum: algorithm name (`CRC32`) and base64 value.
    pub checksum: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPartsResult {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub initiator: Owner,
    pub owner: Owner,
    pub storage_class: String,
    /// The upload's checksum algorithm (`CRC32`), if it has one.
    pub checksum_algorithm: Option<String>,
    pub part_number_marker: u32,
    /// Last part number listed (S3 sends it even when not truncated).
    pub next_part_number_marker: u32,
    pub max_parts: u32,
    pub is_truncated: bool,
    pub parts: Vec<PartEntry>,
}

pub fn list_parts_result(r: &ListPartsResult) -> Vec<u8> {
    const ROOT: &str = "ListPartsResult";
    let mut d = Doc::new(ROOT, 512 + r.key.len() + r.parts.len() * 160);
    d.text("Bucket", &r.bucket);
    d.text("Key", &r.key);
    d.text("UploadId", &r.upload_id);
    d.owner("Initiator", &r.initiator);
    d.owner("Owner", &r.owner);
    d.text("StorageClass", &r.storage_class);
    if let Some(algorithm) = &r.checksum_algorithm {
        d.text("ChecksumAlgorithm", algorithm);
    }
    d.value("PartNumberMarker", r.part_number_marker);
    d.value("NextPartNumberMarker", r.next_part_number_marker);
    d.value("MaxParts", r.max_parts);
    d.value("IsTruncated", r.is_truncated);
    for p in &r.parts {
        d.open("Part");
        d.value("PartNumber", p.part_number);
        d.time("LastModified", p.last_modified_ms);
        d.text("ETag", &p.etag);
        d.value("Size", p.size);
        if let Some((algorithm, value)) = &p.checksum {
            d.text(&format!("Checksum{algorithm}"), value);
        }
        d.close("Part");
    }
    d.finish(ROOT)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadEntry {
    pub key: String,
    pub upload_id: String,
    pub initiator: Owner,
    pub owner: Owner,
    pub storage_class: String,
    pub initiated_ms: i64,
}

/// ListMultipartUploads. With `encoding_type_url`, `KeyMarker`,
/// `NextKeyMarker`, `Prefix`, `Delimiter`, `Key` and `CommonPrefixes/Prefix`
/// are percent-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListMultipartUploadsResult {
    pub bucket: String,
    pub key_marker: String,
    pub upload_id_marker: String,
    pub next_key_marker: String,
    pub next_upload_id_marker: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub max_uploads: u32,
    pub is_truncated: bool,
    pub encoding_type_url: bool,
    pub uploads: Vec<UploadEntry>,
    pub common_prefixes: Vec<String>,
}

pub fn list_multipart_uploads_result(r: &ListMultipartUploadsResult) -> Vec<u8> {
    const ROOT: &str = "ListMultipartUploadsResult";
    let url = r.encoding_type_url;
    let mut d = Doc::new(ROOT, 512 + r.uploads.len() * 384);
    d.text("Bucket", &r.bucket);
    d.key_text("KeyMarker", &r.key_marker, url);
    d.text("UploadIdMarker", &r.upload_id_marker);
    d.key_text("NextKeyMarker", &r.next_key_marker, url);
    d.text("NextUploadIdMarker", &r.next_upload_id_marker);
    if let Some(delim) = non_empty(&r.delimiter) {
        d.key_text("Delimiter", delim, url);
    }
    d.key_text("Prefix", &r.prefix, url);
    d.value("MaxUploads", r.max_uploads);
    d.encoding_type(url);
    d.value("IsTruncated", r.is_truncated);
    for u in &r.uploads {
        d.open("Upload");
        d.key_text("Key", &u.key, url);
        d.text("UploadId", &u.upload_id);
        d.owner("Initiator", &u.initiator);
        d.owner("Owner", &u.owner);
        d.text("StorageClass", &u.storage_class);
        d.time("Initiated", u.initiated_ms);
        d.close("Upload");
    }
    d.common_prefixes(&r.common_prefixes, url);
    d.finish(ROOT)
}

/// Body of CopyObject and UploadPartCopy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyResult {
    /// Already quoted.
    pub etag: String,
    pub last_modified_ms: i64,
}

fn copy_result(root: &str, r: &CopyResult) -> Vec<u8> {
    let mut d = Doc::new(root, 128);
    d.text("ETag", &r.etag);
    d.time("LastModified", r.last_modified_ms);
    d.finish(root)
}

pub fn copy_object_result(r: &CopyResult) -> Vec<u8> {
    copy_result("CopyObjectResult", r)
}

pub fn copy_part_result(r: &CopyResult) -> Vec<u8> {
    copy_result("CopyPartResult", r)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeletedEntry {
    pub key: String,
    pub version_id: Option<String>,
    /// Written only when true.
    pub delete_marker: bool,
    pub delete_marker_version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteErrorEntry {
    pub key: String,
    pub version_id: Option<String>,
    pub code: String,
    pub message: String,
}

/// DeleteObjects. In quiet mode the caller leaves `deleted` empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteResult {
    pub deleted: Vec<DeletedEntry>,
    pub errors: Vec<DeleteErrorEntry>,
}

pub fn delete_result(r: &DeleteResult) -> Vec<u8> {
    const ROOT: &str = "DeleteResult";
    let mut d = Doc::new(ROOT, r.deleted.len() * 128 + r.errors.len() * 256);
    for e in &r.deleted {
        d.open("Deleted");
        d.text("Key", &e.key);
        d.opt_text("VersionId", e.version_id.as_deref());
        if e.delete_marker {
            d.value("DeleteMarker", true);
        }
        d.opt_text("DeleteMarkerVersionId", e.delete_marker_version_id.as_deref());
        d.close("Deleted");
    }
    for e in &r.errors {
        d.open("Error");
        d.text("Key", &e.key);
        d.opt_text("VersionId", e.version_id.as_deref());
        d.text("Code", &e.code);
        d.text("Message", &e.message);
        d.close("Error");
    }
    d.finish(ROOT)
}

/// GetObjectTagging / GetBucketTagging.
pub fn tagging(tags: &[(String, String)]) -> Vec<u8> {
    const ROOT: &str = "Tagging";
    let mut d = Doc::new(ROOT, tags.len() * 64);
    d.open("TagSet");
    for (k, v) in tags {
        d.open("Tag");
        d.text("Key", k);
        d.text("Value", v);
        d.close("Tag");
    }
    d.close("TagSet");
    d.finish(ROOT)
}

/// GetBucketCors.
pub fn cors_configuration(rules: &[CorsRule]) -> Vec<u8> {
    const ROOT: &str = "CORSConfiguration";
    let mut d = Doc::new(ROOT, rules.len() * 256);
    for r in rules {
        d.open("CORSRule");
        d.opt_text("ID", r.id.as_deref());
        for o in &r.allowed_origins {
            d.text("AllowedOrigin", o);
        }
        for m in &r.allowed_methods {
            d.text("AllowedMethod", m);
        }
        for h in &r.allowed_headers {
            d.text("AllowedHeader", h);
        }
        for h in &r.expose_headers {
            d.text("ExposeHeader", h);
        }
        if let Some(age) = r.max_age_seconds {
            d.value("MaxAgeSeconds", age);
        }
        d.close("CORSRule");
    }
    d.finish(ROOT)
}

// ───────────────────────────── parser core ──────────────────────────────

/// What the walker reports: an element opened, or closed with the text it
/// directly contained (entities resolved, line ends normalised). `path` holds
/// the local names from the root down to this element, inclusive.
enum Step<'p> {
    Open { path: &'p [String] },
    Close { path: &'p [String], text: String },
}

fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_blank(s: &[u8]) -> bool {
    s.iter().all(|&b| is_xml_space(b))
}

fn trim_xml(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_xml_space(c as u8))
}

fn element_name(start: &BytesStart<'_>) -> Result<String, XmlError> {
    let local = start.local_name();
    let name = std::str::from_utf8(local.as_ref()).map_err(|_| malformed("element name is not UTF-8"))?;
    // Attributes (xmlns and others) are ignored, but must be well-formed.
    for attr in start.attributes() {
        attr.map_err(|e| malformed(format!("bad attribute in <{name}>: {e}")))?;
    }
    Ok(name.to_owned())
}

fn resolve_entity(name: &[u8]) -> Option<char> {
    match name {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"apos" => Some('\''),
        b"quot" => Some('"'),
        _ => None,
    }
}

/// Reads `body` as one XML document and reports each element to `on`.
/// Enforces the limits every parser shares; `on` enforces the schema.
fn walk(body: &[u8], max_bytes: usize, mut on: impl FnMut(Step<'_>) -> Result<(), XmlError>) -> Result<(), XmlError> {
    if body.len() > max_bytes {
        return Err(XmlError::TooLarge);
    }
    let mut reader = Reader::from_reader(body);
    let mut names: Vec<String> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut elements = 0usize;
    let mut root_done = false;
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let at = reader.error_position();
                return Err(malformed(format!("at byte {at}: {e}")));
            }
        };
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) => {
                if root_done {
                    return Err(malformed("content after the root element"));
                }
                elements += 1;
                if elements > MAX_XML_ELEMENTS {
                    return Err(malformed("too many elements"));
                }
                if names.len() >= MAX_XML_DEPTH {
                    return Err(malformed("elements nested too deeply"));
                }
                names.push(element_name(&start)?);
                texts.push(String::new());
                on(Step::Open { path: &names })?;
                if empty {
                    close(&mut names, &mut texts, &mut root_done, &mut on)?;
                }
            }
            Event::End(_) => close(&mut names, &mut texts, &mut root_done, &mut on)?,
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|e| malformed(format!("text: {e}")))?;
                push_text(&mut texts, &s)?;
            }
            Event::CData(c) => {
                let s = c.xml10_content().map_err(|e| malformed(format!("CDATA: {e}")))?;
                // CDATA is content, even when blank: it may not stand outside.
                if texts.is_empty() {
                    return Err(malformed("CDATA outside the root element"));
                }
                push_text(&mut texts, &s)?;
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch,
                    Ok(None) => resolve_entity(&r)
                        .ok_or_else(|| malformed(format!("undefined entity &{};", String::from_utf8_lossy(&r))))?,
                    Err(e) => return Err(malformed(format!("character reference: {e}"))),
                };
                match texts.last_mut() {
                    Some(t) => t.push(ch),
                    None => return Err(malformed("reference outside the root element")),
                }
            }
            Event::DocType(_) => return Err(malformed("DOCTYPE is not allowed")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !names.is_empty() {
        return Err(malformed("unexpected end of document"));
    }
    if !root_done {
        return Err(malformed("no root element"));
    }
    Ok(())
}

fn push_text(texts: &mut [String], s: &str) -> Result<(), XmlError> {
    // NUL is not XML, raw or as `&#0;`: taken here, our writer's `&#x0;`
    // would be refused on the way back (found by fuzz/fuzz_targets/xml_bodies.rs).
    if s.contains('\0') {
        return Err(malformed("NUL in text"));
    }
    match texts.last_mut() {
        Some(t) => t.push_str(s),
        None if is_blank(s.as_bytes()) => {}
        None => return Err(malformed("text outside the root element")),
    }
    Ok(())
}

fn close(
    names: &mut Vec<String>,
    texts: &mut Vec<String>,
    root_done: &mut bool,
    on: &mut impl FnMut(Step<'_>) -> Result<(), XmlError>,
) -> Result<(), XmlError> {
    // quick-xml has already checked the end tag against the open element.
    let text = texts.pop().ok_or_else(|| malformed("unmatched end tag"))?;
    on(Step::Close { path: names, text })?;
    names.pop();
    if names.is_empty() {
        *root_done = true;
    }
    Ok(())
}

/// `path` is `expect` (local names from the root down).
fn at(path: &[String], expect: &[&str]) -> bool {
    path.len() == expect.len() && path.iter().zip(expect).all(|(a, b)| a == b)
}

fn check_root(path: &[String], root: &str) -> Result<(), XmlError> {
    match path {
        [name] if name != root => Err(malformed(format!("root element is <{name}>, expected <{root}>"))),
        _ => Ok(()),
    }
}

/// Sets a leaf once: a repeated leaf is malformed.
fn set_once(slot: &mut Option<String>, name: &str, text: String) -> Result<(), XmlError> {
    if slot.is_some() {
        return Err(malformed(format!("<{name}> given twice")));
    }
    *slot = Some(text);
    Ok(())
}

fn parse_u32(name: &str, text: &str) -> Result<u32, XmlError> {
    trim_xml(text).parse::<u32>().map_err(|_| malformed(format!("<{name}> is not an integer")))
}

// ───────────────────────────── request parsers ──────────────────────────

/// One `<Part>` of CompleteMultipartUpload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompletedPart {
    /// As sent; the caller checks 1..=10000 and ascending order.
    pub part_number: u32,
    /// As sent (with or without quotes), XML whitespace trimmed.
    pub etag: String,
    /// `ChecksumCRC32`, `ChecksumCRC32C`, `ChecksumCRC64NVME`, `ChecksumSHA1`,
    /// `ChecksumSHA256` (any `Checksum*` element), keyed by element name.
    pub checksums: BTreeMap<String, String>,
}

#[derive(Default)]
struct PartBuilder {
    part_number: Option<String>,
    etag: Option<String>,
    checksums: BTreeMap<String, String>,
}

/// CompleteMultipartUpload. Refuses zero parts and more than [`MAX_PARTS`].
pub fn parse_complete_multipart_upload(body: &[u8]) -> Result<Vec<CompletedPart>, XmlError> {
    const ROOT: &str = "CompleteMultipartUpload";
    let mut parts = Vec::new();
    let mut cur: Option<PartBuilder> = None;
    walk(body, MAX_COMPLETE_MULTIPART_BODY_BYTES, |step| match step {
        Step::Open { path } => {
            check_root(path, ROOT)?;
            if at(path, &[ROOT, "Part"]) {
                if parts.len() >= MAX_PARTS {
                    return Err(malformed(format!("more than {MAX_PARTS} parts")));
                }
                cur = Some(PartBuilder::default());
            }
            Ok(())
        }
        Step::Close { path, text } => {
            if let ([root, part, leaf], Some(b)) = (path, cur.as_mut()) {
                if root == ROOT && part == "Part" {
                    match leaf.as_str() {
                        "PartNumber" => set_once(&mut b.part_number, leaf, text)?,
                        "ETag" => set_once(&mut b.etag, leaf, trim_xml(&text).to_owned())?,
                        name if name.starts_with("Checksum") => {
                            let value = trim_xml(&text).to_owned();
                            if b.checksums.insert(name.to_owned(), value).is_some() {
                                return Err(malformed(format!("<{name}> given twice")));
                            }
                        }
                        _ => {}
                    }
                }
            } else if at(path, &[ROOT, "Part"]) {
                let b = cur.take().unwrap_or_default();
                let number = b.part_number.ok_or_else(|| malformed("<Part> without <PartNumber>"))?;
                parts.push(CompletedPart {
                    part_number: parse_u32("PartNumber", &number)?,
                    etag: b.etag.ok_or_else(|| malformed("<Part> without <ETag>"))?,
                    checksums: b.checksums,
                });
            }
            Ok(())
        }
    })?;
    if parts.is_empty() {
        return Err(malformed("no <Part>"));
    }
    Ok(parts)
}

/// One `<Object>` of DeleteObjects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectId {
    /// Exactly as sent: not trimmed.
    pub key: String,
    /// `None` when absent or empty.
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRequest {
    pub quiet: bool,
    pub objects: Vec<ObjectId>,
}

fn parse_bool(name: &str, text: &str) -> Result<bool, XmlError> {
    let t = trim_xml(text);
    if t.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if t.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(malformed(format!("<{name}> is not a boolean")))
    }
}

/// DeleteObjects. Refuses zero objects and more than [`MAX_DELETE_OBJECTS`].
/// Per-object conditions (`ETag`, `LastModifiedTime`, `Size`) are ignored.
pub fn parse_delete_objects(body: &[u8]) -> Result<DeleteRequest, XmlError> {
    const ROOT: &str = "Delete";
    let mut req = DeleteRequest::default();
    let mut quiet_seen = false;
    let mut key: Option<String> = None;
    let mut version: Option<String> = None;
    walk(body, MAX_XML_BODY_BYTES, |step| match step {
        Step::Open { path } => {
            check_root(path, ROOT)?;
            if at(path, &[ROOT, "Object"]) {
                if req.objects.len() >= MAX_DELETE_OBJECTS {
                    return Err(malformed(format!("more than {MAX_DELETE_OBJECTS} objects")));
                }
                key = None;
                version = None;
            }
            Ok(())
        }
        Step::Close { path, text } => {
            if at(path, &[ROOT, "Object", "Key"]) {
                set_once(&mut key, "Key", text)?;
            } else if at(path, &[ROOT, "Object", "VersionId"]) {
                set_once(&mut version, "VersionId", text)?;
            } else if at(path, &[ROOT, "Object"]) {
                let key = key.take().ok_or_else(|| malformed("<Object> without <Key>"))?;
                let version_id = version.take().filter(|v| !v.is_empty());
                req.objects.push(ObjectId { key, version_id });
            } else if at(path, &[ROOT, "Quiet"]) {
                if quiet_seen {
                    return Err(malformed("<Quiet> given twice"));
                }
                quiet_seen = true;
                req.quiet = parse_bool("Quiet", &text)?;
            }
            Ok(())
        }
    })?;
    if req.objects.is_empty() {
        return Err(malformed("no <Object>"));
    }
    Ok(req)
}

/// PutObjectTagging: at most [`MAX_OBJECT_TAGS`] tags.
pub fn parse_tagging(body: &[u8]) -> Result<Vec<(String, String)>, XmlError> {
    parse_tagging_max(body, MAX_OBJECT_TAGS)
}

/// Tagging with a caller-chosen tag limit ([`MAX_BUCKET_TAGS`] for
/// PutBucketTagging). Tags keep their order; keys and values are not trimmed.
pub fn parse_tagging_max(body: &[u8], max_tags: usize) -> Result<Vec<(String, String)>, XmlError> {
    const ROOT: &str = "Tagging";
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut tag_set_seen = false;
    let mut key: Option<String> = None;
    let mut value: Option<String> = None;
    walk(body, MAX_XML_BODY_BYTES, |step| match step {
        Step::Open { path } => {
            check_root(path, ROOT)?;
            if at(path, &[ROOT, "TagSet"]) {
                if tag_set_seen {
                    return Err(malformed("<TagSet> given twice"));
                }
                tag_set_seen = true;
            } else if at(path, &[ROOT, "TagSet", "Tag"]) {
                if tags.len() >= max_tags {
                    return Err(XmlError::BadRequest(format!("Object tags cannot be greater than {max_tags}")));
                }
                key = None;
                value = None;
            }
            Ok(())
        }
        Step::Close { path, text } => {
            if at(path, &[ROOT, "TagSet", "Tag", "Key"]) {
                set_once(&mut key, "Key", text)?;
            } else if at(path, &[ROOT, "TagSet", "Tag", "Value"]) {
                set_once(&mut value, "Value", text)?;
            } else if at(path, &[ROOT, "TagSet", "Tag"]) {
                let k = key.take().ok_or_else(|| malformed("<Tag> without <Key>"))?;
                let v = value.take().ok_or_else(|| malformed("<Tag> without <Value>"))?;
                check_tag(&tags, &k, &v)?;
                tags.push((k, v));
            }
            Ok(())
        }
    })?;
    if !tag_set_seen {
        return Err(malformed("no <TagSet>"));
    }
    Ok(tags)
}

/// The rules of [`parse_tagging`] for tags that came another way
/// (the `x-amz-tagging` header).
pub fn check_tags(tags: &[(String, String)]) -> Result<(), XmlError> {
    if tags.len() > MAX_OBJECT_TAGS {
        return Err(XmlError::BadRequest(format!("Object tags cannot be greater than {MAX_OBJECT_TAGS}")));
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        check_tag(&tags[..i], k, v)?;
    }
    Ok(())
}

fn check_tag(tags: &[(String, String)], key: &str, value: &str) -> Result<(), XmlError> {
    if key.is_empty() {
        return Err(XmlError::InvalidTag("The TagKey you have provided is invalid".into()));
    }
    if key.chars().count() > MAX_TAG_KEY_CHARS {
        return Err(XmlError::InvalidTag("The TagKey you have provided is too long, max 128".into()));
    }
    if value.chars().count() > MAX_TAG_VALUE_CHARS {
        return Err(XmlError::InvalidTag("The TagValue you have provided is too long, max 256".into()));
    }
    if tags.iter().any(|(k, _)| k == key) {
        return Err(XmlError::InvalidTag("Cannot provide multiple Tags with the same key".into()));
    }
    Ok(())
}

const CORS_METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];

/// PutBucketCors: 1 to [`MAX_CORS_RULES`] rules, each with at least one
/// origin and one method; body at most [`MAX_CORS_BODY_BYTES`].
pub fn parse_cors(body: &[u8]) -> Result<Vec<CorsRule>, XmlError> {
    const ROOT: &str = "CORSConfiguration";
    let mut rules: Vec<CorsRule> = Vec::new();
    let mut cur: Option<CorsRule> = None;
    walk(body, MAX_CORS_BODY_BYTES, |step| match step {
        Step::Open { path } => {
            check_root(path, ROOT)?;
            if at(path, &[ROOT, "CORSRule"]) {
                if rules.len() >= MAX_CORS_RULES {
                    return Err(malformed(format!("more than {MAX_CORS_RULES} CORS rules")));
                }
                cur = Some(CorsRule::default());
            }
            Ok(())
        }
        Step::Close { path, text } => {
            if let ([root, rule, leaf], Some(r)) = (path, cur.as_mut()) {
                if root == ROOT && rule == "CORSRule" {
                    cors_leaf(r, leaf, text)?;
                }
            } else if at(path, &[ROOT, "CORSRule"]) {
                let rule = cur.take().unwrap_or_default();
                check_cors_rule(&rule)?;
                rules.push(rule);
            }
            Ok(())
        }
    })?;
    if rules.is_empty() {
        return Err(malformed("no <CORSRule>"));
    }
    Ok(rules)
}

fn cors_leaf(r: &mut CorsRule, leaf: &str, text: String) -> Result<(), XmlError> {
    match leaf {
        "ID" => set_once(&mut r.id, leaf, text)?,
        "AllowedOrigin" => r.allowed_origins.push(trim_xml(&text).to_owned()),
        "AllowedMethod" => r.allowed_methods.push(trim_xml(&text).to_owned()),
        "AllowedHeader" => r.allowed_headers.push(trim_xml(&text).to_owned()),
        "ExposeHeader" => r.expose_headers.push(trim_xml(&text).to_owned()),
        "MaxAgeSeconds" => {
            if r.max_age_seconds.is_some() {
                return Err(malformed("<MaxAgeSeconds> given twice"));
            }
            r.max_age_seconds = Some(parse_u32(leaf, &text)?);
        }
        _ => {}
    }
    Ok(())
}

fn check_cors_rule(r: &CorsRule) -> Result<(), XmlError> {
    if r.allowed_origins.is_empty() {
        return Err(malformed("<CORSRule> without <AllowedOrigin>"));
    }
    if r.allowed_methods.is_empty() {
        return Err(malformed("<CORSRule> without <AllowedMethod>"));
    }
    if r.id.as_ref().is_some_and(|id| id.chars().count() > 255) {
        return Err(XmlError::InvalidRequest("The ID of a CORS rule can not be longer than 255 characters".into()));
    }
    if let Some(m) = r.allowed_methods.iter().find(|m| !CORS_METHODS.contains(&m.as_str())) {
        return Err(XmlError::InvalidRequest(format!(
            "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
        )));
    }
    if let Some(o) = r.allowed_origins.iter().find(|o| o.matches('*').count() > 1) {
        return Err(XmlError::InvalidRequest(format!("AllowedOrigin \"{o}\" can not have more than one wildcard.")));
    }
    if let Some(h) = r.allowed_headers.iter().find(|h| h.matches('*').count() > 1) {
        return Err(XmlError::InvalidRequest(format!("AllowedHeader \"{h}\" can not have more than one wildcard.")));
    }
    Ok(())
}

/// CreateBucket: the `LocationConstraint`, `None` for an empty body, an
/// absent element or an empty one. The caller validates the region.
pub fn parse_create_bucket(body: &[u8]) -> Result<Option<String>, XmlError> {
    const ROOT: &str = "CreateBucketConfiguration";
    if body.len() <= MAX_XML_BODY_BYTES && is_blank(body) {
        return Ok(None);
    }
    let mut location: Option<String> = None;
    walk(body, MAX_XML_BODY_BYTES, |step| match step {
        Step::Open { path } => check_root(path, ROOT),
        Step::Close { path, text } => {
            if at(path, &[ROOT, "LocationConstraint"]) {
                set_once(&mut location, "LocationConstraint", trim_xml(&text).to_owned())?;
            }
            Ok(())
        }
    })?;
    Ok(location.filter(|l| !l.is_empty()))
}

// ───────────────────────────── tests ────────────────────────────────────

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Leaf texts of any document, by slash-joined path, in order: lets tests
    /// read back what the writers produced with the same hardened reader.
    fn leaves(doc: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut had_child = vec![false];
        walk(doc, usize::MAX, |step| {
            match step {
                Step::Open { .. } => {
                    if let Some(h) = had_child.last_mut() {
                        *h = true;
                    }
                    had_child.push(false);
                }
                Step::Close { path, text } => {
                    if !had_child.pop().unwrap() {
                        out.push((path.join("/"), text));
                    }
                }
            }
            Ok(())
        })
        .unwrap();
        out
    }

    fn leaf<'a>(l: &'a [(String, String)], path: &str) -> Vec<&'a str> {
        l.iter().filter(|(p, _)| p == path).map(|(_, v)| v.as_str()).collect()
    }

    /// Python's `urllib.parse.unquote_plus`, which botocore applies to
    /// url-encoded listing fields.
    fn unquote_plus(s: &str) -> String {
        let plus = s.replace('+', " ");
        percent_encoding::percent_decode_str(&plus).decode_utf8().unwrap().into_owned()
    }

    const NASTY_KEYS: [&str; 8] = [
        "a&b<c>\"'",
        "日本語/ключ/🙂",
        "percent%2Fslash",
        "plus+and space",
        "  leading and trailing  ",
        "line\nfeed\r\ncrlf\rcr\ttab",
        "ctl\u{1}\u{1f}x",
        "]]>&amp;",
    ];

    fn doc_str(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    fn assert_prolog(b: &[u8], root: &str) {
        let s = doc_str(b);
        let head = format!("{XML_DECL}<{root} xmlns=\"{S3_XMLNS}\"");
        assert!(s.starts_with(&head), "{s}");
    }

    // ── time and escaping ──

    #[test]
    fn iso8601_with_millis() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        // 2026-01-02T03:04:05.006Z
        assert_eq!(iso8601_ms(1_767_323_045_006), "2026-01-02T03:04:05.006Z");
        assert_eq!(iso8601_ms(-5), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(i64::MAX), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn escape_covers_markup_and_controls() {
        assert_eq!(escape_text("plain"), "plain");
        assert_eq!(escape_text("a&b<c>\"'"), "a&amp;b&lt;c&gt;&quot;&apos;");
        assert_eq!(escape_text("x\ry\n\tz\u{1}"), "x&#13;y\n\tz&#x1;");
        assert_eq!(escape_text("é🙂&"), "é🙂&amp;");
    }

    #[test]
    fn url_encode_matches_s3() {
        // ceph s3-tests' expectations, recorded against AWS.
        assert_eq!(url_encode("asdf+b"), "asdf%2Bb");
        assert_eq!(url_encode("foo+1/"), "foo%2B1/");
        assert_eq!(url_encode("quux ab/"), "quux%20ab/");
        assert_eq!(url_encode("/"), "/");
        assert_eq!(url_encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(url_encode("%2F"), "%252F");
        assert_eq!(url_encode("é"), "%C3%A9");
        for k in NASTY_KEYS {
            assert_eq!(unquote_plus(&url_encode(k)), k);
        }
    }

    // ── responses ──

    #[test]
    fn error_document() {
        let b = error(
            "NoSuchKey",
            "The specified key does not exist.",
            "/bucket/a&b",
            "4442587FB7D0A2F9",
            &[("Key", "a&b")],
        );
        assert_eq!(
            doc_str(&b),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>"#,
                "<Message>The specified key does not exist.</Message><Key>a&amp;b</Key>",
                "<Resource>/bucket/a&amp;b</Resource><RequestId>4442587FB7D0A2F9</RequestId>",
                "</Error>"
            )
        );
    }

    #[test]
    fn list_all_my_buckets() {
        let r = ListAllMyBucketsResult {
            owner: Owner { id: "owner-id".into(), display_name: "me".into() },
            buckets: vec![
                BucketEntry { name: "a".into(), creation_date_ms: 1_767_323_045_000 },
                BucketEntry { name: "b".into(), creation_date_ms: 0 },
            ],
            continuation_token: None,
            prefix: None,
        };
        let b = list_all_my_buckets_result(&r);
        assert_prolog(&b, "ListAllMyBucketsResult");
        let l = leaves(&b);
        let p = "ListAllMyBucketsResult/Buckets/Bucket";
        assert_eq!(leaf(&l, &format!("{p}/Name")), ["a", "b"]);
        assert_eq!(leaf(&l, &format!("{p}/CreationDate")), ["2026-01-02T03:04:05.000Z", "1970-01-01T00:00:00.000Z"]);
        assert_eq!(leaf(&l, "ListAllMyBucketsResult/Owner/ID"), ["owner-id"]);
    }

    #[test]
    fn location_constraint_document() {
        assert_eq!(
            doc_str(&location_constraint(None)),
            format!("{XML_DECL}<LocationConstraint xmlns=\"{S3_XMLNS}\"/>")
        );
        assert_eq!(location_constraint(Some("us-east-1")), location_constraint(None));
        assert_eq!(
            doc_str(&location_constraint(Some("eu-west-1"))),
            format!("{XML_DECL}<LocationConstraint xmlns=\"{S3_XMLNS}\">eu-west-1</LocationConstraint>")
        );
    }

    fn entry(key: &str) -> ObjectEntry {
        ObjectEntry {
            key: key.into(),
            last_modified_ms: 1_767_323_045_123,
            etag: "\"9b2cf535f27731c974343645a3985328\"".into(),
            size: 42,
            storage_class: "STANDARD".into(),
            owner: None,
        }
    }

    #[test]
    fn list_v2_plain_keys_round_trip() {
        let r = ListObjectsV2Result {
            name: "bucket".into(),
            prefix: "a&b".into(),
            delimiter: Some("/".into()),
            max_keys: 1000,
            is_truncated: true,
            continuation_token: Some("tok+/=".into()),
            next_continuation_token: Some("next".into()),
            start_after: Some("<start>".into()),
            encoding_type_url: false,
            contents: NASTY_KEYS.iter().map(|k| entry(k)).collect(),
            common_prefixes: vec!["dir & co/".into()],
        };
        let b = list_bucket_result_v2(&r);
        assert_prolog(&b, "ListBucketResult");
        let s = doc_str(&b);
        assert!(s.contains("<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>"));
        assert!(s.contains("<LastModified>2026-01-02T03:04:05.123Z</LastModified>"));
        assert!(!s.contains("EncodingType"));
        assert!(!s.contains("<Owner>"));
        let l = leaves(&b);
        assert_eq!(leaf(&l, "ListBucketResult/Contents/Key"), NASTY_KEYS);
        assert_eq!(leaf(&l, "ListBucketResult/Prefix"), ["a&b"]);
        assert_eq!(leaf(&l, "ListBucketResult/StartAfter"), ["<start>"]);
        assert_eq!(leaf(&l, "ListBucketResult/ContinuationToken"), ["tok+/="]);
        assert_eq!(leaf(&l, "ListBucketResult/KeyCount"), ["9"]);
        assert_eq!(leaf(&l, "ListBucketResult/IsTruncated"), ["true"]);
        assert_eq!(leaf(&l, "ListBucketResult/CommonPrefixes/Prefix"), ["dir & co/"]);
        assert_eq!(leaf(&l, "ListBucketResult/Contents/ETag")[0], "\"9b2cf535f27731c974343645a3985328\"");
    }

    #[test]
    fn list_v2_url_encoding_round_trips_through_unquote_plus() {
        let mut with_owner = entry("quux ab/thud");
        with_owner.owner = Some(Owner { id: "id".into(), display_name: "name".into() });
        let mut contents: Vec<ObjectEntry> = NASTY_KEYS.iter().map(|k| entry(k)).collect();
        contents.push(with_owner);
        let r = ListObjectsV2Result {
            name: "bucket".into(),
            prefix: "pre fix+".into(),
            delimiter: Some("/".into()),
            max_keys: 2,
            start_after: Some("k m".into()),
            continuation_token: Some("opaque+token".into()),
            encoding_type_url: true,
            contents,
            common_prefixes: vec!["foo+1/".into(), "quux ab/".into()],
            ..Default::default()
        };
        let b = list_bucket_result_v2(&r);
        let s = doc_str(&b);
        assert!(s.contains("<EncodingType>url</EncodingType>"));
        assert!(s.contains("<Delimiter>/</Delimiter>"));
        assert!(s.contains("<Prefix>pre%20fix%2B</Prefix>"));
        assert!(s.contains("<Key>quux%20ab/thud</Key>"));
        assert!(s.contains("<ContinuationToken>opaque+token</ContinuationToken>"));
        assert!(s.contains("<Owner><ID>id</ID><DisplayName>name</DisplayName></Owner>"));
        let l = leaves(&b);
        let keys: Vec<String> = leaf(&l, "ListBucketResult/Contents/Key").into_iter().map(unquote_plus).collect();
        let mut want: Vec<String> = NASTY_KEYS.iter().map(|k| k.to_string()).collect();
        want.push("quux ab/thud".into());
        assert_eq!(keys, want);
        assert_eq!(leaf(&l, "ListBucketResult/CommonPrefixes/Prefix"), ["foo%2B1/", "quux%20ab/"]);
        assert_eq!(unquote_plus(leaf(&l, "ListBucketResult/StartAfter")[0]), "k m");
        assert_eq!(unquote_plus(leaf(&l, "ListBucketResult/Prefix")[0]), "pre fix+");
    }

    #[test]
    fn list_v2_omits_empty_delimiter() {
        let r = ListObjectsV2Result { name: "b".into(), delimiter: Some(String::new()), ..Default::default() };
        let s = String::from_utf8(list_bucket_result_v2(&r)).unwrap();
        assert!(!s.contains("Delimiter"));
        assert!(s.contains("<Prefix></Prefix><KeyCount>0</KeyCount>"));
    }

    #[test]
    fn list_v1_markers() {
        let mut e = entry("a+b.txt");
        e.owner = Some(Owner::default());
        let r = ListObjectsV1Result {
            name: "bucket".into(),
            prefix: String::new(),
            marker: "m k".into(),
            next_marker: Some("n+k".into()),
            delimiter: Some("/".into()),
            max_keys: 1000,
            is_truncated: true,
            encoding_type_url: true,
            contents: vec![e],
            common_prefixes: vec![],
        };
        let b = list_bucket_result_v1(&r);
        let s = doc_str(&b);
        assert!(s.contains("<Marker>m%20k</Marker><NextMarker>n%2Bk</NextMarker>"));
        assert!(s.contains("<Key>a%2Bb.txt</Key>"));
        assert!(s.contains("<Owner><ID></ID><DisplayName></DisplayName></Owner>"));
        assert!(!s.contains("KeyCount"));
    }

    #[test]
    fn multipart_responses() {
        let b = initiate_multipart_upload_result(&InitiateMultipartUploadResult {
            bucket: "example-bucket".into(),
            key: "a&b".into(),
            upload_id: "VXBsb2FkIElE".into(),
        });
        assert_prolog(&b, "InitiateMultipartUploadResult");
        let l = leaves(&b);
        assert_eq!(leaf(&l, "InitiateMultipartUploadResult/Key"), ["a&b"]);
        assert_eq!(leaf(&l, "InitiateMultipartUploadResult/UploadId"), ["VXBsb2FkIElE"]);

        let b = complete_multipart_upload_result(&CompleteMultipartUploadResult {
            location: "http://Example-Bucket.s3.amazonaws.com/Example-Object".into(),
            bucket: "Example-Bucket".into(),
            key: "Example-Object".into(),
            etag: "\"3858f62230ac3c915f300c664312c11f-9\"".into(),
            checksum: Some(("CRC32".into(), "AAAAAA==-9".into())),
        });
        assert!(doc_str(&b).contains("<ChecksumCRC32>AAAAAA==-9</ChecksumCRC32>"));
        assert!(doc_str(&b).contains("<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"));

        let owner = Owner { id: "i".into(), display_name: "d".into() };
        let b = list_parts_result(&ListPartsResult {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: "u".into(),
            initiator: owner.clone(),
            owner: owner.clone(),
            storage_class: "STANDARD".into(),
            checksum_algorithm: Some("CRC32C".into()),
            part_number_marker: 1,
            next_part_number_marker: 3,
            max_parts: 2,
            is_truncated: true,
            parts: vec![
                PartEntry {
                    part_number: 2,
                    last_modified_ms: 1000,
                    etag: "\"e2\"".into(),
                    size: 5 << 20,
                    checksum: Some(("CRC32C".into(), "AAAAAA==".into())),
                },
                PartEntry { part_number: 3, last_modified_ms: 2000, etag: "\"e3\"".into(), size: 7, checksum: None },
            ],
        });
        let l = leaves(&b);
        assert_eq!(leaf(&l, "ListPartsResult/Part/PartNumber"), ["2", "3"]);
        assert_eq!(leaf(&l, "ListPartsResult/Part/Size"), ["5242880", "7"]);
        assert_eq!(leaf(&l, "ListPartsResult/Part/ChecksumCRC32C"), ["AAAAAA=="], "only the part that has one");
        assert_eq!(leaf(&l, "ListPartsResult/ChecksumAlgorithm"), ["CRC32C"]);
        assert_eq!(leaf(&l, "ListPartsResult/NextPartNumberMarker"), ["3"]);
        assert_eq!(leaf(&l, "ListPartsResult/Initiator/ID"), ["i"]);

        let b = list_multipart_uploads_result(&ListMultipartUploadsResult {
            bucket: "b".into(),
            key_marker: "k m".into(),
            prefix: "p".into(),
            delimiter: Some("/".into()),
            max_uploads: 1000,
            encoding_type_url: true,
            uploads: vec![UploadEntry {
                key: "a b".into(),
                upload_id: "u1".into(),
                initiator: owner.clone(),
                owner,
                storage_class: "STANDARD".into(),
                initiated_ms: 1_767_323_045_000,
            }],
            common_prefixes: vec!["x y/".into()],
            ..Default::default()
        });
        let l = leaves(&b);
        assert_eq!(leaf(&l, "ListMultipartUploadsResult/KeyMarker"), ["k%20m"]);
        assert_eq!(leaf(&l, "ListMultipartUploadsResult/Upload/Key"), ["a%20b"]);
        assert_eq!(leaf(&l, "ListMultipartUploadsResult/Upload/Initiated"), ["2026-01-02T03:04:05.000Z"]);
        assert_eq!(leaf(&l, "ListMultipartUploadsResult/CommonPrefixes/Prefix"), ["x%20y/"]);
        assert_eq!(leaf(&l, "ListMultipartUploadsResult/EncodingType"), ["url"]);
    }

    #[test]
    fn copy_results() {
        let r = CopyResult { etag: "\"9b2cf535f27731c974343645a3985328\"".into(), last_modified_ms: 1_767_323_045_000 };
        let b = copy_object_result(&r);
        assert_eq!(
            doc_str(&b),
            format!(
                "{XML_DECL}<CopyObjectResult xmlns=\"{S3_XMLNS}\"><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><LastModified>2026-01-02T03:04:05.000Z</LastModified></CopyObjectResult>"
            )
        );
        assert_prolog(&copy_part_result(&r), "CopyPartResult");
    }

    #[test]
    fn delete_result_document() {
        let b = delete_result(&DeleteResult {
            deleted: vec![
                DeletedEntry { key: "sample1.txt".into(), ..Default::default() },
                DeletedEntry {
                    key: "SampleDocument.txt".into(),
                    version_id: None,
                    delete_marker: true,
                    delete_marker_version_id: Some("NeQt5xeFTfgPJD8B4CGWnkSLtluMr11s".into()),
                },
            ],
            errors: vec![DeleteErrorEntry {
                key: "a<b".into(),
                version_id: None,
                code: "AccessDenied".into(),
                message: "Access Denied".into(),
            }],
        });
        let l = leaves(&b);
        assert_eq!(leaf(&l, "DeleteResult/Deleted/Key"), ["sample1.txt", "SampleDocument.txt"]);
        assert_eq!(leaf(&l, "DeleteResult/Deleted/DeleteMarker"), ["true"]);
        assert_eq!(leaf(&l, "DeleteResult/Error/Key"), ["a<b"]);
        assert_eq!(leaf(&l, "DeleteResult/Error/Code"), ["AccessDenied"]);
    }

    // ── parsers: AWS documentation examples, verbatim ──

    /// API_CompleteMultipartUpload, "Sample Request for general purpose buckets".
    const AWS_COMPLETE: &str = r#"<CompleteMultipartUpload>
             <Part>
                <PartNumber>1</PartNumber>
               <ETag>"a54357aff0632cce46d942af68356b38"</ETag>
             </Part>
             <Part>
                <PartNumber>2</PartNumber>
               <ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag>
             </Part>
             <Part>
               <PartNumber>3</PartNumber>
               <ETag>"acbd18db4cc2f85cedef654fccc4a4d8"</ETag>
             </Part>
            </CompleteMultipartUpload>"#;

    #[test]
    fn complete_multipart_aws_example() {
        let parts = parse_complete_multipart_upload(AWS_COMPLETE.as_bytes()).unwrap();
        let got: Vec<(u32, &str)> = parts.iter().map(|p| (p.part_number, p.etag.as_str())).collect();
        assert_eq!(
            got,
            [
                (1, "\"a54357aff0632cce46d942af68356b38\""),
                (2, "\"0c78aef83f66abc1fa1e8477f296d394\""),
                (3, "\"acbd18db4cc2f85cedef654fccc4a4d8\""),
            ]
        );
        assert!(parts.iter().all(|p| p.checksums.is_empty()));
    }

    #[test]
    fn complete_multipart_sdk_forms() {
        // botocore: namespace, no whitespace, checksum, unquoted ETag with
        // an entity-escaped quote form from other SDKs.
        let body = concat!(
            r#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#,
            "<Part><ETag>&quot;e1&quot;</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32>",
            "<PartNumber>1</PartNumber></Part>",
            "<Part><ETag>e2</ETag><PartNumber>2</PartNumber><Unknown>x</Unknown></Part>",
            "</CompleteMultipartUpload>"
        );
        let parts = parse_complete_multipart_upload(body.as_bytes()).unwrap();
        assert_eq!(parts[0].etag, "\"e1\"");
        assert_eq!(parts[0].checksums["ChecksumCRC32"], "AAAAAA==");
        assert_eq!(parts[1].etag, "e2");
        assert_eq!(parts[1].part_number, 2);

        // Prefixed namespace.
        let body = concat!(
            r#"<s3:CompleteMultipartUpload xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">"#,
            "<s3:Part><s3:PartNumber>7</s3:PartNumber><s3:ETag>x</s3:ETag></s3:Part>",
            "</s3:CompleteMultipartUpload>"
        );
        assert_eq!(parse_complete_multipart_upload(body.as_bytes()).unwrap()[0].part_number, 7);
    }

    #[test]
    fn complete_multipart_rejects() {
        let bad: [&str; 7] = [
            "<CompleteMultipartUpload></CompleteMultipartUpload>",
            "<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>",
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
            "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
            "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
            "<Other><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Other>",
            "",
        ];
        for b in bad {
            assert!(matches!(parse_complete_multipart_upload(b.as_bytes()), Err(XmlError::Malformed(_))), "{b}");
        }
        let mut many = String::from("<CompleteMultipartUpload>");
        for i in 1..=MAX_PARTS + 1 {
            let _ = write!(many, "<Part><PartNumber>{i}</PartNumber><ETag>e</ETag></Part>");
        }
        many.push_str("</CompleteMultipartUpload>");
        assert!(matches!(parse_complete_multipart_upload(many.as_bytes()), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn complete_multipart_10000_parts_with_sha256_fit() {
        let mut body = String::from(r#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#);
        for i in 1..=MAX_PARTS {
            let _ = write!(
                body,
                "\n  <Part>\n    <ETag>\"d41d8cd98f00b204e9800998ecf8427e\"</ETag>\n    \
                 <ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ChecksumSHA256>\n    \
                 <PartNumber>{i}</PartNumber>\n  </Part>"
            );
        }
        body.push_str("\n</CompleteMultipartUpload>");
        assert!(body.len() > MAX_XML_BODY_BYTES);
        let parts = parse_complete_multipart_upload(body.as_bytes()).unwrap();
        assert_eq!(parts.len(), MAX_PARTS);
        assert_eq!(parts[MAX_PARTS - 1].part_number, 10_000);
    }

    /// API_DeleteObjects, "Multi-object delete resulting in mixed
    /// success/error response".
    const AWS_DELETE: &str = "<Delete>
<Object>
<Key>sample1.txt</Key>
</Object>
<Object>
<Key>sample2.txt</Key>
</Object>
</Delete>";

    /// API_DeleteObjects, "Case 2 - Versioned Delete".
    const AWS_DELETE_VERSIONED: &str = "<Delete>
  <Object>
    <Key>SampleDocument.txt</Key>
    <VersionId>OYcLXagmS.WaD..oyH4KRguB95_YhLs7</VersionId>
  </Object>
</Delete>";

    /// API_DeleteObjects, "DeleteObjects containing a carriage return".
    const AWS_DELETE_CR: &str = r#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Object>
<Key>/some/prefix/objectwith&#13;carriagereturn</Key>
</Object>
</Delete>"#;

    /// API_DeleteObjects, "Malformed XML in the request" (no `</Delete>`).
    const AWS_DELETE_MALFORMED: &str = "<Delete>
  <Object>
    <Key>404.txt</Key>
  </Object>
  <Object>
    <Key>a.txt</Key>
  </Object>
";

    #[test]
    fn delete_objects_aws_examples() {
        let r = parse_delete_objects(AWS_DELETE.as_bytes()).unwrap();
        assert!(!r.quiet);
        assert_eq!(
            r.objects,
            [
                ObjectId { key: "sample1.txt".into(), version_id: None },
                ObjectId { key: "sample2.txt".into(), version_id: None },
            ]
        );
        let r = parse_delete_objects(AWS_DELETE_VERSIONED.as_bytes()).unwrap();
        assert_eq!(
            r.objects,
            [ObjectId {
                key: "SampleDocument.txt".into(),
                version_id: Some("OYcLXagmS.WaD..oyH4KRguB95_YhLs7".into()),
            }]
        );
        let r = parse_delete_objects(AWS_DELETE_CR.as_bytes()).unwrap();
        assert_eq!(r.objects[0].key, "/some/prefix/objectwith\rcarriagereturn");
        assert!(matches!(parse_delete_objects(AWS_DELETE_MALFORMED.as_bytes()), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn delete_objects_special_keys_round_trip() {
        // As botocore sends it: \r and \n as character references, so the
        // parser's line-end normalisation cannot touch them.
        let mut body = String::from(r#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#);
        for k in NASTY_KEYS {
            body.push_str("<Object><Key>");
            body.push_str(&escape_text(k).replace('\n', "&#xA;"));
            body.push_str("</Key></Object>");
        }
        body.push_str("<Quiet>true</Quiet></Delete>");
        let r = parse_delete_objects(body.as_bytes()).unwrap();
        assert!(r.quiet);
        let keys: Vec<&str> = r.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, NASTY_KEYS);

        // Literal CRLF in text is normalised to LF, as any XML parser does.
        let r = parse_delete_objects(b"<Delete><Object><Key>a\r\nb</Key></Object></Delete>").unwrap();
        assert_eq!(r.objects[0].key, "a\nb");
        // CDATA and hex/decimal references.
        let r = parse_delete_objects(b"<Delete><Object><Key><![CDATA[x<&>]]>&#x41;&#66;%2F</Key></Object></Delete>")
            .unwrap();
        assert_eq!(r.objects[0].key, "x<&>AB%2F");
    }

    #[test]
    fn delete_objects_limits() {
        let body = |n: usize| {
            let mut b = String::from("<Delete>");
            for i in 0..n {
                let _ = write!(b, "<Object><Key>k{i}</Key></Object>");
            }
            b.push_str("</Delete>");
            b
        };
        assert_eq!(parse_delete_objects(body(1000).as_bytes()).unwrap().objects.len(), 1000);
        assert!(matches!(parse_delete_objects(body(1001).as_bytes()), Err(XmlError::Malformed(_))));
        assert!(matches!(parse_delete_objects(body(0).as_bytes()), Err(XmlError::Malformed(_))));
        for bad in [
            "<Delete><Object><VersionId>v</VersionId></Object></Delete>",
            "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
            "<Delete><Object><Key>a</Key></Object><Quiet>yes</Quiet></Delete>",
            "<Delete><Object><Key>a&unknown;</Key></Object></Delete>",
            "<Delete><Object><Key>a & b</Key></Object></Delete>",
            "<Delete><Object><Key>a</Key></Object></Delete><Delete/>",
            "<Delete><Object><Key>a</Key></Object></Delete>trailing",
            "<Delete><Object><Key>a</Key></Object></Delet>",
            "<Delete><Object><Key>&#0;</Key></Object></Delete>",
        ] {
            assert!(matches!(parse_delete_objects(bad.as_bytes()), Err(XmlError::Malformed(_))), "{bad}");
        }
        // A UTF-8 BOM, a declaration, comments and PIs are fine.
        let ok = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?><!-- c --><Delete><?pi x?>\
                  <Object><Key>a</Key></Object></Delete>\n";
        assert_eq!(parse_delete_objects(ok.as_bytes()).unwrap().objects[0].key, "a");
    }

    /// API_PutObjectTagging, "Sample Request: Add tag set to an object".
    const AWS_TAGGING: &str = "<Tagging>
   <TagSet>
      <Tag>
         <Key>tag1</Key>
         <Value>val1</Value>
      </Tag>
      <Tag>
         <Key>tag2</Key>
         <Value>val2</Value>
      </Tag>
   </TagSet>
</Tagging>";

    fn tag(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn tagging_aws_example_round_trip() {
        let tags = parse_tagging(AWS_TAGGING.as_bytes()).unwrap();
        assert_eq!(tags, [tag("tag1", "val1"), tag("tag2", "val2")]);
        let written = tagging(&tags);
        assert_prolog(&written, "Tagging");
        assert_eq!(parse_tagging(&written).unwrap(), tags);

        let special = vec![tag("a&b<c>\"'", " spaced "), tag("ключ", "🙂%2F+")];
        assert_eq!(parse_tagging(&tagging(&special)).unwrap(), special);
        assert_eq!(parse_tagging(&tagging(&[])).unwrap(), []);
    }

    #[test]
    fn tagging_limits() {
        let body = |tags: &[(String, String)]| String::from_utf8(tagging(tags)).unwrap();
        let ten: Vec<_> = (0..10).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert_eq!(parse_tagging(body(&ten).as_bytes()).unwrap().len(), 10);
        let eleven: Vec<_> = (0..11).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(matches!(parse_tagging(body(&eleven).as_bytes()), Err(XmlError::BadRequest(_))));
        assert_eq!(parse_tagging_max(body(&eleven).as_bytes(), MAX_BUCKET_TAGS).unwrap().len(), 11);
        let k128 = "k".repeat(128);
        let v256 = "é".repeat(256);
        assert!(parse_tagging(body(&[tag(&k128, &v256)]).as_bytes()).is_ok());
        for bad in [
            vec![tag(&"k".repeat(129), "v")],
            vec![tag("k", &"v".repeat(257))],
            vec![tag("k", "1"), tag("k", "2")],
            vec![tag("", "v")],
        ] {
            assert!(matches!(parse_tagging(body(&bad).as_bytes()), Err(XmlError::InvalidTag(_))), "{bad:?}");
        }
        for bad in [
            "<Tagging></Tagging>",
            "<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",
            "<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>",
        ] {
            assert!(matches!(parse_tagging(bad.as_bytes()), Err(XmlError::Malformed(_))), "{bad}");
        }
    }

    /// API_GetBucketCors, "Configure CORS Sample Request", verbatim: AWS's
    /// own example closes `<MaxAgeSeconds>` with `</MaxAgeSec>`.
    const AWS_CORS: &str = "<CORSConfiguration>
 <CORSRule>
   <AllowedOrigin>http://www.example.com</AllowedOrigin>
   <AllowedMethod>PUT</AllowedMethod>
   <AllowedMethod>POST</AllowedMethod>
   <AllowedMethod>DELETE</AllowedMethod>
   <AllowedHeader>*</AllowedHeader>
   <MaxAgeSeconds>3000</MaxAgeSec>
   <ExposeHeader>x-amz-server-side-encryption</ExposeHeader>
 </CORSRule>
 <CORSRule>
   <AllowedOrigin>*</AllowedOrigin>
   <AllowedMethod>GET</AllowedMethod>
   <AllowedHeader>*</AllowedHeader>
   <MaxAgeSeconds>3000</MaxAgeSeconds>
 </CORSRule>
</CORSConfiguration>
";

    #[test]
    fn cors_aws_example() {
        assert!(matches!(parse_cors(AWS_CORS.as_bytes()), Err(XmlError::Malformed(_))));
        let fixed = AWS_CORS.replace("</MaxAgeSec>", "</MaxAgeSeconds>");
        let rules = parse_cors(fixed.as_bytes()).unwrap();
        assert_eq!(
            rules,
            [
                CorsRule {
                    id: None,
                    allowed_origins: vec!["http://www.example.com".into()],
                    allowed_methods: vec!["PUT".into(), "POST".into(), "DELETE".into()],
                    allowed_headers: vec!["*".into()],
                    expose_headers: vec!["x-amz-server-side-encryption".into()],
                    max_age_seconds: Some(3000),
                },
                CorsRule {
                    id: None,
                    allowed_origins: vec!["*".into()],
                    allowed_methods: vec!["GET".into()],
                    allowed_headers: vec!["*".into()],
                    expose_headers: vec![],
                    max_age_seconds: Some(3000),
                },
            ]
        );
        let written = cors_configuration(&rules);
        assert_prolog(&written, "CORSConfiguration");
        assert_eq!(parse_cors(&written).unwrap(), rules);
    }

    #[test]
    fn cors_rejects() {
        let rule = |inner: &str| format!("<CORSConfiguration><CORSRule>{inner}</CORSRule></CORSConfiguration>");
        for bad in [
            "<CORSConfiguration></CORSConfiguration>".to_owned(),
            rule("<AllowedMethod>GET</AllowedMethod>"),
            rule("<AllowedOrigin>*</AllowedOrigin>"),
            rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>x</MaxAgeSeconds>"),
        ] {
            assert!(matches!(parse_cors(bad.as_bytes()), Err(XmlError::Malformed(_))), "{bad}");
        }
        for bad in [
            rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"),
            rule("<AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
        ] {
            assert!(matches!(parse_cors(bad.as_bytes()), Err(XmlError::InvalidRequest(_))), "{bad}");
        }
        let many = format!(
            "<CORSConfiguration>{}</CORSConfiguration>",
            "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>"
                .repeat(MAX_CORS_RULES + 1)
        );
        assert!(matches!(parse_cors(many.as_bytes()), Err(XmlError::Malformed(_))));
        let big = vec![b' '; MAX_CORS_BODY_BYTES + 1];
        assert_eq!(parse_cors(&big), Err(XmlError::TooLarge));
    }

    /// API_CreateBucket example request body (note the space in the end tag).
    const AWS_CREATE_BUCKET: &str = r#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"> 
  <LocationConstraint>Europe</LocationConstraint> 
</CreateBucketConfiguration >"#;

    #[test]
    fn create_bucket_bodies() {
        assert_eq!(parse_create_bucket(AWS_CREATE_BUCKET.as_bytes()).unwrap(), Some("Europe".into()));
        assert_eq!(parse_create_bucket(b"").unwrap(), None);
        assert_eq!(parse_create_bucket(b" \r\n").unwrap(), None);
        assert_eq!(parse_create_bucket(b"<CreateBucketConfiguration/>").unwrap(), None);
        assert_eq!(
            parse_create_bucket(
                b"<CreateBucketConfiguration><LocationConstraint></LocationConstraint></CreateBucketConfiguration>"
            )
            .unwrap(),
            None
        );
        assert!(matches!(
            parse_create_bucket(b"<CreateBucketConfiguration><LocationConstraint>x</CreateBucketConfiguration>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(parse_create_bucket(b"<Other/>"), Err(XmlError::Malformed(_))));
    }

    // ── hostile input ──

    /// The classic billion-laughs document: ten levels of ten-fold entity
    /// expansion (3 GB when expanded). Refused at the DOCTYPE, unexpanded.
    fn billion_laughs(root: &str) -> String {
        let mut s = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
        for i in 1..=9 {
            let prev = if i == 1 { "lol".to_owned() } else { format!("lol{}", i - 1) };
            let _ = writeln!(s, " <!ENTITY lol{i} \"{}\">", format!("&{prev};").repeat(10));
        }
        let _ = write!(s, "]>\n<{root}><Object><Key>&lol9;</Key></Object></{root}>");
        s
    }

    #[test]
    fn billion_laughs_rejected_fast() {
        let start = Instant::now();
        let body = billion_laughs("Delete");
        assert!(matches!(
            parse_delete_objects(body.as_bytes()),
            Err(XmlError::Malformed(m)) if m.contains("DOCTYPE")
        ));
        assert!(matches!(parse_tagging(billion_laughs("Tagging").as_bytes()), Err(XmlError::Malformed(_))));
        assert!(matches!(parse_cors(billion_laughs("CORSConfiguration").as_bytes()), Err(XmlError::Malformed(_))));
        assert!(matches!(
            parse_create_bucket(billion_laughs("CreateBucketConfiguration").as_bytes()),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            parse_complete_multipart_upload(billion_laughs("CompleteMultipartUpload").as_bytes()),
            Err(XmlError::Malformed(_))
        ));
        // Even without the DOCTYPE the references stay undefined.
        assert!(matches!(
            parse_delete_objects(b"<Delete><Object><Key>&lol9;</Key></Object></Delete>"),
            Err(XmlError::Malformed(_))
        ));
        // External entities (XXE) die the same way.
        let xxe =
            "<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Delete><Object><Key>&x;</Key></Object></Delete>";
        assert!(matches!(parse_delete_objects(xxe.as_bytes()), Err(XmlError::Malformed(_))));
        assert!(start.elapsed() < Duration::from_millis(500), "{:?}", start.elapsed());
    }

    #[test]
    fn oversized_bodies_rejected_before_parsing() {
        let mut body = String::from("<Delete>");
        while body.len() <= 2 << 20 {
            body.push_str("<Object><Key>padding-padding-padding</Key></Object>");
        }
        body.push_str("</Delete>");
        let start = Instant::now();
        assert_eq!(parse_delete_objects(body.as_bytes()), Err(XmlError::TooLarge));
        assert_eq!(parse_tagging(body.as_bytes()), Err(XmlError::TooLarge));
        assert_eq!(parse_create_bucket(body.as_bytes()), Err(XmlError::TooLarge));
        let huge = vec![b' '; MAX_COMPLETE_MULTIPART_BODY_BYTES + 1];
        assert_eq!(parse_complete_multipart_upload(&huge), Err(XmlError::TooLarge));
        assert_eq!(parse_create_bucket(&huge), Err(XmlError::TooLarge));
        assert!(start.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn deep_nesting_rejected() {
        let depth = 100_000;
        let body = format!("<Delete>{}{}</Delete>", "<a>".repeat(depth), "</a>".repeat(depth));
        assert!(body.len() < MAX_XML_BODY_BYTES);
        let start = Instant::now();
        assert!(matches!(
            parse_delete_objects(body.as_bytes()),
            Err(XmlError::Malformed(m)) if m.contains("deep")
        ));
        assert!(start.elapsed() < Duration::from_millis(200));
        // Just inside the limit is still a document (here: one without Objects).
        let ok = format!(
            "<Delete><Object><Key>k</Key>{}{}</Object></Delete>",
            "<x>".repeat(MAX_XML_DEPTH - 2),
            "</x>".repeat(MAX_XML_DEPTH - 2)
        );
        assert_eq!(parse_delete_objects(ok.as_bytes()).unwrap().objects.len(), 1);
    }

    #[test]
    fn element_flood_rejected() {
        let body = format!("<Delete><Object><Key>k</Key></Object>{}</Delete>", "<a/>".repeat(MAX_XML_ELEMENTS));
        assert!(body.len() < MAX_XML_BODY_BYTES);
        assert!(matches!(
            parse_delete_objects(body.as_bytes()),
            Err(XmlError::Malformed(m)) if m.contains("too many")
        ));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let samples: [&[u8]; 10] = [
            b"\xff\xfe<Delete/>",
            b"<Delete><Object><Key>\xc3\x28</Key></Object></Delete>",
            b"<Delete a='1' a='2'><Object><Key>k</Key></Object></Delete>",
            b"<Delete a=><Object><Key>k</Key></Object></Delete>",
            b"<",
            b"</Delete>",
            b"<Delete><Object><Key>k</Key></Object>",
            b"<!-- only a comment -->",
            b"<Delete><Object><Key>&#xD800;</Key></Object></Delete>",
            b"<Delete><Object><Key>&#x110000;</Key></Object></Delete>",
        ];
        for s in samples {
            assert!(matches!(parse_delete_objects(s), Err(XmlError::Malformed(_))), "{}", String::from_utf8_lossy(s));
        }
    }

    /// Found by fuzz/fuzz_targets/xml_bodies.rs: a raw NUL was taken into a
    /// tag, which `tagging` then wrote as `&#x0;`, which the parser refuses.
    #[test]
    fn fuzz_nul_in_text_is_malformed() {
        let body = b"<Tagging><TagSet><Tag><Key> a&amp;b\x1a\0\0\0 </Key><Value>v</Value></Tag></TagSet></Tagging>";
        assert!(matches!(parse_tagging(body), Err(XmlError::Malformed(_))));
        let cdata = b"<Delete><Object><Key><![CDATA[a\0]]></Key></Object></Delete>";
        assert!(matches!(parse_delete_objects(cdata), Err(XmlError::Malformed(_))));
        // What is taken is written back to a body read as the same tags.
        let tags =
            parse_tagging(b"<Tagging><TagSet><Tag><Key>k\x01&#13;</Key><Value>\t</Value></Tag></TagSet></Tagging>")
                .expect("parses");
        assert_eq!(parse_tagging(&tagging(&tags)).expect("round trip"), tags);
    }
}
