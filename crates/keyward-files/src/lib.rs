//! # keyward-files
//!
//! How keyward keeps files on disk, in one place for the `keyward` CLI and keyward-host,
//! which share a state directory:
//!
//! - [`write_atomic`]: a temporary file next to the target is written and fsynced, renamed
//!   over the target, and the directory is fsynced. Readers see the old file or the new
//!   one, never half of one, and the change survives a crash once the call returns.
//! - [`write_new`]: the same durability for a file that must not exist yet (keys).
//! - [`StateDir`]: the buyer's state directory, its files, its lock and its one recovery
//!   rule (see its module docs): programs sharing the directory never lose each other's
//!   changes, and a missing or damaged file falls back to the backup.
#![deny(missing_docs)]
#![deny(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

mod state;

pub use state::{
    DirLock, Loaded, NoticeKind, StateDir, StateError, StateNotice, BACKUP_FILE, DAMAGED_SUFFIX,
    LOCK_FILE, LOCK_WAIT, MAX_STATE_LEN, STATE_FILE,
};

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

pub(crate) fn set_mode(o: &mut OpenOptions, mode: u32) {
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
}
