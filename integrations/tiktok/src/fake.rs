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

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
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

use crate::client::{BusinessCredentials, API_PREFIX, DEFAULT_SEND_PATH};
use crate::live::models::LiveCommentContent;
use crate::live::{
    LiveComment, LiveCredentials, LiveUser, CODE_NOT_FOUND, COMMENTS_PATH, EVENT_LIVE_COMMENT,
    EVENT_LIVE_END, STATUS_PATH,
};
use crate::signature;

/// Comments per page unless [`FakeTikTok::set_live_page_size`] says otherwise.
pub const DEFAULT_LIVE_PAGE_SIZE: usize = 50;
/// `poll_interval_ms` unless [`FakeTikTok::set_live_poll_interval_ms`] says otherwise.
pub const DEFAULT_LIVE_POLL_INTERVAL_MS: u64 = 2_000;

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

/// A LIVE polling rule the client broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveViolation {
    /// A cursor that had already been answered was sent again (a page read twice).
    CursorReused {
        /// The cursor.
        cursor: String,
    },
    /// A comments request came sooner than the interval the previous page asked for.
    PolledTooSoon {
        /// The room.
        room_id: String,
        /// Time since the previous answer.
        elapsed: Duration,
        /// The interval that page carried.
        required: Duration,
    },
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
    live: Mutex<LiveState>,
    counter: AtomicU64,
}

#[derive(Debug)]
struct LiveState {
    /// username → its current room.
    users: BTreeMap<String, String>,
    rooms: BTreeMap<String, Room>,
    page_size: usize,
    poll_interval_ms: u64,
    violations: Vec<LiveViolation>,
}

#[derive(Debug)]
struct Room {
    username: Option<String>,
    is_live: bool,
    comments: Vec<LiveComment>,
    /// cursor → index of the first comment of the page it starts.
    cursors: HashMap<String, usize>,
    answered: HashSet<String>,
    /// When the last page was answered and the interval it carried.
    last_answer: Option<(Instant, Duration)>,
}

impl Room {
    fn new(is_live: bool) -> Self {
        Self {
            username: None,
            is_live,
            comments: Vec::new(),
            cursors: HashMap::new(),
            answered: HashSet::new(),
            last_answer: None,
        }
    }
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
            live: Mutex::new(LiveState {
                users: BTreeMap::new(),
                rooms: BTreeMap::new(),
                page_size: DEFAULT_LIVE_PAGE_SIZE,
                poll_interval_ms: DEFAULT_LIVE_POLL_INTERVAL_MS,
                violations: Vec::new(),
            }),
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

    /// The credentials the fake's LIVE endpoints accept (the same token as the send).
    pub fn live_credentials(&self) -> LiveCredentials {
        LiveCredentials::new(self.shared.config.access_token.clone())
    }

    /// Points `username` at `room_id` and sets whether that room is live (creating it if new).
    pub fn set_live(&self, username: &str, room_id: &str, is_live: bool) {
        let mut live = lock(&self.shared.live);
        live.users.insert(username.to_owned(), room_id.to_owned());
        let room = live
            .rooms
            .entry(room_id.to_owned())
            .or_insert_with(|| Room::new(is_live));
        room.username = Some(username.to_owned());
        room.is_live = is_live;
    }

    /// Ends `room_id`'s LIVE: status and comment pages say `is_live: false` from now on (the
    /// comments not yet read are still served).
    pub fn end_live(&self, room_id: &str) {
        if let Some(room) = lock(&self.shared.live).rooms.get_mut(room_id) {
            room.is_live = false;
        }
    }

    /// Queues `comment` in `room_id` (a room not set with [`FakeTikTok::set_live`] is created
    /// live, without a username).
    pub fn push_comment(&self, room_id: &str, comment: LiveComment) {
        lock(&self.shared.live)
            .rooms
            .entry(room_id.to_owned())
            .or_insert_with(|| Room::new(true))
            .comments
            .push(comment);
    }

    /// The most comments one page carries (at least 1).
    pub fn set_live_page_size(&self, page_size: usize) {
        lock(&self.shared.live).page_size = page_size.max(1);
    }

    /// The `poll_interval_ms` comment pages carry from now on.
    pub fn set_live_poll_interval_ms(&self, poll_interval_ms: u64) {
        lock(&self.shared.live).poll_interval_ms = poll_interval_ms;
    }

    /// Every LIVE polling rule broken so far, in order.
    pub fn live_violations(&self) -> Vec<LiveViolation> {
        lock(&self.shared.live).violations.clone()
    }

    /// A `live.comment` webhook body (unsigned), `content` as a string of serialised JSON.
    pub fn live_comment_webhook_body(
        &self,
        room_id: &str,
        comment: &LiveComment,
        create_time: i64,
    ) -> Vec<u8> {
        let content = LiveCommentContent {
            room_id: room_id.to_owned(),
            comment: comment.clone(),
        };
        self.webhook_body(
            EVENT_LIVE_COMMENT,
            create_time,
            serde_json::to_value(content).unwrap_or(Value::Null),
        )
    }

    /// A `live.end` webhook body (unsigned).
    pub fn live_end_webhook_body(&self, room_id: &str, create_time: i64) -> Vec<u8> {
        self.webhook_body(EVENT_LIVE_END, create_time, json!({"room_id": room_id}))
    }

