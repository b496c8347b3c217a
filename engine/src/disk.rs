//! Disks: configured data directories, each with an id written inside it,
//! a tier, and a health state. Each core owns a slice of every disk:
//! `<disk>/core-<c>/{tmp,free,vol/<xx>}`.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::io::DiskIo;

use crate::limits::{FREE_BYTES_PER_SLICE, FREE_FILE_MAX_BYTES};
use crate::tier::Tier;

const ID_FILE: &str = "stratum.disk";
const ID_LINE: &str = "stratum disk v1";

pub struct Disk {
    pub id: u32,
    pub path: PathBuf,
    pub tier: Tier,
    /// How its shard files are written and read.
    pub io: Arc<dyn DiskIo>,
    faulty: AtomicBool,
    /// Out of space: takes no new shards until space is freed.
    full: AtomicBool,
    /// Replaced and being refilled by the healer.
    refilling: AtomicBool,
    reason: Mutex<Option<String>>,
    /// Freed shard files under each slice's `free/`, with their lengths,
    /// waiting to be overwritten by new shards of that slice.
    free: Mutex<HashMap<u16, FreeSlice>>,
    free_names: AtomicU64,
}

#[derive(Default)]
struct FreeSlice {
    /// Oldest first, each with when it was kept. Taken oldest first too, so
    /// a file expires only when more are kept than new shards take.
    files: VecDeque<(FreeFile, Instant)>,
    bytes: u64,
}

/// A freed file taken for a new shard: its path under `free/` and length.
pub struct FreeFile {
    pub path: PathBuf,
    pub len: u64,
}

impl Disk {
    pub fn new(id: u32, path: PathBuf, tier: Tier, io: Arc<dyn DiskIo>) -> Disk {
        Disk {
            id,
            path,
            tier,
            io,
            faulty: AtomicBool::new(false),
            full: AtomicBool::new(false),
            refilling: AtomicBool::new(false),
            reason: Mutex::new(None),
            free: Mutex::new(HashMap::new()),
            free_names: AtomicU64::new(0),
        }
    }

    fn free_dir(&self, core: u16) -> PathBuf {
        self.slice_root(core).join("free")
    }

    /// Lets go of a shard file no record references: kept under its slice's
    /// `free/` for a new shard to overwrite while there is room, else
    /// unlinked. Not synced: after a crash the file is at either name, and
    /// start-up removes both (an unreferenced volume name, or `free/`).
    pub fn release(&self, core: u16, path: &Path) -> std::io::Result<()> {
        if self.is_writable() {
            if let Ok(mut free) = self.free.lock() {
                let slice = free.entry(core).or_default();
                let len = self.io.file_len(path)?;
                if len <= FREE_FILE_MAX_BYTES && slice.bytes + len <= FREE_BYTES_PER_SLICE {
                    let n = self.free_names.fetch_add(1, Ordering::Relaxed);
                    let to = self.free_dir(core).join(format!("{n:016x}"));
                    self.io.rename(path, &to)?;
                    slice.files.push_back((FreeFile { path: to, len }, Instant::now()));
                    slice.bytes += len;
                    return Ok(());
                }
            }
        }
        self.io.remove(path)
    }

    /// A freed file of the slice for a new shard, if any.
    pub fn take_free(&self, core: u16) -> Option<FreeFile> {
        let mut free = self.free.lock().ok()?;
        let slice = free.get_mut(&core)?;
        let (file, _) = slice.files.pop_front()?;
        slice.bytes -= file.len;
        Some(file)
    }

    /// True when some freed file is kept.
    pub fn keeps_free(&self) -> bool {
        self.free.lock().is_ok_and(|f| f.values().any(|s| !s.files.is_empty()))
    }

