//! The seed-compatible cron shim: `POST /api/jobs/process` runs up to `max_jobs` due jobs now;
//! `GET /api/jobs/process` reports queue counts by status. Both need
//! `Authorization: Bearer $CRON_SECRET`; without CRON_SECRET configured the shim is off (404).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderMap};
use serde::Deserialize;
use serde_json::json;

use super::HttpState;
use crate::auth::{bearer, constant_time_eq};
use crate::error::ApiError;

/// Most jobs one cron call may run.
const MAX_JOBS_PER_CALL: u64 = 100;

fn authorize(state: &HttpState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(secret) = state.app.config.cron_secret.as_deref() else {
        return Err(ApiError::NotFound(
            "cron shim (set CRON_SECRET to enable it):",
        ));
    };
    let sent = bearer(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    match sent {
        Some(token) if constant_time_eq(token, secret) => Ok(()),
        _ => Err(ApiError::Unauthenticated(
            "send Authorization: Bearer <CRON_SECRET>".into(),
        )),
    }
}

/// Body of `POST /api/jobs/process`.
#[derive(Deserialize)]
struct ProcessRequest {
    max_jobs: Option<u64>,
}

/// `POST /api/jobs/process`.
pub async fn process(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(error) = authorize(&state, &headers) {
        return error.into_response();
    }
    let request: ProcessRequest = if body.is_empty() {
        ProcessRequest { max_jobs: None }
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(error) => {
                return ApiError::bad_input(
                    "body",
                    format!("expected {{\"max_jobs\": N}}: {error}"),
                )
                .into_response()
            }
        }
    };
    let max_jobs = request.max_jobs.unwrap_or(10);
    if !(1..=MAX_JOBS_PER_CALL).contains(&max_jobs) {
        return ApiError::bad_input("max_jobs", format!("between 1 and {MAX_JOBS_PER_CALL}"))
            .into_response();
    }
    let pool = crate::workers::worker_pool(&state.app);
    match pool.process_batch(max_jobs).await {
        Ok(report) => match state.app.jobs.counts(None).await {
            Ok(counts) => Json(json!({"processed": report.claimed, "completed": report.completed, "failed": report.failed, "queue": counts})).into_response(),
            Err(error) => error.into_response(),
        },
        Err(error) => error.into_response(),
    }
}

/// `GET /api/jobs/process`.
pub async fn counts(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    if let Err(error) = authorize(&state, &headers) {
        return error.into_response();
    }
    match state.app.jobs.counts(None).await {
        Ok(counts) => Json(json!({"queue": counts})).into_response(),
        Err(error) => error.into_response(),
    }
}
