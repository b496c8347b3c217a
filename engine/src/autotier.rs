//! Automatic tiering on one core. The core that decides for an object keeps
//! its statistics in the policy's planner ([`stratum_tiering::Planner`]):
//! writes and deletes reach it with their commit, reads in batches from
//! whichever core served them, and a periodic sweep lets decay and time of
//! day act. The moves it plans are carried out in the background, one at a
//! time and at a bounded rate, by the engine's tier move (copy, verify,
//! switch, free), so a move never races a client's write of the object.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

use serde::Serialize;
use stratum_meta::{AccessUpdate, ObjectRecord};
use stratum_tiering::{
    Access, AccessStats, Capacity, ContentClass, Decision, Facts, Hint, Placed, Planner, Policy, PolicyConfig, Step,
    STATS_STORED_BYTES,
};

use crate::node::Node;
use crate::tier::Tier;

/// How automatic tiering runs; `[tiering]` in `stratum.toml`.
#[derive(Debug, Clone)]
pub struct AutoTierConfig {
    /// Off: objects stay where they are written (hot, or their hint).
    pub enabled: bool,
    pub policy: PolicyConfig,
    /// How often every object is looked at (decay and time of day act
    /// without a read).
    pub sweep_interval: Duration,
    /// Bytes per second each core may move between tiers.
    pub move_bytes_per_sec: u64,
    /// Share of each tier's usable bytes the planner may fill, in percent.
    pub fill_percent: u8,
    /// Bytes of objects the hot (warm) tier may hold on this node,
    /// instead of `fill_percent` of its disks.
    pub hot_bytes: Option<u64>,
    pub warm_bytes: Option<u64>,
}

impl Default for AutoTierConfig {
    fn default() -> Self {
        AutoTierConfig {
            enabled: true,
            policy: PolicyConfig::default(),
            sweep_interval: Duration::from_secs(3600),
            move_bytes_per_sec: 64 << 20,
            fill_percent: 90,
            hot_bytes: None,
            warm_bytes: None,
        }
    }
}

/// Node-wide: what every core's planner shares.
pub struct AutoTierShared {
    pub config: AutoTierConfig,
    policy: Policy,
    /// Per policy tier, the node's tier that holds it (a missing tier is
    /// served by the nearest colder one, else the nearest warmer).
    real: [Tier; 3],
    /// Per content class, where the last new object of the class was
    /// placed: new bodies are written there, not moved there after.
    placement: [AtomicU8; stratum_tiering::limits::CLASSES],
    pub counters: AutoTierCounters,
}

#[derive(Default)]
pub struct AutoTierCounters {
    pub moves_done: AtomicU64,
    pub moves_failed: AtomicU64,
    pub bytes_moved: AtomicU64,
    pub reads_dropped: AtomicU64,
    /// Per core, as its planner last saw them (each core publishes its own).
    pub cores: Vec<CoreGauges>,
}

/// One core's planner at a glance, for `admin stats` and `/metrics`.
#[derive(Default)]
pub struct CoreGauges {
    pub objects: AtomicU64,
    pub queued_moves: AtomicU64,
    /// Bytes of objects planned in each of the node's tiers.
    pub planned_bytes: [AtomicU64; 3],
}

impl AutoTierShared {
    /// `None` when tiering cannot act: it is off, or the node has one tier.
    pub fn new(
        config: AutoTierConfig,
        present: &[Tier],
        cores: usize,
        deployed_ms: u64,
    ) -> Result<Option<Self>, String> {
        let policy = Policy::new(config.policy.clone(), deployed_ms).map_err(|e| e.to_string())?;
        if !config.enabled || present.len() < 2 {
            return Ok(None);
        }
        let real = Tier::ALL.map(|t| {
            let colder = present.iter().copied().filter(|p| *p >= t).min();
            let warmer = present.iter().copied().filter(|p| *p < t).max();
            colder.or(warmer).unwrap_or(Tier::Hot)
        });
        let placement = ContentClass::ALL.map(|c| AtomicU8::new(config.policy.content.tier(c).code()));
        let counters =
            AutoTierCounters { cores: (0..cores).map(|_| CoreGauges::default()).collect(), ..Default::default() };
        Ok(Some(AutoTierShared { config, policy, real, placement, counters }))
    }

    /// The node's tier for a tier the policy names.
    pub fn real(&self, tier: Tier) -> Tier {
        self.real[tier.index()]
    }

    /// Where a new body goes: its pin or hint, else where its class's new
    /// objects go now.
    pub fn placement(&self, content_type: &str, key: &str, hint: Hint) -> Tier {
        let tier = hint.tier().unwrap_or_else(|| {
            let class = ContentClass::classify(content_type, key);
            Tier::from_code(self.placement[class.index()].load(Ordering::Relaxed)).unwrap_or(Tier::Hot)
        });
        self.real(tier)
    }

    /// The planner's capacity on one core: the tiers' usable bytes
    /// (data shards' share of the disks, times `fill_percent`), split
    /// evenly between the cores, which own equal shares of the objects.
    fn capacity(&self, node: &Node) -> Capacity {
        let usable = |tier: Tier, given: Option<u64>| -> Option<u64> {
            if self.real(tier) != tier {
                return Some(0);
            }
            let bytes = given.unwrap_or_else(|| {
                let Some(state) = node.tier(tier) else { return 0 };
                let raw: u64 =
                    state.disks.iter().filter_map(|id| node.disk(*id)?.space()).map(|(total, _)| total).sum();
                let data_share = f64::from(state.scheme.data) / state.scheme.shards() as f64;
                (raw as f64 * data_share * f64::from(self.config.fill_percent.min(100)) / 100.0) as u64
            });
            Some(bytes / node.cores().max(1) as u64)
        };
        let warm = if self.real(Tier::Cold) == Tier::Cold {
            usable(Tier::Warm, self.config.warm_bytes)
        } else {
            // No cold tier: warm is the floor and takes whatever falls.
            None
        };
        Capacity { hot_bytes: usable(Tier::Hot, self.config.hot_bytes), warm_bytes: warm }
    }
}

