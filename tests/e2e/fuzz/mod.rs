//! A bounded, schema-driven fuzz run of the GraphQL API with two tenants.
//!
//! The generator reads the committed `schema.graphql` with async-graphql's own parser and builds
//! random operations from it: queries and mutations on every root field, valid-shaped arguments
//! (ids of the other tenant and of the caller, huge strings, unicode, negative and huge ints,
//! nulls, enum values, nested inputs), invalid-shaped ones (wrong types, missing required
//! arguments, unknown fields and values), selections down to the depth limit, aliases, variables,
//! batches and malformed documents.
//!
//! Two tenants are seeded, each with data carrying its own canary string (a lead, a product, a
//! channel connection, the AI settings, API keys, a customer with a support conversation, a
//! WhatsApp conversation through a signed webhook). One tenant attacks as its owner, as a WRITE
//! and a READ API key, as a customer, and anonymously; then the roles swap. Every answer must be
//! free of 5xx and `INTERNAL` errors and of the other tenant's canary (anonymous answers of both),
//! no answer may ever show a write-only secret or an API-key credential, the server must stay
//! healthy, and the victim's data must be intact at the end.
//!
//! `LEADLINE_FUZZ_CASES` (default 1,500) bounds the run, `LEADLINE_FUZZ_SEED` replays one (the
//! seed is printed at the start and in every failure).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{
    BaseType, InputValueDefinition, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql::parser::Positioned;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::harness::{spawn_with, SpawnOptions, TestApp};

const SCHEMA: &str = include_str!("../../../schema.graphql");
const DEFAULT_CASES: usize = 1_500;
/// A hard stop so a slow machine cannot turn the run into a CI timeout; the run says so.
const TIME_CAP: Duration = Duration::from_secs(240);
/// Selections go this deep (the server's limit is 12; a few cases go past it on purpose).
const SELECTION_DEPTH: usize = 5;
/// Every outbound platform and LLM call the fuzzed mutations may cause goes here: a closed
/// loopback port, so nothing leaves the machine.
const NOWHERE: &str = "http://127.0.0.1:1";

// ---------------------------------------------------------------------------------------------
// Tenants and their canaries
// ---------------------------------------------------------------------------------------------

/// One seeded tenant: its credentials, its data's ids and what must never leak.
struct Tenant {
    slug: String,
    /// In every piece of its data; never in an answer to anyone else.
    canary: String,
    owner: String,
    key_write: String,
    key_read: String,
    customer: String,
    /// Write-only secrets and API-key credentials: never in any answer at all.
    secrets: Vec<String>,
    /// Its data (attack targets, and what must be intact afterwards).
    data_ids: Vec<String>,
    lead_id: String,
    product_id: String,
    connection_id: String,
    session_id: String,
    key_ids: Vec<String>,
}

async fn must(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let response = app.graphql(Some(token), query, variables).await;
    assert!(
        response.get("errors").is_none(),
        "fuzz setup failed on {query}: {response:#}"
    );
    response["data"].clone()
}

fn str_at<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {value:#}"))
}

fn ids_at(value: &Value, pointer: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| n["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Creates an API key with one scope: its credential and id.
async fn api_key(app: &TestApp, owner: &str, canary: &str, scope: &str) -> (String, String) {
    let data = must(
        app,
        owner,
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { id } } }",
        json!({"i": {"name": format!("Key {canary} {scope}"), "scopes": [scope]}}),
    )
    .await;
    (
        str_at(&data, "/createApiKey/key").to_owned(),
        str_at(&data, "/createApiKey/apiKey/id").to_owned(),
    )
}

