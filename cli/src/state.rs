//! Files on disk: atomic writes, and the buyer's state directory (`state.bin` and its
//! backup `state.bin.bak`). Trusted keys are never kept there: the buyer can write it.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use keyward_core::LicenseState;

use crate::exit::CliError;

/// File mode for secrets (the merchant's private key, the state).
pub const MODE_PRIVATE: u32 = 0o600;
/// File mode for files anyone may read (public keys, codes).
pub const MODE_PUBLIC: u32 = 0o644;

/// Writes `bytes` to `path` atomically ([`keyward_files::write_atomic`]): readers see the
/// old file or the new one, never a half-written one.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CliError> {
    keyward_files::write_atomic(path, bytes, mode).map_err(|e| CliError::io("write", path, &e))
}

/// Writes `bytes` to `path`, which must not exist yet (no overwrite, even by a race).
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CliError> {
    keyward_files::write_new(path, bytes, mode).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            CliError::other(
                "file_exists",
                format!(
                    "{} already exists: choose another file name, or add --force to overwrite it",
                    path.display()
                ),
            )
        } else {
            // Not a half-written file left behind (it would block the retry).
            let _ = fs::remove_file(path);
            CliError::io("write", path, &e)
        }
    })
}

/// Reads a whole file with a size limit, so a wrong path (a disk image, /dev/zero) does not
/// exhaust memory.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, CliError> {
    use std::io::Read;
    let f = File::open(path).map_err(|e| CliError::io("read", path, &e))?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::io("read", path, &e))?;
    if buf.len() as u64 > limit {
        return Err(CliError::new(
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

/// The buyer's state directory.
pub struct Store {
    dir: PathBuf,
}

/// A state loaded from disk, and how.
pub struct Loaded {
    /// The state (empty when nothing was stored yet).
    pub state: LicenseState,
    /// `state.bin` existed and was read (or its backup was).
    pub existed: bool,
}

impl Store {
    /// The store at `dir` (not created until something is saved).
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/state.bin`.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join("state.bin")
    }

    /// `DIR/state.bin.bak`: the previous state.
    pub fn backup_path(&self) -> PathBuf {
        self.dir.join("state.bin.bak")
    }

    fn read_state(path: &Path) -> Result<Option<Result<LicenseState, String>>, CliError> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(LicenseState::from_bytes(&bytes).map_err(
                |e| match e {
                    keyward_core::Error::CorruptState { reason } => reason.to_string(),
                    other => other.to_string(),
                },
            ))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::io("read the license state", path, &e)),
        }
    }

    /// Loads the state. A damaged `state.bin` falls back to `state.bin.bak` (with a warning
    /// on stderr); if both are damaged, the error names both files and says how to recover.
    pub fn load(&self) -> Result<Loaded, CliError> {
        let path = self.state_path();
        let reason = match Self::read_state(&path)? {
            None => {
                return Ok(Loaded {
                    state: LicenseState::default(),
                    existed: false,
                })
            }
            Some(Ok(state)) => {
                return Ok(Loaded {
                    state,
                    existed: true,
                })
            }
            Some(Err(reason)) => reason,
        };
        let bak = self.backup_path();
        match Self::read_state(&bak)? {
            Some(Ok(state)) => {
                errln!(
                    "keyward: warning: the license state file {} is damaged ({reason}); using its backup {} instead (the most recent change may be lost; the next change rewrites {})",
                    path.display(),
                    bak.display(),
                    path.display()
                );
                Ok(Loaded {
                    state,
                    existed: true,
                })
            }
            Some(Err(bak_reason)) => Err(CliError::other(
                "state_corrupt",
                format!(
                    "the license state file {} is damaged ({reason}) and so is its backup {} ({bak_reason}): move both files away (or delete them) and install the license again",
                    path.display(),
                    bak.display()
                ),
            )),
            None => Err(CliError::other(
                "state_corrupt",
                format!(
                    "the license state file {} is damaged ({reason}) and there is no backup {}: move the file away (or delete it) and install the license again",
                    path.display(),
                    bak.display()
                ),
            )),
        }
    }

    fn ensure_dir(&self) -> Result<(), CliError> {
        keyward_files::create_private_dir(&self.dir)
            .map_err(|e| CliError::io("create the state directory", &self.dir, &e))
    }

    /// Takes the state directory's lock (creating the directory if needed; see
    /// [`keyward_files::lock_dir`]), waiting up to 30 seconds for another keyward process
    /// that holds it.
    pub fn lock(&self) -> Result<keyward_files::DirLock, CliError> {
        keyward_files::lock_dir(&self.dir).map_err(|e| match e {
            keyward_files::LockError::Busy { .. } => CliError::other(
                "state_busy",
                format!(
                    "another keyward process has been changing the license state in {} for over {} seconds: wait for it to finish (or stop it) and try again",
                    self.dir.display(),
                    keyward_files::LOCK_WAIT.as_secs()
                ),
            ),
            keyward_files::LockError::Io { path, source } => {
                CliError::io("lock the license state", &path, &source)
            }
        })
    }

    /// Saves the state atomically; the current `state.bin`, if it is valid, becomes
    /// `state.bin.bak` first (a damaged one never replaces a good backup).
    pub fn save(&self, state: &LicenseState) -> Result<(), CliError> {
        self.ensure_dir()?;
        let path = self.state_path();
        if let Ok(old) = fs::read(&path) {
            if LicenseState::from_bytes(&old).is_ok() {
                write_atomic(&self.backup_path(), &old, MODE_PRIVATE)?;
            }
        }
        write_atomic(&path, &state.to_bytes(), MODE_PRIVATE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_core::Timestamp;

    #[test]
    fn save_load_backup_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("s"));
        assert!(!store.load().unwrap().existed);
        let mut st = LicenseState {
            high_water: Timestamp(100),
            ..Default::default()
        };
        store.save(&st).unwrap();
        st.high_water = Timestamp(200);
        store.save(&st).unwrap();
        assert_eq!(store.load().unwrap().state.high_water, Timestamp(200));
        // Damage state.bin: the backup (100) is used.
        fs::write(store.state_path(), b"garbage").unwrap();
        assert_eq!(store.load().unwrap().state.high_water, Timestamp(100));
        // Damage both: a clear error naming the file.
        fs::write(store.backup_path(), b"garbage").unwrap();
        let e = store.load().err().unwrap();
        assert!(e.message.contains("state.bin"), "{}", e.message);
        assert!(e.message.contains("move both files away"), "{}", e.message);
    }

    #[test]
    fn write_new_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_new(&p, b"a", MODE_PRIVATE).unwrap();
        assert!(write_new(&p, b"b", MODE_PRIVATE).is_err());
        write_atomic(&p, b"c", MODE_PRIVATE).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"c");
    }
}
