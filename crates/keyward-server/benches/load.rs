//! The merchant service's load benchmark (`cargo xtask bench`; not a test): a server in a
//! child process (this same binary, as `KEYWARD_BENCH_ROLE=server`), and a load generator
//! here, on 127.0.0.1, at 32 concurrent connections:
//! - activations per second and p50/p99 latency, each activation durable before it is
//!   answered (SQLite synchronous=NORMAL with WAL: kill -9 safe; PostgreSQL
//!   synchronous_commit=on), and the server's peak resident memory;
//! - the marketplace's signed License 2.0 callbacks per second through the full check
//!   (signature, timestamp, nonce stored, idempotency, the renewal's signed update written),
//!   on licenses bridged from `PL…` codes by the stand-in marketplace (in this process).
//!
//! Bounded: a few seconds and at most `MAX_REQUESTS` calls per measurement. PostgreSQL is
//! measured when `KEYWARD_TEST_POSTGRES` names a server (xtask starts one).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyward_core::{
    time::DAY, AuthorizationCode, LicenseId, LicenseTerms, MachineFacts, MerchantKey, SystemIdCode,
    Timestamp,
};
use keyward_marketplace::openapi::MarketStatus;
use keyward_marketplace::stand_in::{self, MarketLicense, StandIn};
use keyward_marketplace::AccessKey;
use keyward_server::marketplace::{MarketplaceSettings, ProductMapping};
use keyward_server::{Config, Server, Settings};

const CONNECTIONS: usize = 32;
const WARMUP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);
const MAX_REQUESTS: usize = 60_000;
const SEED: [u8; 32] = [3; 32];
/// The key the (stand-in) marketplace signs its callbacks with.
const CALLBACK_KEY: &str = "bench-callback-key";

fn main() {
    if std::env::var("KEYWARD_BENCH_ROLE").as_deref() == Ok("server") {
        serve();
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: then only check
    // that this builds, without the load.
    if !std::env::args().any(|a| a == "--bench") {
        println!("server load benchmark: run it with `cargo xtask bench`");
        return;
    }
    let mut backends = vec![("SQLite", None, 2000.0)];
    if let Ok(url) = std::env::var("KEYWARD_TEST_POSTGRES") {
        if !url.is_empty() {
            backends.push(("PostgreSQL", Some(url), 1000.0));
        }
    } else {
        println!(
            "server: PostgreSQL SKIPPED (set KEYWARD_TEST_POSTGRES, or run `cargo xtask bench`)"
        );
    }
    for (name, url, goal) in &backends {
        let db = url.as_ref().map(|u| fresh_db(u));
        measure(name, db, *goal);
    }
    for (name, url, _) in &backends {
        let db = url.as_ref().map(|u| fresh_db(u));
        measure_callbacks(name, db);
    }
}

/// The server role: serves until its standard input closes.
fn serve() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let data = std::env::var("KEYWARD_BENCH_DATA").unwrap();
        // With a stand-in marketplace: its callbacks and the PL bridge, as configured in
        // production (one product mapping).
        let marketplace =
            std::env::var("KEYWARD_BENCH_MARKET")
                .ok()
                .map(|url| MarketplaceSettings {
                    callback_keys: Some(vec![CALLBACK_KEY.into()]),
                    api_hosts: Some(vec![url]),
                    access_key_id: Some("AK1".into()),
                    secret_access_key: Some("SK1".into()),
                    reconcile_interval_hours: Some(0),
                    products: Some(vec![ProductMapping {
                        product_id: "OFFER-1".into(),
                        sku_code: None,
                        product: "acme-invoice".into(),
                        sku: "pro".into(),
                        seats: 1,
                        features: vec![],
                        days: None,
                    }]),
                    ..MarketplaceSettings::default()
                });
        let config = Config::resolve(Settings {
            data_dir: Some(data.into()),
            listen: Some("127.0.0.1:0".into()),
            database: std::env::var("KEYWARD_BENCH_DATABASE").ok(),
            rate_limit_per_minute: Some(0),
            marketplace,
            ..Settings::default()
        })
        .unwrap();
        let server = Server::start(&config).await.unwrap();
        println!("ADDR {}", server.local_addr());
        let _ = std::io::stdout().flush();
        server
            .run(async {
                // EOF on stdin: the generator is done.
                let _ = tokio::task::spawn_blocking(|| {
                    let mut s = String::new();
                    while std::io::stdin().read_line(&mut s).is_ok_and(|n| n > 0) {}
                })
                .await;
            })
            .await
            .unwrap();
    });
}

fn fresh_db(server: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let name = format!("kwbench_{}", std::process::id());
        let mut c = sqlx::PgConnection::connect(server).await.unwrap();
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&mut c)
        .await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await
            .unwrap();
        let (base, _) = server.rsplit_once('/').unwrap();
        format!("{base}/{name}")
    })
}

