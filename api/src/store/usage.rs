//! The usage ledger (issue 16): one row per counted thing, written by the store function that
//! writes the thing, inside its transaction ([`record_usage`]), so a count can never drift from
//! what happened. Its key is `(item, source)`: a retried write counts once.
//!
//! Owns: ledger rows, period sums, the rows of a series, and the metered-report bookkeeping
//! (`reported_at`). Must not: decide what a plan includes or whether an item is metered
//! (`services::billing` does), or call Stripe.

use chrono::{DateTime, Utc};
use leadline_domain::billing::UsageItem;
use leadline_domain::ids::TenantId;
use leadline_entity::usage_ledger;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::Store;
use crate::error::ApiResult;

/// One counted thing.
#[derive(Debug, Clone, Copy)]
pub struct UsageRecord<'a> {
    pub item: UsageItem,
    pub quantity: u64,
    /// What kind of row it counts (`message`, `call`, `lead`, `live_session`, `live_reply`).
    pub source_kind: &'a str,
    pub source_id: Uuid,
    pub at: DateTime<Utc>,
}

impl UsageRecord<'_> {
    /// The ledger key's second half, also the base of the meter event's identifier.
    pub fn source(&self) -> String {
        format!("{}:{}", self.source_kind, self.source_id)
    }
}