/// Seeds a tenant whose owner is `owner` (signing one up when `None`).
async fn seed_tenant(app: &TestApp, slug: &str, canary: &str, owner: Option<String>) -> Tenant {
    let owner = match owner {
        Some(token) => token,
        None => app.sign_up(slug).await,
    };
    let secret = format!("{}-SECRET", canary.to_lowercase());
    let mut data_ids = Vec::new();
    let mut key_ids = Vec::new();
    let mut secrets = Vec::new();
    let (key_write, write_id) = api_key(app, &owner, canary, "WRITE").await;
    let (key_read, read_id) = api_key(app, &owner, canary, "READ").await;
    key_ids.extend([write_id, read_id]);
    secrets.extend([key_write.clone(), key_read.clone()]);

    let lead = must(
        app,
        &owner,
        "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id } } }",
        json!({"i": {"name": format!("Lead {canary}"), "company": format!("{canary} Inc"), "notes": format!("notes {canary}")}}),
    )
    .await;
    let lead_id = str_at(&lead, "/createLead/lead/id").to_owned();
    let product = must(
        app,
        &owner,
        "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id } } }",
        json!({"i": {"name": format!("Product {canary}"), "description": format!("About {canary}"),
                     "price": {"amountMicros": 19_990_000, "currencyCode": "USD"}, "keywords": [canary]}}),
    )
    .await;
    let product_id = str_at(&product, "/createProduct/product/id").to_owned();
    // The connection's account id, which the webhook names; distinct per tenant.
    let phone_number_id = format!(
        "1{:011}",
        slug.bytes().map(u64::from).sum::<u64>() * 7_919 % 100_000_000_000
    );
    let connection = must(
        app,
        &owner,
        "mutation($i: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $i) { connection { id } } }",
        json!({"i": {"channel": "WHATSAPP", "externalAccountId": phone_number_id,
                     "appSecret": format!("{secret}-app"), "accessToken": format!("{secret}-access"),
                     "verifyToken": format!("{secret}-verify"), "aiEnabled": true, "status": "CONNECTED"}}),
    )
    .await;
    let connection_id = str_at(&connection, "/upsertChannelConnection/connection/id").to_owned();
    secrets.extend([
        format!("{secret}-app"),
        format!("{secret}-access"),
        format!("{secret}-verify"),
    ]);
    must(
        app,
        &owner,
        "mutation($i: UpdateAiContextInput!) { updateAiContext(input: $i) { __typename } }",
        json!({"i": {"systemPrompt": format!("Prompt {canary}"), "escalationKeywords": [format!("kw{canary}")]}}),
    )
    .await;

    // A customer with a support conversation.
    let customer = must(
        app,
        &key_write,
        "mutation($i: CreateCustomerTokenInput!) { createCustomerToken(input: $i) { token customerId } }",
        // A fresh customer per seeding: re-seeding a tenant after it attacked must not reuse the
        // customer's open session from the attack (which may hold no subject).
        json!({"i": {"externalUserId": format!("user-{canary}-{}", uuid::Uuid::now_v7().simple()), "name": format!("Customer {canary}")}}),
    )
    .await;
    let customer_token = str_at(&customer, "/createCustomerToken/token").to_owned();
    data_ids.push(str_at(&customer, "/createCustomerToken/customerId").to_owned());
    let session = must(
        app,
        &customer_token,
        "mutation($i: CreateSupportSessionInput) { createSupportSession(input: $i) { session { id } } }",
        json!({"i": {"subject": format!("Subject {canary}")}}),
    )
    .await;
    let session_id = str_at(&session, "/createSupportSession/session/id").to_owned();
    let message = must(
        app,
        &customer_token,
        "mutation($i: SendSupportMessageInput!) { sendSupportMessage(input: $i) { message { id } } }",
        json!({"i": {"sessionId": session_id, "text": format!("Hello {canary}"), "clientMessageId": "fuzz-1"}}),
    )
    .await;
    data_ids.push(str_at(&message, "/sendSupportMessage/message/id").to_owned());

    // A WhatsApp conversation through the signed webhook.
    let delivery = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": phone_number_id, "display_phone_number": "15550001111"},
            "contacts": [{"wa_id": "447911123456", "profile": {"name": format!("WA {canary}")}}],
            "messages": [{"from": "447911123456", "id": format!("wamid.{canary}"), "timestamp": "1700000000",
                          "type": "text", "text": {"body": format!("Price? {canary}")}}]
        }}]}]
    })
    .to_string();
    let signature = leadline_meta::signature::sign_hub_signature_256(
        &format!("{secret}-app"),
        delivery.as_bytes(),
    );
    let response = app
        .http
        .post(format!("{}/api/webhook/whatsapp/{slug}", app.base))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(delivery)
        .send()
        .await
        .expect("webhook");
    assert_eq!(
        response.status(),
        200,
        "fuzz setup: the WhatsApp webhook was refused"
    );

    let listed = must(
        app,
        &owner,
        "{ me { user { id } tenant { id } } conversations(first: 10) { nodes { id messages(first: 5) { nodes { id } } } }
           jobs(first: 10) { nodes { id } } auditLog(first: 5) { nodes { id } } }",
        json!({}),
    )
    .await;
    data_ids.extend(ids_at(&listed, "/conversations/nodes"));
    if let Some(conversations) = listed
        .pointer("/conversations/nodes")
        .and_then(Value::as_array)
    {
        for conversation in conversations {
            data_ids.extend(ids_at(conversation, "/messages/nodes"));
        }
    }
    data_ids.extend(ids_at(&listed, "/jobs/nodes"));
    data_ids.extend(ids_at(&listed, "/auditLog/nodes"));
    data_ids.push(str_at(&listed, "/me/tenant/id").to_owned());
    data_ids.extend([
        lead_id.clone(),
        product_id.clone(),
        connection_id.clone(),
        session_id.clone(),
    ]);
    // The owner's user id and the keys are credentials: attack targets for the other tenant,
    // kept out of the tenant's own pool so its attacks never lock itself out.
    key_ids.push(str_at(&listed, "/me/user/id").to_owned());
    Tenant {
        slug: slug.to_owned(),
        canary: canary.to_owned(),
        owner,
        key_write,
        key_read,
        customer: customer_token,
        secrets,
        data_ids,
        lead_id,
        product_id,
        connection_id,
        session_id,
        key_ids,
    }
}

