//! The AI/human split of new leads (issue 15, `domain::allocation`): every path that inserts a
//! lead asks [`allocate_lead`] inside its own transaction, which locks the tenant's one counter
//! row, applies the domain rule and writes the counter back. The lead and its allocation commit
//! together, so replicas share one exact sequence and a rolled-back insert gives its turn back.
//!
//! Must not: decide the rule (the domain does) or commit (the caller's transaction does).

use leadline_domain::allocation::{allocate, AllocationCounter};
use leadline_domain::conversation::Handler;
use leadline_domain::ids::TenantId;
use leadline_entity::{lead_allocation_counters, tenants};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, QuerySelect,
};

use super::now;
use crate::error::{ApiError, ApiResult};

/// Who handles the tenant's next new lead (AI or HUMAN), counted in `db`'s transaction. Returns
/// the tenant row too (callers read its settings).
pub(super) async fn allocate_lead<C: ConnectionTrait>(
    db: &C,
    tenant_id: TenantId,
) -> ApiResult<(Handler, tenants::Model)> {
    let tenant = tenants::Entity::find_by_id(tenant_id.uuid())
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    // The row exists from the tenant's first lead on; creating it races harmlessly (the loser
    // does nothing and then waits for the winner's lock below).
    let inserted =
        lead_allocation_counters::Entity::insert(lead_allocation_counters::ActiveModel {
            tenant_id: Set(tenant_id.uuid()),
            percentage: Set(tenant.ai_lead_percentage),
            allocated: Set(0),
            ai_allocated: Set(0),
            updated_at: Set(now()),
        })
        .on_conflict(
            OnConflict::column(lead_allocation_counters::Column::TenantId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await;
    match inserted {
        Ok(_) | Err(DbErr::RecordNotInserted) => {}
        Err(error) => return Err(error.into()),
    }
    let mut query = lead_allocation_counters::Entity::find_by_id(tenant_id.uuid());
    if db.get_database_backend() == DbBackend::Postgres {
        // SQLite has one writer; PostgreSQL serialises the tenant's new leads on this row.
        query = query.lock_exclusive();
    }
    let row = query
        .one(db)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("allocation counter vanished")))?;
    let (handler, next) = allocate(
        Some(AllocationCounter {
            percentage: row.percentage,
            allocated: row.allocated,
            ai: row.ai_allocated,
        }),
        tenant.ai_lead_percentage,
    )
    .map_err(|e| {
        ApiError::Internal(anyhow::anyhow!(
            "tenant {tenant_id} has a stored AI lead share off the scale: {e}"
        ))
    })?;
    let mut row = row.into_active_model();
    row.percentage = Set(next.percentage);
    row.allocated = Set(next.allocated);
    row.ai_allocated = Set(next.ai);
    row.updated_at = Set(now());
    row.update(db).await?;
    Ok((handler, tenant))
}
