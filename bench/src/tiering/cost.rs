//! What a run costs: storage per GB-month, requests and retrievals per tier,
//! and moves between tiers.
//!
//! The default prices are S3's public list prices in us-east-1 for
//! Standard (hot), Standard-IA (warm) and Glacier Instant Retrieval (cold),
//! as a familiar yardstick: a self-hosted Stratum pays for disks, not
//! requests, but the ratios between tiers are of the same kind.

use serde::Serialize;

use crate::tiering::ledger::Tally;

const GIB: f64 = (1u64 << 30) as f64;
/// A billing month: 30 days.
const MS_PER_MONTH: f64 = 30.0 * 86_400_000.0;

#[derive(Clone, Debug, Serialize)]
pub struct Prices {
    pub storage_per_gb_month: [f64; 3],
    pub get_per_1k: [f64; 3],
    pub retrieval_per_gb: [f64; 3],
    /// Per move into a tier (a lifecycle transition, a copy).
    pub move_per_1k: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            storage_per_gb_month: [0.023, 0.0125, 0.004],
            get_per_1k: [0.0004, 0.001, 0.01],
            retrieval_per_gb: [0.0, 0.01, 0.03],
            move_per_1k: 0.01,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Cost {
    pub storage: f64,
    pub requests: f64,
    pub retrieval: f64,
    pub moves: f64,
    pub total: f64,
}

impl Prices {
    pub fn cost(&self, t: &Tally) -> Cost {
        let mut c = Cost::default();
        for i in 0..3 {
            c.storage += t.byte_ms[i] / GIB / MS_PER_MONTH * self.storage_per_gb_month[i];
            c.requests += t.gets[i] as f64 / 1000.0 * self.get_per_1k[i];
            c.retrieval += t.read_bytes[i] as f64 / GIB * self.retrieval_per_gb[i];
        }
        c.moves = t.moves as f64 / 1000.0 * self.move_per_1k;
        c.total = c.storage + c.requests + c.retrieval + c.moves;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_gib_month_hot_costs_the_list_price() {
        let t = Tally { byte_ms: [GIB * MS_PER_MONTH, 0.0, 0.0], ..Tally::default() };
        let c = Prices::default().cost(&t);
        assert!((c.total - 0.023).abs() < 1e-12);
        let t = Tally { gets: [0, 0, 1000], read_bytes: [0, 0, 1 << 30], ..Tally::default() };
        assert!((Prices::default().cost(&t).total - 0.04).abs() < 1e-12);
    }
}
