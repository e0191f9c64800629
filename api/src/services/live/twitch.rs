//! The Twitch reader of one ACTIVE session: resolves the channel's and the bot's user ids once
//! (Helix `GET /users`, kept in the session's platform config), takes the bot's seat in the
//! channel's chat over IRC (`leadline_twitch::ChatConnection`: tags, PING/PONG, reconnect with
//! backoff on RECONNECT or a dropped socket, paced sends) and feeds every viewer message to the
//! pipeline. Public replies go out on this seat; whispers through Helix.
//!
//! A refused login stops the session (`TWITCH_LOGIN_FAILED`): retrying a bad token only gets the
//! bot throttled. Anything else that ends the connection is an error the supervisor retries.

use std::time::Duration;

use leadline_domain::ids::TenantId;
use leadline_domain::live::LiveSessionStatus;
use leadline_twitch::{ChatConfig, ChatConnection, ChatCredentials, ChatEvent, DisconnectReason};
use tokio::sync::watch;
use uuid::Uuid;

use super::pipeline::{handle_message, ChatMessage, SessionContext};
use super::reader::{finish, give_up, ReaderExit};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::live::{platform_config_of, status_of};

/// How often the reader re-reads its session (stopped elsewhere, agent switched).
const STATUS_CHECK: Duration = Duration::from_secs(2);

/// Runs the session's Twitch reader until it is stopped or fails.
pub async fn run(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    stop: &mut watch::Receiver<bool>,
) -> ApiResult<ReaderExit> {
    let store = &state.store;
    let session = store.live_session(tenant_id, session_id).await?;
    let config = &state.config;
    // The tenant's own bot when it connected one, else the operator's (if shared).
    let Some(bot) = super::credentials::twitch(state, tenant_id).await? else {
        let reason = "NO_TWITCH_CREDENTIALS";
        finish(state, tenant_id, session_id, reason).await?;
        return Ok(ReaderExit::Finished(reason.into()));
    };
    let (login, token) = (&bot.login, &bot.token);
    let mut platform_config = platform_config_of(&session)?;
    let channel = platform_config.channel.clone().unwrap_or_default();
    // The user ids are needed for whispers and Helix sends; the chat works without them.
    if let Some(credentials) = bot.helix() {
        let helix = &state.live.clients().helix;
        // A bot id resolved for another bot (the session ran as the operator's, the tenant
        // connected its own since) is resolved again.
        let same_bot = platform_config.bot_login.as_deref() == Some(login.as_str());
        let broadcaster_known = platform_config.broadcaster_id.is_some();
        let bot_known = platform_config.bot_user_id.is_some() && same_bot;
        for (is_broadcaster, known, wanted) in [
            (true, broadcaster_known, channel.as_str()),
            (false, bot_known, login.as_str()),
        ] {
            if known {
                continue;
            }
            match helix.user_id(&credentials, wanted).await {
                Ok(id) if is_broadcaster => platform_config.broadcaster_id = Some(id),
                Ok(id) => platform_config.bot_user_id = Some(id),
                Err(leadline_twitch::TwitchError::NotFound(_)) => {
                    let reason = format!("TWITCH_USER_NOT_FOUND: {wanted}");
                    return give_up(state, tenant_id, session_id, reason).await;
                }
                Err(error) => return Err(ApiError::Unavailable(error.to_string())),
            }
        }
        platform_config.bot_login = Some(login.to_ascii_lowercase());
        store
            .set_live_platform_config(tenant_id, session_id, &platform_config)
            .await?;
    }
    let connection = ChatConnection::connect(
        ChatConfig::new(config.twitch_irc_url.clone(), &channel),
        ChatCredentials::new(login, token),
    )
    .await;
    let mut connection = match connection {
        Ok(connection) => connection,
        Err(leadline_twitch::TwitchError::Unauthorized(message)) => {
            let reason = format!("TWITCH_LOGIN_FAILED: {message}");
            return give_up(state, tenant_id, session_id, reason).await;
        }
        Err(error) => return Err(ApiError::Unavailable(error.to_string())),
    };
    let mut ctx = SessionContext {
        twitch_chat: Some(connection.sender()),
        ..SessionContext::for_config(&platform_config)
    };
    ctx.bot_author_ids.insert(login.to_ascii_lowercase());
    let mut check = tokio::time::interval(STATUS_CHECK);
    loop {
        let event = tokio::select! {
            _ = stop.changed() => {
                connection.close().await;
                return Ok(ReaderExit::Stopped);
            }
            _ = check.tick() => {
                if status_of(&store.live_session(tenant_id, session_id).await?)?
                    != LiveSessionStatus::Active
                {
                    connection.close().await;
                    return Ok(ReaderExit::Stopped);
                }
                continue;
            }
            event = connection.next_event() => event,
        };
        match event {
            Some(ChatEvent::Message(message)) => {
                let chat = ChatMessage {
                    id: message.id.clone(),
                    author_id: if message.user_id.is_empty() {
                        message.login.clone()
                    } else {
                        message.user_id.clone()
                    },
                    author_name: if message.display_name.is_empty() {
                        message.login.clone()
                    } else {
                        message.display_name.clone()
                    },
                    text: message.text.clone(),
                    is_follower: None,
                };
                if ctx.bot_author_ids.contains(&message.login) {
                    continue;
                }
                handle_message(
                    state,
                    tenant_id,
                    session_id,
                    &mut ctx,
                    chat,
                    crate::store::now(),
                )
                .await?;
            }
            Some(ChatEvent::Disconnected {
                reason: DisconnectReason::LoginFailed(message),
            }) => {
                let reason = format!("TWITCH_LOGIN_FAILED: {message}");
                return give_up(state, tenant_id, session_id, reason).await;
            }
            Some(ChatEvent::Disconnected { reason }) => {
                return Err(ApiError::Unavailable(format!(
                    "Twitch chat disconnected: {reason:?}"
                )));
            }
            None => return Err(ApiError::Unavailable("Twitch chat closed".into())),
            Some(ChatEvent::Reconnecting {
                reason,
                attempt,
                delay,
            }) => {
                tracing::info!(%session_id, ?reason, attempt, ?delay, "Twitch chat reconnecting");
            }
            Some(other) => tracing::debug!(%session_id, ?other, "Twitch chat event"),
        }
    }
}
