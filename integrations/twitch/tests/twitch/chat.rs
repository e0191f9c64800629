//! `ChatConnection` against `FakeIrc`: login order, tagged messages, PING/PONG, reconnects after
//! a dropped socket and after RECONNECT, pacing under paused time, and the terminal states.

use std::time::Duration;

use leadline_twitch::fake::irc::{FakeIrc, ScriptedMessage};
use leadline_twitch::{
    BackoffConfig, ChatConfig, ChatConnection, ChatCredentials, ChatEvent, DisconnectReason,
    PacerConfig, ReconnectReason, TwitchError,
};

const CHANNEL: &str = "hoodieshop";
const BOT: &str = "leadbot";
const WAIT: Duration = Duration::from_secs(10);

fn config(fake: &FakeIrc) -> ChatConfig {
    ChatConfig {
        // Tests do not wait a real second between attempts.
        backoff: BackoffConfig {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
            jitter: false,
        },
        ..ChatConfig::new(fake.url(), CHANNEL)
    }
}

fn credentials(fake: &FakeIrc) -> ChatCredentials {
    ChatCredentials::new(BOT, &format!("oauth:{}", fake.token()))
}

/// The next event, failing the test instead of hanging.
async fn next(connection: &mut ChatConnection) -> ChatEvent {
    tokio::time::timeout(WAIT, connection.next_event())
        .await
        .expect("an event in time")
        .expect("the connection is still open")
}

