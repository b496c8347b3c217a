//! Browser form uploads (PostObject): the `multipart/form-data` part heads
//! and the signed policy with its conditions. Pure, so the rules are tested
//! without a socket; the streaming is in `handlers::post`.

use base64::Engine as _;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::S3Error;

/// Form fields no policy condition needs to name (S3's rule; `x-ignore-*` too).
const UNCONDITIONED: &[&str] = &["policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"];

/// One condition of a policy. Field names are lowercased, without `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Eq(String, String),
    StartsWith(String, String),
    /// The file's size in bytes, both ends included.
    LengthRange(u64, u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub expiration_ms: i64,
    pub conditions: Vec<Condition>,
}

fn denied(why: impl AsRef<str>) -> S3Error {
    S3Error::new("AccessDenied", 403, format!("Invalid according to Policy: {}", why.as_ref()))
}

fn malformed(why: &str) -> S3Error {
    S3Error::new("InvalidPolicyDocument", 400, format!("Invalid Policy: {why}"))
}

impl Policy {
    /// Decodes the form's `policy` field: base64 of a JSON document with
    /// `expiration` (ISO 8601) and `conditions`.
    pub fn parse(policy_b64: &str) -> Result<Policy, S3Error> {
        let json = base64::engine::general_purpose::STANDARD
            .decode(policy_b64.trim())
            .map_err(|_| malformed("the policy is not base64"))?;
        let doc: Value = serde_json::from_slice(&json).map_err(|_| malformed("the policy is not JSON"))?;
        let expiration = doc.get("expiration").and_then(Value::as_str).ok_or_else(|| malformed("no expiration"))?;
        let expiration = OffsetDateTime::parse(expiration, &Rfc3339).map_err(|_| malformed("bad expiration"))?;
        let expiration_ms = i64::try_from(expiration.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let list = doc.get("conditions").and_then(Value::as_array).ok_or_else(|| malformed("no conditions"))?;
        let mut conditions = Vec::with_capacity(list.len());
        for c in list {
            conditions.push(condition(c).ok_or_else(|| malformed(&format!("bad condition {c}")))?);
        }
        Ok(Policy { expiration_ms, conditions })
    }

    /// Checks the form's fields (names lowercased, in order) at `now_ms`:
    /// the policy has not expired, every condition holds and every field
    /// is named by a condition. The file's size is checked as it arrives
    /// ([`Policy::length_range`]).
    pub fn check(&self, bucket: &str, fields: &[(String, String)], now_ms: i64) -> Result<(), S3Error> {
        if now_ms >= self.expiration_ms {
            return Err(denied("Policy expired."));
        }
        let value = |name: &str| {
            if name == "bucket" {
                return Some(bucket);
            }
            fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
        };
        for c in &self.conditions {
            let holds = match c {
                Condition::Eq(name, want) => value(name) == Some(want.as_str()),
                Condition::StartsWith(name, prefix) => value(name).is_some_and(|v| v.starts_with(prefix.as_str())),
                Condition::LengthRange(..) => true,
            };
            if !holds {
                return Err(denied(format!("Policy Condition failed: {}", describe(c))));
            }
        }
        let named = |name: &str| {
            self.conditions.iter().any(|c| matches!(c, Condition::Eq(n, _) | Condition::StartsWith(n, _) if n == name))
        };
        let extra: Vec<&str> = fields
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !UNCONDITIONED.contains(k) && !k.starts_with("x-ignore-") && !named(k))
            .collect();
        if !extra.is_empty() {
            return Err(denied(format!("Extra input fields: {}", extra.join(", "))));
        }
        Ok(())
    }

    /// The file sizes the policy allows, if it says.
    pub fn length_range(&self) -> Option<(u64, u64)> {
        self.conditions.iter().find_map(|c| match c {
            Condition::LengthRange(min, max) => Some((*min, *max)),
            _ => None,
        })
    }
}

fn describe(c: &Condition) -> String {
    match c {
        Condition::Eq(name, v) => format!("[\"eq\", \"${name}\", \"{v}\"]"),
        Condition::StartsWith(name, v) => format!("[\"starts-with\", \"${name}\", \"{v}\"]"),
        Condition::LengthRange(min, max) => format!("[\"content-length-range\", {min}, {max}]"),
    }
}

/// `{"field": "value"}`, `["eq" | "starts-with", "$field", "value"]` or
/// `["content-length-range", min, max]` (numbers, or numbers in strings).
fn condition(c: &Value) -> Option<Condition> {
    if let Some(map) = c.as_object() {
        let (name, value) = map.iter().next().filter(|_| map.len() == 1)?;
        return Some(Condition::Eq(name.to_ascii_lowercase(), value.as_str()?.to_owned()));
    }
    let list = c.as_array()?;
    let op = list.first()?.as_str()?.to_ascii_lowercase();
    if op == "content-length-range" {
        let number = |v: &Value| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok());
        let (min, max) = (number(list.get(1)?)?, number(list.get(2)?)?);
        return (list.len() == 3 && min <= max).then_some(Condition::LengthRange(min, max));
    }
    let name = list.get(1)?.as_str()?.strip_prefix('$')?.to_ascii_lowercase();
    let value = list.get(2)?.as_str()?.to_owned();
    match (op.as_str(), list.len()) {
        ("eq", 3) => Some(Condition::Eq(name, value)),
        ("starts-with", 3) => Some(Condition::StartsWith(name, value)),
        _ => None,
    }
}

