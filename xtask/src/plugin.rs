//! The plugin: build `crates/keyward-plugin` for `wasm32-unknown-unknown`, wrap the module
//! as a WebAssembly component (`wit-component`, used as a library), check it imports nothing
//! but keyward's own `host` interface, and write `target/dist/keyward-plugin.wasm`; and the
//! plugin benchmarks (`crates/keyward-host/benches/plugin.rs`).

use std::path::PathBuf;

use crate::{cargo, ensure_wasm_target, run, target_dir, wasm_opt};

const TARGET: &str = "wasm32-unknown-unknown";
/// The only package the component may import from (its `types` and `host` interfaces).
const OWN_PACKAGE: &str = "keyward:plugin/";

/// One build of the plugin: where it goes and how it is compiled.
struct Variant {
    /// The file in `target/dist/`.
    file: &'static str,
    /// rustc flags for the wasm target.
    rustflags: &'static [&'static str],
    /// wasm-opt flags beyond rustc's default wasm features.
    wasm_opt: &'static [&'static str],
    /// A target directory of its own (under `target/`), so that switching between the
    /// variants does not rebuild each from scratch (cargo would overwrite one with the
    /// other in a shared directory).
    target_subdir: Option<&'static str>,
    /// The WebAssembly features the component may use (checked after the build).
    features: wasmparser::WasmFeatures,
}

/// The default plugin: only finished WebAssembly 2.0 features, so it loads in wasmtime, in
/// jco (Node.js) and in browsers. That is rustc's default for `wasm32-unknown-unknown`
/// plus 128-bit SIMD (`simd128`, part of WebAssembly 2.0, stable in Rust; in V8 since
/// Node.js 16.4 and in every current browser): LLVM uses it for the field elements' copies
/// and some of their arithmetic. Measured on 2026-12-01, one run against the build without
/// it: 3.6 KB smaller, verifying 0.96× the time.
///
/// curve25519-dalek's 32-bit field arithmetic, as in the page: its 32x32->64-bit products
/// are one `i64.mul` each, where the 64-bit arithmetic's 64x64->128-bit products are calls
/// to compiler-rt's `__multi3` without wide arithmetic. Measured on 2026-12-01, in one run:
/// verifying a code through the plugin took 213 µs with it against 419 µs with the 64-bit
/// arithmetic (native: 69 µs), for 712 bytes more.
/// `cargo xtask bench` prints its speed against native code beside the wide build's.
const PORTABLE: Variant = Variant {
    file: "keyward-plugin.wasm",
    rustflags: &[
        "--cfg",
        "curve25519_dalek_bits=\"32\"",
        "-Ctarget-feature=+simd128",
    ],
    wasm_opt: &["--enable-simd"],
    target_subdir: None,
    features: wasmparser::WasmFeatures::WASM2.union(wasmparser::WasmFeatures::COMPONENT_MODEL),
};

/// An optional second plugin for wasmtime only, which keyward-host can load instead (see
/// `LicenseBuilder::plugin_path`): the same code, with the wide-arithmetic proposal's
/// `i64.mul_wide_u` for the field arithmetic. Rust calls that target feature unstable (it
/// warns), V8 and most engines do not implement it, so it is never the default; when a
/// toolchain refuses it, the build goes on without this file.
const WIDE: Variant = Variant {
    file: "keyward-plugin-wide.wasm",
    rustflags: &[
        "--cfg",
        "curve25519_dalek_bits=\"64\"",
        "-Ctarget-feature=+wide-arithmetic",
        "-Ctarget-feature=+simd128",
    ],
    wasm_opt: &["--enable-wide-arithmetic", "--enable-simd"],
    target_subdir: Some("wide-arithmetic"),
    features: wasmparser::WasmFeatures::WASM2
        .union(wasmparser::WasmFeatures::COMPONENT_MODEL)
        .union(wasmparser::WasmFeatures::WIDE_ARITHMETIC),
};

/// The plugin's LLVM inline threshold (the page's is 0, see
/// [`crate::PAGE_INLINE_THRESHOLD`]): the curve arithmetic's small functions (field
/// additions, point conversions) inlined into its loops. Measured on 2026-12-01 with
/// SIMD, each build against the shipped one in the same run (verify time ratio; size):
/// threshold 0: 0.96, 143,495 bytes; 25: 0.86, 145,450; 50: 0.82-0.84, 147,390; 75:
/// 0.76-0.78, 149,537; 100: -, 157,565; LLVM's default: 0.77, 153,828. 50 leaves room in
/// the 150,000-byte budget; 75 would leave 463 bytes.
const PLUGIN_INLINE_THRESHOLD: &str = "-Cllvm-args=-inline-threshold=50";

