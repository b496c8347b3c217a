//! Key encoding in the partitions, and which partition owns what.
//!
//! Bucket names never contain NUL, so `bucket \0 key` sorts all of a bucket's
//! keys together in key order. Upload ids have a fixed length, so
//! `bucket \0 key \0 upload_id` can be split from its end.

use crate::limits::UPLOAD_ID_LEN;

/// FNV-1a: stable across builds and platforms, which placement must be.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// FNV-1a's low bits are weak (modulo 2 it is the parity of the odd bytes):
/// murmur3's 64-bit finaliser spreads every input bit over the low bits.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

pub fn partition_of_object(bucket: &str, key: &str, partitions: usize) -> usize {
    (mix(fnv1a(&[bucket.as_bytes(), key.as_bytes()])) % partitions.max(1) as u64) as usize
}

pub fn partition_of_bucket(bucket: &str, partitions: usize) -> usize {
    (mix(fnv1a(&[bucket.as_bytes()])) % partitions.max(1) as u64) as usize
}

pub(crate) fn bucket_prefix(bucket: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(bucket.len() + 1);
    out.extend_from_slice(bucket.as_bytes());
    out.push(0);
    out
}

/// An object's key in the store: `bucket \0 key`.
pub fn object_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut out = bucket_prefix(bucket);
    out.extend_from_slice(key.as_bytes());
    out
}

/// Splits an object key as scanned (`bucket \0 key`) into bucket and key.
pub fn split_object_key(raw: &[u8]) -> Option<(&str, &str)> {
    let nul = raw.iter().position(|b| *b == 0)?;
    let bucket = std::str::from_utf8(&raw[..nul]).ok()?;
    let key = std::str::from_utf8(&raw[nul + 1..]).ok()?;
    Some((bucket, key))
}

pub(crate) fn upload_key(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    let mut out = object_key(bucket, key);
    out.push(0);
    out.extend_from_slice(upload_id.as_bytes());
    out
}

/// Splits an upload key (without its bucket prefix) into key and upload id.
pub(crate) fn split_upload_key(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let split = rest.len().checked_sub(UPLOAD_ID_LEN + 1)?;
    if rest.get(split) != Some(&0) {
        return None;
    }
    Some((&rest[..split], &rest[split + 1..]))
}

pub(crate) fn part_prefix(upload_id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(upload_id.len() + 5);
    out.extend_from_slice(upload_id.as_bytes());
    out.push(0);
    out
}

pub(crate) fn part_key(upload_id: &str, part_number: u32) -> Vec<u8> {
    let mut out = part_prefix(upload_id);
    out.extend_from_slice(&part_number.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_is_stable_and_spread() {
        // Fixed values: placement must never change between builds.
        assert_eq!(partition_of_object("b", "k", 1), 0);
        let mut seen = [0usize; 4];
        for i in 0..1000 {
            seen[partition_of_object("bucket", &format!("key-{i}"), 4)] += 1;
        }
        assert!(seen.iter().all(|n| *n > 150), "uneven spread {seen:?}");
        assert_eq!(partition_of_object("bucket", "key-1", 4), partition_of_object("bucket", "key-1", 4));
    }

    /// Keys that differ in one digit must not all land together (plain
    /// FNV-1a put k00..k11 on one of two partitions).
    #[test]
    fn similar_keys_spread_over_two_partitions() {
        let keys: Vec<String> = (0..12).map(|i| format!("k{i:02}")).collect();
        let on_zero = keys.iter().filter(|k| partition_of_object("bucket", k, 2) == 0).count();
        assert!((3..=9).contains(&on_zero), "{on_zero} of 12 on partition 0");
        let mut seen = [0usize; 2];
        for i in 0..1000 {
            seen[partition_of_object("b", &format!("{i}"), 2)] += 1;
        }
        assert!(seen.iter().all(|n| *n > 420), "uneven spread {seen:?}");
    }

    #[test]
    fn bucket_and_key_boundary_matters() {
        assert_ne!(fnv1a(&[b"ab".as_slice(), b"c".as_slice()]), fnv1a(&[b"a".as_slice(), b"bc".as_slice()]));
    }

    #[test]
    fn upload_key_splits_back() {
        let id = "0123456789abcdef0123456789abcdef";
        let full = upload_key("b", "dir/\u{e9}", id);
        let rest = &full[2..];
        let (key, upload) = split_upload_key(rest).expect("splits");
        assert_eq!(key, "dir/\u{e9}".as_bytes());
        assert_eq!(upload, id.as_bytes());
        assert!(split_upload_key(b"short").is_none());
    }
}
