//! The sandbox: what the component imports, limits that stop runaway or hostile calls,
//! hostile input, the precompiled cache, threads.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use keyward_core::{eval::Policy, Context, Timestamp, TrustedKeys};
use keyward_host::{CacheUse, Error, License};

fn plugin() -> &'static [u8] {
    keyward_host::embedded_plugin()
        .expect("no plugin embedded: run `cargo xtask build` before the tests")
}

#[test]
fn the_component_imports_nothing_but_keywards_host_interface() {
    let mut top = Vec::new();
    let mut depth = 0usize;
    let mut everything = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(plugin()) {
        match payload.expect("a valid component") {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentImportSection(r) => {
                for i in r {
                    let i = i.expect("import");
                    everything.push(i.name.name.to_string());
                    if depth == 0 {
                        top.push((i.name.name.to_string(), i.ty));
                    }
                }
            }
            wasmparser::Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    let i = i.expect("import");
                    everything.push(format!("{}#{}", i.module, i.name));
                }
            }
            _ => {}
        }
    }
    assert!(
        top.iter().any(|(n, _)| n == "keyward:plugin/host@0.1.0"),
        "{top:?}"
    );
    for (name, ty) in &top {
        match ty {
            wasmparser::ComponentTypeRef::Type(_) => {}
            wasmparser::ComponentTypeRef::Instance(_) => {
                assert!(name.starts_with("keyward:plugin/"), "imports {name}")
            }
            other => panic!("imports {name} as {other:?}"),
        }
    }
    for name in &everything {
        assert!(
            !name.to_ascii_lowercase().contains("wasi"),
            "imports {name}"
        );
    }
}

#[test]
fn license_is_send_and_sync_and_shared_by_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<License>();

    let now = vectors_now();
    let clock = TestClock::new(now);
    let dir = tempfile::tempdir().expect("dir");
    let l = license(dir.path(), this_machine(), &clock);
    l.activate(&unbound_code(1, now, Some(30)))
        .expect("activate");
    let l = std::sync::Arc::new(l);
    let code = unbound_code(9, now, None);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let l = l.clone();
            let code = code.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    assert!(l.has_feature("pro"));
                    assert_eq!(l.status().expect("status").code, "active");
                    if i % 10 == t {
                        assert_eq!(l.inspect(&code).expect("inspect").code, "active");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
}

/// Verdicts for hostile text are ordinary errors from the plugin, never a sandbox stop.
fn assert_ordinary(l: &License, text: &str) -> String {
    match l.inspect(text) {
        Ok(v) => v.code.as_str().to_string(),
        Err(e) => panic!("{e} (for input of {} bytes)", text.len()),
    }
}

