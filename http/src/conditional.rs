//! Conditional requests (If-Match, If-None-Match, If-Modified-Since,
//! If-Unmodified-Since) with S3's precedence: a true If-Match overrides a
//! false If-Unmodified-Since, a false If-None-Match overrides a true
//! If-Modified-Since, and 412 is decided before 304.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Proceed,
    NotModified,
    PreconditionFailed,
}

pub struct Conditions<'a> {
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
    pub if_unmodified_since: Option<&'a str>,
}

/// `etag` unquoted; `modified_secs` the object's Last-Modified in whole seconds.
pub fn evaluate(c: &Conditions, etag: &str, modified_secs: i64) -> Outcome {
    let since = |h: Option<&str>| h.and_then(http_date_secs);
    match c.if_match {
        Some(list) if !etag_matches(list, etag) => return Outcome::PreconditionFailed,
        Some(_) => {}
        None => {
            if since(c.if_unmodified_since).is_some_and(|t| modified_secs > t) {
                return Outcome::PreconditionFailed;
            }
        }
    }
    match c.if_none_match {
        Some(list) if etag_matches(list, etag) => return Outcome::NotModified,
        Some(_) => {}
        None => {
            if since(c.if_modified_since).is_some_and(|t| modified_secs <= t) {
                return Outcome::NotModified;
            }
        }
    }
    Outcome::Proceed
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').map(|t| t.trim().trim_start_matches("W/").trim_matches('"')).any(|t| t == "*" || t == etag)
}

fn http_date_secs(value: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(value.trim()).ok()?;
    t.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_700_000_000; // Tue, 14 Nov 2023 22:13:20 GMT
    const BEFORE: &str = "Tue, 14 Nov 2023 22:00:00 GMT";
    const AFTER: &str = "Tue, 14 Nov 2023 23:00:00 GMT";

    fn eval(m: Option<&str>, nm: Option<&str>, ms: Option<&str>, us: Option<&str>) -> Outcome {
        let c = Conditions { if_match: m, if_none_match: nm, if_modified_since: ms, if_unmodified_since: us };
        evaluate(&c, "abc", T)
    }

    #[test]
    fn single_conditions() {
        assert_eq!(eval(Some("\"abc\""), None, None, None), Outcome::Proceed);
        assert_eq!(eval(Some("\"x\", \"abc\""), None, None, None), Outcome::Proceed);
        assert_eq!(eval(Some("*"), None, None, None), Outcome::Proceed);
        assert_eq!(eval(Some("\"x\""), None, None, None), Outcome::PreconditionFailed);
        assert_eq!(eval(None, Some("\"abc\""), None, None), Outcome::NotModified);
        assert_eq!(eval(None, Some("\"x\""), None, None), Outcome::Proceed);
        assert_eq!(eval(None, None, Some(AFTER), None), Outcome::NotModified);
        assert_eq!(eval(None, None, Some(BEFORE), None), Outcome::Proceed);
        assert_eq!(eval(None, None, None, Some(BEFORE)), Outcome::PreconditionFailed);
        assert_eq!(eval(None, None, None, Some(AFTER)), Outcome::Proceed);
        assert_eq!(eval(None, None, Some("not a date"), None), Outcome::Proceed);
    }

    #[test]
    fn s3_precedence() {
        // If-Match true and If-Unmodified-Since false: 200.
        assert_eq!(eval(Some("abc"), None, None, Some(BEFORE)), Outcome::Proceed);
        // If-None-Match false and If-Modified-Since true: 304.
        assert_eq!(eval(None, Some("\"x\""), Some(BEFORE), None), Outcome::Proceed);
        assert_eq!(eval(None, Some("\"abc\""), Some(BEFORE), None), Outcome::NotModified);
        // 412 wins over 304.
        assert_eq!(eval(Some("\"x\""), Some("\"abc\""), None, None), Outcome::PreconditionFailed);
    }
}
