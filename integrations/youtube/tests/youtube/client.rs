//! Request shapes and error classification of `Client` against the fake.

use std::time::Duration;

use leadline_youtube::fake::{Failure, FakeYoutube};
use leadline_youtube::{Credentials, ListMessagesRequest, MessageType, VideoId, YoutubeError};
use serde_json::json;

use crate::{api_key, client, oauth};

const VIDEO: &str = "dQw4w9WgXcQ";
const CHAT: &str = "Cg0KC2RRdzR3OVdnWGNR";

fn list(page_token: Option<&str>) -> ListMessagesRequest {
    ListMessagesRequest {
        live_chat_id: CHAT.into(),
        page_token: page_token.map(str::to_owned),
        max_results: None,
    }
}

#[tokio::test]
async fn a_live_url_resolves_to_its_active_live_chat_id_with_the_documented_request() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video(VIDEO, CHAT);
    let video = VideoId::parse("https://www.youtube.com/live/dQw4w9WgXcQ?si=abc").unwrap();

    let chat = client(&fake)
        .active_live_chat_id(&api_key(&fake), &video)
        .await
        .unwrap();
    assert_eq!(chat, CHAT);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (
            request.method.as_str(),
            request.path.as_str(),
            request.status
        ),
        ("GET", "/youtube/v3/videos", 200)
    );
    assert_eq!(request.param("part"), Some("liveStreamingDetails"));
    assert_eq!(request.param("id"), Some(VIDEO));
    assert_eq!(request.param("key"), Some(fake.api_key()));
    assert_eq!(request.header("authorization"), None);
}

#[tokio::test]
async fn unknown_and_finished_videos_are_typed_errors() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_ended_video("aaaaaaaaaaa");
    let client = client(&fake);
    let unknown = client
        .active_live_chat_id(&oauth(&fake), &VideoId::parse("bbbbbbbbbbb").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, YoutubeError::NotFound { reason, .. } if reason == "videoNotFound"),
        "{unknown:?}"
    );
    let ended = client
        .active_live_chat_id(&oauth(&fake), &VideoId::parse("aaaaaaaaaaa").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&ended, YoutubeError::ChatUnavailable { reason, message }
            if reason == "noActiveLiveChat" && message.contains("ended")),
        "{ended:?}"
    );
    assert!(ended.stops_polling());
}

#[tokio::test]
async fn list_sends_chat_id_parts_token_and_bearer_and_parses_messages() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video(VIDEO, CHAT);
    fake.set_polling_interval(CHAT, 3_000);
    fake.push_text(CHAT, "Alice", "how much is the blue hoodie?");
    fake.push_raw(
        CHAT,
        json!({"id": "LCC.sc", "snippet": {"type": "superChatEvent", "displayMessage": "$5.00: take my money",
            "superChatDetails": {"amountMicros": "5000000", "currency": "USD", "userComment": "take my money"}},
            "authorDetails": {"channelId": "UCmod", "displayName": "Mo", "isChatModerator": true}}),
    );
    let client = client(&fake);

    let page = client
        .list_messages(&oauth(&fake), &list(None))
        .await
        .unwrap();
    assert_eq!(page.polling_interval_millis, Some(3_000));
    assert_eq!(page.items.len(), 2);
    let first = &page.items[0];
    assert_eq!(first.snippet.kind, MessageType::TextMessage);
    assert_eq!(first.text(), Some("how much is the blue hoodie?"));
    let author = first.author_details.as_ref().unwrap();
    assert_eq!(
        (author.channel_id.as_str(), author.display_name.as_str()),
        ("UCAlice", "Alice")
    );
    assert!(!author.is_chat_owner);
    assert_eq!(page.items[1].snippet.kind, MessageType::SuperChat);
    assert!(
        page.items[1]
            .author_details
            .as_ref()
            .unwrap()
            .is_chat_moderator
    );

    let token = page.next_page_token.clone().unwrap();
    let next = client
        .list_messages(
            &oauth(&fake),
            &ListMessagesRequest {
                max_results: Some(200),
                ..list(Some(&token))
            },
        )
        .await
        .unwrap();
    assert!(next.items.is_empty(), "the history is not read twice");

    let requests = fake.requests();
    let first = &requests[0];
    assert_eq!(first.path, "/youtube/v3/liveChat/messages");
    assert_eq!(first.param("liveChatId"), Some(CHAT));
    assert_eq!(first.param("part"), Some("id,snippet,authorDetails"));
    assert_eq!(first.param("pageToken"), None);
    assert_eq!(
        first.header("authorization"),
        Some(format!("Bearer {}", fake.oauth_token()).as_str())
    );
    assert_eq!(first.param("key"), None);
    assert_eq!(requests[1].param("pageToken"), Some(token.as_str()));
    assert_eq!(requests[1].param("maxResults"), Some("200"));
}

