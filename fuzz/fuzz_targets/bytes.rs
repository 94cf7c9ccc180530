#![no_main]
//! The `bytes` target: see `keyward_fuzz::bytes`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyward_fuzz::bytes::run(data));
