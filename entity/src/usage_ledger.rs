//! `usage_ledger`: one row per counted thing, keyed by item and source so a retried write
//! counts once; metered rows carry when Stripe accepted their report.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "usage_ledger")]
pub struct Model {
    /// `AI_REPLIES`, `CALL_MINUTES`, `LIVE_SESSIONS`, `MESSAGES_SENT` or `LEADS`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub item: String,
    /// The counted row, `<kind>:<uuid>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub source: String,
    pub tenant_id: Uuid,
    pub quantity: i64,
    pub occurred_at: DateTimeUtc,
    /// When Stripe accepted the metered report (null: not reported).
    pub reported_at: Option<DateTimeUtc>,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
