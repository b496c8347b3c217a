//! The replay loop: feeds a trace to a model, tick by tick, and keeps the
//! books in a [`Ledger`] the model cannot bend.

use serde::Serialize;
use stratum_tiering::Tier;

use crate::tiering::cost::{Cost, Prices};
use crate::tiering::ledger::{Ledger, Tally};
use crate::tiering::trace::{Event, ObjectId, ObjectInfo, Op, Trace};

/// How an object enters a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Written now: the model places it.
    Put,
    /// Existed before the trace: it starts cold for every model.
    Existing,
}

/// A tiering policy under test. Reads are scored before `read` is called, so
/// a model can only gain from what it did before the access.
pub trait Model {
    fn name(&self) -> &'static str;
    /// An object appears: place it with `ledger.set`.
    fn arrive(&mut self, i: usize, ev: &Event, info: &ObjectInfo, how: Arrival, ledger: &mut Ledger);
    /// An object was read (event `i`; models that see the future use it).
    fn read(&mut self, i: usize, ev: &Event, info: &ObjectInfo, ledger: &mut Ledger);
    /// Time passed: background decisions (decay, age, time of day).
    fn tick(&mut self, _now_ms: u64, _trace: &Trace, _ledger: &mut Ledger) {}
    /// How often `tick` runs.
    fn tick_ms(&self) -> u64 {
        3_600_000
    }
}

/// Capacities and the scored window of a run.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SimConfig {
    pub hot_bytes: u64,
    pub warm_bytes: Option<u64>,
    pub scored_from_ms: u64,
}

/// One model's figures on one trace.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub model: &'static str,
    pub hot_byte_hit_ratio: f64,
    pub tally: Tally,
    pub cost: Cost,
}

/// Replays `trace` against `model`.
pub fn run(trace: &Trace, model: &mut dyn Model, cfg: &SimConfig, prices: &Prices) -> Outcome {
    let sizes = trace.objects.iter().map(|o| o.size_bytes).collect();
    let mut ledger = Ledger::new(sizes, Some(cfg.hot_bytes), cfg.warm_bytes, cfg.scored_from_ms);
    ledger.group_by_prefix(trace.objects.iter().map(|o| o.name.as_str()));
    arrive_existing(trace, model, &mut ledger);
    let tick_ms = model.tick_ms().max(1);
    let mut next_tick = tick_ms;
    for (i, ev) in trace.events.iter().enumerate() {
        while next_tick <= ev.ts_ms {
            ledger.advance(next_tick);
            model.tick(next_tick, trace, &mut ledger);
            next_tick += tick_ms;
        }
        ledger.advance(ev.ts_ms);
        let Some(info) = trace.objects.get(ev.obj as usize) else {
            continue;
        };
        match ev.op {
            Op::Put if ledger.tier(ev.obj).is_none() => model.arrive(i, ev, info, Arrival::Put, &mut ledger),
            Op::Put => {}
            Op::Get => {
                ledger.read(ev);
                model.read(i, ev, info, &mut ledger);
            }
        }
    }
    let t = ledger.finish();
    let ratio = if t.read_bytes_total == 0 { 0.0 } else { t.hot_hit_bytes as f64 / t.read_bytes_total as f64 };
    Outcome { model: model.name(), hot_byte_hit_ratio: ratio, cost: prices.cost(&t), tally: t }
}

/// Objects whose first event is a read existed before the trace: they
/// arrive at time 0, so every model starts from the same store.
fn arrive_existing(trace: &Trace, model: &mut dyn Model, ledger: &mut Ledger) {
    let mut seen = vec![false; trace.objects.len()];
    for (i, ev) in trace.events.iter().enumerate() {
        let Some(first) = seen.get_mut(ev.obj as usize).filter(|s| !**s) else {
            continue;
        };
        *first = true;
        let Some(info) = trace.objects.get(ev.obj as usize) else {
            continue;
        };
        if ev.op == Op::Get {
            let at_start = Event { ts_ms: 0, length: 0, ..*ev };
            model.arrive(i, &at_start, info, Arrival::Existing, ledger);
        }
    }
}

