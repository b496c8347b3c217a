//! The disk, as the shard path sees it: a narrow set of file operations
//! behind [`DiskIo`], so the same engine code runs on io_uring ([`Uring`])
//! or on a simulated disk ([`sim::SimDisk`]) that can lose power, fail a
//! chosen operation, or flip bits.
//!
//! Only shard files go through here. Disk ids, the format file and the
//! metadata store (fjall) use the real filesystem: they are written when
//! a node is created, or carry their own durability contract.

use std::fmt;
use std::future::Future;
use std::io;
use std::ops::Deref;
use std::path::Path;
use std::pin::Pin;
use std::rc::Rc;

pub mod sim;
mod uring;

pub use uring::Uring;

/// A file operation in flight (boxed: the engine picks the disk at run time).
pub type IoFuture<'a, T> = Pin<Box<dyn Future<Output = io::Result<T>> + 'a>>;

/// The file operations the engine's shard path needs, and nothing more.
pub trait DiskIo: Send + Sync {
    /// Creates a new file for writing; fails with `AlreadyExists` when one
    /// is there (two writers never share a file).
    fn create<'a>(&'a self, path: &'a Path) -> IoFuture<'a, Box<dyn WriteFile>>;
    /// Opens a file for reading; `None` when it does not exist.
    fn open<'a>(&'a self, path: &'a Path) -> IoFuture<'a, Option<Rc<dyn ReadFile>>>;
    /// Makes the directory's entries (creates, renames) durable.
    fn sync_dir<'a>(&'a self, dir: &'a Path) -> IoFuture<'a, ()>;
    /// Unlinks a file (synchronous: called from blocking threads too).
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Renames a file (synchronous, like `remove`; not durable until both
    /// directories are synced).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// A file's length in bytes.
    fn file_len(&self, path: &Path) -> io::Result<u64>;
    /// Takes an existing file as the new file `to`, to be overwritten in
    /// place: its old bytes stay until overwritten, and its length until
    /// [`WriteFile::set_len`]. Overwriting allocated blocks spares the
    /// filesystem an inode and its block allocation. Fails with
    /// `AlreadyExists` when `to` is there.
    fn reuse<'a>(&'a self, from: &'a Path, to: &'a Path) -> IoFuture<'a, Box<dyn WriteFile>>;
    /// The names in a directory.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Called before a metadata commit. The metadata store lives on the same
    /// machine: once a simulated power loss has happened it must not commit
    /// either. The real disk has nothing to do here.
    fn before_metadata_commit(&self) -> io::Result<()> {
        Ok(())
    }
    fn name(&self) -> &'static str;
}

impl fmt::Debug for dyn DiskIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A file being written with aligned buffers at aligned offsets.
pub trait WriteFile {
    /// A buffer suitable for `write_at` (aligned for O_DIRECT on real disks).
    fn alloc(&self, len: usize) -> WriteBuf;
    /// Writes the buffer's bytes; returns how many were written.
    fn write_at(&self, buf: WriteBuf, pos: u64) -> IoFuture<'_, usize>;
    fn fdatasync(&self) -> IoFuture<'_, ()>;
    /// Cuts (or extends) the file to `len` bytes; durable with the next `fdatasync`.
    fn set_len(&self, len: u64) -> IoFuture<'_, ()>;
    /// Moves the file to `to`: over a file there only with `replace`, else
    /// failing with `AlreadyExists` (a new volume never takes the place of
    /// another that happens to have the same id).
    fn rename<'a>(&'a mut self, to: &'a Path, replace: bool) -> IoFuture<'a, ()>;
    fn close(self: Box<Self>) -> IoFuture<'static, ()>;
}

pub trait ReadFile {
    /// Reads up to `len` bytes at `pos` (fewer at the end of the file).
    fn read_at(&self, pos: u64, len: usize) -> IoFuture<'_, ReadBytes>;
}

/// A write buffer: DMA memory for io_uring, plain memory for the simulation.
pub enum WriteBuf {
    Dma(glommio::io::DmaBuffer),
    Heap(Vec<u8>),
}

impl WriteBuf {
    pub fn len(&self) -> usize {
        match self {
            WriteBuf::Dma(b) => b.len(),
            WriteBuf::Heap(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        match self {
            WriteBuf::Dma(b) => b.as_bytes_mut(),
            WriteBuf::Heap(v) => v,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            WriteBuf::Dma(b) => b.as_bytes(),
            WriteBuf::Heap(v) => v,
        }
    }

    /// Shortens the buffer to its first `len` bytes.
    pub fn trim_to_size(&mut self, len: usize) {
        match self {
            WriteBuf::Dma(b) => b.trim_to_size(len),
            WriteBuf::Heap(v) => v.truncate(len),
        }
    }
}

/// Bytes read from a file, shared without copying.
#[derive(Clone)]
pub enum ReadBytes {
    Dma(glommio::io::ReadResult),
    Heap(Rc<Vec<u8>>),
    Cached(std::sync::Arc<crate::cache::CachedBlock>),
}

impl Deref for ReadBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            ReadBytes::Dma(r) => r,
            ReadBytes::Heap(v) => v,
            ReadBytes::Cached(b) => b.bytes(),
        }
    }
}
