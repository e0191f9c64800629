//! Accounts and access: sign-up, login, invitations, members and roles, API keys, tenant
//! settings and the audit log.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use leadline_domain::phone::PhoneNumber;
use leadline_domain::tenant::{check_ai_lead_percentage, check_password_policy, Email, TenantSlug};

use super::types::{ApiKey, ApiKeyScope, AuditEntry, Member, Role, Tenant, User};
use super::{
    clean_text, connection, parse_id, principal, required_text, state, tenant_for, try_connection,
    AccessGuard, IdConnection,
};
use crate::auth::{hash_password, random_secret, sha256_hex, verify_password, Access, Principal};
use crate::error::ApiError;
use crate::store::{now, InviteRequest, PageRequest, TenantSettingsChanges};

/// How long an invite code stays valid.
const INVITE_VALID_DAYS: i64 = 7;

/// Input of `signUp`.
#[derive(InputObject)]
pub struct SignUpInput {
    /// Login e-mail of the owner.
    pub email: String,
    /// At least 8 characters.
    pub password: String,
    /// Display name of the new tenant.
    pub tenant_name: String,
    /// URL handle of the tenant: 3–40 lowercase letters, digits and dashes.
    pub tenant_slug: String,
}

/// Input of `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// Login e-mail.
    pub email: String,
    /// Password.
    pub password: String,
    /// Which tenant to sign in to, for people in several (default: the first one joined).
    pub tenant_slug: Option<String>,
}

/// Input of `acceptInvite`.
#[derive(InputObject)]
pub struct AcceptInviteInput {
    /// The one-time code from `inviteMember`.
    pub code: String,
    /// The password to set (new accounts) or the existing password (existing accounts).
    pub password: String,
    /// Display name.
    pub name: Option<String>,
}

/// A session token.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// JWT (HS256) for `Authorization: Bearer <token>` and the WebSocket `connection_init`.
    pub token: String,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: User,
    /// The tenant the token is for.
    pub tenant: Tenant,
    /// The user's role there.
    pub role: Role,
}

/// Input of `updateTenantSettings`: omitted fields stay as they are.
#[derive(InputObject, Default)]
pub struct UpdateTenantSettingsInput {
    /// Display name.
    pub name: Option<String>,
    /// Whether the AI phone agent takes calls.
    pub agent_running: Option<bool>,
    /// 0, 25, 50, 75 or 100.
    pub ai_lead_percentage: Option<i32>,
    /// Name the AI agent uses (empty clears it).
    pub agent_name: Option<String>,
    /// E.164 number for transfers to a human (empty clears it).
    pub human_operator_number: Option<String>,
    /// ISO-3166 alpha-2 region for national-format phone numbers (empty clears it).
    pub default_phone_region: Option<String>,
}

/// Result of `updateTenantSettings`.
#[derive(SimpleObject)]
pub struct UpdateTenantSettingsPayload {
    /// The tenant after the change.
    pub tenant: Tenant,
}

/// Input of `inviteMember`.
#[derive(InputObject)]
pub struct InviteMemberInput {
    /// E-mail of the person to invite.
    pub email: String,
    /// Their role.
    pub role: Role,
    /// Display name.
    pub name: Option<String>,
}

/// Result of `inviteMember`.
#[derive(SimpleObject)]
pub struct InviteMemberPayload {
    /// The new member (inactive until the invite is accepted, for new accounts).
    pub member: Member,
    /// One-time code for `acceptInvite`; shown only here. Send it to the person.
    pub invite_code: String,
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
}

/// Input of `updateMemberRole`.
#[derive(InputObject)]
pub struct UpdateMemberRoleInput {
    /// The member's user id.
    pub user_id: ID,
    /// The new role.
    pub role: Role,
}

/// Result of `updateMemberRole`.
#[derive(SimpleObject)]
pub struct UpdateMemberRolePayload {
    /// The member after the change.
    pub member: Member,
}

/// Input of `removeMember`.
#[derive(InputObject)]
pub struct RemoveMemberInput {
    /// The member's user id.
    pub user_id: ID,
}

/// Result of `removeMember`.
#[derive(SimpleObject)]
pub struct RemoveMemberPayload {
    /// The user id that was removed.
    pub removed_user_id: ID,
}

