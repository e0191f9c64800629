//! Calling policy (issue 14): the tenant's time zone and its calling policy (hours, consent
//! required, attempt caps), the lead's call consent and time zone for the compliance gate, and
//! a tenant's own LiveKit project used in preference to the operator's. A provider's call id is
//! now unique per tenant, not across tenants: two LiveKit projects (the operator's and a
//! tenant's own) name their calls independently, and one tenant's project must not be able to
//! collide with another tenant's calls.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000004_call_policy"
    }
}

const TENANT_COLUMNS: [&str; 2] = ["time_zone", "call_policy"];
const LEAD_COLUMNS: [&str; 3] = ["call_consent", "call_consent_at", "time_zone"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for (table, mut column) in [
            ("tenants", string_null("time_zone")),
            // `{callingHoursStart, callingHoursEnd, requireConsent, maxAttemptsPerDay,
            // maxAttemptsPerWeek}`; null is the built-in policy.
            ("tenants", json_null("call_policy")),
            // GRANTED | REVOKED | UNKNOWN
            ("leads", string_default("call_consent", "UNKNOWN")),
            ("leads", timestamp_null("call_consent_at")),
            ("leads", string_null("time_zone")),
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
            .drop_index(
                Index::drop()
                    .name("ux_calls_provider_call")
                    .table(n("calls"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "calls",
                "ux_calls_tenant_provider_call",
                &["tenant_id", "provider", "provider_call_id"],
                true,
            ))
            .await?;
        create(
            manager,
            Table::create()
                .table(n("livekit_connections"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(string("api_url"))
                // Not secret: LiveKit puts it in every token's `iss`, which is how a webhook
                // finds its connection.
                .col(string("api_key"))
                // Sealed at rest like every other secret.
                .col(text("api_secret"))
                .col(string("sip_trunk_id"))
                .col(string("agent_name"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("livekit_connections"))
                .to_owned(),
            vec![
                index(
                    "livekit_connections",
                    "ux_livekit_connections_tenant",
                    &["tenant_id"],
                    true,
                ),
                index(
                    "livekit_connections",
                    "ix_livekit_connections_api_key",
                    &["api_key"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["livekit_connections"]).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_calls_tenant_provider_call")
                    .table(n("calls"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "calls",
                "ux_calls_provider_call",
                &["provider", "provider_call_id"],
                true,
            ))
            .await?;
        for (table, columns) in [
            ("leads", &LEAD_COLUMNS[..]),
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
        Ok(())
    }
}
