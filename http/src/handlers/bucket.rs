//! CreateBucket, HeadBucket, DeleteBucket, ListBuckets, GetBucketLocation.

use crate::body::Body;
use crate::ctx::{now_ms, owner, Ctx};
use crate::error::S3Error;
use crate::handlers::bucket_of;
use crate::request::Request;
use crate::response::Response;
use crate::xml;

/// S3's bucket naming rules.
pub fn validate_bucket_name(name: &str) -> Result<(), S3Error> {
    let invalid =
        || S3Error::new("InvalidBucketName", 400, "The specified bucket is not valid.").with("BucketName", name);
    let bytes = name.as_bytes();
    let ok_chars = bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-');
    let ok_ends =
        bytes.first().is_some_and(u8::is_ascii_alphanumeric) && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    let looks_like_ip = name.parse::<std::net::Ipv4Addr>().is_ok();
    if !(3..=63).contains(&bytes.len()) || !ok_chars || !ok_ends || name.contains("..") || looks_like_ip {
        return Err(invalid());
    }
    if name.starts_with("xn--")
        || name.starts_with("sthree-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3")
    {
        return Err(invalid());
    }
    Ok(())
}

pub async fn create_bucket(ctx: &Ctx, req: &Request, body: &mut Body<'_>) -> Result<Response, S3Error> {
    let name = bucket_of(req)?;
    validate_bucket_name(name)?;
    let config = body.read_all(xml::MAX_XML_BODY_BYTES).await?;
    if let Some(location) = xml::parse_create_bucket(&config).map_err(|_| S3Error::malformed_xml())? {
        if location != ctx.config.region && !(location.is_empty() && ctx.config.region == "us-east-1") {
            return Err(S3Error::new(
                "InvalidLocationConstraint",
                400,
                "The specified location-constraint is not valid.",
            ));
        }
    }
    ctx.store.create_bucket(name, now_ms()).await?;
    Ok(Response::ok().header("location", format!("/{name}")))
}

pub fn head_bucket(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let name = bucket_of(req)?;
    ctx.store.bucket(name).ok_or_else(S3Error::no_such_bucket)?;
    Ok(Response::ok().header("x-amz-bucket-region", ctx.config.region.clone()))
}

pub async fn delete_bucket(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    ctx.store.delete_bucket(bucket_of(req)?).await?;
    Ok(Response::new(204))
}

pub fn list_buckets(ctx: &Ctx) -> Result<Response, S3Error> {
    let buckets = ctx
        .store
        .buckets()
        .into_iter()
        .map(|b| xml::BucketEntry { name: b.name, creation_date_ms: b.created_ms })
        .collect();
    let result = xml::ListAllMyBucketsResult { owner: owner(), buckets, continuation_token: None, prefix: None };
    Ok(Response::xml(xml::list_all_my_buckets_result(&result)))
}

pub fn get_bucket_location(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    ctx.store.bucket(bucket_of(req)?).ok_or_else(S3Error::no_such_bucket)?;
    Ok(Response::xml(xml::location_constraint(Some(&ctx.config.region))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_naming_rules() {
        for good in ["abc", "my-bucket.v2", "a1b", "0-0", &"a".repeat(63)] {
            assert!(validate_bucket_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "Upper",
            "under_score",
            "-start",
            "end-",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            ".dot",
            "a b",
            "..",
            ".",
        ] {
            assert_eq!(validate_bucket_name(bad).map(|_| ()).unwrap_err().code, "InvalidBucketName", "{bad}");
        }
    }
}
