//! `FakeTikTok` (feature `fake`): the API for Business DM send endpoint on loopback, speaking its
//! envelope (`{"code","message","request_id","data"}`), plus webhooks signed with either scheme,
//! for this crate's tests and the api's end-to-end tests (point `TIKTOK_API_BASE` at
//! `base_url()`).
//!
//! It also serves our LIVE wrapper format (`crate::live`; UNCONFIRMED, ours): `GET
//! /open_api/v1.3/live/status/` and `GET /open_api/v1.3/live/comments/`, with the same token
//! check as the send (missing 40104, wrong 40105). Rooms are scripted ([`FakeTikTok::set_live`],
//! [`FakeTikTok::push_comment`], [`FakeTikTok::end_live`]); comments are served oldest first in
//! pages of at most [`FakeTikTok::set_live_page_size`] with a fresh opaque cursor, `has_more`
//! and the configured `poll_interval_ms`; an unknown user or room is envelope code 40404
//! (`live::CODE_NOT_FOUND`), an unknown cursor 40002. Like the YouTube fake it polices the
//! client: re-sending an answered cursor or polling sooner than the interval it was told is
//! recorded as a [`LiveViolation`] (times on tokio's clock, exact under `tokio::time::pause`).
//! It signs `live.comment` / `live.end` webhooks.
//!
//! Like the real API it answers most errors with HTTP 200 and a non-zero `code` (bad token
//! 40105, bad parameter 40002), records every request, and can inject failures for the next N
//! requests (429 + `Retry-After`, 500, delays, envelope codes, malformed bodies). Not for
//! production: in memory, stops when dropped.
//!
//! Layout: this file is the server (start, request log, failure injection, token check,
//! envelope, routing); `business` holds the API for Business DM send and the signed webhooks;
//! `live` holds the LIVE wrapper's rooms, comment pages and polling rules.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::client::{API_PREFIX, DEFAULT_SEND_PATH};
use crate::live::{COMMENTS_PATH, STATUS_PATH};

mod business;
mod live;

pub use business::SignedWebhook;
pub use live::{
    live_comment, LiveViolation, DEFAULT_LIVE_PAGE_SIZE, DEFAULT_LIVE_POLL_INTERVAL_MS,
};

use live::LiveState;

/// A failure to inject into the next request(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429 with envelope code 40100, and `Retry-After: <secs>` when given.
    RateLimited {
        /// Value of the `Retry-After` header.
        retry_after_secs: Option<u64>,
    },
    /// HTTP 500 with envelope code 50000.
    ServerError,
    /// HTTP 401 with envelope code 40105.
    Unauthorized,
    /// A bare HTTP 404 (not the envelope).
    NotFound,
    /// HTTP 200 with this non-zero envelope code.
    ApiError {
        /// `code`.
        code: i64,
        /// `message`.
        message: String,
    },
    /// Wait this long, then answer normally (trips client timeouts).
    Delay(Duration),
    /// HTTP 200 with a body that is not JSON.
    MalformedBody,
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Query parameters, decoded (repeated names: the last value).
    pub query: BTreeMap<String, String>,
    /// Arrival on tokio's clock.
    pub at: Instant,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (`Value::Null` when not JSON).
    pub body: Value,
    /// The HTTP status answered.
    pub status: Option<u16>,
}

impl RecordedRequest {
    /// A header's value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }
}

/// What the fake business account is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTikTokConfig {
    /// The app's client key (in webhooks).
    pub client_key: String,
    /// The client secret webhooks are signed with.
    pub client_secret: String,
    /// The business id sends must carry.
    pub business_id: String,
    /// The account's open id (`user_openid` of webhooks).
    pub business_open_id: String,
    /// The access token accepted.
    pub access_token: String,
}

impl Default for FakeTikTokConfig {
    fn default() -> Self {
        Self {
            client_key: "awfakeclientkey01".into(),
            client_secret: "fake-tiktok-client-secret".into(),
            business_id: "7000000000000000001".into(),
            business_open_id: "act.fakebusinessopenid".into(),
            access_token: "act.fakeAccessToken".into(),
        }
    }
}

