#![no_main]
//! The `pem` target: see `keyward_fuzz::pem`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyward_fuzz::pem::run(data));
