#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatcrypt_fuzz::decrypt_established_he(data));
