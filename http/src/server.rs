//! One connection's life: read a head, authenticate, route, run the
//! handler, write the answer; repeat while the client keeps the connection.

use std::rc::Rc;
use std::time::Instant;

use glommio::net::TcpStream;

use crate::body::{Body, Framing};
use crate::conn::{Conn, HeadError};
use crate::ctx::Ctx;
use crate::error::S3Error;
use crate::handlers::{admin, bucket, copy, cors, list, multipart, object, post, tagging};
use crate::metrics::METRICS;
use crate::request::Request;
use crate::response::{reason, Body as ResponseBody, Response};
use crate::router::Endpoint;
use crate::sigv4::{self, RequestParts};
use crate::xml;

/// Unread body bytes we are willing to skip to keep a connection alive after
/// answering early (an error before the body was read).
const DRAIN_MAX_BYTES: u64 = 64 * 1024;

pub async fn serve_connection(ctx: Rc<Ctx>, stream: TcpStream) {
    let mut conn = Conn::new(stream, ctx.config.idle_timeout);
    loop {
        let head = match conn.read_head().await {
            Ok(head) => head,
            Err(HeadError::Closed) => return,
            Err(e) => {
                let error = match e {
                    HeadError::TooLarge => S3Error::new(
                        "RequestHeaderSectionTooLarge",
                        431,
                        "Your request header section exceeds the maximum allowed size.",
                    ),
                    HeadError::Malformed(m) => S3Error::invalid_request(format!("malformed HTTP request: {m}")),
                    HeadError::TimedOut => S3Error::new(
                        "RequestTimeout",
                        408,
                        "Your socket connection to the server was not read from or written to within the timeout period.",
                    ),
                    HeadError::Io | HeadError::Closed => return,
                };
                let _ = send_error(&mut conn, &ctx, error, "/", false, &new_request_id()).await;
                return;
            }
        };
        let keep_alive = wants_keep_alive(&head);
        let method = head.method.clone();
        let started = Instant::now();
        let request_id = new_request_id();
        ctx.in_flight.set(ctx.in_flight.get() + 1);
        METRICS.set_in_flight(ctx.store.core(), ctx.in_flight.get());
        let bytes_in = head.header("content-length").and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
        let mut op = String::from("Unparsed");
        let (status, bytes, reusable) = handle(&ctx, head, &mut conn, &request_id, &mut op).await;
        ctx.in_flight.set(ctx.in_flight.get() - 1);
        METRICS.set_in_flight(ctx.store.core(), ctx.in_flight.get());
        METRICS.record(&op, status.0, bytes_in, bytes, started.elapsed().as_micros() as u64);
        tracing::debug!(
            method = %method,
            path = %status.1,
            status = status.0,
            bytes,
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
        if !keep_alive || !reusable || ctx.is_shutting_down() {
            return;
        }
    }
}

/// `/metrics` (Prometheus) and `/health` (load balancers), unsigned GETs.
/// A signed request for a bucket named `metrics` or `health` stays S3; the
/// `/_stratum/` forms are never ambiguous.
fn operations_endpoint(ctx: &Ctx, req: &Request) -> Option<Response> {
    let signed = req.header("authorization").is_some() || req.has_param("X-Amz-Signature");
    if req.method() != "GET" || signed {
        return None;
    }
    let node = ctx.store.node();
    match req.raw_path.as_str() {
        "/metrics" | "/_stratum/metrics" => Some(
            Response::ok()
                .header("content-type", "text/plain; version=0.0.4")
                .with_body(ResponseBody::Bytes(METRICS.render(node).into_bytes())),
        ),
        "/health" | "/_stratum/health" => {
            // Healthy while the hot tier can still take writes.
            let writable = node.tier(stratum_engine::Tier::Hot).is_some_and(|t| {
                let healthy = t.disks.iter().filter(|d| node.disk(**d).is_some_and(|d| d.is_writable())).count();
                healthy >= usize::from(t.scheme.data) && healthy > 0
            });
            let (status, text) =
                if writable && !ctx.is_shutting_down() { (200, "ok\n") } else { (503, "unavailable\n") };
            Some(Response::new(status).header("content-type", "text/plain").with_body(ResponseBody::Bytes(text.into())))
        }
        _ => None,
    }
}

fn wants_keep_alive(head: &crate::conn::Head) -> bool {
    let connection = head.header("connection").map(str::to_ascii_lowercase);
    match head.minor_version {
        0 => connection.as_deref() == Some("keep-alive"),
        _ => connection.as_deref() != Some("close"),
    }
}

pub fn new_request_id() -> String {
    format!("{:016X}", rand::random::<u64>())
}

/// Handles one request; returns (status, target) for the log, the bytes
/// written, and whether the connection can carry another request.
async fn handle(
    ctx: &Ctx,
    head: crate::conn::Head,
    conn: &mut Conn,
    request_id: &str,
    op: &mut String,
) -> ((u16, String), u64, bool) {
    let target = head.target.clone();
    if head.minor_version > 1 {
        let e = S3Error::new("HttpVersionNotSupported", 505, "HTTP version not supported");
        let _ = send_error(conn, ctx, e, "/", false, request_id).await;
        return ((505, target), 0, false);
    }
    let req = match Request::parse_for(head, &ctx.config.domains) {
        Ok(req) => req,
        Err(e) => {
            let status = e.status;
            let _ = send_error(conn, ctx, e, "/", false, request_id).await;
            return ((status, target), 0, false);
        }
    };
    if let Some(resp) = operations_endpoint(ctx, &req) {
        *op = "Operations".to_owned();
        let status = resp.status;
        let sent = send(conn, resp, request_id, "-", false).await;
        return ((status, target), sent.as_ref().copied().unwrap_or(0), sent.is_ok());
    }
    let endpoint = Endpoint::from_request(&req);
    *op = match endpoint {
        _ if req.bucket.as_deref() == Some(admin::ADMIN_PREFIX) => "Admin".to_owned(),
        Endpoint::Unsupported(_) => "Unsupported".to_owned(),
        endpoint => format!("{endpoint:?}"),
    };
    // Clients that send `Expect: 100-continue` (botocore, on every PUT) wait
    // up to a second for it. It goes out before any answer, even an error:
    // botocore mishandles the next request on a connection whose Expect was
    // answered with a final status directly.
    let expects_continue = req.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects_continue && conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err() {
        return ((0, target), 0, false);
    }
    let is_head = req.method() == "HEAD";
    let owner = owner_core(ctx, &req);
    let core_header = format!("{}/{}", ctx.store.core(), owner);
    // A browser's preflight carries no credentials; it only reads CORS rules.
    // A form upload (PostObject) is authorized by the signed policy in its
    // body, checked by its handler.
    let payload = crate::body::wire_framing(&req).and_then(|_| {
        if req.method() == "OPTIONS" || endpoint == Endpoint::PostObject {
            Ok(sigv4::Payload::Unsigned)
        } else {
            authenticate(ctx, &req)
        }
    });
    let framing = payload.and_then(|payload| Framing::from_request(&req, payload));
    let framing = match framing {
        Ok(f) => f,
        Err(e) => {
            // Refused before its body was read (most often a wrong
            // signature): a small body is skipped unread, so a keep-alive
            // client (the JS SDK reuses the socket at once) can go on; a body
            // we cannot frame or would rather not read closes the connection.
            let reusable = match skippable_body(&req) {
                Some(wire_len) => drain(&mut Body::new(conn, Framing::unread(wire_len))).await,
                None => false,
            };
            let status = e.status;
            let ok =
                send_error_from(conn, e, &req.resource(), is_head, request_id, &core_header, !reusable).await.is_ok();
            return ((status, target), 0, ok && reusable);
        }
    };
    let mut body = Body::new(conn, framing);
    let result = dispatch(ctx, &req, &mut body).await.map(|resp| cors::with_cors_headers(ctx, &req, resp));
    let drained = drain(&mut body).await;
    let resource = req.resource();
    match result {
        Ok(resp) => {
            let status = resp.status;
            let resp = if drained { resp } else { resp.header("connection", "close") };
            match send(conn, resp, request_id, &core_header, is_head).await {
                Ok(bytes) => ((status, target), bytes, drained),
                Err(e) => {
                    tracing::debug!(error = %e, "response aborted");
                    ((status, target), 0, false)
                }
            }
        }
        Err(e) => {
            let status = e.status;
            let ok = send_error_from(conn, e, &resource, is_head, request_id, &core_header, !drained).await.is_ok();
            ((status, target), 0, ok && drained)
        }
    }
}

/// The wire length of a body that can be skipped unread to keep the
/// connection, or `None` when it is too long to bother or cannot be framed
/// (Transfer-Encoding, conflicting or unparsable Content-Length): then the
/// connection closes rather than reading a body as the next request.
fn skippable_body(req: &Request) -> Option<u64> {
    crate::body::wire_framing(req).ok().and_then(crate::body::Wire::known_len).filter(|&len| len <= DRAIN_MAX_BYTES)
}

/// Reads what the handler left of a small body so the connection stays
/// usable; a large unread body closes the connection instead.
async fn drain(body: &mut Body<'_>) -> bool {
    if body.is_drained() {
        return true;
    }
    if body.wire_left() > DRAIN_MAX_BYTES {
        return false;
    }
    loop {
        match body.next().await {
            Ok(Some(_)) => {}
            Ok(None) => return true,
            Err(_) => return body.is_drained(),
        }
    }
}

fn owner_core(ctx: &Ctx, req: &Request) -> usize {
    match (&req.bucket, &req.key) {
        (Some(b), Some(k)) => ctx.store.owner_of(b, k),
        (Some(b), None) => {
            let node = ctx.store.node();
            node.core_of_partition(node.bucket_partition(b))
        }
        _ => ctx.store.core(),
    }
}

fn authenticate(ctx: &Ctx, req: &Request) -> Result<sigv4::Payload, S3Error> {
    let parts = RequestParts {
        method: req.method(),
        raw_path: &req.raw_path,
        raw_query: &req.raw_query,
        headers: &req.head.headers,
        host_bucket: crate::request::virtual_host_bucket(&req.head, &ctx.config.domains),
    };
    let now = crate::ctx::now_ms() / 1000;
    match sigv4::verify(&parts, &ctx.config.credentials, now) {
        Ok(verified) => Ok(verified.payload),
        Err(sigv4::AuthError::Missing) if ctx.config.anonymous => Ok(anonymous_payload(req)),
        Err(e) => Err(S3Error::new(e.s3_code(), e.http_status(), e.to_string())),
    }
}

/// An unsigned request still says how its body is framed and may declare
/// its hash (`aws --no-sign-request` sends aws-chunked bodies with trailers).
fn anonymous_payload(req: &Request) -> sigv4::Payload {
    match req.header("x-amz-content-sha256").map(str::trim) {
        Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER") => sigv4::Payload::StreamingUnsignedTrailer,
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            sigv4::Payload::Sha256Hex(hex.to_ascii_lowercase())
        }
        _ => sigv4::Payload::Unsigned,
    }
}

