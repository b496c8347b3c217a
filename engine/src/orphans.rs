//! Orphan shards: a crash between sealing a volume and committing its record,
//! or during a freed volume's grace period, leaves shard files no record
//! references. Start-up removes them, before any request can hold one.

use std::collections::HashSet;
use std::path::Path;

use crate::disk::Disk;
use crate::error::Result;

/// Removes every shard file under the healthy disks' `vol/` directories whose
/// volume id no record references. Returns how many files went.
pub fn sweep(disks: &[&Disk], referenced: &HashSet<u64>) -> Result<usize> {
    let mut removed = 0;
    for disk in disks.iter().filter(|d| !d.is_faulty()) {
        for core in disk.slices()? {
            for fan in 0..=0xffu64 {
                removed += sweep_dir(disk, &disk.volume_dir(core, fan), referenced)?;
            }
        }
    }
    Ok(removed)
}

fn sweep_dir(disk: &Disk, dir: &Path, referenced: &HashSet<u64>) -> Result<usize> {
    let names = match disk.io.list(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut removed = 0;
    for name in names {
        // Only names this engine writes (`<id:016x>.<shard>`) are ever touched.
        let Some(id) = volume_id(&name) else { continue };
        if !referenced.contains(&id) {
            disk.io.remove(&dir.join(name))?;
            removed += 1;
        }
    }
    Ok(removed)
}

pub(crate) fn volume_id(name: &str) -> Option<u64> {
    let (id, shard) = name.split_once('.')?;
    (id.len() == 16 && shard.parse::<u8>().is_ok()).then_some(())?;
    u64::from_str_radix(id, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_engine_names_are_recognised() {
        assert_eq!(volume_id("00000000000001ab.3"), Some(0x1ab));
        assert_eq!(volume_id("00000000000001ab.x"), None);
        assert_eq!(volume_id("1ab.3"), None);
        assert_eq!(volume_id("notes.txt"), None);
        assert_eq!(volume_id("00000000000001ab.3.repair"), None);
    }
}
