//! PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects.

use base64::Engine as _;
use stratum_engine::{ObjectRecord, SealedVolume, VolumeWriter};
use stratum_meta::STORAGE_CLASS_HEADER;

use crate::aws_chunked::ChecksumAlgo;
use crate::body::Body;
use crate::conditional::{evaluate, Outcome};
use crate::ctx::{now_ms, Ctx};
use crate::error::S3Error;
use crate::handlers::multipart::part_number;
use crate::handlers::tagging::{header_tags, with_tag_count};
use crate::handlers::{bucket_of, conditions, object_of, quoted};
use crate::limits::{PUT_SIZE_MAX_BYTES, USER_META_MAX_BYTES};
use crate::range;
use crate::request::Request;
use crate::response::{Body as ResponseBody, Response};
use crate::xml;

/// Headers stored with an object and returned as they were sent.
const STORED_HEADERS: &[&str] =
    &["cache-control", "content-disposition", "content-encoding", "content-language", "expires"];

/// The storage classes a general-purpose S3 bucket takes (exact spelling).
/// Each is kept with the object and answered back; it also places the body
/// (`stratum_engine::autotier::hint_of_object`).
const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
];

/// The request's `x-amz-storage-class` to keep: `None` for STANDARD or
/// none given (S3 leaves STANDARD out of GET and HEAD).
pub fn storage_class(req: &Request) -> Result<Option<&str>, S3Error> {
    storage_class_of(req.header(STORAGE_CLASS_HEADER))
}

fn storage_class_of(value: Option<&str>) -> Result<Option<&str>, S3Error> {
    match value {
        None | Some("STANDARD") => Ok(None),
        Some(class) if STORAGE_CLASSES.contains(&class) => Ok(Some(class)),
        Some(_) => Err(S3Error::new("InvalidStorageClass", 400, "The storage class you specified is not valid")),
    }
}

/// The metadata a PUT (or CreateMultipartUpload) carries in its headers.
pub struct ObjectMeta {
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub user_meta: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

impl ObjectMeta {
    pub fn from_request(req: &Request) -> Result<ObjectMeta, S3Error> {
        let mut meta = ObjectMeta::from_fields(&req.head.headers)?;
        meta.tags = header_tags(req)?;
        Ok(meta)
    }

    /// From (lowercased name, value) pairs: a request's headers, or the
    /// fields of a POST form. No tags.
    pub fn from_fields(fields: &[(String, String)]) -> Result<ObjectMeta, S3Error> {
        let get = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let content_type = get("content-type").unwrap_or("binary/octet-stream").to_owned();
        let mut headers = Vec::new();
        for name in STORED_HEADERS {
            if let Some(value) = get(name) {
                let value = if *name == "content-encoding" { strip_aws_chunked(value) } else { value.to_owned() };
                if !value.is_empty() {
                    headers.push(((*name).to_owned(), value));
                }
            }
        }
        if let Some(class) = storage_class_of(get(STORAGE_CLASS_HEADER))? {
            headers.push((STORAGE_CLASS_HEADER.to_owned(), class.to_owned()));
        }
        let mut user_meta: Vec<(String, String)> = Vec::new();
        for (name, value) in fields {
            if let Some(short) = name.strip_prefix("x-amz-meta-") {
                match user_meta.iter_mut().find(|(n, _)| n == short) {
                    Some((_, existing)) => {
                        existing.push(',');
                        existing.push_str(value);
                    }
                    None => user_meta.push((short.to_owned(), value.clone())),
                }
            }
        }
        let meta_bytes: usize = user_meta.iter().map(|(n, v)| n.len() + v.len()).sum();
        if meta_bytes > USER_META_MAX_BYTES {
            return Err(S3Error::new(
                "MetadataTooLarge",
                400,
                "Your metadata headers exceed the maximum allowed metadata size.",
            )
            .with("Size", meta_bytes.to_string())
            .with("MaxSizeAllowed", USER_META_MAX_BYTES.to_string()));
        }
        Ok(ObjectMeta { content_type, headers, user_meta, tags: Vec::new() })
    }

