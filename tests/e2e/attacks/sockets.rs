//! Attacks on sockets (see `attacks.rs`).
