//! A connection that signs: reconnects when the server closes or a request
//! fails, and names every failure the way the report counts it.

use super::client::{Body, Conn, Response};
use super::s3::{Heads, Req, Target};
use super::sign::Credentials;

pub struct Session {
    target: Target,
    heads: Heads,
    conn: Option<Conn>,
}

impl Session {
    pub fn new(target: &Target, creds: &Credentials) -> Session {
        Session { target: target.clone(), heads: Heads::new(creds.clone(), &target.host), conn: None }
    }

    /// Sends one request. `Err` is a transport failure (`connect: …`,
    /// `io: …`), already keyed for the error table; the connection is then
    /// dropped and the next call opens another.
    pub fn call(&mut self, req: &Req<'_>, body: Body<'_>) -> Result<Response, String> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => Conn::connect(self.target.addr).map_err(|e| format!("connect: {:?}", e.kind()))?,
        };
        let head = self.heads.build(req);
        let response = conn.exchange(head, body, req.method == "HEAD").map_err(|e| format!("io: {:?}", e.kind()))?;
        if !response.server_closes {
            self.conn = Some(conn);
        }
        Ok(response)
    }
}

/// The error-table key of a response that is not a success, e.g.
/// `503 SlowDown`; `None` for 2xx.
pub fn failure(response: &Response) -> Option<String> {
    if (200..300).contains(&response.status) {
        return None;
    }
    Some(match &response.error_code {
        Some(code) => format!("{} {code}", response.status),
        None => response.status.to_string(),
    })
}
