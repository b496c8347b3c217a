//! Survival: per content class, how often an object silent for longer than
//! its rate makes usual is read again. Where objects stop for good (a
//! catalogue whose popular slots are taken by new content), a long silence
//! means the object is done and its recent reads should not hold its place;
//! where they only pause (a title between viewers), it does not. The policy
//! learns which from what happened to earlier silences of the class, the
//! way [`crate::ReadBack`] learns whether new objects are read soon.

use serde::Serialize;

use crate::limits::CLASSES;
use crate::{ContentClass, PolicyConfig};

/// Silences measured per class: past `silence_missed_reads` expected reads,
/// and past twice that. Two points give the curve's level and its slope.
const MARKS: usize = 2;

/// Decayed counts of one class's silences, as of `as_of_ms`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Counts {
    as_of_ms: u64,
    /// Objects whose silence passed each mark.
    passed: [f64; MARKS],
    /// Of those, reads that ended a silence past each mark.
    resumed: [f64; MARKS],
}

impl Counts {
    fn decay_to(&mut self, now_ms: u64, half_life_ms: u64) {
        let age_ms = now_ms.saturating_sub(self.as_of_ms) as f64;
        let keep = (-age_ms / half_life_ms as f64).exp2();
        self.passed.iter_mut().chain(self.resumed.iter_mut()).for_each(|c| *c *= keep);
        self.as_of_ms = self.as_of_ms.max(now_ms);
    }
}

/// One object's silence as [`Survival`] counts it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Silent {
    /// Its reads so far.
    pub reads: u32,
    /// Reads its usual rate expected during the silence, at the previous
    /// sweep and now.
    pub missed: (f64, f64),
    /// How much it counts: its usual rate, in reads per hour.
    pub weight: f64,
}

/// The odds an object of one class is still read, as a function of how
/// many reads its usual rate expected during its silence: logistic, with
/// the level and slope its class's silences showed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SilenceCurve {
    /// Expected reads at the first mark (`silence_missed_reads`).
    pub mark_reads: f64,
    /// Share of silences past the first mark that ended in a read.
    pub resumed_share: f64,
    /// How much the log-odds fall per further expected read.
    pub slope: f64,
}

impl SilenceCurve {
    /// Odds in (0, 1] that an object whose silence expected `missed` reads
    /// is still read.
    pub fn odds(&self, missed: f64) -> f64 {
        let share = self.resumed_share.clamp(1e-6, 1.0 - 1e-6);
        let logit = (share / (1.0 - share)).ln() - self.slope * (missed - self.mark_reads);
        1.0 / (1.0 + (-logit).exp())
    }
}

/// Per content class, what became of objects that fell silent. One per
/// deployment: 5 classes of 40 bytes, O(1) per read and per object swept.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Survival {
    classes: [Counts; CLASSES],
}

impl Survival {
    fn marks(cfg: &PolicyConfig) -> [f64; MARKS] {
        let first = cfg.silence_missed_reads.max(f64::MIN_POSITIVE);
        [first, 2.0 * first]
    }

    /// Counts an object whose silence went from `missed_before` expected
    /// reads (at the previous sweep) to `missed_now` without a read. Only
    /// objects whose rate rests on `lifetime_min_reads` count: a rate
    /// from one or two reads taken at a read overstates itself, and every
    /// silence would look long. Each counts by `weight`, its usual rate:
    /// the odds matter for the objects a hot tier would hold, and a
    /// catalogue's tail of rarely read objects, whose rates are the least
    /// sure, would otherwise outvote them.
    pub fn swept(&mut self, class: ContentClass, silent: Silent, now_ms: u64, cfg: &PolicyConfig) {
        let Silent { reads, missed: (missed_before, missed_now), weight } = silent;
        let marks = Self::marks(cfg);
        if reads < cfg.lifetime_min_reads || !marks.iter().any(|m| missed_before < *m && *m <= missed_now) {
            return;
        }
        let c = &mut self.classes[class.index()];
        c.decay_to(now_ms, cfg.survival_half_life_ms);
        for (i, m) in marks.iter().enumerate() {
            if missed_before < *m && *m <= missed_now {
                c.passed[i] += weight;
            }
        }
    }

    /// Counts a read that ends a silence of `missed_now` expected reads
    /// (`missed_at_sweep` at the last sweep: a mark passed since then had
    /// not been counted yet), by an object read `reads` times before.
    pub fn read(&mut self, class: ContentClass, silent: Silent, now_ms: u64, cfg: &PolicyConfig) {
        let Silent { reads, missed: (missed_at_sweep, missed_now), weight } = silent;
        let marks = Self::marks(cfg);
        if reads < cfg.lifetime_min_reads || missed_now < marks[0] {
            return;
        }
        let c = &mut self.classes[class.index()];
        c.decay_to(now_ms, cfg.survival_half_life_ms);
        for (i, m) in marks.iter().enumerate() {
            if *m <= missed_now {
                if missed_at_sweep < *m {
                    c.passed[i] += weight;
                }
                c.resumed[i] += weight;
            }
        }
    }

