//! Live chat throughput of one session, end to end on the offline AI provider: messages per
//! second through `services::live::pipeline::handle_message` (dedup → analysis → viewer lead and
//! score → stored interaction → decision under the limits → reply on the YouTube fake → events),
//! and the ingest-to-subscriber latency of each message's `ChatMessageAnalyzed` event on the bus.
//! The baseline, measured in the same run on the same texts, is the bare analysis
//! (`AiService::analyze_chat`, the AI issue's offline analyzer with the catalogue lookup).
//!
//! `cargo bench -p leadline-api --bench live_pipeline` (SQLite file), or with
//! `BENCH_DATABASE_URL=postgres://…/db` for PostgreSQL. `BENCH_MESSAGES` (default 2000).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use leadline_api::app::Application;
use leadline_api::bus::{Event, LiveEvent};
use leadline_api::config::Config;
use leadline_api::services::ai::AiRequest;
use leadline_api::services::live::pipeline::{handle_message, ChatMessage, SessionContext};
use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use leadline_youtube::fake::{FakeYoutube, BOT_CHANNEL_ID};
use serde_json::json;
use uuid::Uuid;

const LINES: &[&str] = &[
    "How much is the Ocean Hoodie?",
    "I want to buy the Ocean Hoodie, how do I pay?",
    "love this stream!!",
    "hello from Madrid",
    "Is the Ocean Hoodie true to size? I need a size L",
    "what song is this?",
    "¿Cuánto cuesta la Ocean Hoodie?",
    "this is so cool",
];

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

async fn run() -> anyhow::Result<()> {
    let messages: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| {
        let dir = std::env::temp_dir().join(format!("leadline-bench-{}", Uuid::now_v7().simple()));
        let _ = std::fs::create_dir_all(&dir);
        format!("sqlite://{}?mode=rwc", dir.join("bench.db").display())
    });
    let youtube = FakeYoutube::start().await?;
    youtube.add_live_video("bEnChV1de0s", "bench-chat");
    youtube.set_polling_interval("bench-chat", 60_000);
    let env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", url.clone()),
        ("LEADLINE_ADDR", "127.0.0.1:0".to_owned()),
        ("LEADLINE_WORKERS", "0".to_owned()),
        ("YOUTUBE_API_BASE", youtube.base_url().to_owned()),
        ("YOUTUBE_ACCESS_TOKEN", youtube.oauth_token().to_owned()),
        ("RUST_LOG", "error".to_owned()),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned())?;
    let app = Application::build(config).await?;
    let base = format!("http://{}", app.local_addr()?);
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let client = leadline_api::graphql_client::GraphqlClient::new(&base);
    let token = client
        .call(
            None,
            "mutation($input: SignUpInput!) { signUp(input: $input) { token tenant { id } } }",
            json!({"input": {"tenantName": "Bench", "tenantSlug": "bench-live",
               "email": "bench@leadline.local", "password": "Bench-password-123"}}),
        )
        .await?;
    let tenant_id: Uuid = token["signUp"]["tenant"]["id"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    let token = token["signUp"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let product = client.call(Some(&token),
        "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } } }",
        json!({"input": {"name": "Ocean Hoodie", "description": "Hoodie.",
               "price": {"amountMicros": 49_000_000, "currencyCode": "USD"},
               "purchaseLink": "https://shop.example/hoodie", "keywords": ["hoodie"]}}),
    )
    .await?;
    let product_id = product["createProduct"]["product"]["id"].clone();
    let session = client.call(Some(&token),
        "mutation($input: StartLiveSessionInput!) { startLiveSession(input: $input) { session { id } } }",
        json!({"input": {"platform": "YOUTUBE", "products": [product_id],
               "youtube": {"videoId": "bEnChV1de0s", "botChannelId": BOT_CHANNEL_ID}}}),
    )
    .await?;
    let session_id: Uuid = session["startLiveSession"]["session"]["id"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    // Let the reader resolve the chat (the replies need its id).
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Baseline: the bare analysis of the same texts.
    let started = Instant::now();
    for i in 0..messages {
        state
            .ai
            .analyze_chat(
                TenantId(tenant_id),
                AiRequest {
                    text: LINES[i % LINES.len()].to_owned(),
                    channel: Channel::Youtube,
                    product_ids: None,
                    history: Vec::new(),
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    let analysis_rate = messages as f64 / started.elapsed().as_secs_f64();

    // The pipeline, with a subscriber timing each message's event.
    let mut events = Box::pin(state.bus.subscribe(TenantId(tenant_id)));
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::spawn(async move {
        while let Some(Ok(event)) = events.next().await {
            if let Event::Live {
                event: LiveEvent::ChatMessageAnalyzed { interaction },
                ..
            } = event.as_ref()
            {
                let _ = seen_tx.send((interaction.platform_message_id.clone(), Instant::now()));
            }
        }
    });
    let mut ctx = SessionContext::default();
    let mut sent_at = HashMap::with_capacity(messages);
    let started = Instant::now();
    for i in 0..messages {
        let id = format!("bench-{i}");
        sent_at.insert(id.clone(), Instant::now());
        let message = ChatMessage {
            id,
            author_id: format!("UCviewer{}", i % 500),
            author_name: format!("viewer{}", i % 500),
            text: LINES[i % LINES.len()].to_owned(),
            is_follower: None,
        };
        handle_message(
            &state,
            TenantId(tenant_id),
            session_id,
            &mut ctx,
            message,
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    let pipeline_elapsed = started.elapsed();
    let pipeline_rate = messages as f64 / pipeline_elapsed.as_secs_f64();
    let mut latencies = Vec::with_capacity(messages);
    let deadline = Instant::now() + Duration::from_secs(10);
    while latencies.len() < messages && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), seen_rx.recv()).await {
            Ok(Some((id, at))) => {
                if let Some(sent) = sent_at.get(&id) {
                    latencies.push(at.duration_since(*sent));
                }
            }
            _ => break,
        }
    }
    listener.abort();
    latencies.sort_unstable();
    let replies = youtube.inserted("bench-chat").len();
    println!(
        "live pipeline, {messages} chat messages, one session, offline provider ({url_kind})",
        url_kind = if url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    println!("  bare analysis (baseline): {analysis_rate:>9.0} msg/s");
    println!(
        "  pipeline end to end:      {pipeline_rate:>9.0} msg/s   ratio {:.3} of the baseline",
        pipeline_rate / analysis_rate
    );
    println!(
        "  ingest → subscriber:      p50 {:?}  p99 {:?}  max {:?}  ({} of {messages} events seen)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        latencies.len()
    );
    println!("  replies posted to the fake: {replies} (session limit 100)");
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}
