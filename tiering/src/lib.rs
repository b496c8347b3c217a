//! stratum-tiering: the tiering policy. It decides, for each object, which
//! tier (hot, warm, cold) it belongs in and says why.
//!
//! It is: per-object access statistics ([`AccessStats`], 64 bytes, O(1) per
//! access), the rules that turn them into a [`Decision`] ([`Policy`]: spike,
//! streaming, frequency, time of day, decay, hints, content defaults, a
//! warm-up), per content class the share of new objects read back soon
//! after their write ([`ReadBack`], which overrides the content default),
//! per content class how often objects silent for longer than usual were
//! read again ([`Survival`], which decides whether a silent object's past
//! reads still hold its place), per content class whether reads keep to
//! the hours objects' profiles favour ([`Rhythm`], which decides whether
//! time of day applies), and a capacity [`Budget`] that never plans more bytes into a tier than
//! it holds and displaces the coldest first. Every decision carries its
//! [`Reason`]: the rule, the scores and the inputs.
//!
//! It is not: a mover (the engine copies, verifies and switches; this crate
//! only returns [`Move`]s), a store of statistics (meta persists them), or a
//! clock. It does no I/O, starts no threads and reads no time: every call
//! takes `now_ms`, so a week of accesses replays in milliseconds.
//!
//! ```
//! use stratum_tiering::{Access, AccessStats, ContentClass, Hint, ObjectView, Policy, PolicyConfig, Tier};
//!
//! let policy = Policy::new(PolicyConfig::default(), 0)?;
//! let mut stats = AccessStats::new(ContentClass::Other, 0);
//! let week_ms = 7 * 24 * 3_600_000;
//! for i in 0..60 {
//!     let now_ms = week_ms + i * 60_000; // a read a minute, after the warm-up
//!     stats.record(Access { now_ms, offset: 0, length: 4096 }, policy.config());
//! }
//! let view = ObjectView { stats: &stats, size_bytes: 4096, hint: Hint::Auto, tier: Some(Tier::Cold), read_back: None, read_again: None, learned: Default::default() };
//! let decision = policy.decide(&view, week_ms + 3_600_000);
//! assert_eq!(decision.tier, Tier::Hot);
//! println!("{decision}"); // "hot by spike: rate …"
//! # Ok::<(), stratum_tiering::Error>(())
//! ```

pub mod budget;
pub mod config;
pub mod content;
pub mod decision;
pub mod error;
pub mod hint;
pub mod limits;
pub mod planner;
pub mod policy;
pub mod readback;
pub mod rhythm;
pub mod stats;
pub mod survival;
pub mod tier;

pub use budget::{Admission, Budget, Capacity, Mode, Move, Rank};
pub use config::{ContentDefaults, PolicyConfig};
pub use content::ContentClass;
pub use decision::{Decision, Inputs, Reason, Rule, Scores};
pub use error::Error;
pub use hint::Hint;
pub use planner::{Explanation, Facts, Placed, Planner, Step};
pub use policy::{Learned, ObjectView, Policy};
pub use readback::ReadBack;
pub use rhythm::Rhythm;
pub use stats::{Access, AccessStats, STATS_STORED_BYTES};
pub use survival::{SilenceCurve, Silent, Survival};
pub use tier::Tier;

#[cfg(test)]
pub(crate) mod testing {
    /// xorshift64*: a seeded, dependency-free source for property tests.
    pub(crate) struct Prng(pub(crate) u64);

    impl Prng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }
}
