//! A loopback fake of the YouTube live-chat wire format (feature `fake`), for this crate's tests
//! and the api's end-to-end tests (point `YOUTUBE_API_BASE` at `base_url()`).
//!
//! An axum server on `127.0.0.1:0` serving `GET /youtube/v3/videos`,
//! `GET /youtube/v3/liveChat/messages` and `POST /youtube/v3/liveChat/messages` the way
//! platforms.md §1 describes them:
//! - auth: `Authorization: Bearer <token>` or `?key=<api key>` (reads only); anything else is 401
//!   in Google's error envelope;
//! - chats are scripted: tests push messages; the first list returns the history, each page
//!   carries a fresh `nextPageToken` and the chat's `pollingIntervalMillis`; inserted messages
//!   are recorded and appear in the chat like the real API echoes the bot's own lines;
//! - it polices the client: re-sending a page token that was already answered, or polling a chat
//!   sooner than the interval it was told, is recorded as a [`Violation`] (request times use
//!   tokio's clock, so tests under `tokio::time::pause` see exact virtual times);
//! - failures are injected one request at a time: quota errors (`quotaExceeded`,
//!   `dailyLimitExceeded`), 401, 404 `liveChatNotFound`, 403 `liveChatEnded`, 429, 5xx.
//!
//! Not for production: it trusts its caller, keeps everything in memory, and stops when dropped.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// The OAuth token the fake accepts unless started with others.
pub const DEFAULT_OAUTH_TOKEN: &str = "ya29.fake-oauth-token";
/// The API key the fake accepts unless started with others.
pub const DEFAULT_API_KEY: &str = "AIza-fake-api-key";
/// The channel id of the token's owner (the bot), used for inserted messages.
pub const BOT_CHANNEL_ID: &str = "UCbot0000000000000000000";

/// A failure to answer one request with, instead of serving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 403 `youtube.quota` / `quotaExceeded`.
    QuotaExceeded,
    /// 403 `usageLimits` / `dailyLimitExceeded`.
    DailyLimitExceeded,
    /// 401 `authError`.
    Unauthorized,
    /// 404 `liveChatNotFound`.
    NotFound,
    /// 403 `liveChatEnded`.
    ChatEnded,
    /// 403 `rateLimitExceeded` with an optional `Retry-After`.
    RateLimited {
        /// `Retry-After` seconds.
        retry_after_secs: Option<u64>,
    },
    /// This 5xx status with a `backendError` body.
    ServerError(u16),
    /// Wait this long, then serve normally (for client timeouts).
    Slow(Duration),
}

/// A rule the client broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A page token that had already been answered was sent again.
    TokenReused {
        /// The token.
        token: String,
    },
    /// A list request came sooner than the interval the previous page asked for.
    PolledTooSoon {
        /// The chat.
        live_chat_id: String,
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
    /// Path without the query.
    pub path: String,
    /// Query parameters (repeated names: the last value).
    pub query: BTreeMap<String, String>,
    /// Headers, lower-cased names.
    pub headers: BTreeMap<String, String>,
    /// JSON body (`Null` if none or not JSON).
    pub body: Value,
    /// Arrival on tokio's clock.
    pub at: Instant,
    /// The status answered.
    pub status: u16,
}

