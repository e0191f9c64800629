//! The Anthropic Messages API client (`POST {base}/v1/messages`, platforms.md §10).
//!
//! Stateless about tenants: the API key comes with each call, so one client (and one connection
//! pool) serves every tenant. Structured output is a forced tool call: the spec's schema becomes
//! the tool's `input_schema` and `tool_choice` is `{"type":"tool","name":..}`, so the answer is
//! the `tool_use` block's `input`, never prose. This module sends one request per call; retries
//! and fallback live in `resilient.rs`.

use std::time::Duration;

use reqwest::StatusCode;

use crate::error::LlmError;
use crate::models::anthropic::{
    ContentBlock, ErrorResponse, Message, MessageContent, MessagesRequest, MessagesResponse, Role,
    StopReason, Tool, ToolChoice,
};
use crate::prompt::StructuredCall;
use crate::request::{clamp_temperature, ApiKey, Exchange, LlmRequestConfig};
use crate::retry::parse_retry_after;
use crate::usage::Usage;

/// The production API origin (`ANTHROPIC_API_BASE` overrides it; the client adds `/v1/...`).
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The `anthropic-version` header value.
pub const API_VERSION: &str = "2023-06-01";
/// The model used when a tenant has not chosen one.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
/// Anthropic accepts temperatures in 0..=1 (OpenAI's range is 0..=2, like `AiSettings`).
pub const MAX_TEMPERATURE: f32 = 1.0;

/// A client for one Anthropic origin.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    version: String,
    timeout: Duration,
}

impl Client {
    /// A client on `base_url` (scheme + host + port, e.g. `https://api.anthropic.com` or a fake's
    /// URL) sharing `http`'s connection pool, with a 60 s request timeout.
    pub fn new(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            version: API_VERSION.to_owned(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Replaces the whole-request timeout (connect, send, wait, read).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Replaces the `anthropic-version` header.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The origin this client talks to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `POST /v1/messages`: one request, classified into `LlmError` on failure.
    pub async fn create_message(
        &self,
        api_key: &ApiKey,
        request: &MessagesRequest,
    ) -> Result<MessagesResponse, LlmError> {
        let response = self
            .http
            .post(format!("{}/v1/messages", self.base_url))
            .timeout(self.timeout)
            .header("x-api-key", api_key.expose())
            .header("anthropic-version", &self.version)
            .json(request)
            .send()
            .await
            .map_err(|e| LlmError::from_transport(&e))?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers(), chrono::Utc::now());
        let request_id = response
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .bytes()
            .await
            .map_err(|e| LlmError::from_transport(&e))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| LlmError::Decode(format!("messages response: {e}")));
        }
        let error = classify(status, retry_after, &body);
        tracing::warn!(status = status.as_u16(), request_id, %error, "Anthropic request failed");
        Err(error)
    }

    /// Runs a structured call as a forced tool call and returns the tool input (or why the
    /// answer is unusable) with the usage billed.
    pub(crate) async fn exchange(
        &self,
        call: &StructuredCall,
        cfg: &LlmRequestConfig,
    ) -> Result<Exchange, LlmError> {
        let request = MessagesRequest {
            model: cfg.model.clone(),
            max_tokens: call.max_tokens.max(1),
            system: Some(call.system.clone()),
            messages: vec![Message {
                role: Role::User,
                content: MessageContent::Text(call.user.clone()),
            }],
            temperature: Some(clamp_temperature(cfg.temperature, MAX_TEMPERATURE)),
            tools: vec![Tool {
                name: call.name.to_owned(),
                description: Some(call.description.to_owned()),
                input_schema: call.schema.clone(),
            }],
            tool_choice: Some(ToolChoice::Tool {
                name: call.name.to_owned(),
            }),
        };
        let response = self.create_message(&cfg.api_key, &request).await?;
        let usage = Usage {
            input_tokens: response.usage.input_tokens,
            output_tokens: response.usage.output_tokens,
        };
        let output = tool_input(&response, call.name);
        Ok(Exchange {
            model: response.model,
            usage,
            output,
        })
    }
}

