//! `FakeMeta`: the Messenger / Instagram Send API and User Profile API on loopback, plus signed
//! `object: page` / `object: instagram` webhooks (platforms.md §5).
//!
//! Validation mirrors Graph's: token, Page id, `recipient.id`, `messaging_type` (and `tag` only
//! with `MESSAGE_TAG`), text length, and the 24 h window for users marked with
//! [`FakeMeta::close_window`] (code 10 / subcode 2018278 unless tagged `HUMAN_AGENT`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{
    graph_error, invalid_parameter, lock, unix_now, unknown_object, unknown_path, versioned_path,
    CoreConfig, Failure, GraphCore, RecordedRequest, Running, SignedWebhook,
};
use crate::client::{Channel, PageCredentials};
use crate::models::UserProfile;

/// Messenger's text limit (characters).
const MAX_TEXT_CHARS: usize = 2000;
/// Tags Graph accepts with `MESSAGE_TAG` (platforms.md §5).
const TAGS: &[&str] = &[
    "HUMAN_AGENT",
    "ACCOUNT_UPDATE",
    "CONFIRMED_EVENT_UPDATE",
    "POST_PURCHASE_UPDATE",
    "CUSTOMER_FEEDBACK",
];
const SENDER_ACTIONS: &[&str] = &["typing_on", "typing_off", "mark_seen", "react", "unreact"];

/// What the fake Page is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeMetaConfig {
    /// The Page id sends must use (`me` is accepted too).
    pub page_id: String,
    /// The Page access token accepted.
    pub access_token: String,
    /// The app secret webhooks are signed with.
    pub app_secret: String,
    /// The app id put on echoes of messages sent through the fake.
    pub app_id: String,
}

impl Default for FakeMetaConfig {
    fn default() -> Self {
        Self {
            page_id: "100000000000001".into(),
            access_token: "EAAfakePageToken".into(),
            app_secret: "fake-meta-app-secret".into(),
            app_id: "1517776481860111".into(),
        }
    }
}

#[derive(Debug)]
struct PageState {
    config: FakeMetaConfig,
    profiles: Mutex<HashMap<String, UserProfile>>,
    closed_windows: Mutex<HashSet<String>>,
    sent: Mutex<Vec<Value>>,
}

type AppState = (Arc<GraphCore>, Arc<PageState>);

/// The running fake; stops when dropped.
#[derive(Debug)]
pub struct FakeMeta {
    core: Arc<GraphCore>,
    page: Arc<PageState>,
    running: Running,
}