    /// The class's curve, `None` until silences of `survival_min_weight`
    /// (reads per hour, summed) passed the first mark.
    pub fn curve(&self, class: ContentClass, now_ms: u64, cfg: &PolicyConfig) -> Option<SilenceCurve> {
        let mut c = self.classes[class.index()];
        c.decay_to(now_ms, cfg.survival_half_life_ms);
        let min = cfg.survival_min_weight;
        if c.passed[0] < min {
            return None;
        }
        let marks = Self::marks(cfg);
        // A little imagined evidence keeps the shares off 0 and 1, the
        // second mark's leaning to the first's: with no silence seen that
        // long, the odds stay where the first mark put them.
        let prior = min / 8.0;
        let first = (c.resumed[0] + prior / 2.0) / (c.passed[0] + prior);
        let second = (c.resumed[1] + prior * first) / (c.passed[1] + prior);
        let logit = |p: f64| (p / (1.0 - p)).ln();
        let slope = (logit(first) - logit(second)) / (marks[1] - marks[0]);
        Some(SilenceCurve { mark_reads: marks[0], resumed_share: first, slope: slope.max(0.0) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MS_PER_HOUR;

    /// `n` objects fall silent past both marks; `resume` of them are read
    /// again past the first, `resume_late` past the second.
    fn silences(s: &mut Survival, class: ContentClass, n: u32, resume: u32, resume_late: u32, cfg: &PolicyConfig) {
        let m = cfg.silence_missed_reads;
        for i in 0..n {
            let t = u64::from(i) * 60_000;
            if i < resume {
                s.swept(class, Silent { reads: 9, weight: 1.0, missed: (0.0, m + 1.0) }, t, cfg);
                s.read(class, Silent { reads: 9, weight: 1.0, missed: (m + 1.0, m + 2.0) }, t, cfg);
            } else if i < resume + resume_late {
                s.swept(class, Silent { reads: 9, weight: 1.0, missed: (0.0, 2.0 * m + 1.0) }, t, cfg);
                s.read(class, Silent { reads: 9, weight: 1.0, missed: (2.0 * m + 1.0, 2.0 * m + 2.0) }, t, cfg);
            } else {
                s.swept(class, Silent { reads: 9, weight: 1.0, missed: (0.0, m + 1.0) }, t, cfg);
                s.swept(class, Silent { reads: 9, weight: 1.0, missed: (m + 1.0, 3.0 * m) }, t, cfg);
            }
        }
    }

    #[test]
    fn a_class_whose_silent_objects_stop_learns_steep_odds() {
        let cfg = PolicyConfig::default();
        let mut s = Survival::default();
        assert_eq!(s.curve(ContentClass::Other, 0, &cfg), None);
        // Of 100 silences, 20 ended in a read and none past twice the mark.
        silences(&mut s, ContentClass::Other, 100, 20, 0, &cfg);
        let now = 100 * MS_PER_HOUR;
        let c = s.curve(ContentClass::Other, now, &cfg).unwrap();
        assert!((c.resumed_share - 0.2).abs() < 0.02, "{c:?}");
        assert!(c.slope > 0.5, "{c:?}");
        assert!((c.odds(c.mark_reads) - c.resumed_share).abs() < 1e-9);
        assert!(c.odds(2.0 * c.mark_reads) < 0.01, "{c:?}");
        assert_eq!(s.curve(ContentClass::Video, now, &cfg), None);
    }

    #[test]
    fn a_class_whose_silent_objects_resume_keeps_them() {
        let cfg = PolicyConfig::default();
        let mut s = Survival::default();
        // Of 100 silences, 90 resumed past the first mark, 8 more past the second.
        silences(&mut s, ContentClass::Video, 100, 90, 8, &cfg);
        let c = s.curve(ContentClass::Video, 100 * MS_PER_HOUR, &cfg).unwrap();
        assert!(c.resumed_share > 0.95, "{c:?}");
        assert!(c.odds(2.0 * c.mark_reads) > 0.5, "{c:?}");
        // A read short of the first mark ends no silence.
        let before = s;
        s.read(ContentClass::Video, Silent { reads: 9, missed: (0.0, 1.0), weight: 1.0 }, 100 * MS_PER_HOUR, &cfg);
        assert_eq!(s, before);
        // Nor does one of an object read too few times for its rate to count.
        s.read(ContentClass::Video, Silent { reads: 1, missed: (0.0, 100.0), weight: 1.0 }, 100 * MS_PER_HOUR, &cfg);
        assert_eq!(s, before);
    }
}
