//! Webhooks of the voice platforms: `POST /api/webhook/livekit` (ARCHITECTURE.md §6).
//!
//! LiveKit signs each delivery with a JWT in `Authorization` (our API key as issuer, the body's
//! SHA-256 as a claim); the crate's receiver verifies it on the raw bytes before anything is
//! parsed, with the configured key and `LIVEKIT_WEBHOOK_KEYS`. A forged, stale or unconfigured
//! delivery is 401 and changes nothing. Verified events go to `services::calls`, which
//! deduplicates them by event id; the answer is 200 whether the event moved a call or not, so
//! LiveKit never retries an event we chose to ignore.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::HeaderMap;
use serde_json::json;

use super::webhooks::{count, read_body, reject};
use super::HttpState;
use crate::services::calls::{handle_livekit_event, LiveKitOutcome};
use crate::services::inbox::ingest::WebhookRejection;

const LIVEKIT: &str = "livekit";

/// `POST /api/webhook/livekit`.
pub async fn livekit(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let raw = match read_body(&state, LIVEKIT, &headers, body).await {
        Ok(raw) => raw,
        Err(refused) => return refused,
    };
    let receiver = match state.app.config.livekit.receiver() {
        Ok(receiver) => receiver,
        Err(_) => return reject(LIVEKIT, &WebhookRejection::MissingSecret),
    };
    let event = match receiver.receive(&headers, &raw, chrono::Utc::now()) {
        Ok(event) => event,
        Err(leadline_livekit::Error::SignatureInvalid(problem)) => {
            return reject(
                LIVEKIT,
                &WebhookRejection::BadSignature(format!("{problem:?}")),
            )
        }
        Err(error) => return reject(LIVEKIT, &WebhookRejection::BadPayload(error.to_string())),
    };
    match handle_livekit_event(&state.app, &event).await {
        Ok(outcome) => {
            let label = match outcome {
                LiveKitOutcome::Applied => "applied",
                LiveKitOutcome::Duplicate => "duplicate",
                LiveKitOutcome::Ignored => "ignored",
            };
            count(LIVEKIT, label);
            Json(json!({"ok": true, "outcome": label})).into_response()
        }
        Err(error) => {
            count(LIVEKIT, "failed");
            error.into_response()
        }
    }
}
