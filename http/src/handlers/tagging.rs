//! Object tagging: Put/Get/DeleteObjectTagging, and the `x-amz-tagging`
//! header of PutObject, CreateMultipartUpload and CopyObject.

use percent_encoding::percent_decode_str;

use crate::body::Body;
use crate::ctx::Ctx;
use crate::error::S3Error;
use crate::handlers::object_of;
use crate::request::Request;
use crate::response::Response;
use crate::xml;

pub async fn get_object_tagging(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    let record = ctx.store.head_object(bucket, key).await?;
    Ok(Response::xml(xml::tagging(&record.tags)))
}

pub async fn put_object_tagging(ctx: &Ctx, req: &Request, body: &mut Body<'_>) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    let bytes = body.read_all(xml::MAX_XML_BODY_BYTES).await?;
    let tags = xml::parse_tagging(&bytes)?;
    ctx.store.set_object_tags(bucket, key, tags).await?;
    Ok(Response::ok())
}

pub async fn delete_object_tagging(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let (bucket, key) = object_of(req)?;
    ctx.store.set_object_tags(bucket, key, Vec::new()).await?;
    Ok(Response::new(204))
}

/// `x-amz-tagging: k1=v1&k2=v2` (URL-encoded, like a query string).
pub fn header_tags(req: &Request) -> Result<Vec<(String, String)>, S3Error> {
    let Some(header) = req.header("x-amz-tagging") else { return Ok(Vec::new()) };
    let mut tags = Vec::new();
    for pair in header.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        tags.push((form_decode(k)?, form_decode(v)?));
    }
    xml::check_tags(&tags)?;
    Ok(tags)
}

fn form_decode(s: &str) -> Result<String, S3Error> {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| S3Error::new("InvalidTag", 400, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."))
}

/// `x-amz-tagging-count`, as GET and HEAD give it when an object has tags.
pub fn with_tag_count(resp: Response, tags: &[(String, String)]) -> Response {
    if tags.is_empty() {
        resp
    } else {
        resp.header("x-amz-tagging-count", tags.len().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::Head;

    fn with_header(value: &str) -> Request {
        let head = Head {
            method: "PUT".into(),
            target: "/b/k".into(),
            minor_version: 1,
            headers: vec![("x-amz-tagging".into(), value.into())],
        };
        Request::parse(head).expect("parses")
    }

    #[test]
    fn tagging_header_is_url_encoded_pairs() {
        let tags = header_tags(&with_header("a=1&b%20c=d+e&empty=")).expect("valid");
        assert_eq!(tags, [("a", "1"), ("b c", "d e"), ("empty", "")].map(|(k, v)| (k.into(), v.into())));
        assert_eq!(header_tags(&with_header("a=1&a=2")).map_err(|e| e.code), Err("InvalidTag"));
        let many: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        assert_eq!(header_tags(&with_header(&many.join("&"))).map_err(|e| e.code), Err("BadRequest"));
    }
}
