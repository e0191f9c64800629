//! Attacks on accounts (see `attacks.rs`).
