//! Which replica reads a live session when there is no Redis: a conditional UPDATE of
//! `live_sessions.owner_id/lease_until` (the Redis lease is `services::live::lease`). Must not:
//! start or stop readers (`services::live::ownership`).

use chrono::{DateTime, Utc};
use leadline_domain::live::LiveSessionStatus;
use leadline_entity::live_sessions;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::store::Store;

impl Store {
    /// Claims (or renews) `owner`'s lease on an ACTIVE session until `until`: succeeds when the
    /// session has no owner, is already `owner`'s, or its lease ran out before `now`. One
    /// conditional UPDATE, so two replicas cannot both win. The Redis lease (when configured)
    /// is in `services::live::lease`; this one serves the embedded default and Postgres alone.
    pub async fn claim_live_session(
        &self,
        session_id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> ApiResult<bool> {
        use sea_orm::sea_query::{Condition, Expr};
        let result = live_sessions::Entity::update_many()
            .col_expr(live_sessions::Column::OwnerId, Expr::value(owner))
            .col_expr(live_sessions::Column::LeaseUntil, Expr::value(until))
            .filter(live_sessions::Column::Id.eq(session_id))
            .filter(live_sessions::Column::Status.eq(LiveSessionStatus::Active.as_str()))
            .filter(
                Condition::any()
                    .add(live_sessions::Column::OwnerId.is_null())
                    .add(live_sessions::Column::OwnerId.eq(owner))
                    .add(live_sessions::Column::LeaseUntil.is_null())
                    .add(live_sessions::Column::LeaseUntil.lt(now)),
            )
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Gives `owner`'s lease on the session up (no-op when another replica holds it).
    pub async fn release_live_session(&self, session_id: Uuid, owner: &str) -> ApiResult<()> {
        use sea_orm::sea_query::Expr;
        live_sessions::Entity::update_many()
            .col_expr(
                live_sessions::Column::OwnerId,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                live_sessions::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(live_sessions::Column::Id.eq(session_id))
            .filter(live_sessions::Column::OwnerId.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
