//! The settings the compliance gate and the dial job read, in GraphQL: the tenant's calling
//! policy (`callPolicy`, `updateCallPolicy`), a lead's call consent (`recordCallConsent`), and
//! the tenant's own LiveKit project (`liveKitConnection`, `setLiveKitConnection`,
//! `removeLiveKitConnection`). Resolvers parse, authorise and call the store or
//! `services::calls`; the limits live in `domain::compliance`.
//!
//! Owners and admins change the policy and the LiveKit project; members who may write record
//! consent (it is what the customer said, like a note); readers read the policy. The LiveKit
//! secret is never returned. Customer and call-agent tokens get nothing here.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveTime, Utc};
use leadline_domain::compliance::{AttemptCaps, CallPolicy as DomainPolicy, CallingHours};
use leadline_entity::livekit_connections;

use super::types::{CallConsent, Lead};
use super::{clean_text, parse_id, principal, required_text, state, tenant_for, AccessGuard};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::services::calls as service;
use crate::store::call_settings::{NewLiveKitConnection, TenantCallPolicy};

/// The tenant's calling policy. Tenants can only be stricter than the built-in policy:
/// 08:00–21:00 in the recipient's local time, at most 3 attempts a day and 7 in 7 days.
#[derive(SimpleObject)]
pub struct CallPolicy {
    /// First local time a call may start (`HH:MM`, recipient's time zone).
    pub calling_hours_start: String,
    /// End of the window (`HH:MM`, exclusive).
    pub calling_hours_end: String,
    /// Whether only leads whose consent is GRANTED are called (otherwise UNKNOWN is called and
    /// only REVOKED blocks).
    pub require_consent: bool,
    /// Dialled attempts one number may get per local day of the recipient.
    pub max_attempts_per_day: i32,
    /// Dialled attempts one number may get in any 7 × 24 hours.
    pub max_attempts_per_week: i32,
    /// False while the tenant uses the built-in policy.
    pub custom: bool,
}

impl From<TenantCallPolicy> for CallPolicy {
    fn from(read: TenantCallPolicy) -> Self {
        let (hours, caps) = (read.policy.hours(), read.policy.caps());
        Self {
            calling_hours_start: hours.start().format("%H:%M").to_string(),
            calling_hours_end: hours.end().format("%H:%M").to_string(),
            require_consent: read.policy.require_consent(),
            max_attempts_per_day: i32::try_from(caps.per_day).unwrap_or(i32::MAX),
            max_attempts_per_week: i32::try_from(caps.per_week).unwrap_or(i32::MAX),
            custom: read.custom,
        }
    }
}

/// Input of `updateCallPolicy`: every field is required, so the stored policy is always
/// whole; `reset: true` goes back to the built-in policy instead.
#[derive(InputObject)]
pub struct UpdateCallPolicyInput {
    /// `HH:MM`, not before 08:00.
    pub calling_hours_start: Option<String>,
    /// `HH:MM`, not after 21:00, after the start.
    pub calling_hours_end: Option<String>,
    /// Call only leads whose consent is GRANTED.
    pub require_consent: Option<bool>,
    /// 1–3.
    pub max_attempts_per_day: Option<i32>,
    /// 1–7, at least the daily cap.
    pub max_attempts_per_week: Option<i32>,
    /// Back to the built-in policy (the other fields must then be omitted).
    #[graphql(default)]
    pub reset: bool,
}

/// Result of `updateCallPolicy`.
#[derive(SimpleObject)]
pub struct UpdateCallPolicyPayload {
    /// The policy now in force.
    pub policy: CallPolicy,
}

/// Input of `recordCallConsent`.
#[derive(InputObject)]
pub struct RecordCallConsentInput {
    /// The lead.
    pub lead_id: ID,
    /// GRANTED, REVOKED or UNKNOWN.
    pub consent: CallConsent,
    /// Where it was heard, e.g. "web form", "call 2026-12-01" (at most 200 characters); kept in
    /// the audit log.
    pub source: Option<String>,
}

/// Result of `recordCallConsent`.
#[derive(SimpleObject)]
pub struct RecordCallConsentPayload {
    /// The lead after the change.
    pub lead: Lead,
}

