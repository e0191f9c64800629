//! What the compliance gate and the dial job read besides the call itself: the tenant's calling
//! policy and time zone, a lead's call consent, and the tenant's own LiveKit project (its
//! secret sealed like every connection secret). Every change is audited in its transaction.

use chrono::{DateTime, Utc};
use leadline_domain::compliance::{CallPolicy, Consent};
use leadline_domain::ids::TenantId;
use leadline_entity::{leads, livekit_connections, tenants};
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
use crate::secrets::Slot;

/// The sealed column of `livekit_connections`.
const SECRET_COLUMN: &str = "api_secret";
const TABLE: &str = "livekit_connections";

/// A tenant's calling policy as the gate reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantCallPolicy {
    /// The tenant's policy (the built-in one when none is stored).
    pub policy: CallPolicy,
    /// Whether the tenant stored one.
    pub custom: bool,
}

/// A validated LiveKit project for a tenant.
#[derive(Debug, Clone)]
pub struct NewLiveKitConnection {
    pub api_url: String,
    pub api_key: String,
    pub api_secret: String,
    pub sip_trunk_id: String,
    pub agent_name: String,
}

impl TenantCallPolicy {
    /// The policy of a tenant row already read (the gate reads the row once for its zone too).
    pub fn of(tenant: &tenants::Model) -> ApiResult<Self> {
        match &tenant.call_policy {
            None => Ok(Self {
                policy: CallPolicy::default(),
                custom: false,
            }),
            Some(stored) => CallPolicy::from_stored(stored)
                .map(|policy| Self {
                    policy,
                    custom: true,
                })
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("tenant {}: {e}", tenant.id))),
        }
    }
}

impl Store {
    fn livekit_slot<'a>(tenant: &'a str, row: &'a str) -> Slot<'a> {
        Slot {
            table: TABLE,
            column: SECRET_COLUMN,
            tenant,
            row,
        }
    }

    /// The row with its secret opened.
    fn open_livekit(
        &self,
        mut row: livekit_connections::Model,
    ) -> ApiResult<livekit_connections::Model> {
        let (tenant, id) = (row.tenant_id.to_string(), row.id.to_string());
        row.api_secret = self
            .sealer
            .open(&row.api_secret, &Self::livekit_slot(&tenant, &id))
            .map_err(|e| {
                ApiError::Internal(anyhow::anyhow!("{TABLE}.{SECRET_COLUMN} of row {id}: {e}"))
            })?;
        Ok(row)
    }

