//! Empty: this crate only holds the peer benchmarks in `benches/`.
