//! Routing of the live platforms' webhook deliveries to the sessions they are for
//! (ARCHITECTURE.md §4): a Twitch `channel.chat.message` goes to every ACTIVE Twitch session of
//! that channel (any tenant: EventSub is the operator's subscription), a TikTok LIVE comment to
//! the addressed tenant's ACTIVE session of that room, and a LIVE end stops that session.
//!
//! Each routed message runs through the session's pipeline in the background, so the webhook
//! is answered within milliseconds (the platforms time out and redeliver slow webhooks); a
//! message seen twice — a redelivery, or the same message from the reader — is stored and
//! answered once (the interactions' unique key).
//!
//! Must not: verify signatures or answer HTTP (the shims in `http::live_webhooks` do, through
//! `services::webhooks` and each crate's front door).

use leadline_domain::ids::TenantId;
use leadline_domain::live::{LivePlatform, LivePlatformConfig};
use leadline_entity::live_sessions;
use leadline_tiktok::live::LiveEvent;
use leadline_twitch::models::ChannelChatMessage;
use uuid::Uuid;

use super::pipeline::{handle_message, ChatMessage, SessionContext};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::live::{platform_config_of, platform_of};

/// What a TikTok LIVE delivery was routed to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TiktokRouting {
    /// Comments and ends that reached a session.
    pub routed: usize,
    /// Comments for a room with no ACTIVE session of this tenant (dropped).
    pub unrouted: usize,
}

/// The ACTIVE sessions on `platform` (of `tenant`, when given) whose config `matches`, each with
/// its config. A session whose stored config does not read is skipped with its error logged
/// (by `platform_config_of`): one broken row must not stop the others' chat.
async fn active_sessions(
    app: &AppState,
    platform: LivePlatform,
    tenant: Option<Uuid>,
    matches: impl Fn(&LivePlatformConfig) -> bool,
) -> ApiResult<Vec<(live_sessions::Model, LivePlatformConfig)>> {
    let sessions = app.store.active_live_sessions().await?;
    Ok(sessions
        .into_iter()
        .filter(|s| tenant.is_none_or(|t| s.tenant_id == t))
        .filter(|s| platform_of(s).is_ok_and(|p| p == platform))
        .filter_map(|s| platform_config_of(&s).ok().map(|config| (s, config)))
        .filter(|(_, config)| matches(config))
        .collect())
}

/// Hands one Twitch chat message to every ACTIVE session of its channel; answers how many.
pub async fn route_twitch_chat(app: &AppState, chat: &ChannelChatMessage) -> ApiResult<usize> {
    let targets = active_sessions(app, LivePlatform::Twitch, None, |config| {
        config.is_twitch_broadcaster(&chat.broadcaster_user_id, &chat.broadcaster_user_login)
    })
    .await?;
    let message = ChatMessage {
        id: chat.message_id.clone(),
        author_id: chat.chatter_user_id.clone(),
        author_name: chat.chatter_user_name.clone(),
        text: chat.message.text.clone(),
        is_follower: None,
    };
    let routed = targets.len();
    for (session, config) in targets {
        dispatch(app, session, &config, message.clone());
    }
    Ok(routed)
}

/// Hands a verified TikTok LIVE delivery for `tenant_id` to the tenant's ACTIVE sessions of the
/// rooms it names; a LIVE end stops its session.
pub async fn route_tiktok_live(
    app: &AppState,
    tenant_id: TenantId,
    events: Vec<LiveEvent>,
) -> ApiResult<TiktokRouting> {
    let sessions = active_sessions(
        app,
        LivePlatform::Tiktok,
        Some(tenant_id.uuid()),
        |config| config.room_id.is_some(),
    )
    .await?;
    let session_of = |room: &str| {
        sessions
            .iter()
            .find(|(_, config)| config.room_id.as_deref() == Some(room))
    };
    let mut routing = TiktokRouting::default();
    for event in events {
        match event {
            LiveEvent::Comment { room_id, comment } => match session_of(&room_id) {
                Some((session, config)) => {
                    routing.routed += 1;
                    dispatch(
                        app,
                        session.clone(),
                        config,
                        super::tiktok::chat_message(&comment),
                    );
                }
                None => routing.unrouted += 1,
            },
            LiveEvent::End { room_id, .. } => {
                if let Some((session, _)) = session_of(&room_id) {
                    routing.routed += 1;
                    let app = app.clone();
                    let (tenant_id, session_id) = (TenantId(session.tenant_id), session.id);
                    tokio::spawn(async move {
                        let finished =
                            super::reader::finish(&app, tenant_id, session_id, "LIVE_ENDED").await;
                        if let Err(error) = finished {
                            tracing::warn!(?error, "could not stop the ended TikTok session");
                        }
                    });
                }
            }
            LiveEvent::Other { .. } => {}
        }
    }
    Ok(routing)
}

/// Runs one message through the session's pipeline in the background.
fn dispatch(
    app: &AppState,
    session: live_sessions::Model,
    config: &LivePlatformConfig,
    message: ChatMessage,
) {
    let app = app.clone();
    let mut ctx = SessionContext::for_config(config);
    tokio::spawn(async move {
        let handled = handle_message(
            &app,
            TenantId(session.tenant_id),
            session.id,
            &mut ctx,
            message,
            crate::store::now(),
        )
        .await;
        if let Err(error) = handled {
            tracing::warn!(session = %session.id, ?error, "live webhook message not handled");
        }
    });
}
