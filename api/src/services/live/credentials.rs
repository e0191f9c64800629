//! Which platform credentials a live session uses, and so whose budgets it spends.
//!
//! A tenant may connect its own YouTube, Twitch and TikTok LIVE credentials as channel
//! connections (`upsertChannelConnection`); a session uses them in preference to the operator's
//! shared ones (`YOUTUBE_*`, `TWITCH_*`, `TIKTOK_LIVE_ACCESS_TOKEN`). The operator's are used only
//! while `LEADLINE_SHARED_PLATFORM_CREDENTIALS` is on; when it is off a tenant without its own is
//! refused at `startLiveSession` ([`require_for_start`]) and its readers find no credentials.
//!
//! Every credential carries its [`BudgetScope`]: the operator's bot and project are counted
//! under their own names, shared by every tenant; a tenant's own are counted under
//! `tenant/<id>/<name>`, so a tenant's spend never touches the shared budget and a tenant naming
//! its bot or project like the operator's still gets a counter of its own.
//!
//! This module only chooses; it reads connections through the store's channel-connection
//! functions (which own the secrets) and never logs a secret.

use leadline_domain::channel::{Channel, ConnectionStatus};
use leadline_domain::ids::TenantId;
use leadline_domain::live::LivePlatform;
use leadline_entity::{channel_connections, live_sessions};
use uuid::Uuid;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Whose budget a credential spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetScope {
    /// The operator's shared credentials: one budget for every tenant using them.
    Operator,
    /// A tenant's own credentials: that tenant's budget alone.
    Tenant(Uuid),
}

impl BudgetScope {
    /// The name a budget counter of this scope is kept under for `identity` (a bot login, a
    /// Google project). Tenant names are prefixed, so they never meet the operator's counter.
    pub fn qualify(&self, identity: &str) -> String {
        match self {
            BudgetScope::Operator => identity.to_owned(),
            BudgetScope::Tenant(tenant_id) => format!("tenant/{tenant_id}/{identity}"),
        }
    }
}

/// YouTube credentials for one tenant's sessions.
#[derive(Clone)]
pub struct YoutubeAccess {
    /// What the reader polls with: the OAuth token when there is one, else the API key.
    pub read: leadline_youtube::Credentials,
    /// The OAuth token replies are posted with (none: the agent can read but not reply).
    pub oauth: Option<String>,
    /// The Google project whose quota the calls spend.
    pub project: String,
    /// Whose quota that is.
    pub scope: BudgetScope,
}

impl YoutubeAccess {
    /// The name of the quota counter these credentials spend.
    pub fn quota_owner(&self) -> String {
        self.scope.qualify(&self.project)
    }
}

impl std::fmt::Debug for YoutubeAccess {
    // Hand-written so tokens never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YoutubeAccess")
            .field("project", &self.project)
            .field("scope", &self.scope)
            .field("can_post", &self.oauth.is_some())
            .finish_non_exhaustive()
    }
}

/// Twitch credentials for one tenant's sessions: the bot the agent chats and whispers as.
#[derive(Clone)]
pub struct TwitchAccess {
    /// The bot's login (lower-case).
    pub login: String,
    /// The bot's user token.
    pub token: String,
    /// The app's client id (Helix needs it; without it only IRC chat works).
    pub client_id: Option<String>,
    /// Whose whisper budget the bot's whispers spend.
    pub scope: BudgetScope,
}

impl TwitchAccess {
    /// The Helix credentials (client id + token), when there is a client id.
    pub fn helix(&self) -> Option<leadline_twitch::HelixCredentials> {
        self.client_id
            .as_ref()
            .map(|id| leadline_twitch::HelixCredentials::new(id.clone(), &self.token))
    }

    /// The name of the whisper counter this bot spends.
    pub fn whisper_owner(&self) -> String {
        self.scope.qualify(&self.login)
    }
}

impl std::fmt::Debug for TwitchAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwitchAccess")
            .field("login", &self.login)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The token the TikTok LIVE wrapper expects, and whose it is.
#[derive(Clone)]
pub struct TiktokLiveAccess {
    /// The `Access-Token`.
    pub token: String,
    /// Whose token it is.
    pub scope: BudgetScope,
}

