//! A simulated disk for tests: files live in memory, with what a running
//! program sees kept apart from what survives a power loss.
//!
//! The model is POSIX's: file data is durable once `fdatasync` returns; a
//! directory entry (create, rename, unlink) is durable once its directory
//! is synced. A power loss keeps only durable state — or, with
//! [`SimDisk::power_loss_torn`], also a random subset of the unsynced
//! sectors, as a real disk's cache may. Directories themselves are durable
//! when created (the engine creates them at start-up, before any write).
//!
//! Every mutating operation (create, write, fdatasync, rename, directory
//! sync, unlink, and the metadata commit point) is numbered, so a test can
//! cut the power at, or fail, exactly the n-th one. One `SimDisk` holds all
//! of a node's disks: their paths tell them apart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::{Rng, SeedableRng};

use super::{DiskIo, IoFuture, ReadBytes, ReadFile, WriteBuf, WriteFile};

const SECTOR: usize = 4096;

#[derive(Clone, Default)]
pub struct SimDisk {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct Inode {
    data: Vec<u8>,
    synced: Vec<u8>,
}

#[derive(Default)]
struct State {
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    /// The namespace a running program sees.
    names: BTreeMap<PathBuf, u64>,
    /// The namespace that survives a power loss.
    durable: BTreeMap<PathBuf, u64>,
    dirs: BTreeSet<PathBuf>,
    /// Mutating operations so far.
    ops: u64,
    power_off_at: Option<u64>,
    powered_off: bool,
    fail_at: BTreeSet<u64>,
    /// The path of the last chosen operation that failed (`None`: the metadata commit).
    last_failed: Option<Option<PathBuf>>,
    /// Path prefixes (whole disks) on which every operation fails.
    broken: Vec<PathBuf>,
}

fn eio(why: &str) -> io::Error {
    io::Error::other(format!("simulated I/O error: {why}"))
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{}: no such file", path.display()))
}

fn exists(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, format!("{}: file exists", path.display()))
}

impl State {
    fn check(&self, path: Option<&Path>) -> io::Result<()> {
        if self.powered_off {
            return Err(eio("power lost"));
        }
        if let Some(p) = path {
            if self.broken.iter().any(|b| p.starts_with(b)) {
                return Err(eio("broken disk"));
            }
        }
        Ok(())
    }

    /// Numbers one mutating operation; it fails if the power goes now or
    /// this operation was chosen to fail.
    fn step(&mut self, path: Option<&Path>) -> io::Result<()> {
        self.check(path)?;
        self.ops += 1;
        if self.power_off_at == Some(self.ops) {
            self.powered_off = true;
            return Err(eio("power lost"));
        }
        if self.fail_at.remove(&self.ops) {
            self.last_failed = Some(path.map(Path::to_owned));
            return Err(eio("chosen operation"));
        }
        Ok(())
    }

    fn inode(&mut self, id: u64) -> io::Result<&mut Inode> {
        self.inodes.get_mut(&id).ok_or_else(|| eio("stale handle"))
    }

    /// Moves a name (visibly only: durable once the directories are synced).
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<u64> {
        if !to.parent().is_some_and(|d| self.dirs.contains(d)) {
            return Err(not_found(to));
        }
        let id = self.names.remove(from).ok_or_else(|| not_found(from))?;
        self.names.insert(to.to_owned(), id);
        Ok(id)
    }
}

