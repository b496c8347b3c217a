//! ListObjects (v1), ListObjectsV2 and ListMultipartUploads: parameters in,
//! a merged page from the engine, XML out.

use base64::Engine as _;
use stratum_engine::{ListEntry, ListPage, ListRequest};

use crate::ctx::{owner, Ctx};
use crate::error::S3Error;
use crate::handlers::{bucket_of, param_count, quoted};
use crate::limits::LIST_KEYS_MAX;
use crate::request::Request;
use crate::response::Response;
use crate::xml;

fn encoding_is_url(req: &Request) -> Result<bool, S3Error> {
    match req.param("encoding-type") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("url") => Ok(true),
        Some(v) => Err(S3Error::invalid_argument("Invalid Encoding Method specified in Request")
            .with("ArgumentName", "encoding-type")
            .with("ArgumentValue", v)),
    }
}

/// Continuation tokens are the last name listed, base64: opaque to clients,
/// and they keep their meaning across restarts.
fn encode_token(name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name)
}

fn decode_token(token: &str) -> Result<String, S3Error> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            S3Error::invalid_argument("The continuation token provided is incorrect")
                .with("ArgumentName", "continuation-token")
        })
}

fn split(page: &ListPage, fetch_owner: bool) -> (Vec<xml::ObjectEntry>, Vec<String>) {
    let mut contents = Vec::new();
    let mut prefixes = Vec::new();
    for entry in &page.entries {
        match entry {
            ListEntry::Object { key, size, etag, modified_ms, storage_class } => contents.push(xml::ObjectEntry {
                key: key.clone(),
                last_modified_ms: *modified_ms,
                etag: quoted(etag),
                size: *size,
                storage_class: storage_class.as_deref().unwrap_or("STANDARD").into(),
                owner: fetch_owner.then(owner),
            }),
            ListEntry::Prefix(p) => prefixes.push(p.clone()),
            ListEntry::Upload(_) => {}
        }
    }
    (contents, prefixes)
}

/// The parameters every listing shares; the caller sets where it starts.
fn base_request(req: &Request, limit_param: &str) -> Result<(ListRequest, bool), S3Error> {
    let url = encoding_is_url(req)?;
    let request = ListRequest {
        bucket: bucket_of(req)?.to_owned(),
        prefix: req.param("prefix").unwrap_or_default().to_owned(),
        delimiter: req.param("delimiter").filter(|d| !d.is_empty()).map(str::to_owned),
        after: None,
        after_upload_id: None,
        limit: param_count(req, limit_param, LIST_KEYS_MAX, LIST_KEYS_MAX)?,
    };
    Ok((request, url))
}

pub async fn list_objects_v2(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (mut request, url) = base_request(req, "max-keys")?;
    let token = req.param("continuation-token").map(decode_token).transpose()?;
    let start_after = req.param("start-after").filter(|s| !s.is_empty());
    request.after = token.or_else(|| start_after.map(str::to_owned));
    let (bucket, prefix, delimiter, max_keys) =
        (request.bucket.clone(), request.prefix.clone(), request.delimiter.clone(), request.limit);
    let page = ctx.store.list(request, false).await?;
    let next = page.truncated.then(|| page.entries.last().map(|e| encode_token(e.name()))).flatten();
    let (contents, common_prefixes) = split(&page, req.param("fetch-owner") == Some("true"));
    let result = xml::ListObjectsV2Result {
        name: bucket,
        prefix,
        delimiter,
        max_keys: max_keys as u32,
        is_truncated: page.truncated,
        continuation_token: req.param("continuation-token").map(str::to_owned),
        next_continuation_token: next,
        start_after: start_after.map(str::to_owned),
        encoding_type_url: url,
        contents,
        common_prefixes,
    };
    Ok(Response::xml(xml::list_bucket_result_v2(&result)))
}

pub async fn list_objects_v1(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (mut request, url) = base_request(req, "max-keys")?;
    let marker = req.param("marker").unwrap_or_default().to_owned();
    request.after = Some(marker.clone()).filter(|m| !m.is_empty());
    let (bucket, prefix, delimiter, max_keys) =
        (request.bucket.clone(), request.prefix.clone(), request.delimiter.clone(), request.limit);
    let page = ctx.store.list(request, false).await?;
    let next_marker =
        (page.truncated && delimiter.is_some()).then(|| page.entries.last().map(|e| e.name().to_owned())).flatten();
    let (contents, common_prefixes) = split(&page, true);
    let result = xml::ListObjectsV1Result {
        name: bucket,
        prefix,
        marker,
        next_marker,
        delimiter,
        max_keys: max_keys as u32,
        is_truncated: page.truncated,
        encoding_type_url: url,
        contents,
        common_prefixes,
    };
    Ok(Response::xml(xml::list_bucket_result_v1(&result)))
}

pub async fn list_multipart_uploads(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (mut request, url) = base_request(req, "max-uploads")?;
    let key_marker = req.param("key-marker").unwrap_or_default().to_owned();
    let upload_id_marker = req.param("upload-id-marker").unwrap_or_default().to_owned();
    request.after = Some(key_marker.clone()).filter(|m| !m.is_empty());
    request.after_upload_id = Some(upload_id_marker.clone()).filter(|m| !m.is_empty() && !key_marker.is_empty());
    let (bucket, prefix, delimiter, max_uploads) =
        (request.bucket.clone(), request.prefix.clone(), request.delimiter.clone(), request.limit);
    let page = ctx.store.list(request, true).await?;
    let mut uploads = Vec::new();
    let mut common_prefixes = Vec::new();
    for entry in &page.entries {
        match entry {
            ListEntry::Upload(u) => uploads.push(xml::UploadEntry {
                key: u.key.clone(),
                upload_id: u.upload_id.clone(),
                initiator: owner(),
                owner: owner(),
                storage_class: u.storage_class.as_deref().unwrap_or("STANDARD").into(),
                initiated_ms: u.initiated_ms,
            }),
            ListEntry::Prefix(p) => common_prefixes.push(p.clone()),
            ListEntry::Object { .. } => {}
        }
    }
    let (next_key_marker, next_upload_id_marker) = match page.entries.last() {
        Some(ListEntry::Upload(u)) if page.truncated => (u.key.clone(), u.upload_id.clone()),
        Some(ListEntry::Prefix(p)) if page.truncated => (p.clone(), String::new()),
        _ => (String::new(), String::new()),
    };
    let result = xml::ListMultipartUploadsResult {
        bucket,
        key_marker,
        upload_id_marker,
        next_key_marker,
        next_upload_id_marker,
        prefix,
        delimiter,
        max_uploads: max_uploads as u32,
        is_truncated: page.truncated,
        encoding_type_url: url,
        uploads,
        common_prefixes,
    };
    Ok(Response::xml(xml::list_multipart_uploads_result(&result)))
}
