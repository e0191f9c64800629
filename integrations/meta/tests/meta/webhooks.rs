//! Webhook fixtures written from platforms.md §5 (Messenger and Instagram examples), decoded into
//! normalised events; unknown kinds are tolerated, not fatal.

use leadline_meta::models::{AttachmentKind, ReactionAction};
use leadline_meta::webhook::{self, Attachment, Echo, EventKind, Message};
use leadline_meta::{Channel, Error};

fn parse(body: &str) -> Vec<leadline_meta::InboundEvent> {
    webhook::parse(body.as_bytes()).expect("fixture decodes")
}

fn only_kind(body: &str) -> EventKind {
    let events = parse(body);
    assert_eq!(events.len(), 1, "{events:?}");
    events.into_iter().next().map(|e| e.kind).unwrap()
}

#[test]
fn messenger_message_with_quick_reply_reply_to_and_attachment_decodes() {
    // platforms.md §5 example, verbatim shape.
    let events = parse(
        r#"{"object":"page","entry":[{"id":"PAGE_1","time":1457764198246,"messaging":[{"sender":{"id":"PSID_1"},"recipient":{"id":"PAGE_1"},"timestamp":1457764197627,
        "message":{"mid":"mid.1457764197618:41d102a3e1ae206a38","text":"hello, world!","quick_reply":{"payload":"P"},"reply_to":{"mid":"m_prev"},"attachments":[{"type":"image","payload":{"url":"https://cdn.example/i.jpg"}}]}}]}]}"#,
    );
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.channel, Channel::Messenger);
    assert_eq!(
        (
            event.account_id.as_str(),
            event.sender_id.as_str(),
            event.recipient_id.as_str()
        ),
        ("PAGE_1", "PSID_1", "PAGE_1")
    );
    assert_eq!(event.timestamp_ms, Some(1_457_764_197_627));
    assert!(!event.standby);
    assert_eq!(event.user_id(), "PSID_1");
    assert_eq!(
        event.kind,
        EventKind::Message(Message {
            mid: "mid.1457764197618:41d102a3e1ae206a38".into(),
            text: Some("hello, world!".into()),
            quick_reply_payload: Some("P".into()),
            reply_to_mid: Some("m_prev".into()),
            attachments: vec![Attachment {
                kind: AttachmentKind::Image,
                url: Some("https://cdn.example/i.jpg".into())
            }],
        })
    );
}

#[test]
fn echoes_are_flagged_with_their_app_id_and_the_user_is_the_recipient() {
    let events = parse(
        r#"{"object":"page","entry":[{"id":"PAGE_1","time":1,"messaging":[{"sender":{"id":"PAGE_1"},"recipient":{"id":"PSID_1"},"timestamp":2,
        "message":{"is_echo":true,"app_id":1517776481860111,"metadata":"job-42","mid":"m_echo","text":"Thanks!"}}]}]}"#,
    );
    let event = &events[0];
    assert_eq!(event.user_id(), "PSID_1");
    let EventKind::Echo(echo) = &event.kind else {
        panic!("{:?}", event.kind)
    };
    assert_eq!(
        echo,
        &Echo {
            mid: "m_echo".into(),
            text: Some("Thanks!".into()),
            app_id: Some("1517776481860111".into()),
            metadata: Some("job-42".into()),
        }
    );
    assert!(echo.is_from_app("1517776481860111"));
    assert!(!echo.is_from_app("999"));
    // A human answering from the Inbox: an echo without app_id.
    let human = only_kind(
        r#"{"object":"page","entry":[{"id":"PAGE_1","messaging":[{"sender":{"id":"PAGE_1"},"recipient":{"id":"PSID_1"},"timestamp":3,"message":{"is_echo":true,"mid":"m_h","text":"I'm Ana"}}]}]}"#,
    );
    assert!(matches!(human, EventKind::Echo(Echo { app_id: None, .. })));
}

#[test]
fn postback_delivery_read_and_reaction_decode() {
    assert_eq!(
        only_kind(
            r#"{"object":"page","entry":[{"id":"P","messaging":[{"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,"postback":{"title":"Buy","payload":"BUY_1","mid":"m_pb"}}]}]}"#
        ),
        EventKind::Postback {
            mid: Some("m_pb".into()),
            title: Some("Buy".into()),
            payload: Some("BUY_1".into())
        }
    );
    assert_eq!(
        only_kind(
            r#"{"object":"page","entry":[{"id":"P","messaging":[{"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,"delivery":{"mids":["m_1","m_2"],"watermark":1458668856253}}]}]}"#
        ),
        EventKind::Delivery {
            mids: vec!["m_1".into(), "m_2".into()],
            watermark: Some(1_458_668_856_253)
        }
    );
    assert_eq!(
        only_kind(
            r#"{"object":"page","entry":[{"id":"P","messaging":[{"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,"read":{"watermark":1458668856253}}]}]}"#
        ),
        EventKind::Read {
            watermark: Some(1_458_668_856_253),
            mid: None
        }
    );
    assert_eq!(
        only_kind(
            r#"{"object":"page","entry":[{"id":"P","messaging":[{"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,"reaction":{"reaction":"love","emoji":"❤","action":"react","mid":"m_1"}}]}]}"#
        ),
        EventKind::Reaction {
            mid: Some("m_1".into()),
            action: ReactionAction::React,
            reaction: Some("love".into()),
            emoji: Some("❤".into())
        }
    );
}

