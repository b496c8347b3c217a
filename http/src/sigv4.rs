//! AWS Signature Version 4 verification for S3: `Authorization` header auth
//! and presigned (query-string) auth.
//!
//! Pure: the caller hands in the request as received, a way to find a secret
//! key and the current time; nothing here does I/O. It is not a body checker:
//! [`Payload`] says what the body must satisfy (a SHA-256 digest, or an
//! aws-chunked body whose chunks carry signatures) and the caller checks it
//! while streaming, with `aws_chunked` for the chunked forms.
//!
//! ```ignore
//! let verified = sigv4::verify(&parts, &credentials, now_unix_secs)?;
//! match verified.payload { Payload::Sha256Hex(digest) => /* hash the body */, .. }
//! ```

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The only signing algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Largest difference between the request time and ours (S3: 15 minutes).
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;
/// Longest validity of a presigned URL (S3: 7 days).
pub const MAX_PRESIGNED_EXPIRES_SECS: i64 = 604_800;
/// Hex SHA-256 of the empty string.
pub const EMPTY_SHA256_HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
pub const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";

/// Headers that may be present without being signed although they start with
/// `x-amz-`: S3 tolerates an unsigned `x-amz-content-sha256`, whose value is in
/// the canonical request anyway.
const UNSIGNED_AMZ_HEADERS_ALLOWED: &[&str] = &["x-amz-content-sha256"];

/// Everything but the unreserved characters `A-Za-z0-9-._~`.
const ENCODE_ALL: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// As [`ENCODE_ALL`], but `/` stays (for the path).
const ENCODE_PATH: &AsciiSet = &ENCODE_ALL.remove(b'/');

pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

/// The request as received. `raw_path` is the path exactly as sent on the
/// request line (still percent-encoded, no query); `raw_query` is the part
/// after '?', as sent (may be empty). `headers` are (lowercased name, value
/// as sent) in arrival order; duplicates possible.
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub raw_path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a [(String, String)],
    /// The bucket named by the Host header (virtual-host style), as sent:
    /// SigV2 signs it before the path.
    pub host_bucket: Option<&'a str>,
}

/// What the body must satisfy, from `x-amz-content-sha256` (header auth) or
/// `X-Amz-Content-Sha256` (presigned; `UNSIGNED-PAYLOAD` when absent).
///
/// Choose the body decoder from this, not from `Content-Encoding`: the
/// `Streaming*` forms are aws-chunked whatever the client says elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `UNSIGNED-PAYLOAD`: nothing to check.
    Unsigned,
    /// The body's SHA-256, lowercase hex; the caller compares it with the body
    /// (mismatch: `XAmzContentSHA256Mismatch`).
    Sha256Hex(String),
    /// aws-chunked, every chunk signed.
    StreamingSigned(ChunkSigner),
    /// aws-chunked, unsigned chunks, a checksum in the trailer.
    StreamingUnsignedTrailer,
    /// aws-chunked, every chunk signed and the trailer signed.
    StreamingSignedTrailer(ChunkSigner),
}

/// What the body decoder needs to verify chunk signatures: signing key,
/// scope, amz date, and the previous signature (the seed at first).
#[derive(Clone, PartialEq, Eq)]
pub struct ChunkSigner {
    signing_key: [u8; 32],
    amz_date: String,
    scope: String,
    previous_signature: String,
}

impl fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkSigner")
            .field("amz_date", &self.amz_date)
            .field("scope", &self.scope)
            .field("previous_signature", &self.previous_signature)
            .finish_non_exhaustive()
    }
}

impl ChunkSigner {
    /// `signing_key` from [`signing_key`], `amz_date` as `YYYYMMDDTHHMMSSZ`,
    /// `scope` as `date/region/s3/aws4_request`, `seed_signature` lowercase hex.
    pub fn new(signing_key: [u8; 32], amz_date: &str, scope: &str, seed_signature: &str) -> Self {
        ChunkSigner {
            signing_key,
            amz_date: amz_date.to_owned(),
            scope: scope.to_owned(),
            previous_signature: seed_signature.to_ascii_lowercase(),
        }
    }

    /// The signature the next one chains on (the seed before any chunk).
    pub fn previous_signature(&self) -> &str {
        &self.previous_signature
    }

    /// The signature of the next chunk, whose data hashes to
    /// `chunk_sha256_hex` (lowercase hex); it becomes the previous signature.
    pub fn next_chunk_signature(&mut self, chunk_sha256_hex: &str) -> String {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}",
            self.amz_date, self.scope, self.previous_signature, EMPTY_SHA256_HEX, chunk_sha256_hex
        );
        self.advance(&string_to_sign)
    }

    /// The signature of the trailer, whose canonical lines (`name:value\n`
    /// each, the signature line excluded) hash to `trailer_sha256_hex`; it
    /// becomes the previous signature.
    pub fn trailer_signature(&mut self, trailer_sha256_hex: &str) -> String {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.amz_date, self.scope, self.previous_signature, trailer_sha256_hex
        );
        self.advance(&string_to_sign)
    }

    /// Whether `claimed` (hex, as sent) is the next chunk's signature; compared
    /// in constant time. The chain advances either way.
    pub fn verify_chunk(&mut self, chunk_sha256_hex: &str, claimed: &str) -> bool {
        let expected = self.next_chunk_signature(chunk_sha256_hex);
        hex_signature_eq(&expected, claimed)
    }

    /// Whether `claimed` (hex, as sent) is the trailer's signature; compared in
    /// constant time.
    pub fn verify_trailer(&mut self, trailer_sha256_hex: &str, claimed: &str) -> bool {
        let expected = self.trailer_signature(trailer_sha256_hex);
        hex_signature_eq(&expected, claimed)
    }

    fn advance(&mut self, string_to_sign: &str) -> String {
        let signature = hex::encode(hmac_sha256(&self.signing_key, string_to_sign.as_bytes()));
        self.previous_signature.clone_from(&signature);
        signature
    }
}

/// Why a request is not authenticated. [`AuthError::s3_code`] and
/// [`AuthError::http_status`] give the S3 answer; `Display` its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No authentication at all (anonymous request) → AccessDenied.
    #[error("Access Denied")]
    Missing,
    /// The Authorization header is malformed → AuthorizationHeaderMalformed.
    #[error("The authorization header is malformed; {0}")]
    Malformed(String),
    /// The presigned query parameters are malformed →
    /// AuthorizationQueryParametersError.
    #[error("{0}")]
    MalformedQuery(String),
    /// Unsupported mechanism, or a header S3 requires is missing → InvalidRequest.
    #[error("{0}")]
    InvalidRequest(String),
    /// A bad value (x-amz-content-sha256, two mechanisms at once) → InvalidArgument.
    #[error("{0}")]
    InvalidArgument(String),
    /// No usable x-amz-date or Date header → AccessDenied.
    #[error("AWS authentication requires a valid Date or x-amz-date header")]
    InvalidDate,
    #[error("The AWS Access Key Id you provided does not exist in our records.")]
    InvalidAccessKeyId,
    #[error(
        "The request signature we calculated does not match the signature you provided. \
         Check your key and signing method."
    )]
    SignatureDoesNotMatch,
    #[error("The difference between the request time and the current time is too large.")]
    RequestTimeTooSkewed,
    /// A presigned URL past its expiry → AccessDenied.
    #[error("Request has expired")]
    Expired,
    /// A presigned URL dated more than the allowed skew ahead → AccessDenied.
    #[error("Request is not valid yet")]
    NotYetValid,
    /// `x-amz-*` headers present but not signed (names, comma-separated) →
    /// AccessDenied, with `<HeadersNotSigned>`.
    #[error("There were headers present in the request which were not signed")]
    HeadersNotSigned(String),
}

