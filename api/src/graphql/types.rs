//! GraphQL output types and enums. Database rows are wrapped, never exposed as they are: each
//! field below is a deliberate part of the public API (CONVENTIONS.md).

use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use leadline_domain as domain;
use leadline_entity as entity;

use super::{connection, state, tenant_for, IdConnection};
use crate::auth::Access;
use crate::store::PageRequest;

/// Declares a GraphQL enum that mirrors a domain enum one to one: the one way a domain state
/// or kind reaches the schema. The GraphQL names and docs are given here (they are the public
/// API); the stored names are the domain's (`as_str`/`parse`), read through
/// [`crate::store::Stored`], so an unknown stored value is a logged INTERNAL error, never a
/// default.
macro_rules! mirror_enum {
    (
        $(#[$doc:meta])*
        $name:ident => $domain:ty { $($(#[$vdoc:meta])* $variant:ident),* $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => <$domain>::$variant),* }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => $name::$variant),* }
            }
        }

        impl $name {
            /// Reads the stored name; an unknown stored value is a bug, logged and reported
            /// as INTERNAL.
            pub fn from_stored(value: &str) -> async_graphql::Result<Self> {
                <$domain as crate::store::Stored>::stored(value)
                    .map(Self::from)
                    .map_err(Into::into)
            }
        }
    };
}
pub(crate) use mirror_enum;

mirror_enum!(
    /// A channel a tenant can connect.
    Channel => domain::channel::Channel { Whatsapp, Instagram, Facebook, Tiktok, Youtube, Twitch, WebChat, Twilio, Livekit }
);
mirror_enum!(
    /// A member's role: OWNER and ADMIN manage the tenant, AGENT works leads and conversations, VIEWER reads.
    Role => domain::tenant::Role { Owner, Admin, Agent, Viewer }
);
mirror_enum!(
    /// What an API key may do: READ; WRITE (which implies read and CALLS); or CALLS, which only
    /// reports on calls (`appendCallTranscript`, `recordCallOutcome`): the voice agent's key.
    /// Keys never administer.
    ApiKeyScope => domain::tenant::ApiKeyScope { Read, Write, Calls }
);
mirror_enum!(
    /// What a lead said about being called: GRANTED, REVOKED (final: never called), UNKNOWN.
    CallConsent => domain::compliance::Consent { Granted, Revoked, Unknown }
);
mirror_enum!(
    /// Where a lead stands in the pipeline.
    LeadStatus => domain::lead::LeadStatus { New, Contacted, Nurture, ClosedWon, ClosedLost }
);
mirror_enum!(
    /// How close a lead is to buying (from the score).
    Temperature => domain::lead::Temperature { Cold, Warm, Hot, VeryHot }
);
mirror_enum!(
    /// How AI replies should sound.
    ResponseStyle => domain::analysis::ResponseStyle { Concise, Friendly, Professional, Detailed }
);

mirror_enum!(
    /// Whether a channel connection is in use.
    ConnectionStatus => domain::channel::ConnectionStatus {
        /// Receiving webhooks and sending.
        Connected,
        /// Kept but switched off: webhooks are refused.
        Disconnected,
        /// The platform rejected our credentials; fix them to reconnect.
        Error,
    }
);

/// Which AI provider answers for the tenant.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AiProvider {
    /// The built-in offline analyzer: no key, no network.
    Offline,
    /// Anthropic's Messages API (needs ANTHROPIC_API_KEY).
    Anthropic,
    /// OpenAI's Chat Completions API (needs OPENAI_API_KEY).
    Openai,
}

impl AiProvider {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AiProvider::Offline => "OFFLINE",
            AiProvider::Anthropic => "ANTHROPIC",
            AiProvider::Openai => "OPENAI",
        }
    }

    /// The stored name back; an unknown one is a bug, logged and INTERNAL, never shown as
    /// OFFLINE (which would hide that the tenant's setting is broken).
    fn from_stored(value: &str) -> async_graphql::Result<Self> {
        [
            AiProvider::Offline,
            AiProvider::Anthropic,
            AiProvider::Openai,
        ]
        .into_iter()
        .find(|provider| provider.as_str() == value)
        .ok_or_else(|| {
            tracing::error!(stored = value, "unknown stored AI provider");
            crate::error::ApiError::Internal(anyhow::anyhow!(
                "unknown stored AI provider `{value}`"
            ))
            .into()
        })
    }
}

