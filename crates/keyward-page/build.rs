//! Embeds the built page (`web/pkg/`, made by `cargo xtask build`) into the crate.
//!
//! The page is a fixed list of files: only these are ever served, whatever else lies in the
//! folder. When the page has not been built yet, a one-page stand-in that says how to build
//! it is embedded instead (so `cargo build`, `cargo clippy` and `cargo test` of the
//! workspace work on a fresh checkout), and `keyward_page::BUILT` is false.

use std::path::{Path, PathBuf};

/// The built page's files: URL path (below `/`), file name in `web/pkg/`, content type.
const FILES: &[(&str, &str)] = &[
    ("index.html", "text/html; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("keyward_web_bg.wasm", "application/wasm"),
];

const MISSING: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>keyward: the page was not built</title></head><body>\
<h1>The activation page was not built</h1>\
<p>This keyward binary was compiled before the page's files existed. In the keyward \
source folder, run <code>cargo xtask build</code> (it builds the page into \
<code>web/pkg/</code>, then the binary that embeds it), and use that binary.</p>\
</body></html>\n";

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let pkg = manifest.join("../../web/pkg");
    println!("cargo:rerun-if-changed={}", pkg.display());
    for (name, _) in FILES {
        println!("cargo:rerun-if-changed={}", pkg.join(name).display());
    }
    let built = FILES.iter().all(|(name, _)| pkg.join(name).is_file());
    let mut code = String::from("/// The page's files: `(path, content type, bytes)`.\n");
    code.push_str("pub(crate) static FILES: &[(&str, &str, &[u8])] = &[\n");
    if built {
        for (name, content_type) in FILES {
            let path = absolute(&pkg.join(name));
            code.push_str(&format!(
                "    ({:?}, {:?}, include_bytes!({:?})),\n",
                format!("/{name}"),
                content_type,
                path.display().to_string()
            ));
        }
    } else {
        println!(
            "cargo:warning=keyward-page: web/pkg/ has no built page; embedding a stand-in that says to run `cargo xtask build`"
        );
        let stand_in = out.join("missing.html");
        if let Err(e) = std::fs::write(&stand_in, MISSING) {
            panic!("cannot write {}: {e}", stand_in.display());
        }
        code.push_str(&format!(
            "    (\"/index.html\", \"text/html; charset=utf-8\", include_bytes!({:?})),\n",
            stand_in.display().to_string()
        ));
    }
    code.push_str("];\n");
    code.push_str(&format!(
        "/// Whether the real page was embedded (false: the stand-in).\npub const BUILT: bool = {built};\n"
    ));
    let generated = out.join("files.rs");
    if let Err(e) = std::fs::write(&generated, code) {
        panic!("cannot write {}: {e}", generated.display());
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
