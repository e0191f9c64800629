//! `leadline demo`: the live-stream sales agent with no accounts. Starts the API on a fresh
//! embedded database, seeds a demo tenant with three products, starts loopback fakes of YouTube
//! Live chat and Twitch chat (the same fakes the tests use), runs one real session on each, and
//! replays a scripted stream of a few hundred viewer messages into them. Prints one summary line
//! a second, the GraphiQL URL with a ready `liveSessionEvents` subscription, and at the end (after
//! `--seconds N`, or Ctrl-C) a table of what happened.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use leadline_domain::ids::TenantId;
use leadline_twitch::fake::helix::FakeHelix;
use leadline_twitch::fake::irc::{FakeIrc, ScriptedMessage};
use leadline_youtube::fake::FakeYoutube;
use serde_json::json;
use uuid::Uuid;

use crate::app::{shutdown_signal, Application};
use crate::config::Config;

/// Which demo to run.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scenario {
    /// The live-stream sales agent on YouTube and Twitch fakes.
    #[default]
    Live,
    /// Payment-reminder calls through a LiveKit fake (`super::demo_calls`).
    Calls,
}

/// Options of `leadline demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// `live` (default) or `calls`.
    #[arg(value_enum, default_value_t = Scenario::Live)]
    pub scenario: Scenario,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Scripted chat messages to replay (split between YouTube and Twitch).
    #[arg(long, default_value_t = 300)]
    pub messages: usize,
}

const VIDEO: &str = "dEm0L1veV1d";
const YOUTUBE_CHAT: &str = "demo-live-chat";
const TWITCH_CHANNEL: &str = "leadline_demo";

/// The scripted viewers' lines: questions and buying signals about the products, and the usual
/// chatter around them, so the summary shows replies and skips with their reasons.
const LINES: &[&str] = &[
    "How much is the Ocean Hoodie?",
    "I want to buy the Ocean Hoodie, how do I pay?",
    "Does the Trail Backpack come in black?",
    "Price of the Trail Backpack please",
    "I'll take 2 Ember Mugs, where is the link?",
    "How much for the Ember Mug?",
    "love this stream!!",
    "hello from Madrid",
    "what song is this?",
    "Is the Ocean Hoodie true to size? I need a size L",
    "Ready to buy the Trail Backpack now, send me the link",
    "this is so cool",
    "first time here, hi everyone",
    "shipping to Canada?",
    "the mug looks great",
    "¿Cuánto cuesta la Ocean Hoodie?",
];

/// A small deterministic generator (64-bit LCG): the same script every run, no extra crate.
struct Script(u64);

impl Script {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % below.max(1) as u64) as usize
    }
}

/// Runs the demo.
pub async fn run(config: Config, args: &DemoArgs) -> anyhow::Result<()> {
    match args.scenario {
        Scenario::Live => run_live(config, args).await,
        Scenario::Calls => super::demo_calls::run(config).await,
    }
}

