//! Power loss at thousands of seeded points, on the simulated disk.
//!
//! Each seed runs concurrent PUT / overwrite / multipart / DELETE traffic
//! through the real engine (shard files on `SimDisk`, metadata in fjall),
//! cuts the power at a seeded mutating operation (a shard write, fsync,
//! rename, directory sync or metadata commit), keeps only what was durable
//! (on odd seeds also a random subset of unsynced sectors), restarts the
//! node and checks:
//! - every acknowledged write reads back byte for byte (or, if a later
//!   operation on the key was in flight, that operation's result);
//! - nothing unacknowledged is half-visible: a key holds exactly one of
//!   the states its history allows, and every volume a record references
//!   has every shard whole (parity is not hiding a lost shard);
//! - start-up removed every temp file, every freed file kept for reuse
//!   and every unreferenced shard.
//!
//! A node lives through 50 such crashes, so later traffic overwrites and
//! deletes what earlier crashes left. `STRATUM_POWER_LOSS_SEEDS` sets the
//! number of seeds (default 2000).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use futures_util::future::join_all;
use glommio::LocalExecutorBuilder;
use md5::{Digest, Md5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stratum_engine::io::sim::SimDisk;
use stratum_engine::volume::VolumeReader;
use stratum_engine::{EngineError, Node, NodeConfig, ObjectRecord, PartRecord, Store, UploadRecord};
use stratum_meta::SegmentBody;

mod common;
use common::{config, record, BUCKET};

const TASKS: usize = 4;
const OPS_PER_TASK: usize = 6;
/// Crash points are drawn from 1..=MAX_CRASH_OP; a seed's traffic takes
/// about 60 to 120 mutating operations, so most seeds crash mid-traffic
/// and some after it (a crash at rest).
const MAX_CRASH_OP: u64 = 100;
/// Seeds that share one node (and its keys) before a fresh one starts.
const CRASHES_PER_LIFE: u64 = 50;
/// Sizes around the inline threshold and the stripe (2 × 64 KiB).
const SIZES: [usize; 8] = [0, 1, 3000, 4096, 4097, 70_000, 131_072, 300_001];

fn body(len: usize, rng: &mut StdRng) -> Rc<Vec<u8>> {
    let mut v = vec![0u8; len];
    rng.fill(&mut v[..]);
    Rc::new(v)
}

/// What a key may hold: nothing, or exactly these bytes.
#[derive(Clone, PartialEq)]
enum State {
    Absent,
    Bytes(Rc<Vec<u8>>),
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::Absent => f.write_str("absent"),
            State::Bytes(b) => write!(f, "{} bytes md5 {}", b.len(), hex::encode(Md5::digest(&b[..]))),
        }
    }
}

/// The last acknowledged state, and the state of an operation that was in
/// flight when the power went (it may or may not have committed).
struct History {
    acked: State,
    in_flight: Option<State>,
}

enum Step {
    Put(Rc<Vec<u8>>),
    Multipart(Rc<Vec<u8>>),
    Delete,
}

async fn put(store: &Rc<Store>, key: &str, data: &[u8]) -> stratum_engine::Result<()> {
    let mut w = store.new_volume()?;
    for chunk in data.chunks(50_000) {
        w.write(chunk).await?;
    }
    let sealed = w.seal().await?;
    let rec = record(sealed.size, sealed.md5);
    store.put_object(BUCKET, key, rec, sealed).await.map(|_| ())
}

async fn multipart(store: &Rc<Store>, key: &str, data: &[u8]) -> stratum_engine::Result<()> {
    let upload = UploadRecord {
        initiated_ms: 0,
        content_type: String::new(),
        headers: Vec::new(),
        user_meta: Vec::new(),
        tags: Vec::new(),
        checksum_algorithm: None,
    };
    let id = store.create_upload(BUCKET, key, upload).await?;
    let mut w = store.new_volume()?;
    w.write(data).await?;
    let sealed = w.seal().await?;
    let etag = hex::encode(sealed.md5);
    let part = PartRecord {
        part_number: 1,
        etag: etag.clone(),
        size: sealed.size,
        modified_ms: 0,
        body: sealed.body.clone(),
        checksum: None,
    };
    store.put_part(BUCKET, key, &id, part, sealed).await?;
    store.complete_upload(BUCKET, key, &id, vec![(1, etag)], 0).await.map(|_| ())
}

