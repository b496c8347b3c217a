//! SigV4 header signing for the load generator.
//!
//! The generator signs every request itself so it can drive any S3 endpoint.
//! Bodies are sent as `UNSIGNED-PAYLOAD`: hashing a 1 GiB body would make the
//! client, not the server, the thing measured. The signing key changes once a
//! day, so it is derived once and cached; a request then costs one SHA-256 of
//! the canonical request and one HMAC.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Who signs, and where.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

/// What goes into the canonical request. `path` and `query` must already be
/// in canonical form (path percent-encoded once, query pairs encoded and
/// sorted), because the generator builds them that way and sends them as is.
pub struct ToSign<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub host: &'a str,
    /// Extra headers to sign, lowercase names (e.g. `range`).
    pub extra_headers: &'a [(&'a str, &'a str)],
    pub payload_hash: &'a str,
}

/// The headers a signed request must carry.
pub struct Signature {
    pub amz_date: String,
    pub authorization: String,
}

/// Signs requests with one set of credentials, caching the day's key.
pub struct Signer {
    creds: Credentials,
    day: String,
    key: [u8; 32],
}

impl Signer {
    pub fn new(creds: Credentials) -> Self {
        Signer { creds, day: String::new(), key: [0; 32] }
    }

    /// Signs `req` as sent at `unix_secs`.
    pub fn sign(&mut self, req: &ToSign<'_>, unix_secs: u64) -> Signature {
        let amz_date = amz_date(unix_secs);
        let day = &amz_date[..8];
        if self.day != day {
            self.key = signing_key(&self.creds.secret_key, day, &self.creds.region);
            self.day = day.to_owned();
        }
        let mut headers: Vec<(&str, &str)> =
            vec![("host", req.host), ("x-amz-content-sha256", req.payload_hash), ("x-amz-date", &amz_date)];
        headers.extend_from_slice(req.extra_headers);
        headers.sort_unstable();
        let signed_headers = headers.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(";");
        let mut canonical = format!("{}\n{}\n{}\n", req.method, req.path, req.query);
        for (name, value) in &headers {
            canonical.push_str(name);
            canonical.push(':');
            canonical.push_str(value.trim());
            canonical.push('\n');
        }
        canonical.push('\n');
        canonical.push_str(&signed_headers);
        canonical.push('\n');
        canonical.push_str(req.payload_hash);
        let scope = format!("{day}/{}/s3/aws4_request", self.creds.region);
        let string_to_sign =
            format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let signature = hex::encode(hmac(&self.key, string_to_sign.as_bytes()));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed_headers},Signature={signature}",
            self.creds.access_key
        );
        Signature { amz_date, authorization }
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn signing_key(secret_key: &str, day: &str, region: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret_key}").as_bytes(), day.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    hmac(&k_service, b"aws4_request")
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time (UTC).
pub fn amz_date(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Howard Hinnant's days-to-civil: the proleptic Gregorian date of a day
/// number counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20130524T000000Z, the time of every AWS example.
    const AWS_EXAMPLE_TIME: u64 = 1_369_353_600;
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn aws_signer() -> Signer {
        Signer::new(Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            region: "us-east-1".into(),
        })
    }

    #[test]
    fn aws_example_get_object_with_range() {
        let req = ToSign {
            method: "GET",
            path: "/test.txt",
            query: "",
            host: "examplebucket.s3.amazonaws.com",
            extra_headers: &[("range", "bytes=0-9")],
            payload_hash: EMPTY_SHA256,
        };
        let sig = aws_signer().sign(&req, AWS_EXAMPLE_TIME);
        assert_eq!(sig.amz_date, "20130524T000000Z");
        assert_eq!(
            sig.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn aws_example_list_objects() {
        let req = ToSign {
            method: "GET",
            path: "/",
            query: "max-keys=2&prefix=J",
            host: "examplebucket.s3.amazonaws.com",
            extra_headers: &[],
            payload_hash: EMPTY_SHA256,
        };
        let sig = aws_signer().sign(&req, AWS_EXAMPLE_TIME);
        assert!(sig
            .authorization
            .ends_with("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
    }

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date(1_700_000_000), "20231114T221320Z");
    }
}