async fn dispatch(ctx: &Ctx, req: &Request, body: &mut Body<'_>) -> Result<Response, S3Error> {
    if req.bucket.as_deref() == Some(admin::ADMIN_PREFIX) {
        return admin::handle(ctx, req).await;
    }
    let endpoint = Endpoint::from_request(req);
    match endpoint {
        Endpoint::ListBuckets => bucket::list_buckets(ctx),
        Endpoint::CreateBucket => bucket::create_bucket(ctx, req, body).await,
        Endpoint::HeadBucket => bucket::head_bucket(ctx, req),
        Endpoint::DeleteBucket => bucket::delete_bucket(ctx, req).await,
        Endpoint::GetBucketLocation => bucket::get_bucket_location(ctx, req),
        Endpoint::GetBucketCors => cors::get_bucket_cors(ctx, req),
        Endpoint::PutBucketCors => cors::put_bucket_cors(ctx, req, body).await,
        Endpoint::DeleteBucketCors => cors::delete_bucket_cors(ctx, req).await,
        Endpoint::CorsPreflight => cors::preflight(ctx, req),
        Endpoint::ListObjects => list::list_objects_v1(ctx, req).await,
        Endpoint::ListObjectsV2 => list::list_objects_v2(ctx, req).await,
        Endpoint::ListMultipartUploads => list::list_multipart_uploads(ctx, req).await,
        Endpoint::DeleteObjects => object::delete_objects(ctx, req, body).await,
        Endpoint::PutObject => object::put_object(ctx, req, body).await,
        Endpoint::PostObject => post::post_object(ctx, req, body).await,
        Endpoint::CopyObject => copy::copy_object(ctx, req).await,
        Endpoint::GetObject => object::get_object(ctx, req, false).await,
        Endpoint::HeadObject => object::get_object(ctx, req, true).await,
        Endpoint::DeleteObject => object::delete_object(ctx, req).await,
        Endpoint::GetObjectTagging => tagging::get_object_tagging(ctx, req).await,
        Endpoint::PutObjectTagging => tagging::put_object_tagging(ctx, req, body).await,
        Endpoint::DeleteObjectTagging => tagging::delete_object_tagging(ctx, req).await,
        Endpoint::CreateMultipartUpload => multipart::create_multipart_upload(ctx, req).await,
        Endpoint::UploadPart => multipart::upload_part(ctx, req, body).await,
        Endpoint::UploadPartCopy => copy::upload_part_copy(ctx, req).await,
        Endpoint::CompleteMultipartUpload => multipart::complete_multipart_upload(ctx, req, body).await,
        Endpoint::AbortMultipartUpload => multipart::abort_multipart_upload(ctx, req).await,
        Endpoint::ListParts => multipart::list_parts(ctx, req).await,
        Endpoint::Unsupported(what) => Err(S3Error::not_implemented(what)),
    }
}