/// An amount of money: integer micros (1/1,000,000 of the major unit) and an ISO-4217 code.
#[derive(SimpleObject, Clone, Debug)]
pub struct Money {
    /// The amount in micros: 19.99 USD is 19990000.
    pub amount_micros: i64,
    /// ISO-4217 code, upper-case.
    pub currency_code: String,
    /// The amount as people read it, e.g. "19.99 USD" (what replies quote).
    pub formatted: String,
}

impl Money {
    /// From stored parts; an invalid stored currency still shows the raw values.
    pub fn from_parts(amount_micros: i64, currency: &str) -> Self {
        let formatted = domain::money::Money::parse(amount_micros, currency)
            .map(|m| m.display())
            .unwrap_or_else(|_| format!("{amount_micros} micros {currency}"));
        Self {
            amount_micros,
            currency_code: currency.to_owned(),
            formatted,
        }
    }
}

/// A person who can sign in.
#[derive(SimpleObject)]
pub struct User {
    /// The user id.
    pub id: ID,
    /// Login e-mail (lower-case).
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Whether the address is proven (`verifyEmail`, or an accepted invite). An unverified
    /// account can use only the tenant it created itself.
    pub email_verified: bool,
}

impl From<entity::users::Model> for User {
    fn from(user: entity::users::Model) -> Self {
        Self {
            email_verified: user.email_verified_at.is_some(),
            id: ID(user.id.to_string()),
            email: user.email,
            name: user.name,
        }
    }
}

/// A user's membership in the tenant.
#[derive(SimpleObject)]
pub struct Member {
    /// The person.
    pub user: User,
    /// Their role here.
    pub role: Role,
    /// Whether the person can sign in (always true since memberships exist only after an
    /// invite is accepted; kept for clients that read it).
    pub active: bool,
    /// When they joined or were invited.
    pub joined_at: DateTime<Utc>,
}

impl Member {
    /// From the membership row and its user.
    pub fn new(
        membership: entity::memberships::Model,
        user: entity::users::Model,
    ) -> async_graphql::Result<Self> {
        Ok(Self {
            role: Role::from_stored(&membership.role)?,
            active: user.password_hash.is_some(),
            joined_at: membership.created_at,
            user: user.into(),
        })
    }
}

