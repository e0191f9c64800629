//! Accounts and access: sign-up, e-mail verification, login, invitations (the code goes only
//! by e-mail to the invitee, never back to the inviter), members and roles, API keys, tenant
//! settings and the audit log.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use leadline_domain::ids::{ApiKeyId, TenantId, UserId};
use leadline_domain::phone::PhoneNumber;
use leadline_domain::tenant::{check_ai_lead_percentage, check_password_policy, Email, TenantSlug};

use super::types::{ApiKey, ApiKeyScope, AuditEntry, Member, Role, Tenant, User};
use super::{
    clean_text, connection, parse_id, principal, required_text, state, tenant_for, try_connection,
    AccessGuard, IdConnection,
};
use crate::auth::{hash_password, sha256_hex, verify_password, Access, Principal};
use crate::error::ApiError;
use crate::store::{now, AcceptPlan, InviteRequest, PageRequest, TenantSettingsChanges};

/// How long an invite code stays valid.
const INVITE_VALID_DAYS: i64 = 7;

/// Verification mails per account and hour, the sign-up's own included.
const VERIFICATION_MAILS_PER_HOUR: usize = 3;

mod types;
pub use types::*;

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
                    .user(UserId(user_id))
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
            Principal::Anonymous | Principal::Customer { .. } | Principal::CallAgent { .. } => {
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
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
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

    /// The tenant's pending invites, newest first (owners and admins). Codes are never shown.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn invites(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Invite>> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        principal(ctx).member()?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let page = state(ctx).store.pending_invites(tenant_id, request).await?;
        try_connection(page, request, |i| i.id, Invite::new)
    }

    /// The tenant's API keys (owners and admins).
    #[graphql(
        guard = "AccessGuard(Access::Administer)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
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
    #[graphql(
        guard = "AccessGuard(Access::Administer)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
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
    let token =
        state
            .tokens
            .issue_session(user.id, tenant_id, role, user.session_version, issued_at)?;
    let expires_at = issued_at
        + chrono::Duration::from_std(state.config.jwt_ttl).unwrap_or(chrono::Duration::hours(12));
    Ok(AuthPayload {
        token,
        expires_at,
        user: user.into(),
        tenant: Tenant(state.store.tenant(TenantId(tenant_id)).await?),
        role: role.into(),
    })
}

