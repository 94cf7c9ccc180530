//! Helpers shared by the CLI's end-to-end tests: a scratch directory with two machines'
//! facts and a merchant key, and a way to run the real `keyward` binary in it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::assert::Assert;
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

/// The product [`Scratch::issue`] issues codes for, and [`Scratch::system_id`] salts with.
pub const PRODUCT: &str = "acme-invoice";

/// The product file [`Scratch::with_key`] writes: [`PRODUCT`] and `k.pem.pub`.
pub const PRODUCT_FILE: &str = "acme-invoice.keyward.toml";

/// A scratch directory: `A.json`, `B.json`, and after [`Scratch::with_key`], `k.pem` and
/// `k.pem.pub`. Commands run with it as their working directory.
pub struct Scratch {
    pub dir: TempDir,
}

impl Scratch {
    /// With the facts files `A.json` and `B.json` only.
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("A.json"), FACTS_A).unwrap();
        std::fs::write(dir.path().join("B.json"), FACTS_B).unwrap();
        Scratch { dir }
    }

    /// With a merchant key pair `k.pem` / `k.pem.pub`, and the product file of
    /// [`PRODUCT`] with that key, [`PRODUCT_FILE`].
    pub fn with_key() -> Scratch {
        let s = Scratch::new();
        s.cmd()
            .args(["keys", "generate", "--out", "k.pem"])
            .assert()
            .code(0);
        s.cmd()
            .args([
                "keys",
                "product-file",
                "--product",
                PRODUCT,
                "--public-key",
                "k.pem.pub",
                "--out",
                PRODUCT_FILE,
            ])
            .assert()
            .code(0);
        s
    }

    /// With a merchant key pair, and a 30-day code issued at [`NOW`] and installed on
    /// machine A (in `state`); returns the code too.
    pub fn with_license() -> (Scratch, String) {
        let s = Scratch::with_key();
        let code = s.issue(&["--days", "30"]);
        s.install(&code);
        (s, code)
    }

    /// The path of `name` in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to `name` in the scratch directory; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The text of `name` in the scratch directory.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    /// `keyward` in the scratch directory (no arguments yet).
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.dir.path());
        // The user's own folders are never read or written by a test: a command without
        // --state-dir gets this scratch folder's "home" (and an earlier real run of
        // keyward on this machine cannot change a test's verdict).
        let home = self.dir.path().join("home");
        c.env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CONFIG_HOME", home.join(".config"));
        c
    }

    /// `keyward --state-dir state --facts FACTS --now NOW …` (a buyer-side command).
    pub fn buyer(&self, facts: &str, now: &str) -> Command {
        self.buyer_in("state", facts, now)
    }

    /// `keyward --state-dir STATE_DIR --facts FACTS --now NOW …`: a buyer-side command
    /// with a state directory of its own (another machine, or a fresh install).
    pub fn buyer_in(&self, state_dir: &str, facts: &str, now: &str) -> Command {
        let mut c = self.cmd();
        c.args(["--state-dir", state_dir, "--facts", facts, "--now", now]);
        c
    }

    /// Runs `keyward ARGS`, expects exit 0 and returns its standard output (untrimmed).
    pub fn stdout(&self, args: &[&str]) -> String {
        let mut c = self.cmd();
        c.args(args);
        ok_stdout(c)
    }

    /// Like [`Scratch::stdout`], with `input` on standard input.
    pub fn stdout_stdin(&self, args: &[&str], input: &str) -> String {
        let mut c = self.cmd();
        c.args(args).write_stdin(input.to_string());
        ok_stdout(c)
    }

    /// Issues a code for [`PRODUCT`] with `k.pem` at [`NOW`] (plus `extra` options),
    /// expects exit 0 and returns the code.
    pub fn issue(&self, extra: &[&str]) -> String {
        let mut args = vec![
            "issue",
            "--key",
            "k.pem",
            "--product",
            PRODUCT,
            "--now",
            NOW,
        ];
        args.extend_from_slice(extra);
        self.stdout(&args).trim().to_string()
    }

    /// The system identification code of the machine described by `facts` for
    /// [`PRODUCT`] (trimmed; `system-id` must exit 0).
    pub fn system_id(&self, facts: &str) -> String {
        self.system_id_for(PRODUCT, facts)
    }

    /// The system identification code for `product` of the machine described by `facts`
    /// (trimmed; `system-id` must exit 0).
    pub fn system_id_for(&self, product: &str, facts: &str) -> String {
        self.stdout(&["system-id", "--product", product, "--facts", facts])
            .trim()
            .to_string()
    }

    /// The activation request (`KR1-…`, untrimmed) that machine `facts` makes at [`NOW`]
    /// for `code` (plus `extra` options); `request` must exit 0.
    /// The request's secret is kept in `state` for machine A, `state-B` for B (never in
    /// the real data directory).
    pub fn request(&self, code: &str, facts: &str, extra: &[&str]) -> String {
        let state = if facts == "B.json" {
            "state-B"
        } else {
            "state"
        };
        let mut args = vec![
            "--state-dir",
            state,
            "request",
            "--public-key",
            "k.pem.pub",
            "--code",
            code,
            "--facts",
            facts,
            "--now",
            NOW,
        ];
        args.extend_from_slice(extra);
        self.stdout(&args)
    }

    /// `activate --json --key k.pem --now NOW EXTRA -` with `request` on standard input:
    /// what [`Scratch::json`] returns.
    pub fn activate_json(&self, request: &str, extra: &[&str]) -> (i32, Value, String) {
        let mut args = vec!["activate", "--json", "--key", "k.pem", "--now", NOW];
        args.extend_from_slice(extra);
        args.push("-");
        self.run_json_stdin(&args, request)
    }

    /// `install --public-key k.pem.pub CREDENTIAL` as the buyer on machine `facts` at
    /// `now`, with state in `state_dir` (not run yet; `-` reads standard input).
    pub fn install_in(&self, state_dir: &str, facts: &str, now: &str, credential: &str) -> Command {
        let mut c = self.buyer_in(state_dir, facts, now);
        c.args(["install", "--public-key", "k.pem.pub", credential]);
        c
    }

    /// Installs `credential` on machine A (state in `state`, at [`NOW`]) and expects
    /// exit 0; the returned [`Assert`] can check more.
    pub fn install(&self, credential: &str) -> Assert {
        self.install_in("state", "A.json", NOW, credential)
            .assert()
            .code(0)
    }

    /// `status --product-file PRODUCT_FILE` (for people) as the buyer on machine `facts`
    /// at `now`; the caller checks the exit code.
    pub fn status(&self, facts: &str, now: &str) -> Assert {
        self.buyer(facts, now)
            .args(["status", "--product-file", PRODUCT_FILE])
            .assert()
    }

    /// `status --json` as the buyer on machine `facts` at `now`: what [`Scratch::json`]
    /// returns.
    pub fn status_json(&self, facts: &str, now: &str) -> (i32, Value, String) {
        let mut c = self.buyer(facts, now);
        c.args(["status", "--json", "--product-file", PRODUCT_FILE]);
        self.json(c)
    }

    /// `inspect FLAGS --public-key k.pem.pub --facts A.json --now NOW CREDENTIAL`: the
    /// full check (signature, machine, time) on machine A (not run yet).
    pub fn inspect_on_a(&self, flags: &[&str], credential: &str) -> Command {
        let mut c = self.cmd();
        c.arg("inspect").args(flags).args([
            "--public-key",
            "k.pem.pub",
            "--facts",
            "A.json",
            "--now",
            NOW,
            credential,
        ]);
        c
    }

    /// [`Scratch::inspect_on_a`] with `--json`: what [`Scratch::json`] returns.
    pub fn inspect_on_a_json(&self, credential: &str) -> (i32, Value, String) {
        self.json(self.inspect_on_a(&["--json"], credential))
    }

    /// Runs `keyward ARGS`: what [`Scratch::json`] returns.
    pub fn run_json(&self, args: &[&str]) -> (i32, Value, String) {
        let mut c = self.cmd();
        c.args(args);
        self.json(c)
    }

    /// Runs `keyward ARGS` with `input` on standard input: what [`Scratch::json`] returns.
    pub fn run_json_stdin(&self, args: &[&str], input: &str) -> (i32, Value, String) {
        let mut c = self.cmd();
        c.args(args).write_stdin(input.to_string());
        self.json(c)
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

/// Runs `cmd`, expects exit 0 and returns its standard output as text.
fn ok_stdout(mut cmd: Command) -> String {
    let out = cmd.assert().code(0).get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

/// The binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_keyward"))
}

/// The license id of a code or certificate, via `inspect --json`.
pub fn license_id(s: &Scratch, text: &str) -> String {
    let (_, v, _) = s.run_json_stdin(&["inspect", "--json", "-"], text);
    v["details"]["terms"]["license_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Sets the clock's high-water mark in the scratch's `state` directory, as a system clock
/// that read `at` would have left it (`--now` never moves it).
pub fn set_high_water(s: &Scratch, at: &str) {
    let path = s.path("state/state.bin");
    let mut st = keyward_core::LicenseState::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
    st.high_water = keyward_core::Timestamp::parse(at).unwrap();
    std::fs::write(&path, st.to_bytes().unwrap()).unwrap();
}

/// The state saved in the scratch's `state` directory.
pub fn saved_state(s: &Scratch) -> keyward_core::LicenseState {
    keyward_core::LicenseState::from_bytes(&std::fs::read(s.path("state/state.bin")).unwrap())
        .unwrap()
}

/// Makes `dir` read-only for this process: mode 0555, or, for root (whom modes do not
/// stop), the immutable attribute; `on = false` undoes it. Returns false if neither works.
#[cfg(unix)]
pub fn make_read_only(dir: &Path, on: bool) -> bool {
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
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        return true;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join(".probe");
    if std::fs::write(&probe, b"").is_err() {
        return true;
    }
    let _ = std::fs::remove_file(&probe);
    chattr("+i") && std::fs::write(&probe, b"").is_err()
}
