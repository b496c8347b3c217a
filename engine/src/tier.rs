//! Tiers (named sets of disks) and erasure schemes.

use std::path::PathBuf;

/// The tier is the policy's own type: one enum from the disks to the decisions.
pub use stratum_tiering::Tier;

/// `data + parity` shards per stripe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    pub data: u8,
    pub parity: u8,
}

impl Scheme {
    pub fn shards(self) -> usize {
        usize::from(self.data) + usize::from(self.parity)
    }

    /// Parses `"4+2"`.
    pub fn parse(text: &str) -> Option<Scheme> {
        let (d, p) = text.trim().split_once('+')?;
        let scheme = Scheme { data: d.trim().parse().ok()?, parity: p.trim().parse().ok()? };
        (scheme.data >= 1 && scheme.shards() <= 32).then_some(scheme)
    }

    /// The default for a tier of `disks` disks: enough parity to lose two
    /// disks once there are four, one with two or three, none with one.
    pub fn for_disks(disks: usize) -> Scheme {
        match disks {
            0 | 1 => Scheme { data: 1, parity: 0 },
            2 => Scheme { data: 1, parity: 1 },
            3 => Scheme { data: 2, parity: 1 },
            n => Scheme { data: (n - 2).min(12) as u8, parity: 2 },
        }
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}+{}", self.data, self.parity)
    }
}

/// A tier as configured: its disks and, optionally, a scheme that overrides
/// the default for its disk count.
#[derive(Debug, Clone)]
pub struct TierConfig {
    pub tier: Tier,
    pub disks: Vec<PathBuf>,
    pub scheme: Option<Scheme>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schemes_follow_disk_count() {
        let s = |n| Scheme::for_disks(n).to_string();
        assert_eq!([s(1), s(2), s(3), s(4), s(6), s(8)], ["1+0", "1+1", "2+1", "2+2", "4+2", "6+2"]);
        assert_eq!(Scheme::for_disks(40).data, 12);
    }

    #[test]
    fn schemes_parse() {
        assert_eq!(Scheme::parse("4+2"), Some(Scheme { data: 4, parity: 2 }));
        assert_eq!(Scheme::parse("0+2"), None);
        assert_eq!(Scheme::parse("30+3"), None);
        assert_eq!(Scheme::parse("four"), None);
    }
}
