//! CopyObject and UploadPartCopy: the source is read through the engine
//! (every block verified) and written as a new volume on this core, so a
//! copy works between buckets and between cores alike.

use stratum_engine::{ObjectRecord, PartRecord, SealedVolume};
use stratum_meta::STORAGE_CLASS_HEADER;

use crate::aws_chunked::{ChecksumAlgo, ChecksumHasher};
use crate::conditional::{evaluate, Outcome};
use crate::ctx::{now_ms, Ctx};
use crate::error::S3Error;
use crate::handlers::multipart::{part_number, upload_id, PART_NUMBER_MAX};
use crate::handlers::object::{storage_class, ObjectMeta};
use crate::handlers::tagging::header_tags;
use crate::handlers::{conditions, object_of, quoted};
use crate::limits::PUT_SIZE_MAX_BYTES;
use crate::request::Request;
use crate::response::Response;
use crate::xml;

pub async fn copy_object(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    let (src_bucket, src_key) = copy_source(req)?;
    ctx.store.bucket(bucket).ok_or_else(S3Error::no_such_bucket)?;
    let source = ctx.store.head_object(&src_bucket, &src_key).await?;
    check_source_conditions(req, &source)?;
    if source.size > PUT_SIZE_MAX_BYTES {
        return Err(S3Error::invalid_request(format!(
            "The specified copy source is larger than the maximum allowable size for a copy source: {PUT_SIZE_MAX_BYTES}"
        )));
    }
    let replace = directive(req, "x-amz-metadata-directive")?;
    let class = storage_class(req)?;
    // A copy onto itself that names another storage class changes the class.
    let changes_class =
        req.header(STORAGE_CLASS_HEADER).is_some() && class != stratum_meta::storage_class(&source.headers);
    if !replace && !changes_class && src_bucket == bucket && src_key == key {
        return Err(S3Error::invalid_request(
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let mut meta = if replace {
        ObjectMeta::from_request(req)?
    } else {
        ObjectMeta {
            content_type: source.content_type.clone(),
            headers: source.headers.clone(),
            user_meta: source.user_meta.clone(),
            tags: Vec::new(),
        }
    };
    meta.tags = if directive(req, "x-amz-tagging-directive")? { header_tags(req)? } else { source.tags.clone() };
    // S3: a copy is STANDARD unless the request names its class, whatever
    // the source's.
    meta.headers.retain(|(name, _)| name != STORAGE_CLASS_HEADER);
    if let Some(class) = class {
        meta.headers.push((STORAGE_CLASS_HEADER.to_owned(), class.to_owned()));
    }
    // Where the tiering policy would put the copy, so it is not moved after.
    let tier = ctx.store.placement(&meta.content_type, key, meta.hint(), source.size);
    let (volume, _) = copy_range(ctx, &source, 0, source.size, None, tier).await?;
    // A multipart source keeps its ETag semantics only as an MD5 of the bytes now.
    let mut record = meta.into_record(hex::encode(volume.md5), volume.size);
    // Same bytes, same full-object checksum; a composite one described the source's parts.
    record.checksum = source.checksum.clone().filter(|(_, value)| !value.contains('-'));
    let stored = ctx.store.put_object(bucket, key, record, volume).await?;
    let result = xml::CopyResult { etag: quoted(&stored.etag), last_modified_ms: stored.modified_ms };
    Ok(Response::xml(xml::copy_object_result(&result)))
}

/// UploadPartCopy: a part made of a source object, or of the bytes
/// `x-amz-copy-source-range: bytes=first-last` names.
pub async fn upload_part_copy(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    let upload_id = upload_id(req)?;
    let part_number = part_number(req)?;
    let (src_bucket, src_key) = copy_source(req)?;
    let (upload, _) = ctx.store.list_parts(bucket, key, upload_id, PART_NUMBER_MAX, 0).await?;
    let source = ctx.store.head_object(&src_bucket, &src_key).await?;
    check_source_conditions(req, &source)?;
    let (start, end) = match req.header("x-amz-copy-source-range") {
        None => (0, source.size),
        Some(range) => copy_source_range(range, source.size)?,
    };
    if end - start > PUT_SIZE_MAX_BYTES {
        return Err(S3Error::new("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size")
            .with("MaxSizeAllowed", PUT_SIZE_MAX_BYTES.to_string()));
    }
    let algo = upload.checksum_algorithm.as_deref().and_then(ChecksumAlgo::from_algorithm_name);
    let tier = ctx.store.placement(&upload.content_type, key, (&upload.user_meta, &upload.headers), end - start);
    let (volume, checksum) = copy_range(ctx, &source, start, end, algo, tier).await?;
    let etag = hex::encode(volume.md5);
    let modified_ms = now_ms();
    let part = PartRecord {
        part_number,
        etag: etag.clone(),
        size: volume.size,
        modified_ms,
        body: volume.body.clone(),
        checksum,
    };
    ctx.store.put_part(bucket, key, upload_id, part, volume).await?;
    let result = xml::CopyResult { etag: quoted(&etag), last_modified_ms: modified_ms };
    Ok(Response::xml(xml::copy_part_result(&result)))
}

/// Copies `start..end` of `source` into a new sealed volume, with the
/// checksum of `algo` over the copied bytes when asked.
async fn copy_range(
    ctx: &Ctx,
    source: &ObjectRecord,
    start: u64,
    end: u64,
    algo: Option<ChecksumAlgo>,
    tier: stratum_engine::Tier,
) -> Result<(SealedVolume, Option<String>), S3Error> {
    let mut hasher = algo.map(ChecksumHasher::new);
    let mut writer = ctx.store.new_volume_in(tier)?;
    let mut reader = ctx.store.reader(source, start, end);
    loop {
        let pieces = match reader.next().await {
            Ok(Some(pieces)) => pieces,
            Ok(None) => break,
            Err(e) => {
                writer.discard().await;
                return Err(e.into());
            }
        };
        for piece in &pieces {
            if let Some(h) = &mut hasher {
                h.update(piece.as_slice());
            }
            if let Err(e) = writer.write(piece.as_slice()).await {
                writer.discard().await;
                return Err(e.into());
            }
        }
    }
    let volume = writer.seal().await?;
    Ok((volume, hasher.map(ChecksumHasher::finalize_base64)))
}

/// `COPY` (the default) or `REPLACE`; true for REPLACE.
pub fn directive(req: &Request, header: &str) -> Result<bool, S3Error> {
    match req.header(header).map(str::trim) {
        None | Some("COPY") => Ok(false),
        Some("REPLACE") => Ok(true),
        Some(other) => {
            Err(S3Error::invalid_argument(format!("Unknown {header}: {other}")).with("ArgumentName", header))
        }
    }
}

/// x-amz-copy-source-if-*: any failed condition is 412 for a copy (there is
/// no 304), with GET's precedence between the pairs.
fn check_source_conditions(req: &Request, source: &ObjectRecord) -> Result<(), S3Error> {
    match evaluate(&conditions(req, "x-amz-copy-source-"), &source.etag, source.modified_ms / 1000) {
        Outcome::Proceed => Ok(()),
        Outcome::NotModified | Outcome::PreconditionFailed => Err(S3Error::new(
            "PreconditionFailed",
            412,
            "At least one of the pre-conditions you specified did not hold",
        )
        .with("Condition", "x-amz-copy-source-If-Match")),
    }
}

/// `bytes=first-last`, both given and inside the source (S3 takes no other form here).
fn copy_source_range(value: &str, size: u64) -> Result<(u64, u64), S3Error> {
    let invalid =
        || S3Error::invalid_argument(format!("Range specified is not valid for source object of size: {size}"));
    let (first, last) = value.trim().strip_prefix("bytes=").and_then(|r| r.split_once('-')).ok_or_else(invalid)?;
    let first = crate::request::parse_decimal(first).ok_or_else(invalid)?;
    let last = crate::request::parse_decimal(last).ok_or_else(invalid)?;
    if first > last || last >= size {
        return Err(invalid());
    }
    Ok((first, last + 1))
}

/// `x-amz-copy-source`: `bucket/key` or `/bucket/key`, percent-encoded,
/// optionally with `?versionId=` (we keep one version).
fn copy_source(req: &Request) -> Result<(String, String), S3Error> {
    let raw = req.header("x-amz-copy-source").unwrap_or_default();
    let raw = raw.split_once("?versionId=").map_or(raw, |(path, _)| path);
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| S3Error::invalid_argument("Invalid copy source encoding"))?;
    let trimmed = decoded.strip_prefix('/').unwrap_or(&decoded);
    match trimmed.split_once('/') {
        Some((b, k)) if !b.is_empty() && !k.is_empty() => Ok((b.to_owned(), k.to_owned())),
        _ => {
            Err(S3Error::invalid_argument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
                .with("ArgumentName", "x-amz-copy-source"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_ranges() {
        assert_eq!(copy_source_range("bytes=0-9", 10).map_err(|e| e.code), Ok((0, 10)));
        assert_eq!(copy_source_range("bytes=5-5", 10).map_err(|e| e.code), Ok((5, 6)));
        for bad in ["bytes=0-10", "bytes=5-4", "bytes=-5", "bytes=5-", "0-4", "bytes=a-b", "bytes=+1-4"] {
            assert_eq!(copy_source_range(bad, 10).map_err(|e| e.code), Err("InvalidArgument"), "{bad}");
        }
    }
}