/// The facts the policy needs, from a record. `None` for a body that lives
/// in its metadata record (inline): it has no tier to move between.
pub fn facts_of(key: &str, record: &ObjectRecord) -> Option<(Facts, Tier)> {
    let tier = record.segments.iter().find_map(|s| s.body.volume()).and_then(|v| Tier::from_code(v.tier))?;
    let hint = hint_of_object((&record.user_meta, &record.headers));
    let content = ContentClass::classify(&record.content_type, key);
    Some((Facts { size_bytes: record.size, content, hint }, tier))
}

/// An object's user metadata and stored headers: what its hint is read from.
pub type HintSource<'a> = (&'a [(String, String)], &'a [(String, String)]);

/// An object's hint: its `x-amz-meta-stratum-tier` / `-pin` when it has
/// them, else what its S3 storage class asks for. The infrequent-access
/// classes start warm and never decay below it, Glacier Instant Retrieval
/// starts cold (reads may still promote both), the archive classes stay
/// cold (and still read at once: there is no restore here); the others
/// leave the object to the policy.
pub fn hint_of_object((user_meta, headers): HintSource<'_>) -> Hint {
    let meta = |name: &str| user_meta.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (tier, pin) = (meta(stratum_tiering::hint::TIER_META_KEY), meta(stratum_tiering::hint::PIN_META_KEY));
    if tier.is_some() || pin.is_some() {
        return hint_of(tier, pin);
    }
    match stratum_meta::storage_class(headers) {
        Some("STANDARD_IA" | "ONEZONE_IA") => Hint::Prefer(Tier::Warm),
        Some("GLACIER_IR") => Hint::Prefer(Tier::Cold),
        Some("GLACIER" | "DEEP_ARCHIVE") => Hint::Pin(Tier::Cold),
        _ => Hint::Auto,
    }
}

/// A hint as stored; one the policy cannot read counts as none (the
/// object was accepted; its metadata is the client's).
pub fn hint_of(tier: Option<&str>, pin: Option<&str>) -> Hint {
    Hint::parse(tier, pin).unwrap_or(Hint::Auto)
}

/// One read, on its way to the core that decides for the object.
#[derive(Debug)]
pub struct ReadNote {
    pub name: Vec<u8>,
    pub offset: u64,
    pub length: u64,
    pub at_ms: u64,
}

/// What "why is this object in this tier" answers.
#[derive(Debug, Serialize)]
pub struct Why {
    /// Where its body is now (`None`: inline in its metadata record).
    pub tier: Option<Tier>,
    /// Whether automatic tiering runs on this node.
    pub automatic: bool,
    /// Where the planner has it (the node's tier for it).
    pub planned: Option<Tier>,
    /// The planner's last move of it, with the rule behind it.
    pub placed: Option<Placed>,
    /// What the policy decides now, with its scores and inputs.
    pub decision: Option<Decision>,
    /// A move waiting to be carried out.
    pub pending: Option<Tier>,
    /// Plain words for what the fields say.
    pub summary: String,
}

/// Object names of the planner, by a dense id (the planner's key). Each
/// name is held once: the index goes by the name's 64-bit hash (keyed at
/// random per process), which saves a copy of every key.
#[derive(Default)]
struct Names {
    ids: HashMap<u64, u32>,
    names: Vec<Option<Box<[u8]>>>,
    free: Vec<u32>,
    hasher: std::collections::hash_map::RandomState,
}

impl Names {
    fn hash(&self, name: &[u8]) -> u64 {
        std::hash::BuildHasher::hash_one(&self.hasher, name)
    }

    fn id(&self, name: &[u8]) -> Option<u32> {
        let id = *self.ids.get(&self.hash(name))?;
        (self.name(id) == Some(name)).then_some(id)
    }

    /// The name's id, new if need be; `None` if another name has its hash
    /// (about one chance in 2^64 per pair): that object goes unplanned.
    fn insert(&mut self, name: &[u8]) -> Option<u32> {
        let hash = self.hash(name);
        if let Some(&id) = self.ids.get(&hash) {
            return (self.name(id) == Some(name)).then_some(id);
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.names.push(None);
                (self.names.len() - 1) as u32
            }
        };
        if let Some(slot) = self.names.get_mut(id as usize) {
            *slot = Some(name.into());
        }
        self.ids.insert(hash, id);
        Some(id)
    }

    fn remove(&mut self, name: &[u8]) -> Option<u32> {
        let hash = self.hash(name);
        let id = *self.ids.get(&hash)?;
        if self.name(id) != Some(name) {
            return None;
        }
        self.ids.remove(&hash);
        if let Some(slot) = self.names.get_mut(id as usize) {
            *slot = None;
        }
        self.free.push(id);
        Some(id)
    }

    fn name(&self, id: u32) -> Option<&[u8]> {
        self.names.get(id as usize)?.as_deref()
    }
}

/// One core's planner, its object names and its queue of moves.
pub struct AutoTier {
    planner: RefCell<Planner<u32>>,
    names: RefCell<Names>,
    /// Moves to carry out, oldest first; a later step for the same object
    /// replaces the target of its queued one.
    queue: RefCell<(VecDeque<u32>, HashMap<u32, Tier>)>,
    /// Objects whose statistics changed since they were last kept, and
    /// names whose kept statistics are to go (deleted objects).
    dirty: RefCell<HashSet<u32>>,
    forgotten: RefCell<Vec<Vec<u8>>>,
    /// Moves planned after a failed one, queued by the next sweep.
    parked: RefCell<Vec<Step<u32>>>,
}