fn write_head(out: &mut Vec<u8>, status: u16, headers: &[(String, String)], request_id: &str, core: &str, len: u64) {
    use std::io::Write;
    let _ = write!(out, "HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        // A line break in a value would end the head early (response
        // splitting): such a header is never written, whatever stored it.
        if [name, value].iter().any(|s| s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))) {
            tracing::warn!(header = %name, "response header with a line break left out");
            continue;
        }
        let _ = write!(out, "{name}: {value}\r\n");
    }
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let _ = write!(
        out,
        "x-amz-request-id: {request_id}\r\nx-stratum-core: {core}\r\ndate: {date}\r\nserver: Stratum\r\ncontent-length: {len}\r\n\r\n"
    );
}

/// Writes a response; returns the body bytes written. A read error in the
/// middle of an object body aborts the connection: the client sees a short
/// body, never wrong bytes.
async fn send(conn: &mut Conn, resp: Response, request_id: &str, core: &str, is_head: bool) -> std::io::Result<u64> {
    let len = resp.content_length();
    let mut out = Vec::with_capacity(512);
    write_head(&mut out, resp.status, &resp.headers, request_id, core, len);
    match resp.body {
        ResponseBody::Empty | ResponseBody::HeadOnly { .. } => {
            conn.write_all(&out).await?;
            Ok(0)
        }
        ResponseBody::Bytes(bytes) => {
            if !is_head {
                out.extend_from_slice(&bytes);
            }
            conn.write_all(&out).await?;
            Ok(bytes.len() as u64)
        }
        ResponseBody::Object { mut reader, len } => {
            let mut sent = 0;
            // Small bodies go out with the head in one write.
            let mut pending_head = Some(out);
            loop {
                // Counted before the read: many responses start at once.
                let chunk = held::chunk_size();
                let _held = held::Held::new(chunk);
                match reader.next_up_to(chunk).await {
                    Ok(Some(pieces)) => {
                        for piece in &pieces {
                            let bytes = piece.as_slice();
                            match pending_head.take() {
                                Some(mut head) if bytes.len() <= 64 * 1024 => {
                                    head.extend_from_slice(bytes);
                                    conn.write_all(&head).await?;
                                }
                                Some(head) => {
                                    conn.write_all(&head).await?;
                                    conn.write_all(bytes).await?;
                                }
                                None => conn.write_all(bytes).await?,
                            }
                            sent += bytes.len() as u64;
                        }
                    }
                    Ok(None) => break,
                    Err(e) if pending_head.is_some() => {
                        // Nothing is sent yet: answer with S3's error instead of the body.
                        let e = S3Error::from(e);
                        METRICS.error(e.code);
                        let extra: Vec<(&str, &str)> = e.extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
                        let body = xml::error(e.code, &e.message, "", request_id, &extra);
                        let mut out = Vec::with_capacity(512 + body.len());
                        let headers = [("content-type".to_owned(), "application/xml".to_owned())];
                        write_head(&mut out, e.status, &headers, request_id, core, body.len() as u64);
                        out.extend_from_slice(&body);
                        conn.write_all(&out).await?;
                        return Ok(0);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "object read failed mid-response; closing connection");
                        return Err(std::io::Error::other(e.to_string()));
                    }
                }
            }
            if let Some(head) = pending_head {
                conn.write_all(&head).await?;
            }
            if sent != len {
                return Err(std::io::Error::other("object shorter than its record"));
            }
            Ok(sent)
        }
    }
}

