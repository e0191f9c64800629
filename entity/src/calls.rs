//! `calls`: A phone call (LiveKit SIP or Twilio), with timings and outcome.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub direction: String,
    pub provider: String,
    pub provider_call_id: Option<String>,
    pub purpose: String,
    pub status: String,
    pub from_number: Option<String>,
    pub to_number: String,
    pub handled_by: String,
    pub started_at: Option<DateTimeUtc>,
    pub answered_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub duration_seconds: Option<i32>,
    pub outcome: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub transcript: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub summary: Option<String>,
    pub error_code: Option<String>,
    pub cost_micros: Option<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// 1 for the first dial of an invoice, then 2, 3… for retries.
    pub attempt: i32,
    /// Why the compliance gate refused the call (BLOCKED).
    pub blocked_reason: Option<String>,
    /// Not dialled before this instant (deferred to the recipient's calling hours).
    pub scheduled_for: Option<DateTimeUtc>,
    /// HUMAN or MACHINE, as the agent reported.
    pub answered_by: Option<String>,
    /// The ElevenLabs conversation of a phone-agent call (`conv_…`).
    pub agent_conversation_id: Option<String>,
    /// Where the provider keeps the call's recording.
    #[sea_orm(column_type = "Text", nullable)]
    pub recording_url: Option<String>,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
