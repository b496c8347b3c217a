//! The real disk: glommio's io_uring files with O_DIRECT.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use glommio::io::{Directory, DmaFile, OpenOptions};

use super::{DiskIo, IoFuture, ReadBytes, ReadFile, WriteBuf, WriteFile};

#[derive(Debug, Default, Clone, Copy)]
pub struct Uring;

fn err<T>(e: glommio::GlommioError<T>) -> io::Error {
    e.into()
}

impl DiskIo for Uring {
    fn create<'a>(&'a self, path: &'a Path) -> IoFuture<'a, Box<dyn WriteFile>> {
        Box::pin(async move {
            let file = OpenOptions::new().write(true).create_new(true).dma_open(path).await.map_err(err)?;
            Ok(Box::new(UringWrite(file, path.to_owned())) as Box<dyn WriteFile>)
        })
    }

    fn open<'a>(&'a self, path: &'a Path) -> IoFuture<'a, Option<Rc<dyn ReadFile>>> {
        Box::pin(async move {
            // glommio's open panics on some missing paths (its statfs
            // unwraps): a file that is gone is found missing here instead.
            if !path.exists() {
                return Ok(None);
            }
            let file = DmaFile::open(path).await.map_err(err)?;
            Ok(Some(Rc::new(UringRead(file)) as Rc<dyn ReadFile>))
        })
    }

    fn sync_dir<'a>(&'a self, dir: &'a Path) -> IoFuture<'a, ()> {
        Box::pin(async move {
            let d = Directory::open(dir).await.map_err(err)?;
            d.sync().await.map_err(err)?;
            d.close().await.map_err(err)
        })
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn file_len(&self, path: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(path)?.len())
    }

    fn reuse<'a>(&'a self, from: &'a Path, to: &'a Path) -> IoFuture<'a, Box<dyn WriteFile>> {
        Box::pin(async move {
            let file = OpenOptions::new().write(true).dma_open(from).await.map_err(err)?;
            if let Err(e) = rename(from, to, false).await {
                let _ = file.close().await;
                return Err(e);
            }
            Ok(Box::new(UringWrite(file, to.to_owned())) as Box<dyn WriteFile>)
        })
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            // Names this engine did not write (not UTF-8) are not its business.
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn name(&self) -> &'static str {
        "io_uring"
    }
}

/// A file being written, and its path now (glommio's own record of the
/// path is not kept up to date: renames go through [`rename`]).
struct UringWrite(DmaFile, PathBuf);

/// Renames on a blocking thread (a rename may wait for the directory's
/// blocks); over an existing `to` only with `replace`.
async fn rename(from: &Path, to: &Path, replace: bool) -> io::Result<()> {
    let (from, to) = (from.to_owned(), to.to_owned());
    glommio::executor().spawn_blocking(move || rename_now(&from, &to, replace)).await
}

fn rename_now(from: &Path, to: &Path, replace: bool) -> io::Result<()> {
    if replace {
        return std::fs::rename(from, to);
    }
    let (c_from, c_to) = (CString::new(from.as_os_str().as_bytes())?, CString::new(to.as_os_str().as_bytes())?);
    // SAFETY: both paths are NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(libc::AT_FDCWD, c_from.as_ptr(), libc::AT_FDCWD, c_to.as_ptr(), libc::RENAME_NOREPLACE)
    };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    // EINVAL: a filesystem without RENAME_NOREPLACE; ENOSYS: a kernel (or a
    // seccomp profile) without renameat2. Neither says the disk is bad.
    if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
        return Err(e);
    }
    // A hard link fails just the same when `to` exists.
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // No hard links either: check, then rename (a race here is as
        // unlikely as the id collision it guards against).
        Err(_) if to.exists() => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
        Err(_) => std::fs::rename(from, to),
    }
}

impl WriteFile for UringWrite {
    fn alloc(&self, len: usize) -> WriteBuf {
        WriteBuf::Dma(self.0.alloc_dma_buffer(len))
    }

    fn write_at(&self, buf: WriteBuf, pos: u64) -> IoFuture<'_, usize> {
        Box::pin(async move {
            match buf {
                WriteBuf::Dma(b) => self.0.write_at(b, pos).await.map_err(err),
                WriteBuf::Heap(v) => {
                    let mut b = self.0.alloc_dma_buffer(v.len());
                    b.as_bytes_mut().copy_from_slice(&v);
                    self.0.write_at(b, pos).await.map_err(err)
                }
            }
        })
    }

    fn fdatasync(&self) -> IoFuture<'_, ()> {
        Box::pin(async move { self.0.fdatasync().await.map_err(err) })
    }

    fn set_len(&self, len: u64) -> IoFuture<'_, ()> {
        Box::pin(async move { self.0.truncate(len).await.map_err(err) })
    }

    fn rename<'a>(&'a mut self, to: &'a Path, replace: bool) -> IoFuture<'a, ()> {
        Box::pin(async move {
            rename(&self.1, to, replace).await?;
            self.1 = to.to_owned();
            Ok(())
        })
    }

    fn close(self: Box<Self>) -> IoFuture<'static, ()> {
        Box::pin(async move { self.0.close().await.map_err(err) })
    }
}

struct UringRead(DmaFile);

impl ReadFile for UringRead {
    fn read_at(&self, pos: u64, len: usize) -> IoFuture<'_, ReadBytes> {
        Box::pin(async move { self.0.read_at(pos, len).await.map(ReadBytes::Dma).map_err(err) })
    }
}