/// Input of `createApiKey`.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// What the key is for.
    pub name: String,
    /// What it may do (default: READ).
    pub scopes: Option<Vec<ApiKeyScope>>,
}

/// Result of `createApiKey`. The credential is shown only here: store it now.
#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    /// The API key credential, sent as `Authorization: Bearer <key>`.
    pub key: String,
    /// The same one-time credential (kept for tools that read `secret`).
    pub secret: String,
    /// The key's metadata.
    pub api_key: ApiKey,
}

/// Input of `revokeApiKey`.
#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    /// The key id.
    pub id: ID,
}

/// Result of `revokeApiKey`.
#[derive(SimpleObject)]
pub struct RevokeApiKeyPayload {
    /// The key, now revoked.
    pub api_key: ApiKey,
}

/// Who is calling.
#[derive(SimpleObject)]
pub struct Viewer {
    /// The signed-in user (null for API keys).
    pub user: Option<User>,
    /// The member's role (null for API keys).
    pub role: Option<Role>,
    /// The API key in use (null for members).
    pub api_key_id: Option<ID>,
    /// The caller's tenant.
    pub tenant: Tenant,
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The caller: user and role, or API key, and their tenant.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Viewer> {
        let state = state(ctx);
        match principal(ctx).clone() {
            Principal::Member {
                user_id,
                tenant_id,
                role,
            } => {
                let user = state
                    .store
                    .user(user_id)
                    .await?
                    .ok_or(ApiError::Unauthenticated("unknown user".into()))?;
                Ok(Viewer {
                    user: Some(user.into()),
                    role: Some(role.into()),
                    api_key_id: None,
                    tenant: Tenant(state.store.tenant(tenant_id).await?),
                })
            }
            Principal::ApiKey {
                key_id, tenant_id, ..
            } => Ok(Viewer {
                user: None,
                role: None,
                api_key_id: Some(ID(key_id.to_string())),
                tenant: Tenant(state.store.tenant(tenant_id).await?),
            }),
            // The guard refuses customers before this point; they are never members.
            Principal::Anonymous | Principal::Customer { .. } => {
                Err(ApiError::Unauthenticated("sign in first".into()).into())
            }
        }
    }

    /// The caller's tenant.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<Tenant> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(Tenant(state(ctx).store.tenant(tenant_id).await?))
    }

    /// The tenant's members, newest first.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Member>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let page = state(ctx).store.members(tenant_id, request).await?;
        try_connection(page, request, |(m, _)| m.id, |(m, u)| Member::new(m, u))
    }

    /// The tenant's API keys (owners and admins).
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<ApiKey>> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let page = state(ctx).store.api_keys(tenant_id, request).await?;
        connection(page, request, |k| k.id, ApiKey::from)
    }

    /// Configuration and membership changes, and who assigned, handed back, resolved or ended
    /// conversations and support sessions; newest first (owners and admins).
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<AuditEntry>> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let page = state(ctx).store.audit_log(tenant_id, request).await?;
        connection(page, request, |e| e.id, AuditEntry::from)
    }
}

#[derive(Default)]
pub struct AccountMutation;

async fn session(
    ctx: &Context<'_>,
    user: leadline_entity::users::Model,
    tenant_id: uuid::Uuid,
    role: leadline_domain::tenant::Role,
) -> async_graphql::Result<AuthPayload> {
    let state = state(ctx);
    let issued_at = now();
    let token = state.tokens.issue(user.id, tenant_id, role, issued_at)?;
    let expires_at = issued_at
        + chrono::Duration::from_std(state.config.jwt_ttl).unwrap_or(chrono::Duration::hours(12));
    Ok(AuthPayload {
        token,
        expires_at,
        user: user.into(),
        tenant: Tenant(state.store.tenant(tenant_id).await?),
        role: role.into(),
    })
}

