//! What the api's integration tests share: a fresh database per test on the backend of this pass
//! (SQLite by default, PostgreSQL when `LEADLINE_TEST_BACKEND=postgres`, as `.ci/run` sets).

use uuid::Uuid;

/// A fresh database URL named after `label`.
pub async fn database_url(label: &str) -> String {
    match std::env::var("LEADLINE_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            let admin =
                std::env::var("LEADLINE_TEST_DATABASE_URL").expect("LEADLINE_TEST_DATABASE_URL");
            let name = format!("leadline_{label}_{}", Uuid::now_v7().simple());
            let conn = sea_orm::Database::connect(admin.as_str())
                .await
                .expect("admin connection");
            sea_orm::ConnectionTrait::execute_unprepared(
                &conn,
                &format!("CREATE DATABASE \"{name}\""),
            )
            .await
            .expect("create database");
            format!("{}/{name}", admin.rsplit_once('/').expect("db part").0)
        }
        _ => {
            let dir =
                std::env::temp_dir().join(format!("leadline-{label}-{}", Uuid::now_v7().simple()));
            std::fs::create_dir_all(&dir).expect("dir");
            format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("{label}.db")).display()
            )
        }
    }
}
