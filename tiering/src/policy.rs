//! The rules: from an object's statistics, hint and tier to a decision.

use crate::decision::{Inputs, Reason, Rule, Scores};
use crate::limits::{HOURS_PER_DAY, MS_PER_HOUR};
use crate::{AccessStats, Decision, Error, Hint, PolicyConfig, Rank, SilenceCurve, Silent, Tier};

/// One object as the policy sees it. `tier` is `None` for an object being
/// written, which gets a placement instead of a move.
#[derive(Clone, Copy, Debug)]
pub struct ObjectView<'a> {
    pub stats: &'a AccessStats,
    pub size_bytes: u64,
    pub hint: Hint,
    pub tier: Option<Tier>,
    /// For a new object: its class's read-back share
    /// ([`crate::ReadBack::share`]), `None` while unknown.
    pub read_back: Option<f64>,
    /// For a new object: the share of its class's read-back bytes read
    /// again soon after ([`crate::ReadBack::again_share`]).
    pub read_again: Option<f64>,
    /// What the policy learned about its content class.
    pub learned: Learned,
}

/// What the caller's per-class counters say about an object's content
/// class; each `None` while unknown, and the policy then does without.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Learned {
    /// The odds of being read again after a silence ([`crate::Survival::curve`]).
    pub survival: Option<SilenceCurve>,
    /// The mean time-of-day lift at reads ([`crate::Rhythm::gain`]).
    pub rhythm_gain: Option<f64>,
}

/// The policy: a validated config and the time the deployment started
/// (for the warm-up). Immutable; share it between cores freely.
#[derive(Clone, Debug)]
pub struct Policy {
    cfg: PolicyConfig,
    deployed_ms: u64,
}

impl Policy {
    pub fn new(cfg: PolicyConfig, deployed_ms: u64) -> Result<Policy, Error> {
        cfg.validate()?;
        Ok(Policy { cfg, deployed_ms })
    }

    pub fn config(&self) -> &PolicyConfig {
        &self.cfg
    }

    /// The tier `obj` should be in at `now_ms`, ignoring capacity (the
    /// [`crate::Budget`] enforces that), and why.
    pub fn decide(&self, obj: &ObjectView, now_ms: u64) -> Decision {
        let scores = self.scores(obj, now_ms);
        let (tier, rule) = match obj.tier {
            None => self.place(obj),
            Some(current) => self.apply_rules(obj, current, now_ms, &scores),
        };
        let reason = Reason { rule, scores, inputs: Self::inputs(obj, now_ms) };
        Decision { tier, reason }
    }

    /// Where a new object starts: pinned or hinted tier, else hot if its
    /// class's new objects are mostly read back soon, else its content
    /// class's default. The warm-up does not apply: a write needs a place.
    fn place(&self, obj: &ObjectView) -> (Tier, Rule) {
        match obj.hint {
            Hint::Pin(t) => (t, Rule::Pinned),
            Hint::Prefer(t) => (t, Rule::Hint),
            Hint::Auto if obj.read_back.is_some_and(|s| s >= self.cfg.read_back_min_share) => {
                (Tier::Hot, Rule::ReadBack)
            }
            Hint::Auto => (self.cfg.content.tier(obj.stats.content()), Rule::ContentDefault),
        }
    }

    /// The rules in order; the first that applies decides.
    fn apply_rules(&self, obj: &ObjectView, current: Tier, now_ms: u64, s: &Scores) -> (Tier, Rule) {
        if let Hint::Pin(t) = obj.hint {
            return (t, Rule::Pinned);
        }
        if now_ms < self.deployed_ms.saturating_add(self.cfg.warmup_ms) {
            return (current, Rule::Warmup);
        }
        if current != Tier::Hot && self.is_spike(s) {
            return (Tier::Hot, Rule::Spike);
        }
        if current != Tier::Hot && self.is_streaming(obj.stats, now_ms) {
            return (Tier::Hot, Rule::Streaming);
        }
        // Promotions need fresh evidence: an object decay would demote is
        // not promoted on its old rate, or the two rules would trade it back
        // and forth, each time a move.
        let fresh = obj.stats.idle_ms(now_ms) < self.cfg.decay_after_ms;
        // A promotion without a read (a sweep) bets on reads to come. For
        // an object last read in ranges the bet is worth little: its next
        // reader's stream promotes it after `streaming_min_run` ranges, so
        // a move now gains those ranges alone, and it costs the whole
        // object. On video at hot 2 % such moves traded titles back and
        // forth with streams (1.83x LRU's bytes; 0.95x without them).
        let swept = obj.stats.idle_ms(now_ms) > 0;
        let fresh = fresh && !(swept && obj.stats.sequential_run() > 0);
        if let Some(promotion) = self.promotion(current, obj.stats.reads(), s).filter(|_| fresh) {
            return promotion;
        }
        if let Some(done) = self.read_back_done(obj, current, now_ms, s) {
            return done;
        }
        // Read again just now: spare hot room is better used than empty.
        let just_read = obj.stats.idle_ms(now_ms) < self.cfg.ema_fast_half_life_ms;
        if current != Tier::Hot && just_read && obj.stats.reads() >= 2 {
            return (Tier::Hot, Rule::Spare);
        }
        self.decay(obj, current, now_ms, s).unwrap_or((current, Rule::Steady))
    }

    fn is_spike(&self, s: &Scores) -> bool {
        s.fast_rate_per_hour >= self.cfg.spike_min_rate_per_hour
            && s.fast_rate_per_hour >= self.cfg.spike_ratio * s.slow_rate_per_hour
    }

    /// A run of sequential range reads that is still going (its last read
    /// within one fast half-life): the rest of the object is about to be read.
    fn is_streaming(&self, stats: &AccessStats, now_ms: u64) -> bool {
        stats.sequential_run() >= self.cfg.streaming_min_run && stats.idle_ms(now_ms) < self.cfg.ema_fast_half_life_ms
    }

    /// Frequency and time of day both promote; the warmer wins, frequency on
    /// a tie (it is the stronger evidence). Frequency goes by the usual
    /// rate: the slow average, or the lifetime rate times the odds the
    /// object is still read so, once that rests on `lifetime_min_reads`.
    fn promotion(&self, current: Tier, reads: u32, s: &Scores) -> Option<(Tier, Rule)> {
        let lifetime =
            if reads >= self.cfg.lifetime_min_reads { s.lifetime_rate_per_hour * s.still_read_odds } else { 0.0 };
        let usual = s.slow_rate_per_hour.max(lifetime);
        let by_rate = if usual >= self.cfg.hot_min_rate_per_hour {
            Some(Tier::Hot)
        } else if usual >= self.cfg.warm_min_rate_per_hour {
            Some(Tier::Warm)
        } else {
            None
        };
        let even_share = f64::from(self.cfg.time_of_day_lead_hours) / HOURS_PER_DAY as f64;
        let by_time =
            (s.time_of_day_share >= self.cfg.time_of_day_min_lift * even_share).then_some(self.cfg.time_of_day_tier);
        let best = match (by_rate, by_time) {
            (Some(r), Some(t)) if t < r => (t, Rule::TimeOfDay),
            (Some(r), _) => (r, Rule::Frequency),
            (None, Some(t)) => (t, Rule::TimeOfDay),
            (None, None) => return None,
        };
        (best.0 < current).then_some(best)
    }

    /// An object just read for the first time while hot, of a class whose
    /// new objects start hot by read-back against a colder content
    /// default: the read-back it was placed for has happened. It goes to
    /// its content default, or warm if its rate earns warm.
    fn read_back_done(&self, obj: &ObjectView, current: Tier, now_ms: u64, s: &Scores) -> Option<(Tier, Rule)> {
        let default = self.cfg.content.tier(obj.stats.content());
        let placed_by_read_back = obj.hint == Hint::Auto
            && default != Tier::Hot
            && obj.read_back.is_some_and(|share| share >= self.cfg.read_back_min_share);
        let just_read_back = current == Tier::Hot && obj.stats.reads() == 1 && obj.stats.idle_ms(now_ms) == 0;
        // A class whose read-back objects are read again soon keeps them:
        // the read-back was the first of many.
        let read_again = obj.read_again.is_some_and(|share| share >= self.cfg.read_back_min_share);
        if !placed_by_read_back
            || !just_read_back
            || read_again
            || s.slow_rate_per_hour >= self.cfg.hot_min_rate_per_hour
        {
            return None;
        }
        let earned = if s.slow_rate_per_hour >= self.cfg.warm_min_rate_per_hour { Tier::Warm } else { Tier::Cold };
        Some((default.min(earned), Rule::ReadBackDone))
    }