/// The boundary of a `multipart/form-data` Content-Type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (name.trim().eq_ignore_ascii_case("boundary") && (1..=70).contains(&value.len())).then(|| value.to_owned())
    })
}

/// A form part's head: its field name, the file name a file part carries,
/// and its Content-Type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartHead {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

/// Parses a part's header lines (without the blank line that ends them).
pub fn part_head(bytes: &[u8]) -> Option<PartHead> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut head = PartHead { name: String::new(), filename: None, content_type: None };
    let mut named = false;
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (header, value) = line.split_once(':')?;
        if header.trim().eq_ignore_ascii_case("content-type") {
            head.content_type = Some(value.trim().to_owned());
        } else if header.trim().eq_ignore_ascii_case("content-disposition") {
            let mut params = split_params(value).into_iter();
            if !params.next()?.trim().eq_ignore_ascii_case("form-data") {
                return None;
            }
            for p in params {
                let Some((k, v)) = p.split_once('=') else { continue };
                let v = v.trim().trim_matches('"').to_owned();
                match k.trim().to_ascii_lowercase().as_str() {
                    "name" => {
                        head.name = v;
                        named = true;
                    }
                    "filename" => head.filename = Some(v),
                    _ => {}
                }
            }
        }
    }
    named.then_some(head)
}

/// Splits header parameters at `;` outside double quotes (`filename="a;b"`).
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const NOW: i64 = 1_790_000_000_000;

    #[test]
    fn conditions_hold_or_say_which_failed() {
        let policy = Policy::parse(&b64(r#"{"expiration": "2030-01-01T00:00:00.000Z", "conditions": [
            {"bucket": "photos"}, ["starts-with", "$key", "user/"], {"Content-Type": "image/png"},
            ["content-length-range", "1", 1024], ["starts-with", "$x-amz-meta-tag", ""]]}"#))
        .expect("parses");
        assert_eq!(policy.length_range(), Some((1, 1024)));
        let ok =
            fields(&[("key", "user/a.png"), ("content-type", "image/png"), ("x-amz-meta-tag", "t"), ("policy", "p")]);
        policy.check("photos", &ok, NOW).expect("holds");
        let err = policy.check("videos", &ok, NOW).expect_err("another bucket");
        assert_eq!((err.code, err.status), ("AccessDenied", 403));
        assert!(err.message.contains("\"eq\", \"$bucket\", \"photos\""), "{}", err.message);
        let other_key = fields(&[("key", "admin/a.png"), ("content-type", "image/png"), ("x-amz-meta-tag", "")]);
        assert!(policy.check("photos", &other_key, NOW).is_err());
        let missing = fields(&[("key", "user/a.png"), ("x-amz-meta-tag", "")]);
        assert!(policy.check("photos", &missing, NOW).is_err(), "an eq on a missing field fails");
        let extra = fields(&[("key", "user/a"), ("content-type", "image/png"), ("x-amz-meta-tag", ""), ("acl", "x")]);
        let err = policy.check("photos", &extra, NOW).expect_err("acl is named by no condition");
        assert!(err.message.contains("Extra input fields: acl"), "{}", err.message);
        let ignored =
            fields(&[("key", "user/a"), ("content-type", "image/png"), ("x-amz-meta-tag", ""), ("x-ignore-me", "")]);
        policy.check("photos", &ignored, NOW).expect("x-ignore- fields need no condition");
    }

    #[test]
    fn an_expired_or_malformed_policy_is_refused() {
        let expired =
            Policy::parse(&b64(r#"{"expiration": "2020-01-01T00:00:00Z", "conditions": []}"#)).expect("parses");
        assert!(expired.check("b", &[], NOW).expect_err("expired").message.contains("Policy expired"));
        for bad in [
            "not base64!",
            &b64("not json"),
            &b64(r#"{"conditions": []}"#),
            &b64(r#"{"expiration": "tomorrow", "conditions": []}"#),
            &b64(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "key", "x"]]}"#),
            &b64(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 9, 1]]}"#),
            &b64(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"a": "1", "b": "2"}]}"#),
        ] {
            let err = Policy::parse(bad).expect_err(bad);
            assert_eq!((err.code, err.status), ("InvalidPolicyDocument", 400), "{bad}");
        }
    }

    #[test]
    fn boundaries_and_part_heads() {
        assert_eq!(boundary("multipart/form-data; boundary=abc").as_deref(), Some("abc"));
        assert_eq!(boundary("Multipart/Form-Data;boundary=\"a b\"").as_deref(), Some("a b"));
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        let head =
            part_head(b"Content-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png")
                .expect("parses");
        assert_eq!(
            head,
            PartHead { name: "file".into(), filename: Some("a.png".into()), content_type: Some("image/png".into()) }
        );
        let quoted = part_head(b"Content-Disposition: form-data; name=\"file\"; filename=\"a;b.txt\"").expect("parses");
        assert_eq!(quoted.filename.as_deref(), Some("a;b.txt"), "a ; inside quotes is part of the name");
        assert_eq!(part_head(b"Content-Type: text/plain"), None, "a part without a name");
        assert_eq!(part_head(b"no colon here"), None);
    }
}
