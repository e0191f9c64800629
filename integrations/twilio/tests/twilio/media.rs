//! Media Streams: message shapes, payload helpers, and a round trip between the fake (Twilio's
//! side) and a tiny echo server (the bridge's side), bytes compared.

use std::collections::BTreeMap;
use std::time::Duration;

use leadline_twilio::fake::{parse_stream_twiml, FakeTwilio};
use leadline_twilio::media_stream::{
    decode_payload, encode_payload, Inbound, Outbound, FRAME_BYTES,
};
use leadline_twilio::twiml::{Response, Stream};

use crate::support::echo_server;

#[test]
fn inbound_messages_parse_as_documented() {
    let connected =
        Inbound::parse(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#).unwrap();
    assert!(matches!(connected, Inbound::Connected { .. }));
    let start = Inbound::parse(r#"{"event":"start","sequenceNumber":"1","streamSid":"MZ18","start":{"accountSid":"AC1","streamSid":"MZ18","callSid":"CA1","tracks":["inbound"],"customParameters":{"tenant":"abc"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}"#).unwrap();
    let Inbound::Start {
        stream_sid, start, ..
    } = start
    else {
        panic!("start expected");
    };
    assert_eq!(stream_sid, "MZ18");
    assert_eq!(start.call_sid, "CA1");
    assert_eq!(start.custom_parameters["tenant"], "abc");
    assert!(start.media_format.is_mulaw_8k_mono());
    let media = Inbound::parse(r#"{"event":"media","sequenceNumber":"3","streamSid":"MZ18","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"/w=="}}"#).unwrap();
    let Inbound::Media { media, .. } = media else {
        panic!("media expected");
    };
    assert_eq!(media.decode().unwrap(), vec![0xff]);
    assert!(matches!(
        Inbound::parse(r#"{"event":"dtmf","sequenceNumber":"5","streamSid":"MZ18","dtmf":{"track":"inbound_track","digit":"1"}}"#).unwrap(),
        Inbound::Dtmf { .. }
    ));
    assert!(matches!(
        Inbound::parse(
            r#"{"event":"mark","sequenceNumber":"4","streamSid":"MZ18","mark":{"name":"utt-1"}}"#
        )
        .unwrap(),
        Inbound::Mark { .. }
    ));
    assert!(matches!(
        Inbound::parse(r#"{"event":"stop","sequenceNumber":"6","streamSid":"MZ18","stop":{"accountSid":"AC1","callSid":"CA1"}}"#).unwrap(),
        Inbound::Stop { .. }
    ));
    assert_eq!(
        Inbound::parse(r#"{"event":"future","x":1}"#).unwrap(),
        Inbound::Unknown
    );
    assert!(Inbound::parse("not json").is_err());
}

#[test]
fn outbound_messages_serialise_as_documented() {
    assert_eq!(
        Outbound::media("MZ1", &[0xff, 0x7f]).to_json(),
        r#"{"event":"media","streamSid":"MZ1","media":{"payload":"/38="}}"#
    );
    assert_eq!(
        Outbound::mark("MZ1", "utt-1").to_json(),
        r#"{"event":"mark","streamSid":"MZ1","mark":{"name":"utt-1"}}"#
    );
    assert_eq!(
        Outbound::clear("MZ1").to_json(),
        r#"{"event":"clear","streamSid":"MZ1"}"#
    );
    // Re-wrapping keeps the payload string untouched.
    let payload = encode_payload(&[1, 2, 3]);
    let Outbound::Media { media, .. } = Outbound::media_base64("MZ1", payload.clone()) else {
        panic!("media expected");
    };
    assert_eq!(media.payload, payload);
    assert_eq!(decode_payload(&payload).unwrap(), vec![1, 2, 3]);
    assert!(decode_payload("***").is_err());
}

/// A second of a 440 Hz tone in G.711 μ-law, computed here (no audio files in the repo).
fn tone(samples: usize) -> Vec<u8> {
    (0..samples)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let sample = (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16;
            linear_to_mulaw(sample)
        })
        .collect()
}

fn linear_to_mulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    s = s.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) | mantissa) as u8
}

#[tokio::test]
async fn media_stream_round_trip_keeps_bytes_identical() {
    let fake = FakeTwilio::start().await.unwrap();
    let (ws_url, log) = echo_server().await;
    // The TwiML the api answers with, read back as Twilio reads it.
    let twiml = Response::new()
        .connect_stream(Stream::new(&ws_url).parameter("token", "t&k=1"))
        .to_xml();
    let stream = parse_stream_twiml(&twiml).unwrap();
    assert_eq!(stream.url, ws_url);

    let audio = tone(8000 + 70); // 50 full frames and a short one
    let mut client = fake
        .connect_media_stream(&stream.url, "CA0123", stream.parameters.clone())
        .await
        .unwrap();
    client.send_audio(&audio).await.unwrap();
    client.send_dtmf("5").await.unwrap();
    let echoed = client
        .wait_for_audio(audio.len(), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        echoed, audio,
        "the echoed audio is byte for byte the sent audio"
    );
    client
        .wait_until(Duration::from_secs(5), |m| {
            m.iter().any(|m| matches!(m, Outbound::Clear { .. }))
        })
        .await
        .unwrap();
    client.stop().await.unwrap();

    let frames = audio.len().div_ceil(FRAME_BYTES);
    assert_eq!(client.marks().len(), frames);
    assert_eq!(client.marks()[0], "chunk-1");
    assert_eq!(client.clears(), 1);
    assert!(client
        .received_raw()
        .iter()
        .all(|raw| raw.contains(client.stream_sid())));

    let seen = log.await.unwrap().inbound;
    assert!(matches!(seen[0], Inbound::Connected { .. }));
    let Inbound::Start {
        start, stream_sid, ..
    } = &seen[1]
    else {
        panic!("start second, got {:?}", seen[1]);
    };
    assert_eq!(stream_sid, client.stream_sid());
    assert_eq!(start.call_sid, "CA0123");
    assert_eq!(start.account_sid, fake.account_sid());
    assert_eq!(
        start.custom_parameters,
        BTreeMap::from([("token".to_owned(), "t&k=1".to_owned())])
    );
    assert!(start.media_format.is_mulaw_8k_mono());
    let media: Vec<_> = seen
        .iter()
        .filter_map(|m| match m {
            Inbound::Media { media, .. } => Some(media.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(media.len(), frames);
    assert!(media[..frames - 1]
        .iter()
        .all(|m| m.decode().unwrap().len() == FRAME_BYTES));
    assert_eq!(media[1].chunk, "2");
    assert_eq!(media[1].timestamp, "20");
    assert_eq!(media[0].track, "inbound");
    // Marks the bridge sent were echoed back by the fake, as Twilio does once played.
    assert!(seen
        .iter()
        .any(|m| matches!(m, Inbound::Mark { mark, .. } if mark.name == "chunk-1")));
    assert!(matches!(seen.last().unwrap(), Inbound::Stop { .. }));
}