/// Peak and current resident memory of a process, in bytes (Linux).
fn rss(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = s.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// The server role in a child process; its address and pid. Stopped when its standard
/// input closes (`stop`).
struct Child {
    child: std::process::Child,
    addr: String,
    _data: tempfile::TempDir,
}

impl Child {
    fn start(database: Option<&str>, market: Option<&str>) -> Child {
        let data = tempfile::tempdir().unwrap();
        let key = MerchantKey::from_seed(&SEED);
        std::fs::write(data.path().join("merchant.pem"), key.to_pem()).unwrap();
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env("KEYWARD_BENCH_ROLE", "server")
            .env("KEYWARD_BENCH_DATA", data.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(db) = database {
            cmd.env("KEYWARD_BENCH_DATABASE", db);
        }
        if let Some(m) = market {
            cmd.env("KEYWARD_BENCH_MARKET", m);
        }
        let mut child = cmd.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("ADDR ").unwrap().to_string();
        Child {
            child,
            addr,
            _data: data,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server; its resident memory's high-water mark first.
    fn stop(mut self) -> u64 {
        let (peak, _) = rss(self.pid()).unwrap_or((0, 0));
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        peak
    }
}

/// What a load run measured.
struct Run {
    latencies: Vec<Duration>,
    elapsed: Duration,
    errors: u64,
    peak_during: u64,
}

/// Sends each connection's calls (POST url, JSON body) in turn, 32 connections at once, for
/// the warm-up and the measured time; a call counts as an error unless `ok(status, body)`.
fn drive(calls: Vec<Vec<(String, String)>>, pid: u32, ok: fn(u16, &[u8]) -> bool) -> Run {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let peak_during = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (latencies, elapsed, errors) = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CONNECTIONS)
            .build()
            .unwrap();
        let start = Instant::now();
        let measure_from = start + WARMUP;
        let end = measure_from + MEASURE;
        let sampler = {
            let peak = peak_during.clone();
            tokio::spawn(async move {
                while Instant::now() < end {
                    if let Some((_, cur)) = rss(pid) {
                        peak.fetch_max(cur, std::sync::atomic::Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        let tasks: Vec<_> = calls
            .into_iter()
            .map(|calls| {
                let client = client.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    for (url, body) in calls {
                        let t = Instant::now();
                        if t >= end {
                            break;
                        }
                        let r = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await;
                        let good = match r {
                            Ok(r) => {
                                let status = r.status().as_u16();
                                r.bytes().await.is_ok_and(|b| ok(status, &b))
                            }
                            Err(_) => false,
                        };
                        if !good {
                            errors += 1;
                        }
                        if t >= measure_from {
                            lat.push(t.elapsed());
                        }
                    }
                    (lat, errors)
                })
            })
            .collect();
        let mut all = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (l, e) = t.await.unwrap();
            all.extend(l);
            errors += e;
        }
        let _ = sampler.await;
        let elapsed = Instant::now()
            .min(end)
            .saturating_duration_since(measure_from);
        (all, elapsed, errors)
    });
    Run {
        latencies,
        elapsed,
        errors,
        peak_during: peak_during.load(std::sync::atomic::Ordering::Relaxed),
    }
}

impl Run {
    /// Calls per second, p50 and p99 in milliseconds, and how many were measured.
    fn figures(&mut self) -> (f64, f64, f64, usize) {
        let l = &mut self.latencies;
        l.sort();
        let n = l.len();
        let pct = |p: f64| {
            l.get(((n as f64 * p) as usize).min(n.saturating_sub(1)))
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1000.0
        };
        let rate = n as f64 / self.elapsed.as_secs_f64().max(1e-9);
        (rate, pct(0.50), pct(0.99), n)
    }
}

fn measure(name: &str, database: Option<String>, goal: f64) {
    let server = Child::start(database.as_deref(), None);
    let addr = server.addr.clone();
    let key = MerchantKey::from_seed(&SEED);
    // Codes with seats enough for every activation, and machine ids made beforehand.
    let now = Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );
    let codes: Vec<String> = (0..CONNECTIONS as u8)
        .map(|i| {
            let terms = LicenseTerms {
                license_id: LicenseId([0xbe, 0, 0, 0, 0, 0, 0, i]),
                product: "acme-invoice".into(),
                sku: String::new(),
                seats: 1_000_000,
                not_before: now,
                expires: Some(now.add_secs(30 * DAY)),
                features: vec![],
                trial: false,
                instance_id: None,
                order_id: None,
            };
            AuthorizationCode::issue(&key, terms, None)
                .unwrap()
                .encode()
        })
        .collect();
    let per_conn = MAX_REQUESTS / CONNECTIONS + 1;
    let url = format!("http://{addr}/api/v1/activations");
    let calls: Vec<Vec<(String, String)>> = (0..CONNECTIONS)
        .map(|c| {
            (0..per_conn)
                .map(|i| {
                    let sys = SystemIdCode::compute(
                        "acme-invoice",
                        &MachineFacts {
                            machine_id: Some(format!("bench-{c}-{i}")),
                            disk_serial: Some(format!("disk-{i}")),
                            ..MachineFacts::default()
                        },
                    );
                    (
                        url.clone(),
                        serde_json::json!({"code": codes[c], "system_id": sys.to_string()})
                            .to_string(),
                    )
                })
                .collect()
        })
        .collect();

    let pid = server.pid();
    let mut run = drive(calls, pid, |status, _| (200..300).contains(&status));
    let peak = server.stop();
    let (rate, p50, p99, n) = run.figures();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "server: activations with {name}, {CONNECTIONS} connections: {rate:.0}/s (goal ≥ {goal:.0}/s), p50 {p50:.2} ms, p99 {p99:.2} ms (goal ≤ 20 ms), {n} measured, {} errors",
        run.errors
    );
    println!(
        "server: resident memory under load with {name}: {:.1} MiB peak during the run, {:.1} MiB high-water (goal ≤ 64 MiB)",
        mib(run.peak_during),
        mib(peak),
    );
}

/// Signed License 2.0 callbacks (renewals, each a new effect: its own order and expiry)
/// through the full check, on 32 licenses bridged from `PL…` codes first.
fn measure_callbacks(name: &str, database: Option<String>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let market = rt
        .block_on(StandIn::start("AK1", AccessKey::new("SK1")))
        .unwrap();
    let server = Child::start(database.as_deref(), Some(&market.url()));
    let base = format!("http://{}", server.addr);
    let now = Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );
    // Bridge one PL code per connection (the service asks the stand-in to activate it).
    let codes: Vec<String> = (0..CONNECTIONS).map(|c| format!("PLBENCH{c:05}")).collect();
    rt.block_on(async {
        let http = reqwest::Client::new();
        for (c, code) in codes.iter().enumerate() {
            market.put(
                code,
                MarketLicense {
                    status: MarketStatus::Alive,
                    expire_time: Some(now.add_secs(30 * DAY).floor_minute()),
                    delivered: true,
                    activated: None,
                    product_id: "OFFER-1".into(),
                    order_id: format!("ORDER-{c}"),
                },
            );
            let sys = SystemIdCode::compute(
                "acme-invoice",
                &MachineFacts {
                    machine_id: Some(format!("bench-callbacks-{c}")),
                    ..MachineFacts::default()
                },
            );
            let r = http
                .post(format!("{base}/api/v1/activations"))
                .json(&serde_json::json!({"code": code, "system_id": sys.to_string()}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "bridging {code}: {}", r.status());
        }
    });
    // Renewals signed beforehand: a new order and a later expiry each, a fresh nonce.
    let endpoint = format!("{base}/marketplace/license");
    let key = AccessKey::new(CALLBACK_KEY);
    let ts_ms = now.secs() * 1000;
    let per_conn = MAX_REQUESTS / CONNECTIONS + 1;
    let calls: Vec<Vec<(String, String)>> = codes
        .iter()
        .enumerate()
        .map(|(c, code)| {
            (0..per_conn)
                .map(|i| {
                    let expire = Timestamp::parse("2030-01-01T00:00:00Z")
                        .unwrap()
                        .add_secs(i as u64 * 60);
                    let body = serde_json::json!({
                        "activity": "refreshLicenseCode", "scene": "RENEWAL",
                        "orderId": format!("RENEW-{c}-{i}"), "license": code,
                        "expireTime": keyward_marketplace::compact_time(expire),
                        "testFlag": "0",
                    });
                    let call = stand_in::sign_callback(
                        &endpoint,
                        &key,
                        &body,
                        ts_ms,
                        &format!("n-{c}-{i}"),
                    );
                    (call.url, String::from_utf8(call.body).unwrap())
                })
                .collect()
        })
        .collect();
    let mut run = drive(calls, server.pid(), |status, body| {
        status == 200
            && serde_json::from_slice::<serde_json::Value>(body)
                .is_ok_and(|v| v["resultCode"] == "000000")
    });
    let _ = server.stop();
    drop(market);
    let (rate, p50, p99, n) = run.figures();
    println!(
        "server: marketplace callbacks with {name}, {CONNECTIONS} connections: {rate:.0}/s (goal ≥ 2000/s on SQLite), p50 {p50:.2} ms, p99 {p99:.2} ms, {n} measured, {} errors",
        run.errors
    );
}
