//! The planner: the policy, the capacity budget and the per-class learning
//! driven together, one call per event: an object written, read, deleted,
//! or the clock passing (a sweep, hourly). It returns the moves to carry
//! out, each with the rule behind it, and remembers why every object is
//! where it is planned. The engine and the simulator drive this same code.

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

use crate::{
    Access, AccessStats, Budget, Capacity, ContentClass, Decision, Hint, Learned, Mode, ObjectView, Policy, Rank,
    ReadBack, Rhythm, Rule, Survival, Tier,
};

/// What the planner must know of an object besides its reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Facts {
    pub size_bytes: u64,
    pub content: ContentClass,
    pub hint: Hint,
}

/// One move to carry out: `key` from `from` (`None`: being written) to `to`,
/// because of `rule`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Step<K> {
    pub key: K,
    pub from: Option<Tier>,
    pub to: Tier,
    pub size_bytes: u64,
    pub rule: Rule,
}

/// The last move planned for an object: the answer to "why is it there"
/// (its time to the second).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Placed {
    pub rule: Rule,
    pub at_ms: u64,
    pub from: Option<Tier>,
    pub to: Tier,
}

/// Everything the planner can say about one object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// Where the budget has it.
    pub planned: Option<Tier>,
    /// The move that put it there (`None`: it is where it was found).
    pub placed: Option<Placed>,
    /// What the policy decides now, with its scores and inputs.
    pub now: Decision,
}

struct Known {
    stats: AccessStats,
    facts: Facts,
    /// Written while the planner watched (counted by `read_back`).
    written: bool,
    /// Its index in `order`.
    slot: u32,
    placed: Option<Packed>,
}

/// [`Placed`] in 8 bytes (a planner holds millions): the rule's variant,
/// and for a budget rule its tier (its figures are read from the budget
/// again when asked), the tiers, the time in seconds.
#[derive(Clone, Copy)]
struct Packed {
    rule: u8,
    budget_tier: Tier,
    from: Option<Tier>,
    to: Tier,
    at_s: u32,
}

impl Packed {
    fn new(p: Placed) -> Packed {
        let (rule, budget_tier) = match p.rule {
            Rule::Pinned => (0, Tier::Hot),
            Rule::Hint => (1, Tier::Hot),
            Rule::ContentDefault => (2, Tier::Hot),
            Rule::ReadBack => (3, Tier::Hot),
            Rule::ReadBackDone => (4, Tier::Hot),
            Rule::Warmup => (5, Tier::Hot),
            Rule::Spike => (6, Tier::Hot),
            Rule::Streaming => (7, Tier::Hot),
            Rule::Frequency => (8, Tier::Hot),
            Rule::TimeOfDay => (9, Tier::Hot),
            Rule::Decay => (10, Tier::Hot),
            Rule::Spare => (11, Tier::Hot),
            Rule::Steady => (12, Tier::Hot),
            Rule::Budget { tier, .. } => (13, tier),
        };
        let at_s = u32::try_from(p.at_ms / 1000).unwrap_or(u32::MAX);
        Packed { rule, budget_tier, from: p.from, to: p.to, at_s }
    }

    /// The placement; a budget rule's figures are the budget's now.
    fn unpack<K: Copy + Ord + Hash>(self, budget: &Budget<K>) -> Placed {
        let rule = match self.rule {
            0 => Rule::Pinned,
            1 => Rule::Hint,
            2 => Rule::ContentDefault,
            3 => Rule::ReadBack,
            4 => Rule::ReadBackDone,
            5 => Rule::Warmup,
            6 => Rule::Spike,
            7 => Rule::Streaming,
            8 => Rule::Frequency,
            9 => Rule::TimeOfDay,
            10 => Rule::Decay,
            11 => Rule::Spare,
            12 => Rule::Steady,
            _ => Rule::Budget {
                tier: self.budget_tier,
                used_bytes: budget.used_bytes(self.budget_tier),
                capacity_bytes: budget.capacity_bytes(self.budget_tier).unwrap_or(u64::MAX),
                rival_rank: f64::NAN,
            },
        };
        Placed { rule, at_ms: u64::from(self.at_s) * 1000, from: self.from, to: self.to }
    }
}

