//! The plugin's state on disk, through keyward-files' [`StateDir`]: the same files, lock and
//! recovery rule as the `keyward` CLI's (see [`keyward_files`]).
//!
//! Two kinds of save reach the host from the plugin:
//! - inside a change ([`License::activate`](crate::License::activate), `install`, `apply`,
//!   `deactivate`), the host already holds the directory's lock and re-read the state
//!   before the call: the plugin's blob is saved as it is;
//! - outside one (the periodic save of the clock's high-water mark during `status`), the
//!   plugin's view may be stale (another program may have installed a license since), so
//!   the host takes the lock, reads the state afresh and only raises its high-water mark:
//!   such a save can never remove or change a license.
//!
//! Every blob is checked with keyward-core's parser before it is written, so a misbehaving
//! plugin cannot replace a good file with garbage.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use keyward_core::LicenseState;
use keyward_files::{DirLock, StateDir, StateError};

pub use keyward_files::{NoticeKind, StateNotice, BACKUP_FILE, LOCK_FILE, STATE_FILE};

/// How long a clock-mark save waits for the lock before giving up (the plugin retries at a
/// later status): a status must not stall behind a long change.
const MARK_SAVE_WAIT: Duration = Duration::from_secs(2);

/// The state directory's files and what happened to them.
pub(crate) struct StateFiles {
    dir: StateDir,
    path: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    notices: Vec<StateNotice>,
    /// The directory's lock while a change runs (see [`StateFiles::begin_change`]).
    held: Option<DirLock>,
}

/// The lock held for one change; released (and forgotten by [`StateFiles`]) when dropped.
pub(crate) struct Change<'a> {
    files: &'a StateFiles,
}

impl Drop for Change<'_> {
    fn drop(&mut self) {
        self.files.inner().held = None;
    }
}

/// A [`StateError`] as the host's [`Error::Io`](crate::Error::Io), with its sentence.
pub(crate) fn io_error(e: StateError) -> crate::Error {
    let (path, kind) = match &e {
        StateError::NotADirectory { path } => (path.clone(), ErrorKind::NotADirectory),
        StateError::ReadOnly { path, .. } => (path.clone(), ErrorKind::PermissionDenied),
        StateError::Busy { path, .. } => (path.clone(), ErrorKind::WouldBlock),
        StateError::Unreadable { path, .. } => (path.clone(), ErrorKind::PermissionDenied),
        StateError::Io { path, source } => (path.clone(), source.kind()),
        _ => (PathBuf::new(), ErrorKind::InvalidData),
    };
    crate::Error::Io {
        path,
        source: std::io::Error::new(kind, e.to_string()),
    }
}

impl StateFiles {
    pub(crate) fn new(dir: &Path) -> Self {
        let dir = StateDir::new(dir);
        StateFiles {
            path: dir.state_path(),
            dir,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn notices(&self) -> Vec<StateNotice> {
        self.inner().notices.clone()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain data behind: still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn note(&self, notices: Vec<StateNotice>) {
        let mut inner = self.inner();
        for n in notices {
            // The same event read twice (outside and then inside a change) is said once: the
            // later reading (under the lock, after the repair) says more, and replaces it.
            match inner.notices.iter_mut().find(|m| m.kind == n.kind) {
                Some(m) => *m = n,
                None => inner.notices.push(n),
            }
        }
    }

    /// Takes the state directory's lock (the one the `keyward` CLI takes too), waiting up
    /// to 30 seconds for another process that holds it.
    pub(crate) fn lock_dir(&self) -> Result<DirLock, crate::Error> {
        self.dir.lock().map_err(io_error)
    }

    /// Makes `lock` the lock of the change now running: loads repair and saves write the
    /// plugin's blob, until the returned guard is dropped.
    pub(crate) fn hold(&self, lock: DirLock) -> Change<'_> {
        self.inner().held = Some(lock);
        Change { files: self }
    }

    /// The current state blob (see keyward-files' recovery rule). Inside a change it also
    /// repairs (restores the backup, sets damaged files aside); outside it only reads.
    pub(crate) fn load(&self) -> Option<Vec<u8>> {
        let loaded = {
            let inner = self.inner();
            match &inner.held {
                Some(lock) => self.dir.load(lock),
                None => {
                    drop(inner);
                    self.dir.read()
                }
            }
        };
        match loaded {
            Ok(l) => {
                self.note(l.notices);
                // Encoding a state just read cannot exceed its limits.
                l.existed.then(|| l.state.to_bytes().ok()).flatten()
            }
            Err(e) => {
                self.note(vec![StateNotice {
                    kind: NoticeKind::Unreadable,
                    message: format!(
                        "{e}; no license is available and nothing will be saved until it can be read"
                    ),
                }]);
                None
            }
        }
    }

    /// Saves a blob from the plugin: as it is inside a change; outside one, only its
    /// high-water mark, into the state read afresh under the lock.
    pub(crate) fn save(&self, bytes: &[u8]) -> Result<(), String> {
        let state = LicenseState::from_bytes(bytes)
            .map_err(|e| format!("the plugin produced an invalid state ({e}); not saved"))?;
        {
            let inner = self.inner();
            if let Some(lock) = &inner.held {
                return self.dir.save(lock, &state).map_err(|e| e.to_string());
            }
        }
        let lock = self
            .dir
            .lock_waiting(MARK_SAVE_WAIT, || {})
            .map_err(|e| e.to_string())?;
        let mut fresh = self.dir.load(&lock).map_err(|e| e.to_string())?;
        self.note(std::mem::take(&mut fresh.notices));
        if state.high_water <= fresh.state.high_water {
            return Ok(());
        }
        fresh.state.high_water = state.high_water;
        self.dir
            .save(&lock, &fresh.state)
            .map_err(|e| e.to_string())
    }
}