impl AuthError {
    /// The S3 error code.
    pub fn s3_code(&self) -> &'static str {
        match self {
            AuthError::Missing
            | AuthError::InvalidDate
            | AuthError::Expired
            | AuthError::NotYetValid
            | AuthError::HeadersNotSigned(_) => "AccessDenied",
            AuthError::Malformed(_) => "AuthorizationHeaderMalformed",
            AuthError::MalformedQuery(_) => "AuthorizationQueryParametersError",
            AuthError::InvalidRequest(_) => "InvalidRequest",
            AuthError::InvalidArgument(_) => "InvalidArgument",
            AuthError::InvalidAccessKeyId => "InvalidAccessKeyId",
            AuthError::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            AuthError::RequestTimeTooSkewed => "RequestTimeTooSkewed",
        }
    }

    /// The HTTP status S3 answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            AuthError::Malformed(_)
            | AuthError::MalformedQuery(_)
            | AuthError::InvalidRequest(_)
            | AuthError::InvalidArgument(_) => 400,
            _ => 403,
        }
    }
}

/// An authenticated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key: String,
    pub payload: Payload,
}

/// Verifies `req` against a fixed list of credentials.
pub fn verify(req: &RequestParts<'_>, creds: &[Credentials], now_unix_secs: i64) -> Result<Verified, AuthError> {
    verify_with(
        req,
        |access_key| creds.iter().find(|c| c.access_key == access_key).map(|c| c.secret_key.clone()),
        now_unix_secs,
    )
}

/// Verifies `req`; `secret_for` maps an access key to its secret key.
pub fn verify_with<F>(req: &RequestParts<'_>, secret_for: F, now_unix_secs: i64) -> Result<Verified, AuthError>
where
    F: FnOnce(&str) -> Option<String>,
{
    let authorization = single_header(req.headers, "authorization")?;
    let query = QueryAuth::detect(req.raw_query);
    match (authorization, query) {
        (Some(_), QueryAuth::V4 | QueryAuth::V2) => Err(AuthError::InvalidArgument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified"
                .to_owned(),
        )),
        (Some(value), QueryAuth::None) => match value.strip_prefix("AWS ") {
            Some(credential) => crate::sigv2::verify_header(req, credential, secret_for, now_unix_secs),
            None => verify_header(req, value, secret_for, now_unix_secs),
        },
        (None, QueryAuth::V4) => verify_presigned(req, secret_for, now_unix_secs),
        (None, QueryAuth::V2) => crate::sigv2::verify_query(req, secret_for, now_unix_secs),
        (None, QueryAuth::None) => Err(AuthError::Missing),
    }
}

/// The SigV4 signing key: HMAC chain over date, region, service, "aws4_request".
/// The last signing key derived on this thread, with what it was derived
/// from. A key changes once a day per credential and region, so nearly
/// every request reuses it: four HMACs fewer per request.
struct LastKey {
    secret_key: String,
    date: String,
    region: String,
    service: String,
    key: [u8; 32],
}

thread_local! {
    static LAST_KEY: RefCell<Option<LastKey>> = const { RefCell::new(None) };
}

/// [`signing_key`], remembered per thread.
pub fn cached_signing_key(secret_key: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    LAST_KEY.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some(k) if k.secret_key == secret_key && k.date == date && k.region == region && k.service == service => {
                k.key
            }
            _ => {
                let key = signing_key(secret_key, date, region, service);
                *last = Some(LastKey {
                    secret_key: secret_key.to_owned(),
                    date: date.to_owned(),
                    region: region.to_owned(),
                    service: service.to_owned(),
                    key,
                });
                key
            }
        }
    })
}

pub fn signing_key(secret_key: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret_key}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// The canonical URI for S3: the path decoded once and encoded once, every
/// byte but `A-Za-z0-9-._~/` as uppercase `%XX`; never normalised.
pub fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_owned();
    }
    let decoded: Cow<'_, [u8]> = percent_decode_str(raw_path).into();
    percent_encode(&decoded, ENCODE_PATH).to_string()
}

/// The canonical query string: each parameter decoded and re-encoded (`/`
/// too), a missing `=` as an empty value, sorted by key then value.
/// `X-Amz-Signature` is left out when `presigned`.
pub fn canonical_query(raw_query: &str, presigned: bool) -> String {
    join_sorted(query_pairs(raw_query, presigned, |part| encode_all(&decode(part))))
}

/// The query as sent, only sorted: what a client that signs its own
/// encoding (botocore signs the query of the URL it built) may have signed.
fn query_as_sent(raw_query: &str, presigned: bool) -> String {
    join_sorted(query_pairs(raw_query, presigned, str::to_owned))
}

fn query_pairs(raw_query: &str, presigned: bool, form: impl Fn(&str) -> String) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if presigned && *decode(key) == *b"X-Amz-Signature" {
                return None;
            }
            Some((form(key), form(value)))
        })
        .collect()
}

fn join_sorted(mut pairs: Vec<(String, String)>) -> String {
    pairs.sort();
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

// ---------------------------------------------------------------------------
// Header auth

fn verify_header<F>(req: &RequestParts<'_>, authorization: &str, secret_for: F, now: i64) -> Result<Verified, AuthError>
where
    F: FnOnce(&str) -> Option<String>,
{
    let auth = parse_authorization(authorization)?;
    let content_sha256 = single_header(req.headers, "x-amz-content-sha256")?.ok_or_else(|| {
        AuthError::InvalidRequest("Missing required header for this request: x-amz-content-sha256".to_owned())
    })?;
    let payload = PayloadKind::parse(content_sha256)?;
    let (amz_date, request_time) = request_date(req.headers)?;
    if !amz_date.starts_with(auth.credential.date) {
        return Err(AuthError::Malformed("Invalid credential date. Date is not the same as X-Amz-Date.".to_owned()));
    }
    if (now - request_time).abs() > MAX_CLOCK_SKEW_SECS {
        return Err(AuthError::RequestTimeTooSkewed);
    }
    let signed = SignedHeaders::parse(auth.signed_headers, Mode::Header)?;
    let canonical_headers = canonical_headers(req.headers, &signed, Mode::Header)?;
    let secret = secret_for(auth.credential.access_key).ok_or(AuthError::InvalidAccessKeyId)?;
    let check = SignatureCheck {
        method: req.method,
        raw_path: req.raw_path,
        raw_query: req.raw_query,
        presigned: false,
        canonical_headers,
        signed_headers: signed.joined(),
        payload_hash: content_sha256.trim(),
        amz_date: &amz_date,
        credential: &auth.credential,
    };
    let key = check.verify(&secret, auth.signature)?;
    signed.check_no_unsigned_amz(req.headers)?;
    Ok(Verified {
        access_key: auth.credential.access_key.to_owned(),
        payload: payload.into_payload(key, &amz_date, &auth.credential.scope(), auth.signature),
    })
}

struct AuthorizationHeader<'a> {
    credential: Credential<'a>,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<AuthorizationHeader<'_>, AuthError> {
    let value = value.trim();
    let (algorithm, rest) = value.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(unsupported_mechanism());
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, field) =
            part.split_once('=').ok_or_else(|| AuthError::Malformed(format!("the component '{part}' has no value")))?;
        let slot = match name.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            other => return Err(AuthError::Malformed(format!("unknown component '{other}'"))),
        };
        if slot.replace(field.trim()).is_some() {
            return Err(AuthError::Malformed(format!("the component '{name}' is repeated")));
        }
    }
    let missing = |what: &str| AuthError::Malformed(format!("missing {what}"));
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    Ok(AuthorizationHeader {
        credential: Credential::parse(credential).map_err(AuthError::Malformed)?,
        signed_headers: signed_headers.filter(|s| !s.is_empty()).ok_or_else(|| missing("SignedHeaders"))?,
        signature: signature.filter(|s| !s.is_empty()).ok_or_else(|| missing("Signature"))?,
    })
}

