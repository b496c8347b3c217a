//! DeleteBucket racing PUTs: a PUT is either in the bucket before the
//! emptiness check (and the delete fails) or refused; it is never
//! acknowledged into a bucket that is then deleted, and a bucket created
//! again under the same name starts empty.

use std::path::PathBuf;
use std::rc::Rc;

use glommio::LocalExecutorBuilder;
use stratum_engine::io::sim::SimDisk;
use stratum_engine::{EngineError, Store};

mod common;
use common::{open, record, BUCKET};

/// A PUT that lets other tasks run `yields` times between its body and its commit.
async fn put(store: &Rc<Store>, key: &str, body: &[u8], yields: usize) -> stratum_engine::Result<()> {
    let mut w = store.new_volume()?;
    w.write(body).await?;
    let sealed = w.seal().await?;
    for _ in 0..yields {
        futures_lite::future::yield_now().await;
    }
    store.put_object(BUCKET, key, record(sealed.size, sealed.md5), sealed).await.map(|_| ())
}

#[test]
fn a_put_racing_delete_bucket_is_never_acknowledged_into_a_deleted_bucket() {
    let root: PathBuf = std::env::temp_dir().join(format!("stratum-bucketdel-{}", std::process::id()));
    let r = root.clone();
    LocalExecutorBuilder::default()
        .spawn(move || async move {
            let sim = SimDisk::new();
            let (_node, store) = open(&r, &sim).await;
            let (mut refused, mut not_empty) = (0, 0);
            for i in 0..300usize {
                let key = format!("k{i}");
                // Half the bodies are inline, half go to shard files.
                let body = vec![i as u8; if i % 2 == 0 { 1000 } else { 9000 }];
                let racer = store.clone();
                let racing_key = key.clone();
                // The PUT and the delete start a varying number of steps apart.
                let put = glommio::spawn_local(async move { put(&racer, &racing_key, &body, i % 5).await });
                for _ in 0..(i % 3) {
                    futures_lite::future::yield_now().await;
                }
                let deleted = store.delete_bucket(BUCKET).await;
                let put = put.await;
                match (&put, &deleted) {
                    (Ok(()), Ok(())) => panic!("{key}: acknowledged, and its bucket deleted"),
                    (Ok(()), Err(EngineError::BucketNotEmpty)) => {
                        not_empty += 1;
                        store.delete_object(BUCKET, &key).await.expect("delete object");
                        store.delete_bucket(BUCKET).await.expect("delete the emptied bucket");
                    }
                    (Err(EngineError::NoSuchBucket), Ok(())) => refused += 1,
                    other => panic!("{key}: unexpected {other:?}"),
                }
                store.create_bucket(BUCKET, 0).await.expect("create again");
                assert!(
                    matches!(store.head_object(BUCKET, &key).await, Err(EngineError::NoSuchKey)),
                    "{key}: a bucket created again holds an object of the deleted one"
                );
            }
            // Both sides of the race were taken, or the test raced nothing.
            assert!(refused > 0 && not_empty > 0, "refused {refused}, not empty {not_empty}");
        })
        .expect("executor")
        .join()
        .expect("join");
    let _ = std::fs::remove_dir_all(&root);
}
