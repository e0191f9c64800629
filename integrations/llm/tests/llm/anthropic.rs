//! Anthropic: request shape, structured output, error classification, retries, timeouts and
//! the grounding rule, against `FakeAnthropic`.

use std::time::Duration;

use leadline_domain::analysis::{Intent, Provider, Signal};
use leadline_llm::fake::{Behavior, FakeAnthropic};
use leadline_llm::{LlmError, LlmProvider, ResilienceConfig, ResilientProvider};
use serde_json::{json, Value};

use crate::support::*;

const MODEL: &str = "claude-sonnet-4-5";

#[tokio::test]
async fn analyze_sends_the_messages_wire_format_with_a_forced_tool() {
    let fake = FakeAnthropic::start().await.unwrap();
    fake.push(Behavior::Respond(analysis_answer()));
    let outcome = anthropic(fake.base_url())
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), MODEL))
        .await
        .unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (
            request.method.as_str(),
            request.path.as_str(),
            request.status
        ),
        ("POST", "/v1/messages", Some(200))
    );
    assert_eq!(request.header("x-api-key"), Some(fake.api_key()));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = &request.body;
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["max_tokens"], 1024, "the analysis has its own budget");
    assert_eq!(body["temperature"].as_f64(), Some(0.3));
    let system = body["system"].as_str().unwrap();
    assert!(system.starts_with(SYSTEM_PROMPT));
    assert!(system.contains("id: p-trail | name: Trail Shoe | price: 89.99 USD"));
    assert!(system.contains("\"manager\""));
    assert_eq!(body["messages"][0]["role"], "user");
    let user = body["messages"][0]["content"].as_str().unwrap();
    assert!(user.contains("ASSISTANT: Hi! How can I help?"));
    assert!(user.contains(MESSAGE));
    assert_eq!(body["tools"][0]["name"], "record_analysis");
    assert_eq!(body["tools"][0]["input_schema"]["type"], "object");
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "record_analysis"})
    );

    let analysis = outcome.value;
    assert_eq!(
        (analysis.intent, analysis.provider),
        (Intent::ProductInquiry, Provider::Anthropic)
    );
    assert_eq!(outcome.provider, Provider::Anthropic);
    assert_eq!(outcome.model, MODEL);
    assert_eq!(outcome.attempts, 1);
    assert!(outcome.usage.input_tokens > 0 && outcome.usage.output_tokens > 0);
    let signals: Vec<_> = analysis
        .signals
        .iter()
        .map(|s| (s.signal, &MESSAGE[s.start..s.end]))
        .collect();
    assert_eq!(
        signals,
        vec![
            (Signal::Urgent, "I need it today"),
            (Signal::BudgetMentioned, "my budget is tight")
        ]
    );
    assert_eq!(
        analysis.matched_product.map(|m| m.product_id),
        Some("p-trail".to_owned())
    );
}

#[tokio::test]
async fn reply_is_a_forced_tool_call_with_the_tenants_budget_and_may_quote_the_exact_price() {
    let fake = FakeAnthropic::start().await.unwrap();
    let text = "The Trail Shoe is 89.99 USD and ships today: https://cumbre.example/p/trail-shoe";
    fake.push(Behavior::Respond(json!({"text": text, "handoff": false})));
    let config = cfg(tenant(1), fake.api_key(), MODEL);
    let analysis = matched_analysis(Provider::Anthropic);
    let outcome = anthropic(fake.base_url())
        .reply(MESSAGE, &analysis, &ctx(), &config)
        .await
        .unwrap();

    let body = &fake.requests()[0].body;
    assert_eq!(body["max_tokens"], 300);
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "write_reply"})
    );
    assert!(body["system"]
        .as_str()
        .unwrap()
        .contains("exactly as \"89.99 USD\""));
    assert_eq!(outcome.value.text, text);
    assert!(!outcome.value.handoff);
    assert_eq!(outcome.value.provider, Provider::Anthropic);
}

#[tokio::test]
async fn temperatures_above_anthropics_range_are_clamped_not_rejected() {
    let fake = FakeAnthropic::start().await.unwrap();
    let mut config = cfg(tenant(1), fake.api_key(), MODEL);
    config.temperature = 1.6;
    let outcome = anthropic(fake.base_url())
        .analyze(MESSAGE, &ctx(), &config)
        .await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(fake.requests()[0].body["temperature"].as_f64(), Some(1.0));
}