    /// Unread for `decay_after_ms` allows at most warm; twice that, cold.
    /// An object whose usual rate no longer earns warm skips it: a move to
    /// warm and another to cold two days later would cost two writes where
    /// one does. A preferred tier is a floor for decay.
    ///
    /// A silence that is usual for the object (its lifetime rate expected
    /// fewer than `silence_missed_reads` reads in it) is not yet idleness:
    /// such an object waits until twice `decay_after_ms` (and then goes
    /// two tiers at once). An object read every three days is between
    /// reads after two, not done with; demoted then, its next read is a
    /// miss and a move back. The budget still displaces it, coldest first,
    /// whenever its room is wanted. On mixed at hot 10 %, where hot has
    /// room, decay had emptied it of such objects and moved 0.85x LRU's
    /// bytes for 94.2 % hot byte hit (see `bench/TIERING.md`).
    fn decay(&self, obj: &ObjectView, current: Tier, now_ms: u64, s: &Scores) -> Option<(Tier, Rule)> {
        let idle = obj.stats.idle_ms(now_ms);
        let usual = obj.stats.reads() > 0 && self.silence_missed(obj.stats, now_ms) < self.cfg.silence_missed_reads;
        if usual && idle < self.cfg.decay_after_ms.saturating_mul(2) {
            return None;
        }
        let below_warm = s.slow_rate_per_hour < self.cfg.warm_min_rate_per_hour;
        let limit =
            if idle >= self.cfg.decay_after_ms.saturating_mul(2) || (idle >= self.cfg.decay_after_ms && below_warm) {
                Tier::Cold
            } else if idle >= self.cfg.decay_after_ms {
                Tier::Warm
            } else {
                return None;
            };
        let target = limit.max(current);
        match obj.hint {
            // Held at the preferred tier (or where the budget put it).
            Hint::Prefer(floor) if floor < target => Some((floor.max(current), Rule::Hint)),
            _ => (target != current).then_some((target, Rule::Decay)),
        }
    }

    /// Ordering for the capacity budget: log2 of the slow average as of the
    /// last access, plus that time in half-lives, plus log2 of the read
    /// share. Decay shifts every object by the same amount, so this key
    /// never needs recomputing between accesses, and its order is that of
    /// "hot bytes read per stored byte" at any moment. A never-read object
    /// counts half a read at its creation.
    pub fn rank(&self, stats: &AccessStats, size_bytes: u64) -> Rank {
        self.rank_as_of(stats, size_bytes, stats.last_access_ms())
    }

    /// The rank at `now_ms`: [`Policy::usual_rank_at`], or, while a stream
    /// goes on, its [`Policy::stream_rank`] held one admission margin lower.
    pub fn rank_at(&self, stats: &AccessStats, size_bytes: u64, now_ms: u64, learned: &Learned) -> Rank {
        let held = self.stream_rank(stats, now_ms).get() - self.cfg.admit_margin_log2;
        self.usual_rank_at(stats, size_bytes, now_ms, learned).max(Rank::new(held))
    }

    /// The rank of a stream in progress (its last range within
    /// `stream_gap_ms`): that of an object read whole at
    /// `spike_min_rate_per_hour`, as of now. Its next range is seconds
    /// away, which no rate over a day says: on video at hot 2 % the
    /// streaming rule wanted hot for a third of all bytes read and the
    /// budget refused them, since a title between viewers ranks no higher
    /// than the titles in hot. [`Policy::decide`] admits a stream at this
    /// rank; [`Policy::rank_at`] holds it one admission margin lower while
    /// it goes on, so that it stays hot through its session while a newer
    /// stream may still take the place of an older one (streams among
    /// themselves go by recency). Once its ranges stop, the next sweep
    /// ranks it by its reads again. Negative infinity for any other object.
    pub fn stream_rank(&self, stats: &AccessStats, now_ms: u64) -> Rank {
        if !self.is_streaming(stats, now_ms) || stats.idle_ms(now_ms) > self.cfg.stream_gap_ms {
            return Rank::new(f64::NEG_INFINITY);
        }
        let hl_ms = self.cfg.ema_slow_half_life_ms as f64;
        let count = self.cfg.spike_min_rate_per_hour * hl_ms / (std::f64::consts::LN_2 * MS_PER_HOUR as f64);
        Rank::new(count.max(1.0).log2() + now_ms as f64 / hl_ms)
    }

    /// The rank at `now_ms` by the object's reads: the larger of its recent rate's
    /// ([`Policy::recent_rank`]) and its lifetime rate's
    /// ([`Policy::lifetime_rank`]), plus log2 of how much more (or less)
    /// than on average the object is read in the hours from now (at most 8
    /// times either way), once its time-of-day profile is trusted. An
    /// office document then outranks an evening video at noon and the
    /// other way round at night. It changes with the hour, so a caller
    /// that keeps ranks (the budget) refreshes them hourly.
    ///
    /// `survival` is the object's class's learned [`SilenceCurve`]: where
    /// silent objects of the class are mostly done (a catalogue whose
    /// popular slots go to new content), a silent object's recent reads
    /// hold its place only at the odds that it is still read; where they
    /// only pause (titles between viewers) the curve says so and costs
    /// nothing.
    pub fn usual_rank_at(&self, stats: &AccessStats, size_bytes: u64, now_ms: u64, learned: &Learned) -> Rank {
        let survival = learned.survival.as_ref();
        let mut recent = self.recent_rank(stats, size_bytes, now_ms).get();
        if let Some(curve) = survival.filter(|_| stats.reads() >= self.cfg.lifetime_min_reads) {
            recent += curve.odds(self.recent_silence_missed(stats, now_ms)).log2();
        }
        let base = recent.max(self.lifetime_rank(stats, size_bytes, now_ms, survival).get());
        match self.hour_lift(stats, now_ms).filter(|_| self.has_rhythm(learned)) {
            Some(lift) => Rank::new(base + lift.log2().clamp(-3.0, 3.0)),
            None => Rank::new(base),
        }
    }

    /// How many times more than on average the object is read in the
    /// `time_of_day_lead_hours` from now, by its profile shrunk towards
    /// even by one imagined read an hour (so that a few reads that happen
    /// to share an hour do not swing it); `None` until the profile is
    /// trusted. [`crate::Rhythm`] learns from it whether a class's
    /// profiles foretell anything.
    pub fn hour_lift(&self, stats: &AccessStats, now_ms: u64) -> Option<f64> {
        let share = self.hours_share(stats, now_ms, 0)?;
        let (total, prior) = (f64::from(stats.hour_total()), HOURS_PER_DAY as f64);
        let even = f64::from(self.cfg.time_of_day_lead_hours) / HOURS_PER_DAY as f64;
        Some((share * total + even * prior) / (total + prior) / even)
    }

    /// Whether time of day applies to the class: unknown, or its reads
    /// come in the hours its objects' profiles favour.
    fn has_rhythm(&self, learned: &Learned) -> bool {
        learned.rhythm_gain.is_none_or(|gain| gain >= self.cfg.time_of_day_min_gain)
    }

    /// The rank of an object's lifetime rate ([`Policy::lifetime_rate_per_hour`]),
    /// times the odds that it is still read at that rate after its current
    /// silence ([`Policy::still_read_odds`]). A steady object read every
    /// ten hours keeps its place through a quiet day, which a one-day
    /// average does not let it; an object that stops is no longer held by
    /// its past. Negative infinity for an object never read.
    pub fn lifetime_rank(
        &self,
        stats: &AccessStats,
        size_bytes: u64,
        now_ms: u64,
        survival: Option<&SilenceCurve>,
    ) -> Rank {
        let rate = self.lifetime_rate_per_hour(stats, now_ms);
        if rate <= 0.0 {
            return Rank::new(f64::NEG_INFINITY);
        }
        let odds = self.still_read_odds(stats, now_ms, survival);
        let hl_ms = self.cfg.ema_slow_half_life_ms as f64;
        // The slow average's count of a steady `rate`, in the rank's frame.
        let count = rate * hl_ms / (std::f64::consts::LN_2 * MS_PER_HOUR as f64);
        let value = count.log2() + odds.log2() + stats.read_fraction(size_bytes).log2();
        Rank::new(value + now_ms as f64 / hl_ms)
    }

    /// Reads over age at `now_ms` (accesses per hour), the age counted with
    /// `young_prior_ms` and the rate prior's `rate_prior_ms`: the latter is
    /// time the object is imagined to have spent unread, so a rate resting
    /// on a short life is taken as lower than it looks. Most objects of a
    /// popularity curve are its tail: one that looks busy for a day is more
    /// likely a tail object in luck than a head object. O(1).
    pub fn lifetime_rate_per_hour(&self, stats: &AccessStats, now_ms: u64) -> f64 {
        let span_ms = now_ms
            .max(stats.last_access_ms())
            .saturating_sub(stats.created_ms())
            .saturating_add(self.cfg.young_prior_ms)
            .saturating_add(self.cfg.rate_prior_ms);
        f64::from(stats.reads()) * MS_PER_HOUR as f64 / span_ms as f64
    }

