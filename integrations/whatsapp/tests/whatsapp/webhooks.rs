//! Webhook fixtures written from platforms.md §4 (and the seed's shape), one per message kind,
//! statuses with and without errors, and tolerance of unknown kinds and fields.

use leadline_whatsapp::models::DeliveryStatus;
use leadline_whatsapp::webhook::{
    self, HubChallenge, InboundEvent, InboundMessage, MediaKind, MessageContent, PlatformError,
    StatusUpdate, SubscriptionRefused,
};
use leadline_whatsapp::Error;
use serde_json::{json, Value};

/// Wraps `value` (a `changes[].value`) in the notification envelope.
fn notification(value: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"object":"whatsapp_business_account","entry":[{"id":"WABA_1","changes":[{"field":"messages","value":value}]}]}))
        .unwrap()
}

fn one_message(message: Value) -> InboundMessage {
    let body = notification(json!({
        "messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
        "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
        "messages":[message]
    }));
    let mut events = webhook::parse(&body).unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    match events.remove(0) {
        InboundEvent::Message(message) => message,
        other => panic!("{other:?}"),
    }
}

fn content(kind_and_object: Value) -> MessageContent {
    let mut message = json!({"from":"16505551234","id":"wamid.K","timestamp":"1749416383"});
    for (key, value) in kind_and_object.as_object().unwrap() {
        message[key] = value.clone();
    }
    one_message(message).content
}

#[test]
fn the_platforms_md_text_example_decodes_with_profile_and_context() {
    let message = one_message(json!({
        "from":"16505551234","id":"wamid.HBgLMTY1MDU1NTEyMzQ","timestamp":"1749416383","type":"text",
        "text":{"body":"Another color?"},"context":{"from":"15550783881","id":"wamid.replied-to"}
    }));
    assert_eq!(
        message,
        InboundMessage {
            waba_id: "WABA_1".into(),
            phone_number_id: "106540352242922".into(),
            display_phone_number: Some("15550783881".into()),
            from: "16505551234".into(),
            profile_name: Some("Sheena Nelson".into()),
            message_id: "wamid.HBgLMTY1MDU1NTEyMzQ".into(),
            timestamp: 1_749_416_383,
            reply_to: Some("wamid.replied-to".into()),
            content: MessageContent::Text {
                body: "Another color?".into()
            },
        }
    );
    assert_eq!(message.text(), Some("Another color?"));
}

#[test]
fn media_messages_carry_their_media_ids() {
    for (kind, media_kind) in [
        ("image", MediaKind::Image),
        ("audio", MediaKind::Audio),
        ("video", MediaKind::Video),
        ("document", MediaKind::Document),
        ("sticker", MediaKind::Sticker),
    ] {
        let mut object = json!({"id": format!("MEDIA_{kind}"), "mime_type": "application/octet-stream", "sha256": "abc="});
        if kind == "document" {
            object["filename"] = json!("quote.pdf");
            object["caption"] = json!("la cotización");
        }
        let decoded = content(json!({"type": kind, kind: object}));
        let MessageContent::Media {
            kind: got,
            id,
            mime_type,
            sha256,
            caption,
            filename,
        } = decoded
        else {
            panic!("{kind}: {decoded:?}")
        };
        assert_eq!(got, media_kind);
        assert_eq!(id, format!("MEDIA_{kind}"));
        assert_eq!(mime_type.as_deref(), Some("application/octet-stream"));
        assert_eq!(sha256.as_deref(), Some("abc="));
        if kind == "document" {
            assert_eq!(
                (caption.as_deref(), filename.as_deref()),
                (Some("la cotización"), Some("quote.pdf"))
            );
        }
    }
}

