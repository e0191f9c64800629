//! `live_budget_counters`: the live agent's shared spend counters when no Redis is configured
//! (see `api::services::live::budget`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One counter.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "live_budget_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub used: i64,
    pub last_at_ms: Option<i64>,
    pub expires_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