    /// The odds, in (0, 1], that the object is still read at its lifetime
    /// rate after its current silence: 1 while the silence is usual, then
    /// e times smaller for each read the rate expected beyond
    /// `silence_missed_reads`; and no more than its class's learned odds
    /// that it is read again at all, once there is a curve.
    pub fn still_read_odds(&self, stats: &AccessStats, now_ms: u64, survival: Option<&SilenceCurve>) -> f64 {
        let missed = self.silence_missed(stats, now_ms);
        let same_rate = 1.0 / (1.0 + (missed - self.cfg.silence_missed_reads).exp());
        match survival.filter(|_| stats.reads() >= self.cfg.lifetime_min_reads) {
            Some(curve) => same_rate.min(curve.odds(missed)),
            None => same_rate,
        }
    }

    /// The object's silence at `now_ms` as [`crate::Survival`] counts it,
    /// given when the previous sweep ran.
    pub fn silent(&self, stats: &AccessStats, swept_ms: u64, now_ms: u64) -> Silent {
        let before = self.silence_missed(stats, swept_ms.max(stats.last_access_ms()));
        let missed = (before, self.silence_missed(stats, now_ms));
        Silent { reads: stats.reads(), missed, weight: self.rate_at_last_read(stats) }
    }

    /// Reads over age as of the last read, without the rate prior: the
    /// rate a silence is measured against.
    fn rate_at_last_read(&self, stats: &AccessStats) -> f64 {
        let age_ms = stats.last_access_ms().saturating_sub(stats.created_ms()).saturating_add(self.cfg.young_prior_ms);
        f64::from(stats.reads()) * MS_PER_HOUR as f64 / age_ms as f64
    }

    /// Reads expected during the current silence at the lower of the
    /// object's lifetime rate and its slow average's rate (lifted while
    /// young), both as of its last read: the silence that judges the
    /// recent rank. A release whose viewers are fading has a lifetime rate
    /// far above its present one, and by that rate every pause between
    /// viewers looks like the end (on video, seed 1, that moved 1.01x
    /// LRU's bytes; by the lower rate, 0.96x).
    fn recent_silence_missed(&self, stats: &AccessStats, now_ms: u64) -> f64 {
        let hl_ms = self.cfg.ema_slow_half_life_ms as f64;
        let age_ms = stats.last_access_ms().saturating_sub(stats.created_ms()).saturating_add(self.cfg.young_prior_ms);
        let gathered = 1.0 - (-(age_ms as f64) / hl_ms).exp2();
        let slow =
            f64::from(stats.ema_slow_at_last_access()) * std::f64::consts::LN_2 * MS_PER_HOUR as f64 / hl_ms / gathered;
        slow.min(self.rate_at_last_read(stats)) * stats.idle_ms(now_ms) as f64 / MS_PER_HOUR as f64
    }

    /// Reads the object's rate as of its last read expected during its
    /// current silence. O(1).
    pub fn silence_missed(&self, stats: &AccessStats, now_ms: u64) -> f64 {
        self.rate_at_last_read(stats) * stats.idle_ms(now_ms) as f64 / MS_PER_HOUR as f64
    }

    /// The rank of the slow average's rate at `now_ms`: [`Policy::rank`],
    /// lifted while the object is younger than the average's span (its
    /// rate is its reads over its age), and lowered by the rate prior: the
    /// average's window (about 1.44 half-lives, less while young) is
    /// stretched by `rate_prior_ms` of imagined silence. A tail object
    /// read three times in a day is then not taken for a steady three a
    /// day, while a lifetime rate resting on weeks barely moves.
    pub fn recent_rank(&self, stats: &AccessStats, size_bytes: u64, now_ms: u64) -> Rank {
        let plain = self.rank(stats, size_bytes).get() + self.young_lift_log2(stats, now_ms);
        if stats.reads() == 0 {
            return Rank::new(plain);
        }
        let hl_ms = self.cfg.ema_slow_half_life_ms as f64;
        let age_ms = now_ms.saturating_sub(stats.created_ms()).saturating_add(self.cfg.young_prior_ms);
        let window_ms = hl_ms / std::f64::consts::LN_2 * (1.0 - (-(age_ms as f64) / hl_ms).exp2());
        let prior_ms = self.cfg.rate_prior_ms as f64;
        Rank::new(plain + (window_ms / (window_ms + prior_ms)).log2())
    }

    /// log2 of how much a young object's slow average undercounts its
    /// rate: an object written an hour ago and read ten times has the
    /// count of one read an hour for an hour, not for the day the average
    /// spans, so its rate is the count over the share of a steady rate's
    /// count it could have gathered since its write (its age plus
    /// `young_prior_ms`, so that one early read is not a crowd). 0 for
    /// objects older than a few half-lives and for objects never read.
    fn young_lift_log2(&self, stats: &AccessStats, now_ms: u64) -> f64 {
        if stats.reads() == 0 {
            return 0.0;
        }
        let age_ms = now_ms.saturating_sub(stats.created_ms()).saturating_add(self.cfg.young_prior_ms);
        let gathered = 1.0 - (-(age_ms as f64) / self.cfg.ema_slow_half_life_ms as f64).exp2();
        -gathered.log2()
    }

    /// The rank an object will have when it is read as it usually is: its
    /// average as of its last read, as if that read were now. The
    /// time-of-day rule admits with it, since its reads are yet to come.
    pub fn expected_rank(&self, stats: &AccessStats, size_bytes: u64, now_ms: u64) -> Rank {
        self.rank_as_of(stats, size_bytes, now_ms.max(stats.last_access_ms()))
    }

    /// The lowest rank, at `now_ms`, whose object still earns `tier` by
    /// frequency (hot or warm bytes read per stored byte at that tier's
    /// minimum rate); `None` for cold, which takes anything. The budget
    /// sends an object it displaces past a tier whose floor it is under.
    pub fn floor_rank(&self, tier: Tier, now_ms: u64) -> Option<Rank> {
        let rate = match tier {
            Tier::Hot => self.cfg.hot_min_rate_per_hour,
            Tier::Warm => self.cfg.warm_min_rate_per_hour,
            Tier::Cold => return None,
        };
        let hl = self.cfg.ema_slow_half_life_ms as f64;
        // The decayed count that reads as `rate` (see `rate_per_hour`).
        let count = rate * hl / (std::f64::consts::LN_2 * MS_PER_HOUR as f64);
        Some(Rank::new(count.log2() + now_ms as f64 / hl))
    }

    fn rank_as_of(&self, stats: &AccessStats, size_bytes: u64, at_ms: u64) -> Rank {
        let ema = f64::from(stats.ema_slow_at_last_access()).max(0.5);
        let t = at_ms as f64 / self.cfg.ema_slow_half_life_ms as f64;
        Rank::new(ema.log2() + t + stats.read_fraction(size_bytes).log2())
    }

    /// The rank of a new object awaiting its read-back: its class's share
    /// of one whole read expected halfway through the read-back window,
    /// as a rate, until it is read or the window passes. A backup about
    /// to be verified is worth keeping hot for that hour as much as any
    /// object read as often; without this it ranks as never read and
    /// cannot displace anyone from a full hot tier.
    pub fn read_back_rank(&self, obj: &ObjectView, now_ms: u64) -> Rank {
        let window_ms = self.cfg.read_back_window_ms;
        let share = obj.read_back.unwrap_or(0.0);
        let awaiting = obj.stats.reads() == 0 && obj.stats.idle_ms(now_ms) < window_ms;
        if !awaiting || share < self.cfg.read_back_min_share {
            return Rank::new(f64::NEG_INFINITY);
        }
        // The slow average's count of a steady rate of one read per half window.
        let count = share * 2.0 * self.cfg.ema_slow_half_life_ms as f64 / (std::f64::consts::LN_2 * window_ms as f64);
        Rank::new(count.log2() + now_ms as f64 / self.cfg.ema_slow_half_life_ms as f64)
    }

    fn scores(&self, obj: &ObjectView, now_ms: u64) -> Scores {
        let (fast, slow) =
            (obj.stats.fast_rate_per_hour(now_ms, &self.cfg), obj.stats.slow_rate_per_hour(now_ms, &self.cfg));
        let survival = obj.learned.survival.as_ref();
        let lifetime_rate_per_hour = self.lifetime_rate_per_hour(obj.stats, now_ms);
        let still_read_odds = self.still_read_odds(obj.stats, now_ms, survival);
        Scores {
            fast_rate_per_hour: fast,
            slow_rate_per_hour: slow,
            lifetime_rate_per_hour,
            still_read_odds,
            spike_ratio: if slow > 0.0 { fast / slow } else { 0.0 },
            read_fraction: obj.stats.read_fraction(obj.size_bytes),
            time_of_day_share: if self.has_rhythm(&obj.learned) {
                self.time_of_day_share(obj.stats, now_ms)
            } else {
                0.0
            },
            rank: self
                .rank_at(obj.stats, obj.size_bytes, now_ms, &obj.learned)
                .max(self.read_back_rank(obj, now_ms))
                .max(self.stream_rank(obj.stats, now_ms))
                .get(),
            read_back_share: obj.read_back.unwrap_or(0.0),
        }
    }