#[test]
fn instagram_messages_echoes_deletions_and_reads_decode() {
    let events = parse(
        r#"{"object":"instagram","entry":[{"id":"IG_1","time":1700000000000,"messaging":[
        {"sender":{"id":"IGSID_1"},"recipient":{"id":"IG_1"},"timestamp":1700000000001,"message":{"mid":"aWdfZAG1","text":"hi"}},
        {"sender":{"id":"IG_1"},"recipient":{"id":"IGSID_1"},"timestamp":1700000000002,"message":{"mid":"aWdfZAG2","text":"hello!","is_echo":true}},
        {"sender":{"id":"IGSID_1"},"recipient":{"id":"IG_1"},"timestamp":1700000000003,"message":{"mid":"aWdfZAG1","is_deleted":true}},
        {"sender":{"id":"IGSID_1"},"recipient":{"id":"IG_1"},"timestamp":1700000000004,"read":{"mid":"aWdfZAG2"}},
        {"sender":{"id":"IGSID_1"},"recipient":{"id":"IG_1"},"timestamp":1700000000005,"message":{"mid":"aWdfZAG3","attachments":[{"type":"ig_reel","payload":{"url":"https://cdn.example/r"}},{"type":"hologram","payload":{}}]}}
        ]}]}"#,
    );
    assert_eq!(events.len(), 5);
    assert!(events
        .iter()
        .all(|e| e.channel == Channel::Instagram && e.account_id == "IG_1"));
    assert!(matches!(&events[0].kind, EventKind::Message(m) if m.text.as_deref() == Some("hi")));
    assert!(matches!(&events[1].kind, EventKind::Echo(e) if e.mid == "aWdfZAG2"));
    assert_eq!(events[1].user_id(), "IGSID_1");
    assert_eq!(
        events[2].kind,
        EventKind::Deleted {
            mid: "aWdfZAG1".into()
        }
    );
    assert_eq!(
        events[3].kind,
        EventKind::Read {
            watermark: None,
            mid: Some("aWdfZAG2".into())
        }
    );
    let EventKind::Message(media) = &events[4].kind else {
        panic!("{:?}", events[4].kind)
    };
    assert_eq!(media.text, None);
    assert_eq!(
        media.attachments,
        vec![
            Attachment {
                kind: AttachmentKind::IgReel,
                url: Some("https://cdn.example/r".into())
            },
            Attachment {
                kind: AttachmentKind::Unknown,
                url: None
            }
        ]
    );
}

#[test]
fn batches_standby_and_unknown_items_are_all_kept_in_order() {
    let events = parse(
        r#"{"object":"page","entry":[
        {"id":"P","time":1,"messaging":[{"sender":{"id":"U1"},"recipient":{"id":"P"},"timestamp":1,"message":{"mid":"m_a","text":"a"}},
                                      {"sender":{"id":"U1"},"recipient":{"id":"P"},"timestamp":2,"optin":{"ref":"x"}}],
                        "standby":[{"sender":{"id":"U3"},"recipient":{"id":"P"},"timestamp":4,"message":{"mid":"m_s","text":"s"}}]},
        {"id":"P","time":2,"messaging":[{"sender":{"id":"U2"},"recipient":{"id":"P"},"timestamp":3,"message":{"mid":"m_b","text":"b"}},
                                      {"sender":{"id":"U2"},"recipient":{"id":"P"},"timestamp":5,"message":{"mid":42}},
                                      {"sender":{"id":"U2"},"recipient":{"id":"P"},"timestamp":6,"message":{"text":"no mid"}}]}]}"#,
    );
    let summary: Vec<_> = events
        .iter()
        .map(|e| {
            let kind = match &e.kind {
                EventKind::Message(m) => m.mid.clone(),
                EventKind::Unsupported { .. } => "unsupported".into(),
                other => format!("{other:?}"),
            };
            (e.sender_id.clone(), kind, e.standby)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("U1".into(), "m_a".into(), false),
            ("U1".into(), "unsupported".into(), false),
            ("U3".into(), "m_s".into(), true),
            ("U2".into(), "m_b".into(), false),
            ("U2".into(), "unsupported".into(), false),
            ("U2".into(), "unsupported".into(), false),
        ]
    );
    let EventKind::Unsupported { reason } = &events[1].kind else {
        unreachable!()
    };
    assert!(reason.contains("optin"), "{reason}");
}

#[test]
fn comments_changes_are_not_messaging_events() {
    let events = parse(
        r#"{"object":"instagram","entry":[{"id":"IG_1","time":1,"changes":[{"field":"comments","value":{"id":"c1","from":{"id":"u","username":"ana"},"text":"price?","media":{"id":"m","media_product_type":"FEED"}}}]}]}"#,
    );
    assert!(events.is_empty());
}

#[test]
fn foreign_objects_and_garbage_are_errors() {
    assert_eq!(
        webhook::parse(br#"{"object":"whatsapp_business_account","entry":[]}"#),
        Err(Error::Unsupported(
            "webhook object other than page or instagram"
        ))
    );
    assert!(matches!(webhook::parse(b"not json"), Err(Error::Decode(_))));
    assert!(matches!(
        webhook::parse(br#"{"entry":[]}"#),
        Err(Error::Decode(_))
    ));
}
