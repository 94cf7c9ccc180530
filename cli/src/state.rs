//! Files on disk: atomic writes, and the buyer's state directory (`state.bin`, its backup
//! `state.bin.bak`, and the trusted keys `keys.pem`).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use keyward_core::{LicenseState, TrustedKeys};

use crate::exit::CliError;

/// File mode for secrets (the merchant's private key, the state).
pub const MODE_PRIVATE: u32 = 0o600;
/// File mode for files anyone may read (public keys, codes).
pub const MODE_PUBLIC: u32 = 0o644;

fn open_new(path: &Path, mode: u32) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    o.open(path)
}

/// Flushes a directory's entries to disk (so a rename survives a crash). A no-op where
/// directories cannot be opened (Windows).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A fresh temporary name next to `path` (same directory, so the rename is atomic).
fn temp_name(path: &Path, attempt: u32) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    parent_of(path).join(format!(".{name}.tmp-{}-{attempt}", std::process::id()))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory is written
/// and fsynced, then renamed over `path`, then the directory is fsynced. Readers see the old
/// file or the new one, never a half-written one.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CliError> {
    let dir = parent_of(path);
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let tmp = temp_name(path, attempt);
        match open_new(&tmp, mode) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
            Err(e) => return Err(CliError::io("create a file in", &dir, &e)),
        }
    };
    let result = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&tmp, path));
    drop(file);
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(CliError::io("write", path, &e));
    }
    sync_dir(&dir);
    Ok(())
}

/// Writes `bytes` to `path`, which must not exist yet (no overwrite, even by a race).
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CliError> {
    let mut f = open_new(path, mode).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            CliError::other(
                "file_exists",
                format!(
                    "{} already exists: choose another file name, or add --force to overwrite it",
                    path.display()
                ),
            )
        } else {
            CliError::io("create", path, &e)
        }
    })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| CliError::io("write", path, &e))?;
    sync_dir(&parent_of(path));
    Ok(())
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

/// How long a command waits for another keyward process to finish changing the state.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// An exclusive hold on a state directory (an OS file lock on `DIR/state.lock`), released
/// when dropped. Every command that changes the state holds it from reading the state to
/// writing it back, so keyward processes running at once never lose each other's changes.
pub struct StateLock {
    _file: File,
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

    /// `DIR/keys.pem`: the trusted public keys stored by `install`.
    pub fn keys_path(&self) -> PathBuf {
        self.dir.join("keys.pem")
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
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&self.dir)
            .map_err(|e| CliError::io("create the state directory", &self.dir, &e))
    }

    /// `DIR/state.lock`: what [`Store::lock`] locks (empty; never removed).
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("state.lock")
    }

    /// Takes the directory's lock (creating the directory if needed), waiting up to 30
    /// seconds for another keyward process that holds it.
    pub fn lock(&self) -> Result<StateLock, CliError> {
        self.ensure_dir()?;
        let path = self.lock_path();
        let mut o = OpenOptions::new();
        o.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(MODE_PRIVATE);
        }
        let file = o
            .open(&path)
            .map_err(|e| CliError::io("open the state lock", &path, &e))?;
        let start = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StateLock { _file: file }),
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(CliError::other(
                        "state_busy",
                        format!(
                            "another keyward process has been changing the license state in {} for over {} seconds: wait for it to finish (or stop it) and try again",
                            self.dir.display(),
                            LOCK_WAIT.as_secs()
                        ),
                    ))
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(CliError::io("lock the license state", &path, &e))
                }
            }
        }
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

    /// The trusted keys stored by `install`, if any.
    pub fn load_keys(&self) -> Result<Option<(TrustedKeys, String)>, CliError> {
        let path = self.keys_path();
        match fs::read_to_string(&path) {
            Ok(text) => {
                let keys = TrustedKeys::from_pem(&text).map_err(|e| {
                    CliError::core(&e, Some(&format!("trusted key file {}", path.display())))
                })?;
                Ok(Some((keys, text)))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::io("read", &path, &e)),
        }
    }

    /// Adds the keys of `keys` to `keys.pem` (keys already there are kept, so licenses of
    /// several products or rotated keys keep verifying).
    pub fn merge_keys(&self, keys: &TrustedKeys) -> Result<(), CliError> {
        self.ensure_dir()?;
        let mut all = match self.load_keys() {
            Ok(Some((k, _))) => k,
            // A damaged keys.pem is replaced by the keys given now.
            _ => TrustedKeys::new(),
        };
        let before = all.keys().len();
        for k in keys.keys() {
            all.add(*k);
        }
        if all.keys().len() == before && self.keys_path().exists() {
            return Ok(());
        }
        let text: String = all.keys().iter().map(|k| k.to_pem()).collect();
        write_atomic(&self.keys_path(), text.as_bytes(), MODE_PUBLIC)
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