impl FakeMeta {
    /// Starts a fake with [`FakeMetaConfig::default`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeMetaConfig::default()).await
    }

    /// Starts a fake for `config`.
    pub async fn start_with(config: FakeMetaConfig) -> std::io::Result<Self> {
        let core = GraphCore::new(CoreConfig {
            access_token: config.access_token.clone(),
            app_secret: config.app_secret.clone(),
            throttle_code: 613,
            throttle_message: "(#613) Calls to this api have exceeded the rate limit.",
            server_error_code: 2,
            server_error_message:
                "An unexpected error has occurred. Please retry your request later.",
        });
        let page = Arc::new(PageState {
            config,
            profiles: Mutex::new(HashMap::new()),
            closed_windows: Mutex::new(HashSet::new()),
            sent: Mutex::new(Vec::new()),
        });
        let router = axum::Router::new()
            .fallback(handle)
            .with_state((core.clone(), page.clone()));
        let running = Running::start(router).await?;
        Ok(Self {
            core,
            page,
            running,
        })
    }

    /// `http://127.0.0.1:<port>`: what `META_API_BASE` should be.
    pub fn base_url(&self) -> &str {
        self.running.base_url()
    }

    /// The credentials the fake accepts.
    pub fn credentials(&self) -> PageCredentials {
        PageCredentials {
            page_id: self.page.config.page_id.clone(),
            access_token: self.page.config.access_token.clone(),
        }
    }

    /// The app secret webhooks are signed with.
    pub fn app_secret(&self) -> &str {
        &self.page.config.app_secret
    }

    /// The Page id.
    pub fn page_id(&self) -> &str {
        &self.page.config.page_id
    }

    /// The app id on echoes of our own sends.
    pub fn app_id(&self) -> &str {
        &self.page.config.app_id
    }

    /// Injects `failure` into each of the next `n` requests.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        self.core.fail_next(n, failure);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.core.requests()
    }

    /// The bodies of the message sends Graph accepted, in order.
    pub fn sent_messages(&self) -> Vec<Value> {
        lock(&self.page.sent).clone()
    }

    /// Makes `profile.id` known to the User Profile API.
    pub fn add_profile(&self, profile: UserProfile) {
        lock(&self.page.profiles).insert(profile.id.clone(), profile);
    }

    /// Marks `user_id`'s 24 h window closed: sends to them fail with code 10 / subcode 2018278
    /// unless tagged `HUMAN_AGENT`.
    pub fn close_window(&self, user_id: &str) {
        lock(&self.page.closed_windows).insert(user_id.to_owned());
    }

    /// A user's text message webhook body (unsigned) for `channel`, with message id `mid`.
    pub fn message_webhook_body(
        &self,
        channel: Channel,
        sender_id: &str,
        text: &str,
        mid: &str,
    ) -> Value {
        let now_ms = unix_now() * 1000;
        self.envelope(
            channel,
            json!({
                "sender": {"id": sender_id},
                "recipient": {"id": self.page_id()},
                "timestamp": now_ms,
                "message": {"mid": mid, "text": text}
            }),
        )
    }

    /// A signed webhook of a user's text message, with a fresh `mid`.
    pub fn signed_message_webhook(
        &self,
        channel: Channel,
        sender_id: &str,
        text: &str,
    ) -> SignedWebhook {
        let mid = format!("m_fake_in_{}", self.core.next_id());
        let body = self.message_webhook_body(channel, sender_id, text, &mid);
        self.core.sign(body.to_string().into_bytes(), Some(mid))
    }

    /// A signed echo of a message the Page sent to `recipient_id`: `app_id` `Some` for an app's
    /// send, `None` for a human in the Inbox.
    pub fn signed_echo_webhook(
        &self,
        channel: Channel,
        recipient_id: &str,
        text: &str,
        app_id: Option<&str>,
    ) -> SignedWebhook {
        let mid = format!("m_fake_echo_{}", self.core.next_id());
        let mut message = json!({"mid": mid, "text": text, "is_echo": true});
        if let Some(app_id) = app_id {
            // Graph sends app_id as a JSON number.
            message["app_id"] = app_id
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(app_id));
        }
        let body = self.envelope(
            channel,
            json!({
                "sender": {"id": self.page_id()},
                "recipient": {"id": recipient_id},
                "timestamp": unix_now() * 1000,
                "message": message
            }),
        );
        self.core.sign(body.to_string().into_bytes(), Some(mid))
    }

    /// Signs any webhook body (serialised compactly) as Graph would.
    pub fn signed_webhook(&self, body: &Value) -> SignedWebhook {
        self.core.sign(body.to_string().into_bytes(), None)
    }

    /// Signs exact bytes as Graph would (e.g. with escaped unicode).
    pub fn sign_raw(&self, body: Vec<u8>) -> SignedWebhook {
        self.core.sign(body, None)
    }

    fn envelope(&self, channel: Channel, item: Value) -> Value {
        let object = match channel {
            Channel::Messenger => "page",
            Channel::Instagram => "instagram",
        };
        json!({"object": object, "entry": [{
            "id": self.page_id(), "time": unix_now() * 1000, "messaging": [item]
        }]})
    }
}

async fn handle(
    State((core, page)): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = match core.intake(&method, &uri, &headers, &body).await {
        Ok(index) => index,
        Err(response) => return response,
    };
    let response = route(&core, &page, &method, &uri, &headers, &body);
    core.finish(index, response)
}

