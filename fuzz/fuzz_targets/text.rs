#![no_main]
//! The `text` target: see `keyward_fuzz::text`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyward_fuzz::text::run(data));
