//! Payment-reminder calls (issue 14): the invoice facts the agent's prompt needs, a call's
//! attempt number, why the compliance gate blocked it and when it may be dialled, the call's
//! timeline (`call_events`: status changes, transcript lines, outcomes), the tenant's
//! do-not-call list, and the receipts that make a redelivered provider webhook a no-op.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000001_reminder_calls"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        let invoice_columns = [
            big_integer_null("original_amount_micros"),
            json_null("payment_methods"),
            string_null("company_name"),
            string_null("support_phone"),
            string_default("language", "en"),
            string_null("time_zone"),
        ];
        for mut column in invoice_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("invoices"))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        let call_columns = [
            integer("attempt", 1),
            string_null("blocked_reason"),
            timestamp_null("scheduled_for"),
            string_null("answered_by"),
        ];
        for mut column in call_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("calls"))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        create(
            manager,
            Table::create()
                .table(n("call_events"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("call_id"))
                // STATUS | TRANSCRIPT | OUTCOME
                .col(string("kind"))
                .col(json("payload"))
                .col(timestamp("created_at"))
                .foreign_key(&mut tenant_fk("call_events"))
                .foreign_key(&mut fk(
                    "call_events",
                    "call_id",
                    "calls",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            vec![index(
                "call_events",
                "ix_call_events_call",
                &["call_id", "id"],
                false,
            )],
        )
        .await?;
        create(
            manager,
            Table::create()
                .table(n("do_not_call_numbers"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                // E.164.
                .col(string("phone"))
                .col(string_null("reason"))
                .col(timestamp("created_at"))
                .foreign_key(&mut tenant_fk("do_not_call_numbers"))
                .to_owned(),
            vec![index(
                "do_not_call_numbers",
                "ux_do_not_call_tenant_phone",
                &["tenant_id", "phone"],
                true,
            )],
        )
        .await?;
        create(
            manager,
            Table::create()
                .table(n("webhook_receipts"))
                .if_not_exists()
                .col(id())
                // The platform (`livekit`, …) and its event id: a redelivery collides here.
                .col(string("provider"))
                .col(string("event_id"))
                .col(timestamp("received_at"))
                .to_owned(),
            vec![index(
                "webhook_receipts",
                "ux_webhook_receipts_event",
                &["provider", "event_id"],
                true,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(
            manager,
            &["webhook_receipts", "do_not_call_numbers", "call_events"],
        )
        .await?;
        for (table, columns) in [
            (
                "calls",
                &["answered_by", "scheduled_for", "blocked_reason", "attempt"][..],
            ),
            (
                "invoices",
                &[
                    "time_zone",
                    "language",
                    "support_phone",
                    "company_name",
                    "payment_methods",
                    "original_amount_micros",
                ][..],
            ),
        ] {
            for column in columns {
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
        Ok(())
    }
}
