//! Properties, 10,000 cases each: arbitrary params, URLs and headers never verify and never
//! panic; a correct signature always verifies and any change to it does not.

use leadline_twilio::media_stream::{Inbound, Outbound};
use leadline_twilio::webhook::signature;
use leadline_twilio::Receiver;
use proptest::prelude::*;

use crate::support::{form_body, signed};

const URL: &str = "https://leadline.example/api/voice/twilio/incoming";

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 10_000,
        ..ProptestConfig::default()
    }
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((".{0,12}", ".{0,24}"), 0..8)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_signatures_never_verify(
        params in params(),
        header in ".{0,40}",
        raw in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let receiver = Receiver::new("tok").unwrap();
        let body = form_body(&params);
        if let Ok(value) = http::HeaderValue::from_str(&header) {
            let mut headers = http::HeaderMap::new();
            headers.insert("x-twilio-signature", value);
            prop_assert!(receiver.receive(URL, &headers, &body).is_err());
            prop_assert!(receiver.receive(URL, &headers, &raw).is_err());
            prop_assert!(receiver.receive_json(URL, &headers, &raw).is_err());
        }
        prop_assert!(receiver.verify_params(URL, &params, &header).is_err());
    }

    #[test]
    fn signed_forms_verify_and_any_change_refuses(
        params in params(),
        extra in "[A-Za-z]{1,8}",
        url_suffix in "[a-z0-9/]{0,10}",
    ) {
        let receiver = Receiver::new("tok").unwrap();
        let url = format!("{URL}{url_suffix}");
        let sig = signature("tok", &url, &params);
        prop_assert!(receiver.receive(&url, &signed(&sig), &form_body(&params)).is_ok());
        let mut more = params.clone();
        more.push((extra.clone(), "1".to_owned()));
        prop_assert!(receiver.receive(&url, &signed(&sig), &form_body(&more)).is_err());
        let longer = format!("{url}{extra}");
        prop_assert!(receiver.receive(&longer, &signed(&sig), &form_body(&params)).is_err());
        prop_assert!(Receiver::new("other").unwrap().receive(&url, &signed(&sig), &form_body(&params)).is_err());
    }

    #[test]
    fn arbitrary_urls_and_stream_frames_never_panic(url in ".{0,60}", frame in ".{0,80}") {
        let receiver = Receiver::new("tok").unwrap();
        let _ = receiver.verify_params(&url, &[], "AAAA");
        let _ = leadline_twilio::webhook::url_variants(&url);
        let _ = Inbound::parse(&frame);
        let _ = Outbound::parse(&frame);
        let _ = leadline_twilio::fake::parse_stream_twiml(&frame);
    }
}