#[tokio::test]
async fn the_default_fake_answer_is_schema_valid_structured_output() {
    let fake = FakeAnthropic::start().await.unwrap();
    let provider = anthropic(fake.base_url());
    let config = cfg(tenant(1), fake.api_key(), MODEL);
    let analysis = provider
        .analyze(MESSAGE, &ctx(), &config)
        .await
        .unwrap()
        .value;
    assert_eq!(analysis.provider, Provider::Anthropic);
    let reply = provider
        .reply(MESSAGE, &analysis, &ctx(), &config)
        .await
        .unwrap()
        .value;
    assert!(reply.text.starts_with("Thanks"));
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_never_retried_or_replaced() {
    let fake = FakeAnthropic::start().await.unwrap();
    let resilient =
        ResilientProvider::new(anthropic(fake.base_url()), resilience(3, 5), fallback());
    let config = cfg(tenant(1), "sk-ant-wrong", MODEL);
    let result = resilient.analyze(MESSAGE, &ctx(), &config).await;
    assert_eq!(
        result,
        Err(LlmError::Unauthorized("invalid x-api-key".into()))
    );
    assert_eq!(fake.request_count(), 1);
    assert_eq!(fake.requests()[0].status, Some(401));
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_honoured_then_the_retry_succeeds() {
    let fake = FakeAnthropic::start().await.unwrap();
    fake.push(Behavior::RateLimited {
        retry_after_secs: Some(1),
    });
    fake.push(Behavior::Respond(analysis_answer()));
    let resilient =
        ResilientProvider::new(anthropic(fake.base_url()), resilience(3, 5), fallback());
    let outcome = resilient
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), MODEL))
        .await
        .unwrap();

    assert_eq!(outcome.provider, Provider::Anthropic);
    assert_eq!(outcome.attempts, 2);
    // The backoff alone would have waited 10 ms; the provider asked for 1 s.
    assert_eq!(outcome.retry_delays, vec![Duration::from_secs(1)]);
    let statuses: Vec<_> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![Some(429), Some(200)]);
}

#[tokio::test]
async fn overloaded_529_is_retried_with_backoff() {
    let fake = FakeAnthropic::start().await.unwrap();
    fake.push_n(
        2,
        Behavior::Overloaded {
            retry_after_secs: None,
        },
    );
    fake.push(Behavior::Respond(analysis_answer()));
    let resilient =
        ResilientProvider::new(anthropic(fake.base_url()), resilience(3, 5), fallback());
    let outcome = resilient
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), MODEL))
        .await
        .unwrap();
    assert_eq!(outcome.provider, Provider::Anthropic);
    assert_eq!(outcome.attempts, 3);
    assert_eq!(
        outcome.retry_delays,
        vec![Duration::from_millis(10), Duration::from_millis(20)]
    );
    let statuses: Vec<_> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![Some(529), Some(529), Some(200)]);
}

#[tokio::test]
async fn server_errors_forever_end_in_an_error_after_max_attempts() {
    let fake = FakeAnthropic::start().await.unwrap();
    fake.set_default(Behavior::ServerError);
    let provider = anthropic(fake.base_url());
    let config = cfg(tenant(1), fake.api_key(), MODEL);
    let context = ctx();
    let retried = fast_retries(4)
        .run(|_| provider.analyze(MESSAGE, &context, &config))
        .await;
    assert!(
        matches!(retried.result, Err(LlmError::Transient(ref m)) if m.contains("api_error")),
        "{:?}",
        retried.result
    );
    assert_eq!(retried.attempts, 4);
    assert_eq!(fake.request_count(), 4);
}

#[tokio::test]
async fn malformed_partial_prose_and_refused_answers_are_decode_errors_not_panics() {
    let fake = FakeAnthropic::start().await.unwrap();
    let provider = anthropic(fake.base_url());
    let config = cfg(tenant(1), fake.api_key(), MODEL);
    let mut wrong_types = analysis_answer();
    wrong_types["confidence"] = json!("very high");
    let mut unknown_intent = analysis_answer();
    unknown_intent["intent"] = json!("BUYING_STUFF");
    let cases = [
        Behavior::Respond(wrong_types),
        Behavior::Respond(unknown_intent),
        Behavior::Respond(json!({"intent": "PRODUCT_INQUIRY"})),
        Behavior::Truncated,
        Behavior::RawContent("Sure! This looks like a product inquiry.".into()),
        Behavior::Refusal("I can't help with that.".into()),
    ];
    for behavior in cases {
        fake.push(behavior.clone());
        let result = provider.analyze(MESSAGE, &ctx(), &config).await;
        assert!(
            matches!(result, Err(LlmError::Decode(_))),
            "{behavior:?} gave {result:?}"
        );
    }
    assert_eq!(fake.request_count(), 6);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let fake = FakeAnthropic::start().await.unwrap();
    fake.push(Behavior::Slow {
        delay: Duration::from_secs(5),
        then: Box::new(Behavior::Auto),
    });
    let client = leadline_llm::anthropic::Client::new(reqwest::Client::new(), fake.base_url())
        .with_timeout(Duration::from_millis(200));
    let result = LlmProvider::Anthropic(client)
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), MODEL))
        .await;
    assert_eq!(result, Err(LlmError::Timeout));
}

