//! `nurture_enrollments`: A lead's place in a nurture sequence.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "nurture_enrollments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub lead_id: Uuid,
    pub sequence: String,
    pub step: String,
    pub status: String,
    pub next_run_at: Option<DateTimeUtc>,
    pub job_id: Option<Uuid>,
    /// WHATSAPP | SMS | EMAIL: where the follow-ups go.
    pub channel: Option<String>,
    /// Why the sequence stopped (`domain::nurture::StopReason`).
    pub stop_reason: Option<String>,
    /// Follow-ups sent so far.
    pub steps_sent: i32,
    /// When the last follow-up went out.
    pub last_sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