    /// What places the body: the tiering hint and the storage class.
    pub fn hint(&self) -> stratum_engine::autotier::HintSource<'_> {
        (&self.user_meta, &self.headers)
    }

    pub fn into_record(self, etag: String, size: u64) -> ObjectRecord {
        ObjectRecord {
            size,
            etag,
            modified_ms: now_ms(),
            content_type: self.content_type,
            headers: self.headers,
            user_meta: self.user_meta,
            segments: Vec::new(),
            tags: self.tags,
            checksum: None,
        }
    }
}

/// aws-chunked is a transfer detail, not part of the object's encoding.
fn strip_aws_chunked(value: &str) -> String {
    value.split(',').map(str::trim).filter(|e| *e != "aws-chunked" && !e.is_empty()).collect::<Vec<_>>().join(",")
}

/// Content-MD5 as 16 bytes, if sent; malformed → InvalidDigest.
pub fn content_md5(req: &Request) -> Result<Option<[u8; 16]>, S3Error> {
    let Some(value) = req.header("content-md5") else { return Ok(None) };
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
        .and_then(|d| <[u8; 16]>::try_from(d.as_slice()).ok())
        .map(Some)
        .ok_or_else(|| S3Error::new("InvalidDigest", 400, "The Content-MD5 you specified was invalid."))
}

/// Streams a request body into a new volume on this core and seals it.
/// Checks Content-MD5 and every body check before sealing, so a rejected
/// body leaves nothing behind. With `checksum`, the body's checksum of that
/// algorithm is computed when the client sent none (a multipart part).
pub async fn receive_volume(
    ctx: &Ctx,
    req: &Request,
    body: &mut Body<'_>,
    checksum: Option<ChecksumAlgo>,
    tier: stratum_engine::Tier,
) -> Result<SealedVolume, S3Error> {
    let expected_md5 = content_md5(req)?;
    if body.len() > PUT_SIZE_MAX_BYTES {
        return Err(S3Error::new(
            "EntityTooLarge",
            400,
            "Your proposed upload exceeds the maximum allowed object size.",
        )
        .with("ProposedSize", body.len().to_string())
        .with("MaxSizeAllowed", PUT_SIZE_MAX_BYTES.to_string()));
    }
    body.expect_trailer_checksum(req.header("x-amz-trailer"));
    if let Some(algo) = checksum {
        match body.checksum_algo() {
            Some(sent) if sent != algo => {
                return Err(S3Error::invalid_request(format!(
                    "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
                    algo.algorithm_name().to_ascii_lowercase(),
                    sent.algorithm_name().to_ascii_lowercase()
                )))
            }
            _ => body.compute_checksum(algo),
        }
    }
    let mut writer = ctx.store.new_volume_in(tier)?;
    match fill(&mut writer, body).await {
        Ok(()) => {}
        Err(e) => {
            writer.discard().await;
            return Err(e);
        }
    }
    if let Some(md5) = expected_md5 {
        if md5 != writer.md5().await {
            writer.discard().await;
            return Err(S3Error::new(
                "BadDigest",
                400,
                "The Content-MD5 you specified did not match what we received.",
            ));
        }
    }
    Ok(writer.seal().await?)
}

async fn fill(writer: &mut VolumeWriter, body: &mut Body<'_>) -> Result<(), S3Error> {
    while let Some(bytes) = body.next().await? {
        writer.write(bytes).await?;
    }
    Ok(())
}

