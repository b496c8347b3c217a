//! AWS Signature Version 2 for S3, which `aws s3 presign` (awscli v1) still
//! makes by default: presigned URLs (`AWSAccessKeyId`, `Expires`,
//! `Signature`) and the `Authorization: AWS key:signature` header of older
//! tools. Pure, like [`crate::sigv4`]: the caller hands in the request, a
//! way to find a secret key and the time.
//!
//! The string to sign is the method, `Content-MD5`, `Content-Type`, the date
//! (`Expires` for a URL; empty when `x-amz-date` is sent), the `x-amz-*`
//! headers and the resource: `/bucket/key` as sent, with the sub-resources
//! S3 signs. The signature is base64 HMAC-SHA1 with the secret key. The
//! payload is not signed: a body is checked only by its Content-MD5.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::sigv4::{
    constant_time_eq, parse_http_date, AuthError, Payload, RequestParts, Verified, MAX_CLOCK_SKEW_SECS,
};

/// Query parameters that are part of the signed resource (those botocore's
/// `HmacV1Auth` and S3 agree on); any other parameter is not signed.
const SIGNED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// A presigned URL: `AWSAccessKeyId`, `Expires` (Unix seconds) and
/// `Signature` in the query.
pub fn verify_query<F>(req: &RequestParts<'_>, secret_for: F, now: i64) -> Result<Verified, AuthError>
where
    F: FnOnce(&str) -> Option<String>,
{
    let (mut access_key, mut expires, mut signature) = (None, None, None);
    for pair in req.raw_query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "AWSAccessKeyId" => &mut access_key,
            "Expires" => &mut expires,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(decode(value)?).is_some() {
            return Err(AuthError::InvalidArgument(format!("{key} is repeated")));
        }
    }
    let missing = || {
        AuthError::InvalidArgument(
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters".to_owned(),
        )
    };
    let (access_key, expires, signature) =
        (access_key.ok_or_else(missing)?, expires.ok_or_else(missing)?, signature.ok_or_else(missing)?);
    let expires_at = crate::request::parse_decimal(&expires)
        .and_then(|e| i64::try_from(e).ok())
        .ok_or_else(|| AuthError::InvalidArgument("Expires must be a number of seconds since 1970".to_owned()))?;
    // No cap on how far ahead: unlike V4's week, a V2 URL may be made to
    // last for years, and tools that make them rely on that.
    if now > expires_at {
        return Err(AuthError::Expired);
    }
    let secret = secret_for(&access_key).ok_or(AuthError::InvalidAccessKeyId)?;
    check(req, &expires, &secret, &signature)?;
    Ok(Verified { access_key, payload: Payload::Unsigned })
}

/// `Authorization: AWS <access key>:<signature>`.
pub fn verify_header<F>(
    req: &RequestParts<'_>,
    credential: &str,
    secret_for: F,
    now: i64,
) -> Result<Verified, AuthError>
where
    F: FnOnce(&str) -> Option<String>,
{
    let (access_key, signature) = credential.trim().split_once(':').ok_or_else(|| {
        AuthError::InvalidArgument(
            "Authorization header is invalid -- one and only one ' ' (space) required".to_owned(),
        )
    })?;
    // With x-amz-date the Date line is empty (the header is signed among
    // the x-amz-* ones); either must be a valid HTTP date near ours.
    let amz_date = header(req, "x-amz-date");
    let date = match amz_date {
        Some(d) => d,
        None => header(req, "date").ok_or(AuthError::InvalidDate)?,
    };
    let request_time = parse_http_date(date.trim()).ok_or(AuthError::InvalidDate)?;
    if (now - request_time).abs() > MAX_CLOCK_SKEW_SECS {
        return Err(AuthError::RequestTimeTooSkewed);
    }
    let secret = secret_for(access_key).ok_or(AuthError::InvalidAccessKeyId)?;
    let date_line = if amz_date.is_some() { "" } else { date.trim() };
    check(req, date_line, &secret, signature)?;
    Ok(Verified { access_key: access_key.to_owned(), payload: Payload::Unsigned })
}

fn check(req: &RequestParts<'_>, date_line: &str, secret: &str, provided_b64: &str) -> Result<(), AuthError> {
    let expected = signature(secret, &string_to_sign(req, date_line));
    let provided = base64::engine::general_purpose::STANDARD
        .decode(provided_b64.trim())
        .map_err(|_| AuthError::SignatureDoesNotMatch)?;
    if constant_time_eq(&expected, &provided) {
        Ok(())
    } else {
        Err(AuthError::SignatureDoesNotMatch)
    }
}

