//! Leads, their identities and score history. Score changes lock the lead row (PostgreSQL) or
//! run under SQLite's single writer, so concurrent adjustments never lose an update, and every
//! change writes a `lead_score_events` row in the same transaction.

use leadline_domain::channel::Channel;
use leadline_domain::compliance::Consent;
use leadline_domain::conversation::Handler;
use leadline_domain::ids::{LeadId, MessageId, TenantId};
use leadline_domain::lead::{apply_inbox_delta, LeadStatus, Temperature, INITIAL_SCORE};
use leadline_entity::{lead_identities, lead_score_events, leads};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::allocation::allocate_lead;
use super::nurture::enroll_new_lead;
use super::products::contains_ci;
use super::{now, paginate, Page, PageRequest, Store};
use crate::auth::Actor;
use crate::error::{is_unique_violation, ApiError, ApiResult};

/// The identity channel name for references from third-party CRMs.
pub const EXTERNAL_IDENTITY: &str = "EXTERNAL";

/// A validated new lead.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub name: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub company: Option<String>,
    pub status: LeadStatus,
    pub notes: Option<String>,
    pub source_channel: Option<Channel>,
}

/// A partial change; `Some(None)` clears an optional field.
#[derive(Debug, Default, Clone)]
pub struct LeadChanges {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub status: Option<LeadStatus>,
    pub notes: Option<Option<String>>,
    /// IANA zone (validated by the caller), a hint for calling hours.
    pub time_zone: Option<Option<String>>,
}

/// Filter for lead listings; all parts combine with AND.
#[derive(Debug, Default)]
pub struct LeadFilter {
    pub status: Option<LeadStatus>,
    pub temperature: Option<Temperature>,
    pub min_score: Option<i32>,
    /// Leads reachable on this channel (having an identity there) or that came from it.
    pub channel: Option<Channel>,
    /// Case-insensitive match on name, e-mail, phone or company.
    pub search: Option<String>,
    /// AI or HUMAN (the sales team's queue).
    pub handled_by: Option<Handler>,
}

/// A score change request.
#[derive(Debug, Clone)]
pub struct ScoreAdjustment {
    pub delta: i32,
    pub signal: String,
    pub reason: String,
    pub source_message_id: Option<MessageId>,
}

pub(super) fn new_lead_row(tenant_id: Uuid, lead: NewLead, handler: Handler) -> leads::ActiveModel {
    let at = now();
    leads::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        name: Set(lead.name),
        email: Set(lead.email),
        phone: Set(lead.phone),
        company: Set(lead.company),
        status: Set(lead.status.as_str().to_owned()),
        score: Set(INITIAL_SCORE),
        temperature: Set(Temperature::for_inbox_score(INITIAL_SCORE)
            .as_str()
            .to_owned()),
        source_channel: Set(lead.source_channel.map(|c| c.as_str().to_owned())),
        notes: Set(lead.notes),
        handler: Set(handler.as_str().into()),
        assigned_user_id: Set(None),
        metadata: Set(json!({})),
        last_contacted_at: Set(None),
        call_consent: Set(Consent::Unknown.as_str().to_owned()),
        call_consent_at: Set(None),
        time_zone: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// Inserts a new lead in `tx`, allocated to the AI or the human team at the tenant's share
/// (`store::allocation`), and enrolls an AI lead in nurture when the tenant has it on.
pub(super) async fn insert_lead(
    tx: &DatabaseTransaction,
    tenant_id: Uuid,
    lead: NewLead,
) -> ApiResult<leads::Model> {
    let (handler, tenant) = allocate_lead(tx, TenantId(tenant_id)).await?;
    let created = new_lead_row(tenant_id, lead, handler).insert(tx).await?;
    crate::store::usage::record_new_lead(tx, &created).await?;
    if handler == Handler::Ai {
        enroll_new_lead(tx, &tenant, &created).await?;
    }
    Ok(created)
}

fn apply_changes(row: &mut leads::ActiveModel, changes: LeadChanges) {
    if let Some(v) = changes.name {
        row.name = Set(v);
    }
    if let Some(v) = changes.email {
        row.email = Set(v);
    }
    if let Some(v) = changes.phone {
        row.phone = Set(v);
    }
    if let Some(v) = changes.company {
        row.company = Set(v);
    }
    if let Some(v) = changes.status {
        row.status = Set(v.as_str().to_owned());
    }
    if let Some(v) = changes.notes {
        row.notes = Set(v);
    }
    if let Some(v) = changes.time_zone {
        row.time_zone = Set(v);
    }
    row.updated_at = Set(now());
}

async fn lead_in<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid) -> ApiResult<leads::Model> {
    leads::Entity::find_by_id(id)
        .filter(leads::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("lead"))
}

