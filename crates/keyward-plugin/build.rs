//! For the WebAssembly build only: a 256 KiB stack instead of the default 1 MiB. The plugin
//! recurses nowhere and keeps its data on the heap; a smaller stack is a smaller initial
//! memory, so more of the host's per-instance memory limit is left for input.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=262144");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
