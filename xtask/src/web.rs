//! The buyer activation page: build its wasm (`web/pkg/`), test it in headless Chromium,
//! benchmark it.
//!
//! wasm-bindgen's code generator is used as a library (the `wasm-bindgen-cli-support`
//! crate, pinned to the exact version of the `wasm-bindgen` crate keyward-web links), so no
//! `wasm-bindgen` binary has to be installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::node::{apt_install, ensure_node, has_node, npm_ci};
use crate::{cargo, ensure_wasm_target, root, run, run_in, target_dir, wasm_opt, wasm_rustflags};

const TARGET: &str = "wasm32-unknown-unknown";

/// The built page in `web/pkg/`: exactly the files keyward-page embeds and serves (its
/// build.rs lists the same four).
pub const PAGE_FILES: [&str; 4] = ["index.html", "app.js", "style.css", "keyward_web_bg.wasm"];
const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_tests_dir() -> PathBuf {
    root().join("tests/browser")
}

/// Builds `crates/keyward-web` for the browser (release: the workspace's size-optimised
/// profile) and generates `web/pkg/keyward_web.js` + `keyward_web_bg.wasm` (ES module for
/// `<script type="module">`, no TypeScript).
///
/// The workspace profile strips symbols at link time, which would also drop the
/// `target_features` section wasm-bindgen reads to know which wasm features (reference
/// types, …) the code uses; so this one link keeps it, and wasm-bindgen removes the name and
/// producers sections itself. The result is the same size.
pub fn build() -> Result<(), String> {
    ensure_wasm_target()?;
    let mut cmd = cargo();
    crate::shipped_wasm(&mut cmd);
    run(cmd
        .args([
            "build",
            "--release",
            "-p",
            "keyward-web",
            "--lib",
            "--target",
            TARGET,
            "--config",
            "profile.release.strip=false",
            // Hashing is a small part of a verification: size-optimised here (0.7 KB).
            "--config",
            "profile.release.package.sha2.opt-level=\"s\"",
            "--config",
            "profile.release.package.ed25519-dalek.opt-level=\"s\"",
            // The curve arithmetic too, in the page (measured on 2026-12-01 in Node, both
            // builds in one run: 2.7 KB smaller; a valid code 255-274 us against 235-239,
            // the vectors' typo 830-838 us against 755-832). The plugin keeps opt-level 3:
            // its verification speed is a goal of its own.
            "--config",
            "profile.release.package.curve25519-dalek.opt-level=\"s\"",
        ])
        // curve25519-dalek's 32-bit field arithmetic (its default on wasm32, named here as
        // in the plugin's build): twice as fast in wasm as the 64-bit one, whose 128-bit
        // products are calls to `__multi3`, for under 1 KB (see `plugin::PORTABLE`).
        // Applies to the wasm target only.
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            wasm_rustflags(
                &[
                    &["--cfg", "curve25519_dalek_bits=\"32\""][..],
                    &crate::SHIPPED_WASM_FLAGS,
                    &[crate::PAGE_INLINE_THRESHOLD],
                ]
                .concat(),
            ),
        ))?;
    let input = target_dir().join(TARGET).join("release/keyward_web.wasm");
    let out = root().join("web/pkg");
    eprintln!(
        "xtask: wasm-bindgen {} -> {}",
        input.display(),
        out.display()
    );
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&input)
        .out_name("keyward_web")
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e}"))?
        .typescript(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(&out)
        .map_err(|e| format!("wasm-bindgen {}: {e:#}", input.display()))?;
    let wasm = out.join("keyward_web_bg.wasm");
    wasm_opt::optimize(&wasm, &wasm, &[])?;
    bundle()
}

