//! `keyward serve` as a real process: first start, `kill -9` during a load of activations
//! (nothing answered is lost, no license over its seats, the database intact), SIGTERM
//! during load (requests in flight complete), and `keyward admin` against it. Bounded: a
//! few seconds of load from a few threads on 127.0.0.1.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward_core::{
    time::DAY, AuthorizationCode, LicenseId, LicenseTerms, MachineFacts, MerchantKey, SystemIdCode,
    Timestamp,
};
use serde_json::{json, Value};

fn keyward() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("keyward"))
}

struct Serve {
    child: Child,
    base: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

/// Starts `keyward serve` on a free port and waits for its "listening on" line.
fn serve(data: &Path) -> Serve {
    let mut child = keyward()
        .args(["serve", "--data-dir"])
        .arg(data)
        .args(["--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let keep = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = tx.send(addr.trim().to_string());
            }
            keep.lock().unwrap().push(line);
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no 'listening on' line: {:?}", lines.lock().unwrap()));
    Serve {
        child,
        base,
        stderr: lines,
    }
}

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

fn codes(data: &Path, n: u8, seats: u32) -> Vec<String> {
    let key = MerchantKey::from_pem(&std::fs::read_to_string(data.join("merchant.pem")).unwrap())
        .unwrap();
    (0..n)
        .map(|i| {
            let terms = LicenseTerms {
                license_id: LicenseId([0xcd, 0, 0, 0, 0, 0, 0, i]),
                product: "acme-invoice".into(),
                sku: String::new(),
                seats,
                not_before: now(),
                expires: Some(now().add_secs(30 * DAY)),
                features: vec![],
                trial: false,
                instance_id: None,
                order_id: None,
            };
            AuthorizationCode::issue(&key, terms, None)
                .unwrap()
                .encode()
        })
        .collect()
}

fn system_id(n: u64) -> String {
    SystemIdCode::compute(
        "acme-invoice",
        &MachineFacts {
            machine_id: Some(format!("m-{n}")),
            disk_serial: Some(format!("d-{n}")),
            ..MachineFacts::default()
        },
    )
    .to_string()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// What the load saw: certificates answered (license, machine, certificate), and whether
/// an answer arrived after `stop_sent` was set.
#[derive(Default)]
struct Seen {
    answered: Vec<(String, String, String)>,
    answered_after_stop: usize,
    failures: Vec<String>,
}

/// Threads posting activations until one of them cannot reach the server (or `deadline`).
fn load(
    base: &str,
    codes: Vec<String>,
    threads: u64,
    stop_sent: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Seen>> {
    (0..threads)
        .map(|t| {
            let base = base.to_string();
            let codes = codes.clone();
            let stop_sent = stop_sent.clone();
            std::thread::spawn(move || {
                let a = agent();
                let mut seen = Seen::default();
                let deadline = Instant::now() + Duration::from_secs(30);
                let mut i = 0u64;
                while Instant::now() < deadline {
                    i += 1;
                    let code = &codes[(i as usize + t as usize) % codes.len()];
                    let machine = system_id(t * 1_000_000 + i);
                    let r = a
                        .post(&format!("{base}/api/v1/activations"))
                        .send_json(json!({"code": code, "system_id": machine}));
                    match r {
                        Ok(mut r) => {
                            let status = r.status().as_u16();
                            let v: Value = r.body_mut().read_json().unwrap();
                            match status {
                                200 => {
                                    // Answered after the signal was sent.
                                    if stop_sent.load(Ordering::SeqCst) {
                                        seen.answered_after_stop += 1;
                                    }
                                    seen.answered.push((
                                        v["license_id"].as_str().unwrap().into(),
                                        v["machine"].as_str().unwrap().into(),
                                        v["certificate"].as_str().unwrap().into(),
                                    ));
                                }
                                409 => assert_eq!(v["code"], "no_seat_left"),
                                other => seen.failures.push(format!("HTTP {other}: {v}")),
                            }
                        }
                        // The server is gone: this thread's load ends.
                        Err(e) => {
                            if !stop_sent.load(Ordering::SeqCst) {
                                seen.failures.push(format!("before any signal: {e}"));
                            }
                            break;
                        }
                    }
                }
                seen
            })
        })
        .collect()
}

/// The ledger, read back through the admin API of a (re)started server.
fn export(base: &str, data: &Path) -> Vec<Value> {
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
    let mut r = agent()
        .get(&format!("{base}/api/v1/admin/export?format=jsonl"))
        .header("Authorization", &format!("Bearer {}", token.trim()))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.body_mut()
        .read_to_string()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every answered certificate is a live activation in the ledger; no license is over its
/// seats.
fn check_ledger(ledger: &[Value], answered: &[(String, String, String)]) {
    let mut live = std::collections::HashMap::new();
    for l in ledger {
        let seats = l["seats"].as_u64().unwrap();
        let acts = l["activations"].as_array().unwrap();
        let n = acts.iter().filter(|a| a["deactivated"].is_null()).count() as u64;
        assert!(
            n <= seats,
            "license {} has {n} live activations for {seats} seats",
            l["license_id"]
        );
        for a in acts {
            live.insert(
                (
                    a["license_id"].as_str().unwrap().to_string(),
                    a["machine"].as_str().unwrap().to_string(),
                ),
                a["certificate"].as_str().unwrap().to_string(),
            );
        }
    }
    for (license, machine, cert) in answered {
        let stored = live
            .get(&(license.clone(), machine.clone()))
            .unwrap_or_else(|| {
                panic!("answered activation of {license} on {machine} is not in the ledger")
            });
        assert_eq!(
            stored, cert,
            "the stored certificate differs from the one answered"
        );
    }
}

fn integrity(data: &Path) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let l = keyward_server::ledger::SqliteLedger::open(
            &data.join("keyward.db"),
            Default::default(),
        )
        .await
        .unwrap();
        let r = l.integrity_check().await.unwrap();
        keyward_server::Ledger::close(&l).await;
        r
    })
}

#[test]
fn first_start_makes_a_private_key_and_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = serve(&data);
    use std::os::unix::fs::PermissionsExt;
    for f in ["merchant.pem", "admin-token"] {
        let mode = std::fs::metadata(data.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let said = s.stderr.lock().unwrap().join("\n");
    assert!(
        said.contains("generated the merchant key") && said.contains("merchant.pem"),
        "{said}"
    );
    assert!(said.contains("generated the admin token"), "{said}");
    assert!(
        !said.contains(
            &std::fs::read_to_string(data.join("admin-token"))
                .unwrap()
                .trim()
                .to_string()
        ),
        "the token was printed"
    );
    // keyward admin against it.
    let token = data.join("admin-token");
    let out = keyward()
        .args(["admin", "--server", &s.base, "--token-file"])
        .arg(&token)
        .args([
            "issue",
            "--product",
            "acme-invoice",
            "--seats",
            "2",
            "--days",
            "10",
            "--count",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let codes: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(codes.len(), 2);
    assert!(codes.iter().all(|c| c.starts_with("KA1-")));
    let out = keyward()
        .args(["--json", "admin", "--server", &s.base, "--token-file"])
        .arg(&token)
        .args(["list"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["licenses"].as_array().unwrap().len(), 2);
    // The marketplace's calls for a license: none for one the merchant issued; an unknown
    // license is the service's not_found.
    let id = v["licenses"][0]["license_id"].as_str().unwrap().to_string();
    let events = |id: &str| {
        keyward()
            .args(["--json", "admin", "--server", &s.base, "--token-file"])
            .arg(&token)
            .args(["events", id])
            .output()
            .unwrap()
    };
    let out = events(&id);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["events"], serde_json::json!([]), "{v}");
    let out = keyward()
        .args(["admin", "--server", &s.base, "--token-file"])
        .arg(&token)
        .args(["events", &id])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("The marketplace's calls for license {id} (0):\n")
    );
    let out = events("00000000000000ff");
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "not_found", "{v}");
    // `admin show` for people: the license, its seats, machines, updates and audit log, with
    // readable times (the JSON, certificates included, with --json).
    let out = keyward()
        .args(["admin", "--server", &s.base, "--token-file"])
        .arg(&token)
        .args(["show", &id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    for part in [
        format!("License {id}: acme-invoice, active"),
        "seats        0 of 2 in use".to_string(),
        "Machines (0):".to_string(),
        "Audit log (1):".to_string(),
        "admin        issue".to_string(),
        format!("keyward --json admin show {id}"),
    ] {
        assert!(shown.contains(&part), "{part:?} missing from:\n{shown}");
    }
    assert!(
        !shown.contains("\"audit\""),
        "JSON without --json:\n{shown}"
    );
    // export --out: a new file; an existing one (an earlier export, the token file) is left
    // alone without --force.
    let export = |out: &Path, force: bool| {
        let mut c = keyward();
        c.args(["admin", "--server", &s.base, "--token-file"])
            .arg(&token)
            .args(["export", "--format", "csv", "--out"])
            .arg(out);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    let csv = dir.path().join("ledger.csv");
    assert!(export(&csv, false).status.success());
    let first = std::fs::read_to_string(&csv).unwrap();
    assert!(first.starts_with("license_id,"), "{first}");
    std::fs::write(&csv, "the merchant's own notes").unwrap();
    let out = export(&csv, false);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "the merchant's own notes"
    );
    assert!(export(&csv, true).status.success());
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), first);
    let out = export(&token, true);
    assert_eq!(out.status.code(), Some(2), "the token file is an input");
    // --server and --token-file also work after the operation, where a merchant types them.
    let out = keyward()
        .args(["admin", "list", "--server", &s.base, "--token-file"])
        .arg(&token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A value the service refuses (bad_request) is invalid input: exit 3, with its sentence.
    let out = keyward()
        .args(["admin", "issue", "--product", "acme-invoice", "--days", "0"])
        .args(["--server", &s.base, "--token-file"])
        .arg(&token)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("days must be at least 1"));
    // A wrong token: the service's refusal, with its code and exit status.
    let out = keyward()
        .args(["admin", "--server", &s.base, "list"])
        .env("KEYWARD_ADMIN_TOKEN", "not-the-token-at-all")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Authorization: Bearer"));
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    // A second start reuses the key and the token.
    let key_before = std::fs::read(data.join("merchant.pem")).unwrap();
    let mut s = serve(&data);
    assert_eq!(
        std::fs::read(data.join("merchant.pem")).unwrap(),
        key_before
    );
    assert!(!s.stderr.lock().unwrap().join("\n").contains("generated"));
    s.child.kill().unwrap();
    s.child.wait().unwrap();
}

#[test]
fn kill_9_during_load_loses_nothing_answered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = serve(&data);
    let codes = codes(&data, 8, 100_000);
    let stop = Arc::new(AtomicBool::new(false));
    let threads = load(&s.base, codes, 8, stop.clone());
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::SeqCst);
    s.child.kill().unwrap(); // SIGKILL
    s.child.wait().unwrap();
    let mut answered = Vec::new();
    for t in threads {
        let seen = t.join().unwrap();
        assert!(seen.failures.is_empty(), "{:?}", seen.failures);
        answered.extend(seen.answered);
    }
    assert!(
        answered.len() > 20,
        "too little load to test anything: {}",
        answered.len()
    );
    assert_eq!(integrity(&data), "ok");
    let mut s = serve(&data);
    check_ledger(&export(&s.base, &data), &answered);
    s.child.kill().unwrap();
    s.child.wait().unwrap();
}

#[test]
fn sigterm_during_load_lets_requests_in_flight_complete() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = serve(&data);
    let codes = codes(&data, 4, 100_000);
    let stop = Arc::new(AtomicBool::new(false));
    let threads = load(&s.base, codes, 16, stop.clone());
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::SeqCst);
    let term = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let started = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "keyward serve did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "keyward serve exited with {status} after SIGTERM"
    );
    let mut answered = Vec::new();
    let mut after = 0;
    for t in threads {
        let seen = t.join().unwrap();
        assert!(seen.failures.is_empty(), "{:?}", seen.failures);
        after += seen.answered_after_stop;
        answered.extend(seen.answered);
    }
    // Requests that were being served when the signal came were answered, not cut off.
    assert!(after > 0, "no request in flight at SIGTERM was answered");
    assert_eq!(integrity(&data), "ok");
    let mut s = serve(&data);
    check_ledger(&export(&s.base, &data), &answered);
    s.child.kill().unwrap();
    s.child.wait().unwrap();
}