#[tokio::test]
async fn an_invented_price_in_a_reply_is_refused_and_fallback_on_it_is_opt_in() {
    let fake = FakeAnthropic::start().await.unwrap();
    let invented =
        Behavior::Respond(json!({"text": "Today only: the Trail Shoe is $49!", "handoff": false}));
    let config = cfg(tenant(1), fake.api_key(), MODEL);
    let analysis = matched_analysis(Provider::Anthropic);

    fake.push(invented.clone());
    let strict = ResilientProvider::new(anthropic(fake.base_url()), resilience(3, 5), fallback());
    let result = strict.reply(MESSAGE, &analysis, &ctx(), &config).await;
    assert!(
        matches!(result, Err(LlmError::Ungrounded(ref m)) if m.contains("49")),
        "{result:?}"
    );

    fake.push(invented);
    let lenient = ResilientProvider::new(
        anthropic(fake.base_url()),
        ResilienceConfig {
            fallback_on_invalid_output: true,
            ..resilience(3, 5)
        },
        fallback(),
    );
    let outcome = lenient
        .reply(MESSAGE, &analysis, &ctx(), &config)
        .await
        .unwrap();
    assert_eq!(outcome.provider, Provider::OfflineFallback);
    assert_eq!(outcome.value.provider, Provider::OfflineFallback);
    assert!(matches!(
        outcome.fallback_cause,
        Some(LlmError::Ungrounded(_))
    ));
    assert!(
        outcome.usage.output_tokens > 0,
        "the refused answer was billed and stays visible"
    );
    assert_eq!(fake.request_count(), 2, "an unusable answer is not retried");
}

#[tokio::test]
async fn the_fake_rejects_requests_the_real_api_rejects_with_its_error_shape() {
    let fake = FakeAnthropic::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/messages", fake.base_url());
    let valid =
        json!({"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]});
    let send = |key: Option<&'static str>, version: Option<&'static str>, body: Value| {
        let mut request = http.post(&url).json(&body);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        if let Some(version) = version {
            request = request.header("anthropic-version", version);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let request_id = response
                .headers()
                .get("request-id")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, request_id, response.json::<Value>().await.unwrap())
        }
    };
    let key = Some(leadline_llm::fake::anthropic::DEFAULT_API_KEY);
    let version = Some("2023-06-01");

    let (status, request_id, body) = send(None, version, valid.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(body["request_id"].as_str(), request_id.as_deref());

    let (status, _, body) = send(key, None, valid.clone()).await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("invalid_request_error"))
    );

    let mut missing = valid.clone();
    missing.as_object_mut().unwrap().remove("max_tokens");
    let (status, _, body) = send(key, version, missing).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (400, Some("max_tokens: Field required"))
    );

    let mut hot = valid.clone();
    hot["temperature"] = json!(1.5);
    assert_eq!(send(key, version, hot).await.0, 400);

    let mut extra = valid.clone();
    extra["max_completion_tokens"] = json!(5);
    let (status, _, body) = send(key, version, extra).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (
            400,
            Some("max_completion_tokens: Extra inputs are not permitted")
        )
    );

    let mut unknown_tool = valid.clone();
    unknown_tool["tool_choice"] = json!({"type": "tool", "name": "nope"});
    assert_eq!(send(key, version, unknown_tool).await.0, 400);

    let (status, _, body) = send(key, version, valid).await;
    assert_eq!(
        (status, body["type"].as_str(), body["stop_reason"].as_str()),
        (200, Some("message"), Some("end_turn"))
    );
}

#[tokio::test]
async fn an_api_key_that_is_no_valid_header_is_rejected_without_sending_or_retrying() {
    let fake = FakeAnthropic::start().await.unwrap();
    let resilient =
        ResilientProvider::new(anthropic(fake.base_url()), resilience(3, 5), fallback());
    let result = resilient
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), "sk-ant\nbroken", MODEL))
        .await;
    assert!(
        matches!(result, Err(LlmError::Rejected { status: 0, ref code, .. }) if code == "request_not_built"),
        "{result:?}"
    );
    assert_eq!(fake.request_count(), 0);
}
