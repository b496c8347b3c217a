//! stratum-http: the S3 API of Stratum over HTTP/1.1, on glommio.
//!
//! It owns the protocol path: parsing requests (httparse), checking
//! signatures (SigV4), decoding bodies (plain and aws-chunked), routing to
//! the S3 operation, and writing S3's XML answers and errors. It calls the
//! engine's per-core [`Store`](stratum_engine::Store) for everything stored.
//!
//! It is not: storage (no file or metadata access of its own), nor a
//! general HTTP server (no HTTP/2, no TLS: put a proxy in front for TLS).
//!
//! ```ignore
//! let ctx = Rc::new(Ctx { store, config });
//! let listener = glommio::net::TcpListener::bind("127.0.0.1:9000")?;
//! loop {
//!     let stream = listener.accept().await?;
//!     glommio::spawn_local(serve_connection(ctx.clone(), stream)).detach();
//! }
//! ```

pub mod aws_chunked;
mod body;
mod conditional;
mod conn;
pub mod ctx;
mod error;
mod handlers;
pub mod limits;
pub mod metrics;
pub mod post_policy;
pub mod range;
mod request;
mod response;
mod router;
mod server;
pub mod sigv2;
pub mod sigv4;
pub mod transfer_chunked;
pub mod xml;

pub use body::Wire;
pub use conn::{Head, HeadError};
pub use ctx::{Ctx, HttpConfig};
pub use error::S3Error;
// The pure request parser, public for the fuzz targets (fuzz/).
pub use request::{frame_request, FramedRequest, FramingError, Request};
pub use server::serve_connection;
