//! One metadata partition: a fjall database with four keyspaces.

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use md5::{Digest, Md5};

use crate::keys::{bucket_prefix, object_key, part_key, part_prefix, upload_key};
use crate::limits::PART_SIZE_MIN_BYTES;
use crate::record::{decode, encode};
use crate::{BucketRecord, MetaError, ObjectRecord, PartRecord, Segment, UploadRecord, VolumeRef};

/// A change to a partition. Ops are applied in order by the partition's one
/// writer, so each sees the effects of the ops before it.
#[derive(Debug, Clone)]
pub enum Op {
    CreateBucket(BucketRecord),
    DeleteBucket {
        name: String,
    },
    PutObject {
        bucket: String,
        key: String,
        record: ObjectRecord,
    },
    DeleteObject {
        bucket: String,
        key: String,
    },
    CreateUpload {
        bucket: String,
        key: String,
        upload_id: String,
        record: UploadRecord,
    },
    PutPart {
        bucket: String,
        key: String,
        upload_id: String,
        part: PartRecord,
    },
    CompleteUpload {
        bucket: String,
        key: String,
        upload_id: String,
        /// Part numbers and ETags (MD5 hex, no quotes) as the client listed them.
        parts: Vec<(u32, String)>,
        modified_ms: i64,
    },
    AbortUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
    /// Replaces an object's tags (empty: delete them).
    SetObjectTags {
        bucket: String,
        key: String,
        tags: Vec<(String, String)>,
    },
    /// Replaces a bucket's CORS rules (empty: delete them).
    SetBucketCors {
        name: String,
        rules: Vec<crate::CorsRule>,
    },
    /// Points an object at new copies of its body (a tier move), if the
    /// object still has exactly the segments `old`; frees those.
    ReplaceSegments {
        bucket: String,
        key: String,
        old: Vec<Segment>,
        new: Vec<Segment>,
    },
}

/// What an applied op leaves for the caller: volumes no longer referenced
/// (to remove once the group is durable) and, for writes of objects, the
/// record now stored.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    pub freed: Vec<VolumeRef>,
    pub object: Option<ObjectRecord>,
}

pub struct Partition {
    db: Database,
    buckets: Keyspace,
    objects: Keyspace,
    uploads: Keyspace,
    parts: Keyspace,
    /// Tiering's memory of reads: per object (`bucket \0 key`), the
    /// policy's statistics as opaque bytes; and [`DEPLOYED_KEY`].
    access: Keyspace,
}

/// When this node first ran, in the `access` keyspace (no object key
/// starts with a NUL: bucket names are never empty).
const DEPLOYED_KEY: &[u8] = b"\0deployed_ms";

/// An object's raw name (`bucket \0 key`) and its access statistics.
pub type AccessEntry = (Vec<u8>, Vec<u8>);
/// Statistics to store for `(bucket, key)`, or `None` to forget them.
pub type AccessUpdate<'a> = (&'a str, &'a str, Option<&'a [u8]>);

impl Partition {
    pub fn open(path: &Path) -> Result<Self, MetaError> {
        // Two workers: with one, memtable rotation was seen to deadlock.
        let db = Database::builder(path).worker_threads(2).open().map_err(|e| match e {
            fjall::Error::Locked => MetaError::InUse(path.display().to_string()),
            e => MetaError::Store(e),
        })?;
        let buckets = db.keyspace("buckets", KeyspaceCreateOptions::default)?;
        let objects = db.keyspace("objects", KeyspaceCreateOptions::default)?;
        let uploads = db.keyspace("uploads", KeyspaceCreateOptions::default)?;
        let parts = db.keyspace("parts", KeyspaceCreateOptions::default)?;
        let access = db.keyspace("access", KeyspaceCreateOptions::default)?;
        Ok(Self { db, buckets, objects, uploads, parts, access })
    }

    /// Applies a group of ops and makes them durable with one fsync. The
    /// outer error means the group's durability is unknown (the disk failed):
    /// nothing in it may be acknowledged.
    pub fn apply_group(&self, ops: Vec<Op>) -> Result<Vec<Result<Applied, MetaError>>, MetaError> {
        let results: Vec<_> = ops.into_iter().map(|op| self.apply(op)).collect();
        self.db.persist(PersistMode::SyncAll)?;
        Ok(results)
    }

