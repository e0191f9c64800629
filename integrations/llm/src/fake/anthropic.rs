//! A fake of the Anthropic Messages API (`POST /v1/messages`) on loopback.
//!
//! Validation mirrors the real API's documented rules: `x-api-key` (401 `authentication_error`),
//! `anthropic-version` and a JSON body (400 `invalid_request_error`), required `model`,
//! `max_tokens` ≥ 1 and non-empty `messages` starting with a user turn, roles user/assistant,
//! `temperature` in 0..=1, unknown top-level fields refused, tools with valid names and object
//! `input_schema`s, and a `tool_choice` naming an offered tool. Errors use the exact body
//! `{"type":"error","error":{"type":..,"message":..},"request_id":..}` and a `request-id` header.
// Validation rejects with the finished HTTP response; boxing it would only add noise to a test
// server that builds one per request.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use super::{
    estimate_tokens, retry_after_header, settle, synthesize, valid_name, Behavior, FakeServer,
    Shared,
};

/// The API key the fake accepts unless started with another.
pub const DEFAULT_API_KEY: &str = "sk-ant-fake-test-key";

/// Top-level request fields the real API knows; any other is refused ("Extra inputs are not
/// permitted").
const KNOWN_FIELDS: &[&str] = &[
    "model",
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "stop_sequences",
    "stream",
    "metadata",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
];

/// The fake Anthropic server. Derefs to [`FakeServer`] for the controls.
#[derive(Debug)]
pub struct FakeAnthropic {
    server: FakeServer,
}

impl std::ops::Deref for FakeAnthropic {
    type Target = FakeServer;

    fn deref(&self) -> &FakeServer {
        &self.server
    }
}

impl FakeAnthropic {
    /// Starts a fake accepting [`DEFAULT_API_KEY`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with_key(DEFAULT_API_KEY).await
    }

    /// Starts a fake accepting only `api_key`.
    pub async fn start_with_key(api_key: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::new(api_key.to_owned()));
        let router = Router::new()
            .route("/v1/messages", post(messages))
            .fallback(not_found)
            .with_state(Arc::clone(&shared));
        Ok(Self {
            server: FakeServer::start(router, shared).await?,
        })
    }
}

async fn not_found(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = shared.record(method.as_str(), uri.path(), &headers, &body);
    shared.answered(index, 404);
    error(
        &shared,
        StatusCode::NOT_FOUND,
        "not_found_error",
        &format!("Not found: {}", uri.path()),
        Vec::new(),
    )
}

async fn messages(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let index = shared.record("POST", "/v1/messages", &headers, &body);
    let response = match validate(&shared, &headers, &body) {
        Ok(request) => answer(&shared, request, shared.next_behavior()).await,
        Err(rejection) => rejection,
    };
    shared.answered(index, response.status().as_u16());
    response
}

/// What the fake needs from a valid request.
struct Valid {
    model: String,
    /// The forced (or only) tool's name and input schema.
    tool: Option<(String, Value)>,
    /// Text of the last user turn.
    prompt: String,
    input_tokens: u64,
}

