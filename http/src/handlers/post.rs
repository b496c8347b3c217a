//! PostObject: an upload from a browser form (`multipart/form-data`),
//! authorized by the signed policy among its fields instead of a signed
//! request. The fields come first; the file is streamed into a volume as
//! it arrives, its size checked against the policy's range on the way.

use crate::body::Body;
use crate::ctx::{now_ms, Ctx};
use crate::error::S3Error;
use crate::handlers::object::ObjectMeta;
use crate::handlers::{bucket_of, quoted};
use crate::limits::PUT_SIZE_MAX_BYTES;
use crate::post_policy::{self, PartHead, Policy};
use crate::request::Request;
use crate::response::Response;
use crate::{sigv2, sigv4, xml};

/// Bytes of all the fields before the file (the policy among them).
const FIELDS_MAX_BYTES: usize = 64 * 1024;
/// Bytes of one part's header lines.
const PART_HEAD_MAX_BYTES: usize = 8 * 1024;
/// What a field's part head costs against [`FIELDS_MAX_BYTES`].
const PART_HEAD_OVERHEAD_BYTES: usize = 64;
/// Longest key S3 takes, in bytes.
const KEY_MAX_BYTES: usize = 1024;

fn malformed() -> S3Error {
    S3Error::new("MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data.")
}

fn fields_too_large() -> S3Error {
    S3Error::new(
        "MaxPostPreDataLengthExceeded",
        400,
        "Your POST request fields preceding the upload file were too large.",
    )
}

pub async fn post_object(ctx: &Ctx, req: &Request, body: &mut Body<'_>) -> Result<Response, S3Error> {
    let bucket = bucket_of(req)?;
    ctx.store.bucket(bucket).ok_or_else(S3Error::no_such_bucket)?;
    let boundary = req.header("content-type").and_then(post_policy::boundary).ok_or_else(malformed)?;
    let mut form = Form::new(body, &boundary);
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut fields_bytes = 0;
    let file = loop {
        let Some(head) = form.next_part().await? else {
            return Err(S3Error::invalid_argument("POST requires exactly one file upload per request.")
                .with("ArgumentName", "file"));
        };
        if head.name.eq_ignore_ascii_case("file") {
            break head;
        }
        let value = form.value(FIELDS_MAX_BYTES.saturating_sub(fields_bytes)).await?;
        // A part's head counts too: many empty fields are no way around the limit.
        fields_bytes += PART_HEAD_OVERHEAD_BYTES + head.name.len() + value.len();
        if fields_bytes > FIELDS_MAX_BYTES {
            return Err(fields_too_large());
        }
        let name = head.name.to_ascii_lowercase();
        // A value becomes a header of the object or of this answer: no
        // line breaks or other controls. One value per name, or a policy
        // condition would check the first and the object keep them all.
        // `tagging` is an XML document, parsed below, never a header.
        if has_controls(&name) || (name != "tagging" && has_controls(&value)) {
            return Err(S3Error::invalid_argument(format!("The form field {name} holds control characters"))
                .with("ArgumentName", name));
        }
        if fields.iter().any(|(k, _)| *k == name) {
            return Err(S3Error::invalid_argument(format!("The form field {name} is given more than once"))
                .with("ArgumentName", name));
        }
        fields.push((name, value));
    };
    if file.content_type.as_deref().is_some_and(has_controls) {
        return Err(malformed());
    }
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let policy = authorize(ctx, bucket, &fields)?;
    let key = field("key").ok_or_else(|| {
        S3Error::invalid_argument(
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
        )
        .with("ArgumentName", "key")
    })?;
    let key = key.replace("${filename}", file.filename.as_deref().unwrap_or_default());
    if key.len() > KEY_MAX_BYTES {
        return Err(S3Error::new("KeyTooLongError", 400, "Your key is too long"));
    }
    if key.is_empty() || key.contains('\0') {
        return Err(S3Error::invalid_argument("The key must be 1 to 1024 bytes of UTF-8 without NUL")
            .with("ArgumentName", "key"));
    }
    let mut meta = ObjectMeta::from_fields(&fields)?;
    if let Some(tagging) = field("tagging") {
        meta.tags = xml::parse_tagging(tagging.as_bytes())?;
    }
    if field("content-type").is_none() {
        if let Some(content_type) = &file.content_type {
            meta.content_type = content_type.clone();
        }
    }
    let (min, max) = policy.as_ref().and_then(Policy::length_range).unwrap_or((0, PUT_SIZE_MAX_BYTES));
    let max = max.min(PUT_SIZE_MAX_BYTES);
    // The form's length bounds the file's: room is checked against it.
    let tier = ctx.store.placement(&meta.content_type, &key, meta.hint(), form.body.len().min(max));
    let mut writer = ctx.store.new_volume_in(tier)?;
    let mut size = 0u64;
    loop {
        let chunk = match form.file_bytes().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                writer.discard().await;
                return Err(e);
            }
        };
        size += chunk.len() as u64;
        if size > max {
            writer.discard().await;
            return Err(S3Error::new("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size")
                .with("MaxSizeAllowed", max.to_string()));
        }
        if let Err(e) = writer.write(&chunk).await {
            writer.discard().await;
            return Err(e.into());
        }
    }
    if size < min {
        writer.discard().await;
        return Err(S3Error::new(
            "EntityTooSmall",
            400,
            "Your proposed upload is smaller than the minimum allowed size",
        )
        .with("MinSizeAllowed", min.to_string()));
    }
    // Fields after the file are ignored, as S3 does; the body is read to its end.
    if let Err(e) = form.skip_rest().await {
        writer.discard().await;
        return Err(e);
    }
    let volume = writer.seal().await?;
    let record = meta.into_record(hex::encode(volume.md5), volume.size);
    let stored = ctx.store.put_object(bucket, &key, record, volume).await?;
    let etag = quoted(&stored.etag);
    let location = format!("/{bucket}/{}", xml::url_encode(&key));
    if let Some(url) = field("success_action_redirect").or(field("redirect")).filter(|u| !u.is_empty()) {
        let sep = if url.contains('?') { '&' } else { '?' };
        let query =
            format!("bucket={}&key={}&etag={}", xml::url_encode(bucket), xml::url_encode(&key), xml::url_encode(&etag));
        return Ok(Response::new(303).header("location", format!("{url}{sep}{query}")).header("etag", etag));
    }
    Ok(match field("success_action_status") {
        Some("200") => Response::ok().header("etag", etag).header("location", location),
        Some("201") => {
            let result =
                xml::PostResponse { location: location.clone(), bucket: bucket.to_owned(), key, etag: etag.clone() };
            let mut resp = Response::xml(xml::post_response(&result)).header("etag", etag).header("location", location);
            resp.status = 201;
            resp
        }
        _ => Response::new(204).header("etag", etag).header("location", location),
    })
}

