//! The audit log: one row per configuration or membership change, written in the same
//! transaction as the change so the two cannot disagree.

use leadline_domain::ids::TenantId;
use leadline_entity::audit_log;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{now, paginate, Page, PageRequest, Store};
use crate::auth::Actor;
use crate::error::ApiResult;

/// What changed.
pub struct AuditEntry<'a> {
    /// Dotted verb, e.g. `member.invited`, `channel_connection.upserted`.
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<String>,
    /// What changed; secrets are named, never included.
    pub details: serde_json::Value,
}

/// Writes one audit row on `db` (pass the change's transaction).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    actor: Actor,
    entry: AuditEntry<'_>,
) -> ApiResult<()> {
    audit_log::Entity::insert(audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        actor_user_id: Set(actor.user_id),
        actor_api_key_id: Set(actor.api_key_id),
        action: Set(entry.action.to_owned()),
        target_type: Set(entry.target_type.to_owned()),
        target_id: Set(entry.target_id),
        details: Set(entry.details),
        created_at: Set(now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

impl Store {
    /// The tenant's audit log, newest first.
    pub async fn audit_log(
        &self,
        tenant: TenantId,
        page: PageRequest,
    ) -> ApiResult<Page<audit_log::Model>> {
        let tenant_id = tenant.uuid();
        let select = audit_log::Entity::find().filter(audit_log::Column::TenantId.eq(tenant_id));
        paginate(&self.db, select, audit_log::Column::Id, page).await
    }
}
