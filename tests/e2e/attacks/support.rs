//! Attacks on support (see `attacks.rs`).
