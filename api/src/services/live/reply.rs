//! Sends one live reply on its platform and route — the automatic agent's and the creator's
//! manual ones alike: YouTube public (`liveChatMessages.insert`), Twitch public (the reader's
//! paced IRC seat when there is one, else Helix `POST /chat/messages`), Twitch whisper (Helix
//! `POST /whispers`), TikTok DM (the tenant's TikTok connection). Budgets are not spent here: the
//! caller reserves them first (`budget`) and refunds on failure. YouTube and Twitch replies go
//! out with the credentials the caller resolved (`credentials`): the tenant's own, else the
//! operator's — the same ones whose budget the caller reserved.

use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use leadline_domain::live::{LivePlatform, LivePlatformConfig, Route};
use leadline_entity::live_sessions;

use super::credentials::{SessionAccess, TwitchAccess};
use crate::state::AppState;

/// Where and to whom a reply goes.
#[derive(Debug, Clone)]
pub struct ReplyTarget<'a> {
    /// The session's platform state (it names the chat).
    pub config: &'a LivePlatformConfig,
    /// The session's platform, read once by the caller (`store::live::platform_of`).
    pub platform: LivePlatform,
    /// The route.
    pub route: Route,
    /// The viewer's platform id (YouTube channel id, Twitch user id, TikTok user id).
    pub viewer_id: &'a str,
    /// The message answered, for a threaded reply where the platform has them (Twitch).
    pub parent_message_id: Option<&'a str>,
    /// The credentials to send with (whose budget the caller reserved).
    pub access: &'a SessionAccess,
}

/// A reply the platform accepted.
#[derive(Debug, Clone, Default)]
pub struct Posted {
    /// The platform's id of the posted message, when it says (so the chat echo is ignored).
    pub message_id: Option<String>,
    /// The author id the bot posted as, when the platform says.
    pub author_id: Option<String>,
}

/// Why a reply was not sent: a stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyFailure {
    /// e.g. `NO_OAUTH_TOKEN`, `SEND_FAILED`, `ROUTE_NOT_SUPPORTED`.
    pub code: &'static str,
    /// For people and logs.
    pub message: String,
}