impl SimDisk {
    pub fn new() -> SimDisk {
        SimDisk::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Mutating operations so far.
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// Cuts the power at the `n`-th mutating operation from now (1: the next):
    /// it and everything after it fail until [`SimDisk::power_loss`].
    pub fn power_off_after(&self, n: u64) {
        let mut s = self.lock();
        s.power_off_at = Some(s.ops + n.max(1));
    }

    pub fn is_powered_off(&self) -> bool {
        self.lock().powered_off
    }

    /// Fails the `n`-th mutating operation from now with an I/O error.
    pub fn fail_op(&self, n: u64) {
        let mut s = self.lock();
        let at = s.ops + n.max(1);
        s.fail_at.insert(at);
    }

    /// Which chosen operation failed last: `Some(Some(path))` for a file or
    /// directory operation, `Some(None)` for the metadata commit.
    pub fn last_failed(&self) -> Option<Option<PathBuf>> {
        self.lock().last_failed.clone()
    }

    /// Every operation under `prefix` fails from now on (a dead disk).
    pub fn break_path(&self, prefix: &Path) {
        self.lock().broken.push(prefix.to_owned());
    }

    pub fn mend_path(&self, prefix: &Path) {
        self.lock().broken.retain(|b| b != prefix);
    }

    /// The machine restarts after losing power: only durable state is left.
    pub fn power_loss(&self) {
        self.restart(None);
    }

    /// Like [`SimDisk::power_loss`], but each unsynced sector (and the
    /// unsynced tail of a growing file) independently made it to the platter
    /// or not, chosen by `seed`.
    pub fn power_loss_torn(&self, seed: u64) {
        self.restart(Some(seed));
    }

    fn restart(&self, torn: Option<u64>) {
        let mut s = self.lock();
        let mut rng = rand::rngs::StdRng::seed_from_u64(torn.unwrap_or(0));
        let live: BTreeSet<u64> = s.durable.values().copied().collect();
        s.inodes.retain(|id, _| live.contains(id));
        for inode in s.inodes.values_mut() {
            let mut kept = inode.synced.clone();
            if torn.is_some() {
                if inode.data.len() > kept.len() && rng.gen_bool(0.5) {
                    let extra = (inode.data.len() - kept.len()).div_ceil(SECTOR);
                    let len = (kept.len() + rng.gen_range(0..=extra) * SECTOR).min(inode.data.len());
                    kept.resize(len, 0);
                }
                for start in (0..kept.len()).step_by(SECTOR) {
                    let end = (start + SECTOR).min(kept.len()).min(inode.data.len());
                    if start < end && kept[start..end] != inode.data[start..end] && rng.gen_bool(0.5) {
                        kept[start..end].copy_from_slice(&inode.data[start..end]);
                    }
                }
            }
            inode.data = kept.clone();
            inode.synced = kept;
        }
        s.names = s.durable.clone();
        s.powered_off = false;
        s.power_off_at = None;
        s.fail_at.clear();
    }

    /// Flips one bit of a file, durably (bit rot).
    pub fn flip_bit(&self, path: &Path, offset: usize, bit: u8) -> io::Result<()> {
        let mut s = self.lock();
        let id = *s.names.get(path).ok_or_else(|| not_found(path))?;
        let inode = s.inode(id)?;
        for bytes in [&mut inode.data, &mut inode.synced] {
            if let Some(b) = bytes.get_mut(offset) {
                *b ^= 1 << (bit % 8);
            }
        }
        Ok(())
    }

    /// Every file path (as a running program sees them) under `prefix`.
    pub fn files_under(&self, prefix: &Path) -> Vec<PathBuf> {
        self.lock().names.keys().filter(|p| p.starts_with(prefix)).cloned().collect()
    }

    /// A file's current contents.
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.lock();
        let id = s.names.get(path)?;
        s.inodes.get(id).map(|i| i.data.clone())
    }
}

impl DiskIo for SimDisk {
    fn create<'a>(&'a self, path: &'a Path) -> IoFuture<'a, Box<dyn WriteFile>> {
        Box::pin(async move {
            let mut s = self.lock();
            s.step(Some(path))?;
            if !path.parent().is_some_and(|d| s.dirs.contains(d)) {
                return Err(not_found(path));
            }
            if s.names.contains_key(path) {
                return Err(exists(path));
            }
            s.next_inode += 1;
            let id = s.next_inode;
            s.inodes.insert(id, Inode::default());
            s.names.insert(path.to_owned(), id);
            Ok(Box::new(SimWrite { disk: self.clone(), inode: id, path: path.to_owned() }) as Box<dyn WriteFile>)
        })
    }

    fn open<'a>(&'a self, path: &'a Path) -> IoFuture<'a, Option<Rc<dyn ReadFile>>> {
        Box::pin(async move {
            let s = self.lock();
            s.check(Some(path))?;
            Ok(s.names.get(path).map(|id| {
                Rc::new(SimRead { disk: self.clone(), inode: *id, path: path.to_owned() }) as Rc<dyn ReadFile>
            }))
        })
    }

