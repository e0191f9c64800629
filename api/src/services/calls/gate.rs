//! The compliance gate's facts for one dial: who the recipient is and where (the invoice's,
//! lead's and tenant's zones), the lead's consent, the tenant's policy, the do-not-call list and
//! the number's earlier attempts, read fresh for each decision. The phone agent's outbound calls
//! to leads pass the same gate ([`gate_for_lead`]), with the lead's zone and consent.

use chrono::{DateTime, Duration, Utc};
use leadline_domain::compliance::{
    check_dial, parse_time_zone, CallPolicy, Consent, DialCheck, DialDecision, Tz, ZoneHints,
};
use leadline_domain::ids::TenantId;
use leadline_domain::phone::PhoneNumber;
use leadline_entity::{invoices, leads};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::call_settings::TenantCallPolicy;

/// The zone of a tenant that set none, when neither the number, the invoice nor the lead
/// settles the recipient's.
const DEFAULT_TENANT_ZONE: Tz = Tz::UTC;

/// A stored zone; stored zones were validated on the way in, so an unreadable one is logged
/// and skipped (the next hint, or the tenant's, decides) rather than failing the call.
fn stored_zone(what: &str, zone: Option<&str>) -> Option<Tz> {
    let zone = zone?;
    match parse_time_zone("timeZone", zone) {
        Ok(tz) => Some(tz),
        Err(error) => {
            tracing::warn!(%error, what, "a stored time zone does not read; ignored");
            None
        }
    }
}

/// What the gate and the agent's context know about where the recipient is.
fn zone_hints(invoice: &invoices::Model, lead: Option<&leads::Model>, tenant: Tz) -> ZoneHints {
    ZoneHints {
        invoice: stored_zone("invoice", invoice.time_zone.as_deref()),
        lead: stored_zone("lead", lead.and_then(|l| l.time_zone.as_deref())),
        tenant,
    }
}

/// The facts about a call's recipient, read fresh for each decision.
pub(super) struct Recipient {
    lead: Option<leads::Model>,
    tenant_zone: Tz,
    policy: CallPolicy,
}

impl Recipient {
    pub(super) async fn read(
        state: &AppState,
        tenant_id: TenantId,
        invoice: &invoices::Model,
    ) -> ApiResult<Self> {
        let lead = match invoice.lead_id {
            Some(id) => match state.store.lead(tenant_id, id).await {
                Ok(lead) => Some(lead),
                Err(ApiError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let tenant = state.store.tenant(tenant_id).await?;
        Ok(Self {
            lead,
            tenant_zone: stored_zone("tenant", tenant.time_zone.as_deref())
                .unwrap_or(DEFAULT_TENANT_ZONE),
            policy: TenantCallPolicy::of(&tenant)?.policy,
        })
    }

    pub(super) fn zones(&self, invoice: &invoices::Model) -> ZoneHints {
        zone_hints(invoice, self.lead.as_ref(), self.tenant_zone)
    }

    fn consent(&self) -> ApiResult<Consent> {
        match &self.lead {
            None => Ok(Consent::Unknown),
            Some(lead) => Consent::parse(&lead.call_consent)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("lead {}: {e}", lead.id))),
        }
    }
}

/// The compliance gate for one dial of `number` to `lead` at `now`, for a call about no
/// invoice (the phone agent's outbound call to a lead): the same rules on facts read now — the
/// tenant's policy and zone, the lead's consent and zone, the do-not-call list and the number's
/// earlier attempts.
pub(crate) async fn gate_for_lead(
    state: &AppState,
    tenant_id: TenantId,
    lead: &leads::Model,
    number: &PhoneNumber,
    now: DateTime<Utc>,
) -> ApiResult<DialDecision> {
    let tenant = state.store.tenant(tenant_id).await?;
    let consent = Consent::parse(&lead.call_consent)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("lead {}: {e}", lead.id)))?;
    let earlier = state
        .store
        .call_attempts_since(tenant_id, number.as_str(), now - Duration::days(7))
        .await?;
    let on_list = state
        .store
        .is_do_not_call(tenant_id, number.as_str())
        .await?;
    Ok(check_dial(&DialCheck {
        number,
        now,
        zones: ZoneHints {
            invoice: None,
            lead: stored_zone("lead", lead.time_zone.as_deref()),
            tenant: stored_zone("tenant", tenant.time_zone.as_deref())
                .unwrap_or(DEFAULT_TENANT_ZONE),
        },
        policy: TenantCallPolicy::of(&tenant)?.policy,
        on_do_not_call_list: on_list,
        consent,
        earlier_attempts: &earlier,
    }))
}

/// The compliance gate for one dial of `number` about `invoice` at `now`, on facts read now:
/// the tenant's policy and zone, the lead's consent and zone, the do-not-call list and the
/// number's earlier attempts. Run when a call is asked for and again right before it is
/// dialled, so a consent revoked, a number listed or a policy tightened in between still holds.
pub(super) async fn gate(
    state: &AppState,
    tenant_id: TenantId,
    invoice: &invoices::Model,
    number: &PhoneNumber,
    now: DateTime<Utc>,
) -> ApiResult<(DialDecision, Recipient)> {
    let recipient = Recipient::read(state, tenant_id, invoice).await?;
    let earlier = state
        .store
        .call_attempts_since(tenant_id, number.as_str(), now - Duration::days(7))
        .await?;
    let on_list = state
        .store
        .is_do_not_call(tenant_id, number.as_str())
        .await?;
    let decision = check_dial(&DialCheck {
        number,
        now,
        zones: recipient.zones(invoice),
        policy: recipient.policy,
        on_do_not_call_list: on_list,
        consent: recipient.consent()?,
        earlier_attempts: &earlier,
    });
    Ok((decision, recipient))
}
