//! Parsing and routing of verified deliveries, per platform.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leadline_whatsapp::webhook::{MediaKind, MessageContent};
use serde_json::{json, Value};

use super::whatsapp::whatsapp_content;
use super::*;
use crate::error::ApiError;
use crate::services::webhooks::{channel_for_segment, endpoint_for};

#[test]
fn only_the_four_messaging_segments_are_channels() {
    assert_eq!(channel_for_segment("whatsapp"), Some(Channel::Whatsapp));
    assert_eq!(channel_for_segment("instagram"), Some(Channel::Instagram));
    assert_eq!(channel_for_segment("facebook"), Some(Channel::Facebook));
    assert_eq!(channel_for_segment("tiktok"), Some(Channel::Tiktok));
    assert_eq!(channel_for_segment("WHATSAPP"), None);
    assert_eq!(channel_for_segment("twitch"), None);
}

#[test]
fn whatsapp_media_without_caption_reads_as_a_placeholder_and_keeps_its_id() {
    let content = MessageContent::Media {
        kind: MediaKind::Image,
        id: "MEDIA1".into(),
        mime_type: Some("image/jpeg".into()),
        sha256: None,
        caption: None,
        filename: None,
    };
    let (body, metadata) = whatsapp_content(&content, None);
    assert_eq!(body, "[image]");
    assert_eq!(metadata["media"]["id"], "MEDIA1");
    let (body, _) = whatsapp_content(&content, Some("look at this"));
    assert_eq!(body, "look at this");
}

const WA_BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"PN1"},"contacts":[{"profile":{"name":"A"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.1","timestamp":"1749416383","type":"text","text":{"body":"hi"}}]}}]}]}"#;
const TIKTOK_BODY: &[u8] = br#"{"client_key":"ck","event":"direct_message.receive","create_time":1732350000,"user_openid":"act.x","content":"{\"message_id\": \"m1\", \"open_id\": \"oid_lead\", \"message_type\": \"text\", \"text\": \"hi\"}"}"#;

fn stored(result: Result<Vec<WebhookItem>, WebhookRejection>) -> usize {
    match result {
        Ok(items) => items
            .iter()
            .filter(|i| matches!(i, WebhookItem::Inbound(_)))
            .count(),
        Err(rejection) => panic!("refused: {rejection:?}"),
    }
}

fn refused(result: Result<Vec<WebhookItem>, WebhookRejection>) -> bool {
    matches!(result, Err(WebhookRejection::AccountMismatch))
}

#[test]
fn the_operator_secret_opens_only_deliveries_for_the_connections_own_account() {
    use SecretSource::{Connection, Operator};
    let wa = |external: Option<&str>, settings: Value| {
        endpoint_for(Channel::Whatsapp, external, settings)
    };
    // The shared secret and a connection naming no account, or another one: refused.
    assert!(refused(parse_verified(
        &wa(None, json!({})),
        WA_BODY,
        Operator
    )));
    assert!(refused(parse_verified(
        &wa(Some("PN2"), json!({})),
        WA_BODY,
        Operator
    )));
    // Its own number, or its WhatsApp Business Account: accepted.
    assert_eq!(
        stored(parse_verified(
            &wa(Some("PN1"), json!({})),
            WA_BODY,
            Operator
        )),
        1
    );
    let waba = wa(Some("PN2"), json!({"webhookAccountId": "WABA1"}));
    assert_eq!(stored(parse_verified(&waba, WA_BODY, Operator)), 1);
    // The connection's own secret: another account's events are skipped, not refused.
    let own = parse_verified(&wa(Some("PN2"), json!({})), WA_BODY, Connection).unwrap();
    assert!(matches!(own[..], [WebhookItem::AccountMismatch { .. }]));
    assert_eq!(
        stored(parse_verified(&wa(None, json!({})), WA_BODY, Connection)),
        1
    );

    let tiktok = |settings: Value| endpoint_for(Channel::Tiktok, Some("7000001"), settings);
    // TikTok names the account by its open id; the business id (for sends) never matches.
    assert!(refused(parse_verified(
        &tiktok(json!({})),
        TIKTOK_BODY,
        Operator
    )));
    let other = tiktok(json!({"webhookAccountId": "act.y"}));
    assert!(refused(parse_verified(&other, TIKTOK_BODY, Operator)));
    let mine = tiktok(json!({"webhookAccountId": "act.x"}));
    assert_eq!(stored(parse_verified(&mine, TIKTOK_BODY, Operator)), 1);
    assert_eq!(
        stored(parse_verified(&tiktok(json!({})), TIKTOK_BODY, Connection)),
        1
    );
}

#[test]
fn every_rejection_has_a_reason_and_the_documented_status() {
    let cases = [
        (WebhookRejection::UnknownTenant, 404),
        (WebhookRejection::NotConnected, 404),
        (WebhookRejection::MissingSecret, 401),
        (WebhookRejection::MissingSignature, 401),
        (WebhookRejection::BadSignature("x".into()), 401),
        (WebhookRejection::StaleTimestamp, 401),
        (WebhookRejection::AccountMismatch, 401),
        (WebhookRejection::VerificationRefused("x".into()), 403),
        (WebhookRejection::BadPayload("x".into()), 400),
        (
            WebhookRejection::DatabaseUnavailable(ApiError::Unavailable("x".into())),
            503,
        ),
    ];
    for (rejection, status) in cases {
        assert!(!rejection.reason().is_empty());
        assert_eq!(rejection.to_api_error().status().as_u16(), status);
    }
}