/// Builds the portable component into `target/dist/keyward-plugin.wasm` (returned), and,
/// for `release`, the optional wide-arithmetic one into `target/dist/keyward-plugin-wide.wasm`
/// (a failure to build that one is a warning). `release` uses the workspace's
/// size-optimised release profile; otherwise the dev profile (bigger and slower, quicker to
/// build).
pub fn build(release: bool) -> Result<PathBuf, String> {
    ensure_wasm_target()?;
    let portable = build_variant(&PORTABLE, release)?;
    if release {
        if let Err(e) = build_variant(&WIDE, release) {
            eprintln!("xtask: WARNING: the optional wide-arithmetic plugin was not built: {e}");
        }
    }
    Ok(portable)
}

fn build_variant(variant: &Variant, release: bool) -> Result<PathBuf, String> {
    let target = target_dir();
    let build_dir = match variant.target_subdir {
        Some(sub) => target.join(sub),
        None => target.clone(),
    };
    let mut cmd = cargo();
    cmd.args(["build", "-p", "keyward-plugin", "--lib", "--target", TARGET]);
    let mut flags = variant.rustflags.to_vec();
    if release {
        cmd.arg("--release");
        crate::shipped_wasm(&mut cmd);
        // Hashing and the signature's framing are a small part of a verification (the
        // curve arithmetic stays at opt-level 3): size-optimised, as in the page.
        cmd.args([
            "--config",
            "profile.release.package.sha2.opt-level=\"s\"",
            "--config",
            "profile.release.package.ed25519-dalek.opt-level=\"s\"",
        ]);
        flags.extend(crate::SHIPPED_WASM_FLAGS);
        flags.push(PLUGIN_INLINE_THRESHOLD);
    }
    cmd.arg("--target-dir").arg(&build_dir);
    // Applies to the wasm target only (with --target, never to build scripts).
    cmd.env("CARGO_ENCODED_RUSTFLAGS", crate::wasm_rustflags(&flags));
    run(&mut cmd)?;
    let module_path = build_dir
        .join(TARGET)
        .join(if release { "release" } else { "debug" })
        .join("keyward_plugin.wasm");
    let module_path = if release {
        let optimized = module_path.with_extension("opt.wasm");
        wasm_opt::optimize(&module_path, &optimized, variant.wasm_opt)?;
        optimized
    } else {
        module_path
    };
    let module =
        std::fs::read(&module_path).map_err(|e| format!("{}: {e}", module_path.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .map_err(|e| {
            format!(
                "{}: not a component-ready module: {e:#}",
                module_path.display()
            )
        })?
        .validate(true)
        .encode()
        .map_err(|e| {
            format!(
                "cannot make a component of {}: {e:#}",
                module_path.display()
            )
        })?;
    let component = strip_names(&component)?;
    check_imports(&component)?;
    check_features(&component, variant)?;
    let dist = target.join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let out = dist.join(variant.file);
    let tmp = dist.join(format!(".{}.tmp-{}", variant.file, std::process::id()));
    std::fs::write(&tmp, &component).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!(
        "xtask: {} is {} bytes (core module {} bytes)",
        out.display(),
        component.len(),
        module.len()
    );
    Ok(out)
}

/// `component` without its top-level `component-name` and `producers` custom sections:
/// names for debuggers and a list of the tools used, which no host reads to load or run it
/// (like `--strip-debug` and `--strip-producers` for the core module): 1.5 KB of the plugin.
/// The component's top level is a flat list of sections (an id byte, a LEB128 size, the
/// contents), walked here with wasmparser's reader; everything else is copied unchanged.
fn strip_names(component: &[u8]) -> Result<Vec<u8>, String> {
    let bad = |e: wasmparser::BinaryReaderError| format!("cannot read the component: {e}");
    let mut r = wasmparser::BinaryReader::new(component, 0);
    let mut out = r.read_bytes(8).map_err(bad)?.to_vec(); // magic, version and layer
    while !r.eof() {
        let start = r.original_position();
        let id = r.read_u8().map_err(bad)?;
        let size = r.read_var_u32().map_err(bad)?;
        let contents = r.read_bytes(size as usize).map_err(bad)?;
        let name = (id == 0)
            .then(|| {
                wasmparser::BinaryReader::new(contents, 0)
                    .read_string()
                    .ok()
            })
            .flatten();
        if !matches!(name, Some("component-name" | "producers")) {
            out.extend_from_slice(&component[start..r.original_position()]);
        }
    }
    Ok(out)
}

/// The component validates with only the variant's WebAssembly features: for the portable
/// plugin, WebAssembly 2.0 and the component model, nothing a browser or V8 lacks.
fn check_features(component: &[u8], variant: &Variant) -> Result<(), String> {
    wasmparser::Validator::new_with_features(variant.features)
        .validate_all(component)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "{} uses a WebAssembly feature it must not ({e}); its allowed set is {:?}",
                variant.file, variant.features
            )
        })
}

