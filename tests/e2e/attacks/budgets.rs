//! Attacks on budgets (see `attacks.rs`).