    /// The tenant's calling policy. A stored policy that no longer reads (edited by hand, or
    /// looser than the limits) is INTERNAL: calls stop rather than follow a policy nobody set.
    pub async fn call_policy(&self, tenant: TenantId) -> ApiResult<TenantCallPolicy> {
        let tenant_id = tenant.uuid();
        let tenant = tenants::Entity::find_by_id(tenant_id)
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("tenant"))?;
        TenantCallPolicy::of(&tenant)
    }

    /// Stores the tenant's calling policy (`None`: back to the built-in one). Audited.
    pub async fn set_call_policy(
        &self,
        tenant: TenantId,
        actor: Actor,
        policy: Option<CallPolicy>,
    ) -> ApiResult<TenantCallPolicy> {
        let tenant_id = tenant.uuid();
        let stored = policy
            .map(|p| serde_json::to_value(p).map_err(|e| ApiError::Internal(e.into())))
            .transpose()?;
        let tx = self.db.begin().await?;
        let tenant = tenants::Entity::find_by_id(tenant_id)
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("tenant"))?;
        let mut row = tenant.into_active_model();
        row.call_policy = Set(stored.clone());
        row.updated_at = Set(now());
        row.update(&tx).await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "tenant.call_policy_updated",
                target_type: "tenant",
                target_id: Some(tenant_id.to_string()),
                details: json!({ "policy": stored }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(TenantCallPolicy {
            policy: policy.unwrap_or_default(),
            custom: policy.is_some(),
        })
    }

    /// Records what the lead said about being called. Audited, with where it was heard.
    pub async fn set_call_consent(
        &self,
        tenant: TenantId,
        actor: Actor,
        lead_id: Uuid,
        consent: Consent,
        source: Option<String>,
        at: DateTime<Utc>,
    ) -> ApiResult<leads::Model> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let lead = leads::Entity::find_by_id(lead_id)
            .filter(leads::Column::TenantId.eq(tenant_id))
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("lead"))?;
        let before = lead.call_consent.clone();
        let mut row = lead.into_active_model();
        row.call_consent = Set(consent.as_str().to_owned());
        row.call_consent_at = Set(Some(at));
        row.updated_at = Set(now());
        let lead = row.update(&tx).await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "lead.call_consent_recorded",
                target_type: "lead",
                target_id: Some(lead_id.to_string()),
                details: json!({"from": before, "to": consent.as_str(), "source": source}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// The tenant's own LiveKit project, secret opened (for the dial job), if it set one.
    pub async fn livekit_connection(
        &self,
        tenant: TenantId,
    ) -> ApiResult<Option<livekit_connections::Model>> {
        let tenant_id = tenant.uuid();
        livekit_connections::Entity::find()
            .filter(livekit_connections::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?
            .map(|row| self.open_livekit(row))
            .transpose()
    }

    /// Every tenant project registered under `api_key`, secrets opened. Deliberately not
    /// tenant-scoped: a webhook names only its key, and its signature decides which (if any)
    /// of these sent it. Several tenants may register one key; none can sign for another.
    pub async fn livekit_connections_by_key(
        &self,
        api_key: &str,
    ) -> ApiResult<Vec<livekit_connections::Model>> {
        livekit_connections::Entity::find()
            .filter(livekit_connections::Column::ApiKey.eq(api_key))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| self.open_livekit(row))
            .collect()
    }

    /// Creates or replaces the tenant's LiveKit project. Audited (the secret is named, never
    /// logged).
    pub async fn set_livekit_connection(
        &self,
        tenant: TenantId,
        actor: Actor,
        new: NewLiveKitConnection,
    ) -> ApiResult<livekit_connections::Model> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let existing = livekit_connections::Entity::find()
            .filter(livekit_connections::Column::TenantId.eq(tenant_id))
            .one(&tx)
            .await?;
        let at = now();
        let (id, created_at) = existing
            .as_ref()
            .map(|row| (row.id, row.created_at))
            .unwrap_or_else(|| (Uuid::now_v7(), at));
        let sealed = self
            .sealer
            .seal(
                &new.api_secret,
                &Self::livekit_slot(&tenant_id.to_string(), &id.to_string()),
            )
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("sealing {TABLE}: {e}")))?;
        let row = livekit_connections::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id),
            api_url: Set(new.api_url.clone()),
            api_key: Set(new.api_key.clone()),
            api_secret: Set(sealed),
            sip_trunk_id: Set(new.sip_trunk_id.clone()),
            agent_name: Set(new.agent_name.clone()),
            created_at: Set(created_at),
            updated_at: Set(at),
        };
        let saved = if existing.is_some() {
            row.update(&tx).await?
        } else {
            row.insert(&tx).await.map_err(|e| {
                if is_unique_violation(&e) {
                    ApiError::Conflict(
                        "a LiveKit connection was created concurrently; retry".into(),
                    )
                } else {
                    e.into()
                }
            })?
        };
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "livekit_connection.upserted",
                target_type: "livekit_connection",
                target_id: Some(id.to_string()),
                details: json!({
                    "apiUrl": new.api_url, "apiKey": new.api_key, "sipTrunkId": new.sip_trunk_id,
                    "agentName": new.agent_name, "secretChanged": true,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        self.open_livekit(saved)
    }

    /// Removes the tenant's LiveKit project (its calls go back to the operator's settings).
    /// Whether there was one. Audited.
    pub async fn remove_livekit_connection(
        &self,
        tenant: TenantId,
        actor: Actor,
    ) -> ApiResult<bool> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let deleted = livekit_connections::Entity::delete_many()
            .filter(livekit_connections::Column::TenantId.eq(tenant_id))
            .exec(&tx)
            .await?
            .rows_affected;
        if deleted > 0 {
            record(
                &tx,
                tenant_id,
                actor,
                AuditEntry {
                    action: "livekit_connection.removed",
                    target_type: "livekit_connection",
                    target_id: None,
                    details: json!({}),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(deleted > 0)
    }
}
