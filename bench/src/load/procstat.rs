//! CPU and I/O counters from /proc: how much CPU the generator itself
//! spends per operation (so it can be shown not to be the bottleneck), and,
//! given the server's pid, the server's CPU and disk traffic during a run.

use std::path::Path;

/// `/proc/<pid>/stat` counts CPU in USER_HZ ticks, which Linux fixes at 100
/// per second for user space whatever the kernel's HZ.
const USER_HZ: f64 = 100.0;

/// Nanoseconds the calling thread has run on a CPU (schedstat), if the
/// kernel keeps them.
pub fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// A process's CPU time and I/O counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcSample {
    pub cpu_s: f64,
    /// Bytes the process caused to be read from storage (page-cache hits
    /// excluded).
    pub disk_read_bytes: u64,
    pub disk_write_bytes: u64,
    /// Bytes returned by read-like syscalls, page-cache hits and sockets
    /// included.
    pub read_syscall_bytes: u64,
}

impl ProcSample {
    /// `None` when the process is gone or /proc is unreadable.
    pub fn of(pid: u32) -> Option<ProcSample> {
        let dir = Path::new("/proc").join(pid.to_string());
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        let io = std::fs::read_to_string(dir.join("io")).ok()?;
        let mut sample = parse_io(&io)?;
        sample.cpu_s = parse_stat_cpu_s(&stat)?;
        Some(sample)
    }

    pub fn since(&self, before: &ProcSample) -> ProcSample {
        ProcSample {
            cpu_s: self.cpu_s - before.cpu_s,
            disk_read_bytes: self.disk_read_bytes.saturating_sub(before.disk_read_bytes),
            disk_write_bytes: self.disk_write_bytes.saturating_sub(before.disk_write_bytes),
            read_syscall_bytes: self.read_syscall_bytes.saturating_sub(before.read_syscall_bytes),
        }
    }
}

/// utime + stime, fields 14 and 15, counted after the `(comm)` field, which
/// may itself contain spaces.
fn parse_stat_cpu_s(stat: &str) -> Option<f64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // after_comm starts at field 3 (state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

fn parse_io(io: &str) -> Option<ProcSample> {
    let field = |name: &str| -> Option<u64> {
        io.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
    };
    Some(ProcSample {
        cpu_s: 0.0,
        disk_read_bytes: field("read_bytes")?,
        disk_write_bytes: field("write_bytes")?,
        read_syscall_bytes: field("rchar")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_stat_cpu_s(stat), Some(3.0));
        let io =
            "rchar: 10\nwchar: 20\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
        let s = parse_io(io).unwrap();
        assert_eq!((s.disk_read_bytes, s.disk_write_bytes, s.read_syscall_bytes), (4096, 8192, 10));
    }

    #[test]
    fn reads_itself() {
        let me = ProcSample::of(std::process::id());
        assert!(me.is_some());
    }
}
