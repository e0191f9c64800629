//! The OpenAI Chat Completions client (`POST {base}/v1/chat/completions`, platforms.md §10).
//!
//! Stateless about tenants: the API key (`Authorization: Bearer`) comes with each call.
//! Structured output uses `response_format: {"type":"json_schema","json_schema":{..,"strict":true}}`,
//! so the answer is the message `content` holding JSON that matches the schema; refusals arrive
//! in `message.refusal`. This module sends one request per call; retries and fallback live in
//! `resilient.rs`.

use std::time::Duration;

use reqwest::StatusCode;

use crate::error::LlmError;
use crate::models::openai::{
    ChatCompletion, ChatMessage, ChatRequest, ChatRole, ErrorResponse, FinishReason,
    JsonSchemaFormat, ResponseFormat,
};
use crate::prompt::StructuredCall;
use crate::request::{clamp_temperature, ApiKey, Exchange, LlmRequestConfig};
use crate::retry::parse_retry_after;
use crate::usage::Usage;

/// The production API origin (`OPENAI_API_BASE` overrides it; the client adds `/v1/...`).
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com";
/// The model used when a tenant has not chosen one.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// OpenAI accepts temperatures in 0..=2.
pub const MAX_TEMPERATURE: f32 = 2.0;

/// A client for one OpenAI origin.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
}

impl Client {
    /// A client on `base_url` (scheme + host + port) sharing `http`'s connection pool, with a
    /// 60 s request timeout.
    pub fn new(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Replaces the whole-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The origin this client talks to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `POST /v1/chat/completions`: one request, classified into `LlmError` on failure.
    pub async fn create_chat_completion(
        &self,
        api_key: &ApiKey,
        request: &ChatRequest,
    ) -> Result<ChatCompletion, LlmError> {
        let response = self
            .http
            .post(format!("{}/v1/chat/completions", self.base_url))
            .timeout(self.timeout)
            .bearer_auth(api_key.expose())
            .json(request)
            .send()
            .await
            .map_err(|e| LlmError::from_transport(&e))?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers(), chrono::Utc::now());
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .bytes()
            .await
            .map_err(|e| LlmError::from_transport(&e))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| LlmError::Decode(format!("chat completion: {e}")));
        }
        let error = classify(status, retry_after, &body);
        tracing::warn!(status = status.as_u16(), request_id, %error, "OpenAI request failed");
        Err(error)
    }

    /// Runs a structured call with a strict JSON-schema response format and returns the parsed
    /// JSON (or why the answer is unusable) with the usage billed.
    pub(crate) async fn exchange(
        &self,
        call: &StructuredCall,
        cfg: &LlmRequestConfig,
    ) -> Result<Exchange, LlmError> {
        let request = ChatRequest {
            model: cfg.model.clone(),
            messages: vec![
                ChatMessage {
                    role: ChatRole::System,
                    content: Some(call.system.clone()),
                },
                ChatMessage {
                    role: ChatRole::User,
                    content: Some(call.user.clone()),
                },
            ],
            max_completion_tokens: Some(call.max_tokens.max(1)),
            temperature: supports_temperature(&cfg.model)
                .then(|| clamp_temperature(cfg.temperature, MAX_TEMPERATURE)),
            response_format: Some(ResponseFormat::JsonSchema {
                json_schema: JsonSchemaFormat {
                    name: call.name.to_owned(),
                    description: Some(call.description.to_owned()),
                    schema: call.schema.clone(),
                    strict: true,
                },
            }),
        };
        let response = self.create_chat_completion(&cfg.api_key, &request).await?;
        let usage = response
            .usage
            .map(|u| Usage {
                input_tokens: u.prompt_tokens,
                output_tokens: u.completion_tokens,
            })
            .unwrap_or_default();
        let output = structured_content(&response);
        Ok(Exchange {
            model: response.model,
            usage,
            output,
        })
    }
}

