//! Helpers shared by the CLI's end-to-end tests: a scratch directory with two machines'
//! facts and a merchant key, and a way to run the real `keyward` binary in it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// Facts of machine A (the vectors' "this machine").
pub const FACTS_A: &str = r#"{
  "machine_id": "8f3b1c2d4e5f60718293a4b5c6d7e8f9",
  "product_uuid": "4c4c4544-003d-4a10-804b-b4c04f4e3732",
  "board_serial": "CN7016351P00AF",
  "disk_serial": "S4EVNF0M712345X",
  "cpu": "GenuineIntel family 6 model 158 stepping 10",
  "macs": ["04:7c:16:5e:e3:5d", "04:7c:16:5e:e3:5e"]
}"#;

/// Facts of machine B: nothing in common with A, and no mainboard fact.
pub const FACTS_B: &str = r#"{
  "machine_id": "0123456789abcdef0123456789abcdef",
  "disk_serial": "WD-OTHER-DISK",
  "cpu": "AuthenticAMD family 25 model 33 stepping 0",
  "macs": ["02:11:22:33:44:55"]
}"#;

/// The time every test runs at, unless it says otherwise.
pub const NOW: &str = "2026-11-20T12:00:00Z";

/// A scratch directory: `A.json`, `B.json`, and after [`Scratch::with_key`], `k.pem` and
/// `k.pem.pub`. Commands run with it as their working directory.
pub struct Scratch {
    pub dir: TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("A.json"), FACTS_A).unwrap();
        std::fs::write(dir.path().join("B.json"), FACTS_B).unwrap();
        Scratch { dir }
    }

    /// With a merchant key pair `k.pem` / `k.pem.pub`.
    pub fn with_key() -> Scratch {
        let s = Scratch::new();
        s.cmd()
            .args(["keys", "generate", "--out", "k.pem"])
            .assert()
            .code(0);
        s
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    /// `keyward` in the scratch directory (no arguments yet).
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.dir.path());
        c
    }

    /// `keyward --state-dir state --facts FACTS --now NOW …` (a buyer-side command).
    pub fn buyer(&self, facts: &str, now: &str) -> Command {
        let mut c = self.cmd();
        c.args(["--state-dir", "state", "--facts", facts, "--now", now]);
        c
    }

    /// Issues a code with `k.pem` and returns it.
    pub fn issue(&self, extra: &[&str]) -> String {
        let out = self
            .cmd()
            .args([
                "issue",
                "--key",
                "k.pem",
                "--product",
                "acme-invoice",
                "--now",
                NOW,
            ])
            .args(extra)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap().trim().to_string()
    }

    /// Runs a command and returns (exit code, stdout JSON, stderr).
    pub fn json(&self, mut cmd: Command) -> (i32, Value, String) {
        let out = cmd.output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let v = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout:?}"));
        (code, v, String::from_utf8_lossy(&out.stderr).to_string())
    }
}

/// The binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_keyward"))
}

/// The license id of a code or certificate, via `inspect --json`.
pub fn license_id(s: &Scratch, text: &str) -> String {
    let (_, v, _) = s.json({
        let mut c = s.cmd();
        c.args(["inspect", "--json", "-"])
            .write_stdin(text.to_string());
        c
    });
    v["details"]["terms"]["license_id"]
        .as_str()
        .unwrap()
        .to_string()
}