/// The request time: `x-amz-date` if present, else `Date`; as the
/// `YYYYMMDDTHHMMSSZ` text that goes into the string to sign, and in Unix secs.
fn request_date(headers: &[(String, String)]) -> Result<(String, i64), AuthError> {
    if let Some(value) = single_header(headers, "x-amz-date")? {
        let value = value.trim();
        let secs = parse_amz_date(value).ok_or(AuthError::InvalidDate)?;
        return Ok((value.to_owned(), secs));
    }
    let value = single_header(headers, "date")?.ok_or(AuthError::InvalidDate)?;
    let secs = parse_http_date(value.trim()).ok_or(AuthError::InvalidDate)?;
    let amz_date = format_amz_date(secs).ok_or(AuthError::InvalidDate)?;
    Ok((amz_date, secs))
}

// ---------------------------------------------------------------------------
// Presigned (query) auth

#[derive(Clone, Copy, PartialEq, Eq)]
enum QueryAuth {
    None,
    V4,
    V2,
}

impl QueryAuth {
    fn detect(raw_query: &str) -> QueryAuth {
        let mut v2 = (false, false);
        for pair in raw_query.split('&') {
            let key = decode(pair.split_once('=').map_or(pair, |(k, _)| k));
            match &*key {
                b"X-Amz-Algorithm" | b"X-Amz-Credential" | b"X-Amz-Signature" => return QueryAuth::V4,
                b"AWSAccessKeyId" => v2.0 = true,
                b"Signature" => v2.1 = true,
                _ => {}
            }
        }
        if v2.0 && v2.1 {
            QueryAuth::V2
        } else {
            QueryAuth::None
        }
    }
}

const QUERY_PARAMS_REQUIRED: &str = "Query-string authentication version 4 requires the \
     X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, \
     and X-Amz-Expires parameters.";

#[derive(Default)]
struct PresignedParams {
    algorithm: Option<String>,
    credential: Option<String>,
    date: Option<String>,
    expires: Option<String>,
    signed_headers: Option<String>,
    signature: Option<String>,
    content_sha256: Option<String>,
}

impl PresignedParams {
    fn parse(raw_query: &str) -> Result<PresignedParams, AuthError> {
        let mut params = PresignedParams::default();
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key);
            let slot = match &*key {
                b"X-Amz-Algorithm" => &mut params.algorithm,
                b"X-Amz-Credential" => &mut params.credential,
                b"X-Amz-Date" => &mut params.date,
                b"X-Amz-Expires" => &mut params.expires,
                b"X-Amz-SignedHeaders" => &mut params.signed_headers,
                b"X-Amz-Signature" => &mut params.signature,
                b"X-Amz-Content-Sha256" => &mut params.content_sha256,
                _ => continue,
            };
            let value = String::from_utf8(decode(value).into_owned()).map_err(|_| {
                AuthError::MalformedQuery(format!("{} is not valid UTF-8", String::from_utf8_lossy(&key)))
            })?;
            if slot.replace(value).is_some() {
                return Err(AuthError::MalformedQuery(format!("{} is repeated", String::from_utf8_lossy(&key))));
            }
        }
        Ok(params)
    }
}

fn verify_presigned<F>(req: &RequestParts<'_>, secret_for: F, now: i64) -> Result<Verified, AuthError>
where
    F: FnOnce(&str) -> Option<String>,
{
    let params = PresignedParams::parse(req.raw_query)?;
    let required = || AuthError::MalformedQuery(QUERY_PARAMS_REQUIRED.to_owned());
    let algorithm = params.algorithm.as_deref().ok_or_else(required)?;
    if algorithm != ALGORITHM {
        return Err(AuthError::MalformedQuery("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"".to_owned()));
    }
    let credential = params.credential.as_deref().ok_or_else(required)?;
    let amz_date = params.date.as_deref().ok_or_else(required)?;
    let expires = params.expires.as_deref().ok_or_else(required)?;
    let signed_headers = params.signed_headers.as_deref().ok_or_else(required)?;
    let signature = params.signature.as_deref().ok_or_else(required)?;

    let credential = Credential::parse(credential).map_err(|message| {
        AuthError::MalformedQuery(format!("Error parsing the X-Amz-Credential parameter; {message}"))
    })?;
    let request_time = parse_amz_date(amz_date).ok_or_else(|| {
        AuthError::MalformedQuery("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"".to_owned())
    })?;
    if !amz_date.starts_with(credential.date) {
        return Err(AuthError::MalformedQuery(
            "Invalid credential date. Date is not the same as X-Amz-Date.".to_owned(),
        ));
    }
    let expires = parse_expires(expires)?;
    if request_time - now > MAX_CLOCK_SKEW_SECS {
        return Err(AuthError::NotYetValid);
    }
    if now - request_time > expires {
        return Err(AuthError::Expired);
    }
    let signed = SignedHeaders::parse(signed_headers, Mode::Query)?;
    let canonical_headers = canonical_headers(req.headers, &signed, Mode::Query)?;
    let payload_hash = params.content_sha256.as_deref().unwrap_or(UNSIGNED_PAYLOAD);
    let payload = PayloadKind::parse(payload_hash)?;
    let secret = secret_for(credential.access_key).ok_or(AuthError::InvalidAccessKeyId)?;
    let check = SignatureCheck {
        method: req.method,
        raw_path: req.raw_path,
        raw_query: req.raw_query,
        presigned: true,
        canonical_headers,
        signed_headers: signed.joined(),
        payload_hash,
        amz_date,
        credential: &credential,
    };
    let key = check.verify(&secret, signature)?;
    signed.check_no_unsigned_amz(req.headers)?;
    Ok(Verified {
        access_key: credential.access_key.to_owned(),
        payload: payload.into_payload(key, amz_date, &credential.scope(), signature),
    })
}

fn parse_expires(value: &str) -> Result<i64, AuthError> {
    if value.is_empty() || value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::MalformedQuery("X-Amz-Expires should be a number".to_owned()));
    }
    let secs: i64 =
        value.parse().map_err(|_| AuthError::MalformedQuery("X-Amz-Expires should be a number".to_owned()))?;
    if secs < 1 {
        return Err(AuthError::MalformedQuery("X-Amz-Expires must be non-negative".to_owned()));
    }
    if secs > MAX_PRESIGNED_EXPIRES_SECS {
        return Err(AuthError::MalformedQuery(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800".to_owned(),
        ));
    }
    Ok(secs)
}

// ---------------------------------------------------------------------------
// Shared pieces

/// Which mechanism an error belongs to: the S3 codes differ.
#[derive(Clone, Copy)]
enum Mode {
    Header,
    Query,
}

impl Mode {
    fn malformed(self, message: String) -> AuthError {
        match self {
            Mode::Header => AuthError::Malformed(message),
            Mode::Query => AuthError::MalformedQuery(message),
        }
    }
}

/// `AK/YYYYMMDD/region/s3/aws4_request`; the access key may itself hold `/`.
struct Credential<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
}

impl<'a> Credential<'a> {
    fn parse(value: &'a str) -> Result<Credential<'a>, String> {
        let mut parts = value.rsplitn(5, '/');
        let (terminator, service, region, date, access_key) =
            match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(t), Some(s), Some(r), Some(d), Some(a)) => (t, s, r, d, a),
                _ => {
                    return Err("the Credential is mal-formed; expecting \
                            \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
                        .to_owned())
                }
            };
        if access_key.is_empty() {
            return Err("the Credential has an empty access key".to_owned());
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "incorrect date format '{date}'. This date in the credential must be in the \
                 format \"yyyyMMdd\"."
            ));
        }
        if region.is_empty() {
            return Err("the Credential has an empty region".to_owned());
        }
        if service != "s3" {
            return Err(format!("incorrect service '{service}'. This endpoint belongs to 's3'."));
        }
        if terminator != "aws4_request" {
            return Err(format!("incorrect terminal '{terminator}'. This endpoint uses 'aws4_request'."));
        }
        Ok(Credential { access_key, date, region, service })
    }

    fn scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }
}

