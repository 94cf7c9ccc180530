#![no_main]
//! The `state` target: see `keyward_fuzz::state`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyward_fuzz::state::run(data));
