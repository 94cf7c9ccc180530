//! The buyer's state directory: one protocol for the `keyward` CLI and keyward-host, which
//! share it.
//!
//! Files (names only here):
//! - `state.bin` ([`STATE_FILE`]): keyward-core's [`LicenseState`] blob;
//! - `state.bin.bak` ([`BACKUP_FILE`]): the state before the last change;
//! - `state.lock` ([`LOCK_FILE`]): locked (an OS lock) by whoever changes the state;
//! - `*.damaged` ([`DAMAGED_SUFFIX`]): a damaged copy set aside, never read again.
//!
//! **Changing the state.** Only under the lock, on the state read afresh under that lock:
//! [`StateDir::lock`] then [`StateDir::load`], change, [`StateDir::save`] (which takes the
//! lock as an argument, so no write can happen without it), or [`StateDir::update`], which
//! does all of it. The current `state.bin`, if valid, becomes `state.bin.bak` first.
//!
//! **Reading the state** ([`StateDir::load`] under the lock, [`StateDir::read`] without it,
//! which repairs nothing), the one recovery rule:
//! 1. `state.bin` valid: it is the state.
//! 2. `state.bin` missing or damaged, `state.bin.bak` valid: the backup is the state
//!    ([`NoticeKind::RecoveredFromBackup`]). Under the lock it is also restored as
//!    `state.bin`, and a damaged `state.bin` is kept as `state.bin.damaged`. A missing main
//!    file never means "nothing installed" while a backup exists: deleting `state.bin` does
//!    not undo a freeze.
//! 3. Neither exists: nothing was ever saved (an empty state).
//! 4. Otherwise (damaged with no usable backup): an empty state, [`NoticeKind::Lost`];
//!    under the lock the damaged files are set aside as `*.damaged`.
//!
//! A file that exists but cannot be read (permissions) is an error, never "empty": a state
//! never seen is never overwritten. Reads are bounded ([`MAX_STATE_LEN`]).

use std::fs::{self, File};
use std::io::{self, ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keyward_core::LicenseState;

use crate::{create_private_dir, set_mode, write_atomic};

/// The state file's name in the state directory.
pub const STATE_FILE: &str = "state.bin";
/// Its previous copy.
pub const BACKUP_FILE: &str = "state.bin.bak";
/// Appended to a damaged file's name when it is set aside.
pub const DAMAGED_SUFFIX: &str = ".damaged";
/// The lock file, in the state directory. It stays empty and is never removed.
pub const LOCK_FILE: &str = "state.lock";
/// How long [`StateDir::lock`] waits for another program that holds the lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);
/// After this long waiting for the lock, the caller is told (so it can say it waits).
const WAIT_NOTICE_AFTER: Duration = Duration::from_millis(200);
/// Larger than any valid state (64 licenses of at most 16 KiB each): a bigger file is damage
/// and is not read into memory.
pub const MAX_STATE_LEN: u64 = 2 * 1024 * 1024;
/// Mode of the state files (unix).
const MODE_PRIVATE: u32 = 0o600;

/// A state directory (nothing is created until it is locked or saved).
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

/// An exclusive hold on a state directory, released when dropped (or when the process
/// ends, however it ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    dir: PathBuf,
}

/// The state as read, and what happened to its files on the way.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The state (empty when nothing usable was stored).
    pub state: LicenseState,
    /// A state file (or its backup) was read: something had been saved.
    pub existed: bool,
    /// What was recovered or lost (empty when all is well).
    pub notices: Vec<StateNotice>,
}

/// Something that happened to the state files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateNotice {
    /// What happened.
    pub kind: NoticeKind,
    /// A sentence naming the files and saying what to do.
    pub message: String,
}