/// Objects that existed before the trace start cold, in every model.
pub fn place_existing(obj: ObjectId, ledger: &mut Ledger) {
    ledger.set(obj, Tier::Cold, "existing");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiering::baselines::{Belady, Cache, IntelligentTiering, Lfu, Lifecycle, Lru};
    use crate::tiering::stratum::Stratum;
    use stratum_tiering::{Capacity, ContentClass, Hint, Policy, PolicyConfig};

    const SIZE: u64 = 100;

    /// Reads of equal-sized objects named by letters, one a second; all
    /// objects exist before the trace.
    fn letters(seq: &str) -> Trace {
        let mut t = Trace { name: seq.to_string(), ..Trace::default() };
        for c in seq.chars() {
            let name = c.to_string();
            let obj = match t.objects.iter().position(|o| o.name == name) {
                Some(i) => i as ObjectId,
                None => {
                    let info = ObjectInfo { name, size_bytes: SIZE, content: ContentClass::Other, hint: Hint::Auto };
                    t.objects.push(info);
                    (t.objects.len() - 1) as ObjectId
                }
            };
            let ts_ms = 1_000 * (t.events.len() as u64 + 1);
            t.events.push(Event { ts_ms, obj, op: Op::Get, offset: 0, length: SIZE });
        }
        t
    }

    fn hits(trace: &Trace, model: &mut dyn Model, slots: u64) -> u64 {
        let cfg = SimConfig { hot_bytes: slots * SIZE, warm_bytes: None, scored_from_ms: 0 };
        let out = run(trace, model, &cfg, &Prices::default());
        assert_eq!(out.tally.capacity_violations, 0, "{}", model.name());
        out.tally.hot_hit_bytes / SIZE
    }

    /// The best any demand policy can do: on each miss, bypass or admit
    /// (displacing any one resident), searched over every choice.
    fn optimal_hits(trace: &Trace, slots: u32) -> u64 {
        let mut best: std::collections::HashMap<u32, u64> = [(0u32, 0u64)].into();
        for ev in &trace.events {
            let bit = 1u32 << ev.obj;
            let mut next = std::collections::HashMap::new();
            let mut keep = |mask: u32, h: u64| {
                let e = next.entry(mask).or_insert(h);
                *e = (*e).max(h);
            };
            for (&mask, &h) in &best {
                if mask & bit != 0 {
                    keep(mask, h + 1);
                    continue;
                }
                keep(mask, h);
                if mask.count_ones() < slots {
                    keep(mask | bit, h);
                }
                for victim in (0..32).map(|i| 1u32 << i).filter(|v| mask & v != 0) {
                    keep((mask & !victim) | bit, h);
                }
            }
            best = next;
        }
        best.values().copied().max().unwrap_or(0)
    }

    #[test]
    fn belady_matches_hand_checked_traces() {
        // Cyclic over three with room for two: LRU never hits, Belady keeps
        // a and b and lets c pass.
        let t = letters("abcabc");
        assert_eq!(hits(&t, &mut Cache::new(Belady::new(&t), &t), 2), 2);
        assert_eq!(hits(&t, &mut Cache::new(Lru, &t), 2), 0);
        let t = letters("abacab");
        assert_eq!(hits(&t, &mut Cache::new(Belady::new(&t), &t), 2), 3);
        let t = letters("abcdabcdeabcde");
        assert_eq!(hits(&t, &mut Cache::new(Belady::new(&t), &t), 3), optimal_hits(&t, 3));
    }

    #[test]
    fn belady_is_optimal_on_small_traces_and_beats_every_online_model() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for case in 0..200 {
            let len = 6 + case % 14;
            let seq: String = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (b'a' + (state % 5) as u8) as char
                })
                .collect();
            let t = letters(&seq);
            for slots in 1..=3u32 {
                let belady = hits(&t, &mut Cache::new(Belady::new(&t), &t), u64::from(slots));
                assert_eq!(belady, optimal_hits(&t, slots), "{seq} with {slots}");
                let cfg = PolicyConfig { warmup_ms: 0, ..PolicyConfig::default() };
                let policy = Policy::new(cfg, 0).unwrap();
                let cap = Capacity { hot_bytes: Some(u64::from(slots) * SIZE), warm_bytes: None };
                let online: Vec<Box<dyn Model>> = vec![
                    Box::new(Cache::new(Lru, &t)),
                    Box::new(Cache::new(Lfu::new(&t), &t)),
                    Box::new(Stratum::new(policy, cap, &t)),
                ];
                for mut m in online {
                    assert!(hits(&t, m.as_mut(), u64::from(slots)) <= belady, "{seq}: {}", m.name());
                }
            }
        }
    }

    /// The video trace with a hot tier of 2 % of its footprint (about 40
    /// titles at this scale): sessions must be served hot by streaming,
    /// without moving more than LRU, which promotes on every first read.
    #[test]
    fn streams_are_served_hot_from_a_small_hot_tier_without_moving_more_than_lru() {
        use crate::tiering::generate::{generate, GenConfig};
        let t = generate("video", GenConfig { seed: 5, days: 8, scale: 0.3 }).unwrap();
        let cfg = SimConfig {
            hot_bytes: t.footprint_bytes() / 50,
            warm_bytes: Some(t.footprint_bytes() * 3 / 10),
            scored_from_ms: 2 * 86_400_000,
        };
        let cap = Capacity { hot_bytes: Some(cfg.hot_bytes), warm_bytes: cfg.warm_bytes };
        let policy = Policy::new(PolicyConfig { warmup_ms: 86_400_000, ..PolicyConfig::default() }, 0).unwrap();
        let prices = Prices::default();
        let stratum = run(&t, &mut Stratum::new(policy, cap, &t), &cfg, &prices);
        let belady = run(&t, &mut Cache::new(Belady::new(&t), &t), &cfg, &prices);
        let lru = run(&t, &mut Cache::new(Lru, &t), &cfg, &prices);
        let of_belady = stratum.hot_byte_hit_ratio / belady.hot_byte_hit_ratio;
        let bytes = stratum.tally.bytes_moved as f64 / lru.tally.bytes_moved as f64;
        assert!(of_belady >= 0.9, "{of_belady}");
        assert!(bytes < 1.0, "{bytes}");
    }

    #[test]
    fn no_model_ever_exceeds_a_capacity_on_generated_traces() {
        use crate::tiering::generate::{generate, GenConfig, NAMES};
        let gen = GenConfig { seed: 3, days: 10, scale: 0.05 };
        for name in NAMES {
            let t = generate(name, gen).unwrap();
            let cfg = SimConfig {
                hot_bytes: t.footprint_bytes() / 10,
                warm_bytes: Some(t.footprint_bytes() / 4),
                scored_from_ms: 0,
            };
            let cap = Capacity { hot_bytes: Some(cfg.hot_bytes), warm_bytes: cfg.warm_bytes };
            let policy = Policy::new(PolicyConfig { warmup_ms: 86_400_000, ..PolicyConfig::default() }, 0).unwrap();
            let models: Vec<Box<dyn Model>> = vec![
                Box::new(Cache::new(Belady::new(&t), &t)),
                Box::new(Stratum::new(policy, cap, &t)),
                Box::new(Cache::new(Lru, &t)),
                Box::new(Cache::new(Lfu::new(&t), &t)),
                Box::new(Cache::new(Lifecycle { hot_days: 7, cold_days: 30 }, &t)),
                Box::new(Cache::new(IntelligentTiering, &t)),
            ];
            for mut m in models {
                let out = run(&t, m.as_mut(), &cfg, &Prices::default());
                assert_eq!(out.tally.capacity_violations, 0, "{name}: {}", out.model);
                assert!(out.hot_byte_hit_ratio <= 1.0);
                if out.model == "stratum" {
                    assert!(out.tally.decisions.values().sum::<u64>() > 0, "{name}");
                }
            }
        }
    }
}
