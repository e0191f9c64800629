//! What a tenant configures: channel connections (with write-only secrets), the AI context,
//! the product catalog, and per-day AI usage counters.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000002_create_catalog_and_channels"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(
            manager,
            Table::create()
                .table(n("channel_connections"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(string("channel"))
                .col(string_default("status", "CONNECTED"))
                .col(boolean("ai_enabled", true))
                .col(string_null("external_account_id"))
                .col(string_null("verify_token"))
                .col(string_null("app_secret"))
                .col(string_null("client_secret"))
                .col(text_null("access_token"))
                // TikTok: also accept the legacy X-Tiktok-Signature scheme (opt-in per connection).
                .col(boolean("legacy_signature", false))
                .col(json("settings"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("channel_connections"))
                .to_owned(),
            vec![
                index(
                    "channel_connections",
                    "ux_channel_connections_tenant_channel",
                    &["tenant_id", "channel"],
                    true,
                ),
                index(
                    "channel_connections",
                    "ix_channel_connections_account",
                    &["channel", "external_account_id"],
                    false,
                ),
            ],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("ai_contexts"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(text_null("system_prompt"))
                .col(json("business_hours"))
                .col(string_default("timezone", "UTC"))
                .col(string_default("response_style", "FRIENDLY"))
                .col(double("temperature", 0.7))
                .col(integer("max_tokens", 512))
                .col(json("escalation_keywords"))
                .col(integer_null("auto_escalate_after_messages"))
                .col(string_default("provider", "OFFLINE"))
                .col(string_null("model"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("ai_contexts"))
                .to_owned(),
            vec![index(
                "ai_contexts",
                "ux_ai_contexts_tenant",
                &["tenant_id"],
                true,
            )],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("products"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(string("name"))
                .col(text("description"))
                .col(big_integer("price_micros", 0))
                .col(string("currency"))
                .col(string_null("purchase_link"))
                .col(json("keywords"))
                .col(boolean("active", true))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("products"))
                .to_owned(),
            vec![index(
                "products",
                "ix_products_tenant",
                &["tenant_id"],
                false,
            )],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("ai_usage"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(date("day"))
                .col(string("provider"))
                .col(string("model"))
                .col(big_integer("requests", 0))
                .col(big_integer("input_tokens", 0))
                .col(big_integer("output_tokens", 0))
                .col(big_integer("cost_micros", 0))
                .foreign_key(&mut tenant_fk("ai_usage"))
                .to_owned(),
            vec![index(
                "ai_usage",
                "ux_ai_usage_tenant_day_model",
                &["tenant_id", "day", "provider", "model"],
                true,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(
            manager,
            &["ai_usage", "products", "ai_contexts", "channel_connections"],
        )
        .await
    }
}