/// The kinds of [`StateNotice`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoticeKind {
    /// The state file was missing or damaged; the previous copy was used.
    RecoveredFromBackup,
    /// The state file was damaged and no usable copy exists: licenses must be installed
    /// again. The damaged files were set aside as `*.damaged`.
    Lost,
    /// The state file exists but cannot be read (permissions?): used by hosts that report
    /// a [`StateError::Unreadable`] as a notice rather than fail.
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

/// Why the state directory could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum StateError {
    /// The path exists and is not a directory.
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The directory cannot be written (read-only file system, or no permission). Reading
    /// the state may still work ([`StateDir::read`]).
    ReadOnly {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// Another program held the lock for all of the wait ([`LOCK_WAIT`] unless the caller
    /// gave another).
    Busy {
        /// The lock file.
        path: PathBuf,
        /// How long this program waited.
        waited: Duration,
    },
    /// A state file exists but cannot be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The state cannot be encoded (more licenses than a state holds).
    Invalid {
        /// keyward-core's reason.
        source: keyward_core::Error,
    },
    /// Another input/output error.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::NotADirectory { path } => write!(
                f,
                "the license state directory {} is a file, not a directory: give a directory (or a path that does not exist yet) as the state directory",
                path.display()
            ),
            StateError::ReadOnly { path, source } => write!(
                f,
                "the license state in {} cannot be written ({source}): the directory is read-only for this user; run as the user who installed the license, or give a writable state directory",
                path.display()
            ),
            StateError::Busy { path, waited } => write!(
                f,
                "another program has been changing the license state for over {} (it holds {}): wait for it to finish, or stop it, and try again",
                Wait(*waited),
                path.display()
            ),
            StateError::Unreadable { path, source } => write!(
                f,
                "the license state {} cannot be read ({source}); it is left untouched: give this user permission to read it",
                path.display()
            ),
            StateError::Invalid { source } => write!(f, "the license state cannot be saved: {source}"),
            StateError::Io { path, source } => {
                write!(f, "cannot use the license state {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for StateError {}

impl StateError {
    /// The stable snake_case code of this error, as the CLI and the Node host report it.
    pub fn code(&self) -> &'static str {
        match self {
            StateError::NotADirectory { .. } => "state_not_a_directory",
            StateError::ReadOnly { .. } => "state_read_only",
            StateError::Busy { .. } => "state_busy",
            StateError::Unreadable { .. } => "state_unreadable",
            StateError::Invalid { .. } => "invalid_input",
            StateError::Io { .. } => "io",
        }
    }
}

/// A wait as a person reads it: whole seconds, or milliseconds under ten seconds when not
/// whole.
struct Wait(Duration);

impl std::fmt::Display for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0.as_millis();
        match ms {
            1000 => write!(f, "1 second"),
            _ if ms.is_multiple_of(1000) || ms >= 10_000 => write!(f, "{} seconds", ms / 1000),
            _ => write!(f, "{ms} ms"),
        }
    }
}

fn is_read_only(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
    )
}

/// Why one file did not give a state.
enum Problem {
    Damaged(String),
    Unreadable(io::Error),
}

