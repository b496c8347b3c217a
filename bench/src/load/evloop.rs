//! Many keep-alive connections driven by one thread through epoll (mio).
//!
//! Why not a thread per connection: on this 2-CPU machine a blocking client
//! paid ~20–30 µs of CPU per small request, half of it in context switches
//! (each response woke a sleeping thread). One thread that sleeps only when
//! no connection has work turns a burst of responses into one wake-up.
//!
//! The loop knows nothing of S3: [`Ops`] hands it the next request of each
//! connection and takes each response.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::client::Body;
use super::limits::READ_BUF_BYTES;
use super::parse::{Response, ResponseParser};

/// One request: the head (a small body may ride in it) and the body.
pub struct Request<'a> {
    pub head: Vec<u8>,
    pub body: Body<'a>,
    pub is_head: bool,
}

/// What the loop asks of its owner.
pub trait Ops<'a> {
    /// The next request of connection `slot`, or `None`: that connection is
    /// done.
    fn next(&mut self, slot: usize) -> Option<Request<'a>>;
    /// The answer to connection `slot`'s request, or a transport failure
    /// keyed for the error table (`connect: …`, `io: …`).
    fn finished(&mut self, slot: usize, result: Result<Response, String>);
    /// Whether to give up on requests still in flight (the run is over and
    /// the server has not answered).
    fn abandon(&self) -> bool;
}

struct Slot<'a> {
    stream: Option<TcpStream>,
    connected: bool,
    req: Option<Request<'a>>,
    written: u64,
    parser: ResponseParser,
    sent: Option<Instant>,
    ttfb: Option<Duration>,
    done: bool,
}

/// Progress of one step of a slot.
enum Step {
    /// Try again at once.
    Again,
    /// Wait for the socket.
    Wait,
}

/// Drives `connections` connections to `addr` until `ops` has no more
/// requests for any of them.
pub fn drive<'a>(addr: SocketAddr, connections: usize, ops: &mut impl Ops<'a>) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; READ_BUF_BYTES];
    let mut slots: Vec<Slot<'a>> = (0..connections).map(|_| Slot::new()).collect();
    for (i, slot) in slots.iter_mut().enumerate() {
        advance(slot, i, &poll, addr, &mut buf, ops);
    }
    while slots.iter().any(|s| !s.done) {
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        for event in events.iter() {
            let i = event.token().0;
            if let Some(slot) = slots.get_mut(i).filter(|s| !s.done) {
                advance(slot, i, &poll, addr, &mut buf, ops);
            }
        }
        if ops.abandon() {
            for (i, slot) in slots.iter_mut().enumerate().filter(|(_, s)| !s.done && s.req.is_some()) {
                slot.req = None;
                slot.done = true;
                ops.finished(i, Err("timeout: no answer by the end of the run".into()));
            }
        }
    }
    Ok(())
}

/// Moves slot `i` as far as its socket allows.
fn advance<'a>(slot: &mut Slot<'a>, i: usize, poll: &Poll, addr: SocketAddr, buf: &mut [u8], ops: &mut impl Ops<'a>) {
    loop {
        if !slot.done && slot.stream.is_none() {
            slot.reconnect(poll, addr, i, ops);
        }
        if slot.done {
            return;
        }
        let step = match slot.step(buf, ops, i) {
            Ok(step) => step,
            Err(failure) => {
                slot.req = None;
                slot.stream = None;
                ops.finished(i, Err(failure));
                Step::Again
            }
        };
        if let Step::Wait = step {
            return;
        }
    }
}

