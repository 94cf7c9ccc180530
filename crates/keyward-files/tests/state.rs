//! The state directory's protocol: the recovery rule, the lock, and directories that cannot
//! be used as they are.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use keyward_core::{LicenseState, Timestamp};
use keyward_files::{NoticeKind, StateDir, StateError, LOCK_FILE};

fn state(t: u64) -> LicenseState {
    LicenseState {
        high_water: Timestamp(t),
        ..LicenseState::default()
    }
}

/// Saves `t1` then `t2`: `state.bin` holds `t2`, `state.bin.bak` holds `t1`.
fn two_saves(dir: &Path) -> StateDir {
    let sd = StateDir::new(dir.join("state"));
    let lock = sd.lock().unwrap();
    sd.save(&lock, &state(100)).unwrap();
    sd.save(&lock, &state(200)).unwrap();
    sd
}

fn high_water(sd: &StateDir) -> u64 {
    let lock = sd.lock().unwrap();
    sd.load(&lock).unwrap().state.high_water.0
}

#[test]
fn saves_keep_the_previous_copy() {
    let dir = tempfile::tempdir().unwrap();
    let sd = two_saves(dir.path());
    assert_eq!(high_water(&sd), 200);
    let bak = LicenseState::from_bytes(&fs::read(sd.backup_path()).unwrap()).unwrap();
    assert_eq!(bak.high_water.0, 100);
    // A directory where nothing was saved: empty, not an error, nothing created by a read.
    let fresh = StateDir::new(dir.path().join("fresh"));
    let l = fresh.read().unwrap();
    assert!(!l.existed && l.notices.is_empty());
    assert!(!fresh.dir().exists());
}

#[test]
fn a_missing_state_file_is_recovered_from_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let sd = two_saves(dir.path());
    fs::remove_file(sd.state_path()).unwrap();
    // Read without the lock: the backup, reported, nothing repaired.
    let l = sd.read().unwrap();
    assert!(l.existed);
    assert_eq!(l.state.high_water.0, 100);
    assert_eq!(l.notices[0].kind, NoticeKind::RecoveredFromBackup);
    assert!(
        l.notices[0].message.contains("is missing"),
        "{:?}",
        l.notices
    );
    assert!(!sd.state_path().exists());
    // Under the lock: also restored as state.bin.
    let lock = sd.lock().unwrap();
    let l = sd.load(&lock).unwrap();
    assert_eq!(l.state.high_water.0, 100);
    assert!(
        l.notices[0].message.contains("and restored"),
        "{:?}",
        l.notices
    );
    drop(lock);
    assert_eq!(
        LicenseState::from_bytes(&fs::read(sd.state_path()).unwrap())
            .unwrap()
            .high_water
            .0,
        100
    );
    assert!(sd.read().unwrap().notices.is_empty());
}

#[test]
fn a_damaged_state_file_is_set_aside_and_the_backup_used() {
    for damage in [&b"garbage"[..], &[0u8; 0][..], &vec![b'K'; 3 << 20][..]] {
        let dir = tempfile::tempdir().unwrap();
        let sd = two_saves(dir.path());
        // Truncated by one byte, rewritten with garbage, empty or far too large.
        fs::write(sd.state_path(), damage).unwrap();
        let lock = sd.lock().unwrap();
        let l = sd.load(&lock).unwrap();
        assert_eq!(l.state.high_water.0, 100);
        assert_eq!(l.notices[0].kind, NoticeKind::RecoveredFromBackup);
        assert!(
            l.notices[0].message.contains("state.bin.damaged"),
            "{:?}",
            l.notices
        );
        assert_eq!(
            fs::read(sd.dir().join("state.bin.damaged")).unwrap(),
            damage
        );
        // The next save keeps the good backup: the restored state becomes it.
        sd.save(&lock, &state(300)).unwrap();
        drop(lock);
        assert_eq!(high_water(&sd), 300);
        let bak = LicenseState::from_bytes(&fs::read(sd.backup_path()).unwrap()).unwrap();
        assert_eq!(bak.high_water.0, 100);
    }
}

