//! The Node.js host's lock on a state directory: the same OS lock on `state.lock` that the
//! `keyward` CLI and keyward-host take (keyward-files' [`StateDir::lock_waiting`]: `flock`
//! on Unix, `LockFileEx` on Windows), so a Node program, the CLI and a Rust program sharing
//! a state directory never change it at the same time.
//!
//! Node.js itself has no OS file lock, hence this addon. It holds each lock in a table
//! under a number handed to JavaScript; `unlock` (or the process's end) releases it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use keyward_files::{DirLock, StateDir};
use napi::{Error, Result};
use napi_derive::napi;

/// The locks held, by handle.
struct Held {
    next: u32,
    locks: HashMap<u32, DirLock>,
}

static HELD: Mutex<Option<Held>> = Mutex::new(None);

fn held() -> MutexGuard<'static, Option<Held>> {
    // A panic while holding this leaves a plain table behind: still usable.
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes the lock of the state directory `dir` (creating the directory, mode 0700 on Unix,
/// and `state.lock`, mode 0600), waiting up to `wait_ms` milliseconds for a program that
/// holds it. Returns a handle for [`unlock`]. Throws an error whose `code` is the CLI's code
/// for the failure (`state_busy` when the wait ran out, `state_read_only`, ...) and whose
/// message says what is wrong and what to do.
#[napi]
pub fn lock(dir: String, wait_ms: u32) -> Result<u32, String> {
    let lock = StateDir::new(&dir)
        .lock_waiting(Duration::from_millis(u64::from(wait_ms)), || {})
        .map_err(|e| Error::new(e.code().to_string(), e.to_string()))?;
    let mut guard = held();
    let table = guard.get_or_insert_with(|| Held {
        next: 1,
        locks: HashMap::new(),
    });
    let handle = table.next;
    table.next = table.next.checked_add(1).unwrap_or(1);
    table.locks.insert(handle, lock);
    Ok(handle)
}

/// Releases the lock behind `handle`. Returns whether it was held (a second unlock of the
/// same handle does nothing and returns false).
#[napi]
pub fn unlock(handle: u32) -> bool {
    held()
        .as_mut()
        .and_then(|t| t.locks.remove(&handle))
        .is_some()
}