/// Checks the form's signature and policy. A form without a policy is an
/// anonymous upload: taken only by a node run with `--anonymous`.
fn authorize(ctx: &Ctx, bucket: &str, fields: &[(String, String)]) -> Result<Option<Policy>, S3Error> {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let Some(policy_b64) = field("policy") else {
        if ctx.config.anonymous {
            return Ok(None);
        }
        return Err(S3Error::new("AccessDenied", 403, "Access Denied"));
    };
    let secret_for = |access_key: &str| {
        ctx.config.credentials.iter().find(|c| c.access_key == access_key).map(|c| c.secret_key.as_str()).ok_or_else(
            || {
                S3Error::new(
                    "InvalidAccessKeyId",
                    403,
                    "The AWS Access Key Id you provided does not exist in our records.",
                )
            },
        )
    };
    let signed = if let Some(signature) = field("x-amz-signature") {
        if field("x-amz-algorithm") != Some("AWS4-HMAC-SHA256") {
            return Err(S3Error::invalid_argument("Only AWS4-HMAC-SHA256 is supported for x-amz-algorithm")
                .with("ArgumentName", "x-amz-algorithm"));
        }
        // access-key/yyyymmdd/region/s3/aws4_request
        let credential = field("x-amz-credential").unwrap_or_default();
        let parts: Vec<&str> = credential.split('/').collect();
        let [access_key, date, region, "s3", "aws4_request"] = parts[..] else {
            return Err(S3Error::invalid_argument("Invalid credential in the form's x-amz-credential")
                .with("ArgumentName", "x-amz-credential"));
        };
        sigv4::policy_signature_matches(secret_for(access_key)?, date, region, policy_b64, signature)
    } else if let (Some(access_key), Some(signature)) = (field("awsaccesskeyid"), field("signature")) {
        sigv2::policy_signature_matches(secret_for(access_key)?, policy_b64, signature)
    } else {
        return Err(S3Error::invalid_argument("Bucket POST must contain a field named 'x-amz-signature'.")
            .with("ArgumentName", "x-amz-signature"));
    };
    if !signed {
        return Err(S3Error::new(
            "SignatureDoesNotMatch",
            403,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ));
    }
    let policy = Policy::parse(policy_b64)?;
    policy.check(bucket, fields, now_ms())?;
    Ok(Some(policy))
}