impl ReplyFailure {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The bot's Helix credentials, when the session has a bot with a client id.
fn helix_of(
    access: &SessionAccess,
) -> Result<(&TwitchAccess, leadline_twitch::HelixCredentials), ReplyFailure> {
    access
        .twitch
        .as_ref()
        .and_then(|bot| bot.helix().map(|credentials| (bot, credentials)))
        .ok_or_else(no_twitch_credentials)
}

/// The Twitch user id of the bot `bot`: the one the reader resolved when it ran as this bot,
/// else asked from Helix (the tenant connected or removed its own bot since the reader started).
async fn bot_user_id(
    state: &AppState,
    config: &LivePlatformConfig,
    bot: &TwitchAccess,
    credentials: &leadline_twitch::HelixCredentials,
) -> Result<String, ReplyFailure> {
    if present(&config.bot_login) == Some(bot.login.as_str()) {
        if let Some(id) = present(&config.bot_user_id) {
            return Ok(id.to_owned());
        }
    }
    state
        .live
        .clients()
        .helix
        .user_id(credentials, &bot.login)
        .await
        .map_err(|e| {
            ReplyFailure::new("CHAT_UNAVAILABLE", format!("the bot's Twitch user id: {e}"))
        })
}

/// A resolved id, when it is there and not blank.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// Sends `text` to `target`; `chat` is the reader's IRC seat for Twitch public replies.
pub async fn send_reply(
    state: &AppState,
    tenant_id: TenantId,
    target: &ReplyTarget<'_>,
    text: &str,
    chat: Option<&leadline_twitch::ChatSender>,
) -> Result<Posted, ReplyFailure> {
    let platform = target.platform;
    let clients = state.live.clients();
    let failed = |e: &dyn std::fmt::Display| ReplyFailure::new("SEND_FAILED", e.to_string());
    match (platform, target.route) {
        (LivePlatform::Youtube, Route::Public) => {
            let Some(token) = target.access.youtube.as_ref().and_then(|y| y.oauth.clone()) else {
                return Err(ReplyFailure::new(
                    "NO_OAUTH_TOKEN",
                    "no YouTube OAuth token (the tenant's connection or YOUTUBE_ACCESS_TOKEN): the agent can read but not post",
                ));
            };
            let Some(chat_id) = present(&target.config.live_chat_id) else {
                return Err(ReplyFailure::new(
                    "CHAT_UNAVAILABLE",
                    "the session's live chat is not resolved yet",
                ));
            };
            let posted = clients
                .youtube
                .insert_text_message(&leadline_youtube::Credentials::OAuth(token), chat_id, text)
                .await
                .map_err(|e| failed(&e))?;
            Ok(Posted {
                author_id: posted
                    .author_details
                    .as_ref()
                    .map(|a| a.channel_id.clone())
                    .filter(|id| !id.is_empty()),
                message_id: Some(posted.id),
            })
        }
        (LivePlatform::Twitch, Route::Public) => {
            if let Some(chat) = chat {
                let sent = match target.parent_message_id {
                    Some(parent) => chat.reply(parent, text).await,
                    None => chat.say(text).await,
                };
                return sent.map(|()| Posted::default()).map_err(|e| failed(&e));
            }
            let (access, credentials) = helix_of(target.access)?;
            let Some(broadcaster) = present(&target.config.broadcaster_id) else {
                return Err(ReplyFailure::new(
                    "CHAT_UNAVAILABLE",
                    "the session's Twitch channel is not resolved yet",
                ));
            };
            let bot = bot_user_id(state, target.config, access, &credentials).await?;
            let bot = bot.as_str();
            let sent = clients
                .helix
                .send_chat_message(
                    &credentials,
                    &leadline_twitch::models::SendChatMessageRequest {
                        broadcaster_id: broadcaster.to_owned(),
                        sender_id: bot.to_owned(),
                        message: text.to_owned(),
                        reply_parent_message_id: target.parent_message_id.map(str::to_owned),
                    },
                )
                .await
                .map_err(|e| failed(&e))?;
            if !sent.is_sent {
                return Err(ReplyFailure::new(
                    "SEND_DROPPED",
                    format!("Twitch dropped the message: {:?}", sent.drop_reason),
                ));
            }
            Ok(Posted {
                message_id: Some(sent.message_id).filter(|id| !id.is_empty()),
                author_id: Some(bot.to_owned()),
            })
        }
        (LivePlatform::Twitch, Route::Whisper) => {
            let (access, credentials) = helix_of(target.access)?;
            let bot = bot_user_id(state, target.config, access, &credentials).await?;
            let bot = bot.as_str();
            // Twitch allows 3 whispers a second per bot: a 429 that names a short wait is
            // waited out once (never more than 2 s), anything else is reported.
            let mut attempt = 0;
            loop {
                match clients
                    .helix
                    .send_whisper(&credentials, bot, target.viewer_id, text)
                    .await
                {
                    Ok(()) => return Ok(Posted::default()),
                    Err(error) => {
                        let wait = error
                            .retry_after()
                            .filter(|_| {
                                matches!(error, leadline_twitch::TwitchError::RateLimited { .. })
                            })
                            .filter(|w| *w <= std::time::Duration::from_secs(2));
                        match wait {
                            Some(wait) if attempt == 0 => {
                                attempt += 1;
                                tokio::time::sleep(wait).await;
                            }
                            _ => return Err(failed(&error)),
                        }
                    }
                }
            }
        }
        (LivePlatform::Tiktok, Route::Dm) => {
            let connection = state
                .store
                .channel_connection_for(tenant_id, Channel::Tiktok)
                .await
                .map_err(|e| ReplyFailure::new("SEND_FAILED", format!("{e:?}")))?;
            let connection = crate::services::inbox::send::usable(connection, Channel::Tiktok)
                .map_err(|m| ReplyFailure::new("NO_TIKTOK_CONNECTION", m))?;
            let credentials = leadline_tiktok::BusinessCredentials {
                business_id: connection.external_account_id.unwrap_or_default(),
                access_token: connection.access_token.unwrap_or_default(),
            };
            let sent = state
                .platforms
                .tiktok
                .send_text(&credentials, target.viewer_id, text)
                .await
                .map_err(|e| failed(&e))?;
            Ok(Posted {
                message_id: Some(sent.message_id),
                author_id: None,
            })
        }
        (platform, route) => Err(ReplyFailure::new(
            "ROUTE_NOT_SUPPORTED",
            format!("{} cannot reply by {}", platform.as_str(), route.as_str()),
        )),
    }
}

fn no_twitch_credentials() -> ReplyFailure {
    ReplyFailure::new(
        "NO_TWITCH_CREDENTIALS",
        "no Twitch bot with a client id (the tenant's connection, or TWITCH_CLIENT_ID and TWITCH_ACCESS_TOKEN) to post on Twitch",
    )
}

/// A manual reply the platform accepted.
#[derive(Debug, Clone)]
pub struct ManualReply {
    /// The viewer's platform id (empty for a public line to nobody in particular).
    pub viewer_id: String,
    /// The route it took.
    pub route: Route,
    /// What the platform said.
    pub posted: Posted,
}

/// The creator's own reply to a viewer (`sendManualResponse`): by `route`, spending the route's
/// platform budget (whispers, YouTube quota, TikTok DMs) atomically, but not the automatic
/// agent's per-viewer and per-session limits, which exist to keep a bot from spamming.
pub async fn send_manual(
    state: &AppState,
    tenant_id: TenantId,
    session: &live_sessions::Model,
    username: &str,
    text: &str,
    route: Route,
) -> crate::error::ApiResult<ManualReply> {
    use crate::error::ApiError;
    let platform = crate::store::live::platform_of(session)?;
    match (platform, route) {
        (_, Route::Public)
        | (LivePlatform::Twitch, Route::Whisper)
        | (LivePlatform::Tiktok, Route::Dm) => {}
        (platform, route) => {
            return Err(ApiError::bad_input(
                "via",
                format!(
                    "{} sessions cannot reply by {}",
                    platform.as_str(),
                    route.as_str()
                ),
            ))
        }
    }
    let access = crate::services::live::credentials::for_session(state, session).await?;
    let mut viewer_id = state
        .store
        .live_viewer_id(tenant_id, session.id, username)
        .await?;
    if viewer_id.is_none() && route == Route::Whisper {
        // A Twitch viewer who has not chatted yet: Helix knows the login.
        if let Ok((_, credentials)) = helix_of(&access) {
            match state
                .live
                .clients()
                .helix
                .user_id(&credentials, username.trim_start_matches('@'))
                .await
            {
                Ok(id) => viewer_id = Some(id),
                Err(leadline_twitch::TwitchError::NotFound(_)) => {}
                Err(error) => return Err(ApiError::Unavailable(error.to_string())),
            }
        }
    }
    let viewer_id = match (viewer_id, route) {
        (Some(id), _) => id,
        (None, Route::Public) => String::new(),
        (None, _) => return Err(ApiError::NotFound("viewer")),
    };
    let text = if route == Route::Public && !username.trim().is_empty() {
        format!("@{} {text}", username.trim().trim_start_matches('@'))
    } else {
        text.to_owned()
    };
    let limits =
        crate::services::live::budget::session_limits(&state.config.live_ceilings, session);
    let now = crate::store::now();
    let spend =
        super::spend::route_spend(session, &viewer_id, route, &limits, &access, state, now)?;
    let reservation = match spend {
        None => None,
        Some(spend) => match state.live.budget.reserve(vec![spend], now).await? {
            Ok(reservation) => Some(reservation),
            Err(_) => {
                let (limit, message) = match route {
                    Route::Whisper => (
                        "WHISPERS_PER_DAY",
                        format!(
                            "today's {} Twitch whispers are used; they come back at midnight UTC",
                            limits.whispers_per_day
                        ),
                    ),
                    Route::Dm => (
                        "TIKTOK_DMS_PER_DAY",
                        "this viewer already got today's TikTok DMs".to_owned(),
                    ),
                    Route::Public => (
                        "YOUTUBE_DAILY_QUOTA",
                        "today's YouTube quota cannot pay for another message".to_owned(),
                    ),
                };
                return Err(ApiError::LimitReached { limit, message });
            }
        },
    };
    let config = crate::store::live::platform_config_of(session)?;
    let target = ReplyTarget {
        config: &config,
        platform,
        route,
        viewer_id: &viewer_id,
        parent_message_id: None,
        access: &access,
    };
    match send_reply(state, tenant_id, &target, &text, None).await {
        Ok(posted) => {
            let (whispers, units) = super::spend::route_cost(platform, route, &limits);
            state
                .store
                .add_live_counters(
                    tenant_id,
                    session.id,
                    crate::store::live::CounterDelta {
                        whispers,
                        quota_units: units,
                        ..Default::default()
                    },
                )
                .await?;
            if let Some(reservation) = &reservation {
                for warning in crate::services::live::budget::spend_warnings(reservation, &limits) {
                    super::events::publish(
                        state,
                        tenant_id,
                        session.id,
                        crate::bus::LiveEvent::LimitWarning {
                            code: warning.code().to_owned(),
                            message: format!("{warning:?}"),
                        },
                    );
                }
            }
            Ok(ManualReply {
                viewer_id,
                route,
                posted,
            })
        }
        Err(failure) => {
            if let Some(reservation) = &reservation {
                state.live.budget.refund(reservation).await?;
            }
            Err(ApiError::Unavailable(format!(
                "{}: {}",
                failure.code, failure.message
            )))
        }
    }
}
