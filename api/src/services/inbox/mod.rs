//! The inbox's use cases.

pub mod ingest;
