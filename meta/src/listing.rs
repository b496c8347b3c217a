//! Listing a bucket: each partition scans its sorted keys, rolling keys up
//! into common prefixes; the caller merges the partitions' pages in order.

use fjall::Keyspace;

use crate::keys::{bucket_prefix, split_upload_key};
use crate::record::{decode, storage_class};
use crate::{MetaError, ObjectRecord, Partition, UploadRecord};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListEntry {
    /// `storage_class`: `None` is STANDARD.
    Object {
        key: String,
        size: u64,
        etag: String,
        modified_ms: i64,
        storage_class: Option<String>,
    },
    Upload(UploadEntry),
    Prefix(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadEntry {
    pub key: String,
    pub upload_id: String,
    pub initiated_ms: i64,
    /// `None` is STANDARD.
    pub storage_class: Option<String>,
}

impl ListEntry {
    /// The name the listing is ordered by, and that markers compare with.
    pub fn name(&self) -> &str {
        match self {
            ListEntry::Object { key, .. } => key,
            ListEntry::Upload(u) => &u.key,
            ListEntry::Prefix(p) => p,
        }
    }

    fn order_key(&self) -> (&str, &str) {
        match self {
            ListEntry::Upload(u) => (&u.key, &u.upload_id),
            other => (other.name(), ""),
        }
    }
}

/// A merged page: at most `limit` entries, and whether more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub entries: Vec<ListEntry>,
    pub truncated: bool,
}

/// What to list. `after` is exclusive (a start-after key, a marker or a
/// continuation token); entries and common prefixes at or before it are skipped.
#[derive(Debug, Clone, Default)]
pub struct ListQuery<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    pub after: Option<&'a str>,
    /// For uploads: with `after` as the key marker, uploads of that key with
    /// ids above this one are still listed.
    pub after_upload_id: Option<&'a str>,
    pub limit: usize,
}

impl Partition {
    /// Up to `limit + 1` entries of this partition, so a merge can tell
    /// whether the listing is truncated.
    pub fn list_objects(&self, q: &ListQuery) -> Result<Vec<ListEntry>, MetaError> {
        scan(self.objects_keyspace(), q, |key, value| {
            let rec: ObjectRecord = decode(value)?;
            Ok(Some(ListEntry::Object {
                key: key.to_owned(),
                size: rec.size,
                storage_class: storage_class(&rec.headers).map(str::to_owned),
                etag: rec.etag,
                modified_ms: rec.modified_ms,
            }))
        })
    }

    pub fn list_uploads(&self, q: &ListQuery) -> Result<Vec<ListEntry>, MetaError> {
        scan(self.uploads_keyspace(), q, |name, value| {
            let Some((key, upload_id)) = split_upload_key(name.as_bytes()) else {
                return Err(MetaError::Corrupt("upload key".into()));
            };
            let key = std::str::from_utf8(key).map_err(|e| MetaError::Corrupt(e.to_string()))?;
            let upload_id = std::str::from_utf8(upload_id).map_err(|e| MetaError::Corrupt(e.to_string()))?;
            if q.after == Some(key) && q.after_upload_id.is_none_or(|after| upload_id <= after) {
                return Ok(None);
            }
            let rec: UploadRecord = decode(value)?;
            Ok(Some(ListEntry::Upload(UploadEntry {
                key: key.to_owned(),
                upload_id: upload_id.to_owned(),
                initiated_ms: rec.initiated_ms,
                storage_class: storage_class(&rec.headers).map(str::to_owned),
            })))
        })
    }
}

fn scan(
    keyspace: &Keyspace,
    q: &ListQuery,
    mut entry: impl FnMut(&str, &[u8]) -> Result<Option<ListEntry>, MetaError>,
) -> Result<Vec<ListEntry>, MetaError> {
    let base = bucket_prefix(q.bucket);
    let mut scope = base.clone();
    scope.extend_from_slice(q.prefix.as_bytes());
    let mut start = scope.clone();
    if let Some(after) = q.after.filter(|a| a.as_bytes() >= q.prefix.as_bytes()) {
        start = base.clone();
        start.extend_from_slice(after.as_bytes());
        // Uploads of the marker key itself may still follow (upload-id-marker).
        if q.after_upload_id.is_none() {
            start.push(0);
        }
    }
    let mut out = Vec::new();
    'restart: loop {
        for guard in keyspace.range(start.clone()..) {
            let (db_key, value) = guard.into_inner()?;
            if !db_key.starts_with(&scope) || out.len() > q.limit {
                break 'restart;
            }
            let name = std::str::from_utf8(&db_key[base.len()..]).map_err(|e| MetaError::Corrupt(e.to_string()))?;
            let name_for_prefix = match keyspace_name_is_upload(name) {
                Some(key) => key,
                None => name,
            };
            if let Some(common) = common_prefix(name_for_prefix, q.prefix, q.delimiter) {
                if q.after.is_none_or(|after| common > after) {
                    out.push(ListEntry::Prefix(common.to_owned()));
                }
                // Everything under this prefix rolls up into it: skip past it.
                // Valid UTF-8 never holds 0xff, so this sorts after all of them.
                start = base.clone();
                start.extend_from_slice(common.as_bytes());
                start.push(0xff);
                continue 'restart;
            }
            if q.after.is_some_and(|after| name_for_prefix < after) {
                continue;
            }
            if let Some(e) = entry(name, &value)? {
                out.push(e);
            }
        }
        break;
    }
    Ok(out)
}

