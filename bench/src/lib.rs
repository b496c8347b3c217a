//! stratum-bench: Stratum's benchmarks, as a library so they are tested,
//! behind the thin `stratum-bench` binary.
//!
//! It is: the tiering trace simulator ([`tiering`]): seeded trace
//! generators, a CSV trace reader, the policy and its baselines (Belady,
//! LRU, LFU, age-based lifecycle, Intelligent-Tiering) replayed against one
//! ledger that scores hot-tier byte hits, bytes moved and cost.
//!
//! It is not: a test of the engine. The simulator moves no bytes; it plans
//! where objects would be. (An S3 load generator will live here too.)
//!
//! ```no_run
//! // stratum-bench tiering --trace zipf --days 42 --hot-percent 10
//! ```

pub mod error;
pub mod tiering;

pub use error::Error;
