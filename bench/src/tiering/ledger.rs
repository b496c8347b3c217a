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
}

#[derive(Debug)]
pub struct Ledger {
    tier: Vec<Option<Tier>>,
    size: Vec<u64>,
    used: [u64; 3],
    capacity: [Option<u64>; 3],
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
            now_ms: 0,
            scored_from_ms,
            tally: Tally::default(),
        }
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
}
