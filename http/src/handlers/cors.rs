//! Bucket CORS: Put/Get/DeleteBucketCors, the OPTIONS preflight, and the
//! CORS headers of actual requests. Browser video players fetch objects
//! from pages on other origins; without these headers they cannot.

use stratum_meta::CorsRule;

use crate::body::Body;
use crate::ctx::Ctx;
use crate::error::S3Error;
use crate::handlers::bucket_of;
use crate::request::Request;
use crate::response::Response;
use crate::xml;

pub async fn put_bucket_cors(ctx: &Ctx, req: &Request, body: &mut Body<'_>) -> Result<Response, S3Error> {
    let bucket = bucket_of(req)?;
    ctx.store.bucket(bucket).ok_or_else(S3Error::no_such_bucket)?;
    let bytes = body.read_all(xml::MAX_CORS_BODY_BYTES).await?;
    let rules = xml::parse_cors(&bytes)?;
    ctx.store.set_bucket_cors(bucket, rules).await?;
    Ok(Response::ok())
}

pub fn get_bucket_cors(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let record = ctx.store.bucket(bucket_of(req)?).ok_or_else(S3Error::no_such_bucket)?;
    if record.cors.is_empty() {
        return Err(S3Error::new("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist"));
    }
    Ok(Response::xml(xml::cors_configuration(&record.cors)))
}

pub async fn delete_bucket_cors(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    ctx.store.set_bucket_cors(bucket_of(req)?, Vec::new()).await?;
    Ok(Response::new(204))
}

/// OPTIONS: answers a browser's preflight from the bucket's rules.
pub fn preflight(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    let origin = req.header("origin");
    let method = req.header("access-control-request-method");
    let (Some(origin), Some(method)) = (origin, method) else {
        return Err(S3Error::new("BadRequest", 400, "Insufficient information. Origin request header needed."));
    };
    let record = ctx.store.bucket(bucket_of(req)?).ok_or_else(S3Error::no_such_bucket)?;
    let asked: Vec<&str> =
        req.header("access-control-request-headers").map_or(Vec::new(), |h| h.split(',').map(str::trim).collect());
    let rule = find_rule(&record.cors, origin, method, &asked).ok_or_else(|| {
        S3Error::new("AccessForbidden", 403, "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
            .with("Method", method)
            .with("ResourceType", if req.key.is_some() { "OBJECT" } else { "BUCKET" })
    })?;
    let mut resp =
        allow(Response::ok(), rule, origin).header("access-control-allow-methods", rule.allowed_methods.join(", "));
    if !asked.is_empty() {
        resp = resp.header("access-control-allow-headers", asked.join(", "));
    }
    if let Some(age) = rule.max_age_seconds {
        resp = resp.header("access-control-max-age", age.to_string());
    }
    Ok(resp)
}

/// The CORS headers of an actual (non-preflight) request with an Origin
/// that a rule of its bucket allows for its method.
pub fn with_cors_headers(ctx: &Ctx, req: &Request, resp: Response) -> Response {
    let (Some(origin), Some(bucket)) = (req.header("origin"), req.bucket.as_deref()) else { return resp };
    let Some(record) = ctx.store.bucket(bucket) else { return resp };
    match find_rule(&record.cors, origin, req.method(), &[]) {
        Some(rule) => allow(resp, rule, origin),
        None => resp,
    }
}

fn allow(mut resp: Response, rule: &CorsRule, origin: &str) -> Response {
    // A rule for any origin answers "*" and allows no credentials, as S3 does.
    if rule.allowed_origins.iter().any(|o| o == "*") {
        resp = resp.header("access-control-allow-origin", "*");
    } else {
        resp = resp.header("access-control-allow-origin", origin).header("access-control-allow-credentials", "true");
    }
    if !rule.expose_headers.is_empty() {
        resp = resp.header("access-control-expose-headers", rule.expose_headers.join(", "));
    }
    resp.header("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
}

/// The first rule that allows `origin`, `method` and every requested header.
pub fn find_rule<'r>(rules: &'r [CorsRule], origin: &str, method: &str, headers: &[&str]) -> Option<&'r CorsRule> {
    rules.iter().find(|r| {
        r.allowed_origins.iter().any(|o| wildcard_match(o, origin))
            && r.allowed_methods.iter().any(|m| m == method)
            && headers.iter().filter(|h| !h.is_empty()).all(|h| {
                r.allowed_headers.iter().any(|a| wildcard_match(&a.to_ascii_lowercase(), &h.to_ascii_lowercase()))
            })
    })
}

/// `pattern` with at most one `*`, which matches any run of characters.
fn wildcard_match(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((prefix, suffix)) => {
            value.len() >= prefix.len() + suffix.len() && value.starts_with(prefix) && value.ends_with(suffix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        CorsRule {
            allowed_origins: v(origins),
            allowed_methods: v(methods),
            allowed_headers: v(headers),
            ..Default::default()
        }
    }

    #[test]
    fn rules_match_origin_method_and_headers() {
        let rules =
            [rule(&["https://*.example.com"], &["GET", "HEAD"], &["range", "x-amz-*"]), rule(&["*"], &["PUT"], &["*"])];
        assert!(find_rule(&rules, "https://player.example.com", "GET", &["Range"]).is_some());
        assert!(find_rule(&rules, "https://player.example.com", "GET", &["x-amz-date", "range"]).is_some());
        assert!(find_rule(&rules, "https://player.example.com", "GET", &["authorization"]).is_none());
        assert!(find_rule(&rules, "https://example.com", "GET", &[]).is_none());
        assert!(find_rule(&rules, "http://player.example.com", "GET", &[]).is_none());
        assert_eq!(find_rule(&rules, "https://anyone.test", "PUT", &["content-type"]), Some(&rules[1]));
        assert!(find_rule(&rules, "https://anyone.test", "DELETE", &[]).is_none());
        assert!(find_rule(&[], "https://anyone.test", "GET", &[]).is_none());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*c", "abc") && wildcard_match("a*c", "ac"));
        assert!(!wildcard_match("ab*bc", "abc"));
        assert!(!wildcard_match("abc", "abcd"));
    }
}
