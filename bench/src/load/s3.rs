//! S3 requests as the generator sends them: the endpoint, object keys, the
//! choice of the next operation (pure, seeded), and signed request heads.

use std::fmt::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::Rng;

use super::job::{Job, OpKind};
use super::sign::{Credentials, Signer, ToSign, UNSIGNED_PAYLOAD};

/// Everything but `A-Za-z0-9-._~/`: a path encoded this way is already the
/// canonical URI SigV4 signs.
const ENCODE_PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');
/// As [`ENCODE_PATH`], `/` encoded too (query values).
const ENCODE_VALUE: &AsciiSet = &ENCODE_PATH.add(b'/');

/// Where requests go: `http://host:port` (plain HTTP only).
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    /// The `Host` header.
    pub host: String,
}

impl Target {
    pub fn parse(endpoint: &str) -> Result<Target, String> {
        let rest = endpoint
            .strip_prefix("http://")
            .ok_or_else(|| format!("endpoint {endpoint:?}: only http:// endpoints are supported"))?;
        let host = rest.trim_end_matches('/');
        if host.contains('/') {
            return Err(format!("endpoint {endpoint:?}: path-style requests need an endpoint without a path"));
        }
        let with_port = if host.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| format!("endpoint {endpoint:?}: {e}"))?
            .next()
            .ok_or_else(|| format!("endpoint {endpoint:?}: no address"))?;
        Ok(Target { addr, host: host.to_owned() })
    }
}

/// One planned operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub kind: OpKind,
    pub index: u64,
    /// Inclusive byte range, for range reads.
    pub range: Option<(u64, u64)>,
}

/// Picks the next operation: the kind by weight; writes and deletes walk
/// the keys in order (`seq`, shared by all connections, so two connections
/// rarely touch one key at once); reads pick a key at random.
pub fn plan(job: &Job, ops: &[(OpKind, u32)], rng: &mut impl Rng, seq: u64) -> Plan {
    let total: u32 = ops.iter().map(|(_, w)| *w).sum();
    let mut pick = rng.gen_range(0..total.max(1));
    let mut kind = ops.first().map_or(OpKind::Get, |(k, _)| *k);
    for (k, w) in ops {
        if pick < *w {
            kind = *k;
            break;
        }
        pick -= *w;
    }
    let sequential = ops.len() == 1 && matches!(kind, OpKind::Put | OpKind::Delete);
    let index = if sequential { seq % job.objects } else { rng.gen_range(0..job.objects) };
    let range = (kind == OpKind::RangeGet).then(|| {
        let size = job.size.size_of(index);
        let len = job.range_size.min(size).max(1);
        let start = rng.gen_range(0..=size.saturating_sub(len));
        (start, start + len - 1)
    });
    Plan { kind, index, range }
}

/// The key of object `index`.
pub fn key(prefix: &str, index: u64) -> String {
    format!("{prefix}{index:08}")
}

pub fn object_path(bucket: &str, key: &str) -> String {
    format!("/{}/{}", utf8_percent_encode(bucket, ENCODE_PATH), utf8_percent_encode(key, ENCODE_PATH))
}

/// Builds signed request heads into one reused buffer.
pub struct Heads {
    signer: Signer,
    host: String,
    buf: Vec<u8>,
}

/// One request to sign and frame.
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Canonical query (sorted, encoded), possibly empty.
    pub query: &'a str,
    pub range: Option<(u64, u64)>,
    pub content_length: u64,
}

impl Heads {
    pub fn new(creds: Credentials, host: &str) -> Heads {
        Heads { signer: Signer::new(creds), host: host.to_owned(), buf: Vec::with_capacity(1024) }
    }

    /// The request head, ending in the blank line.
    pub fn build(&mut self, req: &Req<'_>) -> &[u8] {
        let range_value = req.range.map(|(a, b)| format!("bytes={a}-{b}"));
        let extra: Vec<(&str, &str)> = range_value.iter().map(|v| ("range", v.as_str())).collect();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let sig = self.signer.sign(
            &ToSign {
                method: req.method,
                path: req.path,
                query: req.query,
                host: &self.host,
                extra_headers: &extra,
                payload_hash: UNSIGNED_PAYLOAD,
            },
            now,
        );
        let mut head = String::with_capacity(512);
        let sep = if req.query.is_empty() { "" } else { "?" };
        // Writing into a String cannot fail.
        let _ = write!(
            head,
            "{} {}{sep}{} HTTP/1.1\r\nHost: {}\r\nx-amz-date: {}\r\nx-amz-content-sha256: {UNSIGNED_PAYLOAD}\r\n\
             Authorization: {}\r\nContent-Length: {}\r\n",
            req.method, req.path, req.query, self.host, sig.amz_date, sig.authorization, req.content_length
        );
        if let Some(v) = &range_value {
            let _ = write!(head, "Range: {v}\r\n");
        }
        head.push_str("\r\n");
        self.buf.clear();
        self.buf.extend_from_slice(head.as_bytes());
        &self.buf
    }
}

/// The canonical query of a ListObjectsV2 call.
pub fn list_query(prefix: &str, max_keys: u32) -> String {
    format!("list-type=2&max-keys={max_keys}&prefix={}", utf8_percent_encode(prefix, ENCODE_VALUE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::job::JobFile;
    use rand::SeedableRng;

    fn job(text: &str) -> Job {
        let file: JobFile = toml::from_str(text).unwrap();
        file.into_job(std::path::Path::new("t.toml")).unwrap()
    }

    #[test]
    fn endpoints() {
        let t = Target::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!(t.host, "127.0.0.1:9000");
        assert_eq!(t.addr.port(), 9000);
        assert!(Target::parse("https://127.0.0.1:9000").is_err());
        assert!(Target::parse("http://127.0.0.1:9000/bucket").is_err());
    }

    #[test]
    fn ranges_stay_inside_objects() {
        let j = job("operation = \"range-get\"\nsize = \"1MiB\"\nrange_size = \"64KiB\"\nobjects = 3");
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for seq in 0..1000 {
            let p = plan(&j, &[(OpKind::RangeGet, 1)], &mut rng, seq);
            let (a, b) = p.range.unwrap();
            assert_eq!(b - a + 1, 65536);
            assert!(b < 1 << 20 && p.index < 3);
        }
    }

    #[test]
    fn puts_walk_keys_in_order_and_mixes_follow_weights() {
        let j = job("operation = \"put\"\nobjects = 10");
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        assert_eq!(plan(&j, &[(OpKind::Put, 1)], &mut rng, 13).index, 3);
        let mix = [(OpKind::Get, 70), (OpKind::Put, 30)];
        let gets = (0..10_000).filter(|s| plan(&j, &mix, &mut rng, *s).kind == OpKind::Get).count();
        assert!((6_500..7_500).contains(&gets), "{gets}");
    }

    #[test]
    fn paths_and_queries_are_canonical() {
        assert_eq!(object_path("b", "a b/c+d"), "/b/a%20b/c%2Bd");
        assert_eq!(list_query("list/", 100), "list-type=2&max-keys=100&prefix=list%2F");
    }
}
