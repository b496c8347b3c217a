//! The admin API under `/_stratum/admin/` (never a bucket: S3 bucket names
//! cannot start with `_`). Signed like any S3 request; answers JSON.

use std::sync::atomic::Ordering;

use serde_json::json;

use stratum_engine::Tier;

use crate::ctx::Ctx;
use crate::error::S3Error;
use crate::request::Request;
use crate::response::{Body, Response};

/// The pseudo-bucket the admin API lives under.
pub const ADMIN_PREFIX: &str = "_stratum";

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Response, S3Error> {
    match (req.method(), req.key.as_deref()) {
        ("GET", Some("admin/disks")) => Ok(json_response(disks(ctx))),
        ("GET", Some("admin/stats")) => Ok(json_response(stats(ctx))),
        ("GET", Some("admin/object")) => {
            let (bucket, key) = (param(req, "bucket")?, param(req, "key")?);
            let record = ctx.store.head_object(bucket, key).await?;
            Ok(json_response(layout(bucket, key, &record)))
        }
        ("GET", Some("admin/why")) => {
            let (bucket, key) = (param(req, "bucket")?, param(req, "key")?);
            let why = ctx.store.why(bucket, key).await?;
            let mut answer = serde_json::to_value(&why).unwrap_or_default();
            if let Some(fields) = answer.as_object_mut() {
                fields.insert("bucket".into(), json!(bucket));
                fields.insert("key".into(), json!(key));
            }
            Ok(json_response(answer))
        }
        ("POST", Some("admin/move-tier")) => {
            let (bucket, key) = (param(req, "bucket")?, param(req, "key")?);
            let tier = Tier::parse(param(req, "tier")?)
                .ok_or_else(|| S3Error::invalid_argument("tier must be hot, warm or cold"))?;
            if ctx.store.node().tier(tier).is_none() {
                return Err(S3Error::invalid_argument(format!("this node has no {} tier", tier.name())));
            }
            let record = ctx.store.move_tier(bucket, key, tier).await?;
            ctx.store.planner_moved(bucket, key, tier).await?;
            Ok(json_response(layout(bucket, key, &record)))
        }
        ("POST", Some("admin/replace-disk")) => {
            let id: u32 =
                param(req, "id")?.parse().map_err(|_| S3Error::invalid_argument("id must be a disk id (a number)"))?;
            let node = ctx.store.node().clone();
            glommio::executor().spawn_blocking(move || node.replace_disk(id)).await?;
            // The refill is a scrub of every volume: hours on a big node.
            // It runs on; `admin disks` shows the disk refilling until done.
            let store = ctx.store.clone();
            glommio::spawn_local(async move {
                let _ = store.refill().await;
            })
            .detach();
            Ok(json_response(disks(ctx)))
        }
        ("POST", Some("admin/scrub")) => {
            let report = ctx.store.scrub_all().await?;
            Ok(json_response(json!({
                "volumes": report.volumes,
                "bytes_checked": report.bytes_checked,
                "bad_blocks": report.bad_blocks,
                "shards_repaired": report.shards_repaired,
                "volumes_unrecoverable": report.volumes_unrecoverable,
                "volumes_respread": report.volumes_respread,
            })))
        }
        _ => Err(S3Error::new("NoSuchAdminCommand", 404, "No such admin command.")),
    }
}

/// Automatic tiering's counters, or `null` when it does not run here.
fn tiering(node: &stratum_engine::Node) -> serde_json::Value {
    let Some(t) = &node.autotier else {
        return serde_json::Value::Null;
    };
    let read = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let sum = |f: &dyn Fn(&stratum_engine::autotier::CoreGauges) -> u64| t.counters.cores.iter().map(f).sum::<u64>();
    let planned: serde_json::Map<String, serde_json::Value> = node
        .tiers()
        .iter()
        .map(|s| (s.tier.name().to_owned(), json!(sum(&|g| read(&g.planned_bytes[s.tier.index()])))))
        .collect();
    json!({
        "objects": sum(&|g| read(&g.objects)),
        "queued_moves": sum(&|g| read(&g.queued_moves)),
        "planned_bytes": planned,
        "moves_done": read(&t.counters.moves_done),
        "moves_failed": read(&t.counters.moves_failed),
        "bytes_moved": read(&t.counters.bytes_moved),
        "reads_dropped": read(&t.counters.reads_dropped),
    })
}

fn param<'r>(req: &'r Request, name: &str) -> Result<&'r str, S3Error> {
    req.param(name).filter(|v| !v.is_empty()).ok_or_else(|| S3Error::invalid_argument(format!("{name} is required")))
}

/// Where an object's bytes are: per segment, inline or tier, scheme and disks.
fn layout(bucket: &str, key: &str, record: &stratum_engine::ObjectRecord) -> serde_json::Value {
    let segments: Vec<_> = record
        .segments
        .iter()
        .map(|s| match s.body.volume() {
            None => json!({ "size": s.size, "inline": true }),
            Some(v) => json!({
                "size": s.size,
                "tier": Tier::from_code(v.tier).map_or("unknown", Tier::name),
                "scheme": format!("{}+{}", v.data_shards, v.parity_shards),
                "disks": v.disks,
                "volume": format!("{:016x}", v.id),
            }),
        })
        .collect();
    json!({ "bucket": bucket, "key": key, "size": record.size, "etag": record.etag, "segments": segments })
}

fn json_response(value: serde_json::Value) -> Response {
    let body = serde_json::to_vec_pretty(&value).unwrap_or_default();
    Response::new(200).header("content-type", "application/json").with_body(Body::Bytes(body))
}

fn disks(ctx: &Ctx) -> serde_json::Value {
    let node = ctx.store.node();
    let disks: Vec<_> = node
        .disks()
        .map(|d| json!({ "id": d.id, "path": d.path.display().to_string(), "tier": d.tier.name(), "state": d.state() }))
        .collect();
    let tiers: Vec<_> = node
        .tiers()
        .iter()
        .map(|t| json!({ "tier": t.tier.name(), "scheme": t.scheme.to_string(), "disks": t.disks }))
        .collect();
    json!({ "disks": disks, "tiers": tiers })
}

fn stats(ctx: &Ctx) -> serde_json::Value {
    let node = ctx.store.node();
    let c = &node.counters;
    let s = &node.scrub_totals;
    let read = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let served = read(&c.served_bytes);
    json!({
        "reconstructed_stripes": read(&c.reconstructed_stripes),
        "unrecoverable_reads": read(&c.unrecoverable_reads),
        "corrupt_blocks": read(&c.corrupt_blocks),
        "disk_read_bytes": read(&c.disk_read_bytes),
        "served_bytes": served,
        "read_amplification": if served == 0 { 0.0 } else { read(&c.disk_read_bytes) as f64 / served as f64 },
        "tiering": tiering(node),
        "read_cache": node.read_cache().map(|cache| {
            let s = cache.stats();
            json!({
                "capacity_bytes": s.capacity_bytes,
                "resident_bytes": s.resident_bytes,
                "hit_bytes": s.hit_bytes,
                "miss_bytes": s.miss_bytes,
            })
        }),
        "scrub": {
            "volumes": read(&s.volumes),
            "bytes_checked": read(&s.bytes_checked),
            "bad_blocks": read(&s.bad_blocks),
            "shards_repaired": read(&s.shards_repaired),
            "volumes_unrecoverable": read(&s.volumes_unrecoverable),
            "volumes_respread": read(&s.volumes_respread),
        },
    })
}