pub async fn put_object(ctx: &Ctx, req: &Request, body: &mut Body<'_>) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    ctx.store.bucket(bucket).ok_or_else(S3Error::no_such_bucket)?;
    let meta = ObjectMeta::from_request(req)?;
    // Where the tiering policy would put it, so it is not moved right after.
    let tier = ctx.store.placement(&meta.content_type, key, meta.hint(), body.len());
    let volume = receive_volume(ctx, req, body, None, tier).await?;
    let mut record = meta.into_record(hex::encode(volume.md5), volume.size);
    record.checksum = body.checksum().map(|(algo, value)| (algo.algorithm_name().to_owned(), value.clone()));
    let stored = ctx.store.put_object(bucket, key, record, volume).await?;
    Ok(with_checksum(Response::ok().header("etag", quoted(&stored.etag)), body.checksum()))
}

/// Echoes the checksum of a stored body, as S3 answers PUT and UploadPart.
pub fn with_checksum(resp: Response, checksum: Option<&(ChecksumAlgo, String)>) -> Response {
    match checksum {
        Some((algo, value)) => resp.header(algo.header_name(), value.clone()),
        None => resp,
    }
}

/// `x-amz-checksum-mode: ENABLED` asks for the stored checksum; S3 gives it
/// only for the whole object (a range has no stored checksum).
fn object_checksum(mut resp: Response, req: &Request, record: &ObjectRecord) -> Response {
    let asked = req.header("x-amz-checksum-mode").is_some_and(|m| m.trim().eq_ignore_ascii_case("ENABLED"));
    let Some((name, value)) = record.checksum.as_ref().filter(|_| asked && resp.status == 200) else {
        return resp;
    };
    if let Some(algo) = ChecksumAlgo::from_algorithm_name(name) {
        let kind = if value.contains('-') { "COMPOSITE" } else { "FULL_OBJECT" };
        resp = resp.header(algo.header_name(), value.clone()).header("x-amz-checksum-type", kind);
    }
    resp
}

/// The headers describing an object, as GET and HEAD return them.
fn object_headers(mut resp: Response, record: &ObjectRecord) -> Response {
    resp = resp
        .header("etag", quoted(&record.etag))
        .header("last-modified", http_date(record.modified_ms))
        .header("accept-ranges", "bytes")
        .header("content-type", record.content_type.clone());
    for (name, value) in &record.headers {
        if let Some(known) = STORED_HEADERS.iter().chain([&STORAGE_CLASS_HEADER]).find(|h| **h == name) {
            resp = resp.header(*known, value.clone());
        }
    }
    for (name, value) in &record.user_meta {
        resp = resp.header(format!("x-amz-meta-{name}"), value.clone());
    }
    with_tag_count(resp, &record.tags)
}

/// Response overrides a GET may ask for (response-content-type, ...).
const OVERRIDES: &[(&str, &str)] = &[
    ("response-content-type", "content-type"),
    ("response-content-language", "content-language"),
    ("response-expires", "expires"),
    ("response-cache-control", "cache-control"),
    ("response-content-disposition", "content-disposition"),
    ("response-content-encoding", "content-encoding"),
];

pub fn http_date(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    httpdate::fmt_http_date(t)
}

