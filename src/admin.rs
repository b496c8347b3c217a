//! `stratum admin …`: asks a running server's admin API (signed with the
//! node's credentials) and prints the JSON answer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use clap::{Args, Subcommand};
use stratum_http::sigv4::{sign_request, Credentials};

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
    /// The server to ask [default: http://127.0.0.1:9000]
    #[arg(long, env = "STRATUM_ENDPOINT", global = true)]
    endpoint: Option<String>,
    #[arg(long, env = "STRATUM_ACCESS_KEY", global = true)]
    access_key: Option<String>,
    #[arg(long, env = "STRATUM_SECRET_KEY", hide_env_values = true, global = true)]
    secret_key: Option<String>,
    #[arg(long, env = "STRATUM_REGION", global = true)]
    region: Option<String>,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Each disk's id, path, tier and state, and each tier's scheme.
    Disks,
    /// Counters: reconstructions, corrupt blocks, read amplification, scrub totals.
    Stats,
    /// Scrub every volume now (every core at full speed) and report.
    Scrub,
    /// Where an object's bytes are: inline, or tier, scheme and disks per segment.
    Object { bucket: String, key: String },
    /// Take an empty directory in place of a wiped or swapped disk (same
    /// path) and refill it in the background; `admin disks` shows progress.
    ReplaceDisk { id: u32 },
    /// Move an object's body to another tier (copy, verify, switch, free).
    MoveTier { bucket: String, key: String, tier: String },
    /// Which tier an object is in, and why: the tiering rule that put it
    /// there, and what the policy decides now with its scores and inputs.
    Why { bucket: String, key: String },
}

pub fn run(args: AdminArgs) -> Result<String, String> {
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    let (method, path, query) = match &args.command {
        AdminCommand::Disks => ("GET", "/_stratum/admin/disks", String::new()),
        AdminCommand::Stats => ("GET", "/_stratum/admin/stats", String::new()),
        AdminCommand::Scrub => ("POST", "/_stratum/admin/scrub", String::new()),
        AdminCommand::ReplaceDisk { id } => ("POST", "/_stratum/admin/replace-disk", format!("id={id}")),
        AdminCommand::Object { bucket, key } => {
            ("GET", "/_stratum/admin/object", format!("bucket={}&key={}", enc(bucket), enc(key)))
        }
        AdminCommand::Why { bucket, key } => {
            ("GET", "/_stratum/admin/why", format!("bucket={}&key={}", enc(bucket), enc(key)))
        }
        AdminCommand::MoveTier { bucket, key, tier } => {
            ("POST", "/_stratum/admin/move-tier", format!("bucket={}&key={}&tier={}", enc(bucket), enc(key), enc(tier)))
        }
    };
    let endpoint = args.endpoint.unwrap_or_else(|| "http://127.0.0.1:9000".to_owned());
    let host = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("--endpoint {endpoint}: only http:// endpoints are supported"))?
        .trim_end_matches('/')
        .to_owned();
    let creds = Credentials {
        access_key: args.access_key.unwrap_or_else(|| crate::config::DEV_CREDENTIAL.to_owned()),
        secret_key: args.secret_key.unwrap_or_else(|| crate::config::DEV_CREDENTIAL.to_owned()),
    };
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let region = args.region.unwrap_or_else(|| "us-east-1".to_owned());
    let target = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-length: 0\r\n");
    for (name, value) in sign_request(method, &host, path, &query, &creds, &region, now) {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = TcpStream::connect(&host).map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3600)));
    stream.write_all(request.as_bytes()).map_err(|e| format!("send: {e}"))?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(|e| format!("receive: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("malformed response")?;
    let status = head.split_whitespace().nth(1).unwrap_or("?");
    if status != "200" {
        return Err(format!("server answered {status}: {body}"));
    }
    Ok(body.to_owned())
}
