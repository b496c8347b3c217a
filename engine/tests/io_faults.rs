//! Chosen I/O failures and bit rot on the simulated disk: a failed write
//! fails only itself (nothing half-visible, no temp file left behind, the
//! disk marked faulty), every acknowledged object reads back exact, and
//! flipped bits are healed by the scrubber.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use glommio::LocalExecutorBuilder;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stratum_engine::io::sim::SimDisk;
use stratum_engine::{EngineError, Store};
use stratum_meta::SegmentBody;

mod common;
use common::{open, record, BUCKET};

/// A PUT as the HTTP handler does it: a failed body write discards the volume.
async fn put(store: &Rc<Store>, key: &str, data: &[u8]) -> stratum_engine::Result<()> {
    let mut w = store.new_volume()?;
    for chunk in data.chunks(40_000) {
        if let Err(e) = w.write(chunk).await {
            w.discard().await;
            return Err(e);
        }
    }
    let sealed = w.seal().await?;
    store.put_object(BUCKET, key, record(sealed.size, sealed.md5), sealed).await.map(|_| ())
}

async fn get(store: &Rc<Store>, key: &str) -> stratum_engine::Result<Vec<u8>> {
    let rec = store.head_object(BUCKET, key).await?;
    let mut reader = store.reader(&rec, 0, rec.size);
    let mut out = Vec::new();
    while let Some(pieces) = reader.next().await? {
        pieces.iter().for_each(|p| out.extend_from_slice(p.as_slice()));
    }
    Ok(out)
}

fn temp_files(sim: &SimDisk, root: &Path) -> Vec<PathBuf> {
    sim.files_under(root).into_iter().filter(|p| p.parent().is_some_and(|d| d.ends_with("tmp"))).collect()
}

