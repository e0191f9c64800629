//! The axum router: `/graphql` (POST queries, GET GraphiQL), `/graphql/ws` (graphql-transport-ws),
//! `/healthz`, `/readyz`, `/metrics`, the cron shim, the messaging webhooks
//! `/api/webhook/{channel}/{tenantSlug}` and Stripe's `/api/webhook/stripe`. Every response carries an `x-request-id`; every error is
//! JSON with a stable code; a panic in a handler becomes a 500 JSON answer, not a dropped socket.

mod billing_webhooks;
mod graphql;
mod health;
mod jobs;
mod live_webhooks;
mod voice_webhooks;
mod webhooks;

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use std::sync::Arc;

use crate::error::ApiError;
use crate::graphql::socket::SocketRegistry;
use crate::graphql::AppSchema;
use crate::state::AppState;

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: AppSchema,
    pub metrics: Option<PrometheusHandle>,
    /// Open WebSockets per principal on this process.
    pub sockets: Arc<SocketRegistry>,
}

/// Builds the router.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/graphql", get(graphql::graphiql).post(graphql::graphql_post))
        .route("/graphql/ws", get(graphql::graphql_ws))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/jobs/process", get(jobs::counts).post(jobs::process))
        .route(
            "/api/webhook/twitch/eventsub",
            post(live_webhooks::twitch_eventsub),
        )
        .route(
            "/api/webhook/tiktok-live/{tenant_slug}",
            post(live_webhooks::tiktok_live),
        )
        .route("/api/webhook/livekit", post(voice_webhooks::livekit))
        .route("/api/webhook/stripe", post(billing_webhooks::stripe))
        .route(
            "/api/voice/twilio/incoming",
            post(voice_webhooks::twilio_incoming),
        )
        .route("/api/voice/twilio/status", post(voice_webhooks::twilio_status))
        .route(
            "/api/voice/twilio/dial-status",
            post(voice_webhooks::twilio_dial_status),
        )
        .route("/api/voice/twilio/sms", post(voice_webhooks::twilio_sms))
        .route(
            "/api/voice/twilio/outbound/{call_id}",
            post(voice_webhooks::twilio_outbound_answer),
        )
        .route(
            "/api/voice/twilio/outbound/{call_id}/status",
            post(voice_webhooks::twilio_outbound_status),
        )
        .route(
            "/api/voice/twilio/outbound/{call_id}/amd",
            post(voice_webhooks::twilio_outbound_amd),
        )
        .route(
            "/api/voice/twilio/media-stream",
            get(voice_webhooks::twilio_media_stream),
        )
        .route(
            "/api/voice/elevenlabs/post-call",
            post(voice_webhooks::elevenlabs_post_call),
        )
        .route(
            "/api/webhook/{channel}/{tenant_slug}",
            get(webhooks::verify).post(webhooks::receive),
        )
        .fallback(|| async { ApiError::NotFound("route").into_response() })
        .with_state(state)
        .layer(axum::middleware::from_fn(count_requests))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Counts and times requests by route template (not raw path: bounded labels) and status.
async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("leadline_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("leadline_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
