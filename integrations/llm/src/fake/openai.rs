//! A fake of the OpenAI Chat Completions API (`POST /v1/chat/completions`) on loopback.
//!
//! Validation mirrors the real API: `Authorization: Bearer` (401 `invalid_api_key`), a JSON
//! body, required `model` and non-empty `messages` with known roles, `temperature` in 0..=2,
//! `max_completion_tokens` ≥ 1, unknown top-level fields refused, `response_format` of a known
//! type, a schema name matching `[a-zA-Z0-9_-]{1,64}`, and — with `strict: true` — every object
//! schema closed (`additionalProperties: false`) with all its properties required. Errors use
//! the exact body `{"error":{"message":..,"type":..,"param":..,"code":..}}`.
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
pub const DEFAULT_API_KEY: &str = "sk-fake-openai-test-key";

const KNOWN_FIELDS: &[&str] = &[
    "model",
    "messages",
    "max_completion_tokens",
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "stop",
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "seed",
    "user",
    "stream",
    "stream_options",
    "presence_penalty",
    "frequency_penalty",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "metadata",
    "store",
    "reasoning_effort",
    "service_tier",
    "modalities",
    "prediction",
    "audio",
    "verbosity",
];

/// The fake OpenAI server. Derefs to [`FakeServer`] for the controls.
#[derive(Debug)]
pub struct FakeOpenAi {
    server: FakeServer,
}

impl std::ops::Deref for FakeOpenAi {
    type Target = FakeServer;

    fn deref(&self) -> &FakeServer {
        &self.server
    }
}

impl FakeOpenAi {
    /// Starts a fake accepting [`DEFAULT_API_KEY`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with_key(DEFAULT_API_KEY).await
    }

    /// Starts a fake accepting only `api_key`.
    pub async fn start_with_key(api_key: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::new(api_key.to_owned()));
        let router = Router::new()
            .route("/v1/chat/completions", post(completions))
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
    let message = format!("Invalid URL ({method} {})", uri.path());
    error(
        StatusCode::NOT_FOUND,
        &message,
        "invalid_request_error",
        None,
        None,
        Vec::new(),
    )
}

async fn completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = shared.record("POST", "/v1/chat/completions", &headers, &body);
    let response = match validate(&shared, &headers, &body) {
        Ok(request) => answer(&shared, request, shared.next_behavior()).await,
        Err(rejection) => rejection,
    };
    shared.answered(index, response.status().as_u16());
    response
}

/// How the request asked for structured output.
enum Shape {
    /// `response_format: json_schema`: the JSON goes in `content`.
    Schema(Value),
    /// A forced (or the only) function tool: the JSON goes in `tool_calls[0].function.arguments`.
    Function { name: String, parameters: Value },
    /// Plain text.
    Text,
}

struct Valid {
    model: String,
    shape: Shape,
    prompt: String,
    input_tokens: u64,
}

fn invalid(message: &str, param: Option<&str>, code: Option<&str>) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        message,
        "invalid_request_error",
        param,
        code,
        Vec::new(),
    )
}

