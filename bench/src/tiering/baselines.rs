//! The baselines the policy is measured against. All but Belady are what
//! real systems do; each is a [`Ranking`] plugged into one [`Cache`].
//!
//! When the hot tier is full:
//! - Belady (offline, sees the future): displaces the objects read again
//!   furthest in the future, and bypasses (leaves the object where it is)
//!   if the incoming object is itself read again later than all of those.
//!   With equal sizes that is optimal for hits; with mixed sizes it is the
//!   usual near-limit reference, not a proof of optimal bytes.
//! - LRU: every read of a non-hot object promotes it and displaces the
//!   least recently read.
//! - LFU: every read promotes and displaces the least often read (counts
//!   kept for all objects, ties broken by recency).
//! - Lifecycle (what MinIO, Ceph and RustFS offer): new objects go hot and
//!   age out by creation time, warm after 7 days, cold after 30; reads never
//!   promote. A full hot tier displaces the oldest early.
//! - Intelligent-Tiering (AWS's rules): objects go hot on write and on any
//!   read, warm after 30 days unread, cold after 90; objects under 128 KiB
//!   are never moved. The rules have no capacity: when hot is full nothing
//!   is displaced early (that would be LRU); the object stays where it is,
//!   or lands in warm (or cold) when new.
//!
//! Displaced objects go to warm by the same rule, and from a full warm to cold.

use std::collections::BTreeSet;

use stratum_tiering::Tier;

use crate::tiering::ledger::Ledger;
use crate::tiering::sim::{place_existing, Arrival, Model};
use crate::tiering::trace::{Event, ObjectId, ObjectInfo, Op, Trace};

const MS_PER_DAY: u64 = 86_400_000;
/// Intelligent-Tiering never moves objects smaller than this.
const IT_MIN_BYTES: u64 = 128 * 1024;

/// Order within a tier: the lowest key is displaced first.
pub type Key = (u64, u64);

/// What distinguishes one baseline from another.
pub trait Ranking {
    fn name(&self) -> &'static str;
    /// The key of the object after event `i`, given its key before.
    fn key(&mut self, i: usize, ev: &Event, prev: Option<Key>) -> Key;
    /// Whether a read of a non-hot object promotes it.
    fn promotes(&self) -> bool {
        true
    }
    /// Whether a full tier displaces residents (else the newcomer waits).
    fn displaces(&self) -> bool {
        true
    }
    /// Whether a newcomer ranked no higher than its victims is turned away.
    fn bypasses(&self) -> bool {
        false
    }
    /// Age past `key.0` at which an object leaves hot, and leaves warm.
    fn age_limits_ms(&self) -> [Option<u64>; 2] {
        [None, None]
    }
    fn movable(&self, _info: &ObjectInfo) -> bool {
        true
    }
    fn tick_ms(&self) -> u64 {
        3_600_000
    }
}

/// A baseline: per-tier sets ordered by key, over the simulator's ledger.
pub struct Cache<R> {
    rank: R,
    ranked: [BTreeSet<(Key, ObjectId)>; 2],
    key: Vec<Option<Key>>,
    movable: Vec<bool>,
}

impl<R: Ranking> Cache<R> {
    pub fn new(rank: R, trace: &Trace) -> Cache<R> {
        let movable = trace.objects.iter().map(|o| rank.movable(o)).collect();
        let n = trace.objects.len();
        Cache { rank, ranked: Default::default(), key: vec![None; n], movable }
    }

    fn key_of(&self, obj: ObjectId) -> Key {
        self.key.get(obj as usize).copied().flatten().unwrap_or((0, 0))
    }
    fn is_movable(&self, obj: ObjectId) -> bool {
        self.movable.get(obj as usize).copied().unwrap_or(true)
    }

    /// Plans `obj` into hot or warm, displacing by the ranking's rules.
    fn admit(&mut self, obj: ObjectId, tier: Tier, ledger: &mut Ledger, reason: &str) -> bool {
        let (size, key) = (ledger.size(obj), self.key_of(obj));
        let mut freed = ledger.free(tier);
        let mut victims = Vec::new();
        for (victim_key, victim) in &self.ranked[tier.index()] {
            if freed >= size {
                break;
            }
            if !self.rank.displaces() || (self.rank.bypasses() && *victim_key >= key) {
                return false;
            }
            freed = freed.saturating_add(ledger.size(*victim));
            victims.push(*victim);
        }
        if freed < size {
            return false;
        }
        for v in victims {
            self.demote(v, tier, ledger, "displaced");
        }
        self.put(obj, tier, ledger, reason);
        true
    }

    /// Moves `obj` out of `from` into the warmest colder tier that admits it.
    fn demote(&mut self, obj: ObjectId, from: Tier, ledger: &mut Ledger, reason: &str) {
        self.ranked[from.index()].remove(&(self.key_of(obj), obj));
        if from == Tier::Hot && self.admit(obj, Tier::Warm, ledger, reason) {
            return;
        }
        self.put(obj, Tier::Cold, ledger, reason);
    }

    fn put(&mut self, obj: ObjectId, tier: Tier, ledger: &mut Ledger, reason: &str) {
        let key = self.key_of(obj);
        if let Some(old) = ledger.tier(obj).filter(|t| *t != Tier::Cold) {
            self.ranked[old.index()].remove(&(key, obj));
        }
        ledger.set(obj, tier, reason);
        if tier != Tier::Cold && self.is_movable(obj) {
            self.ranked[tier.index()].insert((key, obj));
        }
    }

    fn rekey(&mut self, obj: ObjectId, key: Key, ledger: &Ledger) {
        let old = self.key_of(obj);
        if let Some(slot) = self.key.get_mut(obj as usize) {
            *slot = Some(key);
        }
        if let Some(t) = ledger.tier(obj).filter(|t| *t != Tier::Cold) {
            if self.ranked[t.index()].remove(&(old, obj)) {
                self.ranked[t.index()].insert((key, obj));
            }
        }
    }
}

