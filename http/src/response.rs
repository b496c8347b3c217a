//! Responses: status, headers, and a body that is empty, bytes, or an
//! object streamed from its volumes.

use stratum_engine::ObjectReader;

pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// Streams `len` bytes; a HEAD sends the headers only.
    Object {
        reader: Box<ObjectReader>,
        len: u64,
    },
    /// A HEAD answer: Content-Length of the object, no body.
    HeadOnly {
        len: u64,
    },
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Body::Empty }
    }

    pub fn ok() -> Self {
        Self::new(200)
    }

    pub fn xml(body: Vec<u8>) -> Self {
        Self { status: 200, headers: vec![("content-type".into(), "application/xml".into())], body: Body::Bytes(body) }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    pub fn content_length(&self) -> u64 {
        match &self.body {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::Object { len, .. } | Body::HeadOnly { len } => *len,
        }
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        416 => "Requested Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}
