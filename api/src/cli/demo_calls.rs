//! `leadline demo calls`: payment-reminder calls with no accounts. Starts the API on a fresh
//! embedded database with a loopback fake of LiveKit (the one the tests use), creates three
//! invoices, and walks each call through what a real one does: the compliance gate, the dial
//! (room, agent dispatch, SIP participant), the callee's side (answer, or busy), the voice
//! agent's reports made with the call-scoped token from its dispatch metadata, and the room
//! closing. Prints each step, then a table of calls with their effects (invoice status, ticket,
//! lead score) and `callStats`.

use std::time::Duration;

use anyhow::{bail, Context};
use leadline_livekit::fake::{FakeLiveKit, DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_TRUNK_ID};
use leadline_livekit::models::DisconnectReason;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::Application;
use crate::config::Config;
use crate::graphql_client::GraphqlClient;

const AGENT: &str = "demo-reminder-agent";

/// What the scripted callee does.
#[derive(Clone, Copy)]
enum Callee {
    /// Answers and promises to pay today.
    Promises,
    /// Answers and disputes the invoice.
    Disputes,
    /// Rejects the call (busy): a second attempt is scheduled.
    Busy,
}

/// An IANA zone whose local time is now about noon (a fixed offset), so the gate's calling
/// hours let the demo dial whatever time it is where you run it.
fn zone_at_noon() -> String {
    use chrono::Timelike;
    let now = i64::from(chrono::Utc::now().hour());
    let offset = match 12 - now {
        o if o < -12 => o + 24,
        o if o > 14 => o - 24,
        o => o,
    };
    // `Etc/GMT-3` is UTC+3: the sign is inverted by the standard.
    match offset {
        0 => "Etc/GMT".to_owned(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

/// Runs the demo.
pub async fn run(mut config: Config) -> anyhow::Result<()> {
    let livekit = FakeLiveKit::start()
        .await
        .context("starting the LiveKit fake")?;
    let dir = std::env::temp_dir().join(format!("leadline-demo-calls-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    config.database_url = format!("sqlite://{}?mode=rwc", dir.join("demo.db").display());
    config.redis_url = None;
    if std::net::TcpListener::bind(config.addr).is_err() {
        config.addr.set_port(0);
    }
    config.workers = config.workers.max(1);
    config.signup_rate_per_minute = 0;
    config.livekit = leadline_livekit::Settings {
        api_url: Some(livekit.base_url().to_owned()),
        api_key: Some(DEFAULT_API_KEY.to_owned()),
        api_secret: Some(DEFAULT_API_SECRET.to_owned()),
        sip_trunk_id: Some(DEFAULT_TRUNK_ID.to_owned()),
        agent_name: Some(AGENT.to_owned()),
        ..Default::default()
    };
    let app = Application::build(config).await?;
    let base = format!("http://{}", app.local_addr()?);
    livekit.set_webhook_url(format!("{base}/api/webhook/livekit"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    let client = GraphqlClient::new(&base);
    let result = walk_through(&client, &livekit).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn walk_through(client: &GraphqlClient, livekit: &FakeLiveKit) -> anyhow::Result<()> {
    let password = format!("Demo-{}", Uuid::now_v7().simple());
    let signed = client
        .call(
            None,
            "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
            json!({"input": {"tenantName": "Acme Water", "tenantSlug": "acme-water",
                "email": "demo@leadline.local", "password": password}}),
        )
        .await
        .context("seeding the demo tenant")?;
    let owner = text(&signed["signUp"]["token"])?;
    println!("Leadline demo: payment-reminder calls through a loopback LiveKit fake.");

    let customers = [
        ("INV-1001", "Ana Díaz", "+16505551001", Callee::Promises),
        ("INV-1002", "Ben Ortiz", "+16505551002", Callee::Disputes),
        ("INV-1003", "Cleo Park", "+16505551003", Callee::Busy),
    ];
    let zone = zone_at_noon();
    let mut calls = Vec::new();
    for (number, name, phone, callee) in customers {
        let invoice = client.call(Some(&owner),
            "mutation($input: CreateInvoiceInput!) { createInvoice(input: $input) { invoice { id } } }",
            json!({"input": {"invoiceNumber": number, "customerName": name, "phone": phone,
                "amountDue": {"amountMicros": 120_000_000, "currencyCode": "USD"},
                "dueDate": "2026-12-01", "paymentMethods": ["bank transfer", "card"],
                "companyName": "Acme Water", "supportPhone": "+16505550000", "timeZone": zone}}),
        ).await?;
        let invoice_id = text(&invoice["createInvoice"]["invoice"]["id"])?;
        let started = client.call(Some(&owner),
            "mutation($input: StartPaymentReminderCallInput!) { startPaymentReminderCall(input: $input) { call { id status } } }",
            json!({"input": {"invoiceId": invoice_id}}),
        ).await?;
        let call_id = text(&started["startPaymentReminderCall"]["call"]["id"])?;
        println!("{number} {name}: call {call_id} QUEUED");
        let dialing = until_status(client, &owner, &call_id, &["DIALING"]).await?;
        println!(
            "{number} {name}: DIALING {phone} (LiveKit SIP call {})",
            dialing["livekitCallId"].as_str().unwrap_or("?")
        );
        calls.push((number, name, call_id, callee));
    }

    for (number, name, call_id, callee) in &calls {
        let room = format!("call-{call_id}");
        let identity = format!("sip-{call_id}");
        let Some(dispatch) = livekit.dispatches().into_iter().find(|d| d.room == room) else {
            bail!("no agent was dispatched into {room}");
        };
        let metadata: Value = serde_json::from_str(&dispatch.metadata)?;
        let agent = text(&metadata["report"]["token"])?;
        match callee {
            Callee::Busy => {
                livekit
                    .hang_up(&room, &identity, DisconnectReason::UserRejected)
                    .await?;
                until_status(client, &owner, call_id, &["BUSY"]).await?;
                println!("{number} {name}: BUSY; attempt 2 is scheduled after the retry spacing");
                continue;
            }
            Callee::Promises | Callee::Disputes => {}
        }
        livekit.answer_call(&room, &identity).await?;
        until_status(client, &owner, call_id, &["IN_PROGRESS"]).await?;
        let (said, response) = match callee {
            Callee::Promises => ("I can pay the 120 dollars today by card.", "WILL_PAY_TODAY"),
            _ => ("That amount is wrong, the meter was misread.", "DISPUTE"),
        };
        // The agent's side, with its call-scoped token as the bearer.
        client.call(Some(&agent),
            "mutation($input: AppendCallTranscriptInput!) { appendCallTranscript(input: $input) { appended } }",
            json!({"input": {"callId": call_id, "lines": [
                {"speaker": "AGENT", "text": format!("Hi, this is an AI assistant for Acme Water calling about invoice {number}.")},
                {"speaker": "CUSTOMER", "text": said}]}}),
        ).await?;
        let mut outcome = json!({"callId": call_id, "customerResponse": response, "answeredBy": "HUMAN", "notes": said});
        if matches!(callee, Callee::Promises) {
            outcome["promisedAmount"] = json!({"amountMicros": 120_000_000, "currencyCode": "USD"});
        }
        client.call(Some(&agent),
            "mutation($input: RecordCallOutcomeInput!) { recordCallOutcome(input: $input) { call { id } } }",
            json!({"input": outcome}),
        ).await?;
        livekit.finish_room(&room).await?;
        until_status(client, &owner, call_id, &["COMPLETED"]).await?;
        println!("{number} {name}: answered, reported {response} with the call's token, COMPLETED");
    }

    println!();
    println!(
        "{:<9} {:<10} {:<9} {:<15} {:<14} {:>6} ticket",
        "invoice", "customer", "status", "outcome", "invoice status", "score"
    );
    for (number, name, call_id, _) in &calls {
        let call = client.call(Some(&owner),
            "query($id: ID!) { call(id: $id) { status leadId outcome { customerResponse ticketId } invoice { status } } }",
            json!({"id": call_id}),
        ).await?;
        let call = &call["call"];
        let score = client
            .call(
                Some(&owner),
                "query($id: ID!) { lead(id: $id) { score } }",
                json!({"id": call["leadId"]}),
            )
            .await?["lead"]["score"]
            .as_i64()
            .unwrap_or_default();
        println!(
            "{:<9} {:<10} {:<9} {:<15} {:<14} {:>6} {}",
            number,
            name.split(' ').next().unwrap_or(name),
            call["status"].as_str().unwrap_or("?"),
            call["outcome"]["customerResponse"].as_str().unwrap_or("-"),
            call["invoice"]["status"].as_str().unwrap_or("?"),
            score,
            call["outcome"]["ticketId"].as_str().unwrap_or("-"),
        );
    }
    let now = chrono::Utc::now();
    let stats = client
        .call(
            Some(&owner),
            "query($from: DateTime!, $to: DateTime!) { callStats(from: $from, to: $to) { total connectRate } }",
            json!({"from": (now - chrono::Duration::hours(1)).to_rfc3339(), "to": (now + chrono::Duration::hours(1)).to_rfc3339()}),
        )
        .await?;
    println!();
    println!("callStats: {}", stats["callStats"]);
    println!("The demo's database and fake are discarded at exit.");
    Ok(())
}

/// Polls the call until its status is one of `wanted` (20 s at most).
async fn until_status(
    client: &GraphqlClient,
    token: &str,
    call_id: &str,
    wanted: &[&str],
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let call = client
            .call(
                Some(token),
                "query($id: ID!) { call(id: $id) { status livekitCallId errorCode } }",
                json!({"id": call_id}),
            )
            .await?["call"]
            .clone();
        let status = call["status"].as_str().unwrap_or_default();
        if wanted.contains(&status) {
            return Ok(call);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("call {call_id} stayed {status} (wanted {wanted:?}): {call}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn text(value: &Value) -> anyhow::Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("expected a string, got {value}"))
}
