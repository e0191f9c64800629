//! Users and memberships: login look-ups, invitations, role changes and removal, with the rule
//! that a tenant always keeps at least one owner.

use chrono::{DateTime, Utc};
use leadline_domain::tenant::{Email, Role};
use leadline_entity::{invites, memberships, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{record, AuditEntry};
use super::{now, paginate, Page, PageRequest, Store};
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};

/// Who is invited, as what, and how the code is checked.
pub struct InviteRequest<'a> {
    pub email: &'a Email,
    pub name: Option<String>,
    pub role: Role,
    /// SHA-256 of the one-time code.
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
}

/// A member created by an invitation.
pub struct Invitation {
    pub membership: memberships::Model,
    pub user: users::Model,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// The membership of `user_id` in `tenant_id`, if any.
    pub async fn membership(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
    ) -> ApiResult<Option<memberships::Model>> {
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
    pub async fn user(&self, user_id: Uuid) -> ApiResult<Option<users::Model>> {
        Ok(users::Entity::find_by_id(user_id).one(&self.db).await?)
    }

    /// The user's memberships, oldest first (login picks the first when no tenant is named).
    pub async fn memberships_of(&self, user_id: Uuid) -> ApiResult<Vec<memberships::Model>> {
        Ok(memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user_id))
            .order_by_asc(memberships::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// The tenant's members with their users, newest first.
    pub async fn members(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> ApiResult<Page<(memberships::Model, users::Model)>> {
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

    /// Invites `email` with `role`: creates the user if new (without a password until the
    /// invite is accepted) and the membership, and stores the invite code's hash.
    pub async fn invite_member(
        &self,
        tenant_id: Uuid,
        actor: Actor,
        request: InviteRequest<'_>,
    ) -> ApiResult<Invitation> {
        let InviteRequest {
            email,
            name,
            role,
            code_hash,
            expires_at,
        } = request;
        let tx = self.db.begin().await?;
        let at = now();
        let user = match users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(&tx)
            .await?
        {
            Some(user) => user,
            None => {
                users::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    email: Set(email.as_str().to_owned()),
                    name: Set(name),
                    password_hash: Set(None),
                    created_at: Set(at),
                    updated_at: Set(at),
                }
                .insert(&tx)
                .await?
            }
        };
        let existing = memberships::Entity::find()
            .filter(memberships::Column::TenantId.eq(tenant_id))
            .filter(memberships::Column::UserId.eq(user.id))
            .one(&tx)
            .await?;
        if existing.is_some() {
            return Err(ApiError::Conflict("this person is already a member".into()));
        }
        let membership = memberships::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            user_id: Set(user.id),
            role: Set(role.as_str().to_owned()),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&tx)
        .await?;
        invites::Entity::insert(invites::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            user_id: Set(user.id),
            role: Set(role.as_str().to_owned()),
            code_hash: Set(code_hash),
            invited_by: Set(actor.user_id),
            expires_at: Set(expires_at),
            accepted_at: Set(None),
            created_at: Set(at),
        })
        .exec_without_returning(&tx)
        .await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "member.invited",
                target_type: "user",
                target_id: Some(user.id.to_string()),
                details: json!({"email": email.as_str(), "role": role.as_str()}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Invitation {
            membership,
            user,
            expires_at,
        })
    }

    /// The unused, unexpired invite with this code hash, and its user.
    pub async fn pending_invite(
        &self,
        code_hash: &str,
    ) -> ApiResult<Option<(invites::Model, users::Model)>> {
        let at = now();
        let Some(invite) = invites::Entity::find()
            .filter(invites::Column::CodeHash.eq(code_hash))
            .one(&self.db)
            .await?
            .filter(|i| i.accepted_at.is_none() && i.expires_at > at)
        else {
            return Ok(None);
        };
        let user = users::Entity::find_by_id(invite.user_id)
            .one(&self.db)
            .await?;
        Ok(user.map(|u| (invite, u)))
    }

    /// Redeems an invite code: sets the password when the user has none yet. Returns the tenant,
    /// the user and the membership role. A used, expired or unknown code is NOT_FOUND.
    pub async fn accept_invite(
        &self,
        code_hash: &str,
        password_hash: Option<String>,
        name: Option<String>,
    ) -> ApiResult<(Uuid, users::Model, String)> {
        let tx = self.db.begin().await?;
        let at = now();
        let invite = invites::Entity::find()
            .filter(invites::Column::CodeHash.eq(code_hash))
            .one(&tx)
            .await?
            .filter(|i| i.accepted_at.is_none() && i.expires_at > at)
            .ok_or(ApiError::NotFound("invite"))?;
        let user = users::Entity::find_by_id(invite.user_id)
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("invite"))?;
        let membership = memberships::Entity::find()
            .filter(memberships::Column::TenantId.eq(invite.tenant_id))
            .filter(memberships::Column::UserId.eq(user.id))
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("invite"))?;
        let mut user_row = user.clone().into_active_model();
        if user.password_hash.is_none() {
            user_row.password_hash = Set(password_hash);
        }
        if let Some(name) = name {
            user_row.name = Set(Some(name));
        }
        user_row.updated_at = Set(at);
        let user = user_row.update(&tx).await?;
        let mut invite_row = invite.clone().into_active_model();
        invite_row.accepted_at = Set(Some(at));
        invite_row.update(&tx).await?;
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
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((invite.tenant_id, user, membership.role))
    }

    /// Changes a member's role. `acting_role` must be allowed to manage both the old and the new
    /// role, and the last owner cannot be demoted.
    pub async fn update_member_role(
        &self,
        tenant_id: Uuid,
        actor: Actor,
        acting_role: Role,
        user_id: Uuid,
        role: Role,
    ) -> ApiResult<(memberships::Model, users::Model)> {
        let tx = self.db.begin().await?;
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
        tenant_id: Uuid,
        actor: Actor,
        acting_role: Role,
        user_id: Uuid,
    ) -> ApiResult<()> {
        let tx = self.db.begin().await?;
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