    fn sync_dir<'a>(&'a self, dir: &'a Path) -> IoFuture<'a, ()> {
        Box::pin(async move {
            let mut s = self.lock();
            s.step(Some(dir))?;
            let in_dir = |p: &PathBuf| p.parent() == Some(dir);
            s.durable.retain(|p, _| !in_dir(p));
            let entries: Vec<(PathBuf, u64)> =
                s.names.iter().filter(|(p, _)| in_dir(p)).map(|(p, id)| (p.clone(), *id)).collect();
            s.durable.extend(entries);
            Ok(())
        })
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.step(Some(path))?;
        s.names.remove(path).map(|_| ()).ok_or_else(|| not_found(path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.step(Some(to))?;
        s.rename(from, to).map(|_| ())
    }

    fn file_len(&self, path: &Path) -> io::Result<u64> {
        let mut s = self.lock();
        s.check(Some(path))?;
        let id = *s.names.get(path).ok_or_else(|| not_found(path))?;
        Ok(s.inode(id)?.data.len() as u64)
    }

    fn reuse<'a>(&'a self, from: &'a Path, to: &'a Path) -> IoFuture<'a, Box<dyn WriteFile>> {
        Box::pin(async move {
            let mut s = self.lock();
            s.step(Some(to))?;
            if s.names.contains_key(to) {
                return Err(exists(to));
            }
            let inode = s.rename(from, to)?;
            Ok(Box::new(SimWrite { disk: self.clone(), inode, path: to.to_owned() }) as Box<dyn WriteFile>)
        })
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let s = self.lock();
        s.check(Some(dir))?;
        if !s.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        let files = s.names.keys().filter(|p| p.parent() == Some(dir));
        let dirs = s.dirs.iter().filter(|p| p.parent() == Some(dir));
        Ok(files.chain(dirs).filter_map(|p| p.file_name()?.to_str().map(str::to_owned)).collect())
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.check(Some(dir))?;
        for d in dir.ancestors() {
            s.dirs.insert(d.to_owned());
        }
        Ok(())
    }

    fn before_metadata_commit(&self) -> io::Result<()> {
        self.lock().step(None)
    }

    fn name(&self) -> &'static str {
        "simulated"
    }
}

struct SimWrite {
    disk: SimDisk,
    inode: u64,
    path: PathBuf,
}

impl WriteFile for SimWrite {
    fn alloc(&self, len: usize) -> WriteBuf {
        WriteBuf::Heap(vec![0; len])
    }

    fn write_at(&self, buf: WriteBuf, pos: u64) -> IoFuture<'_, usize> {
        Box::pin(async move {
            let mut s = self.disk.lock();
            s.step(Some(&self.path))?;
            let bytes = buf.as_bytes();
            let start = usize::try_from(pos).map_err(|_| eio("offset"))?;
            let inode = s.inode(self.inode)?;
            if inode.data.len() < start + bytes.len() {
                inode.data.resize(start + bytes.len(), 0);
            }
            inode.data[start..start + bytes.len()].copy_from_slice(bytes);
            Ok(bytes.len())
        })
    }

    fn fdatasync(&self) -> IoFuture<'_, ()> {
        Box::pin(async move {
            let mut s = self.disk.lock();
            s.step(Some(&self.path))?;
            let inode = s.inode(self.inode)?;
            inode.synced = inode.data.clone();
            Ok(())
        })
    }

    fn set_len(&self, len: u64) -> IoFuture<'_, ()> {
        Box::pin(async move {
            let mut s = self.disk.lock();
            s.step(Some(&self.path))?;
            let len = usize::try_from(len).map_err(|_| eio("length"))?;
            s.inode(self.inode)?.data.resize(len, 0);
            Ok(())
        })
    }

    fn rename<'a>(&'a mut self, to: &'a Path, replace: bool) -> IoFuture<'a, ()> {
        Box::pin(async move {
            let mut s = self.disk.lock();
            s.step(Some(to))?;
            if s.names.get(&self.path) != Some(&self.inode) {
                return Err(not_found(&self.path));
            }
            if !to.parent().is_some_and(|d| s.dirs.contains(d)) {
                return Err(not_found(to));
            }
            if !replace && s.names.contains_key(to) {
                return Err(exists(to));
            }
            s.names.remove(&self.path);
            s.names.insert(to.to_owned(), self.inode);
            self.path = to.to_owned();
            Ok(())
        })
    }

    fn close(self: Box<Self>) -> IoFuture<'static, ()> {
        Box::pin(async { Ok(()) })
    }
}

struct SimRead {
    disk: SimDisk,
    inode: u64,
    path: PathBuf,
}

