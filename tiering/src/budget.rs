//! The capacity budget: never plan more bytes into a tier than it holds,
//! and when a tier is full, displace its coldest objects first.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::decision::Rule;
use crate::limits::TIERS;
use crate::Tier;

/// How valuable it is to keep an object warm; larger is hotter. Totally
/// ordered (NaN, which no finite input produces, counts as coldest).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rank(f64);

impl Rank {
    pub fn new(value: f64) -> Rank {
        Rank(if value.is_nan() { f64::NEG_INFINITY } else { value })
    }
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Eq for Rank {}
impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Rank {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Bytes each tier may hold. Cold is the floor and unbounded here: it must
/// take whatever is displaced from above (a remote S3 or an archive pool);
/// a store that is full everywhere refuses writes before tiering is asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Capacity {
    pub hot_bytes: Option<u64>,
    pub warm_bytes: Option<u64>,
}

/// How an admission may displace others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only objects ranked lower by more than the margin.
    Ranked,
    /// The coldest, whatever their rank (a spike must get in now).
    Forced,
    /// As forced, and the object itself is never displaced.
    Pinned,
    /// Free room only: displaces no one.
    Spare,
}

/// One planned move. `budget` is set when capacity, not the caller's rule,
/// decided where the object goes (it was displaced, or did not fit).
#[derive(Clone, Debug, PartialEq)]
pub struct Move<K> {
    pub key: K,
    /// `None` for a new object being placed.
    pub from: Option<Tier>,
    pub to: Tier,
    pub size_bytes: u64,
    pub budget: Option<Rule>,
}

/// The outcome of [`Budget::admit`]: where the object ended up (which may be
/// colder than wanted, or unchanged) and every move that takes, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Admission<K> {
    pub tier: Tier,
    pub moves: Vec<Move<K>>,
    /// Set when the object did not get the tier it wanted.
    pub refused: Option<Rule>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    tier: Tier,
    size_bytes: u64,
    rank: Rank,
    pinned: bool,
}

/// Which tier every object is planned in, and the bytes per tier. Pure
/// bookkeeping: the engine carries out the moves it returns.
#[derive(Clone, Debug)]
pub struct Budget<K> {
    capacity_bytes: [Option<u64>; TIERS],
    used_bytes: [u64; TIERS],
    margin_log2: f64,
    /// Per tier, the rank below which a displaced object is not worth
    /// keeping there: it falls past to a colder tier.
    floor: [Option<Rank>; TIERS],
    /// Unpinned objects per tier, coldest first.
    by_rank: [BTreeSet<(Rank, K)>; TIERS],
    entries: HashMap<K, Entry>,
}

impl<K: Copy + Ord + Hash> Budget<K> {
    /// `margin_log2` is how much hotter (in log2 rank units) an object must
    /// be to displace another in [`Mode::Ranked`].
    pub fn new(capacity: Capacity, margin_log2: f64) -> Budget<K> {
        Budget {
            capacity_bytes: [capacity.hot_bytes, capacity.warm_bytes, None],
            used_bytes: [0; TIERS],
            margin_log2: margin_log2.max(0.0),
            floor: [None; TIERS],
            by_rank: Default::default(),
            entries: HashMap::new(),
        }
    }

