//! `call_events`: A call's timeline: status changes, transcript lines and outcomes.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "call_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub call_id: Uuid,
    /// STATUS | TRANSCRIPT | OUTCOME
    pub kind: String,
    pub payload: Json,
    pub created_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