#[tokio::test]
async fn insert_posts_the_documented_body_and_returns_the_created_message() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video(VIDEO, CHAT);
    let created = client(&fake)
        .insert_text_message(&oauth(&fake), CHAT, "The blue hoodie is $49.99")
        .await
        .unwrap();
    assert!(created.id.starts_with("LCC."));
    assert_eq!(created.snippet.kind, MessageType::TextMessage);

    let request = &fake.requests()[0];
    assert_eq!(
        (
            request.method.as_str(),
            request.path.as_str(),
            request.status
        ),
        ("POST", "/youtube/v3/liveChat/messages", 200)
    );
    assert_eq!(request.param("part"), Some("snippet"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body,
        json!({"snippet": {"liveChatId": CHAT, "type": "textMessageEvent",
            "textMessageDetails": {"messageText": "The blue hoodie is $49.99"}}})
    );
    assert_eq!(fake.inserted(CHAT).len(), 1);
}

#[tokio::test]
async fn insert_refuses_api_keys_and_empty_text_without_spending_quota() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video(VIDEO, CHAT);
    let client = client(&fake);
    let with_key = client
        .insert_text_message(&api_key(&fake), CHAT, "hi")
        .await
        .unwrap_err();
    assert!(matches!(with_key, YoutubeError::Unauthorized(_)));
    let empty = client
        .insert_text_message(&oauth(&fake), CHAT, "  ")
        .await
        .unwrap_err();
    assert!(
        matches!(empty, YoutubeError::Rejected { status: 0, ref code, .. } if code == "messageTextRequired")
    );
    assert!(fake.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn injected_failures_are_classified() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video(VIDEO, CHAT);
    let client = client(&fake);
    type Check = fn(&YoutubeError) -> bool;
    let cases: Vec<(Failure, Check)> = vec![
        (
            Failure::QuotaExceeded,
            |e| matches!(e, YoutubeError::QuotaExceeded { reason } if reason == "quotaExceeded"),
        ),
        (
            Failure::DailyLimitExceeded,
            |e| matches!(e, YoutubeError::QuotaExceeded { reason } if reason == "dailyLimitExceeded"),
        ),
        (Failure::Unauthorized, |e| {
            matches!(e, YoutubeError::Unauthorized(_))
        }),
        (
            Failure::NotFound,
            |e| matches!(e, YoutubeError::NotFound { reason, .. } if reason == "liveChatNotFound"),
        ),
        (
            Failure::ChatEnded,
            |e| matches!(e, YoutubeError::ChatUnavailable { reason, .. } if reason == "liveChatEnded"),
        ),
        (
            Failure::RateLimited {
                retry_after_secs: Some(12),
            },
            |e| matches!(e, YoutubeError::RateLimited { retry_after: Some(d) } if *d == Duration::from_secs(12)),
        ),
        (Failure::ServerError(503), |e| {
            matches!(e, YoutubeError::Transient(_)) && e.is_retryable()
        }),
        (Failure::ServerError(500), |e| {
            matches!(e, YoutubeError::Transient(_))
        }),
    ];
    for (failure, expected) in cases {
        fake.fail_next(failure.clone());
        let error = client
            .list_messages(&oauth(&fake), &list(None))
            .await
            .unwrap_err();
        assert!(expected(&error), "{failure:?} gave {error:?}");
    }
}

#[tokio::test]
async fn wrong_credentials_unknown_chats_and_bad_tokens_are_typed() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video(VIDEO, CHAT);
    let client = client(&fake);
    let wrong = client
        .list_messages(&Credentials::OAuth("ya29.stolen".into()), &list(None))
        .await
        .unwrap_err();
    assert!(matches!(wrong, YoutubeError::Unauthorized(_)));
    let missing = client
        .list_messages(
            &oauth(&fake),
            &ListMessagesRequest {
                live_chat_id: "nope".into(),
                ..list(None)
            },
        )
        .await
        .unwrap_err();
    assert!(missing.stops_polling());
    let bad_token = client
        .list_messages(&oauth(&fake), &list(Some("forged")))
        .await
        .unwrap_err();
    assert!(
        matches!(bad_token, YoutubeError::Rejected { status: 400, ref code, .. } if code == "invalidPageToken")
    );
}

#[tokio::test]
async fn a_slow_answer_is_a_retryable_timeout() {
    let fake = FakeYoutube::start().await.unwrap();
    fake.add_live_video(VIDEO, CHAT);
    fake.fail_next(Failure::Slow(Duration::from_millis(500)));
    let error = client(&fake)
        .with_timeout(Duration::from_millis(50))
        .list_messages(&oauth(&fake), &list(None))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, YoutubeError::Transient(text) if text.contains("timed out")),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_dead_origin_is_transient_and_stream_list_is_unsupported() {
    let client = leadline_youtube::Client::new(reqwest::Client::new(), "http://127.0.0.1:9");
    let error = client
        .list_messages(&Credentials::ApiKey("k".into()), &list(None))
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    assert!(!error.to_string().contains("key="), "{error}");
    assert!(matches!(
        client
            .stream_messages(&Credentials::ApiKey("k".into()), &list(None))
            .await,
        Err(YoutubeError::Unsupported(_))
    ));
}