/// The form as it streams in: parts split at `\r\n--boundary`.
struct Form<'b, 'c> {
    body: &'b mut Body<'c>,
    /// `\r\n--boundary`: every delimiter, the first one included once the
    /// buffer starts with `\r\n`.
    delimiter: Vec<u8>,
    buf: Vec<u8>,
    /// Bytes at the start of `buf` already searched for the delimiter (a
    /// body trickled in byte by byte is not searched again from the start).
    searched: usize,
    /// The file's bytes are all out: the buffer starts at its delimiter.
    file_done: bool,
}

impl<'b, 'c> Form<'b, 'c> {
    fn new(body: &'b mut Body<'c>, boundary: &str) -> Form<'b, 'c> {
        Form {
            body,
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            buf: b"\r\n".to_vec(),
            searched: 0,
            file_done: false,
        }
    }

    /// Where the delimiter starts in the buffer, searching only what was not
    /// searched before (less the delimiter's length, for one cut by a read).
    fn find_delimiter(&mut self) -> Option<usize> {
        let from = self.searched.saturating_sub(self.delimiter.len() - 1);
        let found = find(&self.buf[from..], &self.delimiter).map(|at| from + at);
        self.searched = if found.is_some() { 0 } else { self.buf.len() };
        found
    }

    /// Drops the first `n` bytes of the buffer.
    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.searched = 0;
    }

    /// Reads more of the body; false at its end.
    async fn fill(&mut self) -> Result<bool, S3Error> {
        match self.body.next().await? {
            Some(bytes) => {
                self.buf.extend_from_slice(bytes);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn fill_to(&mut self, len: usize) -> Result<(), S3Error> {
        while self.buf.len() < len {
            if !self.fill().await? {
                return Err(malformed());
            }
        }
        Ok(())
    }

    /// At a delimiter: the next part's head, or `None` after the last.
    async fn next_part(&mut self) -> Result<Option<PartHead>, S3Error> {
        let d = self.delimiter.len();
        self.fill_to(d + 2).await?;
        if !self.buf.starts_with(&self.delimiter) {
            return Err(malformed());
        }
        if &self.buf[d..d + 2] == b"--" {
            return Ok(None);
        }
        if &self.buf[d..d + 2] != b"\r\n" {
            return Err(malformed());
        }
        let mut from = d + 2;
        let end = loop {
            if let Some(at) = find(&self.buf[from..], b"\r\n\r\n") {
                break from + at;
            }
            if self.buf.len() > d + 2 + PART_HEAD_MAX_BYTES {
                return Err(malformed());
            }
            from = self.buf.len().saturating_sub(3).max(d + 2);
            if !self.fill().await? {
                return Err(malformed());
            }
        };
        let head = post_policy::part_head(&self.buf[d + 2..end]).ok_or_else(malformed)?;
        self.consume(end + 4);
        Ok(Some(head))
    }

    /// A field's value, up to the next delimiter; longer than `max` is refused.
    async fn value(&mut self, max: usize) -> Result<String, S3Error> {
        let at = loop {
            if let Some(at) = self.find_delimiter() {
                break at;
            }
            if self.buf.len() > max + self.delimiter.len() {
                return Err(fields_too_large());
            }
            if !self.fill().await? {
                return Err(malformed());
            }
        };
        if at > max {
            return Err(fields_too_large());
        }
        let value = String::from_utf8(self.buf[..at].to_vec()).map_err(|_| malformed())?;
        self.consume(at);
        Ok(value)
    }

    /// The file's next bytes, `None` at its end. A tail that could be the
    /// start of the delimiter waits for more.
    async fn file_bytes(&mut self) -> Result<Option<Vec<u8>>, S3Error> {
        loop {
            if self.file_done {
                return Ok(None);
            }
            if let Some(at) = self.find_delimiter() {
                self.file_done = true;
                let rest = self.buf.split_off(at);
                return Ok(Some(std::mem::replace(&mut self.buf, rest)));
            }
            let keep = self.delimiter.len() - 1;
            if self.buf.len() > keep + 64 * 1024 {
                let rest = self.buf.split_off(self.buf.len() - keep);
                self.searched = 0;
                return Ok(Some(std::mem::replace(&mut self.buf, rest)));
            }
            if !self.fill().await? {
                return Err(malformed());
            }
        }
    }

    /// Reads the parts after the file to the body's end.
    async fn skip_rest(&mut self) -> Result<(), S3Error> {
        self.buf.clear();
        while self.fill().await? {
            self.buf.clear();
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Control characters other than tab (CR and LF among them).
fn has_controls(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\t')
}