/// What is known of an object found at start-up.
pub enum Found {
    /// The statistics kept for it.
    Kept(AccessStats),
    /// None kept: when it was last written.
    WrittenAt(u64),
}

/// Statistics to keep: per object name, its stored bytes (`None`: forget).
pub type ToKeep = Vec<(Vec<u8>, Option<[u8; STATS_STORED_BYTES]>)>;

impl AutoTier {
    pub fn new(shared: &AutoTierShared, node: &Node) -> AutoTier {
        AutoTier::with_capacity(shared, shared.capacity(node))
    }

    pub fn with_capacity(shared: &AutoTierShared, capacity: Capacity) -> AutoTier {
        AutoTier {
            planner: RefCell::new(Planner::new(shared.policy.clone(), capacity)),
            names: RefCell::default(),
            queue: RefCell::default(),
            dirty: RefCell::default(),
            forgotten: RefCell::default(),
            parked: RefCell::default(),
        }
    }

    pub fn knows(&self, name: &[u8]) -> bool {
        self.names.borrow().id(name).is_some()
    }

    /// An object found in its tier (at start-up), with the statistics
    /// kept for it if any; without, its statistics start as of its last
    /// write (`written_ms`), so its idle time is not reset by a restart,
    /// and they are kept from now on.
    pub fn existing(&self, shared: &AutoTierShared, name: &[u8], facts: Facts, tier: Tier, found: Found, now_ms: u64) {
        let Some(id) = self.names.borrow_mut().insert(name) else { return };
        let stats = match found {
            Found::Kept(stats) => stats,
            Found::WrittenAt(written_ms) => {
                self.dirty.borrow_mut().insert(id);
                AccessStats::new(facts.content, written_ms.min(now_ms))
            }
        };
        let steps = self.planner.borrow_mut().existing_with(id, facts, tier, stats, now_ms);
        self.enqueue(shared, steps, Some((id, tier)));
    }

    /// An object written (committed) now, its body in `tier`.
    pub fn written(&self, shared: &AutoTierShared, name: &[u8], facts: Facts, tier: Tier, now_ms: u64) {
        let Some(id) = self.names.borrow_mut().insert(name) else { return };
        let steps = self.planner.borrow_mut().written(id, facts, now_ms);
        self.dirty.borrow_mut().insert(id);
        // Where the policy put it, unless the budget had no room there:
        // one refused body must not send its whole class elsewhere.
        let placed = steps.iter().find(|s| s.key == id && s.from.is_none());
        if let Some(first) = placed.filter(|s| !matches!(s.rule, stratum_tiering::Rule::Budget { .. })) {
            if facts.hint == Hint::Auto {
                let class = facts.content.index();
                shared.placement[class].store(first.to.code(), Ordering::Relaxed);
            }
        }
        self.enqueue(shared, steps, Some((id, tier)));
    }

    pub fn removed(&self, name: &[u8]) {
        if let Some(id) = self.names.borrow_mut().remove(name) {
            self.planner.borrow_mut().removed(id);
            self.queue.borrow_mut().1.remove(&id);
            self.dirty.borrow_mut().remove(&id);
            self.forgotten.borrow_mut().push(name.to_vec());
        }
    }

    /// Statistics changed since the last call, and names to forget.
    pub fn take_to_keep(&self) -> ToKeep {
        let dirty = std::mem::take(&mut *self.dirty.borrow_mut());
        let mut out: ToKeep =
            std::mem::take(&mut *self.forgotten.borrow_mut()).into_iter().map(|n| (n, None)).collect();
        let (names, planner) = (self.names.borrow(), self.planner.borrow());
        for id in dirty {
            if let (Some(name), Some(stats)) = (names.name(id), planner.stats(id)) {
                out.push((name.to_vec(), Some(stats.to_bytes())));
            }
        }
        out
    }

    pub fn read(&self, shared: &AutoTierShared, note: &ReadNote) {
        let Some(id) = self.names.borrow().id(&note.name) else {
            return;
        };
        let access = Access { now_ms: note.at_ms, offset: note.offset, length: note.length };
        let steps = self.planner.borrow_mut().read(id, access);
        self.dirty.borrow_mut().insert(id);
        self.enqueue(shared, steps, None);
    }

    /// Part of a sweep (see [`Planner::sweep_some`]); `None` when done.
    /// A sweep's first part also queues the moves parked by failures.
    pub fn sweep_some(&self, shared: &AutoTierShared, now_ms: u64, start: usize) -> Option<usize> {
        if start == 0 {
            let parked = std::mem::take(&mut *self.parked.borrow_mut());
            self.enqueue(shared, parked, None);
        }
        let mut steps = Vec::new();
        let next = self.planner.borrow_mut().sweep_some(now_ms, start, AUTOTIER_SWEEP_STEP, &mut steps);
        self.enqueue(shared, steps, None);
        next
    }

    /// The next move: the object's name and the node's tier it goes to.
    pub fn next_move(&self) -> Option<(Vec<u8>, Tier)> {
        let mut queue = self.queue.borrow_mut();
        while let Some(id) = queue.0.pop_front() {
            let Some(to) = queue.1.remove(&id) else { continue };
            if let Some(name) = self.names.borrow().name(id) {
                return Some((name.to_vec(), to));
            }
        }
        None
    }

    pub fn queued(&self) -> usize {
        self.queue.borrow().1.len()
    }

