//! The AI surface: `analyzeMessage`, `suggestReply` and `aiUsage` on the offline default and on
//! a tenant set to Anthropic (the loopback fake of `leadline-llm`), the offline fallback, rate
//! limits, input validation, tenant isolation of products, and `leadline eval`.

use std::process::Command;

use leadline_llm::fake::{Behavior, FakeAnthropic};
use serde_json::{json, Value};

use crate::harness::{error_code, spawn_app, spawn_with, SpawnOptions, TestApp};

const ANALYZE: &str = "query($input: AnalyzeMessageInput!) { analyzeMessage(input: $input) { intent confidence signals { signal evidence start end } sentiment wantsHuman matchedProduct { product { id name price { amountMicros currencyCode formatted } purchaseLink } score } language provider } }";

const SUGGEST: &str = "query($input: SuggestReplyInput!) { suggestReply(input: $input) { text handoff language provider analysis { intent language provider matchedProduct { product { id } } } } }";

const USAGE: &str = "query($from: Date, $to: Date) { aiUsage(from: $from, to: $to) { totalRequests totalInputTokens totalOutputTokens totalCostMicros byModel { provider model requests inputTokens outputTokens costMicros } } }";

/// Creates the hoodie every test talks about; returns its id.
async fn create_hoodie(app: &TestApp, token: &str) -> String {
    let data = app
        .ok(
            token,
            "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } } }",
            json!({"input": {
                "name": "Ocean Hoodie",
                "description": "Heavy cotton hoodie in ocean blue.",
                "price": {"amountMicros": 19_990_000, "currencyCode": "USD"},
                "purchaseLink": "https://shop.example/ocean-hoodie",
                "keywords": ["hoodie", "sudadera"]
            }}),
        )
        .await;
    data["createProduct"]["product"]["id"]
        .as_str()
        .expect("product id")
        .to_owned()
}

fn input(text: &str) -> Value {
    json!({"input": {"text": text, "channel": "WEB_CHAT"}})
}

async fn set_provider(app: &TestApp, token: &str, provider: &str) {
    app.ok(
        token,
        "mutation($input: UpdateAiContextInput!) { updateAiContext(input: $input) { aiContext { provider } } }",
        json!({"input": {"provider": provider}}),
    )
    .await;
}

#[tokio::test]
async fn analyze_message_on_the_offline_default_matches_the_tenants_product() {
    let app = spawn_app().await;
    let token = app.sign_up("ai-offline").await;
    let hoodie = create_hoodie(&app, &token).await;

    let data = app
        .ok(&token, ANALYZE, input("How much is the Ocean Hoodie?"))
        .await;
    let analysis = &data["analyzeMessage"];
    assert_eq!(analysis["intent"], "PRODUCT_INQUIRY", "{analysis:#}");
    assert_eq!(analysis["provider"], "OFFLINE");
    assert_eq!(analysis["language"], "EN");
    assert_eq!(analysis["wantsHuman"], false);
    let matched = &analysis["matchedProduct"];
    assert_eq!(matched["product"]["id"], hoodie.as_str());
    assert_eq!(matched["product"]["price"]["formatted"], "19.99 USD");
    assert!(matched["score"].as_f64().unwrap_or_default() > 0.0);
    let confidence = analysis["confidence"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=1.0).contains(&confidence));

    // Every analysis counts one request under OFFLINE / offline, with no tokens.
    let usage = app.ok(&token, USAGE, json!({})).await;
    assert_eq!(
        usage["aiUsage"],
        json!({"totalRequests": 1, "totalInputTokens": 0, "totalOutputTokens": 0, "totalCostMicros": 0,
               "byModel": [{"provider": "OFFLINE", "model": "offline", "requests": 1, "inputTokens": 0, "outputTokens": 0, "costMicros": 0}]})
    );
}

#[tokio::test]
async fn signal_evidence_offsets_are_characters_of_the_message() {
    let app = spawn_app().await;
    let token = app.sign_up("ai-signals").await;
    create_hoodie(&app, &token).await;
    let text = "Necesito la sudadera urgente, ¿cuánto cuesta? mi presupuesto es 30 dólares";
    let data = app.ok(&token, ANALYZE, input(text)).await;
    let signals = data["analyzeMessage"]["signals"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!signals.is_empty(), "{data:#}");
    let chars: Vec<char> = text.chars().collect();
    for signal in signals {
        let (start, end) = (
            signal["start"].as_u64().unwrap() as usize,
            signal["end"].as_u64().unwrap() as usize,
        );
        let quoted: String = chars[start..end].iter().collect();
        assert_eq!(quoted, signal["evidence"].as_str().unwrap(), "{signal:#}");
    }
}

