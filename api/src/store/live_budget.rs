//! The live agent's spend counters in the database (`live_budget_counters`), for deployments
//! without Redis: the embedded default, and PostgreSQL alone.
//!
//! [`Store::spend_live_budget`] checks every counter of one spend and changes them only if all
//! allow it, inside one transaction that holds the rows: on PostgreSQL with `SELECT … FOR UPDATE`
//! (a concurrent spender waits, then sees the new value), on SQLite by its single writer. So two
//! replicas can never both spend the last unit. `services::live::budget` decides which counters a
//! spend touches; this module only counts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadline_entity::live_budget_counters;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use super::Store;
use crate::error::ApiResult;

/// One counter a spend touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSpend {
    /// The counter, e.g. `viewer:<session>:<author>`.
    pub key: String,
    /// Units this spend takes.
    pub cost: i64,
    /// The spend is refused when `used + cost` would exceed this.
    pub limit: i64,
    /// When positive, the spend is also refused until this long after the counter's last spend.
    pub cooldown_ms: i64,
    /// When the counter stops mattering (its day or session is over); an expired counter counts
    /// from zero again.
    pub expires_at: DateTime<Utc>,
}

/// What a spend did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpendOutcome {
    /// Every counter was charged; the cooldown counters' previous last-spend times, in order (to
    /// put back on a refund).
    Spent {
        /// Per counter of the request.
        previous_last_at_ms: Vec<Option<i64>>,
        /// Per counter of the request: its value after the spend.
        used_after: Vec<i64>,
    },
    /// Nothing was charged: counter `index` (of the request) refused.
    Refused {
        /// Which counter.
        index: usize,
        /// For a cooldown refusal, milliseconds until it ends; 0 for a limit.
        retry_in_ms: i64,
    },
}

/// A counter's current value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterValue {
    /// Units spent.
    pub used: i64,
    /// Last spend that starts a cooldown (Unix ms).
    pub last_at_ms: Option<i64>,
}

/// Checks one counter against its spend: the refusal's `retry_in_ms`, or `None` when allowed.
/// Shared by the database path and the tests of the Redis script, which must agree with it.
pub fn check_counter(value: CounterValue, spend: &CounterSpend, now_ms: i64) -> Option<i64> {
    if value.used.saturating_add(spend.cost) > spend.limit {
        return Some(0);
    }
    if spend.cooldown_ms > 0 {
        if let Some(last) = value.last_at_ms {
            let elapsed = now_ms.saturating_sub(last);
            if elapsed < spend.cooldown_ms {
                return Some(spend.cooldown_ms - elapsed);
            }
        }
    }
    None
}

impl Store {
    /// Charges every counter of `spends` at `now`, or none of them (see the module docs).
    pub async fn spend_live_budget(
        &self,
        spends: &[CounterSpend],
        now: DateTime<Utc>,
    ) -> ApiResult<SpendOutcome> {
        let now_ms = now.timestamp_millis();
        let tx = self.db.begin().await?;
        let missing: Vec<live_budget_counters::ActiveModel> = spends
            .iter()
            .map(|s| live_budget_counters::ActiveModel {
                key: Set(s.key.clone()),
                used: Set(0),
                last_at_ms: Set(None),
                expires_at: Set(s.expires_at),
            })
            .collect();
        if !missing.is_empty() {
            live_budget_counters::Entity::insert_many(missing)
                .on_conflict(
                    OnConflict::column(live_budget_counters::Column::Key)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&tx)
                .await?;
        }
        let keys: Vec<String> = spends.iter().map(|s| s.key.clone()).collect();
        // Rows are locked in key order, so two spenders over the same counters cannot deadlock.
        let mut query = live_budget_counters::Entity::find()
            .filter(live_budget_counters::Column::Key.is_in(keys))
            .order_by_asc(live_budget_counters::Column::Key);
        if self.is_postgres() {
            query = query.lock_exclusive();
        }
        let rows: HashMap<String, live_budget_counters::Model> = query
            .all(&tx)
            .await?
            .into_iter()
            .map(|row| (row.key.clone(), row))
            .collect();
        let value = |key: &str| -> CounterValue {
            match rows.get(key) {
                Some(row) if row.expires_at > now => CounterValue {
                    used: row.used,
                    last_at_ms: row.last_at_ms,
                },
                _ => CounterValue::default(),
            }
        };
        for (index, spend) in spends.iter().enumerate() {
            if let Some(retry_in_ms) = check_counter(value(&spend.key), spend, now_ms) {
                tx.rollback().await?;
                return Ok(SpendOutcome::Refused { index, retry_in_ms });
            }
        }
        let mut previous_last_at_ms = Vec::with_capacity(spends.len());
        let mut used_after = Vec::with_capacity(spends.len());
        for spend in spends {
            let current = value(&spend.key);
            previous_last_at_ms.push(current.last_at_ms);
            used_after.push(current.used.saturating_add(spend.cost));
            live_budget_counters::ActiveModel {
                key: Set(spend.key.clone()),
                used: Set(current.used.saturating_add(spend.cost)),
                last_at_ms: Set(if spend.cooldown_ms > 0 {
                    Some(now_ms)
                } else {
                    current.last_at_ms
                }),
                expires_at: Set(spend.expires_at),
            }
            .update(&tx)
            .await?;
        }
        tx.commit().await?;
        Ok(SpendOutcome::Spent {
            previous_last_at_ms,
            used_after,
        })
    }

    /// Gives back a spend whose send failed: each counter loses its cost (never below zero) and
    /// a cooldown counter gets its previous last-spend time back.
    pub async fn refund_live_budget(
        &self,
        spends: &[CounterSpend],
        previous_last_at_ms: &[Option<i64>],
    ) -> ApiResult<()> {
        let tx = self.db.begin().await?;
        for (i, spend) in spends.iter().enumerate() {
            let mut query = live_budget_counters::Entity::find_by_id(spend.key.clone());
            if self.is_postgres() {
                query = query.lock_exclusive();
            }
            let Some(row) = query.one(&tx).await? else {
                continue;
            };
            let last = if spend.cooldown_ms > 0 {
                previous_last_at_ms.get(i).copied().flatten()
            } else {
                row.last_at_ms
            };
            let used = (row.used - spend.cost).max(0);
            let mut active: live_budget_counters::ActiveModel = row.into();
            active.used = Set(used);
            active.last_at_ms = Set(last);
            active.update(&tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Moves a cooldown counter's last spend to `at` (when the reply was actually sent: the
    /// cooldown runs from the send, not from the decision).
    pub async fn touch_live_budget(&self, key: &str, at: DateTime<Utc>) -> ApiResult<()> {
        live_budget_counters::Entity::update_many()
            .col_expr(
                live_budget_counters::Column::LastAtMs,
                sea_orm::sea_query::Expr::value(at.timestamp_millis()),
            )
            .filter(live_budget_counters::Column::Key.eq(key))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The current values of `keys` (absent or expired: zero).
    pub async fn live_budget_values(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> ApiResult<HashMap<String, CounterValue>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(live_budget_counters::Entity::find()
            .filter(live_budget_counters::Column::Key.is_in(keys.to_vec()))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|row| row.expires_at > now)
            .map(|row| {
                (
                    row.key,
                    CounterValue {
                        used: row.used,
                        last_at_ms: row.last_at_ms,
                    },
                )
            })
            .collect())
    }

    /// Deletes counters that expired before `now` (their day or session is over).
    pub async fn sweep_live_budget(&self, now: DateTime<Utc>) -> ApiResult<u64> {
        Ok(live_budget_counters::Entity::delete_many()
            .filter(live_budget_counters::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}