    /// A move failed: the object stays in `actual`, and is planned there
    /// (or colder, if that tier has no room: queued).
    ///
    /// The moves this plans wait for the next sweep: a tier that refused a
    /// body a moment ago would most likely refuse it again at once.
    pub fn not_moved(&self, name: &[u8], actual: Tier, now_ms: u64) {
        let Some(id) = self.names.borrow().id(name) else {
            return;
        };
        let steps = self.planner.borrow_mut().not_moved(id, actual, now_ms);
        self.parked.borrow_mut().extend(steps);
    }

    pub fn why(&self, shared: &AutoTierShared, name: &[u8], now_ms: u64) -> Option<Why> {
        let id = self.names.borrow().id(name)?;
        let explanation = self.planner.borrow().explain(id, now_ms)?;
        let pending = self.queue.borrow().1.get(&id).copied();
        Some(Why {
            tier: None,
            automatic: true,
            planned: explanation.planned.map(|t| shared.real(t)),
            // The node's tiers, as `tier` and `planned` are.
            placed: explanation.placed.map(|p| Placed {
                from: p.from.map(|t| shared.real(t)),
                to: shared.real(p.to),
                ..p
            }),
            decision: Some(explanation.now),
            pending,
            summary: String::new(),
        })
    }

    /// Bytes planned in `tier` of the node (its missing tiers' included).
    pub fn planned_bytes(&self, shared: &AutoTierShared, tier: Tier) -> u64 {
        let planner = self.planner.borrow();
        Tier::ALL.into_iter().filter(|t| shared.real(*t) == tier).map(|t| planner.used_bytes(t)).sum()
    }

    /// Updates this core's gauges.
    pub fn publish(&self, shared: &AutoTierShared, core: usize) {
        let Some(g) = shared.counters.cores.get(core) else { return };
        g.objects.store(self.objects() as u64, Ordering::Relaxed);
        g.queued_moves.store(self.queued() as u64, Ordering::Relaxed);
        for tier in Tier::ALL {
            g.planned_bytes[tier.index()].store(self.planned_bytes(shared, tier), Ordering::Relaxed);
        }
    }

    pub fn objects(&self) -> usize {
        self.planner.borrow().len()
    }

    /// Queues the steps that change where a body is. `placed` is an object
    /// whose body is known to be in a tier now (just written or found):
    /// its own step from nowhere is a move only if it lands elsewhere.
    fn enqueue(&self, shared: &AutoTierShared, steps: Vec<Step<u32>>, placed: Option<(u32, Tier)>) {
        let mut queue = self.queue.borrow_mut();
        for step in steps {
            let to = shared.real(step.to);
            let from = match (step.from, placed) {
                (None, Some((id, actual))) if id == step.key => Some(actual),
                (from, _) => from.map(|t| shared.real(t)),
            };
            if from == Some(to) {
                // Planned where it is believed to be: a queued move of it
                // now goes there too (the mover skips it if the body is).
                if let Some(queued) = queue.1.get_mut(&step.key) {
                    *queued = to;
                }
                continue;
            }
            if queue.1.insert(step.key, to).is_none() {
                queue.0.push_back(step.key);
            }
        }
        // Ids whose moves were dropped (deleted objects) linger in the
        // order until popped: keep them from piling up.
        if queue.0.len() > 2 * queue.1.len() + 1024 {
            let (order, targets) = &mut *queue;
            let mut seen = HashSet::with_capacity(targets.len());
            order.retain(|id| targets.contains_key(id) && seen.insert(*id));
        }
    }
}

/// The planner names objects as the metadata keys them: `bucket \0 key`.
pub use stratum_meta::{object_key as name_of, split_object_key as split_name};

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

// --- on the store ---------------------------------------------------------

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::error::Result;
use crate::limits::{
    AUTOTIER_KEEP_ROUND, AUTOTIER_KEEP_STEP, AUTOTIER_READS_QUEUED_MAX, AUTOTIER_READS_ROUND, AUTOTIER_READS_STEP,
    AUTOTIER_SCAN_PAGE, AUTOTIER_SWEEP_STEP,
};
use crate::scrub::Throttle;
use crate::store::Store;

