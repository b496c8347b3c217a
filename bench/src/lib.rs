//! stratum-bench: Stratum's benchmarks, as a library so they are tested,
//! behind the thin `stratum-bench` binary.
//!
//! It is: the S3 load generator ([`load`]): named job files, its own SigV4
//! signer and HTTP/1.1 client, hdrhistogram latencies, the video-origin
//! viewer search, and the generator's own ceiling; and the tiering trace
//! simulator ([`tiering`]): seeded trace
//! generators, a CSV trace reader, the policy and its baselines (Belady,
//! LRU, LFU, age-based lifecycle, Intelligent-Tiering) replayed against one
//! ledger that scores hot-tier byte hits, bytes moved and cost.
//!
//! It is not: a test of the engine's correctness (the load generator counts
//! bytes, it does not check them), and the simulator moves no bytes: it
//! plans where objects would be.
//!
//! ```no_run
//! // stratum-bench run get-4k put-1m --endpoint http://127.0.0.1:9000
//! // stratum-bench ceiling
//! // stratum-bench tiering --trace zipf --days 42 --hot-percent 10
//! ```

pub mod error;
pub mod load;
pub mod tiering;

pub use error::Error;
