//! The policy under test: `stratum-tiering`'s [`Planner`] (rules, capacity
//! budget, per-class learning), the same code the engine drives, here on
//! a trace: a decision on every read, a sweep every hour.

use stratum_tiering::{Access, Capacity, Facts, Planner, Policy, Step, Tier};

use crate::tiering::ledger::Ledger;
use crate::tiering::sim::{place_existing, Arrival, Model};
use crate::tiering::trace::{Event, ObjectId, ObjectInfo, Trace};

pub struct Stratum {
    planner: Planner<ObjectId>,
}

impl Stratum {
    pub fn new(policy: Policy, capacity: Capacity, _trace: &Trace) -> Stratum {
        Stratum { planner: Planner::new(policy, capacity) }
    }
}

fn facts(info: &ObjectInfo) -> Facts {
    Facts { size_bytes: info.size_bytes, content: info.content, hint: info.hint }
}

fn book(steps: Vec<Step<ObjectId>>, ledger: &mut Ledger) {
    for s in steps {
        ledger.set(s.key, s.to, s.rule.name());
    }
}

impl Model for Stratum {
    fn name(&self) -> &'static str {
        "stratum"
    }

    fn arrive(&mut self, _i: usize, ev: &Event, info: &ObjectInfo, how: Arrival, ledger: &mut Ledger) {
        if how == Arrival::Existing {
            self.planner.existing(ev.obj, facts(info), Tier::Cold, ev.ts_ms);
            return place_existing(ev.obj, ledger);
        }
        book(self.planner.written(ev.obj, facts(info), ev.ts_ms), ledger);
    }

    fn read(&mut self, _i: usize, ev: &Event, _info: &ObjectInfo, ledger: &mut Ledger) {
        let access = Access { now_ms: ev.ts_ms, offset: ev.offset, length: ev.length };
        book(self.planner.read(ev.obj, access), ledger);
    }

    fn tick(&mut self, now_ms: u64, _trace: &Trace, ledger: &mut Ledger) {
        book(self.planner.sweep(now_ms), ledger);
    }
}