impl Store {
    /// A read served on this core, for the planner on the object's deciding
    /// core. O(1): reads travel in batches (`AUTOTIER_READS_ROUND`).
    pub fn note_read(&self, bucket: &str, key: &str, offset: u64, length: u64) {
        let Some(shared) = &self.node.autotier else {
            return;
        };
        let mut notes = self.read_notes.borrow_mut();
        if notes.len() >= AUTOTIER_READS_QUEUED_MAX {
            shared.counters.reads_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let p = self.node.object_partition(bucket, key);
        notes.push((p, ReadNote { name: name_of(bucket, key), offset, length, at_ms: now_ms() }));
    }

    /// Starts this core's tiering: telling reads to their deciding cores,
    /// the planner (a scan of the objects already stored, then a sweep every
    /// `sweep_interval`), and the mover.
    pub(crate) fn spawn_autotier(self: &Rc<Self>) {
        let Some(shared) = &self.node.autotier else {
            return;
        };
        let this = self.clone();
        glommio::spawn_local(async move {
            loop {
                glommio::timer::sleep(AUTOTIER_READS_ROUND).await;
                this.tell_reads().await;
            }
        })
        .detach();
        let (this, sweep) = (self.clone(), shared.config.sweep_interval);
        glommio::spawn_local(async move {
            this.scan_for_planner().await;
            loop {
                glommio::timer::sleep(sweep).await;
                let (Some(at), Some(shared)) = (&this.autotier, &this.node.autotier) else { break };
                // In steps, yielding between them: a million objects take
                // about a second, which must not stall the core's requests.
                let (now, mut next) = (now_ms(), Some(0));
                while let Some(start) = next {
                    next = at.sweep_some(shared, now, start);
                    glommio::yield_if_needed().await;
                }
            }
        })
        .detach();
        let this = self.clone();
        glommio::spawn_local(async move {
            loop {
                glommio::timer::sleep(AUTOTIER_KEEP_ROUND).await;
                this.keep_statistics().await;
            }
        })
        .detach();
        let this = self.clone();
        glommio::spawn_local(async move { this.run_mover().await }).detach();
    }

    async fn tell_reads(self: &Rc<Self>) {
        let notes = std::mem::take(&mut *self.read_notes.borrow_mut());
        let mut by_core: BTreeMap<usize, (usize, Vec<ReadNote>)> = BTreeMap::new();
        for (p, note) in notes {
            by_core.entry(self.node.core_of_partition(p)).or_insert_with(|| (p, Vec::new())).1.push(note);
        }
        for (_, (p, batch)) in by_core {
            let told = self.on_partition(p, move |store, _| async move {
                if let (Some(at), Some(shared)) = (&store.autotier, &store.node.autotier) {
                    // A few microseconds a read: a busy round's batch must
                    // not hold the owner's requests back in one piece.
                    for notes in batch.chunks(AUTOTIER_READS_STEP) {
                        notes.iter().for_each(|note| at.read(shared, note));
                        glommio::yield_if_needed().await;
                    }
                }
                Ok(())
            });
            if let Err(e) = told.await {
                tracing::debug!(error = %e, "reads not told to their planner");
            }
        }
    }

    /// Tells the planner every object stored on this core's partitions,
    /// with the statistics kept for it (new ones start now), a page at a
    /// time. Both are in key order: one merged pass. Kept statistics of
    /// objects that are gone (deleted before they were forgotten) go.
    async fn scan_for_planner(self: &Rc<Self>) {
        let (Some(at), Some(shared)) = (&self.autotier, &self.node.autotier) else {
            return;
        };
        let owned: Vec<usize> =
            (0..self.node.partition_count()).filter(|p| self.node.core_of_partition(*p) == self.core).collect();
        for p in owned {
            let Some(partition) = self.node.partition(p).cloned() else { continue };
            let mut kept = KeptCursor::new(partition.clone());
            let mut after: Option<Vec<u8>> = None;
            loop {
                let page = match partition.scan_objects(after.as_deref(), AUTOTIER_SCAN_PAGE) {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::warn!(partition = p, error = %e, "tiering: scan of stored objects stopped");
                        break;
                    }
                };
                let now = now_ms();
                for (raw, record) in &page {
                    let Some((_, key)) = split_name(raw) else { continue };
                    let stats = kept.take(raw);
                    if at.knows(raw) {
                        continue;
                    }
                    if let Some((facts, tier)) = facts_of(key, record) {
                        let found = match stats {
                            Some(stats) => Found::Kept(stats),
                            None => Found::WrittenAt(u64::try_from(record.modified_ms).unwrap_or(0)),
                        };
                        at.existing(shared, raw, facts, tier, found, now);
                    }
                }
                after = match page.last() {
                    Some((raw, _)) if page.len() == AUTOTIER_SCAN_PAGE => Some(raw.clone()),
                    _ => None,
                };
                kept.forget_stale();
                if after.is_none() {
                    // Past the last object, every entry left is stale.
                    while kept.pass_page() {
                        kept.forget_stale();
                        glommio::yield_if_needed().await;
                    }
                    break;
                }
                glommio::yield_if_needed().await;
            }
        }
        tracing::info!(core = self.core, objects = at.objects(), "tiering: planner has every stored object");
    }

    /// Writes the statistics changed since the last round (no fsync: the
    /// next commit makes them durable; a crash costs a round of them).
    /// In batches of `AUTOTIER_KEEP_STEP`, yielding between them; not at
    /// all while the metadata disk is short of room (its reserve is for
    /// objects' records; the statistics wait for the next round).
    pub async fn keep_statistics(&self) {
        let Some(at) = &self.autotier else { return };
        if self.node.metadata_is_short() {
            return;
        }
        let to_keep = at.take_to_keep();
        let mut by_partition: BTreeMap<usize, Vec<AccessUpdate<'_>>> = BTreeMap::new();
        for (name, stats) in &to_keep {
            let Some((bucket, key)) = split_name(name) else { continue };
            let p = self.node.object_partition(bucket, key);
            by_partition.entry(p).or_default().push((bucket, key, stats.as_ref().map(|s| &s[..])));
        }
        for (p, entries) in by_partition {
            let Some(partition) = self.node.partition(p) else { continue };
            for batch in entries.chunks(AUTOTIER_KEEP_STEP) {
                if let Err(e) = partition.save_access(batch) {
                    tracing::warn!(partition = p, error = %e, "tiering: statistics not kept");
                }
                glommio::yield_if_needed().await;
            }
        }
    }

    /// Carries out the planned moves, one at a time, at the configured
    /// rate; the rate's clock restarts whenever the queue runs dry, so an
    /// idle hour is not saved up for a burst.
    async fn run_mover(self: &Rc<Self>) {
        let (Some(at), Some(shared)) = (&self.autotier, &self.node.autotier) else {
            return;
        };
        let mut throttle = Throttle::new(shared.config.move_bytes_per_sec);
        loop {
            let Some((name, to)) = at.next_move() else {
                at.publish(shared, self.core);
                glommio::timer::sleep(Duration::from_millis(250)).await;
                throttle = Throttle::new(shared.config.move_bytes_per_sec);
                continue;
            };
            self.carry_out_move(at, shared, &name, to, &mut throttle).await;
        }
    }

