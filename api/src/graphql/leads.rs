//! Leads: listing with filters, CRUD, the idempotent CRM upsert, score adjustments with their
//! history, and the live `leadScoreChanged` / `leadUpdated` subscriptions.

use async_graphql::{Context, InputObject, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures::Stream;
use leadline_domain::ids::{LeadId, TenantId};
use leadline_domain::phone::PhoneNumber;
use leadline_domain::tenant::Email;

// Re-exported: `graphql::calls` still names the helper through this module.
pub(crate) use super::subscription::scoped_events;
use super::types::{Channel, Handler, Lead, LeadScoreEvent, LeadStatus, Temperature};
use super::{
    clean_text, connection, parse_id, principal, required_text, state, tenant_for, AccessGuard,
    IdConnection,
};
use crate::auth::Access;
use crate::bus::{Event, LeadScoreChanged};
use crate::error::ApiError;
use crate::store::{
    LeadAssignment, LeadChanges, LeadFilter, NewLead, PageRequest, ScoreAdjustment,
};

/// Filter for `leads`; the parts combine with AND.
#[derive(InputObject, Default)]
pub struct LeadFilterInput {
    /// Pipeline status.
    pub status: Option<LeadStatus>,
    /// Temperature.
    pub temperature: Option<Temperature>,
    /// Score at least this (0–100).
    pub min_score: Option<i32>,
    /// Leads reachable on (or that came from) this channel.
    pub channel: Option<Channel>,
    /// Case-insensitive text in name, e-mail, phone or company.
    pub search: Option<String>,
    /// Who handles the lead: HUMAN lists the sales team's queue.
    pub handled_by: Option<super::types::Handler>,
}

/// Input of `createLead`.
#[derive(InputObject)]
pub struct CreateLeadInput {
    /// Name (1–200 characters).
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number; stored in E.164. National formats need the tenant's default region.
    pub phone: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Pipeline status (default NEW).
    pub status: Option<LeadStatus>,
    /// Free-form notes (at most 10,000 characters).
    pub notes: Option<String>,
    /// The channel the lead came from.
    pub source_channel: Option<Channel>,
}

/// Input of `updateLead`: omitted fields stay; an empty string clears an optional field.
#[derive(InputObject)]
pub struct UpdateLeadInput {
    /// The lead id.
    pub id: ID,
    /// Name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Status.
    pub status: Option<LeadStatus>,
    /// Notes.
    pub notes: Option<String>,
    /// IANA time zone (`America/Bogota`), a hint for calling hours; empty clears it.
    pub time_zone: Option<String>,
}

/// An optional IANA zone from input: `None` leaves it, empty clears it, anything else must be
/// a zone the database knows.
pub(super) fn optional_time_zone(
    value: Option<String>,
) -> Result<Option<Option<String>>, ApiError> {
    match value.as_deref().map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(name) => leadline_domain::compliance::parse_time_zone("timeZone", name)
            .map(|zone| Some(Some(zone.name().to_owned())))
            .map_err(|e| ApiError::invalid("timeZone", e)),
    }
}

/// Input of `deleteLead`.
#[derive(InputObject)]
pub struct DeleteLeadInput {
    /// The lead id.
    pub id: ID,
}

/// Input of `upsertLeadByExternalRef`: the lead `system` knows as `externalRef`.
#[derive(InputObject)]
pub struct UpsertLeadByExternalRefInput {
    /// The calling system, e.g. "hubspot" (1–40 characters).
    pub system: String,
    /// The system's id for the lead (1–200 characters).
    pub external_ref: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Status.
    pub status: Option<LeadStatus>,
    /// Notes.
    pub notes: Option<String>,
}

/// Input of `adjustLeadScore`.
#[derive(InputObject)]
pub struct AdjustLeadScoreInput {
    /// The lead id.
    pub lead_id: ID,
    /// Change, −100…100; the score is clamped to 0–100.
    pub delta: i32,
    /// The signal behind it, e.g. "interested", "manual" (1–64 characters).
    pub signal: String,
    /// Why, in words (1–500 characters).
    pub reason: String,
}

