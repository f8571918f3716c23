#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    chatcrypt_fuzz::padding(data);
});