/// The live-stream demo.
async fn run_live(mut config: Config, args: &DemoArgs) -> anyhow::Result<()> {
    let youtube = FakeYoutube::start()
        .await
        .context("starting the YouTube fake")?;
    youtube.add_live_video(VIDEO, YOUTUBE_CHAT);
    youtube.set_polling_interval(YOUTUBE_CHAT, 1_000);
    let helix = FakeHelix::start()
        .await
        .context("starting the Helix fake")?;
    helix.add_user("7000001", TWITCH_CHANNEL);
    let irc = FakeIrc::start_with_token(helix.token())
        .await
        .context("starting the Twitch chat fake")?;

    // A fresh embedded database each run: the demo never touches your own data.
    let dir = std::env::temp_dir().join(format!("leadline-demo-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    config.database_url = format!("sqlite://{}?mode=rwc", dir.join("demo.db").display());
    config.redis_url = None;
    if std::net::TcpListener::bind(config.addr).is_err() {
        config.addr.set_port(0);
    }
    config.youtube_api_base = youtube.base_url().to_owned();
    config.youtube_access_token = Some(youtube.oauth_token().to_owned());
    config.twitch_api_base = helix.base_url().to_owned();
    config.twitch_irc_url = irc.url().to_owned();
    config.twitch_bot_login = Some("leadbot".into());
    config.twitch_access_token = Some(helix.token().to_owned());
    config.twitch_client_id = Some(helix.client_id().to_owned());
    config.signup_rate_per_minute = 0;

    let app = Application::build(config).await?;
    let addr = app.local_addr()?;
    let state = app.state().clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    let base = format!("http://{addr}");
    let client = crate::graphql_client::GraphqlClient::new(&base);

    let password = format!("Demo-{}", Uuid::now_v7().simple());
    let signed = client
        .call(
            None,
            "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
            json!({"input": {"tenantName": "Demo Shop", "tenantSlug": "demo-shop",
                "email": "demo@leadline.local", "password": password}}),
        )
        .await
        .context("seeding the demo tenant")?;
    let token = signed["signUp"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut products = Vec::new();
    for (name, micros, keyword) in [
        ("Ocean Hoodie", 49_000_000, "hoodie"),
        ("Trail Backpack", 89_000_000, "backpack"),
        ("Ember Mug", 19_000_000, "mug"),
    ] {
        let created = client.call(Some(&token),
            "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } } }",
            json!({"input": {"name": name, "description": format!("The {name}."),
                   "price": {"amountMicros": micros, "currencyCode": "USD"},
                   "purchaseLink": format!("https://shop.example/{keyword}"),
                   "keywords": [keyword]}}),
        )
        .await?;
        products.push(created["createProduct"]["product"]["id"].clone());
    }
    const START: &str =
        "mutation($input: StartLiveSessionInput!) { startLiveSession(input: $input) { session { id } } }";
    let youtube_session = client.call(Some(&token),
        START,
        json!({"input": {"platform": "YOUTUBE", "title": "Demo on YouTube", "products": products,
               "youtube": {"videoId": VIDEO, "botChannelId": leadline_youtube::fake::BOT_CHANNEL_ID}}}),
    )
    .await?["startLiveSession"]["session"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let twitch_session = client
        .call(
            Some(&token),
            START,
            json!({"input": {"platform": "TWITCH", "title": "Demo on Twitch", "products": products,
               "twitch": {"channel": TWITCH_CHANNEL}}}),
        )
        .await?["startLiveSession"]["session"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    println!("Leadline demo: two live sessions (YouTube + Twitch) on loopback fakes.");
    println!("GraphiQL: {base}/graphql");
    println!("Header:   {{\"Authorization\": \"Bearer {token}\"}}");
    println!(
        "Paste:    subscription {{ liveSessionEvents(sessionId: \"{youtube_session}\") {{ __typename ... on ChatMessageAnalyzed {{ interaction {{ authorName text intent }} }} ... on ReplySent {{ interaction {{ response responseVia }} }} ... on ReplySkipped {{ reason }} ... on LeadScoreChange {{ score temperature reason }} }} }}"
    );
    println!("Sign in:  demo@leadline.local / {password}");

    // The script: a few hundred messages from 40 viewers, half on each platform.
    let viewers: Vec<String> = (0..40).map(|i| format!("viewer{i:02}")).collect();
    for viewer in &viewers {
        let message = ScriptedMessage::new(viewer, "x");
        helix.add_user(&message.user_id, viewer);
    }
    let mut script = Script(0x5eed_1ead);
    let total = args.messages;
    let feeder = {
        let viewers = viewers.clone();
        tokio::spawn(async move {
            // Give the Twitch reader a moment to join; then about 20 messages a second.
            tokio::time::sleep(Duration::from_millis(800)).await;
            for i in 0..total {
                let viewer = &viewers[script.next(viewers.len())];
                let line = LINES[script.next(LINES.len())];
                if i % 2 == 0 {
                    youtube.push_text(YOUTUBE_CHAT, viewer, line);
                } else {
                    let message = ScriptedMessage::new(viewer, line).with_id(&format!("demo-{i}"));
                    irc.privmsg(TWITCH_CHANNEL, &message);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // Keep the fakes alive until the demo ends.
            std::future::pending::<()>().await;
            drop((youtube, irc, helix));
        })
    };

    let sessions = [youtube_session.clone(), twitch_session.clone()];
    let tenant_id = state
        .store
        .tenant_by_slug("demo-shop")
        .await
        .map_err(api_error)?
        .map(|t| t.id);
    let Some(tenant_id) = tenant_id else {
        bail!("the demo tenant was not created");
    };
    let deadline = args
        .seconds
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let interrupted = shutdown_signal();
    tokio::pin!(interrupted);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut second = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = &mut interrupted => break,
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
        let summary = summarize(&state, TenantId(tenant_id), &sessions)
            .await
            .map_err(api_error)?;
        println!(
            "[{second:>3}s] messages {:>4} | intents {:>4} | replies {:>3} | skipped {:>4} | hot leads {:>3}",
            summary.messages, summary.intents, summary.replies, summary.skipped, summary.hot_leads
        );
        second += 1;
    }
    for id in &sessions {
        let _ = client
            .call(
                Some(&token),
                "mutation($id: ID!) { stopLiveSession(input: {id: $id}) { session { id } } }",
                json!({"id": id}),
            )
            .await;
    }
    let summary = summarize(&state, TenantId(tenant_id), &sessions)
        .await
        .map_err(api_error)?;
    feeder.abort();
    let _ = stop_tx.send(());
    let _ = server.await;
    println!();
    println!("{:<12} {:>7}", "summary", "count");
    for (name, value) in [
        ("messages", summary.messages),
        ("intents", summary.intents),
        ("replies", summary.replies),
        ("whispers", summary.whispers),
        ("skipped", summary.skipped),
        ("leads", summary.leads),
        ("hot leads", summary.hot_leads),
    ] {
        println!("{name:<12} {value:>7}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[derive(Debug, Default)]
struct Summary {
    messages: i64,
    intents: i64,
    replies: i64,
    whispers: i64,
    skipped: i64,
    leads: i64,
    hot_leads: i64,
}

async fn summarize(
    state: &crate::state::AppState,
    tenant_id: TenantId,
    sessions: &[String],
) -> crate::error::ApiResult<Summary> {
    let mut summary = Summary::default();
    let mut leads = std::collections::HashMap::new();
    for id in sessions {
        let Ok(id) = Uuid::parse_str(id) else {
            continue;
        };
        let session = state.store.live_session(tenant_id, id).await?;
        summary.messages += i64::from(session.messages_processed);
        summary.replies += i64::from(session.responses_sent);
        summary.whispers += i64::from(session.whispers_sent);
        let stats = state.store.live_session_stats(tenant_id, id).await?;
        summary.intents += stats
            .intents
            .iter()
            .filter(|(intent, _)| intent == "PRODUCT_INQUIRY" || intent == "PURCHASE_INTENT")
            .map(|(_, n)| n)
            .sum::<i64>();
        summary.skipped += state
            .store
            .live_outcome_count(
                tenant_id,
                id,
                leadline_domain::live::InteractionOutcome::Skipped,
            )
            .await?;
        for lead in state.store.live_session_leads(tenant_id, id).await? {
            leads.insert(lead.id, lead.temperature);
        }
    }
    summary.leads = leads.len() as i64;
    summary.hot_leads = leads
        .values()
        .filter(|t| t.as_str() == "HOT" || t.as_str() == "VERY_HOT")
        .count() as i64;
    Ok(summary)
}

fn api_error(error: crate::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", error.code(), error.public_message())
}
