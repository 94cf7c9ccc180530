//! The instance's one [`Plugin`], lent out for the length of one call, so that a call that
//! never returns cannot lock out the calls after it.
//!
//! A component's exports are free functions over one value per instance, kept in a static.
//! Holding a lock on it for a whole call is not safe against the host: when a host import
//! throws (jco, when `saveState` throws on a full disk) or traps and the host keeps the
//! instance, the call is abandoned mid-way, nothing is dropped, and a lock held across it
//! stays held; the next call would spin forever. So the lock here is held only to take the
//! plugin out and to put it back, never across a host call, and a call that finds the
//! previous one still open (abandoned, or re-entered from inside a host import, which the
//! component model forbids and which looks the same from inside) is served at once by a
//! fresh plugin: the same trusted keys and policy, the state read again from the host.
//! Whatever the abandoned call held in memory is lost, which is safe: the plugin changes
//! its state only after the host has saved it.

use keyward_core::{eval::Policy, TrustedKeys};
use spin::Mutex;

use crate::plugin::Plugin;

/// Where the instance's plugin lives between calls.
pub struct Slot {
    inner: Mutex<Inner>,
}

struct Inner {
    /// The plugin, between calls.
    plugin: Option<Plugin>,
    /// What `init` fixed, to start a fresh plugin after an abandoned call.
    config: Option<(TrustedKeys, Policy)>,
    /// A call has taken the plugin and not yet put it back.
    open: bool,
    /// Counts the fresh starts; a call that sees it changed drops what it has cached.
    epoch: u64,
}

impl Slot {
    /// An empty slot: the first call starts an uninitialised plugin.
    pub const fn new() -> Self {
        Slot {
            inner: Mutex::new(Inner {
                plugin: None,
                config: None,
                open: false,
                epoch: 0,
            }),
        }
    }

    /// Runs `call` on the plugin. Never waits: a previous call that did not return does not
    /// hold anything this one needs.
    pub fn with<R>(&self, call: impl FnOnce(&mut Plugin) -> R) -> R {
        let (mut plugin, epoch) = self.take();
        let r = call(&mut plugin);
        self.put_back(plugin, epoch);
        r
    }

    /// Whether the last call ended normally (for tests and diagnostics).
    pub fn is_idle(&self) -> bool {
        !self.inner.lock().open
    }

    pub(crate) fn take(&self) -> (Plugin, u64) {
        let mut inner = self.inner.lock();
        if inner.open {
            // The previous call never came back: start over, reading the state afresh.
            inner.epoch = inner.epoch.wrapping_add(1);
            inner.plugin = None;
        }
        inner.open = true;
        let plugin = match inner.plugin.take() {
            Some(p) => p,
            None => match &inner.config {
                Some((keys, policy)) => Plugin::with_keys(keys.clone(), *policy),
                None => Plugin::new(),
            },
        };
        (plugin, inner.epoch)
    }

    pub(crate) fn put_back(&self, mut plugin: Plugin, epoch: u64) {
        let mut inner = self.inner.lock();
        inner.open = false;
        if inner.epoch != epoch {
            // Another call ran meanwhile (this one was re-entered): what this plugin read
            // may be out of date.
            plugin.reload();
        }
        if inner.config.is_none() {
            inner.config = plugin.config();
        }
        inner.plugin = Some(plugin);
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot::new()
    }
}
