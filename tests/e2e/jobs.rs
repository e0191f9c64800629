//! The job queue's outer surface: the seed-compatible cron shim and the GraphQL operations.
//! Queue semantics (claiming, leases, retries, exactly-once) are tested in api/tests/job_queue.rs.

use serde_json::{json, Value};

use crate::harness::{error_code, spawn_app, spawn_with, SpawnOptions};

#[tokio::test]
async fn cron_shim_needs_its_secret_and_validates_input() {
    let off = spawn_app().await;
    let response = off
        .http
        .get(format!("{}/api/jobs/process", off.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        404,
        "without CRON_SECRET the shim is off"
    );

    let app = spawn_with(SpawnOptions {
        env: vec![
            ("CRON_SECRET".into(), "cron-test-secret".into()),
            ("LEADLINE_WORKERS".into(), "0".into()),
        ],
        ..Default::default()
    })
    .await;
    let url = format!("{}/api/jobs/process", app.base);
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        app.http
            .get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let counts: Value = app
        .http
        .get(&url)
        .bearer_auth("cron-test-secret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        counts["queue"],
        json!({"pending": 0, "running": 0, "completed": 0, "failed": 0, "dead": 0, "cancelled": 0})
    );

    let processed = app
        .http
        .post(&url)
        .bearer_auth("cron-test-secret")
        .json(&json!({"max_jobs": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(processed.status(), 200);
    let body: Value = processed.json().await.unwrap();
    assert_eq!(body["processed"], 0);
    for bad in [
        json!({"max_jobs": 0}),
        json!({"max_jobs": 1000}),
        json!({"max_jobs": "many"}),
    ] {
        let response = app
            .http
            .post(&url)
            .bearer_auth("cron-test-secret")
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn job_operations_are_tenant_scoped() {
    let app = spawn_app().await;
    let t = app.sign_up("queue").await;
    let stats = app.ok(&t, "{ jobQueueStats { pending running completed failed dead } jobs(filter: {status: DEAD}) { totalCount } }", json!({})).await;
    // The only job is the sign-up's verification e-mail, sent or about to be.
    let counts = &stats["jobQueueStats"];
    assert_eq!(
        (counts["failed"].as_i64(), counts["dead"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(
        ["pending", "running", "completed"]
            .iter()
            .filter_map(|k| counts[*k].as_i64())
            .sum::<i64>(),
        1,
        "{counts}"
    );
    assert_eq!(stats["jobs"]["totalCount"], 0);
    let missing = app.graphql(Some(&t), "mutation { retryJob(input: {id: \"01a207cd-44cb-75de-8bf2-3630cff33ee0\"}) { job { id } } }", json!({})).await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let viewer_denied = app
        .graphql(None, "{ jobQueueStats { pending } }", json!({}))
        .await;
    assert_eq!(error_code(&viewer_denied), "UNAUTHENTICATED");
}