    async fn carry_out_move(
        self: &Rc<Self>,
        at: &AutoTier,
        shared: &AutoTierShared,
        name: &[u8],
        to: Tier,
        throttle: &mut Throttle,
    ) {
        let Some((bucket, key)) = split_name(name) else { return };
        // Gone or inline since it was planned: nothing to move.
        let Ok(record) = self.head_object(bucket, key).await else { return };
        let Some((_, from)) = facts_of(key, &record) else { return };
        // Every segment, not just the first: parts of a multipart upload
        // may have been written while its class's placement changed.
        if record.segments.iter().filter_map(|s| s.body.volume()).all(|v| v.tier == to.code()) {
            return;
        }
        throttle.pace(record.size).await;
        match self.move_tier(bucket, key, to).await {
            Ok(_) => {
                shared.counters.moves_done.fetch_add(1, Ordering::Relaxed);
                shared.counters.bytes_moved.fetch_add(record.size, Ordering::Relaxed);
                tracing::debug!(bucket, key, from = from.name(), to = to.name(), "tiering: moved");
            }
            Err(e) => {
                shared.counters.moves_failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(bucket, key, from = from.name(), to = to.name(), error = %e, "tiering: move failed");
                // Where it is now (a client may have written it meanwhile).
                let Ok(record) = self.head_object(bucket, key).await else { return };
                if let Some((_, actual)) = facts_of(key, &record) {
                    at.not_moved(name, actual, now_ms());
                }
            }
        }
    }

    /// Tells the object's planner its body was moved to `tier` by hand
    /// (`admin move-tier`): planned there if the tier has room, and the
    /// policy acts on it from there.
    pub async fn planner_moved(self: &Rc<Self>, bucket: &str, key: &str, tier: Tier) -> Result<()> {
        let name = name_of(bucket, key);
        let p = self.node.object_partition(bucket, key);
        self.on_partition(p, move |store, _| async move {
            if let Some(at) = &store.autotier {
                at.not_moved(&name, tier, now_ms());
            }
            Ok(())
        })
        .await
    }

    /// Which tier an object is in and why: its rule, scores and inputs.
    pub async fn why(self: &Rc<Self>, bucket: &str, key: &str) -> Result<Why> {
        let record = self.head_object(bucket, key).await?;
        let tier = facts_of(key, &record).map(|(_, t)| t);
        let name = name_of(bucket, key);
        let p = self.node.object_partition(bucket, key);
        let planned = self
            .on_partition(p, move |store, _| async move {
                Ok(match (&store.autotier, &store.node.autotier) {
                    (Some(at), Some(shared)) => at.why(shared, &name, now_ms()),
                    _ => None,
                })
            })
            .await?;
        let automatic = self.node.autotier.is_some();
        let mut why = planned.unwrap_or(Why {
            tier: None,
            automatic,
            planned: None,
            placed: None,
            decision: None,
            pending: None,
            summary: String::new(),
        });
        why.tier = tier;
        why.summary = summary(&why, |t| self.node.tier(t).is_some());
        Ok(why)
    }
}

/// Walks a partition's kept statistics alongside its objects (both in key
/// order), collecting those of objects no longer there.
struct KeptCursor {
    partition: std::sync::Arc<stratum_meta::Partition>,
    page: VecDeque<stratum_meta::AccessEntry>,
    after: Option<Vec<u8>>,
    done: bool,
    stale: Vec<Vec<u8>>,
}

impl KeptCursor {
    fn new(partition: std::sync::Arc<stratum_meta::Partition>) -> KeptCursor {
        KeptCursor { partition, page: VecDeque::new(), after: None, done: false, stale: Vec::new() }
    }

    fn front(&mut self) -> Option<&stratum_meta::AccessEntry> {
        if self.page.is_empty() && !self.done {
            match self.partition.scan_access(self.after.as_deref(), AUTOTIER_SCAN_PAGE) {
                Ok(page) => {
                    self.done = page.len() < AUTOTIER_SCAN_PAGE;
                    self.after = page.last().map(|(k, _)| k.clone());
                    self.page = page.into();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "tiering: kept statistics not read; objects start afresh");
                    self.done = true;
                }
            }
        }
        self.page.front()
    }

    /// The statistics kept for `name`; passes (as stale) those of names before it.
    fn take(&mut self, name: &[u8]) -> Option<AccessStats> {
        while let Some((key, _)) = self.front() {
            match key.as_slice().cmp(name) {
                std::cmp::Ordering::Less => {
                    let (key, _) = self.page.pop_front()?;
                    self.stale.push(key);
                }
                std::cmp::Ordering::Equal => {
                    let (_, stats) = self.page.pop_front()?;
                    return AccessStats::from_bytes(&stats);
                }
                std::cmp::Ordering::Greater => return None,
            }
        }
        None
    }

    /// Passes (as stale) the entries of one page; false once none is left.
    fn pass_page(&mut self) -> bool {
        if self.front().is_none() {
            return false;
        }
        self.stale.extend(self.page.drain(..).map(|(key, _)| key));
        true
    }

    fn forget_stale(&mut self) {
        let names = std::mem::take(&mut self.stale);
        let entries: Vec<AccessUpdate<'_>> =
            names.iter().filter_map(|n| split_name(n)).map(|(b, k)| (b, k, None)).collect();
        if entries.is_empty() {
            return;
        }
        if let Err(e) = self.partition.save_access(&entries) {
            tracing::warn!(error = %e, "tiering: stale statistics not removed");
        }
    }
}

