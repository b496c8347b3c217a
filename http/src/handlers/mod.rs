//! One file per group of S3 operations, like the S3 API reference.

pub mod admin;
pub mod bucket;
pub mod copy;
pub mod cors;
pub mod list;
pub mod multipart;
pub mod object;
pub mod post;
pub mod tagging;

use crate::error::S3Error;
use crate::request::Request;

/// The bucket of a request routed to a bucket or object operation.
pub fn bucket_of(req: &Request) -> Result<&str, S3Error> {
    req.bucket.as_deref().ok_or_else(|| S3Error::invalid_request("no bucket in the request"))
}

/// The bucket and key of a request routed to an object operation.
pub fn object_of(req: &Request) -> Result<(&str, &str), S3Error> {
    Ok((bucket_of(req)?, req.key.as_deref().ok_or_else(|| S3Error::invalid_request("no key in the request"))?))
}

/// An ETag as S3 writes it: quoted.
pub fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// A numeric query parameter in `0..=max_allowed`, clamped to `cap`.
pub fn param_count(req: &Request, name: &str, default: usize, cap: usize) -> Result<usize, S3Error> {
    match req.param(name) {
        None => Ok(default),
        Some(v) => v.trim().parse::<i64>().ok().filter(|n| *n >= 0).map(|n| (n as usize).min(cap)).ok_or_else(|| {
            S3Error::invalid_argument(format!("Provided {name} not an integer or within integer range"))
                .with("ArgumentName", name)
                .with("ArgumentValue", v)
        }),
    }
}

/// The four conditional headers, plain (`if-match`, …) or with a prefix
/// (`x-amz-copy-source-` for a copy's source).
pub fn conditions<'r>(req: &'r Request, prefix: &str) -> crate::conditional::Conditions<'r> {
    let header = |name: &str| req.header(&format!("{prefix}{name}"));
    crate::conditional::Conditions {
        if_match: header("if-match"),
        if_none_match: header("if-none-match"),
        if_modified_since: header("if-modified-since"),
        if_unmodified_since: header("if-unmodified-since"),
    }
}