fn validate(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Valid, Response> {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    match authorization.and_then(|a| a.strip_prefix("Bearer ")) {
        None => {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
                None,
                Vec::new(),
            ))
        }
        Some(key) if key != shared.api_key() => {
            let shown: String = key.chars().take(4).collect();
            return Err(error(
                StatusCode::UNAUTHORIZED,
                &format!("Incorrect API key provided: {shown}****. You can find your API key at https://platform.openai.com/account/api-keys."),
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
                Vec::new(),
            ));
        }
        Some(_) => {}
    }
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid(
            "We could not parse the JSON body of your request.",
            None,
            None,
        ));
    };
    if let Some(extra) = request.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(invalid(
            &format!("Unrecognized request argument supplied: {extra}"),
            None,
            None,
        ));
    }
    let model = match request.get("model").and_then(Value::as_str) {
        Some(model) if !model.is_empty() => model.to_owned(),
        _ => return Err(invalid("you must provide a model parameter", None, None)),
    };
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        return Err(invalid("the fake does not stream", Some("stream"), None));
    }
    if let Some(t) = request.get("temperature") {
        match t.as_f64() {
            Some(t) if (0.0..=2.0).contains(&t) => {}
            Some(t) => {
                return Err(invalid(
                    &format!("Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got {t} instead."),
                    Some("temperature"),
                    Some("decimal_above_max_value"),
                ))
            }
            None => return Err(invalid("Invalid type for 'temperature': expected a decimal.", Some("temperature"), Some("invalid_type"))),
        }
    }
    for field in ["max_completion_tokens", "max_tokens"] {
        if let Some(v) = request.get(field) {
            if v.as_u64().is_none_or(|n| n < 1) {
                return Err(invalid(
                    &format!("Invalid '{field}': integer below minimum value."),
                    Some(field),
                    Some("integer_below_min_value"),
                ));
            }
        }
    }

    let messages = match request.get("messages").and_then(Value::as_array) {
        None => return Err(invalid("Missing required parameter: 'messages'.", Some("messages"), Some("missing_required_parameter"))),
        Some(messages) if messages.is_empty() => {
            return Err(invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", Some("messages"), Some("empty_array")))
        }
        Some(messages) => messages,
    };
    let mut prompt = String::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(role, "system" | "developer" | "user" | "assistant" | "tool") {
            return Err(invalid(
                &format!("Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function' and 'developer'."),
                Some(&format!("messages[{i}].role")),
                Some("invalid_value"),
            ));
        }
        let text = match message.get("content") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            Some(Value::Null) | None if role == "assistant" => String::new(),
            _ => {
                return Err(invalid(
                    &format!("Missing required parameter: 'messages[{i}].content'."),
                    Some(&format!("messages[{i}].content")),
                    Some("missing_required_parameter"),
                ))
            }
        };
        if role == "user" {
            prompt = text;
        }
    }

    let mut shape = Shape::Text;
    if let Some(format) = request.get("response_format") {
        match format.get("type").and_then(Value::as_str) {
            Some("text" | "json_object") => {}
            Some("json_schema") => {
                let spec = format.get("json_schema").cloned().unwrap_or(Value::Null);
                let name = spec.get("name").and_then(Value::as_str).unwrap_or_default();
                if !valid_name(name) {
                    return Err(invalid(
                        "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                        Some("response_format.json_schema.name"),
                        Some("invalid_value"),
                    ));
                }
                let schema = spec.get("schema").cloned().unwrap_or(json!({}));
                if spec.get("strict").and_then(Value::as_bool) == Some(true) {
                    check_strict(&schema, "response_format", name)?;
                }
                shape = Shape::Schema(schema);
            }
            _ => {
                return Err(invalid(
                    "Invalid value for 'response_format.type': expected one of 'text', 'json_object' or 'json_schema'.",
                    Some("response_format.type"),
                    Some("invalid_value"),
                ))
            }
        }
    }
    if let Some(tools) = request.get("tools") {
        let mut functions = Vec::new();
        for (i, tool) in tools.as_array().into_iter().flatten().enumerate() {
            let function = tool.get("function").cloned().unwrap_or(Value::Null);
            let name = function
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if tool.get("type").and_then(Value::as_str) != Some("function") || !valid_name(&name) {
                return Err(invalid(
                    &format!("Invalid 'tools[{i}]': expected a function tool with a valid name."),
                    Some(&format!("tools[{i}]")),
                    Some("invalid_value"),
                ));
            }
            let parameters = function
                .get("parameters")
                .cloned()
                .unwrap_or(json!({"type": "object", "properties": {}}));
            if function.get("strict").and_then(Value::as_bool) == Some(true) {
                check_strict(&parameters, "function", &name)?;
            }
            functions.push((name, parameters));
        }
        let forced = match request.get("tool_choice") {
            Some(Value::String(choice)) if choice == "none" => None,
            Some(Value::Object(choice)) => {
                let name = choice
                    .get("function")
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match functions.iter().find(|(n, _)| n == name) {
                    Some(found) => Some(found.clone()),
                    None => {
                        return Err(invalid(
                            &format!(
                                "Invalid 'tool_choice': function '{name}' not found in tools."
                            ),
                            Some("tool_choice"),
                            Some("invalid_value"),
                        ))
                    }
                }
            }
            // "auto" / "required" / absent: the fake calls the first tool unless a schema was asked for.
            _ if matches!(shape, Shape::Schema(_)) => None,
            _ => functions.first().cloned(),
        };
        if let Some((name, parameters)) = forced {
            shape = Shape::Function { name, parameters };
        }
    }

    Ok(Valid {
        model,
        shape,
        prompt,
        input_tokens: estimate_tokens(&String::from_utf8_lossy(body)),
    })
}