impl<'a> Slot<'a> {
    fn new() -> Slot<'a> {
        Slot {
            stream: None,
            connected: false,
            req: None,
            written: 0,
            parser: ResponseParser::new(),
            sent: None,
            ttfb: None,
            done: false,
        }
    }

    /// Opens a new connection (the old one, if any, is closed).
    fn reconnect<'o>(&mut self, poll: &Poll, addr: SocketAddr, i: usize, ops: &mut impl Ops<'o>) {
        self.stream = None;
        self.connected = false;
        let opened = TcpStream::connect(addr).and_then(|mut s| {
            poll.registry().register(&mut s, Token(i), Interest::READABLE | Interest::WRITABLE)?;
            Ok(s)
        });
        match opened {
            Ok(s) => self.stream = Some(s),
            Err(e) => {
                // Without a socket there is nothing to wait for: stop this
                // connection rather than spin.
                ops.finished(i, Err(format!("connect: {:?}", e.kind())));
                self.done = true;
            }
        }
    }

    /// One step: take a request, finish connecting, write, or read.
    fn step(&mut self, buf: &mut [u8], ops: &mut impl Ops<'a>, i: usize) -> Result<Step, String> {
        if self.req.is_none() {
            match ops.next(i) {
                None => {
                    self.done = true;
                    return Ok(Step::Wait);
                }
                Some(req) => {
                    self.parser.reset(req.is_head);
                    self.written = 0;
                    self.sent = None;
                    self.ttfb = None;
                    self.req = Some(req);
                }
            }
        }
        let Some(stream) = self.stream.as_mut() else { return Err("connect: no socket".into()) };
        if !self.connected {
            if let Some(e) = stream.take_error().map_err(|e| format!("connect: {:?}", e.kind()))? {
                return Err(format!("connect: {:?}", e.kind()));
            }
            match stream.peer_addr() {
                Ok(_) => {
                    // Without it a small request after a kept-alive response
                    // waits for the delayed ACK (~40 ms).
                    stream.set_nodelay(true).map_err(|e| format!("connect: {:?}", e.kind()))?;
                    self.connected = true;
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(Step::Wait),
                Err(e) => return Err(format!("connect: {:?}", e.kind())),
            }
        }
        let Some(req) = self.req.as_ref() else { return Ok(Step::Again) };
        let total = req.head.len() as u64 + req.body.len;
        if self.written < total {
            let step = write_some(stream, req, &mut self.written).map_err(|e| format!("io: {:?}", e.kind()))?;
            if self.written < total {
                return Ok(step);
            }
            // The answer cannot be here yet: reading now would cost a
            // syscall that says so. Epoll says when it arrives (any arrival
            // queues an edge, so none is missed).
            self.sent = Some(Instant::now());
            return Ok(Step::Wait);
        }
        let sent = *self.sent.get_or_insert_with(Instant::now);
        self.read_some(buf, sent, ops, i)
    }

    fn read_some(&mut self, buf: &mut [u8], sent: Instant, ops: &mut impl Ops<'a>, i: usize) -> Result<Step, String> {
        let Some(stream) = self.stream.as_mut() else { return Err("io: no socket".into()) };
        let n = match stream.read(buf) {
            Ok(0) => return Err("io: UnexpectedEof".into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Step::Wait),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Step::Again),
            Err(e) => return Err(format!("io: {:?}", e.kind())),
        };
        self.ttfb.get_or_insert_with(|| sent.elapsed());
        let used = self.parser.feed(&buf[..n]).map_err(|e| format!("io: {:?}", e.kind()))?;
        if !self.parser.is_done() {
            return Ok(Step::Again);
        }
        if used < n {
            return Err("io: bytes after the response".into());
        }
        let response = self.parser.response(self.ttfb.unwrap_or_default());
        let closes = response.server_closes;
        self.req = None;
        ops.finished(i, Ok(response));
        if closes {
            // `advance` opens a new connection before the next request.
            self.stream = None;
        }
        Ok(Step::Again)
    }
}

/// Writes what the socket takes of the head, then of the body.
fn write_some(stream: &mut TcpStream, req: &Request<'_>, written: &mut u64) -> io::Result<Step> {
    let head_len = req.head.len() as u64;
    let chunk: &[u8] = if *written < head_len {
        &req.head[*written as usize..]
    } else {
        let body = req.body;
        let offset = *written - head_len;
        let at = ((body.start as u64 + offset) % body.pattern.len().max(1) as u64) as usize;
        let left = body.len - offset;
        let end = body.pattern.len().min(at + usize::try_from(left).unwrap_or(usize::MAX));
        &body.pattern[at..end]
    };
    match stream.write(chunk) {
        Ok(0) => Err(io::Error::new(io::ErrorKind::WriteZero, "wrote nothing")),
        Ok(n) => {
            *written += n as u64;
            Ok(Step::Again)
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Step::Wait),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Step::Again),
        Err(e) => Err(e),
    }
}