impl ReadFile for SimRead {
    fn read_at(&self, pos: u64, len: usize) -> IoFuture<'_, ReadBytes> {
        Box::pin(async move {
            let mut s = self.disk.lock();
            s.check(Some(&self.path))?;
            let data = &s.inode(self.inode)?.data;
            let start = usize::try_from(pos).unwrap_or(usize::MAX).min(data.len());
            let end = start.saturating_add(len).min(data.len());
            Ok(ReadBytes::Heap(Rc::new(data[start..end].to_vec())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        futures_lite::future::block_on(f)
    }

    fn write(disk: &SimDisk, path: &Path, bytes: &[u8], sync: bool) -> Box<dyn WriteFile> {
        block_on(async {
            let f = disk.create(path).await.expect("create");
            f.write_at(WriteBuf::Heap(bytes.to_vec()), 0).await.expect("write");
            if sync {
                f.fdatasync().await.expect("sync");
            }
            f
        })
    }

    #[test]
    fn power_loss_keeps_only_synced_data_and_synced_entries() {
        let disk = SimDisk::new();
        let dir = Path::new("/d/vol");
        disk.create_dir_all(dir).expect("dirs");
        let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
        write(&disk, &a, b"synced", true);
        block_on(disk.sync_dir(dir)).expect("sync dir");
        write(&disk, &b, b"unsynced data", false);
        block_on(disk.sync_dir(dir)).expect("sync dir");
        write(&disk, &c, b"entry never synced", true);
        disk.power_loss();
        assert_eq!(disk.contents(&a).as_deref(), Some(&b"synced"[..]));
        assert_eq!(disk.contents(&b).as_deref(), Some(&b""[..]), "data never fdatasynced is lost");
        assert_eq!(disk.contents(&c), None, "an entry whose directory was never synced is lost");
    }

    #[test]
    fn renames_are_durable_only_after_the_target_directory_sync() {
        let disk = SimDisk::new();
        let (tmp, vol) = (Path::new("/d/tmp"), Path::new("/d/vol"));
        disk.create_dir_all(tmp).expect("dirs");
        disk.create_dir_all(vol).expect("dirs");
        let mut f = write(&disk, &tmp.join("x"), b"body", true);
        block_on(f.rename(&vol.join("x"), false)).expect("rename");
        disk.power_loss();
        assert_eq!(disk.contents(&vol.join("x")), None);
        let mut f2 = write(&disk, &tmp.join("y"), b"body", true);
        block_on(f2.rename(&vol.join("y"), false)).expect("rename");
        block_on(disk.sync_dir(vol)).expect("sync");
        drop((f, f2));
        disk.power_loss();
        assert_eq!(disk.contents(&vol.join("y")).as_deref(), Some(&b"body"[..]));
    }

    #[test]
    fn the_chosen_operation_fails_and_power_stays_off() {
        let disk = SimDisk::new();
        disk.create_dir_all(Path::new("/d")).expect("dirs");
        disk.fail_op(2);
        let f = block_on(disk.create(Path::new("/d/a"))).expect("first op succeeds");
        assert!(block_on(f.write_at(WriteBuf::Heap(vec![1; 8]), 0)).is_err(), "second op fails");
        assert!(block_on(f.write_at(WriteBuf::Heap(vec![1; 8]), 0)).is_ok(), "only that one");
        disk.power_off_after(1);
        assert!(block_on(f.fdatasync()).is_err());
        assert!(disk.is_powered_off());
        assert!(block_on(disk.open(Path::new("/d/a"))).is_err(), "nothing works without power");
        disk.power_loss();
        assert!(!disk.is_powered_off());
    }

    #[test]
    fn torn_power_loss_keeps_some_unsynced_sectors_and_never_invents_bytes() {
        let disk = SimDisk::new();
        let dir = Path::new("/d");
        disk.create_dir_all(dir).expect("dirs");
        let path = dir.join("f");
        let f = write(&disk, &path, &vec![1u8; 8 * SECTOR], true);
        block_on(disk.sync_dir(dir)).expect("sync");
        block_on(f.write_at(WriteBuf::Heap(vec![2u8; 16 * SECTOR]), 0)).expect("write");
        disk.power_loss_torn(7);
        let after = disk.contents(&path).expect("file survives");
        assert!(after.len() >= 8 * SECTOR && after.len() <= 16 * SECTOR);
        assert!(after.iter().all(|b| *b == 1 || *b == 2));
        let sectors: BTreeSet<u8> = after.chunks(SECTOR).map(|s| s[0]).collect();
        assert_eq!(sectors.len(), 2, "seed 7 keeps some new sectors and loses others");
    }

    #[test]
    fn flipped_bits_persist_and_broken_paths_fail() {
        let disk = SimDisk::new();
        let dir = Path::new("/d1");
        disk.create_dir_all(dir).expect("dirs");
        let path = dir.join("f");
        write(&disk, &path, &[0u8; 16], true);
        disk.flip_bit(&path, 3, 1).expect("flip");
        assert_eq!(disk.contents(&path).expect("file")[3], 2);
        disk.break_path(dir);
        assert!(block_on(disk.open(&path)).is_err());
        assert!(disk.list(dir).is_err());
        disk.mend_path(dir);
        assert_eq!(disk.list(dir).expect("list"), vec!["f".to_owned()]);
    }
}
