//! `LiveChatPoller` against the fake under paused tokio time: page tokens move forward, the
//! interval is honoured to the millisecond, the chat's end and the API's quota error stop it.

use std::time::Duration;

use leadline_youtube::fake::{Failure, FakeYoutube, Violation};
use leadline_youtube::{ChatEnd, LiveChatPoller, PollerConfig, YoutubeError};
use tokio::time::Instant;

use crate::{client, oauth};

const CHAT: &str = "chat-live-1";

fn texts(batch: &leadline_youtube::PollBatch) -> Vec<String> {
    batch
        .messages
        .iter()
        .filter_map(|m| m.text().map(str::to_owned))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn three_polls_pass_each_last_token_and_wait_each_interval() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video("dQw4w9WgXcQ", CHAT);
    fake.set_polling_interval(CHAT, 2_000);
    fake.push_text(CHAT, "Alice", "hi");
    fake.push_text(CHAT, "Bob", "price?");
    let client = client(&fake);
    let mut poller = LiveChatPoller::new(CHAT, PollerConfig::default());
    let started = Instant::now();

    let first = poller.poll(&client, &oauth(&fake)).await.unwrap();
    assert_eq!(texts(&first), ["hi", "price?"]);
    assert!(first.requested);

    fake.set_polling_interval(CHAT, 7_500);
    fake.push_text(CHAT, "Carol", "link please");
    let second = poller.poll(&client, &oauth(&fake)).await.unwrap();
    assert_eq!(texts(&second), ["link please"]);

    let third = poller.poll(&client, &oauth(&fake)).await.unwrap();
    assert!(third.messages.is_empty());
    assert_eq!(third.ended, None);

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    let tokens: Vec<Option<&str>> = requests.iter().map(|r| r.param("pageToken")).collect();
    assert_eq!(tokens[0], None);
    assert!(tokens[1].is_some() && tokens[2].is_some() && tokens[1] != tokens[2]);
    // Under paused time the waits are exact: 2,000 ms, then the 7,500 ms the second page asked.
    assert_eq!(requests[0].at.duration_since(started), Duration::ZERO);
    assert_eq!(
        requests[1].at.duration_since(requests[0].at),
        Duration::from_millis(2_000)
    );
    assert_eq!(
        requests[2].at.duration_since(requests[1].at),
        Duration::from_millis(7_500)
    );
    assert_eq!(fake.violations(), Vec::<Violation>::new());
}

#[tokio::test(start_paused = true)]
async fn the_fake_catches_a_client_that_reuses_a_token_or_polls_early() {
    // Proves the fake's policing can fail: drive the raw client badly on purpose.
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video("dQw4w9WgXcQ", CHAT);
    fake.set_polling_interval(CHAT, 5_000);
    let client = client(&fake);
    let request = |token: Option<String>| leadline_youtube::ListMessagesRequest {
        live_chat_id: CHAT.into(),
        page_token: token,
        max_results: None,
    };
    let first = client
        .list_messages(&oauth(&fake), &request(None))
        .await
        .unwrap();
    let token = first.next_page_token;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    client
        .list_messages(&oauth(&fake), &request(token.clone()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(6_000)).await;
    client
        .list_messages(&oauth(&fake), &request(token.clone()))
        .await
        .unwrap();
    assert_eq!(
        fake.violations(),
        vec![
            Violation::PolledTooSoon {
                live_chat_id: CHAT.into(),
                elapsed: Duration::from_millis(1_000),
                required: Duration::from_millis(5_000)
            },
            Violation::TokenReused {
                token: token.unwrap()
            }
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_keeps_the_token_and_waits_before_the_retry() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video("dQw4w9WgXcQ", CHAT);
    fake.set_polling_interval(CHAT, 1_000);
    let client = client(&fake);
    let mut poller = LiveChatPoller::new(CHAT, PollerConfig::default());
    poller.poll(&client, &oauth(&fake)).await.unwrap();
    let token = poller.page_token().map(str::to_owned);

    fake.fail_next(Failure::ServerError(503));
    let error = poller.poll(&client, &oauth(&fake)).await.unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(poller.page_token().map(str::to_owned), token);
    assert_eq!(poller.ended(), None);

    fake.push_text(CHAT, "Dan", "still here");
    let batch = poller.poll(&client, &oauth(&fake)).await.unwrap();
    assert_eq!(texts(&batch), ["still here"]);
    let requests = fake.requests();
    assert_eq!(requests[1].param("pageToken"), token.as_deref());
    assert_eq!(requests[2].param("pageToken"), token.as_deref());
    assert!(
        requests[2].at.duration_since(requests[1].at) >= Duration::from_secs(5),
        "after an error the poller waits the default interval"
    );
    assert!(fake.violations().is_empty());
}

#[tokio::test(start_paused = true)]
async fn offline_and_ended_chats_stop_the_poller_without_more_requests() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video("dQw4w9WgXcQ", CHAT);
    fake.set_polling_interval(CHAT, 1_000);
    let client = client(&fake);
    let mut poller = LiveChatPoller::new(CHAT, PollerConfig::default());
    poller.poll(&client, &oauth(&fake)).await.unwrap();
    fake.push_text(CHAT, "Eve", "bye!");
    fake.go_offline(CHAT, "2024-01-01T11:00:00Z");
    let last = poller.poll(&client, &oauth(&fake)).await.unwrap();
    assert_eq!(texts(&last), ["bye!"]);
    assert_eq!(
        last.ended,
        Some(ChatEnd::Offline {
            offline_at: "2024-01-01T11:00:00Z".into()
        })
    );
    let after = poller.poll(&client, &oauth(&fake)).await.unwrap();
    assert!(!after.requested);
    assert_eq!(fake.requests().len(), 2);

    let other = "chat-2";
    fake.add_live_video("aaaaaaaaaaa", other);
    fake.end_chat(other);
    let mut poller = LiveChatPoller::new(other, PollerConfig::default());
    let error = poller.poll(&client, &oauth(&fake)).await.unwrap_err();
    assert!(matches!(error, YoutubeError::ChatUnavailable { .. }));
    assert!(matches!(poller.ended(), Some(ChatEnd::Failed(_))));
    assert!(!poller.poll(&client, &oauth(&fake)).await.unwrap().requested);
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_apis_quota_error_stops_polling() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video("dQw4w9WgXcQ", CHAT);
    fake.set_polling_interval(CHAT, 1_000);
    let client = client(&fake);
    fake.fail_next(Failure::QuotaExceeded);
    let mut poller = LiveChatPoller::new(CHAT, PollerConfig::default());
    let error = poller.poll(&client, &oauth(&fake)).await.unwrap_err();
    assert_eq!(
        error,
        YoutubeError::QuotaExceeded {
            reason: "quotaExceeded".into()
        }
    );
    assert!(matches!(
        poller.poll(&client, &oauth(&fake)).await.unwrap().ended,
        Some(ChatEnd::Failed(YoutubeError::QuotaExceeded { .. }))
    ));
    assert_eq!(fake.requests().len(), 1);
}
