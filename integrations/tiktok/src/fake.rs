//! `FakeTikTok` (feature `fake`): the API for Business DM send endpoint on loopback, speaking its
//! envelope (`{"code","message","request_id","data"}`), plus webhooks signed with either scheme,
//! for this crate's tests and the api's end-to-end tests (point `TIKTOK_API_BASE` at
//! `base_url()`).
//!
//! Like the real API it answers most errors with HTTP 200 and a non-zero `code` (bad token
//! 40105, bad parameter 40002), records every request, and can inject failures for the next N
//! requests (429 + `Retry-After`, 500, delays, envelope codes, malformed bodies). Not for
//! production: in memory, stops when dropped.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use crate::client::{BusinessCredentials, API_PREFIX, DEFAULT_SEND_PATH};
use crate::signature;

/// Text limit the fake enforces (characters; secondary source, platforms.md §3 has none).
const MAX_TEXT_CHARS: usize = 6000;

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
}

/// A webhook body and the headers TikTok would send with it.
#[derive(Debug, Clone)]
pub struct SignedWebhook {
    /// `Content-Type` and the signature header(s).
    pub headers: http::HeaderMap,
    /// The exact signed bytes: post them unchanged.
    pub body: Vec<u8>,
    /// The DM's `message_id`, when it carries one.
    pub message_id: Option<String>,
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

    /// The credentials the fake accepts.
    pub fn credentials(&self) -> BusinessCredentials {
        BusinessCredentials {
            business_id: self.shared.config.business_id.clone(),
            access_token: self.shared.config.access_token.clone(),
        }
    }

    /// The client secret webhooks are signed with.
    pub fn client_secret(&self) -> &str {
        &self.shared.config.client_secret
    }

    /// Injects `failure` into each of the next `n` requests.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        lock(&self.shared.failures).extend(std::iter::repeat_n(failure, n));
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The bodies of the sends accepted, in order.
    pub fn sent_messages(&self) -> Vec<Value> {
        lock(&self.shared.sent).clone()
    }

    /// A DM webhook body (unsigned) from `sender_open_id`, with `content` as a string of
    /// serialised JSON (platforms.md §3).
    pub fn dm_webhook_body(
        &self,
        sender_open_id: &str,
        text: &str,
        message_id: &str,
        create_time: i64,
    ) -> Vec<u8> {
        let content = json!({
            "message_id": message_id,
            "open_id": sender_open_id,
            "message_type": "text",
            "text": text,
        });
        json!({
            "client_key": self.shared.config.client_key,
            "event": "direct_message.receive",
            "create_time": create_time,
            "user_openid": self.shared.config.business_open_id,
            "content": content.to_string(),
        })
        .to_string()
        .into_bytes()
    }

    /// A DM webhook signed now with `TikTok-Signature`, with a fresh `message_id`.
    pub fn signed_dm_webhook(&self, sender_open_id: &str, text: &str) -> SignedWebhook {
        self.signed_dm_webhook_at(sender_open_id, text, unix_now())
    }

    /// A DM webhook signed with `TikTok-Signature: t=<timestamp>,...` (for stale-timestamp tests).
    pub fn signed_dm_webhook_at(
        &self,
        sender_open_id: &str,
        text: &str,
        timestamp: i64,
    ) -> SignedWebhook {
        let message_id = self.next_message_id();
        let body = self.dm_webhook_body(sender_open_id, text, &message_id, timestamp);
        let mut signed = self.sign(body, timestamp);
        signed.message_id = Some(message_id);
        signed
    }

    /// A DM webhook signed with the legacy `X-Tiktok-Signature` (and `X-Tiktok-Timestamp`).
    pub fn legacy_signed_dm_webhook(&self, sender_open_id: &str, text: &str) -> SignedWebhook {
        let message_id = self.next_message_id();
        let now = unix_now();
        let body = self.dm_webhook_body(sender_open_id, text, &message_id, now);
        let mut signed = self.sign_legacy(body, &now.to_string());
        signed.message_id = Some(message_id);
        signed
    }

    /// Signs exact bytes with `TikTok-Signature` at `timestamp`.
    pub fn sign(&self, body: Vec<u8>, timestamp: i64) -> SignedWebhook {
        let value = signature::sign(&self.shared.config.client_secret, timestamp, &body);
        let mut headers = json_headers();
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(signature::HEADER, value);
        }
        SignedWebhook {
            headers,
            body,
            message_id: None,
        }
    }

    /// Signs exact bytes with the legacy scheme at `timestamp` (sent as `X-Tiktok-Timestamp`).
    pub fn sign_legacy(&self, body: Vec<u8>, timestamp: &str) -> SignedWebhook {
        let value = signature::sign_legacy(&self.shared.config.client_secret, timestamp, &body);
        let mut headers = json_headers();
        if let (Ok(signature), Ok(timestamp)) = (
            http::HeaderValue::from_str(&value),
            http::HeaderValue::from_str(timestamp),
        ) {
            headers.insert(signature::LEGACY_HEADER, signature);
            headers.insert(signature::LEGACY_TIMESTAMP_HEADER, timestamp);
        }
        SignedWebhook {
            headers,
            body,
            message_id: None,
        }
    }

    fn next_message_id(&self) -> String {
        format!("msg_fake_in_{}", self.shared.next_id())
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
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = {
        let mut requests = lock(&shared.requests);
        requests.push(RecordedRequest {
            method: method.as_str().to_owned(),
            path: uri.path().to_owned(),
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
            route(&shared, &method, &uri, &headers, &body)
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
        None => route(&shared, &method, &uri, &headers, &body),
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
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let send_path = format!("{API_PREFIX}{DEFAULT_SEND_PATH}");
    if method != Method::POST || uri.path() != send_path {
        return (StatusCode::NOT_FOUND, "404 page not found").into_response();
    }
    // Like the API for Business: token problems are HTTP 200 with a non-zero code.
    let token = headers.get("access-token").and_then(|v| v.to_str().ok());
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return envelope(
            shared,
            StatusCode::OK,
            40104,
            "Access token is null.",
            json!({}),
        );
    };
    if !bool::from(
        token
            .as_bytes()
            .ct_eq(shared.config.access_token.as_bytes()),
    ) {
        return envelope(
            shared,
            StatusCode::OK,
            40105,
            "The access token is invalid or has been revoked.",
            json!({}),
        );
    }
    let invalid = |message: &str| envelope(shared, StatusCode::OK, 40002, message, json!({}));
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return invalid("Invalid JSON.");
    };
    if request["business_id"] != shared.config.business_id.as_str() {
        return invalid("business_id: Invalid value.");
    }
    if request["open_id"].as_str().is_none_or(str::is_empty) {
        return invalid("open_id: Missing data for required field.");
    }
    if request["message_type"] != "text" {
        return invalid("message_type: Must be one of: text.");
    }
    let Some(text) = request["message_content"]["text"].as_str() else {
        return invalid("message_content.text: Missing data for required field.");
    };
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return invalid("message_content.text: Length must be between 1 and 6000.");
    }
    let message_id = format!("msg_fake_out_{}", shared.next_id());
    lock(&shared.sent).push(request);
    envelope(
        shared,
        StatusCode::OK,
        0,
        "OK",
        json!({"message_id": message_id}),
    )
}