#[test]
fn interactive_replies_buttons_and_reactions_decode() {
    let button = one_message(
        json!({"from":"16505551234","id":"wamid.B","timestamp":"1","type":"interactive",
        "interactive":{"type":"button_reply","button_reply":{"id":"buy","title":"Comprar"}}}),
    );
    assert_eq!(
        button.content,
        MessageContent::ButtonReply {
            id: "buy".into(),
            title: "Comprar".into()
        }
    );
    assert_eq!(button.text(), Some("Comprar"));
    assert_eq!(
        content(
            json!({"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"row-2","title":"Talla M","description":"Disponible"}}})
        ),
        MessageContent::ListReply {
            id: "row-2".into(),
            title: "Talla M".into(),
            description: Some("Disponible".into())
        }
    );
    assert_eq!(
        content(json!({"type":"button","button":{"payload":"YES","text":"Sí"}})),
        MessageContent::QuickReplyButton {
            payload: Some("YES".into()),
            text: Some("Sí".into())
        }
    );
    assert_eq!(
        content(json!({"type":"reaction","reaction":{"message_id":"wamid.OUT","emoji":"👍"}})),
        MessageContent::Reaction {
            message_id: "wamid.OUT".into(),
            emoji: Some("👍".into())
        }
    );
    assert_eq!(
        content(json!({"type":"reaction","reaction":{"message_id":"wamid.OUT","emoji":""}})),
        MessageContent::Reaction {
            message_id: "wamid.OUT".into(),
            emoji: None
        },
        "an empty emoji removes the reaction"
    );
    assert_eq!(
        content(
            json!({"type":"location","location":{"latitude":19.43,"longitude":-99.13,"name":"Zócalo"}})
        ),
        MessageContent::Location {
            latitude: 19.43,
            longitude: -99.13,
            name: Some("Zócalo".into()),
            address: None
        }
    );
    assert!(matches!(
        content(json!({"type":"contacts","contacts":[{"name":{"formatted_name":"Ana"}}]})),
        MessageContent::Contacts(Value::Array(_))
    ));
}

#[test]
fn unknown_and_unsupported_kinds_are_tolerated() {
    assert_eq!(
        content(json!({"type":"hologram","hologram":{"id":"H"}})),
        MessageContent::Unsupported {
            kind: "hologram".into(),
            errors: vec![]
        }
    );
    assert_eq!(
        content(
            json!({"type":"unsupported","errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}]})
        ),
        MessageContent::Unsupported {
            kind: "unsupported".into(),
            errors: vec![PlatformError {
                code: 131_051,
                title: Some("Message type unknown".into()),
                message: Some("Message type unknown".into()),
                details: Some("Message type is currently not supported.".into()),
            }]
        }
    );
    assert!(matches!(
        content(json!({"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{}}})),
        MessageContent::Unsupported { .. }
    ));
}

#[test]
fn statuses_decode_including_failures_with_error_codes() {
    let body = notification(json!({
        "messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"15550783881","phone_number_id":"PN"},
        "statuses":[
            {"id":"wamid.1","status":"sent","timestamp":"1750857384","recipient_id":"5516992318222",
             "conversation":{"id":"CONV","expiration_timestamp":"1750943784","origin":{"type":"service"}},
             "pricing":{"billable":true,"pricing_model":"CBP","category":"service"}},
            {"id":"wamid.1","status":"read","timestamp":"1750857390","recipient_id":"5516992318222"},
            {"id":"wamid.2","status":"failed","timestamp":"1750857391","recipient_id":"5516992318222",
             "errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]},
            {"id":"wamid.3","status":"deleted","timestamp":"1750857392","recipient_id":"5516992318222"}
        ]
    }));
    let events = webhook::parse(&body).unwrap();
    let statuses: Vec<StatusUpdate> = events
        .into_iter()
        .map(|e| match e {
            InboundEvent::Status(s) => s,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(statuses.len(), 4);
    assert_eq!(statuses[0].status, DeliveryStatus::Sent);
    assert_eq!(statuses[0].conversation_id.as_deref(), Some("CONV"));
    assert_eq!(statuses[0].pricing_category.as_deref(), Some("service"));
    assert_eq!(statuses[0].timestamp, 1_750_857_384);
    assert_eq!(statuses[1].status, DeliveryStatus::Read);
    assert_eq!(statuses[2].status, DeliveryStatus::Failed);
    assert_eq!(statuses[2].errors[0].code, 131_047);
    assert!(statuses[2].errors[0]
        .details
        .as_deref()
        .unwrap()
        .contains("24 hours"));
    assert_eq!(statuses[3].status, DeliveryStatus::Unknown);
    assert_eq!(statuses[3].phone_number_id, "PN");
}

#[test]
fn value_errors_other_fields_and_broken_items_do_not_break_the_batch() {
    let body = serde_json::to_vec(&json!({"object":"whatsapp_business_account","entry":[
        {"id":"WABA_1","changes":[
            {"field":"message_template_status_update","value":{"event":"APPROVED"}},
            {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"PN"},
                "errors":[{"code":130429,"title":"Rate limit hit","message":"Rate limit hit","error_data":{"details":"too many"}}],
                "messages":[{"type":"text","text":{"body":"no id or from"}},
                            {"from":"521234567890","id":"wamid.XXX","timestamp":"1234567890","type":"text","text":{"body":"Hola, quiero informacion"}}]}}
        ]}]}))
    .unwrap();
    let events = webhook::parse(&body).unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let InboundEvent::Message(message) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(message.from, "521234567890");
    assert_eq!(
        message.profile_name, None,
        "no contacts in this payload (the seed's shape)"
    );
    assert_eq!(
        events[1],
        InboundEvent::Errors {
            phone_number_id: "PN".into(),
            errors: vec![PlatformError {
                code: 130_429,
                title: Some("Rate limit hit".into()),
                message: Some("Rate limit hit".into()),
                details: Some("too many".into())
            }]
        }
    );
}

#[test]
fn foreign_objects_and_garbage_are_errors() {
    assert!(matches!(
        webhook::parse(br#"{"object":"page","entry":[]}"#),
        Err(Error::Unsupported(_))
    ));
    assert!(matches!(webhook::parse(b"{"), Err(Error::Decode(_))));
    assert_eq!(
        webhook::parse(br#"{"object":"whatsapp_business_account","entry":[]}"#),
        Ok(vec![])
    );
}

#[test]
fn the_verification_get_echoes_the_challenge_only_for_the_tenants_token() {
    let query = HubChallenge::from_pairs([
        ("hub.mode", "subscribe"),
        ("hub.verify_token", "tenant-token"),
        ("hub.challenge", "1158201444"),
    ]);
    assert_eq!(query.answer("tenant-token"), Ok("1158201444"));
    assert_eq!(
        query.answer("other"),
        Err(SubscriptionRefused::TokenMismatch)
    );
}