    pub fn tier_of(&self, key: K) -> Option<Tier> {
        self.entries.get(&key).map(|e| e.tier)
    }
    pub fn used_bytes(&self, tier: Tier) -> u64 {
        self.used_bytes[tier.index()]
    }
    pub fn capacity_bytes(&self, tier: Tier) -> Option<u64> {
        self.capacity_bytes[tier.index()]
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets the rank below which an object displaced from a warmer tier
    /// skips `tier` (see [`crate::Policy::floor_rank`]): one move to cold
    /// instead of one to warm and, soon after, another to cold. Cold takes
    /// everything whatever its floor.
    pub fn set_floor(&mut self, tier: Tier, floor: Option<Rank>) {
        if tier != Tier::Cold {
            self.floor[tier.index()] = floor;
        }
    }

    /// Records a new rank for a planned object (after an access). O(log n).
    pub fn set_rank(&mut self, key: K, rank: Rank) {
        if let Some(e) = self.take(key) {
            self.put(key, Entry { rank, ..e });
        }
    }

    /// Forgets an object (deleted). Returns the tier it was planned in.
    pub fn remove(&mut self, key: K) -> Option<Tier> {
        self.take(key).map(|e| e.tier)
    }

    /// Plans `key` into `want`. A new object, or one moving down, falls
    /// through to colder tiers when `want` is full (cold always has room);
    /// one moving up stays put if `want` has no room for it. A changed size
    /// is a new object.
    pub fn admit(&mut self, key: K, size_bytes: u64, want: Tier, rank: Rank, mode: Mode) -> Admission<K> {
        let old = self.entries.get(&key).copied();
        let old = match old {
            Some(e) if e.size_bytes != size_bytes => self.take(key).and(None),
            other => other,
        };
        let pinned = mode == Mode::Pinned;
        let new = Entry { tier: want, size_bytes, rank, pinned };
        if let Some(e) = old.filter(|e| e.tier == want) {
            self.take(key);
            self.put(key, Entry { tier: e.tier, ..new });
            return Admission { tier: want, moves: Vec::new(), refused: None };
        }
        let from = old.map(|e| e.tier);
        let candidates: Vec<Tier> = match from {
            // Up: only to `want`. Settling in between would cost a move
            // that no rule asked for (the caller may ask for it).
            Some(current) if want < current => vec![want],
            // New, or down: from `want` down to cold.
            _ => Tier::ALL.into_iter().filter(|t| *t >= want).collect(),
        };
        let refused = self.refusal(want, rank);
        for tier in candidates {
            if let Some(victims) = self.room_for(tier, key, size_bytes, rank, mode) {
                let why = (tier != want).then_some(refused);
                let mut moves = Vec::new();
                self.settle(key, from, Entry { tier, ..new }, victims, why, &mut moves);
                return Admission { tier, moves, refused: why };
            }
        }
        // Only a promotion can find no room: it stays where it is.
        let current = from.unwrap_or(Tier::Cold);
        self.take(key);
        self.put(key, Entry { tier: current, ..new });
        Admission { tier: current, moves: Vec::new(), refused: Some(refused) }
    }

    /// Whether `key` would get room in `tier` by the rules of `mode`
    /// (displacing only objects it outranks by the margin, in
    /// [`Mode::Ranked`]), without planning anything.
    pub fn fits(&self, key: K, size_bytes: u64, tier: Tier, rank: Rank, mode: Mode) -> bool {
        self.room_for(tier, key, size_bytes, rank, mode).is_some()
    }

    /// The budget rule for an object that wanted `tier` and may not get it:
    /// it had to beat the coldest there.
    fn refusal(&self, tier: Tier, rank: Rank) -> Rule {
        let coldest = self.by_rank[tier.index()].first().map(|(r, _)| r.get());
        Rule::Budget {
            tier,
            used_bytes: self.used_bytes(tier),
            capacity_bytes: self.capacity_bytes(tier).unwrap_or(u64::MAX),
            rival_rank: coldest.map_or(rank.get(), |c| c + self.margin_log2),
        }
    }

    /// The objects to displace from `tier` so that `size_bytes` fits, coldest
    /// first, or `None` if it cannot fit by the rules of `mode`.
    fn room_for(&self, tier: Tier, key: K, size_bytes: u64, rank: Rank, mode: Mode) -> Option<Vec<K>> {
        let Some(capacity) = self.capacity_bytes(tier) else {
            return Some(Vec::new());
        };
        let free = capacity.saturating_sub(self.used_bytes(tier));
        let (mut freed, mut victims) = (0u64, Vec::new());
        for (victim_rank, victim) in &self.by_rank[tier.index()] {
            if free.saturating_add(freed) >= size_bytes {
                break;
            }
            if *victim == key {
                continue;
            }
            let outranked = victim_rank.get() + self.margin_log2 >= rank.get();
            if mode == Mode::Spare || (mode == Mode::Ranked && outranked) {
                return None;
            }
            freed += self.entries.get(victim).map_or(0, |e| e.size_bytes);
            victims.push(*victim);
        }
        (free.saturating_add(freed) >= size_bytes).then_some(victims)
    }

    /// Displaces `victims` from `entry.tier` into the warmest colder tiers
    /// that take them, then moves `key` there. Moves are listed in an order
    /// that can be carried out one by one without any tier ever holding
    /// more than its capacity: what leaves a tier is listed before what
    /// enters it, and `key`'s old place is not reused by its own victims.
    fn settle(
        &mut self,
        key: K,
        from: Option<Tier>,
        entry: Entry,
        victims: Vec<K>,
        why: Option<Rule>,
        moves: &mut Vec<Move<K>>,
    ) {
        let tier = entry.tier;
        let taken: Vec<(K, Entry)> = victims.into_iter().filter_map(|v| self.take(v).map(|e| (v, e))).collect();
        let rule = Rule::Budget {
            tier,
            used_bytes: self.used_bytes(tier),
            capacity_bytes: self.capacity_bytes(tier).unwrap_or(u64::MAX),
            rival_rank: entry.rank.get(),
        };
        for (victim, e) in taken {
            let below_floor = |t: &Tier| self.floor[t.index()].is_some_and(|f| e.rank < f);
            let colder: Vec<Tier> = Tier::ALL.into_iter().filter(|t| *t > tier && !below_floor(t)).collect();
            for to in colder {
                // Cold is unbounded, so the last candidate always has room.
                if let Some(next) = self.room_for(to, victim, e.size_bytes, e.rank, Mode::Ranked) {
                    let placed = Entry { tier: to, ..e };
                    self.settle(victim, Some(tier), placed, next, Some(rule), moves);
                    break;
                }
            }
        }
        self.take(key);
        self.put(key, entry);
        let size_bytes = entry.size_bytes;
        moves.push(Move { key, from, to: tier, size_bytes, budget: why });
    }

    fn take(&mut self, key: K) -> Option<Entry> {
        let e = self.entries.remove(&key)?;
        self.used_bytes[e.tier.index()] -= e.size_bytes;
        if !e.pinned {
            self.by_rank[e.tier.index()].remove(&(e.rank, key));
        }
        Some(e)
    }

    fn put(&mut self, key: K, e: Entry) {
        self.used_bytes[e.tier.index()] += e.size_bytes;
        if !e.pinned {
            self.by_rank[e.tier.index()].insert((e.rank, key));
        }
        self.entries.insert(key, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Prng;

    const CAP: Capacity = Capacity { hot_bytes: Some(100), warm_bytes: Some(200) };

    fn budget() -> Budget<u32> {
        Budget::new(CAP, 0.5)
    }

    #[test]
    fn fills_then_displaces_the_coldest_to_the_next_tier() {
        let mut b = budget();
        for k in 0..4 {
            let a = b.admit(k, 25, Tier::Hot, Rank::new(f64::from(k)), Mode::Ranked);
            assert_eq!(a.tier, Tier::Hot);
        }
        assert_eq!(b.used_bytes(Tier::Hot), 100);
        let a = b.admit(9, 50, Tier::Hot, Rank::new(10.0), Mode::Ranked);
        assert_eq!(a.tier, Tier::Hot);
        // Out of hot before the newcomer goes in.
        let order: Vec<(u32, Tier)> = a.moves.iter().map(|m| (m.key, m.to)).collect();
        assert_eq!(order, vec![(0, Tier::Warm), (1, Tier::Warm), (9, Tier::Hot)]);
        let budget_rule = |m: &Move<u32>| matches!(m.budget, Some(Rule::Budget { .. }));
        assert!(a.moves[..2].iter().all(budget_rule));
        assert_eq!(b.used_bytes(Tier::Hot), 100);
        assert_eq!(b.used_bytes(Tier::Warm), 50);
    }

    #[test]
    fn a_colder_object_cannot_displace_and_stays_or_falls_through() {
        let mut b = budget();
        b.admit(1, 100, Tier::Hot, Rank::new(5.0), Mode::Ranked);
        // Within the margin: no displacement.
        b.admit(2, 10, Tier::Cold, Rank::new(5.4), Mode::Ranked);
        let a = b.admit(2, 10, Tier::Hot, Rank::new(5.4), Mode::Ranked);
        assert_eq!((a.tier, a.moves.len()), (Tier::Cold, 0));
        assert!(matches!(a.refused, Some(Rule::Budget { tier: Tier::Hot, .. })));
        // A new object falls through to the warm tier.
        let a = b.admit(3, 10, Tier::Hot, Rank::new(0.0), Mode::Ranked);
        assert_eq!(a.tier, Tier::Warm);
        // Forced (a spike) displaces regardless of rank.
        let a = b.admit(3, 10, Tier::Hot, Rank::new(0.0), Mode::Forced);
        assert_eq!(a.tier, Tier::Hot);
        assert_eq!(b.tier_of(1), Some(Tier::Warm));
    }

    #[test]
    fn a_displaced_object_under_a_tier_floor_falls_past_it() {
        let mut b = budget();
        b.set_floor(Tier::Warm, Some(Rank::new(2.0)));
        b.admit(1, 50, Tier::Hot, Rank::new(1.0), Mode::Ranked);
        b.admit(2, 50, Tier::Hot, Rank::new(3.0), Mode::Ranked);
        // 1 is under warm's floor: one move, to cold, though warm is empty.
        let a = b.admit(3, 50, Tier::Hot, Rank::new(9.0), Mode::Ranked);
        let moves: Vec<(u32, Tier)> = a.moves.iter().map(|m| (m.key, m.to)).collect();
        assert_eq!(moves, vec![(1, Tier::Cold), (3, Tier::Hot)]);
        // 2 is above it: to warm.
        let a = b.admit(4, 50, Tier::Hot, Rank::new(9.0), Mode::Ranked);
        assert_eq!(a.moves[0].key, 2);
        assert_eq!(a.moves[0].to, Tier::Warm);
        // Cold has no floor to set, and a lifted floor lets anyone in.
        b.set_floor(Tier::Cold, Some(Rank::new(100.0)));
        b.set_floor(Tier::Warm, None);
        b.admit(5, 50, Tier::Hot, Rank::new(0.0), Mode::Forced);
        assert_eq!(b.tier_of(3), Some(Tier::Warm));
    }

    #[test]
    fn pinned_objects_are_never_displaced() {
        let mut b = budget();
        b.admit(1, 60, Tier::Hot, Rank::new(-9.0), Mode::Pinned);
        let a = b.admit(2, 60, Tier::Hot, Rank::new(9.0), Mode::Forced);
        assert_eq!(a.tier, Tier::Warm);
        assert_eq!(b.tier_of(1), Some(Tier::Hot));
    }

    #[test]
    fn resize_rank_and_remove_keep_the_books() {
        let mut b = budget();
        b.admit(1, 60, Tier::Hot, Rank::new(1.0), Mode::Ranked);
        b.admit(1, 80, Tier::Hot, Rank::new(1.0), Mode::Ranked);
        assert_eq!(b.used_bytes(Tier::Hot), 80);
        b.set_rank(1, Rank::new(3.0));
        assert_eq!(b.remove(1), Some(Tier::Hot));
        assert_eq!((b.used_bytes(Tier::Hot), b.len()), (0, 0));
    }

    /// Bytes per tier before an admission, to replay its moves one by one.
    struct Shadow {
        used: [u64; TIERS],
        tier: HashMap<u32, Tier>,
    }

    impl Shadow {
        fn before(b: &Budget<u32>, key: u32, size: u64) -> Shadow {
            let mut s = Shadow { used: b.used_bytes, tier: HashMap::new() };
            for (k, e) in &b.entries {
                if *k == key && e.size_bytes != size {
                    s.used[e.tier.index()] -= e.size_bytes; // a resize is a new object
                    continue;
                }
                s.tier.insert(*k, e.tier);
            }
            s
        }

        /// Every prefix of the moves must fit: the engine carries them out in order.
        fn replay(mut self, moves: &[Move<u32>], b: &Budget<u32>) {
            for m in moves {
                assert_eq!(self.tier.get(&m.key).copied(), m.from, "{m:?}");
                if let Some(f) = m.from {
                    self.used[f.index()] -= m.size_bytes;
                }
                self.used[m.to.index()] += m.size_bytes;
                self.tier.insert(m.key, m.to);
                if let Some(cap) = b.capacity_bytes(m.to) {
                    assert!(self.used[m.to.index()] <= cap, "{m:?} overfills {}", m.to);
                }
            }
        }
    }

    fn check_books(b: &Budget<u32>) {
        for t in Tier::ALL {
            let sum: u64 = b.entries.values().filter(|e| e.tier == t).map(|e| e.size_bytes).sum();
            assert_eq!(sum, b.used_bytes(t), "{t} books");
            if let Some(cap) = b.capacity_bytes(t) {
                assert!(b.used_bytes(t) <= cap, "{t}: {} > {cap}", b.used_bytes(t));
            }
            let unpinned = b.entries.values().filter(|e| e.tier == t && !e.pinned).count();
            assert_eq!(unpinned, b.by_rank[t.index()].len());
        }
    }

    #[test]
    fn property_capacity_is_never_exceeded_and_every_move_is_explained() {
        for seed in 1..=64u64 {
            let mut rng = Prng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let cap = Capacity { hot_bytes: Some(rng.below(500)), warm_bytes: Some(rng.below(1000)) };
            let mut b: Budget<u32> = Budget::new(cap, rng.below(3) as f64 * 0.5);
            for _ in 0..400 {
                let key = rng.below(40) as u32;
                let roll = rng.below(100);
                if roll < 3 {
                    let floor = (rng.below(3) > 0).then(|| Rank::new(rng.below(100) as f64 / 10.0));
                    b.set_floor(Tier::ALL[rng.below(3) as usize], floor);
                } else if roll < 5 {
                    b.remove(key);
                } else if roll < 20 {
                    b.set_rank(key, Rank::new(rng.below(100) as f64 / 10.0));
                } else {
                    let size = 1 + rng.below(120);
                    let want = Tier::ALL[rng.below(3) as usize];
                    let modes = [Mode::Ranked, Mode::Forced, Mode::Pinned, Mode::Spare];
                    let mode = modes[rng.below(4) as usize];
                    let rank = Rank::new(rng.below(100) as f64 / 10.0);
                    let shadow = Shadow::before(&b, key, size);
                    let a = b.admit(key, size, want, rank, mode);
                    shadow.replay(&a.moves, &b);
                    assert_eq!(b.tier_of(key), Some(a.tier));
                    assert_eq!(a.refused.is_some(), a.tier != want, "{a:?}");
                    for m in a.moves.iter().filter(|m| m.key != key) {
                        assert!(matches!(m.budget, Some(Rule::Budget { .. })), "{m:?}");
                        assert!(Some(m.to) > m.from, "displaced objects only go down");
                    }
                }
                check_books(&b);
            }
        }
    }
}