impl Store {
    /// Creates a lead at score 50 (WARM), allocated to the AI or the human team.
    pub async fn create_lead(&self, tenant: TenantId, lead: NewLead) -> ApiResult<leads::Model> {
        let tx = self.db.begin().await?;
        let created = insert_lead(&tx, tenant.uuid(), lead).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// One lead of the tenant.
    pub async fn lead(&self, tenant: TenantId, id: LeadId) -> ApiResult<leads::Model> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        lead_in(&self.db, tenant_id, id).await
    }

    /// A page of leads, newest first.
    pub async fn leads(
        &self,
        tenant: TenantId,
        filter: LeadFilter,
        page: PageRequest,
    ) -> ApiResult<Page<leads::Model>> {
        let tenant_id = tenant.uuid();
        let mut select = leads::Entity::find().filter(leads::Column::TenantId.eq(tenant_id));
        if let Some(status) = filter.status {
            select = select.filter(leads::Column::Status.eq(status.as_str()));
        }
        if let Some(temperature) = filter.temperature {
            select = select.filter(leads::Column::Temperature.eq(temperature.as_str()));
        }
        if let Some(handler) = filter.handled_by {
            select = select.filter(leads::Column::Handler.eq(handler.as_str()));
        }
        if let Some(min_score) = filter.min_score {
            select = select.filter(leads::Column::Score.gte(min_score));
        }
        if let Some(channel) = filter.channel {
            let with_identity = Query::select()
                .column(lead_identities::Column::LeadId)
                .from(lead_identities::Entity)
                .and_where(lead_identities::Column::TenantId.eq(tenant_id))
                .and_where(lead_identities::Column::Channel.eq(channel.as_str()))
                .to_owned();
            select = select.filter(
                Condition::any()
                    .add(leads::Column::SourceChannel.eq(channel.as_str()))
                    .add(leads::Column::Id.in_subquery(with_identity)),
            );
        }
        if let Some(term) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            select = select.filter(
                Condition::any()
                    .add(contains_ci((leads::Entity, leads::Column::Name), term))
                    .add(contains_ci((leads::Entity, leads::Column::Email), term))
                    .add(contains_ci((leads::Entity, leads::Column::Phone), term))
                    .add(contains_ci((leads::Entity, leads::Column::Company), term)),
            );
        }
        paginate(&self.reader, select, leads::Column::Id, page).await
    }

    /// Applies a partial change.
    pub async fn update_lead(
        &self,
        tenant: TenantId,
        id: LeadId,
        changes: LeadChanges,
    ) -> ApiResult<leads::Model> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        let tx = self.db.begin().await?;
        let mut row = lead_in(&tx, tenant_id, id).await?.into_active_model();
        apply_changes(&mut row, changes);
        let lead = row.update(&tx).await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Deletes a lead with its identities, score history and conversations.
    pub async fn delete_lead(&self, tenant: TenantId, id: LeadId) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        let result = leads::Entity::delete_many()
            .filter(leads::Column::Id.eq(id))
            .filter(leads::Column::TenantId.eq(tenant_id))
            .exec(&self.db)
            .await?;
        if result.rows_affected == 0 {
            return Err(ApiError::NotFound("lead"));
        }
        Ok(())
    }

    /// The lead known to `system` as `reference`: updated if it exists, created from `lead`
    /// otherwise (with `lead` None, a missing lead is NOT_FOUND: the caller may not create one).
    /// Idempotent and safe under concurrency: the identity's unique key decides the race, and the
    /// loser retries as an update. Returns the lead and whether it was created.
    pub async fn upsert_lead_by_external_ref(
        &self,
        tenant: TenantId,
        system: &str,
        reference: &str,
        lead: Option<NewLead>,
        changes: LeadChanges,
    ) -> ApiResult<(leads::Model, bool)> {
        let tenant_id = tenant.uuid();
        let external_id = format!("{system}:{reference}");
        for _ in 0..2 {
            let tx = self.db.begin().await?;
            match self
                .try_upsert_external(&tx, tenant_id, &external_id, lead.clone(), changes.clone())
                .await
            {
                Ok(outcome) => match tx.commit().await {
                    Ok(()) => return Ok(outcome),
                    Err(error) if is_unique_violation(&error) => continue,
                    Err(error) => return Err(error.into()),
                },
                Err(ApiError::Conflict(_)) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(ApiError::Conflict(
            "the lead was changed concurrently; retry".into(),
        ))
    }

    async fn try_upsert_external(
        &self,
        tx: &DatabaseTransaction,
        tenant_id: Uuid,
        external_id: &str,
        lead: Option<NewLead>,
        changes: LeadChanges,
    ) -> ApiResult<(leads::Model, bool)> {
        let identity = lead_identities::Entity::find()
            .filter(lead_identities::Column::TenantId.eq(tenant_id))
            .filter(lead_identities::Column::Channel.eq(EXTERNAL_IDENTITY))
            .filter(lead_identities::Column::ExternalId.eq(external_id))
            .one(tx)
            .await?;
        if let Some(identity) = identity {
            let mut row = lead_in(tx, tenant_id, identity.lead_id)
                .await?
                .into_active_model();
            apply_changes(&mut row, changes);
            return Ok((row.update(tx).await?, false));
        }
        let lead = lead.ok_or(ApiError::NotFound("lead"))?;
        let display_name = lead.name.clone();
        let created = insert_lead(tx, tenant_id, lead).await?;
        lead_identities::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            lead_id: Set(created.id),
            channel: Set(EXTERNAL_IDENTITY.into()),
            external_id: Set(external_id.to_owned()),
            display_name: Set(Some(display_name)),
            created_at: Set(now()),
        }
        .insert(tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::Conflict("identity taken concurrently".into())
            } else {
                e.into()
            }
        })?;
        Ok((created, true))
    }

    /// How many score events a message caused (the AI turn applies a message's signals once).
    pub async fn score_events_from_message(
        &self,
        tenant: TenantId,
        message: MessageId,
    ) -> ApiResult<u64> {
        let tenant_id = tenant.uuid();
        let message_id = message.uuid();
        Ok(sea_orm::PaginatorTrait::count(
            lead_score_events::Entity::find()
                .filter(lead_score_events::Column::TenantId.eq(tenant_id))
                .filter(lead_score_events::Column::SourceMessageId.eq(message_id)),
            &self.db,
        )
        .await?)
    }

    /// Moves a lead's score by `delta` (inbox model, clamped) and records why.
    pub async fn adjust_lead_score(
        &self,
        tenant: TenantId,
        actor: Actor,
        lead: LeadId,
        adjustment: ScoreAdjustment,
    ) -> ApiResult<(leads::Model, lead_score_events::Model)> {
        let tenant_id = tenant.uuid();
        let lead_id = lead.uuid();
        let tx = self.db.begin().await?;
        let mut query =
            leads::Entity::find_by_id(lead_id).filter(leads::Column::TenantId.eq(tenant_id));
        if self.is_postgres() {
            query = query.lock_exclusive();
        }
        let lead = query.one(&tx).await?.ok_or(ApiError::NotFound("lead"))?;
        let change = apply_inbox_delta(lead.score, adjustment.delta)
            .map_err(|e| ApiError::invalid("delta", e))?;
        let at = now();
        let mut row = lead.into_active_model();
        row.score = Set(change.score);
        row.temperature = Set(change.temperature.as_str().to_owned());
        row.updated_at = Set(at);
        let lead = row.update(&tx).await?;
        let event = lead_score_events::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            lead_id: Set(lead_id),
            delta: Set(adjustment.delta),
            signal: Set(adjustment.signal),
            reason: Set(adjustment.reason),
            score_before: Set(change.previous),
            score_after: Set(change.score),
            temperature_after: Set(change.temperature.as_str().to_owned()),
            source_message_id: Set(adjustment.source_message_id.map(MessageId::uuid)),
            actor_user_id: Set(actor.user_id),
            created_at: Set(at),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok((lead, event))
    }

    /// A lead's score events, newest first.
    pub async fn score_history(
        &self,
        tenant: TenantId,
        lead: LeadId,
        page: PageRequest,
    ) -> ApiResult<Page<lead_score_events::Model>> {
        let tenant_id = tenant.uuid();
        let lead_id = lead.uuid();
        let select = lead_score_events::Entity::find()
            .filter(lead_score_events::Column::TenantId.eq(tenant_id))
            .filter(lead_score_events::Column::LeadId.eq(lead_id));
        paginate(&self.db, select, lead_score_events::Column::Id, page).await
    }

    /// How the lead is known on each channel.
    pub async fn lead_identities(
        &self,
        tenant: TenantId,
        lead: LeadId,
    ) -> ApiResult<Vec<lead_identities::Model>> {
        let tenant_id = tenant.uuid();
        let lead_id = lead.uuid();
        Ok(lead_identities::Entity::find()
            .filter(lead_identities::Column::TenantId.eq(tenant_id))
            .filter(lead_identities::Column::LeadId.eq(lead_id))
            .all(&self.db)
            .await?)
    }
}
