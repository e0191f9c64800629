//! Billing (issue 16): a tenant's Stripe subscription state beside its existing `plan`,
//! `subscription_status` and `stripe_customer_id` columns, and `stripe_events`, every verified
//! Stripe webhook event stored once by its id (a redelivery finds it and changes nothing; the
//! invoices a tenant sees are read from its `invoice.*` events).

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000001_billing"
    }
}

const TENANT_COLUMNS: [&str; 5] = [
    "stripe_subscription_id",
    "billing_current_period_end",
    "billing_cancel_at_period_end",
    "billing_past_due_since",
    "billing_synced_at",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for mut column in [
            // The subscription the tenant's status comes from.
            string_null("stripe_subscription_id"),
            timestamp_null("billing_current_period_end"),
            boolean("billing_cancel_at_period_end", false),
            // When the owed payment began (PAST_DUE only): the grace period runs from it.
            timestamp_null("billing_past_due_since"),
            // When the applied subscription state was read from Stripe: an older read never
            // replaces it (events arrive out of order).
            timestamp_null("billing_synced_at"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("tenants"))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // One Stripe customer is one tenant: an event finds its tenant by it.
        manager
            .create_index(index(
                "tenants",
                "ux_tenants_stripe_customer",
                &["stripe_customer_id"],
                true,
            ))
            .await?;
        create(
            manager,
            Table::create()
                .table(n("stripe_events"))
                .if_not_exists()
                // Stripe's `evt_…`: the primary key is the deduplication.
                .col(ColumnDef::new(n("id")).string().not_null().primary_key())
                // Null: no tenant matched (an event of an object Leadline did not create).
                .col(uuid_null("tenant_id"))
                .col(string("event_type"))
                // The subscription, invoice or session it is about.
                .col(string_null("object_id"))
                // Stripe's `created` (unix seconds).
                .col(big_integer("stripe_created", 0))
                .col(boolean("livemode", false))
                .col(json("payload"))
                .col(timestamp("received_at"))
                .col(timestamp_null("processed_at"))
                // applied | stale | ignored | other_subscription
                .col(string_null("outcome"))
                .foreign_key(&mut fk(
                    "stripe_events",
                    "tenant_id",
                    "tenants",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            vec![index(
                "stripe_events",
                "ix_stripe_events_tenant_type",
                &["tenant_id", "event_type"],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["stripe_events"]).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_tenants_stripe_customer")
                    .table(n("tenants"))
                    .to_owned(),
            )
            .await?;
        for column in TENANT_COLUMNS.iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("tenants"))
                        .drop_column(n(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
