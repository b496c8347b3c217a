//! What the simulated-disk tests share: a three-disk node (2+1) on a
//! `SimDisk`, with small bodies kept inline.

#![allow(dead_code)]

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use stratum_engine::io::sim::SimDisk;
use stratum_engine::{Node, NodeConfig, ObjectRecord, Store, Tier, TierConfig};

pub const BUCKET: &str = "b";

pub fn config(root: &Path) -> NodeConfig {
    NodeConfig {
        tiers: vec![TierConfig {
            tier: Tier::Hot,
            disks: (0..3).map(|i| root.join(format!("disk{i}"))).collect(),
            scheme: None,
        }],
        cores: 1,
        inline_max_bytes: 4096,
        scrub_bytes_per_sec: 0,
        scrub_interval: std::time::Duration::from_secs(3600),
        multipart_expiry: std::time::Duration::from_secs(3600),
        autotier: Default::default(),
        read_cache_bytes: 0,
    }
}

pub fn record(size: u64, md5: [u8; 16]) -> ObjectRecord {
    ObjectRecord {
        size,
        etag: hex::encode(md5),
        modified_ms: 0,
        content_type: "application/octet-stream".into(),
        headers: Vec::new(),
        user_meta: Vec::new(),
        segments: Vec::new(),
        tags: Vec::new(),
        checksum: None,
    }
}

/// A node on `sim` with the bucket created (on the running executor).
pub async fn open(root: &Path, sim: &SimDisk) -> (Arc<Node>, Rc<Store>) {
    let node = Node::open_with_io(&config(root), Arc::new(sim.clone())).expect("node opens");
    let store = Store::new(node.clone(), 0);
    store.create_bucket(BUCKET, 0).await.expect("bucket");
    (node, store)
}