/// Whether `provided_b64` is the SigV2 signature of a POST form's `policy`
/// (base64, as sent) with `secret`.
pub fn policy_signature_matches(secret: &str, policy: &str, provided_b64: &str) -> bool {
    let Ok(provided) = base64::engine::general_purpose::STANDARD.decode(provided_b64.trim()) else {
        return false;
    };
    crate::sigv4::constant_time_eq(&signature(secret, policy), &provided)
}

fn signature(secret: &str, string_to_sign: &str) -> [u8; 20] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(string_to_sign.as_bytes());
    mac.finalize().into_bytes().into()
}

fn header<'r>(req: &'r RequestParts<'_>, name: &str) -> Option<&'r str> {
    req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn string_to_sign(req: &RequestParts<'_>, date_line: &str) -> String {
    let mut s = String::with_capacity(256);
    s.push_str(req.method);
    s.push('\n');
    s.push_str(header(req, "content-md5").map_or("", str::trim));
    s.push('\n');
    s.push_str(header(req, "content-type").map_or("", str::trim));
    s.push('\n');
    s.push_str(date_line);
    s.push('\n');
    let mut amz: Vec<(String, String)> = Vec::new();
    for (name, value) in req.headers {
        let name = name.to_ascii_lowercase();
        if !name.starts_with("x-amz-") {
            continue;
        }
        match amz.iter_mut().find(|(n, _)| *n == name) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(value.trim());
            }
            None => amz.push((name, value.trim().to_owned())),
        }
    }
    amz.sort();
    for (name, value) in amz {
        s.push_str(&name);
        s.push(':');
        s.push_str(&value);
        s.push('\n');
    }
    if let Some(bucket) = req.host_bucket {
        s.push('/');
        s.push_str(bucket);
    }
    s.push_str(req.raw_path);
    // A bucket is signed as `/bucket/`, also when the path style sent `/bucket`.
    if req.host_bucket.is_none() && req.raw_path.len() > 1 && !req.raw_path[1..].contains('/') {
        s.push('/');
    }
    let mut subresources: Vec<(&str, Option<String>)> = req
        .raw_query
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').map_or((pair, None), |(k, v)| (k, Some(v)));
            let key = SIGNED_SUBRESOURCES.iter().find(|s| **s == key)?;
            Some((*key, value.map(|v| decode(v).unwrap_or_else(|_| v.to_owned()))))
        })
        .collect();
    subresources.sort();
    for (i, (key, value)) in subresources.into_iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(key);
        if let Some(value) = value {
            s.push('=');
            s.push_str(&value);
        }
    }
    s
}

