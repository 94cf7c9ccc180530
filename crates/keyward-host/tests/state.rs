//! The state file and the clock: rollback detection, deleted, damaged and truncated state
//! files, recovery from the backup, and files that cannot be read.

mod common;

use std::fs;

use common::*;
use keyward_core::LicenseState;
use keyward_host::{NoticeKind, BACKUP_FILE, STATE_FILE};

#[test]
fn clock_rolled_back_past_the_tolerance_is_reported() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let dir = tempfile::tempdir().expect("dir");
    let l = license(dir.path(), this_machine(), &clock);
    l.activate(&unbound_code(1, now, Some(30)))
        .expect("activate");
    clock.advance(2 * 86_400);
    assert_eq!(l.status().expect("status").code, "active");

    // Within the tolerance (a day): fine.
    clock.set(now + 86_400 + 1800);
    assert_eq!(l.status().expect("status").code, "active");

    // More than a day back: reported, features off, activation refused.
    clock.set(now + 86_400 - 3600);
    let s = l.status().expect("status");
    assert_eq!(s.code, "clock_rolled_back");
    let c = s.clock.expect("times");
    assert!(c.high_water > c.now);
    assert!(!l.has_feature("pro"));
    let e = l.activate(&unbound_code(2, now, Some(30))).unwrap_err();
    assert_eq!(e.code(), "clock_rolled_back");

    // The mark survives a restart (it was saved with the activation and by status()).
    drop(l);
    let again = license(dir.path(), this_machine(), &clock);
    assert_eq!(again.status().expect("status").code, "clock_rolled_back");

    // Setting the clock right again restores the license.
    clock.set(now + 3 * 86_400);
    assert_eq!(again.status().expect("status").code, "active");
}

/// A state directory holding license 1 in the backup and licenses 1 and 2 in the file.
fn two_saves(clock: &TestClock) -> tempfile::TempDir {
    let now = clock.get();
    let dir = tempfile::tempdir().expect("dir");
    let l = license(dir.path(), this_machine(), clock);
    l.activate(&unbound_code(1, now, Some(30))).expect("first");
    l.activate(&unbound_code(2, now, None)).expect("second");
    let main = LicenseState::from_bytes(&fs::read(dir.path().join(STATE_FILE)).expect("state"))
        .expect("valid");
    let bak = LicenseState::from_bytes(&fs::read(dir.path().join(BACKUP_FILE)).expect("bak"))
        .expect("valid");
    assert_eq!((main.entries.len(), bak.entries.len()), (2, 1));
    dir
}

fn license_ids(l: &keyward_host::License) -> Option<String> {
    l.status().expect("status").license.map(|s| s.license_id)
}

#[test]
fn damaged_or_truncated_state_falls_back_to_the_backup_and_says_so() {
    let clock = TestClock::new(vectors_now());
    for damage in ["truncated", "flipped", "garbage", "empty", "deleted"] {
        let dir = two_saves(&clock);
        let path = dir.path().join(STATE_FILE);
        let mut bytes = fs::read(&path).expect("state");
        match damage {
            "truncated" => bytes.truncate(bytes.len() / 2),
            "flipped" => {
                let i = bytes.len() / 3;
                bytes[i] ^= 0x10;
            }
            "garbage" => bytes = b"this is not a license state".to_vec(),
            "empty" => bytes.clear(),
            _ => {}
        }
        if damage == "deleted" {
            fs::remove_file(&path).expect("delete");
        } else {
            fs::write(&path, &bytes).expect("damage");
        }
        let l = license(dir.path(), this_machine(), &clock);
        let s = l.status().expect("status");
        // License 1 (in the backup) is still there; the notice says what happened.
        assert_eq!(s.code, "active", "{damage}");
        let notices = l.state_notices();
        assert_eq!(notices.len(), 1, "{damage}: {notices:?}");
        assert_eq!(notices[0].kind, NoticeKind::RecoveredFromBackup, "{damage}");
        assert!(
            notices[0].message.contains(BACKUP_FILE),
            "{}",
            notices[0].message
        );
        if damage != "deleted" {
            assert!(
                notices[0].message.contains("damaged"),
                "{}",
                notices[0].message
            );
        }
        // Installing again brings license 2 back. Repairs happen in a change, under the
        // directory's lock (keyward-files' recovery rule: a status outside one only reads).
        l.activate(&unbound_code(2, clock.get(), None))
            .expect("reinstall");
        if damage != "deleted" {
            assert!(
                dir.path().join("state.bin.damaged").exists(),
                "{damage}: damaged copy kept"
            );
        }
        // The file was written again, so a restart is clean.
        assert!(LicenseState::from_bytes(&fs::read(&path).expect("restored")).is_ok());
        drop(l);
        let again = license(dir.path(), this_machine(), &clock);
        assert_eq!(again.status().expect("status").code, "active");
        assert!(again.state_notices().is_empty(), "{damage}");
    }
}

#[test]
fn both_copies_damaged_is_reported_and_nothing_crashes() {
    let clock = TestClock::new(vectors_now());
    let dir = two_saves(&clock);
    fs::write(dir.path().join(STATE_FILE), b"KWST garbage").expect("damage");
    fs::write(dir.path().join(BACKUP_FILE), [0u8; 3]).expect("damage");
    let l = license(dir.path(), this_machine(), &clock);
    assert_eq!(l.status().expect("status").code, "no_license");
    let n = l.state_notices();
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].kind, NoticeKind::Lost);
    assert_eq!(n[0].kind.code(), "state_lost");
    assert!(dir.path().join("state.bin.damaged").exists());
    // Licenses can be installed again; the damaged backup is replaced only by a good copy.
    l.activate(&unbound_code(3, clock.get(), None))
        .expect("reinstall");
    assert_eq!(l.status().expect("status").code, "active");
}

