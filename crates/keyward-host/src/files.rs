//! The plugin's state on disk: `state.bin` (the same file the `keyward` CLI keeps), its
//! previous copy `state.bin.bak`, written atomically; damage is reported, never fatal.
//!
//! The host checks every blob with keyward-core's parser (magic, version, checksum) both
//! when reading (so a damaged file falls back to the backup) and before writing (so a
//! misbehaving plugin cannot replace a good file with garbage). Parsing is cheap; the
//! signatures inside are the plugin's business.

use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use keyward_core::LicenseState;

/// The state file's name in the state directory.
pub const STATE_FILE: &str = "state.bin";
/// Its previous copy.
pub const BACKUP_FILE: &str = "state.bin.bak";
/// Where a damaged state file is moved (kept for support, never read again).
pub const DAMAGED_FILE: &str = "state.bin.damaged";
/// Locked while the state is being changed, by keyward-host and the `keyward` CLI alike.
pub use keyward_files::LOCK_FILE;

/// Larger than any valid state (64 licenses of at most 16 KiB each): a bigger file is damage
/// and is not read into memory.
const MAX_STATE_LEN: u64 = 2 * 1024 * 1024;

/// Something that happened to the state file, reported by
/// [`License::state_notices`](crate::License::state_notices).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateNotice {
    /// What happened.
    pub kind: NoticeKind,
    /// A sentence naming the files.
    pub message: String,
}

/// The kinds of [`StateNotice`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoticeKind {
    /// The state file was missing or damaged; the previous copy was used (the latest
    /// change may be lost: install it again).
    RecoveredFromBackup,
    /// The state file was damaged and no usable copy exists: licenses must be installed
    /// again. The damaged file was kept as `state.bin.damaged`.
    Lost,
    /// The state file exists but could not be read (permissions?). It is left untouched and
    /// changes are not saved until it can be read.
    Unreadable,
}

impl NoticeKind {
    /// Stable code: `state_recovered`, `state_lost`, `state_unreadable`.
    pub fn code(self) -> &'static str {
        match self {
            NoticeKind::RecoveredFromBackup => "state_recovered",
            NoticeKind::Lost => "state_lost",
            NoticeKind::Unreadable => "state_unreadable",
        }
    }
}

enum Problem {
    Damaged(String),
    Unreadable(std::io::Error),
}

/// The state directory's files and what happened to them.
pub(crate) struct StateFiles {
    path: PathBuf,
    backup: PathBuf,
    damaged: PathBuf,
    dir: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    notices: Vec<StateNotice>,
    /// Set when the file could not be read: writing would replace a file never seen.
    refuse_writes: bool,
}

