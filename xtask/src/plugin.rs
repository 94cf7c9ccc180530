//! The plugin: build `crates/keyward-plugin` for `wasm32-unknown-unknown`, wrap the module
//! as a WebAssembly component (`wit-component`, used as a library), check it imports nothing
//! but keyward's own `host` interface, and write `target/dist/keyward-plugin.wasm`; and the
//! plugin benchmarks (`crates/keyward-host/benches/plugin.rs`).

use std::path::PathBuf;

use crate::{cargo, ensure_wasm_target, run, target_dir, wasm_opt};

const TARGET: &str = "wasm32-unknown-unknown";
/// The only package the component may import from (its `types` and `host` interfaces).
const OWN_PACKAGE: &str = "keyward:plugin/";
/// Ed25519 verification dominates the plugin's work. By default curve25519-dalek picks its
/// 32-bit field arithmetic on wasm32; with the wide-arithmetic proposal (`i64.mul_wide_u`,
/// which keyward-host enables in wasmtime) its 64-bit arithmetic is about a quarter faster,
/// and the module is a little smaller. Rust calls the target feature unstable (it warns);
/// if a toolchain refuses it, the build falls back to the portable variant.
const FAST_CRYPTO: &[&str] = &[
    "--cfg",
    "curve25519_dalek_bits=\"64\"",
    "-Ctarget-feature=+wide-arithmetic",
];
/// The file keyward-host embeds (see its build.rs).
const DIST_NAME: &str = "keyward-plugin.wasm";

/// Builds the component and writes `target/dist/keyward-plugin.wasm`; returns its path.
/// `release` uses the workspace's size-optimised release profile; otherwise the dev
/// profile (bigger and slower, quicker to build).
pub fn build(release: bool) -> Result<PathBuf, String> {
    ensure_wasm_target()?;
    let cargo_build = |rustflags: &[&str]| {
        let mut cmd = cargo();
        cmd.args(["build", "-p", "keyward-plugin", "--lib", "--target", TARGET]);
        if release {
            cmd.arg("--release");
        }
        // Applies to the wasm target only (with --target, never to build scripts), and
        // cargo keys artifacts by their flags, so other wasm builds are not disturbed.
        cmd.env("CARGO_ENCODED_RUSTFLAGS", crate::wasm_rustflags(rustflags));
        run(&mut cmd)
    };
    let fast = cargo_build(FAST_CRYPTO).is_ok();
    if !fast {
        eprintln!(
            "xtask: building the plugin with 64-bit field arithmetic failed; building the portable (slower) variant"
        );
        cargo_build(&[])?;
    }
    let target = target_dir();
    let module_path = target
        .join(TARGET)
        .join(if release { "release" } else { "debug" })
        .join("keyward_plugin.wasm");
    let module_path = if release {
        let optimized = module_path.with_extension("opt.wasm");
        let wide = if fast {
            &["--enable-wide-arithmetic"][..]
        } else {
            &[]
        };
        wasm_opt::optimize(&module_path, &optimized, wide)?;
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
    check_imports(&component)?;
    let dist = target.join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let out = dist.join(DIST_NAME);
    let tmp = dist.join(format!(".{DIST_NAME}.tmp-{}", std::process::id()));
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

/// Builds the plugin (release), then runs the plugin benchmarks, which print: native vs
/// plugin verification and their ratio, warm `status()` latency, cold start with and
/// without the precompiled cache, and the plugin's size raw and gzipped.
pub fn bench() -> Result<(), String> {
    let path = build(true)?;
    run(cargo()
        .args(["bench", "-p", "keyward-host", "--bench", "plugin"])
        .env("KEYWARD_PLUGIN_WASM", &path))
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