/// The PostgreSQL server for the tests, or `None` (the case is skipped, and says so) unless
/// `KEYWARD_REQUIRE_POSTGRES=1` (`cargo xtask test`), which makes a missing URL a failure.
fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("KEYWARD_TEST_POSTGRES") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert_ne!(
                std::env::var("KEYWARD_REQUIRE_POSTGRES").as_deref(),
                Ok("1"),
                "KEYWARD_REQUIRE_POSTGRES=1 but KEYWARD_TEST_POSTGRES is not set"
            );
            eprintln!("{test}: SKIPPED (no KEYWARD_TEST_POSTGRES; `cargo xtask test` starts one)");
            None
        }
    }
}

#[test]
fn two_servers_on_one_postgres_race_for_the_last_seat() {
    let Some(url) = postgres_url("two_servers_on_one_postgres") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let start = |name: &str| {
        let data = dir.path().join(name);
        std::fs::create_dir_all(&data).unwrap();
        // Both sign with the same merchant key.
        std::fs::write(
            data.join("merchant.pem"),
            MerchantKey::from_seed(&[4; 32]).to_pem(),
        )
        .unwrap();
        let mut child = keyward()
            .args(["serve", "--data-dir"])
            .arg(&data)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--rate-limit",
                "0",
                "--database",
                &url,
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("keyward serve ended").unwrap();
            if let Some(a) = line.split("listening on ").nth(1) {
                break a.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        (child, base)
    };
    // Started together: migrations run once, under the advisory lock.
    let (mut a, base_a) = start("a");
    let (mut b, base_b) = start("b");
    // A license of this run only (the database may outlive a run).
    let mut id = [0u8; 8];
    id.copy_from_slice(&now().0.to_be_bytes());
    id[0] = 0xee;
    id[7] ^= std::process::id() as u8;
    let code = AuthorizationCode::issue(
        &MerchantKey::from_seed(&[4; 32]),
        LicenseTerms {
            license_id: LicenseId(id),
            product: "acme-invoice".into(),
            sku: String::new(),
            seats: 1,
            not_before: now(),
            expires: Some(now().add_secs(DAY)),
            features: vec![],
            trial: false,
            instance_id: None,
            order_id: None,
        },
        None,
    )
    .unwrap()
    .encode();
    let threads: Vec<_> = (0..20u64)
        .map(|i| {
            let base = if i % 2 == 0 {
                base_a.clone()
            } else {
                base_b.clone()
            };
            let code = code.clone();
            std::thread::spawn(move || {
                let mut r = agent()
                    .post(&format!("{base}/api/v1/activations"))
                    .send_json(json!({"code": code, "system_id": system_id(9_000 + i)}))
                    .unwrap();
                let v: Value = r.body_mut().read_json().unwrap();
                (r.status().as_u16(), v)
            })
        })
        .collect();
    let mut ok = 0;
    for t in threads {
        let (status, v) = t.join().unwrap();
        match status {
            200 => ok += 1,
            409 => assert_eq!(v["code"], "no_seat_left"),
            other => panic!("HTTP {other}: {v}"),
        }
    }
    assert_eq!(
        ok, 1,
        "two servers gave out {ok} seats of a one-seat license"
    );
    a.kill().unwrap();
    b.kill().unwrap();
    a.wait().unwrap();
    b.wait().unwrap();
}