    /// Unlinks the kept files no new shard took within `keep`.
    pub fn expire_free(&self, keep: Duration) {
        let mut expired = Vec::new();
        if let Ok(mut free) = self.free.lock() {
            for slice in free.values_mut() {
                let old = slice.files.iter().take_while(|(_, at)| at.elapsed() >= keep).count();
                for (file, _) in slice.files.drain(..old) {
                    slice.bytes -= file.len;
                    expired.push(file.path);
                }
            }
        }
        for path in expired {
            let _ = self.io.remove(&path);
        }
    }

    /// Unlinks every kept file: the disk is full and needs the room.
    pub fn drop_free(&self) {
        let taken: Vec<PathBuf> = match self.free.lock() {
            Ok(mut free) => free.drain().flat_map(|(_, s)| s.files).map(|(f, _)| f.path).collect(),
            Err(_) => return,
        };
        for path in taken {
            let _ = self.io.remove(&path);
        }
    }

    pub fn is_faulty(&self) -> bool {
        self.faulty.load(Ordering::Relaxed)
    }

    /// Marks the disk faulty (an I/O error, a failed fsync, a missing
    /// directory): no new shards go to it; reads reconstruct around it.
    pub fn mark_faulty(&self, why: &str) {
        if !self.faulty.swap(true, Ordering::Relaxed) {
            tracing::error!(disk = self.id, path = %self.path.display(), reason = why, "disk marked faulty");
        }
        if let Ok(mut r) = self.reason.lock() {
            *r = Some(why.to_owned());
        }
    }

    /// Checks a faulty disk: it must still carry its own id and take a
    /// durable write. If it does (remounted read-write, cable reseated),
    /// it is healthy again. A wiped or replaced disk fails the id check and
    /// stays faulty.
    pub fn probe(&self) -> bool {
        if read_id(&self.path) != Some(self.id) {
            return false;
        }
        let path = self.path.join(".stratum-probe");
        let ok = (|| -> std::io::Result<()> {
            std::fs::write(&path, b"probe")?;
            std::fs::File::open(&path)?.sync_all()?;
            std::fs::remove_file(&path)
        })();
        if ok.is_ok() && self.faulty.swap(false, Ordering::Relaxed) {
            tracing::info!(disk = self.id, path = %self.path.display(), "disk healthy again");
        }
        ok.is_ok()
    }

    pub fn state(&self) -> String {
        match self.reason.lock().ok().and_then(|r| r.clone()) {
            Some(reason) if self.is_faulty() => format!("faulty: {reason}"),
            _ if self.is_full() => "full".to_owned(),
            _ if self.is_refilling() => "refilling".to_owned(),
            _ => "ok".to_owned(),
        }
    }

    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// A write met ENOSPC: the disk is not broken, but new shards go to the
    /// tier's other disks (while they meet the scheme) until space is freed.
    pub fn mark_full(&self) {
        if !self.full.swap(true, Ordering::Relaxed) {
            tracing::warn!(disk = self.id, path = %self.path.display(), "disk full: new shards go elsewhere");
        }
        self.drop_free();
    }

    /// Takes a full disk back once it has room again: 1 GiB free, or a
    /// quarter of a smaller filesystem. Less would flap: the failed write's
    /// temp files are gone, so a little space is always free right after.
    pub fn check_space(&self) {
        let Some((total, free)) = self.space() else { return };
        if self.is_full() && free >= (1u64 << 30).min(total / 4) {
            self.full.store(false, Ordering::Relaxed);
            tracing::info!(disk = self.id, free, "disk has room again");
        }
    }

    /// New shards may go here.
    pub fn is_writable(&self) -> bool {
        !self.is_faulty() && !self.is_full()
    }

    /// Total and available bytes of the filesystem holding the disk.
    pub fn space(&self) -> Option<(u64, u64)> {
        let c_path = std::ffi::CString::new(self.path.as_os_str().as_encoded_bytes()).ok()?;
        // SAFETY: statvfs is plain old data; all-zero is a valid value to overwrite.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: c_path is a valid NUL-terminated string and stat a valid out pointer.
        let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
        (rc == 0).then(|| {
            let unit = stat.f_frsize;
            (stat.f_blocks * unit, stat.f_bavail * unit)
        })
    }

