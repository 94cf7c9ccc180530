#![no_main]
//! The `ids` target: see `keyward_fuzz::ids`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyward_fuzz::ids::run(data));
