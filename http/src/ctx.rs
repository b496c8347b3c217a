//! What every handler on a core can reach.

use std::rc::Rc;

use stratum_engine::Store;

use crate::sigv4::Credentials;

/// Settings of the HTTP layer, shared by all cores.
pub struct HttpConfig {
    pub credentials: Vec<Credentials>,
    pub region: String,
    /// Unsigned requests are served (`--anonymous`); signed ones are still verified.
    pub anonymous: bool,
    /// Domains for virtual-hosted-style addressing (`bucket.<domain>`).
    pub domains: Vec<String>,
    /// Idle keep-alive connections, and stalled bodies or readers, are closed after this.
    pub idle_timeout: std::time::Duration,
}

pub struct Ctx {
    pub store: Rc<Store>,
    pub config: std::sync::Arc<HttpConfig>,
    /// Requests being handled on this core (graceful shutdown waits for 0).
    pub in_flight: std::cell::Cell<usize>,
    /// Set on SIGTERM/SIGINT: answer what is in flight, then close.
    pub shutting_down: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Ctx {
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(std::sync::atomic::Ordering::Relaxed)
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The owner shown in listings: the node has one account.
pub fn owner() -> crate::xml::Owner {
    crate::xml::Owner { id: "stratum".into(), display_name: "stratum".into() }
}
