//! `FakeHelix`: `GET /helix/users`, `POST /helix/whispers` and `POST /helix/chat/messages` on
//! loopback (platforms.md §2.2).
//!
//! It checks `Authorization: Bearer` and `Client-Id` (401 otherwise), answers in Helix's JSON
//! and error shapes with `Ratelimit-*` headers, and enforces the whisper limits the way Twitch
//! does: `from_user_id` must be the token's user (401), the recipient must exist (404), at most 3
//! whispers a second and 100 a minute, and at most 40 distinct recipients a day — the 41st new
//! recipient gets 429 while known recipients still get through. Failures can be injected per
//! request (429 with a reset, 5xx, 401, slow answers). Every request is recorded.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{lock, serve};

/// The client id the fake accepts unless started with another.
pub const DEFAULT_CLIENT_ID: &str = "fakeclientid0123";
/// The access token the fake accepts unless started with another.
pub const DEFAULT_TOKEN: &str = "fakehelixtoken0123";
/// The user id the token belongs to (the bot).
pub const BOT_USER_ID: &str = "900000001";
/// Distinct whisper recipients per day (platforms.md §2.2).
pub const WHISPER_RECIPIENTS_PER_DAY: usize = 40;

/// A failure to answer one request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 429 with `Ratelimit-Reset` this many seconds ahead.
    RateLimited {
        /// Seconds until the reset.
        reset_in_secs: u64,
    },
    /// This 5xx status.
    ServerError(u16),
    /// 401 `Invalid OAuth token`.
    Unauthorized,
    /// Wait, then serve normally.
    Slow(Duration),
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query pairs in order (repeats kept).
    pub query: Vec<(String, String)>,
    /// Headers, lower-cased names.
    pub headers: BTreeMap<String, String>,
    /// JSON body (`Null` if none).
    pub body: Value,
    /// Arrival on tokio's clock.
    pub at: Instant,
    /// Status answered.
    pub status: u16,
}