/// The victim's data as its owner sees it after the run: all there, unchanged.
async fn assert_intact(app: &TestApp, victim: &Tenant, seed: u64) {
    let data = app
        .graphql(
            Some(victim.owner.as_str()),
            "query($l: ID!, $p: ID!, $c: ID!, $s: ID!) {
               me { role }
               lead(id: $l) { name company notes }
               product(id: $p) { name description }
               channelConnection(id: $c) { channel status hasAppSecret }
               supportSession(id: $s) { subject messages(first: 20) { nodes { body } } }
               aiContext { systemPrompt }
               apiKeys(first: 50) { nodes { id revokedAt } }
             }",
            json!({"l": victim.lead_id, "p": victim.product_id, "c": victim.connection_id, "s": victim.session_id}),
        )
        .await;
    let c = &victim.canary;
    let context = format!(
        "(seed {seed}) the victim {}'s data changed: {data:#}",
        victim.slug
    );
    assert!(data.get("errors").is_none(), "{context}");
    let d = &data["data"];
    assert_eq!(d["me"]["role"], "OWNER", "{context}");
    assert_eq!(d["lead"]["name"], format!("Lead {c}"), "{context}");
    assert_eq!(d["lead"]["notes"], format!("notes {c}"), "{context}");
    assert_eq!(d["product"]["name"], format!("Product {c}"), "{context}");
    assert_eq!(d["channelConnection"]["hasAppSecret"], true, "{context}");
    assert_eq!(
        d["aiContext"]["systemPrompt"],
        format!("Prompt {c}"),
        "{context}"
    );
    assert_eq!(
        d["supportSession"]["subject"],
        format!("Subject {c}"),
        "{context}"
    );
    assert!(
        d["supportSession"]["messages"]["nodes"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["body"] == format!("Hello {c}"))),
        "{context}"
    );
    let keys = d["apiKeys"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for id in victim.key_ids.iter().take(2) {
        assert!(
            keys.iter()
                .any(|k| &k["id"] == id && k["revokedAt"].is_null()),
            "{context}: API key {id} is gone or revoked"
        );
    }
    // The victim's keys and customer still authenticate.
    for token in [&victim.key_write, &victim.key_read, &victim.customer] {
        let me = app
            .graphql(Some(token.as_str()), "{ __typename }", json!({}))
            .await;
        assert!(
            me.get("errors").is_none(),
            "{context}: a credential stopped working: {me:#}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum As {
    Owner,
    WriteKey,
    ReadKey,
    Customer,
    Anonymous,
}

#[derive(Default)]
struct Report {
    cases: usize,
    per_root: BTreeMap<String, usize>,
    outcomes: BTreeMap<String, usize>,
    failures: Vec<String>,
}

impl Report {
    fn fail(&mut self, message: String) {
        if self.failures.len() < 20 {
            self.failures.push(message);
        }
    }
}

/// Runs `cases` operations of `attacker` against the server, `victim` being the other tenant.
#[allow(clippy::too_many_arguments)]
async fn attack(
    app: &TestApp,
    generator: &mut Generator<'_>,
    attacker: &Tenant,
    victim: &Tenant,
    cases: usize,
    seed: u64,
    deadline: Instant,
    report: &mut Report,
) {
    let pools = Pools {
        victim_ids: victim
            .data_ids
            .iter()
            .chain(&victim.key_ids)
            .cloned()
            .collect(),
        own_ids: attacker.data_ids.clone(),
        victim_slug: victim.slug.clone(),
        own_slug: attacker.slug.clone(),
    };
    let all_secrets: Vec<&String> = attacker.secrets.iter().chain(&victim.secrets).collect();
    for case in 0..cases {
        if Instant::now() > deadline {
            say(&format!(
                "fuzz: time cap reached after {} cases",
                report.cases
            ));
            return;
        }
        let principal = match generator.rng.gen_range(0..100) {
            0..=34 => As::Owner,
            35..=54 => As::WriteKey,
            55..=69 => As::ReadKey,
            70..=84 => As::Customer,
            _ => As::Anonymous,
        };
        let token = match principal {
            As::Owner => Some(&attacker.owner),
            As::WriteKey => Some(&attacker.key_write),
            As::ReadKey => Some(&attacker.key_read),
            As::Customer => Some(&attacker.customer),
            As::Anonymous => None,
        };
        let operation = generator.next(&pools);
        report.cases += 1;
        for root in &operation.roots {
            *report.per_root.entry(root.clone()).or_default() += 1;
        }
        let request = || {
            let request = app
                .http
                .post(format!("{}/graphql", app.base))
                .header("content-type", "application/json")
                .body(operation.body.clone());
            match token {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
        };
        let where_ = || {
            format!(
                "seed {seed}, case {case} as {} {principal:?}: {}",
                attacker.slug,
                operation.document.chars().take(600).collect::<String>()
            )
        };
        // One retry when the request never got an answer: under a loaded test run a pooled
        // keep-alive connection can be closed by the server just as it is reused. A server that
        // really died fails the retry (and the periodic health check).
        let sent = match request().send().await {
            Err(error) if !error.is_timeout() => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                request().send().await
            }
            answered => answered,
        };
        let (status, text) = match sent {
            Ok(response) => {
                let status = response.status();
                (status, response.text().await.unwrap_or_default())
            }
            Err(error) => {
                report.fail(format!("no answer ({error:?}) to {}", where_()));
                break;
            }
        };
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let responses: Vec<&Value> = match &body {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut codes: Vec<String> = responses
            .iter()
            .flat_map(|r| r["errors"].as_array().cloned().unwrap_or_default())
            .map(|e| {
                e["extensions"]["code"]
                    .as_str()
                    .unwrap_or("NO_CODE")
                    .to_owned()
            })
            .collect();
        codes.sort();
        codes.dedup();
        let outcome = if status.is_success() && codes.is_empty() {
            "ok".to_owned()
        } else if codes.is_empty() {
            format!("http {}", status.as_u16())
        } else {
            codes.join("+")
        };
        *report.outcomes.entry(outcome).or_default() += 1;

        if status.is_server_error() {
            report.fail(format!("HTTP {status} {} to {}", snippet(&text), where_()));
        }
        if codes.iter().any(|c| c == "INTERNAL") {
            report.fail(format!("INTERNAL {} to {}", snippet(&text), where_()));
        }
        // Every error is typed: a client can always branch on `extensions.code`.
        if codes.iter().any(|c| c == "NO_CODE") {
            report.fail(format!(
                "an error without a code {} to {}",
                snippet(&text),
                where_()
            ));
        }
        if text.contains(&victim.canary) {
            report.fail(format!(
                "the victim's canary {} in {} to {}",
                victim.canary,
                snippet_around(&text, &victim.canary),
                where_()
            ));
        }
        if principal == As::Anonymous && text.contains(&attacker.canary) {
            report.fail(format!(
                "a tenant's canary in an anonymous answer {} to {}",
                snippet_around(&text, &attacker.canary),
                where_()
            ));
        }
        for secret in &all_secrets {
            if text.contains(secret.as_str()) {
                report.fail(format!(
                    "a write-only secret or API-key credential in {} to {}",
                    snippet_around(&text, secret),
                    where_()
                ));
            }
        }
        if case % 100 == 99 {
            healthy(app, seed, report).await;
        }
    }
}

/// Prints past the test harness's capture (which only takes `print!`/`eprint!`), so CI logs
/// show the seed and the case count of every run, passing or not.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn snippet(text: &str) -> String {
    text.chars().take(400).collect()
}

fn snippet_around(text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap_or(0);
    let start = (0..=at.saturating_sub(200))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text[start..].chars().take(400).collect()
}

async fn healthy(app: &TestApp, seed: u64, report: &mut Report) {
    let ok = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200);
    if !ok {
        report.fail(format!(
            "seed {seed}: /healthz failed after {} cases",
            report.cases
        ));
    }
}

#[tokio::test]
async fn two_tenants_survive_a_schema_driven_fuzz_run_without_leaks() {
    let seed: u64 = std::env::var("LEADLINE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    let cases: usize = std::env::var("LEADLINE_FUZZ_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    say(&format!(
        "fuzz: LEADLINE_FUZZ_SEED={seed} LEADLINE_FUZZ_CASES={cases} (set both to replay this run)"
    ));
    let started = Instant::now();
    let schema = Schema::load();
    let mut env: Vec<(String, String)> = [
        "ANTHROPIC_API_BASE",
        "OPENAI_API_BASE",
        "META_API_BASE",
        "WHATSAPP_API_BASE",
        "TIKTOK_API_BASE",
        "TIKTOK_LIVE_API_BASE",
        "TWITCH_API_BASE",
        "YOUTUBE_API_BASE",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), NOWHERE.to_owned()))
    .collect();
    env.push(("TWITCH_IRC_URL".into(), "ws://127.0.0.1:1".into()));
    env.push(("RUST_LOG".into(), "warn".into()));
    let app = spawn_with(SpawnOptions {
        env,
        ..SpawnOptions::default()
    })
    .await;

    let run = Uuid::now_v7().simple().to_string();
    let tag = &run[run.len() - 10..];
    let (canary_a, canary_b) = (format!("CNRYA{tag}"), format!("CNRYB{tag}"));
    let (slug_a, slug_b) = (format!("fuzz-a-{tag}"), format!("fuzz-b-{tag}"));
    let tenant_a = seed_tenant(&app, &slug_a, &canary_a, None).await;
    let tenant_b = seed_tenant(&app, &slug_b, &canary_b, None).await;

    let mut generator = Generator {
        schema: &schema,
        rng: StdRng::seed_from_u64(seed),
    };
    let mut report = Report::default();
    let deadline = started + TIME_CAP;
    // B attacks A, then A (intact so far) attacks a freshly seeded B.
    attack(
        &app,
        &mut generator,
        &tenant_b,
        &tenant_a,
        cases / 2,
        seed,
        deadline,
        &mut report,
    )
    .await;
    healthy(&app, seed, &mut report).await;
    if report.failures.is_empty() {
        assert_intact(&app, &tenant_a, seed).await;
    }
    let tenant_b = seed_tenant(&app, &slug_b, &canary_b, Some(tenant_b.owner.clone())).await;
    attack(
        &app,
        &mut generator,
        &tenant_a,
        &tenant_b,
        cases - cases / 2,
        seed,
        deadline,
        &mut report,
    )
    .await;
    healthy(&app, seed, &mut report).await;
    if report.failures.is_empty() {
        assert_intact(&app, &tenant_b, seed).await;
    }

    let roots: Vec<&String> = schema
        .fields(&schema.query)
        .iter()
        .chain(schema.fields(&schema.mutation))
        .map(|f| &f.name)
        .collect();
    let missed: Vec<&&String> = roots
        .iter()
        .filter(|r| !report.per_root.contains_key(r.as_str()))
        .collect();
    say(&format!(
        "fuzz: seed {seed}, {} cases in {:.1} s, {} of {} query/mutation root fields exercised{}",
        report.cases,
        started.elapsed().as_secs_f64(),
        roots.len() - missed.len(),
        roots.len(),
        if missed.is_empty() {
            String::new()
        } else {
            format!(" (missed: {missed:?})")
        }
    ));
    say(&format!("fuzz: outcomes {:?}", report.outcomes));
    say(&format!("fuzz: per root field {:?}", report.per_root));
    assert!(
        report.failures.is_empty(),
        "fuzz run failed (replay with LEADLINE_FUZZ_SEED={seed} LEADLINE_FUZZ_CASES={cases}; server log {}):\n{}",
        app.dir.join("server.log").display(),
        report.failures.join("\n\n")
    );
}

mod generator;
use generator::*;
