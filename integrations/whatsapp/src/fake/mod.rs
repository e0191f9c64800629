//! `FakeWhatsApp` (feature `fake`): the Cloud API messages endpoint on loopback, built on
//! `leadline_meta::fake::GraphCore` (recording, token check, Graph error envelope, failure
//! injection, `X-Hub-Signature-256` signing), plus signed `whatsapp_business_account` webhooks
//! (platforms.md §4) for the api's end-to-end tests (point `WHATSAPP_API_BASE` at `base_url()`).
//!
//! Validation mirrors the Cloud API's: token, phone number id (unknown → code 100/33),
//! `messaging_product`, `to`, `type` and its object, text ≤ 4096 characters, template name and
//! language, and the 24 h window for customers marked with [`FakeWhatsApp::close_window`]
//! (free-form → 400 code 131047; templates still pass). Not for production.

// Handlers return `Err(Response)` to answer early; boxing a test server's responses buys nothing.
#![allow(clippy::result_large_err)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use leadline_meta::fake::{
    graph_error, invalid_parameter, lock, unix_now, unknown_object, unknown_path, versioned_path,
    CoreConfig, GraphCore, Running,
};
use serde_json::{json, Value};

use crate::client::PhoneNumberCredentials;

pub use leadline_meta::fake::{Failure, RecordedRequest, SignedWebhook};

/// The Cloud API's text limit (characters, platforms.md §4).
const MAX_TEXT_CHARS: usize = 4096;
/// Message types the fake accepts besides text and template (their object must be present).
const OTHER_TYPES: &[&str] = &[
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "reaction",
];

/// What the fake business number is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeWhatsAppConfig {
    /// The phone number id sends must use.
    pub phone_number_id: String,
    /// The number as displayed in webhooks' `metadata`.
    pub display_phone_number: String,
    /// The WhatsApp Business Account id (`entry[].id`).
    pub waba_id: String,
    /// The access token accepted.
    pub access_token: String,
    /// The Meta app secret webhooks are signed with.
    pub app_secret: String,
}

impl Default for FakeWhatsAppConfig {
    fn default() -> Self {
        Self {
            phone_number_id: "106540352242922".into(),
            display_phone_number: "15550783881".into(),
            waba_id: "102290129340398".into(),
            access_token: "EAAfakeWhatsAppToken".into(),
            app_secret: "fake-meta-app-secret".into(),
        }
    }
}

#[derive(Debug)]
struct NumberState {
    config: FakeWhatsAppConfig,
    closed_windows: Mutex<HashSet<String>>,
    sent: Mutex<Vec<Value>>,
}

type AppState = (Arc<GraphCore>, Arc<NumberState>);

/// The running fake; stops when dropped.
#[derive(Debug)]
pub struct FakeWhatsApp {
    core: Arc<GraphCore>,
    number: Arc<NumberState>,
    running: Running,
}

