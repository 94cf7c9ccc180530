//! Embeds the plugin component built by `cargo xtask build` (`target/dist/keyward-plugin.wasm`,
//! or the file named by `KEYWARD_PLUGIN_WASM`). Without one the crate still builds, and
//! `License::builder()` then needs `plugin_path`.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rustc-check-cfg=cfg(keyward_plugin_embedded)");
    println!("cargo:rerun-if-env-changed=KEYWARD_PLUGIN_WASM");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let found = match std::env::var_os("KEYWARD_PLUGIN_WASM") {
        Some(p) => Some(PathBuf::from(p)),
        None => find_dist(&out),
    };
    let Some(path) = found else {
        println!(
            "cargo:warning=keyward-host: no plugin to embed (run `cargo xtask build` first, or set KEYWARD_PLUGIN_WASM); License::builder() will need plugin_path"
        );
        // Rebuild once it appears: watch where xtask writes it.
        if let Some(dist) = default_dist(&out) {
            println!("cargo:rerun-if-changed={}", dist.display());
        }
        return;
    };
    println!("cargo:rerun-if-changed={}", path.display());
    warn_if_stale(&path);
    match std::fs::copy(&path, out.join("keyward-plugin.wasm")) {
        Ok(_) => println!("cargo:rustc-cfg=keyward_plugin_embedded"),
        Err(e) => println!(
            "cargo:warning=keyward-host: cannot read the plugin {}: {e}; not embedding it",
            path.display()
        ),
    }
}

/// `<target>/dist/keyward-plugin.wasm` next to the target directory this build runs in
/// (OUT_DIR is `<target>/[<triple>/]<profile>/build/<pkg>/out`).
fn find_dist(out: &Path) -> Option<PathBuf> {
    out.ancestors()
        .map(|a| a.join("dist").join("keyward-plugin.wasm"))
        .find(|p| p.is_file())
}

/// Where the plugin will be once built: the first ancestor of OUT_DIR that is a target
/// directory (it holds `CACHEDIR.TAG` or a `.rustc_info.json`).
fn default_dist(out: &Path) -> Option<PathBuf> {
    out.ancestors()
        .find(|a| a.join("CACHEDIR.TAG").is_file() || a.join(".rustc_info.json").is_file())
        .map(|t| t.join("dist").join("keyward-plugin.wasm"))
}

/// The plugin is built from keyward-core, the plugin crate and the WIT; the host reads the
/// same state format natively. A plugin older than those sources may disagree with this
/// host: say so (the fix is `cargo xtask build`).
fn warn_if_stale(plugin: &Path) {
    let Some(built) = std::fs::metadata(plugin).and_then(|m| m.modified()).ok() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let sources = [
        "crates/keyward-core/src",
        "crates/keyward-plugin/src",
        "wit",
    ];
    let newer = sources
        .iter()
        .map(|s| root.join(s))
        .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > built)
        })
        .map(|e| e.path())
        .next();
    if let Some(file) = newer {
        println!(
            "cargo:warning=keyward-host: the embedded plugin {} is older than {}: run `cargo xtask build`",
            plugin.display(),
            file.display()
        );
    }
    for s in sources {
        println!("cargo:rerun-if-changed={}", root.join(s).display());
    }
}