async fn apply(store: &Rc<Store>, key: &str, step: &Step) -> stratum_engine::Result<()> {
    match step {
        Step::Put(data) => put(store, key, data).await,
        Step::Multipart(data) => multipart(store, key, data).await,
        Step::Delete => match store.delete_object(BUCKET, key).await {
            Err(EngineError::NoSuchKey) => Ok(()),
            other => other,
        },
    }
}

/// One task's traffic on its own key, stopping at the first failure.
async fn traffic(store: Rc<Store>, key: String, before: State, steps: Vec<Step>) -> History {
    let mut history = History { acked: before, in_flight: None };
    for step in steps {
        let next = match &step {
            Step::Put(d) | Step::Multipart(d) => State::Bytes(d.clone()),
            Step::Delete => State::Absent,
        };
        history.in_flight = Some(next.clone());
        if apply(&store, &key, &step).await.is_err() {
            break;
        }
        history.acked = next;
        history.in_flight = None;
        // Freed volumes go at once (no reader holds them here), so later
        // writes overwrite freed files in place and the power can go
        // between a file's release and its reuse.
        let node = store.node();
        stratum_engine::remove_volumes(node, &node.take_freed(true));
    }
    history
}

fn plan(rng: &mut StdRng) -> Vec<Step> {
    (0..OPS_PER_TASK)
        .map(|_| {
            let size = SIZES[rng.gen_range(0..SIZES.len())];
            match rng.gen_range(0..10) {
                0..=5 => Step::Put(body(size, rng)),
                6..=7 => Step::Multipart(body(size, rng)),
                _ => Step::Delete,
            }
        })
        .collect()
}

async fn read_all(store: &Rc<Store>, key: &str) -> Result<State, String> {
    let rec = match store.head_object(BUCKET, key).await {
        Ok(r) => r,
        Err(EngineError::NoSuchKey) => return Ok(State::Absent),
        Err(e) => return Err(format!("head {key}: {e}")),
    };
    let mut reader = store.reader(&rec, 0, rec.size);
    let mut out = Vec::with_capacity(rec.size as usize);
    loop {
        match reader.next().await {
            Ok(Some(pieces)) => pieces.iter().for_each(|p| out.extend_from_slice(p.as_slice())),
            Ok(None) => break,
            Err(e) => return Err(format!("read {key}: {e}")),
        }
    }
    if out.len() as u64 != rec.size {
        return Err(format!("{key}: read {} bytes of {}", out.len(), rec.size));
    }
    Ok(State::Bytes(Rc::new(out)))
}

/// Every shard of every referenced volume must be present and whole: a
/// durable record never points at a volume that lost a shard to the crash.
async fn check_volumes_whole(node: &Arc<Node>, rec: &ObjectRecord) -> Result<(), String> {
    for seg in &rec.segments {
        let SegmentBody::Volume(v) = &seg.body else { continue };
        let reader = VolumeReader::background(node.clone(), v.clone(), seg.size);
        let blocks = reader.block_count();
        if blocks == 0 {
            continue;
        }
        let checked = reader.check(0, blocks - 1).await;
        if let Some(shard) = checked.iter().position(|oks| oks.iter().any(|ok| !ok)) {
            return Err(format!("volume {:016x} shard {shard} is damaged after restart", v.id));
        }
    }
    Ok(())
}

fn shard_files(sim: &SimDisk, root: &Path) -> (Vec<PathBuf>, Vec<u64>) {
    let mut temps = Vec::new();
    let mut volumes = Vec::new();
    for path in sim.files_under(root) {
        let parent = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if parent == "tmp" || parent == "free" {
            temps.push(path.clone());
        } else if let Some(id) = name.split_once('.').and_then(|(id, _)| u64::from_str_radix(id, 16).ok()) {
            volumes.push(id);
        }
    }
    (temps, volumes)
}

/// A node's life across several power losses: keys keep their state from
/// one seed to the next, so later traffic overwrites and deletes objects
/// that earlier crashes left durable.
struct Life {
    root: PathBuf,
    config: NodeConfig,
    sim: SimDisk,
    node: Arc<Node>,
    store: Rc<Store>,
    states: BTreeMap<String, State>,
}

impl Life {
    async fn begin(base: &Path, seed: u64) -> Life {
        let root = base.join(format!("life-{seed}"));
        let _ = std::fs::remove_dir_all(&root);
        let config = config(&root);
        let sim = SimDisk::new();
        let (node, store) = common::open(&root, &sim).await;
        let states = (0..TASKS).map(|t| (format!("key-{t}"), State::Absent)).collect();
        Life { root, config, sim, node, store, states }
    }

