//! Leadline's database migrations. One source runs on SQLite (the embedded default) and
//! PostgreSQL: only portable column types, every foreign key declared inline at table creation
//! (SQLite cannot add one later), and the partial unique index written in the SQL both accept.
//!
//! File names follow `mYYYYMMDD_HHMMSS_verb_noun.rs`; a migration, once landed, is never edited —
//! add a new one (see CONTRIBUTING.md).

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261123_000001_create_tenancy;
mod m20261123_000002_create_catalog_and_channels;
mod m20261123_000003_create_leads_and_conversations;
mod m20261123_000004_create_jobs;
mod m20261123_000005_create_live_selling;
mod m20261123_000006_create_voice_and_dealership;
mod m20261124_000001_create_live_budget_counters;
mod m20261206_000001_add_email_verification;
mod m20261206_000004_live_operator_budgets;
mod m20261206_000006_support_trust;
mod m20261207_000001_reminder_calls;
mod m20261207_000002_job_claim_indexes;
mod m20261207_000003_fill_lead_phone;
mod m20261207_000004_call_policy;
mod m20261207_000005_phone_agent;
mod m20261207_000006_lead_flow;
mod m20261208_000001_billing;
mod m20261209_000001_usage_ledger;
mod m20261209_000002_scale_indexes;
mod m20261210_000001_drop_old_job_claim_index;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_tenancy::Migration),
            Box::new(m20261123_000002_create_catalog_and_channels::Migration),
            Box::new(m20261123_000003_create_leads_and_conversations::Migration),
            Box::new(m20261123_000004_create_jobs::Migration),
            Box::new(m20261123_000005_create_live_selling::Migration),
            Box::new(m20261123_000006_create_voice_and_dealership::Migration),
            Box::new(m20261124_000001_create_live_budget_counters::Migration),
            Box::new(m20261206_000001_add_email_verification::Migration),
            Box::new(m20261206_000004_live_operator_budgets::Migration),
            Box::new(m20261206_000006_support_trust::Migration),
            Box::new(m20261207_000001_reminder_calls::Migration),
            Box::new(m20261207_000002_job_claim_indexes::Migration),
            Box::new(m20261207_000003_fill_lead_phone::Migration),
            Box::new(m20261207_000004_call_policy::Migration),
            Box::new(m20261207_000005_phone_agent::Migration),
            Box::new(m20261207_000006_lead_flow::Migration),
            Box::new(m20261208_000001_billing::Migration),
            Box::new(m20261209_000001_usage_ledger::Migration),
            Box::new(m20261209_000002_scale_indexes::Migration),
            Box::new(m20261210_000001_drop_old_job_claim_index::Migration),
        ]
    }
}
