#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| termauth_core_fuzz::session::run(data));
