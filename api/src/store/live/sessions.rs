//! Live sessions' rows: create, read, list, stop, switch the agent, platform state, counters
//! and the dashboard's aggregates. Must not: read or write interactions one by one
//! (`interactions`) or leads (`viewers`).

use leadline_domain::ids::{LiveSessionId, TenantId};
use leadline_entity::{live_interactions, live_sessions};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    limits_to_json, session_in, CounterDelta, LiveSessionFilter, LiveSessionStats, NewLiveSession,
};
use crate::error::{ApiError, ApiResult};
use crate::store::{now, paginate, Page, PageRequest, Store};
use leadline_domain::live::{LivePlatformConfig, LiveSessionStatus};

impl Store {
    /// Creates an ACTIVE session.
    pub async fn create_live_session(
        &self,
        tenant: TenantId,
        new: NewLiveSession,
    ) -> ApiResult<live_sessions::Model> {
        let tenant_id = tenant.uuid();
        let at = now();
        let ids: Vec<Value> = new
            .product_ids
            .iter()
            .map(|id| Value::String(id.to_string()))
            .collect();
        // The session and its ledger row commit together.
        let tx = self.db.begin().await?;
        let session = live_sessions::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            platform: Set(new.platform.as_str().to_owned()),
            status: Set(LiveSessionStatus::Active.as_str().to_owned()),
            agent_enabled: Set(new.agent_enabled),
            title: Set(new.title),
            platform_config: Set(config_json(&new.platform_config)?),
            product_ids: Set(Value::Array(ids)),
            limits: Set(limits_to_json(&new.limits)),
            messages_processed: Set(0),
            responses_sent: Set(0),
            whispers_sent: Set(0),
            quota_used: Set(0),
            owner_id: Set(None),
            lease_until: Set(None),
            started_at: Set(at),
            stopped_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&tx)
        .await?;
        crate::store::usage::record_usage(
            &tx,
            tenant_id,
            &[crate::store::usage::UsageRecord {
                item: leadline_domain::billing::UsageItem::LiveSessions,
                quantity: 1,
                source_kind: "live_session",
                source_id: session.id,
                at,
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(session)
    }

    /// One session of the tenant.
    pub async fn live_session(
        &self,
        tenant: TenantId,
        id: LiveSessionId,
    ) -> ApiResult<live_sessions::Model> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        session_in(&self.db, tenant_id, id).await
    }

    /// A page of the tenant's sessions, newest first.
    pub async fn live_sessions(
        &self,
        tenant: TenantId,
        filter: LiveSessionFilter,
        page: PageRequest,
    ) -> ApiResult<Page<live_sessions::Model>> {
        let tenant_id = tenant.uuid();
        let mut select =
            live_sessions::Entity::find().filter(live_sessions::Column::TenantId.eq(tenant_id));
        if let Some(status) = filter.status {
            select = select.filter(live_sessions::Column::Status.eq(status.as_str()));
        }
        if let Some(platform) = filter.platform {
            select = select.filter(live_sessions::Column::Platform.eq(platform.as_str()));
        }
        paginate(&self.db, select, live_sessions::Column::Id, page).await
    }

    /// Every ACTIVE session of every tenant (boot: the supervisor restarts their readers).
    pub async fn active_live_sessions(&self) -> ApiResult<Vec<live_sessions::Model>> {
        Ok(live_sessions::Entity::find()
            .filter(live_sessions::Column::Status.eq(LiveSessionStatus::Active.as_str()))
            .order_by_asc(live_sessions::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Stops a session (idempotent: stopping a stopped session returns it unchanged).
    pub async fn stop_live_session(
        &self,
        tenant: TenantId,
        id: LiveSessionId,
    ) -> ApiResult<live_sessions::Model> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        let session = session_in(&self.db, tenant_id, id).await?;
        if session.status == LiveSessionStatus::Stopped.as_str() {
            return Ok(session);
        }
        let at = now();
        let mut row = session.into_active_model();
        row.status = Set(LiveSessionStatus::Stopped.as_str().to_owned());
        row.stopped_at = Set(Some(at));
        row.updated_at = Set(at);
        Ok(row.update(&self.db).await?)
    }

    /// Switches the agent on or off for a session.
    pub async fn set_live_agent_enabled(
        &self,
        tenant: TenantId,
        id: LiveSessionId,
        enabled: bool,
    ) -> ApiResult<live_sessions::Model> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        let mut row = session_in(&self.db, tenant_id, id)
            .await?
            .into_active_model();
        row.agent_enabled = Set(enabled);
        row.updated_at = Set(now());
        Ok(row.update(&self.db).await?)
    }

    /// Replaces the session's platform state (e.g. the resolved live chat id, the page token).
    pub async fn set_live_platform_config(
        &self,
        tenant: TenantId,
        id: LiveSessionId,
        config: &LivePlatformConfig,
    ) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        live_sessions::Entity::update_many()
            .col_expr(
                live_sessions::Column::PlatformConfig,
                Expr::value(config_json(config)?),
            )
            .col_expr(live_sessions::Column::UpdatedAt, Expr::value(now()))
            .filter(live_sessions::Column::Id.eq(id))
            .filter(live_sessions::Column::TenantId.eq(tenant_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Adds to the session's counters in one statement (no read-modify-write race).
    pub async fn add_live_counters(
        &self,
        tenant: TenantId,
        id: LiveSessionId,
        delta: CounterDelta,
    ) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        use live_sessions::Column as C;
        let CounterDelta {
            messages,
            responses,
            whispers,
            quota_units,
        } = delta;
        live_sessions::Entity::update_many()
            .col_expr(
                C::MessagesProcessed,
                Expr::col(C::MessagesProcessed).add(messages),
            )
            .col_expr(C::ResponsesSent, Expr::col(C::ResponsesSent).add(responses))
            .col_expr(C::WhispersSent, Expr::col(C::WhispersSent).add(whispers))
            .col_expr(C::QuotaUsed, Expr::col(C::QuotaUsed).add(quota_units))
            .col_expr(C::UpdatedAt, Expr::value(now()))
            .filter(C::Id.eq(id))
            .filter(C::TenantId.eq(tenant_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The session's intents histogram and its viewers' leads by temperature.
    pub async fn live_session_stats(
        &self,
        tenant: TenantId,
        session: LiveSessionId,
    ) -> ApiResult<LiveSessionStats> {
        let tenant_id = tenant.uuid();
        let session_id = session.uuid();
        let mut intents: Vec<(Option<String>, i64)> = live_interactions::Entity::find()
            .select_only()
            .column(live_interactions::Column::Intent)
            .column_as(live_interactions::Column::Id.count(), "count")
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .filter(live_interactions::Column::SessionId.eq(session_id))
            .group_by(live_interactions::Column::Intent)
            .into_tuple()
            .all(&self.db)
            .await?;
        intents.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let leads = self.live_session_leads(tenant, session).await?;
        let mut by_temperature: Vec<(String, i64)> = Vec::new();
        for lead in &leads {
            match by_temperature
                .iter_mut()
                .find(|(t, _)| *t == lead.temperature)
            {
                Some((_, n)) => *n += 1,
                None => by_temperature.push((lead.temperature.clone(), 1)),
            }
        }
        by_temperature.sort();
        Ok(LiveSessionStats {
            intents: intents
                .into_iter()
                .filter_map(|(intent, n)| intent.map(|i| (i, n)))
                .collect(),
            leads_by_temperature: by_temperature,
        })
    }
}

/// The stored JSON of a platform config (a plain struct of strings: serialising cannot fail,
/// but an error is still an error, not a panic).
fn config_json(config: &LivePlatformConfig) -> ApiResult<Value> {
    serde_json::to_value(config).map_err(|error| {
        ApiError::Internal(anyhow::Error::new(error).context("writing a live platform config"))
    })
}
