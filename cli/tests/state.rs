//! The buyer's state directory and the clock: `--now` never persists, a clock that was
//! ahead for a while does not lock out, the merchant's clock reset, a deleted state file
//! does not undo a freeze, and directories that cannot be used as they are.

mod common;

use common::{license_id, saved_state, set_high_water, Scratch, NOW, PRODUCT_FILE};
use predicates::prelude::*;

fn update(s: &Scratch, id: &str, action: &[&str]) -> String {
    let mut args = vec!["update", "--key", "k.pem", "--license", id, "--now", NOW];
    args.extend_from_slice(action);
    s.stdout(&args)
}

fn apply(s: &Scratch, now: &str, update: &str) -> assert_cmd::assert::Assert {
    s.buyer("A.json", now)
        .args(["apply", "--public-key", "k.pem.pub", update.trim()])
        .assert()
}

#[test]
fn now_never_persists() {
    let (s, code) = Scratch::with_license();
    let mark = saved_state(&s).high_water;
    // A look at a date months ahead, then the right date again: still licensed.
    s.status("A.json", "2027-02-01").code(5);
    s.status("A.json", NOW).code(0);
    // Installing again, applying, at a future `--now`: the mark never moves either.
    s.install_in("state", "A.json", "2026-12-15T00:00:00Z", &code)
        .assert()
        .code(0);
    let id = license_id(&s, &code);
    apply(
        &s,
        "2026-12-16T00:00:00Z",
        &update(&s, &id, &["--renew", "2027-06-01"]),
    )
    .code(0);
    assert_eq!(saved_state(&s).high_water, mark);
    s.status("A.json", NOW).code(0);
}

#[test]
fn a_clock_ahead_for_a_while_is_cleared_by_the_merchants_reset() {
    let (s, code) = Scratch::with_license();
    let id = license_id(&s, &code);
    // The real clock was three days ahead once; now it reads right (NOW).
    set_high_water(&s, "2026-11-23T12:00:00Z");
    s.status("A.json", NOW).code(8);
    // The merchant signs a clock reset (at the real time); the buyer applies it, offline.
    let reset = update(&s, &id, &["--reset-clock"]);
    apply(&s, NOW, &reset).code(0);
    s.status("A.json", NOW).code(0);
    assert_eq!(
        saved_state(&s).high_water,
        keyward_core::Timestamp::parse(NOW).unwrap()
    );
    // The reset names itself in `inspect`.
    s.cmd()
        .args(["inspect", "--public-key", "k.pem.pub", reset.trim()])
        .assert()
        .stdout(predicate::str::contains("reset the clock mark"));
    // A clock turned back before the reset's signing time is still caught.
    s.status("A.json", "2026-11-10T00:00:00Z").code(8);
}

#[test]
fn deleting_the_state_file_does_not_undo_a_freeze() {
    // A freeze, then one more change, so the previous copy state.bin.bak holds the freeze
    // too (the copy is the state before the last change).
    let (s, code) = Scratch::with_license();
    let id = license_id(&s, &code);
    apply(&s, NOW, &update(&s, &id, &["--freeze"])).code(0);
    apply(&s, NOW, &update(&s, &id, &["--renew", "2027-06-01"])).code(0);
    std::fs::remove_file(s.path("state/state.bin")).unwrap();
    s.status("A.json", NOW)
        .code(7)
        .stderr(predicate::str::contains("is missing"));
    // Reinstalling the code is refused as frozen, and keeps the freeze and the sequence.
    s.install_in("state", "A.json", NOW, &code)
        .assert()
        .code(7)
        .stderr(predicate::str::contains("frozen"));
    s.status("A.json", NOW).code(7);
    let st = saved_state(&s);
    // The backup is the state before the last change (the renewal): the freeze, number 1.
    assert_eq!(st.entries[0].sequence, 1);
    assert!(st.entries[0].flags.frozen);
}

#[test]
fn a_state_dir_that_is_a_file_is_a_clear_error() {
    let (s, code) = Scratch::with_license();
    s.write("file", "x");
    for args in [
        vec!["status", "--product-file", PRODUCT_FILE],
        vec!["install", "--public-key", "k.pem.pub", &code],
    ] {
        s.buyer_in("file", "A.json", NOW)
            .args(&args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("is a file, not a directory"));
    }
}

#[test]
fn a_held_lock_is_waited_for_and_said() {
    let (s, _) = Scratch::with_license();
    let dir = keyward_files::StateDir::new(s.path("state"));
    let lock = dir.lock().unwrap();
    let child = std::thread::spawn({
        let path = s.dir.path().to_path_buf();
        move || {
            let mut c = assert_cmd::Command::new(common::bin());
            c.current_dir(path).args([
                "--state-dir",
                "state",
                "--facts",
                "A.json",
                "--now",
                NOW,
                "status",
                "--product-file",
                PRODUCT_FILE,
            ]);
            c.assert()
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(800));
    drop(lock);
    child
        .join()
        .unwrap()
        .code(0)
        .stderr(predicate::str::contains("waiting for another program"));
}

#[cfg(unix)]
#[test]
fn a_read_only_state_dir_still_answers_status() {
    let (s, code) = Scratch::with_license();
    let dir = s.path("state");
    let lock = dir.join("state.lock");
    std::fs::remove_file(&lock).unwrap();
    assert!(
        common::make_read_only(&dir, true),
        "cannot make a read-only directory here"
    );
    let status = s.status("A.json", NOW);
    let install = s.install_in("state", "A.json", NOW, &code).assert();
    common::make_read_only(&dir, false);
    status.code(0).stderr(predicate::str::contains("read-only"));
    install
        .code(1)
        .stderr(predicate::str::contains("read-only"));
}

/// Issue 12.2: the same raw facts give the same system identification code in the CLI
/// (`--facts`, normalised by keyward-machine) and in keyward-core as the plugin runs it
/// (raw facts straight from a host in any language).
#[test]
fn raw_facts_give_the_same_system_id_everywhere() {
    let s = Scratch::new();
    let raw = keyward_core::MachineFacts {
        machine_id: Some(" 8F3B1C2D4E5F60718293A4B5C6D7E8F9 ".into()),
        product_uuid: Some("4C4C4544-003D-4A10-804B-B4C04F4E3732".into()),
        board_serial: Some("To be filled by O.E.M.".into()),
        disk_serial: Some("  S4EVNF0M712345X ".into()),
        cpu: Some("GenuineIntel  family 6 model 158".into()),
        macs: vec![
            "04-7C-16-5E-E3-5D".into(),
            "AABB.CCDD.EEFF".into(),
            "00:00:00:00:00:00".into(),
        ],
        ..Default::default()
    };
    let json = serde_json::json!({
        "machine_id": raw.machine_id,
        "product_uuid": raw.product_uuid,
        "board_serial": raw.board_serial,
        "disk_serial": raw.disk_serial,
        "cpu": raw.cpu,
        "macs": raw.macs,
    });
    s.write("raw.json", &json.to_string());
    let cli = s.system_id_for("acme-invoice", "raw.json");
    let core = keyward_core::SystemIdCode::compute("acme-invoice", &raw).encode();
    assert_eq!(cli, core);
    let normal = keyward_core::SystemIdCode::compute("acme-invoice", &raw.normalized()).encode();
    assert_eq!(core, normal);
}