impl std::fmt::Debug for TiktokLiveAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TiktokLiveAccess")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The credentials one session's platform resolved to (only its own platform's are looked up).
#[derive(Debug, Clone, Default)]
pub struct SessionAccess {
    /// For a YouTube session.
    pub youtube: Option<YoutubeAccess>,
    /// For a Twitch session.
    pub twitch: Option<TwitchAccess>,
}

fn filled(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A connection the tenant switched off is not used (nor are its credentials).
fn usable(row: Option<channel_connections::Model>) -> Option<channel_connections::Model> {
    row.filter(|r| r.status != ConnectionStatus::Disconnected.as_str())
}

/// The tenant's own YouTube credentials in its YOUTUBE connection: an OAuth token and/or an API
/// key; the project defaults to `default` (within the tenant's scope).
pub fn own_youtube(row: &channel_connections::Model) -> Option<YoutubeAccess> {
    let oauth = filled(&row.access_token);
    let read = oauth
        .clone()
        .map(leadline_youtube::Credentials::OAuth)
        .or_else(|| filled(&row.api_key).map(leadline_youtube::Credentials::ApiKey))?;
    let settings = crate::store::live_connection_settings(&row.settings);
    Some(YoutubeAccess {
        read,
        oauth,
        project: settings
            .youtube_project
            .unwrap_or_else(|| "default".to_owned()),
        scope: BudgetScope::Tenant(row.tenant_id),
    })
}

/// The tenant's own Twitch bot in its TWITCH connection: a bot login and its token.
pub fn own_twitch(row: &channel_connections::Model) -> Option<TwitchAccess> {
    let settings = crate::store::live_connection_settings(&row.settings);
    Some(TwitchAccess {
        login: settings.twitch_bot_login?.to_ascii_lowercase(),
        token: filled(&row.access_token)?,
        client_id: settings.twitch_client_id,
        scope: BudgetScope::Tenant(row.tenant_id),
    })
}

/// The tenant's own TikTok LIVE token in its TIKTOK connection.
pub fn own_tiktok_live(row: &channel_connections::Model) -> Option<TiktokLiveAccess> {
    Some(TiktokLiveAccess {
        token: filled(&row.live_access_token)?,
        scope: BudgetScope::Tenant(row.tenant_id),
    })
}

/// The operator's YouTube credentials, when shared credentials are on and configured.
pub fn operator_youtube(config: &Config) -> Option<YoutubeAccess> {
    if !config.shared_platform_credentials {
        return None;
    }
    let oauth = config.youtube_access_token.clone();
    let read = oauth
        .clone()
        .map(leadline_youtube::Credentials::OAuth)
        .or_else(|| {
            config
                .youtube_api_key
                .clone()
                .map(leadline_youtube::Credentials::ApiKey)
        })?;
    Some(YoutubeAccess {
        read,
        oauth,
        project: config.youtube_project.clone(),
        scope: BudgetScope::Operator,
    })
}

/// The operator's Twitch bot, when shared credentials are on and configured.
pub fn operator_twitch(config: &Config) -> Option<TwitchAccess> {
    if !config.shared_platform_credentials {
        return None;
    }
    Some(TwitchAccess {
        login: config.twitch_bot_login.clone()?.to_ascii_lowercase(),
        token: config.twitch_access_token.clone()?,
        client_id: config.twitch_client_id.clone(),
        scope: BudgetScope::Operator,
    })
}

/// The operator's TikTok LIVE token, when shared credentials are on and configured.
pub fn operator_tiktok_live(config: &Config) -> Option<TiktokLiveAccess> {
    if !config.shared_platform_credentials {
        return None;
    }
    Some(TiktokLiveAccess {
        token: config.tiktok_live_access_token.clone()?,
        scope: BudgetScope::Operator,
    })
}

async fn connection(
    state: &AppState,
    tenant_id: TenantId,
    channel: Channel,
) -> ApiResult<Option<channel_connections::Model>> {
    Ok(usable(
        state
            .store
            .channel_connection_for(tenant_id, channel)
            .await?,
    ))
}

/// The YouTube credentials the tenant's sessions use: its own, else the operator's (if shared).
pub async fn youtube(state: &AppState, tenant_id: TenantId) -> ApiResult<Option<YoutubeAccess>> {
    let own = connection(state, tenant_id, Channel::Youtube)
        .await?
        .and_then(|row| own_youtube(&row));
    Ok(own.or_else(|| operator_youtube(&state.config)))
}

/// The Twitch bot the tenant's sessions use: its own, else the operator's (if shared).
pub async fn twitch(state: &AppState, tenant_id: TenantId) -> ApiResult<Option<TwitchAccess>> {
    let own = connection(state, tenant_id, Channel::Twitch)
        .await?
        .and_then(|row| own_twitch(&row));
    Ok(own.or_else(|| operator_twitch(&state.config)))
}

/// The TikTok LIVE token the tenant's sessions use: its own, else the operator's (if shared).
pub async fn tiktok_live(
    state: &AppState,
    tenant_id: TenantId,
) -> ApiResult<Option<TiktokLiveAccess>> {
    let own = connection(state, tenant_id, Channel::Tiktok)
        .await?
        .and_then(|row| own_tiktok_live(&row));
    Ok(own.or_else(|| operator_tiktok_live(&state.config)))
}

/// The credentials of `session`'s platform (TikTok's DMs go through the tenant's own TikTok
/// connection already, so nothing is looked up for them here).
pub async fn for_session(
    state: &AppState,
    session: &live_sessions::Model,
) -> ApiResult<SessionAccess> {
    Ok(match crate::store::live::platform_of(session)? {
        LivePlatform::Youtube => SessionAccess {
            youtube: youtube(state, TenantId(session.tenant_id)).await?,
            ..SessionAccess::default()
        },
        LivePlatform::Twitch => SessionAccess {
            twitch: twitch(state, TenantId(session.tenant_id)).await?,
            ..SessionAccess::default()
        },
        LivePlatform::Tiktok => SessionAccess::default(),
    })
}

/// What a tenant must connect to run `platform` sessions without the operator's credentials.
fn what_to_connect(platform: LivePlatform) -> &'static str {
    match platform {
        LivePlatform::Youtube => {
            "connect your own YouTube credentials first: upsertChannelConnection with channel YOUTUBE, accessToken (the OAuth token of the channel the agent posts as) and/or apiKey, and projectName"
        }
        LivePlatform::Twitch => {
            "connect your own Twitch bot first: upsertChannelConnection with channel TWITCH, botLogin, accessToken and clientId"
        }
        LivePlatform::Tiktok => {
            "connect your own TikTok LIVE access first: upsertChannelConnection with channel TIKTOK and liveAccessToken (or start a webhookOnly session)"
        }
    }
}

