//! The inputs, payloads and objects of the account operations (sign-up, login, invitations,
//! members, API keys, tenant settings).
//!
//! Must not: hold resolver logic (`graphql::account` does).

use super::*;

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
    pub business_hours: Option<Vec<crate::graphql::phone_agent::BusinessDayInput>>,
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
    pub(super) fn new(invite: leadline_entity::invites::Model) -> async_graphql::Result<Self> {
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