/// The answer in words; `has` tells the tiers this node has.
fn summary(why: &Why, has: impl Fn(Tier) -> bool) -> String {
    let Some(tier) = why.tier else {
        return "its body is inline in its metadata record: it has no tier to be in".to_owned();
    };
    if !why.automatic {
        return format!(
            "in {tier}: automatic tiering is off on this node (one tier, or [tiering] enabled = false), \
             so bodies stay where they were written"
        );
    }
    let Some(decision) = &why.decision else {
        return format!("in {tier}: the planner has not seen it yet (it reads the stored objects at start-up)");
    };
    let mut words = match &why.placed {
        Some(p) => {
            let ago_s = now_ms().saturating_sub(p.at_ms) / 1000;
            format!("in {tier}: planned into {} by rule {} {ago_s} s ago", p.to, p.rule.name())
        }
        None => format!("in {tier}: where it was written or found; no rule has moved it since"),
    };
    words.push_str(&format!("; the policy now says {decision}"));
    let held_by_budget = why.placed.is_some_and(|p| matches!(p.rule, stratum_tiering::Rule::Budget { .. }));
    match why.planned {
        Some(planned) if planned != decision.tier && why.pending.is_none() => {
            if !has(decision.tier) {
                words.push_str(&format!(" (this node has no {} tier: {planned} holds it)", decision.tier));
            } else if held_by_budget {
                words.push_str(&format!(" (the budget holds it in {planned})"));
            } else {
                words.push_str(" (decided on the next sweep or read)");
            }
        }
        _ => {}
    }
    if let Some(planned) = why.planned.filter(|p| *p != tier && why.pending.is_none()) {
        words.push_str(&format!("; planned in {planned}, its body is in {tier}: a move is due"));
    }
    if let Some(pending) = why.pending {
        words.push_str(&format!("; a move to {pending} is queued"));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(present: &[Tier]) -> AutoTierShared {
        let config = AutoTierConfig {
            policy: PolicyConfig { warmup_ms: 0, ..PolicyConfig::default() },
            ..AutoTierConfig::default()
        };
        AutoTierShared::new(config, present, 1, 0).expect("valid").expect("two tiers or more")
    }

    fn facts(size_bytes: u64, content: ContentClass, hint: Hint) -> Facts {
        Facts { size_bytes, content, hint }
    }

    #[test]
    fn the_tier_hint_wins_else_the_storage_class_decides() {
        let pairs =
            |list: &[(&str, &str)]| list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let class = |c: &str| pairs(&[(stratum_meta::STORAGE_CLASS_HEADER, c)]);
        assert_eq!(hint_of_object((&[], &[])), Hint::Auto);
        assert_eq!(hint_of_object((&[], &class("STANDARD_IA"))), Hint::Prefer(Tier::Warm));
        assert_eq!(hint_of_object((&[], &class("ONEZONE_IA"))), Hint::Prefer(Tier::Warm));
        assert_eq!(hint_of_object((&[], &class("GLACIER_IR"))), Hint::Prefer(Tier::Cold));
        assert_eq!(hint_of_object((&[], &class("GLACIER"))), Hint::Pin(Tier::Cold));
        assert_eq!(hint_of_object((&[], &class("DEEP_ARCHIVE"))), Hint::Pin(Tier::Cold));
        assert_eq!(hint_of_object((&[], &class("INTELLIGENT_TIERING"))), Hint::Auto);
        let hot = pairs(&[("stratum-tier", "hot")]);
        assert_eq!(hint_of_object((&hot, &class("DEEP_ARCHIVE"))), Hint::Prefer(Tier::Hot), "the tier hint wins");
        let unreadable = pairs(&[("stratum-tier", "lukewarm")]);
        assert_eq!(hint_of_object((&unreadable, &class("GLACIER"))), Hint::Auto, "a hint given, unreadable: none");
    }

    #[test]
    fn a_missing_tier_is_served_by_the_nearest_colder_else_warmer() {
        let real = |present: &[Tier]| Tier::ALL.map(|t| shared(present).real(t));
        use Tier::*;
        assert_eq!(real(&[Hot, Warm, Cold]), [Hot, Warm, Cold]);
        assert_eq!(real(&[Hot, Warm]), [Hot, Warm, Warm]);
        assert_eq!(real(&[Hot, Cold]), [Hot, Cold, Cold]);
        let off = |cfg: AutoTierConfig, present: &[Tier]| AutoTierShared::new(cfg, present, 1, 0).expect("valid");
        assert!(off(AutoTierConfig::default(), &[Hot]).is_none(), "one tier: nothing to move between");
        assert!(off(AutoTierConfig { enabled: false, ..Default::default() }, &[Hot, Warm]).is_none());
        let bad = AutoTierConfig {
            policy: PolicyConfig { ema_fast_half_life_ms: 0, ..PolicyConfig::default() },
            ..Default::default()
        };
        assert!(AutoTierShared::new(bad, &[Hot, Warm], 1, 0).is_err(), "an invalid policy is refused");
    }

    #[test]
    fn new_bodies_go_to_their_hint_else_their_class_s_placement() {
        let s = shared(&[Tier::Hot, Tier::Warm]);
        assert_eq!(s.placement("video/mp4", "a.mp4", Hint::Auto), Tier::Hot);
        assert_eq!(s.placement("application/octet-stream", "a.bin", Hint::Auto), Tier::Warm);
        // Backups default to cold; this node's cold is its warm.
        assert_eq!(s.placement("application/gzip", "db.tar.gz", Hint::Auto), Tier::Warm);
        assert_eq!(s.placement("application/gzip", "db.tar.gz", Hint::Pin(Tier::Hot)), Tier::Hot);
        assert_eq!(hint_of(Some("warm"), None), Hint::Prefer(Tier::Warm));
        assert_eq!(hint_of(Some("lukewarm"), None), Hint::Auto, "an unreadable hint is none");
    }

    #[test]
    fn a_write_placed_where_the_policy_wants_it_queues_no_move() {
        let s = shared(&[Tier::Hot, Tier::Warm, Tier::Cold]);
        let at = AutoTier::with_capacity(&s, Capacity { hot_bytes: Some(10 << 20), warm_bytes: Some(100 << 20) });
        at.written(&s, b"b\0x.bin", facts(1 << 20, ContentClass::Other, Hint::Auto), Tier::Warm, 1000);
        assert_eq!(at.queued(), 0);
        // Written hot though its class goes warm: one move, to warm.
        at.written(&s, b"b\0y.bin", facts(1 << 20, ContentClass::Other, Hint::Auto), Tier::Hot, 1000);
        assert_eq!(at.next_move(), Some((b"b\0y.bin".to_vec(), Tier::Warm)));
        assert_eq!(at.next_move(), None);
        let why = at.why(&s, b"b\0y.bin", 2000).expect("known");
        assert_eq!(why.planned, Some(Tier::Warm));
        assert_eq!(why.placed.map(|p| p.rule.name()), Some("content_default"));
    }

    #[test]
    fn a_deleted_object_leaves_no_queued_move_and_its_id_is_reused() {
        let s = shared(&[Tier::Hot, Tier::Warm, Tier::Cold]);
        let at = AutoTier::with_capacity(&s, Capacity { hot_bytes: Some(10 << 20), warm_bytes: Some(100 << 20) });
        at.written(&s, b"b\0y.bin", facts(1 << 20, ContentClass::Other, Hint::Auto), Tier::Hot, 1000);
        assert_eq!(at.queued(), 1);
        at.removed(b"b\0y.bin");
        assert_eq!((at.queued(), at.next_move(), at.objects()), (0, None, 0));
        assert!(at.why(&s, b"b\0y.bin", 2000).is_none());
        at.existing(
            &s,
            b"b\0z.bin",
            facts(1 << 20, ContentClass::Other, Hint::Auto),
            Tier::Warm,
            Found::WrittenAt(3000),
            3000,
        );
        assert_eq!(at.names.borrow().id(b"b\0z.bin"), Some(0), "the freed id is taken again");
        assert_eq!(at.names.borrow().name(0), Some(&b"b\0z.bin"[..]));
        at.read(&s, &ReadNote { name: b"b\0gone".to_vec(), offset: 0, length: 1, at_ms: 4000 });
        assert_eq!(at.objects(), 1, "a read of an unknown object is ignored");
    }

    #[test]
    fn kept_statistics_are_matched_by_name_and_the_stale_ones_go() {
        let dir = std::env::temp_dir().join(format!("stratum-kept-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let partition = std::sync::Arc::new(stratum_meta::Partition::open(&dir).expect("open"));
        let stats = AccessStats::new(ContentClass::Video, 7_000).to_bytes();
        let entries: Vec<AccessUpdate<'_>> = ["a", "c", "e"].iter().map(|k| ("b", *k, Some(&stats[..]))).collect();
        partition.save_access(&entries).expect("save");
        let mut cursor = KeptCursor::new(partition.clone());
        assert_eq!(cursor.take(&name_of("b", "c")), AccessStats::from_bytes(&stats), "kept for c");
        assert_eq!(cursor.take(&name_of("b", "d")), None, "none kept for d");
        while cursor.pass_page() {}
        let mut stale = cursor.stale.clone();
        stale.sort();
        assert_eq!(stale, vec![name_of("b", "a"), name_of("b", "e")]);
        cursor.forget_stale();
        let left: Vec<Vec<u8>> = partition.scan_access(None, 10).expect("scan").into_iter().map(|(k, _)| k).collect();
        assert_eq!(left, vec![name_of("b", "c")], "only the matched one stays");
        drop(cursor);
        drop(partition);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_later_step_never_cancels_a_queued_move_and_failed_moves_wait_for_a_sweep() {
        const DAY: u64 = 24 * 3_600_000;
        let s = shared(&[Tier::Hot, Tier::Warm]);
        let at = AutoTier::with_capacity(&s, Capacity { hot_bytes: Some(3 << 19), warm_bytes: None });
        let f = facts(1 << 20, ContentClass::Other, Hint::Auto);
        at.existing(&s, b"b\0one", f, Tier::Hot, Found::WrittenAt(DAY), DAY);
        at.existing(&s, b"b\0two", f, Tier::Hot, Found::WrittenAt(DAY), DAY);
        assert_eq!(at.queued(), 1, "room in hot for one of the two");
        // Days later, decay plans both colder (cold is warm on this node).
        let (mut next, later) = (Some(0), 6 * DAY);
        while let Some(start) = next {
            next = at.sweep_some(&s, later, start);
        }
        let mut moves = Vec::new();
        while let Some(m) = at.next_move() {
            moves.push(m);
        }
        moves.sort();
        assert_eq!(moves, vec![(b"b\0one".to_vec(), Tier::Warm), (b"b\0two".to_vec(), Tier::Warm)]);
        // A failed move's new plan waits for the next sweep.
        at.existing(&s, b"b\0three", f, Tier::Warm, Found::WrittenAt(later), later);
        at.not_moved(b"b\0two", Tier::Hot, later);
        assert_eq!(at.queued(), 0, "parked, not retried at once");
    }

    #[test]
    fn names_split_back_into_bucket_and_key() {
        let name = name_of("bucket", "dir/key\u{e9}");
        assert_eq!(split_name(&name), Some(("bucket", "dir/key\u{e9}")));
        assert_eq!(split_name(b"no-separator"), None);
    }
}
