//! The fake's REST half: signed URLs and Twilio outbound calls, with `xi-api-key` checked and
//! failures injectable.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{conversation, Failure, FakeOutboundCall, RecordedRequest, Shared};
use crate::client::API_KEY_HEADER;
use crate::models::{OutboundCall, OutboundCallResponse, SignedUrlResponse};

pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route(
            "/v1/convai/conversation/get-signed-url",
            get(get_signed_url),
        )
        .route("/v1/convai/twilio/outbound-call", post(outbound_call))
        .route("/v1/convai/conversation", get(conversation::upgrade))
        .with_state(shared)
}

/// FastAPI's error envelope, as ElevenLabs answers.
fn detail(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"detail": {"status": code, "message": message}});
    (status, Json(body)).into_response()
}

fn validation(field: &str, message: &str) -> Response {
    let body = serde_json::json!({"detail": [{"loc": ["body", field], "msg": message, "type": "value_error"}]});
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// The injected failure for this request, if any (a delay answers normally afterwards).
async fn injected(shared: &Shared) -> Option<Response> {
    let failure = shared.lock().failures.pop_front()?;
    Some(match failure {
        Failure::Status { status, message } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            detail(status, "injected", &message)
        }
        Failure::RateLimited { retry_after_secs } => {
            let mut response = detail(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_concurrent_requests",
                "Too many requests",
            );
            if let Some(secs) = retry_after_secs {
                if let Ok(value) = secs.to_string().parse() {
                    response.headers_mut().insert("retry-after", value);
                }
            }
            response
        }
        Failure::Delay(delay) => {
            tokio::time::sleep(delay).await;
            return None;
        }
        Failure::Raw { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, body).into_response()
        }
    })
}

fn record(
    shared: &Shared,
    method: &str,
    path: String,
    headers: &HeaderMap,
    body: Option<serde_json::Value>,
    response: Response,
) -> Response {
    shared.lock().requests.push(RecordedRequest {
        method: method.to_owned(),
        path,
        api_key: headers
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        status: response.status().as_u16(),
    });
    response
}

fn authorised(shared: &Shared, headers: &HeaderMap) -> bool {
    headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|key| key == shared.api_key)
}

fn unauthorised() -> Response {
    detail(
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        "Invalid API key",
    )
}

async fn get_signed_url(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let agent_id = query.get("agent_id").cloned().unwrap_or_default();
    let path = format!("/v1/convai/conversation/get-signed-url?agent_id={agent_id}");
    let response = signed_url_response(&shared, &headers, &agent_id).await;
    record(&shared, "GET", path, &headers, None, response)
}

async fn signed_url_response(shared: &Shared, headers: &HeaderMap, agent_id: &str) -> Response {
    if let Some(failure) = injected(shared).await {
        return failure;
    }
    if !authorised(shared, headers) {
        return unauthorised();
    }
    let mut state = shared.lock();
    if !state.agents.contains_key(agent_id) {
        return detail(StatusCode::NOT_FOUND, "agent_not_found", "Agent not found");
    }
    let n = state.next();
    let signature = format!("sig_{n:08x}_{:x}", shared.addr.port());
    state
        .signatures
        .insert(signature.clone(), agent_id.to_owned());
    drop(state);
    let mut url = match url::Url::parse(&format!("ws://{}/v1/convai/conversation", shared.addr)) {
        Ok(url) => url,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    url.query_pairs_mut()
        .append_pair("agent_id", agent_id)
        .append_pair("conversation_signature", &signature);
    Json(SignedUrlResponse {
        signed_url: url.into(),
    })
    .into_response()
}

fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

async fn outbound_call(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let response = outbound_call_response(&shared, &headers, json.clone()).await;
    record(
        &shared,
        "POST",
        "/v1/convai/twilio/outbound-call".to_owned(),
        &headers,
        json,
        response,
    )
}

async fn outbound_call_response(
    shared: &Shared,
    headers: &HeaderMap,
    json: Option<serde_json::Value>,
) -> Response {
    if let Some(failure) = injected(shared).await {
        return failure;
    }
    if !authorised(shared, headers) {
        return unauthorised();
    }
    let Some(request) = json.and_then(|j| serde_json::from_value::<OutboundCall>(j).ok()) else {
        return validation(
            "body",
            "agent_id, agent_phone_number_id and to_number are required",
        );
    };
    if request.agent_phone_number_id.trim().is_empty() {
        return validation("agent_phone_number_id", "field required");
    }
    if !is_e164(&request.to_number) {
        return validation("to_number", "to_number must be an E.164 phone number");
    }
    let mut state = shared.lock();
    if !state.agents.contains_key(&request.agent_id) {
        return detail(StatusCode::NOT_FOUND, "agent_not_found", "Agent not found");
    }
    let n = state.next();
    let conversation_id = format!("conv_fake_{n}");
    let call_sid = format!("CA{:032x}", 0xe1e1_0000_u64 + n);
    state.outbound_calls.push(FakeOutboundCall {
        request,
        conversation_id: conversation_id.clone(),
        call_sid: call_sid.clone(),
    });
    Json(OutboundCallResponse {
        success: true,
        message: "Success".to_owned(),
        conversation_id: Some(conversation_id),
        call_sid: Some(call_sid),
    })
    .into_response()
}
