//! Liveness, readiness and Prometheus metrics.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::HttpState;
use crate::auth::{bearer, constant_time_eq, sha256_hex};
use crate::error::ApiError;

/// The process is up.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Every configured backend answers: 200, else 503 naming what is down.
pub async fn readyz(State(state): State<HttpState>) -> Response {
    let (database, bus) = tokio::join!(state.app.store.ping(), state.app.bus.is_healthy());
    let body = json!({
        "status": if database && bus { "ready" } else { "unavailable" },
        "database": if database { "up" } else { "down" },
        "eventBus": { "backend": state.app.bus.backend_name(), "status": if bus { "up" } else { "down" } },
        // Optional integrations: not ready-or-not, but what an operator must set to use them.
        "reminderCalls": {
            "configured": state.app.config.livekit.missing().is_empty(),
            "missing": state.app.config.livekit.missing(),
        },
        // Billing is off without a Stripe key: every tenant is then on the default plan.
        "billing": {
            "enabled": state.app.config.billing_enabled(),
            "missing": state.app.config.stripe.missing(),
            "plans": state.app.config.plans_source,
            "defaultPlan": state.app.config.plans.default_plan,
        },
        "phoneAgent": {
            "configured": state.app.config.phone_agent_missing().is_empty(),
            "missing": state.app.config.phone_agent_missing(),
        },
    });
    let status = if database && bus {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Prometheus text format. When `LEADLINE_METRICS_TOKEN` is set, only for
/// `Authorization: Bearer <that token>`: the series name routes, outcomes and volumes, which are
/// nobody else's business.
pub async fn metrics(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.app.config.metrics_token {
        let given = bearer(
            headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        )
        .unwrap_or("");
        // Compare digests, so neither the content nor the length of the token leaks by timing.
        if !constant_time_eq(&sha256_hex(given), &sha256_hex(expected)) {
            return ApiError::Unauthenticated(
                "send Authorization: Bearer <LEADLINE_METRICS_TOKEN>".into(),
            )
            .into_response();
        }
    }
    match &state.metrics {
        Some(handle) => ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"errors": [{"message": "metrics are not enabled in this process", "extensions": {"code": "UNAVAILABLE"}}]}))).into_response(),
    }
}
