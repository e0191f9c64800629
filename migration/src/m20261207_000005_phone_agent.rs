//! The dealership AI phone agent (issue 15): the tenant's Twilio number (unique: it routes an
//! incoming call to its tenant), its inbound and outbound ElevenLabs agents, the dealership's
//! name, business hours and appointment slots; a call's ElevenLabs conversation id (the
//! post-call webhook names only that) and recording; what an appointment booked on a call was
//! for and who it is with.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000005_phone_agent"
    }
}

fn columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        ("tenants", string_null("twilio_phone_number")),
        ("tenants", string_null("elevenlabs_inbound_agent_id")),
        ("tenants", string_null("elevenlabs_outbound_agent_id")),
        ("tenants", string_null("dealership_name")),
        // `[{weekday, open, close}]` (`domain::dealership::BusinessHours`); null: the default week.
        ("tenants", json_null("business_hours")),
        ("tenants", integer("appointment_slot_minutes", 30)),
        ("tenants", integer("appointments_per_slot", 1)),
        ("calls", string_null("agent_conversation_id")),
        ("calls", text_null("recording_url")),
        ("appointments", text_null("vehicle")),
        ("appointments", string_null("contact_name")),
        ("appointments", string_null("contact_phone")),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for (table, mut column) in columns() {
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
                "tenants",
                "ux_tenants_twilio_phone_number",
                &["twilio_phone_number"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "calls",
                "ix_calls_agent_conversation",
                &["agent_conversation_id"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name) in [
            ("calls", "ix_calls_agent_conversation"),
            ("tenants", "ux_tenants_twilio_phone_number"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(n(table)).to_owned())
                .await?;
        }
        for (table, column) in columns().into_iter().rev() {
            let name = column.get_column_name();
            manager
                .alter_table(
                    Table::alter()
                        .table(n(table))
                        .drop_column(n(&name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
