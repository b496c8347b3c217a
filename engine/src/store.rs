//! The store as one core sees it: every call is decided by the core that owns
//! the partition of its `(bucket, key)`, reached through the mesh; bodies are
//! written into this core's own slice.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use stratum_meta::listing::{merge, ListQuery};
use stratum_meta::{Applied, BucketRecord, ListPage, ObjectRecord, Op, PartRecord, Segment, UploadRecord};

use crate::autotier::{name_of, AutoTier, ReadNote};
use crate::commit::{remove_volumes, Committer};
use crate::error::{EngineError, Result};
use crate::mesh::Mesh;
use crate::node::Node;
use crate::reader::ObjectReader;
use crate::scrub::{scrub_volume, ScrubReport, Throttle};
use crate::tier::Tier;
use std::time::Duration;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
use crate::volume::{SealedVolume, VolumeWriter};

/// The copies that are new (not one of the original segments).
fn fresh(original: &[Segment], copies: &[Segment]) -> Vec<Segment> {
    copies.iter().filter(|c| !original.contains(c)).cloned().collect()
}

/// An owned listing request, so it can cross cores.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub bucket: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub after: Option<String>,
    pub after_upload_id: Option<String>,
    pub limit: usize,
}

impl ListRequest {
    fn query(&self) -> ListQuery<'_> {
        ListQuery {
            bucket: &self.bucket,
            prefix: &self.prefix,
            delimiter: self.delimiter.as_deref(),
            after: self.after.as_deref(),
            after_upload_id: self.after_upload_id.as_deref(),
            limit: self.limit,
        }
    }
}

pub struct Store {
    pub(crate) node: Arc<Node>,
    pub(crate) core: usize,
    mesh: OnceCell<Mesh>,
    committers: HashMap<usize, Rc<Committer>>,
    /// The planner of the objects this core decides for (automatic
    /// tiering on), fed by commits here and reads from every core.
    pub(crate) autotier: Option<AutoTier>,
    /// Reads served here, waiting to be told to their deciding cores.
    pub(crate) read_notes: RefCell<Vec<(usize, ReadNote)>>,
}

/// What a commit tells the planner.
enum Seen {
    Written(String, String),
    Deleted(String, String),
    Nothing,
}

impl Seen {
    fn of(op: &Op) -> Seen {
        match op {
            Op::PutObject { bucket, key, .. } | Op::CompleteUpload { bucket, key, .. } => {
                Seen::Written(bucket.clone(), key.clone())
            }
            Op::DeleteObject { bucket, key } => Seen::Deleted(bucket.clone(), key.clone()),
            _ => Seen::Nothing,
        }
    }
}

impl Store {
    pub fn new(node: Arc<Node>, core: usize) -> Rc<Self> {
        let committers = (0..node.partition_count())
            .filter(|p| node.core_of_partition(*p) == core)
            .filter_map(|p| {
                let partition = node.partition(p)?.clone();
                Some((p, Committer::new(partition, node.clone())))
            })
            .collect();
        let autotier = node.autotier.as_ref().map(|shared| AutoTier::new(shared, &node));
        Rc::new(Self { node, core, mesh: OnceCell::new(), committers, autotier, read_notes: RefCell::default() })
    }

    /// Connects this core to the others; call once on the core's executor.
    pub async fn join_mesh(self: &Rc<Self>, ends: crate::mesh::MeshEnds) {
        let weak = Rc::downgrade(self);
        let mesh = ends.connect(move || weak.upgrade()).await;
        let _ = self.mesh.set(mesh);
    }

    pub fn core(&self) -> usize {
        self.core
    }