/// Refuses `startLiveSession` when the operator switched shared credentials off and the tenant
/// has none of its own for `platform` (CONFLICT, naming what to connect: the input is fine, the
/// tenant's setup is what is missing). A webhook-only TikTok session reads nothing with the
/// LIVE wrapper, so it needs no LIVE token. With shared credentials on nothing is refused here:
/// a missing operator credential is reported by the reader (`NO_*_CREDENTIALS`), as before.
pub async fn require_for_start(
    state: &AppState,
    tenant_id: TenantId,
    platform: LivePlatform,
    webhook_only: bool,
) -> ApiResult<()> {
    if state.config.shared_platform_credentials {
        return Ok(());
    }
    let has_own = match platform {
        LivePlatform::Youtube => youtube(state, tenant_id).await?.is_some(),
        LivePlatform::Twitch => twitch(state, tenant_id).await?.is_some(),
        LivePlatform::Tiktok => webhook_only || tiktok_live(state, tenant_id).await?.is_some(),
    };
    if has_own {
        return Ok(());
    }
    Err(ApiError::Conflict(format!(
        "this server does not lend its own {} credentials to tenants: {}",
        platform.as_str(),
        what_to_connect(platform)
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(channel: &str, status: &str) -> channel_connections::Model {
        let at = chrono::Utc::now();
        channel_connections::Model {
            id: Uuid::now_v7(),
            tenant_id: Uuid::from_u128(7),
            channel: channel.into(),
            status: status.into(),
            ai_enabled: true,
            external_account_id: None,
            verify_token: None,
            app_secret: None,
            client_secret: None,
            access_token: None,
            legacy_signature: false,
            api_key: None,
            live_access_token: None,
            settings: json!({}),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_tenants_own_budgets_never_share_a_name_with_the_operators() {
        let tenant = BudgetScope::Tenant(Uuid::from_u128(7));
        assert_eq!(BudgetScope::Operator.qualify("leadbot"), "leadbot");
        assert_eq!(
            tenant.qualify("leadbot"),
            "tenant/00000000-0000-0000-0000-000000000007/leadbot"
        );
        assert_ne!(
            tenant.qualify("leadbot"),
            BudgetScope::Tenant(Uuid::from_u128(8)).qualify("leadbot")
        );
    }

    #[test]
    fn own_credentials_need_their_parts_and_count_in_the_tenants_scope() {
        let mut twitch = row("TWITCH", "CONNECTED");
        assert!(own_twitch(&twitch).is_none(), "nothing set");
        twitch.access_token = Some("tok".into());
        assert!(own_twitch(&twitch).is_none(), "no bot login");
        twitch.settings = json!({"twitchBotLogin": "MyBot", "twitchClientId": "cid"});
        let access = own_twitch(&twitch).expect("complete");
        assert_eq!(access.login, "mybot");
        assert_eq!(access.scope, BudgetScope::Tenant(Uuid::from_u128(7)));
        assert!(access.helix().is_some());
        assert!(access.whisper_owner().starts_with("tenant/"));
        assert!(!format!("{access:?}").contains("tok"), "no token in logs");

        let mut youtube = row("YOUTUBE", "CONNECTED");
        assert!(own_youtube(&youtube).is_none());
        youtube.api_key = Some("key".into());
        let read_only = own_youtube(&youtube).expect("a key reads");
        assert!(read_only.oauth.is_none());
        assert_eq!(read_only.project, "default");
        youtube.access_token = Some("oauth".into());
        youtube.settings = json!({"youtubeProject": "shop-42"});
        let access = own_youtube(&youtube).expect("oauth");
        assert!(matches!(
            access.read,
            leadline_youtube::Credentials::OAuth(_)
        ));
        assert_eq!(
            access.quota_owner(),
            "tenant/00000000-0000-0000-0000-000000000007/shop-42"
        );

        let mut tiktok = row("TIKTOK", "CONNECTED");
        tiktok.access_token = Some("business token, not the LIVE one".into());
        assert!(own_tiktok_live(&tiktok).is_none());
        tiktok.live_access_token = Some(" live ".into());
        assert_eq!(
            own_tiktok_live(&tiktok).map(|a| a.token),
            Some("live".into())
        );
    }

    #[test]
    fn a_switched_off_connection_is_not_used() {
        assert!(usable(Some(row("TWITCH", "DISCONNECTED"))).is_none());
        assert!(usable(Some(row("TWITCH", "CONNECTED"))).is_some());
        assert!(usable(None).is_none());
    }

    #[test]
    fn the_operators_credentials_are_lent_only_while_shared_credentials_are_on(
    ) -> anyhow::Result<()> {
        let env = [
            ("TWITCH_BOT_LOGIN", "LeadBot"),
            ("TWITCH_ACCESS_TOKEN", "op-token"),
            ("YOUTUBE_API_KEY", "op-key"),
            ("YOUTUBE_PROJECT", "op-project"),
            ("TIKTOK_LIVE_ACCESS_TOKEN", "op-live"),
        ];
        let config = |shared: &str| {
            Config::from_lookup(|key| {
                env.iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
                    .or_else(|| {
                        (key == "LEADLINE_SHARED_PLATFORM_CREDENTIALS").then(|| shared.to_owned())
                    })
            })
        };
        let on = config("true")?;
        let bot = operator_twitch(&on).expect("shared bot");
        assert_eq!(
            (bot.login.as_str(), &bot.scope),
            ("leadbot", &BudgetScope::Operator)
        );
        assert!(bot.helix().is_none(), "no client id configured");
        let youtube = operator_youtube(&on).expect("shared project");
        assert_eq!(youtube.quota_owner(), "op-project");
        assert!(youtube.oauth.is_none());
        assert!(operator_tiktok_live(&on).is_some());

        let off = config("false")?;
        assert!(operator_twitch(&off).is_none());
        assert!(operator_youtube(&off).is_none());
        assert!(operator_tiktok_live(&off).is_none());
        Ok(())
    }
}
