//! Before a run: the bucket, and the objects a read job reads. An object
//! already there with the right size is kept, so a second run (the B of an
//! A B A B comparison) does not rewrite 1 GiB.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{RngCore, SeedableRng};

use super::client::Body;
use super::job::Job;
use super::limits::{PATTERN_BYTES, PREPARE_CONNECTIONS_MAX, STARTUP_GRACE};
use super::s3::{key, object_path, Req, Target};
use super::session::{failure, Session};
use crate::Error;

/// Incompressible bytes that PUT bodies cycle through.
pub fn pattern(seed: u64) -> Vec<u8> {
    let mut bytes = vec![0; PATTERN_BYTES];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

/// Where object `index`'s body starts in the pattern: objects differ.
pub fn body_of(pattern: &[u8], index: u64, len: u64) -> Body<'_> {
    let start = (index.wrapping_mul(4099) % pattern.len().max(1) as u64) as usize;
    Body { pattern, start, len }
}

/// Creates the bucket unless it exists. A server just started may accept
/// connections before it serves (or reset them): transport errors and 503s
/// are retried for a while.
pub fn bucket(job: &Job, target: &Target) -> Result<(), Error> {
    let mut session = Session::new(target, &job.creds);
    let path = format!("/{}", job.bucket);
    let req = Req { method: "PUT", path: &path, query: "", range: None, content_length: 0 };
    let give_up = Instant::now() + STARTUP_GRACE;
    loop {
        let why = match session.call(&req, Body::EMPTY) {
            Ok(response) => match (response.status, response.error_code.as_deref()) {
                // s3s-fs answers BucketAlreadyExists for the caller's own
                // bucket; a bucket that is really someone else's fails the
                // first request.
                (200, _) | (409, Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")) => return Ok(()),
                (503, _) => failure(&response).unwrap_or_default(),
                _ => return Err(run_error(job, &format!("create bucket: {}", failure(&response).unwrap_or_default()))),
            },
            Err(transport) => transport,
        };
        if Instant::now() >= give_up {
            return Err(run_error(job, &format!("create bucket: {why}")));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Makes objects `0..job.objects` exist with their sizes; returns how many
/// were written.
pub fn objects(job: &Job, target: &Target, pattern: &[u8]) -> Result<u64, Error> {
    let workers = job.connections.clamp(1, PREPARE_CONNECTIONS_MAX) as u64;
    let written = AtomicU64::new(0);
    let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let written = &written;
                s.spawn(move || {
                    let mut session = Session::new(target, &job.creds);
                    for index in (w..job.objects).step_by(workers as usize) {
                        if ensure(job, &mut session, pattern, index)? {
                            written.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(run_error(job, "prepare thread panicked"))))
            .collect()
    });
    results.into_iter().collect::<Result<Vec<()>, Error>>()?;
    Ok(written.into_inner())
}

/// HEADs object `index`; PUTs it when missing or of another size.
fn ensure(job: &Job, session: &mut Session, pattern: &[u8], index: u64) -> Result<bool, Error> {
    let path = object_path(&job.bucket, &key(&job.prefix, index));
    let size = job.size.size_of(index);
    let head = Req { method: "HEAD", path: &path, query: "", range: None, content_length: 0 };
    let found = session.call(&head, Body::EMPTY).map_err(|e| run_error(job, &e))?;
    if found.status == 200 && found.content_length == Some(size) {
        return Ok(false);
    }
    let put = Req { method: "PUT", path: &path, query: "", range: None, content_length: size };
    let response = session.call(&put, body_of(pattern, index, size)).map_err(|e| run_error(job, &e))?;
    match failure(&response) {
        None => Ok(true),
        Some(why) => Err(run_error(job, &format!("prepare PUT {path}: {why}"))),
    }
}

pub fn run_error(job: &Job, why: &str) -> Error {
    Error::Run(format!("{}: {why}", job.name))
}
