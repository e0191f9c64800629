//! Webhooks of the voice platforms: `POST /api/webhook/livekit` (ARCHITECTURE.md §6).
//!
//! LiveKit signs each delivery with a JWT in `Authorization` (our API key as issuer, the body's
//! SHA-256 as a claim); the crate's receiver verifies it on the raw bytes before anything is
//! parsed, with the configured key and `LIVEKIT_WEBHOOK_KEYS`, or with the secret of a
//! tenant's own project registered under the token's key; a tenant's project moves only that
//! tenant's calls. A forged, stale or unconfigured
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
use crate::services::calls::{handle_livekit_event, LiveKitOutcome, LiveKitSigner};
use crate::services::webhooks::WebhookRejection;

const LIVEKIT: &str = "livekit";

/// The receivers that may verify this delivery, each with whose project it is: the
/// operator's (its key and `LIVEKIT_WEBHOOK_KEYS`), then every tenant project registered under
/// the key the token claims. Only the signature decides; the claim merely narrows the search.
async fn receivers_for(
    state: &HttpState,
    headers: &HeaderMap,
) -> Result<(Vec<leadline_livekit::Receiver>, Vec<LiveKitSigner>), Response> {
    let mut receivers = Vec::new();
    let mut signers = Vec::new();
    let issuer = leadline_livekit::webhook::claimed_issuer(headers);
    if let Ok(operator) = state.app.config.livekit.receiver() {
        receivers.push(operator);
        signers.push(LiveKitSigner::Operator);
    }
    let Some(issuer) = issuer else {
        return Ok((receivers, signers));
    };
    if receivers
        .first()
        .is_some_and(|operator| operator.keys().secret(&issuer).is_some())
    {
        // The operator's key: no tenant lookup.
        return Ok((receivers, signers));
    }
    let projects = match state.app.store.livekit_connections_by_key(&issuer).await {
        Ok(projects) => projects,
        Err(error) => {
            count(LIVEKIT, "failed");
            return Err(error.into_response());
        }
    };
    for project in projects {
        if let Ok(receiver) = leadline_livekit::Receiver::from_settings(
            Some(&project.api_key),
            Some(&project.api_secret),
            None,
        ) {
            receivers.push(receiver);
            signers.push(LiveKitSigner::Tenant(project.tenant_id));
        }
    }
    Ok((receivers, signers))
}

/// `POST /api/webhook/livekit`.
pub async fn livekit(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let raw = match read_body(&state, LIVEKIT, &headers, body).await {
        Ok(raw) => raw,
        Err(refused) => return refused,
    };
    let (receivers, signers) = match receivers_for(&state, &headers).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    if receivers.is_empty() {
        return reject(LIVEKIT, &WebhookRejection::MissingSecret);
    }
    let now = chrono::Utc::now();
    let mut verified = None;
    let mut last_error = None;
    for (receiver, signer) in receivers.iter().zip(signers) {
        match receiver.receive(&headers, &raw, now) {
            Ok(event) => {
                verified = Some((event, signer));
                break;
            }
            Err(error) => last_error = Some(error),
        }
    }
    let (event, signer) = match (verified, last_error) {
        (Some(found), _) => found,
        (None, Some(leadline_livekit::Error::SignatureInvalid(problem))) => {
            return reject(
                LIVEKIT,
                &WebhookRejection::BadSignature(format!("{problem:?}")),
            )
        }
        (None, Some(error)) => {
            return reject(LIVEKIT, &WebhookRejection::BadPayload(error.to_string()))
        }
        (None, None) => return reject(LIVEKIT, &WebhookRejection::MissingSecret),
    };
    match handle_livekit_event(&state.app, &event, signer).await {
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
