#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cau_fuzzing::red(data));
