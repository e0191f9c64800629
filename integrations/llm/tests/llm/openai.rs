//! OpenAI: request shape (strict json_schema), structured output, error classification,
//! retries and timeouts, against `FakeOpenAi`.

use std::time::Duration;

use leadline_domain::analysis::{Intent, Language, Provider};
use leadline_llm::fake::{Behavior, FakeOpenAi};
use leadline_llm::{LlmError, LlmProvider, ResilientProvider};
use serde_json::{json, Value};

use crate::support::*;

const MODEL: &str = "gpt-4o-mini";

#[tokio::test]
async fn analyze_sends_a_strict_json_schema_the_fake_accepts() {
    let fake = FakeOpenAi::start().await.unwrap();
    let mut answer = analysis_answer();
    answer["language"] = json!("es");
    fake.push(Behavior::Respond(answer));
    let outcome = openai(fake.base_url())
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), MODEL))
        .await
        .unwrap();

    let request = &fake.requests()[0];
    assert_eq!(
        (request.path.as_str(), request.status),
        ("/v1/chat/completions", Some(200))
    );
    assert_eq!(
        request.header("authorization").map(String::from),
        Some(format!("Bearer {}", fake.api_key()))
    );
    let body = &request.body;
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["max_completion_tokens"], 1024);
    assert_eq!(body["temperature"].as_f64(), Some(0.3));
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .starts_with(SYSTEM_PROMPT));
    assert_eq!(body["messages"][1]["role"], "user");
    assert!(body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains(MESSAGE));
    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "record_analysis");
    assert_eq!(format["json_schema"]["strict"], true);
    assert_eq!(
        format["json_schema"]["schema"]["additionalProperties"],
        false
    );
    assert!(body.get("tools").is_none());

    assert_eq!(outcome.provider, Provider::Openai);
    assert_eq!(outcome.value.provider, Provider::Openai);
    assert_eq!(outcome.value.intent, Intent::ProductInquiry);
    assert_eq!(outcome.value.language, Language::Spanish);
    assert_eq!(outcome.value.signals.len(), 2);
    let usage = &request_usage(&fake);
    assert_eq!(
        (outcome.usage.input_tokens, outcome.usage.output_tokens),
        *usage
    );
}

/// The usage the fake computed for its only answer: prompt tokens from the body it received,
/// completion tokens from the content it sent (4 bytes a token).
fn request_usage(fake: &FakeOpenAi) -> (u64, u64) {
    let body = serde_json::to_string(&fake.requests()[0].body).unwrap();
    // The client's serialization and serde_json's agree byte for byte (same library, same order).
    let input = (body.len() as u64).div_ceil(4);
    let mut answer = analysis_answer();
    answer["language"] = json!("es");
    let output = (answer.to_string().len() as u64).div_ceil(4);
    (input, output)
}

#[tokio::test]
async fn reply_schema_is_strict_and_the_exact_link_may_be_quoted() {
    let fake = FakeOpenAi::start().await.unwrap();
    let text = "Sure! You can order it here: https://cumbre.example/p/trail-shoe.";
    fake.push(Behavior::Respond(json!({"text": text, "handoff": true})));
    let analysis = matched_analysis(Provider::Openai);
    let outcome = openai(fake.base_url())
        .reply(
            MESSAGE,
            &analysis,
            &ctx(),
            &cfg(tenant(1), fake.api_key(), MODEL),
        )
        .await
        .unwrap();
    let body = &fake.requests()[0].body;
    assert_eq!(body["max_completion_tokens"], 300);
    assert_eq!(
        body["response_format"]["json_schema"]["name"],
        "write_reply"
    );
    assert_eq!(outcome.value.text, text);
    assert!(outcome.value.handoff);
}

#[tokio::test]
async fn reasoning_models_are_sent_no_temperature() {
    let fake = FakeOpenAi::start().await.unwrap();
    let outcome = openai(fake.base_url())
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), "o4-mini"))
        .await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(fake.requests()[0].body.get("temperature").is_none());
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_not_retried() {
    let fake = FakeOpenAi::start().await.unwrap();
    let resilient = ResilientProvider::new(openai(fake.base_url()), resilience(3, 5), fallback());
    let result = resilient
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), "sk-wrong", MODEL))
        .await;
    assert!(
        matches!(result, Err(LlmError::Unauthorized(ref m)) if m.starts_with("Incorrect API key")),
        "{result:?}"
    );
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_honoured_then_the_retry_succeeds() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Behavior::RateLimited {
        retry_after_secs: Some(1),
    });
    fake.push(Behavior::Respond(analysis_answer()));
    let resilient = ResilientProvider::new(openai(fake.base_url()), resilience(3, 5), fallback());
    let outcome = resilient
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), MODEL))
        .await
        .unwrap();
    assert_eq!((outcome.provider, outcome.attempts), (Provider::Openai, 2));
    assert_eq!(outcome.retry_delays, vec![Duration::from_secs(1)]);
}