/// Builds the page's files into `web/pkg/` with esbuild (npm, pinned in
/// `web/package-lock.json`, installed into `web/node_modules/`): `app.js` with what it
/// imports (i18n.js, qr.js, lean-qr, wasm-bindgen's `keyward_web.js`) bundled into one
/// minified module, `style.css` minified, `index.html` copied.
fn bundle() -> Result<(), String> {
    ensure_node()?;
    let web = root().join("web");
    npm_ci(&web)?;
    // (npm links the native binary here, or a Node.js launcher when it could not.)
    let esbuild = web.join("node_modules/.bin/esbuild");
    run_in(
        &web,
        Command::new(&esbuild).args([
            "app.js",
            "--bundle",
            "--minify",
            "--format=esm",
            "--target=es2022",
            "--log-level=warning",
            "--outfile=pkg/app.js",
        ]),
    )?;
    run_in(
        &web,
        Command::new(&esbuild).args([
            "style.css",
            "--minify",
            "--log-level=warning",
            "--outfile=pkg/style.css",
        ]),
    )?;
    std::fs::copy(web.join("index.html"), web.join("pkg/index.html"))
        .map_err(|e| format!("copying web/index.html into web/pkg/: {e}"))?;
    Ok(())
}

/// Whether `web/pkg/` holds the whole built page.
pub fn is_built() -> bool {
    let pkg = root().join("web/pkg");
    PAGE_FILES.iter().all(|f| pkg.join(f).is_file())
}

/// Installs what the browser tests need (Chromium from Debian when `/usr/bin/chromium` is
/// missing, Node.js when `node` is missing, a CJK font for the screenshots, playwright-core
/// and jsQR from npm), then runs `node --test` in `tests/browser/`: the page served from
/// 127.0.0.1 by the tests' own little server, in headless Chromium, and (serve.test.mjs) by
/// `keyward serve` itself with the CLI and keyward-host's merchant_app as the buyer's
/// machines and keyward-marketplace's stand_in as the marketplace. Screenshots of each state
/// go to `tests/browser/artifacts/`.
pub fn test() -> Result<(), String> {
    if !is_built() {
        build()?;
    }
    install_test_deps()?;
    let dir = browser_tests_dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".test.mjs"))
        .collect();
    files.sort();
    // serve.test.mjs runs `keyward serve` and the CLI (built now, after the page it embeds)
    // and installs a certificate through keyward-host with its merchant_app example.
    run(cargo().args(["build", "--bin", "keyward"]))?;
    run(cargo().args(["build", "-p", "keyward-host", "--example", "merchant_app"]))?;
    run(cargo().args([
        "build",
        "-p",
        "keyward-marketplace",
        "--features",
        "stand-in",
        "--example",
        "stand_in",
    ]))?;
    run_in(
        &dir,
        Command::new("node")
            .arg("--test")
            .args(&files)
            .env("KEYWARD_CLI", target_dir().join("debug/keyward"))
            .env(
                "KEYWARD_MERCHANT_APP",
                target_dir().join("debug/examples/merchant_app"),
            )
            .env(
                "KEYWARD_STAND_IN",
                target_dir().join("debug/examples/stand_in"),
            ),
    )
}

/// Prints the page's weight (raw and gzip, per file), the time from navigation to the first
/// validation result in headless Chromium, and the per-paste validation time.
pub fn bench() -> Result<(), String> {
    build()?;
    install_test_deps()?;
    run_in(&browser_tests_dir(), Command::new("node").arg("bench.mjs"))
}

fn install_test_deps() -> Result<(), String> {
    let need_chromium = !Path::new(CHROMIUM).exists();
    let need_node = !has_node();
    // Without a CJK font the Chinese screenshots show boxes (the tests pass either way).
    let need_font = Command::new("fc-list")
        .arg(":lang=zh")
        .output()
        .map_or(true, |o| o.stdout.is_empty());
    let mut packages = Vec::new();
    if need_chromium {
        packages.push("chromium");
    }
    if need_node {
        packages.extend(["nodejs", "npm"]);
    }
    if need_font {
        packages.push("fonts-noto-cjk");
    }
    apt_install(&packages)?;
    npm_ci(&browser_tests_dir())
}
