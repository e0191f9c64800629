//! Loopback fakes of both wire formats (feature `fake`), for this crate's tests and the api's
//! end-to-end tests (point `ANTHROPIC_API_BASE` / `OPENAI_API_BASE` at `base_url()`).
//!
//! Each fake is an axum server on `127.0.0.1:0` that:
//! - validates requests as the real API does (headers, required fields, ranges, tool and schema
//!   shapes) and answers 400/401 in the platform's exact error JSON;
//! - answers with a structured response (Anthropic `tool_use`, OpenAI `json_schema` content or a
//!   forced function call). By default the answer is derived from the request's schema and the
//!   last user turn (`Behavior::Auto`); tests push scripted `Behavior`s, consumed one per request;
//! - injects failures: 429 with `retry-after`, 529 (Anthropic) / 503 (OpenAI), 500, exhausted
//!   quota, slow answers, malformed, truncated or refused output;
//! - records every request (headers and JSON body) for assertions.
//!
//! Not for production: it trusts its caller, keeps everything in memory, and shuts down when
//! dropped.

pub mod anthropic;
pub mod openai;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

pub use anthropic::FakeAnthropic;
pub use openai::FakeOpenAi;

/// What the fake does with one request that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Behavior {
    /// Answer with output derived from the request's schema and last user turn.
    Auto,
    /// Answer with exactly this structured output (tool input / schema JSON).
    Respond(Value),
    /// Answer with this raw text where the structured output belongs: Anthropic sends a text
    /// block and no `tool_use`; OpenAI sends it verbatim as `content` (e.g. invalid JSON).
    RawContent(String),
    /// Answer with the `Auto` output cut short: Anthropic `stop_reason: max_tokens` with only
    /// the first field of the tool input; OpenAI `finish_reason: length` with half the JSON text.
    Truncated,
    /// The model refuses: Anthropic `stop_reason: refusal`, OpenAI `message.refusal`.
    Refusal(String),
    /// 429 rate limit, with `retry-after: <seconds>` when given.
    RateLimited {
        /// Value of the `retry-after` header.
        retry_after_secs: Option<u64>,
    },
    /// Anthropic 529 `overloaded_error` / OpenAI 503, with `retry-after` when given.
    Overloaded {
        /// Value of the `retry-after` header.
        retry_after_secs: Option<u64>,
    },
    /// 500 (`api_error` / `server_error`).
    ServerError,
    /// Out of credit: Anthropic 402 `billing_error`, OpenAI 429 `insufficient_quota`.
    QuotaExhausted,
    /// Wait `delay` before doing `then` (to trigger client timeouts).
    Slow {
        /// How long to wait before answering.
        delay: Duration,
        /// What to answer after the wait.
        then: Box<Behavior>,
    },
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path (no query).
    pub path: String,
    /// Headers, names lower-cased (repeated headers: the last value).
    pub headers: BTreeMap<String, String>,
    /// The JSON body (`Value::Null` when it was not JSON).
    pub body: Value,
    /// The status answered; None while the answer is pending or if the client went away.
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

/// State shared by the handlers and the test's handle.
#[derive(Debug)]
pub(crate) struct Shared {
    api_key: String,
    script: Mutex<VecDeque<Behavior>>,
    default: Mutex<Behavior>,
    requests: Mutex<Vec<RecordedRequest>>,
    counter: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not turn every later request into a poisoned-lock panic.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn new(api_key: String) -> Self {
        Self {
            api_key,
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(Behavior::Auto),
            requests: Mutex::new(Vec::new()),
            counter: AtomicU64::new(0),
        }
    }

    pub(crate) fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The next scripted behaviour, or the default.
    pub(crate) fn next_behavior(&self) -> Behavior {
        lock(&self.script)
            .pop_front()
            .unwrap_or_else(|| lock(&self.default).clone())
    }

    /// A fresh sequence number for ids.
    pub(crate) fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Records a request on arrival; returns its index for `answered`.
    pub(crate) fn record(
        &self,
        method: &str,
        path: &str,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> usize {
        let headers = headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let body = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut requests = lock(&self.requests);
        requests.push(RecordedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            headers,
            body,
            status: None,
        });
        requests.len() - 1
    }

    /// Notes the status answered to request `index`.
    pub(crate) fn answered(&self, index: usize, status: u16) {
        if let Some(request) = lock(&self.requests).get_mut(index) {
            request.status = Some(status);
        }
    }
}

