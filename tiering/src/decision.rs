//! A decision: the tier an object should be in, and why.

use serde::Serialize;

use crate::{Hint, Tier};

/// Where the object should be, and the reason, complete enough that the
/// transparency endpoint can answer "why is it there" from this alone.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub tier: Tier,
    pub reason: Reason,
}

/// The rule that fired, with the scores it compared and the inputs it saw.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reason {
    pub rule: Rule,
    pub scores: Scores,
    pub inputs: Inputs,
}

/// Every rule of the policy. The first one that applies decides.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "name")]
pub enum Rule {
    /// Pinned by `x-amz-meta-stratum-pin`: never moved by the policy.
    Pinned,
    /// Placed by `x-amz-meta-stratum-tier` (new object), or held at the
    /// hinted tier against decay.
    Hint,
    /// A new object starts in its content class's default tier.
    ContentDefault,
    /// A new object starts hot: most recently written bytes of its class
    /// were read back soon after their write (`read_back_min_share`).
    ReadBack,
    /// Placed hot by [`Rule::ReadBack`] against its content default, read
    /// back, and its rate does not earn hot: it goes where its content
    /// default and its rate say now, not two days later by decay. The
    /// read was the one its class predicted, not a sign of more.
    ReadBackDone,
    /// The deployment is younger than the warm-up period: no decision yet.
    Warmup,
    /// The fast average rose to `spike_ratio` times the slow one.
    Spike,
    /// Sequential range reads: a viewer is streaming it.
    Streaming,
    /// The usual rate passes a tier's threshold.
    Frequency,
    /// Its reads come at this time of day, and that time is near.
    TimeOfDay,
    /// Unread for `decay_after_ms` (one tier) or twice that (two tiers).
    Decay,
    /// Read again, though not often enough to displace anyone: it may take
    /// room the hot tier has spare, and displaces no one.
    Spare,
    /// No rule applies: it stays.
    Steady,
    /// The capacity budget of a tier decided: `tier` was full and this object
    /// was the coldest there (displaced), or could not displace anyone.
    Budget {
        tier: Tier,
        used_bytes: u64,
        capacity_bytes: u64,
        /// Rank of the object that displaced this one, or the rank this one
        /// needed to beat.
        rival_rank: f64,
    },
}

impl Rule {
    /// A short name, for counting decisions per reason.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Pinned => "pinned",
            Rule::Hint => "hint",
            Rule::ContentDefault => "content_default",
            Rule::ReadBack => "read_back",
            Rule::ReadBackDone => "read_back_done",
            Rule::Warmup => "warmup",
            Rule::Spike => "spike",
            Rule::Streaming => "streaming",
            Rule::Frequency => "frequency",
            Rule::TimeOfDay => "time_of_day",
            Rule::Decay => "decay",
            Rule::Spare => "spare",
            Rule::Steady => "steady",
            Rule::Budget { .. } => "budget",
        }
    }
}

/// The numbers the rules compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Scores {
    pub fast_rate_per_hour: f64,
    pub slow_rate_per_hour: f64,
    /// Accesses per hour since the object was written (or first seen).
    pub lifetime_rate_per_hour: f64,
    /// Odds that it is still read at its lifetime rate, given how long it
    /// has been silent (see [`crate::Policy::lifetime_rank`]).
    pub still_read_odds: f64,
    /// fast / slow; 0 when never read.
    pub spike_ratio: f64,
    /// Mean share of the object one read touches.
    pub read_fraction: f64,
    /// Share of the time-of-day profile in the hours ahead.
    pub time_of_day_share: f64,
    /// The rank the capacity budget orders by (log2 of hot bytes read per
    /// stored byte, up to a constant).
    pub rank: f64,
    /// For a placement, the share of its class's recent writes read back
    /// soon after (see [`crate::ReadBack`]); 0 when unknown or not asked.
    pub read_back_share: f64,
}

/// What the policy saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Inputs {
    pub now_ms: u64,
    pub from: Option<Tier>,
    pub size_bytes: u64,
    pub reads: u32,
    pub bytes_read: u64,
    /// Since the last read, or since creation if never read.
    pub idle_ms: u64,
    pub sequential_run: u16,
    pub head_reads: u16,
    pub hint: Hint,
}

impl Decision {
    /// Whether acting on the decision moves the object.
    pub fn moves(&self) -> bool {
        self.reason.inputs.from != Some(self.tier)
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (s, i) = (&self.reason.scores, &self.reason.inputs);
        write!(f, "{} by {}", self.tier, self.reason.rule.name())?;
        if let Rule::Budget { tier, used_bytes, capacity_bytes, rival_rank } = self.reason.rule {
            write!(f, " ({tier} held {used_bytes} of {capacity_bytes} bytes; rival rank {rival_rank:.2})")?;
        }
        write!(
            f,
            ": rate {:.3}/h (fast {:.3}/h, x{:.1}), read share {:.3}, rank {:.2}, {} reads",
            s.slow_rate_per_hour, s.fast_rate_per_hour, s.spike_ratio, s.read_fraction, s.rank, i.reads
        )?;
        write!(f, ", idle {:.1} h", i.idle_ms as f64 / 3_600_000.0)
    }
}
