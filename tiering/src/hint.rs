//! Developer hints from object metadata: `x-amz-meta-stratum-tier` and
//! `x-amz-meta-stratum-pin`.

use serde::{Deserialize, Serialize};

use crate::{Error, Tier};

/// User-metadata key (without the `x-amz-meta-` prefix) naming a tier.
pub const TIER_META_KEY: &str = "stratum-tier";
/// User-metadata key pinning the object to the tier named by [`TIER_META_KEY`].
pub const PIN_META_KEY: &str = "stratum-pin";

/// What the developer asked for.
///
/// - `Auto` (no header, or `auto`): the policy decides.
/// - `Prefer(t)` (`hot`, `warm` or `cold`): the object starts in `t`, and
///   decay never takes it below `t`; accesses may still promote it, and the
///   capacity budget may still displace it.
/// - `Pin(t)` (a tier plus `stratum-pin: true`): the policy never moves it
///   and the budget never evicts it. If `t` is full of other pins it goes to
///   the next colder tier, and the decision says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hint {
    #[default]
    Auto,
    Prefer(Tier),
    Pin(Tier),
}

impl Hint {
    /// Parses the two metadata values, as stored (case-insensitive, trimmed).
    pub fn parse(tier: Option<&str>, pin: Option<&str>) -> Result<Hint, Error> {
        let tier = match tier.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("auto") | Some("") => None,
            Some("hot") => Some(Tier::Hot),
            Some("warm") => Some(Tier::Warm),
            Some("cold") => Some(Tier::Cold),
            Some(other) => return Err(Error::TierHint(other.to_string())),
        };
        let pinned = match pin.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("false") | Some("") => false,
            Some("true") => true,
            Some(other) => return Err(Error::PinHint(other.to_string())),
        };
        match (tier, pinned) {
            (None, false) => Ok(Hint::Auto),
            (None, true) => Err(Error::PinWithoutTier),
            (Some(t), false) => Ok(Hint::Prefer(t)),
            (Some(t), true) => Ok(Hint::Pin(t)),
        }
    }

    /// The tier named by the hint, if any.
    pub fn tier(self) -> Option<Tier> {
        match self {
            Hint::Auto => None,
            Hint::Prefer(t) | Hint::Pin(t) => Some(t),
        }
    }

    pub fn is_pinned(self) -> bool {
        matches!(self, Hint::Pin(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_values() {
        assert_eq!(Hint::parse(None, None), Ok(Hint::Auto));
        assert_eq!(Hint::parse(Some("auto"), None), Ok(Hint::Auto));
        assert_eq!(Hint::parse(Some(" Hot "), None), Ok(Hint::Prefer(Tier::Hot)));
        assert_eq!(Hint::parse(Some("cold"), Some("true")), Ok(Hint::Pin(Tier::Cold)));
        assert_eq!(Hint::parse(Some("warm"), Some("false")), Ok(Hint::Prefer(Tier::Warm)));
    }

    #[test]
    fn rejects_what_it_cannot_honour() {
        assert!(matches!(Hint::parse(Some("lukewarm"), None), Err(Error::TierHint(_))));
        assert!(matches!(Hint::parse(Some("hot"), Some("yes")), Err(Error::PinHint(_))));
        assert_eq!(Hint::parse(None, Some("true")), Err(Error::PinWithoutTier));
    }
}
