//! Read-back: what recently written objects of each content class did. A
//! class whose new objects are read soon after they are written (a backup
//! tool's verify pass, a release everyone watches) starts them hot, whatever
//! its content default says: the evidence of reads beats the guess from the
//! content type.

use crate::limits::CLASSES;
use crate::{AccessStats, ContentClass, PolicyConfig};

/// Decayed counts of one class's writes and read-backs, as of `as_of_ms`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Counts {
    as_of_ms: u64,
    written_objects: f64,
    written_bytes: f64,
    read_back_bytes: f64,
    /// Of those, bytes read again within the window after their read-back.
    read_again_bytes: f64,
}

impl Counts {
    /// Decays the counts to `now_ms` (a clock that goes back counts as no
    /// time passing).
    fn decay_to(&mut self, now_ms: u64, half_life_ms: u64) {
        let age_ms = now_ms.saturating_sub(self.as_of_ms) as f64;
        let keep = (-age_ms / half_life_ms as f64).exp2();
        self.written_objects *= keep;
        self.written_bytes *= keep;
        self.read_back_bytes *= keep;
        self.read_again_bytes *= keep;
        self.as_of_ms = self.as_of_ms.max(now_ms);
    }
}

/// Per content class, the share of newly written bytes whose object was
/// read within `read_back_window_ms` of its write, over the last few
/// `read_back_half_life_ms`. One per deployment: 5 classes of 32 bytes,
/// O(1) per write and per read.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReadBack {
    classes: [Counts; CLASSES],
}

impl ReadBack {
    /// Counts a write of a new object.
    pub fn written(&mut self, class: ContentClass, size_bytes: u64, now_ms: u64, cfg: &PolicyConfig) {
        let c = &mut self.classes[class.index()];
        c.decay_to(now_ms, cfg.read_back_half_life_ms);
        c.written_objects += 1.0;
        c.written_bytes += size_bytes as f64;
    }

    /// Counts a read of an object counted by [`ReadBack::written`], given
    /// its statistics before the read is recorded: its first read, within
    /// the window after its write, is a read-back of all its bytes (a
    /// stream that reads the head first still read the object back).
    pub fn read(&mut self, before: &AccessStats, size_bytes: u64, now_ms: u64, cfg: &PolicyConfig) {
        let window_ms = cfg.read_back_window_ms;
        // Until its first read, an object's idle time counts from its write.
        let read_back = before.reads() == 0 && before.idle_ms(now_ms) < window_ms;
        // Its second read, soon after a first read that was a read-back.
        let first_ms = before.last_access_ms();
        let again = before.reads() == 1
            && first_ms.saturating_sub(before.created_ms()) < window_ms
            && now_ms.saturating_sub(first_ms) < window_ms;
        if !read_back && !again {
            return;
        }
        let c = &mut self.classes[before.content().index()];
        c.decay_to(now_ms, cfg.read_back_half_life_ms);
        if read_back {
            c.read_back_bytes += size_bytes as f64;
        } else {
            c.read_again_bytes += size_bytes as f64;
        }
    }

    /// The share, in [0, 1], of the class's read-back bytes whose object
    /// was read again within the window after its read-back: a release
    /// everyone watches is, a verified backup is not. `None` while
    /// [`ReadBack::share`] is.
    pub fn again_share(&self, class: ContentClass, now_ms: u64, cfg: &PolicyConfig) -> Option<f64> {
        self.share(class, now_ms, cfg)?;
        let mut c = self.classes[class.index()];
        c.decay_to(now_ms, cfg.read_back_half_life_ms);
        if c.read_back_bytes <= 0.0 {
            return Some(0.0);
        }
        Some((c.read_again_bytes / c.read_back_bytes).clamp(0.0, 1.0))
    }

