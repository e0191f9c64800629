//! What the api's integration tests share: a fresh database per test on the backend of this pass
//! (SQLite by default, PostgreSQL when `LEADLINE_TEST_BACKEND=postgres`, as `.ci/run` sets), from
//! the one test kit (`store::testkit`) that the e2e tests and benches use too.

/// A fresh database URL named after `label`.
pub async fn database_url(label: &str) -> String {
    leadline_api::store::testkit::fresh_database_url(label)
        .await
        .expect("a fresh test database")
}
