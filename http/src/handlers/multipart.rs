//! CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
//! AbortMultipartUpload, ListParts.

use stratum_engine::{PartRecord, UploadRecord};

use crate::aws_chunked::ChecksumAlgo;
use crate::body::Body;
use crate::ctx::{now_ms, owner, Ctx};
use crate::error::S3Error;
use crate::handlers::object::{receive_volume, with_checksum, ObjectMeta};
use crate::handlers::{object_of, param_count, quoted};
use crate::request::Request;
use crate::response::Response;
use crate::xml;

pub const PART_NUMBER_MAX: u32 = 10_000;

pub fn upload_id(req: &Request) -> Result<&str, S3Error> {
    req.param("uploadId")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| S3Error::invalid_argument("uploadId must be given").with("ArgumentName", "uploadId"))
}

pub fn part_number(req: &Request) -> Result<u32, S3Error> {
    req.param("partNumber")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=PART_NUMBER_MAX).contains(n))
        .ok_or_else(|| {
            S3Error::invalid_argument("Part number must be an integer between 1 and 10000, inclusive")
                .with("ArgumentName", "partNumber")
        })
}

pub async fn create_multipart_upload(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    let meta = ObjectMeta::from_request(req)?;
    let checksum_algo = match req.header("x-amz-checksum-algorithm") {
        None => None,
        Some(name) => Some(ChecksumAlgo::from_algorithm_name(name).ok_or_else(|| {
            S3Error::invalid_request("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
        })?),
    };
    let record = UploadRecord {
        initiated_ms: now_ms(),
        content_type: meta.content_type,
        headers: meta.headers,
        user_meta: meta.user_meta,
        tags: meta.tags,
        checksum_algorithm: checksum_algo.map(|a| a.algorithm_name().to_owned()),
    };
    let upload_id = ctx.store.create_upload(bucket, key, record).await?;
    let result = xml::InitiateMultipartUploadResult { bucket: bucket.to_owned(), key: key.to_owned(), upload_id };
    let resp = Response::xml(xml::initiate_multipart_upload_result(&result));
    Ok(match checksum_algo {
        Some(algo) => resp.header("x-amz-checksum-algorithm", algo.algorithm_name()),
        None => resp,
    })
}

pub async fn upload_part(ctx: &Ctx, req: &Request, body: &mut Body<'_>) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    let upload_id = upload_id(req)?;
    let part_number = part_number(req)?;
    // Refuse before reading a body that could never be committed; the
    // upload's record says which checksum each part needs.
    let (upload, _) = ctx.store.list_parts(bucket, key, upload_id, PART_NUMBER_MAX, 0).await?;
    let algo = upload.checksum_algorithm.as_deref().and_then(ChecksumAlgo::from_algorithm_name);
    // Every part where the upload's type and hint place the object.
    let tier = ctx.store.placement(&upload.content_type, key, (&upload.user_meta, &upload.headers), body.len());
    let volume = receive_volume(ctx, req, body, algo, tier).await?;
    let etag = hex::encode(volume.md5);
    let part = PartRecord {
        part_number,
        etag: etag.clone(),
        size: volume.size,
        modified_ms: now_ms(),
        body: volume.body.clone(),
        checksum: body.checksum().map(|(_, value)| value.clone()),
    };
    ctx.store.put_part(bucket, key, upload_id, part, volume).await?;
    Ok(with_checksum(Response::ok().header("etag", quoted(&etag)), body.checksum()))
}

pub async fn complete_multipart_upload(ctx: &Ctx, req: &Request, body: &mut Body<'_>) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    let upload_id = upload_id(req)?;
    let bytes = body.read_all(xml::MAX_COMPLETE_MULTIPART_BODY_BYTES).await?;
    let listed = xml::parse_complete_multipart_upload(&bytes).map_err(|_| S3Error::malformed_xml())?;
    check_part_checksums(ctx, req, &listed).await?;
    let parts = listed.into_iter().map(|p| (p.part_number, p.etag.trim().trim_matches('"').to_owned())).collect();
    let record = ctx.store.complete_upload(bucket, key, upload_id, parts, now_ms()).await?;
    let result = xml::CompleteMultipartUploadResult {
        location: format!("/{bucket}/{key}"),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        etag: quoted(&record.etag),
        checksum: record.checksum.clone(),
    };
    Ok(Response::xml(xml::complete_multipart_upload_result(&result)))
}

/// The part checksums a Complete request names (`<ChecksumCRC32>` …) must
/// be the stored ones, as S3 checks; a part the request gives none for is
/// taken as stored.
async fn check_part_checksums(ctx: &Ctx, req: &Request, listed: &[xml::CompletedPart]) -> Result<(), S3Error> {
    if listed.iter().all(|p| p.checksums.is_empty()) {
        return Ok(());
    }
    let (bucket, key) = object_of(req)?;
    let limit = PART_NUMBER_MAX as usize;
    let (upload, stored) = ctx.store.list_parts(bucket, key, upload_id(req)?, 0, limit).await?;
    let element = upload.checksum_algorithm.map(|a| format!("Checksum{a}"));
    for part in listed {
        let sent = element.as_ref().and_then(|e| part.checksums.get(e));
        let kept = stored.iter().find(|s| s.part_number == part.part_number).and_then(|s| s.checksum.as_ref());
        if sent.is_some_and(|sent| Some(sent) != kept) {
            return Err(stratum_engine::EngineError::InvalidPart(part.part_number).into());
        }
    }
    Ok(())
}

pub async fn abort_multipart_upload(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    ctx.store.abort_upload(bucket, key, upload_id(req)?).await?;
    Ok(Response::new(204))
}

pub async fn list_parts(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    let upload_id = upload_id(req)?;
    let max_parts = param_count(req, "max-parts", 1000, 1000)?;
    let marker = match req.param("part-number-marker") {
        None => 0,
        Some(m) => m.parse::<u32>().map_err(|_| {
            S3Error::invalid_argument("Provided part-number-marker not an integer or within integer range")
                .with("ArgumentName", "part-number-marker")
        })?,
    };
    let (upload, mut parts) = ctx.store.list_parts(bucket, key, upload_id, marker, max_parts).await?;
    let is_truncated = parts.len() > max_parts;
    parts.truncate(max_parts);
    let result = xml::ListPartsResult {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        upload_id: upload_id.to_owned(),
        initiator: owner(),
        owner: owner(),
        storage_class: stratum_meta::storage_class(&upload.headers).unwrap_or("STANDARD").into(),
        checksum_algorithm: upload.checksum_algorithm.clone(),
        part_number_marker: marker,
        next_part_number_marker: parts.last().map_or(0, |p| p.part_number),
        max_parts: max_parts as u32,
        is_truncated,
        parts: parts
            .iter()
            .map(|p| xml::PartEntry {
                part_number: p.part_number,
                last_modified_ms: p.modified_ms,
                etag: quoted(&p.etag),
                size: p.size,
                checksum: upload.checksum_algorithm.clone().zip(p.checksum.clone()),
            })
            .collect(),
    };
    Ok(Response::xml(xml::list_parts_result(&result)))
}
