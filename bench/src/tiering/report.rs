//! Results of one trace: every model's figures and the goal's verdict, as
//! a human table or JSON.

use std::fmt::Write;

use serde::Serialize;

use crate::tiering::sim::{Outcome, SimConfig};

const GIB: f64 = (1u64 << 30) as f64;

#[derive(Clone, Debug, Serialize)]
pub struct TraceReport {
    pub trace: String,
    pub objects: usize,
    pub reads: usize,
    pub footprint_bytes: u64,
    pub sim: SimConfig,
    pub outcomes: Vec<Outcome>,
    pub goal: Option<Goal>,
}

/// The goal for the policy on this trace: within 10 % of Belady's
/// hot byte hit ratio, at least twice Intelligent-Tiering's, and fewer
/// bytes moved than LRU.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Goal {
    pub of_belady: f64,
    pub of_intelligent_tiering: f64,
    pub moved_of_lru: f64,
    pub within_10_percent_of_belady: bool,
    pub twice_intelligent_tiering: bool,
    pub fewer_bytes_moved_than_lru: bool,
}

impl TraceReport {
    fn outcome(&self, model: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.model == model)
    }

    pub fn judge(&mut self) {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::INFINITY };
        let (Some(s), Some(b), Some(it), Some(lru)) =
            (self.outcome("stratum"), self.outcome("belady"), self.outcome("intelligent-tiering"), self.outcome("lru"))
        else {
            return;
        };
        let of_belady = ratio(s.hot_byte_hit_ratio, b.hot_byte_hit_ratio);
        let of_it = ratio(s.hot_byte_hit_ratio, it.hot_byte_hit_ratio);
        let moved = ratio(s.tally.bytes_moved as f64, lru.tally.bytes_moved as f64);
        self.goal = Some(Goal {
            of_belady,
            of_intelligent_tiering: of_it,
            moved_of_lru: moved,
            within_10_percent_of_belady: of_belady >= 0.9,
            twice_intelligent_tiering: of_it >= 2.0,
            fewer_bytes_moved_than_lru: moved < 1.0,
        });
    }

    /// The human table: a heading, one row per model, the policy's
    /// reasons and the verdict.
    pub fn render(&self) -> String {
        let mut out = self.heading();
        let _ = writeln!(out, "| model | hot byte hit | moves | GiB moved | GiB promoted | cost $ | over capacity |");
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for o in &self.outcomes {
            let t = &o.tally;
            let _ = writeln!(
                out,
                "| {} | {:.1} % | {} | {:.1} | {:.1} | {:.2} | {} |",
                o.model,
                100.0 * o.hot_byte_hit_ratio,
                t.moves,
                t.bytes_moved as f64 / GIB,
                t.bytes_promoted as f64 / GIB,
                o.cost.total,
                t.capacity_violations
            );
        }
        out += &self.by_prefix();
        if let Some(s) = self.outcome("stratum") {
            let reasons: Vec<String> = s.tally.decisions.iter().map(|(r, n)| format!("{r} {n}")).collect();
            let _ = writeln!(out, "\nstratum decisions by reason: {}", reasons.join(", "));
        }
        out + &self.verdict()
    }

    /// Hot byte hit per key prefix, when the trace has more than one: which
    /// part of the workload each model serves. Empty otherwise.
    fn by_prefix(&self) -> String {
        let Some(first) = self.outcomes.first() else { return String::new() };
        let groups = &first.tally.by_prefix;
        let total: u64 = groups.values().map(|g| g.read_bytes).sum();
        if groups.len() < 2 || total == 0 {
            return String::new();
        }
        let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
        let heads: Vec<String> =
            groups.iter().map(|(name, g)| format!("{name} ({:.0} %)", pct(g.read_bytes, total))).collect();
        let mut out =
            format!("\nhot byte hit by key prefix (its share of read bytes):\n\n| model | {} |\n", heads.join(" | "));
        let _ = writeln!(out, "| --- |{}", " ---: |".repeat(groups.len()));
        for o in &self.outcomes {
            let cells: Vec<String> =
                o.tally.by_prefix.values().map(|g| format!("{:.1} %", pct(g.hot_hit_bytes, g.read_bytes))).collect();
            let _ = writeln!(out, "| {} | {} |", o.model, cells.join(" | "));
        }
        out
    }

    fn heading(&self) -> String {
        let sim = &self.sim;
        let warm = sim.warm_bytes.map_or("unbounded".to_string(), |w| format!("{:.1} GiB", w as f64 / GIB));
        format!(
            "## {}: {} objects, {} reads, {:.1} GiB; hot {:.1} GiB, warm {warm}; scored from day {}\n\n",
            self.trace,
            self.objects,
            self.reads,
            self.footprint_bytes as f64 / GIB,
            sim.hot_bytes as f64 / GIB,
            sim.scored_from_ms / 86_400_000,
        )
    }

    fn verdict(&self) -> String {
        let Some(g) = self.goal else { return String::new() };
        let mark = |ok: bool| if ok { "met" } else { "MISSED" };
        format!(
            "goal: {:.0} % of Belady ({}), {:.2}x Intelligent-Tiering ({}), {:.2}x LRU's bytes moved ({})\n",
            100.0 * g.of_belady,
            mark(g.within_10_percent_of_belady),
            g.of_intelligent_tiering,
            mark(g.twice_intelligent_tiering),
            g.moved_of_lru,
            mark(g.fewer_bytes_moved_than_lru),
        )
    }
}
