//! The plugin's costs, in one run (`cargo xtask bench`, or `cargo bench -p keyward-host
//! --bench plugin` after `cargo xtask build`):
//! - verifying an authorization code natively (keyward-core) and through the plugin, and the
//!   ratio (goal ≤ 2.0×), for the portable plugin (embedded) and, when
//!   `KEYWARD_PLUGIN_WIDE_WASM` names it (`cargo xtask bench` does), the optional
//!   wide-arithmetic one, in the same run;
//! - a warm `status()` (goal ≤ 20 µs);
//! - a cold start — load, instantiate, first `status()` — with the precompiled component
//!   cached (goal ≤ 5 ms) and without (goal ≤ 150 ms);
//! - the plugin's size, raw and gzipped.
//!
//! Criterion prints its usual statistics; a summary with the goals follows.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{black_box, Criterion};
use keyward_core::{
    eval::Policy, time::DAY, AuthorizationCode, Context, LicenseId, LicenseTerms, MachineFacts,
    MerchantKey, Timestamp, TrustedKeys,
};
use keyward_host::{CacheUse, License, LicenseBuilder};

const SEED: &[u8; 32] = b"keyward fixed test key: not safe";

fn facts() -> MachineFacts {
    MachineFacts {
        machine_id: Some("8f3b1c2d4e5f60718293a4b5c6d7e8f9".into()),
        product_uuid: Some("4c4c4544-003d-4a10-804b-b4c04f4e3732".into()),
        board_serial: Some("CN7016351P00AF".into()),
        disk_serial: Some("S4EVNF0M712345X".into()),
        cpu: Some("GenuineIntel family 6 model 158 stepping 10".into()),
        macs: vec!["04:7c:16:5e:e3:5d".into()],
        ..Default::default()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn code(key: &MerchantKey) -> String {
    let now = now();
    AuthorizationCode::issue(
        key,
        LicenseTerms {
            license_id: LicenseId([0xBE; 8]),
            product: "acme-invoice".into(),
            sku: "pro".into(),
            seats: 1,
            not_before: Timestamp(now - DAY),
            expires: Some(Timestamp(now + 365 * DAY)),
            features: vec!["pro".into()],
            trial: false,
            instance_id: None,
            order_id: None,
        },
        None,
    )
    .map(|c| c.encode())
    .unwrap_or_default()
}

/// The optional wide-arithmetic plugin (`target/dist/keyward-plugin-wide.wasm`), when the
/// environment names it.
fn wide_plugin() -> Option<std::path::PathBuf> {
    std::env::var_os("KEYWARD_PLUGIN_WIDE_WASM")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_file())
}

fn builder(key: &MerchantKey, dir: &Path) -> LicenseBuilder {
    License::builder()
        .trusted_keys_pem(key.public().to_pem())
        .state_dir(dir)
        .product("acme-invoice")
        .facts(facts())
}

/// Mean time per call over `n` calls after a warm-up.
fn mean(n: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..n.min(10) {
        f();
    }
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}

/// Median of `n` single runs (for cold starts, which are not repeatable in a tight loop).
fn median(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut v: Vec<Duration> = (0..n).map(|_| f()).collect();
    v.sort();
    v[n / 2]
}

fn main() {
    let Some(plugin) = keyward_host::embedded_plugin() else {
        eprintln!("no plugin embedded: run `cargo xtask build` (or `cargo xtask bench`) first");
        std::process::exit(1);
    };
    let key = MerchantKey::from_seed(SEED);
    let trusted = TrustedKeys::from_keys([key.public()]);
    let code = code(&key);
    let facts = facts();
    let work = tempfile::tempdir().expect("temp dir");

    // One license for the warm benchmarks, with the code installed.
    let license = builder(&key, &work.path().join("warm"))
        .build()
        .expect("license");
    license.activate(&code).expect("activate");
    assert!(license.has_feature("pro"));
    let wide = wide_plugin().map(|path| {
        let l = builder(&key, &work.path().join("wide"))
            .plugin_path(&path)
            .build()
            .expect("the wide-arithmetic plugin");
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        (l, size)
    });

    let native = |text: &str| {
        let ctx = Context {
            trusted: &trusted,
            facts: &facts,
            hardware_ids: &[],
            now: Timestamp(now()),
            policy: Policy::default(),
        };
        keyward_core::verdict(text, None, &ctx, Timestamp(0))
    };
    assert_eq!(native(&code).code, "active");
    assert_eq!(license.inspect(&code).expect("inspect").code, "active");

    let cold_dir = work.path().join("cold");
    let cache_dir = work.path().join("cache");
    // Fill the cache once.
    builder(&key, &cold_dir)
        .cache_dir(&cache_dir)
        .build()
        .expect("compile");
    let cold = |cached: bool| {
        let start = Instant::now();
        let b = builder(&key, &cold_dir);
        let b = if cached {
            b.cache_dir(&cache_dir)
        } else {
            b.no_cache()
        };
        let l = b.build().expect("license");
        let s = l.status().expect("status");
        let took = start.elapsed();
        assert_eq!(
            l.cache_use(),
            if cached {
                CacheUse::Loaded
            } else {
                CacheUse::Compiled
            }
        );
        black_box(s);
        took
    };

    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    {
        let mut g = c.benchmark_group("verify authorization code");
        g.bench_function("native (keyward-core)", |b| {
            b.iter(|| native(black_box(&code)))
        });
        g.bench_function("plugin (keyward-host)", |b| {
            b.iter(|| license.inspect(black_box(&code)))
        });
        if let Some((wide, _)) = &wide {
            g.bench_function("wide-arithmetic plugin (keyward-host)", |b| {
                b.iter(|| wide.inspect(black_box(&code)))
            });
        }
        g.finish();
    }
    c.bench_function("warm status()", |b| b.iter(|| license.status()));
    c.bench_function("warm has_feature()", |b| {
        b.iter(|| license.has_feature("pro"))
    });
    {
        let mut g = c.benchmark_group("cold start (load + instantiate + first status)");
        g.sample_size(20);
        g.bench_function("precompiled cache", |b| b.iter(|| cold(true)));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(5));
        g.bench_function("no cache (compile)", |b| b.iter(|| cold(false)));
        g.finish();
    }
    c.final_summary();
    // `cargo test --benches` runs each benchmark once as a test; the summary is for
    // `cargo bench`.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    if !benchmarking || std::env::args().any(|a| a == "--test") {
        return;
    }

    // The summary, measured again outside criterion so the figures sit side by side.
    let n = mean(200, || {
        black_box(native(&code));
    });
    let p = mean(200, || {
        black_box(license.inspect(&code).ok());
    });
    let p_wide = wide.as_ref().map(|(l, _)| {
        mean(200, || {
            black_box(l.inspect(&code).ok());
        })
    });
    let warm = mean(20_000, || {
        black_box(license.status().ok());
    });
    let cached = median(21, || cold(true));
    let compiled = median(5, || cold(false));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(plugin).expect("gzip");
    let gz = gz.finish().expect("gzip").len();
    let ratio = p.as_secs_f64() / n.as_secs_f64();
    let ok = |pass: bool| if pass { "ok" } else { "OVER GOAL" };
    println!();
    println!("keyward plugin summary");
    println!("  verify code, native          {:>10.1} µs", us(n));
    println!("  verify code, plugin          {:>10.1} µs", us(p));
    println!(
        "  ratio plugin / native        {:>10.2} x   (goal <= 2.0x: {})",
        ratio,
        ok(ratio <= 2.0)
    );
    match (&wide, p_wide) {
        (Some((_, size)), Some(pw)) => {
            println!("  verify code, wide plugin     {:>10.1} µs", us(pw));
            println!(
                "  ratio wide plugin / native   {:>10.2} x   (optional, wasmtime only; {} bytes raw)",
                pw.as_secs_f64() / n.as_secs_f64(),
                size
            );
        }
        _ => {
            println!("  wide-arithmetic plugin       not measured (KEYWARD_PLUGIN_WIDE_WASM unset)")
        }
    }
    println!(
        "  warm status()                {:>10.2} µs  (goal <= 20 µs: {})",
        us(warm),
        ok(warm <= Duration::from_micros(20))
    );
    println!(
        "  cold start, cached            {:>9.2} ms  (goal <= 5 ms: {})",
        ms(cached),
        ok(cached <= Duration::from_millis(5))
    );
    println!(
        "  cold start, compiling         {:>9.1} ms  (goal <= 150 ms: {})",
        ms(compiled),
        ok(compiled <= Duration::from_millis(150))
    );
    println!(
        "  plugin size                  {:>10} bytes raw, {} bytes gzip (goal <= 150,000 raw: {})",
        plugin.len(),
        gz,
        ok(plugin.len() <= 150_000)
    );
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