#[tokio::test]
async fn exhausted_quota_is_a_rejection_not_a_retry_nor_a_fallback() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.set_default(Behavior::QuotaExhausted);
    let resilient = ResilientProvider::new(openai(fake.base_url()), resilience(3, 5), fallback());
    let result = resilient
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), MODEL))
        .await;
    assert!(
        matches!(result, Err(LlmError::Rejected { status: 429, ref code, .. }) if code == "insufficient_quota"),
        "{result:?}"
    );
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn overloaded_503_is_retried() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Behavior::Overloaded {
        retry_after_secs: None,
    });
    fake.push(Behavior::ServerError);
    let resilient = ResilientProvider::new(openai(fake.base_url()), resilience(3, 5), fallback());
    let outcome = resilient
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), MODEL))
        .await
        .unwrap();
    assert_eq!((outcome.provider, outcome.attempts), (Provider::Openai, 3));
    let statuses: Vec<_> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![Some(503), Some(500), Some(200)]);
}

#[tokio::test]
async fn invalid_partial_and_refused_content_are_decode_errors_not_panics() {
    let fake = FakeOpenAi::start().await.unwrap();
    let provider = openai(fake.base_url());
    let config = cfg(tenant(1), fake.api_key(), MODEL);
    let mut out_of_range = analysis_answer();
    out_of_range["sentiment"] = json!(7);
    let cases = [
        Behavior::RawContent("{\"intent\": \"PRODUCT_INQ".into()),
        Behavior::RawContent("Sure! It is a product inquiry.".into()),
        Behavior::RawContent("[1, 2]".into()),
        Behavior::Truncated,
        Behavior::Refusal("I'm sorry, I can't help with that.".into()),
        Behavior::Respond(out_of_range),
    ];
    for behavior in cases {
        fake.push(behavior.clone());
        let result = provider.analyze(MESSAGE, &ctx(), &config).await;
        assert!(
            matches!(result, Err(LlmError::Decode(_))),
            "{behavior:?} gave {result:?}"
        );
    }
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Behavior::Slow {
        delay: Duration::from_secs(5),
        then: Box::new(Behavior::Auto),
    });
    let client = leadline_llm::openai::Client::new(reqwest::Client::new(), fake.base_url())
        .with_timeout(Duration::from_millis(200));
    let result = LlmProvider::OpenAi(client)
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), MODEL))
        .await;
    assert_eq!(result, Err(LlmError::Timeout));
}

#[tokio::test]
async fn the_fake_enforces_strict_schemas_and_answers_in_the_openai_error_shape() {
    let fake = FakeOpenAi::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", fake.base_url());
    let send = |key: Option<&'static str>, body: Value| {
        let mut request = http.post(&url).json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let key = Some(leadline_llm::fake::openai::DEFAULT_API_KEY);
    let strict = |schema: Value| {
        json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}],
               "response_format": {"type": "json_schema", "json_schema": {"name": "t", "strict": true, "schema": schema}}})
    };

    let (status, body) = send(Some("sk-nope"), strict(json!({"type": "object"}))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_api_key"))
    );
    assert!(body["error"].get("param").is_some_and(Value::is_null));

    let open =
        json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
    let (status, body) = send(key, strict(open)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_json_schema"))
    );
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let partial = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "number"}},
                         "required": ["a"], "additionalProperties": false});
    let (status, body) = send(key, strict(partial)).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Missing 'b'"));

    let nested = json!({"type": "object", "properties": {"list": {"type": "array", "items":
                        {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}}},
                        "required": ["list"], "additionalProperties": false});
    assert_eq!(
        send(key, strict(nested)).await.0,
        400,
        "nested objects must be closed too"
    );

    let (status, body) = send(
        key,
        json!({"model": MODEL, "messages": [], "temperature": 1}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("messages"))
    );
    let (status, body) = send(
        key,
        json!({"model": MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": 2.5}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("temperature"))
    );

    let closed = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false});
    let (status, body) = send(key, strict(closed)).await;
    assert_eq!(status, 200);
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(content).unwrap(),
        json!({"a": "fake"})
    );
}

#[tokio::test]
async fn the_fake_answers_forced_function_tools_with_tool_calls() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Behavior::Respond(json!({"order_id": "42"})));
    let body = json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": "Where is my order?"}],
        "tools": [{"type": "function", "function": {"name": "lookup_order", "strict": true, "parameters":
                   {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"], "additionalProperties": false}}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup_order"}}
    });
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", fake.base_url()))
        .bearer_auth(fake.api_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    let answer: leadline_llm::models::openai::ChatCompletion = response.json().await.unwrap();
    let choice = &answer.choices[0];
    assert_eq!(
        choice.finish_reason,
        Some(leadline_llm::models::openai::FinishReason::ToolCalls)
    );
    let call = &choice.message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.function.name, "lookup_order");
    assert_eq!(
        serde_json::from_str::<Value>(&call.function.arguments).unwrap(),
        json!({"order_id": "42"})
    );
}