#[test]
fn a_directory_in_place_of_the_state_is_set_aside_not_lost() {
    let clock = TestClock::new(vectors_now());
    let dir = tempfile::tempdir().expect("dir");
    // A directory where the file should be: damage (keyward-files' recovery rule), set
    // aside as `state.bin.damaged` by the next change, never deleted.
    fs::create_dir(dir.path().join(STATE_FILE)).expect("dir as file");
    fs::write(dir.path().join(STATE_FILE).join("keep.txt"), b"mine").expect("content");
    let l = license(dir.path(), this_machine(), &clock);
    assert_eq!(l.status().expect("status").code, "no_license");
    assert_eq!(l.state_notices()[0].kind, NoticeKind::Lost);
    l.activate(&unbound_code(1, clock.get(), None))
        .expect("a change sets the directory aside and saves");
    assert!(dir.path().join(STATE_FILE).is_file());
    let kept = dir.path().join("state.bin.damaged").join("keep.txt");
    assert_eq!(fs::read(kept).expect("kept"), b"mine");
    assert_eq!(l.status().expect("status").code, "active");
}

#[test]
fn deleted_state_without_backup_is_a_fresh_start() {
    let clock = TestClock::new(vectors_now());
    let dir = tempfile::tempdir().expect("dir");
    let l = license(dir.path(), this_machine(), &clock);
    l.activate(&unbound_code(1, clock.get(), None))
        .expect("activate");
    fs::remove_file(dir.path().join(STATE_FILE)).expect("delete");
    let _ = fs::remove_file(dir.path().join(BACKUP_FILE));
    // The running instance keeps what it verified until told to reload.
    assert_eq!(l.status().expect("status").code, "active");
    l.reload().expect("reload");
    assert_eq!(l.status().expect("status").code, "no_license");
    assert!(l.state_notices().is_empty());
}

#[test]
fn state_is_written_atomically_with_private_permissions() {
    let clock = TestClock::new(vectors_now());
    let dir = tempfile::tempdir().expect("dir");
    let l = license(dir.path(), this_machine(), &clock);
    l.activate(&unbound_code(1, clock.get(), None))
        .expect("activate");
    let names: Vec<String> = fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join(STATE_FILE))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    assert_eq!(license_ids(&l).as_deref(), Some("a000000000000001"));
}

/// Two programs on one state directory (here two `License`s, as two processes would have):
/// each change is made under the directory's lock on the state as it is on disk, so
/// neither loses the other's licenses.
#[test]
fn two_programs_on_one_state_directory_lose_nothing() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let dir = tempfile::tempdir().expect("dir");
    let a = license(dir.path(), this_machine(), &clock);
    let b = license(dir.path(), this_machine(), &clock);
    // Both have loaded the (empty) state before either changes it.
    assert_eq!(a.status().expect("a").code, "no_license");
    assert_eq!(b.status().expect("b").code, "no_license");
    a.activate(&unbound_code(1, now, Some(30)))
        .expect("a activates 1");
    b.activate(&unbound_code(2, now, Some(30)))
        .expect("b activates 2");
    a.activate(&unbound_code(3, now, Some(30)))
        .expect("a activates 3");
    let stored = std::fs::read(dir.path().join(keyward_host::STATE_FILE)).expect("state");
    let state = keyward_core::LicenseState::from_bytes(&stored).expect("valid state");
    assert_eq!(state.entries.len(), 3, "every activation kept");
    assert!(dir.path().join(keyward_host::LOCK_FILE).exists());

    // Two threads, each with its own License, activating at once.
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().to_path_buf();
    std::thread::scope(|scope| {
        for t in 0..2u8 {
            let path = &path;
            let clock = &clock;
            scope.spawn(move || {
                let l = license(path, this_machine(), clock);
                for i in 0..4u8 {
                    l.activate(&unbound_code(10 + t * 4 + i, now, Some(30)))
                        .expect("activates");
                }
            });
        }
    });
    let stored = std::fs::read(path.join(keyward_host::STATE_FILE)).expect("state");
    let state = keyward_core::LicenseState::from_bytes(&stored).expect("valid state");
    assert_eq!(state.entries.len(), 8, "every activation kept");
}

/// The lost-license bug: program A reads the state (one license), program B installs a
/// second, and ten minutes later A's `status()` saves the clock's high-water mark. That
/// save must not write A's stale view over B's license.
#[test]
fn a_clock_mark_save_never_drops_another_programs_license() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let dir = tempfile::tempdir().expect("dir");
    let a = license(dir.path(), this_machine(), &clock);
    a.activate(&unbound_code(1, now, Some(30)))
        .expect("a activates 1");
    assert_eq!(a.status().expect("a").code, "active");
    let b = license(dir.path(), this_machine(), &clock);
    b.activate(&unbound_code(2, now, Some(30)))
        .expect("b activates 2");
    let stored = |dir: &std::path::Path| {
        let bytes = std::fs::read(dir.join(keyward_host::STATE_FILE)).expect("state");
        keyward_core::LicenseState::from_bytes(&bytes).expect("valid state")
    };
    assert_eq!(stored(dir.path()).entries.len(), 2);
    // Well past the plugin's periodic save of the mark (600 s), minute by minute.
    for _ in 0..12 {
        clock.advance(60);
        assert_eq!(a.status().expect("a").code, "active");
    }
    let state = stored(dir.path());
    assert_eq!(state.entries.len(), 2, "B's license was kept");
    assert!(state.high_water.0 >= now + 600, "the mark was saved");
    // A fresh program sees both.
    let c = license(dir.path(), this_machine(), &clock);
    assert_eq!(c.deactivate().expect("c deactivates"), 2);
}
