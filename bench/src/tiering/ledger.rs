//! The simulator's own books: which tier each object is in, bytes per tier,
//! and the tally of hits, moves and storage. Kept apart from any model, so
//! a model that breaks a capacity is caught, not trusted.

use std::collections::BTreeMap;

use serde::Serialize;
use stratum_tiering::Tier;

use crate::tiering::trace::{Event, ObjectId};

/// What happened in the scored window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    pub read_bytes_total: u64,
    pub hot_hit_bytes: u64,
    /// GETs and bytes read, per tier the object was in when read.
    pub gets: [u64; 3],
    pub read_bytes: [u64; 3],
    pub moves: u64,
    pub bytes_moved: u64,
    /// Moves up and down, separately: promotions cost a read of the colder tier.
    pub bytes_promoted: u64,
    /// Placements and moves, per reason.
    pub decisions: BTreeMap<String, u64>,
    /// Moves per reason and direction, e.g. `decay hot>warm`.
    pub transitions: BTreeMap<String, u64>,
    /// Integral of bytes held per tier over time, for storage cost.
    pub byte_ms: [f64; 3],
    /// Times a tier held more than its capacity: must stay 0.
    pub capacity_violations: u64,
    /// Bytes read and hot hit bytes per key prefix (the name up to its
    /// first `/`): which part of a mixed trace a model serves well.
    pub by_prefix: BTreeMap<String, PrefixTally>,
}

/// Reads of the objects sharing one key prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PrefixTally {
    pub read_bytes: u64,
    pub hot_hit_bytes: u64,
}

#[derive(Debug)]
pub struct Ledger {
    tier: Vec<Option<Tier>>,
    size: Vec<u64>,
    used: [u64; 3],
    capacity: [Option<u64>; 3],
    /// Per object, the index of its key prefix in `prefixes`.
    prefix: Vec<u16>,
    prefixes: Vec<(String, PrefixTally)>,
    now_ms: u64,
    scored_from_ms: u64,
    pub tally: Tally,
}

impl Ledger {
    /// Capacities for hot and warm; cold is unbounded. Nothing before
    /// `scored_from_ms` is tallied (every model warms up alike).
    pub fn new(sizes: Vec<u64>, hot: Option<u64>, warm: Option<u64>, scored_from_ms: u64) -> Ledger {
        Ledger {
            tier: vec![None; sizes.len()],
            size: sizes,
            used: [0; 3],
            capacity: [hot, warm, None],
            prefix: Vec::new(),
            prefixes: Vec::new(),
            now_ms: 0,
            scored_from_ms,
            tally: Tally::default(),
        }
    }