/// A tenant's own LiveKit project (the secret is never shown).
#[derive(SimpleObject)]
pub struct LiveKitConnection {
    /// The project URL (`https://…`).
    pub api_url: String,
    /// The API key (not secret: it is every token's issuer).
    pub api_key: String,
    /// The outbound SIP trunk (`ST_…`).
    pub sip_trunk_id: String,
    /// The voice agent dispatched into each call's room.
    pub agent_name: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<livekit_connections::Model> for LiveKitConnection {
    fn from(row: livekit_connections::Model) -> Self {
        Self {
            api_url: row.api_url,
            api_key: row.api_key,
            sip_trunk_id: row.sip_trunk_id,
            agent_name: row.agent_name,
            updated_at: row.updated_at,
        }
    }
}

/// Input of `setLiveKitConnection`.
#[derive(InputObject)]
pub struct SetLiveKitConnectionInput {
    /// The project URL, `https://…` or `wss://…` (in production: https and a public host).
    pub api_url: String,
    /// The API key (1–128 characters).
    pub api_key: String,
    /// The API secret (16–256 characters); stored sealed, never returned.
    pub api_secret: String,
    /// The outbound SIP trunk id (`ST_…`).
    pub sip_trunk_id: String,
    /// The agent name (1–128 characters).
    pub agent_name: String,
}

/// Result of `setLiveKitConnection`.
#[derive(SimpleObject)]
pub struct SetLiveKitConnectionPayload {
    /// The connection as stored.
    pub connection: LiveKitConnection,
}

/// Result of `removeLiveKitConnection`.
#[derive(SimpleObject)]
pub struct RemoveLiveKitConnectionPayload {
    /// Whether there was one.
    pub removed: bool,
}

#[derive(Default)]
pub struct CallSettingsQuery;

#[Object]
impl CallSettingsQuery {
    /// The calling policy in force for the tenant.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn call_policy(&self, ctx: &Context<'_>) -> async_graphql::Result<CallPolicy> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(state(ctx).store.call_policy(tenant_id).await?.into())
    }

    /// The tenant's own LiveKit project, if it set one (owners and admins). Its calls use it in
    /// preference to the operator's.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn live_kit_connection(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<LiveKitConnection>> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        Ok(state(ctx)
            .store
            .livekit_connection(tenant_id)
            .await?
            .map(Into::into))
    }
}

#[derive(Default)]
pub struct CallSettingsMutation;

fn local_time(field: &str, value: &str) -> ApiResult<NaiveTime> {
    NaiveTime::parse_from_str(value.trim(), "%H:%M")
        .map_err(|_| ApiError::bad_input(field, "must be a time as HH:MM, e.g. 09:30"))
}

fn cap(field: &str, value: i32) -> ApiResult<u32> {
    u32::try_from(value).map_err(|_| ApiError::bad_input(field, "must not be negative"))
}

/// The whole policy from the input, or the first field that is missing or out of range.
fn policy_from(input: UpdateCallPolicyInput) -> ApiResult<Option<DomainPolicy>> {
    let given = [
        input.calling_hours_start.is_some(),
        input.calling_hours_end.is_some(),
        input.require_consent.is_some(),
        input.max_attempts_per_day.is_some(),
        input.max_attempts_per_week.is_some(),
    ];
    if input.reset {
        return if given.iter().any(|g| *g) {
            Err(ApiError::bad_input(
                "reset",
                "reset takes no other field; send either reset or the whole policy",
            ))
        } else {
            Ok(None)
        };
    }
    let missing =
        |field: &str| ApiError::bad_input(field, "is required (the policy is stored whole)");
    let start = input
        .calling_hours_start
        .ok_or_else(|| missing("callingHoursStart"))?;
    let end = input
        .calling_hours_end
        .ok_or_else(|| missing("callingHoursEnd"))?;
    let hours = CallingHours::new(
        local_time("callingHoursStart", &start)?,
        local_time("callingHoursEnd", &end)?,
    )
    .map_err(|e| ApiError::invalid("callingHoursEnd", e))?;
    let caps = AttemptCaps {
        per_day: cap(
            "maxAttemptsPerDay",
            input
                .max_attempts_per_day
                .ok_or_else(|| missing("maxAttemptsPerDay"))?,
        )?,
        per_week: cap(
            "maxAttemptsPerWeek",
            input
                .max_attempts_per_week
                .ok_or_else(|| missing("maxAttemptsPerWeek"))?,
        )?,
    };
    let require_consent = input
        .require_consent
        .ok_or_else(|| missing("requireConsent"))?;
    DomainPolicy::new(hours, require_consent, caps)
        .map(Some)
        .map_err(|e| match &e {
            leadline_domain::DomainError::OutOfRange { field, .. } => ApiError::invalid(field, e),
            _ => ApiError::invalid("callPolicy", e),
        })
}