#[derive(Debug)]
struct Shared {
    config: FakeTikTokConfig,
    failures: Mutex<VecDeque<Failure>>,
    requests: Mutex<Vec<RecordedRequest>>,
    sent: Mutex<Vec<Value>>,
    live: Mutex<LiveState>,
    counter: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not turn every later request into a second panic.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// The running fake; stops when dropped.
#[derive(Debug)]
pub struct FakeTikTok {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl FakeTikTok {
    /// Starts a fake with [`FakeTikTokConfig::default`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeTikTokConfig::default()).await
    }

    /// Starts a fake for `config` on `127.0.0.1:0`.
    pub async fn start_with(config: FakeTikTokConfig) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            config,
            failures: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            sent: Mutex::new(Vec::new()),
            live: Mutex::new(LiveState::new()),
            counter: AtomicU64::new(0),
        });
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "fake TikTok server stopped with an error");
            }
        });
        Ok(Self {
            base_url,
            shared,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:<port>`: what `TIKTOK_API_BASE` should be.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Injects `failure` into each of the next `n` requests.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        lock(&self.shared.failures).extend(std::iter::repeat_n(failure, n));
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }
}

impl Drop for FakeTikTok {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn json_headers() -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The API for Business envelope with `status`.
fn envelope(
    shared: &Shared,
    status: StatusCode,
    code: i64,
    message: &str,
    data: Value,
) -> Response {
    let request_id = format!("2024{:016}", shared.next_id());
    (
        status,
        axum::Json(
            json!({"code": code, "message": message, "request_id": request_id, "data": data}),
        ),
    )
        .into_response()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // An undecodable query is served as an empty one: the route then names the missing field.
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let index = {
        let mut requests = lock(&shared.requests);
        requests.push(RecordedRequest {
            method: method.as_str().to_owned(),
            path: uri.path().to_owned(),
            query: query.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            at: Instant::now(),
            headers: headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            status: None,
        });
        requests.len() - 1
    };
    let failure = lock(&shared.failures).pop_front();
    let response = match failure {
        Some(Failure::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            route(&shared, &method, &uri, &query, &headers, &body)
        }
        Some(Failure::RateLimited { retry_after_secs }) => {
            let mut response = envelope(
                &shared,
                StatusCode::TOO_MANY_REQUESTS,
                40100,
                "Too many requests. Please retry in some time.",
                json!({}),
            );
            if let Some(secs) = retry_after_secs {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from(secs));
            }
            response
        }
        Some(Failure::ServerError) => envelope(
            &shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            50000,
            "System error",
            json!({}),
        ),
        Some(Failure::Unauthorized) => envelope(
            &shared,
            StatusCode::UNAUTHORIZED,
            40105,
            "The access token is invalid or has been revoked.",
            json!({}),
        ),
        Some(Failure::NotFound) => (StatusCode::NOT_FOUND, "404 page not found").into_response(),
        Some(Failure::ApiError { code, message }) => {
            envelope(&shared, StatusCode::OK, code, &message, json!({}))
        }
        Some(Failure::MalformedBody) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            "{\"code\":0,\"data\":",
        )
            .into_response(),
        None => route(&shared, &method, &uri, &query, &headers, &body),
    };
    if let Some(request) = lock(&shared.requests).get_mut(index) {
        request.status = Some(response.status().as_u16());
    }
    response
}

fn route(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let send_path = format!("{API_PREFIX}{DEFAULT_SEND_PATH}");
    let path = uri.path();
    let known = (method == Method::POST && path == send_path)
        || (method == Method::GET && (path == STATUS_PATH || path == COMMENTS_PATH));
    if !known {
        return (StatusCode::NOT_FOUND, "404 page not found").into_response();
    }
    if let Some(refused) = refuse_token(shared, headers) {
        return refused;
    }
    match path {
        STATUS_PATH => live::live_status(shared, query),
        COMMENTS_PATH => live::live_comments(shared, query),
        _ => business::send(shared, body),
    }
}

/// Like the API for Business: token problems are HTTP 200 with a non-zero code.
fn refuse_token(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let token = headers.get("access-token").and_then(|v| v.to_str().ok());
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Some(envelope(
            shared,
            StatusCode::OK,
            40104,
            "Access token is null.",
            json!({}),
        ));
    };
    if !bool::from(
        token
            .as_bytes()
            .ct_eq(shared.config.access_token.as_bytes()),
    ) {
        return Some(envelope(
            shared,
            StatusCode::OK,
            40105,
            "The access token is invalid or has been revoked.",
            json!({}),
        ));
    }
    None
}
