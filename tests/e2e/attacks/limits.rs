//! Attacks on limits (see `attacks.rs`).
