#![no_main]
//! The `resigned` target: see `keyward_fuzz::resigned`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyward_fuzz::resigned::run(data));