impl StateDir {
    /// The state directory at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> StateDir {
        StateDir { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/state.bin`.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// `DIR/state.bin.bak`.
    pub fn backup_path(&self) -> PathBuf {
        self.dir.join(BACKUP_FILE)
    }

    /// `DIR/state.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    fn damaged_path(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(DAMAGED_SUFFIX);
        PathBuf::from(name)
    }

    /// Checks the path is a directory or does not exist yet.
    fn check_dir(&self) -> Result<(), StateError> {
        match fs::metadata(&self.dir) {
            Ok(m) if !m.is_dir() => Err(StateError::NotADirectory {
                path: self.dir.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Takes the directory's lock (creating the directory if missing, mode 0700 on unix),
    /// waiting up to [`LOCK_WAIT`] for a program that holds it.
    pub fn lock(&self) -> Result<DirLock, StateError> {
        self.lock_waiting(LOCK_WAIT, || {})
    }

    /// [`lock`](Self::lock), calling `on_wait` once if the lock is not free at once (after
    /// a fraction of a second), so the caller can say it is waiting and for what.
    pub fn lock_or_wait(&self, on_wait: impl FnOnce()) -> Result<DirLock, StateError> {
        self.lock_waiting(LOCK_WAIT, on_wait)
    }

    /// [`lock`](Self::lock) with another wait (for tests and callers that must not block
    /// long, such as a periodic save).
    pub fn lock_waiting(
        &self,
        wait: Duration,
        on_wait: impl FnOnce(),
    ) -> Result<DirLock, StateError> {
        self.check_dir()?;
        let write_err = |path: &Path, source: io::Error| {
            if is_read_only(&source) {
                StateError::ReadOnly {
                    path: path.to_path_buf(),
                    source,
                }
            } else {
                StateError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        };
        create_private_dir(&self.dir).map_err(|e| write_err(&self.dir, e))?;
        let path = self.lock_path();
        let mut o = fs::OpenOptions::new();
        o.write(true).create(true).truncate(false);
        set_mode(&mut o, MODE_PRIVATE);
        let file = o.open(&path).map_err(|e| write_err(&path, e))?;
        let start = Instant::now();
        let mut on_wait = Some(on_wait);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(DirLock {
                        _file: file,
                        dir: self.dir.clone(),
                    })
                }
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    if start.elapsed() >= WAIT_NOTICE_AFTER {
                        if let Some(f) = on_wait.take() {
                            f();
                        }
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StateError::Busy { path, waited: wait })
                }
                Err(fs::TryLockError::Error(e)) => return Err(StateError::Io { path, source: e }),
            }
        }
    }

    /// Reads the state without the lock and repairs nothing (for a status on a directory
    /// that may be read-only). The recovery rule of the module docs applies.
    pub fn read(&self) -> Result<Loaded, StateError> {
        self.check_dir()?;
        self.load_inner(false)
    }

    /// Reads the state under the lock, repairing what the recovery rule says (restoring
    /// the backup, setting damaged files aside).
    pub fn load(&self, lock: &DirLock) -> Result<Loaded, StateError> {
        self.check_lock(lock);
        self.load_inner(true)
    }

    fn check_lock(&self, lock: &DirLock) {
        debug_assert_eq!(lock.dir, self.dir, "a lock of another state directory");
    }

    fn load_inner(&self, repair: bool) -> Result<Loaded, StateError> {
        let main = self.state_path();
        let backup = self.backup_path();
        let unreadable = |path: &Path, source| StateError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        let main_problem = match read_valid(&main) {
            Ok(Some((state, _))) => {
                return Ok(Loaded {
                    state,
                    existed: true,
                    notices: Vec::new(),
                })
            }
            Ok(None) => None,
            Err(Problem::Unreadable(e)) => return Err(unreadable(&main, e)),
            Err(Problem::Damaged(why)) => Some(why),
        };
        let set_aside = |path: &Path| {
            let to = Self::damaged_path(path);
            fs::rename(path, &to).is_ok().then_some(to)
        };
        let what = |aside: Option<PathBuf>, why: &str| match aside {
            Some(to) => format!("is damaged ({why}; kept as {})", to.display()),
            None => format!("is damaged ({why})"),
        };
        match read_valid(&backup) {
            Ok(Some((state, bytes))) => {
                let what = match &main_problem {
                    None => "is missing".to_string(),
                    Some(why) => what(if repair { set_aside(&main) } else { None }, why),
                };
                let restored = repair && write_atomic(&main, &bytes, MODE_PRIVATE).is_ok();
                Ok(Loaded {
                    state,
                    existed: true,
                    notices: vec![StateNotice {
                        kind: NoticeKind::RecoveredFromBackup,
                        message: format!(
                            "the license state {} {what}; its previous copy {} was used{}: a license installed or an update applied just before may have to be installed or applied again",
                            main.display(),
                            backup.display(),
                            if restored { " and restored" } else { "" }
                        ),
                    }],
                })
            }
            Ok(None) if main_problem.is_none() => Ok(Loaded::default()),
            Err(Problem::Unreadable(e)) => Err(unreadable(&backup, e)),
            backup_result => {
                let main_what = match &main_problem {
                    None => "is missing".to_string(),
                    Some(why) => what(if repair { set_aside(&main) } else { None }, why),
                };
                let backup_what = match backup_result {
                    Err(Problem::Damaged(why)) => {
                        let aside = if repair { set_aside(&backup) } else { None };
                        format!(
                            "its previous copy {} {}",
                            backup.display(),
                            what(aside, &why)
                        )
                    }
                    _ => format!("there is no previous copy {}", backup.display()),
                };
                Ok(Loaded {
                    state: LicenseState::default(),
                    existed: false,
                    notices: vec![StateNotice {
                        kind: NoticeKind::Lost,
                        message: format!(
                            "the license state {} {main_what} and {backup_what}: no license is installed any more; install the licenses again",
                            main.display()
                        ),
                    }],
                })
            }
        }
    }

    /// Saves `state` atomically under the lock: the current `state.bin`, if valid, becomes
    /// `state.bin.bak` first (a damaged one is set aside and never replaces a good backup).
    pub fn save(&self, lock: &DirLock, state: &LicenseState) -> Result<(), StateError> {
        self.check_lock(lock);
        let bytes = state
            .to_bytes()
            .map_err(|source| StateError::Invalid { source })?;
        let main = self.state_path();
        let write_err = |path: &Path, source: io::Error| {
            if is_read_only(&source) {
                StateError::ReadOnly {
                    path: path.to_path_buf(),
                    source,
                }
            } else {
                StateError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        };
        match read_valid(&main) {
            Ok(Some((_, old))) => {
                let backup = self.backup_path();
                write_atomic(&backup, &old, MODE_PRIVATE).map_err(|e| write_err(&backup, e))?
            }
            Ok(None) => {}
            Err(Problem::Damaged(_)) => {
                let _ = fs::rename(&main, Self::damaged_path(&main));
            }
            Err(Problem::Unreadable(source)) => {
                return Err(StateError::Unreadable { path: main, source })
            }
        }
        write_atomic(&main, &bytes, MODE_PRIVATE).map_err(|e| write_err(&main, e))
    }

    /// Locks, reads the state afresh ([`load`](Self::load)), lets `change` change it, and
    /// saves it when `change` returns `(result, true)`: the whole protocol for one change.
    pub fn update<R, E>(
        &self,
        change: impl FnOnce(&mut Loaded) -> Result<(R, bool), E>,
    ) -> Result<R, E>
    where
        E: From<StateError>,
    {
        let lock = self.lock()?;
        let mut loaded = self.load(&lock)?;
        let (r, changed) = change(&mut loaded)?;
        if changed {
            self.save(&lock, &loaded.state)?;
        }
        Ok(r)
    }
}

/// The state in `path` and its bytes; `None` when the file does not exist.
fn read_valid(path: &Path) -> Result<Option<(LicenseState, Vec<u8>)>, Problem> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Problem::Unreadable(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_STATE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| match e.kind() {
            // A directory where the file should be: damage, set aside like any other.
            ErrorKind::IsADirectory => Problem::Damaged("a directory, not a file".into()),
            _ => Problem::Unreadable(e),
        })?;
    if bytes.len() as u64 > MAX_STATE_LEN {
        return Err(Problem::Damaged(format!(
            "larger than {MAX_STATE_LEN} bytes"
        )));
    }
    match LicenseState::from_bytes(&bytes) {
        Ok(state) => Ok(Some((state, bytes))),
        Err(keyward_core::Error::CorruptState { reason }) => {
            Err(Problem::Damaged(reason.to_string()))
        }
        Err(other) => Err(Problem::Damaged(other.to_string())),
    }
}
