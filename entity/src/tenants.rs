//! `tenants`: A customer organisation. Every other row carries its `tenant_id`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub plan: String,
    pub subscription_status: String,
    pub stripe_customer_id: Option<String>,
    pub agent_running: bool,
    pub ai_lead_percentage: i32,
    pub agent_name: Option<String>,
    pub human_operator_number: Option<String>,
    pub default_phone_region: Option<String>,
    pub elevenlabs_agent_id: Option<String>,
    pub livekit_agent_name: Option<String>,
    /// IANA zone for calling hours when a recipient's own zone is unknown (null: UTC).
    pub time_zone: Option<String>,
    /// The calling policy (`domain::compliance::CallPolicy` as JSON); null: the built-in one.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub call_policy: Option<Json>,
    /// The Twilio number (E.164) that rings the phone agent; unique, it routes calls here.
    pub twilio_phone_number: Option<String>,
    /// The ElevenLabs agent that answers incoming calls.
    pub elevenlabs_inbound_agent_id: Option<String>,
    /// The ElevenLabs agent for outbound calls.
    pub elevenlabs_outbound_agent_id: Option<String>,
    /// The name the agent gives the dealership (null: the tenant's name).
    pub dealership_name: Option<String>,
    /// `domain::dealership::BusinessHours` as JSON; null: the default week.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub business_hours: Option<Json>,
    /// Minutes per appointment slot.
    pub appointment_slot_minutes: i32,
    /// Appointments one slot may hold.
    pub appointments_per_slot: i32,
    /// The nurture schedule (`domain::nurture::NurtureSchedule` as JSON); null: the defaults, off.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub nurture_schedule: Option<Json>,
    /// Micro-USD per billed telephony minute (cost per lead); 0: not configured.
    pub call_minute_rate_micros: i64,
    /// The Stripe subscription `subscription_status` comes from.
    pub stripe_subscription_id: Option<String>,
    /// When the subscription's current period ends.
    pub billing_current_period_end: Option<DateTimeUtc>,
    /// Whether the subscription ends at the period's end.
    pub billing_cancel_at_period_end: bool,
    /// Since when a payment is owed (PAST_DUE only); the grace period runs from it.
    pub billing_past_due_since: Option<DateTimeUtc>,
    /// When the applied subscription state was read from Stripe (older reads are ignored).
    pub billing_synced_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
