//! `stripe_events`: every verified Stripe webhook event, stored once by its id (a redelivery is
//! a no-op); the billing job records what it did with it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "stripe_events")]
pub struct Model {
    /// Stripe's `evt_…`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The tenant it belongs to; null when none matched.
    pub tenant_id: Option<Uuid>,
    pub event_type: String,
    /// The subscription, invoice or Checkout Session it is about.
    pub object_id: Option<String>,
    /// Stripe's `created` (unix seconds).
    pub stripe_created: i64,
    pub livemode: bool,
    /// The event as received.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub received_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
    /// `applied`, `stale`, `ignored` or `other_subscription`.
    pub outcome: Option<String>,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