impl RecordedRequest {
    /// A header by case-insensitive name.
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

#[derive(Debug, Default)]
struct Chat {
    messages: Vec<Value>,
    /// token -> index of the first message that page starts at.
    tokens: HashMap<String, usize>,
    answered_tokens: HashSet<String>,
    polling_interval_ms: u64,
    /// When the last page was answered and the interval it carried.
    last_answer: Option<(Instant, Duration)>,
    offline_at: Option<String>,
    ended: bool,
    inserted: Vec<Value>,
}

#[derive(Debug, Default)]
struct State_ {
    videos: HashMap<String, Value>,
    chats: HashMap<String, Chat>,
    failures: VecDeque<Failure>,
    requests: Vec<RecordedRequest>,
    violations: Vec<Violation>,
    next_id: u64,
}

#[derive(Debug)]
struct Shared {
    oauth_token: String,
    api_key: String,
    state: Mutex<State_>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State_> {
        // A panicking test must not poison every later request.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The running fake.
#[derive(Debug)]
pub struct FakeYoutube {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for FakeYoutube {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl FakeYoutube {
    /// Starts a fake accepting [`DEFAULT_OAUTH_TOKEN`] and [`DEFAULT_API_KEY`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(DEFAULT_OAUTH_TOKEN, DEFAULT_API_KEY).await
    }

    /// Starts a fake accepting exactly these credentials.
    pub async fn start_with(oauth_token: &str, api_key: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            oauth_token: oauth_token.to_owned(),
            api_key: api_key.to_owned(),
            state: Mutex::new(State_::default()),
        });
        let router = Router::new()
            .route("/youtube/v3/videos", get(videos))
            .route(
                "/youtube/v3/liveChat/messages",
                get(list_messages).post(insert_message),
            )
            .fallback(not_found)
            .with_state(Arc::clone(&shared));
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
                tracing::warn!(%error, "fake YouTube server stopped with an error");
            }
        });
        Ok(Self {
            base_url,
            shared,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:<port>`: what `YOUTUBE_API_BASE` should be.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The OAuth token the fake accepts.
    pub fn oauth_token(&self) -> &str {
        &self.shared.oauth_token
    }

    /// The API key the fake accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// A video that is live now with chat `live_chat_id` (polling interval 5,000 ms).
    pub fn add_live_video(&self, video_id: &str, live_chat_id: &str) {
        let mut state = self.shared.lock();
        state.videos.insert(
            video_id.to_owned(),
            json!({"actualStartTime": "2024-01-01T10:00:00Z", "concurrentViewers": "42",
                   "activeLiveChatId": live_chat_id}),
        );
        state.chats.entry(live_chat_id.to_owned()).or_insert(Chat {
            polling_interval_ms: 5_000,
            ..Chat::default()
        });
    }

    /// A video whose broadcast has ended (no `activeLiveChatId`).
    pub fn add_ended_video(&self, video_id: &str) {
        self.shared.lock().videos.insert(
            video_id.to_owned(),
            json!({"actualStartTime": "2024-01-01T10:00:00Z", "actualEndTime": "2024-01-01T11:00:00Z"}),
        );
    }

    /// Sets the `pollingIntervalMillis` the chat's next pages carry.
    pub fn set_polling_interval(&self, live_chat_id: &str, millis: u64) {
        self.shared
            .lock()
            .chats
            .entry(live_chat_id.to_owned())
            .or_default()
            .polling_interval_ms = millis;
    }

    /// Appends a viewer's text message; returns its id.
    pub fn push_text(&self, live_chat_id: &str, author: &str, text: &str) -> String {
        let mut state = self.shared.lock();
        state.next_id += 1;
        let id = format!("LCC.fake{}", state.next_id);
        let message = text_message(&id, live_chat_id, &format!("UC{author}"), author, text);
        state
            .chats
            .entry(live_chat_id.to_owned())
            .or_default()
            .messages
            .push(message);
        id
    }

    /// Appends any `liveChatMessage` JSON as is.
    pub fn push_raw(&self, live_chat_id: &str, message: Value) {
        self.shared
            .lock()
            .chats
            .entry(live_chat_id.to_owned())
            .or_default()
            .messages
            .push(message);
    }

    /// From the next page on, pages carry `offlineAt`.
    pub fn go_offline(&self, live_chat_id: &str, offline_at: &str) {
        self.shared
            .lock()
            .chats
            .entry(live_chat_id.to_owned())
            .or_default()
            .offline_at = Some(offline_at.to_owned());
    }

    /// From now on, every request for the chat answers 403 `liveChatEnded`.
    pub fn end_chat(&self, live_chat_id: &str) {
        self.shared
            .lock()
            .chats
            .entry(live_chat_id.to_owned())
            .or_default()
            .ended = true;
    }

    /// Answers the next request not yet scripted with `failure`.
    pub fn fail_next(&self, failure: Failure) {
        self.shared.lock().failures.push_back(failure);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The rules the client broke (should stay empty).
    pub fn violations(&self) -> Vec<Violation> {
        self.shared.lock().violations.clone()
    }

    /// The text messages inserted into a chat, as the request bodies' snippets.
    pub fn inserted(&self, live_chat_id: &str) -> Vec<Value> {
        self.shared
            .lock()
            .chats
            .get(live_chat_id)
            .map(|chat| chat.inserted.clone())
            .unwrap_or_default()
    }
}

/// A `textMessageEvent` in the exact shape of platforms.md §1.
pub fn text_message(
    id: &str,
    live_chat_id: &str,
    channel_id: &str,
    name: &str,
    text: &str,
) -> Value {
    json!({
        "kind": "youtube#liveChatMessage", "etag": format!("etag-{id}"), "id": id,
        "snippet": {"type": "textMessageEvent", "liveChatId": live_chat_id,
            "authorChannelId": channel_id, "publishedAt": "2024-01-01T10:00:05.123Z",
            "hasDisplayContent": true, "displayMessage": text,
            "textMessageDetails": {"messageText": text}},
        "authorDetails": {"channelId": channel_id,
            "channelUrl": format!("http://www.youtube.com/channel/{channel_id}"),
            "displayName": name, "profileImageUrl": "https://yt3.example/p.jpg",
            "isVerified": false, "isChatOwner": false, "isChatSponsor": false,
            "isChatModerator": false}
    })
}

/// Google's error envelope.
fn google_error(status: StatusCode, domain: &str, reason: &str, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"error": {"code": status.as_u16(), "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}]}}),
        ),
    )
        .into_response()
}

fn failure_response(failure: &Failure) -> Option<Response> {
    Some(match failure {
        Failure::QuotaExceeded => google_error(
            StatusCode::FORBIDDEN,
            "youtube.quota",
            "quotaExceeded",
            "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
        ),
        Failure::DailyLimitExceeded => google_error(
            StatusCode::FORBIDDEN,
            "usageLimits",
            "dailyLimitExceeded",
            "Daily Limit Exceeded.",
        ),
        Failure::Unauthorized => unauthorized(),
        Failure::NotFound => google_error(
            StatusCode::NOT_FOUND,
            "youtube.liveChat",
            "liveChatNotFound",
            "The live chat that you are trying to retrieve cannot be found.",
        ),
        Failure::ChatEnded => chat_ended(),
        Failure::RateLimited { retry_after_secs } => {
            let mut response = google_error(
                StatusCode::FORBIDDEN,
                "youtube.liveChat",
                "rateLimitExceeded",
                "The request was sent too soon after the previous one.",
            );
            if let Some(seconds) = retry_after_secs {
                if let Ok(value) = seconds.to_string().parse() {
                    response.headers_mut().insert("retry-after", value);
                }
            }
            response
        }
        Failure::ServerError(status) => google_error(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "global",
            "backendError",
            "Backend Error",
        ),
        Failure::Slow(_) => return None,
    })
}

fn unauthorized() -> Response {
    google_error(
        StatusCode::UNAUTHORIZED,
        "global",
        "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    )
}

fn chat_ended() -> Response {
    google_error(
        StatusCode::FORBIDDEN,
        "youtube.liveChat",
        "liveChatEnded",
        "The specified live chat is no longer live.",
    )
}

/// How the request authenticated.
#[derive(PartialEq)]
enum Caller {
    OAuth,
    ApiKey,
    Anonymous,
}

fn auth(shared: &Shared, headers: &HeaderMap, query: &HashMap<String, String>) -> Caller {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer == Some(shared.oauth_token.as_str()) {
        Caller::OAuth
    } else if bearer.is_none() && query.get("key") == Some(&shared.api_key) {
        Caller::ApiKey
    } else {
        Caller::Anonymous
    }
}

/// Records the request, then applies a scripted failure (if any) and auth; `Ok` means "serve".
async fn admit(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: &[u8],
) -> (usize, Result<Caller, Response>) {
    let (index, failure) = {
        let mut state = shared.lock();
        state.requests.push(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: query.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            headers: headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
            at: Instant::now(),
            status: 0,
        });
        (state.requests.len() - 1, state.failures.pop_front())
    };
    if let Some(failure) = failure {
        if let Failure::Slow(delay) = failure {
            tokio::time::sleep(delay).await;
        } else if let Some(response) = failure_response(&failure) {
            return (index, Err(response));
        }
    }
    match auth(shared, headers, query) {
        Caller::Anonymous => (index, Err(unauthorized())),
        found => (index, Ok(found)),
    }
}

fn finish(shared: &Shared, index: usize, response: Response) -> Response {
    if let Some(request) = shared.lock().requests.get_mut(index) {
        request.status = response.status().as_u16();
    }
    response
}

async fn not_found(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let (index, _) = admit(&shared, &method, &uri, &headers, &query, &body).await;
    let response = google_error(StatusCode::NOT_FOUND, "global", "notFound", "Not Found");
    finish(&shared, index, response)
}

async fn videos(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (index, admitted) = admit(&shared, &method, &uri, &headers, &query, &[]).await;
    let response = match admitted {
        Err(response) => response,
        Ok(_) => {
            let part = query.get("part").map(String::as_str).unwrap_or_default();
            match query.get("id") {
                None => google_error(
                    StatusCode::BAD_REQUEST,
                    "youtube.parameter",
                    "missingRequiredParameter",
                    "No filter selected. Expected one of: id, chart, myRated",
                ),
                Some(_) if part.is_empty() => google_error(
                    StatusCode::BAD_REQUEST,
                    "youtube.parameter",
                    "missingRequiredParameter",
                    "Required parameter: part",
                ),
                Some(id) => {
                    let state = shared.lock();
                    let items: Vec<Value> = state
                        .videos
                        .get(id)
                        .map(|details| {
                            let mut video = json!({"kind": "youtube#video", "etag": "v", "id": id});
                            if part.split(',').any(|p| p == "liveStreamingDetails") {
                                video["liveStreamingDetails"] = details.clone();
                            }
                            video
                        })
                        .into_iter()
                        .collect();
                    axum::Json(json!({"kind": "youtube#videoListResponse", "etag": "l",
                        "items": items,
                        "pageInfo": {"totalResults": items.len(), "resultsPerPage": items.len()}}))
                    .into_response()
                }
            }
        }
    };
    finish(&shared, index, response)
}

async fn list_messages(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (index, admitted) = admit(&shared, &method, &uri, &headers, &query, &[]).await;
    let response = match admitted {
        Err(response) => response,
        Ok(_) => serve_page(&shared, &query),
    };
    finish(&shared, index, response)
}

fn serve_page(shared: &Shared, query: &HashMap<String, String>) -> Response {
    let Some(chat_id) = query.get("liveChatId") else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "youtube.liveChat",
            "liveChatIdRequired",
            "You must specify the liveChatId parameter.",
        );
    };
    let parts = query.get("part").map(String::as_str).unwrap_or_default();
    if parts.is_empty() {
        return google_error(
            StatusCode::BAD_REQUEST,
            "youtube.parameter",
            "missingRequiredParameter",
            "Required parameter: part",
        );
    }
    let max_results = match query.get("maxResults").map(|m| m.parse::<usize>()) {
        None => 500,
        Some(Ok(n)) if (200..=2000).contains(&n) => n,
        Some(_) => {
            return google_error(
                StatusCode::BAD_REQUEST,
                "youtube.parameter",
                "invalidParameter",
                "maxResults must be between 200 and 2000",
            )
        }
    };
    let now = Instant::now();
    let mut state = shared.lock();
    let state = &mut *state;
    state.next_id += 1;
    let next_token = format!("tok{}", state.next_id);
    let Some(chat) = state.chats.get_mut(chat_id) else {
        return google_error(
            StatusCode::NOT_FOUND,
            "youtube.liveChat",
            "liveChatNotFound",
            "The live chat that you are trying to retrieve cannot be found.",
        );
    };
    if chat.ended {
        return chat_ended();
    }
    let start = match query.get("pageToken") {
        None => 0,
        Some(token) => match chat.tokens.get(token) {
            Some(start) => {
                if !chat.answered_tokens.insert(token.clone()) {
                    state.violations.push(Violation::TokenReused {
                        token: token.clone(),
                    });
                }
                *start
            }
            None => {
                return google_error(
                    StatusCode::BAD_REQUEST,
                    "youtube.liveChat",
                    "invalidPageToken",
                    "The page token is invalid.",
                )
            }
        },
    };
    if let Some((previous, required)) = chat.last_answer {
        let elapsed = now.saturating_duration_since(previous);
        if elapsed < required {
            state.violations.push(Violation::PolledTooSoon {
                live_chat_id: chat_id.clone(),
                elapsed,
                required,
            });
        }
    }
    let end = chat.messages.len().min(start + max_results);
    let items: Vec<Value> = chat.messages[start..end]
        .iter()
        .map(|m| keep_parts(m, parts))
        .collect();
    chat.tokens.insert(next_token.clone(), end);
    let interval = chat.polling_interval_ms;
    chat.last_answer = Some((now, Duration::from_millis(interval)));
    let mut page = json!({"kind": "youtube#liveChatMessageListResponse", "etag": "p",
        "nextPageToken": next_token, "pollingIntervalMillis": interval,
        "pageInfo": {"totalResults": items.len(), "resultsPerPage": items.len()},
        "items": items});
    if let Some(offline_at) = &chat.offline_at {
        page["offlineAt"] = json!(offline_at);
    }
    axum::Json(page).into_response()
}

/// Drops the parts the request did not ask for, like the real API.
fn keep_parts(message: &Value, parts: &str) -> Value {
    let mut message = message.clone();
    if let Some(object) = message.as_object_mut() {
        for (part, field) in [("snippet", "snippet"), ("authorDetails", "authorDetails")] {
            if !parts.split(',').any(|p| p == part) {
                object.remove(field);
            }
        }
    }
    message
}

async fn insert_message(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let (index, admitted) = admit(&shared, &method, &uri, &headers, &query, &body).await;
    let response = match admitted {
        Err(response) => response,
        // Writes need OAuth; an API key alone is "login required".
        Ok(Caller::ApiKey) | Ok(Caller::Anonymous) => unauthorized(),
        Ok(Caller::OAuth) => insert(&shared, &query, &body),
    };
    finish(&shared, index, response)
}

fn insert(shared: &Shared, query: &HashMap<String, String>, body: &[u8]) -> Response {
    if query.get("part").map(String::as_str) != Some("snippet") {
        return google_error(
            StatusCode::BAD_REQUEST,
            "youtube.parameter",
            "missingRequiredParameter",
            "Required parameter: part",
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "global",
            "parseError",
            "Parse Error",
        );
    };
    let snippet = &body["snippet"];
    let Some(chat_id) = snippet["liveChatId"].as_str() else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "youtube.liveChat",
            "liveChatIdRequired",
            "You must specify the liveChatId.",
        );
    };
    if snippet["type"].as_str().is_none() {
        return google_error(
            StatusCode::BAD_REQUEST,
            "youtube.liveChat",
            "typeRequired",
            "The type is required.",
        );
    }
    let text = snippet["textMessageDetails"]["messageText"]
        .as_str()
        .unwrap_or_default();
    if text.is_empty() {
        return google_error(
            StatusCode::BAD_REQUEST,
            "youtube.liveChat",
            "messageTextRequired",
            "The message text is required.",
        );
    }
    let mut state = shared.lock();
    state.next_id += 1;
    let id = format!("LCC.bot{}", state.next_id);
    let Some(chat) = state.chats.get_mut(chat_id) else {
        return google_error(
            StatusCode::NOT_FOUND,
            "youtube.liveChat",
            "liveChatNotFound",
            "The live chat that you are trying to insert into cannot be found.",
        );
    };
    if chat.ended {
        return chat_ended();
    }
    let mut created = text_message(&id, chat_id, BOT_CHANNEL_ID, "Leadline Bot", text);
    created["authorDetails"]["isChatOwner"] = json!(true);
    chat.inserted.push(snippet.clone());
    chat.messages.push(created.clone());
    // The insert answer carries the snippet only (part=snippet).
    axum::Json(keep_parts(&created, "snippet")).into_response()
}
