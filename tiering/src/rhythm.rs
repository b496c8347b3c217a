//! Rhythm: per content class, whether objects' time-of-day profiles
//! foretell their reads. Where a class is read at its own hours (office
//! documents by day, videos in the evening), reads fall in the hours its
//! objects' profiles favour and the time-of-day lift earns its place; where
//! reads come at any hour (a popularity curve), a profile is noise and the
//! lift only shuffles the ranks near a tier's cut-off.

use crate::limits::CLASSES;
use crate::{ContentClass, PolicyConfig};

/// Decayed counts of one class's reads by objects with a trusted profile.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Counts {
    as_of_ms: u64,
    reads: f64,
    /// Sum over those reads of the lift the profile gave the read's hours,
    /// as it stood before the read.
    lift: f64,
}

/// Per content class, the mean time-of-day lift of the hours objects were
/// read in. One per deployment: 5 classes of 24 bytes, O(1) per read.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rhythm {
    classes: [Counts; CLASSES],
}

impl Rhythm {
    /// Counts a read with the lift its object's profile gave the hours it
    /// came in ([`crate::Policy::hour_lift`]), `None` if the profile is
    /// not trusted yet.
    pub fn read(&mut self, class: ContentClass, lift: Option<f64>, now_ms: u64, cfg: &PolicyConfig) {
        let Some(lift) = lift.filter(|l| l.is_finite()) else {
            return;
        };
        let c = &mut self.classes[class.index()];
        let keep = (-(now_ms.saturating_sub(c.as_of_ms) as f64) / cfg.rhythm_half_life_ms as f64).exp2();
        c.reads = c.reads * keep + 1.0;
        c.lift = c.lift * keep + lift;
        c.as_of_ms = c.as_of_ms.max(now_ms);
    }

    /// The class's mean lift at reads: about 1 where profiles foretell
    /// nothing, more where they do. `None` until `rhythm_min_reads` reads
    /// were counted.
    pub fn gain(&self, class: ContentClass, now_ms: u64, cfg: &PolicyConfig) -> Option<f64> {
        let c = self.classes[class.index()];
        let keep = (-(now_ms.saturating_sub(c.as_of_ms) as f64) / cfg.rhythm_half_life_ms as f64).exp2();
        (c.reads * keep >= cfg.rhythm_min_reads).then(|| c.lift / c.reads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MS_PER_HOUR;

    #[test]
    fn classes_read_at_their_hours_gain_and_others_do_not() {
        let cfg = PolicyConfig::default();
        let mut r = Rhythm::default();
        assert_eq!(r.gain(ContentClass::Other, 0, &cfg), None);
        for i in 0..1000u64 {
            let t = i * 60_000;
            // Office documents read when their profile says (lift 2.5);
            // a catalogue read whenever, its profiles' lifts about even.
            r.read(ContentClass::Image, Some(2.5), t, &cfg);
            r.read(ContentClass::Other, Some(if i % 2 == 0 { 0.8 } else { 1.2 }), t, &cfg);
            r.read(ContentClass::Video, None, t, &cfg);
        }
        let now = 1000 * 60_000 + MS_PER_HOUR;
        assert!((r.gain(ContentClass::Image, now, &cfg).unwrap() - 2.5).abs() < 1e-9);
        assert!((r.gain(ContentClass::Other, now, &cfg).unwrap() - 1.0).abs() < 0.01);
        assert_eq!(r.gain(ContentClass::Video, now, &cfg), None);
    }
}
