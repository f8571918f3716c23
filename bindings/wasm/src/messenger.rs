//! The messenger layer (SPEC.md §17-§21, §26-§27) for JavaScript.