    /// A `live.comment` webhook signed now with `TikTok-Signature`.
    pub fn signed_live_comment_webhook(
        &self,
        room_id: &str,
        comment: &LiveComment,
    ) -> SignedWebhook {
        let now = unix_now();
        self.sign(self.live_comment_webhook_body(room_id, comment, now), now)
    }

    /// A `live.end` webhook signed now with `TikTok-Signature`.
    pub fn signed_live_end_webhook(&self, room_id: &str) -> SignedWebhook {
        let now = unix_now();
        self.sign(self.live_end_webhook_body(room_id, now), now)
    }

    fn webhook_body(&self, event: &str, create_time: i64, content: Value) -> Vec<u8> {
        json!({
            "client_key": self.shared.config.client_key,
            "event": event,
            "create_time": create_time,
            "user_openid": self.shared.config.business_open_id,
            "content": content.to_string(),
        })
        .to_string()
        .into_bytes()
    }

    fn next_message_id(&self) -> String {
        format!("msg_fake_in_{}", self.shared.next_id())
    }
}

/// A LIVE comment made now by `unique_id` (user id `uid_<unique_id>`, nickname = handle), for
/// [`FakeTikTok::push_comment`] and the webhook helpers.
pub fn live_comment(
    comment_id: &str,
    unique_id: &str,
    text: &str,
    is_follower: bool,
) -> LiveComment {
    LiveComment {
        comment_id: comment_id.to_owned(),
        create_time: unix_now(),
        text: text.to_owned(),
        user: LiveUser {
            user_id: format!("uid_{unique_id}"),
            unique_id: unique_id.to_owned(),
            nickname: unique_id.to_owned(),
            is_follower,
        },
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
        STATUS_PATH => live_status(shared, query),
        COMMENTS_PATH => live_comments(shared, query),
        _ => send(shared, body),
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

fn live_status(shared: &Shared, query: &HashMap<String, String>) -> Response {
    let Some(username) = query.get("username").filter(|u| !u.is_empty()) else {
        return envelope(
            shared,
            StatusCode::OK,
            40002,
            "username: Missing data for required field.",
            json!({}),
        );
    };
    let data = {
        let live = lock(&shared.live);
        let room = live
            .users
            .get(username)
            .and_then(|room_id| Some((room_id, live.rooms.get(room_id)?)));
        room.map(|(room_id, room)| {
            let viewers: HashSet<&str> = room
                .comments
                .iter()
                .map(|c| c.user.user_id.as_str())
                .collect();
            json!({"room_id": room_id, "is_live": room.is_live,
                   "title": format!("@{username} LIVE"), "viewer_count": viewers.len()})
        })
    };
    match data {
        Some(data) => envelope(shared, StatusCode::OK, 0, "OK", data),
        None => envelope(
            shared,
            StatusCode::OK,
            CODE_NOT_FOUND,
            "username: User not found.",
            json!({}),
        ),
    }
}

fn live_comments(shared: &Shared, query: &HashMap<String, String>) -> Response {
    let Some(room_id) = query.get("room_id").filter(|r| !r.is_empty()) else {
        return envelope(
            shared,
            StatusCode::OK,
            40002,
            "room_id: Missing data for required field.",
            json!({}),
        );
    };
    let now = Instant::now();
    let next_cursor = format!("cur_{}", shared.next_id());
    let answer = {
        let mut live = lock(&shared.live);
        let live = &mut *live;
        let (page_size, interval_ms) = (live.page_size, live.poll_interval_ms);
        let Some(room) = live.rooms.get_mut(room_id) else {
            return envelope(
                shared,
                StatusCode::OK,
                CODE_NOT_FOUND,
                "room_id: Room not found.",
                json!({}),
            );
        };
        let start = match query.get("cursor").filter(|c| !c.is_empty()) {
            None => 0,
            Some(cursor) => match room.cursors.get(cursor) {
                Some(start) => {
                    if !room.answered.insert(cursor.clone()) {
                        live.violations.push(LiveViolation::CursorReused {
                            cursor: cursor.clone(),
                        });
                    }
                    *start
                }
                None => {
                    return envelope(
                        shared,
                        StatusCode::OK,
                        40002,
                        "cursor: Invalid value.",
                        json!({}),
                    )
                }
            },
        };
        if let Some((previous, required)) = room.last_answer {
            let elapsed = now.saturating_duration_since(previous);
            if elapsed < required {
                live.violations.push(LiveViolation::PolledTooSoon {
                    room_id: room_id.clone(),
                    elapsed,
                    required,
                });
            }
        }
        let end = room.comments.len().min(start + page_size);
        let comments = room.comments.get(start..end).unwrap_or_default().to_vec();
        room.cursors.insert(next_cursor.clone(), end);
        room.last_answer = Some((now, Duration::from_millis(interval_ms)));
        json!({"comments": comments, "cursor": next_cursor,
               "has_more": end < room.comments.len(), "poll_interval_ms": interval_ms,
               "is_live": room.is_live})
    };
    envelope(shared, StatusCode::OK, 0, "OK", answer)
}

fn send(shared: &Shared, body: &Bytes) -> Response {
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