/// Result of lead mutations.
#[derive(SimpleObject)]
pub struct LeadPayload {
    /// The lead.
    pub lead: Lead,
}

/// Result of `upsertLeadByExternalRef`.
#[derive(SimpleObject)]
pub struct UpsertLeadPayload {
    /// The lead.
    pub lead: Lead,
    /// True when this call created it.
    pub created: bool,
}

/// Input of `assignLead`.
#[derive(InputObject)]
pub struct AssignLeadInput {
    /// The lead.
    pub lead_id: ID,
    /// AI (the agent calls and follows it up) or HUMAN (the sales team).
    pub handler: Handler,
    /// With HUMAN: the member who takes the lead (not a viewer); without it the lead waits in
    /// the team's queue. Not allowed with AI.
    pub agent_id: Option<ID>,
}

/// Result of `assignLead`.
#[derive(SimpleObject)]
pub struct AssignLeadPayload {
    /// The lead as assigned now.
    pub lead: Lead,
    /// The agent's call to the lead that was waiting to dial and is cancelled, because the
    /// lead went to a person (`errorCode` LEAD_ASSIGNED_TO_HUMAN).
    pub cancelled_call: Option<super::calls::Call>,
}

/// Result of `deleteLead`.
#[derive(SimpleObject)]
pub struct DeleteLeadPayload {
    /// The id that was deleted.
    pub deleted_id: ID,
}

/// Result of `adjustLeadScore`.
#[derive(SimpleObject)]
pub struct AdjustLeadScorePayload {
    /// The lead with its new score and temperature.
    pub lead: Lead,
    /// The recorded change.
    pub event: LeadScoreEvent,
}

/// A lead's score moved (subscription payload).
#[derive(SimpleObject, Clone)]
pub struct LeadScoreChange {
    /// The lead.
    pub lead_id: ID,
    /// New score.
    pub score: i32,
    /// Score before.
    pub previous_score: i32,
    /// New temperature.
    pub temperature: Temperature,
    /// Signal behind the change.
    pub signal: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

struct LeadFields {
    name: Option<String>,
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    company: Option<Option<String>>,
    notes: Option<Option<String>>,
}

/// Validates the shared lead fields; `phone_region` reads national-format numbers.
fn lead_fields(
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    notes: Option<String>,
    phone_region: Option<&str>,
) -> Result<LeadFields, ApiError> {
    let email = match email {
        None => None,
        Some(e) if e.trim().is_empty() => Some(None),
        Some(e) => Some(Some(
            Email::parse(&e)
                .map_err(|err| ApiError::invalid("email", err))?
                .as_str()
                .to_owned(),
        )),
    };
    let phone = match phone {
        None => None,
        Some(p) if p.trim().is_empty() => Some(None),
        Some(p) => Some(Some(
            PhoneNumber::parse(&p, phone_region)
                .map_err(|err| ApiError::invalid("phone", err))?
                .as_str()
                .to_owned(),
        )),
    };
    Ok(LeadFields {
        name: name.map(|n| required_text(n, "name", 200)).transpose()?,
        email,
        phone,
        company: company
            .map(|c| clean_text(Some(c), "company", 200))
            .transpose()?,
        notes: notes
            .map(|n| clean_text(Some(n), "notes", 10_000))
            .transpose()?,
    })
}

async fn phone_region(
    ctx: &Context<'_>,
    tenant_id: TenantId,
) -> async_graphql::Result<Option<String>> {
    Ok(state(ctx)
        .store
        .tenant(tenant_id)
        .await?
        .default_phone_region)
}

fn publish_lead(ctx: &Context<'_>, lead: &leadline_entity::leads::Model) {
    state(ctx).bus.publish(
        TenantId(lead.tenant_id),
        Event::LeadUpdated {
            lead: Box::new(lead.clone()),
        },
    );
}

#[derive(Default)]
pub struct LeadQuery;

#[Object]
impl LeadQuery {
    /// Leads, newest first, filtered.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        filter: Option<LeadFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Lead>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let mut request = PageRequest::parse(first, after.as_deref())?;
        // The COUNT walks every matching lead; a client that does not show the total should
        // not pay for it (a page stays the same cost however many leads the tenant has).
        if !ctx.look_ahead().field("totalCount").exists() {
            request = request.without_total();
        }
        let filter = filter.unwrap_or_default();
        if let Some(min) = filter.min_score {
            if !(0..=100).contains(&min) {
                return Err(
                    ApiError::bad_input("filter.minScore", "must be between 0 and 100").into(),
                );
            }
        }
        let filter = LeadFilter {
            status: filter.status.map(Into::into),
            temperature: filter.temperature.map(Into::into),
            min_score: filter.min_score,
            channel: filter.channel.map(Into::into),
            search: clean_text(filter.search, "filter.search", 200)?,
            handled_by: filter.handled_by.map(Into::into),
        };
        let page = state(ctx).store.leads(tenant_id, filter, request).await?;
        connection(page, request, |l| l.id, Lead)
    }