#[Object]
impl CallSettingsMutation {
    /// Sets the tenant's calling policy (owners and admins), or resets it. Audited. It applies
    /// to every call dialled from now on, including calls already queued: the gate runs again
    /// right before each dial.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn update_call_policy(
        &self,
        ctx: &Context<'_>,
        input: UpdateCallPolicyInput,
    ) -> async_graphql::Result<UpdateCallPolicyPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let policy = policy_from(input)?;
        let stored = state(ctx)
            .store
            .set_call_policy(tenant_id, principal(ctx).actor(), policy)
            .await?;
        Ok(UpdateCallPolicyPayload {
            policy: stored.into(),
        })
    }

    /// Records what a lead said about being called. REVOKED blocks every later call to the
    /// lead, including ones already queued. Audited with its source.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn record_call_consent(
        &self,
        ctx: &Context<'_>,
        input: RecordCallConsentInput,
    ) -> async_graphql::Result<RecordCallConsentPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let lead_id = parse_id(&input.lead_id, "leadId")?;
        let source = clean_text(input.source, "source", 200)?;
        let lead = state(ctx)
            .store
            .set_call_consent(
                tenant_id,
                principal(ctx).actor(),
                lead_id,
                input.consent.into(),
                source,
                Utc::now(),
            )
            .await?;
        Ok(RecordCallConsentPayload { lead: Lead(lead) })
    }

    /// Sets the tenant's own LiveKit project (owners and admins); its calls and webhooks then
    /// use it instead of the operator's. Audited; the secret is sealed at rest and never
    /// returned.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn set_live_kit_connection(
        &self,
        ctx: &Context<'_>,
        input: SetLiveKitConnectionInput,
    ) -> async_graphql::Result<SetLiveKitConnectionPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let app = state(ctx);
        let api_url = service::tenant_livekit_url(&input.api_url, app.config.environment)?;
        let api_key = required_text(input.api_key, "apiKey", 128)?;
        let api_secret = input.api_secret.trim().to_owned();
        if !(16..=256).contains(&api_secret.chars().count()) {
            return Err(ApiError::bad_input("apiSecret", "must be 16 to 256 characters").into());
        }
        let sip_trunk_id = required_text(input.sip_trunk_id, "sipTrunkId", 128)?;
        if !sip_trunk_id.starts_with("ST_") {
            return Err(
                ApiError::bad_input("sipTrunkId", "must be an outbound trunk id (ST_…)").into(),
            );
        }
        let agent_name = required_text(input.agent_name, "agentName", 128)?;
        let row = app
            .store
            .set_livekit_connection(
                tenant_id,
                principal(ctx).actor(),
                NewLiveKitConnection {
                    api_url,
                    api_key,
                    api_secret,
                    sip_trunk_id,
                    agent_name,
                },
            )
            .await?;
        Ok(SetLiveKitConnectionPayload {
            connection: row.into(),
        })
    }

    /// Removes the tenant's own LiveKit project; its calls go back to the operator's settings.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn remove_live_kit_connection(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<RemoveLiveKitConnectionPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let removed = state(ctx)
            .store
            .remove_livekit_connection(tenant_id, principal(ctx).actor())
            .await?;
        Ok(RemoveLiveKitConnectionPayload { removed })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input(start: &str, end: &str, day: i32, week: i32) -> UpdateCallPolicyInput {
        UpdateCallPolicyInput {
            calling_hours_start: Some(start.into()),
            calling_hours_end: Some(end.into()),
            require_consent: Some(true),
            max_attempts_per_day: Some(day),
            max_attempts_per_week: Some(week),
            reset: false,
        }
    }

    fn field_of(error: ApiError) -> String {
        match error {
            ApiError::BadUserInput { field, .. } => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn the_policy_input_is_whole_valid_and_names_the_bad_field() {
        let policy = policy_from(input("09:00", "18:30", 2, 5)).unwrap().unwrap();
        assert_eq!(policy.caps().per_week, 5);
        assert!(policy.require_consent());
        assert_eq!(
            field_of(policy_from(input("9am", "18:00", 2, 5)).unwrap_err()),
            "callingHoursStart"
        );
        assert_eq!(
            field_of(policy_from(input("07:00", "18:00", 2, 5)).unwrap_err()),
            "callingHours"
        );
        assert_eq!(
            field_of(policy_from(input("09:00", "08:00", 2, 5)).unwrap_err()),
            "callingHoursEnd"
        );
        assert_eq!(
            field_of(policy_from(input("09:00", "18:00", -1, 5)).unwrap_err()),
            "maxAttemptsPerDay"
        );
        assert_eq!(
            field_of(policy_from(input("09:00", "18:00", 2, 9)).unwrap_err()),
            "maxAttemptsPerWeek"
        );
        let mut partial = input("09:00", "18:00", 2, 5);
        partial.require_consent = None;
        assert_eq!(
            field_of(policy_from(partial).unwrap_err()),
            "requireConsent"
        );
        let mut reset = input("09:00", "18:00", 2, 5);
        reset.reset = true;
        assert_eq!(field_of(policy_from(reset).unwrap_err()), "reset");
        let only_reset = UpdateCallPolicyInput {
            calling_hours_start: None,
            calling_hours_end: None,
            require_consent: None,
            max_attempts_per_day: None,
            max_attempts_per_week: None,
            reset: true,
        };
        assert!(policy_from(only_reset).unwrap().is_none());
    }
}
