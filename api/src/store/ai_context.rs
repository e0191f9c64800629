//! The tenant's AI context: one row per tenant, created with defaults at sign-up.

use leadline_domain::ids::TenantId;
use leadline_entity::ai_contexts;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{record, AuditEntry};
use super::{now, Store};
use crate::auth::Actor;
use crate::error::ApiResult;

/// Partial change of the AI context; `Some(None)` clears an optional field.
#[derive(Debug, Default)]
pub struct AiContextChanges {
    pub system_prompt: Option<Option<String>>,
    pub business_hours: Option<serde_json::Value>,
    pub timezone: Option<String>,
    pub response_style: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub escalation_keywords: Option<Vec<String>>,
    pub auto_escalate_after_messages: Option<Option<i32>>,
    pub provider: Option<String>,
    pub model: Option<Option<String>>,
}

/// The defaults every tenant starts with.
pub(super) fn default_row(tenant_id: Uuid) -> ai_contexts::ActiveModel {
    let at = now();
    ai_contexts::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        system_prompt: Set(None),
        business_hours: Set(json!([])),
        timezone: Set("UTC".into()),
        response_style: Set("FRIENDLY".into()),
        temperature: Set(0.7),
        max_tokens: Set(512),
        escalation_keywords: Set(json!([])),
        auto_escalate_after_messages: Set(None),
        provider: Set("OFFLINE".into()),
        model: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

impl Store {
    /// The tenant's AI context (created with defaults if it is somehow missing).
    pub async fn ai_context(&self, tenant: TenantId) -> ApiResult<ai_contexts::Model> {
        let tenant_id = tenant.uuid();
        let found = ai_contexts::Entity::find()
            .filter(ai_contexts::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?;
        match found {
            Some(row) => Ok(row),
            None => Ok(default_row(tenant_id).insert(&self.db).await?),
        }
    }

    /// Applies a validated change and audits which fields moved.
    pub async fn update_ai_context(
        &self,
        tenant: TenantId,
        actor: Actor,
        changes: AiContextChanges,
    ) -> ApiResult<ai_contexts::Model> {
        let tenant_id = tenant.uuid();
        let current = self.ai_context(tenant).await?;
        let tx = self.db.begin().await?;
        let mut row = current.into_active_model();
        let mut changed: Vec<&str> = Vec::new();
        macro_rules! apply {
            ($field:ident, $name:literal) => {
                if let Some(v) = changes.$field {
                    row.$field = Set(v);
                    changed.push($name);
                }
            };
        }
        apply!(system_prompt, "systemPrompt");
        apply!(business_hours, "businessHours");
        apply!(timezone, "timezone");
        apply!(response_style, "responseStyle");
        apply!(temperature, "temperature");
        apply!(max_tokens, "maxTokens");
        apply!(auto_escalate_after_messages, "autoEscalateAfterMessages");
        apply!(provider, "provider");
        apply!(model, "model");
        if let Some(v) = changes.escalation_keywords {
            row.escalation_keywords = Set(json!(v));
            changed.push("escalationKeywords");
        }
        row.updated_at = Set(now());
        let updated = row.update(&tx).await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "ai_context.updated",
                target_type: "ai_context",
                target_id: Some(updated.id.to_string()),
                details: json!({"changed": changed}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }
}
