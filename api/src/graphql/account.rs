//! Accounts and access: sign-up, e-mail verification, login, invitations (the code goes only
//! by e-mail to the invitee, never back to the inviter), members and roles, API keys, tenant
//! settings and the audit log.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use leadline_domain::ids::TenantId;
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
    /// The one-time code from the invite e-mail.
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
    /// IANA time zone for calling hours when a recipient's own is unknown (empty: UTC). The
    /// phone agent books appointments in it too.
    pub time_zone: Option<String>,
    // The dealership AI phone agent (issue 15).
    /// The Twilio number (E.164) whose calls the agent answers; unique across tenants, since it
    /// routes each incoming call to its dealership (empty clears it).
    pub twilio_phone_number: Option<String>,
    /// The ElevenLabs agent that answers incoming calls (`ulaw_8000` in and out, with the
    /// `schedule_appointment` and `transfer_to_human` client tools; empty clears it).
    pub elevenlabs_inbound_agent_id: Option<String>,
    /// The ElevenLabs agent for outbound calls (empty clears it).
    pub elevenlabs_outbound_agent_id: Option<String>,
    /// The dealership's name as the agent says it (empty: the tenant's name).
    pub dealership_name: Option<String>,
    /// The open days, local time in `timeZone` (an empty list: back to Mon–Fri 09–18, Sat
    /// 09–14). Appointments are booked only inside them.
    pub business_hours: Option<Vec<super::phone_agent::BusinessDayInput>>,
    /// Minutes per appointment slot, 5–240 (slots start at each day's opening time).
    pub appointment_slot_minutes: Option<i32>,
    /// Appointments one slot may hold, 1–50.
    pub appointments_per_slot: Option<i32>,
    /// Lead nurture: when follow-ups go to silent AI leads, and whether they do (replaces the
    /// whole schedule; omitted hours take their defaults).
    pub nurture_schedule: Option<NurtureScheduleInput>,
    /// Micro-USD per billed telephony minute (0 to 10,000,000), for cost per lead in
    /// `callAnalytics`; 0 means not configured.
    pub call_minute_rate_micros: Option<i64>,
}

/// A nurture schedule (`updateTenantSettings.nurtureSchedule`).
#[derive(InputObject)]
pub struct NurtureScheduleInput {
    /// Hours after enrolment of FOLLOWUP_1 (1–720).
    #[graphql(default = 24)]
    pub followup1_hours: i32,
    /// Hours after enrolment of FOLLOWUP_2 (after FOLLOWUP_1, at most 2,160).
    #[graphql(default = 72)]
    pub followup2_hours: i32,
    /// Days between LONG_TERM check-ins (1–365).
    #[graphql(default = 30)]
    pub long_term_days: i32,
    /// Whether new AI leads with a phone or an e-mail are enrolled.
    pub enabled: bool,
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
    /// E-mail of the person to invite; the one-time code is mailed there.
    pub email: String,
    /// Their role once they accept.
    pub role: Role,
}

/// A pending invitation. Its code is never shown: it goes only to the invited address.
#[derive(SimpleObject)]
pub struct Invite {
    /// The invite id.
    pub id: ID,
    /// The invited address.
    pub email: String,
    /// The role the invitee gets on accepting.
    pub role: Role,
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
    /// When the invite was sent.
    pub created_at: DateTime<Utc>,
}

impl Invite {
    fn new(invite: leadline_entity::invites::Model) -> async_graphql::Result<Self> {
        Ok(Self {
            id: ID(invite.id.to_string()),
            role: Role::from_stored(&invite.role)?,
            email: invite.email,
            expires_at: invite.expires_at,
            created_at: invite.created_at,
        })
    }
}

/// Result of `inviteMember`.
#[derive(SimpleObject)]
pub struct InviteMemberPayload {
    /// The invite. Nobody is a member until the invitee accepts with the mailed code.
    pub invite: Invite,
}

/// Input of `revokeInvite`.
#[derive(InputObject)]
pub struct RevokeInviteInput {
    /// The invite id.
    pub id: ID,
}

/// Result of `revokeInvite`.
#[derive(SimpleObject)]
pub struct RevokeInvitePayload {
    /// The invite, now revoked: its code no longer works.
    pub invite: Invite,
}

/// Input of `verifyEmail`.
#[derive(InputObject)]
pub struct VerifyEmailInput {
    /// The one-time token from the verification e-mail.
    pub token: String,
}

/// Result of `verifyEmail`.
#[derive(SimpleObject)]
pub struct VerifyEmailPayload {
    /// The account, now verified.
    pub user: User,
}

/// Result of `resendVerificationEmail`.
#[derive(SimpleObject)]
pub struct ResendVerificationEmailPayload {
    /// The address the new token is mailed to (earlier tokens stop working).
    pub email: String,
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
        let (_, holder) = store
            .pending_invite(&code_hash)
            .await?
            .ok_or(ApiError::NotFound("invite"))?;
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
                    AcceptPlan::Join { user_id: user.id }
                } else if user.email_verified_at.is_some() {
                    return Err(ApiError::Unauthenticated(
                        "this address already has an account; accept with its password".into(),
                    )
                    .into());
                } else {
                    AcceptPlan::TakeOver {
                        user_id: user.id,
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
            .user(user_id)
            .await?
            .ok_or(ApiError::Unauthenticated("unknown user".into()))?;
        if user.email_verified_at.is_some() {
            return Err(ApiError::Conflict("this address is already verified".into()).into());
        }
        let window = chrono::Duration::hours(1);
        let at = now();
        let recent = state
            .store
            .verification_requests_since(user_id, at - window)
            .await?;
        if recent.len() >= VERIFICATION_MAILS_PER_HOUR {
            let oldest = recent.first().copied().unwrap_or(at);
            let retry_after_secs = u64::try_from((oldest + window - at).num_seconds())
                .unwrap_or(0)
                .max(1);
            return Err(ApiError::RateLimited { retry_after_secs }.into());
        }
        state.store.request_verification(tenant_id, user_id).await?;
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
        state(ctx)
            .bus
            .access_changed(tenant_id, crate::bus::AccessSubject::Member { user_id });
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
        state(ctx)
            .bus
            .access_changed(tenant_id, crate::bus::AccessSubject::Member { user_id });
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
        state(ctx)
            .bus
            .access_changed(tenant_id, crate::bus::AccessSubject::ApiKey { key_id: id });
        Ok(RevokeApiKeyPayload {
            api_key: key.into(),
        })
    }
}