    /// Background work of this core: the scrubber over its partitions at
    /// the configured rate; on core 0 also repairs queued by reads and the
    /// removal of freed volumes once their grace period is over.
    pub fn spawn_housekeeping(self: &Rc<Self>) {
        self.spawn_autotier();
        let scrub = self.node.scrub_schedule();
        if scrub.bytes_per_sec > 0 {
            let this = self.clone();
            glommio::spawn_local(async move {
                loop {
                    glommio::timer::sleep(scrub.interval).await;
                    let report = this.scrub_own_partitions(scrub.bytes_per_sec).await;
                    tracing::info!(core = this.core, ?report, "scrub pass done");
                }
            })
            .detach();
        }
        let this = self.clone();
        glommio::spawn_local(async move {
            // Check a few times per expiry period, at most once a minute.
            let period = (this.node.multipart_expiry() / 4).clamp(Duration::from_millis(200), Duration::from_secs(60));
            loop {
                glommio::timer::sleep(period).await;
                this.abort_expired_uploads().await;
            }
        })
        .detach();
        if self.core != 0 {
            return;
        }
        let node = self.node.clone();
        glommio::spawn_local(async move {
            let mut tick: u64 = 0;
            loop {
                glommio::timer::sleep(std::time::Duration::from_secs(1)).await;
                tick += 1;
                if node.disks().any(|d| d.is_full()) {
                    let node = node.clone();
                    glommio::executor()
                        .spawn_blocking(move || node.disks().filter(|d| d.is_full()).for_each(|d| d.check_space()))
                        .await;
                }
                if tick.is_multiple_of(5) && node.disks().any(|d| d.is_faulty()) {
                    let node = node.clone();
                    glommio::executor()
                        .spawn_blocking(move || {
                            for disk in node.disks().filter(|d| d.is_faulty()) {
                                disk.probe();
                            }
                        })
                        .await;
                }
                for (vref, size) in node.take_repairs() {
                    let report = scrub_volume(&node, &vref, size, &mut Throttle::new(0)).await;
                    node.scrub_totals.record(&report);
                }
            }
        })
        .detach();
        let node = self.node.clone();
        glommio::spawn_local(async move {
            loop {
                glommio::timer::sleep(crate::limits::FREE_ROUND).await;
                let ready = node.take_freed(false);
                if !ready.is_empty() || node.disks().any(|d| d.keeps_free()) {
                    let node = node.clone();
                    glommio::executor()
                        .spawn_blocking(move || {
                            remove_volumes(&node, &ready);
                            node.disks().for_each(|d| d.expire_free(crate::limits::FREE_KEEP));
                        })
                        .await;
                }
            }
        })
        .detach();
    }

