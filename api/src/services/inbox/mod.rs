//! The inbox's background work (ARCHITECTURE.md §5): the AI turn that answers an inbound message
//! and the jobs that send outbound messages to the platforms. Webhook parsing and ingestion live
//! elsewhere; these run only inside the job queue's workers.

pub mod ai_turn;
pub mod ingest;
pub mod profile;
pub mod send;

pub use ai_turn::AiTurnHandler;
pub use profile::ProfileHandler;
pub use send::{send_job, send_job_kind, PlatformClients, SendHandler};

use crate::error::ApiError;
use crate::jobs::JobFailure;

/// What a job does about a store or service error: retry what may pass (database hiccups, rate
/// limits, outages, lost races), give up on what cannot (missing rows, refused input).
/// The job's error text is the public message (jobs are visible to the tenant); an internal
/// cause is logged by `public_message`, never stored.
pub(crate) fn failure_of(error: ApiError) -> JobFailure {
    let text = format!("{}: {}", error.code(), error.public_message());
    match error {
        ApiError::NotFound(_)
        | ApiError::BadUserInput { .. }
        | ApiError::Forbidden(_)
        | ApiError::Unauthenticated(_)
        | ApiError::LimitReached { .. } => JobFailure::Permanent(text),
        ApiError::RateLimited { .. }
        | ApiError::Unavailable(_)
        | ApiError::Conflict(_)
        | ApiError::Internal(_) => JobFailure::Retry(text),
    }
}