impl<R: Ranking> Model for Cache<R> {
    fn name(&self) -> &'static str {
        self.rank.name()
    }

    fn arrive(&mut self, i: usize, ev: &Event, _info: &ObjectInfo, how: Arrival, ledger: &mut Ledger) {
        let key = self.rank.key(i, ev, None);
        if let Some(slot) = self.key.get_mut(ev.obj as usize) {
            *slot = Some(key);
        }
        // Existing objects start cold, except those a baseline never moves
        // (Intelligent-Tiering keeps small objects in its frequent tier).
        if how == Arrival::Existing && self.is_movable(ev.obj) {
            return place_existing(ev.obj, ledger);
        }
        let placed = [Tier::Hot, Tier::Warm].into_iter().any(|t| self.admit(ev.obj, t, ledger, "place"));
        if !placed {
            self.put(ev.obj, Tier::Cold, ledger, "place");
        }
    }

    fn read(&mut self, i: usize, ev: &Event, _info: &ObjectInfo, ledger: &mut Ledger) {
        let key = self.rank.key(i, ev, Some(self.key_of(ev.obj)));
        self.rekey(ev.obj, key, ledger);
        let promote = self.rank.promotes() && self.is_movable(ev.obj);
        if promote && ledger.tier(ev.obj) != Some(Tier::Hot) {
            self.admit(ev.obj, Tier::Hot, ledger, "read");
        }
    }

    fn tick(&mut self, now_ms: u64, _trace: &Trace, ledger: &mut Ledger) {
        let limits = self.rank.age_limits_ms();
        for (tier, limit) in [Tier::Hot, Tier::Warm].into_iter().zip(limits) {
            let Some(limit) = limit else { continue };
            while let Some(&(key, obj)) = self.ranked[tier.index()].first() {
                if key.0.saturating_add(limit) > now_ms {
                    break;
                }
                self.demote(obj, tier, ledger, "aged");
            }
        }
    }

    fn tick_ms(&self) -> u64 {
        self.rank.tick_ms()
    }
}

pub struct Lru;
impl Ranking for Lru {
    fn name(&self) -> &'static str {
        "lru"
    }
    fn key(&mut self, _i: usize, ev: &Event, _prev: Option<Key>) -> Key {
        (ev.ts_ms, 0)
    }
}

/// Perfect LFU: counts survive eviction.
pub struct Lfu {
    counts: Vec<u64>,
}
impl Lfu {
    pub fn new(trace: &Trace) -> Lfu {
        Lfu { counts: vec![0; trace.objects.len()] }
    }
}
impl Ranking for Lfu {
    fn name(&self) -> &'static str {
        "lfu"
    }
    fn key(&mut self, _i: usize, ev: &Event, _prev: Option<Key>) -> Key {
        let Some(count) = self.counts.get_mut(ev.obj as usize) else {
            return (0, ev.ts_ms);
        };
        if ev.op == Op::Get && ev.length > 0 {
            *count += 1;
        }
        (*count, ev.ts_ms)
    }
}

/// Belady's rule: knows when each object is read next.
pub struct Belady {
    /// For each event, when its object is next read after it (`u64::MAX`: never).
    next_read_ms: Vec<u64>,
}
impl Belady {
    pub fn new(trace: &Trace) -> Belady {
        let mut next_read_ms = vec![u64::MAX; trace.events.len()];
        let mut upcoming = vec![u64::MAX; trace.objects.len()];
        for (i, ev) in trace.events.iter().enumerate().rev() {
            let Some(slot) = upcoming.get_mut(ev.obj as usize) else {
                continue;
            };
            next_read_ms[i] = *slot;
            if ev.op == Op::Get {
                *slot = ev.ts_ms;
            }
        }
        Belady { next_read_ms }
    }
}
impl Ranking for Belady {
    fn name(&self) -> &'static str {
        "belady"
    }
    fn key(&mut self, i: usize, _ev: &Event, _prev: Option<Key>) -> Key {
        (u64::MAX - self.next_read_ms.get(i).copied().unwrap_or(u64::MAX), 0)
    }
    fn bypasses(&self) -> bool {
        true
    }
}

/// Age-based lifecycle rules, keyed by creation time.
pub struct Lifecycle {
    pub hot_days: u64,
    pub cold_days: u64,
}
impl Ranking for Lifecycle {
    fn name(&self) -> &'static str {
        "lifecycle"
    }
    fn key(&mut self, _i: usize, ev: &Event, prev: Option<Key>) -> Key {
        prev.unwrap_or((ev.ts_ms, 0))
    }
    fn promotes(&self) -> bool {
        false
    }
    fn age_limits_ms(&self) -> [Option<u64>; 2] {
        [Some(self.hot_days * MS_PER_DAY), Some(self.cold_days * MS_PER_DAY)]
    }
}

/// AWS S3 Intelligent-Tiering's published rules, keyed by last access.
pub struct IntelligentTiering;
impl Ranking for IntelligentTiering {
    fn name(&self) -> &'static str {
        "intelligent-tiering"
    }
    fn key(&mut self, _i: usize, ev: &Event, _prev: Option<Key>) -> Key {
        (ev.ts_ms, 0)
    }
    fn displaces(&self) -> bool {
        false
    }
    fn age_limits_ms(&self) -> [Option<u64>; 2] {
        [Some(30 * MS_PER_DAY), Some(90 * MS_PER_DAY)]
    }
    fn movable(&self, info: &ObjectInfo) -> bool {
        info.size_bytes >= IT_MIN_BYTES
    }
}