/// Percent-decodes a query value (`+` is a space, as botocore encodes it).
fn decode(value: &str) -> Result<String, AuthError> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| AuthError::InvalidArgument("a query parameter is not valid UTF-8".to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned())).collect()
    }

    fn secret(ak: &str) -> Option<String> {
        (ak == AK).then(|| SK.to_owned())
    }

    /// The example of AWS's "Signing and authenticating REST requests"
    /// guide (signature version 2): GET /photos/puppy.jpg, virtual host.
    #[test]
    fn aws_guide_object_get() {
        let hs = headers(&[
            ("Host", "awsexamplebucket1.us-west-1.s3.amazonaws.com"),
            ("Date", "Tue, 27 Mar 2007 19:36:42 +0000"),
        ]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/photos/puppy.jpg",
            raw_query: "",
            headers: &hs,
            host_bucket: Some("awsexamplebucket1"),
        };
        let sts = string_to_sign(&req, "Tue, 27 Mar 2007 19:36:42 +0000");
        assert_eq!(sts, "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg");
        let sig = base64::engine::general_purpose::STANDARD.encode(signature(SK, &sts));
        assert_eq!(sig, "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=");
    }

    /// x-amz-* headers lowercased, repeated ones folded with commas, sorted.
    #[test]
    fn amz_headers_are_folded_and_sorted() {
        let hs = headers(&[
            ("Date", "Tue, 27 Mar 2007 21:06:08 +0000"),
            ("x-amz-acl", "public-read"),
            ("content-type", "application/x-download"),
            ("Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="),
            ("X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"),
            ("X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"),
            ("X-Amz-Meta-FileChecksum", "0x02661779"),
            ("X-Amz-Meta-ChecksumAlgorithm", "crc32"),
        ]);
        let req = RequestParts {
            method: "PUT",
            raw_path: "/db-backup.dat.gz",
            raw_query: "",
            headers: &hs,
            host_bucket: Some("static.johnsmith.net"),
        };
        let sts = string_to_sign(&req, "Tue, 27 Mar 2007 21:06:08 +0000");
        assert_eq!(
            sts,
            "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n\
             x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n\
             x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz"
        );
    }

    #[test]
    fn presigned_url() {
        let sts = "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg";
        let sig = base64::engine::general_purpose::STANDARD.encode(signature(SK, sts));
        let sig: String = percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC).collect();
        let query = format!("AWSAccessKeyId={AK}&Expires=1175139620&Signature={sig}");
        let hs = headers(&[("Host", "johnsmith.s3.amazonaws.com")]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/photos/puppy.jpg",
            raw_query: &query,
            headers: &hs,
            host_bucket: Some("johnsmith"),
        };
        assert_eq!(verify_query(&req, secret, 1_175_139_000).unwrap().access_key, AK);
        assert_eq!(verify_query(&req, secret, 1_175_139_621).unwrap_err(), AuthError::Expired);
        // made in 1990 to last until 2007: still good
        assert!(verify_query(&req, secret, 631_152_000).is_ok());
        let other = RequestParts { raw_path: "/photos/kitten.jpg", ..req };
        assert_eq!(verify_query(&other, secret, 1_175_139_000).unwrap_err(), AuthError::SignatureDoesNotMatch);
        let path_style = RequestParts { raw_path: "/johnsmith/photos/puppy.jpg", host_bucket: None, ..req };
        assert!(verify_query(&path_style, secret, 1_175_139_000).is_ok());
        assert_eq!(verify_query(&req, |_| None, 1_175_139_000).unwrap_err(), AuthError::InvalidAccessKeyId);
    }

    #[test]
    fn subresources_are_signed_other_parameters_not() {
        let hs = headers(&[]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/b/k",
            raw_query: "versionId=3&x-id=GetObject&response-content-type=text%2Fplain&acl",
            headers: &hs,
            host_bucket: None,
        };
        assert_eq!(string_to_sign(&req, "1"), "GET\n\n\n1\n/b/k?acl&response-content-type=text/plain&versionId=3");
        // a bucket, path or virtual-host style, is `/bucket/` (botocore's auth path)
        let list = RequestParts { raw_path: "/b", raw_query: "list-type=2&prefix=v2%2F", ..req };
        assert_eq!(string_to_sign(&list, "1"), "GET\n\n\n1\n/b/");
        let hosted = RequestParts { raw_path: "/", host_bucket: Some("b"), ..list };
        assert_eq!(string_to_sign(&hosted, "1"), "GET\n\n\n1\n/b/");
    }

    #[test]
    fn header_auth_checks_date_and_signature() {
        let date = "Tue, 27 Mar 2007 19:36:42 GMT";
        let now = parse_http_date(date).unwrap();
        let sign = |hs: &[(String, String)], date_line: &str| {
            let req = RequestParts { method: "GET", raw_path: "/b/k", raw_query: "", headers: hs, host_bucket: None };
            base64::engine::general_purpose::STANDARD.encode(signature(SK, &string_to_sign(&req, date_line)))
        };
        let hs = headers(&[("Date", date)]);
        let good = format!("{AK}:{}", sign(&hs, date));
        let req = RequestParts { method: "GET", raw_path: "/b/k", raw_query: "", headers: &hs, host_bucket: None };
        assert!(verify_header(&req, &good, secret, now).is_ok());
        assert_eq!(verify_header(&req, &good, secret, now + 3600).unwrap_err(), AuthError::RequestTimeTooSkewed);
        let put = RequestParts { method: "PUT", ..req };
        assert_eq!(verify_header(&put, &good, secret, now).unwrap_err(), AuthError::SignatureDoesNotMatch);
        // x-amz-date replaces Date, which is then signed as empty.
        let hs = headers(&[("Date", "garbage"), ("x-amz-date", date)]);
        let good = format!("{AK}:{}", sign(&hs, ""));
        let req = RequestParts { method: "GET", raw_path: "/b/k", raw_query: "", headers: &hs, host_bucket: None };
        assert!(verify_header(&req, &good, secret, now).is_ok());
        let no_date = headers(&[]);
        let req = RequestParts { method: "GET", raw_path: "/b/k", raw_query: "", headers: &no_date, host_bucket: None };
        assert_eq!(verify_header(&req, &good, secret, now).unwrap_err(), AuthError::InvalidDate);
    }
}
