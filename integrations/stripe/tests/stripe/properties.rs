//! Properties, 10,000 cases each: arbitrary headers and bodies never verify and never panic;
//! a correct signature always verifies and any change to the body, time or secret does not;
//! no body makes the event parser panic.

use leadline_stripe::webhook::signature_header;
use leadline_stripe::{Event, Receiver};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 10_000,
        ..ProptestConfig::default()
    }
}

fn receiver() -> Receiver {
    Receiver::new(vec!["whsec_prop_a".to_owned(), "whsec_prop_b".to_owned()]).unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_headers_and_bodies_never_verify(
        header in ".{0,160}",
        t in any::<i64>(),
        v1s in prop::collection::vec("[0-9a-fA-F]{0,70}", 0..4),
        v0 in "[0-9a-f]{64}",
        body in prop::collection::vec(any::<u8>(), 0..160),
        now in any::<i64>(),
    ) {
        let receiver = receiver();
        prop_assert!(receiver.receive(Some(&header), &body, now).is_err());
        let mut shaped = format!("t={t}");
        for v1 in &v1s {
            shaped.push_str(",v1=");
            shaped.push_str(v1);
        }
        shaped.push_str(",v0=");
        shaped.push_str(&v0);
        prop_assert!(receiver.receive(Some(&shaped), &body, now).is_err());
        if let Ok(value) = http::HeaderValue::from_str(&header) {
            let mut headers = http::HeaderMap::new();
            headers.insert("stripe-signature", value);
            prop_assert!(receiver.receive_headers(&headers, &body, now).is_err());
        }
    }

    #[test]
    fn signed_bodies_verify_and_any_change_refuses(
        body in prop::collection::vec(any::<u8>(), 0..160),
        extra in any::<u8>(),
        skew in -300i64..=300,
        t in 0i64..4_000_000_000,
        second in any::<bool>(),
    ) {
        let receiver = receiver();
        let secret = if second { "whsec_prop_b" } else { "whsec_prop_a" };
        let header = signature_header(&[secret], t, &body);
        prop_assert!(receiver.verify(&header, &body, t + skew).is_ok());
        let mut longer = body.clone();
        longer.push(extra);
        prop_assert!(receiver.verify(&header, &longer, t).is_err());
        prop_assert!(receiver.verify(&header, &body, t + 301).is_err());
        prop_assert!(receiver.verify(&header, &body, t - 301).is_err());
        let other = Receiver::new(vec!["whsec_prop_c".to_owned()]).unwrap();
        prop_assert!(other.verify(&header, &body, t).is_err());
    }

    #[test]
    fn arbitrary_bodies_never_panic_the_parser(
        text in ".{0,200}",
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        kind in prop::sample::select(vec![
            "checkout.session.completed",
            "customer.subscription.updated",
            "invoice.paid",
            "invoice.payment_failed",
            "x",
        ]),
        object in ".{0,80}",
    ) {
        let _ = Event::parse(text.as_bytes());
        let _ = Event::parse(&bytes);
        // Well-formed envelopes around arbitrary objects (strings, numbers, nested junk).
        let object_json = serde_json::to_string(&object).unwrap();
        for data in [
            format!(r#"{{"object":{object_json}}}"#),
            format!(r#"{{"object":{{"id":{object_json},"items":{{"data":[{object_json}]}},"customer":[1],"metadata":{{"a":{object_json}}}}}}}"#),
        ] {
            let body = format!(r#"{{"id":"evt_p","type":"{kind}","data":{data}}}"#);
            let _ = Event::parse(body.as_bytes());
        }
    }
}