impl StateFiles {
    pub(crate) fn new(dir: &Path) -> Self {
        StateFiles {
            path: dir.join(STATE_FILE),
            backup: dir.join(BACKUP_FILE),
            damaged: dir.join(DAMAGED_FILE),
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner::default()),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn notices(&self) -> Vec<StateNotice> {
        self.lock().notices.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain data behind: still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notice(&self, kind: NoticeKind, message: String) {
        self.lock().notices.push(StateNotice { kind, message });
    }

    /// The current state blob: the state file if valid, else the backup (restored as the
    /// state file, and reported), else nothing.
    pub(crate) fn load(&self) -> Option<Vec<u8>> {
        let problem = match read_valid(&self.path) {
            Ok(Some(bytes)) => return Some(bytes),
            Ok(None) => None,
            Err(Problem::Unreadable(e)) => {
                self.lock().refuse_writes = true;
                self.notice(
                    NoticeKind::Unreadable,
                    format!(
                        "the license state {} cannot be read ({e}); no license is available and nothing will be saved until it can be read",
                        self.path.display()
                    ),
                );
                return None;
            }
            Err(Problem::Damaged(why)) => Some(why),
        };
        if problem.is_some() {
            // Keep the damaged file for inspection, out of the way of the next save.
            let _ = fs::rename(&self.path, &self.damaged);
        }
        let backup = read_valid(&self.backup);
        let what = match &problem {
            Some(why) => format!("was damaged ({why}; kept as {})", self.damaged.display()),
            None => "is missing".to_string(),
        };
        match backup {
            Ok(Some(bytes)) => {
                let restored = self.write_main(&bytes).is_ok();
                self.notice(
                    NoticeKind::RecoveredFromBackup,
                    format!(
                        "the license state {} {what}; the previous copy {} was used{}: a license installed or an update applied just before may have to be installed again",
                        self.path.display(),
                        self.backup.display(),
                        if restored { " and restored" } else { "" }
                    ),
                );
                Some(bytes)
            }
            // Nothing ever saved: a fresh machine.
            Ok(None) if problem.is_none() => None,
            backup => {
                let backup_note = match backup {
                    Err(Problem::Damaged(b)) => format!("the previous copy is damaged too ({b})"),
                    Err(Problem::Unreadable(e)) => {
                        format!("the previous copy cannot be read ({e})")
                    }
                    Ok(_) => "there is no previous copy".to_string(),
                };
                self.notice(
                    NoticeKind::Lost,
                    format!(
                        "the license state {} {what} and {backup_note}: licenses must be installed again",
                        self.path.display(),
                    ),
                );
                None
            }
        }
    }

    /// Takes the state directory's lock (the one the `keyward` CLI takes too), waiting up
    /// to 30 seconds for another process that holds it.
    pub(crate) fn lock_dir(&self) -> Result<keyward_files::DirLock, crate::Error> {
        keyward_files::lock_dir(&self.dir).map_err(|e| match e {
            keyward_files::LockError::Io { path, source } => crate::Error::Io { path, source },
            busy @ keyward_files::LockError::Busy { .. } => crate::Error::Io {
                path: self.dir.join(LOCK_FILE),
                source: std::io::Error::new(ErrorKind::WouldBlock, busy.to_string()),
            },
        })
    }

    /// Saves a blob: checked, written to a temporary file, flushed, the current file kept as
    /// the backup, then renamed into place. Readers see the old state or the new one.
    pub(crate) fn save(&self, bytes: &[u8]) -> Result<(), String> {
        if self.lock().refuse_writes {
            return Err(format!(
                "{} could not be read earlier, so it is not overwritten",
                self.path.display()
            ));
        }
        LicenseState::from_bytes(bytes)
            .map_err(|e| format!("the plugin produced an invalid state ({e}); not saved"))?;
        // The current file becomes the backup only if it is valid: a damaged file must not
        // replace a good backup.
        match read_valid(&self.path) {
            Ok(Some(_)) => {
                let _ = fs::remove_file(&self.backup);
                if fs::hard_link(&self.path, &self.backup).is_err() {
                    fs::copy(&self.path, &self.backup)
                        .map_err(|e| format!("{}: {e}", self.backup.display()))?;
                }
            }
            Ok(None) => {}
            Err(Problem::Damaged(_)) => {
                let _ = fs::rename(&self.path, &self.damaged);
            }
            Err(Problem::Unreadable(e)) => {
                return Err(format!("{}: {e}", self.path.display()));
            }
        }
        self.write_main(bytes)
    }

    fn write_main(&self, bytes: &[u8]) -> Result<(), String> {
        keyward_files::write_atomic(&self.path, bytes, 0o600)
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

fn read_valid(path: &Path) -> Result<Option<Vec<u8>>, Problem> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Problem::Unreadable(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_STATE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(Problem::Unreadable)?;
    if bytes.len() as u64 > MAX_STATE_LEN {
        return Err(Problem::Damaged("far too large".into()));
    }
    match LicenseState::from_bytes(&bytes) {
        Ok(_) => Ok(Some(bytes)),
        Err(e) => Err(Problem::Damaged(match e {
            keyward_core::Error::CorruptState { reason } => reason.to_string(),
            other => other.to_string(),
        })),
    }
}