    pub fn is_refilling(&self) -> bool {
        self.refilling.load(Ordering::Relaxed)
    }

    pub fn set_refilling(&self, on: bool) {
        self.refilling.store(on, Ordering::Relaxed);
    }

    fn slice_root(&self, core: u16) -> PathBuf {
        self.path.join(format!("core-{core}"))
    }

    pub fn tmp_dir(&self, core: u16) -> PathBuf {
        self.slice_root(core).join("tmp")
    }

    pub fn tmp_path(&self, core: u16, volume: u64, shard: usize) -> PathBuf {
        self.tmp_dir(core).join(format!("{volume:016x}.{shard}"))
    }

    /// Volumes fan out over 256 directories so none grows huge.
    pub fn volume_dir(&self, core: u16, volume: u64) -> PathBuf {
        self.slice_root(core).join("vol").join(format!("{:02x}", volume & 0xff))
    }

    pub fn shard_path(&self, core: u16, volume: u64, shard: usize) -> PathBuf {
        self.volume_dir(core, volume).join(format!("{volume:016x}.{shard}"))
    }

    /// Creates the core's slice directories and removes interrupted writes.
    /// Returns how many temp files were removed.
    pub fn prepare_slice(&self, core: u16) -> std::io::Result<usize> {
        let tmp = self.tmp_dir(core);
        self.io.create_dir_all(&tmp)?;
        for fan in 0..=0xffu64 {
            self.io.create_dir_all(&self.volume_dir(core, fan))?;
        }
        let names = self.io.list(&tmp)?;
        for name in &names {
            self.io.remove(&tmp.join(name))?;
        }
        // Freed files of an earlier run: removed rather than adopted, so
        // their lengths need not be trusted.
        let free = self.free_dir(core);
        self.io.create_dir_all(&free)?;
        if let Ok(mut kept) = self.free.lock() {
            kept.remove(&core);
        }
        for name in self.io.list(&free)? {
            self.io.remove(&free.join(name))?;
        }
        Ok(names.len())
    }

    /// Core slices present on this disk (a node may have run with more cores).
    pub fn slices(&self) -> std::io::Result<Vec<u16>> {
        let names = match self.io.list(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            other => other?,
        };
        Ok(names.iter().filter_map(|n| n.strip_prefix("core-")?.parse().ok()).collect())
    }
}

/// The id written in a disk's directory, if it has one.
pub fn read_id(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path.join(ID_FILE)).ok()?;
    let mut lines = text.lines();
    (lines.next()? == ID_LINE).then_some(())?;
    lines.find_map(|l| l.strip_prefix("id="))?.trim().parse().ok()
}

/// Writes a new disk's id durably (temp file, fsync, rename, fsync dir).
pub fn write_id(path: &Path, id: u32) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    let tmp = path.join(format!("{ID_FILE}.tmp"));
    std::fs::write(&tmp, format!("{ID_LINE}\nid={id}\n"))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path.join(ID_FILE))?;
    std::fs::File::open(path)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_paths_fan_out() {
        let dir = std::env::temp_dir().join(format!("stratum-disk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(read_id(&dir), None);
        write_id(&dir, 7).expect("write id");
        assert_eq!(read_id(&dir), Some(7));
        let disk = Disk::new(7, dir.clone(), Tier::Hot, Arc::new(crate::io::Uring));
        assert!(disk.shard_path(1, 0x1ab, 2).ends_with("core-1/vol/ab/00000000000001ab.2"));
        std::fs::create_dir_all(disk.tmp_dir(1)).expect("tmp");
        std::fs::write(disk.tmp_path(1, 5, 0), b"partial").expect("write");
        assert_eq!(disk.prepare_slice(1).expect("prepare"), 1);
        assert_eq!(disk.slices().expect("slices"), vec![1]);
        disk.mark_faulty("test");
        assert!(disk.is_faulty() && disk.state().contains("test"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