impl FakeWhatsApp {
    /// Starts a fake with [`FakeWhatsAppConfig::default`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeWhatsAppConfig::default()).await
    }

    /// Starts a fake for `config`.
    pub async fn start_with(config: FakeWhatsAppConfig) -> std::io::Result<Self> {
        let core = GraphCore::new(CoreConfig {
            access_token: config.access_token.clone(),
            app_secret: config.app_secret.clone(),
            throttle_code: 130_429,
            throttle_message: "(#130429) Rate limit hit",
            server_error_code: 131_000,
            server_error_message: "(#131000) Something went wrong",
        });
        let number = Arc::new(NumberState {
            config,
            closed_windows: Mutex::new(HashSet::new()),
            sent: Mutex::new(Vec::new()),
        });
        let router = axum::Router::new()
            .fallback(handle)
            .with_state((core.clone(), number.clone()));
        let running = Running::start(router).await?;
        Ok(Self {
            core,
            number,
            running,
        })
    }

    /// `http://127.0.0.1:<port>`: what `WHATSAPP_API_BASE` should be.
    pub fn base_url(&self) -> &str {
        self.running.base_url()
    }

    /// The credentials the fake accepts.
    pub fn credentials(&self) -> PhoneNumberCredentials {
        PhoneNumberCredentials {
            phone_number_id: self.number.config.phone_number_id.clone(),
            access_token: self.number.config.access_token.clone(),
        }
    }

    /// The app secret webhooks are signed with.
    pub fn app_secret(&self) -> &str {
        &self.number.config.app_secret
    }

    /// The phone number id.
    pub fn phone_number_id(&self) -> &str {
        &self.number.config.phone_number_id
    }

    /// Injects `failure` into each of the next `n` requests.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        self.core.fail_next(n, failure);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.core.requests()
    }

    /// The bodies of the message sends accepted (not mark-as-read), in order.
    pub fn sent_messages(&self) -> Vec<Value> {
        lock(&self.number.sent).clone()
    }

    /// Marks `wa_id`'s 24 h window closed: free-form sends to it fail with code 131047.
    pub fn close_window(&self, wa_id: &str) {
        lock(&self.number.closed_windows).insert(wa_id.to_owned());
    }

    /// A `messages` webhook body (unsigned) carrying `message` from `from` (whose profile name
    /// is `profile_name`). `from`, `id` (a fresh `wamid`) and `timestamp` are filled in when
    /// `message` lacks them; `type` and its object are the caller's.
    pub fn message_webhook_body(&self, from: &str, profile_name: &str, message: Value) -> Value {
        let mut message = match message {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        message.entry("from").or_insert_with(|| Value::from(from));
        message
            .entry("id")
            .or_insert_with(|| Value::from(self.next_wamid()));
        message
            .entry("timestamp")
            .or_insert_with(|| Value::from(unix_now().to_string()));
        self.envelope(json!({
            "messaging_product": "whatsapp",
            "metadata": self.metadata(),
            "contacts": [{"profile": {"name": profile_name}, "wa_id": from}],
            "messages": [Value::Object(message)]
        }))
    }

    /// A signed webhook carrying `message` (see [`FakeWhatsApp::message_webhook_body`]).
    pub fn signed_message_webhook(
        &self,
        from: &str,
        profile_name: &str,
        message: Value,
    ) -> SignedWebhook {
        let body = self.message_webhook_body(from, profile_name, message);
        let id = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
            .as_str()
            .map(str::to_owned);
        self.core.sign(body.to_string().into_bytes(), id)
    }

    /// A signed webhook of a text message from `from`, with a fresh `wamid`.
    pub fn signed_text_message_webhook(
        &self,
        from: &str,
        profile_name: &str,
        text: &str,
    ) -> SignedWebhook {
        self.signed_message_webhook(
            from,
            profile_name,
            json!({"type": "text", "text": {"body": text}}),
        )
    }

    /// A signed status webhook for our message `message_id` to `recipient_id`: `status` is
    /// `sent`, `delivered`, `read` or `failed`; `error` `(code, title)` is attached on failures.
    pub fn signed_status_webhook(
        &self,
        message_id: &str,
        recipient_id: &str,
        status: &str,
        error: Option<(i64, &str)>,
    ) -> SignedWebhook {
        let mut item = json!({
            "id": message_id,
            "status": status,
            "timestamp": unix_now().to_string(),
            "recipient_id": recipient_id,
            "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
            "pricing": {"billable": true, "pricing_model": "CBP", "category": "service"}
        });
        if let Some((code, title)) = error {
            item["errors"] = json!([{
                "code": code, "title": title, "message": title,
                "error_data": {"details": title},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
            }]);
        }
        let body = self.envelope(json!({
            "messaging_product": "whatsapp",
            "metadata": self.metadata(),
            "statuses": [item]
        }));
        self.core
            .sign(body.to_string().into_bytes(), Some(message_id.to_owned()))
    }

    /// Signs any webhook body (serialised compactly) as Graph would.
    pub fn signed_webhook(&self, body: &Value) -> SignedWebhook {
        self.core.sign(body.to_string().into_bytes(), None)
    }

    /// Signs exact bytes as Graph would (e.g. with escaped unicode).
    pub fn sign_raw(&self, body: Vec<u8>) -> SignedWebhook {
        self.core.sign(body, None)
    }

    fn next_wamid(&self) -> String {
        next_wamid(&self.core)
    }

    fn metadata(&self) -> Value {
        json!({
            "display_phone_number": self.number.config.display_phone_number,
            "phone_number_id": self.number.config.phone_number_id
        })
    }

    fn envelope(&self, value: Value) -> Value {
        json!({"object": "whatsapp_business_account", "entry": [{
            "id": self.number.config.waba_id,
            "changes": [{"field": "messages", "value": value}]
        }]})
    }
}