/// Upload keys carry `\0 upload_id` after the object key; object keys never
/// hold NUL (the HTTP layer refuses it), so a NUL marks an upload key.
fn keyspace_name_is_upload(name: &str) -> Option<&str> {
    name.find('\0').map(|at| &name[..at])
}

/// The common prefix a key rolls up into, if the delimiter occurs after the prefix.
pub fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let delimiter = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.get(prefix.len()..)?;
    let at = rest.find(delimiter)?;
    key.get(..prefix.len() + at + delimiter.len())
}

/// Merges the partitions' sorted pages into one page of at most `limit`
/// entries. A common prefix seen in several partitions appears once.
pub fn merge(pages: Vec<Vec<ListEntry>>, limit: usize) -> ListPage {
    let mut all: Vec<ListEntry> = pages.into_iter().flatten().collect();
    all.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    all.dedup_by(|b, a| matches!((&*a, &*b), (ListEntry::Prefix(x), ListEntry::Prefix(y)) if x == y));
    let truncated = all.len() > limit;
    all.truncate(limit);
    ListPage { entries: all, truncated }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Op, Segment};

    fn obj(key: &str) -> ListEntry {
        ListEntry::Object { key: key.into(), size: 1, etag: "e".into(), modified_ms: 0, storage_class: None }
    }

    #[test]
    fn common_prefix_rolls_up_after_the_prefix() {
        assert_eq!(common_prefix("a/b/c", "", Some("/")), Some("a/"));
        assert_eq!(common_prefix("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(common_prefix("a/b", "a/b", Some("/")), None);
        assert_eq!(common_prefix("abc", "", None), None);
        assert_eq!(common_prefix("x--y", "", Some("--")), Some("x--"));
    }

    #[test]
    fn merge_orders_dedups_and_truncates() {
        let page = merge(
            vec![
                vec![obj("a"), ListEntry::Prefix("d/".into()), obj("z")],
                vec![obj("b"), ListEntry::Prefix("d/".into())],
            ],
            3,
        );
        assert_eq!(page.entries, vec![obj("a"), obj("b"), ListEntry::Prefix("d/".into())]);
        assert!(page.truncated);
        let all = merge(vec![vec![obj("a")], vec![]], 3);
        assert!(!all.truncated);
    }

    fn record() -> crate::ObjectRecord {
        crate::ObjectRecord {
            size: 1,
            etag: "e".into(),
            modified_ms: 0,
            content_type: String::new(),
            headers: vec![],
            user_meta: vec![],
            segments: vec![Segment { size: 1, body: crate::SegmentBody::Inline { bytes: vec![1], crc32c: 0 } }],
            tags: vec![],
            checksum: None,
        }
    }

    /// Model check: listing through two partitions and merging, page by page,
    /// equals rolling up a sorted list of all keys.
    #[test]
    fn paged_merge_equals_model() {
        let dir = std::env::temp_dir().join(format!("stratum-meta-list-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let parts = [Partition::open(&dir.join("0")).expect("open"), Partition::open(&dir.join("1")).expect("open")];
        let mut keys: Vec<String> = Vec::new();
        for i in 0..60 {
            for k in [format!("k{i:02}"), format!("d{}/x{i}", i % 4), format!("d{}/y/{i}", i % 3), format!("e{i}/")] {
                keys.push(k);
            }
        }
        keys.sort();
        keys.dedup();
        for (i, k) in keys.iter().enumerate() {
            let op = Op::PutObject { bucket: "b".into(), key: k.clone(), record: record() };
            parts[i % 2].apply_group(vec![op]).expect("apply");
        }
        for (prefix, delimiter) in [("", None), ("", Some("/")), ("d1/", Some("/")), ("d", Some("/")), ("k", None)] {
            let mut model: Vec<String> = Vec::new();
            for k in keys.iter().filter(|k| k.starts_with(prefix)) {
                let name = common_prefix(k, prefix, delimiter).unwrap_or(k).to_owned();
                if model.last() != Some(&name) {
                    model.push(name);
                }
            }
            let mut got: Vec<String> = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let q = ListQuery {
                    bucket: "b",
                    prefix,
                    delimiter,
                    after: after.as_deref(),
                    after_upload_id: None,
                    limit: 7,
                };
                let pages = parts.iter().map(|p| p.list_objects(&q).expect("list")).collect();
                let page = merge(pages, 7);
                got.extend(page.entries.iter().map(|e| e.name().to_owned()));
                after = page.entries.last().map(|e| e.name().to_owned());
                if !page.truncated {
                    break;
                }
            }
            assert_eq!(got, model, "prefix {prefix:?} delimiter {delimiter:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
