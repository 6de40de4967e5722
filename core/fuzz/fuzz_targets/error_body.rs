#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| termauth_core_fuzz::error_body::run(data));