pub struct Planner<K> {
    policy: Policy,
    budget: Budget<K>,
    objects: HashMap<K, Known>,
    /// Every known object, in the order the sweep visits them (arrival
    /// order until a removal swaps the last one into the gap): a stable
    /// order keeps a replay exact.
    order: Vec<K>,
    /// Per class, how many new objects were read soon after their write.
    read_back: ReadBack,
    /// Per class, what became of objects that fell silent.
    survival: Survival,
    /// Per class, whether reads come in the hours profiles favour.
    rhythm: Rhythm,
    /// When the last sweep ran: a silence mark passed since is counted
    /// by the read that ends it.
    swept_ms: u64,
}

impl<K: Copy + Ord + Hash> Planner<K> {
    pub fn new(policy: Policy, capacity: Capacity) -> Planner<K> {
        let margin = policy.config().admit_margin_log2;
        Planner {
            budget: Budget::new(capacity, margin),
            objects: HashMap::new(),
            order: Vec::new(),
            read_back: ReadBack::default(),
            survival: Survival::default(),
            rhythm: Rhythm::default(),
            swept_ms: 0,
            policy,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    pub fn tier_of(&self, key: K) -> Option<Tier> {
        self.budget.tier_of(key)
    }

    pub fn stats(&self, key: K) -> Option<&AccessStats> {
        self.objects.get(&key).map(|k| &k.stats)
    }

    pub fn used_bytes(&self, tier: Tier) -> u64 {
        self.budget.used_bytes(tier)
    }

    /// An object that was there before the planner watched, found in
    /// `tier`: its statistics start now. Returns the moves that fitting
    /// it into the budget takes (none while its tier has room).
    pub fn existing(&mut self, key: K, facts: Facts, tier: Tier, now_ms: u64) -> Vec<Step<K>> {
        self.existing_with(key, facts, tier, AccessStats::new(facts.content, now_ms), now_ms)
    }

    /// As [`Planner::existing`], with the statistics it had when last kept
    /// (the engine stores them; a restart does not forget an object's reads).
    pub fn existing_with(&mut self, key: K, facts: Facts, tier: Tier, stats: AccessStats, now_ms: u64) -> Vec<Step<K>> {
        self.removed(key);
        let rank = self.policy.rank(&stats, facts.size_bytes);
        self.insert(key, Known { stats, facts, written: false, slot: 0, placed: None });
        let admission = self.budget.admit(key, facts.size_bytes, tier, rank, Mode::Ranked);
        let rule = admission.refused.unwrap_or(Rule::Steady);
        let steps = self.steps(admission.moves, rule, now_ms);
        found_in(key, tier, steps)
    }

    /// An object written now (or written again: it starts afresh). The
    /// first step, if any, places it (`from` is `None`).
    pub fn written(&mut self, key: K, facts: Facts, now_ms: u64) -> Vec<Step<K>> {
        self.removed(key);
        let stats = AccessStats::new(facts.content, now_ms);
        self.insert(key, Known { stats, facts, written: true, slot: 0, placed: None });
        self.read_back.written(facts.content, facts.size_bytes, now_ms, self.policy.config());
        match self.decide(key, None, now_ms) {
            Some(d) => self.carry_out(key, facts.size_bytes, &d),
            None => Vec::new(),
        }
    }

    /// `key` was read. Unknown keys are ignored.
    pub fn read(&mut self, key: K, access: Access) -> Vec<Step<K>> {
        let now_ms = access.now_ms;
        let cfg = self.policy.config();
        let Some(known) = self.objects.get_mut(&key) else {
            return Vec::new();
        };
        if known.written {
            self.read_back.read(&known.stats, known.facts.size_bytes, now_ms, cfg);
        }
        let silent = self.policy.silent(&known.stats, self.swept_ms, now_ms);
        self.survival.read(known.facts.content, silent, now_ms, cfg);
        let (lift, reads) = (self.policy.hour_lift(&known.stats, now_ms), known.stats.reads());
        known.stats.record(access, cfg);
        // A range that continues a stream is the same access going on.
        if known.stats.reads() > reads {
            self.rhythm.read(known.facts.content, lift, now_ms, cfg);
        }
        let (content, size_bytes) = (known.facts.content, known.facts.size_bytes);
        let learned = self.learned(content, now_ms);
        let Some(known) = self.objects.get(&key) else {
            return Vec::new();
        };
        let rank = self.policy.rank_at(&known.stats, size_bytes, now_ms, &learned);
        self.budget.set_rank(key, rank);
        let tier = self.budget.tier_of(key);
        match self.decide(key, tier, now_ms) {
            Some(d) if d.moves() => self.carry_out(key, size_bytes, &d),
            _ => Vec::new(),
        }
    }

    /// Decay and time of day act without a read, and ranks follow the hour
    /// of day: look at everyone (hourly).
    pub fn sweep(&mut self, now_ms: u64) -> Vec<Step<K>> {
        let mut steps = Vec::new();
        let mut next = Some(0);
        while let Some(start) = next {
            next = self.sweep_some(now_ms, start, usize::MAX, &mut steps);
        }
        steps
    }

    /// Part of a sweep: up to `limit` objects from position `start` of the
    /// sweep order, their steps added to `steps`. Returns where to go on,
    /// or `None` once every object is seen (the sweep is then complete). A
    /// caller spreads a sweep over many calls so that no call holds its
    /// thread long; objects removed meanwhile may shift one object past it.
    pub fn sweep_some(&mut self, now_ms: u64, start: usize, limit: usize, steps: &mut Vec<Step<K>>) -> Option<usize> {
        let end = start.saturating_add(limit).min(self.order.len());
        for i in start..end {
            let key = self.order[i];
            let Some(known) = self.objects.get(&key) else {
                continue;
            };
            let silent = self.policy.silent(&known.stats, self.swept_ms, now_ms);
            self.survival.swept(known.facts.content, silent, now_ms, self.policy.config());
            let size_bytes = known.facts.size_bytes;
            let tier = self.budget.tier_of(key);
            let Some(d) = self.decide(key, tier, now_ms) else {
                continue;
            };
            self.budget.set_rank(key, Rank::new(d.reason.scores.rank));
            if d.moves() {
                steps.extend(self.carry_out(key, size_bytes, &d));
            }
        }
        if end < self.order.len() {
            return Some(end);
        }
        self.swept_ms = now_ms;
        None
    }

    /// Forgets `key` (deleted).
    pub fn removed(&mut self, key: K) {
        self.budget.remove(key);
        let Some(gone) = self.objects.remove(&key) else {
            return;
        };
        let slot = gone.slot as usize;
        if slot >= self.order.len() {
            return;
        }
        self.order.swap_remove(slot);
        if let Some(moved) = self.order.get(slot).copied() {
            if let Some(k) = self.objects.get_mut(&moved) {
                k.slot = gone.slot;
            }
        }
    }

    /// A planned step could not be carried out: `key` is still in `actual`.
    /// It is planned there again if that tier has room for it, colder if
    /// not (the steps returned); the next sweep tries again.
    pub fn not_moved(&mut self, key: K, actual: Tier, now_ms: u64) -> Vec<Step<K>> {
        let Some(known) = self.objects.get(&key) else {
            return Vec::new();
        };
        let size_bytes = known.facts.size_bytes;
        let rank = self.policy.rank(&known.stats, size_bytes);
        self.budget.remove(key);
        let admission = self.budget.admit(key, size_bytes, actual, rank, Mode::Spare);
        let rule = admission.refused.unwrap_or(Rule::Steady);
        let steps = self.steps(admission.moves, rule, now_ms);
        found_in(key, actual, steps)
    }

    /// Why `key` is where it is planned, and what the policy says now.
    pub fn explain(&self, key: K, now_ms: u64) -> Option<Explanation> {
        let known = self.objects.get(&key)?;
        let planned = self.budget.tier_of(key);
        let now = self.decide(key, planned, now_ms)?;
        Some(Explanation { planned, placed: known.placed.map(|p| p.unpack(&self.budget)), now })
    }

    fn insert(&mut self, key: K, mut known: Known) {
        known.slot = u32::try_from(self.order.len()).unwrap_or(u32::MAX);
        self.order.push(key);
        self.objects.insert(key, known);
    }

    fn decide(&self, key: K, tier: Option<Tier>, now_ms: u64) -> Option<Decision> {
        let known = self.objects.get(&key)?;
        let cfg = self.policy.config();
        let content = known.facts.content;
        let view = ObjectView {
            stats: &known.stats,
            size_bytes: known.facts.size_bytes,
            hint: known.facts.hint,
            tier,
            read_back: self.read_back.share(content, now_ms, cfg),
            read_again: self.read_back.again_share(content, now_ms, cfg),
            learned: self.learned(content, now_ms),
        };
        Some(self.policy.decide(&view, now_ms))
    }

    fn learned(&self, content: ContentClass, now_ms: u64) -> Learned {
        let cfg = self.policy.config();
        Learned {
            survival: self.survival.curve(content, now_ms, cfg),
            rhythm_gain: self.rhythm.gain(content, now_ms, cfg),
        }
    }

    /// Hands a decision to the budget; returns every move it plans.
    fn carry_out(&mut self, key: K, size_bytes: u64, d: &Decision) -> Vec<Step<K>> {
        let Some(known) = self.objects.get(&key) else {
            return Vec::new();
        };
        let now_ms = d.reason.inputs.now_ms;
        let rank = match d.reason.rule {
            // Its reads are yet to come: admit it as if they had come.
            Rule::TimeOfDay => self.policy.expected_rank(&known.stats, size_bytes, now_ms),
            _ => Rank::new(d.reason.scores.rank),
        };
        let mode = match d.reason.rule {
            Rule::Pinned => Mode::Pinned,
            Rule::Spike => Mode::Forced,
            Rule::Spare => Mode::Spare,
            _ => Mode::Ranked,
        };
        self.budget.set_floor(Tier::Warm, self.policy.floor_rank(Tier::Warm, now_ms));
        let want = if self.hot_takes(key, size_bytes, rank, d) { Tier::Hot } else { d.tier };
        let admission = self.budget.admit(key, size_bytes, want, rank, mode);
        self.steps(admission.moves, d.reason.rule, now_ms)
    }

    /// An object promoted to warm by frequency goes hot instead when hot
    /// would take it by rank: it outranks hot's coldest by the admission
    /// margin, so its bytes are worth more there than theirs. The rate
    /// thresholds say whether an object is worth a move up at all; where
    /// it goes is the ranks' to say. On mixed at hot 10 % objects read
    /// about once a day waited in warm, read from there, while hot held
    /// objects read less (0.25-0.28 points of hot byte hit).
    fn hot_takes(&self, key: K, size_bytes: u64, rank: Rank, d: &Decision) -> bool {
        d.reason.rule == Rule::Frequency
            && d.tier == Tier::Warm
            && self.budget.tier_of(key) != Some(Tier::Hot)
            && self.budget.fits(key, size_bytes, Tier::Hot, rank, Mode::Ranked)
    }

    /// The budget's moves as steps, each remembered as its object's placement.
    fn steps(&mut self, moves: Vec<crate::Move<K>>, rule: Rule, now_ms: u64) -> Vec<Step<K>> {
        moves
            .into_iter()
            .map(|m| {
                let rule = m.budget.unwrap_or(rule);
                if let Some(k) = self.objects.get_mut(&m.key) {
                    k.placed = Some(Packed::new(Placed { rule, at_ms: now_ms, from: m.from, to: m.to }));
                }
                Step { key: m.key, from: m.from, to: m.to, size_bytes: m.size_bytes, rule }
            })
            .collect()
    }
}

/// The budget books an object it did not know as new (`from: None`); it
/// is in fact in `tier`, so its own step moves it from there, if anywhere.
fn found_in<K: PartialEq>(key: K, tier: Tier, steps: Vec<Step<K>>) -> Vec<Step<K>> {
    steps
        .into_iter()
        .filter_map(|mut s| {
            if s.key == key {
                if s.to == tier {
                    return None;
                }
                s.from = Some(tier);
            }
            Some(s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyConfig;

    const HOUR: u64 = 3_600_000;
    const DAY: u64 = 24 * HOUR;

    fn quick() -> PolicyConfig {
        PolicyConfig { warmup_ms: 0, ..PolicyConfig::default() }
    }

    fn facts(size_bytes: u64) -> Facts {
        Facts { size_bytes, content: ContentClass::Other, hint: Hint::Auto }
    }

    fn planner(hot_bytes: u64) -> Planner<u32> {
        let policy = Policy::new(quick(), 0).expect("valid config");
        Planner::new(policy, Capacity { hot_bytes: Some(hot_bytes), warm_bytes: Some(10 * hot_bytes) })
    }

    fn read(p: &mut Planner<u32>, key: u32, now_ms: u64) -> Vec<Step<u32>> {
        p.read(key, Access { now_ms, offset: 0, length: 1000 })
    }

    #[test]
    fn a_busy_object_found_cold_is_planned_hot_and_says_why() {
        let mut p = planner(10_000);
        assert!(p.existing(1, facts(1000), Tier::Cold, DAY).is_empty());
        let mut steps = Vec::new();
        for i in 0..60 {
            steps.extend(read(&mut p, 1, DAY + i * 60_000));
        }
        let up = steps.iter().find(|s| s.key == 1).expect("promoted");
        assert_eq!((up.from, up.to), (Some(Tier::Cold), Tier::Hot), "{steps:?}");
        let why = p.explain(1, DAY + HOUR).expect("known");
        assert_eq!(why.planned, Some(Tier::Hot));
        let placed = why.placed.expect("a move placed it");
        assert_eq!((placed.rule, placed.to), (up.rule, Tier::Hot));
    }

    #[test]
    fn an_object_found_with_its_kept_statistics_keeps_its_reads() {
        let mut p = planner(10_000);
        p.existing(1, facts(1000), Tier::Warm, DAY);
        for i in 0..30 {
            read(&mut p, 1, DAY + i * 60_000);
        }
        let kept = *p.stats(1).expect("known");
        let mut again = planner(10_000);
        again.existing_with(1, facts(1000), Tier::Warm, kept, DAY + HOUR);
        assert_eq!(again.stats(1), Some(&kept));
        let why = again.explain(1, DAY + HOUR).expect("known");
        assert_eq!(why.now.reason.inputs.reads, kept.reads());
        let fresh = {
            let mut q = planner(10_000);
            q.existing(1, facts(1000), Tier::Warm, DAY + HOUR);
            q.explain(1, DAY + HOUR).expect("known").now.reason.scores.rank
        };
        assert!(why.now.reason.scores.rank > fresh, "a read object outranks one never read");
    }

    #[test]
    fn an_unread_hot_object_decays_on_a_sweep() {
        let mut p = planner(10_000);
        p.existing(1, facts(1000), Tier::Hot, DAY);
        assert!(p.sweep(DAY + HOUR).is_empty(), "nothing to do an hour later");
        let later = DAY + 3 * DAY;
        let steps = p.sweep(later);
        let down = steps.iter().find(|s| s.key == 1).expect("demoted");
        assert_eq!(down.from, Some(Tier::Hot));
        assert!(down.to > Tier::Hot);
        assert_eq!(p.tier_of(1), Some(down.to));
        assert_eq!(p.explain(1, later).and_then(|w| w.placed).map(|p| p.rule), Some(down.rule));
    }

    #[test]
    fn a_promotion_to_warm_goes_hot_where_hot_takes_it_by_rank() {
        // Read twice half a day apart: its rate earns warm, not hot.
        let promote = |p: &mut Planner<u32>| {
            p.existing(2, facts(1000), Tier::Cold, DAY);
            assert!(read(p, 2, DAY + HOUR).is_empty());
            read(p, 2, DAY + 13 * HOUR)
        };
        let warm_by_rate = |steps: &[Step<u32>]| {
            let rule = steps.iter().find(|s| s.key == 2).map(|s| s.rule);
            assert_eq!(rule, Some(Rule::Frequency), "{steps:?}");
        };
        // Hot is full of an object never read: the promotion takes its room.
        let mut p = planner(1000);
        p.existing(1, facts(1000), Tier::Hot, DAY);
        let steps = promote(&mut p);
        warm_by_rate(&steps);
        assert_eq!((p.tier_of(2), p.tier_of(1)), (Some(Tier::Hot), Some(Tier::Cold)), "{steps:?}");
        // Hot is full of an object read every minute: it goes warm.
        let mut p = planner(1000);
        p.existing(1, facts(1000), Tier::Hot, DAY);
        for i in 0..120 {
            read(&mut p, 1, DAY + 11 * HOUR + i * 60_000);
        }
        let steps = promote(&mut p);
        warm_by_rate(&steps);
        assert_eq!((p.tier_of(2), p.tier_of(1)), (Some(Tier::Warm), Some(Tier::Hot)), "{steps:?}");
    }

    #[test]
    fn a_sweep_in_parts_plans_what_one_sweep_plans() {
        let build = || {
            let mut p = planner(2_500);
            for k in 0..7 {
                p.existing(k, facts(1000), if k < 2 { Tier::Hot } else { Tier::Warm }, DAY);
            }
            for k in 2..5 {
                for i in 0..10 {
                    read(&mut p, k, DAY + k as u64 * 1000 + i * 60_000);
                }
            }
            p
        };
        let later = DAY + 3 * DAY;
        let whole = build().sweep(later);
        let mut parts = build();
        let (mut steps, mut next, mut calls) = (Vec::new(), Some(0), 0);
        while let Some(start) = next {
            next = parts.sweep_some(later, start, 2, &mut steps);
            calls += 1;
        }
        assert_eq!(calls, 4, "seven objects, two a call");
        assert_eq!(steps, whole);
        assert!(!whole.is_empty(), "the sweep had work: {whole:?}");
    }

    #[test]
    fn a_packed_placement_unpacks_to_its_rule_tiers_and_second() {
        let budget: Budget<u32> = Budget::new(Capacity { hot_bytes: Some(500), warm_bytes: None }, 1.0);
        let unit = [
            Rule::Pinned,
            Rule::Hint,
            Rule::ContentDefault,
            Rule::ReadBack,
            Rule::ReadBackDone,
            Rule::Warmup,
            Rule::Spike,
            Rule::Streaming,
            Rule::Frequency,
            Rule::TimeOfDay,
            Rule::Decay,
            Rule::Spare,
            Rule::Steady,
        ];
        for rule in unit {
            let placed = Placed { rule, at_ms: 12_345_678, from: Some(Tier::Cold), to: Tier::Warm };
            assert_eq!(Packed::new(placed).unpack(&budget), Placed { at_ms: 12_345_000, ..placed });
        }
        let rule = Rule::Budget { tier: Tier::Hot, used_bytes: 1, capacity_bytes: 2, rival_rank: 3.0 };
        let back = Packed::new(Placed { rule, at_ms: 0, from: None, to: Tier::Warm }).unpack(&budget);
        match back.rule {
            Rule::Budget { tier, used_bytes, capacity_bytes, .. } => {
                assert_eq!((tier, used_bytes, capacity_bytes), (Tier::Hot, 0, 500), "the budget's figures now")
            }
            other => panic!("not a budget rule: {other:?}"),
        }
        assert!(std::mem::size_of::<Packed>() <= 8);
    }

    #[test]
    fn removing_keeps_the_sweep_order_whole() {
        let mut p = planner(10_000);
        for k in 0..5 {
            p.existing(k, facts(1000), Tier::Warm, DAY);
        }
        p.removed(1);
        p.removed(4);
        p.removed(9);
        assert_eq!(p.len(), 3);
        let mut seen: Vec<u32> = p.order.clone();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 2, 3]);
        for (i, k) in p.order.iter().enumerate() {
            assert_eq!(p.objects.get(k).map(|o| o.slot as usize), Some(i));
        }
        assert_eq!(p.tier_of(1), None);
        assert!(read(&mut p, 1, DAY + HOUR).is_empty(), "a removed key is ignored");
    }

    #[test]
    fn the_hot_budget_is_never_exceeded_by_found_objects() {
        let mut p = planner(2_500);
        let mut steps = Vec::new();
        for k in 0..5 {
            steps.extend(p.existing(k, facts(1000), Tier::Hot, DAY));
        }
        assert!(p.used_bytes(Tier::Hot) <= 2_500);
        assert_eq!(steps.len(), 3, "three of five found hot must leave: {steps:?}");
        assert!(steps.iter().all(|s| s.from == Some(Tier::Hot) && s.to != Tier::Hot));
    }

    #[test]
    fn a_move_that_failed_is_planned_where_the_object_is() {
        let mut p = planner(10_000);
        p.existing(1, facts(1000), Tier::Hot, DAY);
        let steps = p.sweep(DAY + 3 * DAY);
        assert!(steps.iter().any(|s| s.key == 1 && s.to != Tier::Hot));
        assert!(p.not_moved(1, Tier::Hot, DAY + 3 * DAY).is_empty(), "hot has room");
        assert_eq!(p.tier_of(1), Some(Tier::Hot));
    }

    #[test]
    fn a_written_object_is_placed_and_a_rewrite_starts_afresh() {
        let mut p = planner(10_000);
        let steps = p.written(7, facts(1000), DAY);
        assert_eq!(steps.first().map(|s| (s.key, s.from)), Some((7, None)));
        p.written(7, facts(3000), DAY + HOUR);
        assert_eq!(p.len(), 1);
        let planned = p.tier_of(7).expect("planned");
        assert_eq!(p.used_bytes(planned), 3000, "the old size is gone from the budget");
    }
}
