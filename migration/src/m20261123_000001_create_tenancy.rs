//! Tenancy and access: instance settings, tenants, users, memberships, invites, API keys and
//! the audit log.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_create_tenancy"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Instance-wide key/value settings, e.g. the generated JWT signing secret when
        // JWT_SECRET is not configured (shared by every replica through the database).
        create(
            manager,
            Table::create()
                .table(n("instance_settings"))
                .if_not_exists()
                .col(ColumnDef::new(n("key")).string().not_null().primary_key())
                .col(text("value"))
                .col(timestamp("updated_at"))
                .to_owned(),
            vec![],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("tenants"))
                .if_not_exists()
                .col(id())
                .col(string("slug"))
                .col(string("name"))
                .col(string_default("plan", "FREE"))
                .col(string_default("subscription_status", "NONE"))
                .col(string_null("stripe_customer_id"))
                .col(boolean("agent_running", false))
                .col(integer("ai_lead_percentage", 100))
                .col(string_null("agent_name"))
                .col(string_null("human_operator_number"))
                .col(string_null("default_phone_region"))
                .col(string_null("elevenlabs_agent_id"))
                .col(string_null("livekit_agent_name"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
            vec![index("tenants", "ux_tenants_slug", &["slug"], true)],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("users"))
                .if_not_exists()
                .col(id())
                .col(string("email"))
                .col(string_null("name"))
                // Null until an invited user accepts and chooses a password.
                .col(string_null("password_hash"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .to_owned(),
            vec![index("users", "ux_users_email", &["email"], true)],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("memberships"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("user_id"))
                .col(string("role"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("memberships"))
                .foreign_key(&mut fk(
                    "memberships",
                    "user_id",
                    "users",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            vec![
                index(
                    "memberships",
                    "ux_memberships_tenant_user",
                    &["tenant_id", "user_id"],
                    true,
                ),
                index("memberships", "ix_memberships_user", &["user_id"], false),
            ],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("invites"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("user_id"))
                .col(string("role"))
                // SHA-256 of the one-time invite code; the code itself is shown once.
                .col(string("code_hash"))
                .col(uuid_null("invited_by"))
                .col(timestamp("expires_at"))
                .col(timestamp_null("accepted_at"))
                .col(timestamp("created_at"))
                .foreign_key(&mut tenant_fk("invites"))
                .foreign_key(&mut fk(
                    "invites",
                    "user_id",
                    "users",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            vec![index(
                "invites",
                "ux_invites_code_hash",
                &["code_hash"],
                true,
            )],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("api_keys"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(string("name"))
                // The visible start of the key, to tell keys apart in listings.
                .col(string("prefix"))
                // SHA-256 of the secret part: keys are high-entropy, so a fast hash is enough
                // and keeps authentication cheap on every request.
                .col(string("secret_hash"))
                .col(string("scopes"))
                .col(uuid_null("created_by"))
                .col(timestamp_null("last_used_at"))
                .col(timestamp_null("revoked_at"))
                .col(timestamp("created_at"))
                .foreign_key(&mut tenant_fk("api_keys"))
                .to_owned(),
            vec![index(
                "api_keys",
                "ix_api_keys_tenant",
                &["tenant_id"],
                false,
            )],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("audit_log"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid_null("actor_user_id"))
                .col(uuid_null("actor_api_key_id"))
                .col(string("action"))
                .col(string("target_type"))
                .col(string_null("target_id"))
                .col(json("details"))
                .col(timestamp("created_at"))
                .foreign_key(&mut tenant_fk("audit_log"))
                .to_owned(),
            vec![index(
                "audit_log",
                "ix_audit_log_tenant_created",
                &["tenant_id", "created_at"],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(
            manager,
            &[
                "audit_log",
                "api_keys",
                "invites",
                "memberships",
                "users",
                "tenants",
                "instance_settings",
            ],
        )
        .await
    }
}
