//! Typed ids. Every id is a UUID v7 (time ordered, so cursors over ids follow creation order);
//! the newtypes stop a `LeadId` from being passed where a `TenantId` is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The inner UUID.
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A tenant (one customer organisation); every row carries one.
    TenantId,
    /// A person who can sign in.
    UserId,
    /// A lead (a prospective buyer).
    LeadId,
    /// A product of a tenant's catalog.
    ProductId,
    /// A tenant's connection to one channel.
    ChannelConnectionId,
    /// An API key.
    ApiKeyId,
    /// A conversation with a lead on one channel (a support session is a WEB_CHAT conversation).
    ConversationId,
    /// A message in a conversation.
    MessageId,
    /// An invitation to join a tenant, pending until accepted.
    InviteId,
    /// An anonymous web-chat visitor (their resumable identity, not the lead behind it).
    VisitorId,
    /// A live-stream session the agent watches.
    LiveSessionId,
    /// One viewer message of a live session and what the agent did with it.
    LiveInteractionId,
    /// An invoice a payment-reminder call is about.
    InvoiceId,
    /// A phone call: a payment reminder, or the phone agent's inbound or outbound call.
    CallId,
    /// A lead's nurture enrollment (its follow-up sequence).
    NurtureEnrollmentId,
);
