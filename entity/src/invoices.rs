//! `invoices`: An invoice a payment-reminder call is about.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub invoice_number: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub amount_micros: i64,
    pub currency: String,
    pub due_date: Date,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub original_amount_micros: Option<i64>,
    /// JSON array of strings.
    pub payment_methods: Option<Json>,
    pub company_name: Option<String>,
    /// E.164.
    pub support_phone: Option<String>,
    /// `en` or `es`: the language of the call.
    pub language: String,
    /// IANA zone of the customer when the number's country does not settle it.
    pub time_zone: Option<String>,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
