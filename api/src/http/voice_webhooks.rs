//! Webhooks of the voice platforms: `POST /api/webhook/livekit` (ARCHITECTURE.md §6), and the
//! dealership AI phone agent's Twilio and ElevenLabs endpoints (issue 15):
//! `POST /api/voice/twilio/incoming` (TwiML), `POST /api/voice/twilio/status`, the calls the
//! agent places (`POST /api/voice/twilio/outbound/{callId}` TwiML, `…/status`, `…/amd`),
//! `GET /api/voice/twilio/media-stream` (the bridge's WebSocket) and
//! `POST /api/voice/elevenlabs/post-call`. Twilio deliveries are verified by the crate's
//! receiver against `LEADLINE_PUBLIC_URL` + the path Twilio requested (Twilio signs the URL it
//! was configured with, not the one a proxy forwards); ElevenLabs' by its `t=,v0=` signature. A
//! refusal is 401 with the JSON error body and stores nothing.
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
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::{SinkExt, StreamExt};
use http::HeaderMap;
use serde_json::json;

use super::webhooks::{count, read_body, reject};
use super::HttpState;
use crate::error::ApiError;
use crate::services::calls::{handle_livekit_event, LiveKitOutcome, LiveKitSigner};
use crate::services::phone_agent::{self, Bridge, ReportOutcome};
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

const TWILIO: &str = "twilio_voice";
const ELEVENLABS: &str = "elevenlabs";

/// Verifies a Twilio form delivery against the public URL it was sent to; the parsed webhook,
/// or the refusal to answer.
async fn verified_twilio(
    state: &HttpState,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<leadline_twilio::VoiceWebhook, Response> {
    let raw = read_body(state, TWILIO, headers, body).await?;
    let (Some(public), Ok(receiver)) = (
        state.app.config.public_url.as_deref(),
        state.app.config.twilio.receiver(),
    ) else {
        return Err(reject(TWILIO, &WebhookRejection::MissingSecret));
    };
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    match receiver.receive(&format!("{public}{path}"), headers, &raw) {
        Ok(webhook) => Ok(webhook),
        Err(leadline_twilio::Error::SignatureInvalid(problem)) => Err(reject(
            TWILIO,
            &WebhookRejection::BadSignature(problem.to_string()),
        )),
        Err(error) => Err(reject(
            TWILIO,
            &WebhookRejection::BadPayload(error.to_string()),
        )),
    }
}

/// `POST /api/voice/twilio/incoming`: a call to a dealership's number. TwiML that streams the
/// call to the agent, or dials the operator.
pub async fn twilio_incoming(
    State(state): State<HttpState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let webhook = match verified_twilio(&state, &uri, &headers, body).await {
        Ok(webhook) => webhook,
        Err(refused) => return refused,
    };
    match phone_agent::answer_incoming(&state.app, &webhook).await {
        Ok(twiml) => {
            count(TWILIO, "applied");
            (
                [(
                    http::header::CONTENT_TYPE,
                    leadline_twilio::twiml::CONTENT_TYPE,
                )],
                twiml,
            )
                .into_response()
        }
        Err(error) => {
            count(TWILIO, "failed");
            error.into_response()
        }
    }
}

/// The call id of a per-call URL; anything else is not a call of ours ([`not_our_call`]).
fn outbound_call_id(raw: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).ok()
}

fn not_our_call() -> Response {
    count(TWILIO, "ignored");
    ApiError::NotFound("call").into_response()
}