/// Object body bytes this core holds in read buffers while their writes
/// wait on the client. Past a soft limit every response reads small chunks,
/// so thousands of slow readers cannot pin a MiB each.
mod held {
    use std::cell::Cell;

    use crate::limits::{RESPONSE_BUFFER_SOFT_LIMIT_BYTES, RESPONSE_CHUNK_UNDER_PRESSURE_BYTES};

    thread_local! {
        static HELD: Cell<u64> = const { Cell::new(0) };
    }

    pub fn chunk_size() -> u64 {
        if HELD.get() >= RESPONSE_BUFFER_SOFT_LIMIT_BYTES {
            RESPONSE_CHUNK_UNDER_PRESSURE_BYTES
        } else {
            stratum_engine::limits::READ_CHUNK_BYTES
        }
    }

    /// Bytes counted as held until dropped (the write finished or failed).
    pub struct Held(u64);

    impl Held {
        pub fn new(bytes: u64) -> Held {
            HELD.set(HELD.get() + bytes);
            Held(bytes)
        }
    }

    impl Drop for Held {
        fn drop(&mut self) {
            HELD.set(HELD.get().saturating_sub(self.0));
        }
    }
}

async fn send_error(
    conn: &mut Conn,
    ctx: &Ctx,
    e: S3Error,
    resource: &str,
    is_head: bool,
    request_id: &str,
) -> std::io::Result<u64> {
    let core = ctx.store.core();
    // Every caller closes the connection after this answer.
    send_error_from(conn, e, resource, is_head, request_id, &format!("{core}/{core}"), true).await
}

