//! Voice and dealership: invoices for payment reminders, calls (LiveKit SIP and Twilio),
//! appointments booked by the phone agent, and nurture enrollments.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000006_create_voice_and_dealership"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(
            manager,
            Table::create()
                .table(n("invoices"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid_null("lead_id"))
                .col(string("invoice_number"))
                .col(string("customer_name"))
                .col(string("customer_phone"))
                .col(big_integer("amount_micros", 0))
                .col(string("currency"))
                .col(date("due_date"))
                .col(string_default("status", "OPEN"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("invoices"))
                .foreign_key(&mut fk(
                    "invoices",
                    "lead_id",
                    "leads",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
            vec![index(
                "invoices",
                "ux_invoices_tenant_number",
                &["tenant_id", "invoice_number"],
                true,
            )],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("calls"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid_null("lead_id"))
                .col(uuid_null("invoice_id"))
                .col(string("direction"))
                .col(string("provider"))
                .col(string_null("provider_call_id"))
                .col(string("purpose"))
                .col(string_default("status", "QUEUED"))
                .col(string_null("from_number"))
                .col(string("to_number"))
                .col(string_default("handled_by", "AI"))
                .col(timestamp_null("started_at"))
                .col(timestamp_null("answered_at"))
                .col(timestamp_null("ended_at"))
                .col(integer_null("duration_seconds"))
                .col(string_null("outcome"))
                .col(text_null("transcript"))
                .col(text_null("summary"))
                .col(string_null("error_code"))
                .col(big_integer_null("cost_micros"))
                .col(json("metadata"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("calls"))
                .foreign_key(&mut fk(
                    "calls",
                    "lead_id",
                    "leads",
                    ForeignKeyAction::SetNull,
                ))
                .foreign_key(&mut fk(
                    "calls",
                    "invoice_id",
                    "invoices",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
            vec![
                index(
                    "calls",
                    "ux_calls_provider_call",
                    &["provider", "provider_call_id"],
                    true,
                ),
                index(
                    "calls",
                    "ix_calls_tenant_created",
                    &["tenant_id", "created_at"],
                    false,
                ),
            ],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("appointments"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("lead_id"))
                .col(uuid_null("call_id"))
                .col(string("kind"))
                .col(timestamp("scheduled_at"))
                .col(integer("duration_minutes", 30))
                .col(string_default("status", "SCHEDULED"))
                .col(text_null("notes"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("appointments"))
                .foreign_key(&mut fk(
                    "appointments",
                    "lead_id",
                    "leads",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "appointments",
                    "call_id",
                    "calls",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
            vec![index(
                "appointments",
                "ix_appointments_tenant_scheduled",
                &["tenant_id", "scheduled_at"],
                false,
            )],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("nurture_enrollments"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("lead_id"))
                .col(string("sequence"))
                .col(string_default("step", "FOLLOWUP_1"))
                .col(string_default("status", "ACTIVE"))
                .col(timestamp_null("next_run_at"))
                .col(uuid_null("job_id"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("nurture_enrollments"))
                .foreign_key(&mut fk(
                    "nurture_enrollments",
                    "lead_id",
                    "leads",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            vec![index(
                "nurture_enrollments",
                "ux_nurture_enrollments_lead_sequence",
                &["tenant_id", "lead_id", "sequence"],
                true,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(
            manager,
            &["nurture_enrollments", "appointments", "calls", "invoices"],
        )
        .await
    }
}
