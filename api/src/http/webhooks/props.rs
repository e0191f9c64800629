//! Property tests (10,000 cases each) of the handshake's query decoding, which the shim does
//! itself: any query string decodes without a panic (broken escapes stay literal), and whatever
//! a platform percent-encodes comes back exactly.

use proptest::prelude::*;

use super::{decode_query, percent_decode};

/// `application/x-www-form-urlencoded` as a platform would send it.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn any_query_decodes_without_panicking(query in ".{0,120}", raw in "[%0-9a-fA-F+&=]{0,40}") {
        // Empty parts are skipped, so every pair comes from a non-empty part.
        let parts = query.split('&').filter(|p| !p.is_empty()).count();
        prop_assert_eq!(decode_query(&query).len(), parts);
        let _ = (decode_query(&raw), percent_decode(&raw), percent_decode(&query));
    }

    #[test]
    fn encoded_values_round_trip(key in ".{1,20}", value in ".{0,60}") {
        let query = format!("{}={}&hub.mode=subscribe", encode(&key), encode(&value));
        let pairs = decode_query(&query);
        prop_assert_eq!(&pairs[0], &(key, value));
        prop_assert_eq!(&pairs[1], &("hub.mode".to_owned(), "subscribe".to_owned()));
    }
}