#[Object]
impl AccountMutation {
    /// Creates a tenant and its owner, and signs the owner in.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
    ) -> async_graphql::Result<AuthPayload> {
        if let Some(ip) = ctx.data_opt::<crate::auth::ClientIp>() {
            state(ctx).signup_limiter.check(ip.0)?;
        }
        let email = Email::parse(&input.email).map_err(|e| ApiError::invalid("email", e))?;
        check_password_policy(&input.password).map_err(|e| ApiError::invalid("password", e))?;
        let slug = TenantSlug::parse(&input.tenant_slug)
            .map_err(|e| ApiError::invalid("tenantSlug", e))?;
        let name = required_text(input.tenant_name, "tenantName", 120)?;
        let hash = hash_password(input.password).await?;
        let (tenant, user) = state(ctx)
            .store
            .create_tenant_with_owner(&slug, &name, &email, hash)
            .await?;
        session(ctx, user, tenant.id, leadline_domain::tenant::Role::Owner).await
    }

    /// Signs in with e-mail and password. A wrong e-mail and a wrong password get the same answer.
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        let store = &state(ctx).store;
        let refused = || ApiError::Unauthenticated("wrong e-mail or password".into());
        state(ctx)
            .login_limiter
            .check(input.email.trim().to_lowercase())?;
        let user = match Email::parse(&input.email) {
            Ok(email) => store.user_by_email(&email).await?,
            Err(_) => None,
        };
        if !verify_password(
            input.password,
            user.as_ref().and_then(|u| u.password_hash.clone()),
        )
        .await
        {
            return Err(refused().into());
        }
        let user = user.ok_or_else(refused)?;
        let memberships = store.memberships_of(user.id).await?;
        let membership = match input
            .tenant_slug
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(slug) => {
                let tenant = store
                    .tenant_by_slug(slug)
                    .await?
                    .ok_or(ApiError::NotFound("tenant"))?;
                memberships
                    .into_iter()
                    .find(|m| m.tenant_id == tenant.id)
                    .ok_or(ApiError::NotFound("tenant"))?
            }
            None => memberships.into_iter().next().ok_or_else(refused)?,
        };
        let role = leadline_domain::tenant::Role::parse(&membership.role)
            .map_err(|e| ApiError::Internal(e.into()))?;
        session(ctx, user, membership.tenant_id, role).await
    }

    /// Redeems an invite code and signs the new member in.
    async fn accept_invite(
        &self,
        ctx: &Context<'_>,
        input: AcceptInviteInput,
    ) -> async_graphql::Result<AuthPayload> {
        let store = &state(ctx).store;
        check_password_policy(&input.password).map_err(|e| ApiError::invalid("password", e))?;
        let name = clean_text(input.name, "name", 120)?;
        let code_hash = sha256_hex(input.code.trim());
        // An existing account keeps its password: prove it before the invite is used up.
        let (_, invited_user) = store
            .pending_invite(&code_hash)
            .await?
            .ok_or(ApiError::NotFound("invite"))?;
        let new_hash = match invited_user.password_hash {
            Some(existing) => {
                if !verify_password(input.password, Some(existing)).await {
                    return Err(ApiError::Unauthenticated(
                        "this account already has a password; use it to accept".into(),
                    )
                    .into());
                }
                None
            }
            None => Some(hash_password(input.password).await?),
        };
        let (tenant_id, user, role) = store.accept_invite(&code_hash, new_hash, name).await?;
        let role = leadline_domain::tenant::Role::parse(&role)
            .map_err(|e| ApiError::Internal(e.into()))?;
        session(ctx, user, tenant_id, role).await
    }

    /// Changes tenant settings (owners and admins). Audited.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn update_tenant_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateTenantSettingsInput,
    ) -> async_graphql::Result<UpdateTenantSettingsPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let optional =
            |value: Option<String>, field: &str| -> Result<Option<Option<String>>, ApiError> {
                value.map(|v| clean_text(Some(v), field, 120)).transpose()
            };
        let region = match optional(input.default_phone_region, "defaultPhoneRegion")? {
            Some(Some(code)) => Some(Some(
                PhoneNumber::check_region(&code)
                    .map_err(|e| ApiError::invalid("defaultPhoneRegion", e))?,
            )),
            other => other,
        };
        let operator = match optional(input.human_operator_number, "humanOperatorNumber")? {
            Some(Some(number)) => Some(Some(
                PhoneNumber::parse(&number, None)
                    .map_err(|e| ApiError::invalid("humanOperatorNumber", e))?
                    .as_str()
                    .to_owned(),
            )),
            other => other,
        };
        let changes = TenantSettingsChanges {
            name: input
                .name
                .map(|n| required_text(n, "name", 120))
                .transpose()?,
            agent_running: input.agent_running,
            ai_lead_percentage: input
                .ai_lead_percentage
                .map(check_ai_lead_percentage)
                .transpose()
                .map_err(|e| ApiError::invalid("aiLeadPercentage", e))?,
            agent_name: optional(input.agent_name, "agentName")?,
            human_operator_number: operator,
            default_phone_region: region,
        };
        let tenant = state(ctx)
            .store
            .update_tenant_settings(tenant_id, principal(ctx).actor(), changes)
            .await?;
        Ok(UpdateTenantSettingsPayload {
            tenant: Tenant(tenant),
        })
    }

    /// Invites a person (owners and admins; only owners invite owners). Audited.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        input: InviteMemberInput,
    ) -> async_graphql::Result<InviteMemberPayload> {
        let (_, tenant_id, acting_role) = principal(ctx).member()?;
        let role: leadline_domain::tenant::Role = input.role.into();
        if !acting_role.can_manage(role) {
            return Err(ApiError::Forbidden("only an owner can invite an owner".into()).into());
        }
        let email = Email::parse(&input.email).map_err(|e| ApiError::invalid("email", e))?;
        let name = clean_text(input.name, "name", 120)?;
        let code = random_secret(24);
        let expires_at = now() + chrono::Duration::days(INVITE_VALID_DAYS);
        let invitation = state(ctx)
            .store
            .invite_member(
                tenant_id,
                principal(ctx).actor(),
                InviteRequest {
                    email: &email,
                    name,
                    role,
                    code_hash: sha256_hex(&code),
                    expires_at,
                },
            )
            .await?;
        Ok(InviteMemberPayload {
            member: Member::new(invitation.membership, invitation.user)?,
            invite_code: code,
            expires_at: invitation.expires_at,
        })
    }

    /// Changes a member's role. Audited; a tenant always keeps one owner.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn update_member_role(
        &self,
        ctx: &Context<'_>,
        input: UpdateMemberRoleInput,
    ) -> async_graphql::Result<UpdateMemberRolePayload> {
        let (_, tenant_id, acting_role) = principal(ctx).member()?;
        let user_id = parse_id(&input.user_id, "userId")?;
        let (membership, user) = state(ctx)
            .store
            .update_member_role(
                tenant_id,
                principal(ctx).actor(),
                acting_role,
                user_id,
                input.role.into(),
            )
            .await?;
        Ok(UpdateMemberRolePayload {
            member: Member::new(membership, user)?,
        })
    }

    /// Removes a member. Audited; the last owner cannot be removed.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveMemberInput,
    ) -> async_graphql::Result<RemoveMemberPayload> {
        let (_, tenant_id, acting_role) = principal(ctx).member()?;
        let user_id = parse_id(&input.user_id, "userId")?;
        state(ctx)
            .store
            .remove_member(tenant_id, principal(ctx).actor(), acting_role, user_id)
            .await?;
        Ok(RemoveMemberPayload {
            removed_user_id: input.user_id,
        })
    }

    /// Creates an API key (owners and admins). The credential is returned once. Audited.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> async_graphql::Result<CreateApiKeyPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let name = required_text(input.name, "name", 120)?;
        let mut scopes: Vec<leadline_domain::tenant::ApiKeyScope> = input
            .scopes
            .unwrap_or_else(|| vec![ApiKeyScope::Read])
            .into_iter()
            .map(Into::into)
            .collect();
        scopes.sort_by_key(|s| s.as_str());
        scopes.dedup();
        if scopes.is_empty() {
            return Err(ApiError::bad_input("scopes", "give at least one scope").into());
        }
        let (row, credential) = state(ctx)
            .store
            .create_api_key(tenant_id, principal(ctx).actor(), &name, &scopes)
            .await?;
        Ok(CreateApiKeyPayload {
            key: credential.clone(),
            secret: credential,
            api_key: row.into(),
        })
    }

    /// Revokes an API key at once (idempotent). Audited.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiKeyInput,
    ) -> async_graphql::Result<RevokeApiKeyPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let id = parse_id(&input.id, "id")?;
        let key = state(ctx)
            .store
            .revoke_api_key(tenant_id, principal(ctx).actor(), id)
            .await?;
        Ok(RevokeApiKeyPayload {
            api_key: key.into(),
        })
    }
}
