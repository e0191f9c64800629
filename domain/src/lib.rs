//! Leadline's business rules as plain, deterministic functions.
//!
//! Architecture invariant: this crate does no IO. It depends on no async runtime, database,
//! HTTP or Redis crate (CI checks `cargo tree -p leadline-domain`). The current time, random
//! values and new ids come in as arguments, so every rule can be tested with a table.

pub mod analysis;
pub mod call_outcome;
pub mod calls;
pub mod channel;
pub mod compliance;
pub mod error;
pub mod escalation;
pub mod ids;
pub mod job;
pub mod lead;
pub mod live;
pub mod messaging;
pub mod money;
pub mod phone;
pub mod tenant;

pub use error::DomainError;