impl RecordedRequest {
    /// A header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Every value of query parameter `name`.
    pub fn params(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A whisper Twitch accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whisper {
    /// Sender.
    pub from_user_id: String,
    /// Recipient.
    pub to_user_id: String,
    /// Text.
    pub message: String,
}

/// A bot the fake accepts besides the default one: its app's client id, token and user id.
#[derive(Debug, Clone)]
struct Bot {
    client_id: String,
    token: String,
    user_id: String,
}

#[derive(Default)]
struct HelixState {
    /// Bots accepted besides the default one (e.g. a tenant's own).
    bots: Vec<Bot>,
    users: Vec<Value>,
    /// Per sending bot, its distinct recipients today (Twitch counts per sender).
    recipients_today: BTreeMap<String, HashSet<String>>,
    whisper_times: Vec<Instant>,
    whispers: Vec<Whisper>,
    chat_messages: Vec<Value>,
    failures: VecDeque<Failure>,
    requests: Vec<RecordedRequest>,
}

struct HelixShared {
    client_id: String,
    token: String,
    state: Mutex<HelixState>,
}

/// The fake Helix server.
pub struct FakeHelix {
    base_url: String,
    shared: Arc<HelixShared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for FakeHelix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeHelix")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl Drop for FakeHelix {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl FakeHelix {
    /// Starts a fake accepting [`DEFAULT_CLIENT_ID`] and [`DEFAULT_TOKEN`]; the bot user
    /// (`leadbot`, [`BOT_USER_ID`]) exists.
    pub async fn start() -> std::io::Result<Self> {
        let shared = Arc::new(HelixShared {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            token: DEFAULT_TOKEN.to_owned(),
            state: Mutex::new(HelixState::default()),
        });
        let router = Router::new()
            .route("/helix/users", get(users))
            .route("/helix/whispers", post(whispers))
            .route("/helix/chat/messages", post(chat_messages))
            .fallback(not_found)
            .with_state(Arc::clone(&shared));
        let (addr, shutdown) = serve(router).await?;
        let fake = Self {
            base_url: format!("http://{addr}"),
            shared,
            shutdown: Some(shutdown),
        };
        fake.add_user(BOT_USER_ID, "leadbot");
        Ok(fake)
    }

    /// `http://127.0.0.1:<port>`: what `TWITCH_API_BASE` should be.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The accepted client id.
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    /// The accepted token.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Adds a user in the documented shape.
    pub fn add_user(&self, id: &str, login: &str) {
        lock(&self.shared.state).users.push(json!({
            "id": id, "login": login, "display_name": login, "type": "", "broadcaster_type": "",
            "description": "", "profile_image_url": "https://static-cdn.example/p.png",
            "offline_image_url": "", "view_count": 0, "created_at": "2016-12-14T20:32:28Z"}));
    }

    /// Accepts another bot from now on: requests with `client_id` and `token` act as user
    /// `user_id` (`login`), which is added as a user. Its whispers are limited apart from the
    /// default bot's, as Twitch limits each sender.
    pub fn add_bot(&self, client_id: &str, token: &str, user_id: &str, login: &str) {
        lock(&self.shared.state).bots.push(Bot {
            client_id: client_id.to_owned(),
            token: token.to_owned(),
            user_id: user_id.to_owned(),
        });
        self.add_user(user_id, login);
    }

    /// Answers the next request not yet scripted with `failure`.
    pub fn fail_next(&self, failure: Failure) {
        lock(&self.shared.state).failures.push_back(failure);
    }

    /// Starts a new Twitch day: the distinct-recipient count goes back to zero.
    pub fn new_day(&self) {
        lock(&self.shared.state).recipients_today.clear();
    }

    /// Whispers accepted so far.
    pub fn whispers(&self) -> Vec<Whisper> {
        lock(&self.shared.state).whispers.clone()
    }

    /// Bodies of accepted `POST /chat/messages`.
    pub fn chat_messages(&self) -> Vec<Value> {
        lock(&self.shared.state).chat_messages.clone()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.state).requests.clone()
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Helix's error body with rate-limit headers.
fn helix_error(status: StatusCode, message: &str, reset_in: u64) -> Response {
    let mut response = (
        status,
        axum::Json(
            json!({"error": status.canonical_reason().unwrap_or_default(),
            "status": status.as_u16(), "message": message}),
        ),
    )
        .into_response();
    let remaining = if status == StatusCode::TOO_MANY_REQUESTS {
        0
    } else {
        799
    };
    add_rate_headers(&mut response, remaining, reset_in);
    response
}

fn add_rate_headers(response: &mut Response, remaining: u64, reset_in: u64) {
    let headers = response.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", "800".to_owned()),
        ("ratelimit-remaining", remaining.to_string()),
        ("ratelimit-reset", (unix_now() + reset_in).to_string()),
    ] {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    }
}

fn ok_json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    add_rate_headers(&mut response, 799, 60);
    response
}

/// Records, applies an injected failure, then checks credentials; admitted, the user id the
/// token belongs to.
async fn admit(
    shared: &HelixShared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> (usize, Vec<(String, String)>, Result<String, Response>) {
    let query: Vec<(String, String)> = reqwest::Url::parse(&format!("http://fake{uri}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let (index, failure) = {
        let mut state = lock(&shared.state);
        state.requests.push(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: query.clone(),
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
    match failure {
        Some(Failure::RateLimited { reset_in_secs }) => {
            return (
                index,
                query,
                Err(helix_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too Many Requests",
                    reset_in_secs,
                )),
            )
        }
        Some(Failure::ServerError(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (
                index,
                query,
                Err(helix_error(status, "Internal Server Error", 60)),
            );
        }
        Some(Failure::Unauthorized) => {
            return (
                index,
                query,
                Err(helix_error(
                    StatusCode::UNAUTHORIZED,
                    "Invalid OAuth token",
                    60,
                )),
            )
        }
        Some(Failure::Slow(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
    let default_bot = Bot {
        client_id: shared.client_id.clone(),
        token: shared.token.clone(),
        user_id: BOT_USER_ID.to_owned(),
    };
    let bot = std::iter::once(default_bot)
        .chain(lock(&shared.state).bots.iter().cloned())
        .find(|bot| Some(bot.token.as_str()) == bearer);
    let Some(bot) = bot else {
        return (
            index,
            query,
            Err(helix_error(
                StatusCode::UNAUTHORIZED,
                "Invalid OAuth token",
                60,
            )),
        );
    };
    if header("client-id") != Some(bot.client_id.as_str()) {
        return (
            index,
            query,
            Err(helix_error(
                StatusCode::UNAUTHORIZED,
                "Client ID and OAuth token do not match",
                60,
            )),
        );
    }
    (index, query, Ok(bot.user_id))
}

fn finish(shared: &HelixShared, index: usize, response: Response) -> Response {
    if let Some(request) = lock(&shared.state).requests.get_mut(index) {
        request.status = response.status().as_u16();
    }
    response
}

async fn not_found(
    State(shared): State<Arc<HelixShared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (index, _, _) = admit(&shared, &method, &uri, &headers, &body).await;
    finish(
        &shared,
        index,
        helix_error(StatusCode::NOT_FOUND, "Not Found", 60),
    )
}

async fn users(
    State(shared): State<Arc<HelixShared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (index, query, admitted) = admit(&shared, &method, &uri, &headers, &[]).await;
    let response = match admitted {
        Err(response) => response,
        Ok(caller) => {
            let logins: Vec<&str> = query
                .iter()
                .filter(|(k, _)| k == "login")
                .map(|(_, v)| v.as_str())
                .collect();
            let ids: Vec<&str> = query
                .iter()
                .filter(|(k, _)| k == "id")
                .map(|(_, v)| v.as_str())
                .collect();
            if logins.len() + ids.len() > 100 {
                helix_error(StatusCode::BAD_REQUEST, "too many ids and logins", 60)
            } else {
                let state = lock(&shared.state);
                let data: Vec<Value> = state
                    .users
                    .iter()
                    .filter(|u| {
                        let login = u["login"].as_str().unwrap_or_default();
                        let id = u["id"].as_str().unwrap_or_default();
                        // With no filter, Helix returns the token's own user.
                        (logins.is_empty() && ids.is_empty() && id == caller)
                            || logins.contains(&login)
                            || ids.contains(&id)
                    })
                    .cloned()
                    .collect();
                ok_json(StatusCode::OK, json!({"data": data}))
            }
        }
    };
    finish(&shared, index, response)
}

async fn whispers(
    State(shared): State<Arc<HelixShared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (index, query, admitted) = admit(&shared, &method, &uri, &headers, &body).await;
    let response = match admitted {
        Err(response) => response,
        Ok(caller) => whisper(&shared, &caller, &query, &body),
    };
    finish(&shared, index, response)
}

fn whisper(
    shared: &HelixShared,
    caller: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Response {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (Some(from), Some(to)) = (param("from_user_id"), param("to_user_id")) else {
        return helix_error(
            StatusCode::BAD_REQUEST,
            "Missing required parameter from_user_id or to_user_id",
            60,
        );
    };
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|b| b["message"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if message.is_empty() {
        return helix_error(StatusCode::BAD_REQUEST, "The message field is required", 60);
    }
    if from != caller {
        return helix_error(
            StatusCode::UNAUTHORIZED,
            "The ID in from_user_id must match the user ID in the access token.",
            60,
        );
    }
    let now = Instant::now();
    let mut guard = lock(&shared.state);
    // Through a plain reference, so the fields can be borrowed apart.
    let state = &mut *guard;
    if !state.users.iter().any(|u| u["id"] == to.as_str()) {
        return helix_error(
            StatusCode::NOT_FOUND,
            "The ID in to_user_id was not found.",
            60,
        );
    }
    let last_second = state
        .whisper_times
        .iter()
        .filter(|t| now.duration_since(**t) < Duration::from_secs(1))
        .count();
    let last_minute = state
        .whisper_times
        .iter()
        .filter(|t| now.duration_since(**t) < Duration::from_secs(60))
        .count();
    if last_second >= 3 {
        return helix_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many whispers per second",
            1,
        );
    }
    if last_minute >= 100 {
        return helix_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many whispers per minute",
            60,
        );
    }
    let recipients = state.recipients_today.entry(from.clone()).or_default();
    if !recipients.contains(&to) && recipients.len() >= WHISPER_RECIPIENTS_PER_DAY {
        return helix_error(
            StatusCode::TOO_MANY_REQUESTS,
            "The sending user exceeded the number of whisper requests that they may make.",
            86_400,
        );
    }
    recipients.insert(to.clone());
    state.whisper_times.push(now);
    state.whispers.push(Whisper {
        from_user_id: from,
        to_user_id: to,
        message,
    });
    let mut response = StatusCode::NO_CONTENT.into_response();
    add_rate_headers(&mut response, 799, 60);
    response
}

async fn chat_messages(
    State(shared): State<Arc<HelixShared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (index, _, admitted) = admit(&shared, &method, &uri, &headers, &body).await;
    let response = match admitted {
        Err(response) => response,
        Ok(caller) => {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
            if field("broadcaster_id").is_empty()
                || field("sender_id").is_empty()
                || field("message").is_empty()
            {
                helix_error(
                    StatusCode::BAD_REQUEST,
                    "broadcaster_id, sender_id and message are required",
                    60,
                )
            } else if field("sender_id") != caller {
                helix_error(
                    StatusCode::FORBIDDEN,
                    "The sender must match the user ID in the access token.",
                    60,
                )
            } else {
                let mut state = lock(&shared.state);
                state.chat_messages.push(body.clone());
                let id = format!("helix-msg-{}", state.chat_messages.len());
                ok_json(
                    StatusCode::OK,
                    json!({"data": [{"message_id": id, "is_sent": true, "drop_reason": null}]}),
                )
            }
        }
    };
    finish(&shared, index, response)
}
