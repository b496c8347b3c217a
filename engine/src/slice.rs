//! A core's slice of a data directory: `<data>/core-<c>/{tmp,vol}`.
//!
//! Volumes are written under `tmp/` and renamed into `vol/<xx>/` once
//! durable, so whatever is found in `tmp/` at start-up is an interrupted
//! write and is removed.

use std::path::{Path, PathBuf};

use stratum_meta::VolumeRef;

#[derive(Debug, Clone)]
pub struct Slice {
    root: PathBuf,
    core: u16,
}

impl Slice {
    pub fn new(data_dir: &Path, core: usize) -> Self {
        Self { root: data_dir.join(format!("core-{core}")), core: core as u16 }
    }

    pub fn at(data_dir: &Path, vref: &VolumeRef) -> Self {
        Self::new(data_dir, usize::from(vref.slice))
    }

    pub fn core(&self) -> u16 {
        self.core
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn tmp_path(&self, id: u64) -> PathBuf {
        self.tmp_dir().join(format!("{id:016x}"))
    }

    /// Volumes fan out over 256 directories so none grows huge.
    pub fn volume_dir(&self, id: u64) -> PathBuf {
        self.root.join("vol").join(format!("{:02x}", id & 0xff))
    }

    pub fn volume_path(&self, id: u64) -> PathBuf {
        self.volume_dir(id).join(format!("{id:016x}"))
    }

    /// Creates the slice's directories and removes interrupted writes.
    /// Returns how many temp files were removed.
    pub fn prepare(&self) -> std::io::Result<usize> {
        std::fs::create_dir_all(self.tmp_dir())?;
        for fan in 0..=0xffu64 {
            std::fs::create_dir_all(self.volume_dir(fan))?;
        }
        let mut removed = 0;
        for entry in std::fs::read_dir(self.tmp_dir())? {
            let entry = entry?;
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
        Ok(removed)
    }
}
