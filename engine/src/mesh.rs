//! The cross-core channel mesh: every core can hand a job to every other.
//!
//! A job is a closure that runs on the target core with that core's
//! [`Store`](crate::Store) and sends its answer back over a oneshot. Built on
//! glommio's shared channels (one per ordered pair of cores), which wake an
//! idle peer through its reactor.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use glommio::channels::shared_channel::{self, ConnectedSender, SharedReceiver, SharedSender};

use crate::error::{EngineError, Result};
use crate::store::Store;

type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;
pub type Job = Box<dyn FnOnce(Rc<Store>) -> LocalFuture + Send>;

/// Jobs queued towards one core before senders wait.
const CHANNEL_CAPACITY: usize = 1024;

/// One core's ends of the mesh, before its executor connects them.
pub struct MeshEnds {
    core: usize,
    senders: Vec<Option<SharedSender<Job>>>,
    receivers: Vec<SharedReceiver<Job>>,
}

/// Builds the channels for `cores` cores; element `c` goes to core `c`.
pub fn build(cores: usize) -> Vec<MeshEnds> {
    let mut ends: Vec<MeshEnds> = (0..cores)
        .map(|core| MeshEnds { core, senders: (0..cores).map(|_| None).collect(), receivers: Vec::new() })
        .collect();
    for from in 0..cores {
        for to in 0..cores {
            if from != to {
                let (tx, rx) = shared_channel::new_bounded(CHANNEL_CAPACITY);
                ends[from].senders[to] = Some(tx);
                ends[to].receivers.push(rx);
            }
        }
    }
    ends
}

/// The connected mesh as seen from one core.
pub struct Mesh {
    core: usize,
    senders: Vec<Option<ConnectedSender<Job>>>,
}

impl MeshEnds {
    /// Connects every channel (each connect waits for its peer, so all run at
    /// once), and spawns the loops that run incoming jobs on this core.
    pub async fn connect(self, store: impl Fn() -> Option<Rc<Store>> + Clone + 'static) -> Mesh {
        for rx in self.receivers {
            let store = store.clone();
            glommio::spawn_local(async move {
                let rx = rx.connect().await;
                while let Some(job) = rx.recv().await {
                    if let Some(store) = store() {
                        glommio::spawn_local(job(store)).detach();
                    }
                }
            })
            .detach();
        }
        let pending: Vec<_> = self
            .senders
            .into_iter()
            .map(|tx| {
                glommio::spawn_local(async move {
                    match tx {
                        Some(tx) => Some(tx.connect().await),
                        None => None,
                    }
                })
            })
            .collect();
        let mut senders = Vec::with_capacity(pending.len());
        for task in pending {
            senders.push(task.await);
        }
        Mesh { core: self.core, senders }
    }
}

impl Mesh {
    pub fn core(&self) -> usize {
        self.core
    }

    /// Runs `work` on core `to` and returns its answer.
    pub async fn call<T, F, Fut>(&self, to: usize, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Rc<Store>) -> Fut + Send + 'static,
        Fut: Future<Output = T> + 'static,
    {
        let sender = self.senders.get(to).and_then(Option::as_ref).ok_or(EngineError::CoreUnavailable(to))?;
        let (reply, answer) = futures_channel::oneshot::channel();
        let job: Job = Box::new(move |store| {
            Box::pin(async move {
                let _ = reply.send(work(store).await);
            })
        });
        sender.send(job).await.map_err(|_| EngineError::CoreUnavailable(to))?;
        answer.await.map_err(|_| EngineError::CoreUnavailable(to))
    }
}