fn route(
    core: &GraphCore,
    page: &PageState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let Some((_version, parts)) = versioned_path(uri.path()) else {
        return unknown_path(uri.path());
    };
    if let Err(refused) = core.authorize(headers, uri) {
        return refused;
    }
    match (method, parts.as_slice()) {
        (&Method::POST, [page_id, "messages"]) => {
            if *page_id != page.config.page_id && *page_id != "me" {
                return unknown_object(method, page_id);
            }
            send(core, page, body)
        }
        (&Method::GET, [user_id]) => profile(page, method, user_id, uri),
        _ => unknown_path(uri.path()),
    }
}

fn send(core: &GraphCore, page: &PageState, body: &Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return invalid_parameter("(#100) Invalid JSON for postbody");
    };
    let Some(recipient) = request["recipient"]["id"]
        .as_str()
        .filter(|s| !s.is_empty())
    else {
        return invalid_parameter("(#100) The parameter recipient is required");
    };
    if let Some(action) = request.get("sender_action") {
        if request.get("message").is_some() {
            return invalid_parameter("(#100) sender_action cannot be sent with message");
        }
        if !action.as_str().is_some_and(|a| SENDER_ACTIONS.contains(&a)) {
            return invalid_parameter("(#100) Param sender_action must be one of {typing_on, typing_off, mark_seen, react, unreact}");
        }
        return axum::Json(json!({ "recipient_id": recipient })).into_response();
    }
    let Some(message) = request.get("message").filter(|m| m.is_object()) else {
        return invalid_parameter("(#100) The parameter message is required");
    };
    let text = message.get("text").and_then(Value::as_str);
    if text.is_none() && message.get("attachment").is_none() {
        return invalid_parameter("(#100) Must send either message text or attachment");
    }
    if text.is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS) {
        return invalid_parameter(
            "(#100) Length of param message[text] must be less than or equal to 2000",
        );
    }
    let messaging_type = request.get("messaging_type").and_then(Value::as_str);
    let tag = request.get("tag").and_then(Value::as_str);
    match (messaging_type, tag) {
        (None, _) => return invalid_parameter("(#100) The parameter messaging_type is required"),
        (Some("MESSAGE_TAG"), Some(tag)) if TAGS.contains(&tag) => {}
        (Some("MESSAGE_TAG"), _) => {
            return invalid_parameter("(#100) Param tag must be a valid message tag")
        }
        (Some("RESPONSE" | "UPDATE"), None) => {}
        (Some("RESPONSE" | "UPDATE"), Some(_)) => {
            return invalid_parameter(
                "(#100) Param tag is only allowed with messaging_type MESSAGE_TAG",
            )
        }
        (Some(_), _) => {
            return invalid_parameter(
                "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}",
            )
        }
    }
    let human_agent = tag == Some("HUMAN_AGENT");
    if lock(&page.closed_windows).contains(recipient) && !human_agent {
        return graph_error(
            StatusCode::BAD_REQUEST,
            10,
            Some(2_018_278),
            "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
            None,
        );
    }
    let message_id = format!("m_fake_out_{}", core.next_id());
    lock(&page.sent).push(request.clone());
    axum::Json(json!({ "recipient_id": recipient, "message_id": message_id })).into_response()
}

fn profile(page: &PageState, method: &Method, user_id: &str, uri: &Uri) -> Response {
    let Some(profile) = lock(&page.profiles).get(user_id).cloned() else {
        return unknown_object(method, user_id);
    };
    let fields = uri
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("fields=")))
        .map(|f| f.replace("%2C", ",").replace("%2c", ","))
        .unwrap_or_else(|| "name".into());
    let full = serde_json::to_value(&profile).unwrap_or(Value::Null);
    let mut answer = json!({ "id": profile.id });
    for field in fields.split(',') {
        if let Some(value) = full.get(field) {
            answer[field] = value.clone();
        }
    }
    axum::Json(answer).into_response()
}
