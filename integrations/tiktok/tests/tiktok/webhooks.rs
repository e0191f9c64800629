//! Webhook fixtures: platforms.md §3's `authorization.removed` example, DMs with `content` as a
//! string of serialised JSON (docs, shared vectors) and as an object (seed 001), unknown events
//! and kinds tolerated, and the endpoint-check helper.

use leadline_tiktok::webhook::{
    self, verification_challenge, DirectMessage, DmContent, InboundEvent, RemovalReason,
};
use leadline_tiktok::Error;
use serde_json::json;

fn one(body: &str) -> InboundEvent {
    let mut events = webhook::parse(body.as_bytes()).expect("fixture decodes");
    assert_eq!(events.len(), 1);
    events.remove(0)
}

#[test]
fn the_platforms_md_authorization_removed_example_decodes() {
    assert_eq!(
        one(
            r#"{"client_key":"bwo2m45353a6k85","event":"authorization.removed","create_time":1615338610,"user_openid":"act.example12345","content":"{\"reason\": 1 }"}"#
        ),
        InboundEvent::AuthorizationRemoved {
            client_key: "bwo2m45353a6k85".into(),
            user_open_id: "act.example12345".into(),
            reason: RemovalReason::UserDisconnected,
            create_time: 1_615_338_610,
        }
    );
    assert!(matches!(
        one(
            r#"{"client_key":"k","event":"authorization.removed","create_time":1,"user_openid":"u","content":"{\"reason\": 9}"}"#
        ),
        InboundEvent::AuthorizationRemoved {
            reason: RemovalReason::Other(9),
            ..
        }
    ));
}

#[test]
fn a_dm_with_string_content_decodes_as_in_the_shared_vectors() {
    assert_eq!(
        one(
            r#"{"client_key":"ck_1","event":"direct_message.receive","create_time":1732350000,"user_openid":"oid_shared","content":"{\"message_id\": \"m_shared\", \"text\": \"is the hoodie in XL?\"}"}"#
        ),
        InboundEvent::DirectMessage(DirectMessage {
            client_key: "ck_1".into(),
            account_open_id: "oid_shared".into(),
            sender_open_id: "oid_shared".into(),
            message_id: "m_shared".into(),
            conversation_id: None,
            create_time: 1_732_350_000,
            content: DmContent::Text {
                text: "is the hoodie in XL?".into()
            },
        })
    );
}

#[test]
fn a_dm_with_object_content_decodes_as_in_seed_001() {
    let event = one(&json!({
        "event": "direct_message.receive", "client_key": "CLIENT_KEY", "create_time": 1234567890,
        "content": {"open_id": "USER_OPEN_ID", "message_id": "MESSAGE_ID", "message_type": "text",
                    "message_content": {"text": "Hola!"}}
    })
    .to_string());
    let InboundEvent::DirectMessage(dm) = event else {
        panic!("{event:?}")
    };
    assert_eq!(dm.sender_open_id, "USER_OPEN_ID");
    assert_eq!(dm.account_open_id, "");
    assert_eq!(dm.message_id, "MESSAGE_ID");
    assert_eq!(
        dm.content,
        DmContent::Text {
            text: "Hola!".into()
        }
    );
}

#[test]
fn image_share_and_unknown_dm_kinds_are_tolerated() {
    let dm = |content: serde_json::Value| {
        match one(&json!({"client_key":"k","event":"direct_message.receive","create_time":1,"user_openid":"biz","content":content.to_string()}).to_string()) {
            InboundEvent::DirectMessage(dm) => dm.content,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        dm(
            json!({"message_id":"m1","open_id":"u","message_type":"image","message_content":{"image_url":"https://cdn.example/i.jpg"}})
        ),
        DmContent::Image {
            url: Some("https://cdn.example/i.jpg".into()),
            media_id: None
        }
    );
    assert_eq!(
        dm(
            json!({"message_id":"m2","open_id":"u","message_type":"SHARE_POST","message_content":{"share_url":"https://www.tiktok.com/@a/video/1"}})
        ),
        DmContent::SharePost {
            url: Some("https://www.tiktok.com/@a/video/1".into())
        }
    );
    assert_eq!(
        dm(json!({"message_id":"m3","open_id":"u","message_type":"sticker"})),
        DmContent::Unsupported {
            kind: "sticker".into()
        }
    );
}

#[test]
fn unknown_events_and_dms_without_ids_are_kept_as_other() {
    let event = one(
        r#"{"client_key":"k","event":"video.publish.completed","create_time":5,"user_openid":"u","content":"{\"publish_id\":\"v_pub_1\"}"}"#,
    );
    assert_eq!(
        event,
        InboundEvent::Other {
            event: "video.publish.completed".into(),
            client_key: "k".into(),
            user_open_id: "u".into(),
            create_time: 5,
            content: json!({"publish_id": "v_pub_1"}),
        }
    );
    assert!(matches!(
        one(
            r#"{"client_key":"k","event":"direct_message.receive","create_time":5,"user_openid":"u","content":"{\"text\":\"no id\"}"}"#
        ),
        InboundEvent::Other { .. }
    ));
    assert!(matches!(
        one(
            r#"{"client_key":"k","event":"portability.download.ready","create_time":5,"user_openid":"u","content":"not json"}"#
        ),
        InboundEvent::Other {
            content: serde_json::Value::String(_),
            ..
        }
    ));
}

#[test]
fn bodies_that_are_not_events_are_decode_errors() {
    assert!(matches!(webhook::parse(b"[]"), Err(Error::Decode(_))));
    assert!(matches!(
        webhook::parse(b"{\"client_key\":\"k\"}"),
        Err(Error::Decode(_))
    ));
}

#[test]
fn the_endpoint_check_echoes_the_challenge_only_for_the_tenants_token() {
    assert_eq!(
        verification_challenge(Some("XXX"), Some("YYY"), "YYY"),
        Some("XXX")
    );
    assert_eq!(
        verification_challenge(Some("XXX"), Some("nope"), "YYY"),
        None
    );
    assert_eq!(verification_challenge(Some("XXX"), None, "YYY"), None);
    assert_eq!(verification_challenge(None, Some("YYY"), "YYY"), None);
    assert_eq!(verification_challenge(Some("XXX"), Some(""), ""), None);
}