    /// The share, in [0, 1], of the class's recently written bytes read
    /// back within the window; `None` until `read_back_min_objects` were
    /// written. Objects written less than a window ago have had less time:
    /// the share leans low for a window after a burst of writes.
    pub fn share(&self, class: ContentClass, now_ms: u64, cfg: &PolicyConfig) -> Option<f64> {
        let mut c = self.classes[class.index()];
        c.decay_to(now_ms, cfg.read_back_half_life_ms);
        if c.written_objects < f64::from(cfg.read_back_min_objects) || c.written_bytes <= 0.0 {
            return None;
        }
        Some((c.read_back_bytes / c.written_bytes).clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{MS_PER_DAY, MS_PER_HOUR};
    use crate::Access;

    const GIB: u64 = 1 << 30;

    /// A night of `n` backups, each read back `verify_ms` after its write
    /// (or never, for `None`).
    fn night(rb: &mut ReadBack, day: u64, n: u64, verify_ms: Option<u64>, cfg: &PolicyConfig) {
        for i in 0..n {
            let t = day * MS_PER_DAY + i * 60_000;
            let mut stats = AccessStats::new(ContentClass::Backup, t);
            rb.written(ContentClass::Backup, GIB, t, cfg);
            if let Some(v) = verify_ms {
                rb.read(&stats, GIB, t + v, cfg);
                stats.record(Access { now_ms: t + v, offset: 0, length: GIB }, cfg);
                // A second read is not a second read-back.
                rb.read(&stats, GIB, t + v + 1, cfg);
            }
        }
    }

    #[test]
    fn backups_verified_after_the_write_are_read_back() {
        let cfg = PolicyConfig::default();
        let mut rb = ReadBack::default();
        assert_eq!(rb.share(ContentClass::Backup, 0, &cfg), None);
        for day in 0..7 {
            night(&mut rb, day, 40, Some(45 * 60_000), &cfg);
        }
        let share = rb.share(ContentClass::Backup, 7 * MS_PER_DAY, &cfg).unwrap();
        assert!(share > 0.99, "{share}");
        assert_eq!(rb.share(ContentClass::Video, 7 * MS_PER_DAY, &cfg), None);
    }

    #[test]
    fn a_class_whose_read_backs_are_read_again_is_told_apart_from_verifies() {
        let cfg = PolicyConfig::default();
        let mut rb = ReadBack::default();
        // Backups verified once; releases watched again within the hour.
        for i in 0..40 {
            let t = i * 60_000;
            rb.written(ContentClass::Backup, GIB, t, &cfg);
            rb.read(&AccessStats::new(ContentClass::Backup, t), GIB, t + 45 * 60_000, &cfg);
        }
        assert!(rb.again_share(ContentClass::Backup, MS_PER_DAY, &cfg).unwrap() < 0.01);
        for i in 0..20 {
            let t = MS_PER_DAY + i * 60_000;
            let mut stats = AccessStats::new(ContentClass::Video, t);
            rb.written(ContentClass::Video, GIB, t, &cfg);
            for k in 1..4 {
                rb.read(&stats, GIB, t + k * 20 * 60_000, &cfg);
                stats.record(Access { now_ms: t + k * 20 * 60_000, offset: 0, length: GIB }, &cfg);
            }
        }
        let again = rb.again_share(ContentClass::Video, 2 * MS_PER_DAY, &cfg).unwrap();
        assert!(again > 0.99, "{again}");
        assert_eq!(rb.again_share(ContentClass::Image, 2 * MS_PER_DAY, &cfg), None);
    }

    #[test]
    fn reads_after_the_window_are_not_read_backs_and_old_evidence_fades() {
        let cfg = PolicyConfig::default();
        let mut rb = ReadBack::default();
        // A week of verified backups, then a tool that verifies a day later.
        for day in 0..7 {
            night(&mut rb, day, 40, Some(45 * 60_000), &cfg);
        }
        for day in 7..28 {
            night(&mut rb, day, 40, Some(MS_PER_DAY), &cfg);
        }
        let share = rb.share(ContentClass::Backup, 28 * MS_PER_DAY, &cfg).unwrap();
        assert!(share < 0.15, "{share}");
        assert!(cfg.read_back_window_ms < MS_PER_DAY && cfg.read_back_window_ms > MS_PER_HOUR);
    }
}
