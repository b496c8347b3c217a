//! `stratum-bench ceiling`: the generator against a trivial in-process
//! responder, so a benchmark can show the generator was not its bottleneck.
//!
//! The responder parses each request head, drains the body and answers at
//! once: a GET gets as many bytes as the key's first path segment says
//! (`/b/4096/00000001` → 4096), anything else an empty 200. It shares the
//! machine with the generator, so the rates are a floor of the generator's
//! ceiling; the generator's own CPU per operation is the sharper figure.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::job::{Job, JobFile, OpKind};
use super::limits::{MAX_HEAD_BYTES, PATTERN_BYTES, READ_BUF_BYTES, SMALL_WRITE_BYTES};
use super::report::JobReport;
use super::run::{run, Watch};
use super::s3::Target;
use crate::Error;

/// A responder listening on 127.0.0.1; stops when dropped.
pub struct Responder {
    pub endpoint: String,
    stop: Arc<AtomicBool>,
}

impl Responder {
    pub fn start() -> Result<Responder, Error> {
        let io_err = |source| Error::Io { path: "responder".into(), source };
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io_err)?;
        let endpoint = format!("http://{}", listener.local_addr().map_err(io_err)?);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    std::thread::spawn(move || serve(stream));
                }
            }
        });
        Ok(Responder { endpoint, stop })
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the acceptor so it sees the flag.
        if let Some(addr) = self.endpoint.strip_prefix("http://") {
            let _ = TcpStream::connect(addr);
        }
    }
}

/// Answers requests on one connection until the client goes away.
fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; READ_BUF_BYTES];
    let body = vec![b'x'; PATTERN_BYTES];
    let mut out = Vec::with_capacity(SMALL_WRITE_BYTES);
    let (mut pos, mut filled) = (0, 0);
    loop {
        let (head_len, path_size, content_length) = loop {
            if let Some(parsed) = parse_request(&buf[pos..filled])? {
                break parsed;
            }
            if filled - pos >= MAX_HEAD_BYTES {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
            }
            if pos > 0 {
                buf.copy_within(pos..filled, 0);
                filled -= pos;
                pos = 0;
            }
            let n = stream.read(&mut buf[filled..])?;
            if n == 0 {
                return Ok(());
            }
            filled += n;
        };
        pos += head_len;
        let mut left = content_length;
        while left > 0 {
            if pos == filled {
                pos = 0;
                filled = stream.read(&mut buf)?;
                if filled == 0 {
                    return Ok(());
                }
            }
            let take = (filled - pos).min(usize::try_from(left).unwrap_or(usize::MAX));
            pos += take;
            left -= take as u64;
        }
        respond(&mut stream, &mut out, &body, path_size.unwrap_or(0))?;
    }
}

/// Writes a 200 with `len` body bytes: one write when small.
fn respond(stream: &mut TcpStream, out: &mut Vec<u8>, body: &[u8], len: u64) -> io::Result<()> {
    out.clear();
    let _ = write!(out, "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nETag: \"x\"\r\n\r\n");
    if out.len() as u64 + len <= SMALL_WRITE_BYTES as u64 {
        out.extend_from_slice(&body[..len as usize]);
        return stream.write_all(out);
    }
    stream.write_all(out)?;
    let mut left = len;
    while left > 0 {
        let take = (body.len() as u64).min(left) as usize;
        stream.write_all(&body[..take])?;
        left -= take as u64;
    }
    Ok(())
}

/// Head length, the GET size its path asks for, and the body's length.
fn parse_request(bytes: &[u8]) -> io::Result<Option<(usize, Option<u64>, u64)>> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let status = req.parse(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let httparse::Status::Complete(len) = status else { return Ok(None) };
    let content_length = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
        .unwrap_or(0);
    let size = match req.method {
        Some("GET") => req.path.and_then(|p| p.split('/').nth(2)?.parse().ok()),
        _ => None,
    };
    Ok(Some((len, size, content_length)))
}

/// Arguments of `stratum-bench ceiling`.
#[derive(Clone, Debug, clap::Args)]
pub struct CeilingArgs {
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    #[arg(long, default_value = "3s")]
    pub duration: String,
    #[arg(long)]
    pub json: bool,
}

/// The jobs the ceiling runs: small GETs and PUTs (request rate) and 1 MiB
/// GETs (receive bandwidth).
const CEILING_JOBS: [(&str, &str, &str); 3] =
    [("ceiling-get-4k", "get", "4096"), ("ceiling-put-4k", "put", "4096"), ("ceiling-get-1m", "get", "1048576")];

pub fn ceiling(args: &CeilingArgs) -> Result<Vec<JobReport>, Error> {
    let responder = Responder::start()?;
    let target = Target::parse(&responder.endpoint).map_err(Error::Run)?;
    let pattern = super::prepare::pattern(1);
    let mut reports = Vec::new();
    for (name, op, size) in CEILING_JOBS {
        let job = ceiling_job(name, op, size, args, &responder.endpoint)?;
        let ops = [(OpKind::parse(op).unwrap_or(OpKind::Get), 1)];
        reports.push(run(&job, &ops, &target, &pattern, Watch::default())?);
    }
    Ok(reports)
}

fn ceiling_job(name: &str, op: &str, size: &str, args: &CeilingArgs, endpoint: &str) -> Result<Job, Error> {
    let file = JobFile {
        name: Some(name.into()),
        operation: Some(op.into()),
        size: Some(super::job::SizeField::Fixed(size.into())),
        connections: Some(args.connections),
        duration: Some(args.duration.clone()),
        warmup: Some("500ms".into()),
        prefix: Some(format!("{size}/")),
        endpoint: Some(endpoint.into()),
        ..JobFile::default()
    };
    file.into_job(std::path::Path::new(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_drives_the_responder() {
        let args = CeilingArgs { connections: 2, duration: "300ms".into(), json: false };
        let reports = ceiling(&args).unwrap();
        assert_eq!(reports.len(), 3);
        for r in &reports {
            assert!(r.ops > 0, "{}: no ops", r.job);
            assert_eq!(r.error_count, 0, "{}: {:?}", r.job, r.errors);
        }
        // 1 MiB GETs move 1 MiB each.
        let big = &reports[2];
        assert!((big.mb_per_s / big.ops_per_s - 1.048576).abs() < 0.01);
    }
}
