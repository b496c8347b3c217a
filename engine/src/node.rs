//! What all cores of a node share: the data directory, the metadata
//! partitions, and the bucket table (small, read on every request).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use stratum_meta::{partition_of_bucket, partition_of_object, BucketRecord, Partition};

use crate::error::{EngineError, Result};
use crate::slice::Slice;

const FORMAT_FILE: &str = "stratum.format";
const FORMAT_LINE: &str = "stratum data v1";

pub struct Node {
    data_dir: PathBuf,
    cores: usize,
    partitions: Vec<Arc<Partition>>,
    buckets: RwLock<BTreeMap<String, BucketRecord>>,
    /// Temp files of interrupted writes removed at start-up.
    pub temp_files_removed: usize,
}

impl Node {
    /// Opens (or creates) a data directory for `cores` cores. The number of
    /// metadata partitions is fixed when the directory is created; with a
    /// different core count later, partition `p` is served by core `p % cores`.
    pub fn open(data_dir: &Path, cores: usize) -> Result<Arc<Node>> {
        std::fs::create_dir_all(data_dir)?;
        let partition_count = read_or_create_format(data_dir, cores)?;
        let mut partitions = Vec::with_capacity(partition_count);
        let mut buckets = BTreeMap::new();
        for p in 0..partition_count {
            let partition = Partition::open(&data_dir.join("meta").join(format!("p{p}")))?;
            for bucket in partition.buckets()? {
                buckets.insert(bucket.name.clone(), bucket);
            }
            partitions.push(Arc::new(partition));
        }
        let mut temp_files_removed = 0;
        for core in 0..cores.max(existing_slices(data_dir)?) {
            temp_files_removed += Slice::new(data_dir, core).prepare()?;
        }
        Ok(Arc::new(Node {
            data_dir: data_dir.to_owned(),
            cores,
            partitions,
            buckets: RwLock::new(buckets),
            temp_files_removed,
        }))
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn cores(&self) -> usize {
        self.cores
    }

    pub fn partition(&self, p: usize) -> Option<&Arc<Partition>> {
        self.partitions.get(p)
    }

    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    pub fn core_of_partition(&self, p: usize) -> usize {
        p % self.cores
    }

    pub fn object_partition(&self, bucket: &str, key: &str) -> usize {
        partition_of_object(bucket, key, self.partitions.len())
    }

    pub fn bucket_partition(&self, bucket: &str) -> usize {
        partition_of_bucket(bucket, self.partitions.len())
    }

    pub fn bucket(&self, name: &str) -> Option<BucketRecord> {
        self.buckets.read().ok()?.get(name).cloned()
    }

    pub fn buckets(&self) -> Vec<BucketRecord> {
        self.buckets.read().map(|b| b.values().cloned().collect()).unwrap_or_default()
    }

    pub(crate) fn remember_bucket(&self, record: BucketRecord) {
        if let Ok(mut b) = self.buckets.write() {
            b.insert(record.name.clone(), record);
        }
    }

    pub(crate) fn forget_bucket(&self, name: &str) {
        if let Ok(mut b) = self.buckets.write() {
            b.remove(name);
        }
    }
}

fn read_or_create_format(data_dir: &Path, cores: usize) -> Result<usize> {
    let path = data_dir.join(FORMAT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_format(&text).ok_or_else(|| {
            EngineError::Io(std::io::Error::other(format!("{} is not a Stratum format file", path.display())))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = format!("{FORMAT_LINE}\npartitions={cores}\n");
            let tmp = data_dir.join(format!("{FORMAT_FILE}.tmp"));
            std::fs::write(&tmp, text)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(data_dir)?.sync_all()?;
            Ok(cores)
        }
        Err(e) => Err(e.into()),
    }
}

fn parse_format(text: &str) -> Option<usize> {
    let mut lines = text.lines();
    if lines.next()? != FORMAT_LINE {
        return None;
    }
    lines.find_map(|l| l.strip_prefix("partitions=")).and_then(|n| n.trim().parse().ok()).filter(|n| *n > 0)
}

fn existing_slices(data_dir: &Path) -> Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(data_dir)? {
        let name = entry?.file_name();
        if let Some(n) = name.to_str().and_then(|n| n.strip_prefix("core-")).and_then(|n| n.parse::<usize>().ok()) {
            count = count.max(n + 1);
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_file_parses_and_rejects() {
        assert_eq!(parse_format("stratum data v1\npartitions=4\n"), Some(4));
        assert_eq!(parse_format("stratum data v1\npartitions=0\n"), None);
        assert_eq!(parse_format("something else\npartitions=4\n"), None);
    }
}