/// Reasoning models (o-series, gpt-5 family) reject any temperature but the default, so none is
/// sent to them; the tenant's setting applies to the others.
fn supports_temperature(model: &str) -> bool {
    !["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|prefix| model.starts_with(prefix))
}

/// The first choice's content parsed as a JSON object, or why it is unusable.
fn structured_content(response: &ChatCompletion) -> Result<serde_json::Value, LlmError> {
    let choice = response
        .choices
        .first()
        .ok_or_else(|| LlmError::Decode("no choices in the answer".into()))?;
    if let Some(refusal) = choice.message.refusal.as_deref().filter(|r| !r.is_empty()) {
        return Err(LlmError::Decode(format!("the model refused: {refusal}")));
    }
    match choice.finish_reason {
        Some(FinishReason::Length) => {
            return Err(LlmError::Decode(
                "the answer was cut off at max_completion_tokens (partial JSON)".into(),
            ))
        }
        Some(FinishReason::ContentFilter) => {
            return Err(LlmError::Decode(
                "the answer was withheld by the content filter".into(),
            ))
        }
        _ => {}
    }
    let content = choice
        .message
        .content
        .as_deref()
        .ok_or_else(|| LlmError::Decode("the answer has no content".into()))?;
    let value: serde_json::Value = serde_json::from_str(content)
        .map_err(|e| LlmError::Decode(format!("content is not valid JSON: {e}")))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(LlmError::Decode(format!(
            "content is not a JSON object: {value}"
        )))
    }
}

/// Maps a non-2xx response to an error by status, then by the body's `error.code`.
fn classify(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> LlmError {
    let (code, message) = match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(parsed) => (
            parsed.error.code.or(parsed.error.kind).unwrap_or_default(),
            parsed.error.message,
        ),
        Err(_) => (
            String::new(),
            String::from_utf8_lossy(body).chars().take(200).collect(),
        ),
    };
    match status.as_u16() {
        401 | 403 => LlmError::Unauthorized(if message.is_empty() { code } else { message }),
        // 429 means two things at OpenAI: slow down (retry), or the account is out of credit
        // (retrying only burns attempts).
        429 if code == "insufficient_quota" => LlmError::Rejected {
            status: 429,
            code,
            message,
        },
        429 => LlmError::RateLimited { retry_after },
        503 | 529 => LlmError::Overloaded { retry_after },
        408 | 409 => LlmError::Transient(format!("{status} {code}: {message}")),
        value if status.is_server_error() => {
            LlmError::Transient(format!("{value} {code}: {message}"))
        }
        value => LlmError::Rejected {
            status: value,
            code: if code.is_empty() {
                "unknown".to_owned()
            } else {
                code
            },
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_and_exhausted_quota_are_told_apart() {
        let body = |code: &str| {
            format!(
                r#"{{"error":{{"message":"m","type":"requests","param":null,"code":"{code}"}}}}"#
            )
        };
        let wait = Some(Duration::from_secs(1));
        assert_eq!(
            classify(
                StatusCode::TOO_MANY_REQUESTS,
                wait,
                body("rate_limit_exceeded").as_bytes()
            ),
            LlmError::RateLimited { retry_after: wait }
        );
        assert_eq!(
            classify(
                StatusCode::TOO_MANY_REQUESTS,
                wait,
                body("insufficient_quota").as_bytes()
            ),
            LlmError::Rejected {
                status: 429,
                code: "insufficient_quota".into(),
                message: "m".into()
            }
        );
        assert_eq!(
            classify(
                StatusCode::UNAUTHORIZED,
                None,
                body("invalid_api_key").as_bytes()
            ),
            LlmError::Unauthorized("m".into())
        );
        assert!(matches!(
            classify(StatusCode::INTERNAL_SERVER_ERROR, None, b"{}"),
            LlmError::Transient(_)
        ));
        assert_eq!(
            classify(StatusCode::SERVICE_UNAVAILABLE, None, b""),
            LlmError::Overloaded { retry_after: None }
        );
        let null_code = r#"{"error":{"message":"bad","type":"invalid_request_error","param":"messages","code":null}}"#;
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, None, null_code.as_bytes()),
            LlmError::Rejected {
                status: 400,
                code: "invalid_request_error".into(),
                message: "bad".into()
            }
        );
    }

    #[test]
    fn reasoning_models_get_no_temperature() {
        assert!(supports_temperature("gpt-4o-mini"));
        assert!(!supports_temperature("o4-mini"));
        assert!(!supports_temperature("gpt-5-mini"));
    }
}
