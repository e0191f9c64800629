//! `m20261207_000003_fill_lead_phone` against a real database (SQLite by default, PostgreSQL
//! when `LEADLINE_TEST_BACKEND=postgres`): WhatsApp leads stored without a phone get the number
//! their identity carries; a phone already there, other channels and ids that are no number
//! are left alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use leadline_api::store::Store;
use leadline_migration::MigratorTrait;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::json;
use uuid::Uuid;

async fn store_at(url: &str) -> Store {
    leadline_api::store::testkit::store_at(url)
        .await
        .expect("a migrated store")
}

async fn tenant(store: &Store) -> Uuid {
    leadline_api::store::testkit::seed_tenant(store, "phones")
        .await
        .expect("tenant")
}

/// A lead with `phone` and one identity (`channel`, `external_id`), as an older release stored it.
async fn lead(
    store: &Store,
    tenant_id: Uuid,
    phone: Option<&str>,
    channel: &str,
    external_id: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    let at = chrono::Utc::now();
    leadline_entity::leads::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        name: Set(format!("lead {external_id}")),
        email: Set(None),
        phone: Set(phone.map(str::to_owned)),
        company: Set(None),
        status: Set("NEW".into()),
        score: Set(50),
        temperature: Set("WARM".into()),
        source_channel: Set(Some(channel.into())),
        notes: Set(None),
        handler: Set("AI".into()),
        assigned_user_id: Set(None),
        metadata: Set(json!({})),
        last_contacted_at: Set(None),
        call_consent: Set("UNKNOWN".into()),
        call_consent_at: Set(None),
        time_zone: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(store.connection())
    .await
    .expect("lead");
    leadline_entity::lead_identities::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        lead_id: Set(id),
        channel: Set(channel.into()),
        external_id: Set(external_id.into()),
        display_name: Set(None),
        created_at: Set(at),
    }
    .insert(store.connection())
    .await
    .expect("identity");
    id
}

async fn phone_of(store: &Store, id: Uuid) -> Option<String> {
    leadline_entity::leads::Entity::find_by_id(id)
        .one(store.connection())
        .await
        .expect("read")
        .expect("lead")
        .phone
}

#[tokio::test]
async fn whatsapp_leads_without_a_phone_get_their_identity_number() {
    let store = store_at(&common::database_url("lead_phone").await).await;
    let tenant_id = tenant(&store).await;
    let missing = lead(&store, tenant_id, None, "WHATSAPP", "15550100123").await;
    let empty = lead(&store, tenant_id, Some(""), "WHATSAPP", "447911123456").await;
    let kept = lead(
        &store,
        tenant_id,
        Some("+525512345678"),
        "WHATSAPP",
        "16505551234",
    )
    .await;
    let instagram = lead(&store, tenant_id, None, "INSTAGRAM", "17841400000000").await;
    let garbage = lead(&store, tenant_id, None, "WHATSAPP", "not-a-number").await;
    let leading_zero = lead(&store, tenant_id, None, "WHATSAPP", "0447911123456").await;

    // Undo this migration and every later one (its own down is a no-op: the phones it fills are
    // true) and run them again, as an upgrade from the release before it would.
    let names: Vec<String> = leadline_migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let position = names
        .iter()
        .position(|n| n == "m20261207_000003_fill_lead_phone")
        .expect("the migration is registered");
    let from_it = u32::try_from(names.len() - position).expect("a few migrations");
    leadline_migration::Migrator::down(store.connection(), Some(from_it))
        .await
        .expect("down");
    leadline_migration::Migrator::up(store.connection(), None)
        .await
        .expect("up");

    assert_eq!(
        phone_of(&store, missing).await.as_deref(),
        Some("+15550100123")
    );
    assert_eq!(
        phone_of(&store, empty).await.as_deref(),
        Some("+447911123456")
    );
    assert_eq!(
        phone_of(&store, kept).await.as_deref(),
        Some("+525512345678")
    );
    assert_eq!(phone_of(&store, instagram).await, None);
    assert_eq!(phone_of(&store, garbage).await, None);
    assert_eq!(phone_of(&store, leading_zero).await, None);
}