/// The signed header names, lowercased, in the order the client listed them.
struct SignedHeaders {
    names: Vec<String>,
}

impl SignedHeaders {
    fn parse(value: &str, mode: Mode) -> Result<SignedHeaders, AuthError> {
        let names: Vec<String> = value.split(';').map(|name| name.trim().to_ascii_lowercase()).collect();
        if names.iter().any(String::is_empty) {
            return Err(mode.malformed(format!("the SignedHeaders '{value}' has an empty name")));
        }
        if !names.iter().any(|name| name == "host") {
            return Err(mode.malformed("the host header must be signed".to_owned()));
        }
        Ok(SignedHeaders { names })
    }

    fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    fn joined(&self) -> String {
        self.names.join(";")
    }

    /// S3 refuses `x-amz-*` headers that are present but not signed, so that
    /// nobody can add one (x-amz-copy-source, x-amz-acl, …) to a signed request.
    fn check_no_unsigned_amz(&self, headers: &[(String, String)]) -> Result<(), AuthError> {
        let mut unsigned: Vec<String> = Vec::new();
        for (name, _) in headers {
            let lower = name.to_ascii_lowercase();
            if lower.starts_with("x-amz-")
                && !UNSIGNED_AMZ_HEADERS_ALLOWED.contains(&lower.as_str())
                && !self.contains(&lower)
                && !unsigned.contains(&lower)
            {
                unsigned.push(lower);
            }
        }
        if unsigned.is_empty() {
            Ok(())
        } else {
            Err(AuthError::HeadersNotSigned(unsigned.join(",")))
        }
    }
}

/// `name:value\n` for each signed header: values trimmed, inner whitespace
/// runs collapsed to one space, repeated headers joined by `,`.
fn canonical_headers(headers: &[(String, String)], signed: &SignedHeaders, mode: Mode) -> Result<String, AuthError> {
    let mut out = String::new();
    for name in &signed.names {
        out.push_str(name);
        out.push(':');
        let mut found = false;
        for (_, value) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
            if found {
                out.push(',');
            }
            found = true;
            push_trimmed_collapsed(&mut out, value);
        }
        if !found {
            return Err(mode.malformed(format!("the signed header '{name}' is not in the request")));
        }
        out.push('\n');
    }
    Ok(out)
}

fn push_trimmed_collapsed(out: &mut String, value: &str) {
    for (i, word) in value.split_ascii_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// The parts of a canonical request and of its string to sign.
struct SignatureCheck<'a> {
    method: &'a str,
    raw_path: &'a str,
    raw_query: &'a str,
    presigned: bool,
    canonical_headers: String,
    signed_headers: String,
    payload_hash: &'a str,
    amz_date: &'a str,
    credential: &'a Credential<'a>,
}

impl SignatureCheck<'_> {
    /// Feeds the string to sign to `out` in pieces: every request signs
    /// one, and building it (and the canonical request before it) as
    /// strings cost more than the hashing (a fifth of a 4 KiB GET's CPU).
    fn feed_string_to_sign(&self, uri: &str, query: &str, scope: &str, out: &mut impl FnMut(&[u8])) {
        let mut canonical = Sha256::new();
        for part in [self.method, uri, query, &self.canonical_headers, &self.signed_headers] {
            canonical.update(part.as_bytes());
            canonical.update(b"\n");
        }
        canonical.update(self.payload_hash.as_bytes());
        let mut hashed = [0u8; 64];
        // 32 bytes always fit 64 hex digits.
        let _ = hex::encode_to_slice(canonical.finalize(), &mut hashed);
        for part in [ALGORITHM.as_bytes(), b"\n", self.amz_date.as_bytes(), b"\n", scope.as_bytes(), b"\n", &hashed] {
            out(part);
        }
    }

    #[cfg(test)]
    fn string_to_sign(&self, uri: &str, query: &str) -> String {
        let mut out = Vec::new();
        self.feed_string_to_sign(uri, query, &self.credential.scope(), &mut |part| out.extend_from_slice(part));
        String::from_utf8_lossy(&out).into_owned()
    }

    fn signature(&self, key: &[u8; 32], uri: &str, query: &str, scope: &str) -> [u8; 32] {
        let mut mac = hmac_sha256_init(key);
        self.feed_string_to_sign(uri, query, scope, &mut |part| mac.update(part));
        mac.finalize().into_bytes().into()
    }

    /// Checks `provided` (hex); returns the signing key for the chunk signer.
    fn verify(&self, secret_key: &str, provided: &str) -> Result<[u8; 32], AuthError> {
        let key = cached_signing_key(secret_key, self.credential.date, self.credential.region, self.credential.service);
        let scope = self.credential.scope();
        let (uri, query) = (canonical_uri(self.raw_path), canonical_query(self.raw_query, self.presigned));
        if signature_matches(&self.signature(&key, &uri, &query, &scope), provided) {
            return Ok(key);
        }
        // The path and query as sent, when they differ from the canonical
        // forms: both describe the same bytes on the wire, so this only
        // helps clients that sign their own (sloppier) encoding, e.g. a raw `+`.
        let path = if self.raw_path.is_empty() { "/" } else { self.raw_path };
        let as_sent = query_as_sent(self.raw_query, self.presigned);
        if (path, as_sent.as_str()) != (uri.as_str(), query.as_str())
            && signature_matches(&self.signature(&key, path, &as_sent, &scope), provided)
        {
            return Ok(key);
        }
        Err(AuthError::SignatureDoesNotMatch)
    }
}

/// `x-amz-content-sha256` before the signing key is known.
enum PayloadKind {
    Unsigned,
    Sha256Hex(String),
    StreamingSigned,
    StreamingUnsignedTrailer,
    StreamingSignedTrailer,
}

