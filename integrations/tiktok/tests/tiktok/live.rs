//! The LIVE wrapper (`leadline_tiktok::live`) against `FakeTikTok`: status, paging with the
//! cursor and the interval under paused tokio time, the end of a LIVE, error classification and
//! injected failures, and `live.comment` / `live.end` webhooks (signature and content).

use std::time::Duration;

use chrono::Utc;
use http::HeaderValue;
use leadline_tiktok::fake::{live_comment, Failure, FakeTikTok, LiveViolation};
use leadline_tiktok::live::{
    self, parse_live_webhook, verify_and_parse_live_webhook, LiveClient, LiveCommentPoller,
    LiveCredentials, LiveEnd, LiveEvent, PollBatch, PollerConfig,
};
use leadline_tiktok::{Error, SignatureError, VerifyOptions};
use tokio::time::Instant;

const ROOM: &str = "7301234567890123456";

fn client(fake: &FakeTikTok) -> LiveClient {
    LiveClient::new(reqwest::Client::new(), fake.base_url())
}

fn texts(batch: &PollBatch) -> Vec<&str> {
    batch.comments.iter().map(|c| c.text.as_str()).collect()
}

fn push(fake: &FakeTikTok, texts: &[&str]) {
    for (i, text) in texts.iter().enumerate() {
        fake.push_comment(
            ROOM,
            live_comment(&format!("c_{text}_{i}"), "shopfan", text, true),
        );
    }
}

