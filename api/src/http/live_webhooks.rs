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
//! These shims only read, verify and answer; which sessions a message is for, and running it
//! through the pipeline in the background, is `services::live::routing`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, StatusCode};
use leadline_domain::channel::Channel;
use serde_json::json;

use super::webhooks::{count, read_body, reject};
use super::HttpState;
use crate::services::live::routing::{self, TiktokRouting};
use crate::services::webhooks::{self, WebhookRejection};

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
        } => match routing::route_twitch_chat(&state.app, &chat).await {
            Ok(routed) => {
                count(
                    TWITCH,
                    if routed == 0 {
                        "no_session"
                    } else {
                        "accepted"
                    },
                );
                Json(json!({"ok": true, "sessions": routed})).into_response()
            }
            Err(error) => reject(TWITCH, &WebhookRejection::DatabaseUnavailable(error)),
        },
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
    let endpoint = match webhooks::endpoint(&state.app, &slug, Channel::Tiktok).await {
        Ok(endpoint) => endpoint,
        Err(rejection) => return reject(TIKTOK_LIVE, &rejection),
    };
    if let Err(rejection) =
        webhooks::verify_signature(&state.app, &endpoint, &headers, &raw, chrono::Utc::now())
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
    match routing::route_tiktok_live(&state.app, endpoint.tenant_id, events).await {
        Ok(TiktokRouting { routed, unrouted }) => {
            count(
                TIKTOK_LIVE,
                if routed > 0 { "accepted" } else { "no_session" },
            );
            Json(json!({"ok": true, "routed": routed, "unrouted": unrouted})).into_response()
        }
        Err(error) => reject(TIKTOK_LIVE, &WebhookRejection::DatabaseUnavailable(error)),
    }
}
