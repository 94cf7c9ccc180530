//! # keyward-files
//!
//! How keyward keeps files on disk, in one place for the `keyward` CLI and keyward-host,
//! which share a state directory:
//!
//! - [`write_atomic`]: a temporary file next to the target is written and fsynced, renamed
//!   over the target, and the directory is fsynced. Readers see the old file or the new
//!   one, never half of one, and the change survives a crash once the call returns.
//! - [`write_new`]: the same durability for a file that must not exist yet (keys).
//! - [`lock_dir`]: an exclusive OS file lock on `DIR/state.lock`, held while a program
//!   changes the state, so programs sharing the directory never lose each other's changes.
#![deny(missing_docs)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file [`lock_dir`] locks, in the state directory. It stays empty and is never
/// removed.
pub const LOCK_FILE: &str = "state.lock";

/// How long [`lock_dir`] waits for another program that holds the lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// An exclusive hold on a state directory, released when dropped (or when the process
/// ends, however it ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Why [`lock_dir`] did not get the lock.
#[derive(Debug)]
pub enum LockError {
    /// Another program held it for all of [`LOCK_WAIT`].
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// The directory or the lock file could not be created or locked.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Busy { path } => write!(
                f,
                "another program has been changing the license state for over {} seconds (it holds {}): wait for it to finish, or stop it, and try again",
                LOCK_WAIT.as_secs(),
                path.display()
            ),
            LockError::Io { path, source } => {
                write!(f, "cannot lock the license state {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for LockError {}

/// Takes the lock of state directory `dir` (created if missing, mode 0700 on unix),
/// waiting up to [`LOCK_WAIT`] for a program that holds it.
pub fn lock_dir(dir: &Path) -> Result<DirLock, LockError> {
    lock_dir_waiting(dir, LOCK_WAIT)
}

fn lock_dir_waiting(dir: &Path, wait: Duration) -> Result<DirLock, LockError> {
    let io_err = |path: &Path, source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    create_private_dir(dir).map_err(|e| io_err(dir, e))?;
    let path = dir.join(LOCK_FILE);
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(false);
    set_mode(&mut o, 0o600);
    let file = o.open(&path).map_err(|e| io_err(&path, e))?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(DirLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(fs::TryLockError::WouldBlock) => return Err(LockError::Busy { path }),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&path, e)),
        }
    }
}

/// Creates `dir` and its parents if missing (the last with mode 0700 on unix).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

fn set_mode(o: &mut OpenOptions, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = (o, mode);
}

fn open_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    set_mode(&mut o, mode);
    o.open(path)
}

/// Flushes a directory's entries to disk, so a rename in it survives a crash. A no-op where
/// directories cannot be opened (Windows).
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The directory `path` is in (`.` for a bare file name).
pub fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to `path` atomically and durably, with `mode` (unix) for a new file: see
/// the crate docs. A leftover temporary file is removed when a step fails.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.tmp-{}-{attempt}", std::process::id()));
        match open_new(&tmp, mode) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == ErrorKind::AlreadyExists && attempt < 64 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let result = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&tmp, path));
    drop(file);
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(&dir);
    Ok(())
}

/// Writes `bytes` to `path`, which must not exist yet (not even by a race: an existing
/// file is `ErrorKind::AlreadyExists`), with `mode` (unix), durably.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut f = open_new(path, mode)?;
    f.write_all(bytes).and_then(|()| f.sync_all())?;
    sync_dir(&parent_of(path));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.bin");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Into a directory that does not exist: an error, and nothing left behind.
        let missing = dir.path().join("no/such/dir/file");
        assert_eq!(
            write_atomic(&missing, b"x", 0o600).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[test]
    fn write_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        write_new(&path, b"first", 0o600).unwrap();
        let e = write_new(&path, b"second", 0o600).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"first");
    }

    #[test]
    fn the_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let held = lock_dir(&state).unwrap();
        assert!(state.join(LOCK_FILE).exists());
        // A second holder (another open file, as another process has) waits, then is told.
        match lock_dir_waiting(&state, Duration::from_millis(50)) {
            Err(LockError::Busy { path }) => assert_eq!(path, state.join(LOCK_FILE)),
            other => panic!("expected Busy, got {other:?}"),
        }
        drop(held);
        lock_dir_waiting(&state, Duration::from_millis(50)).unwrap();
    }
}