/// The forced tool's input, or why there is none usable.
fn tool_input(response: &MessagesResponse, tool: &str) -> Result<serde_json::Value, LlmError> {
    match response.stop_reason {
        Some(StopReason::MaxTokens) => {
            return Err(LlmError::Decode(
                "the answer was cut off at max_tokens (partial tool input)".into(),
            ))
        }
        Some(StopReason::Refusal) => {
            return Err(LlmError::Decode("the model refused to answer".into()))
        }
        Some(StopReason::ModelContextWindowExceeded) => {
            return Err(LlmError::Decode(
                "the prompt filled the model's context window".into(),
            ))
        }
        _ => {}
    }
    let input = response.content.iter().find_map(|block| match block {
        ContentBlock::ToolUse { name, input, .. } if name == tool => Some(input),
        _ => None,
    });
    match input {
        Some(input) if input.is_object() => Ok(input.clone()),
        Some(other) => Err(LlmError::Decode(format!(
            "tool input is not an object: {other}"
        ))),
        None => Err(LlmError::Decode(format!(
            "no `{tool}` tool_use block in the answer"
        ))),
    }
}

/// Maps a non-2xx response to an error by status, then by the body's `error.type`.
fn classify(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> LlmError {
    let (kind, message) = match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(parsed) => (parsed.error.kind, parsed.error.message),
        Err(_) => (
            String::new(),
            String::from_utf8_lossy(body).chars().take(200).collect(),
        ),
    };
    match status.as_u16() {
        401 | 403 => LlmError::Unauthorized(if message.is_empty() { kind } else { message }),
        429 => LlmError::RateLimited { retry_after },
        529 | 503 => LlmError::Overloaded { retry_after },
        _ if kind == "overloaded_error" => LlmError::Overloaded { retry_after },
        // The SDKs retry 408 and 409 (lock timeouts) as well as 5xx.
        408 | 409 => LlmError::Transient(format!("{status} {kind}: {message}")),
        code if status.is_server_error() => {
            LlmError::Transient(format!("{code} {kind}: {message}"))
        }
        code => LlmError::Rejected {
            status: code,
            code: if kind.is_empty() {
                "unknown".to_owned()
            } else {
                kind
            },
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_status_and_type() {
        let body = |kind: &str| {
            format!(
                r#"{{"type":"error","error":{{"type":"{kind}","message":"m"}},"request_id":"req_1"}}"#
            )
        };
        let wait = Some(Duration::from_secs(2));
        let at = |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
        assert_eq!(
            classify(at(401), None, body("authentication_error").as_bytes()),
            LlmError::Unauthorized("m".into())
        );
        assert_eq!(
            classify(at(429), wait, body("rate_limit_error").as_bytes()),
            LlmError::RateLimited { retry_after: wait }
        );
        assert_eq!(
            classify(at(529), wait, body("overloaded_error").as_bytes()),
            LlmError::Overloaded { retry_after: wait }
        );
        assert!(matches!(
            classify(at(500), None, body("api_error").as_bytes()),
            LlmError::Transient(_)
        ));
        assert!(matches!(
            classify(at(502), None, b"<html>bad gateway</html>"),
            LlmError::Transient(_)
        ));
        assert_eq!(
            classify(at(400), None, body("invalid_request_error").as_bytes()),
            LlmError::Rejected {
                status: 400,
                code: "invalid_request_error".into(),
                message: "m".into()
            }
        );
        assert!(matches!(
            classify(at(402), None, body("billing_error").as_bytes()),
            LlmError::Rejected { status: 402, .. }
        ));
        assert!(matches!(
            classify(at(413), None, b"too large"),
            LlmError::Rejected { status: 413, .. }
        ));
    }

    #[test]
    fn temperature_is_clamped_to_the_providers_range() {
        assert_eq!(clamp_temperature(1.4, MAX_TEMPERATURE), 1.0);
        assert_eq!(clamp_temperature(-0.1, MAX_TEMPERATURE), 0.0);
        assert_eq!(clamp_temperature(0.7, MAX_TEMPERATURE), 0.7);
    }
}
