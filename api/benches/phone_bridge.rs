//! The phone agent's bridge under load: 50 concurrent calls, each a Twilio Media Stream sending
//! one 20 ms μ-law frame every 20 ms through `services::phone_agent::Bridge` (no HTTP: the
//! bridge takes a stream and a sink of text frames) to an ElevenLabs-protocol echo agent that
//! answers every `user_audio_chunk` with an `audio` event carrying the same base64. The figure
//! is the round trip of a frame (Twilio side → bridge → agent → bridge → Twilio side) and the
//! bridge's share of it: the baseline, measured in the same run with the same number of
//! concurrent connections, is the same frames sent straight to the echo agent (a plain loopback
//! WebSocket echo, no bridge). Also printed: the process's resident memory per bridged call.
//!
//! `cargo bench -p leadline-api --bench phone_bridge` (SQLite file). `BENCH_CALLS` (default
//! 50) and `BENCH_FRAMES` (per call, default 250 = 5 s of audio).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as AxumMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use leadline_api::app::Application;
use leadline_api::config::Config;
use leadline_api::services::phone_agent::Bridge;
use leadline_api::store::phone_agent::NewInboundCall;
use leadline_api::store::TenantSettingsChanges;
use leadline_domain::ids::TenantId;
use leadline_twilio::media_stream::{
    encode_payload, Inbound, MediaFormat, MediaPayload, Outbound, StartInfo, FRAME_BYTES,
};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const AGENT: &str = "agent_bench_echo";

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The echo agent: hands out signed URLs and echoes audio, as ElevenLabs' protocol says.
async fn echo_agent() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let router = Router::new()
        .route(
            "/v1/convai/conversation/get-signed-url",
            get(|State(addr): State<SocketAddr>| async move {
                Json(json!({"signed_url": format!("ws://{addr}/v1/convai/conversation?agent_id={AGENT}&conversation_signature=bench")}))
            }),
        )
        .route(
            "/v1/convai/conversation",
            get(|upgrade: WebSocketUpgrade| async move {
                upgrade.on_upgrade(echo_conversation).into_response()
            }),
        )
        .with_state(addr);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}

