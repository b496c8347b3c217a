//! A parsed request: bucket and key (path style, or virtual-hosted style
//! under a configured domain), decoded query parameters.

use percent_encoding::percent_decode_str;

use crate::conn::{parse_head, Head, HeadError};
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
    /// Path style only: `/bucket/key`.
    #[cfg(test)]
    pub fn parse(head: Head) -> Result<Self, S3Error> {
        Self::parse_for(head, &[])
    }

    /// With `Host: bucket.<domain>` for one of `domains` (lowercase, no
    /// port), the bucket comes from the host and the whole path is the key;
    /// any other host is path style.
    pub fn parse_for(head: Head, domains: &[String]) -> Result<Self, S3Error> {
        let (raw_path, raw_query) = match head.target.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (head.target.clone(), String::new()),
        };
        let path = raw_path
            .strip_prefix('/')
            .ok_or_else(|| S3Error::invalid_request("the request target must be an absolute path"))?;
        let (bucket, key) = match virtual_host_bucket(&head, domains) {
            Some(bucket) => (bucket, Some(path)),
            None => match path.split_once('/') {
                Some((b, k)) => (b, Some(k)),
                None => (path, None),
            },
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
            .map(|v| parse_decimal(v).ok_or_else(|| S3Error::invalid_argument(format!("invalid {name}"))))
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

/// A header's number as HTTP writes it, `1*DIGIT` (surrounding spaces
/// allowed). `str::parse` also takes a leading `+`, which a proxy in front may
/// read differently: a length two hops disagree on is how requests get
/// smuggled (found by fuzz/fuzz_targets/http_request.rs).
pub(crate) fn parse_decimal(value: &str) -> Option<u64> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A request head as the transport frames it: the parsed request, how many
/// bytes its head took, and how many body bytes follow on the wire.
#[derive(Debug)]
pub struct FramedRequest {
    pub request: Request,
    pub head_len: usize,
    pub body: crate::body::Wire,
}

/// Why bytes are not a request the server can frame: a bad head (the
/// connection closes), or a head that parsed but was refused.
#[derive(Debug)]
pub enum FramingError {
    Head(HeadError),
    Request(S3Error),
}

/// The pure front of the server, exposed for the fuzzers and for tests:
/// the head at the start of `bytes` through the steps `serve_connection`
/// takes before authentication (`parse_head`, [`Request::parse_for`],
/// `wire_framing`). `Ok(None)` while the head is incomplete.
pub fn frame_request(bytes: &[u8], domains: &[String]) -> Result<Option<FramedRequest>, FramingError> {
    let Some((head, head_len)) = parse_head(bytes).map_err(FramingError::Head)? else { return Ok(None) };
    let request = Request::parse_for(head, domains).map_err(FramingError::Request)?;
    let body = crate::body::wire_framing(&request).map_err(FramingError::Request)?;
    Ok(Some(FramedRequest { request, head_len, body }))
}

/// The bucket named by a `Host: <bucket>.<domain>[:port]` header.
pub(crate) fn virtual_host_bucket<'h>(head: &'h Head, domains: &[String]) -> Option<&'h str> {
    let host = head.header("host")?.trim();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    domains.iter().find_map(|domain| {
        // `get` rather than slicing: a client's odd Host must not panic us.
        let at = name.len().checked_sub(domain.len())?;
        let bucket = name.get(..at)?.strip_suffix('.')?;
        (name.get(at..)?.eq_ignore_ascii_case(domain) && !bucket.is_empty()).then_some(bucket)
    })
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

    fn hosted(target: &str, host: &str) -> Request {
        let mut h = head(target);
        h.headers.push(("host".into(), host.into()));
        Request::parse_for(h, &["s3.example.com".to_owned()]).expect("parses")
    }

    #[test]
    fn virtual_hosted_style() {
        let r = hosted("/a%20b//c?tagging", "media.s3.example.com:9000");
        assert_eq!((r.bucket.as_deref(), r.key.as_deref()), (Some("media"), Some("a b//c")));
        assert_eq!(r.raw_path, "/a%20b//c");
        let r = hosted("/", "my.bucket.S3.Example.com");
        assert_eq!((r.bucket.as_deref(), r.key.as_deref()), (Some("my.bucket"), None));
        let r = hosted("//lead", "media.s3.example.com");
        assert_eq!(r.key.as_deref(), Some("/lead"));
        // the domain itself, other hosts, and look-alikes are path style
        let odd = [
            "s3.example.com",
            "127.0.0.1:9000",
            "media.s3.example.com.evil",
            "[::1]:9000",
            "xs3.example.com",
            "\u{e9}3.example.com",
        ];
        for host in odd {
            let r = hosted("/b/k", host);
            assert_eq!((r.bucket.as_deref(), r.key.as_deref()), (Some("b"), Some("k")), "{host}");
        }
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

    fn framed(bytes: &[u8]) -> Result<Option<FramedRequest>, FramingError> {
        frame_request(bytes, &[])
    }

    /// Found by fuzz/fuzz_targets/http_request.rs: `+4` parsed as 4.
    #[test]
    fn fuzz_signed_content_length_is_refused() {
        let refused = |bytes: &[u8]| match framed(bytes) {
            Err(FramingError::Request(e)) => e.code,
            other => panic!("{other:?}"),
        };
        assert_eq!(refused(b"PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: +4\r\n\r\n"), "InvalidArgument");
        assert_eq!(refused(b"PUT /b/k HTTP/1.1\r\nContent-Length: -0\r\n\r\n"), "InvalidArgument");
        let head = b"PUT /b/k HTTP/1.1\r\nx-amz-decoded-content-length: +5\r\n\r\n";
        let req = framed(head).expect("frames").expect("complete").request;
        assert_eq!(req.header_u64("x-amz-decoded-content-length").map_err(|e| e.code).unwrap_err(), "InvalidArgument");
        let ok = framed(b"PUT /b/k HTTP/1.1\r\nContent-Length:  12 \r\n\r\nbody").expect("frames").expect("complete");
        assert_eq!((ok.body, ok.head_len), (crate::body::Wire::Length(12), 43));
    }

    #[test]
    fn framing_refuses_what_could_be_smuggled() {
        let head = |extra: &str| format!("POST /b/k HTTP/1.1\r\nHost: h\r\n{extra}\r\n");
        for extra in
            ["Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", "Content-Length: 4\r\nContent-Length: 5\r\n"]
        {
            assert!(matches!(framed(head(extra).as_bytes()), Err(FramingError::Request(_))), "{extra}");
        }
        let same = framed(head("Content-Length: 4\r\nContent-Length: 4\r\n").as_bytes()).expect("frames");
        assert_eq!(same.map(|f| f.body), Some(crate::body::Wire::Length(4)));
        // Transfer-Encoding only as the JS SDK streams: chunked around an
        // aws-chunked body of a declared decoded length.
        let streamed =
            "Transfer-Encoding: chunked\r\nContent-Encoding: aws-chunked\r\nx-amz-decoded-content-length: 9\r\n";
        let taken = framed(head(streamed).as_bytes()).expect("frames").expect("complete");
        assert_eq!(taken.body, crate::body::Wire::Chunked);
        for extra in [
            "Transfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\r\nContent-Encoding: aws-chunked\r\n",
            "Transfer-Encoding: gzip, chunked\r\nContent-Encoding: aws-chunked\r\nx-amz-decoded-content-length: 9\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\nContent-Encoding: aws-chunked\r\nx-amz-decoded-content-length: 9\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 4\r\nContent-Encoding: aws-chunked\r\nx-amz-decoded-content-length: 9\r\n",
        ] {
            assert!(matches!(framed(head(extra).as_bytes()), Err(FramingError::Request(_))), "{extra}");
        }
        // A head split across reads is incomplete, not refused.
        let full = head("Content-Length: 4\r\n");
        for cut in 0..full.len() {
            assert!(matches!(framed(&full.as_bytes()[..cut]), Ok(None)), "cut at {cut}");
        }
    }
}
