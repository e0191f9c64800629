//! The support live chat's use cases, behind GraphQL (`graphql::support`) and the AI turn.
//!
//! A support session is a WEB_CHAT conversation, so what it shares with the inbox (agent reply,
//! assignment rules, `ConversationUpdated`) is `services::conversation`'s. Here:
//!
//! - [`session`]: who may see a session and who the caller is to the other side; opening,
//!   writing, typing, read receipts, assignment with capacity, ending, transcripts.
//! - [`customers`]: customer tokens for the tenant's users and for anonymous visitors (rotating
//!   resume secret).
//! - [`feed`]: one subscriber's live view of a session ([`SessionFeed`]: dedup, lag reload,
//!   the typing clock), testable without GraphQL.
//! - [`presence`]: which agents are online, from their live subscriptions.
//! - [`context`]: what the AI reads about the customer, and the transcript formats.
//! - [`ai_turn`]: the WEB_CHAT observer of the AI turn ([`WebChatTurns`]).
//!
//! Must not: see GraphQL or HTTP types, speak SQL (the store does), store typing (bus-only by
//! design) or decide escalation (the domain does).

pub mod ai_turn;
pub mod context;
pub mod customers;
pub mod feed;
pub mod presence;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

pub use ai_turn::WebChatTurns;
pub use context::{customer_context, transcript_json, transcript_text, CONTEXT_TICKETS};
pub use feed::{FeedItem, SessionFeed, TypingClock};
pub use presence::{OnlineAgent, Presence, PresenceGuard};
pub use session::Viewer;

/// What the support chat keeps per process.
pub struct SupportRuntime {
    /// `startVisitorSession` per client IP (`crate::limit::ip_key`), shared by replicas through
    /// Redis when configured.
    pub visitor_limiter: crate::limit::Limiter,
    /// Messages per customer (one lead: a visitor or a signed-in customer) and minute
    /// (`LEADLINE_CUSTOMER_MESSAGES_PER_MINUTE`), keyed by lead so a flooding visitor slows
    /// nobody else; shared by replicas like the visitor limit.
    pub message_limiter: crate::limit::Limiter,
    /// Agents online.
    pub presence: Arc<Presence>,
}

impl SupportRuntime {
    /// The runtime for this process (`redis`: URL and key prefix when configured).
    pub fn new(
        visitor_limiter: crate::limit::Limiter,
        message_limiter: crate::limit::Limiter,
        presence_ttl: Duration,
        redis: Option<(&str, &str)>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            visitor_limiter,
            message_limiter,
            presence: Arc::new(Presence::new(presence_ttl, redis)?),
        })
    }
}
