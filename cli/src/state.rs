//! Files on disk: the CLI's adapters over keyward-files (atomic writes, and the buyer's state
//! directory, whose protocol is keyward-files' `StateDir`). Trusted keys are never kept
//! there: the buyer can write it.

use std::fs;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use keyward_core::LicenseState;
use keyward_files::{DirLock, Loaded, StateDir, StateError};

use crate::exit::Error;

/// File mode for secrets (the merchant's private key, the state).
pub const MODE_PRIVATE: u32 = 0o600;
/// File mode for files anyone may read (public keys, codes).
pub const MODE_PUBLIC: u32 = 0o644;

/// Writes `bytes` to `path` atomically ([`keyward_files::write_atomic`]): readers see the
/// old file or the new one, never a half-written one.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    keyward_files::write_atomic(path, bytes, mode).map_err(|e| Error::io("write", path, &e))
}

/// Writes `bytes` to `path`, which must not exist yet (no overwrite, even by a race).
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    keyward_files::write_new(path, bytes, mode).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            Error::other(
                "file_exists",
                format!(
                    "{} already exists: choose another file name, or add --force to overwrite it",
                    path.display()
                ),
            )
        } else {
            // Not a half-written file left behind (it would block the retry).
            let _ = fs::remove_file(path);
            Error::io("write", path, &e)
        }
    })
}

/// Reads a whole file with a size limit, so a wrong path (a disk image, /dev/zero) does not
/// exhaust memory.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let f = File::open(path).map_err(|e| Error::io("read", path, &e))?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("read", path, &e))?;
    if buf.len() as u64 > limit {
        return Err(Error::new(
            "malformed",
            crate::exit::Exit::Malformed,
            format!(
                "{} is larger than {limit} bytes, far larger than anything keyward reads: check the file name",
                path.display()
            ),
        ));
    }
    Ok(buf)
}

/// The buyer's state directory: keyward-files' [`StateDir`] (the protocol keyward-host
/// uses too), with the CLI's messages.
pub struct Store {
    dir: StateDir,
}

/// A [`StateError`] as the CLI reports it.
fn state_error(e: StateError) -> Error {
    Error::other(e.code(), e.to_string())
}

impl Store {
    /// The store at `dir` (not created until something is saved).
    pub fn new(dir: PathBuf) -> Store {
        Store {
            dir: StateDir::new(dir),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        self.dir.dir()
    }

    /// Takes the state directory's lock (creating the directory if needed), saying on
    /// stderr that it waits when another program holds it, for up to 30 seconds.
    pub fn lock(&self) -> Result<DirLock, Error> {
        self.dir
            .lock_or_wait(|| {
                errln!(
                    "keyward: waiting for another program that is changing the license state in {} (up to {} seconds)…",
                    self.dir().display(),
                    keyward_files::LOCK_WAIT.as_secs()
                )
            })
            .map_err(state_error)
    }

    /// Loads the state under the lock (recovering from the backup, setting damaged files
    /// aside: keyward-files' rule); what was recovered or lost is said on stderr.
    pub fn load(&self, lock: &DirLock) -> Result<Loaded, Error> {
        Self::warn(self.dir.load(lock).map_err(state_error)?)
    }

    /// Reads the state without the lock, repairing nothing (for a directory that cannot be
    /// written).
    pub fn read(&self) -> Result<Loaded, Error> {
        Self::warn(self.dir.read().map_err(state_error)?)
    }

    fn warn(loaded: Loaded) -> Result<Loaded, Error> {
        for n in &loaded.notices {
            errln!("keyward: warning: {}", n.message);
        }
        Ok(loaded)
    }

    /// Saves the state atomically under the lock (the current `state.bin`, if valid,
    /// becomes `state.bin.bak` first).
    pub fn save(&self, lock: &DirLock, state: &LicenseState) -> Result<(), Error> {
        self.dir.save(lock, state).map_err(state_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_new_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_new(&p, b"a", MODE_PRIVATE).unwrap();
        assert!(write_new(&p, b"b", MODE_PRIVATE).is_err());
        write_atomic(&p, b"c", MODE_PRIVATE).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"c");
    }
}
