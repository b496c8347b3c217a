//! SigV4: the canonical URI and query, and `verify` on requests as a client
//! sends them (header auth and presigned URLs).
//!
//! Input: a mode byte, then text lines. Mode `V` (verify): method, request
//! target, then `name: value` headers; "now" is the request's own date, so
//! mutations of a real signed request reach the signature check. The
//! credentials are AWS's documented example keys: the AWS example requests
//! in the corpus verify. Mode `S` (sign): method, host, target, Unix time.
//!
//! Properties: the canonical forms are idempotent and use only unreserved
//! characters and `%XX`; what `sign_request` signs, `verify` accepts; a
//! verified request fails with one signature digit or its method changed,
//! has a signed Host and every `x-amz-*` header signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use stratum_http::sigv4::{
    canonical_query, canonical_uri, parse_amz_date, parse_http_date, sign_request, verify, AuthError, Credentials,
    RequestParts,
};

const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let creds = [Credentials { access_key: ACCESS_KEY.to_owned(), secret_key: SECRET_KEY.to_owned() }];
    if mode == b'S' {
        let (Some(method), Some(host), Some(target), Some(now)) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return;
        };
        sign_then_verify(method, host, target, now.parse::<u32>().map_or(0, i64::from), &creds);
        return;
    }
    let (Some(method), Some(target)) = (lines.next(), lines.next()) else { return };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    check_canonical(path, query);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let now = request_time(&headers, query);
    let parts = RequestParts { method, raw_path: path, raw_query: query, headers: &headers, host_bucket: None };
    let Ok(verified) = verify(&parts, &creds, now) else { return };
    assert_eq!(verify(&parts, &creds, now).ok(), Some(verified.clone()), "verify is not deterministic");
    assert_eq!(verified.access_key, ACCESS_KEY);
    check_verified(&parts, &creds, now);
});

fn check_canonical(path: &str, query: &str) {
    let uri = canonical_uri(path);
    assert_eq!(canonical_uri(&uri), uri, "canonical_uri({path:?}) is not canonical");
    assert!(uri.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)), "{uri:?}");
    for presigned in [false, true] {
        let q = canonical_query(query, presigned);
        assert_eq!(canonical_query(&q, presigned), q, "canonical_query({query:?}) is not canonical");
        assert!(q.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%&=".contains(&b)), "{q:?}");
    }
}

/// The time the request claims, so the clock-skew check passes.
fn request_time(headers: &[(String, String)], query: &str) -> i64 {
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let presigned_date = query.split('&').find_map(|p| p.strip_prefix("X-Amz-Date="));
    header("x-amz-date")
        .or(presigned_date)
        .and_then(parse_amz_date)
        .or_else(|| header("date").and_then(parse_http_date))
        .unwrap_or(0)
}

fn check_verified(parts: &RequestParts<'_>, creds: &[Credentials], now: i64) {
    let signed_headers = signed_header_names(parts);
    assert!(signed_headers.iter().any(|n| n == "host"), "verified without a signed Host");
    for (name, _) in parts.headers {
        if name.starts_with("x-amz-") && name != "x-amz-content-sha256" {
            assert!(signed_headers.contains(name), "{name} verified unsigned");
        }
    }
    let method = format!("{}X", parts.method);
    let other = RequestParts { method: &method, ..*parts };
    assert!(verify(&other, creds, now).is_err(), "verified with another method");
    let tampered: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), if n == "authorization" { flip_signature_digit(v) } else { v.clone() }))
        .collect();
    let query = flip_signature_digit(parts.raw_query);
    let other = RequestParts { headers: &tampered, raw_query: &query, ..*parts };
    assert!(verify(&other, creds, now).is_err(), "verified with another signature");
}

/// SignedHeaders of the Authorization header or of X-Amz-SignedHeaders.
fn signed_header_names(parts: &RequestParts<'_>) -> Vec<String> {
    let from_header = parts.headers.iter().find(|(n, _)| n == "authorization").and_then(|(_, v)| {
        let (_, components) = v.trim().split_once(|c: char| c.is_ascii_whitespace())?;
        components.split(',').find_map(|part| {
            let (name, value) = part.split_once('=')?;
            (name.trim() == "SignedHeaders").then(|| value.trim().to_owned())
        })
    });
    let from_query = || {
        parts.raw_query.split('&').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (percent_decode_str(k).decode_utf8().ok()? == "X-Amz-SignedHeaders")
                .then(|| percent_decode_str(v).decode_utf8_lossy().into_owned())
        })
    };
    let list = from_header.or_else(from_query).unwrap_or_default();
    list.split(';').map(|n| n.trim().to_ascii_lowercase()).collect()
}

/// Changes the last hex digit after the last `Signature=` (header or query).
fn flip_signature_digit(s: &str) -> String {
    let Some(at) = s.rfind("Signature=") else { return s.to_owned() };
    let start = at + "Signature=".len();
    let end = s[start..].find(|c: char| !c.is_ascii_hexdigit()).map_or(s.len(), |i| start + i);
    if end == start {
        return s.to_owned();
    }
    let flipped = if s.as_bytes()[end - 1] == b'0' { '1' } else { '0' };
    format!("{}{flipped}{}", &s[..end - 1], &s[end..])
}

fn sign_then_verify(method: &str, host: &str, target: &str, now: i64, creds: &[Credentials]) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // What would make it another request: whitespace in Host (trimmed and
    // collapsed when canonical), or a query that is itself query auth.
    let decoded = percent_decode_str(query).decode_utf8_lossy();
    if host.bytes().any(|b| b.is_ascii_whitespace())
        || ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId"]
            .iter()
            .any(|k| decoded.contains(k))
    {
        return;
    }
    let mut headers = vec![("host".to_owned(), host.to_owned())];
    headers.extend(sign_request(method, host, path, query, &creds[0], "us-east-1", now));
    let parts = RequestParts { method, raw_path: path, raw_query: query, headers: &headers, host_bucket: None };
    match verify(&parts, creds, now) {
        Ok(verified) => assert_eq!(verified.access_key, ACCESS_KEY),
        Err(e) => panic!("a request we signed did not verify: {e:?}"),
    }
    check_verified(&parts, creds, now);
    let late = now + 16 * 60;
    assert_eq!(verify(&parts, creds, late).map(|_| ()), Err(AuthError::RequestTimeTooSkewed));
}
