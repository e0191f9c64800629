//! Lead flow (issue 15): the per-tenant allocation sequence that splits new leads between the AI
//! and the human team at exactly the configured share, the tenant's nurture schedule and
//! per-minute telephony rate, and what a nurture enrolment needs to run (the channel it writes
//! on, why it stopped, how many follow-ups went out and when the last did).

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000006_lead_flow"
    }
}

const TENANT_COLUMNS: [&str; 2] = ["nurture_schedule", "call_minute_rate_micros"];
const ENROLLMENT_COLUMNS: [&str; 4] = ["channel", "stop_reason", "steps_sent", "last_sent_at"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(
            manager,
            Table::create()
                .table(n("lead_allocation_counters"))
                .if_not_exists()
                // One row per tenant: the row every new lead's transaction locks, so replicas
                // share one sequence.
                .col(
                    ColumnDef::new(n("tenant_id"))
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(integer("percentage", 100))
                .col(big_integer("allocated", 0))
                .col(big_integer("ai_allocated", 0))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("lead_allocation_counters"))
                .to_owned(),
            vec![],
        )
        .await?;
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for (table, mut column) in [
            // `{followup1Hours, followup2Hours, longTermDays, enabled}`; null: the defaults, off.
            ("tenants", json_null("nurture_schedule")),
            // Micro-USD per billed telephony minute, for cost per lead; 0: not configured.
            ("tenants", big_integer("call_minute_rate_micros", 0)),
            // WHATSAPP | SMS | EMAIL: where the follow-ups go.
            ("nurture_enrollments", string_null("channel")),
            // REPLIED | BOOKED | OPTED_OUT | REMOVED | UNREACHABLE
            ("nurture_enrollments", string_null("stop_reason")),
            ("nurture_enrollments", integer("steps_sent", 0)),
            ("nurture_enrollments", timestamp_null("last_sent_at")),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n(table))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(index(
                "nurture_enrollments",
                "ix_nurture_enrollments_tenant_status",
                &["tenant_id", "status", "id"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_nurture_enrollments_tenant_status")
                    .table(n("nurture_enrollments"))
                    .to_owned(),
            )
            .await?;
        for (table, columns) in [
            ("nurture_enrollments", &ENROLLMENT_COLUMNS[..]),
            ("tenants", &TENANT_COLUMNS[..]),
        ] {
            for column in columns.iter().rev() {
                manager
                    .alter_table(
                        Table::alter()
                            .table(n(table))
                            .drop_column(n(column))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        drop_all(manager, &["lead_allocation_counters"]).await
    }
}