impl PayloadKind {
    fn parse(value: &str) -> Result<PayloadKind, AuthError> {
        let value = value.trim();
        Ok(match value {
            UNSIGNED_PAYLOAD => PayloadKind::Unsigned,
            STREAMING_SIGNED => PayloadKind::StreamingSigned,
            STREAMING_UNSIGNED_TRAILER => PayloadKind::StreamingUnsignedTrailer,
            STREAMING_SIGNED_TRAILER => PayloadKind::StreamingSignedTrailer,
            hex if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                PayloadKind::Sha256Hex(hex.to_ascii_lowercase())
            }
            _ => {
                return Err(AuthError::InvalidArgument(
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, \
                     STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
                     STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
                        .to_owned(),
                ))
            }
        })
    }

    fn into_payload(self, key: [u8; 32], amz_date: &str, scope: &str, seed: &str) -> Payload {
        let signer = || ChunkSigner::new(key, amz_date, scope, seed);
        match self {
            PayloadKind::Unsigned => Payload::Unsigned,
            PayloadKind::Sha256Hex(hex) => Payload::Sha256Hex(hex),
            PayloadKind::StreamingSigned => Payload::StreamingSigned(signer()),
            PayloadKind::StreamingUnsignedTrailer => Payload::StreamingUnsignedTrailer,
            PayloadKind::StreamingSignedTrailer => Payload::StreamingSignedTrailer(signer()),
        }
    }
}

/// The value of a header that must not be repeated (`None` when absent).
fn single_header<'h>(headers: &'h [(String, String)], name: &str) -> Result<Option<&'h str>, AuthError> {
    let mut found = None;
    for (n, value) in headers {
        if n.eq_ignore_ascii_case(name) {
            if found.is_some() {
                return Err(AuthError::InvalidArgument(format!("the header {name} appears more than once")));
            }
            found = Some(value.as_str());
        }
    }
    Ok(found)
}

fn unsupported_mechanism() -> AuthError {
    AuthError::InvalidRequest(
        "The authorization mechanism you have provided is not supported. \
         Please use AWS4-HMAC-SHA256."
            .to_owned(),
    )
}

fn decode(s: &str) -> Cow<'_, [u8]> {
    percent_decode_str(s).into()
}

fn encode_all(bytes: &[u8]) -> String {
    percent_encode(bytes, ENCODE_ALL).to_string()
}

fn hmac_sha256_init(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = hmac_sha256_init(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Whether `provided_hex` signs a POST form's `policy` (base64, as sent)
/// with the key of `secret_key`, `date` (yyyymmdd) and `region` for S3.
pub fn policy_signature_matches(secret_key: &str, date: &str, region: &str, policy: &str, provided_hex: &str) -> bool {
    let key = signing_key(secret_key, date, region, "s3");
    signature_matches(&hmac_sha256(&key, policy.as_bytes()), provided_hex)
}

/// A computed signature against the hex one a client sent (either case),
/// without allocating and without an early exit on the first difference.
fn signature_matches(expected: &[u8; 32], provided_hex: &str) -> bool {
    let mut provided = [0u8; 32];
    hex::decode_to_slice(provided_hex, &mut provided).is_ok() && constant_time_eq(expected, &provided)
}

/// Compares a computed signature (lowercase hex) with one a client sent, in
/// time that does not depend on where they differ. Hex case is ignored.
pub fn hex_signature_eq(expected_hex: &str, provided_hex: &str) -> bool {
    let (Ok(expected), Ok(provided)) = (hex::decode(expected_hex), hex::decode(provided_hex)) else {
        return false;
    };
    constant_time_eq(&expected, &provided)
}

/// Equal lengths and bytes, without an early exit on the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// `YYYYMMDDTHHMMSSZ` to Unix seconds.
pub fn parse_amz_date(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = value.get(range)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(digits(4..6)?).ok()?).ok()?;
    let day = u8::try_from(digits(6..8)?).ok()?;
    let hour = u8::try_from(digits(9..11)?).ok()?;
    let minute = u8::try_from(digits(11..13)?).ok()?;
    let second = u8::try_from(digits(13..15)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let clock = time::Time::from_hms(hour, minute, second).ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_utc().unix_timestamp())
}

/// An RFC 1123 HTTP date (`Fri, 24 May 2013 00:00:00 GMT`) to Unix seconds.
pub fn parse_http_date(value: &str) -> Option<i64> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value, format).ok().map(|t| t.assume_utc().unix_timestamp())
}

