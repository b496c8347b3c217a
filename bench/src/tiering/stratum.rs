//! The policy under test: `stratum-tiering`'s rules and capacity budget,
//! driven by the simulator as the engine will drive them (a decision on
//! every read, a sweep every hour).

use stratum_tiering::{
    Access, AccessStats, Budget, Capacity, Decision, Learned, Mode, ObjectView, Policy, Rank, ReadBack, Rhythm, Rule,
    Survival, Tier,
};

use crate::tiering::ledger::Ledger;
use crate::tiering::sim::{place_existing, Arrival, Model};
use crate::tiering::trace::{Event, ObjectId, ObjectInfo, Trace};

pub struct Stratum {
    policy: Policy,
    budget: Budget<ObjectId>,
    stats: Vec<AccessStats>,
    /// Objects known so far, for the sweep.
    known: Vec<ObjectId>,
    /// Per class, how many new objects were read soon after their write.
    read_back: ReadBack,
    /// Objects written during the trace (counted by `read_back`).
    written: Vec<bool>,
    /// Per class, what became of objects that fell silent.
    survival: Survival,
    /// Per class, whether reads come in the hours profiles favour.
    rhythm: Rhythm,
    /// When the last sweep ran: a silence mark passed since is counted
    /// by the read that ends it.
    swept_ms: u64,
}

impl Stratum {
    pub fn new(policy: Policy, capacity: Capacity, trace: &Trace) -> Stratum {
        let margin = policy.config().admit_margin_log2;
        Stratum {
            budget: Budget::new(capacity, margin),
            stats: vec![AccessStats::default(); trace.objects.len()],
            known: Vec::new(),
            read_back: ReadBack::default(),
            written: vec![false; trace.objects.len()],
            survival: Survival::default(),
            rhythm: Rhythm::default(),
            swept_ms: 0,
            policy,
        }
    }

    fn decide(&self, obj: ObjectId, info: &ObjectInfo, tier: Option<Tier>, now_ms: u64) -> Option<Decision> {
        let stats = self.stats.get(obj as usize)?;
        let cfg = self.policy.config();
        let read_back = self.read_back.share(info.content, now_ms, cfg);
        let read_again = self.read_back.again_share(info.content, now_ms, cfg);
        let learned = self.learned(info, now_ms);
        let view =
            ObjectView { stats, size_bytes: info.size_bytes, hint: info.hint, tier, read_back, read_again, learned };
        Some(self.policy.decide(&view, now_ms))
    }

    fn learned(&self, info: &ObjectInfo, now_ms: u64) -> Learned {
        let cfg = self.policy.config();
        Learned {
            survival: self.survival.curve(info.content, now_ms, cfg),
            rhythm_gain: self.rhythm.gain(info.content, now_ms, cfg),
        }
    }

    /// Hands a decision to the budget and books every move it plans.
    fn carry_out(&mut self, obj: ObjectId, info: &ObjectInfo, d: &Decision, ledger: &mut Ledger) {
        let Some(stats) = self.stats.get(obj as usize) else {
            return;
        };
        let rank = match d.reason.rule {
            // Its reads are yet to come: admit it as if they had come.
            Rule::TimeOfDay => {
                let now_ms = d.reason.inputs.now_ms;
                self.policy.expected_rank(stats, info.size_bytes, now_ms)
            }
            _ => Rank::new(d.reason.scores.rank),
        };
        let mode = match d.reason.rule {
            Rule::Pinned => Mode::Pinned,
            Rule::Spike => Mode::Forced,
            Rule::Spare => Mode::Spare,
            _ => Mode::Ranked,
        };
        let now_ms = d.reason.inputs.now_ms;
        self.budget.set_floor(Tier::Warm, self.policy.floor_rank(Tier::Warm, now_ms));
        let admission = self.budget.admit(obj, info.size_bytes, d.tier, rank, mode);
        for m in admission.moves {
            let rule = m.budget.as_ref().unwrap_or(&d.reason.rule);
            ledger.set(m.key, m.to, rule.name());
        }
    }
}

impl Model for Stratum {
    fn name(&self) -> &'static str {
        "stratum"
    }

    fn arrive(&mut self, _i: usize, ev: &Event, info: &ObjectInfo, how: Arrival, ledger: &mut Ledger) {
        let Some(slot) = self.stats.get_mut(ev.obj as usize) else {
            return;
        };
        *slot = AccessStats::new(info.content, ev.ts_ms);
        self.known.push(ev.obj);
        if how == Arrival::Existing {
            let rank = self.policy.rank(slot, info.size_bytes);
            self.budget.admit(ev.obj, info.size_bytes, Tier::Cold, rank, Mode::Ranked);
            return place_existing(ev.obj, ledger);
        }
        self.read_back.written(info.content, info.size_bytes, ev.ts_ms, self.policy.config());
        if let Some(w) = self.written.get_mut(ev.obj as usize) {
            *w = true;
        }
        let Some(d) = self.decide(ev.obj, info, None, ev.ts_ms) else {
            return;
        };
        self.carry_out(ev.obj, info, &d, ledger);
    }

    fn read(&mut self, _i: usize, ev: &Event, info: &ObjectInfo, ledger: &mut Ledger) {
        let access = Access { now_ms: ev.ts_ms, offset: ev.offset, length: ev.length };
        let Some(stats) = self.stats.get_mut(ev.obj as usize) else {
            return;
        };
        if self.written.get(ev.obj as usize).copied().unwrap_or(false) {
            self.read_back.read(stats, info.size_bytes, ev.ts_ms, self.policy.config());
        }
        let cfg = self.policy.config();
        let silent = self.policy.silent(stats, self.swept_ms, ev.ts_ms);
        self.survival.read(info.content, silent, ev.ts_ms, cfg);
        let (lift, reads) = (self.policy.hour_lift(stats, ev.ts_ms), stats.reads());
        stats.record(access, cfg);
        // A range that continues a stream is the same access going on.
        if stats.reads() > reads {
            self.rhythm.read(info.content, lift, ev.ts_ms, cfg);
        }
        let learned = self.learned(info, ev.ts_ms);
        let Some(stats) = self.stats.get(ev.obj as usize) else {
            return;
        };
        let rank = self.policy.rank_at(stats, info.size_bytes, ev.ts_ms, &learned);
        self.budget.set_rank(ev.obj, rank);
        let tier = self.budget.tier_of(ev.obj);
        let Some(d) = self.decide(ev.obj, info, tier, ev.ts_ms) else {
            return;
        };
        if d.moves() {
            self.carry_out(ev.obj, info, &d, ledger);
        }
    }

    /// Decay and time of day act without a read, and ranks follow the hour
    /// of day: look at everyone hourly.
    fn tick(&mut self, now_ms: u64, trace: &Trace, ledger: &mut Ledger) {
        for k in 0..self.known.len() {
            let obj = self.known[k];
            let Some(info) = trace.objects.get(obj as usize) else {
                continue;
            };
            if let Some(stats) = self.stats.get(obj as usize) {
                let silent = self.policy.silent(stats, self.swept_ms, now_ms);
                self.survival.swept(info.content, silent, now_ms, self.policy.config());
            }
            let tier = self.budget.tier_of(obj);
            let Some(d) = self.decide(obj, info, tier, now_ms) else {
                continue;
            };
            self.budget.set_rank(obj, Rank::new(d.reason.scores.rank));
            if d.moves() {
                self.carry_out(obj, info, &d, ledger);
            }
        }
        self.swept_ms = now_ms;
    }
}
