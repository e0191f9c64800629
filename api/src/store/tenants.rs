//! Tenants: sign-up (tenant + unverified owner + the verification mail job in one transaction),
//! settings, and the instance secret.

use leadline_domain::ids::TenantId;
use leadline_domain::tenant::{Email, Role, TenantSlug};
use leadline_entity::{ai_contexts, instance_settings, memberships, tenants, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{record, AuditEntry};
use super::{now, Store};
use crate::auth::Actor;
use crate::error::{is_unique_violation, ApiError, ApiResult};

/// Partial update of tenant settings; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct TenantSettingsChanges {
    pub name: Option<String>,
    pub agent_running: Option<bool>,
    pub ai_lead_percentage: Option<i32>,
    pub agent_name: Option<Option<String>>,
    pub human_operator_number: Option<Option<String>>,
    pub default_phone_region: Option<Option<String>>,
    /// IANA zone (validated by the caller).
    pub time_zone: Option<Option<String>>,
    // The dealership AI phone agent (issue 15), validated by the caller.
    /// E.164; unique across tenants (CONFLICT when another tenant has it).
    pub twilio_phone_number: Option<Option<String>>,
    pub elevenlabs_inbound_agent_id: Option<Option<String>>,
    pub elevenlabs_outbound_agent_id: Option<Option<String>>,
    pub dealership_name: Option<Option<String>>,
    /// `domain::dealership::BusinessHours` as JSON (`Some(None)`: back to the default week).
    pub business_hours: Option<Option<serde_json::Value>>,
    pub appointment_slot_minutes: Option<i32>,
    pub appointments_per_slot: Option<i32>,
    /// Lead nurture (validated by the caller).
    pub nurture_schedule: Option<leadline_domain::nurture::NurtureSchedule>,
    /// Micro-USD per billed telephony minute.
    pub call_minute_rate_micros: Option<i64>,
}

