//! Who a support customer is: customer tokens for a tenant's own users (`createCustomerToken`)
//! and for anonymous visitors (`startVisitorSession`), who come back only with a rotating resume
//! secret — never with the visitor id alone, which is readable in every token.
//!
//! Must not: see GraphQL types, speak SQL (the store swaps the secret's hash with one conditional
//! UPDATE), or keep a secret in clear (only its SHA-256 is stored).

use chrono::{DateTime, Utc};
use leadline_domain::ids::TenantId;
use uuid::Uuid;

use super::session::{ensure_web_chat_enabled, VISITOR_PREFIX};
use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A customer token and who it is for.
#[derive(Debug, Clone)]
pub struct CustomerToken {
    /// The bearer token.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The customer's lead.
    pub lead_id: Uuid,
    /// For visitors: the visitor id.
    pub visitor_id: Option<Uuid>,
    /// For visitors: the secret that resumes them next time (shown once).
    pub resume_secret: Option<String>,
    /// Whether an earlier visitor was continued.
    pub resumed: bool,
}

/// A token for the tenant's user `external_id` (validated, not a visitor id), who becomes — or
/// is found as — a lead with a WEB_CHAT identity.
pub async fn customer_token(
    state: &AppState,
    tenant_id: TenantId,
    external_id: &str,
    name: &str,
    email: Option<&str>,
) -> ApiResult<CustomerToken> {
    let (lead, created) = state
        .store
        .upsert_web_chat_customer(tenant_id, external_id, name, email)
        .await?;
    if created {
        state.bus.publish(
            tenant_id,
            Event::LeadUpdated {
                lead: Box::new(lead.clone()),
            },
        );
    }
    let (token, expires_at) =
        state
            .tokens
            .issue_customer(tenant_id.uuid(), lead.id, external_id, Utc::now())?;
    Ok(CustomerToken {
        token,
        expires_at,
        lead_id: lead.id,
        visitor_id: None,
        resume_secret: None,
        resumed: false,
    })
}

/// Refuses a `startVisitorSession` over the client IP's rate (before anything else is read).
pub async fn check_visitor_rate(state: &AppState, ip: Option<std::net::IpAddr>) -> ApiResult<()> {
    match ip {
        Some(ip) => {
            state
                .support
                .visitor_limiter
                .check(&crate::limit::ip_key(ip))
                .await
        }
        None => Ok(()),
    }
}

/// The tenant with slug `slug`, if it has switched web chat on for visitors (NOT_FOUND for an
/// unknown slug, FORBIDDEN while web chat is off).
pub async fn web_chat_tenant(state: &AppState, slug: &str) -> ApiResult<Uuid> {
    let tenant = state
        .store
        .tenant_by_slug(slug)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    ensure_web_chat_enabled(&state.store, TenantId(tenant.id)).await?;
    Ok(tenant.id)
}

/// A visitor's token: the visitor `claimed` continued when `presented` is its current resume
/// secret (which is then replaced), else a new visitor. A wrong or stale secret, or an unknown
/// id, says nothing about whether the id exists: it simply starts someone new.
pub async fn visitor_token(
    state: &AppState,
    tenant_id: TenantId,
    name: Option<String>,
    claimed: Option<Uuid>,
    presented: Option<String>,
) -> ApiResult<CustomerToken> {
    let next_secret = crate::auth::random_secret(32);
    let next_hash = crate::auth::sha256_hex(&next_secret);
    let resumed = match (claimed, presented) {
        (Some(visitor_id), Some(secret)) => {
            state
                .store
                .resume_visitor(
                    tenant_id,
                    visitor_id,
                    &crate::auth::sha256_hex(&secret),
                    &next_hash,
                )
                .await?
        }
        _ => None,
    };
    let (visitor, is_resume) = match resumed {
        Some(visitor) => (visitor, true),
        None => {
            let visitor = state
                .store
                .create_visitor(tenant_id, name, &next_hash)
                .await?;
            state.bus.publish(
                tenant_id,
                Event::LeadUpdated {
                    lead: Box::new(visitor.lead.clone()),
                },
            );
            (visitor, false)
        }
    };
    let external_id = format!("{VISITOR_PREFIX}{}", visitor.id);
    let (token, expires_at) =
        state
            .tokens
            .issue_customer(tenant_id.uuid(), visitor.lead.id, &external_id, Utc::now())?;
    Ok(CustomerToken {
        token,
        expires_at,
        lead_id: visitor.lead.id,
        visitor_id: Some(visitor.id),
        resume_secret: Some(next_secret),
        resumed: is_resume,
    })
}
