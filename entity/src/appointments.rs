//! `appointments`: An appointment booked with a lead.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "appointments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub lead_id: Uuid,
    pub call_id: Option<Uuid>,
    pub kind: String,
    pub scheduled_at: DateTimeUtc,
    pub duration_minutes: i32,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The vehicle the appointment is about.
    #[sea_orm(column_type = "Text", nullable)]
    pub vehicle: Option<String>,
    /// The name the caller gave.
    pub contact_name: Option<String>,
    /// The number the caller gave (E.164).
    pub contact_phone: Option<String>,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