#[tokio::test]
async fn suggest_reply_quotes_the_exact_price_and_link_in_the_customers_language() {
    let app = spawn_app().await;
    let token = app.sign_up("ai-reply").await;
    let hoodie = create_hoodie(&app, &token).await;

    let data = app
        .ok(&token, SUGGEST, input("how much is the ocean hoodie?"))
        .await;
    let reply = &data["suggestReply"];
    let text = reply["text"].as_str().unwrap_or_default();
    assert!(text.contains("19.99 USD"), "{reply:#}");
    assert!(
        text.contains("https://shop.example/ocean-hoodie"),
        "{reply:#}"
    );
    assert_eq!(reply["provider"], "OFFLINE");
    assert_eq!(reply["language"], "EN");
    assert_eq!(reply["handoff"], false);
    assert_eq!(
        reply["analysis"]["matchedProduct"]["product"]["id"],
        hoodie.as_str()
    );

    let data = app
        .ok(&token, SUGGEST, input("¿Cuánto cuesta la sudadera Ocean?"))
        .await;
    let reply = &data["suggestReply"];
    assert_eq!(reply["analysis"]["language"], "ES", "{reply:#}");
    assert_eq!(reply["language"], "ES");
    let text = reply["text"].as_str().unwrap_or_default();
    assert!(text.contains("19.99 USD"), "{reply:#}");
    assert!(text.contains("cuesta"), "a Spanish reply: {text}");

    // Two replies, each an analysis and a reply: four offline requests.
    let usage = app.ok(&token, USAGE, json!({})).await;
    assert_eq!(usage["aiUsage"]["totalRequests"], 4);
}

/// An attribute question is answered from the product's description in the customer's
/// language, or declined plainly when the description is silent; the price and link follow.
#[tokio::test]
async fn an_attribute_question_gets_an_answer_from_the_description() {
    let app = spawn_app().await;
    let token = app.sign_up("ai-attribute").await;
    app.ok(
        &token,
        "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } } }",
        json!({"input": {
            "name": "Ocean Hoodie",
            "description": "Heavy cotton hoodie in ocean blue. Machine washable.",
            "price": {"amountMicros": 19_990_000, "currencyCode": "USD"},
            "purchaseLink": "https://shop.example/ocean-hoodie",
            "keywords": ["hoodie", "sudadera"]
        }}),
    )
    .await;
    let cases = [
        (
            "is the hoodie machine washable?",
            "Yes, it's machine washable.",
            "EN",
        ),
        (
            "¿la sudadera se puede lavar a máquina?",
            "Sí, se puede lavar en lavadora.",
            "ES",
        ),
        ("is the hoodie cotton?", "It's made of cotton.", "EN"),
        (
            "is the hoodie waterproof?",
            "The product description doesn't say whether it's waterproof",
            "EN",
        ),
        (
            "¿la sudadera es impermeable?",
            "La descripción del producto no dice si es resistente al agua",
            "ES",
        ),
    ];
    for (question, answer, language) in cases {
        let data = app.ok(&token, SUGGEST, input(question)).await;
        let reply = &data["suggestReply"];
        let text = reply["text"].as_str().unwrap_or_default();
        assert!(text.contains(answer), "{question} → {text}");
        assert_eq!(reply["language"], language, "{question} → {text}");
        // Then the offer, verbatim from the catalog.
        let price = text.find("19.99 USD").expect("the price");
        assert!(text.find(answer) < Some(price), "{text}");
        assert!(text.contains("https://shop.example/ocean-hoodie"), "{text}");
    }
}

