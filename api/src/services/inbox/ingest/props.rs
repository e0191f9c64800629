//! Property tests (10,000 cases each) of what the webhook shim parses itself, after the
//! platform crates: a verified body of any shape for any messaging channel becomes items without
//! a panic, senders' numbers of any shape go through the phone parser without one, timestamps
//! of any size become instants, and nothing is filed under an account other than the
//! connection's.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::services::webhooks::endpoint_for;

const CASES: u32 = 10_000;
const ACCOUNT: &str = "1234567890";

fn endpoint(channel: Channel, account: Option<&str>) -> Endpoint {
    endpoint_for(channel, account, json!({}))
}

fn channel() -> impl Strategy<Value = Channel> {
    prop::sample::select(vec![
        Channel::Whatsapp,
        Channel::Facebook,
        Channel::Instagram,
        Channel::Tiktok,
    ])
}

/// A sender id of any shape: digits of every length, signs, letters, unicode.
fn sender() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{0,40}", "[+0-9 ()-]{0,40}", ".{0,40}"]
}

fn whatsapp_body(from: &str, timestamp: &str, account: &str, text: &str) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": account},
            "contacts": [{"wa_id": from, "profile": {"name": text}}],
            "messages": [{"from": from, "id": "wamid.1", "timestamp": timestamp,
                          "type": "text", "text": {"body": text}}],
            "statuses": [{"id": "wamid.0", "recipient_id": from, "status": "read",
                          "timestamp": timestamp}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

fn assert_for_this_account(items: &[WebhookItem], account_matches: bool) {
    for item in items {
        if let WebhookItem::Inbound(message) = item {
            assert!(account_matches, "a message for another account was kept");
            if let Some(phone) = &message.contact.phone {
                assert!(phone.starts_with('+'), "{phone}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_verified_body_parses_or_is_refused_without_panicking(
        raw in prop::collection::vec(any::<u8>(), 0..512),
        channel in channel(),
    ) {
        let _ = parse(&endpoint(channel, Some(ACCOUNT)), &raw);
    }

    #[test]
    fn whatsapp_senders_and_timestamps_of_any_shape_never_panic(
        from in sender(),
        timestamp in prop_oneof![any::<i64>().prop_map(|t| t.to_string()), ".{0,12}"],
        account in prop_oneof![Just(ACCOUNT.to_owned()), "[0-9]{0,12}"],
        text in ".{0,40}",
    ) {
        let body = whatsapp_body(&from, &timestamp, &account, &text);
        let items = parse(&endpoint(Channel::Whatsapp, Some(ACCOUNT)), &body)
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        assert_for_this_account(&items, account == ACCOUNT);
    }

    #[test]
    fn meta_events_of_any_time_and_party_never_panic(
        channel in prop::sample::select(vec![Channel::Facebook, Channel::Instagram]),
        sender in sender(),
        timestamp in any::<i64>(),
        account in prop_oneof![Just(ACCOUNT.to_owned()), "[0-9]{0,12}"],
        kind in 0usize..4,
    ) {
        let item = match kind {
            0 => json!({"message": {"mid": "m.1", "text": "hi"}}),
            1 => json!({"delivery": {"mids": ["m.0"], "watermark": timestamp}}),
            2 => json!({"read": {"watermark": timestamp, "mid": "m.0"}}),
            _ => json!({"message": {"mid": "m.2", "is_echo": true, "app_id": 1}}),
        };
        let mut item = item;
        item["sender"] = json!({"id": sender});
        item["recipient"] = json!({"id": account});
        item["timestamp"] = json!(timestamp);
        let object = if channel == Channel::Instagram { "instagram" } else { "page" };
        let body = json!({"object": object, "entry": [{"id": account, "time": timestamp, "messaging": [item]}]});
        let items = parse(&endpoint(channel, Some(ACCOUNT)), body.to_string().as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        assert_for_this_account(&items, account == ACCOUNT);
    }

    #[test]
    fn tiktok_messages_of_any_time_and_sender_never_panic(
        sender in sender(),
        create_time in any::<i64>(),
        content_as_string in any::<bool>(),
        text in ".{0,40}",
    ) {
        let content = json!({"message_id": "dm.1", "open_id": sender, "message_type": "text", "text": text});
        let content = if content_as_string { Value::String(content.to_string()) } else { content };
        let body = json!({"client_key": "ck", "event": "direct_message.receive",
                          "create_time": create_time, "user_openid": "biz", "content": content});
        let _ = parse(&endpoint(Channel::Tiktok, None), body.to_string().as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    }
}