fn validate(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Valid, Response> {
    let bad = |message: String| {
        error(
            shared,
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            &message,
            Vec::new(),
        )
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());

    match header("x-api-key") {
        None => {
            return Err(error(
                shared,
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "x-api-key header is required",
                Vec::new(),
            ))
        }
        Some(key) if key != shared.api_key() => {
            return Err(error(
                shared,
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "invalid x-api-key",
                Vec::new(),
            ))
        }
        Some(_) => {}
    }
    if header("anthropic-version").is_none() {
        return Err(bad("anthropic-version: header is required".into()));
    }
    if !header("content-type").is_some_and(|c| c.starts_with("application/json")) {
        return Err(bad("content-type: must be application/json".into()));
    }
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad(
            "There was an error parsing the body of your request: expected a JSON object".into(),
        ));
    };
    if let Some(extra) = request.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(bad(format!("{extra}: Extra inputs are not permitted")));
    }
    let model = match request.get("model") {
        None => return Err(bad("model: Field required".into())),
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        Some(_) => return Err(bad("model: Input should be a valid string".into())),
    };
    match request.get("max_tokens") {
        None => return Err(bad("max_tokens: Field required".into())),
        Some(v) if v.as_u64().is_some_and(|n| n >= 1) => {}
        Some(_) => {
            return Err(bad(
                "max_tokens: Input should be greater than or equal to 1".into(),
            ))
        }
    }
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        return Err(bad("stream: the fake does not stream".into()));
    }
    if let Some(t) = request.get("temperature") {
        match t.as_f64() {
            Some(t) if (0.0..=1.0).contains(&t) => {}
            Some(_) => {
                return Err(bad(
                    "temperature: Input should be less than or equal to 1".into()
                ))
            }
            None => return Err(bad("temperature: Input should be a valid number".into())),
        }
    }
    match request.get("system") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(blocks))
            if blocks.iter().all(|b| b.get("type") == Some(&json!("text"))) => {}
        Some(_) => {
            return Err(bad(
                "system: Input should be a valid string or a list of text blocks".into(),
            ))
        }
    }

    let messages = match request.get("messages") {
        None => return Err(bad("messages: Field required".into())),
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) => {
            return Err(bad("messages: at least one message is required".into()))
        }
        Some(_) => return Err(bad("messages: Input should be a valid list".into())),
    };
    let mut prompt = String::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str);
        if !matches!(role, Some("user" | "assistant")) {
            return Err(bad(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            )));
        }
        if i == 0 && role != Some("user") {
            return Err(bad(
                "messages: first message must use the \"user\" role".into()
            ));
        }
        let text = match message.get("content") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(blocks))
                if blocks
                    .iter()
                    .all(|b| b.get("type").and_then(Value::as_str).is_some()) =>
            {
                blocks
                    .iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            Some(_) => {
                return Err(bad(format!(
                "messages.{i}.content: Input should be a valid string or list of content blocks"
            )))
            }
            None => return Err(bad(format!("messages.{i}.content: Field required"))),
        };
        if role == Some("user") {
            prompt = text;
        }
    }

    let mut tools: Vec<(String, Value)> = Vec::new();
    if let Some(list) = request.get("tools") {
        let Some(list) = list.as_array() else {
            return Err(bad("tools: Input should be a valid list".into()));
        };
        for (i, tool) in list.iter().enumerate() {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
            if !valid_name(name) {
                return Err(bad(format!(
                    "tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                )));
            }
            let schema = tool.get("input_schema").cloned().unwrap_or(Value::Null);
            if schema.get("type") != Some(&json!("object")) {
                return Err(bad(format!(
                    "tools.{i}.input_schema.type: Input should be 'object'"
                )));
            }
            tools.push((name.to_owned(), schema));
        }
    }
    let tool = match request.get("tool_choice") {
        None => tools.first().cloned(),
        Some(choice) => match choice.get("type").and_then(Value::as_str) {
            Some("auto" | "any") => tools.first().cloned(),
            Some("none") => None,
            Some("tool") => {
                let name = choice
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match tools.iter().find(|(n, _)| n == name) {
                    Some(tool) => Some(tool.clone()),
                    None => {
                        return Err(bad(format!(
                            "tool_choice.name: tool `{name}` is not in tools"
                        )))
                    }
                }
            }
            _ => {
                return Err(bad(
                    "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'".into(),
                ))
            }
        },
    };

    Ok(Valid {
        model,
        tool,
        prompt,
        input_tokens: estimate_tokens(&String::from_utf8_lossy(body)),
    })
}

async fn answer(shared: &Shared, request: Valid, behavior: Behavior) -> Response {
    let auto = || match &request.tool {
        Some((_, schema)) => synthesize(schema, &request.prompt, None),
        None => json!("Thanks for your message!"),
    };
    match settle(behavior).await {
        Behavior::Auto => success(
            shared,
            &request,
            output_blocks(shared, &request, auto()),
            None,
        ),
        Behavior::Respond(value) => success(
            shared,
            &request,
            output_blocks(shared, &request, value),
            None,
        ),
        Behavior::RawContent(text) => success(
            shared,
            &request,
            vec![json!({"type": "text", "text": text})],
            Some("end_turn"),
        ),
        Behavior::Truncated => {
            let partial = match auto() {
                Value::Object(map) => Value::Object(map.into_iter().take(1).collect()),
                other => other,
            };
            success(
                shared,
                &request,
                output_blocks(shared, &request, partial),
                Some("max_tokens"),
            )
        }
        Behavior::Refusal(text) => success(
            shared,
            &request,
            vec![json!({"type": "text", "text": text})],
            Some("refusal"),
        ),
        Behavior::RateLimited { retry_after_secs } => error(
            shared,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            retry_after_header(retry_after_secs),
        ),
        Behavior::Overloaded { retry_after_secs } => error(
            shared,
            StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "overloaded_error",
            "Overloaded",
            retry_after_header(retry_after_secs),
        ),
        Behavior::ServerError => error(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "Internal server error",
            Vec::new(),
        ),
        Behavior::QuotaExhausted => error(
            shared,
            StatusCode::PAYMENT_REQUIRED,
            "billing_error",
            "Your credit balance is too low to access the Anthropic API.",
            Vec::new(),
        ),
        // `settle` removed every Slow.
        Behavior::Slow { .. } => error(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "unreachable",
            Vec::new(),
        ),
    }
}

/// The content blocks carrying `output`: a `tool_use` when a tool was offered, else text.
fn output_blocks(shared: &Shared, request: &Valid, output: Value) -> Vec<Value> {
    match &request.tool {
        Some((name, _)) => vec![json!({
            "type": "tool_use",
            "id": format!("toolu_fake_{:04}", shared.next_id()),
            "name": name,
            "input": output,
        })],
        None => {
            let text = match output {
                Value::String(text) => text,
                other => other.to_string(),
            };
            vec![json!({"type": "text", "text": text})]
        }
    }
}

/// A 200 answer; `stop_reason` None means the natural one (`tool_use` when a tool was offered).
fn success(
    shared: &Shared,
    request: &Valid,
    content: Vec<Value>,
    stop_reason: Option<&str>,
) -> Response {
    let stop_reason = stop_reason.unwrap_or(if request.tool.is_some() {
        "tool_use"
    } else {
        "end_turn"
    });
    let output_text: String = content.iter().map(Value::to_string).collect();
    let id = shared.next_id();
    let body = json!({
        "id": format!("msg_fake_{id:04}"),
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": request.input_tokens,
            "output_tokens": estimate_tokens(&output_text),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0
        }
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    if let Ok(value) = format!("req_fake_{id:04}").parse() {
        response.headers_mut().insert("request-id", value);
    }
    response
}

fn error(
    shared: &Shared,
    status: StatusCode,
    kind: &str,
    message: &str,
    headers: Vec<(&'static str, String)>,
) -> Response {
    let request_id = format!("req_fake_{:04}", shared.next_id());
    let body = json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id});
    let mut response = (status, axum::Json(body)).into_response();
    for (name, value) in headers.into_iter().chain([("request-id", request_id)]) {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
