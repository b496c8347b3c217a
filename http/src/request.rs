//! A parsed request: path-style bucket and key, decoded query parameters.

use percent_encoding::percent_decode_str;

use crate::conn::Head;
use crate::error::S3Error;
use crate::limits::KEY_SIZE_MAX_BYTES;

#[derive(Debug)]
pub struct Request {
    pub head: Head,
    /// Path as sent (still percent-encoded), for signing.
    pub raw_path: String,
    /// Query as sent, for signing.
    pub raw_query: String,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub query: Vec<(String, String)>,
}

impl Request {
    pub fn parse(head: Head) -> Result<Self, S3Error> {
        let (raw_path, raw_query) = match head.target.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (head.target.clone(), String::new()),
        };
        let path = raw_path
            .strip_prefix('/')
            .ok_or_else(|| S3Error::invalid_request("the request target must be an absolute path"))?;
        let (bucket, key) = match path.split_once('/') {
            Some((b, k)) => (b, Some(k)),
            None => (path, None),
        };
        let bucket = if bucket.is_empty() { None } else { Some(decode(bucket, false)?) };
        let key = match key {
            Some(k) if !k.is_empty() => Some(decode(k, false)?),
            _ => None,
        };
        if let Some(k) = &key {
            if k.len() > KEY_SIZE_MAX_BYTES {
                return Err(S3Error::new("KeyTooLongError", 400, "Your key is too long"));
            }
            if k.contains('\0') {
                return Err(S3Error::invalid_argument("Object keys may not contain NUL"));
            }
        }
        let mut query = Vec::new();
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            query.push((decode(k, true)?, decode(v, true)?));
        }
        Ok(Self { head, raw_path, raw_query, bucket, key, query })
    }

    pub fn method(&self) -> &str {
        &self.head.method
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn has_param(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }

    /// A header parsed as a number; a malformed one is the client's error.
    pub fn header_u64(&self, name: &str) -> Result<Option<u64>, S3Error> {
        self.header(name)
            .map(|v| v.trim().parse::<u64>().map_err(|_| S3Error::invalid_argument(format!("invalid {name}"))))
            .transpose()
    }

    /// The resource named in error documents.
    pub fn resource(&self) -> String {
        match (&self.bucket, &self.key) {
            (Some(b), Some(k)) => format!("/{b}/{k}"),
            (Some(b), None) => format!("/{b}"),
            _ => "/".to_owned(),
        }
    }
}

/// Percent-decodes a path segment or query part; S3 keys must be UTF-8.
fn decode(s: &str, plus_is_space: bool) -> Result<String, S3Error> {
    let replaced;
    let s = if plus_is_space && s.contains('+') {
        replaced = s.replace('+', " ");
        replaced.as_str()
    } else {
        s
    };
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| S3Error::invalid_argument("URL is not valid UTF-8 after decoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(target: &str) -> Head {
        Head { method: "GET".into(), target: target.into(), minor_version: 1, headers: vec![] }
    }

    #[test]
    fn path_style_bucket_and_key() {
        let r = Request::parse(head("/b/a%20b/%E2%82%AC//x?list-type=2&prefix=a+b%2B")).expect("parses");
        assert_eq!(r.bucket.as_deref(), Some("b"));
        assert_eq!(r.key.as_deref(), Some("a b/\u{20ac}//x"));
        assert_eq!(r.param("prefix"), Some("a b+"));
        assert!(r.has_param("list-type"));
        let root = Request::parse(head("/")).expect("parses");
        assert!(root.bucket.is_none() && root.key.is_none());
        let bucket = Request::parse(head("/b/")).expect("parses");
        assert_eq!(bucket.bucket.as_deref(), Some("b"));
        assert!(bucket.key.is_none());
    }

    #[test]
    fn bad_targets_are_client_errors() {
        assert_eq!(Request::parse(head("b/k")).map(|_| ()).unwrap_err().code, "InvalidRequest");
        assert_eq!(Request::parse(head("/b/%FF")).map(|_| ()).unwrap_err().code, "InvalidArgument");
        assert_eq!(Request::parse(head("/b/a%00")).map(|_| ()).unwrap_err().code, "InvalidArgument");
        let long = format!("/b/{}", "k".repeat(1025));
        assert_eq!(Request::parse(head(&long)).map(|_| ()).unwrap_err().code, "KeyTooLongError");
    }
}