#[test]
fn both_copies_damaged_are_set_aside_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let sd = two_saves(dir.path());
    fs::write(sd.state_path(), b"garbage").unwrap();
    fs::write(sd.backup_path(), b"more garbage").unwrap();
    // Without the lock: reported, nothing moved.
    let l = sd.read().unwrap();
    assert_eq!(l.notices[0].kind, NoticeKind::Lost);
    assert!(sd.state_path().exists());
    // Under the lock: both set aside, an empty state, and the message says what to do.
    let lock = sd.lock().unwrap();
    let l = sd.load(&lock).unwrap();
    assert!(!l.existed);
    assert_eq!(l.state, LicenseState::default());
    assert_eq!(l.notices[0].kind, NoticeKind::Lost);
    let m = &l.notices[0].message;
    assert!(
        m.contains("state.bin.damaged") && m.contains("state.bin.bak.damaged"),
        "{m}"
    );
    assert!(m.contains("install the licenses again"), "{m}");
    assert!(!sd.state_path().exists() && !sd.backup_path().exists());
    assert_eq!(
        fs::read(sd.dir().join("state.bin.bak.damaged")).unwrap(),
        b"more garbage"
    );
    // The directory works again.
    sd.save(&lock, &state(5)).unwrap();
    drop(lock);
    assert_eq!(high_water(&sd), 5);

    // Damaged with no backup at all: lost too.
    let sd = StateDir::new(dir.path().join("other"));
    fs::create_dir(sd.dir()).unwrap();
    fs::write(sd.state_path(), b"junk").unwrap();
    let l = sd.read().unwrap();
    assert_eq!(l.notices[0].kind, NoticeKind::Lost);
    assert!(
        l.notices[0].message.contains("no previous copy"),
        "{:?}",
        l.notices
    );
}

#[test]
fn a_path_that_is_a_file_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    let sd = StateDir::new(&file);
    for e in [sd.read().unwrap_err(), sd.lock().unwrap_err()] {
        assert!(matches!(e, StateError::NotADirectory { .. }), "{e:?}");
        assert!(e.to_string().contains("is a file, not a directory"), "{e}");
    }
    assert_eq!(fs::read(&file).unwrap(), b"x");
}

/// Makes `dir` read-only for this process: mode 0555, or, for root (whom modes do not
/// stop), the immutable attribute. Returns false if neither works here.
fn make_read_only(dir: &Path, on: bool) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let chattr = |flag: &str| {
        std::process::Command::new("chattr")
            .arg(flag)
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !on {
        let _ = chattr("-i");
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
        return true;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join(".probe");
    if fs::write(&probe, b"").is_err() {
        return true;
    }
    let _ = fs::remove_file(&probe);
    chattr("+i") && fs::write(&probe, b"").is_err()
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_can_still_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let sd = two_saves(dir.path());
    fs::remove_file(sd.lock_path()).unwrap();
    assert!(
        make_read_only(sd.dir(), true),
        "cannot make a read-only directory here (mode 0555, chattr +i)"
    );
    let lock = sd.lock();
    let read = sd.read();
    make_read_only(sd.dir(), false);
    let e = lock.unwrap_err();
    assert!(matches!(e, StateError::ReadOnly { .. }), "{e:?}");
    assert!(e.to_string().contains("read-only"), "{e}");
    assert_eq!(read.unwrap().state.high_water.0, 200);
}

#[test]
fn the_lock_is_exclusive_says_it_waits_and_is_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let sd = StateDir::new(dir.path().join("state"));
    let held = sd.lock().unwrap();
    assert!(sd.dir().join(LOCK_FILE).exists());
    // A second holder (another open file, as another process has) is told it waits, then
    // gives up with Busy.
    let waited = AtomicBool::new(false);
    match sd.lock_waiting(Duration::from_millis(400), || {
        waited.store(true, Ordering::SeqCst)
    }) {
        Err(e @ StateError::Busy { .. }) => {
            // The message gives the wait this caller chose, not the default one.
            assert!(
                e.to_string().contains("another program")
                    && e.to_string().contains("for over 400 ms"),
                "{e}"
            );
            assert_eq!(e.code(), "state_busy");
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    assert!(waited.load(Ordering::SeqCst));
    drop(held);
    let waited = AtomicBool::new(false);
    sd.lock_waiting(Duration::from_millis(400), || {
        waited.store(true, Ordering::SeqCst)
    })
    .unwrap();
    assert!(
        !waited.load(Ordering::SeqCst),
        "a free lock is taken at once"
    );
}

#[cfg(unix)]
#[test]
fn a_directory_in_place_of_the_state_file_is_damage() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sd = two_saves(dir.path());
    fs::remove_file(sd.state_path()).unwrap();
    fs::create_dir(sd.state_path()).unwrap();
    fs::set_permissions(sd.state_path(), fs::Permissions::from_mode(0o755)).unwrap();
    let l = sd.read().unwrap();
    assert_eq!(l.notices[0].kind, NoticeKind::RecoveredFromBackup);
    assert_eq!(l.state.high_water.0, 100);
}