    fn apply(&self, op: Op) -> Result<Applied, MetaError> {
        match op {
            Op::CreateBucket(record) => self.create_bucket(record),
            Op::DeleteBucket { name } => self.delete_bucket(&name),
            Op::PutObject { bucket, key, record } => self.put_object(&bucket, &key, record),
            Op::DeleteObject { bucket, key } => self.delete_object(&bucket, &key),
            Op::CreateUpload { bucket, key, upload_id, record } => {
                self.uploads.insert(upload_key(&bucket, &key, &upload_id), encode(&record)?)?;
                Ok(Applied::default())
            }
            Op::PutPart { bucket, key, upload_id, part } => self.put_part(&bucket, &key, &upload_id, part),
            Op::CompleteUpload { bucket, key, upload_id, parts, modified_ms } => {
                self.complete_upload(&bucket, &key, &upload_id, &parts, modified_ms)
            }
            Op::AbortUpload { bucket, key, upload_id } => self.abort_upload(&bucket, &key, &upload_id),
            Op::SetObjectTags { bucket, key, tags } => self.set_object_tags(&bucket, &key, tags),
            Op::SetBucketCors { name, rules } => self.set_bucket_cors(&name, rules),
            Op::ReplaceSegments { bucket, key, old, new } => self.replace_segments(&bucket, &key, &old, new),
        }
    }

    fn create_bucket(&self, record: BucketRecord) -> Result<Applied, MetaError> {
        if self.buckets.contains_key(&record.name)? {
            return Err(MetaError::BucketExists);
        }
        self.buckets.insert(record.name.clone(), encode(&record)?)?;
        Ok(Applied::default())
    }

    fn delete_bucket(&self, name: &str) -> Result<Applied, MetaError> {
        if !self.buckets.contains_key(name)? {
            return Err(MetaError::NoSuchBucket);
        }
        self.buckets.remove(name)?;
        Ok(Applied::default())
    }

    fn put_object(&self, bucket: &str, key: &str, record: ObjectRecord) -> Result<Applied, MetaError> {
        let db_key = object_key(bucket, key);
        let freed = self.object_volumes(&db_key)?;
        let mut batch = self.db.batch();
        batch.insert(&self.objects, db_key, encode(&record)?);
        batch.commit()?;
        Ok(Applied { freed, object: Some(record) })
    }

    fn delete_object(&self, bucket: &str, key: &str) -> Result<Applied, MetaError> {
        let db_key = object_key(bucket, key);
        let freed = self.object_volumes(&db_key)?;
        if !freed.is_empty() || self.objects.contains_key(&db_key)? {
            self.objects.remove(db_key)?;
        }
        Ok(Applied { freed, object: None })
    }

    fn set_object_tags(&self, bucket: &str, key: &str, tags: Vec<(String, String)>) -> Result<Applied, MetaError> {
        let db_key = object_key(bucket, key);
        let bytes = self.objects.get(&db_key)?.ok_or(MetaError::NoSuchKey)?;
        let mut record: ObjectRecord = decode(&bytes)?;
        record.tags = tags;
        self.objects.insert(db_key, encode(&record)?)?;
        Ok(Applied { freed: Vec::new(), object: Some(record) })
    }

    fn replace_segments(
        &self,
        bucket: &str,
        key: &str,
        old: &[Segment],
        new: Vec<Segment>,
    ) -> Result<Applied, MetaError> {
        let db_key = object_key(bucket, key);
        let bytes = self.objects.get(&db_key)?.ok_or(MetaError::NoSuchKey)?;
        let mut record: ObjectRecord = decode(&bytes)?;
        if record.segments != old {
            // Overwritten meanwhile: the new copies are the caller's to drop.
            return Err(MetaError::Conflict);
        }
        // Segments the move kept (already in the target tier) stay referenced.
        let freed = old.iter().filter(|s| !new.contains(s)).filter_map(|s| s.body.volume().cloned()).collect();
        record.segments = new;
        self.objects.insert(db_key, encode(&record)?)?;
        Ok(Applied { freed, object: Some(record) })
    }