/// Unix seconds to `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(unix_secs: i64) -> Option<String> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::from_unix_timestamp(unix_secs).ok()?.format(format).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    /// 20130524T000000Z, the time of every AWS example.
    const NOW: i64 = 1_369_353_600;
    const EXAMPLE_HOST: &str = "examplebucket.s3.amazonaws.com";

    fn creds() -> Vec<Credentials> {
        vec![Credentials { access_key: AK.to_owned(), secret_key: SK.to_owned() }]
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned())).collect()
    }

    fn authorization(signed_headers: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders={signed_headers},Signature={signature}"
        )
    }

    fn run(method: &str, path: &str, query: &str, hs: &[(String, String)], now: i64) -> Result<Verified, AuthError> {
        let req = RequestParts { method, raw_path: path, raw_query: query, headers: hs, host_bucket: None };
        verify(&req, &creds(), now)
    }

    /// The AWS "GET Object" example (header auth with a Range header).
    fn get_object_headers() -> Vec<(String, String)> {
        headers(&[
            ("Host", EXAMPLE_HOST),
            (
                "Authorization",
                &authorization(
                    "host;range;x-amz-content-sha256;x-amz-date",
                    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
                ),
            ),
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY_SHA256_HEX),
            ("x-amz-date", "20130524T000000Z"),
        ])
    }

    #[test]
    fn aws_example_get_object() {
        let verified = run("GET", "/test.txt", "", &get_object_headers(), NOW).unwrap();
        assert_eq!(verified.access_key, AK);
        assert_eq!(verified.payload, Payload::Sha256Hex(EMPTY_SHA256_HEX.to_owned()));
    }

    #[test]
    fn aws_example_put_object() {
        let payload_hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
        assert_eq!(hex::encode(Sha256::digest(b"Welcome to Amazon S3.")), payload_hash);
        let hs = headers(&[
            ("Host", EXAMPLE_HOST),
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            (
                "Authorization",
                &authorization(
                    "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
                ),
            ),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", payload_hash),
        ]);
        // The key `test$file.text`, sent raw or encoded, is signed as /test%24file.text.
        for path in ["/test$file.text", "/test%24file.text"] {
            let verified = run("PUT", path, "", &hs, NOW).unwrap();
            assert_eq!(verified.payload, Payload::Sha256Hex(payload_hash.to_owned()));
        }
    }

    fn bucket_headers(signature: &str) -> Vec<(String, String)> {
        headers(&[
            ("Host", EXAMPLE_HOST),
            ("Authorization", &authorization("host;x-amz-content-sha256;x-amz-date", signature)),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", EMPTY_SHA256_HEX),
        ])
    }

    #[test]
    fn aws_example_get_bucket_lifecycle() {
        let hs = bucket_headers("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
        run("GET", "/", "lifecycle", &hs, NOW).unwrap();
        run("GET", "/", "lifecycle=", &hs, NOW).unwrap();
    }

    #[test]
    fn aws_example_list_objects() {
        let hs = bucket_headers("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
        run("GET", "/", "max-keys=2&prefix=J", &hs, NOW).unwrap();
        // Order on the wire does not matter.
        run("GET", "/", "prefix=J&max-keys=2", &hs, NOW).unwrap();
    }

    const PRESIGNED_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
        &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
        &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    #[test]
    fn aws_example_presigned_url() {
        let hs = headers(&[("Host", EXAMPLE_HOST)]);
        let verified = run("GET", "/test.txt", PRESIGNED_QUERY, &hs, NOW).unwrap();
        assert_eq!(verified.access_key, AK);
        assert_eq!(verified.payload, Payload::Unsigned);
        // Still valid at the last second, expired after it.
        run("GET", "/test.txt", PRESIGNED_QUERY, &hs, NOW + 86_400).unwrap();
        assert_eq!(run("GET", "/test.txt", PRESIGNED_QUERY, &hs, NOW + 86_401), Err(AuthError::Expired));
        assert_eq!(
            run("GET", "/test.txt", PRESIGNED_QUERY, &hs, NOW - MAX_CLOCK_SKEW_SECS - 1),
            Err(AuthError::NotYetValid)
        );
    }

    /// The AWS chunked upload example: seed signature from the headers.
    fn chunked_example_headers(signature: &str) -> Vec<(String, String)> {
        headers(&[
            ("Host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "Authorization",
                &authorization(
                    "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
                     x-amz-decoded-content-length;x-amz-storage-class",
                    signature,
                ),
            ),
            ("x-amz-content-sha256", STREAMING_SIGNED),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("Content-Length", "66824"),
        ])
    }

    pub(crate) const CHUNKED_SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

    #[test]
    fn aws_example_chunked_seed_and_first_chunk() {
        let hs = chunked_example_headers(CHUNKED_SEED);
        let verified = run("PUT", "/examplebucket/chunkObject.txt", "", &hs, NOW).unwrap();
        let Payload::StreamingSigned(mut signer) = verified.payload else {
            panic!("expected a signed streaming payload");
        };
        assert_eq!(signer.previous_signature(), CHUNKED_SEED);
        let chunk = vec![b'a'; 65_536];
        let digest = hex::encode(Sha256::digest(&chunk));
        assert_eq!(
            signer.next_chunk_signature(&digest),
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        );
    }

    /// Made by botocore 1.43 (`S3SigV4Auth`) for a URL holding a raw `+`:
    /// botocore signs the query as sent, not re-encoded; accepted through the
    /// as-sent candidate.
    #[test]
    fn botocore_query_signed_as_sent() {
        let hs = headers(&[
            ("x-amz-meta-note", "  two   spaces  "),
            ("x-amz-date", "20261124T113732Z"),
            ("x-amz-content-sha256", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKTEST/20261124/eu-central-1/s3/aws4_request, \
                 SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-note, \
                 Signature=3cd80f39d5abf208431c1f96b6a4b660affceaca5a4733f68bccdb2b36e213e4",
            ),
            ("content-length", "5"),
            ("host", "127.0.0.1:9000"),
        ]);
        let creds = [Credentials { access_key: "AKTEST".to_owned(), secret_key: "secret/key+x".to_owned() }];
        let now = 1_795_520_252;
        let req = |query| RequestParts {
            method: "PUT",
            raw_path: "/bucket/plain.txt",
            raw_query: query,
            headers: &hs,
            host_bucket: None,
        };
        verify(&req("versionId=abc+def"), &creds, now).unwrap();
        assert_eq!(verify(&req("versionId=abc+deg"), &creds, now), Err(AuthError::SignatureDoesNotMatch));
    }

    #[test]
    fn canonical_uri_encodes_once_and_never_normalises() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/a b/c+d"), "/a%20b/c%2Bd");
        assert_eq!(canonical_uri("/a%20b/%7Efoo~"), "/a%20b/~foo~");
        assert_eq!(canonical_uri("/a/../b//c/./"), "/a/../b//c/./");
        assert_eq!(canonical_uri("/%c3%a9"), "/%C3%A9");
        assert_eq!(canonical_uri("/a%2Fb"), "/a/b");
        assert_eq!(canonical_uri("/%zz"), "/%25zz");
    }

    #[test]
    fn canonical_query_sorts_and_encodes() {
        assert_eq!(canonical_query("", false), "");
        assert_eq!(canonical_query("b=2&a=1&a=0", false), "a=0&a=1&b=2");
        assert_eq!(canonical_query("uploads&prefix=a/b c", false), "prefix=a%2Fb%20c&uploads=");
        assert_eq!(canonical_query("k=a%2fb", false), "k=a%2Fb");
        assert_eq!(canonical_query("X-Amz-Signature=abc&x=1", true), "x=1");
        assert_eq!(canonical_query("X-Amz-Signature=abc&x=1", false), "X-Amz-Signature=abc&x=1");
    }

    #[test]
    fn canonical_headers_trim_collapse_and_join() {
        let hs = headers(&[("host", "h"), ("x-amz-meta-a", "  one   two\tthree  "), ("x-amz-meta-a", "four")]);
        let signed = SignedHeaders::parse("host;x-amz-meta-a", Mode::Header).unwrap();
        assert_eq!(canonical_headers(&hs, &signed, Mode::Header).unwrap(), "host:h\nx-amz-meta-a:one two three,four\n");
    }

    #[test]
    fn dates_parse_and_format() {
        assert_eq!(parse_amz_date("20130524T000000Z"), Some(NOW));
        assert_eq!(parse_http_date("Fri, 24 May 2013 00:00:00 GMT"), Some(NOW));
        assert_eq!(format_amz_date(NOW).as_deref(), Some("20130524T000000Z"));
        for bad in
            ["", "20130524T000000", "20131324T000000Z", "2013052AT000000Z", "20130524T250000Z", "+0130524T000000Z"]
        {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn no_authentication_is_missing() {
        let hs = headers(&[("Host", EXAMPLE_HOST)]);
        assert_eq!(run("GET", "/test.txt", "", &hs, NOW), Err(AuthError::Missing));
        assert_eq!(run("GET", "/test.txt", "a=b", &hs, NOW), Err(AuthError::Missing));
        assert_eq!(AuthError::Missing.s3_code(), "AccessDenied");
    }

    #[test]
    fn wrong_signature_secret_or_request_does_not_match() {
        let mut hs = get_object_headers();
        assert_eq!(run("GET", "/test2.txt", "", &hs, NOW), Err(AuthError::SignatureDoesNotMatch));
        assert_eq!(run("HEAD", "/test.txt", "", &hs, NOW), Err(AuthError::SignatureDoesNotMatch));
        assert_eq!(run("GET", "/test.txt", "x=1", &hs, NOW), Err(AuthError::SignatureDoesNotMatch));
        hs[2].1 = "bytes=0-10".to_owned();
        assert_eq!(run("GET", "/test.txt", "", &hs, NOW), Err(AuthError::SignatureDoesNotMatch));
        let req = RequestParts {
            method: "GET",
            raw_path: "/test.txt",
            raw_query: "",
            headers: &get_object_headers(),
            host_bucket: None,
        };
        assert_eq!(verify_with(&req, |_| Some("other".to_owned()), NOW), Err(AuthError::SignatureDoesNotMatch));
        let bad_sig = headers(&[
            ("Host", EXAMPLE_HOST),
            ("Authorization", &authorization("host;x-amz-content-sha256;x-amz-date", "zz")),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", EMPTY_SHA256_HEX),
        ]);
        assert_eq!(run("GET", "/", "", &bad_sig, NOW), Err(AuthError::SignatureDoesNotMatch));
    }

    #[test]
    fn uppercase_hex_signature_is_accepted() {
        let mut hs = get_object_headers();
        hs[1].1 = authorization(
            "host;range;x-amz-content-sha256;x-amz-date",
            &"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41".to_ascii_uppercase(),
        );
        run("GET", "/test.txt", "", &hs, NOW).unwrap();
    }

    #[test]
    fn unknown_access_key() {
        let hs = get_object_headers();
        let req = RequestParts { method: "GET", raw_path: "/test.txt", raw_query: "", headers: &hs, host_bucket: None };
        assert_eq!(verify(&req, &[], NOW), Err(AuthError::InvalidAccessKeyId));
        let hs = headers(&[("Host", EXAMPLE_HOST)]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/test.txt",
            raw_query: PRESIGNED_QUERY,
            headers: &hs,
            host_bucket: None,
        };
        assert_eq!(verify(&req, &[], NOW), Err(AuthError::InvalidAccessKeyId));
    }

    #[test]
    fn clock_skew() {
        let hs = get_object_headers();
        run("GET", "/test.txt", "", &hs, NOW + MAX_CLOCK_SKEW_SECS).unwrap();
        run("GET", "/test.txt", "", &hs, NOW - MAX_CLOCK_SKEW_SECS).unwrap();
        for now in [NOW + MAX_CLOCK_SKEW_SECS + 1, NOW - MAX_CLOCK_SKEW_SECS - 1] {
            assert_eq!(run("GET", "/test.txt", "", &hs, now), Err(AuthError::RequestTimeTooSkewed));
        }
        assert_eq!(AuthError::RequestTimeTooSkewed.http_status(), 403);
    }

    fn malformed(result: Result<Verified, AuthError>) -> String {
        match result {
            Err(AuthError::Malformed(message)) => message,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn malformed_authorization_headers() {
        let base = get_object_headers();
        let sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
        let cases = [
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"),
            format!("AWS4-HMAC-SHA256 SignedHeaders=host,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3,SignedHeaders=host,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/ec2/aws4_request,SignedHeaders=host,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws5_request,SignedHeaders=host,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/2013052/us-east-1/s3/aws4_request,SignedHeaders=host,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524//s3/aws4_request,SignedHeaders=host,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=range;x-amz-date,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;;range,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-missing,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130523/us-east-1/s3/aws4_request,SignedHeaders=host,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature={sig},Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature={sig},Foo=bar"),
            format!("AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature"),
            "AWS4-HMAC-SHA256".to_owned(),
        ];
        for case in cases {
            let mut hs = base.clone();
            hs[1].1 = case.clone();
            let message = malformed(run("GET", "/test.txt", "", &hs, NOW));
            assert!(!message.is_empty(), "{case}");
        }
        assert_eq!(AuthError::Malformed(String::new()).s3_code(), "AuthorizationHeaderMalformed");
    }

    #[test]
    fn the_cached_signing_key_follows_every_input() {
        let inputs = [
            (SK, "20130524", "us-east-1", "s3"),
            (SK, "20130524", "us-east-1", "s3"),
            (SK, "20130525", "us-east-1", "s3"),
            (SK, "20130525", "eu-west-3", "s3"),
            ("other-secret", "20130525", "eu-west-3", "s3"),
            ("other-secret", "20130525", "eu-west-3", "sts"),
            (SK, "20130524", "us-east-1", "s3"),
        ];
        for (secret, date, region, service) in inputs {
            assert_eq!(
                cached_signing_key(secret, date, region, service),
                signing_key(secret, date, region, service),
                "{secret} {date} {region} {service}"
            );
        }
    }

    #[test]
    fn any_region_is_accepted_and_signed_with() {
        // Sign a request for eu-west-3 with the key derived for that region.
        let key = signing_key(SK, "20130524", "eu-west-3", "s3");
        let hs_unsigned =
            headers(&[("host", "h"), ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", UNSIGNED_PAYLOAD)]);
        let credential = Credential::parse("AKIAIOSFODNN7EXAMPLE/20130524/eu-west-3/s3/aws4_request").unwrap();
        let signed = SignedHeaders::parse("host;x-amz-content-sha256;x-amz-date", Mode::Header).unwrap();
        let check = SignatureCheck {
            method: "GET",
            raw_path: "/k",
            raw_query: "",
            presigned: false,
            canonical_headers: canonical_headers(&hs_unsigned, &signed, Mode::Header).unwrap(),
            signed_headers: signed.joined(),
            payload_hash: UNSIGNED_PAYLOAD,
            amz_date: "20130524T000000Z",
            credential: &credential,
        };
        let string_to_sign = check.string_to_sign(&canonical_uri("/k"), "");
        let signature = hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()));
        let mut hs = hs_unsigned.clone();
        hs.push((
            "authorization".to_owned(),
            format!(
                "AWS4-HMAC-SHA256 Credential={AK}/20130524/eu-west-3/s3/aws4_request, \
                 SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}"
            ),
        ));
        let verified = run("GET", "/k", "", &hs, NOW).unwrap();
        assert_eq!(verified.payload, Payload::Unsigned);
    }

    #[test]
    fn content_sha256_header_rules() {
        let mut hs = get_object_headers();
        hs.retain(|(n, _)| n != "x-amz-content-sha256");
        assert!(matches!(run("GET", "/test.txt", "", &hs, NOW), Err(AuthError::InvalidRequest(_))));
        let mut hs = get_object_headers();
        hs[3].1 = "not-a-hash".to_owned();
        assert!(matches!(run("GET", "/test.txt", "", &hs, NOW), Err(AuthError::InvalidArgument(_))));
        let mut hs = get_object_headers();
        hs.push(("x-amz-content-sha256".to_owned(), EMPTY_SHA256_HEX.to_owned()));
        assert!(matches!(run("GET", "/test.txt", "", &hs, NOW), Err(AuthError::InvalidArgument(_))));
    }

    #[test]
    fn payload_kinds_parse() {
        assert!(matches!(PayloadKind::parse(UNSIGNED_PAYLOAD), Ok(PayloadKind::Unsigned)));
        assert!(matches!(PayloadKind::parse(STREAMING_SIGNED), Ok(PayloadKind::StreamingSigned)));
        assert!(matches!(PayloadKind::parse(STREAMING_UNSIGNED_TRAILER), Ok(PayloadKind::StreamingUnsignedTrailer)));
        assert!(matches!(PayloadKind::parse(STREAMING_SIGNED_TRAILER), Ok(PayloadKind::StreamingSignedTrailer)));
        match PayloadKind::parse(&EMPTY_SHA256_HEX.to_ascii_uppercase()) {
            Ok(PayloadKind::Sha256Hex(hex)) => assert_eq!(hex, EMPTY_SHA256_HEX),
            _ => panic!("a hex digest"),
        }
        assert!(PayloadKind::parse("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD").is_err());
        assert!(PayloadKind::parse(&EMPTY_SHA256_HEX[1..]).is_err());
    }

    #[test]
    fn missing_or_bad_date() {
        let mut hs = get_object_headers();
        hs.retain(|(n, _)| n != "x-amz-date");
        assert_eq!(run("GET", "/test.txt", "", &hs, NOW), Err(AuthError::InvalidDate));
        let mut hs = get_object_headers();
        hs[4].1 = "2013-05-24T00:00:00Z".to_owned();
        assert_eq!(run("GET", "/test.txt", "", &hs, NOW), Err(AuthError::InvalidDate));
        assert_eq!(AuthError::InvalidDate.s3_code(), "AccessDenied");
    }

    #[test]
    fn unsupported_mechanisms_and_v2() {
        let mut hs = get_object_headers();
        hs[1].1 = "Bearer abc".to_owned();
        assert!(matches!(run("GET", "/test.txt", "", &hs, NOW), Err(AuthError::InvalidRequest(_))));
        // SigV2 forms go to sigv2 (tested there): here, its date and expiry checks.
        hs[1].1 = "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=".to_owned();
        assert_eq!(run("GET", "/test.txt", "", &hs, NOW), Err(AuthError::InvalidDate));
        let hs = headers(&[("Host", EXAMPLE_HOST)]);
        assert_eq!(
            run("GET", "/test.txt", "AWSAccessKeyId=AK&Expires=1&Signature=x", &hs, NOW),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn both_mechanisms_at_once() {
        let hs = get_object_headers();
        assert!(matches!(run("GET", "/test.txt", PRESIGNED_QUERY, &hs, NOW), Err(AuthError::InvalidArgument(_))));
    }

    #[test]
    fn unsigned_amz_headers_are_refused() {
        let mut hs = get_object_headers();
        hs.push(("x-amz-copy-source".to_owned(), "/other/key".to_owned()));
        assert_eq!(
            run("GET", "/test.txt", "", &hs, NOW),
            Err(AuthError::HeadersNotSigned("x-amz-copy-source".to_owned()))
        );
        let hs = headers(&[("Host", EXAMPLE_HOST), ("x-amz-acl", "public-read")]);
        assert_eq!(
            run("GET", "/test.txt", PRESIGNED_QUERY, &hs, NOW),
            Err(AuthError::HeadersNotSigned("x-amz-acl".to_owned()))
        );
        // x-amz-content-sha256 and x-amzn-* may stay unsigned.
        let hs = headers(&[
            ("Host", EXAMPLE_HOST),
            ("x-amz-content-sha256", UNSIGNED_PAYLOAD),
            ("x-amzn-trace-id", "Root=1"),
        ]);
        run("GET", "/test.txt", PRESIGNED_QUERY, &hs, NOW).unwrap();
    }

    fn presigned_with(replace: &str, with: &str) -> String {
        PRESIGNED_QUERY.replace(replace, with)
    }

    fn malformed_query(query: &str) -> String {
        let hs = headers(&[("Host", EXAMPLE_HOST)]);
        match run("GET", "/test.txt", query, &hs, NOW) {
            Err(AuthError::MalformedQuery(message)) => message,
            other => panic!("expected MalformedQuery for {query}, got {other:?}"),
        }
    }

    #[test]
    fn malformed_presigned_queries() {
        for (from, to) in [
            ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
            ("X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""),
            ("&X-Amz-Date=20130524T000000Z", ""),
            ("&X-Amz-Expires=86400", ""),
            ("&X-Amz-SignedHeaders=host", ""),
            ("X-Amz-Expires=86400", "X-Amz-Expires=0"),
            ("X-Amz-Expires=86400", "X-Amz-Expires=604801"),
            ("X-Amz-Expires=86400", "X-Amz-Expires=-5"),
            ("X-Amz-Expires=86400", "X-Amz-Expires=1e3"),
            ("X-Amz-Expires=86400", "X-Amz-Expires=99999999999999999999999"),
            ("X-Amz-Date=20130524T000000Z", "X-Amz-Date=20130524"),
            ("X-Amz-Date=20130524T000000Z", "X-Amz-Date=20130525T000000Z"),
            ("%2Fs3%2F", "%2Fs4%2F"),
            ("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=range"),
            ("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3Bx-missing"),
            ("X-Amz-Expires=86400", "X-Amz-Expires=86400&X-Amz-Expires=86400"),
        ] {
            let query = presigned_with(from, to);
            assert!(!malformed_query(&query).is_empty());
        }
        // The signature missing entirely.
        let without_signature =
            PRESIGNED_QUERY.split('&').filter(|p| !p.starts_with("X-Amz-Signature")).collect::<Vec<_>>().join("&");
        malformed_query(&without_signature);
        assert_eq!(AuthError::MalformedQuery(String::new()).s3_code(), "AuthorizationQueryParametersError");
    }

    #[test]
    fn presigned_wrong_signature_and_expiry_bounds() {
        let hs = headers(&[("Host", EXAMPLE_HOST)]);
        let query = presigned_with("X-Amz-Signature=aeeed9", "X-Amz-Signature=beeed9");
        assert_eq!(run("GET", "/test.txt", &query, &hs, NOW), Err(AuthError::SignatureDoesNotMatch));
        // A longer expiry is a different request: the signature breaks.
        let query = presigned_with("X-Amz-Expires=86400", "X-Amz-Expires=604800");
        assert_eq!(run("GET", "/test.txt", &query, &hs, NOW), Err(AuthError::SignatureDoesNotMatch));
        assert_eq!(AuthError::Expired.to_string(), "Request has expired");
        assert_eq!(AuthError::Expired.s3_code(), "AccessDenied");
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(hex_signature_eq("0aff", "0AFF"));
        assert!(!hex_signature_eq("0aff", "0afe"));
        assert!(!hex_signature_eq("0aff", "0af"));
        assert!(!hex_signature_eq("0aff", "zzzz"));
    }
}

/// Signs a request for a client (the `stratum admin` CLI, tests): returns the
/// headers to add (`x-amz-date`, `x-amz-content-sha256`, `authorization`).
/// The payload is sent as UNSIGNED-PAYLOAD; `host` must be the Host header.
pub fn sign_request(
    method: &str,
    host: &str,
    raw_path: &str,
    raw_query: &str,
    creds: &Credentials,
    region: &str,
    now_unix_secs: i64,
) -> Vec<(String, String)> {
    let amz_date = format_amz_date(now_unix_secs).unwrap_or_default();
    let date = amz_date.get(..8).unwrap_or_default().to_owned();
    let scope = format!("{date}/{region}/s3/aws4_request");
    let canonical_headers = format!("host:{host}\nx-amz-content-sha256:{UNSIGNED_PAYLOAD}\nx-amz-date:{amz_date}\n");
    let signed_headers = "host;x-amz-content-sha256;x-amz-date";
    let canonical = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{UNSIGNED_PAYLOAD}",
        canonical_uri(raw_path),
        canonical_query(raw_query, false)
    );
    let string_to_sign =
        format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let key = signing_key(&creds.secret_key, &date, region, "s3");
    let signature = hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()));
    vec![
        ("x-amz-date".to_owned(), amz_date),
        ("x-amz-content-sha256".to_owned(), UNSIGNED_PAYLOAD.to_owned()),
        (
            "authorization".to_owned(),
            format!(
                "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                creds.access_key
            ),
        ),
    ]
}

#[cfg(test)]
mod sign_tests {
    use super::*;

    #[test]
    fn what_we_sign_we_verify() {
        let creds = Credentials { access_key: "AK".into(), secret_key: "SK".into() };
        let now = 1_700_000_000;
        let mut headers = vec![("host".to_owned(), "127.0.0.1:9000".to_owned())];
        headers.extend(sign_request(
            "GET",
            "127.0.0.1:9000",
            "/_stratum/admin/disks",
            "a=b c",
            &creds,
            "us-east-1",
            now,
        ));
        let parts = RequestParts {
            method: "GET",
            raw_path: "/_stratum/admin/disks",
            raw_query: "a=b c",
            headers: &headers,
            host_bucket: None,
        };
        let verified = verify(&parts, std::slice::from_ref(&creds), now).expect("verifies");
        assert_eq!(verified.access_key, "AK");
        let wrong = Credentials { access_key: "AK".into(), secret_key: "other".into() };
        assert_eq!(verify(&parts, &[wrong], now).map(|_| ()), Err(AuthError::SignatureDoesNotMatch));
    }
}
