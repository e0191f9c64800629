//! `lead_allocation_counters`: a tenant's AI/human allocation sequence (`domain::allocation`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row per tenant.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "lead_allocation_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// The AI share the sequence counts for.
    pub percentage: i32,
    /// Leads allocated since the share was set.
    pub allocated: i64,
    /// Of those, the AI's.
    pub ai_allocated: i64,
    pub updated_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