#[Object]
impl AccountMutation {
    /// Creates a tenant and its owner, and signs the owner in. The address starts unverified: a
    /// one-time token is mailed to it for `verifyEmail`. Until then the account can use only
    /// this tenant. An address that already has an account (verified or not) is CONFLICT.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
    ) -> async_graphql::Result<AuthPayload> {
        if let Some(ip) = ctx.data_opt::<crate::auth::ClientIp>() {
            state(ctx)
                .limits
                .signup
                .check(&crate::limit::ip_key(ip.0))
                .await?;
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
        state(ctx).jobs.wake().await;
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
        // Before any password is hashed, so a refused attempt costs nothing.
        let ip = ctx.data_opt::<crate::auth::ClientIp>().map(|ip| ip.0);
        state(ctx).limits.check_login(ip, &input.email).await?;
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
        let memberships = store.memberships_of(UserId(user.id)).await?;
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

    /// Redeems an invite code (mailed to the invited address) and signs the new member in.
    /// Accepting proves the address. With no account there, one is created with `password`. An
    /// existing account joins when `password` is its password. An unverified account whose
    /// password does not match was squatting on the address: the acceptor takes it over (new
    /// password, its sessions revoked, the memberships it gained removed). A verified account
    /// with a wrong password is UNAUTHENTICATED: its password is never overwritten.
    async fn accept_invite(
        &self,
        ctx: &Context<'_>,
        input: AcceptInviteInput,
    ) -> async_graphql::Result<AuthPayload> {
        let store = &state(ctx).store;
        check_password_policy(&input.password).map_err(|e| ApiError::invalid("password", e))?;
        let name = clean_text(input.name, "name", 120)?;
        let code_hash = sha256_hex(input.code.trim());
        let (invite, holder) = store
            .pending_invite(&code_hash)
            .await?
            .ok_or(ApiError::NotFound("invite"))?;
        // The plan may have shrunk since the invite was sent: only members hold a seat here
        // (this invite is one of the pending ones).
        let invited_to = leadline_domain::ids::TenantId(invite.tenant_id);
        let (members, _) = store.seats_taken(invited_to).await?;
        crate::services::billing::require_seat(state(ctx), invited_to, members).await?;
        // Passwords are checked here, outside the transaction (Argon2 is slow); the store
        // re-checks that the account did not change before it applies the plan.
        let plan = match holder {
            None => AcceptPlan::Create {
                password_hash: hash_password(input.password).await?,
            },
            Some(user) => {
                let matches =
                    verify_password(input.password.clone(), user.password_hash.clone()).await;
                if matches {
                    AcceptPlan::Join {
                        user_id: UserId(user.id),
                    }
                } else if user.email_verified_at.is_some() {
                    return Err(ApiError::Unauthenticated(
                        "this address already has an account; accept with its password".into(),
                    )
                    .into());
                } else {
                    AcceptPlan::TakeOver {
                        user_id: UserId(user.id),
                        previous_hash: user.password_hash,
                        password_hash: hash_password(input.password).await?,
                    }
                }
            }
        };
        let accepted = store.accept_invite(&code_hash, plan, name).await?;
        if !accepted.removed_memberships.is_empty() {
            tracing::warn!(
                user = %accepted.user.id,
                removed = accepted.removed_memberships.len(),
                "an unverified account's address was claimed by its owner; its sessions are revoked"
            );
        }
        let role = leadline_domain::tenant::Role::parse(&accepted.role)
            .map_err(|e| ApiError::Internal(e.into()))?;
        session(ctx, accepted.user, accepted.tenant_id, role).await
    }

    /// Proves the account's e-mail address with the one-time token mailed to it. A wrong, used
    /// or expired token is BAD_USER_INPUT (field `token`) with a message saying which.
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        input: VerifyEmailInput,
    ) -> async_graphql::Result<VerifyEmailPayload> {
        let token = input.token.trim();
        if token.is_empty() || token.len() > 200 {
            return Err(
                ApiError::bad_input("token", "this verification token is not valid").into(),
            );
        }
        let user = state(ctx).store.verify_email(&sha256_hex(token)).await?;
        Ok(VerifyEmailPayload { user: user.into() })
    }

    /// Mails a new verification token to the signed-in member's address (earlier ones stop
    /// working). At most three verification mails per hour; an already verified address is
    /// CONFLICT.
    async fn resend_verification_email(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<ResendVerificationEmailPayload> {
        let (user_id, tenant_id, _) = principal(ctx).member()?;
        let state = state(ctx);
        let user = state
            .store
            .user(UserId(user_id))
            .await?
            .ok_or(ApiError::Unauthenticated("unknown user".into()))?;
        if user.email_verified_at.is_some() {
            return Err(ApiError::Conflict("this address is already verified".into()).into());
        }
        let window = chrono::Duration::hours(1);
        let at = now();
        let recent = state
            .store
            .verification_requests_since(UserId(user_id), at - window)
            .await?;
        if recent.len() >= VERIFICATION_MAILS_PER_HOUR {
            let oldest = recent.first().copied().unwrap_or(at);
            let retry_after_secs = u64::try_from((oldest + window - at).num_seconds())
                .unwrap_or(0)
                .max(1);
            return Err(ApiError::RateLimited { retry_after_secs }.into());
        }
        state
            .store
            .request_verification(tenant_id, UserId(user_id))
            .await?;
        state.jobs.wake().await;
        Ok(ResendVerificationEmailPayload { email: user.email })
    }

    /// Changes tenant settings (owners and admins). Audited.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn update_tenant_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateTenantSettingsInput,
    ) -> async_graphql::Result<UpdateTenantSettingsPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        // The dealership AI phone agent (issue 15).
        let phone_agent = super::phone_agent::settings_changes(
            input.twilio_phone_number,
            input.elevenlabs_inbound_agent_id,
            input.elevenlabs_outbound_agent_id,
            input.dealership_name,
            input.business_hours,
            input.appointment_slot_minutes,
            input.appointments_per_slot,
        )?;
        let was_running = match input.agent_running {
            Some(_) => Some(state(ctx).store.tenant(tenant_id).await?.agent_running),
            None => None,
        };
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
            time_zone: super::leads::optional_time_zone(input.time_zone)?,
            nurture_schedule: input
                .nurture_schedule
                .map(|n| {
                    leadline_domain::nurture::NurtureSchedule::new(
                        n.followup1_hours.into(),
                        n.followup2_hours.into(),
                        n.long_term_days.into(),
                        n.enabled,
                    )
                    .map_err(|e| match &e {
                        leadline_domain::DomainError::OutOfRange { field, .. } => {
                            ApiError::invalid(&format!("nurtureSchedule.{field}"), e.clone())
                        }
                        _ => ApiError::invalid("nurtureSchedule", e),
                    })
                })
                .transpose()?,
            call_minute_rate_micros: match input.call_minute_rate_micros {
                Some(rate) if !(0..=10_000_000).contains(&rate) => {
                    return Err(ApiError::bad_input(
                        "callMinuteRateMicros",
                        "must be between 0 and 10,000,000",
                    )
                    .into())
                }
                other => other,
            },
            ..phone_agent
        };
        let tenant = state(ctx)
            .store
            .update_tenant_settings(tenant_id, principal(ctx).actor(), changes)
            .await?;
        // Starting or stopping the phone agent is streamed (`phoneAgentStatus`) after it commits.
        if was_running.is_some_and(|before| before != tenant.agent_running) {
            state(ctx).bus.publish(
                tenant_id,
                crate::bus::Event::PhoneAgentStatus {
                    running: tenant.agent_running,
                    changed_by: principal(ctx).actor().user_id,
                    at: tenant.updated_at,
                },
            );
        }
        Ok(UpdateTenantSettingsPayload {
            tenant: Tenant(tenant),
        })
    }

    /// Invites a person (owners and admins; only owners invite owners). Audited. The one-time
    /// code is mailed to the address and never returned here; nobody becomes a member until it
    /// is accepted. Inviting the same address again replaces the pending invite (the old code
    /// stops working); inviting a member is CONFLICT.
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
        // Seats (issue 16): members and pending invites both hold one.
        let (members, pending) = state(ctx).store.seats_taken(tenant_id).await?;
        crate::services::billing::require_seat(state(ctx), tenant_id, members + pending).await?;
        let expires_at = now() + chrono::Duration::days(INVITE_VALID_DAYS);
        let invite = state(ctx)
            .store
            .invite_member(
                tenant_id,
                principal(ctx).actor(),
                InviteRequest {
                    email: &email,
                    role,
                    expires_at,
                },
            )
            .await?;
        state(ctx).jobs.wake().await;
        Ok(InviteMemberPayload {
            invite: Invite::new(invite)?,
        })
    }

    /// Revokes a pending invite (owners and admins): its code stops working. Audited.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn revoke_invite(
        &self,
        ctx: &Context<'_>,
        input: RevokeInviteInput,
    ) -> async_graphql::Result<RevokeInvitePayload> {
        let (_, tenant_id, _) = principal(ctx).member()?;
        let id = parse_id(&input.id, "id")?;
        let invite = state(ctx)
            .store
            .revoke_invite(tenant_id, principal(ctx).actor(), id)
            .await?;
        Ok(RevokeInvitePayload {
            invite: Invite::new(invite)?,
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
        let member: UserId = parse_id(&input.user_id, "userId")?;
        let (membership, user) = state(ctx)
            .store
            .update_member_role(
                tenant_id,
                principal(ctx).actor(),
                acting_role,
                member,
                input.role.into(),
            )
            .await?;
        state(ctx).bus.access_changed(
            tenant_id,
            crate::bus::AccessSubject::Member {
                user_id: member.uuid(),
            },
        );
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
        let member: UserId = parse_id(&input.user_id, "userId")?;
        state(ctx)
            .store
            .remove_member(tenant_id, principal(ctx).actor(), acting_role, member)
            .await?;
        state(ctx).bus.access_changed(
            tenant_id,
            crate::bus::AccessSubject::Member {
                user_id: member.uuid(),
            },
        );
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
        let key_id: ApiKeyId = parse_id(&input.id, "id")?;
        let key = state(ctx)
            .store
            .revoke_api_key(tenant_id, principal(ctx).actor(), key_id)
            .await?;
        state(ctx).bus.access_changed(
            tenant_id,
            crate::bus::AccessSubject::ApiKey {
                key_id: key_id.uuid(),
            },
        );
        Ok(RevokeApiKeyPayload {
            api_key: key.into(),
        })
    }
}