fn run(f: impl FnOnce(PathBuf) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> + Send + 'static) {
    let root = std::env::temp_dir().join(format!("stratum-iofaults-{}-{}", std::process::id(), rand::random::<u32>()));
    let r = root.clone();
    LocalExecutorBuilder::default().spawn(move || f(r)).expect("executor").join().expect("join");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_failed_operation_fails_only_its_own_write() {
    run(|root| {
        Box::pin(async move {
            let sim = SimDisk::new();
            let (node, store) = open(&root, &sim).await;
            let mut rng = StdRng::seed_from_u64(5);
            let mut acked: Vec<(String, Vec<u8>)> = Vec::new();
            let before = sim.ops();
            let mut body = vec![0u8; 300_000];
            rng.fill(&mut body[..]);
            put(&store, "first", &body).await.expect("put");
            acked.push(("first".into(), body));
            // Fail each mutating operation of a PUT in turn: every one after
            // the shard files' creation must fail the PUT.
            let ops_per_put = sim.ops() - before;
            assert!(ops_per_put >= 16, "a 3-shard PUT took only {ops_per_put} operations");
            for n in 1..=ops_per_put {
                let key = format!("k{n}");
                let mut body = vec![0u8; 300_000];
                rng.fill(&mut body[..]);
                sim.fail_op(n);
                match put(&store, &key, &body).await {
                    // The first operations create the three shard files;
                    // nothing is written yet, so the volume is placed
                    // around the disk that failed and the PUT succeeds.
                    Ok(()) if n <= 3 => {
                        let Some(Some(path)) = sim.last_failed() else { panic!("op {n}: no file operation failed") };
                        let disk = node.disks().find(|d| path.starts_with(&d.path)).expect("a disk's path");
                        assert!(disk.is_faulty(), "op {n}: {} failed but its disk is not faulty", path.display());
                        assert_eq!(get(&store, &key).await.expect("read"), body, "op {n}: placed around");
                        assert_eq!(temp_files(&sim, &root), Vec::<PathBuf>::new(), "op {n}: temp files left");
                        acked.push((key.clone(), body.clone()));
                    }
                    Ok(()) => panic!("op {n} of {ops_per_put} failed but the PUT succeeded"),
                    Err(e) => {
                        assert!(matches!(e, EngineError::Io(_)), "op {n}: {e}");
                        assert!(
                            matches!(store.head_object(BUCKET, &key).await, Err(EngineError::NoSuchKey)),
                            "op {n}: a failed PUT is visible"
                        );
                        assert_eq!(temp_files(&sim, &root), Vec::<PathBuf>::new(), "op {n}: temp files left");
                        match sim.last_failed() {
                            Some(Some(path)) => {
                                let disk = node.disks().find(|d| path.starts_with(&d.path)).expect("a disk's path");
                                assert!(
                                    disk.is_faulty(),
                                    "op {n}: {} failed but its disk is not faulty",
                                    path.display()
                                );
                            }
                            Some(None) => {
                                assert!(!node.disks().any(|d| d.is_faulty()), "op {n}: a failed commit blamed a disk");
                            }
                            None => panic!("op {n}: the PUT failed but no chosen operation did"),
                        }
                    }
                }
                // The operator mends the disk: the probe takes it back.
                for d in node.disks() {
                    d.probe();
                }
                let mut body = vec![0u8; 300_000];
                rng.fill(&mut body[..]);
                put(&store, &format!("after-{n}"), &body).await.expect("the next PUT works");
                acked.push((format!("after-{n}"), body));
            }
            for (key, body) in &acked {
                assert_eq!(&get(&store, key).await.expect("read"), body, "{key}");
            }
        })
    });
}

#[test]
fn flipped_bits_are_read_around_and_healed() {
    run(|root| {
        Box::pin(async move {
            let sim = SimDisk::new();
            let (node, store) = open(&root, &sim).await;
            let mut rng = StdRng::seed_from_u64(9);
            let mut objects = Vec::new();
            for i in 0..40 {
                let mut body = vec![0u8; rng.gen_range(5000..400_000)];
                rng.fill(&mut body[..]);
                let key = format!("o{i}");
                put(&store, &key, &body).await.expect("put");
                objects.push((key, body));
            }
            // One shard of each volume takes a few flipped bits (parity 1 covers it).
            for (key, _) in &objects {
                let rec = store.head_object(BUCKET, key).await.expect("head");
                let SegmentBody::Volume(v) = &rec.segments[0].body else { panic!("{key} is inline") };
                let shard = rng.gen_range(0..v.disks.len());
                let path = node.disk(v.disks[shard]).expect("disk").shard_path(v.slice, v.id, shard);
                let len = sim.contents(&path).expect("shard file").len();
                for _ in 0..3 {
                    sim.flip_bit(&path, rng.gen_range(4096..len), rng.gen_range(0..8)).expect("flip");
                }
            }
            for (key, body) in &objects {
                assert_eq!(&get(&store, key).await.expect("read around damage"), body, "{key}");
            }
            let report = store.scrub_all().await.expect("scrub");
            assert!(report.bad_blocks > 0 && report.volumes_unrecoverable == 0, "{report:?}");
            let again = store.scrub_all().await.expect("scrub");
            assert_eq!(again.bad_blocks, 0, "the scrubber left damage: {again:?}");
        })
    });
}

/// The scrubber scans records in batches and scrubs them later; a volume
/// freed in between (its object deleted, its files removed) used to be
/// found "missing", counted unrecoverable and partly rewritten.
#[test]
fn a_volume_freed_after_the_scrub_scan_is_skipped() {
    run(|root| {
        Box::pin(async move {
            use stratum_engine::scrub::{ScrubReport, Throttle};
            let sim = SimDisk::new();
            let (node, store) = open(&root, &sim).await;
            put(&store, "gone", &vec![7u8; 200_000]).await.expect("put");
            put(&store, "kept", &vec![9u8; 200_000]).await.expect("put");
            let partition = node.partition(0).expect("partition").clone();
            let scanned = partition.scan_objects(None, 10).expect("scan");
            assert_eq!(scanned.len(), 2);
            store.delete_object(BUCKET, "gone").await.expect("delete");
            stratum_engine::remove_volumes(&node, &node.take_freed(true));
            let files = sim.files_under(&root);

            let mut report = ScrubReport::default();
            for (raw_key, record) in &scanned {
                report.add(&store.scrub_object(&partition, raw_key, record, &mut Throttle::new(0)).await);
            }
            assert_eq!((report.volumes, report.volumes_unrecoverable, report.bad_blocks), (1, 0, 0), "{report:?}");
            assert_eq!(sim.files_under(&root), files, "the scrubber wrote files for a freed volume");
            assert_eq!(get(&store, "kept").await.expect("read"), vec![9u8; 200_000]);
        })
    });
}

/// A part of an upload still in progress can sit for a week: its shards
/// are scrubbed and healed like an object's.
#[test]
fn parts_of_uploads_in_progress_are_scrubbed_and_healed() {
    run(|root| {
        Box::pin(async move {
            use stratum_meta::{PartRecord, UploadRecord};
            let sim = SimDisk::new();
            let (node, store) = open(&root, &sim).await;
            let upload = UploadRecord {
                initiated_ms: 0,
                content_type: "application/octet-stream".into(),
                headers: Vec::new(),
                user_meta: Vec::new(),
                tags: Vec::new(),
                checksum_algorithm: None,
            };
            let id = store.create_upload(BUCKET, "multi", upload).await.expect("upload");
            let mut w = store.new_volume().expect("volume");
            w.write(&vec![5u8; 300_000]).await.expect("write");
            let sealed = w.seal().await.expect("seal");
            let SegmentBody::Volume(v) = sealed.body.clone() else { panic!("the part is inline") };
            let part = PartRecord {
                part_number: 1,
                etag: hex::encode(sealed.md5),
                size: sealed.size,
                modified_ms: 0,
                body: sealed.body.clone(),
                checksum: None,
            };
            store.put_part(BUCKET, "multi", &id, part, sealed).await.expect("part");
            let path = node.disk(v.disks[0]).expect("disk").shard_path(v.slice, v.id, 0);
            sim.flip_bit(&path, 5000, 3).expect("flip");

            let report = store.scrub_all().await.expect("scrub");
            assert_eq!((report.volumes, report.shards_repaired, report.volumes_unrecoverable), (1, 1, 0), "{report:?}");
            assert!(report.bad_blocks > 0, "{report:?}");
            let again = store.scrub_all().await.expect("scrub");
            assert_eq!((again.volumes, again.bad_blocks), (1, 0), "the scrubber left damage: {again:?}");
        })
    });
}

fn free_files(sim: &SimDisk, root: &Path) -> Vec<PathBuf> {
    sim.files_under(root).into_iter().filter(|p| p.parent().is_some_and(|d| d.ends_with("free"))).collect()
}

/// The length of every shard file of `key`'s volume.
async fn shard_lens(store: &Rc<Store>, sim: &SimDisk, key: &str) -> Vec<usize> {
    let rec = store.head_object(BUCKET, key).await.expect("head");
    let SegmentBody::Volume(v) = &rec.segments[0].body else { panic!("{key} is inline") };
    let node = store.node();
    (0..v.disks.len())
        .map(|s| {
            let path = node.disk(v.disks[s]).expect("disk").shard_path(v.slice, v.id, s);
            sim.contents(&path).expect("shard file").len()
        })
        .collect()
}

#[test]
fn freed_files_are_overwritten_in_place_and_cut_to_length() {
    run(|root| {
        Box::pin(async move {
            let sim = SimDisk::new();
            let (node, store) = open(&root, &sim).await;
            let mut rng = StdRng::seed_from_u64(11);
            let mut body = |len: usize| {
                let mut b = vec![0u8; len];
                rng.fill(&mut b[..]);
                b
            };
            // What a fresh file holds for a small body.
            let small = body(70_000);
            put(&store, "fresh", &small).await.expect("put");
            let fresh_lens = shard_lens(&store, &sim, "fresh").await;

            // A big object's shards are freed and kept for reuse ...
            let big = body(900_000);
            put(&store, "big", &big).await.expect("put");
            let big_lens = shard_lens(&store, &sim, "big").await;
            store.delete_object(BUCKET, "big").await.expect("delete");
            stratum_engine::remove_volumes(&node, &node.take_freed(true));
            assert_eq!(free_files(&sim, &root).len(), 3, "one freed file per shard is kept");

            // ... and a small one overwrites them: no stale tail, exact bytes.
            put(&store, "small", &small).await.expect("put");
            assert!(free_files(&sim, &root).is_empty(), "the new shards took the freed files");
            assert_eq!(shard_lens(&store, &sim, "small").await, fresh_lens);
            assert!(big_lens.iter().zip(&fresh_lens).all(|(b, f)| b > f));
            assert_eq!(get(&store, "small").await.expect("read"), small);

            // A bigger body than the freed file grows it.
            store.delete_object(BUCKET, "small").await.expect("delete");
            stratum_engine::remove_volumes(&node, &node.take_freed(true));
            put(&store, "big", &big).await.expect("put");
            assert_eq!(shard_lens(&store, &sim, "big").await, big_lens);
            assert_eq!(get(&store, "big").await.expect("read"), big);
            let report = store.scrub_all().await.expect("scrub");
            assert_eq!(report.bad_blocks, 0, "{report:?}");

            // Kept files not taken for a while go; a full disk gives them back at once.
            store.delete_object(BUCKET, "big").await.expect("delete");
            stratum_engine::remove_volumes(&node, &node.take_freed(true));
            node.disks().for_each(|d| d.expire_free(std::time::Duration::from_secs(3600)));
            assert_eq!(free_files(&sim, &root).len(), 3, "young kept files stay");
            node.disks().for_each(|d| d.expire_free(std::time::Duration::ZERO));
            assert!(free_files(&sim, &root).is_empty(), "old kept files are unlinked");
            put(&store, "big", &big).await.expect("put");
            store.delete_object(BUCKET, "big").await.expect("delete");
            stratum_engine::remove_volumes(&node, &node.take_freed(true));
            assert_eq!(free_files(&sim, &root).len(), 3);
            node.disks().for_each(|d| d.mark_full());
            assert!(free_files(&sim, &root).is_empty(), "a full disk keeps no freed files");
        })
    });
}

#[test]
fn volumes_placed_while_a_disk_was_faulty_are_spread_again_once_it_is_back() {
    run(|root| {
        Box::pin(async move {
            let sim = SimDisk::new();
            let (node, store) = open(&root, &sim).await;
            let mut rng = StdRng::seed_from_u64(21);
            // Disk 2 is marked faulty: 2+1 volumes go to the other two disks,
            // one of them holding two shards.
            node.disks().nth(2).expect("disk 2").mark_faulty("test");
            let mut objects = Vec::new();
            for i in 0..12 {
                let mut body = vec![0u8; rng.gen_range(5000..300_000)];
                rng.fill(&mut body[..]);
                put(&store, &format!("o{i}"), &body).await.expect("put with a disk out");
                objects.push((format!("o{i}"), body));
            }
            let doubled = |rec: &stratum_engine::ObjectRecord| {
                let SegmentBody::Volume(v) = &rec.segments[0].body else { panic!("inline") };
                let mut d = v.disks.clone();
                d.sort_unstable();
                d.dedup();
                d.len() < v.disks.len()
            };
            for (key, _) in &objects {
                assert!(doubled(&store.head_object(BUCKET, key).await.expect("head")), "{key}");
            }
            // While the disk is still out, there is nowhere better: nothing moves.
            assert_eq!(store.scrub_all().await.expect("scrub").volumes_respread, 0);

            // The disk is back: a scrub writes every volume again, one shard per disk.
            node.disks().for_each(|d| {
                d.probe();
            });
            let report = store.scrub_all().await.expect("scrub");
            assert_eq!(report.volumes_respread, objects.len() as u64, "{report:?}");
            for (key, body) in &objects {
                assert!(!doubled(&store.head_object(BUCKET, key).await.expect("head")), "{key}");
                assert_eq!(&get(&store, key).await.expect("read"), body, "{key}");
            }
            assert_eq!(store.scrub_all().await.expect("scrub").volumes_respread, 0, "spread once only");
            // What it bought: any one disk can now go.
            for (n, disk) in node.disks().enumerate() {
                sim.break_path(&disk.path);
                for (key, body) in &objects {
                    assert_eq!(
                        &get(&store, key).await.expect("read around a lost disk"),
                        body,
                        "{key} without disk {n}"
                    );
                }
                sim.mend_path(&disk.path);
                disk.probe();
            }
        })
    });
}
