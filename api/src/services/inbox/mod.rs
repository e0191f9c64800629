//! The inbox's background work (ARCHITECTURE.md §5): the AI turn that answers an inbound message
//! and the jobs that send outbound messages to the platforms. Webhook parsing and ingestion live
//! elsewhere; these run only inside the job queue's workers.

pub mod ai_turn;
pub mod clients;
pub mod ingest;
pub mod profile;
pub mod send;

pub use ai_turn::AiTurnHandler;
pub use clients::PlatformClients;
pub use profile::ProfileHandler;
pub use send::{send_job, send_job_kind, SendHandler};
