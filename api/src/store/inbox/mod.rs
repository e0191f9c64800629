//! Conversations, messages and tickets: the inbox's rows (ARCHITECTURE.md §5), one file per
//! concern: `ingest` (the spine's one transaction for an inbound message), `contacts` (leads as
//! a channel knows them), `conversations`, `messages` and `tickets`. The support chat and the
//! live agent build on these rows (a support session is a WEB_CHAT conversation).
//!
//! Must not: talk to a platform or publish events; every function takes the caller's tenant.

mod contacts;
mod conversations;
mod ingest;
mod messages;
mod tickets;

pub(in crate::store) use contacts::{insert_messaging_lead, NewMessagingLead};
pub use conversations::{ConversationChange, ConversationFilter};
pub use ingest::{InboundContact, InboundMessage, IngestOutcome, Ingested};
pub use messages::OutboundMessage;
pub(in crate::store) use tickets::ticket_row;
pub use tickets::NewTicket;

use leadline_domain::conversation::{ConversationStatus, TicketStatus};

use super::columns::names;
use crate::error::{is_unique_violation, ApiError};

/// Job kind of the AI turn.
pub const AI_RESPONSE_JOB: &str = "ai_response";

/// Job kind that names a new Messenger/Instagram lead from the platform's User Profile API
/// (their webhooks carry no name, and the request path makes no outbound call).
pub const FETCH_PROFILE_JOB: &str = "fetch_profile";

/// The stored names of the open conversation statuses, for `IN (...)` filters.
pub(super) fn open_statuses() -> [&'static str; 2] {
    names(ConversationStatus::OPEN, ConversationStatus::as_str)
}

/// The stored names of the open ticket statuses, for `IN (...)` filters.
pub(super) fn open_ticket_statuses() -> [&'static str; 2] {
    names(TicketStatus::OPEN, TicketStatus::as_str)
}

/// Whether a failed statement lost a race on a unique key (retry the transaction) or failed.
pub(super) fn race_or(error: sea_orm::DbErr) -> ApiError {
    if is_unique_violation(&error) {
        ApiError::Conflict("lost a race on a unique key".into())
    } else {
        error.into()
    }
}
