//! The tier: where an object's body lives.

use serde::{Deserialize, Serialize};

/// A named set of disks, warmest first. The derived order is "warmer is
/// smaller": `Tier::Hot < Tier::Warm < Tier::Cold`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Hot,
    Warm,
    Cold,
}

impl Tier {
    /// All tiers, warmest first.
    pub const ALL: [Tier; 3] = [Tier::Hot, Tier::Warm, Tier::Cold];

    /// Position in [`Tier::ALL`], for per-tier arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The next tier down, or `None` below cold.
    pub fn colder(self) -> Option<Tier> {
        match self {
            Tier::Hot => Some(Tier::Warm),
            Tier::Warm => Some(Tier::Cold),
            Tier::Cold => None,
        }
    }

    /// The next tier up, or `None` above hot.
    pub fn warmer(self) -> Option<Tier> {
        match self {
            Tier::Hot => None,
            Tier::Warm => Some(Tier::Hot),
            Tier::Cold => Some(Tier::Warm),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Warm => "warm",
            Tier::Cold => "cold",
        }
    }

    /// Its code in a volume reference (one byte on disk and in records).
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Tier> {
        Tier::ALL.get(usize::from(code)).copied()
    }

    /// A tier by name, any case.
    pub fn parse(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_warmest_first_and_steps_are_inverse() {
        assert!(Tier::Hot < Tier::Warm && Tier::Warm < Tier::Cold);
        for t in Tier::ALL {
            assert_eq!(Tier::ALL[t.index()], t);
            if let Some(c) = t.colder() {
                assert_eq!(c.warmer(), Some(t));
            }
            assert_eq!(Tier::from_code(t.code()), Some(t));
            assert_eq!(Tier::parse(&t.name().to_uppercase()), Some(t));
        }
        assert_eq!(Tier::from_code(3), None);
        assert_eq!(Tier::parse("tepid"), None);
    }
}