/// The running server and the controls common to both fakes.
#[derive(Debug)]
pub struct FakeServer {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl FakeServer {
    pub(crate) async fn start(router: axum::Router, shared: Arc<Shared>) -> std::io::Result<Self> {
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
                tracing::warn!(%error, "fake LLM server stopped with an error");
            }
        });
        Ok(Self {
            base_url,
            shared,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:<port>`: what `ANTHROPIC_API_BASE` / `OPENAI_API_BASE` should be.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The only API key the fake accepts.
    pub fn api_key(&self) -> &str {
        self.shared.api_key()
    }

    /// Queues `behavior` for the next request not yet scripted.
    pub fn push(&self, behavior: Behavior) {
        lock(&self.shared.script).push_back(behavior);
    }

    /// Queues `behavior` for the next `n` requests.
    pub fn push_n(&self, n: usize, behavior: Behavior) {
        let mut script = lock(&self.shared.script);
        script.extend(std::iter::repeat_n(behavior, n));
    }

    /// What to do once the script is used up (initially `Behavior::Auto`).
    pub fn set_default(&self, behavior: Behavior) {
        *lock(&self.shared.default) = behavior;
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A deterministic value matching `schema`, preferring enum values the prompt mentions:
/// objects get every property, arrays are empty, nullable enums without a mention are null,
/// numbers 0.5, integers 1, booleans false, and a property named `text` a polite placeholder.
pub(crate) fn synthesize(schema: &Value, prompt: &str, property: Option<&str>) -> Value {
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        let mentioned = options
            .iter()
            .filter_map(Value::as_str)
            .find(|option| mentions(prompt, option));
        return match mentioned {
            Some(option) => Value::String(option.to_owned()),
            None if options.iter().any(Value::is_null) => Value::Null,
            None => options.first().cloned().unwrap_or(Value::Null),
        };
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .unwrap_or("null"),
        _ => "null",
    };
    match kind {
        "object" => {
            let mut object = Map::new();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, sub) in properties {
                    object.insert(name.clone(), synthesize(sub, prompt, Some(name)));
                }
            }
            Value::Object(object)
        }
        "array" => json!([]),
        "string" if property == Some("text") => {
            json!("Thanks for your message! A member of our team will follow up shortly.")
        }
        "string" => json!("fake"),
        "number" => json!(0.5),
        "integer" => json!(1),
        "boolean" => json!(false),
        _ => Value::Null,
    }
}

/// Whether `prompt` contains `option` as whole words (case-insensitive, `_` read as a space).
fn mentions(prompt: &str, option: &str) -> bool {
    let prompt = prompt.to_lowercase();
    let wanted = option.to_lowercase().replace('_', " ");
    if wanted.trim().is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(pos) = prompt[from..].find(&wanted) {
        let start = from + pos;
        let end = start + wanted.len();
        let before = prompt[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after = prompt[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if before && after {
            return true;
        }
        from = end;
    }
    false
}

/// A rough token count (4 bytes a token), at least 1: deterministic usage for tests.
pub(crate) fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4).max(1)
}

/// The value of a `retry-after` header for `seconds`.
pub(crate) fn retry_after_header(seconds: Option<u64>) -> Vec<(&'static str, String)> {
    seconds
        .map(|s| ("retry-after", s.to_string()))
        .into_iter()
        .collect()
}

/// Unwraps `Slow` behaviours, sleeping through each delay.
pub(crate) async fn settle(mut behavior: Behavior) -> Behavior {
    while let Behavior::Slow { delay, then } = behavior {
        tokio::time::sleep(delay).await;
        behavior = *then;
    }
    behavior
}

/// `[a-zA-Z0-9_-]{1,64}`, the name rule of tools and JSON schemas at both providers.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthesized_values_follow_the_schema_and_prefer_mentioned_enum_values() {
        let schema = json!({"type": "object", "properties": {
            "intent": {"type": "string", "enum": ["PRODUCT_INQUIRY", "COMPLAINT"]},
            "product": {"type": ["string", "null"], "enum": ["p-1", "p-2", null]},
            "score": {"type": "number"}, "n": {"type": "integer"}, "ok": {"type": "boolean"},
            "list": {"type": "array", "items": {"type": "string"}}, "text": {"type": "string"}}});
        let value = synthesize(&schema, "I have a complaint about p-2", None);
        assert_eq!(value["intent"], "COMPLAINT");
        assert_eq!(value["product"], "p-2");
        assert_eq!(
            (
                value["score"].clone(),
                value["n"].clone(),
                value["ok"].clone()
            ),
            (json!(0.5), json!(1), json!(false))
        );
        assert_eq!(value["list"], json!([]));
        assert!(value["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Thanks")));
        let value = synthesize(&schema, "hello", None);
        assert_eq!(
            (value["intent"].clone(), value["product"].clone()),
            (json!("PRODUCT_INQUIRY"), Value::Null)
        );
    }

    #[test]
    fn mentions_needs_whole_words() {
        assert!(mentions("habla es aquí", "es"));
        assert!(!mentions("yes please", "es"));
        assert!(mentions("a purchase intent here", "PURCHASE_INTENT"));
    }
}