/// Builds the plugin (release), then runs the plugin benchmarks, which print: native vs
/// plugin verification and their ratio, warm `status()` latency, cold start with and
/// without the precompiled cache, and the plugin's size raw and gzipped.
pub fn bench() -> Result<(), String> {
    floor()?;
    let path = build(true)?;
    let wide = target_dir().join("dist").join(WIDE.file);
    run(cargo()
        .args(["bench", "-p", "keyward-host", "--bench", "plugin"])
        .env("KEYWARD_PLUGIN_WASM", &path)
        .env("KEYWARD_PLUGIN_WIDE_WASM", &wide))
}

/// Prints the floor under the portable plugin's verify ratio: keyward-core's native
/// verification (`benches/floor.rs`) built as native code is (curve25519-dalek picks its
/// AVX2 backend at run time, with precomputed tables) and with the portable plugin's curve
/// arithmetic (its 32-bit serial backend, no tables), compiled by LLVM for this machine.
/// Their ratio is what the portable plugin would reach if Cranelift's code were as fast as
/// LLVM's and calls into the plugin were free. The two builds run in turn, three times
/// each, and the best of each counts.
fn floor() -> Result<(), String> {
    let serial_flags = [
        "--cfg",
        "curve25519_dalek_backend=\"serial\"",
        "--cfg",
        "curve25519_dalek_bits=\"32\"",
    ]
    .join("\x1f");
    let serial_dir = target_dir().join("floor-serial32");
    let measure = |serial: bool| -> Result<f64, String> {
        let mut cmd = cargo();
        cmd.args(["bench", "-q", "-p", "keyward-core", "--bench", "floor"]);
        if serial {
            cmd.args(["--no-default-features", "--features", "std,messages"])
                .arg("--target-dir")
                .arg(&serial_dir)
                .env("CARGO_ENCODED_RUSTFLAGS", &serial_flags);
        }
        let out = cmd
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run cargo bench: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("verify_us "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|_| out.status.success())
            .ok_or_else(|| format!("the floor benchmark printed no figure: {text}"))
    };
    let (mut native, mut serial) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        native = native.min(measure(false)?);
        serial = serial.min(measure(true)?);
    }
    println!("keyward plugin floor (keyward-core verify, native code, best of 3 runs each)");
    println!("  curve25519-dalek's native backend        {native:8.1} µs");
    println!("  its 32-bit serial backend (the plugin's) {serial:8.1} µs");
    println!(
        "  ratio                                    {:8.2} x   (the portable plugin's best possible ratio)",
        serial / native
    );
    Ok(())
}

/// The component may import only keyward's own interfaces (`host`, and `types`, which has
/// no functions) and type names: no WASI, nothing else through which the sandbox could
/// reach the machine.
fn check_imports(component: &[u8]) -> Result<(), String> {
    let mut foreign = Vec::new();
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        match payload.map_err(|e| format!("cannot parse the component: {e}"))? {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| format!("bad import: {e}"))?;
                    let name = import.name.name;
                    let allowed = match import.ty {
                        wasmparser::ComponentTypeRef::Type(_) => true,
                        wasmparser::ComponentTypeRef::Instance(_) => name.starts_with(OWN_PACKAGE),
                        _ => false,
                    };
                    if !allowed {
                        foreign.push(name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the plugin component imports {foreign:?}: only keyward's own interfaces are allowed (no WASI)"
        ))
    }
}