async fn next_message(connection: &mut ChatConnection) -> leadline_twitch::ChatMessage {
    match next(connection).await {
        ChatEvent::Message(message) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn login_follows_the_documented_order_and_tagged_messages_arrive_parsed() {
    let fake = FakeIrc::start().await.unwrap();
    let mut chat = ChatConnection::connect(config(&fake), credentials(&fake))
        .await
        .unwrap();
    assert_eq!(
        next(&mut chat).await,
        ChatEvent::Joined {
            channel: CHANNEL.into(),
            session: 1
        }
    );
    let received: Vec<String> = fake.log().received.into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        received,
        [
            "CAP REQ :twitch.tv/tags twitch.tv/commands",
            "PASS oauth:***",
            "NICK leadbot",
            "JOIN #hoodieshop"
        ]
    );

    let mut scripted = ScriptedMessage::new("Viewer_One", "how much is the blue hoodie?")
        .with_id("b3f1c0de-0000-4000-8000-000000000001");
    scripted.badges = "subscriber/6,moderator/1".into();
    scripted.first_msg = true;
    scripted.moderator = true;
    scripted.subscriber = true;
    scripted.display_name = "Viewer_One".into();
    fake.privmsg(CHANNEL, &scripted);
    let message = next_message(&mut chat).await;
    assert_eq!(message.id, "b3f1c0de-0000-4000-8000-000000000001");
    assert_eq!(message.channel, CHANNEL);
    assert_eq!(message.login, "viewer_one");
    assert_eq!(message.display_name, "Viewer_One");
    assert_eq!(message.user_id, scripted.user_id);
    assert_eq!(message.text, "how much is the blue hoodie?");
    assert!(message.is_first_message && message.is_moderator && message.is_subscriber);
    assert_eq!(message.badges.len(), 2);
    assert!(fake.log().protocol_errors.is_empty());
}

#[tokio::test]
async fn a_ping_is_answered_with_a_pong() {
    let fake = FakeIrc::start().await.unwrap();
    let mut chat = ChatConnection::connect(config(&fake), credentials(&fake))
        .await
        .unwrap();
    next(&mut chat).await;
    let answered = fake.ping_expecting_pong(WAIT);
    assert!(answered.await.unwrap(), "the bot answered the PING");
    let log = fake.log();
    assert_eq!(log.pongs.len(), 1);
    assert_eq!(log.pongs[0].text, "tmi.twitch.tv");
    assert_eq!(
        (log.open, log.connections),
        (1, 1),
        "answered in time: not dropped"
    );
    assert!(log.protocol_errors.is_empty(), "{:?}", log.protocol_errors);
    // Still alive: messages keep coming.
    fake.privmsg(CHANNEL, &ScriptedMessage::new("a", "still there?"));
    assert_eq!(next_message(&mut chat).await.text, "still there?");
}

#[tokio::test]
async fn a_refused_token_fails_connect_as_unauthorized() {
    let fake = FakeIrc::start().await.unwrap();
    let error = ChatConnection::connect(config(&fake), ChatCredentials::new(BOT, "oauth:wrong"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TwitchError::Unauthorized(text) if text.contains("Login authentication failed")),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert!(fake.log().logins.is_empty());
}

#[tokio::test]
async fn a_dropped_socket_is_reconnected_rejoined_and_delivery_continues() {
    let fake = FakeIrc::start().await.unwrap();
    let mut chat = ChatConnection::connect(config(&fake), credentials(&fake))
        .await
        .unwrap();
    next(&mut chat).await;
    fake.privmsg(CHANNEL, &ScriptedMessage::new("a", "before"));
    assert_eq!(next_message(&mut chat).await.text, "before");

    fake.drop_connections();
    // Sent while the bot is away: delivered once it has joined again.
    fake.privmsg(CHANNEL, &ScriptedMessage::new("b", "during"));
    match next(&mut chat).await {
        ChatEvent::Reconnecting {
            reason, attempt, ..
        } => {
            assert!(
                matches!(
                    reason,
                    ReconnectReason::SocketClosed | ReconnectReason::SocketError(_)
                ),
                "{reason:?}"
            );
            assert_eq!(attempt, 1);
        }
        other => panic!("expected Reconnecting, got {other:?}"),
    }
    assert_eq!(
        next(&mut chat).await,
        ChatEvent::Joined {
            channel: CHANNEL.into(),
            session: 2
        }
    );
    assert_eq!(next_message(&mut chat).await.text, "during");
    fake.privmsg(CHANNEL, &ScriptedMessage::new("c", "after"));
    assert_eq!(next_message(&mut chat).await.text, "after");

    let log = fake.log();
    assert_eq!(log.logins.len(), 2);
    assert_eq!(
        log.joins
            .iter()
            .map(|j| (j.connection, j.channel.as_str()))
            .collect::<Vec<_>>(),
        [(1, CHANNEL), (2, CHANNEL)]
    );
    chat.say("back online").await.unwrap();
    assert!(fake.wait_until(WAIT, |log| log.said.len() == 1).await);
    assert_eq!(fake.log().said[0].connection, 2);
}

#[tokio::test]
async fn a_reconnect_command_moves_to_a_new_socket_and_keeps_delivering() {
    let fake = FakeIrc::start().await.unwrap();
    let mut chat = ChatConnection::connect(config(&fake), credentials(&fake))
        .await
        .unwrap();
    next(&mut chat).await;
    fake.reconnect();
    assert!(matches!(
        next(&mut chat).await,
        ChatEvent::Reconnecting {
            reason: ReconnectReason::ServerRequested,
            attempt: 1,
            ..
        }
    ));
    assert_eq!(
        next(&mut chat).await,
        ChatEvent::Joined {
            channel: CHANNEL.into(),
            session: 2
        }
    );
    fake.privmsg(CHANNEL, &ScriptedMessage::new("d", "link please"));
    assert_eq!(next_message(&mut chat).await.text, "link please");
    assert!(
        fake.wait_until(WAIT, |log| log.open == 1).await,
        "the old socket was closed"
    );
    assert_eq!(fake.log().connections, 2);
    assert!(fake.log().protocol_errors.is_empty());
}

#[tokio::test]
async fn replies_carry_the_parent_tag_and_unsafe_text_is_neutralised() {
    let fake = FakeIrc::start().await.unwrap();
    let mut chat = ChatConnection::connect(config(&fake), credentials(&fake))
        .await
        .unwrap();
    next(&mut chat).await;
    let sender = chat.sender();
    sender.reply("parent-42", "It is $49.99").await.unwrap();
    sender
        .say("line one\r\nPRIVMSG #elsewhere :injected")
        .await
        .unwrap();
    assert!(matches!(
        sender.say(&"x".repeat(501)).await,
        Err(TwitchError::Rejected { status: 0, .. })
    ));
    assert!(fake.wait_until(WAIT, |log| log.said.len() == 2).await);
    let said = fake.log().said;
    assert_eq!(said[0].text, "It is $49.99");
    assert_eq!(
        said[0].tags,
        vec![("reply-parent-msg-id".to_owned(), "parent-42".to_owned())]
    );
    assert_eq!(said[1].text, "line one  PRIVMSG #elsewhere :injected");
    assert_eq!(said[1].channel, CHANNEL);
    assert!(fake.log().protocol_errors.is_empty());
}

#[tokio::test]
async fn sends_are_paced_within_twenty_per_thirty_seconds() {
    let fake = FakeIrc::start().await.unwrap();
    let mut chat = ChatConnection::connect(config(&fake), credentials(&fake))
        .await
        .unwrap();
    next(&mut chat).await;
    // Pause only now: login waits on socket reads, which a paused clock would race; the burst
    // below only writes (never blocks on loopback) and sleeps on the pacer, so virtual time is
    // exact. `say` resolves when its line is written, so its return time is the send time.
    tokio::time::pause();
    let sender = chat.sender();
    let start = tokio::time::Instant::now();
    let mut sent_at = Vec::new();
    for i in 0..45 {
        sender.say(&format!("reply {i}")).await.unwrap();
        sent_at.push(tokio::time::Instant::now().duration_since(start));
    }
    tokio::time::resume();

    let limit = PacerConfig::user();
    // Never more than 20 within any 30 s window (the pacer adds its 1 s margin on top).
    for i in 20..sent_at.len() {
        let gap = sent_at[i] - sent_at[i - 20];
        assert!(
            gap >= limit.window + limit.margin,
            "message {i} went {gap:?} after message {}",
            i - 20
        );
    }
    // And not needlessly slow: 20 at once, the next 20 one span later, the rest after two
    // (tokio's timer wheel rounds a wait up to the next millisecond, hence the small slack).
    let slack = Duration::from_millis(5);
    assert_eq!(sent_at[19], Duration::ZERO);
    assert!(
        (limit.span()..=limit.span() + slack).contains(&sent_at[20]),
        "{:?}",
        sent_at[20]
    );
    assert!(
        (limit.span()..=limit.span() + slack).contains(&sent_at[39]),
        "{:?}",
        sent_at[39]
    );
    let two = limit.span() * 2;
    assert!(
        (two..=two + slack).contains(&sent_at[40]),
        "{:?}",
        sent_at[40]
    );

    // Twitch (the fake) received all of them, in order, on the one connection.
    assert!(fake.wait_until(WAIT, |log| log.said.len() == 45).await);
    let said = fake.log().said;
    let texts: Vec<String> = said.iter().map(|s| s.text.clone()).collect();
    let expected: Vec<String> = (0..45).map(|i| format!("reply {i}")).collect();
    assert_eq!(texts, expected);
    assert!(said.iter().all(|s| s.connection == 1));
}

#[tokio::test]
async fn after_the_reconnect_limit_the_connection_gives_up_and_fails_queued_sends() {
    let fake = FakeIrc::start().await.unwrap();
    let mut chat = ChatConnection::connect(
        ChatConfig {
            max_reconnect_attempts: Some(2),
            ..config(&fake)
        },
        credentials(&fake),
    )
    .await
    .unwrap();
    next(&mut chat).await;
    let sender = chat.sender();
    drop(fake); // the server is gone: every reconnect is refused.
    let mut attempts = Vec::new();
    let reason = loop {
        match next(&mut chat).await {
            ChatEvent::Reconnecting { attempt, .. } => attempts.push(attempt),
            ChatEvent::Disconnected { reason } => break reason,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(attempts, [1, 2]);
    assert!(
        matches!(
            &reason,
            DisconnectReason::GaveUp {
                attempts: 2,
                last: ReconnectReason::ConnectFailed(_)
            }
        ),
        "{reason:?}"
    );
    assert!(
        chat.next_event().await.is_none(),
        "Disconnected is the last event"
    );
    assert_eq!(sender.say("anyone?").await, Err(TwitchError::Closed));
}

#[tokio::test]
async fn close_ends_the_connection() {
    let fake = FakeIrc::start().await.unwrap();
    let mut chat = ChatConnection::connect(config(&fake), credentials(&fake))
        .await
        .unwrap();
    next(&mut chat).await;
    let sender = chat.sender();
    chat.close().await;
    assert!(fake.wait_until(WAIT, |log| log.open == 0).await);
    assert_eq!(sender.say("hello?").await, Err(TwitchError::Closed));
}

#[tokio::test]
async fn dropping_the_connection_closes_the_socket_even_with_a_sender_alive() {
    let fake = FakeIrc::start().await.unwrap();
    let mut chat = ChatConnection::connect(config(&fake), credentials(&fake))
        .await
        .unwrap();
    next(&mut chat).await;
    let sender = chat.sender();
    drop(chat);
    assert!(fake.wait_until(WAIT, |log| log.open == 0).await);
    assert_eq!(sender.say("hello?").await, Err(TwitchError::Closed));
}

/// A raw client that logs in by hand, to show the fake enforces what the real client does.
async fn raw_client(
    fake: &FakeIrc,
    lines: &[String],
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use futures::SinkExt;
    let (mut socket, _) = tokio_tungstenite::connect_async(fake.url()).await.unwrap();
    for line in lines {
        socket
            .send(tokio_tungstenite::tungstenite::Message::Text(
                line.clone().into(),
            ))
            .await
            .unwrap();
    }
    socket
}

#[tokio::test]
async fn the_fake_refuses_logins_out_of_order_and_drops_clients_that_ignore_ping() {
    let fake = FakeIrc::start().await.unwrap();
    let _out_of_order = raw_client(
        &fake,
        &[
            "CAP REQ :twitch.tv/tags twitch.tv/commands".into(),
            "NICK leadbot".into(),
        ],
    )
    .await;
    assert!(
        fake.wait_until(WAIT, |log| log.protocol_errors.len() == 1)
            .await
    );
    assert!(fake.log().protocol_errors[0].contains("unexpected NICK"));

    let _silent = raw_client(
        &fake,
        &[
            "CAP REQ :twitch.tv/tags twitch.tv/commands".into(),
            format!("PASS oauth:{}", fake.token()),
            "NICK leadbot".into(),
            format!("JOIN #{CHANNEL}"),
        ],
    )
    .await;
    assert!(fake.wait_until(WAIT, |log| log.joins.len() == 1).await);
    let answered = fake.ping_expecting_pong(Duration::from_millis(50));
    assert!(
        !answered.await.unwrap(),
        "a client that never PONGs is caught"
    );
    assert!(fake.wait_until(WAIT, |log| log.open == 0).await);
    assert!(fake.log().protocol_errors[1].contains("no PONG"));
}