    /// Aborts the multipart uploads of this core's partitions that are older
    /// than the expiry: abandoned uploads must not hold disk forever.
    async fn abort_expired_uploads(self: &Rc<Self>) {
        let before_ms = now_ms() - self.node.multipart_expiry().as_millis() as i64;
        for p in (0..self.node.partition_count()).filter(|p| self.node.core_of_partition(*p) == self.core) {
            let Some(partition) = self.node.partition(p).cloned() else { continue };
            let expired = match partition.expired_uploads(before_ms, 1000) {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(partition = p, error = %e, "cannot list uploads for expiry");
                    continue;
                }
            };
            for (bucket, key, upload_id) in expired {
                let op = Op::AbortUpload { bucket: bucket.clone(), key: key.clone(), upload_id: upload_id.clone() };
                match self.commit(p, op).await {
                    Ok(_) => tracing::info!(bucket, key, upload_id, "expired multipart upload aborted"),
                    Err(e) => tracing::warn!(bucket, key, upload_id, error = %e, "could not abort expired upload"),
                }
            }
        }
    }

    /// Scrubs every volume of the objects and of the parts of uploads in
    /// progress in this core's partitions.
    pub async fn scrub_own_partitions(self: &Rc<Self>, bytes_per_sec: u64) -> ScrubReport {
        let mut report = ScrubReport::default();
        let mut throttle = Throttle::new(bytes_per_sec);
        for p in (0..self.node.partition_count()).filter(|p| self.node.core_of_partition(*p) == self.core) {
            let Some(partition) = self.node.partition(p).cloned() else { continue };
            let mut after = None;
            while let Some(batch) = next_batch(p, &mut after, |a| partition.scan_objects(a, 64)) {
                for (raw_key, record) in &batch {
                    report.add(&self.scrub_object(&partition, raw_key, record, &mut throttle).await);
                }
            }
            // Parts of uploads in progress (up to the expiry, a week) are
            // scrubbed too; once completed they are the object's segments.
            let mut after = None;
            while let Some(batch) = next_batch(p, &mut after, |a| partition.scan_parts(a, 64)) {
                for (raw_key, part) in &batch {
                    let Some(vref) = part.body.volume() else { continue };
                    let current = || partition.part_at(raw_key).ok().flatten();
                    let still = || current().is_some_and(|p| p.body.volume().is_some_and(|v| v.id == vref.id));
                    if let Some(r) = self.scrub_if_referenced(vref, part.size, still, &mut throttle).await {
                        report.add(&r);
                    }
                }
            }
        }
        self.node.scrub_totals.record(&report);
        report
    }

    /// Scrubs a volume a scan found, if `referenced()` still says so once
    /// the volume is held: the scan may be minutes old, and the volume
    /// freed and its files removed since. Held, its files stay while it is
    /// scrubbed even if it is freed meanwhile.
    async fn scrub_if_referenced(
        &self,
        vref: &stratum_meta::VolumeRef,
        size: u64,
        referenced: impl FnOnce() -> bool,
        throttle: &mut Throttle,
    ) -> Option<ScrubReport> {
        self.node.hold(&[vref.id]);
        let report = if referenced() { Some(scrub_volume(&self.node, vref, size, throttle).await) } else { None };
        self.node.release(&[vref.id]);
        report
    }

    /// Scrubs the volumes of one object record read by a scan (`raw_key`
    /// is its database key), and re-spreads them if they need it. A volume
    /// the object no longer references (overwritten or deleted since the
    /// scan) is skipped, not reported unrecoverable and not rewritten.
    pub async fn scrub_object(
        self: &Rc<Self>,
        partition: &stratum_meta::Partition,
        raw_key: &[u8],
        record: &ObjectRecord,
        throttle: &mut Throttle,
    ) -> ScrubReport {
        let mut report = ScrubReport::default();
        let Some((bucket, key)) = stratum_meta::split_object_key(raw_key) else { return report };
        let mut respread = false;
        for segment in &record.segments {
            let Some(vref) = segment.body.volume() else { continue };
            let referenced = || {
                let current = partition.get_object(bucket, key).ok().flatten();
                current.iter().flat_map(|r| r.segments.iter()).any(|s| s.body.volume().is_some_and(|v| v.id == vref.id))
            };
            if let Some(r) = self.scrub_if_referenced(vref, segment.size, referenced, throttle).await {
                report.add(&r);
                respread |= crate::mover::needs_respread(&self.node, vref);
            }
        }
        if respread {
            match self.respread(bucket, key, record).await {
                Ok(n) => report.volumes_respread += n,
                Err(e) => tracing::warn!(bucket, key, error = %e, "could not re-spread the object's shards"),
            }
        }
        report
    }

    /// Scrubs the whole node now, every core its own partitions at full
    /// speed, and sums what they found.
    pub async fn scrub_all(self: &Rc<Self>) -> Result<ScrubReport> {
        let mut total = ScrubReport::default();
        let pending: Vec<_> = (0..self.node.cores())
            .map(|core| {
                let this = self.clone();
                glommio::spawn_local(async move {
                    if core == this.core {
                        return Ok(this.scrub_own_partitions(0).await);
                    }
                    let mesh = this.mesh.get().ok_or(EngineError::CoreUnavailable(core))?;
                    mesh.call(core, |store| async move { store.scrub_own_partitions(0).await }).await
                })
            })
            .collect();
        for task in pending {
            total.add(&task.await?);
        }
        Ok(total)
    }

    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// Refills the disks marked refilling: a scrub of every volume rewrites
    /// each shard that belongs on them. They stay marked until it is done.
    pub async fn refill(self: &Rc<Self>) -> Result<ScrubReport> {
        let refilling: Vec<_> = self.node.disks().filter(|d| d.is_refilling()).cloned().collect();
        let report = self.scrub_all().await;
        match &report {
            Ok(r) if r.volumes_unrecoverable == 0 => {
                for disk in &refilling {
                    disk.set_refilling(false);
                    tracing::info!(disk = disk.id, ?r, "disk refilled");
                }
            }
            Ok(r) => tracing::error!(?r, "refill left volumes unrecoverable; disks stay marked refilling"),
            Err(e) => tracing::error!(error = %e, "refill failed; disks stay marked refilling"),
        }
        report
    }

    /// The core that decides requests for `(bucket, key)`.
    pub fn owner_of(&self, bucket: &str, key: &str) -> usize {
        self.node.core_of_partition(self.node.object_partition(bucket, key))
    }

    /// Runs `work` on the core owning partition `p` (here, if that is us).
    pub(crate) async fn on_partition<T, F, Fut>(self: &Rc<Self>, p: usize, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Rc<Store>, usize) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<T>> + 'static,
    {
        let owner = self.node.core_of_partition(p);
        if owner == self.core {
            return work(self.clone(), p).await;
        }
        let mesh = self.mesh.get().ok_or(EngineError::CoreUnavailable(owner))?;
        self.node.core_counters.handed(self.core, owner);
        let answer = mesh.call(owner, move |store| work(store, p)).await;
        self.node.core_counters.done(owner);
        answer?
    }

    async fn commit(self: &Rc<Self>, p: usize, op: Op) -> Result<Applied> {
        self.on_partition(p, move |store, p| async move {
            let committer = store.committers.get(&p).cloned().ok_or(EngineError::CoreUnavailable(p))?;
            let seen = if store.autotier.is_some() { Seen::of(&op) } else { Seen::Nothing };
            let applied = committer.submit(op).await?;
            store.tell_planner(seen, &applied);
            Ok(applied)
        })
        .await
    }

    /// Runs on the deciding core, after a commit.
    fn tell_planner(&self, seen: Seen, applied: &Applied) {
        let (Some(at), Some(shared)) = (&self.autotier, &self.node.autotier) else {
            return;
        };
        match seen {
            Seen::Written(bucket, key) => {
                let name = name_of(&bucket, &key);
                match applied.object.as_ref().and_then(|r| crate::autotier::facts_of(&key, r)) {
                    Some((facts, tier)) => at.written(shared, &name, facts, tier, crate::autotier::now_ms()),
                    // Inline now: nothing to move.
                    None => at.removed(&name),
                }
            }
            Seen::Deleted(bucket, key) => at.removed(&name_of(&bucket, &key)),
            Seen::Nothing => {}
        }
    }

    /// A point read of partition `p` on this core, whoever owns it: only
    /// writes need the owner (it orders and commits them), and a committed
    /// record is visible to every thread of the shared fjall keyspace before
    /// its write is answered. Saves the cross-core hop of every GET and HEAD.
    async fn read_here<T, F>(self: &Rc<Self>, p: usize, read: F) -> Result<T>
    where
        F: FnOnce(&stratum_meta::Partition) -> std::result::Result<T, stratum_meta::MetaError>,
    {
        let partition = self.node.partition(p).ok_or(EngineError::CoreUnavailable(p))?;
        read(partition).map_err(EngineError::from)
    }

    async fn read_partition<T, F>(self: &Rc<Self>, p: usize, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&stratum_meta::Partition) -> std::result::Result<T, stratum_meta::MetaError> + Send + 'static,
    {
        self.on_partition(p, move |store, p| async move {
            let partition = store.node.partition(p).ok_or(EngineError::CoreUnavailable(p))?;
            read(partition).map_err(EngineError::from)
        })
        .await
    }

    // --- buckets ---------------------------------------------------------

    pub fn bucket(&self, name: &str) -> Option<BucketRecord> {
        self.node.bucket(name)
    }

    pub fn buckets(&self) -> Vec<BucketRecord> {
        self.node.buckets()
    }

    pub async fn create_bucket(self: &Rc<Self>, name: &str, now_ms: i64) -> Result<()> {
        if self.node.bucket(name).is_some() {
            return Err(EngineError::BucketAlreadyOwnedByYou);
        }
        let record = BucketRecord { name: name.to_owned(), created_ms: now_ms, cors: Vec::new() };
        let p = self.node.bucket_partition(name);
        self.commit(p, Op::CreateBucket(record.clone())).await?;
        self.node.remember_bucket(record);
        Ok(())
    }

    /// Deletes an empty bucket. While it checks, the bucket takes no new
    /// objects or uploads (they fail with NoSuchBucket): a PUT racing the
    /// delete either lands before the check, and the bucket is not empty,
    /// or is refused; it is never acknowledged into a deleted bucket.
    pub async fn delete_bucket(self: &Rc<Self>, name: &str) -> Result<()> {
        if self.node.bucket(name).is_none() {
            return Err(EngineError::NoSuchBucket);
        }
        if !self.node.begin_bucket_delete(name) {
            return Err(EngineError::Conflict);
        }
        let result = self.delete_fenced_bucket(name).await;
        self.node.end_bucket_delete(name);
        result
    }

    async fn delete_fenced_bucket(self: &Rc<Self>, name: &str) -> Result<()> {
        // Commits checked before the fence went up are applied past this.
        for p in 0..self.node.partition_count() {
            self.on_partition(p, |store, p| async move {
                if let Some(committer) = store.committers.get(&p) {
                    committer.barrier().await;
                }
                Ok(())
            })
            .await?;
        }
        for p in 0..self.node.partition_count() {
            let bucket = name.to_owned();
            if self.read_partition(p, move |part| part.bucket_has_content(&bucket)).await? {
                return Err(EngineError::BucketNotEmpty);
            }
        }
        let p = self.node.bucket_partition(name);
        self.commit(p, Op::DeleteBucket { name: name.to_owned() }).await?;
        self.node.forget_bucket(name);
        Ok(())
    }

    /// Replaces a bucket's CORS rules (empty removes them).
    pub async fn set_bucket_cors(self: &Rc<Self>, name: &str, rules: Vec<stratum_meta::CorsRule>) -> Result<()> {
        let mut record = self.node.bucket(name).ok_or(EngineError::NoSuchBucket)?;
        let p = self.node.bucket_partition(name);
        self.commit(p, Op::SetBucketCors { name: name.to_owned(), rules: rules.clone() }).await?;
        record.cors = rules;
        self.node.remember_bucket(record);
        Ok(())
    }

    /// Moves an object's body into `tier`: copy, verify, switch the record
    /// atomically (only if the object did not change meanwhile), then the
    /// old shards are freed. Returns the new record.
    pub async fn move_tier(self: &Rc<Self>, bucket: &str, key: &str, tier: Tier) -> Result<ObjectRecord> {
        let record = self.head_object(bucket, key).await?;
        let mut copies = Vec::with_capacity(record.segments.len());
        for segment in &record.segments {
            match crate::mover::copy_segment(&self.node, self.core as u16, segment, tier).await {
                Ok(copy) => copies.push(copy),
                Err(e) => {
                    crate::mover::drop_copies(&self.node, &fresh(&record.segments, &copies));
                    return Err(e);
                }
            }
        }
        self.replace_body(bucket, key, record, copies).await
    }

    /// Writes again, in their own tier and placed afresh, the volumes of an
    /// object that share a disk or sit on a faulty one. Returns how many.
    async fn respread(self: &Rc<Self>, bucket: &str, key: &str, record: &ObjectRecord) -> Result<u64> {
        let mut copies = Vec::with_capacity(record.segments.len());
        let mut rewritten = 0;
        for segment in &record.segments {
            let copy = match segment.body.volume() {
                Some(vref) if crate::mover::needs_respread(&self.node, vref) => {
                    let tier = Tier::from_code(vref.tier).ok_or(EngineError::InsufficientDisks)?;
                    rewritten += 1;
                    crate::mover::rewrite_segment(&self.node, self.core as u16, segment, tier).await
                }
                _ => Ok(segment.clone()),
            };
            match copy {
                Ok(copy) => copies.push(copy),
                Err(e) => {
                    crate::mover::drop_copies(&self.node, &fresh(&record.segments, &copies));
                    return Err(e);
                }
            }
        }
        self.replace_body(bucket, key, record.clone(), copies).await?;
        Ok(rewritten)
    }

    /// Switches an object's segments to `copies` if it still has the ones
    /// they were copied from; the copies are dropped otherwise.
    async fn replace_body(
        self: &Rc<Self>,
        bucket: &str,
        key: &str,
        record: ObjectRecord,
        copies: Vec<Segment>,
    ) -> Result<ObjectRecord> {
        if copies == record.segments {
            return Ok(record);
        }
        let op = Op::ReplaceSegments {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            old: record.segments.clone(),
            new: copies.clone(),
        };
        match self.commit(self.node.object_partition(bucket, key), op).await {
            Ok(applied) => applied.object.ok_or(EngineError::NoSuchKey),
            Err(e) => {
                if e.may_be_applied() {
                    tracing::warn!(bucket, key, "tier move's commit failed, durability unknown: both copies kept");
                } else {
                    crate::mover::drop_copies(&self.node, &fresh(&record.segments, &copies));
                }
                Err(e)
            }
        }
    }

    /// Replaces an object's tags (empty removes them).
    pub async fn set_object_tags(self: &Rc<Self>, bucket: &str, key: &str, tags: Vec<(String, String)>) -> Result<()> {
        self.require_bucket(bucket)?;
        let op = Op::SetObjectTags { bucket: bucket.to_owned(), key: key.to_owned(), tags };
        self.commit(self.node.object_partition(bucket, key), op).await.map(|_| ())
    }

    fn require_bucket(&self, name: &str) -> Result<()> {
        self.node.bucket(name).map(|_| ()).ok_or(EngineError::NoSuchBucket)
    }

    // --- objects ---------------------------------------------------------

    /// A writer for a new volume in this core's slices of the hot tier.
    pub fn new_volume(&self) -> Result<VolumeWriter> {
        self.new_volume_in(Tier::Hot)
    }

    /// A writer for a new volume in this core's slices of `tier`.
    pub fn new_volume_in(&self, tier: Tier) -> Result<VolumeWriter> {
        VolumeWriter::new(self.node.clone(), self.core as u16, tier)
    }

    /// The tier a new body goes to: its hint (`x-amz-meta-stratum-tier`,
    /// `-pin`, else its storage class: [`crate::autotier::hint_of_object`]),
    /// else where its content class's new objects go now; hot when
    /// automatic tiering is off.
    /// A tier whose disks are full or faulty, or lack room for `size` bytes,
    /// gives way to the nearest that takes the body, colder first (the
    /// planner moves it once it can).
    pub fn placement(&self, content_type: &str, key: &str, hint: crate::autotier::HintSource<'_>, size: u64) -> Tier {
        let Some(shared) = &self.node.autotier else {
            return Tier::Hot;
        };
        let want = shared.placement(content_type, key, crate::autotier::hint_of_object(hint));
        let takes = |tier: Tier| crate::volume::takes_body(&self.node, tier, size);
        if takes(want) {
            return want;
        }
        let colder = Tier::ALL.into_iter().filter(|t| *t > want);
        let warmer = Tier::ALL.into_iter().rev().filter(|t| *t < want);
        colder.chain(warmer).find(|t| takes(*t)).unwrap_or(want)
    }

    /// Commits a sealed volume as `bucket/key`. On failure the volume is removed.
    pub async fn put_object(
        self: &Rc<Self>,
        bucket: &str,
        key: &str,
        mut record: ObjectRecord,
        volume: SealedVolume,
    ) -> Result<ObjectRecord> {
        record.segments = vec![Segment { size: volume.size, body: volume.body.clone() }];
        let op = Op::PutObject { bucket: bucket.to_owned(), key: key.to_owned(), record };
        self.commit_or_discard(self.node.object_partition(bucket, key), bucket, op, &[volume]).await
    }

    async fn commit_or_discard(
        self: &Rc<Self>,
        p: usize,
        bucket: &str,
        op: Op,
        volumes: &[SealedVolume],
    ) -> Result<ObjectRecord> {
        let result = match self.require_bucket(bucket) {
            Ok(()) => self.commit(p, op).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(applied) => applied.object.ok_or(EngineError::NoSuchKey),
            Err(e) => {
                if !e.may_be_applied() {
                    let vrefs: Vec<_> = volumes.iter().filter_map(|v| v.body.volume().cloned()).collect();
                    remove_volumes(&self.node, &vrefs);
                }
                Err(e)
            }
        }
    }

    pub async fn head_object(self: &Rc<Self>, bucket: &str, key: &str) -> Result<ObjectRecord> {
        self.require_bucket(bucket)?;
        let (b, k) = (bucket.to_owned(), key.to_owned());
        self.read_here(self.node.object_partition(bucket, key), move |part| part.get_object(&b, &k))
            .await?
            .ok_or(EngineError::NoSuchKey)
    }

    pub async fn delete_object(self: &Rc<Self>, bucket: &str, key: &str) -> Result<()> {
        self.require_bucket(bucket)?;
        let op = Op::DeleteObject { bucket: bucket.to_owned(), key: key.to_owned() };
        self.commit(self.node.object_partition(bucket, key), op).await.map(|_| ())
    }

    pub fn reader(&self, record: &ObjectRecord, start: u64, end: u64) -> ObjectReader {
        ObjectReader::new(self.node.clone(), record.segments.clone(), start, end)
    }

    /// Lists objects (or, with `uploads`, multipart uploads) of a bucket,
    /// merging every partition's page in key order.
    pub async fn list(self: &Rc<Self>, request: ListRequest, uploads: bool) -> Result<ListPage> {
        self.require_bucket(&request.bucket)?;
        let limit = request.limit;
        let mut pages = Vec::with_capacity(self.node.partition_count());
        // Ask all partitions at once; each answers from its own core.
        let pending: Vec<_> = (0..self.node.partition_count())
            .map(|p| {
                let request = request.clone();
                let this = self.clone();
                glommio::spawn_local(async move {
                    this.read_partition(p, move |part| {
                        if uploads {
                            part.list_uploads(&request.query())
                        } else {
                            part.list_objects(&request.query())
                        }
                    })
                    .await
                })
            })
            .collect();
        for task in pending {
            pages.push(task.await?);
        }
        Ok(merge(pages, limit))
    }

    // --- multipart -------------------------------------------------------

    pub async fn create_upload(self: &Rc<Self>, bucket: &str, key: &str, record: UploadRecord) -> Result<String> {
        self.require_bucket(bucket)?;
        let upload_id = format!("{:032x}", rand::random::<u128>());
        let op =
            Op::CreateUpload { bucket: bucket.to_owned(), key: key.to_owned(), upload_id: upload_id.clone(), record };
        self.commit(self.node.object_partition(bucket, key), op).await?;
        Ok(upload_id)
    }

    pub async fn put_part(
        self: &Rc<Self>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: PartRecord,
        volume: SealedVolume,
    ) -> Result<()> {
        let op = Op::PutPart { bucket: bucket.to_owned(), key: key.to_owned(), upload_id: upload_id.to_owned(), part };
        let p = self.node.object_partition(bucket, key);
        let result = match self.require_bucket(bucket) {
            Ok(()) => self.commit(p, op).await,
            Err(e) => Err(e),
        };
        if result.as_ref().is_err_and(|e| !e.may_be_applied()) {
            remove_volumes(&self.node, volume.body.volume().into_iter().cloned().collect::<Vec<_>>().as_slice());
        }
        result.map(|_| ())
    }

    pub async fn complete_upload(
        self: &Rc<Self>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<(u32, String)>,
        now_ms: i64,
    ) -> Result<ObjectRecord> {
        self.require_bucket(bucket)?;
        let op = Op::CompleteUpload {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            upload_id: upload_id.to_owned(),
            parts,
            modified_ms: now_ms,
        };
        let applied = self.commit(self.node.object_partition(bucket, key), op).await?;
        applied.object.ok_or(EngineError::NoSuchUpload)
    }

    pub async fn abort_upload(self: &Rc<Self>, bucket: &str, key: &str, upload_id: &str) -> Result<()> {
        self.require_bucket(bucket)?;
        let op = Op::AbortUpload { bucket: bucket.to_owned(), key: key.to_owned(), upload_id: upload_id.to_owned() };
        self.commit(self.node.object_partition(bucket, key), op).await.map(|_| ())
    }

    /// The upload's record and its parts numbered above `after`, at most `limit` (+1 to tell truncation).
    pub async fn list_parts(
        self: &Rc<Self>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<(UploadRecord, Vec<PartRecord>)> {
        self.require_bucket(bucket)?;
        let (b, k, u) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        let (upload, parts) = self
            .read_here(self.node.object_partition(bucket, key), move |part| {
                let upload = part.get_upload(&b, &k, &u)?;
                let parts = match upload {
                    Some(_) => part.list_parts(&u, after, limit.saturating_add(1))?,
                    None => Vec::new(),
                };
                Ok((upload, parts))
            })
            .await?;
        Ok((upload.ok_or(EngineError::NoSuchUpload)?, parts))
    }

    /// Whether an upload exists (checked before a part's body is accepted).
    pub async fn upload_exists(self: &Rc<Self>, bucket: &str, key: &str, upload_id: &str) -> Result<bool> {
        self.require_bucket(bucket)?;
        let (b, k, u) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.read_here(self.node.object_partition(bucket, key), move |part| {
            part.get_upload(&b, &k, &u).map(|u| u.is_some())
        })
        .await
    }
}

/// The scrubber's next batch of records after `after` (which it advances),
/// or `None` at the end or when the metadata cannot be read (logged).
fn next_batch<T>(
    partition: usize,
    after: &mut Option<Vec<u8>>,
    scan: impl FnOnce(Option<&[u8]>) -> std::result::Result<Vec<(Vec<u8>, T)>, stratum_meta::MetaError>,
) -> Option<Vec<(Vec<u8>, T)>> {
    let batch = scan(after.as_deref())
        .map_err(|e| tracing::error!(partition, error = %e, "scrub cannot read metadata"))
        .ok()?;
    *after = Some(batch.last()?.0.clone());
    Some(batch)
}
