//! `POST /api/webhook/stripe`: reads the body (with the webhook size limit), hands it to
//! `services::billing::webhook::receive`, and answers — 200 once the event is stored (or was
//! stored before), 401 for a missing, forged or stale signature, 400 for a verified body that is
//! not an event, 503 when the database is away (Stripe redelivers). Nothing else happens here.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::HeaderMap;
use serde_json::json;

use super::webhooks::{count, read_body, reject};
use super::HttpState;
use crate::services::billing::webhook::receive;

const STRIPE: &str = "stripe";

/// The Stripe webhook endpoint.
pub async fn stripe(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let raw = match read_body(&state, STRIPE, &headers, body).await {
        Ok(raw) => raw,
        Err(refused) => return refused,
    };
    match receive(&state.app, &headers, &raw).await {
        Ok(delivery) => {
            count(STRIPE, delivery.label());
            Json(json!({ "received": true, "outcome": delivery.label() })).into_response()
        }
        Err(rejection) => reject(STRIPE, &rejection),
    }
}