/// An API key (its secret is only ever shown by `createApiKey`).
#[derive(SimpleObject)]
pub struct ApiKey {
    /// The key id.
    pub id: ID,
    /// What the key is for.
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    /// What it may do.
    pub scopes: Vec<ApiKeyScope>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<entity::api_keys::Model> for ApiKey {
    fn from(key: entity::api_keys::Model) -> Self {
        Self {
            id: ID(key.id.to_string()),
            name: key.name,
            prefix: key.prefix,
            scopes: key
                .scopes
                .split(',')
                .filter_map(|s| domain::tenant::ApiKeyScope::parse(s).ok())
                .map(Into::into)
                .collect(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// A tenant's connection to a channel. Secrets and tokens are write-only: only whether each
/// is set is visible.
#[derive(SimpleObject)]
pub struct ChannelConnection {
    /// The connection id.
    pub id: ID,
    /// The channel.
    pub channel: Channel,
    /// Whether it is in use.
    pub status: ConnectionStatus,
    /// Whether the AI answers on this channel.
    pub ai_enabled: bool,
    /// The platform's id for the tenant's account (WhatsApp phone number id, page id, …).
    pub external_account_id: Option<String>,
    /// Whether a webhook verify token is set.
    pub has_verify_token: bool,
    /// Whether an app secret (webhook signing) is set.
    pub has_app_secret: bool,
    /// Whether a client secret is set.
    pub has_client_secret: bool,
    /// Whether an access token is set.
    pub has_access_token: bool,
    /// TikTok: also accept the legacy `X-Tiktok-Signature` scheme.
    pub legacy_signature: bool,
    /// The account id webhooks name when it differs from `externalAccountId` (TikTok's
    /// `user_openid`, a WhatsApp Business Account id).
    pub webhook_account_id: Option<String>,
    /// The webhook path the platform should call.
    pub webhook_path: Option<String>,
    /// WhatsApp: the approved template sent outside the 24 h window (none: such sends are
    /// blocked).
    pub whatsapp_template: Option<WhatsAppTemplateSetting>,
    /// YouTube: whether your own Data API key is set.
    pub has_api_key: bool,
    /// YouTube: the Google project your own credentials belong to.
    pub project_name: Option<String>,
    /// Twitch: the login of your own bot account.
    pub bot_login: Option<String>,
    /// Twitch: your app's client id.
    pub client_id: Option<String>,
    /// TikTok: whether your own LIVE wrapper token is set.
    pub has_live_access_token: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An approved WhatsApp message template of a connection.
#[derive(SimpleObject)]
#[graphql(name = "WhatsAppTemplate")]
pub struct WhatsAppTemplateSetting {
    /// The template's name as approved in WhatsApp Business Manager.
    pub name: String,
    /// The translation sent, e.g. `en_US`.
    pub language_code: String,
}

impl ChannelConnection {
    /// From the row; `tenant_slug` completes the webhook path.
    pub fn new(
        row: entity::channel_connections::Model,
        tenant_slug: &str,
    ) -> async_graphql::Result<Self> {
        let channel = Channel::from_stored(&row.channel)?;
        let webhook_path = match channel {
            Channel::Whatsapp => Some("whatsapp"),
            Channel::Instagram => Some("instagram"),
            Channel::Facebook => Some("facebook"),
            Channel::Tiktok => Some("tiktok"),
            _ => None,
        }
        .map(|platform| format!("/api/webhook/{platform}/{tenant_slug}"));
        let live = crate::store::live_connection_settings(&row.settings);
        Ok(Self {
            id: ID(row.id.to_string()),
            channel,
            has_api_key: row.api_key.is_some(),
            project_name: live.youtube_project,
            bot_login: live.twitch_bot_login,
            client_id: live.twitch_client_id,
            has_live_access_token: row.live_access_token.is_some(),
            status: ConnectionStatus::from_stored(&row.status)?,
            ai_enabled: row.ai_enabled,
            external_account_id: row.external_account_id,
            has_verify_token: row.verify_token.is_some(),
            has_app_secret: row.app_secret.is_some(),
            has_client_secret: row.client_secret.is_some(),
            has_access_token: row.access_token.is_some(),
            legacy_signature: row.legacy_signature,
            webhook_account_id: crate::store::webhook_account_id(&row.settings),
            webhook_path,
            whatsapp_template: crate::store::whatsapp_template(&row.settings).map(|t| {
                WhatsAppTemplateSetting {
                    name: t.name,
                    language_code: t.language_code,
                }
            }),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Opening hours for one day of the week.
#[derive(SimpleObject, serde::Serialize, serde::Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BusinessHours {
    /// 1 = Monday … 7 = Sunday (ISO-8601).
    pub day_of_week: i32,
    /// Opening time, "HH:MM" (24 h, the tenant's time zone).
    pub opens_at: String,
    /// Closing time, "HH:MM".
    pub closes_at: String,
}

/// The tenant's AI settings.
pub struct AiContext(pub entity::ai_contexts::Model);

#[Object]
impl AiContext {
    /// Extra instructions given to the AI before every conversation.
    async fn system_prompt(&self) -> Option<&str> {
        self.0.system_prompt.as_deref()
    }
    /// Opening hours per weekday (empty: always open).
    async fn business_hours(&self) -> Vec<BusinessHours> {
        serde_json::from_value(self.0.business_hours.clone()).unwrap_or_default()
    }
    /// IANA time zone of the business hours, e.g. "America/Mexico_City".
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    /// How replies should sound.
    async fn response_style(&self) -> async_graphql::Result<ResponseStyle> {
        ResponseStyle::from_stored(&self.0.response_style)
    }
    /// Sampling temperature for LLM providers (0–2).
    async fn temperature(&self) -> f64 {
        self.0.temperature
    }
    /// Token budget for one LLM reply.
    async fn max_tokens(&self) -> i32 {
        self.0.max_tokens
    }
    /// Words or phrases that hand the conversation to a human.
    async fn escalation_keywords(&self) -> Vec<String> {
        serde_json::from_value(self.0.escalation_keywords.clone()).unwrap_or_default()
    }
    /// Hand over after this many AI replies without resolution (null: never by count).
    async fn auto_escalate_after_messages(&self) -> Option<i32> {
        self.0.auto_escalate_after_messages
    }
    /// Which provider answers.
    async fn provider(&self) -> async_graphql::Result<AiProvider> {
        AiProvider::from_stored(&self.0.provider)
    }
    /// The provider's model name (null: the provider's default).
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A product of the catalog.
pub struct Product(pub entity::products::Model);

#[Object]
impl Product {
    /// The product id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name, as customers say it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Description the AI may quote.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Price.
    async fn price(&self) -> Money {
        Money::from_parts(self.0.price_micros, &self.0.currency)
    }
    /// Where to buy it; replies quote this link verbatim.
    async fn purchase_link(&self) -> Option<&str> {
        self.0.purchase_link.as_deref()
    }
    /// Extra words customers use for it (helps matching).
    async fn keywords(&self) -> Vec<String> {
        serde_json::from_value(self.0.keywords.clone()).unwrap_or_default()
    }
    /// Whether the AI may offer it.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A lead: a prospective buyer.
#[derive(Clone)]
pub struct Lead(pub entity::leads::Model);

#[Object]
impl Lead {
    /// The lead id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name (from the channel profile when created by a message).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// E-mail address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Phone number in E.164.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Company.
    async fn company(&self) -> Option<&str> {
        self.0.company.as_deref()
    }
    /// Pipeline status.
    async fn status(&self) -> async_graphql::Result<LeadStatus> {
        LeadStatus::from_stored(&self.0.status)
    }
    /// Score 0–100.
    async fn score(&self) -> i32 {
        self.0.score
    }
    /// Temperature derived from the score.
    async fn temperature(&self) -> async_graphql::Result<Temperature> {
        Temperature::from_stored(&self.0.temperature)
    }
    /// The channel the lead first came from.
    async fn source_channel(&self) -> Option<Channel> {
        self.0
            .source_channel
            .as_deref()
            .and_then(|c| Channel::from_stored(c).ok())
    }
    /// Who handles the lead, allocated when it was created at the tenant's `aiLeadPercentage`:
    /// AI, or HUMAN — the sales team's queue (`leads(filter: {handledBy: HUMAN})`); a HUMAN
    /// lead's conversations open handled by a person and the AI stays silent there.
    async fn handled_by(&self) -> async_graphql::Result<Handler> {
        Handler::from_stored(&self.0.handler)
    }
    /// What the lead said about being called (GRANTED, REVOKED, UNKNOWN): REVOKED blocks every
    /// call; UNKNOWN blocks them when the tenant's call policy requires consent.
    async fn call_consent(&self) -> async_graphql::Result<CallConsent> {
        CallConsent::from_stored(&self.0.call_consent)
    }
    /// When the call consent was last recorded.
    async fn call_consent_at(&self) -> Option<DateTime<Utc>> {
        self.0.call_consent_at
    }
    /// The lead's IANA time zone, a hint for calling hours.
    async fn time_zone(&self) -> Option<&str> {
        self.0.time_zone.as_deref()
    }
    /// Free-form notes.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// When the lead was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the lead last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// How the lead is known on each channel (and in external CRMs).
    async fn identities(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LeadIdentity>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let rows = state(ctx)
            .store
            .lead_identities(tenant_id, self.0.id)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| LeadIdentity {
                channel: r.channel,
                external_id: r.external_id,
                display_name: r.display_name,
                created_at: r.created_at,
            })
            .collect())
    }
    /// Every score change with its reason, newest first.
    #[graphql(complexity = "crate::graphql::cost::connection_cost(first, child_complexity)")]
    async fn score_history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<LeadScoreEvent>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let page_request = PageRequest::parse(first, after.as_deref())?;
        let page = state(ctx)
            .store
            .score_history(tenant_id, self.0.id, page_request)
            .await?;
        connection(page, page_request, |e| e.id, LeadScoreEvent::from)
    }
}

/// How a lead is known on one channel.
#[derive(SimpleObject)]
pub struct LeadIdentity {
    /// Channel name, or EXTERNAL for a third-party CRM reference.
    pub channel: String,
    /// The platform's id for the person (phone, PSID, open_id, `system:ref` for CRMs).
    pub external_id: String,
    /// The name the platform showed.
    pub display_name: Option<String>,
    /// When it was first seen.
    pub created_at: DateTime<Utc>,
}

/// One change of a lead's score.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct LeadScoreEvent {
    /// The event id.
    pub id: ID,
    /// The change requested.
    pub delta: i32,
    /// The signal behind it (e.g. "interested", "manual").
    pub signal: String,
    /// Why, in words.
    pub reason: String,
    /// Score before.
    pub score_before: i32,
    /// Score after (clamped to 0–100).
    pub score_after: i32,
    /// When it happened.
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub temperature_after: String,
}

#[ComplexObject]
impl LeadScoreEvent {
    /// Temperature after the change.
    async fn temperature_after(&self) -> async_graphql::Result<Temperature> {
        Temperature::from_stored(&self.temperature_after)
    }
}

impl From<entity::lead_score_events::Model> for LeadScoreEvent {
    fn from(e: entity::lead_score_events::Model) -> Self {
        Self {
            id: ID(e.id.to_string()),
            delta: e.delta,
            signal: e.signal,
            reason: e.reason,
            score_before: e.score_before,
            score_after: e.score_after,
            created_at: e.created_at,
            temperature_after: e.temperature_after,
        }
    }
}

/// One audited change.
#[derive(SimpleObject)]
pub struct AuditEntry {
    /// The entry id.
    pub id: ID,
    /// What happened, e.g. "member.invited".
    pub action: String,
    /// What kind of thing changed.
    pub target_type: String,
    /// Which one.
    pub target_id: Option<String>,
    /// The member who did it.
    pub actor_user_id: Option<ID>,
    /// The API key that did it.
    pub actor_api_key_id: Option<ID>,
    /// What changed (secrets are named, never shown).
    pub details: async_graphql::Json<serde_json::Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<entity::audit_log::Model> for AuditEntry {
    fn from(e: entity::audit_log::Model) -> Self {
        Self {
            id: ID(e.id.to_string()),
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            actor_user_id: e.actor_user_id.map(|u| ID(u.to_string())),
            actor_api_key_id: e.actor_api_key_id.map(|u| ID(u.to_string())),
            details: async_graphql::Json(e.details),
            created_at: e.created_at,
        }
    }
}

mirror_enum!(
    /// Who answers a conversation.
    Handler => leadline_domain::conversation::Handler {
        /// AI replies are sent automatically.
        Ai,
        /// A human agent answers; the AI stays silent there.
        Human,
    }
);

mod tenant;
pub use tenant::*;
