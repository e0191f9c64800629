//! Users and memberships: login look-ups, invitations (an invite is only an invite until the
//! invitee accepts with the mailed code), e-mail verification, role changes and removal, with
//! the rule that a tenant always keeps at least one owner (owner rows locked while it is checked).

use chrono::{DateTime, Utc};
use leadline_domain::ids::{InviteId, TenantId, UserId};
use leadline_domain::tenant::{Email, Role};
use leadline_entity::{email_verifications, invites, jobs, memberships, tenants, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{record, AuditEntry};
use super::{now, paginate, Page, PageRequest, Store};
use crate::auth::{random_secret, sha256_hex, Actor};
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::jobs::enqueue;
use crate::mailer::{AccountMail, SEND_EMAIL_JOB};

/// Who is invited, as what.
pub struct InviteRequest<'a> {
    pub email: &'a Email,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// How an accepted invite meets the account behind its address; decided by the caller after it
/// checked the password (outside the transaction: Argon2 is slow), and re-checked inside it.
#[derive(Debug, Clone)]
pub enum AcceptPlan {
    /// No account has the address: create it, verified, with this password hash.
    Create { password_hash: String },
    /// The account's password matched: join with it (and mark the address verified).
    Join { user_id: UserId },
    /// An unverified account (or one that never had a password) holds the address and the
    /// acceptor, who proved the address by reading the code, did not know its password: the
    /// acceptor is the owner. Set their password, revoke every session of the account and
    /// remove the memberships it gained while unverified.
    TakeOver {
        user_id: UserId,
        /// The password hash read before the decision; if it changed meanwhile, nothing happens.
        previous_hash: Option<String>,
        password_hash: String,
    },
}

/// The result of `accept_invite`.
pub struct Acceptance {
    pub tenant_id: Uuid,
    pub user: users::Model,
    pub role: String,
    /// Memberships removed from a squatting account (tenant ids).
    pub removed_memberships: Vec<Uuid>,
}

impl Store {
    /// The membership of `user_id` in `tenant_id`, if any.
    pub async fn membership(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> ApiResult<Option<memberships::Model>> {
        let tenant_id = tenant.uuid();
        let user_id = user.uuid();
        Ok(memberships::Entity::find()
            .filter(memberships::Column::TenantId.eq(tenant_id))
            .filter(memberships::Column::UserId.eq(user_id))
            .one(&self.db)
            .await?)
    }

    /// A user by normalised e-mail.
    pub async fn user_by_email(&self, email: &Email) -> ApiResult<Option<users::Model>> {
        Ok(users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(&self.db)
            .await?)
    }

    /// A user by id.
    pub async fn user(&self, user: UserId) -> ApiResult<Option<users::Model>> {
        let user_id = user.uuid();
        Ok(users::Entity::find_by_id(user_id).one(&self.db).await?)
    }

    /// The user's memberships, oldest first (login picks the first when no tenant is named).
    pub async fn memberships_of(&self, user: UserId) -> ApiResult<Vec<memberships::Model>> {
        let user_id = user.uuid();
        Ok(memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user_id))
            .order_by_asc(memberships::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// The tenant's members with their users, newest first.
    pub async fn members(
        &self,
        tenant: TenantId,
        page: PageRequest,
    ) -> ApiResult<Page<(memberships::Model, users::Model)>> {
        let tenant_id = tenant.uuid();
        let select =
            memberships::Entity::find().filter(memberships::Column::TenantId.eq(tenant_id));
        let memberships = paginate(&self.db, select, memberships::Column::Id, page).await?;
        let ids: Vec<Uuid> = memberships.items.iter().map(|m| m.user_id).collect();
        let users = users::Entity::find()
            .filter(users::Column::Id.is_in(ids))
            .all(&self.db)
            .await?;
        let items = memberships
            .items
            .into_iter()
            .filter_map(|m| {
                users
                    .iter()
                    .find(|u| u.id == m.user_id)
                    .cloned()
                    .map(|u| (m, u))
            })
            .collect();
        Ok(Page {
            items,
            has_next_page: memberships.has_next_page,
            total_count: memberships.total_count,
        })
    }

    /// Invites `email` with `role`: stores an invite (never a user or a membership) and, in the
    /// same transaction, the `send_email` job that mints the code and mails it to the address.
    /// A pending invite for the same address is replaced (its code stops working). Inviting a
    /// member is CONFLICT.
    pub async fn invite_member(
        &self,
        tenant: TenantId,
        actor: Actor,
        request: InviteRequest<'_>,
    ) -> ApiResult<invites::Model> {
        let tenant_id = tenant.uuid();
        let InviteRequest {
            email,
            role,
            expires_at,
        } = request;
        let tx = self.db.begin().await?;
        let at = now();
        if let Some(user) = users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(&tx)
            .await?
        {
            if memberships::Entity::find()
                .filter(memberships::Column::TenantId.eq(tenant_id))
                .filter(memberships::Column::UserId.eq(user.id))
                .one(&tx)
                .await?
                .is_some()
            {
                return Err(ApiError::Conflict("this person is already a member".into()));
            }
        }
        invites::Entity::update_many()
            .col_expr(invites::Column::RevokedAt, Expr::value(at))
            .filter(invites::Column::TenantId.eq(tenant_id))
            .filter(invites::Column::Email.eq(email.as_str()))
            .filter(invites::Column::AcceptedAt.is_null())
            .filter(invites::Column::RevokedAt.is_null())
            .exec(&tx)
            .await?;
        // Nobody knows this code: the mail job replaces it with the one it sends.
        let placeholder = sha256_hex(&random_secret(24));
        let invite = invites::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            email: Set(email.as_str().to_owned()),
            role: Set(role.as_str().to_owned()),
            code_hash: Set(placeholder),
            invited_by: Set(actor.user_id),
            expires_at: Set(expires_at),
            accepted_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(at),
        }
        .insert(&tx)
        .await?;
        enqueue(
            &tx,
            AccountMail::Invite {
                invite_id: invite.id,
            }
            .job(tenant_id),
        )
        .await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "member.invited",
                target_type: "invite",
                target_id: Some(invite.id.to_string()),
                details: json!({"email": email.as_str(), "role": role.as_str()}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(invite)
    }

    /// The tenant's pending invites (not accepted, revoked or expired), newest first.
    pub async fn pending_invites(
        &self,
        tenant: TenantId,
        page: PageRequest,
    ) -> ApiResult<Page<invites::Model>> {
        let tenant_id = tenant.uuid();
        let select = invites::Entity::find()
            .filter(invites::Column::TenantId.eq(tenant_id))
            .filter(invites::Column::AcceptedAt.is_null())
            .filter(invites::Column::RevokedAt.is_null())
            .filter(invites::Column::ExpiresAt.gt(now()));
        paginate(&self.db, select, invites::Column::Id, page).await
    }

    /// Revokes a pending invite of the tenant (its code stops working). Audited.
    pub async fn revoke_invite(
        &self,
        tenant: TenantId,
        actor: Actor,
        invite: InviteId,
    ) -> ApiResult<invites::Model> {
        let tenant_id = tenant.uuid();
        let invite_id = invite.uuid();
        let tx = self.db.begin().await?;
        let invite = invites::Entity::find_by_id(invite_id)
            .filter(invites::Column::TenantId.eq(tenant_id))
            .one(&tx)
            .await?
            .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none())
            .ok_or(ApiError::NotFound("invite"))?;
        let mut row = invite.into_active_model();
        row.revoked_at = Set(Some(now()));
        let invite = row.update(&tx).await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "invite.revoked",
                target_type: "invite",
                target_id: Some(invite.id.to_string()),
                details: json!({"email": invite.email, "role": invite.role}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(invite)
    }

    /// Replaces a pending invite's code hash with the one about to be mailed; the invite and its
    /// tenant's name, or `None` when the invite is no longer pending (nothing to send).
    pub async fn reissue_invite_code(
        &self,
        invite: InviteId,
        code_hash: &str,
    ) -> ApiResult<Option<(invites::Model, String)>> {
        let invite_id = invite.uuid();
        let at = now();
        let updated = invites::Entity::update_many()
            .col_expr(invites::Column::CodeHash, Expr::value(code_hash))
            .filter(invites::Column::Id.eq(invite_id))
            .filter(invites::Column::AcceptedAt.is_null())
            .filter(invites::Column::RevokedAt.is_null())
            .filter(invites::Column::ExpiresAt.gt(at))
            .exec(&self.db)
            .await?;
        if updated.rows_affected == 0 {
            return Ok(None);
        }
        let Some(invite) = invites::Entity::find_by_id(invite_id).one(&self.db).await? else {
            return Ok(None);
        };
        let tenant = tenants::Entity::find_by_id(invite.tenant_id)
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("tenant"))?;
        Ok(Some((invite, tenant.name)))
    }

    /// The pending invite with this code hash, and the account that holds its address (if any).
    pub async fn pending_invite(
        &self,
        code_hash: &str,
    ) -> ApiResult<Option<(invites::Model, Option<users::Model>)>> {
        let at = now();
        let Some(invite) = invites::Entity::find()
            .filter(invites::Column::CodeHash.eq(code_hash))
            .one(&self.db)
            .await?
            .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none() && i.expires_at > at)
        else {
            return Ok(None);
        };
        let user = users::Entity::find()
            .filter(users::Column::Email.eq(invite.email.as_str()))
            .one(&self.db)
            .await?;
        Ok(Some((invite, user)))
    }

    /// Redeems an invite code: marks it used and creates the membership in one transaction,
    /// and marks the address verified (the code went to it). See [`AcceptPlan`] for the account.
    /// A used, revoked, expired or unknown code is NOT_FOUND; an account that changed since
    /// the plan was made is CONFLICT (try again).
    pub async fn accept_invite(
        &self,
        code_hash: &str,
        plan: AcceptPlan,
        name: Option<String>,
    ) -> ApiResult<Acceptance> {
        let tx = self.db.begin().await?;
        let at = now();
        let invite = invites::Entity::find()
            .filter(invites::Column::CodeHash.eq(code_hash))
            .one(&tx)
            .await?
            .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none() && i.expires_at > at)
            .ok_or(ApiError::NotFound("invite"))?;
        // The conditional update is what makes a code single-use under concurrent accepts.
        let used = invites::Entity::update_many()
            .col_expr(invites::Column::AcceptedAt, Expr::value(at))
            .filter(invites::Column::Id.eq(invite.id))
            .filter(invites::Column::AcceptedAt.is_null())
            .filter(invites::Column::RevokedAt.is_null())
            .exec(&tx)
            .await?;
        if used.rows_affected != 1 {
            return Err(ApiError::NotFound("invite"));
        }
        let existing = users::Entity::find()
            .filter(users::Column::Email.eq(invite.email.as_str()))
            .one(&tx)
            .await?;
        let changed = || ApiError::Conflict("the account changed meanwhile; try again".into());
        let mut removed_memberships = Vec::new();
        let user = match (plan, existing) {
            (AcceptPlan::Create { password_hash }, None) => {
                insert_user(
                    &tx,
                    NewUser {
                        email: &invite.email,
                        name,
                        password_hash,
                        // The code went to this address: accepting proves it.
                        verified_at: Some(at),
                        at,
                    },
                    changed,
                )
                .await?
            }
            (AcceptPlan::Join { user_id }, Some(user)) if user.id == user_id.uuid() => {
                let mut row = user.clone().into_active_model();
                if user.email_verified_at.is_none() {
                    row.email_verified_at = Set(Some(at));
                }
                if let Some(name) = name {
                    row.name = Set(Some(name));
                }
                row.updated_at = Set(at);
                row.update(&tx).await?
            }
            (
                AcceptPlan::TakeOver {
                    user_id,
                    previous_hash,
                    password_hash,
                },
                Some(user),
            ) if user.id == user_id.uuid()
                && user.password_hash == previous_hash
                && user.email_verified_at.is_none() =>
            {
                for membership in memberships::Entity::find()
                    .filter(memberships::Column::UserId.eq(user.id))
                    .all(&tx)
                    .await?
                {
                    memberships::Entity::delete_by_id(membership.id)
                        .exec(&tx)
                        .await?;
                    record(
                        &tx,
                        membership.tenant_id,
                        Actor::default(),
                        AuditEntry {
                            action: "member.removed",
                            target_type: "user",
                            target_id: Some(user.id.to_string()),
                            details: json!({
                                "role": membership.role,
                                "reason": "the unverified account's address was claimed by its owner",
                            }),
                        },
                    )
                    .await?;
                    removed_memberships.push(membership.tenant_id);
                }
                // Tokens the squatter may still hold for the account.
                email_verifications::Entity::delete_many()
                    .filter(email_verifications::Column::UserId.eq(user.id))
                    .exec(&tx)
                    .await?;
                let mut row = user.clone().into_active_model();
                row.password_hash = Set(Some(password_hash));
                row.email_verified_at = Set(Some(at));
                row.session_version = Set(user.session_version.saturating_add(1));
                row.name = Set(name);
                row.updated_at = Set(at);
                row.update(&tx).await?
            }
            _ => return Err(changed()),
        };
        if memberships::Entity::find()
            .filter(memberships::Column::TenantId.eq(invite.tenant_id))
            .filter(memberships::Column::UserId.eq(user.id))
            .one(&tx)
            .await?
            .is_some()
        {
            return Err(ApiError::Conflict("you are already a member".into()));
        }
        memberships::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(invite.tenant_id),
            user_id: Set(user.id),
            role: Set(invite.role.clone()),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&tx)
        .await?;
        record(
            &tx,
            invite.tenant_id,
            Actor {
                user_id: Some(user.id),
                api_key_id: None,
            },
            AuditEntry {
                action: "member.joined",
                target_type: "user",
                target_id: Some(user.id.to_string()),
                details: json!({
                    "role": invite.role,
                    "invite": invite.id.to_string(),
                    "claimedUnverifiedAccount": !removed_memberships.is_empty(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Acceptance {
            tenant_id: invite.tenant_id,
            user,
            role: invite.role,
            removed_memberships,
        })
    }

    /// The account's current session version (`None` when the user no longer exists).
    pub async fn session_version(&self, user: UserId) -> ApiResult<Option<i32>> {
        let user_id = user.uuid();
        Ok(users::Entity::find_by_id(user_id)
            .one(&self.db)
            .await?
            .map(|u| u.session_version))
    }

    /// Stores a new verification token hash for an unverified user (earlier unused tokens stop
    /// working); the user, or `None` when the address is verified already or the user is gone.
    pub async fn issue_verification(
        &self,
        user: UserId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> ApiResult<Option<users::Model>> {
        let user_id = user.uuid();
        let tx = self.db.begin().await?;
        let at = now();
        let Some(user) = users::Entity::find_by_id(user_id)
            .one(&tx)
            .await?
            .filter(|u| u.email_verified_at.is_none())
        else {
            return Ok(None);
        };
        email_verifications::Entity::update_many()
            .col_expr(email_verifications::Column::UsedAt, Expr::value(at))
            .filter(email_verifications::Column::UserId.eq(user_id))
            .filter(email_verifications::Column::UsedAt.is_null())
            .exec(&tx)
            .await?;
        email_verifications::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            token_hash: Set(token_hash.to_owned()),
            expires_at: Set(expires_at),
            used_at: Set(None),
            created_at: Set(at),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok(Some(user))
    }

    /// When verification mails were asked for since `since`, oldest first (resends are limited
    /// per user and hour).
    pub async fn verification_requests_since(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> ApiResult<Vec<DateTime<Utc>>> {
        let user_id = user.uuid();
        Ok(jobs::Entity::find()
            .filter(jobs::Column::Kind.eq(SEND_EMAIL_JOB))
            .filter(jobs::Column::IdempotencyKey.starts_with(verification_key_prefix(user_id)))
            .filter(jobs::Column::CreatedAt.gte(since))
            .order_by_asc(jobs::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|job| job.created_at)
            .collect())
    }

    /// Enqueues another verification mail for the user (in `tenant_id`'s job queue).
    pub async fn request_verification(&self, tenant: TenantId, user: UserId) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        let user_id = user.uuid();
        enqueue(&self.db, verification_job(tenant_id, user_id)).await?;
        Ok(())
    }

    /// Redeems a verification token: the user, now verified. Unknown, used and expired tokens
    /// are BAD_USER_INPUT, each with its own message.
    pub async fn verify_email(&self, token_hash: &str) -> ApiResult<users::Model> {
        let tx = self.db.begin().await?;
        let at = now();
        let token = email_verifications::Entity::find()
            .filter(email_verifications::Column::TokenHash.eq(token_hash))
            .one(&tx)
            .await?
            .ok_or_else(|| ApiError::bad_input("token", "this verification token is not valid"))?;
        if token.used_at.is_some() {
            return Err(ApiError::bad_input(
                "token",
                "this verification token was already used or replaced by a newer one",
            ));
        }
        if token.expires_at <= at {
            return Err(ApiError::bad_input(
                "token",
                "this verification token has expired; ask for a new one with resendVerificationEmail",
            ));
        }
        let used = email_verifications::Entity::update_many()
            .col_expr(email_verifications::Column::UsedAt, Expr::value(at))
            .filter(email_verifications::Column::Id.eq(token.id))
            .filter(email_verifications::Column::UsedAt.is_null())
            .exec(&tx)
            .await?;
        if used.rows_affected != 1 {
            return Err(ApiError::bad_input(
                "token",
                "this verification token was already used",
            ));
        }
        let user = users::Entity::find_by_id(token.user_id)
            .one(&tx)
            .await?
            .ok_or_else(|| ApiError::bad_input("token", "this verification token is not valid"))?;
        let user = if user.email_verified_at.is_none() {
            let mut row = user.into_active_model();
            row.email_verified_at = Set(Some(at));
            row.updated_at = Set(at);
            row.update(&tx).await?
        } else {
            user
        };
        tx.commit().await?;
        Ok(user)
    }

    /// Changes a member's role. `acting_role` must be allowed to manage both the old and the new
    /// role, and the last owner cannot be demoted.
    pub async fn update_member_role(
        &self,
        tenant: TenantId,
        actor: Actor,
        acting_role: Role,
        user: UserId,
        role: Role,
    ) -> ApiResult<(memberships::Model, users::Model)> {
        let tenant_id = tenant.uuid();
        let user_id = user.uuid();
        let tx = self.db.begin().await?;
        lock_owners(&tx, self.is_postgres(), tenant_id).await?;
        let acting_role = current_role(&tx, tenant_id, actor, acting_role).await?;
        let membership = member_in(&tx, tenant_id, user_id).await?;
        let current = Role::parse(&membership.role).map_err(|e| ApiError::Internal(e.into()))?;
        if !acting_role.can_manage(current) || !acting_role.can_manage(role) {
            return Err(ApiError::Forbidden(
                "only an owner can grant or take away the owner role".into(),
            ));
        }
        if current == Role::Owner && role != Role::Owner {
            ensure_another_owner(&tx, tenant_id).await?;
        }
        let mut row = membership.into_active_model();
        row.role = Set(role.as_str().to_owned());
        row.updated_at = Set(now());
        let updated = row.update(&tx).await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "member.role_changed",
                target_type: "user",
                target_id: Some(user_id.to_string()),
                details: json!({"from": current.as_str(), "to": role.as_str()}),
            },
        )
        .await?;
        let user = users::Entity::find_by_id(user_id)
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("member"))?;
        tx.commit().await?;
        Ok((updated, user))
    }

    /// Removes a member; the last owner cannot be removed.
    pub async fn remove_member(
        &self,
        tenant: TenantId,
        actor: Actor,
        acting_role: Role,
        user: UserId,
    ) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        let user_id = user.uuid();
        let tx = self.db.begin().await?;
        lock_owners(&tx, self.is_postgres(), tenant_id).await?;
        let acting_role = current_role(&tx, tenant_id, actor, acting_role).await?;
        let membership = member_in(&tx, tenant_id, user_id).await?;
        let current = Role::parse(&membership.role).map_err(|e| ApiError::Internal(e.into()))?;
        if !acting_role.can_manage(current) {
            return Err(ApiError::Forbidden(
                "only an owner can remove an owner".into(),
            ));
        }
        if current == Role::Owner {
            ensure_another_owner(&tx, tenant_id).await?;
        }
        memberships::Entity::delete_by_id(membership.id)
            .exec(&tx)
            .await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "member.removed",
                target_type: "user",
                target_id: Some(user_id.to_string()),
                details: json!({"role": current.as_str()}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The `send_email` job of a verification mail, keyed so resends can be counted per user.
pub(crate) fn verification_job(tenant_id: Uuid, user_id: Uuid) -> crate::jobs::NewJob {
    AccountMail::Verification { user_id }
        .job(tenant_id)
        .idempotent(format!(
            "{}{}",
            verification_key_prefix(user_id),
            Uuid::now_v7().simple()
        ))
}

fn verification_key_prefix(user_id: Uuid) -> String {
    format!("verification:{}:", user_id.simple())
}

/// Holds the tenant's owner rows until the transaction ends (PostgreSQL `FOR UPDATE`, in id
/// order so two changes never deadlock), so two concurrent demotions or removals cannot each
/// count the other owner and leave none. SQLite has one writer at a time already. A waiting
/// transaction re-reads the rows after the lock is released (read committed), so it counts
/// the owners as the first change left them.
async fn lock_owners<C: ConnectionTrait>(db: &C, postgres: bool, tenant_id: Uuid) -> ApiResult<()> {
    if postgres {
        memberships::Entity::find()
            .filter(memberships::Column::TenantId.eq(tenant_id))
            .filter(memberships::Column::Role.eq(Role::Owner.as_str()))
            .order_by_asc(memberships::Column::Id)
            .lock_exclusive()
            .all(db)
            .await?;
    }
    Ok(())
}

/// The acting member's role as the database has it now, under the owner lock: a member demoted
/// by a concurrent change acts with the new role, not the one read when the request started.
async fn current_role<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    actor: Actor,
    fallback: Role,
) -> ApiResult<Role> {
    let Some(user_id) = actor.user_id else {
        return Ok(fallback);
    };
    let membership = memberships::Entity::find()
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .filter(memberships::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or_else(|| {
            ApiError::Unauthenticated("this account is no longer a member of the tenant".into())
        })?;
    Role::parse(&membership.role).map_err(|e| ApiError::Internal(e.into()))
}

async fn member_in<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    user_id: Uuid,
) -> ApiResult<memberships::Model> {
    memberships::Entity::find()
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .filter(memberships::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("member"))
}

async fn ensure_another_owner<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> ApiResult<()> {
    let owners = memberships::Entity::find()
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .filter(memberships::Column::Role.eq(Role::Owner.as_str()))
        .count(db)
        .await?;
    if owners <= 1 {
        return Err(ApiError::Conflict(
            "a tenant must keep at least one owner".into(),
        ));
    }
    Ok(())
}

/// A user row to create: sign-up (unverified) and invite acceptance (verified) build theirs here.
pub(super) struct NewUser<'a> {
    pub email: &'a str,
    pub name: Option<String>,
    pub password_hash: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// Inserts a user at session version 0; an address that already has an account is `taken()`.
pub(super) async fn insert_user<C: ConnectionTrait>(
    db: &C,
    user: NewUser<'_>,
    taken: impl FnOnce() -> ApiError,
) -> ApiResult<users::Model> {
    users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(user.email.to_owned()),
        name: Set(user.name),
        password_hash: Set(Some(user.password_hash)),
        email_verified_at: Set(user.verified_at),
        session_version: Set(0),
        created_at: Set(user.at),
        updated_at: Set(user.at),
    }
    .insert(db)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            taken()
        } else {
            e.into()
        }
    })
}
