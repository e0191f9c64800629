//! AI usage per tenant, day (UTC), provider and model: counters that only ever grow.
//!
//! Increments are one `INSERT … ON CONFLICT (tenant_id, day, provider, model) DO UPDATE SET
//! requests = ai_usage.requests + excluded.requests, …` statement, which SQLite (3.24+) and
//! PostgreSQL both run atomically: concurrent requests and replicas never lose a count, and no
//! read-modify-write transaction is needed.

use chrono::NaiveDate;
use leadline_domain::ids::TenantId;
use leadline_entity::ai_usage;
use sea_orm::sea_query::{Alias, Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::Store;
use crate::error::ApiResult;

/// What one or more AI calls add to a tenant's counters for one day, provider and model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiUsageIncrement {
    /// The UTC day the calls happened.
    pub day: NaiveDate,
    /// `OFFLINE`, `ANTHROPIC`, `OPENAI` or `OFFLINE_FALLBACK`.
    pub provider: String,
    /// The model name (`offline` for the offline analyzer).
    pub model: String,
    /// Provider calls answered.
    pub requests: i64,
    /// Input tokens billed.
    pub input_tokens: i64,
    /// Output tokens billed.
    pub output_tokens: i64,
    /// Estimated cost in micro-USD.
    pub cost_micros: i64,
}

impl Store {
    /// Adds `increment` to the tenant's counters (creating the row on first use).
    pub async fn record_ai_usage(
        &self,
        tenant: TenantId,
        increment: &AiUsageIncrement,
    ) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        use ai_usage::Column;
        let row = ai_usage::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            day: Set(increment.day),
            provider: Set(increment.provider.clone()),
            model: Set(increment.model.clone()),
            requests: Set(increment.requests),
            input_tokens: Set(increment.input_tokens),
            output_tokens: Set(increment.output_tokens),
            cost_micros: Set(increment.cost_micros),
        };
        // `ai_usage.col` is the stored row, `excluded.col` the value this insert proposed.
        let add = |column: Column| {
            Expr::col((ai_usage::Entity, column)).add(Expr::col((Alias::new("excluded"), column)))
        };
        let on_conflict = OnConflict::columns([
            Column::TenantId,
            Column::Day,
            Column::Provider,
            Column::Model,
        ])
        .value(Column::Requests, add(Column::Requests))
        .value(Column::InputTokens, add(Column::InputTokens))
        .value(Column::OutputTokens, add(Column::OutputTokens))
        .value(Column::CostMicros, add(Column::CostMicros))
        .to_owned();
        ai_usage::Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// The tenant's usage rows for the days `from..=to` (either end open when `None`), oldest
    /// first.
    pub async fn ai_usage(
        &self,
        tenant: TenantId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> ApiResult<Vec<ai_usage::Model>> {
        let tenant_id = tenant.uuid();
        let mut select = ai_usage::Entity::find().filter(ai_usage::Column::TenantId.eq(tenant_id));
        if let Some(from) = from {
            select = select.filter(ai_usage::Column::Day.gte(from));
        }
        if let Some(to) = to {
            select = select.filter(ai_usage::Column::Day.lte(to));
        }
        Ok(select
            .order_by_asc(ai_usage::Column::Day)
            .order_by_asc(ai_usage::Column::Provider)
            .order_by_asc(ai_usage::Column::Model)
            .all(&self.db)
            .await?)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    async fn store() -> Store {
        crate::store::testkit::memory_store()
            .await
            .expect("in-memory store")
    }

    async fn tenant(store: &Store) -> Uuid {
        // The usage table references tenants; a bare row is enough here.
        crate::store::testkit::seed_tenant(store, "usage")
            .await
            .expect("tenant row")
    }

    fn increment(day: NaiveDate, provider: &str, requests: i64, tokens: i64) -> AiUsageIncrement {
        AiUsageIncrement {
            day,
            provider: provider.to_owned(),
            model: if provider == "OFFLINE" {
                "offline".to_owned()
            } else {
                "claude-sonnet-4-5".to_owned()
            },
            requests,
            input_tokens: tokens,
            output_tokens: tokens / 2,
            cost_micros: tokens * 3,
        }
    }

    #[tokio::test]
    async fn increments_add_up_per_tenant_day_provider_and_model() {
        let store = store().await;
        let (a, b) = (tenant(&store).await, tenant(&store).await);
        let monday = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
        let tuesday = monday.succ_opt().expect("date");
        for _ in 0..3 {
            store
                .record_ai_usage(TenantId(a), &increment(monday, "ANTHROPIC", 1, 100))
                .await
                .expect("record");
        }
        store
            .record_ai_usage(TenantId(a), &increment(monday, "OFFLINE", 2, 0))
            .await
            .expect("record");
        store
            .record_ai_usage(TenantId(a), &increment(tuesday, "ANTHROPIC", 1, 10))
            .await
            .expect("record");
        store
            .record_ai_usage(TenantId(b), &increment(monday, "ANTHROPIC", 5, 1))
            .await
            .expect("record");

        let rows = store.ai_usage(TenantId(a), None, None).await.expect("rows");
        let summary: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.day,
                    r.provider.as_str(),
                    r.requests,
                    r.input_tokens,
                    r.output_tokens,
                    r.cost_micros,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (monday, "ANTHROPIC", 3, 300, 150, 900),
                (monday, "OFFLINE", 2, 0, 0, 0),
                (tuesday, "ANTHROPIC", 1, 10, 5, 30),
            ]
        );
        let only_tuesday = store
            .ai_usage(TenantId(a), Some(tuesday), Some(tuesday))
            .await
            .expect("rows");
        assert_eq!(only_tuesday.len(), 1);
        let other = store
            .ai_usage(TenantId(b), None, Some(monday))
            .await
            .expect("rows");
        assert_eq!(other.len(), 1);
        assert_eq!(other.first().map(|r| r.requests), Some(5));
    }
}
