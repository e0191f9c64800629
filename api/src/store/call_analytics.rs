//! What `callAnalytics` reads besides the calls themselves: which calls of a period booked an
//! appointment (an `appointments` row names the call).
//!
//! Must not: compute figures (`domain::call_analytics` does).

use std::collections::HashSet;

use leadline_domain::ids::TenantId;
use leadline_entity::appointments;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::Store;
use crate::error::ApiResult;

/// Most ids in one `IN (…)` list (SQLite's bound-parameter limit is 32,766).
const CHUNK: usize = 500;

impl Store {
    /// Of `call_ids`, those an appointment of the tenant was booked on.
    pub async fn calls_with_appointments(
        &self,
        tenant_id: TenantId,
        call_ids: &[Uuid],
    ) -> ApiResult<HashSet<Uuid>> {
        let mut booked = HashSet::new();
        for chunk in call_ids.chunks(CHUNK) {
            let ids: Vec<Option<Uuid>> = appointments::Entity::find()
                .select_only()
                .column(appointments::Column::CallId)
                .filter(appointments::Column::TenantId.eq(tenant_id.uuid()))
                .filter(appointments::Column::CallId.is_in(chunk.to_vec()))
                .into_tuple()
                .all(&self.db)
                .await?;
            booked.extend(ids.into_iter().flatten());
        }
        Ok(booked)
    }
}