#[test]
fn hostile_input_is_refused_not_fatal() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let dir = tempfile::tempdir().expect("dir");
    let l = license(dir.path(), this_machine(), &clock);
    let huge_code = format!("KA1-{}", "7".repeat(1 << 20));
    // 1 MiB of full-width letters, NULs and emoji.
    let huge_junk = "\u{FF21}\u{0}\u{1F600}x".repeat((1 << 20) / 9);
    for text in [&huge_code, &huge_junk] {
        assert_eq!(assert_ordinary(&l, text), "malformed");
        for r in [
            l.activate(text).map(|_| ()),
            l.install(text).map(|_| ()),
            l.apply(text).map(|_| ()),
            l.request_for(text, None).map(|_| ()),
            l.request_for(&unbound_code(1, now, None), Some(text))
                .map(|_| ()),
            l.deactivate_license(text).map(|_| ()),
        ] {
            match r {
                Err(Error::Refused { .. }) => {}
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
        assert!(!l.has_feature(text));
    }
    let mut junk = String::new();
    for i in 0..2000u32 {
        junk.push(char::from_u32(i.wrapping_mul(2_654_435_761) % 0x11_0000).unwrap_or('?'));
    }
    assert_ordinary(&l, &junk);
    assert_ordinary(
        &l,
        "-----BEGIN KEYWARD ACTIVATION CERTIFICATE-----\n\n-----END",
    );
    assert_ordinary(&l, "KC1-");
    assert_ordinary(&l, "fp:||||||||||||||||||||||");
    assert_eq!(l.status().expect("still fine").code, "no_license");
}

#[test]
fn every_vector_bit_flipped_gets_the_native_verdict() {
    let v = vectors();
    let now = vectors_now();
    let clock = TestClock::new(now);
    let dir = tempfile::tempdir().expect("dir");
    let l = license(dir.path(), this_machine(), &clock);
    let trusted = TrustedKeys::from_pem(&public_pem()).expect("key");
    let facts = this_machine();
    let ctx = Context {
        trusted: &trusted,
        facts: &facts,
        hardware_ids: &[],
        now: Timestamp(now),
        policy: Policy::default(),
    };
    let mut checked = 0;
    for case in v["cases"].as_array().expect("cases") {
        let input = case["input"].as_str().expect("input").as_bytes();
        // Every byte of short inputs, a spread of positions in long ones; a different bit
        // each time.
        let step = (input.len() / 40).max(1);
        for (n, i) in (0..input.len()).step_by(step).enumerate() {
            let mut b = input.to_vec();
            b[i] ^= 1 << (n % 8);
            let text = String::from_utf8_lossy(&b);
            let got = l
                .inspect(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
            let native = keyward_core::verdict(&text, None, &ctx, Timestamp(0));
            assert_eq!(
                got.code,
                native.code.as_str(),
                "{} flipped at {i}",
                case["name"]
            );
            assert_eq!(got.suggestion, native.suggestion, "{}", case["name"]);
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn fuel_limit_stops_a_call_and_the_next_call_gets_a_fresh_instance() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let dir = tempfile::tempdir().expect("dir");
    license(dir.path(), this_machine(), &clock)
        .activate(&unbound_code(1, now, None))
        .expect("activate");
    // Enough to start and answer cheap calls; far too little to verify a signature (the
    // portable plugin, without wide arithmetic, needs more than 300,000 to start; 2,000,000
    // still stops a status that verifies the installed license, asserted below).
    let l = builder(dir.path(), this_machine(), &clock)
        .fuel(2_000_000)
        .build()
        .expect("starts within its fuel");
    let started = Instant::now();
    match l.status() {
        Err(Error::Sandbox { code, .. }) => assert_eq!(code, "fuel_limit"),
        other => panic!("expected the fuel limit, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!l.has_feature("pro"));
    // A fresh instance answers what fits in the budget.
    assert!(l.system_id().expect("cheap call").starts_with("KS1-"));
    assert_eq!(l.status().unwrap_err().code(), "fuel_limit");
}

#[test]
fn memory_limit_stops_a_call() {
    let clock = TestClock::new(vectors_now());
    let dir = tempfile::tempdir().expect("dir");
    let l = builder(dir.path(), this_machine(), &clock)
        .memory_limit(1 << 20)
        .build()
        .expect("starts within 1 MiB");
    let big = "x".repeat(2 << 20);
    match l.inspect(&big) {
        Err(Error::Sandbox { code, .. }) => assert_eq!(code, "memory_limit"),
        other => panic!("expected the memory limit, got {other:?}"),
    }
    assert_eq!(l.status().expect("a fresh instance").code, "no_license");
}

/// A component implementing the keyward-plugin world whose `init` succeeds, `inspect` asks
/// for memory without end, and every other function loops forever.
fn runaway_component() -> Vec<u8> {
    runaway_component_variant(1024)
}

/// The same, `init` answering from another (zeroed) address: another component.
fn runaway_component_variant(ok_at: u32) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve
        .push_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit"))
        .expect("wit");
    let world = resolve
        .select_world(&[pkg], Some("keyward-plugin"))
        .expect("world");
    let ty = |t: &wit_parser::abi::WasmType| match t {
        wit_parser::abi::WasmType::I64 | wit_parser::abi::WasmType::PointerOrI64 => "i64",
        wit_parser::abi::WasmType::F32 => "f32",
        wit_parser::abi::WasmType::F64 => "f64",
        _ => "i32",
    };
    let mut wat = String::from("(module (memory (export \"memory\") 1)\n");
    for item in resolve.worlds[world].exports.values() {
        let wit_parser::WorldItem::Function(f) = item else {
            continue;
        };
        let sig = resolve.wasm_signature(wit_parser::abi::AbiVariant::GuestExport, f);
        let _ = write!(wat, "(func (export {:?})", f.name);
        for p in &sig.params {
            let _ = write!(wat, " (param {})", ty(p));
        }
        for r in &sig.results {
            let _ = write!(wat, " (result {})", ty(r));
        }
        let body: &str = match f.name.as_str() {
            // A pointer to zeroed memory: `ok`.
            "init" => &format!("i32.const {ok_at}"),
            "inspect" => {
                "(loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable"
            }
            _ => "(loop (br 0)) unreachable",
        };
        let _ = writeln!(wat, " {body})");
    }
    wat.push_str(
        "(func (export \"cabi_realloc\") (param i32 i32 i32 i32) (result i32) i32.const 4096))",
    );
    let mut module = wat::parse_str(&wat).expect("wat");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("component")
}

#[test]
fn time_limit_stops_a_runaway_plugin() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("runaway.wasm");
    std::fs::write(&path, runaway_component()).expect("write");
    let clock = TestClock::new(vectors_now());
    let l = builder(dir.path(), this_machine(), &clock)
        .plugin_path(&path)
        .call_timeout(Duration::from_millis(100))
        .build()
        .expect("init returns at once");
    for _ in 0..2 {
        let started = Instant::now();
        match l.status() {
            Err(Error::Sandbox { code, message }) => {
                assert_eq!(code, "time_limit", "{message}")
            }
            other => panic!("expected the time limit, got {other:?}"),
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(90), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
    // has_feature fails closed.
    let started = Instant::now();
    assert!(!l.has_feature("pro"));
    assert!(started.elapsed() < Duration::from_secs(3));
    // A plugin that eats memory is stopped at the memory limit.
    match l.inspect("anything") {
        Err(Error::Sandbox { code, .. }) => assert_eq!(code, "memory_limit"),
        other => panic!("expected the memory limit, got {other:?}"),
    }
    match l.system_id() {
        Err(Error::Sandbox { code, .. }) => assert_eq!(code, "time_limit"),
        other => panic!("expected the time limit, got {other:?}"),
    }
}

/// The time limit is the plugin's: time the host spends in its own functions (a clock, a
/// save behind a slow disk or a held lock) is not counted. Issue seen in CI: an update's
/// save, fsync on a loaded disk, pushed a call over the limit and failed it.
#[test]
fn time_spent_in_host_functions_does_not_count_against_the_limit() {
    let dir = tempfile::tempdir().expect("dir");
    let now = vectors_now();
    let slow_clock = move || {
        std::thread::sleep(Duration::from_millis(80));
        system_time(now)
    };
    let l = builder(dir.path(), this_machine(), &TestClock::new(now))
        .clock(slow_clock)
        .call_timeout(Duration::from_millis(50))
        .build()
        .expect("init");
    let started = Instant::now();
    let status = l
        .activate(&unbound_code(1, now, Some(30)))
        .expect("the host's slow clock is not the plugin's time");
    assert!(status.usable, "{status:?}");
    assert_eq!(l.status().expect("status").code, "active");
    // The clock was asked, and slept, during those calls: the host's time exceeded the
    // limit many times over.
    assert!(started.elapsed() >= Duration::from_millis(160));
}

#[test]
fn precompiled_cache_is_used_checked_and_rebuilt() {
    // The cache does not care which component it holds: the small one compiles fast.
    let clock = TestClock::new(vectors_now());
    let dir = tempfile::tempdir().expect("dir");
    let plugin = dir.path().join("small.wasm");
    std::fs::write(&plugin, runaway_component()).expect("write");
    let cache = dir.path().join("cache");
    let build = || {
        builder(dir.path(), this_machine(), &clock)
            .plugin_path(&plugin)
            .cache_dir(&cache)
            .build()
            .expect("license")
    };
    assert_eq!(build().cache_use(), CacheUse::CompiledAndStored);
    assert_eq!(build().cache_use(), CacheUse::Loaded);
    let files: Vec<_> = std::fs::read_dir(&cache)
        .expect("cache")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    assert!(file
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("keyward-plugin-")));
    // Damaged: one flipped byte in the compiled code.
    let mut bytes = std::fs::read(file).expect("read");
    let i = bytes.len() - 100;
    bytes[i] ^= 0xFF;
    std::fs::write(file, &bytes).expect("damage");
    assert_eq!(build().cache_use(), CacheUse::CompiledAndStored);
    assert_eq!(build().cache_use(), CacheUse::Loaded);
    // Truncated.
    let bytes = std::fs::read(file).expect("read");
    std::fs::write(file, &bytes[..bytes.len() / 2]).expect("truncate");
    assert_eq!(build().cache_use(), CacheUse::CompiledAndStored);
    // Another plugin gets another entry; the old one stays (a few are kept).
    let other = dir.path().join("other.wasm");
    std::fs::write(&other, runaway_component_variant(2048)).expect("write");
    let l = builder(dir.path(), this_machine(), &clock)
        .plugin_path(&other)
        .cache_dir(&cache)
        .build()
        .expect("another plugin");
    assert_eq!(l.cache_use(), CacheUse::CompiledAndStored);
    assert_eq!(std::fs::read_dir(&cache).expect("cache").count(), 2);
    // Without a cache: compiled each time.
    let l = builder(dir.path(), this_machine(), &clock)
        .plugin_path(&plugin)
        .no_cache()
        .build()
        .expect("license");
    assert_eq!(l.cache_use(), CacheUse::Compiled);
}

/// `Component::deserialize` runs the cached bytes as machine code: an entry this user cannot
/// tell it wrote (in a directory others can write, writable by others, owned by someone
/// else, a symlink) is never loaded; the plugin is compiled instead.
#[cfg(target_os = "linux")]
#[test]
fn cache_entries_others_could_have_written_are_not_loaded() {
    use std::os::unix::fs::PermissionsExt;
    let clock = TestClock::new(vectors_now());
    let dir = tempfile::tempdir().expect("dir");
    let plugin = dir.path().join("small.wasm");
    std::fs::write(&plugin, runaway_component()).expect("write");
    let cache = dir.path().join("cache");
    let build = || {
        builder(dir.path(), this_machine(), &clock)
            .plugin_path(&plugin)
            .cache_dir(&cache)
            .build()
            .expect("license")
            .cache_use()
    };
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    let chmod = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod")
    };
    assert_eq!(build(), CacheUse::CompiledAndStored);
    // Made private: the directory 0700, the entry 0600.
    assert_eq!(mode(&cache), 0o700);
    let file = std::fs::read_dir(&cache)
        .expect("cache")
        .map(|e| e.expect("entry").path())
        .next()
        .expect("an entry");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(build(), CacheUse::Loaded);

    // A directory the group can write: not read, not written.
    chmod(&cache, 0o770);
    assert_eq!(build(), CacheUse::Compiled);
    chmod(&cache, 0o700);
    assert_eq!(build(), CacheUse::Loaded);

    // An entry others can write: compiled again, and replaced by a private one.
    chmod(&file, 0o666);
    assert_eq!(build(), CacheUse::CompiledAndStored);
    assert_eq!(mode(&file), 0o600);
    assert_eq!(build(), CacheUse::Loaded);

    // A symlink in its place (to a perfectly good entry): not followed.
    let elsewhere = dir.path().join("elsewhere.cwasm");
    std::fs::rename(&file, &elsewhere).expect("move");
    std::os::unix::fs::symlink(&elsewhere, &file).expect("symlink");
    assert_eq!(build(), CacheUse::CompiledAndStored);
    assert!(!std::fs::symlink_metadata(&file)
        .expect("meta")
        .file_type()
        .is_symlink());
    assert_eq!(build(), CacheUse::Loaded);

    // Owned by another user (only root can give a file away).
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    if root {
        std::os::unix::fs::chown(&file, Some(4242), Some(4242)).expect("chown");
        assert_eq!(build(), CacheUse::CompiledAndStored);
        assert_eq!(build(), CacheUse::Loaded);
        std::os::unix::fs::chown(&cache, Some(4242), Some(4242)).expect("chown");
        assert_eq!(build(), CacheUse::Compiled);
    }
}

#[test]
fn bad_configuration_is_an_error() {
    let dir = tempfile::tempdir().expect("dir");
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm not really").expect("write");
    let e = License::builder()
        .trusted_keys_pem(public_pem())
        .state_dir(dir.path())
        .plugin_path(&junk)
        .no_cache()
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "plugin");
    let e = License::builder()
        .trusted_keys_pem("not a key")
        .state_dir(dir.path())
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "invalid_key");
    let e = License::builder()
        .state_dir(dir.path())
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "invalid_key");
    let e = License::builder()
        .trusted_keys_pem(public_pem())
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "config");
    let e = License::builder()
        .trusted_keys_pem(public_pem())
        .state_dir(dir.path())
        .plugin_path(dir.path().join("missing.wasm"))
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "io");
}
