//! HTTP transport behaviour: error shapes and statuses, limits, health, metrics, GraphiQL,
//! introspection switch, and the committed schema staying in step with the code.

use serde_json::{json, Value};

use crate::harness::{error_code, spawn_app, spawn_with, SpawnOptions};

#[tokio::test]
async fn bad_requests_get_json_errors_and_4xx() {
    // A small body limit, so the oversized body fits in socket buffers: with megabytes the server
    // answers 413 before the upload ends and the client may see a reset instead of the answer.
    let app = spawn_with(SpawnOptions {
        env: vec![("LEADLINE_MAX_BODY_BYTES".into(), "4096".into())],
        ..Default::default()
    })
    .await;
    let url = format!("{}/graphql", app.base);
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            app.http
                .post(&url)
                .header("content-type", "application/json")
                .body("{not json"),
            400,
            "BAD_USER_INPUT",
        ),
        (
            app.http
                .post(&url)
                .header("content-type", "text/plain")
                .body("{}"),
            415,
            "BAD_USER_INPUT",
        ),
        (
            app.http
                .post(&url)
                .header("content-type", "application/json")
                .body(format!("{{\"query\": \"{}\"}}", "a".repeat(10_000))),
            413,
            "BAD_USER_INPUT",
        ),
        (
            app.http
                .post(&url)
                .json(&json!({"query": "{ tenant { id } }"}))
                .bearer_auth("not.a.jwt"),
            401,
            "UNAUTHENTICATED",
        ),
        (
            app.http
                .post(&url)
                .json(&json!({"query": "{ tenant { id } }"}))
                .header("authorization", "Basic Zm9vOmJhcg=="),
            401,
            "UNAUTHENTICATED",
        ),
        (app.http.post(&url).json(&json!([])), 400, "BAD_USER_INPUT"),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.expect("send");
        assert_eq!(response.status().as_u16(), status);
        assert!(response.headers().contains_key("x-request-id"));
        let body: Value = response.json().await.expect("json error body");
        assert_eq!(error_code(&body), code, "{body}");
        assert!(body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    // The server is still fine afterwards.
    assert_eq!(
        app.http
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn expired_and_forged_tokens_are_unauthenticated() {
    let secret = "an-explicit-test-secret-that-is-long-enough-for-hs256";
    let app = spawn_with(SpawnOptions {
        env: vec![("JWT_SECRET".into(), secret.into())],
        ..Default::default()
    })
    .await;
    let token = app.sign_up("tokens").await;
    let claims: Value = {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    let mut expired = claims.clone();
    expired["exp"] = json!(1_000_000_000);
    let sign = |claims: &Value, key: &str, alg: jsonwebtoken::Algorithm| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(alg),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    };
    let cases = [
        (
            sign(&expired, secret, jsonwebtoken::Algorithm::HS256),
            "expired",
        ),
        (
            sign(
                &claims,
                "some-other-secret-some-other-secret-xx",
                jsonwebtoken::Algorithm::HS256,
            ),
            "not valid",
        ),
        (
            sign(&claims, secret, jsonwebtoken::Algorithm::HS512),
            "not valid",
        ),
    ];
    for (bad, words) in cases {
        let response = app
            .http
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&bad)
            .json(&json!({"query": "{ tenant { id } }"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(words),
            "{body}"
        );
    }
    assert_eq!(
        app.ok(&token, "{ tenant { slug } }", json!({})).await["tenant"]["slug"],
        "tokens"
    );
}

#[tokio::test]
async fn depth_and_complexity_limits_refuse_abusive_queries() {
    let app = spawn_app().await;
    let t = app.sign_up("limits").await;
    let deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } }";
    let response = app.graphql(Some(&t), deep, json!({})).await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("nested too deep"),
        "{response}"
    );
    let wide = format!(
        "{{ {} }}",
        (0..3000)
            .map(|i| format!("a{i}: tenant {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // 3,000 aliases are refused by the root-field cap before complexity is even computed
    // (the complexity of connections is covered in attacks::limits).
    let response = app.graphql(Some(&t), &wide, json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("root fields"),
        "{response}"
    );
}

#[tokio::test]
async fn health_readiness_metrics_and_graphiql() {
    let app = spawn_app().await;
    let t = app.sign_up("ops").await;
    app.ok(&t, "{ leads { totalCount } }", json!({})).await;
    let ready: Value = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "leadline_graphql_requests_total{operation=\"query\",outcome=\"ok\"}",
        "leadline_graphql_request_duration_seconds_bucket",
        "leadline_http_requests_total",
    ] {
        assert!(
            metrics.contains(needle),
            "{needle} missing in metrics:\n{metrics}"
        );
    }
    let page = app
        .http
        .get(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("graphiql") || page.contains("GraphiQL"));
    let missing = app
        .http
        .get(format!("{}/nope", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let app = spawn_with(SpawnOptions {
        env: vec![("LEADLINE_INTROSPECTION".into(), "false".into())],
        ..Default::default()
    })
    .await;
    let t = app.sign_up("closed").await;
    let response = app
        .graphql(Some(&t), "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(
        response.get("errors").is_some() || response["data"]["__schema"].is_null(),
        "{response}"
    );
    assert_eq!(
        app.ok(&t, "{ tenant { slug } }", json!({})).await["tenant"]["slug"],
        "closed"
    );
}

#[test]
fn committed_schema_matches_the_code() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_leadline"))
        .arg("schema")
        .output()
        .expect("run leadline schema");
    assert!(output.status.success());
    let generated = String::from_utf8(output.stdout).expect("utf8");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    if std::env::var("UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).expect("write schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == generated, "schema.graphql is out of date: run `UPDATE_SCHEMA=1 cargo test --test e2e committed_schema` and commit it");
}
