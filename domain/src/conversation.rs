//! The lifecycle states of a conversation (inbox threads and support chat sessions alike), who
//! handles it, who takes part in a support chat, and the states of the tickets opened from it
//! (ARCHITECTURE.md §5).
//!
//! Owns: the names these states are stored and shown under, and which of them count as "open".
//! Must not: decide when a conversation escalates (see [`crate::escalation`]) or read a row.

named_enum! {
    /// Where a conversation stands.
    pub enum ConversationStatus("conversation status") {
        /// The AI (or an agent) is talking with the lead.
        Active => "ACTIVE",
        /// Escalated: waiting for a human agent.
        Waiting => "WAITING",
        /// Done; the lead's next message opens a new conversation.
        Resolved => "RESOLVED",
        /// Closed for good.
        Closed => "CLOSED",
    }
}

impl ConversationStatus {
    /// The statuses counted as "open": at most one such conversation per lead and channel, and
    /// only these take new messages.
    pub const OPEN: [ConversationStatus; 2] =
        [ConversationStatus::Active, ConversationStatus::Waiting];

    /// Whether the conversation is still open (ACTIVE or WAITING).
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

named_enum! {
    /// Who answers a conversation.
    pub enum Handler("conversation handler") {
        /// AI replies are sent automatically.
        Ai => "AI",
        /// A human agent answers; the AI stays silent there.
        Human => "HUMAN",
    }
}

named_enum! {
    /// Who takes part in a support chat, as the other side sees them.
    pub enum ParticipantKind("participant kind") {
        /// The tenant's end-user (signed-in customer or anonymous visitor).
        Customer => "CUSTOMER",
        /// A member of the tenant (or an API key acting for one).
        Agent => "AGENT",
        /// The AI assistant.
        Ai => "AI",
    }
}

named_enum! {
    /// Where a ticket stands.
    pub enum TicketStatus("ticket status") {
        /// Opened, nobody on it yet.
        Open => "OPEN",
        /// Someone is working on it.
        InProgress => "IN_PROGRESS",
        /// Done.
        Resolved => "RESOLVED",
        /// Closed without further work.
        Closed => "CLOSED",
    }
}

impl TicketStatus {
    /// The statuses of a ticket someone still has to act on.
    pub const OPEN: [TicketStatus; 2] = [TicketStatus::Open, TicketStatus::InProgress];

    /// Whether someone still has to act on the ticket (OPEN or IN_PROGRESS).
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_and_serde() {
        fn check<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
        where
            T: Copy + PartialEq + std::fmt::Debug + serde::Serialize,
        {
            for v in all {
                assert_eq!(parse(as_str(*v)), Some(*v));
                let json = serde_json::to_string(v).unwrap_or_default();
                assert_eq!(json, format!("\"{}\"", as_str(*v)));
            }
        }
        check(&ConversationStatus::ALL, ConversationStatus::as_str, |s| {
            ConversationStatus::parse(s).ok()
        });
        check(&Handler::ALL, Handler::as_str, |s| Handler::parse(s).ok());
        check(&ParticipantKind::ALL, ParticipantKind::as_str, |s| {
            ParticipantKind::parse(s).ok()
        });
        check(&TicketStatus::ALL, TicketStatus::as_str, |s| {
            TicketStatus::parse(s).ok()
        });
    }

    #[test]
    fn unknown_or_differently_cased_names_are_refused() {
        for bad in ["", "active", "Active", " ACTIVE", "OPEN", "PENDING"] {
            assert!(ConversationStatus::parse(bad).is_err(), "{bad:?}");
        }
        assert!(TicketStatus::parse("in_progress").is_err());
        assert!(Handler::parse("BOT").is_err());
        assert_eq!(
            ParticipantKind::parse("ROBOT").map_err(|e| e.to_string()),
            Err("unknown participant kind \"ROBOT\"".to_owned())
        );
    }

    #[test]
    fn only_active_and_waiting_conversations_are_open() {
        let open: Vec<_> = ConversationStatus::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(
            open,
            [ConversationStatus::Active, ConversationStatus::Waiting]
        );
        let open: Vec<_> = TicketStatus::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(open, [TicketStatus::Open, TicketStatus::InProgress]);
    }
}
