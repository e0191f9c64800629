//! Webhooks of the live-stream agent:
//! - `POST /api/webhook/twitch/eventsub`: Twitch EventSub (`channel.chat.message`), signed with
//!   `TWITCH_EVENTSUB_SECRET` (HMAC over id + timestamp + body, 10-minute window); answers the
//!   `webhook_callback_verification` challenge; routes each chat message to every ACTIVE Twitch
//!   session of that channel.
//! - `POST /api/webhook/tiktok-live/{tenantSlug}`: TikTok LIVE comments and ends from the LIVE
//!   wrapper, signed like TikTok's own webhooks (`TikTok-Signature`, the tenant's TikTok
//!   connection secret or `TIKTOK_CLIENT_SECRET`), routed to the tenant's ACTIVE session of that
//!   room.
//!
//! Both answer within milliseconds: the messages are handed to the pipeline in the background
//! (the platforms time out and redeliver slow webhooks). A message seen twice — a redelivery, or
//! the same message from the IRC reader or the poller — is stored and answered once (the
//! interactions' unique key).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, StatusCode};
use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use leadline_domain::live::LivePlatform;
use leadline_entity::live_sessions;
use serde_json::{json, Value};

use super::webhooks::{count, read_body, reject};
use super::HttpState;
use crate::services::inbox::ingest::{self, WebhookRejection};
use crate::services::live::pipeline::{handle_message, ChatMessage, SessionContext};
use crate::state::AppState;
use crate::store::live::platform_of;

const TWITCH: &str = "twitch";
const TIKTOK_LIVE: &str = "tiktok_live";

