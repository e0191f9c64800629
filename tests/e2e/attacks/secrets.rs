//! Attacks on secrets (see `attacks.rs`).