/// The structured-outputs rules of strict mode: the root is an object, and every object schema
/// has `additionalProperties: false` and lists all its properties in `required`.
fn check_strict(schema: &Value, context: &str, name: &str) -> Result<(), Response> {
    fn walk(schema: &Value, path: &mut Vec<String>) -> Result<(), String> {
        let is_object = match schema.get("type") {
            Some(Value::String(kind)) => kind == "object",
            Some(Value::Array(kinds)) => kinds.iter().any(|k| k == "object"),
            _ => false,
        };
        let here = format!(
            "context=({})",
            path.iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if is_object {
            if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
                return Err(format!(
                    "In {here}, 'additionalProperties' is required to be supplied and to be false."
                ));
            }
            let properties = schema
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if let Some(missing) = properties.keys().find(|k| !required.contains(&k.as_str())) {
                return Err(format!(
                    "In {here}, 'required' is required to be supplied and to be an array including every key in properties. Missing '{missing}'."
                ));
            }
            for (key, sub) in &properties {
                path.extend(["properties".to_owned(), key.clone()]);
                walk(sub, path)?;
                path.truncate(path.len() - 2);
            }
        }
        if let Some(items) = schema.get("items") {
            path.push("items".to_owned());
            walk(items, path)?;
            path.pop();
        }
        for (i, option) in schema
            .get("anyOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            path.extend(["anyOf".to_owned(), i.to_string()]);
            walk(option, path)?;
            path.truncate(path.len() - 2);
        }
        Ok(())
    }
    if schema.get("type") != Some(&json!("object")) {
        return Err(invalid(
            &format!("Invalid schema for {context} '{name}': schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{}\"'.", schema.get("type").map(Value::to_string).unwrap_or_default()),
            Some(context),
            Some("invalid_json_schema"),
        ));
    }
    walk(schema, &mut Vec::new()).map_err(|problem| {
        invalid(
            &format!("Invalid schema for {context} '{name}': {problem}"),
            Some(context),
            Some("invalid_json_schema"),
        )
    })
}

async fn answer(shared: &Shared, request: Valid, behavior: Behavior) -> Response {
    let auto = || match &request.shape {
        Shape::Schema(schema) => synthesize(schema, &request.prompt, None),
        Shape::Function { parameters, .. } => synthesize(parameters, &request.prompt, None),
        Shape::Text => json!("Thanks for your message!"),
    };
    let as_text = |value: Value| match value {
        Value::String(text) if matches!(request.shape, Shape::Text) => text,
        other => other.to_string(),
    };
    match settle(behavior).await {
        Behavior::Auto => success(shared, &request, Some(as_text(auto())), None, "stop"),
        Behavior::Respond(value) => success(shared, &request, Some(as_text(value)), None, "stop"),
        Behavior::RawContent(text) => success(shared, &request, Some(text), None, "stop"),
        Behavior::Truncated => {
            let full = as_text(auto());
            let half: String = full.chars().take(full.chars().count() / 2).collect();
            success(shared, &request, Some(half), None, "length")
        }
        Behavior::Refusal(text) => success(shared, &request, None, Some(text), "stop"),
        Behavior::RateLimited { retry_after_secs } => error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Rate limit reached for {} on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.", request.model),
            "requests",
            None,
            Some("rate_limit_exceeded"),
            retry_after_header(retry_after_secs),
        ),
        Behavior::Overloaded { retry_after_secs } => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is overloaded or not ready yet.",
            "server_error",
            None,
            None,
            retry_after_header(retry_after_secs),
        ),
        Behavior::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
            Vec::new(),
        ),
        Behavior::QuotaExhausted => error(
            StatusCode::TOO_MANY_REQUESTS,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            None,
            Some("insufficient_quota"),
            Vec::new(),
        ),
        // `settle` removed every Slow.
        Behavior::Slow { .. } => error(StatusCode::INTERNAL_SERVER_ERROR, "unreachable", "server_error", None, None, Vec::new()),
    }
}

/// A 200 answer. With a function shape and content, the content becomes the call's arguments.
fn success(
    shared: &Shared,
    request: &Valid,
    content: Option<String>,
    refusal: Option<String>,
    finish: &str,
) -> Response {
    let id = shared.next_id();
    let output_tokens = estimate_tokens(
        content
            .as_deref()
            .or(refusal.as_deref())
            .unwrap_or_default(),
    );
    let message = match (&request.shape, content) {
        (Shape::Function { name, .. }, Some(arguments)) if refusal.is_none() => json!({
            "role": "assistant", "content": null, "refusal": null,
            "tool_calls": [{"id": format!("call_fake_{id:04}"), "type": "function",
                            "function": {"name": name, "arguments": arguments}}]
        }),
        (_, content) => json!({"role": "assistant", "content": content, "refusal": refusal}),
    };
    let finish = if message.get("tool_calls").is_some() && finish == "stop" {
        "tool_calls"
    } else {
        finish
    };
    let input_tokens = request.input_tokens;
    let body = json!({
        "id": format!("chatcmpl-fake{id:04}"),
        "object": "chat.completion",
        "created": 1_700_000_000 + id,
        "model": request.model,
        "choices": [{"index": 0, "finish_reason": finish, "logprobs": null, "message": message}],
        "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    if let Ok(value) = format!("req_fake_{id:04}").parse() {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn error(
    status: StatusCode,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
    headers: Vec<(&'static str, String)>,
) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    let mut response = (status, axum::Json(body)).into_response();
    for (name, value) in headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