/// `POST /api/webhook/twitch/eventsub`.
pub async fn twitch_eventsub(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let raw = match read_body(&state, TWITCH, &headers, body).await {
        Ok(raw) => raw,
        Err(refused) => return refused,
    };
    let Some(secret) = state.app.config.twitch_eventsub_secret.clone() else {
        return reject(TWITCH, &WebhookRejection::MissingSecret);
    };
    let verified = leadline_twitch::webhook::verify_and_parse(
        &headers,
        &raw,
        secret.as_bytes(),
        chrono::Utc::now(),
    );
    let (_meta, message) = match verified {
        Ok(verified) => verified,
        Err(leadline_twitch::TwitchError::SignatureInvalid(problem)) => {
            return reject(
                TWITCH,
                &WebhookRejection::BadSignature(format!("{problem:?}")),
            );
        }
        Err(error) => return reject(TWITCH, &WebhookRejection::BadPayload(error.to_string())),
    };
    use leadline_twitch::eventsub::{Event, EventSubMessage};
    match message {
        EventSubMessage::Verification { challenge, .. } => {
            count(TWITCH, "verified");
            (
                StatusCode::OK,
                [(http::header::CONTENT_TYPE, "text/plain")],
                challenge,
            )
                .into_response()
        }
        EventSubMessage::Revocation { subscription } => {
            tracing::warn!(?subscription, "Twitch revoked an EventSub subscription");
            count(TWITCH, "revoked");
            StatusCode::NO_CONTENT.into_response()
        }
        EventSubMessage::Notification {
            event: Event::ChannelChatMessage(chat),
            ..
        } => {
            let sessions = match state.app.store.active_live_sessions().await {
                Ok(sessions) => sessions,
                Err(error) => {
                    return reject(TWITCH, &WebhookRejection::DatabaseUnavailable(error));
                }
            };
            let targets: Vec<live_sessions::Model> = sessions
                .into_iter()
                .filter(|s| platform_of(s).is_ok_and(|p| p == LivePlatform::Twitch))
                .filter(|s| {
                    let config = |key: &str| s.platform_config.get(key).and_then(Value::as_str);
                    config("broadcasterId") == Some(chat.broadcaster_user_id.as_str())
                        || config("channel")
                            .is_some_and(|c| c.eq_ignore_ascii_case(&chat.broadcaster_user_login))
                })
                .collect();
            let message = ChatMessage {
                id: chat.message_id.clone(),
                author_id: chat.chatter_user_id.clone(),
                author_name: chat.chatter_user_name.clone(),
                text: chat.message.text.clone(),
                is_follower: None,
            };
            count(
                TWITCH,
                if targets.is_empty() {
                    "no_session"
                } else {
                    "accepted"
                },
            );
            let routed = targets.len();
            for session in targets {
                dispatch(&state.app, session, message.clone());
            }
            Json(json!({"ok": true, "sessions": routed})).into_response()
        }
        EventSubMessage::Notification { .. } => {
            count(TWITCH, "ignored");
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// `POST /api/webhook/tiktok-live/{tenantSlug}`.
pub async fn tiktok_live(
    State(state): State<HttpState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let raw = match read_body(&state, TIKTOK_LIVE, &headers, body).await {
        Ok(raw) => raw,
        Err(refused) => return refused,
    };
    let endpoint = match ingest::endpoint(&state.app, &slug, Channel::Tiktok).await {
        Ok(endpoint) => endpoint,
        Err(rejection) => return reject(TIKTOK_LIVE, &rejection),
    };
    if let Err(rejection) =
        ingest::verify_signature(&state.app, &endpoint, &headers, &raw, chrono::Utc::now())
    {
        return reject(TIKTOK_LIVE, &rejection);
    }
    let events = match leadline_tiktok::live::parse_live_webhook(&raw) {
        Ok(events) => events,
        Err(error) => {
            return reject(
                TIKTOK_LIVE,
                &WebhookRejection::BadPayload(error.to_string()),
            );
        }
    };
    let sessions = match state.app.store.active_live_sessions().await {
        Ok(sessions) => sessions,
        Err(error) => return reject(TIKTOK_LIVE, &WebhookRejection::DatabaseUnavailable(error)),
    };
    let session_of = |room: &str| {
        sessions
            .iter()
            .find(|s| {
                s.tenant_id == endpoint.tenant_id.uuid()
                    && platform_of(s).is_ok_and(|p| p == LivePlatform::Tiktok)
                    && s.platform_config.get("roomId").and_then(Value::as_str) == Some(room)
            })
            .cloned()
    };
    let (mut routed, mut unrouted) = (0, 0);
    for event in events {
        use leadline_tiktok::live::LiveEvent as E;
        match event {
            E::Comment { room_id, comment } => match session_of(&room_id) {
                Some(session) => {
                    routed += 1;
                    dispatch(
                        &state.app,
                        session,
                        crate::services::live::tiktok::chat_message(&comment),
                    );
                }
                None => unrouted += 1,
            },
            E::End { room_id, .. } => {
                if let Some(session) = session_of(&room_id) {
                    routed += 1;
                    let app = state.app.clone();
                    tokio::spawn(async move {
                        if let Err(error) = crate::services::live::reader::finish(
                            &app,
                            TenantId(session.tenant_id),
                            session.id,
                            "LIVE_ENDED",
                        )
                        .await
                        {
                            tracing::warn!(?error, "could not stop the ended TikTok session");
                        }
                    });
                }
            }
            E::Other { .. } => {}
        }
    }
    count(
        TIKTOK_LIVE,
        if routed > 0 { "accepted" } else { "no_session" },
    );
    Json(json!({"ok": true, "routed": routed, "unrouted": unrouted})).into_response()
}

/// Runs one message through the session's pipeline in the background.
fn dispatch(app: &AppState, session: live_sessions::Model, message: ChatMessage) {
    let app = app.clone();
    tokio::spawn(async move {
        let mut ctx = SessionContext::default();
        for key in ["botUserId", "botLogin"] {
            if let Some(bot) = session.platform_config.get(key).and_then(Value::as_str) {
                ctx.bot_author_ids.insert(bot.to_owned());
            }
        }
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
