//! The resilient wrapper end to end: fallback after exhausted retries, the breaker opening,
//! staying open without calling the provider, recovering through a half-open probe, breakers
//! kept per credential, and usage metered per tenant.

use std::sync::Arc;
use std::time::Duration;

use leadline_domain::analysis::Provider;
use leadline_llm::fake::{Behavior, FakeAnthropic, FakeOpenAi};
use leadline_llm::{
    estimated_cost_micros, ApiKey, BreakerState, LlmError, ResilientProvider, Usage, UsageMeter,
};

use crate::support::*;

const MODEL: &str = "claude-sonnet-4-5";

/// Moves tokio's clock forward without sleeping (the breaker reads tokio's clock), then lets it
/// run again so the HTTP timeouts of the next request behave normally.
async fn skip(duration: Duration) {
    tokio::time::pause();
    tokio::time::advance(duration).await;
    tokio::time::resume();
}

#[tokio::test]
async fn exhausted_retries_fall_back_to_offline_and_say_why() {
    let fake = FakeAnthropic::start().await.unwrap();
    fake.set_default(Behavior::ServerError);
    let resilient =
        ResilientProvider::new(anthropic(fake.base_url()), resilience(3, 5), fallback());
    let outcome = resilient
        .analyze(MESSAGE, &ctx(), &cfg(tenant(1), fake.api_key(), MODEL))
        .await
        .unwrap();

    assert_eq!(outcome.provider, Provider::OfflineFallback);
    assert_eq!(
        outcome.value.provider,
        Provider::OfflineFallback,
        "the fallback's own mark is replaced"
    );
    assert_eq!(outcome.model, "offline");
    assert_eq!(outcome.attempts, 3);
    assert_eq!(outcome.usage, Usage::default());
    assert!(matches!(
        outcome.fallback_cause,
        Some(LlmError::Transient(_))
    ));
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn the_breaker_opens_after_consecutive_failures_and_then_skips_the_provider() {
    let fake = FakeAnthropic::start().await.unwrap();
    fake.set_default(Behavior::Overloaded {
        retry_after_secs: None,
    });
    let resilient =
        ResilientProvider::new(anthropic(fake.base_url()), resilience(2, 2), fallback());
    let config = cfg(tenant(1), fake.api_key(), MODEL);
    let key = ApiKey::new(fake.api_key());

    let first = resilient.analyze(MESSAGE, &ctx(), &config).await.unwrap();
    assert_eq!(
        (first.provider, first.attempts),
        (Provider::OfflineFallback, 2)
    );
    assert_eq!(resilient.breaker_state(&key), BreakerState::Closed);
    let second = resilient.analyze(MESSAGE, &ctx(), &config).await.unwrap();
    assert_eq!(second.provider, Provider::OfflineFallback);
    assert_eq!(resilient.breaker_state(&key), BreakerState::Open);
    assert_eq!(fake.request_count(), 4);

    let analysis = second.value.clone();
    let third = resilient.analyze(MESSAGE, &ctx(), &config).await.unwrap();
    let reply = resilient
        .reply(MESSAGE, &analysis, &ctx(), &config)
        .await
        .unwrap();
    for (provider, attempts, cause) in [
        (third.provider, third.attempts, third.fallback_cause),
        (reply.provider, reply.attempts, reply.fallback_cause),
    ] {
        assert_eq!(
            (provider, attempts, cause),
            (Provider::OfflineFallback, 0, Some(LlmError::CircuitOpen))
        );
    }
    assert_eq!(reply.value.provider, Provider::OfflineFallback);
    assert_eq!(fake.request_count(), 4, "an open breaker sends nothing");
}

#[tokio::test]
async fn after_the_cool_down_one_probe_decides_between_closing_and_reopening() {
    let fake = FakeAnthropic::start().await.unwrap();
    fake.set_default(Behavior::ServerError);
    let resilient =
        ResilientProvider::new(anthropic(fake.base_url()), resilience(1, 1), fallback());
    let config = cfg(tenant(1), fake.api_key(), MODEL);
    let key = ApiKey::new(fake.api_key());

    resilient.analyze(MESSAGE, &ctx(), &config).await.unwrap();
    assert_eq!(resilient.breaker_state(&key), BreakerState::Open);

    // A failed probe re-opens for a full cool-down.
    skip(Duration::from_secs(31)).await;
    assert_eq!(resilient.breaker_state(&key), BreakerState::HalfOpen);
    let probe = resilient.analyze(MESSAGE, &ctx(), &config).await.unwrap();
    assert_eq!(
        (probe.provider, probe.attempts),
        (Provider::OfflineFallback, 1)
    );
    assert_eq!(resilient.breaker_state(&key), BreakerState::Open);
    assert_eq!(fake.request_count(), 2);

    // The provider recovers: the next probe closes the breaker and its answer is used.
    fake.set_default(Behavior::Respond(analysis_answer()));
    skip(Duration::from_secs(31)).await;
    let recovered = resilient.analyze(MESSAGE, &ctx(), &config).await.unwrap();
    assert_eq!(recovered.provider, Provider::Anthropic);
    assert_eq!(resilient.breaker_state(&key), BreakerState::Closed);
    let again = resilient.analyze(MESSAGE, &ctx(), &config).await.unwrap();
    assert_eq!(again.provider, Provider::Anthropic);
    assert_eq!(fake.request_count(), 4);
}

#[tokio::test]
async fn an_open_breaker_for_one_key_does_not_stop_calls_with_another() {
    let fake = FakeAnthropic::start().await.unwrap();
    fake.push(Behavior::ServerError);
    let resilient =
        ResilientProvider::new(anthropic(fake.base_url()), resilience(1, 1), fallback());
    let broken = cfg(tenant(1), fake.api_key(), MODEL);
    resilient.analyze(MESSAGE, &ctx(), &broken).await.unwrap();
    assert_eq!(
        resilient.breaker_state(&ApiKey::new(fake.api_key())),
        BreakerState::Open
    );

    // Another tenant with its own key still reaches the provider (which refuses that key).
    let other = cfg(tenant(2), "sk-ant-tenant-two", MODEL);
    let result = resilient.analyze(MESSAGE, &ctx(), &other).await;
    assert!(
        matches!(result, Err(LlmError::Unauthorized(_))),
        "{result:?}"
    );
    assert_eq!(
        resilient.breaker_state(&ApiKey::new("sk-ant-tenant-two")),
        BreakerState::Closed
    );
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn usage_is_metered_per_tenant_and_model_including_unusable_answers() {
    let fake = FakeOpenAi::start().await.unwrap();
    let meter = Arc::new(UsageMeter::default());
    let resilient = ResilientProvider::new(openai(fake.base_url()), resilience(3, 5), fallback())
        .with_meter(Arc::clone(&meter));
    let (a, b) = (tenant(1), tenant(2));

    fake.push(Behavior::Respond(analysis_answer()));
    let first = resilient
        .analyze(MESSAGE, &ctx(), &cfg(a, fake.api_key(), "gpt-4o-mini"))
        .await
        .unwrap();
    fake.push(Behavior::RawContent("not json".into()));
    let failed = resilient
        .analyze(MESSAGE, &ctx(), &cfg(a, fake.api_key(), "gpt-4o-mini"))
        .await;
    assert!(matches!(failed, Err(LlmError::Decode(_))));
    fake.push(Behavior::RateLimited {
        retry_after_secs: None,
    });
    let other = resilient
        .analyze(MESSAGE, &ctx(), &cfg(b, fake.api_key(), "gpt-4o"))
        .await
        .unwrap();
    assert_eq!(other.attempts, 2);

    let totals_a = meter.tenant_totals(a);
    let mini = totals_a["gpt-4o-mini"];
    assert_eq!(mini.requests, 2, "the unusable answer was billed too");
    assert!(mini.input_tokens > first.usage.input_tokens);
    assert!(
        mini.estimated_cost_micros >= estimated_cost_micros("gpt-4o-mini", first.usage).unwrap()
    );
    assert_eq!(mini.unpriced_requests, 0);

    let totals_b = meter.tenant_totals(b);
    assert_eq!(totals_b.len(), 1);
    let full = totals_b["gpt-4o"];
    assert_eq!(full.requests, 1, "the 429 was not billed");
    assert_eq!(
        (full.input_tokens, full.output_tokens),
        (other.usage.input_tokens, other.usage.output_tokens)
    );
    assert_eq!(
        Some(full.estimated_cost_micros),
        estimated_cost_micros("gpt-4o", other.usage)
    );
    assert!(full.estimated_cost_micros > 0);
}

#[tokio::test]
async fn resilient_calls_can_run_on_spawned_tasks() {
    let fake = FakeAnthropic::start().await.unwrap();
    let resilient = Arc::new(ResilientProvider::new(
        anthropic(fake.base_url()),
        resilience(1, 5),
        fallback(),
    ));
    let config = cfg(tenant(1), fake.api_key(), MODEL);
    let task = {
        let resilient = Arc::clone(&resilient);
        tokio::spawn(async move { resilient.analyze(MESSAGE, &ctx(), &config).await })
    };
    let outcome = task.await.unwrap().unwrap();
    assert_eq!(outcome.provider, Provider::Anthropic);
    // The default fake answer is derived from the schema: no product is mentioned by id.
    assert_eq!(outcome.value.matched_product, None);
}

#[tokio::test]
async fn a_follow_up_is_written_by_the_model_checked_signed_or_left_to_the_offline_writer() {
    use leadline_domain::analysis::Language;
    use leadline_domain::nurture::{FollowUpFacts, NurtureStage};
    use serde_json::json;

    let fake = FakeAnthropic::start().await.unwrap();
    let resilient =
        ResilientProvider::new(anthropic(fake.base_url()), resilience(2, 5), fallback());
    let facts = FollowUpFacts {
        lead_name: "Bob Marsh",
        agent_name: Some("Sofia"),
        business_name: "Sunset Motors",
        // The canned fallback reads every text as English.
        language: Language::English,
    };
    let cfg = cfg(tenant(1), fake.api_key(), MODEL);
    let offline = || "offline text".to_owned();

    fake.push(Behavior::Respond(
        json!({"body": "Hi Bob, would you like to come by for a test drive this week?"}),
    ));
    let written = resilient
        .write_follow_up(NurtureStage::Followup1, &facts, &cfg, offline)
        .await
        .unwrap();
    assert_eq!(written.provider, Provider::Anthropic);
    assert_eq!(
        written.value,
        "Hi Bob, would you like to come by for a test drive this week? — Sofia, Sunset Motors. \
         Reply STOP to opt out."
    );
    let sent = &fake.requests()[0].body;
    assert_eq!(sent["tool_choice"]["name"], "write_follow_up", "{sent}");
    assert!(
        sent.to_string().contains("lead's first name: Bob"),
        "{sent}"
    );

    // A price the facts never held: refused, not sent.
    fake.push(Behavior::Respond(
        json!({"body": "Hi Bob, the Civic is $18,000 this week only!"}),
    ));
    let invented = resilient
        .write_follow_up(NurtureStage::Followup2, &facts, &cfg, offline)
        .await;
    assert!(
        matches!(invented, Err(LlmError::Ungrounded(_))),
        "{invented:?}"
    );

    // The provider down: the offline writer answers.
    fake.set_default(Behavior::ServerError);
    let fell_back = resilient
        .write_follow_up(NurtureStage::LongTerm, &facts, &cfg, offline)
        .await
        .unwrap();
    assert_eq!(fell_back.provider, Provider::OfflineFallback);
    assert_eq!(fell_back.value, "offline text");
}
