//! The phone agent's bridge without HTTP: `services::phone_agent::Bridge` driven over channels
//! (Twilio's side) against the scripted fake ElevenLabs agent, on the backend of this pass.
//! An admitted stream relays audio untouched both ways and ends both sides; a stream whose
//! token is forged, or replayed after its one stream was claimed, is closed with nothing opened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use leadline_api::app::Application;
use leadline_api::config::Config;
use leadline_api::services::phone_agent::{Bridge, BridgeEnd};
use leadline_api::state::AppState;
use leadline_api::store::phone_agent::NewInboundCall;
use leadline_api::store::TenantSettingsChanges;
use leadline_domain::ids::TenantId;
use leadline_elevenlabs::fake::{AgentScript, FakeElevenLabs, Step};
use leadline_twilio::media_stream::{
    encode_payload, Inbound, MediaFormat, MediaPayload, Outbound, StartInfo,
};

const AGENT: &str = "agent_bridge_test";

async fn app(eleven: &FakeElevenLabs) -> AppState {
    let url = common::database_url("bridge").await;
    let env = [
        ("DATABASE_URL", url),
        ("LEADLINE_WORKERS", "0".to_owned()),
        ("LEADLINE_ADDR", "127.0.0.1:0".to_owned()),
        ("ELEVENLABS_API_KEY", eleven.api_key().to_owned()),
        ("ELEVENLABS_API_BASE", eleven.base_url()),
        (
            "ELEVENLABS_WEBHOOK_SECRET",
            eleven.webhook_secret().to_owned(),
        ),
        (
            "LEADLINE_PUBLIC_URL",
            "https://leads.example.test".to_owned(),
        ),
    ];
    let config =
        Config::from_lookup(|key| env.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()))
            .unwrap();
    Application::build(config).await.unwrap().state().clone()
}

/// A tenant whose agent runs on `AGENT`, a stored incoming call, and its stream token.
async fn call(state: &AppState, sid: &str) -> String {
    let tenant = leadline_api::store::testkit::seed_tenant(&state.store, "bridge")
        .await
        .unwrap();
    state
        .store
        .update_tenant_settings(
            TenantId(tenant),
            leadline_api::auth::Actor::default(),
            TenantSettingsChanges {
                agent_running: Some(true),
                elevenlabs_inbound_agent_id: Some(Some(AGENT.to_owned())),
                dealership_name: Some(Some("Sunset Motors".to_owned())),
                ..TenantSettingsChanges::default()
            },
        )
        .await
        .unwrap();
    let stored = state
        .store
        .start_inbound_call(
            TenantId(tenant),
            NewInboundCall {
                call_sid: sid.to_owned(),
                from: Some("+16505551234".to_owned()),
                caller_name: None,
                to: "+15005550006".to_owned(),
                handled_by: "AI",
            },
        )
        .await
        .unwrap();
    state
        .tokens
        .issue_media_stream(
            tenant,
            stored.call.id,
            sid,
            chrono::Utc::now(),
            chrono::Duration::seconds(60),
        )
        .unwrap()
}

fn start(sid: &str, token: &str) -> [String; 2] {
    let mut custom_parameters = BTreeMap::new();
    custom_parameters.insert("token".to_owned(), token.to_owned());
    [
        Inbound::Connected {
            protocol: "Call".into(),
            version: "1.0.0".into(),
        }
        .to_json(),
        Inbound::Start {
            sequence_number: "1".into(),
            stream_sid: "MZ1".into(),
            start: StartInfo {
                account_sid: "AC1".into(),
                stream_sid: "MZ1".into(),
                call_sid: sid.to_owned(),
                tracks: vec!["inbound".into()],
                custom_parameters,
                media_format: MediaFormat::default(),
            },
        }
        .to_json(),
    ]
}

fn media(n: usize, bytes: &[u8]) -> String {
    Inbound::Media {
        sequence_number: (n + 2).to_string(),
        stream_sid: "MZ1".into(),
        media: MediaPayload {
            track: "inbound".into(),
            chunk: (n + 1).to_string(),
            timestamp: (n * 20).to_string(),
            payload: encode_payload(bytes),
        },
    }
    .to_json()
}

#[tokio::test]
async fn the_bridge_relays_audio_untouched_and_refuses_forged_and_replayed_tokens() {
    let agent_audio: Vec<u8> = (0..480).map(|i| (i % 251) as u8).collect();
    let eleven = FakeElevenLabs::start_default(AgentScript::new(
        AGENT,
        vec![
            Step::WaitForAudio(320),
            Step::Audio(agent_audio[..240].to_vec()),
            Step::Audio(agent_audio[240..].to_vec()),
            Step::Close,
        ],
    ))
    .await
    .unwrap();
    let state = app(&eleven).await;
    let bridge = Bridge::new(state.clone());
    let token = call(&state, "CA1").await;

    // Admitted: caller audio in, agent audio out, both byte for byte; the agent's close ends it.
    let (mut twilio_tx, incoming) = futures::channel::mpsc::channel::<String>(64);
    let (outgoing, mut twilio_rx) = futures::channel::mpsc::channel::<String>(64);
    let running = tokio::spawn({
        let bridge = bridge.clone();
        async move { bridge.run(incoming, outgoing).await }
    });
    for frame in start("CA1", &token) {
        twilio_tx.send(frame).await.unwrap();
    }
    let caller: Vec<u8> = (0..320).map(|i| (i % 241) as u8).collect();
    for (n, chunk) in caller.chunks(160).enumerate() {
        twilio_tx.send(media(n, chunk)).await.unwrap();
    }
    let mut heard = Vec::new();
    while let Some(text) = tokio::time::timeout(Duration::from_secs(10), twilio_rx.next())
        .await
        .unwrap()
    {
        if let Outbound::Media { media, .. } = Outbound::parse(&text).unwrap() {
            heard.extend(leadline_twilio::media_stream::decode_payload(&media.payload).unwrap());
        }
    }
    assert_eq!(
        heard, agent_audio,
        "the sink closes after the agent's audio"
    );
    assert_eq!(running.await.unwrap(), BridgeEnd::AgentEnded);
    let conversation = &eleven.conversations()[0];
    assert_eq!(conversation.user_audio(), caller);
    assert_eq!(
        conversation.dynamic_variables()["dealership_name"],
        "Sunset Motors"
    );

    // The same token again: the call's one stream was claimed.
    let (mut again_tx, incoming) = futures::channel::mpsc::channel::<String>(8);
    let (outgoing, mut again_rx) = futures::channel::mpsc::channel::<String>(8);
    for frame in start("CA1", &token) {
        again_tx.send(frame).await.unwrap();
    }
    let end = bridge.run(incoming, outgoing).await;
    assert!(matches!(end, BridgeEnd::Refused(_)), "{end:?}");
    assert!(again_rx.next().await.is_none(), "closed with nothing sent");

    // A forged token.
    let (mut forged_tx, incoming) = futures::channel::mpsc::channel::<String>(8);
    let (outgoing, _forged_rx) = futures::channel::mpsc::channel::<String>(8);
    for frame in start("CA2", "forged.token.value") {
        forged_tx.send(frame).await.unwrap();
    }
    assert!(matches!(
        bridge.run(incoming, outgoing).await,
        BridgeEnd::Refused(_)
    ));
    assert_eq!(eleven.conversations().len(), 1, "nothing else was opened");
    assert!(eleven.violations().is_empty(), "{:?}", eleven.violations());
}
