//! API keys: created with a secret shown once, stored as a hash, revocable.

use leadline_domain::ids::TenantId;
use leadline_domain::tenant::ApiKeyScope;
use leadline_entity::api_keys;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{record, AuditEntry};
use super::{now, paginate, Page, PageRequest, Store};
use crate::auth::{new_api_key, Actor};
use crate::error::{ApiError, ApiResult};

/// `last_used_at` is refreshed at most this often, so authentication does not write on every request.
const TOUCH_INTERVAL_SECS: i64 = 60;

impl Store {
    /// Creates a key; returns the row and the one-time credential.
    pub async fn create_api_key(
        &self,
        tenant: TenantId,
        actor: Actor,
        name: &str,
        scopes: &[ApiKeyScope],
    ) -> ApiResult<(api_keys::Model, String)> {
        let tenant_id = tenant.uuid();
        let key = new_api_key(Uuid::now_v7());
        let tx = self.db.begin().await?;
        let scopes_text: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let row = api_keys::ActiveModel {
            id: Set(key.id),
            tenant_id: Set(tenant_id),
            name: Set(name.to_owned()),
            prefix: Set(key.prefix.clone()),
            secret_hash: Set(key.secret_hash.clone()),
            scopes: Set(scopes_text.join(",")),
            created_by: Set(actor.user_id),
            last_used_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(now()),
        }
        .insert(&tx)
        .await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "api_key.created",
                target_type: "api_key",
                target_id: Some(row.id.to_string()),
                details: json!({"name": name, "scopes": scopes_text}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((row, key.credential))
    }

    /// The tenant's keys, newest first (revoked ones included, marked).
    pub async fn api_keys(
        &self,
        tenant: TenantId,
        page: PageRequest,
    ) -> ApiResult<Page<api_keys::Model>> {
        let tenant_id = tenant.uuid();
        let select = api_keys::Entity::find().filter(api_keys::Column::TenantId.eq(tenant_id));
        paginate(&self.db, select, api_keys::Column::Id, page).await
    }

    /// Revokes a key (idempotent: revoking twice keeps the first time).
    pub async fn revoke_api_key(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: Uuid,
    ) -> ApiResult<api_keys::Model> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let key = api_keys::Entity::find_by_id(id)
            .filter(api_keys::Column::TenantId.eq(tenant_id))
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("API key"))?;
        if key.revoked_at.is_some() {
            return Ok(key);
        }
        let mut row = key.into_active_model();
        row.revoked_at = Set(Some(now()));
        let key = row.update(&tx).await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "api_key.revoked",
                target_type: "api_key",
                target_id: Some(id.to_string()),
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(key)
    }

    /// A key by id for authentication (the key names its tenant).
    pub async fn api_key_for_auth(&self, id: Uuid) -> ApiResult<Option<api_keys::Model>> {
        Ok(api_keys::Entity::find_by_id(id).one(&self.db).await?)
    }

    /// Records use of a key, at most once a minute; failures are only logged (best effort).
    pub async fn touch_api_key(&self, key: &api_keys::Model) {
        let at = now();
        if key
            .last_used_at
            .is_some_and(|last| (at - last).num_seconds() < TOUCH_INTERVAL_SECS)
        {
            return;
        }
        let result = api_keys::Entity::update_many()
            .col_expr(
                api_keys::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(at),
            )
            .filter(api_keys::Column::Id.eq(key.id))
            .exec(&self.db)
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, "could not record API key use");
        }
    }
}
