//! Invites address an e-mail, not a user; e-mail addresses are verified; sessions can be revoked.
//!
//! - `users.email_verified_at`: when the person proved they read mail at the address (a
//!   `verifyEmail` token or an accepted invite). Until then the account is only good for the
//!   tenant it created itself.
//! - `users.session_version`: member tokens carry the version they were issued under; raising it
//!   revokes every token of the account at once (an address taken back from a squatter).
//! - `email_verifications`: one-time tokens, only their SHA-256 stored.
//! - `invites` is rebuilt (SQLite cannot drop a NOT NULL or a foreign key in place): it names
//!   the invited e-mail and role, and no user row exists for an invitee until they accept.
//!   Memberships that earlier invites created before anyone accepted are removed here, because a
//!   membership now exists only after acceptance (their invites stay valid, so the invitee can
//!   still accept). Users who accepted an invite count as verified from then.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000001_add_email_verification"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            timestamp_null("email_verified_at"),
            integer("session_version", 0),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("users"))
                        .add_column(column.to_owned())
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        // Accepting an invite proved the address (the code went to it).
        db.execute_unprepared(
            "UPDATE users SET email_verified_at = (SELECT MIN(i.accepted_at) FROM invites i \
             WHERE i.user_id = users.id AND i.accepted_at IS NOT NULL) \
             WHERE EXISTS (SELECT 1 FROM invites i WHERE i.user_id = users.id \
             AND i.accepted_at IS NOT NULL)",
        )
        .await?;
        // Memberships that exist only because of an invite nobody accepted yet: the pre-hijack
        // hole. A tenant's last owner is kept whatever its origin.
        db.execute_unprepared(
            "DELETE FROM memberships WHERE EXISTS (SELECT 1 FROM invites i \
             WHERE i.tenant_id = memberships.tenant_id AND i.user_id = memberships.user_id \
             AND i.accepted_at IS NULL) \
             AND (memberships.role <> 'OWNER' OR (SELECT COUNT(*) FROM memberships m2 \
             WHERE m2.tenant_id = memberships.tenant_id AND m2.role = 'OWNER') > 1)",
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("invites_next"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                // The invited address, normalised; the code is mailed there and nowhere else.
                .col(string("email"))
                .col(string("role"))
                // SHA-256 of the one-time invite code.
                .col(string("code_hash"))
                .col(uuid_null("invited_by"))
                .col(timestamp("expires_at"))
                .col(timestamp_null("accepted_at"))
                // Set when the invite is replaced by a newer one or revoked by an admin.
                .col(timestamp_null("revoked_at"))
                .col(timestamp("created_at"))
                .foreign_key(&mut tenant_fk("invites_next"))
                .to_owned(),
            vec![],
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO invites_next (id, tenant_id, email, role, code_hash, invited_by, \
             expires_at, accepted_at, revoked_at, created_at) \
             SELECT i.id, i.tenant_id, u.email, i.role, i.code_hash, i.invited_by, i.expires_at, \
             i.accepted_at, NULL, i.created_at FROM invites i JOIN users u ON u.id = i.user_id",
        )
        .await?;
        drop_all(manager, &["invites"]).await?;
        manager
            .rename_table(
                Table::rename()
                    .table(n("invites_next"), n("invites"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "invites",
                "ux_invites_code_hash",
                &["code_hash"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "invites",
                "ix_invites_tenant_email",
                &["tenant_id", "email"],
                false,
            ))
            .await?;

        create(
            manager,
            Table::create()
                .table(n("email_verifications"))
                .if_not_exists()
                .col(id())
                .col(uuid("user_id"))
                // SHA-256 of the one-time token mailed to the address.
                .col(string("token_hash"))
                .col(timestamp("expires_at"))
                .col(timestamp_null("used_at"))
                .col(timestamp("created_at"))
                .foreign_key(&mut fk(
                    "email_verifications",
                    "user_id",
                    "users",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            vec![
                index(
                    "email_verifications",
                    "ux_email_verifications_token_hash",
                    &["token_hash"],
                    true,
                ),
                index(
                    "email_verifications",
                    "ix_email_verifications_user_id",
                    &["user_id"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Going back would re-create memberships nobody accepted (the hole this closes) and
        // invites without a user to point at: restore a backup instead.
        Err(DbErr::Migration(
            "m20261206_000001_add_email_verification cannot be reverted; restore a backup".into(),
        ))
    }
}