/// GetObject and HeadObject: conditions, then range, then the body.
pub async fn get_object(ctx: &Ctx, req: &Request, head_only: bool) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    let part = match req.param("partNumber") {
        None => None,
        Some(_) => Some(part_number(req)?),
    };
    if part.is_some() && req.header("range").is_some() {
        return Err(S3Error::invalid_request("Cannot specify both Range header and partNumber query parameter"));
    }
    let record = ctx.store.head_object(bucket, key).await?;
    match evaluate(&conditions(req, ""), &record.etag, record.modified_ms / 1000) {
        Outcome::Proceed => {}
        Outcome::NotModified => {
            return Ok(Response::new(304)
                .header("etag", quoted(&record.etag))
                .header("last-modified", http_date(record.modified_ms)));
        }
        Outcome::PreconditionFailed => {
            return Err(S3Error::new(
                "PreconditionFailed",
                412,
                "At least one of the pre-conditions you specified did not hold",
            )
            .with("Condition", "If-Match"));
        }
    }
    let mut resp = object_headers(Response::ok(), &record);
    for (param, header) in OVERRIDES {
        if let Some(value) = req.param(param) {
            resp.headers.retain(|(n, _)| n != header);
            resp = resp.header(*header, value.to_owned());
        }
    }
    let (start, end) = match (part, req.header("range").and_then(range::parse)) {
        (Some(n), _) => {
            let (start, end) = part_range(&record, n).ok_or_else(|| {
                S3Error::new("InvalidPartNumber", 416, "The requested partnumber is not satisfiable")
                    .with("PartNumberRequested", n.to_string())
                    .with("ActualPartCount", parts_count(&record).to_string())
            })?;
            // A ranged GET of the part's bytes, as S3 answers it (an empty
            // part has no range to name); only a multipart object says how
            // many parts it has.
            if end > start {
                resp.status = 206;
                resp = resp.header("content-range", format!("bytes {start}-{}/{}", end - 1, record.size));
            }
            if is_multipart(&record) {
                resp = resp.header("x-amz-mp-parts-count", parts_count(&record).to_string());
            }
            (start, end)
        }
        (None, None) => (0, record.size),
        (None, Some(spec)) => {
            let (start, end) = range::resolve(spec, record.size).ok_or_else(|| {
                S3Error::new("InvalidRange", 416, "The requested range is not satisfiable")
                    .with("RangeRequested", req.header("range").unwrap_or_default())
                    .with("ActualObjectSize", record.size.to_string())
            })?;
            resp.status = 206;
            resp = resp.header("content-range", format!("bytes {start}-{}/{}", end - 1, record.size));
            (start, end)
        }
    };
    let len = end - start;
    let resp = object_checksum(resp, req, &record);
    if head_only {
        return Ok(resp.with_body(ResponseBody::HeadOnly { len }));
    }
    ctx.store.note_read(bucket, key, start, len);
    let reader = ctx.store.reader(&record, start, end);
    Ok(resp.with_body(ResponseBody::Object { reader: Box::new(reader), len }))
}

/// A completed multipart upload (its ETag ends in `-N`).
fn is_multipart(record: &ObjectRecord) -> bool {
    record.etag.contains('-')
}

/// Parts of the object: its segments if multipart (one per part), else 1.
fn parts_count(record: &ObjectRecord) -> usize {
    if is_multipart(record) {
        record.segments.len()
    } else {
        1
    }
}

/// The bytes `start..end` of part `n` (1-based), if the object has it.
fn part_range(record: &ObjectRecord, n: u32) -> Option<(u64, u64)> {
    let n = usize::try_from(n).ok()?.checked_sub(1)?;
    if !is_multipart(record) {
        return (n == 0).then_some((0, record.size));
    }
    let start: u64 = record.segments.get(..n)?.iter().map(|s| s.size).sum();
    let size = record.segments.get(n)?.size;
    Some((start, start + size))
}

pub async fn delete_object(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    ctx.store.delete_object(bucket, key).await?;
    Ok(Response::new(204))
}

pub async fn delete_objects(ctx: &Ctx, req: &Request, body: &mut Body<'_>) -> Result<Response, S3Error> {
    let bucket = bucket_of(req)?;
    ctx.store.bucket(bucket).ok_or_else(S3Error::no_such_bucket)?;
    let bytes = body.read_all(xml::MAX_XML_BODY_BYTES).await?;
    let request = xml::parse_delete_objects(&bytes).map_err(|_| S3Error::malformed_xml())?;
    let mut result = xml::DeleteResult::default();
    for object in request.objects {
        match ctx.store.delete_object(bucket, &object.key).await {
            Ok(()) if request.quiet => {}
            Ok(()) => result.deleted.push(xml::DeletedEntry { key: object.key, ..Default::default() }),
            Err(e) => {
                let e = S3Error::from(e);
                result.errors.push(xml::DeleteErrorEntry {
                    key: object.key,
                    version_id: object.version_id,
                    code: e.code.to_owned(),
                    message: e.message,
                });
            }
        }
    }
    Ok(Response::xml(xml::delete_result(&result)))
}