#[tokio::test]
async fn live_status_names_the_room_and_sends_the_token() {
    let fake = FakeTikTok::start().await.unwrap();
    fake.set_live("boutique.ana", ROOM, true);
    fake.set_live("sleepy.shop", "7300000000000000001", false);
    let client = client(&fake);

    let status = client
        .live_status(&fake.live_credentials(), "@boutique.ana")
        .await
        .unwrap();
    assert_eq!(status.room_id.as_deref(), Some(ROOM));
    assert!(status.is_live);
    assert_eq!(status.title, "@boutique.ana LIVE");
    assert!(status.request_id.is_some());
    let request = &fake.requests()[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/open_api/v1.3/live/status/");
    assert_eq!(request.param("username"), Some("boutique.ana"));
    assert_eq!(
        request.header("access-token"),
        Some(fake.live_credentials().access_token.as_str())
    );

    let offline = client
        .live_status(&fake.live_credentials(), "sleepy.shop")
        .await
        .unwrap();
    assert!(!offline.is_live);

    assert!(matches!(
        client.live_status(&fake.live_credentials(), "nobody").await,
        Err(Error::NotFound(_))
    ));
    // Like the send: a wrong token is code 40105, a missing one 40104; both mean reconnect.
    for token in ["act.wrong", ""] {
        let refused = client
            .live_status(&LiveCredentials::new(token), "boutique.ana")
            .await
            .unwrap_err();
        assert!(
            matches!(refused, Error::Unauthorized(_)) && !refused.is_retryable(),
            "{refused:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn three_pages_follow_the_cursor_and_wait_each_interval() {
    let fake = FakeTikTok::start().await.unwrap();
    fake.set_live("boutique.ana", ROOM, true);
    fake.set_live_page_size(2);
    fake.set_live_poll_interval_ms(3_000);
    push(&fake, &["hola", "price?", "XL?", "link pls", "ship to MX?"]);
    let client = client(&fake);
    let creds = fake.live_credentials();
    let mut poller = LiveCommentPoller::new(ROOM, PollerConfig::default());
    let started = Instant::now();

    let first = poller.poll(&client, &creds).await.unwrap();
    assert_eq!(texts(&first), ["hola", "price?"]);
    assert!(first.requested && first.ended.is_none());
    let first_cursor = poller.cursor().map(str::to_owned);

    fake.set_live_poll_interval_ms(7_500);
    let second = poller.poll(&client, &creds).await.unwrap();
    assert_eq!(texts(&second), ["XL?", "link pls"]);
    let second_cursor = poller.cursor().map(str::to_owned);

    let third = poller.poll(&client, &creds).await.unwrap();
    assert_eq!(texts(&third), ["ship to MX?"]);
    assert_eq!(third.comments[0].user.unique_id, "shopfan");
    assert!(third.comments[0].user.is_follower);
    assert_eq!(third.ended, None);

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests
        .iter()
        .all(|r| r.path == "/open_api/v1.3/live/comments/" && r.param("room_id") == Some(ROOM)));
    assert_eq!(
        requests[0].param("cursor"),
        None,
        "first call starts at the oldest"
    );
    assert_eq!(requests[1].param("cursor"), first_cursor.as_deref());
    assert_eq!(requests[2].param("cursor"), second_cursor.as_deref());
    assert_ne!(first_cursor, second_cursor);
    // Paused time makes the waits exact: 3,000 ms, then the 7,500 ms the second page asked for.
    assert_eq!(requests[0].at.duration_since(started), Duration::ZERO);
    assert_eq!(
        requests[1].at.duration_since(requests[0].at),
        Duration::from_millis(3_000)
    );
    assert_eq!(
        requests[2].at.duration_since(requests[1].at),
        Duration::from_millis(7_500)
    );
    assert_eq!(fake.live_violations(), Vec::<LiveViolation>::new());
}

#[tokio::test(start_paused = true)]
async fn the_end_of_a_live_is_reported_after_its_last_comments() {
    let fake = FakeTikTok::start().await.unwrap();
    fake.set_live("boutique.ana", ROOM, true);
    fake.set_live_page_size(2);
    push(&fake, &["one", "two", "three"]);
    fake.end_live(ROOM);
    let client = client(&fake);
    let creds = fake.live_credentials();
    let mut poller = LiveCommentPoller::new(ROOM, PollerConfig::default());

    let first = poller.poll(&client, &creds).await.unwrap();
    assert_eq!(texts(&first), ["one", "two"]);
    assert_eq!(
        first.ended, None,
        "is_live false but has_more: keep reading"
    );
    let last = poller.poll(&client, &creds).await.unwrap();
    assert_eq!(texts(&last), ["three"]);
    assert_eq!(last.ended, Some(LiveEnd::Ended));
    assert_eq!(last.next_poll_at, None);

    let after = poller.poll(&client, &creds).await.unwrap();
    assert!(!after.requested && after.comments.is_empty());
    assert_eq!(after.ended, Some(LiveEnd::Ended));
    assert_eq!(fake.requests().len(), 2, "no request after the end");

    let status = client.live_status(&creds, "boutique.ana").await.unwrap();
    assert!(!status.is_live);
    assert_eq!(fake.live_violations(), Vec::<LiveViolation>::new());
}

#[tokio::test(start_paused = true)]
async fn the_fake_catches_a_client_that_reuses_a_cursor_or_polls_early() {
    // Proves the fake's policing can fail: drive the raw client badly on purpose.
    let fake = FakeTikTok::start().await.unwrap();
    fake.set_live("boutique.ana", ROOM, true);
    fake.set_live_poll_interval_ms(5_000);
    let client = client(&fake);
    let creds = fake.live_credentials();
    let first = client.live_comments(&creds, ROOM, None).await.unwrap();
    assert_eq!(first.poll_interval, Some(Duration::from_millis(5_000)));
    let cursor = first.cursor.unwrap();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    client
        .live_comments(&creds, ROOM, Some(&cursor))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(6_000)).await;
    client
        .live_comments(&creds, ROOM, Some(&cursor))
        .await
        .unwrap();
    assert_eq!(
        fake.live_violations(),
        vec![
            LiveViolation::PolledTooSoon {
                room_id: ROOM.into(),
                elapsed: Duration::from_millis(1_000),
                required: Duration::from_millis(5_000),
            },
            LiveViolation::CursorReused { cursor },
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_zero_interval_from_the_wrapper_is_raised_to_one_second() {
    let fake = FakeTikTok::start().await.unwrap();
    fake.set_live("boutique.ana", ROOM, true);
    fake.set_live_poll_interval_ms(0);
    let client = client(&fake);
    let mut poller = LiveCommentPoller::new(ROOM, PollerConfig::default());
    for _ in 0..3 {
        poller
            .poll(&client, &fake.live_credentials())
            .await
            .unwrap();
    }
    let requests = fake.requests();
    assert_eq!(
        requests[2].at.duration_since(requests[1].at),
        Duration::from_secs(1)
    );
}

#[tokio::test]
async fn a_malformed_comment_is_skipped_not_fatal() {
    let fake = FakeTikTok::start().await.unwrap();
    fake.set_live("boutique.ana", ROOM, true);
    push(&fake, &["fine"]);
    fake.push_comment(ROOM, live_comment("", "ghost", "no id", false));
    let page = client(&fake)
        .live_comments(&fake.live_credentials(), ROOM, None)
        .await
        .unwrap();
    assert_eq!(page.comments.len(), 1);
    assert_eq!(page.skipped, 1);
}

#[tokio::test]
async fn an_unknown_room_or_cursor_stops_the_poller() {
    let fake = FakeTikTok::start().await.unwrap();
    let client = client(&fake);
    let creds = fake.live_credentials();
    let mut poller = LiveCommentPoller::new("no-such-room", PollerConfig::default());
    let error = poller.poll(&client, &creds).await.unwrap_err();
    assert!(matches!(error, Error::NotFound(_)), "{error:?}");
    assert_eq!(poller.ended(), Some(&LiveEnd::Failed(error)));
    assert!(!poller.poll(&client, &creds).await.unwrap().requested);

    fake.set_live("boutique.ana", ROOM, true);
    let mut poller =
        LiveCommentPoller::resume(ROOM, PollerConfig::default(), Some("cur_forged".into()));
    assert!(matches!(
        poller.poll(&client, &creds).await,
        Err(Error::Rejected { code: 40002, .. })
    ));
    assert!(poller.ended().is_some());
}

#[tokio::test(start_paused = true)]
async fn injected_failures_are_classified_and_the_poller_keeps_its_cursor() {
    let fake = FakeTikTok::start().await.unwrap();
    fake.set_live("boutique.ana", ROOM, true);
    fake.set_live_poll_interval_ms(1_000);
    push(&fake, &["before"]);
    let client = client(&fake);
    let creds = fake.live_credentials();
    let mut poller = LiveCommentPoller::new(ROOM, PollerConfig::default());
    poller.poll(&client, &creds).await.unwrap();
    let cursor = poller.cursor().map(str::to_owned);

    // 429 + Retry-After: retryable, and the poller waits what TikTok asked.
    fake.fail_next(
        1,
        Failure::RateLimited {
            retry_after_secs: Some(30),
        },
    );
    let limited = poller.poll(&client, &creds).await.unwrap_err();
    assert_eq!(
        limited,
        Error::RateLimited {
            retry_after: Some(Duration::from_secs(30))
        }
    );
    assert!(limited.is_retryable());
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(poller.ended(), None);

    // 500: retryable, the cursor is kept.
    fake.fail_next(1, Failure::ServerError);
    let server = poller.poll(&client, &creds).await.unwrap_err();
    assert!(
        matches!(server, Error::Transient(_)) && server.is_retryable(),
        "{server:?}"
    );
    assert_eq!(poller.cursor().map(str::to_owned), cursor);

    push(&fake, &["after"]);
    let batch = poller.poll(&client, &creds).await.unwrap();
    assert_eq!(texts(&batch), ["after"]);

    let requests = fake.requests();
    assert_eq!(
        requests[2].at.duration_since(requests[1].at),
        Duration::from_secs(30),
        "the Retry-After was honoured"
    );
    assert!(requests[1..]
        .iter()
        .all(|r| r.param("cursor") == cursor.as_deref()));
    assert_eq!(fake.live_violations(), Vec::<LiveViolation>::new());

    // 40105 (here as HTTP 200 + code, the API for Business way): not retryable, final.
    fake.fail_next(
        1,
        Failure::ApiError {
            code: 40105,
            message: "The access token is invalid or has been revoked.".into(),
        },
    );
    let refused = poller.poll(&client, &creds).await.unwrap_err();
    assert!(
        matches!(refused, Error::Unauthorized(_)) && !refused.is_retryable(),
        "{refused:?}"
    );
    assert_eq!(poller.ended(), Some(&LiveEnd::Failed(refused)));

    // The same injection reaches the status call.
    fake.fail_next(1, Failure::Unauthorized);
    assert!(matches!(
        client.live_status(&creds, "boutique.ana").await,
        Err(Error::Unauthorized(_))
    ));
    fake.fail_next(1, Failure::MalformedBody);
    assert!(matches!(
        client.live_status(&creds, "boutique.ana").await,
        Err(Error::Decode(_))
    ));
}

#[tokio::test]
async fn signed_live_webhooks_verify_and_parse() {
    let fake = FakeTikTok::start().await.unwrap();
    let secrets = [fake.client_secret()];
    let options = VerifyOptions::default();
    let comment = live_comment("c_77", "maria.g", "¿tienen talla M?", true);

    let signed = fake.signed_live_comment_webhook(ROOM, &comment);
    let events = verify_and_parse_live_webhook(
        &signed.headers,
        &signed.body,
        &secrets,
        Utc::now(),
        &options,
    )
    .unwrap();
    assert_eq!(
        events,
        vec![LiveEvent::Comment {
            room_id: ROOM.into(),
            comment: comment.clone()
        }]
    );
    // The content is a string of serialised JSON, as platforms.md §3 documents.
    let body: serde_json::Value = serde_json::from_slice(&signed.body).unwrap();
    assert_eq!(body["event"], live::EVENT_LIVE_COMMENT);
    assert!(body["content"].is_string());

    let end = fake.signed_live_end_webhook(ROOM);
    let events =
        verify_and_parse_live_webhook(&end.headers, &end.body, &secrets, Utc::now(), &options)
            .unwrap();
    assert!(matches!(&events[..], [LiveEvent::End { room_id, .. }] if room_id == ROOM));

    // Tampered: one byte of the body changed after signing.
    let mut tampered = signed.body.clone();
    let at = tampered.iter().position(|b| *b == b'M').unwrap();
    tampered[at] = b'L';
    assert_eq!(
        verify_and_parse_live_webhook(&signed.headers, &tampered, &secrets, Utc::now(), &options),
        Err(Error::SignatureInvalid(SignatureError::Mismatch))
    );
    // Stale: signed an hour ago.
    let hour_ago = Utc::now().timestamp() - 3_600;
    let stale = fake.sign(fake.live_end_webhook_body(ROOM, hour_ago), hour_ago);
    assert!(matches!(
        verify_and_parse_live_webhook(&stale.headers, &stale.body, &secrets, Utc::now(), &options),
        Err(Error::SignatureInvalid(SignatureError::Stale { .. }))
    ));
    // Unsigned or signed with another secret.
    let mut unsigned = signed.headers.clone();
    unsigned.remove("tiktok-signature");
    assert!(matches!(
        verify_and_parse_live_webhook(&unsigned, &signed.body, &secrets, Utc::now(), &options),
        Err(Error::SignatureInvalid(SignatureError::MissingHeader(_)))
    ));
    assert_eq!(
        verify_and_parse_live_webhook(
            &signed.headers,
            &signed.body,
            &["other"],
            Utc::now(),
            &options
        ),
        Err(Error::SignatureInvalid(SignatureError::Mismatch))
    );
    let mut garbled = signed.headers.clone();
    garbled.insert("tiktok-signature", HeaderValue::from_static("s=abc"));
    assert!(matches!(
        verify_and_parse_live_webhook(&garbled, &signed.body, &secrets, Utc::now(), &options),
        Err(Error::SignatureInvalid(
            SignatureError::MalformedHeader { .. }
        ))
    ));
}

fn body(event: &str, content: serde_json::Value) -> Vec<u8> {
    serde_json::json!({"client_key": "ck", "event": event, "create_time": 1_732_350_000,
        "user_openid": "act.x", "content": content})
    .to_string()
    .into_bytes()
}

#[test]
fn malformed_live_content_is_a_decode_error_never_a_panic() {
    let comment = serde_json::json!({"room_id": ROOM, "comment_id": "c1", "create_time": 1,
        "text": "hi", "user": {"user_id": "u1"}});
    for (case, raw) in [
        ("not JSON at all", b"{not json".to_vec()),
        ("content not JSON", body("live.comment", "{\"room_id\":".into())),
        ("content a number", body("live.comment", 42.into())),
        ("comment without user", body("live.comment", serde_json::json!({"room_id": ROOM, "comment_id": "c1", "create_time": 1}).to_string().into())),
        ("comment without comment_id", body("live.comment", serde_json::json!({"room_id": ROOM, "create_time": 1, "user": {"user_id": "u1"}}).to_string().into())),
        ("comment with an empty user_id", body("live.comment", serde_json::json!({"room_id": ROOM, "comment_id": "c1", "create_time": 1, "user": {"user_id": ""}}).to_string().into())),
        ("comment without room_id", body("live.comment", serde_json::json!({"comment_id": "c1", "create_time": 1, "user": {"user_id": "u1"}}).to_string().into())),
        ("end without room_id", body("live.end", "{}".into())),
        ("end with an empty room_id", body("live.end", "{\"room_id\":\"\"}".into())),
        ("create_time a string", body("live.comment", serde_json::json!({"room_id": ROOM, "comment_id": "c1", "create_time": "soon", "user": {"user_id": "u1"}}).to_string().into())),
    ] {
        assert!(
            matches!(parse_live_webhook(&raw), Err(Error::Decode(_))),
            "{case}: {:?}",
            parse_live_webhook(&raw)
        );
    }
    // Tolerated: content as an object (like `webhook::parse`), and a missing is_follower is false.
    let events = parse_live_webhook(&body("live.comment", comment)).unwrap();
    let [LiveEvent::Comment { comment, .. }] = &events[..] else {
        panic!("{events:?}")
    };
    assert!(!comment.user.is_follower);
}

#[test]
fn other_events_are_ignored_by_the_live_parser() {
    let dm = body(
        "direct_message.receive",
        "{\"message_id\":\"m\",\"text\":\"hi\"}".into(),
    );
    assert_eq!(
        parse_live_webhook(&dm).unwrap(),
        vec![LiveEvent::Other {
            event: "direct_message.receive".into()
        }]
    );
}