/// Writes an S3 error document (headers only for HEAD, as S3 does).
/// `closing`: the connection closes after it, which the answer says
/// (`Connection: close`), so a keep-alive client does not send its next
/// request into a closed socket.
async fn send_error_from(
    conn: &mut Conn,
    e: S3Error,
    resource: &str,
    is_head: bool,
    request_id: &str,
    core: &str,
    closing: bool,
) -> std::io::Result<u64> {
    METRICS.error(e.code);
    let extra: Vec<(&str, &str)> = e.extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let body = xml::error(e.code, &e.message, resource, request_id, &extra);
    let mut resp =
        Response::new(e.status).header("content-type", "application/xml").with_body(ResponseBody::Bytes(body));
    if closing {
        resp = resp.header("connection", "close");
    }
    send(conn, resp, request_id, core, is_head).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extra_headers: &str) -> Request {
        let bytes = format!("PUT /b/k HTTP/1.1\r\nHost: h\r\n{extra_headers}\r\n");
        let (head, _) = crate::conn::parse_head(bytes.as_bytes()).expect("parses").expect("complete");
        Request::parse_for(head, &[]).expect("request")
    }

    /// A refused request's small body is skipped so the connection lives on
    /// (the JS SDK sends its next request on it at once); one we cannot
    /// frame, or a large one, closes the connection.
    #[test]
    fn refused_request_body_is_skipped_only_when_small_and_framed() {
        assert_eq!(skippable_body(&request("")), Some(0));
        assert_eq!(skippable_body(&request("Content-Length: 1\r\n")), Some(1));
        let max = format!("Content-Length: {DRAIN_MAX_BYTES}\r\n");
        assert_eq!(skippable_body(&request(&max)), Some(DRAIN_MAX_BYTES));
        let over = format!("Content-Length: {}\r\n", DRAIN_MAX_BYTES + 1);
        assert_eq!(skippable_body(&request(&over)), None);
        for unframed in [
            "Transfer-Encoding: chunked\r\n",
            "Content-Length: 4\r\nContent-Length: 5\r\n",
            "Content-Length: x\r\n",
            "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        ] {
            assert_eq!(skippable_body(&request(unframed)), None, "{unframed}");
        }
    }
}