/// A `wamid` shaped like the real ones (`wamid.` + base64-ish), unique per fake.
fn next_wamid(core: &GraphCore) -> String {
    format!(
        "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI{:016X}AA==",
        core.next_id()
    )
}

async fn handle(
    State((core, number)): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = match core.intake(&method, &uri, &headers, &body).await {
        Ok(index) => index,
        Err(response) => return response,
    };
    let response = route(&core, &number, &method, &uri, &headers, &body);
    core.finish(index, response)
}

fn route(
    core: &GraphCore,
    number: &NumberState,
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
        (&Method::POST, [phone_number_id, "messages"]) => {
            if *phone_number_id != number.config.phone_number_id {
                return unknown_object(method, phone_number_id);
            }
            messages(core, number, body)
        }
        _ => unknown_path(uri.path()),
    }
}

fn messages(core: &GraphCore, number: &NumberState, body: &Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return invalid_parameter("(#100) Invalid JSON for postbody");
    };
    if request["messaging_product"] != "whatsapp" {
        return invalid_parameter("(#100) The parameter messaging_product is required.");
    }
    if let Some(status) = request.get("status") {
        if status != "read" {
            return invalid_parameter("(#100) Param status must be read");
        }
        if request["message_id"].as_str().is_none_or(str::is_empty) {
            return invalid_parameter("(#100) The parameter message_id is required.");
        }
        return axum::Json(json!({"success": true})).into_response();
    }
    let Some(to) = request["to"].as_str().filter(|t| !t.is_empty()) else {
        return invalid_parameter("(#100) The parameter to is required.");
    };
    if request
        .get("recipient_type")
        .is_some_and(|r| r != "individual")
    {
        return invalid_parameter("(#100) Param recipient_type must be individual");
    }
    let kind = request["type"].as_str().unwrap_or("text");
    match kind {
        "text" => {
            let Some(text) = request["text"]["body"].as_str() else {
                return invalid_parameter("(#100) The parameter text['body'] is required.");
            };
            if text.chars().count() > MAX_TEXT_CHARS {
                return invalid_parameter(
                    "(#100) Param text['body'] must be at most 4096 characters long.",
                );
            }
        }
        "template" => {
            if request["template"]["name"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                return invalid_parameter("(#100) The parameter template['name'] is required.");
            }
            if request["template"]["language"]["code"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                return invalid_parameter(
                    "(#100) The parameter template['language']['code'] is required.",
                );
            }
        }
        other if OTHER_TYPES.contains(&other) => {
            if !request[other].is_object() {
                return invalid_parameter(&format!("(#100) The parameter {other} is required."));
            }
        }
        _ => return invalid_parameter("(#100) Param type must be a valid message type"),
    }
    let wa_id: String = to.chars().filter(char::is_ascii_digit).collect();
    if kind != "template" && lock(&number.closed_windows).contains(&wa_id) {
        // platforms.md §4: 131047 (HTTP 400 in practice) with details in error_data.
        return graph_error(
            StatusCode::BAD_REQUEST,
            131_047,
            None,
            "(#131047) Re-engagement message",
            Some("Message failed to send because more than 24 hours have passed since the customer last replied to this number."),
        );
    }
    let mut sent = json!({"id": next_wamid(core)});
    if kind == "template" {
        sent["message_status"] = json!("accepted");
    }
    lock(&number.sent).push(request.clone());
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": wa_id}],
        "messages": [sent]
    }))
    .into_response()
}