    /// Drops the running node and lets go of its metadata store.
    async fn stop(self) -> (PathBuf, NodeConfig, SimDisk, BTreeMap<String, State>) {
        let Life { root, config, sim, node, store, states } = self;
        drop(store);
        // Committer tasks hold the node until their queue drains.
        for _ in 0..1000 {
            if Arc::strong_count(&node) == 1 {
                break;
            }
            glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(Arc::strong_count(&node), 1, "the node is still held after its store was dropped");
        drop(node);
        (root, config, sim, states)
    }

    /// Runs one seed's traffic, cuts the power, restarts and checks.
    /// Returns the restarted life and whether the power went mid-traffic.
    async fn crash_and_check(self, seed: u64) -> (Life, bool) {
        let mut rng = StdRng::seed_from_u64(seed);
        let keys: Vec<String> = self.states.keys().cloned().collect();
        self.sim.power_off_after(rng.gen_range(1..=MAX_CRASH_OP));
        let tasks = keys.iter().map(|key| {
            let before = self.states.get(key).cloned().unwrap_or(State::Absent);
            glommio::spawn_local(traffic(self.store.clone(), key.clone(), before, plan(&mut rng)))
        });
        let histories: Vec<History> = join_all(tasks).await;
        let crashed = self.sim.is_powered_off();
        let (root, config, sim, mut states) = self.stop().await;
        if seed % 2 == 1 {
            sim.power_loss_torn(seed);
        } else {
            sim.power_loss();
        }

        let node = Node::open_with_io(&config, Arc::new(sim.clone())).expect("node reopens after power loss");
        let store = Store::new(node.clone(), 0);
        for (key, history) in keys.iter().zip(histories) {
            let found = read_all(&store, key).await.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let allowed = found == history.acked || history.in_flight.as_ref() == Some(&found);
            assert!(
                allowed,
                "seed {seed} {key}: found {found:?}, acknowledged {:?}, in flight {:?}",
                history.acked, history.in_flight
            );
            if let Ok(rec) = store.head_object(BUCKET, key).await {
                check_volumes_whole(&node, &rec).await.unwrap_or_else(|e| panic!("seed {seed} {key}: {e}"));
            }
            states.insert(key.clone(), found);
        }
        let mut referenced = HashSet::new();
        node.partition(0).expect("partition").referenced_volumes(&mut referenced).expect("scan");
        let (temps, volumes) = shard_files(&sim, &root);
        assert!(temps.is_empty(), "seed {seed}: start-up left temp or freed files {temps:?}");
        for id in volumes {
            assert!(referenced.contains(&id), "seed {seed}: shard of unreferenced volume {id:016x} survived start-up");
        }
        (Life { root, config, sim, node, store, states }, crashed)
    }
}

#[test]
fn acknowledged_writes_survive_power_loss_at_seeded_points() {
    let seeds: u64 = std::env::var("STRATUM_POWER_LOSS_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let base = scratch_dir().join(format!("stratum-power-{}", std::process::id()));
    let base2 = base.clone();
    let mid_traffic = LocalExecutorBuilder::default()
        .spawn(move || async move {
            let mut mid = 0u64;
            let mut life: Option<Life> = None;
            for seed in 0..seeds {
                let current = match life.take() {
                    Some(l) if seed % CRASHES_PER_LIFE != 0 => l,
                    old => {
                        if let Some(old) = old {
                            let (root, ..) = old.stop().await;
                            let _ = std::fs::remove_dir_all(root);
                        }
                        Life::begin(&base2, seed).await
                    }
                };
                let (next, crashed) = current.crash_and_check(seed).await;
                mid += u64::from(crashed);
                life = Some(next);
            }
            if let Some(old) = life {
                old.stop().await;
            }
            mid
        })
        .expect("executor")
        .join()
        .expect("join");
    let _ = std::fs::remove_dir_all(&base);
    // Most crash points must land inside the traffic, or the test tests little.
    assert!(mid_traffic * 10 >= seeds * 6, "only {mid_traffic} of {seeds} seeds lost power mid-traffic");
}

/// Metadata goes to a real directory: tmpfs when there is one, since the
/// simulated power loss does not touch it and its fsyncs only cost time.
fn scratch_dir() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}
