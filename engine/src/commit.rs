//! Group commit: ops for one partition queue up while a group is being made
//! durable; the next group takes all of them and shares one fsync.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use futures_channel::oneshot;
use stratum_meta::{Applied, Op, Partition, VolumeRef};

use crate::error::{EngineError, Result};

type Waiter = oneshot::Sender<Result<Applied>>;

pub struct Committer {
    partition: Arc<Partition>,
    node: Arc<crate::Node>,
    queue: RefCell<Vec<(Op, Waiter)>>,
    running: Cell<bool>,
    /// Woken once every op queued before them is applied.
    barriers: RefCell<Vec<oneshot::Sender<()>>>,
}

fn open_barriers(barriers: Vec<oneshot::Sender<()>>) {
    for barrier in barriers {
        let _ = barrier.send(());
    }
}

/// The bucket an op would add content to (an object or an upload).
fn new_content_in(op: &Op) -> Option<&str> {
    match op {
        Op::PutObject { bucket, .. } | Op::CreateUpload { bucket, .. } => Some(bucket),
        _ => None,
    }
}

/// Ops that add records: refused while the metadata disk is short of space.
fn grows_metadata(op: &Op) -> bool {
    matches!(op, Op::CreateBucket(_) | Op::PutObject { .. } | Op::CreateUpload { .. } | Op::PutPart { .. })
}

fn no_space() -> EngineError {
    EngineError::Io(std::io::Error::from_raw_os_error(libc::ENOSPC))
}

impl Committer {
    pub fn new(partition: Arc<Partition>, node: Arc<crate::Node>) -> Rc<Self> {
        Rc::new(Self {
            partition,
            node,
            queue: RefCell::new(Vec::new()),
            running: Cell::new(false),
            barriers: RefCell::new(Vec::new()),
        })
    }

    /// Waits until every op submitted before this call is applied (or failed).
    pub async fn barrier(&self) {
        if !self.running.get() {
            return;
        }
        let (tx, rx) = oneshot::channel();
        self.barriers.borrow_mut().push(tx);
        let _ = rx.await;
    }

    /// Applies `op` durably. Volumes it frees are removed after the commit.
    pub async fn submit(self: &Rc<Self>, op: Op) -> Result<Applied> {
        let (tx, rx) = oneshot::channel();
        self.queue.borrow_mut().push((op, tx));
        if !self.running.replace(true) {
            glommio::spawn_local(self.clone().drain()).detach();
        }
        rx.await.map_err(|_| EngineError::Io(std::io::Error::other("commit abandoned")))?
    }

    async fn drain(self: Rc<Self>) {
        loop {
            let barriers = std::mem::take(&mut *self.barriers.borrow_mut());
            let batch = std::mem::take(&mut *self.queue.borrow_mut());
            // Checked here, group by group, so that once a DeleteBucket has
            // marked the bucket and passed a barrier, nothing lands in it.
            let (batch, refused): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .partition(|(op, _)| new_content_in(op).is_none_or(|b| self.node.takes_new_content(b)));
            for (_, waiter) in refused {
                let _ = waiter.send(Err(EngineError::NoSuchBucket));
            }
            // Checked per group (one statvfs): between checks the store
            // grows by at most a group's records.
            let short = batch.iter().any(|(op, _)| grows_metadata(op)) && self.node.metadata_is_short();
            let (batch, refused): (Vec<_>, Vec<_>) =
                batch.into_iter().partition(|(op, _)| !(short && grows_metadata(op)));
            for (_, waiter) in refused {
                let _ = waiter.send(Err(no_space()));
            }
            if batch.is_empty() {
                // Nothing was awaited since the queue was taken: it is still empty.
                open_barriers(barriers);
                self.running.set(false);
                return;
            }
            let (ops, waiters): (Vec<Op>, Vec<Waiter>) = batch.into_iter().unzip();
            if let Err(e) = self.node.io().before_metadata_commit() {
                for waiter in waiters {
                    let _ = waiter.send(Err(EngineError::Io(std::io::Error::new(e.kind(), e.to_string()))));
                }
                open_barriers(barriers);
                continue;
            }
            let partition = self.partition.clone();
            let node = self.node.clone();
            // fjall blocks (and fsyncs): run it off the reactor.
            let outcome = glommio::executor()
                .spawn_blocking(move || {
                    let results = partition.apply_group(ops)?;
                    for applied in results.iter().flatten() {
                        node.free_later(applied.freed.clone());
                    }
                    Ok::<_, stratum_meta::MetaError>(results)
                })
                .await;
            match outcome {
                Ok(results) => {
                    for (waiter, result) in waiters.into_iter().zip(results) {
                        let _ = waiter.send(result.map_err(EngineError::from));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "metadata commit failed; group not acknowledged");
                    let message = e.to_string();
                    for waiter in waiters {
                        let _ = waiter.send(Err(EngineError::DurabilityUnknown(message.clone())));
                    }
                }
            }
            open_barriers(barriers);
        }
    }
}

/// Removes volumes no longer referenced. A failure leaves an orphan file,
/// never a dangling reference, so it is logged and not returned.
pub fn remove_volumes(node: &crate::Node, volumes: &[VolumeRef]) {
    for vref in volumes {
        for (shard, disk_id) in vref.disks.iter().enumerate() {
            let Some(disk) = node.disk(*disk_id) else { continue };
            let path = disk.shard_path(vref.slice, vref.id, shard);
            if let Err(e) = disk.release(vref.slice, &path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "could not remove freed shard");
                }
            }
        }
    }
}