    fn set_bucket_cors(&self, name: &str, rules: Vec<crate::CorsRule>) -> Result<Applied, MetaError> {
        let bytes = self.buckets.get(name)?.ok_or(MetaError::NoSuchBucket)?;
        let mut record: BucketRecord = decode(&bytes)?;
        record.cors = rules;
        self.buckets.insert(name, encode(&record)?)?;
        Ok(Applied::default())
    }

    fn object_volumes(&self, db_key: &[u8]) -> Result<Vec<VolumeRef>, MetaError> {
        Ok(match self.objects.get(db_key)? {
            Some(bytes) => {
                let old: ObjectRecord = decode(&bytes)?;
                old.segments.iter().filter_map(|s| s.body.volume().cloned()).collect()
            }
            None => Vec::new(),
        })
    }

    fn put_part(&self, bucket: &str, key: &str, upload_id: &str, part: PartRecord) -> Result<Applied, MetaError> {
        if !self.uploads.contains_key(upload_key(bucket, key, upload_id))? {
            return Err(MetaError::NoSuchUpload);
        }
        let db_key = part_key(upload_id, part.part_number);
        let freed = match self.parts.get(&db_key)? {
            Some(bytes) => decode::<PartRecord>(&bytes)?.body.volume().cloned().into_iter().collect(),
            None => Vec::new(),
        };
        self.parts.insert(db_key, encode(&part)?)?;
        Ok(Applied { freed, object: None })
    }

    fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: &[(u32, String)],
        modified_ms: i64,
    ) -> Result<Applied, MetaError> {
        let upload = self.get_upload(bucket, key, upload_id)?.ok_or(MetaError::NoSuchUpload)?;
        let stored = self.list_parts(upload_id, 0, usize::MAX)?;
        let chosen = choose_parts(&stored, listed)?;
        let record = assemble_object(upload, &chosen, modified_ms);

        let object_db_key = object_key(bucket, key);
        let mut freed = self.object_volumes(&object_db_key)?;
        freed.extend(
            stored
                .iter()
                .filter(|p| !chosen.iter().any(|c| c.part_number == p.part_number))
                .filter_map(|p| p.body.volume().cloned()),
        );
        let mut batch = self.db.batch();
        batch.insert(&self.objects, object_db_key, encode(&record)?);
        batch.remove(&self.uploads, upload_key(bucket, key, upload_id));
        for part in &stored {
            batch.remove(&self.parts, part_key(upload_id, part.part_number));
        }
        batch.commit()?;
        Ok(Applied { freed, object: Some(record) })
    }

    fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<Applied, MetaError> {
        if self.get_upload(bucket, key, upload_id)?.is_none() {
            return Err(MetaError::NoSuchUpload);
        }
        let stored = self.list_parts(upload_id, 0, usize::MAX)?;
        let mut batch = self.db.batch();
        batch.remove(&self.uploads, upload_key(bucket, key, upload_id));
        for part in &stored {
            batch.remove(&self.parts, part_key(upload_id, part.part_number));
        }
        batch.commit()?;
        Ok(Applied { freed: stored.iter().filter_map(|p| p.body.volume().cloned()).collect(), object: None })
    }

    /// Bytes in memtables not yet flushed. Their flush writes about as much
    /// again as new tables (before the journal they replace goes), and the
    /// compaction after it as much once more: space the store takes on its
    /// own, after the writes that were checked against free space.
    pub fn unflushed_bytes(&self) -> u64 {
        self.db.write_buffer_size()
    }

    /// Starts flushing every keyspace's memtable (fjall's background
    /// workers write them as tables), so the journal they replace can go.
    /// `rotate_memtable` is fjall's, public though undocumented.
    pub fn start_flush(&self) -> Result<(), MetaError> {
        for keyspace in [&self.buckets, &self.objects, &self.uploads, &self.parts, &self.access] {
            keyspace.rotate_memtable()?;
        }
        Ok(())
    }

    /// Stores (or, with `None`, forgets) objects' access statistics. No
    /// fsync of its own: the next commit of any op makes it durable, and a
    /// crash before that costs minutes of statistics, never an object.
    pub fn save_access(&self, entries: &[AccessUpdate<'_>]) -> Result<(), MetaError> {
        let mut batch = self.db.batch();
        for (bucket, key, stats) in entries {
            match stats {
                Some(stats) => batch.insert(&self.access, object_key(bucket, key), *stats),
                None => batch.remove(&self.access, object_key(bucket, key)),
            }
        }
        batch.commit()?;
        // Into the OS's hands (a killed process loses nothing), not synced.
        self.db.persist(PersistMode::Buffer)?;
        Ok(())
    }

    /// Up to `limit` access entries after the raw key `after`, in key
    /// order: (`bucket \0 key`, statistics).
    pub fn scan_access(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<AccessEntry>, MetaError> {
        let iter = match after {
            Some(after) => {
                let mut start = after.to_vec();
                start.push(0);
                self.access.range(start..)
            }
            // Past the NUL-led keys that are not objects'.
            None => self.access.range(vec![1u8]..),
        };
        let mut out = Vec::new();
        for guard in iter.take(limit) {
            let (k, v) = guard.into_inner()?;
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// When this node's metadata was first opened by a version that asks
    /// (the tiering warm-up counts from it); recorded durably on first ask.
    pub fn deployed_ms(&self, now_ms: u64) -> Result<u64, MetaError> {
        if let Some(v) = self.access.get(DEPLOYED_KEY)? {
            if let Ok(bytes) = <[u8; 8]>::try_from(&v[..]) {
                return Ok(u64::from_le_bytes(bytes));
            }
        }
        self.access.insert(DEPLOYED_KEY, now_ms.to_le_bytes())?;
        self.db.persist(PersistMode::SyncAll)?;
        Ok(now_ms)
    }

    pub fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>, MetaError> {
        self.buckets.get(name)?.map(|b| decode(&b)).transpose()
    }

    pub fn buckets(&self) -> Result<Vec<BucketRecord>, MetaError> {
        let mut out = Vec::new();
        for guard in self.buckets.iter() {
            out.push(decode(&guard.value()?)?);
        }
        Ok(out)
    }

    pub fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>, MetaError> {
        self.objects.get(object_key(bucket, key))?.map(|b| decode(&b)).transpose()
    }

    pub fn get_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<Option<UploadRecord>, MetaError> {
        self.uploads.get(upload_key(bucket, key, upload_id))?.map(|b| decode(&b)).transpose()
    }

    /// Parts of an upload with numbers above `after`, in order, at most `limit`.
    pub fn list_parts(&self, upload_id: &str, after: u32, limit: usize) -> Result<Vec<PartRecord>, MetaError> {
        let start = part_key(upload_id, after.saturating_add(1));
        let prefix = part_prefix(upload_id);
        let mut out = Vec::new();
        for guard in self.parts.range(start..) {
            let (k, v) = guard.into_inner()?;
            if !k.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            out.push(decode(&v)?);
        }
        Ok(out)
    }

    /// Up to `limit` object records after the database key `after`, in key
    /// order: how the scrubber walks a partition in small bites.
    /// Every volume id a record of this partition references (objects and
    /// parts of uploads in progress): what must never be swept as an orphan.
    pub fn referenced_volumes(&self, into: &mut std::collections::HashSet<u64>) -> Result<(), MetaError> {
        for guard in self.objects.iter() {
            let record: ObjectRecord = decode(&guard.value()?)?;
            into.extend(record.segments.iter().filter_map(|s| s.body.volume().map(|v| v.id)));
        }
        for guard in self.parts.iter() {
            let part: PartRecord = decode(&guard.value()?)?;
            into.extend(part.body.volume().map(|v| v.id));
        }
        Ok(())
    }

    /// Multipart uploads started before `before_ms` (bucket, key, upload id),
    /// at most `limit`: abandoned uploads to abort.
    pub fn expired_uploads(&self, before_ms: i64, limit: usize) -> Result<Vec<(String, String, String)>, MetaError> {
        let mut out = Vec::new();
        for guard in self.uploads.iter() {
            if out.len() >= limit {
                break;
            }
            let (k, v) = guard.into_inner()?;
            let record: UploadRecord = decode(&v)?;
            if record.initiated_ms >= before_ms {
                continue;
            }
            let corrupt = || MetaError::Corrupt("upload key".into());
            let nul = k.iter().position(|b| *b == 0).ok_or_else(corrupt)?;
            let (key, upload_id) = crate::keys::split_upload_key(&k[nul + 1..]).ok_or_else(corrupt)?;
            let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| corrupt());
            out.push((text(&k[..nul])?, text(key)?, text(upload_id)?));
        }
        Ok(out)
    }

    pub fn scan_objects(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, ObjectRecord)>, MetaError> {
        scan(&self.objects, after, limit)
    }

    /// Up to `limit` part records of uploads in progress after the database
    /// key `after`, in key order: the scrubber's walk over parts.
    pub fn scan_parts(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, PartRecord)>, MetaError> {
        scan(&self.parts, after, limit)
    }

    /// The part record at a database key from [`Partition::scan_parts`], if
    /// it is still there (not completed or aborted since).
    pub fn part_at(&self, raw_key: &[u8]) -> Result<Option<PartRecord>, MetaError> {
        self.parts.get(raw_key)?.map(|b| decode(&b)).transpose()
    }

    /// True when the bucket holds an object or an upload in this partition.
    pub fn bucket_has_content(&self, bucket: &str) -> Result<bool, MetaError> {
        let prefix = bucket_prefix(bucket);
        Ok(self.objects.prefix(&prefix).next().is_some() || self.uploads.prefix(&prefix).next().is_some())
    }

    pub(crate) fn objects_keyspace(&self) -> &Keyspace {
        &self.objects
    }

    pub(crate) fn uploads_keyspace(&self) -> &Keyspace {
        &self.uploads
    }
}

/// Checks the client's part list against the stored parts, as S3 does.
fn choose_parts(stored: &[PartRecord], listed: &[(u32, String)]) -> Result<Vec<PartRecord>, MetaError> {
    if listed.is_empty() {
        return Err(MetaError::InvalidPart(0));
    }
    let mut chosen: Vec<PartRecord> = Vec::with_capacity(listed.len());
    for (number, etag) in listed {
        if chosen.last().is_some_and(|prev| prev.part_number >= *number) {
            return Err(MetaError::InvalidPartOrder);
        }
        let part = stored
            .iter()
            .find(|p| p.part_number == *number)
            .filter(|p| p.etag.eq_ignore_ascii_case(etag.trim_matches('"')))
            .ok_or(MetaError::InvalidPart(*number))?;
        chosen.push(part.clone());
    }
    if let Some((_, all_but_last)) = chosen.split_last() {
        if let Some(small) = all_but_last.iter().find(|p| p.size < PART_SIZE_MIN_BYTES) {
            return Err(MetaError::EntityTooSmall(small.part_number));
        }
    }
    Ok(chosen)
}

/// The object that a completed upload becomes; its ETag is the MD5 of the
/// parts' binary MD5s, then `-` and the part count.
fn assemble_object(upload: UploadRecord, chosen: &[PartRecord], modified_ms: i64) -> ObjectRecord {
    let mut md5 = Md5::new();
    for part in chosen {
        // Stored ETags were written by us as hex; a bad one only weakens the ETag.
        md5.update(hex::decode(&part.etag).unwrap_or_default());
    }
    ObjectRecord {
        size: chosen.iter().map(|p| p.size).sum(),
        etag: format!("{}-{}", hex::encode(md5.finalize()), chosen.len()),
        modified_ms,
        content_type: upload.content_type,
        headers: upload.headers,
        user_meta: upload.user_meta,
        segments: chosen.iter().map(|p| Segment { size: p.size, body: p.body.clone() }).collect(),
        tags: upload.tags,
        checksum: upload
            .checksum_algorithm
            .and_then(|algo| crate::composite::composite_checksum(&algo, chosen).map(|value| (algo, value))),
    }
}

/// Up to `limit` records of `keyspace` after the key `after`, in key order.
fn scan<T: serde::de::DeserializeOwned>(
    keyspace: &Keyspace,
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<(Vec<u8>, T)>, MetaError> {
    let iter = match after {
        Some(after) => {
            let mut start = after.to_vec();
            start.push(0);
            keyspace.range(start..)
        }
        None => keyspace.iter(),
    };
    let mut out = Vec::new();
    for guard in iter.take(limit) {
        let (k, v) = guard.into_inner()?;
        out.push((k.to_vec(), decode(&v)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_open_elsewhere_is_named_in_use() {
        let dir = std::env::temp_dir().join(format!("stratum-meta-inuse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = Partition::open(&dir).expect("open");
        match Partition::open(&dir) {
            Err(MetaError::InUse(path)) => assert_eq!(path, dir.display().to_string()),
            other => panic!("expected InUse, got {:?}", other.err()),
        }
        drop(first);
        assert!(Partition::open(&dir).is_ok(), "free again once closed");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_move_frees_only_the_volumes_it_replaced() {
        let dir = std::env::temp_dir().join(format!("stratum-meta-replace-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = Partition::open(&dir).expect("open");
        let segment = |id: u64, tier: u8| Segment {
            size: 10,
            body: crate::SegmentBody::Volume(VolumeRef {
                slice: 0,
                id,
                block_size: 65536,
                data_shards: 1,
                parity_shards: 0,
                disks: vec![0],
                tier,
            }),
        };
        let record = ObjectRecord {
            size: 20,
            etag: String::new(),
            modified_ms: 0,
            content_type: String::new(),
            headers: vec![],
            user_meta: vec![],
            segments: vec![segment(1, 0), segment(2, 1)],
            tags: vec![],
            checksum: None,
        };
        let bucket = BucketRecord { name: "b".into(), created_ms: 0, cors: vec![] };
        let put = Op::PutObject { bucket: "b".into(), key: "k".into(), record };
        for result in p.apply_group(vec![Op::CreateBucket(bucket), put]).expect("durable") {
            result.expect("applied");
        }
        // To warm: segment 2 is there already and is kept as it is.
        let new = vec![segment(3, 1), segment(2, 1)];
        let old = vec![segment(1, 0), segment(2, 1)];
        let op = Op::ReplaceSegments { bucket: "b".into(), key: "k".into(), old, new: new.clone() };
        let applied = p.apply_group(vec![op]).expect("durable").remove(0).expect("applied");
        let freed: Vec<u64> = applied.freed.iter().map(|v| v.id).collect();
        assert_eq!(freed, vec![1], "volume 2 is still referenced");
        assert_eq!(p.get_object("b", "k").expect("read").map(|r| r.segments), Some(new));
        drop(p);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn access_statistics_and_the_deployment_time_survive_a_reopen() {
        let dir = std::env::temp_dir().join(format!("stratum-meta-access-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let p = Partition::open(&dir).expect("open");
            assert_eq!(p.deployed_ms(1000).expect("deployed"), 1000);
            assert_eq!(p.deployed_ms(5000).expect("deployed"), 1000, "the first time stays");
            let entries = [("b", "k1", Some(&[1u8; 64][..])), ("b", "k2", Some(&[2u8; 64][..])), ("c", "x", None)];
            p.save_access(&entries).expect("save");
            p.save_access(&[("b", "k1", None)]).expect("forget");
            p.apply_group(vec![]).expect("a commit makes them durable");
        }
        let p = Partition::open(&dir).expect("reopen");
        assert_eq!(p.deployed_ms(9000).expect("deployed"), 1000);
        let all = p.scan_access(None, 10).expect("scan");
        assert_eq!(all, vec![(b"b\0k2".to_vec(), vec![2u8; 64])], "the deployment key is not an object's");
        assert!(p.scan_access(Some(b"b\0k2"), 10).expect("scan").is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
