//! Access traces: objects and timed reads and writes, and their CSV form.
//!
//! CSV, one access per line, optional header line starting `timestamp`:
//! `timestamp_ms,key,size_bytes,offset,length[,op[,content_type]]`, where
//! `op` is `GET` (default) or `PUT`. An object whose first line is a GET
//! existed before the trace and starts in the cold tier for every policy; a
//! PUT writes it (a later PUT of the same key is ignored: sizes are fixed).
//! An object that is neither read nor written is not in a CSV trace, so a
//! generated trace written out and replayed has a smaller footprint.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use stratum_tiering::{ContentClass, Hint};

use crate::Error;

/// Index of an object in [`Trace::objects`].
pub type ObjectId = u32;

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectInfo {
    pub name: String,
    pub size_bytes: u64,
    pub content: ContentClass,
    pub hint: Hint,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Get,
    Put,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub ts_ms: u64,
    pub obj: ObjectId,
    pub op: Op,
    pub offset: u64,
    pub length: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub name: String,
    pub objects: Vec<ObjectInfo>,
    /// Sorted by time.
    pub events: Vec<Event>,
}

impl Trace {
    /// Bytes of all objects: the footprint capacities are sized against.
    pub fn footprint_bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.size_bytes).sum()
    }

    pub fn reads(&self) -> usize {
        self.events.iter().filter(|e| e.op == Op::Get).count()
    }

    pub fn end_ms(&self) -> u64 {
        self.events.last().map_or(0, |e| e.ts_ms)
    }

    /// Reads a CSV trace (see the module doc).
    pub fn read_csv(name: &str, input: impl BufRead) -> Result<Trace, Error> {
        let mut trace = Trace { name: name.to_string(), ..Trace::default() };
        let mut ids: HashMap<String, ObjectId> = HashMap::new();
        for (n, line) in input.lines().enumerate() {
            let line = line.map_err(|e| Error::Io { path: name.to_string(), source: e })?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("timestamp") {
                continue;
            }
            let bad = |why: &str| Error::Trace { line: n + 1, why: why.to_string() };
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() < 5 {
                return Err(bad("want timestamp,key,size,offset,length[,op[,content_type]]"));
            }
            let num = |i: usize, what: &str| f[i].parse::<u64>().map_err(|_| bad(what));
            let (ts_ms, size_bytes) = (num(0, "bad timestamp")?, num(2, "bad size")?);
            let (offset, length) = (num(3, "bad offset")?, num(4, "bad length")?);
            let op = match f.get(5).map(|s| s.to_ascii_uppercase()).as_deref() {
                None | Some("") | Some("GET") => Op::Get,
                Some("PUT") => Op::Put,
                Some(_) => return Err(bad("op must be GET or PUT")),
            };
            let key = f[1];
            let next_id = trace.objects.len() as ObjectId;
            let obj = *ids.entry(key.to_string()).or_insert(next_id);
            if obj == next_id {
                let content = ContentClass::classify(f.get(6).copied().unwrap_or(""), key);
                let name = key.to_string();
                trace.objects.push(ObjectInfo { name, size_bytes, content, hint: Hint::Auto });
            }
            trace.events.push(Event { ts_ms, obj, op, offset, length });
        }
        trace.events.sort_by_key(|e| e.ts_ms);
        Ok(trace)
    }

    /// Writes the trace as CSV, so generated traces can be kept and replayed.
    pub fn write_csv(&self, mut out: impl Write) -> std::io::Result<()> {
        writeln!(out, "timestamp_ms,key,size_bytes,offset,length,op,content_type")?;
        for e in &self.events {
            let Some(o) = self.objects.get(e.obj as usize) else {
                continue;
            };
            let op = if e.op == Op::Put { "PUT" } else { "GET" };
            let ct = content_type_of(o.content);
            let (ts, key, size) = (e.ts_ms, &o.name, o.size_bytes);
            writeln!(out, "{ts},{key},{size},{},{},{op},{ct}", e.offset, e.length)?;
        }
        Ok(())
    }
}

/// A content type that classifies back to `class`.
fn content_type_of(class: ContentClass) -> &'static str {
    match class {
        ContentClass::Video => "video/mp4",
        ContentClass::Image => "image/jpeg",
        ContentClass::Backup => "application/x-tar",
        ContentClass::Log | ContentClass::Other => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_and_round_trips() {
        let csv = "timestamp,key,size,offset,length\n\
                   20,a.mp4,1000,0,100\n\
                   10,b,50,0,50,PUT,application/x-tar\n\
                   30,a.mp4,1000,100,100,get\n";
        let t = Trace::read_csv("t", csv.as_bytes()).unwrap();
        assert_eq!(t.objects.len(), 2);
        assert_eq!(t.objects[0].content, ContentClass::Video);
        assert_eq!(t.objects[1].content, ContentClass::Backup);
        let ts: Vec<u64> = t.events.iter().map(|e| e.ts_ms).collect();
        assert_eq!(ts, vec![10, 20, 30]);
        assert_eq!(t.events[0].op, Op::Put);
        let mut out = Vec::new();
        t.write_csv(&mut out).unwrap();
        let again = Trace::read_csv("t", out.as_slice()).unwrap();
        let named = |t: &Trace| -> Vec<(u64, String, Op, u64, u64)> {
            let name = |e: &Event| t.objects[e.obj as usize].name.clone();
            t.events.iter().map(|e| (e.ts_ms, name(e), e.op, e.offset, e.length)).collect()
        };
        assert_eq!(named(&again), named(&t));
    }

    #[test]
    fn bad_lines_name_their_number() {
        let err = Trace::read_csv("t", "1,a,x,0,1\n".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(Trace::read_csv("t", "1,a,1,0\n".as_bytes()).is_err());
        assert!(Trace::read_csv("t", "1,a,1,0,1,POST\n".as_bytes()).is_err());
    }
}
