//! The Range header of a GET: `bytes=a-b`, `bytes=a-`, `bytes=-n`.

use crate::request::parse_decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=first-` or `bytes=first-last` (inclusive).
    From { first: u64, last: Option<u64> },
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

/// Parses a Range header. Syntax S3 does not honour (other units, several
/// ranges, garbage) gives `None`: the whole object is served, as S3 does.
pub fn parse(header: &str) -> Option<RangeSpec> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        return parse_decimal(last).map(RangeSpec::Suffix);
    }
    // Digits only: `+5` is not a byte position (RFC 9110).
    let first = parse_decimal(first)?;
    let last = if last.is_empty() { None } else { Some(parse_decimal(last)?) };
    if last.is_some_and(|l| l < first) {
        return None;
    }
    Some(RangeSpec::From { first, last })
}

/// The byte span `[start, end)` a range selects in an object of `size`
/// bytes, or `None` when it cannot be satisfied (416 InvalidRange).
pub fn resolve(spec: RangeSpec, size: u64) -> Option<(u64, u64)> {
    match spec {
        RangeSpec::From { first, .. } if first >= size => None,
        // `last` may be u64::MAX (fuzzing found the overflow): saturate.
        RangeSpec::From { first, last } => Some((first, last.map_or(size, |l| l.saturating_add(1).min(size)))),
        RangeSpec::Suffix(0) => None,
        RangeSpec::Suffix(n) if size == 0 => {
            let _ = n;
            None
        }
        RangeSpec::Suffix(n) => Some((size.saturating_sub(n), size)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(parse("bytes=0-99"), Some(RangeSpec::From { first: 0, last: Some(99) }));
        assert_eq!(parse("bytes=100-"), Some(RangeSpec::From { first: 100, last: None }));
        assert_eq!(parse("bytes=-5"), Some(RangeSpec::Suffix(5)));
        assert_eq!(parse("bytes=5-1"), None);
        assert_eq!(parse("bytes=0-1,5-6"), None);
        assert_eq!(parse("items=0-1"), None);
        assert_eq!(parse("bytes=a-b"), None);
        assert_eq!(parse("bytes=-"), None);
        assert_eq!(parse("bytes=+5-9"), None);
        assert_eq!(parse("bytes=5-+9"), None);
        assert_eq!(parse("bytes=-+5"), None);
    }

    #[test]
    fn resolves_against_the_size() {
        let r = |h: &str, size| resolve(parse(h).expect("valid"), size);
        assert_eq!(r("bytes=0-99", 1000), Some((0, 100)));
        assert_eq!(r("bytes=990-2000", 1000), Some((990, 1000)));
        assert_eq!(r("bytes=1000-", 1000), None);
        assert_eq!(r("bytes=-10", 1000), Some((990, 1000)));
        assert_eq!(r("bytes=-5000", 1000), Some((0, 1000)));
        assert_eq!(r("bytes=-0", 1000), None);
        assert_eq!(r("bytes=0-0", 1), Some((0, 1)));
        assert_eq!(r("bytes=-1", 0), None);
    }

    /// Found by fuzz/fuzz_targets/range_header.rs: `last + 1` overflowed.
    #[test]
    fn fuzz_last_byte_at_u64_max_is_clamped() {
        let spec = parse("bytes=0-18446744073709551615").expect("valid");
        assert_eq!(resolve(spec, 1000), Some((0, 1000)));
        assert_eq!(resolve(spec, u64::MAX), Some((0, u64::MAX)));
    }
}
