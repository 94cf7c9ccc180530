//! The merchant service's load benchmark (`cargo xtask bench`; not a test): a server in a
//! child process (this same binary, as `KEYWARD_BENCH_ROLE=server`), and a load generator
//! here, on 127.0.0.1: activations per second and p50/p99 latency at 32 concurrent
//! connections, each activation durable before it is answered (SQLite synchronous=NORMAL
//! with WAL: kill -9 safe; PostgreSQL synchronous_commit=on), and the server's peak resident
//! memory. Bounded: a few seconds and at most `MAX_REQUESTS` activations per database.
//! PostgreSQL is measured when `KEYWARD_TEST_POSTGRES` names a server (xtask starts one).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyward_core::{
    AuthorizationCode, LicenseId, LicenseTerms, MachineFacts, MerchantKey, SystemIdCode, Timestamp,
    DAY,
};
use keyward_server::{Config, Server, Settings};

const CONNECTIONS: usize = 32;
const WARMUP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);
const MAX_REQUESTS: usize = 60_000;
const SEED: [u8; 32] = [3; 32];

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
    for (name, url, goal) in backends {
        let db = url.map(|u| fresh_db(&u));
        measure(name, db, goal);
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
        let config = Config::resolve(Settings {
            data_dir: Some(data.into()),
            listen: Some("127.0.0.1:0".into()),
            database: std::env::var("KEYWARD_BENCH_DATABASE").ok(),
            rate_limit_per_minute: Some(0),
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

fn measure(name: &str, database: Option<String>, goal: f64) {
    let data = tempfile::tempdir().unwrap();
    let key = MerchantKey::from_seed(&SEED);
    std::fs::write(data.path().join("merchant.pem"), key.to_pem()).unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("KEYWARD_BENCH_ROLE", "server")
        .env("KEYWARD_BENCH_DATA", data.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Some(db) = &database {
        cmd.env("KEYWARD_BENCH_DATABASE", db);
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("ADDR ").unwrap().to_string();
    let pid = child.id();

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
    let bodies: Vec<Vec<String>> = (0..CONNECTIONS)
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
                    serde_json::json!({"code": codes[c], "system_id": sys.to_string()}).to_string()
                })
                .collect()
        })
        .collect();

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
        let url = format!("http://{addr}/api/v1/activations");
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
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|bodies| {
                let client = client.clone();
                let url = url.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    for body in bodies {
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
                        let ok = match r {
                            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                            Err(_) => false,
                        };
                        if !ok {
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
    let (peak, _) = rss(pid).unwrap_or((0, 0));
    drop(child.stdin.take());
    let _ = child.wait();

    let mut l = latencies;
    l.sort();
    let n = l.len();
    let pct = |p: f64| {
        l.get(((n as f64 * p) as usize).min(n.saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let rate = n as f64 / elapsed.as_secs_f64().max(1e-9);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "server: activations with {name}, {CONNECTIONS} connections: {rate:.0}/s (goal ≥ {goal:.0}/s), p50 {:.2} ms, p99 {:.2} ms (goal ≤ 20 ms), {n} measured, {errors} errors",
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
    );
    println!(
        "server: resident memory under load with {name}: {:.1} MiB peak during the run, {:.1} MiB high-water (goal ≤ 64 MiB)",
        mib(peak_during.load(std::sync::atomic::Ordering::Relaxed)),
        mib(peak),
    );
}
