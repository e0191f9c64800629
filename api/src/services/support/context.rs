//! What the support chat tells the AI and exports: the customer context the AI reads at the
//! start of a WEB_CHAT turn (profile and recent tickets), and the session transcript as text or
//! JSON.
//!
//! Must not: read or write storage (callers pass the rows) or include anything secret — these
//! strings reach an AI provider and the customer.

use leadline_entity::{leads, messages, tickets};
use serde_json::json;

use crate::services::conversation::author;

/// Most recent tickets shown to the AI.
pub const CONTEXT_TICKETS: u64 = 5;

/// What the AI is told about the customer in a WEB_CHAT session: a SYSTEM turn at the start of
/// its history (the provider prompt renders SYSTEM turns as context, not as the customer's
/// words). Only facts the tenant's CRM holds; never secrets.
pub fn customer_context(lead: &leads::Model, recent_tickets: &[tickets::Model]) -> String {
    let mut lines = vec![format!(
        "Customer profile: name {}; e-mail {}; status {}; lead score {} ({}); customer since {}.",
        lead.name,
        lead.email.as_deref().unwrap_or("unknown"),
        lead.status,
        lead.score,
        lead.temperature,
        lead.created_at.format("%Y-%m-%d"),
    )];
    if recent_tickets.is_empty() {
        lines.push("Recent support tickets: none.".to_owned());
    } else {
        lines.push("Recent support tickets (newest first):".to_owned());
        for ticket in recent_tickets {
            lines.push(format!(
                "- {} [{} {}] opened {}",
                ticket.subject,
                ticket.status,
                ticket.priority,
                ticket.created_at.format("%Y-%m-%d"),
            ));
        }
    }
    lines.join("\n")
}

/// The transcript as text: one `[time] Who: body` line per message.
pub fn transcript_text(messages: &[messages::Model]) -> String {
    messages
        .iter()
        .map(|m| {
            format!(
                "[{}] {}: {}",
                m.created_at.format("%Y-%m-%d %H:%M:%S"),
                author(m),
                m.body
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The transcript as a JSON array of `{id, at, senderKind, senderUserId, body, readAt}`.
pub fn transcript_json(messages: &[messages::Model]) -> serde_json::Value {
    serde_json::Value::Array(
        messages
            .iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "at": m.created_at.to_rfc3339(),
                    "senderKind": m.sender_kind,
                    "senderUserId": m.sender_user_id,
                    "body": m.body,
                    "readAt": m.read_at.map(|t| t.to_rfc3339()),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    #[test]
    fn the_ai_context_names_profile_and_tickets() {
        let at = Utc::now();
        let lead = leads::Model {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            name: "Ana Pérez".into(),
            email: Some("ana@example.com".into()),
            phone: None,
            company: None,
            status: "NEW".into(),
            score: 50,
            temperature: "WARM".into(),
            source_channel: Some("WEB_CHAT".into()),
            notes: None,
            handler: "AI".into(),
            assigned_user_id: None,
            metadata: json!({}),
            last_contacted_at: None,
            call_consent: "UNKNOWN".into(),
            call_consent_at: None,
            time_zone: None,
            created_at: at,
            updated_at: at,
        };
        let text = customer_context(&lead, &[]);
        assert!(text.contains("Ana Pérez") && text.contains("ana@example.com"));
        assert!(text.contains("tickets: none"));
        let ticket = tickets::Model {
            id: Uuid::now_v7(),
            tenant_id: lead.tenant_id,
            lead_id: Some(lead.id),
            conversation_id: None,
            subject: "Refund for order 1042".into(),
            description: String::new(),
            priority: "HIGH".into(),
            status: "OPEN".into(),
            assignee_user_id: None,
            resolved_at: None,
            created_at: at,
            updated_at: at,
        };
        let text = customer_context(&lead, &[ticket]);
        assert!(text.contains("Refund for order 1042 [OPEN HIGH]"));
    }
}