/// Writes ledger rows on `db` (pass the transaction of the thing counted). A row already there
/// for the same item and source is kept as it is, so a retried write counts once; a quantity of
/// 0 writes nothing.
pub(crate) async fn record_usage<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    records: &[UsageRecord<'_>],
) -> ApiResult<()> {
    let rows: Vec<usage_ledger::ActiveModel> = records
        .iter()
        .filter(|r| r.quantity > 0)
        .map(|r| usage_ledger::ActiveModel {
            item: Set(r.item.as_str().to_owned()),
            source: Set(r.source()),
            tenant_id: Set(tenant_id),
            quantity: Set(i64::try_from(r.quantity).unwrap_or(i64::MAX)),
            occurred_at: Set(r.at),
            reported_at: Set(None),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let inserted = usage_ledger::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([usage_ledger::Column::Item, usage_ledger::Column::Source])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await;
    match inserted {
        Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The ledger rows an outbound message adds: one message sent, and one AI reply when the AI
/// wrote it.
pub(crate) fn outbound_message_usage(
    message_id: Uuid,
    ai_written: bool,
    at: DateTime<Utc>,
) -> Vec<UsageRecord<'static>> {
    let mut records = vec![UsageRecord {
        item: UsageItem::MessagesSent,
        quantity: 1,
        source_kind: "message",
        source_id: message_id,
        at,
    }];
    if ai_written {
        records.push(UsageRecord {
            item: UsageItem::AiReplies,
            quantity: 1,
            source_kind: "message",
            source_id: message_id,
            at,
        });
    }
    records
}

/// Records one new lead (in the transaction that inserted it).
pub(crate) async fn record_new_lead<C: ConnectionTrait>(
    db: &C,
    lead: &leadline_entity::leads::Model,
) -> ApiResult<()> {
    record_usage(
        db,
        lead.tenant_id,
        &[UsageRecord {
            item: UsageItem::Leads,
            quantity: 1,
            source_kind: "lead",
            source_id: lead.id,
            at: lead.created_at,
        }],
    )
    .await
}

/// Records an ended call's billed minutes (in the transaction that ended it). The first
/// duration recorded for a call is the one billed: a later report of the same call changes
/// nothing, so a minute reported to Stripe is never taken back.
pub(crate) async fn record_call_minutes<C: ConnectionTrait>(
    db: &C,
    call: &leadline_entity::calls::Model,
) -> ApiResult<()> {
    let (Some(seconds), Some(ended_at)) = (call.duration_seconds, call.ended_at) else {
        return Ok(());
    };
    record_usage(
        db,
        call.tenant_id,
        &[UsageRecord {
            item: UsageItem::CallMinutes,
            // An answered call is billed at least its first minute, however short.
            quantity: billed_minutes(i64::from(seconds)).max(u64::from(call.answered_at.is_some())),
            source_kind: "call",
            source_id: call.id,
            at: ended_at,
        }],
    )
    .await
}

/// Billed minutes of a call: telephony bills started minutes, so 61 s is two.
pub fn billed_minutes(duration_seconds: i64) -> u64 {
    u64::try_from(duration_seconds.max(0))
        .unwrap_or(0)
        .div_ceil(60)
}

/// One metered row the reporter sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreportedUsage {
    pub item: UsageItem,
    pub source: String,
    pub quantity: u64,
    pub occurred_at: DateTime<Utc>,
}

impl UnreportedUsage {
    /// The meter event's `identifier`: the ledger key, stable across retries, so Stripe
    /// deduplicates a report sent again after a crash.
    pub fn identifier(&self) -> String {
        format!("{}:{}", self.item.as_str(), self.source)
    }
}

/// The SQL sum of `quantity`, as a 64-bit integer on both backends (PostgreSQL's SUM of a
/// bigint is numeric).
fn quantity_sum() -> sea_orm::sea_query::SimpleExpr {
    Expr::cust("CAST(SUM(quantity) AS BIGINT)")
}

impl Store {
    /// How much of `item` the tenant used in `[from, to)`.
    pub async fn usage_used(
        &self,
        tenant: TenantId,
        item: UsageItem,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ApiResult<u64> {
        let total: Option<Option<i64>> = usage_ledger::Entity::find()
            .select_only()
            .column_as(quantity_sum(), "total")
            .filter(usage_ledger::Column::TenantId.eq(tenant.uuid()))
            .filter(usage_ledger::Column::Item.eq(item.as_str()))
            .filter(usage_ledger::Column::OccurredAt.gte(from))
            .filter(usage_ledger::Column::OccurredAt.lt(to))
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(total
            .flatten()
            .map(|t| u64::try_from(t).unwrap_or(0))
            .unwrap_or(0))
    }

    /// Every item's total in `[from, to)`, in one query.
    pub async fn usage_totals(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ApiResult<Vec<(UsageItem, u64)>> {
        let rows: Vec<(String, Option<i64>)> = usage_ledger::Entity::find()
            .select_only()
            .column(usage_ledger::Column::Item)
            .column_as(quantity_sum(), "total")
            .filter(usage_ledger::Column::TenantId.eq(tenant.uuid()))
            .filter(usage_ledger::Column::OccurredAt.gte(from))
            .filter(usage_ledger::Column::OccurredAt.lt(to))
            .group_by(usage_ledger::Column::Item)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(item, total)| {
                let item = UsageItem::parse(&item).ok()?;
                Some((item, u64::try_from(total.unwrap_or(0)).unwrap_or(0)))
            })
            .collect())
    }

    /// The ledger rows of `[from, to)` as `(item, when, quantity)`, oldest first, for a series.
    pub async fn usage_rows(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ApiResult<Vec<(UsageItem, DateTime<Utc>, u64)>> {
        let rows: Vec<(String, DateTime<Utc>, i64)> = usage_ledger::Entity::find()
            .select_only()
            .column(usage_ledger::Column::Item)
            .column(usage_ledger::Column::OccurredAt)
            .column(usage_ledger::Column::Quantity)
            .filter(usage_ledger::Column::TenantId.eq(tenant.uuid()))
            .filter(usage_ledger::Column::OccurredAt.gte(from))
            .filter(usage_ledger::Column::OccurredAt.lt(to))
            .order_by_asc(usage_ledger::Column::OccurredAt)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(item, at, quantity)| {
                Some((
                    UsageItem::parse(&item).ok()?,
                    at,
                    u64::try_from(quantity).unwrap_or(0),
                ))
            })
            .collect())
    }

    /// Up to `limit` rows of `items` since `since` that Stripe has not accepted yet, oldest
    /// first.
    pub async fn unreported_usage(
        &self,
        tenant: TenantId,
        items: &[UsageItem],
        since: DateTime<Utc>,
        limit: u64,
    ) -> ApiResult<Vec<UnreportedUsage>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let rows = usage_ledger::Entity::find()
            .filter(usage_ledger::Column::TenantId.eq(tenant.uuid()))
            .filter(usage_ledger::Column::Item.is_in(items.iter().map(|i| i.as_str())))
            .filter(usage_ledger::Column::OccurredAt.gte(since))
            .filter(usage_ledger::Column::ReportedAt.is_null())
            .order_by_asc(usage_ledger::Column::OccurredAt)
            .order_by_asc(usage_ledger::Column::Source)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(UnreportedUsage {
                    item: UsageItem::parse(&row.item).ok()?,
                    source: row.source,
                    quantity: u64::try_from(row.quantity).unwrap_or(0),
                    occurred_at: row.occurred_at,
                })
            })
            .collect())
    }

    /// Marks one row as accepted by Stripe (a row already marked keeps its first time).
    pub async fn mark_usage_reported(
        &self,
        tenant: TenantId,
        row: &UnreportedUsage,
        at: DateTime<Utc>,
    ) -> ApiResult<()> {
        usage_ledger::Entity::update_many()
            .col_expr(usage_ledger::Column::ReportedAt, Expr::value(at))
            .filter(usage_ledger::Column::TenantId.eq(tenant.uuid()))
            .filter(usage_ledger::Column::Item.eq(row.item.as_str()))
            .filter(usage_ledger::Column::Source.eq(row.source.as_str()))
            .filter(usage_ledger::Column::ReportedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::store::testkit::{fresh_database_url, seed_tenant, store_at};

    #[test]
    fn calls_bill_started_minutes() {
        assert_eq!(billed_minutes(0), 0);
        assert_eq!(billed_minutes(-5), 0);
        assert_eq!(billed_minutes(1), 1);
        assert_eq!(billed_minutes(60), 1);
        assert_eq!(billed_minutes(61), 2);
    }

    #[tokio::test]
    async fn a_retried_write_counts_once_and_reported_rows_leave_the_queue() {
        let store = store_at(&fresh_database_url("ledger").await.unwrap())
            .await
            .unwrap();
        let tenant = TenantId(seed_tenant(&store, "ledger").await.unwrap());
        let at = Utc::now();
        let message = Uuid::now_v7();
        let records = outbound_message_usage(message, true, at);
        record_usage(store.connection(), tenant.uuid(), &records)
            .await
            .unwrap();
        // The same message again (a retried job, a replayed transaction): still one of each.
        record_usage(store.connection(), tenant.uuid(), &records)
            .await
            .unwrap();
        let lead = UsageRecord {
            item: UsageItem::Leads,
            quantity: 1,
            source_kind: "lead",
            source_id: Uuid::now_v7(),
            at,
        };
        let minutes = UsageRecord {
            item: UsageItem::CallMinutes,
            quantity: 3,
            source_kind: "call",
            source_id: Uuid::now_v7(),
            at,
        };
        let nothing = UsageRecord {
            quantity: 0,
            source_id: Uuid::now_v7(),
            ..minutes
        };
        record_usage(store.connection(), tenant.uuid(), &[lead, minutes, nothing])
            .await
            .unwrap();
        let from = at - chrono::Duration::hours(1);
        let to = at + chrono::Duration::hours(1);
        let mut totals = store.usage_totals(tenant, from, to).await.unwrap();
        totals.sort_by_key(|(item, _)| item.as_str());
        assert_eq!(
            totals,
            vec![
                (UsageItem::AiReplies, 1),
                (UsageItem::CallMinutes, 3),
                (UsageItem::Leads, 1),
                (UsageItem::MessagesSent, 1),
            ]
        );
        assert_eq!(
            store
                .usage_used(tenant, UsageItem::CallMinutes, from, to)
                .await
                .unwrap(),
            3
        );
        // Outside the period: nothing.
        assert_eq!(
            store
                .usage_used(
                    tenant,
                    UsageItem::CallMinutes,
                    to,
                    to + chrono::Duration::hours(1)
                )
                .await
                .unwrap(),
            0
        );
        // Another tenant sees none of it.
        let other = TenantId(seed_tenant(&store, "ledger-other").await.unwrap());
        assert!(store
            .usage_totals(other, from, to)
            .await
            .unwrap()
            .is_empty());

        let metered = [UsageItem::AiReplies, UsageItem::CallMinutes];
        let pending = store
            .unreported_usage(tenant, &metered, from, 10)
            .await
            .unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(
            pending
                .iter()
                .map(|p| p.identifier())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            2
        );
        store
            .mark_usage_reported(tenant, &pending[0], at)
            .await
            .unwrap();
        store
            .mark_usage_reported(tenant, &pending[0], at)
            .await
            .unwrap();
        let left = store
            .unreported_usage(tenant, &metered, from, 10)
            .await
            .unwrap();
        assert_eq!(left, vec![pending[1].clone()]);
    }
}