async fn echo_conversation(mut socket: WebSocket) {
    let mut event_id = 0_u64;
    let mut started = false;
    while let Some(Ok(message)) = socket.recv().await {
        let AxumMessage::Text(text) = message else {
            continue;
        };
        let frame: serde_json::Value = match serde_json::from_str(text.as_str()) {
            Ok(frame) => frame,
            Err(_) => continue,
        };
        let answer = if !started {
            started = true;
            json!({"type": "conversation_initiation_metadata", "conversation_initiation_metadata_event": {
                "conversation_id": format!("conv_bench_{}", Uuid::now_v7().simple()),
                "agent_output_audio_format": "ulaw_8000", "user_input_audio_format": "ulaw_8000"}})
        } else if let Some(chunk) = frame.get("user_audio_chunk").and_then(|c| c.as_str()) {
            event_id += 1;
            json!({"type": "audio", "audio_event": {"audio_base_64": chunk, "event_id": event_id}})
        } else {
            continue;
        };
        if socket
            .send(AxumMessage::Text(answer.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
}

/// A frame whose first 8 bytes are its send time (µs since `epoch`), padded with μ-law silence.
fn frame(epoch: Instant) -> Vec<u8> {
    let mut bytes = vec![0xFF_u8; FRAME_BYTES];
    let micros = u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
    bytes[..8].copy_from_slice(&micros.to_be_bytes());
    bytes
}

fn sent_at(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

fn rtt(epoch: Instant, bytes: &[u8]) -> Option<Duration> {
    let sent = sent_at(bytes)?;
    let now = u64::try_from(epoch.elapsed().as_micros()).ok()?;
    Some(Duration::from_micros(now.saturating_sub(sent)))
}

/// Baseline: one connection straight to the echo agent, paced frames, round trips.
async fn direct_call(
    agent: SocketAddr,
    frames: usize,
    epoch: Instant,
) -> anyhow::Result<Vec<Duration>> {
    let url = format!("ws://{agent}/v1/convai/conversation?agent_id={AGENT}");
    let (socket, _) = tokio_tungstenite::connect_async(url).await?;
    let (mut sink, mut stream) = socket.split();
    sink.send(Message::text(
        json!({"type": "conversation_initiation_client_data", "dynamic_variables": {}}).to_string(),
    ))
    .await?;
    let _metadata = stream.next().await;
    let reader = tokio::spawn(async move {
        let mut rtts = Vec::with_capacity(frames);
        while rtts.len() < frames {
            let Some(Ok(Message::Text(text))) = stream.next().await else {
                break;
            };
            let value: serde_json::Value = serde_json::from_str(text.as_str()).unwrap_or_default();
            if let Some(b64) = value["audio_event"]["audio_base_64"].as_str() {
                if let Ok(bytes) = leadline_twilio::media_stream::decode_payload(b64) {
                    rtts.extend(rtt(epoch, &bytes));
                }
            }
        }
        rtts
    });
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..frames {
        ticker.tick().await;
        let chunk = encode_payload(&frame(epoch));
        sink.send(Message::text(format!(
            "{{\"user_audio_chunk\":\"{chunk}\"}}"
        )))
        .await?;
    }
    let rtts = tokio::time::timeout(Duration::from_secs(10), reader).await??;
    let _ = sink.close().await;
    Ok(rtts)
}

/// One bridged call: Twilio's side as channels, through `Bridge::run`.
async fn bridged_call(
    bridge: Bridge,
    token: String,
    call_sid: String,
    frames: usize,
    epoch: Instant,
) -> anyhow::Result<Vec<Duration>> {
    let (mut to_bridge, incoming) = futures::channel::mpsc::channel::<String>(512);
    let (outgoing, mut from_bridge) = futures::channel::mpsc::channel::<String>(512);
    let running = tokio::spawn(async move { bridge.run(incoming, outgoing).await });
    let stream_sid = format!("MZ{}", Uuid::now_v7().simple());
    to_bridge
        .send(
            Inbound::Connected {
                protocol: "Call".into(),
                version: "1.0.0".into(),
            }
            .to_json(),
        )
        .await?;
    let mut custom_parameters = std::collections::BTreeMap::new();
    custom_parameters.insert("token".to_owned(), token);
    to_bridge
        .send(
            Inbound::Start {
                sequence_number: "1".into(),
                stream_sid: stream_sid.clone(),
                start: StartInfo {
                    account_sid: "ACbench".into(),
                    stream_sid: stream_sid.clone(),
                    call_sid,
                    tracks: vec!["inbound".into()],
                    custom_parameters,
                    media_format: MediaFormat::default(),
                },
            }
            .to_json(),
        )
        .await?;
    let reader = tokio::spawn(async move {
        let mut rtts = Vec::with_capacity(frames);
        while rtts.len() < frames {
            let Some(text) = from_bridge.next().await else {
                break;
            };
            if let Ok(Outbound::Media { media, .. }) = Outbound::parse(&text) {
                if let Ok(bytes) = leadline_twilio::media_stream::decode_payload(&media.payload) {
                    rtts.extend(rtt(epoch, &bytes));
                }
            }
        }
        rtts
    });
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    for n in 0..frames {
        ticker.tick().await;
        let message = Inbound::Media {
            sequence_number: (n + 2).to_string(),
            stream_sid: stream_sid.clone(),
            media: MediaPayload {
                track: "inbound".into(),
                chunk: (n + 1).to_string(),
                timestamp: (n * 20).to_string(),
                payload: encode_payload(&frame(epoch)),
            },
        };
        to_bridge.send(message.to_json()).await?;
    }
    let rtts = tokio::time::timeout(Duration::from_secs(10), reader).await??;
    to_bridge
        .send(
            Inbound::Stop {
                sequence_number: String::new(),
                stream_sid,
                stop: Default::default(),
            }
            .to_json(),
        )
        .await?;
    let _ = tokio::time::timeout(Duration::from_secs(5), running).await;
    Ok(rtts)
}

fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn summary(label: &str, mut rtts: Vec<Duration>) -> Duration {
    rtts.sort();
    let p50 = percentile(&rtts, 0.50);
    let p99 = percentile(&rtts, 0.99);
    println!(
        "{label}: {} frames, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        rtts.len(),
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        rtts.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    p99
}

async fn run() -> anyhow::Result<()> {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let frames: usize = std::env::var("BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    let dir = std::env::temp_dir().join(format!("leadline-bench-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let agent = echo_agent().await?;
    let env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", url),
        ("LEADLINE_ADDR", "127.0.0.1:0".to_owned()),
        ("LEADLINE_WORKERS", "0".to_owned()),
        ("ELEVENLABS_API_KEY", "sk_bench".to_owned()),
        ("ELEVENLABS_API_BASE", format!("http://{agent}")),
        ("ELEVENLABS_WEBHOOK_SECRET", "wsec_bench".to_owned()),
        ("LEADLINE_PUBLIC_URL", "https://bench.example".to_owned()),
        ("LEADLINE_MEDIA_STREAM_TOKEN_TTL_SECONDS", "600".to_owned()),
        ("RUST_LOG", "error".to_owned()),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned())?;
    let app = Application::build(config).await?;
    let state = app.state().clone();
    let tenant = leadline_api::store::testkit::seed_tenant(&state.store, "bench-phone").await?;
    let tenant_id = TenantId(tenant);
    state
        .store
        .update_tenant_settings(
            tenant_id,
            leadline_api::auth::Actor::default(),
            TenantSettingsChanges {
                agent_running: Some(true),
                elevenlabs_inbound_agent_id: Some(Some(AGENT.to_owned())),
                ..TenantSettingsChanges::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let epoch = Instant::now();

    // Baseline: the same load straight to the echo agent.
    let direct = futures::future::join_all(
        (0..calls).map(|_| tokio::spawn(direct_call(agent, frames, epoch))),
    )
    .await;
    let mut baseline = Vec::new();
    for result in direct {
        baseline.extend(result??);
    }

    // The bridge.
    let rss_before = resident_kib();
    let bridge = Bridge::new(state.clone());
    let mut tasks = Vec::with_capacity(calls);
    for i in 0..calls {
        let call_sid = format!("CA{:032x}", i + 1);
        let stored = state
            .store
            .start_inbound_call(
                tenant_id,
                NewInboundCall {
                    call_sid: call_sid.clone(),
                    from: Some(format!("+1650555{:04}", i)),
                    caller_name: None,
                    to: "+15005550006".to_owned(),
                    handled_by: "AI",
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let token = state
            .tokens
            .issue_media_stream(
                tenant,
                stored.call.id,
                &call_sid,
                chrono::Utc::now(),
                chrono::Duration::minutes(10),
            )
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        tasks.push(tokio::spawn(bridged_call(
            bridge.clone(),
            token,
            call_sid,
            frames,
            epoch,
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_during = resident_kib();
    let mut bridged = Vec::new();
    for result in futures::future::join_all(tasks).await {
        bridged.extend(result??);
    }

    println!("phone_bridge: {calls} concurrent calls × {frames} frames of 20 ms");
    let base_p99 = summary("baseline (direct echo)", baseline);
    let bridge_p99 = summary("bridged", bridged);
    println!(
        "bridge adds p99 {:.2} ms per frame round trip (two relays)",
        (bridge_p99.as_secs_f64() - base_p99.as_secs_f64()) * 1000.0
    );
    if let (Some(before), Some(during)) = (rss_before, rss_during) {
        println!(
            "memory: {:.0} KiB resident per bridged call",
            during.saturating_sub(before) as f64 / calls as f64
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