    /// One lead; another tenant's lead is NOT_FOUND.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn lead(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Lead> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(Lead(
            state(ctx)
                .store
                .lead(tenant_id, parse_id(&id, "id")?)
                .await?,
        ))
    }
}

#[derive(Default)]
pub struct LeadMutation;

#[Object]
impl LeadMutation {
    /// Creates a lead at score 50 (WARM), allocated to the AI or the human team at the tenant's
    /// `aiLeadPercentage` (see `Lead.handledBy`).
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn create_lead(
        &self,
        ctx: &Context<'_>,
        input: CreateLeadInput,
    ) -> async_graphql::Result<LeadPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let region = phone_region(ctx, tenant_id).await?;
        let fields = lead_fields(
            Some(input.name),
            input.email,
            input.phone,
            input.company,
            input.notes,
            region.as_deref(),
        )?;
        let new_lead = NewLead {
            name: fields.name.unwrap_or_default(),
            email: fields.email.flatten(),
            phone: fields.phone.flatten(),
            company: fields.company.flatten(),
            status: input
                .status
                .map(Into::into)
                .unwrap_or(leadline_domain::lead::LeadStatus::New),
            notes: fields.notes.flatten(),
            source_channel: input.source_channel.map(Into::into),
        };
        crate::services::billing::require_quota(
            state(ctx),
            tenant_id,
            leadline_domain::billing::UsageItem::Leads,
            1,
        )
        .await?;
        let lead = state(ctx).store.create_lead(tenant_id, new_lead).await?;
        publish_lead(ctx, &lead);
        crate::services::phone_agent::outbound::call_new_ai_lead(state(ctx), tenant_id, &lead)
            .await;
        Ok(LeadPayload { lead: Lead(lead) })
    }

    /// Moves a lead between the AI and a person (owners and admins): HUMAN with an `agentId`
    /// gives it to that member, HUMAN alone to the team's queue, AI back to the agent. Audited
    /// (`lead.assigned`) and published (`leadUpdated`); moving it to HUMAN cancels the agent's
    /// call to it that is still waiting to dial, and stops its AI nurture (ASSIGNED_TO_HUMAN,
    /// audited as `lead.nurture_stopped`) with the follow-up waiting to go out. Repeating the
    /// current assignment changes nothing. NOT_FOUND for a lead of another tenant.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn assign_lead(
        &self,
        ctx: &Context<'_>,
        input: AssignLeadInput,
    ) -> async_graphql::Result<AssignLeadPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let lead_id = parse_id(&input.lead_id, "leadId")?;
        let handler: leadline_domain::conversation::Handler = input.handler.into();
        let agent = match (&input.agent_id, handler) {
            (Some(_), leadline_domain::conversation::Handler::Ai) => {
                return Err(ApiError::bad_input("agentId", "only a HUMAN lead has an agent").into())
            }
            (Some(id), _) => Some(parse_id(id, "agentId")?),
            (None, _) => None,
        };
        let assigned = state(ctx)
            .store
            .assign_lead(
                tenant_id,
                principal(ctx).actor(),
                lead_id,
                LeadAssignment { handler, agent },
            )
            .await?;
        if assigned.changed {
            publish_lead(ctx, &assigned.lead);
        }
        if let Some(stopped) = &assigned.nurture_stopped {
            state(ctx).jobs.announce(stopped.cancelled_job.iter());
        }
        let cancelled = match handler {
            leadline_domain::conversation::Handler::Human => {
                crate::services::phone_agent::outbound::cancel_pending_for_lead(
                    state(ctx),
                    tenant_id,
                    lead_id,
                )
                .await?
            }
            leadline_domain::conversation::Handler::Ai => None,
        };
        Ok(AssignLeadPayload {
            lead: Lead(assigned.lead),
            cancelled_call: cancelled.map(super::calls::Call),
        })
    }

    /// Changes a lead.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn update_lead(
        &self,
        ctx: &Context<'_>,
        input: UpdateLeadInput,
    ) -> async_graphql::Result<LeadPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let id = parse_id(&input.id, "id")?;
        let region = phone_region(ctx, tenant_id).await?;
        let fields = lead_fields(
            input.name,
            input.email,
            input.phone,
            input.company,
            input.notes,
            region.as_deref(),
        )?;
        let changes = LeadChanges {
            name: fields.name,
            email: fields.email,
            phone: fields.phone,
            company: fields.company,
            status: input.status.map(Into::into),
            notes: fields.notes,
            time_zone: optional_time_zone(input.time_zone)?,
        };
        let lead = state(ctx).store.update_lead(tenant_id, id, changes).await?;
        publish_lead(ctx, &lead);
        Ok(LeadPayload { lead: Lead(lead) })
    }

    /// Deletes a lead and everything hanging off it.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn delete_lead(
        &self,
        ctx: &Context<'_>,
        input: DeleteLeadInput,
    ) -> async_graphql::Result<DeleteLeadPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let lead: LeadId = parse_id(&input.id, "id")?;
        state(ctx).store.delete_lead(tenant_id, lead).await?;
        // Its customer tokens die with it: open support-chat sockets re-check at once.
        state(ctx).bus.access_changed(
            tenant_id,
            crate::bus::AccessSubject::Lead {
                lead_id: lead.uuid(),
            },
        );
        Ok(DeleteLeadPayload {
            deleted_id: input.id,
        })
    }

    /// For third-party CRMs: the lead `system` knows as `externalRef` is created the first time
    /// and updated after that. Calling it twice gives one lead.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn upsert_lead_by_external_ref(
        &self,
        ctx: &Context<'_>,
        input: UpsertLeadByExternalRefInput,
    ) -> async_graphql::Result<UpsertLeadPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let system = required_text(input.system, "system", 40)?.to_lowercase();
        let reference = required_text(input.external_ref, "externalRef", 200)?;
        let region = phone_region(ctx, tenant_id).await?;
        let fields = lead_fields(
            Some(input.name),
            input.email,
            input.phone,
            input.company,
            input.notes,
            region.as_deref(),
        )?;
        let status = input.status.map(Into::into);
        let new_lead = NewLead {
            name: fields.name.clone().unwrap_or_default(),
            email: fields.email.clone().flatten(),
            phone: fields.phone.clone().flatten(),
            company: fields.company.clone().flatten(),
            status: status.unwrap_or(leadline_domain::lead::LeadStatus::New),
            notes: fields.notes.clone().flatten(),
            source_channel: None,
        };
        let changes = LeadChanges {
            name: fields.name,
            email: fields.email,
            phone: fields.phone,
            company: fields.company,
            status,
            notes: fields.notes,
            time_zone: None,
        };
        // With the plan's included leads used up, an existing lead is still updated; only a
        // new one is refused.
        let refusal = match crate::services::billing::require_quota(
            state(ctx),
            tenant_id,
            leadline_domain::billing::UsageItem::Leads,
            1,
        )
        .await
        {
            Ok(()) => None,
            Err(limit @ ApiError::LimitReached { .. }) => Some(limit),
            Err(other) => return Err(other.into()),
        };
        let create = refusal.is_none().then_some(new_lead);
        let upserted = state(ctx)
            .store
            .upsert_lead_by_external_ref(tenant_id, &system, &reference, create, changes)
            .await;
        let (lead, created) = match (upserted, refusal) {
            (Err(ApiError::NotFound(_)), Some(limit)) => return Err(limit.into()),
            (other, _) => other?,
        };
        publish_lead(ctx, &lead);
        if created {
            crate::services::phone_agent::outbound::call_new_ai_lead(state(ctx), tenant_id, &lead)
                .await;
        }
        Ok(UpsertLeadPayload {
            lead: Lead(lead),
            created,
        })
    }

    /// Moves a lead's score and records why; subscribers of `leadScoreChanged` see it at once.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn adjust_lead_score(
        &self,
        ctx: &Context<'_>,
        input: AdjustLeadScoreInput,
    ) -> async_graphql::Result<AdjustLeadScorePayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let lead_id = parse_id(&input.lead_id, "leadId")?;
        let signal = required_text(input.signal, "signal", 64)?;
        let reason = required_text(input.reason, "reason", 500)?;
        let adjustment = ScoreAdjustment {
            delta: input.delta,
            signal,
            reason,
            source_message_id: None,
        };
        let (lead, event) = state(ctx)
            .store
            .adjust_lead_score(tenant_id, principal(ctx).actor(), lead_id, adjustment)
            .await?;
        let bus = &state(ctx).bus;
        bus.publish(
            tenant_id,
            Event::LeadScoreChanged(LeadScoreChanged::from(&event)),
        );
        publish_lead(ctx, &lead);
        Ok(AdjustLeadScorePayload {
            lead: Lead(lead),
            event: event.into(),
        })
    }
}

