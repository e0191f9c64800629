//! REST against the fake: signed URLs, outbound calls, and error classification.

use std::time::Duration;

use leadline_elevenlabs::fake::{AgentScript, Failure, FakeElevenLabs, DEFAULT_AGENT_ID};
use leadline_elevenlabs::{
    connect, Client, ConversationInitiation, ConversationOptions, Error, OutboundCall, Settings,
};

use crate::support::client;

async fn fake() -> FakeElevenLabs {
    FakeElevenLabs::start("sk_test_key", AgentScript::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn signed_url_points_at_the_agent_with_a_signature() {
    let fake = fake().await;
    let url = client(&fake).signed_url(DEFAULT_AGENT_ID).await.unwrap();

    assert!(
        url.starts_with(&format!("{}/v1/convai/conversation?", fake.ws_base())),
        "{url}"
    );
    assert!(
        url.contains(&format!("agent_id={DEFAULT_AGENT_ID}")),
        "{url}"
    );
    assert!(url.contains("conversation_signature="), "{url}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].path,
        format!("/v1/convai/conversation/get-signed-url?agent_id={DEFAULT_AGENT_ID}")
    );
    assert_eq!(requests[0].api_key.as_deref(), Some("sk_test_key"));
}

#[tokio::test]
async fn signed_url_with_a_bad_key_is_unauthorized_and_not_retryable() {
    let fake = fake().await;
    let settings = Settings {
        api_key: Some("sk_wrong".into()),
        ..fake.settings()
    };
    let client = settings.client(reqwest::Client::new()).unwrap();

    let error = client.signed_url(DEFAULT_AGENT_ID).await.unwrap_err();

    assert!(
        matches!(error, Error::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert!(!format!("{error} {error:?}").contains("sk_wrong"));
}

#[tokio::test]
async fn signed_url_for_an_unknown_agent_is_not_found() {
    let fake = fake().await;
    let error = client(&fake).signed_url("agent_nope").await.unwrap_err();
    assert_eq!(error, Error::NotFound("Agent not found".into()));
}

#[tokio::test]
async fn blank_agent_id_is_refused_before_sending() {
    let fake = fake().await;
    let error = client(&fake).signed_url("  ").await.unwrap_err();
    assert!(matches!(error, Error::Validation { .. }));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn rate_limits_outages_and_timeouts_are_retryable() {
    let fake = fake().await;
    let client = client(&fake);
    fake.fail_next(Failure::RateLimited {
        retry_after_secs: Some(3),
    });
    fake.fail_next(Failure::Status {
        status: 503,
        message: "overloaded".into(),
    });
    fake.fail_next(Failure::Raw {
        status: 502,
        body: "<html>Bad Gateway</html>".into(),
    });
    fake.fail_next(Failure::Delay(Duration::from_secs(2)));

    let limited = client.signed_url(DEFAULT_AGENT_ID).await.unwrap_err();
    assert_eq!(
        limited,
        Error::RateLimited {
            retry_after: Some(Duration::from_secs(3))
        }
    );
    let down = client.signed_url(DEFAULT_AGENT_ID).await.unwrap_err();
    assert_eq!(
        down,
        Error::Unavailable {
            status: 503,
            message: "overloaded".into()
        }
    );
    let proxy = client.signed_url(DEFAULT_AGENT_ID).await.unwrap_err();
    assert!(matches!(proxy, Error::Unavailable { status: 502, .. }));
    let slow = client.signed_url(DEFAULT_AGENT_ID).await.unwrap_err();
    assert!(matches!(slow, Error::Transport(_)), "{slow:?}");
    for error in [limited, down, proxy, slow] {
        assert!(error.is_retryable(), "{error:?}");
    }
    // The queue is empty again: the next request succeeds.
    assert!(client.signed_url(DEFAULT_AGENT_ID).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_host_is_a_retryable_transport_error() {
    let client = Client::new(
        reqwest::Client::new(),
        "http://127.0.0.1:9",
        "ws://127.0.0.1:9",
        "k",
    )
    .unwrap();
    let error = client.signed_url("a").await.unwrap_err();
    assert!(matches!(error, Error::Transport(_)) && error.is_retryable());
    let ws = connect(
        "ws://127.0.0.1:9/v1/convai/conversation?agent_id=a",
        &ConversationInitiation::default(),
        ConversationOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(ws, Error::Transport(_)) && ws.is_retryable(),
        "{ws:?}"
    );
}

#[tokio::test]
async fn a_private_agent_refuses_an_unsigned_conversation() {
    let fake = fake().await;
    let client = client(&fake);
    let url = client.public_conversation_url(DEFAULT_AGENT_ID).unwrap();
    assert_eq!(
        url,
        format!(
            "{}/v1/convai/conversation?agent_id={DEFAULT_AGENT_ID}",
            fake.ws_base()
        )
    );

    let error = connect(
        &url,
        &ConversationInitiation::default(),
        ConversationOptions::default(),
    )
    .await
    .unwrap_err();

    assert!(
        matches!(error, Error::Unauthorized { status: 403, .. }),
        "{error:?}"
    );
    assert!(fake.conversations().is_empty());
}

#[tokio::test]
async fn outbound_call_sends_the_documented_body_and_reads_call_sid() {
    let fake = fake().await;
    let init = ConversationInitiation::default()
        .with_variable("customer_name", "Alice")
        .with_variable("amount_due", 120);
    let call = OutboundCall {
        agent_id: DEFAULT_AGENT_ID.into(),
        agent_phone_number_id: "phnum_1".into(),
        to_number: "+15551234567".into(),
        conversation_initiation_client_data: Some(init),
        call_recording_enabled: Some(false),
    };

    let answer = client(&fake).outbound_call(&call).await.unwrap();

    assert!(answer.success);
    let accepted = fake.outbound_calls();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        answer.conversation_id.as_deref(),
        Some(accepted[0].conversation_id.as_str())
    );
    assert_eq!(
        answer.call_sid.as_deref(),
        Some(accepted[0].call_sid.as_str())
    );
    assert!(accepted[0].call_sid.starts_with("CA"));
    let body = fake.requests()[0].body.clone().unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "agent_id": DEFAULT_AGENT_ID,
            "agent_phone_number_id": "phnum_1",
            "to_number": "+15551234567",
            "conversation_initiation_client_data": {
                "dynamic_variables": {"amount_due": 120, "customer_name": "Alice"}
            },
            "call_recording_enabled": false,
        })
    );
}

#[tokio::test]
async fn outbound_call_to_a_bad_number_is_a_validation_error_with_the_message() {
    let fake = fake().await;
    let call = OutboundCall {
        agent_id: DEFAULT_AGENT_ID.into(),
        agent_phone_number_id: "phnum_1".into(),
        to_number: "555-CALL-ME".into(),
        conversation_initiation_client_data: None,
        call_recording_enabled: None,
    };

    let error = client(&fake).outbound_call(&call).await.unwrap_err();

    assert_eq!(
        error,
        Error::Validation {
            message: "body.to_number: to_number must be an E.164 phone number".into()
        }
    );
    assert!(!error.is_retryable());
    assert_eq!(fake.requests()[0].status, 422);
    assert!(fake.outbound_calls().is_empty());
}