/// A new tenant's row: the FREE plan, no subscription, the agent stopped, the AI taking every
/// lead, no settings. Sign-up and the test kit both start here, so a new column is added once.
pub(super) fn new_tenant_row(
    id: Uuid,
    slug: &str,
    name: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> tenants::ActiveModel {
    tenants::ActiveModel {
        id: Set(id),
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        plan: Set("FREE".into()),
        subscription_status: Set("NONE".into()),
        stripe_customer_id: Set(None),
        agent_running: Set(false),
        ai_lead_percentage: Set(100),
        agent_name: Set(None),
        human_operator_number: Set(None),
        default_phone_region: Set(None),
        elevenlabs_agent_id: Set(None),
        livekit_agent_name: Set(None),
        time_zone: Set(None),
        call_policy: Set(None),
        twilio_phone_number: Set(None),
        elevenlabs_inbound_agent_id: Set(None),
        elevenlabs_outbound_agent_id: Set(None),
        dealership_name: Set(None),
        business_hours: Set(None),
        appointment_slot_minutes: Set(30),
        appointments_per_slot: Set(1),
        nurture_schedule: Set(None),
        call_minute_rate_micros: Set(0),
        stripe_subscription_id: Set(None),
        billing_current_period_end: Set(None),
        billing_cancel_at_period_end: Set(false),
        billing_past_due_since: Set(None),
        billing_synced_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

impl Store {
    /// Creates a tenant, its owner and default AI context in one transaction.
    pub async fn create_tenant_with_owner(
        &self,
        slug: &TenantSlug,
        name: &str,
        email: &Email,
        password_hash: String,
    ) -> ApiResult<(tenants::Model, users::Model)> {
        let tx = self.db.begin().await?;
        let at = now();
        if tenants::Entity::find()
            .filter(tenants::Column::Slug.eq(slug.as_str()))
            .one(&tx)
            .await?
            .is_some()
        {
            return Err(ApiError::Conflict(format!(
                "the tenant slug {:?} is taken",
                slug.as_str()
            )));
        }
        if users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(&tx)
            .await?
            .is_some()
        {
            // Whether that account is verified or not, sign-up never takes it over: the holder
            // of an unverified address loses it only to someone who proves the address (an
            // accepted invite), never to someone who merely asks for it.
            return Err(ApiError::Conflict(
                "an account with this e-mail exists; log in instead (or accept the invite sent to this address)".into(),
            ));
        }
        let tenant = new_tenant_row(Uuid::now_v7(), slug.as_str(), name, at)
            .insert(&tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    ApiError::Conflict("the tenant slug is taken".into())
                } else {
                    e.into()
                }
            })?;
        let user = super::members::insert_user(
            &tx,
            super::members::NewUser {
                email: email.as_str(),
                name: None,
                password_hash,
                // Unverified until the mailed token comes back: good for this tenant only.
                verified_at: None,
                at,
            },
            || ApiError::Conflict("an account with this e-mail exists".into()),
        )
        .await?;
        memberships::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant.id),
            user_id: Set(user.id),
            role: Set(Role::Owner.as_str().into()),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&tx)
        .await?;
        ai_contexts::Entity::insert(super::ai_context::default_row(tenant.id))
            .exec_without_returning(&tx)
            .await?;
        // The verification mail commits with the account; the job mints the token.
        crate::jobs::enqueue(&tx, super::members::verification_job(tenant.id, user.id)).await?;
        record(
            &tx,
            tenant.id,
            Actor {
                user_id: Some(user.id),
                api_key_id: None,
            },
            AuditEntry {
                action: "tenant.created",
                target_type: "tenant",
                target_id: Some(tenant.id.to_string()),
                details: json!({"slug": slug.as_str()}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((tenant, user))
    }

    /// The caller's tenant.
    pub async fn tenant(&self, tenant: TenantId) -> ApiResult<tenants::Model> {
        let tenant_id = tenant.uuid();
        tenants::Entity::find_by_id(tenant_id)
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("tenant"))
    }

    /// A tenant by its slug (webhook routing, login).
    pub async fn tenant_by_slug(&self, slug: &str) -> ApiResult<Option<tenants::Model>> {
        Ok(tenants::Entity::find()
            .filter(tenants::Column::Slug.eq(slug))
            .one(&self.db)
            .await?)
    }

    /// Applies a partial settings change and audits it.
    pub async fn update_tenant_settings(
        &self,
        tenant: TenantId,
        actor: Actor,
        changes: TenantSettingsChanges,
    ) -> ApiResult<tenants::Model> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let current = tenants::Entity::find_by_id(tenant_id)
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("tenant"))?;
        let mut changed = serde_json::Map::new();
        let was_running = current.agent_running;
        let mut row = current.into_active_model();
        if let Some(v) = changes.name {
            changed.insert("name".into(), json!(v));
            row.name = Set(v);
        }
        if let Some(v) = changes.agent_running {
            changed.insert("agentRunning".into(), json!(v));
            row.agent_running = Set(v);
        }
        if let Some(v) = changes.ai_lead_percentage {
            changed.insert("aiLeadPercentage".into(), json!(v));
            row.ai_lead_percentage = Set(v);
        }
        if let Some(v) = changes.agent_name {
            changed.insert("agentName".into(), json!(v));
            row.agent_name = Set(v);
        }
        if let Some(v) = changes.human_operator_number {
            changed.insert("humanOperatorNumber".into(), json!(v));
            row.human_operator_number = Set(v);
        }
        if let Some(v) = changes.default_phone_region {
            changed.insert("defaultPhoneRegion".into(), json!(v));
            row.default_phone_region = Set(v);
        }
        if let Some(v) = changes.time_zone {
            changed.insert("timeZone".into(), json!(v));
            row.time_zone = Set(v);
        }
        // The dealership AI phone agent (issue 15).
        if let Some(v) = changes.twilio_phone_number {
            changed.insert("twilioPhoneNumber".into(), json!(v));
            row.twilio_phone_number = Set(v);
        }
        if let Some(v) = changes.elevenlabs_inbound_agent_id {
            changed.insert("elevenlabsInboundAgentId".into(), json!(v));
            row.elevenlabs_inbound_agent_id = Set(v);
        }
        if let Some(v) = changes.elevenlabs_outbound_agent_id {
            changed.insert("elevenlabsOutboundAgentId".into(), json!(v));
            row.elevenlabs_outbound_agent_id = Set(v);
        }
        if let Some(v) = changes.dealership_name {
            changed.insert("dealershipName".into(), json!(v));
            row.dealership_name = Set(v);
        }
        if let Some(v) = changes.business_hours {
            changed.insert("businessHours".into(), json!(v));
            row.business_hours = Set(v);
        }
        if let Some(v) = changes.appointment_slot_minutes {
            changed.insert("appointmentSlotMinutes".into(), json!(v));
            row.appointment_slot_minutes = Set(v);
        }
        if let Some(v) = changes.appointments_per_slot {
            changed.insert("appointmentsPerSlot".into(), json!(v));
            row.appointments_per_slot = Set(v);
        }
        if let Some(v) = changes.nurture_schedule {
            changed.insert("nurtureSchedule".into(), json!(v));
            row.nurture_schedule = Set(Some(json!(v)));
        }
        if let Some(v) = changes.call_minute_rate_micros {
            changed.insert("callMinuteRateMicros".into(), json!(v));
            row.call_minute_rate_micros = Set(v);
        }
        row.updated_at = Set(now());
        let updated = row.update(&tx).await.map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::Conflict(
                    "this Twilio number belongs to another tenant; each number routes to one"
                        .into(),
                )
            } else {
                e.into()
            }
        })?;
        // Starting or stopping the phone agent is audited on its own, so the log answers "who
        // switched the agent off" without reading every settings change.
        if let Some(running) = changes
            .agent_running
            .filter(|running| *running != was_running)
        {
            record(
                &tx,
                tenant_id,
                actor,
                AuditEntry {
                    action: if running {
                        "tenant.phone_agent_started"
                    } else {
                        "tenant.phone_agent_stopped"
                    },
                    target_type: "tenant",
                    target_id: Some(tenant_id.to_string()),
                    details: json!({ "agentRunning": running }),
                },
            )
            .await?;
        }
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "tenant.settings_updated",
                target_type: "tenant",
                target_id: Some(tenant_id.to_string()),
                details: changed.into(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// The JWT signing secret: the configured one, else one generated on first start and kept
    /// in the database, sealed (first writer wins, so concurrent replicas agree).
    pub async fn jwt_secret(&self, configured: Option<&str>) -> anyhow::Result<String> {
        if let Some(secret) = configured {
            return Ok(secret.to_owned());
        }
        const KEY: &str = "jwt_secret";
        if let Some(row) = instance_settings::Entity::find_by_id(KEY)
            .one(&self.db)
            .await?
        {
            return self.open_setting(KEY, &row.value);
        }
        let generated = crate::auth::random_secret(48);
        let insert = instance_settings::Entity::insert(instance_settings::ActiveModel {
            key: Set(KEY.into()),
            value: Set(self.seal_setting(KEY, &generated)?),
            updated_at: Set(now()),
        })
        .exec_without_returning(&self.db)
        .await;
        if let Err(error) = insert {
            if !is_unique_violation(&error) {
                return Err(error.into());
            }
        }
        let row = instance_settings::Entity::find_by_id(KEY)
            .one(&self.db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the JWT secret could not be stored"))?;
        self.open_setting(KEY, &row.value)
    }
}