    /// Tallies reads per key prefix of these object names (by object id).
    pub fn group_by_prefix<'a>(&mut self, names: impl Iterator<Item = &'a str>) {
        let mut index: BTreeMap<&str, u16> = BTreeMap::new();
        self.prefix = names
            .map(|name| {
                let prefix = name.split('/').next().unwrap_or(name);
                let next = u16::try_from(index.len()).unwrap_or(u16::MAX);
                *index.entry(prefix).or_insert(next)
            })
            .collect();
        let mut names: Vec<(&str, u16)> = index.into_iter().collect();
        names.sort_by_key(|(_, i)| *i);
        self.prefixes = names.into_iter().map(|(n, _)| (n.to_string(), PrefixTally::default())).collect();
    }

    /// The tally, with the reads per key prefix folded in.
    pub fn finish(mut self) -> Tally {
        for (name, t) in self.prefixes {
            self.tally.by_prefix.insert(name, t);
        }
        self.tally
    }

    pub fn tier(&self, obj: ObjectId) -> Option<Tier> {
        self.tier.get(obj as usize).copied().flatten()
    }
    pub fn size(&self, obj: ObjectId) -> u64 {
        self.size.get(obj as usize).copied().unwrap_or(0)
    }
    pub fn capacity(&self, tier: Tier) -> Option<u64> {
        self.capacity[tier.index()]
    }
    pub fn free(&self, tier: Tier) -> u64 {
        self.capacity(tier).map_or(u64::MAX, |c| c.saturating_sub(self.used[tier.index()]))
    }
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }
    fn scoring(&self) -> bool {
        self.now_ms >= self.scored_from_ms
    }

    /// Moves the clock, integrating bytes held per tier.
    pub fn advance(&mut self, now_ms: u64) {
        let start = self.now_ms.max(self.scored_from_ms);
        if now_ms > start {
            let dt = (now_ms - start) as f64;
            for i in 0..3 {
                self.tally.byte_ms[i] += self.used[i] as f64 * dt;
            }
        }
        self.now_ms = self.now_ms.max(now_ms);
    }

    /// Scores a read against the tier the object is in now.
    pub fn read(&mut self, ev: &Event) {
        let Some(tier) = self.tier(ev.obj) else {
            return;
        };
        if !self.scoring() {
            return;
        }
        let t = &mut self.tally;
        t.read_bytes_total += ev.length;
        t.gets[tier.index()] += 1;
        t.read_bytes[tier.index()] += ev.length;
        if tier == Tier::Hot {
            t.hot_hit_bytes += ev.length;
        }
        let group = self.prefix.get(ev.obj as usize).and_then(|g| self.prefixes.get_mut(usize::from(*g)));
        if let Some((_, g)) = group {
            g.read_bytes += ev.length;
            if tier == Tier::Hot {
                g.hot_hit_bytes += ev.length;
            }
        }
    }

    /// Puts `obj` in `to` (placing it if new), counting a move if it was
    /// elsewhere, and the reason either way.
    pub fn set(&mut self, obj: ObjectId, to: Tier, reason: &str) {
        let size = self.size(obj);
        let from = self.tier(obj);
        if from == Some(to) {
            return;
        }
        if let Some(f) = from {
            self.used[f.index()] -= size;
        }
        self.used[to.index()] += size;
        if let Some(slot) = self.tier.get_mut(obj as usize) {
            *slot = Some(to);
        }
        if self.capacity(to).is_some_and(|c| self.used[to.index()] > c) {
            self.tally.capacity_violations += 1;
        }
        if !self.scoring() {
            return;
        }
        let t = &mut self.tally;
        *t.decisions.entry(reason.to_string()).or_default() += 1;
        if let Some(f) = from {
            *t.transitions.entry(format!("{reason} {f}>{to}")).or_default() += 1;
            t.moves += 1;
            t.bytes_moved += size;
            if to < f {
                t.bytes_promoted += size;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiering::trace::Op;

    #[test]
    fn tallies_hits_moves_and_violations_after_the_warm_up_only() {
        let mut l = Ledger::new(vec![10, 20], Some(15), None, 100);
        l.set(0, Tier::Hot, "place");
        l.set(1, Tier::Cold, "place");
        let ev = |obj, ts_ms| Event { ts_ms, obj, op: Op::Get, offset: 0, length: 5 };
        l.read(&ev(0, 50));
        assert_eq!(l.tally.read_bytes_total, 0);
        l.advance(100);
        l.read(&ev(0, 100));
        l.read(&ev(1, 100));
        assert_eq!((l.tally.hot_hit_bytes, l.tally.read_bytes_total), (5, 10));
        l.set(1, Tier::Hot, "spike");
        assert_eq!(l.tally.capacity_violations, 1);
        assert_eq!((l.tally.moves, l.tally.bytes_moved, l.tally.bytes_promoted), (1, 20, 20));
        l.advance(110);
        assert_eq!(l.tally.byte_ms[0], 300.0);
    }

    #[test]
    fn tallies_reads_per_key_prefix() {
        let mut l = Ledger::new(vec![10, 10, 10], Some(15), None, 0);
        l.group_by_prefix(["a/1", "b/1", "a/2"].into_iter());
        l.set(0, Tier::Hot, "place");
        l.set(1, Tier::Cold, "place");
        l.set(2, Tier::Cold, "place");
        for obj in [0, 1, 2, 0] {
            l.read(&Event { ts_ms: 1, obj, op: Op::Get, offset: 0, length: 4 });
        }
        let t = l.finish();
        assert_eq!(t.by_prefix["a"], PrefixTally { read_bytes: 12, hot_hit_bytes: 8 });
        assert_eq!(t.by_prefix["b"], PrefixTally { read_bytes: 4, hot_hit_bytes: 0 });
    }
}