#[derive(Default)]
pub struct LeadSubscription;

#[Subscription]
impl LeadSubscription {
    /// Score changes of the tenant's leads (or of one lead).
    async fn lead_score_changed(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<LeadScoreChange>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let wanted = match lead_id {
            Some(id) => Some(
                state(ctx)
                    .store
                    .lead(tenant_id, parse_id(&id, "leadId")?)
                    .await?
                    .id,
            ),
            None => None,
        };
        Ok(scoped_events(
            ctx,
            tenant_id,
            wanted,
            move |event| match event {
                Event::LeadScoreChanged(change) if wanted.is_none_or(|id| id == change.lead_id) => {
                    Some(LeadScoreChange {
                        lead_id: ID(change.lead_id.to_string()),
                        score: change.score,
                        previous_score: change.previous_score,
                        temperature: leadline_domain::lead::Temperature::parse(&change.temperature)
                            .map(Into::into)
                            .unwrap_or(Temperature::Warm),
                        signal: change.signal.clone(),
                        reason: change.reason.clone(),
                        at: change.at,
                    })
                }
                _ => None,
            },
        ))
    }

    /// Lead creations and changes (or of one lead).
    async fn lead_updated(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Lead>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let wanted = match lead_id {
            Some(id) => Some(
                state(ctx)
                    .store
                    .lead(tenant_id, parse_id(&id, "leadId")?)
                    .await?
                    .id,
            ),
            None => None,
        };
        Ok(scoped_events(
            ctx,
            tenant_id,
            wanted,
            move |event| match event {
                Event::LeadUpdated { lead } if wanted.is_none_or(|id| id == lead.id) => {
                    Some(Lead((**lead).clone()))
                }
                _ => None,
            },
        ))
    }
}