    /// Share of the profile in the next `time_of_day_lead_hours` hours; 0
    /// until the profile holds `time_of_day_min_reads`.
    fn time_of_day_share(&self, stats: &AccessStats, now_ms: u64) -> f64 {
        self.hours_share(stats, now_ms, 1).unwrap_or(0.0)
    }

    /// Share of the profile in the `time_of_day_lead_hours` hours starting
    /// `from` hours after this one; `None` until the profile holds
    /// `time_of_day_min_reads`.
    fn hours_share(&self, stats: &AccessStats, now_ms: u64, from: usize) -> Option<f64> {
        let total = stats.hour_total();
        if total == 0 || total < u32::from(self.cfg.time_of_day_min_reads) {
            return None;
        }
        let hour = AccessStats::hour_of(now_ms);
        let lead = usize::from(self.cfg.time_of_day_lead_hours);
        let ahead: u32 = (from..from + lead).map(|k| u32::from(stats.hour_count((hour + k) % HOURS_PER_DAY))).sum();
        Some(f64::from(ahead) / f64::from(total))
    }

    fn inputs(obj: &ObjectView, now_ms: u64) -> Inputs {
        Inputs {
            now_ms,
            from: obj.tier,
            size_bytes: obj.size_bytes,
            reads: obj.stats.reads(),
            bytes_read: obj.stats.bytes_read(),
            idle_ms: obj.stats.idle_ms(now_ms),
            sequential_run: obj.stats.sequential_run(),
            head_reads: obj.stats.head_reads(),
            hint: obj.hint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{MS_PER_DAY, MS_PER_HOUR};
    use crate::{Access, ContentClass};

    const WEEK_MS: u64 = 7 * MS_PER_DAY;
    const MIB: u64 = 1 << 20;

    /// A test object with a driven clock: reads advance it, decisions read it.
    struct Obj {
        stats: AccessStats,
        size_bytes: u64,
        hint: Hint,
        tier: Tier,
    }

    impl Obj {
        fn new(tier: Tier) -> Obj {
            let stats = AccessStats::new(ContentClass::Other, 0);
            Obj { stats, size_bytes: MIB, hint: Hint::Auto, tier }
        }
        fn read(&mut self, p: &Policy, now_ms: u64) {
            let access = Access { now_ms, offset: 0, length: self.size_bytes };
            self.stats.record(access, p.config());
        }
        fn read_every(&mut self, p: &Policy, from_ms: u64, to_ms: u64, step_ms: u64) {
            (from_ms..to_ms).step_by(step_ms as usize).for_each(|t| self.read(p, t));
        }
        fn decide(&self, p: &Policy, now_ms: u64) -> Decision {
            let view = ObjectView {
                stats: &self.stats,
                size_bytes: self.size_bytes,
                hint: self.hint,
                tier: Some(self.tier),
                read_back: None,
                read_again: None,
                learned: Learned::default(),
            };
            p.decide(&view, now_ms)
        }
    }

    fn policy() -> Policy {
        Policy::new(PolicyConfig::default(), 0).unwrap()
    }

    /// Without the rate prior: for tests of what the other terms do alone.
    fn policy_without_prior() -> Policy {
        Policy::new(PolicyConfig { rate_prior_ms: 0, ..PolicyConfig::default() }, 0).unwrap()
    }

    /// An object in `tier` read once, two weeks in, and when.
    fn read_once(tier: Tier) -> (Policy, Obj, u64) {
        let (p, mut o, t) = (policy(), Obj::new(tier), 2 * WEEK_MS);
        o.read(&p, t);
        (p, o, t)
    }

    #[test]
    fn warmup_holds_every_decision_for_a_week() {
        let p = policy();
        let mut o = Obj::new(Tier::Cold);
        o.read_every(&p, MS_PER_DAY, MS_PER_DAY + MS_PER_HOUR, 60_000);
        let d = o.decide(&p, MS_PER_DAY + MS_PER_HOUR);
        assert_eq!((d.tier, d.reason.rule), (Tier::Cold, Rule::Warmup));
        o.read_every(&p, WEEK_MS, WEEK_MS + MS_PER_HOUR, 60_000);
        let d = o.decide(&p, WEEK_MS + MS_PER_HOUR);
        assert_eq!(d.tier, Tier::Hot, "{d}");
    }

    #[test]
    fn spike_promotes_at_once_but_steady_heat_is_frequency() {
        let p = policy();
        let mut o = Obj::new(Tier::Cold);
        // A week of one read a day, then 20 reads in 20 minutes.
        o.read_every(&p, 0, WEEK_MS, MS_PER_DAY);
        let burst = WEEK_MS + 12 * MS_PER_HOUR;
        o.read_every(&p, burst, burst + 20 * 60_000, 60_000);
        let d = o.decide(&p, burst + 20 * 60_000);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Spike), "{d}");
        assert!(d.reason.scores.spike_ratio >= 10.0);

        // Six reads an hour all week: hot, but no spike.
        let mut o = Obj::new(Tier::Warm);
        o.read_every(&p, 0, 2 * WEEK_MS, 10 * 60_000);
        let d = o.decide(&p, 2 * WEEK_MS);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Frequency), "{d}");
        assert!(d.reason.scores.spike_ratio < 2.0);
    }

    #[test]
    fn a_tenfold_rise_over_a_steady_rate_is_a_spike() {
        let p = policy();
        let mut o = Obj::new(Tier::Warm);
        // 0.02 reads an hour (warm by frequency), then 30 within 15 minutes.
        o.read_every(&p, 0, 2 * WEEK_MS, 50 * MS_PER_HOUR);
        let t = 2 * WEEK_MS;
        o.read_every(&p, t, t + 15 * 60_000, 30_000);
        let d = o.decide(&p, t + 15 * 60_000);
        assert_eq!(d.reason.rule, Rule::Spike, "{d}");
    }

    /// An object written at `at_ms`, not read yet.
    fn written(tier: Tier, at_ms: u64) -> Obj {
        Obj { stats: AccessStats::new(ContentClass::Other, at_ms), ..Obj::new(tier) }
    }

    #[test]
    fn decay_demotes_one_tier_per_48_hours_unread() {
        let p = policy();
        let t = 2 * WEEK_MS;
        // Written, then ten reads in ten minutes: two days on, its rate
        // still earns warm, and a silence of two days is not usual for it.
        let mut o = written(Tier::Hot, t - 20 * 60_000);
        o.read_every(&p, t - 10 * 60_000, t + 1, 60_000);
        let rule_at = |o: &Obj, h: u64| o.decide(&p, t + h * MS_PER_HOUR);
        assert_eq!(rule_at(&o, 47).reason.rule, Rule::Steady);
        let d = rule_at(&o, 48);
        assert_eq!((d.tier, d.reason.rule), (Tier::Warm, Rule::Decay), "{d}");
        assert!(d.reason.scores.slow_rate_per_hour >= p.config().warm_min_rate_per_hour);
        assert_eq!(rule_at(&o, 96).tier, Tier::Cold);
        o.tier = Tier::Warm;
        assert_eq!(rule_at(&o, 60).reason.rule, Rule::Steady);
        assert_eq!(rule_at(&o, 96).tier, Tier::Cold);
    }

    #[test]
    fn decay_skips_warm_for_an_object_whose_rate_does_not_earn_it() {
        // A backup read once by its verify pass: two days on, one move to
        // cold, not one to warm now and one to cold in two more days.
        let (p, t) = (policy(), 2 * WEEK_MS);
        let mut o = written(Tier::Hot, t - MS_PER_HOUR);
        o.read(&p, t);
        assert_eq!(o.decide(&p, t + 47 * MS_PER_HOUR).reason.rule, Rule::Steady);
        let d = o.decide(&p, t + 48 * MS_PER_HOUR);
        assert_eq!((d.tier, d.reason.rule), (Tier::Cold, Rule::Decay), "{d}");
        assert!(d.reason.scores.slow_rate_per_hour < p.config().warm_min_rate_per_hour);
        // A warm preference still holds it at warm.
        o.hint = Hint::Prefer(Tier::Warm);
        let d = o.decide(&p, t + 48 * MS_PER_HOUR);
        assert_eq!((d.tier, d.reason.rule), (Tier::Warm, Rule::Hint), "{d}");
    }

    #[test]
    fn a_usual_silence_defers_decay_until_twice_its_time() {
        let p = policy();
        let t = 5 * WEEK_MS;
        // Read every three days for four weeks: two days unread is usual.
        let mut o = written(Tier::Hot, t - 4 * WEEK_MS);
        o.read_every(&p, t - 4 * WEEK_MS + MS_PER_HOUR, t + 1, 3 * MS_PER_DAY);
        let last = o.stats.last_access_ms();
        assert_eq!(o.decide(&p, last + 50 * MS_PER_HOUR).reason.rule, Rule::Steady);
        assert_eq!(o.decide(&p, last + 95 * MS_PER_HOUR).reason.rule, Rule::Steady);
        // Twice the decay time is the limit: then two tiers at once.
        let d = o.decide(&p, last + 96 * MS_PER_HOUR);
        assert_eq!((d.tier, d.reason.rule), (Tier::Cold, Rule::Decay), "{d}");
        // Read hourly since its write, a silence of two days is unusual: it decays.
        let mut busy = written(Tier::Hot, t - 2 * MS_PER_DAY);
        busy.read_every(&p, t - 2 * MS_PER_DAY, t + 1, MS_PER_HOUR);
        let last = busy.stats.last_access_ms();
        assert_eq!(busy.decide(&p, last + 48 * MS_PER_HOUR).reason.rule, Rule::Decay);
        // Never read, nothing is usual: it decays at 48 hours.
        let unread = written(Tier::Hot, t);
        assert_eq!(unread.decide(&p, t + 48 * MS_PER_HOUR).reason.rule, Rule::Decay);
    }

    #[test]
    fn floor_rank_is_the_rank_of_an_object_at_the_tier_minimum_rate() {
        let p = policy();
        let now = 3 * WEEK_MS;
        // Read once an hour for two days: its rate is about 1/h, far above
        // warm's minimum; a day later it has halved, still above.
        let mut o = Obj::new(Tier::Hot);
        o.read_every(&p, now - 2 * MS_PER_DAY, now, MS_PER_HOUR);
        let warm = p.floor_rank(Tier::Warm, now).unwrap();
        assert!(p.rank(&o.stats, MIB) > warm);
        // Where the slow rate crosses warm's minimum, the rank crosses the floor.
        let rate = |at: u64| o.decide(&p, at).reason.scores.slow_rate_per_hour;
        let crossing = (now..now + 30 * MS_PER_DAY)
            .step_by(MS_PER_HOUR as usize)
            .find(|at| rate(*at) < p.config().warm_min_rate_per_hour)
            .unwrap();
        assert!(p.rank(&o.stats, MIB) < p.floor_rank(Tier::Warm, crossing).unwrap());
        assert!(p.rank(&o.stats, MIB) >= p.floor_rank(Tier::Warm, crossing - MS_PER_HOUR).unwrap());
        assert!(p.floor_rank(Tier::Hot, now).unwrap() > warm);
        assert_eq!(p.floor_rank(Tier::Cold, now), None);
    }

    #[test]
    fn decay_and_frequency_do_not_trade_an_idle_object_back_and_forth() {
        let p = policy();
        let mut o = Obj::new(Tier::Hot);
        // Hot for a day (60 reads an hour), then silent.
        o.read_every(&p, WEEK_MS, WEEK_MS + MS_PER_DAY, 60_000);
        let t = WEEK_MS + MS_PER_DAY + 50 * MS_PER_HOUR;
        let d = o.decide(&p, t);
        assert_eq!((d.tier, d.reason.rule), (Tier::Warm, Rule::Decay), "{d}");
        // Its old rate is still high, but without a fresh read it stays put.
        o.tier = Tier::Warm;
        assert!(o.decide(&p, t).reason.scores.slow_rate_per_hour > 1.0);
        assert_eq!(o.decide(&p, t + MS_PER_HOUR).reason.rule, Rule::Steady);
        // A read is fresh evidence.
        o.read(&p, t + 2 * MS_PER_HOUR);
        let d = o.decide(&p, t + 2 * MS_PER_HOUR);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Frequency), "{d}");
    }

    #[test]
    fn time_of_day_prewarms_an_evening_object_by_late_afternoon() {
        // Thresholds high enough that frequency alone would not promote.
        let cfg = PolicyConfig { warm_min_rate_per_hour: 1.0, hot_min_rate_per_hour: 1.0, ..PolicyConfig::default() };
        let p = Policy::new(cfg, 0).unwrap();
        let mut o = Obj::new(Tier::Cold);
        for day in 0..8 {
            let evening = day * MS_PER_DAY + 19 * MS_PER_HOUR;
            o.read_every(&p, evening, evening + 2 * MS_PER_HOUR, 30 * 60_000);
        }
        let day8 = 8 * MS_PER_DAY;
        let d = o.decide(&p, day8 + 17 * MS_PER_HOUR);
        assert_eq!((d.tier, d.reason.rule), (Tier::Warm, Rule::TimeOfDay), "{d}");
        assert!(d.reason.scores.time_of_day_share >= 0.5);
        let d = o.decide(&p, day8 + 8 * MS_PER_HOUR);
        assert_eq!((d.tier, d.reason.rule), (Tier::Cold, Rule::Steady), "{d}");
    }

    #[test]
    fn rank_follows_the_hour_of_day_for_objects_with_a_rhythm() {
        let p = policy();
        let (mut office, mut evening) = (Obj::new(Tier::Hot), Obj::new(Tier::Hot));
        for day in 0..8 {
            let t = day * MS_PER_DAY;
            office.read_every(&p, t + 9 * MS_PER_HOUR, t + 17 * MS_PER_HOUR, 20 * 60_000);
            evening.read_every(&p, t + 18 * MS_PER_HOUR, t + 23 * MS_PER_HOUR, 12 * 60_000);
        }
        // Same reads a day; at noon the office object ranks first, at
        // eight in the evening the other.
        let day8 = 8 * MS_PER_DAY;
        let rank = |o: &Obj, h: u64| p.rank_at(&o.stats, MIB, day8 + h * MS_PER_HOUR, &Learned::default());
        assert!(rank(&office, 12) > rank(&evening, 12));
        assert!(rank(&evening, 20) > rank(&office, 20));
        // Without a rhythm the rank is the plain one (for an object old
        // enough that its age does not lift it).
        let p = policy_without_prior();
        let mut flat = Obj::new(Tier::Hot);
        flat.read_every(&p, WEEK_MS, WEEK_MS + 2 * MS_PER_DAY, MS_PER_HOUR);
        let now = WEEK_MS + 2 * MS_PER_DAY;
        let (plain, at) = (p.rank(&flat.stats, MIB), p.rank_at(&flat.stats, MIB, now, &Learned::default()));
        assert!((plain.get() - at.get()).abs() < 0.2, "{plain:?} {at:?}");
    }

    #[test]
    fn time_of_day_applies_only_to_classes_whose_reads_keep_to_their_hours() {
        let p = policy();
        let mut office = Obj::new(Tier::Warm);
        for day in 0..8 {
            let t = day * MS_PER_DAY;
            office.read_every(&p, t + 9 * MS_PER_HOUR, t + 17 * MS_PER_HOUR, 20 * 60_000);
        }
        let noon = 8 * MS_PER_DAY + 12 * MS_PER_HOUR;
        let lift = p.hour_lift(&office.stats, noon).unwrap();
        assert!(lift > 2.0, "{lift}");
        let rank = |gain| p.rank_at(&office.stats, MIB, noon, &Learned { survival: None, rhythm_gain: gain }).get();
        let plain = rank(Some(1.0));
        assert!((rank(None) - plain - lift.log2()).abs() < 1e-9);
        assert!((rank(Some(2.0)) - plain - lift.log2()).abs() < 1e-9);
        // Nor does the rule prewarm it where the class's reads come at any hour.
        let view = |gain| ObjectView {
            stats: &office.stats,
            size_bytes: MIB,
            hint: Hint::Auto,
            tier: Some(Tier::Cold),
            read_back: None,
            read_again: None,
            learned: Learned { survival: None, rhythm_gain: gain },
        };
        let before_hours = 8 * MS_PER_DAY + 8 * MS_PER_HOUR;
        assert!(p.decide(&view(Some(2.0)), before_hours).reason.scores.time_of_day_share > 0.3);
        assert_eq!(p.decide(&view(Some(1.0)), before_hours).reason.scores.time_of_day_share, 0.0);
    }

    #[test]
    fn a_second_read_may_take_spare_room_only() {
        let (p, mut o, t) = read_once(Tier::Cold);
        assert_eq!(o.decide(&p, t).reason.rule, Rule::Steady);
        // Read again five days later: too rare for frequency, but if the
        // hot tier has room to spare, why not.
        let again = t + 5 * MS_PER_DAY;
        o.read(&p, again);
        let d = o.decide(&p, again);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Spare), "{d}");
        assert_eq!(o.decide(&p, again + 2 * MS_PER_HOUR).reason.rule, Rule::Steady);
    }

    #[test]
    fn streaming_range_reads_promote_while_the_stream_runs() {
        let p = policy();
        let mut o = Obj::new(Tier::Warm);
        o.size_bytes = 1024 * MIB;
        let t = 2 * WEEK_MS;
        for i in 0..4 {
            let a = Access { now_ms: t + i * 10_000, offset: i * 8 * MIB, length: 8 * MIB };
            o.stats.record(a, p.config());
        }
        let d = o.decide(&p, t + 40_000);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Streaming), "{d}");
        // An hour after the viewer left, the stream is over.
        let d = o.decide(&p, t + 2 * MS_PER_HOUR);
        assert_ne!(d.reason.rule, Rule::Streaming, "{d}");
    }

    #[test]
    fn a_stream_outranks_busy_objects_while_it_goes_on_and_a_newer_stream_outranks_it() {
        let p = policy();
        let t = 2 * WEEK_MS;
        // An object read hourly for a week, and a title read once before.
        let mut busy = Obj::new(Tier::Hot);
        busy.read_every(&p, t - WEEK_MS, t, MS_PER_HOUR);
        let mut title = Obj::new(Tier::Warm);
        title.size_bytes = 1024 * MIB;
        title.read(&p, t - 3 * MS_PER_DAY);
        // The head, then 8 MiB ranges every 10 s: range `i` at `t + i * 10 s`.
        let stream = |o: &mut Obj, ranges: std::ops::Range<u64>| {
            for i in ranges {
                let a = Access { now_ms: t + i * 10_000, offset: i * 8 * MIB, length: 8 * MIB };
                o.stats.record(a, p.config());
            }
        };
        let busy_rank = |now| p.rank_at(&busy.stats, MIB, now, &Learned::default()).get();
        let margin = p.config().admit_margin_log2;
        // Before the run is a stream, the title ranks far below the busy one.
        stream(&mut title, 0..3);
        let now = t + 20_000;
        assert!(o_rank(&p, &title, now) + margin < busy_rank(now));
        // A stream is admitted over it by more than the margin, and held
        // above it while its ranges come.
        stream(&mut title, 3..4);
        let now = t + 30_000;
        let d = title.decide(&p, now);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Streaming), "{d}");
        assert!(d.reason.scores.rank > busy_rank(now) + margin, "{d}");
        let held = o_rank(&p, &title, now);
        assert_eq!(held, d.reason.scores.rank - margin);
        assert!(held > busy_rank(now) + margin);
        // Another stream an hour later may take its place; one at the
        // same time may not.
        let later = p.stream_rank(&title.stats, now).get() + MS_PER_HOUR as f64 / MS_PER_DAY as f64;
        assert!(later > held + margin && p.stream_rank(&title.stats, now).get() <= held + margin);
        // Stalled past the gap: back to its reads.
        let after = now + p.config().stream_gap_ms + 1;
        assert_eq!(
            o_rank(&p, &title, after),
            p.usual_rank_at(&title.stats, title.size_bytes, after, &Learned::default()).get()
        );
        assert_eq!(p.stream_rank(&title.stats, after).get(), f64::NEG_INFINITY);
    }

    fn o_rank(p: &Policy, o: &Obj, now_ms: u64) -> f64 {
        p.rank_at(&o.stats, o.size_bytes, now_ms, &Learned::default()).get()
    }

    #[test]
    fn a_sweep_does_not_promote_an_object_last_read_in_ranges_but_its_read_does() {
        let cfg = PolicyConfig { time_of_day_min_reads: u16::MAX, ..PolicyConfig::default() };
        let p = Policy::new(cfg, 0).unwrap();
        let t = 2 * WEEK_MS;
        // Viewed every two hours for a day, each time the head and one range.
        let mut o = Obj::new(Tier::Warm);
        o.size_bytes = 1024 * MIB;
        let view = |o: &mut Obj, now_ms: u64| {
            o.stats.record(Access { now_ms, offset: 0, length: MIB }, p.config());
            o.stats.record(Access { now_ms: now_ms + 10_000, offset: MIB, length: 8 * MIB }, p.config());
        };
        for i in 0..12 {
            view(&mut o, t + i * 2 * MS_PER_HOUR);
        }
        let last = o.stats.last_access_ms();
        let d = o.decide(&p, last + MS_PER_HOUR);
        assert!(d.reason.scores.slow_rate_per_hour >= p.config().hot_min_rate_per_hour, "{d}");
        assert!(!d.moves(), "{d}");
        // Its next viewer's first read promotes it by frequency.
        o.stats.record(Access { now_ms: last + MS_PER_HOUR, offset: 0, length: MIB }, p.config());
        let d = o.decide(&p, last + MS_PER_HOUR);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Frequency), "{d}");
        // An object read whole as often is promoted by the sweep.
        let mut whole = Obj::new(Tier::Warm);
        whole.read_every(&p, t, last + 1, 2 * MS_PER_HOUR);
        let d = whole.decide(&p, last + MS_PER_HOUR);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Frequency), "{d}");
    }

    #[test]
    fn hints_pin_place_and_hold_against_decay() {
        let p = policy();
        let mut o = Obj::new(Tier::Hot);
        o.hint = Hint::Pin(Tier::Hot);
        let d = o.decide(&p, 30 * MS_PER_DAY);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Pinned));
        o.hint = Hint::Prefer(Tier::Hot);
        let d = o.decide(&p, 30 * MS_PER_DAY);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Hint), "{d}");
        assert!(!d.moves());
        o.hint = Hint::Prefer(Tier::Warm);
        let d = o.decide(&p, 30 * MS_PER_DAY);
        assert_eq!((d.tier, d.reason.rule), (Tier::Warm, Rule::Hint), "{d}");
    }

    #[test]
    fn new_objects_start_by_hint_then_content_class() {
        let p = policy();
        let place = |content, hint| {
            let stats = AccessStats::new(content, 0);
            let view = ObjectView {
                stats: &stats,
                size_bytes: MIB,
                hint,
                tier: None,
                read_back: None,
                read_again: None,
                learned: Learned::default(),
            };
            let d = p.decide(&view, 0);
            (d.tier, d.reason.rule)
        };
        assert_eq!(place(ContentClass::Video, Hint::Auto), (Tier::Hot, Rule::ContentDefault));
        assert_eq!(place(ContentClass::Backup, Hint::Auto), (Tier::Cold, Rule::ContentDefault));
        assert_eq!(place(ContentClass::Backup, Hint::Prefer(Tier::Hot)), (Tier::Hot, Rule::Hint));
        assert_eq!(place(ContentClass::Video, Hint::Pin(Tier::Cold)), (Tier::Cold, Rule::Pinned));
    }

    #[test]
    fn a_class_whose_writes_are_read_back_starts_hot() {
        use crate::ReadBack;
        let p = policy();
        let cfg = p.config();
        let mut rb = ReadBack::default();
        let place = |rb: &ReadBack, now_ms| {
            let stats = AccessStats::new(ContentClass::Backup, now_ms);
            let read_back = rb.share(ContentClass::Backup, now_ms, cfg);
            let view = ObjectView {
                stats: &stats,
                size_bytes: MIB,
                hint: Hint::Auto,
                tier: None,
                read_back,
                read_again: None,
                learned: Learned::default(),
            };
            p.decide(&view, now_ms)
        };
        // Two backups a night, each verified 40 minutes after its write:
        // content default until enough were written to trust the share.
        let mut rules = Vec::new();
        for i in 0..14 {
            let t = i / 2 * MS_PER_DAY + 2 * MS_PER_HOUR + i % 2;
            rules.push(place(&rb, t).reason.rule);
            rb.written(ContentClass::Backup, MIB, t, cfg);
            let stats = AccessStats::new(ContentClass::Backup, t);
            rb.read(&stats, MIB, t + 40 * 60_000, cfg);
        }
        let trusted = rules.iter().position(|r| *r == Rule::ReadBack).unwrap();
        assert!(trusted >= usize::from(cfg.read_back_min_objects), "{rules:?}");
        assert!(rules[..trusted].iter().all(|r| *r == Rule::ContentDefault), "{rules:?}");
        assert!(rules[trusted..].iter().all(|r| *r == Rule::ReadBack), "{rules:?}");
        let d = place(&rb, WEEK_MS + 2 * MS_PER_HOUR);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::ReadBack), "{d}");
        assert!(d.reason.scores.read_back_share > 0.99);
        // A hint still wins over the evidence.
        let stats = AccessStats::new(ContentClass::Backup, WEEK_MS);
        let read_back = rb.share(ContentClass::Backup, WEEK_MS, cfg);
        let view = ObjectView {
            stats: &stats,
            size_bytes: MIB,
            hint: Hint::Prefer(Tier::Cold),
            tier: None,
            read_back,
            read_again: None,
            learned: Learned::default(),
        };
        assert_eq!(p.decide(&view, WEEK_MS).reason.rule, Rule::Hint);
    }

    #[test]
    fn a_young_object_is_ranked_by_its_reads_over_its_age() {
        let p = policy_without_prior();
        let t = 2 * WEEK_MS;
        // Both read four times in the last two hours; one was written two
        // hours ago, the other has been there (unread) for two weeks.
        let mut young = Obj::new(Tier::Warm);
        young.stats = AccessStats::new(ContentClass::Other, t - 2 * MS_PER_HOUR);
        let mut old = Obj::new(Tier::Warm);
        young.read_every(&p, t - 2 * MS_PER_HOUR, t, 30 * 60_000);
        old.read_every(&p, t - 2 * MS_PER_HOUR, t, 30 * 60_000);
        let (y, o) = (
            p.rank_at(&young.stats, MIB, t, &Learned::default()).get(),
            p.rank_at(&old.stats, MIB, t, &Learned::default()).get(),
        );
        // Two reads an hour over two hours (plus the hour's prior): about
        // 0.09 of a day's count gathered, a lift of 3.5.
        assert!((y - o - 3.5).abs() < 0.1, "{y} {o}");
        // As it ages the lift fades to nothing.
        let lift = p.young_lift_log2(&young.stats, t + 5 * WEEK_MS);
        assert!((0.0..0.01).contains(&lift), "{lift}");
        // A never-read object gets no lift: nothing to count.
        let never = AccessStats::new(ContentClass::Other, t);
        assert_eq!(p.rank_at(&never, MIB, t + 60_000, &Learned::default()), p.rank(&never, MIB));
    }

    #[test]
    fn a_steady_object_keeps_its_lifetime_rank_through_a_quiet_day_but_not_a_silence() {
        // No time-of-day lift nor rate prior, to compare the rates alone.
        let cfg = PolicyConfig { time_of_day_min_reads: u16::MAX, rate_prior_ms: 0, ..PolicyConfig::default() };
        let p = Policy::new(cfg, 0).unwrap();
        // Read every ten hours for three weeks, then a quiet 30 hours.
        let t = 3 * WEEK_MS;
        let mut steady = Obj::new(Tier::Hot);
        steady.read_every(&p, 0, t, 10 * MS_PER_HOUR);
        let now = steady.stats.last_access_ms() + 30 * MS_PER_HOUR;
        // Unread for three weeks, then three reads in the last day.
        let mut burst = Obj::new(Tier::Hot);
        burst.read_every(&p, now - 21 * MS_PER_HOUR, now, 8 * MS_PER_HOUR);
        // By the one-day average the burst is ahead; by what each usually
        // does, the steady one is.
        assert!(p.rank(&steady.stats, MIB) < p.rank(&burst.stats, MIB));
        assert!(
            p.rank_at(&steady.stats, MIB, now, &Learned::default())
                > p.rank_at(&burst.stats, MIB, now, &Learned::default())
        );
        let d = steady.decide(&p, now);
        assert!((d.reason.scores.lifetime_rate_per_hour - 0.1).abs() < 0.01, "{d}");
        assert!(d.reason.scores.still_read_odds > 0.95, "{d}");
        // Four days more unread (13 expected reads missed): its lifetime no
        // longer holds it, and it ranks by its average alone.
        let later = now + 4 * MS_PER_DAY;
        let d = steady.decide(&p, later);
        assert!(d.reason.scores.still_read_odds < 0.05, "{d}");
        let recent = p.rank(&steady.stats, MIB).get();
        assert!((p.rank_at(&steady.stats, MIB, later, &Learned::default()).get() - recent).abs() < 1e-3);
        // Never read: no lifetime rate.
        let never = AccessStats::new(ContentClass::Other, 0);
        assert_eq!(p.lifetime_rank(&never, MIB, t, None).get(), f64::NEG_INFINITY);
    }

    #[test]
    fn frequency_promotes_by_the_lifetime_rate_once_it_rests_on_enough_reads() {
        let cfg =
            PolicyConfig { hot_min_rate_per_hour: 0.08, time_of_day_min_reads: u16::MAX, ..PolicyConfig::default() };
        let p = Policy::new(cfg.clone(), 0).unwrap();
        // Read every ten hours for three weeks (0.1 an hour), then once
        // more after a quiet 40 hours: its one-day average is under hot's
        // minimum, its lifetime rate is not.
        let mut o = Obj::new(Tier::Warm);
        o.read_every(&p, 0, 3 * WEEK_MS, 10 * MS_PER_HOUR);
        let now = o.stats.last_access_ms() + 40 * MS_PER_HOUR;
        o.read(&p, now);
        let d = o.decide(&p, now);
        assert_eq!((d.tier, d.reason.rule), (Tier::Hot, Rule::Frequency), "{d}");
        assert!(d.reason.scores.slow_rate_per_hour < 0.08, "{d}");
        assert!(d.reason.scores.lifetime_rate_per_hour >= 0.08, "{d}");
        // Resting on too few reads, the lifetime rate does not promote.
        let few = Policy::new(PolicyConfig { lifetime_min_reads: 1000, ..cfg }, 0).unwrap();
        assert_ne!(o.decide(&few, now).reason.rule, Rule::Frequency);
    }

    #[test]
    fn a_new_object_awaiting_its_read_back_ranks_as_read_until_the_window_passes() {
        let p = policy();
        let t = 2 * WEEK_MS;
        let new = AccessStats::new(ContentClass::Backup, t);
        let view = |share| ObjectView {
            stats: &new,
            size_bytes: MIB,
            hint: Hint::Auto,
            tier: Some(Tier::Hot),
            read_back: share,
            read_again: None,
            learned: Learned::default(),
        };
        // Half its class read back, a read expected within 3 hours: it
        // outranks an object read twice a day, not one read hourly; then
        // it falls to a never-read object's rank.
        let (mut twice_a_day, mut hourly) = (Obj::new(Tier::Hot), Obj::new(Tier::Hot));
        twice_a_day.read_every(&p, t - WEEK_MS, t, 12 * MS_PER_HOUR);
        hourly.read_every(&p, t - WEEK_MS, t, MS_PER_HOUR);
        let awaiting = view(Some(0.5)).stats;
        let rank = |share, now| p.decide(&view(share), now).reason.scores.rank;
        let now = t + MS_PER_HOUR;
        assert!(rank(Some(0.5), now) > p.rank_at(&twice_a_day.stats, MIB, now, &Learned::default()).get());
        assert!(rank(Some(1.0), now) < p.rank_at(&hourly.stats, MIB, now, &Learned::default()).get());
        assert!(rank(Some(1.0), t) > rank(Some(0.5), t));
        let window = p.config().read_back_window_ms;
        let plain = p.rank_at(awaiting, MIB, t + window, &Learned::default()).get();
        assert_eq!(rank(Some(0.5), t + window), plain);
        // Under the share that starts objects hot, or unknown: no expectation.
        assert_eq!(rank(Some(0.2), t), p.rank_at(awaiting, MIB, t, &Learned::default()).get());
        assert_eq!(rank(None, t), p.rank_at(awaiting, MIB, t, &Learned::default()).get());
    }

    #[test]
    fn a_read_back_object_returns_to_its_default_after_the_read_back() {
        let p = policy();
        let t = 2 * WEEK_MS;
        let mut o = Obj::new(Tier::Hot);
        o.stats = AccessStats::new(ContentClass::Backup, t);
        let decide = |o: &Obj, share, now| {
            let view = ObjectView {
                stats: &o.stats,
                size_bytes: MIB,
                hint: o.hint,
                tier: Some(o.tier),
                read_back: share,
                read_again: None,
                learned: Learned::default(),
            };
            p.decide(&view, now)
        };
        o.read(&p, t + 40 * 60_000);
        let d = decide(&o, Some(0.9), t + 40 * 60_000);
        assert_eq!((d.tier, d.reason.rule), (Tier::Cold, Rule::ReadBackDone), "{d}");
        // Not for a class whose read-backs are mostly read again soon: the
        // read-back was the first of many.
        let view = ObjectView {
            stats: &o.stats,
            size_bytes: MIB,
            hint: o.hint,
            tier: Some(o.tier),
            read_back: Some(0.9),
            read_again: Some(0.8),
            learned: Learned::default(),
        };
        assert_ne!(p.decide(&view, t + 40 * 60_000).reason.rule, Rule::ReadBackDone);
        // Not right after the read, not for a class that does not start
        // hot by read-back, nor against a hint.
        assert_ne!(decide(&o, Some(0.9), t + 41 * 60_000).reason.rule, Rule::ReadBackDone);
        assert_ne!(decide(&o, Some(0.1), t + 40 * 60_000).reason.rule, Rule::ReadBackDone);
        o.hint = Hint::Prefer(Tier::Hot);
        assert_ne!(decide(&o, Some(0.9), t + 40 * 60_000).reason.rule, Rule::ReadBackDone);
        // A video starts hot by default: its first viewer is no reason to leave.
        let mut v = Obj::new(Tier::Hot);
        v.stats = AccessStats::new(ContentClass::Video, t);
        v.read(&p, t + 60_000);
        assert_ne!(decide(&v, Some(0.9), t + 60_000).reason.rule, Rule::ReadBackDone);
        // An "other" object goes to its default, warm; read twice, it stays.
        let mut other = Obj::new(Tier::Hot);
        other.stats = AccessStats::new(ContentClass::Other, t);
        other.read(&p, t + 60_000);
        let d = decide(&other, Some(0.9), t + 60_000);
        assert_eq!((d.tier, d.reason.rule), (Tier::Warm, Rule::ReadBackDone), "{d}");
        other.read(&p, t + 120_000);
        assert_ne!(decide(&other, Some(0.9), t + 120_000).reason.rule, Rule::ReadBackDone);
    }

    #[test]
    fn rank_orders_by_hot_bytes_per_stored_byte_at_any_time() {
        let p = policy();
        let mut busy = Obj::new(Tier::Hot);
        let mut quiet = Obj::new(Tier::Hot);
        busy.read_every(&p, 0, MS_PER_DAY, MS_PER_HOUR);
        quiet.read_every(&p, 0, 2 * MS_PER_DAY, 8 * MS_PER_HOUR);
        let (rb, rq) = (p.rank(&busy.stats, MIB), p.rank(&quiet.stats, MIB));
        let now = 2 * MS_PER_DAY;
        let (vb, vq) = (busy.decide(&p, now), quiet.decide(&p, now));
        let rates = (vb.reason.scores.slow_rate_per_hour, vq.reason.scores.slow_rate_per_hour);
        assert_eq!(rb > rq, rates.0 > rates.1);
        // Reading a tenth of the object per read is worth about a tenth.
        let r_whole = p.rank(&busy.stats, MIB).get();
        let r_tenth = p.rank(&busy.stats, 10 * MIB).get();
        let tenth = busy.stats.read_fraction(10 * MIB);
        assert!((0.1..0.15).contains(&tenth), "{tenth}");
        assert!((r_whole - r_tenth + tenth.log2()).abs() < 1e-9);
    }

    #[test]
    fn a_decision_answers_why_in_one_json_document() {
        let p = policy();
        let mut o = Obj::new(Tier::Warm);
        o.read_every(&p, 0, WEEK_MS, MS_PER_DAY);
        o.read_every(&p, WEEK_MS, WEEK_MS + 20 * 60_000, 60_000);
        let d = o.decide(&p, WEEK_MS + 20 * 60_000);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["tier"], "hot");
        assert_eq!(json["reason"]["rule"]["name"], "spike");
        assert_eq!(json["reason"]["inputs"]["from"], "warm");
        assert_eq!(json["reason"]["inputs"]["reads"], 27);
        assert!(json["reason"]["scores"]["spike_ratio"].as_f64().unwrap() >= 10.0);
    }

    #[test]
    fn the_rate_prior_trusts_weeks_of_reads_over_a_lucky_day() {
        let cfg = PolicyConfig { time_of_day_min_reads: u16::MAX, ..PolicyConfig::default() };
        let p = Policy::new(cfg.clone(), 0).unwrap();
        let bare = Policy::new(PolicyConfig { rate_prior_ms: 0, ..cfg }, 0).unwrap();
        // Three reads a day: one object for three weeks, the other (unread
        // for three weeks, a tail object) all in the last day.
        let t = 3 * WEEK_MS;
        let (mut steady, mut lucky) = (Obj::new(Tier::Hot), Obj::new(Tier::Hot));
        steady.read_every(&p, 0, t, 8 * MS_PER_HOUR);
        lucky.read_every(&p, t - 15 * MS_PER_HOUR, t + 1, 3 * MS_PER_HOUR);
        let rank = |p: &Policy, o: &Obj| p.rank_at(&o.stats, MIB, t, &Learned::default()).get();
        // By its one-day average the lucky one is ahead; with the prior,
        // the rate resting on weeks is.
        assert!(rank(&bare, &lucky) > rank(&bare, &steady));
        assert!(rank(&p, &steady) > rank(&p, &lucky));
        // Weeks of reads barely feel the prior: under a tenth of a halving.
        let rates = (p.lifetime_rate_per_hour(&steady.stats, t), bare.lifetime_rate_per_hour(&steady.stats, t));
        assert!((rates.1 / rates.0).log2() < 0.1, "{rates:?}");
    }

    #[test]
    fn a_class_whose_silent_objects_are_done_lets_their_recent_reads_go() {
        let p = policy();
        // Written, then read hourly for two days, then silent for twelve
        // hours: its one-day average still holds it high.
        let mut o = Obj::new(Tier::Hot);
        o.stats = AccessStats::new(ContentClass::Other, WEEK_MS);
        o.read_every(&p, WEEK_MS, WEEK_MS + 2 * MS_PER_DAY, MS_PER_HOUR);
        let now = o.stats.last_access_ms() + 12 * MS_PER_HOUR;
        let learned = |curve: Option<&SilenceCurve>| Learned { survival: curve.copied(), rhythm_gain: None };
        let done = SilenceCurve { mark_reads: 6.0, resumed_share: 0.2, slope: 1.0 };
        let pausing = SilenceCurve { mark_reads: 6.0, resumed_share: 0.99, slope: 0.01 };
        let rank = |curve: Option<&SilenceCurve>| p.rank_at(&o.stats, MIB, now, &learned(curve)).get();
        assert!(rank(Some(&done)) < rank(None) - 4.0, "{} {}", rank(Some(&done)), rank(None));
        assert!((rank(Some(&pausing)) - rank(None)).abs() < 0.1);
        // Through a usual silence even the steep curve costs little.
        let usual = o.stats.last_access_ms() + 90 * 60_000;
        let cost = p.rank_at(&o.stats, MIB, usual, &Learned::default()).get()
            - p.rank_at(&o.stats, MIB, usual, &learned(Some(&done))).get();
        assert!(cost < 0.1, "{cost}");
        // A faded object (busy on its first day, twice a day for three
        // weeks since) is judged by its present rate, not its lifetime's
        // (by which 20 hours are 7 reads missed): a pause is no end.
        let mut fading = Obj::new(Tier::Hot);
        fading.read_every(&p, 0, MS_PER_DAY, 10 * 60_000);
        fading.read_every(&p, MS_PER_DAY, 3 * WEEK_MS, 12 * MS_PER_HOUR);
        let later = fading.stats.last_access_ms() + 20 * MS_PER_HOUR;
        let rank = |curve: Option<&SilenceCurve>| p.rank_at(&fading.stats, MIB, later, &learned(curve)).get();
        let (present, lifetime) =
            (p.recent_silence_missed(&fading.stats, later), p.silence_missed(&fading.stats, later));
        assert!(present < 2.5 && lifetime > 7.0, "{present} {lifetime}");
        let lift = p.hour_lift(&fading.stats, later).map_or(0.0, f64::log2);
        let recent = p.recent_rank(&fading.stats, MIB, later).get() + lift;
        assert!(rank(Some(&done)) > recent - 0.2, "{} {recent}", rank(Some(&done)));
        // The decision reports the odds it ranked by.
        let view = ObjectView {
            stats: &o.stats,
            size_bytes: MIB,
            hint: Hint::Auto,
            tier: Some(Tier::Hot),
            read_back: None,
            read_again: None,
            learned: Learned { survival: Some(done), rhythm_gain: None },
        };
        let d = p.decide(&view, now);
        assert!(d.reason.scores.still_read_odds < 0.01, "{d}");
    }

    #[test]
    fn property_every_decision_has_a_reason_that_matches_it() {
        use crate::testing::Prng;
        let moving = [Rule::Pinned, Rule::Hint, Rule::Spike, Rule::Streaming, Rule::Spare, Rule::ReadBackDone];
        let moving_too = [Rule::Frequency, Rule::TimeOfDay, Rule::Decay];
        for seed in 1..=32u64 {
            let mut rng = Prng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let p = Policy::new(PolicyConfig::default(), rng.below(WEEK_MS)).unwrap();
            let mut o = Obj::new(Tier::ALL[rng.below(3) as usize]);
            o.size_bytes = 1 + rng.below(1 << 30);
            o.hint = [Hint::Auto, Hint::Prefer(Tier::Warm), Hint::Pin(Tier::Cold)][rng.below(3) as usize];
            let mut now = 0;
            for _ in 0..500 {
                now += rng.below(6 * MS_PER_HOUR);
                let (offset, length) = (rng.below(o.size_bytes), 1 + rng.below(1 << 24));
                o.stats.record(Access { now_ms: now, offset, length }, p.config());
                let d = o.decide(&p, now + rng.below(4 * MS_PER_DAY));
                let rule = d.reason.rule;
                if d.moves() {
                    assert!(moving.contains(&rule) || moving_too.contains(&rule), "{d}");
                } else {
                    assert!(!matches!(rule, Rule::Spike | Rule::Decay | Rule::Frequency), "{d}");
                }
                let s = d.reason.scores;
                assert!(s.fast_rate_per_hour.is_finite() && s.slow_rate_per_hour.is_finite());
                assert!(s.read_fraction > 0.0 && s.read_fraction <= 1.0);
                assert!(d.to_string().contains(rule.name()));
                o.tier = d.tier;
            }
        }
    }
}
