//! UniFFI's bindings generator, built from the same `uniffi` as the library
//! (see README.md for the command).

fn main() {
    uniffi::uniffi_bindgen_main()
}