/// `POST /api/voice/twilio/outbound/{callId}`: the lead answered a call the agent placed.
/// TwiML that streams the call to the outbound agent (checked like `/incoming`: 401 unless
/// signed over `LEADLINE_PUBLIC_URL` + this path).
pub async fn twilio_outbound_answer(
    State(state): State<HttpState>,
    Path(call_id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let webhook = match verified_twilio(&state, &uri, &headers, body).await {
        Ok(webhook) => webhook,
        Err(refused) => return refused,
    };
    let Some(call_id) = outbound_call_id(&call_id) else {
        return not_our_call();
    };
    match phone_agent::outbound::answer_outbound(&state.app, call_id, &webhook).await {
        Ok(twiml) => {
            count(TWILIO, "applied");
            (
                [(
                    http::header::CONTENT_TYPE,
                    leadline_twilio::twiml::CONTENT_TYPE,
                )],
                twiml,
            )
                .into_response()
        }
        Err(error) => {
            count(TWILIO, "failed");
            error.into_response()
        }
    }
}

/// `POST /api/voice/twilio/outbound/{callId}/status`: the status callback of a call the agent
/// placed.
pub async fn twilio_outbound_status(
    State(state): State<HttpState>,
    Path(call_id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let webhook = match verified_twilio(&state, &uri, &headers, body).await {
        Ok(webhook) => webhook,
        Err(refused) => return refused,
    };
    let Some(call_id) = outbound_call_id(&call_id) else {
        return not_our_call();
    };
    report(
        TWILIO,
        phone_agent::outbound::outbound_status(&state.app, call_id, &webhook).await,
    )
}

/// `POST /api/voice/twilio/outbound/{callId}/amd`: answering-machine detection's verdict on a
/// call the agent placed.
pub async fn twilio_outbound_amd(
    State(state): State<HttpState>,
    Path(call_id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let webhook = match verified_twilio(&state, &uri, &headers, body).await {
        Ok(webhook) => webhook,
        Err(refused) => return refused,
    };
    let Some(call_id) = outbound_call_id(&call_id) else {
        return not_our_call();
    };
    report(
        TWILIO,
        phone_agent::outbound::outbound_amd(&state.app, call_id, &webhook).await,
    )
}

/// `POST /api/voice/twilio/status`: Twilio's status callback of a phone-agent call.
pub async fn twilio_status(
    State(state): State<HttpState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let webhook = match verified_twilio(&state, &uri, &headers, body).await {
        Ok(webhook) => webhook,
        Err(refused) => return refused,
    };
    report(
        TWILIO,
        phone_agent::twilio_status(&state.app, &webhook).await,
    )
}

fn report(channel: &'static str, result: Result<ReportOutcome, ApiError>) -> Response {
    match result {
        Ok(outcome) => {
            let label = match outcome {
                ReportOutcome::Applied => "applied",
                ReportOutcome::Duplicate => "duplicate",
                ReportOutcome::Ignored => "ignored",
            };
            count(channel, label);
            Json(json!({"ok": true, "outcome": label})).into_response()
        }
        Err(error) => {
            count(channel, "failed");
            error.into_response()
        }
    }
}

/// `POST /api/voice/elevenlabs/post-call`: ElevenLabs' signed post-call webhook.
pub async fn elevenlabs_post_call(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let raw = match read_body(&state, ELEVENLABS, &headers, body).await {
        Ok(raw) => raw,
        Err(refused) => return refused,
    };
    let Ok(receiver) = state.app.config.elevenlabs.receiver() else {
        return reject(ELEVENLABS, &WebhookRejection::MissingSecret);
    };
    let event = match receiver.receive(&headers, &raw, chrono::Utc::now().timestamp()) {
        Ok(event) => event,
        Err(leadline_elevenlabs::WebhookError::Decode(why)) => {
            return reject(ELEVENLABS, &WebhookRejection::BadPayload(why))
        }
        Err(leadline_elevenlabs::WebhookError::MissingHeader) => {
            return reject(ELEVENLABS, &WebhookRejection::MissingSignature)
        }
        Err(
            leadline_elevenlabs::WebhookError::Stale
            | leadline_elevenlabs::WebhookError::FromTheFuture,
        ) => return reject(ELEVENLABS, &WebhookRejection::StaleTimestamp),
        Err(error) => {
            return reject(
                ELEVENLABS,
                &WebhookRejection::BadSignature(error.to_string()),
            )
        }
    };
    report(
        ELEVENLABS,
        phone_agent::elevenlabs_post_call(&state.app, &event).await,
    )
}

/// `GET /api/voice/twilio/media-stream`: Twilio's Media Stream WebSocket, handed to the
/// bridge. The call token arrives in the `start` message, so the upgrade itself is open; the
/// bridge closes a stream whose token does not hold before anything else happens.
pub async fn twilio_media_stream(
    State(state): State<HttpState>,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Twilio's frames are small JSON (a 20 ms media frame is ~300 bytes); a large frame is
    // not Twilio.
    const MAX_FRAME: usize = 64 * 1024;
    upgrade
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| bridge_socket(socket, state))
        .into_response()
}

async fn bridge_socket(socket: WebSocket, state: HttpState) {
    let (sink, stream) = socket.split();
    let incoming = Box::pin(
        stream
            .take_while(|message| futures::future::ready(message.is_ok()))
            .filter_map(|message| {
                futures::future::ready(match message {
                    Ok(Message::Text(text)) => Some(text.as_str().to_owned()),
                    _ => None,
                })
            }),
    );
    let outgoing = Box::pin(sink.with(|text: String| {
        futures::future::ready(Ok::<_, axum::Error>(Message::Text(text.into())))
    }));
    Bridge::new(state.app.clone()).run(incoming, outgoing).await;
}