#[tokio::test]
async fn a_tenant_on_anthropic_is_answered_by_anthropic_and_its_tokens_are_counted() {
    let fake = FakeAnthropic::start().await.expect("fake Anthropic");
    let app = spawn_with(SpawnOptions {
        env: vec![
            ("ANTHROPIC_API_KEY".into(), fake.api_key().to_owned()),
            ("ANTHROPIC_API_BASE".into(), fake.base_url().to_owned()),
        ],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("ai-anthropic").await;
    create_hoodie(&app, &token).await;

    // Sign-up stores OFFLINE: the key alone changes nothing.
    let data = app.ok(&token, ANALYZE, input("hello there")).await;
    assert_eq!(data["analyzeMessage"]["provider"], "OFFLINE");
    assert_eq!(fake.request_count(), 0);

    set_provider(&app, &token, "ANTHROPIC").await;
    let data = app
        .ok(&token, ANALYZE, input("How much is the Ocean Hoodie?"))
        .await;
    assert_eq!(data["analyzeMessage"]["provider"], "ANTHROPIC", "{data:#}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("x-api-key"), Some(fake.api_key()));
    let prompt = requests[0].body.to_string();
    assert!(
        prompt.contains("Ocean Hoodie"),
        "the catalog is in the prompt"
    );

    let data = app
        .ok(&token, SUGGEST, input("How much is the Ocean Hoodie?"))
        .await;
    assert_eq!(data["suggestReply"]["provider"], "ANTHROPIC", "{data:#}");
    assert_eq!(fake.request_count(), 3);

    let usage = app.ok(&token, USAGE, json!({})).await["aiUsage"].clone();
    let by_model = usage["byModel"].as_array().cloned().unwrap_or_default();
    let anthropic = by_model
        .iter()
        .find(|m| m["provider"] == "ANTHROPIC")
        .unwrap_or_else(|| panic!("no ANTHROPIC usage: {usage:#}"));
    assert_eq!(anthropic["model"], "claude-sonnet-4-5");
    assert_eq!(anthropic["requests"], 3);
    assert!(anthropic["inputTokens"].as_i64().unwrap_or_default() > 0);
    assert!(anthropic["outputTokens"].as_i64().unwrap_or_default() > 0);
    assert!(anthropic["costMicros"].as_i64().unwrap_or_default() > 0);
    assert_eq!(
        usage["totalRequests"], 4,
        "three Anthropic calls and one offline"
    );
    assert_eq!(usage["totalInputTokens"], anthropic["inputTokens"]);

    // A day range without today's date counts nothing.
    let old = app
        .ok(
            &token,
            USAGE,
            json!({"from": "2020-01-01", "to": "2020-01-31"}),
        )
        .await;
    assert_eq!(old["aiUsage"]["totalRequests"], 0);
    let backwards = app
        .graphql(
            Some(&token),
            USAGE,
            json!({"from": "2020-02-01", "to": "2020-01-31"}),
        )
        .await;
    assert_eq!(error_code(&backwards), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_failing_provider_is_replaced_by_the_offline_analyzer() {
    let fake = FakeAnthropic::start().await.expect("fake Anthropic");
    fake.set_default(Behavior::ServerError);
    let app = spawn_with(SpawnOptions {
        env: vec![
            ("ANTHROPIC_API_KEY".into(), fake.api_key().to_owned()),
            ("ANTHROPIC_API_BASE".into(), fake.base_url().to_owned()),
        ],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("ai-down").await;
    let hoodie = create_hoodie(&app, &token).await;
    set_provider(&app, &token, "ANTHROPIC").await;

    let data = app
        .ok(&token, SUGGEST, input("How much is the Ocean Hoodie?"))
        .await;
    let reply = &data["suggestReply"];
    assert_eq!(reply["provider"], "OFFLINE_FALLBACK", "{reply:#}");
    assert_eq!(reply["analysis"]["provider"], "OFFLINE_FALLBACK");
    assert_eq!(
        reply["analysis"]["matchedProduct"]["product"]["id"],
        hoodie.as_str()
    );
    assert!(reply["text"]
        .as_str()
        .unwrap_or_default()
        .contains("19.99 USD"));
    assert!(
        fake.request_count() >= 2,
        "the provider was retried before falling back"
    );

    let usage = app.ok(&token, USAGE, json!({})).await;
    assert_eq!(
        usage["aiUsage"]["byModel"],
        json!([{"provider": "OFFLINE_FALLBACK", "model": "offline", "requests": 2, "inputTokens": 0, "outputTokens": 0, "costMicros": 0}])
    );
}

#[tokio::test]
async fn a_tenant_on_an_llm_without_a_key_gets_offline_answers_marked_as_fallback() {
    let app = spawn_app().await;
    let token = app.sign_up("ai-nokey").await;
    set_provider(&app, &token, "OPENAI").await;
    let data = app.ok(&token, ANALYZE, input("hola, buenas tardes")).await;
    assert_eq!(data["analyzeMessage"]["provider"], "OFFLINE_FALLBACK");
    assert_eq!(data["analyzeMessage"]["language"], "ES");
}

#[tokio::test]
async fn ai_requests_are_rate_limited_per_tenant() {
    let app = spawn_with(SpawnOptions {
        env: vec![("LEADLINE_AI_RATE_PER_MINUTE".into(), "3".into())],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("ai-limited").await;
    let other = app.sign_up("ai-neighbour").await;
    for _ in 0..3 {
        app.ok(&token, ANALYZE, input("hello")).await;
    }
    let limited = app.graphql(Some(&token), SUGGEST, input("hello")).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED", "{limited:#}");
    let retry_after = limited["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap_or_default();
    assert!((1..=20).contains(&retry_after), "{limited:#}");
    // Another tenant has its own allowance; usage reads are not limited.
    app.ok(&other, ANALYZE, input("hello")).await;
    app.ok(&token, USAGE, json!({})).await;
}

#[tokio::test]
async fn bad_text_and_other_tenants_products_are_refused() {
    let app = spawn_app().await;
    let token = app.sign_up("ai-input").await;
    let theirs = app.sign_up("ai-other-shop").await;
    let their_hoodie = create_hoodie(&app, &theirs).await;
    let mine = create_hoodie(&app, &token).await;

    for text in [String::new(), "   ".to_owned(), "x".repeat(4001)] {
        let bad = app.graphql(Some(&token), ANALYZE, input(&text)).await;
        assert_eq!(error_code(&bad), "BAD_USER_INPUT", "{bad:#}");
        assert_eq!(bad["errors"][0]["extensions"]["field"], "text");
    }
    app.ok(&token, ANALYZE, input(&"x".repeat(4000))).await;

    for ids in [
        json!([their_hoodie]),
        json!([mine, uuid::Uuid::now_v7().to_string()]),
        json!(["not-an-id"]),
    ] {
        let bad = app
            .graphql(
                Some(&token),
                ANALYZE,
                json!({"input": {"text": "how much is the hoodie?", "channel": "WEB_CHAT", "productIds": ids}}),
            )
            .await;
        assert_eq!(error_code(&bad), "BAD_USER_INPUT", "{bad:#}");
        assert_eq!(bad["errors"][0]["extensions"]["field"], "productIds");
        assert!(
            !bad["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("Ocean"),
            "nothing about the other tenant's product leaks"
        );
    }

    // Restricted to its own product, the tenant's request is answered with that product.
    let data = app
        .ok(
            &token,
            ANALYZE,
            json!({"input": {"text": "how much is the hoodie?", "channel": "INSTAGRAM", "productIds": [mine],
                   "history": [{"speaker": "LEAD", "text": "hi"}, {"speaker": "AI", "text": "Hi! How can I help?"}]}}),
        )
        .await;
    assert_eq!(
        data["analyzeMessage"]["matchedProduct"]["product"]["id"],
        mine.as_str()
    );

    // Anonymous callers are refused.
    let anonymous = app.graphql(None, ANALYZE, input("hello")).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

/// The repository root (where `domain/data/analysis` lives).
fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

#[test]
fn eval_on_the_shipped_test_split_reaches_the_quality_bar() {
    let output = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args([
            "eval",
            "domain/data/analysis/test.jsonl",
            "--catalog",
            "domain/data/analysis/catalog.json",
            "--json",
        ])
        .current_dir(root())
        .env_clear()
        .output()
        .expect("run leadline eval");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    let lines = std::fs::read_to_string(format!("{}/domain/data/analysis/test.jsonl", root()))
        .expect("test split")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(report["examples"], lines);
    let languages: Vec<&str> = report["perLanguage"]
        .as_array()
        .expect("per language")
        .iter()
        .filter_map(|r| r["subset"].as_str())
        .collect();
    assert_eq!(languages, ["en", "es"]);
    let f1 = report["intentMacroF1"].as_f64().unwrap_or_default();
    assert!(f1 >= 0.85, "intent macro-F1 {f1}");
    assert!(report["messagesPerSecond"].as_f64().unwrap_or_default() > 0.0);

    let text = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args([
            "eval",
            "domain/data/analysis/test.jsonl",
            "--catalog",
            "domain/data/analysis/catalog.json",
        ])
        .current_dir(root())
        .env_clear()
        .output()
        .expect("run leadline eval");
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("macro-F1"));
}

#[test]
fn eval_without_a_file_reports_each_shipped_split_on_its_own_per_language() {
    let output = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args(["eval", "--json"])
        .env_clear()
        .output()
        .expect("run leadline eval");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reports: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    for split in ["train", "test", "holdout"] {
        let report = &reports[split];
        assert!(
            report["examples"].as_u64().unwrap_or_default() > 200,
            "{split}"
        );
        assert_eq!(
            report["perClass"].as_array().map(Vec::len),
            Some(6),
            "{split}"
        );
        assert_eq!(
            report["perSignal"].as_array().map(Vec::len),
            Some(7),
            "{split}"
        );
        assert_eq!(
            report["perLanguage"].as_array().map(Vec::len),
            Some(2),
            "{split}"
        );
    }
    let one = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args(["eval", "--split", "holdout"])
        .env_clear()
        .output()
        .expect("run leadline eval");
    let text = String::from_utf8_lossy(&one.stdout);
    assert!(text.contains("== holdout"), "{text}");
    assert!(text.contains("-- language es"), "{text}");
    assert!(!text.contains("== train"), "{text}");
    let bad = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args(["eval", "--split", "validation"])
        .env_clear()
        .output()
        .expect("run leadline eval");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn eval_of_replies_scores_language_grounding_and_attribute_answers() {
    let output = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args(["eval", "--task", "replies", "--json"])
        .env_clear()
        .output()
        .expect("run leadline eval");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert!(
        report["examples"].as_u64().unwrap_or_default() >= 60,
        "{report:#}"
    );
    assert!(
        report["attributeScored"].as_u64().unwrap_or_default() >= 30,
        "{report:#}"
    );
    // The offline provider's bar: every reply in the customer's language, nothing invented.
    assert_eq!(report["languageAccuracy"], 1.0, "{report:#}");
    assert_eq!(report["grounding"], 1.0, "{report:#}");

    // The replies to the held-out split's messages: scored, with no attribute expectation.
    let holdout = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args(["eval", "--task", "replies", "--split", "holdout", "--json"])
        .env_clear()
        .output()
        .expect("run leadline eval");
    assert!(
        holdout.status.success(),
        "{}",
        String::from_utf8_lossy(&holdout.stderr)
    );
    let report: Value = serde_json::from_slice(&holdout.stdout).expect("one JSON object");
    assert!(
        report["examples"].as_u64().unwrap_or_default() >= 250,
        "{report:#}"
    );
    assert_eq!(report["attributeScored"], 0);
    assert_eq!(report["grounding"], 1.0, "{report:#}");
}

#[test]
fn eval_names_the_bad_line_and_exits_with_2() {
    let dir = std::env::temp_dir().join(format!("leadline-eval-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("broken.jsonl");
    std::fs::write(
        &file,
        "{\"text\": \"hi\", \"intent\": \"OTHER\"}\n{\"text\": \"price?\", \"intent\": \"SHOPPING\"}\n",
    )
    .expect("write");
    let catalog = format!("{}/domain/data/analysis/catalog.json", root());
    let output = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .arg("eval")
        .arg(&file)
        .args(["--catalog", &catalog])
        .env_clear()
        .output()
        .expect("run leadline eval");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("broken.jsonl"), "{stderr}");

    let missing = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args(["eval", "no/such/file.jsonl", "--catalog", &catalog])
        .env_clear()
        .output()
        .expect("run leadline eval");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such/file.jsonl"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn eval_runs_an_llm_provider_with_progress_and_counts_its_tokens() {
    let fake = FakeAnthropic::start().await.expect("fake Anthropic");
    let dir = std::env::temp_dir().join(format!("leadline-eval-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let test_split = std::fs::read_to_string(format!("{}/domain/data/analysis/test.jsonl", root()))
        .expect("test split");
    let sixty: Vec<&str> = test_split
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(60)
        .collect();
    let file = dir.join("sixty.jsonl");
    std::fs::write(&file, sixty.join("\n")).expect("write");

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_leadline"))
        .arg("eval")
        .arg(&file)
        .args([
            "--catalog",
            &format!("{}/domain/data/analysis/catalog.json", root()),
            "--provider",
            "anthropic",
            "--json",
        ])
        .env_clear()
        .env("ANTHROPIC_API_KEY", fake.api_key())
        .env("ANTHROPIC_API_BASE", fake.base_url())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run leadline eval");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("50/60 messages"), "{stderr}");
    assert!(stderr.contains("input and"), "a token summary: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["examples"], 60);
    assert_eq!(fake.request_count(), 60);
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.header("x-api-key") == Some(fake.api_key())));

    let no_key = tokio::process::Command::new(env!("CARGO_BIN_EXE_leadline"))
        .arg("eval")
        .arg(&file)
        .args([
            "--catalog",
            &format!("{}/domain/data/analysis/catalog.json", root()),
            "--provider",
            "openai",
        ])
        .env_clear()
        .output()
        .await
        .expect("run leadline eval");
    assert_eq!(no_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("OPENAI_API_KEY"));
    let _ = std::fs::remove_dir_all(&dir);
}
