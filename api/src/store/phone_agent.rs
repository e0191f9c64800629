//! The dealership AI phone agent's rows (issue 15): inbound Twilio calls and the lead they
//! belong to, the media stream's one-time claim, appointments booked by the agent (capacity
//! checked under a lock), transfers to a person, and how a finished call is written.
//!
//! Tenant-scoped like every store function, except the two lookups a webhook needs before it
//! knows the tenant: [`Store::tenant_by_twilio_number`] (the called number routes the call; the
//! delivery's Twilio signature was verified first) and [`Store::call_by_agent_conversation`]
//! (ElevenLabs names only its conversation, which we stored on the call; the delivery's
//! signature was verified first).
//!
//! Must not: decide booking or outcome rules (`domain::dealership` does) or talk to a platform.

use chrono::{DateTime, Utc};
use leadline_domain::calls::CallStatus;
use leadline_domain::channel::Channel;
use leadline_domain::channel::ConnectionStatus;
use leadline_domain::dealership::{call_outcome, CallFacts, PhoneCallOutcome, TransferResult};
use leadline_domain::ids::{CallId, TenantId};
use leadline_domain::lead::LeadStatus;
use leadline_entity::{
    appointments, call_events, calls, channel_connections, lead_identities, leads, tenants,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{now, NewLead, Store};
use crate::error::{is_unique_violation, ApiError, ApiResult};

/// `calls.provider` of phone-agent calls.
pub const TWILIO: &str = "TWILIO";
/// `calls.purpose` of calls the dealership's agent answers.
pub const INBOUND_SALES: &str = "INBOUND_SALES";

/// Kinds of the phone agent's `call_events` rows (besides STATUS, TRANSCRIPT and OUTCOME).
pub mod event_kind {
    /// The agent booked an appointment.
    pub const APPOINTMENT: &str = "APPOINTMENT";
    /// The call was handed to a person.
    pub const TRANSFER: &str = "TRANSFER";
    /// Whether the person it was handed to took it (`DialCallStatus`).
    pub const TRANSFER_RESULT: &str = "TRANSFER_RESULT";
}

/// A tenant's own Twilio account: its TWILIO channel connection, CONNECTED, with the account
/// SID (`externalAccountId`) and the auth token (`accessToken`, sealed at rest), opened.
#[derive(Clone, PartialEq, Eq)]
pub struct TwilioAccount {
    pub tenant_id: TenantId,
    pub account_sid: String,
    pub auth_token: String,
}

impl std::fmt::Debug for TwilioAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioAccount")
            .field("tenant_id", &self.tenant_id)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .finish()
    }
}

impl TwilioAccount {
    /// The account of an opened TWILIO connection row, when it is usable.
    fn of(row: channel_connections::Model) -> Option<Self> {
        let present = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if row.status != ConnectionStatus::Connected.as_str() {
            return None;
        }
        Some(TwilioAccount {
            tenant_id: TenantId(row.tenant_id),
            account_sid: present(row.external_account_id)?,
            auth_token: present(row.access_token)?,
        })
    }
}

/// Appointment statuses.
pub mod appointment_status {
    pub const SCHEDULED: &str = "SCHEDULED";
}

/// An incoming call to store, its values read from a verified Twilio webhook.
#[derive(Debug, Clone)]
pub struct NewInboundCall {
    /// `CallSid`.
    pub call_sid: String,
    /// The caller, E.164 (`None`: withheld or not a phone number).
    pub from: Option<String>,
    /// Twilio's `CallerName`, when it looked one up.
    pub caller_name: Option<String>,
    /// The dealership's number called.
    pub to: String,
    /// AI when the agent answers, HUMAN when it goes to the operator.
    pub handled_by: &'static str,
}

/// What [`Store::start_inbound_call`] did.
#[derive(Debug, Clone)]
pub struct InboundCall {
    pub call: calls::Model,
    /// The first timeline entry; `None` when the call was known already (a redelivery).
    pub entry: Option<call_events::Model>,
    /// The lead, when it was created for this call.
    pub new_lead: Option<leads::Model>,
}

/// An appointment the rules allowed, to store if the slot still has room.
#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub call_id: CallId,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub per_slot: u32,
    pub vehicle: Option<String>,
    pub notes: Option<String>,
    pub contact_name: Option<String>,
    /// E.164.
    pub contact_phone: Option<String>,
}

/// What [`Store::book_appointment`] wrote.
#[derive(Debug, Clone)]
pub struct Booked {
    pub appointment: appointments::Model,
    /// The call, now linked to the appointment's lead.
    pub call: calls::Model,
    /// Its APPOINTMENT entry.
    pub entry: call_events::Model,
    /// The lead's nurture step jobs the booking cancelled, to announce.
    pub cancelled_jobs: Vec<leadline_entity::jobs::Model>,
}

/// What a finished call's reports say; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CallFinish {
    /// Twilio's final status of the call, when this is its status callback.
    pub status: Option<CallStatus>,
    pub duration_seconds: Option<i32>,
    pub recording_url: Option<String>,
    pub transcript: Option<String>,
    pub summary: Option<String>,
    pub machine: bool,
    pub agent_verdict: Option<PhoneCallOutcome>,
}

async fn tenant_locked(
    tx: &DatabaseTransaction,
    postgres: bool,
    tenant_id: Uuid,
) -> ApiResult<tenants::Model> {
    let mut query = tenants::Entity::find_by_id(tenant_id);
    if postgres {
        query = query.lock_exclusive();
    }
    query.one(tx).await?.ok_or(ApiError::NotFound("tenant"))
}

/// The tenant's lead with this phone, or a new one (created, not yet committed).
async fn lead_for_phone(
    tx: &DatabaseTransaction,
    tenant_id: Uuid,
    phone: &str,
    name: Option<&str>,
) -> ApiResult<(leads::Model, bool)> {
    let existing = leads::Entity::find()
        .filter(leads::Column::TenantId.eq(tenant_id))
        .filter(leads::Column::Phone.eq(phone))
        .order_by_asc(leads::Column::Id)
        .one(tx)
        .await?;
    if let Some(lead) = existing {
        return Ok((lead, false));
    }
    // Through the one lead insert, so a caller's new lead is allocated AI or HUMAN like every
    // other new lead.
    let lead = super::leads::insert_lead(
        tx,
        tenant_id,
        NewLead {
            name: name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or(phone)
                .chars()
                .take(200)
                .collect(),
            email: None,
            phone: Some(phone.to_owned()),
            company: None,
            status: LeadStatus::New,
            notes: None,
            source_channel: Some(Channel::Twilio),
        },
    )
    .await?;
    Ok((lead, true))
}

impl Store {
    /// The tenant whose Twilio number is `number` (E.164). Not tenant-scoped: an incoming call
    /// names only the number it rang, and its signature was verified before this is asked.
    pub async fn tenant_by_twilio_number(&self, number: &str) -> ApiResult<Option<tenants::Model>> {
        Ok(tenants::Entity::find()
            .filter(tenants::Column::TwilioPhoneNumber.eq(number))
            .one(&self.db)
            .await?)
    }

    /// The call whose ElevenLabs conversation is `conversation_id`. Not tenant-scoped: a
    /// post-call webhook names only the conversation, and its signature was verified first.
    pub async fn call_by_agent_conversation(
        &self,
        conversation_id: &str,
    ) -> ApiResult<Option<calls::Model>> {
        Ok(calls::Entity::find()
            .filter(calls::Column::AgentConversationId.eq(conversation_id))
            .one(&self.db)
            .await?)
    }

    /// The tenant's call that Twilio knows as `call_sid`.
    pub async fn call_by_twilio_sid(
        &self,
        tenant_id: TenantId,
        call_sid: &str,
    ) -> ApiResult<Option<calls::Model>> {
        Ok(calls::Entity::find()
            .filter(calls::Column::TenantId.eq(tenant_id.uuid()))
            .filter(calls::Column::Provider.eq(TWILIO))
            .filter(calls::Column::ProviderCallId.eq(call_sid))
            .one(&self.db)
            .await?)
    }

    /// Stores an incoming call (RINGING, INBOUND) with the caller's lead, found by number or
    /// created, in one transaction. A redelivery of the same `CallSid` returns the call already
    /// stored and writes nothing.
    pub async fn start_inbound_call(
        &self,
        tenant_id: TenantId,
        call: NewInboundCall,
    ) -> ApiResult<InboundCall> {
        if let Some(known) = self.call_by_twilio_sid(tenant_id, &call.call_sid).await? {
            return Ok(InboundCall {
                call: known,
                entry: None,
                new_lead: None,
            });
        }
        let tenant = tenant_id.uuid();
        let tx = self.db.begin().await?;
        let (lead, created) = match &call.from {
            Some(phone) => {
                let (lead, created) =
                    lead_for_phone(&tx, tenant, phone, call.caller_name.as_deref()).await?;
                (Some(lead), created)
            }
            None => (None, false),
        };
        let at = now();
        let id = Uuid::now_v7();
        let mut row = super::calls::call_row(super::calls::CallRow {
            id,
            tenant_id: tenant,
            lead_id: lead.as_ref().map(|l| l.id),
            invoice_id: None,
            direction: "INBOUND",
            provider: TWILIO,
            provider_call_id: Some(call.call_sid.clone()),
            purpose: INBOUND_SALES,
            status: CallStatus::Ringing,
            from_number: call.from.clone(),
            to_number: call.to.clone(),
            handled_by: call.handled_by.to_owned(),
            attempt: 1,
            blocked_reason: None,
            scheduled_for: None,
            at,
        });
        row.started_at = Set(Some(at));
        row.metadata = Set(json!({ "callerName": call.caller_name }));
        let inserted = row.insert(&tx).await;
        let row = match inserted {
            Ok(row) => row,
            // The same CallSid delivered twice at once: the other delivery stored it.
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                let known = self
                    .call_by_twilio_sid(tenant_id, &call.call_sid)
                    .await?
                    .ok_or_else(|| ApiError::Conflict("the call is being stored; retry".into()))?;
                return Ok(InboundCall {
                    call: known,
                    entry: None,
                    new_lead: None,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let entry = super::calls::insert_event(
            &tx,
            tenant,
            id,
            super::calls::event_kind::STATUS,
            json!({"status": CallStatus::Ringing.as_str(), "direction": "INBOUND", "handledBy": call.handled_by}),
        )
        .await?;
        tx.commit().await?;
        Ok(InboundCall {
            call: row,
            entry: Some(entry),
            new_lead: lead.filter(|_| created),
        })
    }

    /// Claims call `call_id`'s one media stream (`stream_sid`) and records the ElevenLabs
    /// conversation it talks to. `false` when a stream was claimed already (a replayed token)
    /// or the call is over: the second stream is refused.
    pub async fn claim_media_stream(
        &self,
        tenant_id: TenantId,
        call: CallId,
        stream_sid: &str,
    ) -> ApiResult<bool> {
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        let row = super::calls::call_for_update(&tx, self.is_postgres(), tenant_id.uuid(), call_id)
            .await?;
        let over = super::calls::status_of(&row)?.is_terminal();
        if over || row.metadata.get("mediaStream").is_some() {
            tx.rollback().await?;
            return Ok(false);
        }
        let mut metadata = row.metadata.clone();
        if !metadata.is_object() {
            metadata = json!({});
        }
        metadata["mediaStream"] = json!({"streamSid": stream_sid, "at": now()});
        let mut active: calls::ActiveModel = row.into();
        active.metadata = Set(metadata);
        active.updated_at = Set(now());
        active.update(&tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records the ElevenLabs conversation a call talks to.
    pub async fn set_agent_conversation(
        &self,
        tenant_id: TenantId,
        call: CallId,
        conversation_id: &str,
    ) -> ApiResult<calls::Model> {
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        let row = super::calls::call_for_update(&tx, self.is_postgres(), tenant_id.uuid(), call_id)
            .await?;
        let mut active: calls::ActiveModel = row.into();
        active.agent_conversation_id = Set(Some(conversation_id.to_owned()));
        active.updated_at = Set(now());
        let saved = active.update(&tx).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// The tenant's SCHEDULED appointments starting in `[from, to)`, soonest first (at most
    /// `limit`).
    pub async fn appointments_between(
        &self,
        tenant_id: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u64,
    ) -> ApiResult<Vec<appointments::Model>> {
        Ok(appointments::Entity::find()
            .filter(appointments::Column::TenantId.eq(tenant_id.uuid()))
            .filter(appointments::Column::Status.eq(appointment_status::SCHEDULED))
            .filter(appointments::Column::ScheduledAt.gte(from))
            .filter(appointments::Column::ScheduledAt.lt(to))
            .order_by_asc(appointments::Column::ScheduledAt)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// Books an appointment on call `call_id` if its slot still has room: the tenant row is
    /// locked (PostgreSQL; SQLite has one writer) while the slot is counted and the row
    /// inserted, so two calls asking for the last place at once cannot both get it. The lead is
    /// the call's, else the one with `contact_phone` (created if needed). `None`: the slot is
    /// full, nothing written.
    pub async fn book_appointment(
        &self,
        tenant_id: TenantId,
        new: NewAppointment,
    ) -> ApiResult<Option<Booked>> {
        let tenant = tenant_id.uuid();
        let tx = self.db.begin().await?;
        tenant_locked(&tx, self.is_postgres(), tenant).await?;
        let call =
            super::calls::call_for_update(&tx, self.is_postgres(), tenant, new.call_id.uuid())
                .await?;
        let taken = appointments::Entity::find()
            .filter(appointments::Column::TenantId.eq(tenant))
            .filter(appointments::Column::Status.eq(appointment_status::SCHEDULED))
            .filter(appointments::Column::ScheduledAt.eq(new.starts_at))
            .count(&tx)
            .await?;
        if taken >= u64::from(new.per_slot) {
            tx.rollback().await?;
            return Ok(None);
        }
        let lead_id = match (call.lead_id, &new.contact_phone) {
            (Some(id), _) => id,
            (None, Some(phone)) => {
                lead_for_phone(&tx, tenant, phone, new.contact_name.as_deref())
                    .await?
                    .0
                    .id
            }
            (None, None) => {
                return Err(ApiError::bad_input(
                    "phone",
                    "the caller's number is withheld; ask for a phone number to book",
                ))
            }
        };
        let at = now();
        let appointment = appointments::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            lead_id: Set(lead_id),
            call_id: Set(Some(call.id)),
            kind: Set("SHOWROOM_VISIT".to_owned()),
            scheduled_at: Set(new.starts_at),
            duration_minutes: Set(new.duration_minutes),
            status: Set(appointment_status::SCHEDULED.to_owned()),
            notes: Set(new.notes.clone()),
            created_at: Set(at),
            updated_at: Set(at),
            vehicle: Set(new.vehicle.clone()),
            contact_name: Set(new.contact_name.clone()),
            contact_phone: Set(new.contact_phone.clone()),
        }
        .insert(&tx)
        .await?;
        let had_lead = call.lead_id.is_some();
        let mut active: calls::ActiveModel = call.into();
        if !had_lead {
            active.lead_id = Set(Some(lead_id));
        }
        active.updated_at = Set(at);
        let call = active.update(&tx).await?;
        let entry = super::calls::insert_event(
            &tx,
            tenant,
            new.call_id.uuid(),
            event_kind::APPOINTMENT,
            json!({
                "appointmentId": appointment.id,
                "scheduledAt": appointment.scheduled_at,
                "vehicle": appointment.vehicle,
            }),
        )
        .await?;
        // A booking ends the lead's follow-ups now, and cancels the one waiting to go out.
        let stopped = super::nurture::stop_lead_nurture(
            &tx,
            tenant,
            lead_id,
            leadline_domain::nurture::StopReason::Booked,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Booked {
            appointment,
            call,
            entry,
            cancelled_jobs: stopped
                .into_iter()
                .filter_map(|s| s.cancelled_job)
                .collect(),
        }))
    }

    /// Marks a call handed to a person: handled by HUMAN, outcome TRANSFERRED (a booking made
    /// earlier on the call still outranks it when the call is finished), with the reason.
    pub async fn mark_call_transferred(
        &self,
        tenant_id: TenantId,
        call: CallId,
        to_number: &str,
        reason: Option<String>,
    ) -> ApiResult<(calls::Model, call_events::Model)> {
        let tenant = tenant_id.uuid();
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        let row = super::calls::call_for_update(&tx, self.is_postgres(), tenant, call_id).await?;
        let mut metadata = row.metadata.clone();
        if !metadata.is_object() {
            metadata = json!({});
        }
        let transfer = json!({"to": to_number, "reason": reason, "at": now()});
        metadata["transfer"] = transfer.clone();
        let mut active: calls::ActiveModel = row.into();
        active.handled_by = Set("HUMAN".to_owned());
        active.outcome = Set(Some(PhoneCallOutcome::Transferred.as_str().to_owned()));
        active.metadata = Set(metadata);
        active.updated_at = Set(now());
        let saved = active.update(&tx).await?;
        let entry =
            super::calls::insert_event(&tx, tenant, call_id, event_kind::TRANSFER, transfer)
                .await?;
        tx.commit().await?;
        Ok((saved, entry))
    }

    /// The tenant's own Twilio account, when it connected one (else the operator's is used).
    pub async fn tenant_twilio_account(
        &self,
        tenant: TenantId,
    ) -> ApiResult<Option<TwilioAccount>> {
        Ok(self
            .channel_connection_for(tenant, Channel::Twilio)
            .await?
            .and_then(TwilioAccount::of))
    }

    /// The tenants' own Twilio accounts with SID `account_sid`: whose auth token may verify a
    /// webhook claiming that account. Not tenant-scoped: a webhook names only its account, and
    /// only the signature decides (a tenant's account then moves only that tenant's calls).
    pub async fn twilio_accounts_by_sid(&self, account_sid: &str) -> ApiResult<Vec<TwilioAccount>> {
        let rows = channel_connections::Entity::find()
            .filter(channel_connections::Column::Channel.eq(Channel::Twilio.as_str()))
            .filter(channel_connections::Column::ExternalAccountId.eq(account_sid))
            .limit(20)
            .all(&self.db)
            .await?;
        let mut accounts = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(account) = TwilioAccount::of(self.open_connection(row)?) {
                accounts.push(account);
            }
        }
        Ok(accounts)
    }

    /// Gives the tenant's oldest lead with phone `phone` (E.164) its TWILIO identity, so a text
    /// from that number is filed with the lead the dealership already has (created by the CRM
    /// or a call) instead of a new one. Nothing when the identity exists or no lead has it.
    pub async fn link_sms_sender(&self, tenant_id: TenantId, phone: &str) -> ApiResult<()> {
        let tenant = tenant_id.uuid();
        let channel = Channel::Twilio.as_str();
        let known = lead_identities::Entity::find()
            .filter(lead_identities::Column::TenantId.eq(tenant))
            .filter(lead_identities::Column::Channel.eq(channel))
            .filter(lead_identities::Column::ExternalId.eq(phone))
            .one(&self.db)
            .await?;
        if known.is_some() {
            return Ok(());
        }
        let Some(lead) = leads::Entity::find()
            .filter(leads::Column::TenantId.eq(tenant))
            .filter(leads::Column::Phone.eq(phone))
            .order_by_asc(leads::Column::Id)
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        let inserted = lead_identities::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            lead_id: Set(lead.id),
            channel: Set(channel.to_owned()),
            external_id: Set(phone.to_owned()),
            display_name: Set(None),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await;
        match inserted {
            // A concurrent text linked it first: the same outcome.
            Err(error) if !is_unique_violation(&error) => Err(error.into()),
            _ => Ok(()),
        }
    }

    /// Records whether the operator a call was handed to took it (`<Dial action>`'s
    /// `DialCallStatus`) in `metadata.transfer.result`, with a TRANSFER_RESULT entry. A call
    /// sent straight to the operator (agent stopped) gets its `transfer` written here.
    pub async fn record_transfer_result(
        &self,
        tenant_id: TenantId,
        call_id: Uuid,
        result: TransferResult,
        dial_call_sid: Option<String>,
        dial_duration_secs: Option<u32>,
    ) -> ApiResult<(calls::Model, call_events::Model)> {
        let tenant = tenant_id.uuid();
        let tx = self.db.begin().await?;
        let row = super::calls::call_for_update(&tx, self.is_postgres(), tenant, call_id).await?;
        let mut metadata = row.metadata.clone();
        if !metadata.is_object() {
            metadata = json!({});
        }
        let mut transfer = metadata
            .get("transfer")
            .filter(|t| t.is_object())
            .cloned()
            .unwrap_or_else(|| json!({}));
        transfer["result"] = json!(result.as_str());
        transfer["dialCallSid"] = json!(dial_call_sid);
        transfer["dialDurationSeconds"] = json!(dial_duration_secs);
        transfer["resultAt"] = json!(now());
        metadata["transfer"] = transfer;
        let mut active: calls::ActiveModel = row.into();
        active.metadata = Set(metadata);
        active.updated_at = Set(now());
        let saved = active.update(&tx).await?;
        let entry = super::calls::insert_event(
            &tx,
            tenant,
            call_id,
            event_kind::TRANSFER_RESULT,
            json!({
                "result": result.as_str(),
                "dialCallSid": dial_call_sid,
                "dialDurationSeconds": dial_duration_secs,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok((saved, entry))
    }

    /// Records answering-machine detection's verdict that a person answered (`answered_by`
    /// HUMAN), unless the call already has a verdict (a machine's, which ended it, stays). The
    /// call as stored after.
    pub async fn record_human_answer(
        &self,
        tenant_id: TenantId,
        call: CallId,
    ) -> ApiResult<calls::Model> {
        calls::Entity::update_many()
            .col_expr(
                calls::Column::AnsweredBy,
                sea_orm::sea_query::Expr::value(leadline_domain::calls::AnsweredBy::Human.as_str()),
            )
            .col_expr(
                calls::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now()),
            )
            .filter(calls::Column::Id.eq(call.uuid()))
            .filter(calls::Column::TenantId.eq(tenant_id.uuid()))
            .filter(calls::Column::AnsweredBy.is_null())
            .exec(&self.db)
            .await?;
        super::calls::call_in(&self.db, tenant_id.uuid(), call.uuid()).await
    }

    /// Writes what the end of a call reports (Twilio's status callback, ElevenLabs' post-call
    /// webhook, in either order) and decides its outcome from everything known
    /// (`domain::dealership::call_outcome`). Fields already written are kept unless the report
    /// carries them; an OUTCOME entry is written only when the outcome changes, so a redelivery
    /// writes nothing new. `None` entry: nothing changed.
    pub async fn finish_phone_call(
        &self,
        tenant_id: TenantId,
        call: CallId,
        finish: CallFinish,
    ) -> ApiResult<(calls::Model, Vec<call_events::Model>)> {
        let tenant = tenant_id.uuid();
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        let row = super::calls::call_for_update(&tx, self.is_postgres(), tenant, call_id).await?;
        let booked = appointments::Entity::find()
            .filter(appointments::Column::TenantId.eq(tenant))
            .filter(appointments::Column::CallId.eq(call_id))
            .count(&tx)
            .await?
            > 0;
        let mut entries = Vec::new();
        let mut active: calls::ActiveModel = row.clone().into();
        let mut status = super::calls::status_of(&row)?;
        // A call answered by `<Dial>` or never bridged is still RINGING when Twilio says it
        // completed: it was answered on the way.
        let path = match finish.status {
            Some(CallStatus::Completed)
                if matches!(status, CallStatus::Dialing | CallStatus::Ringing) =>
            {
                vec![CallStatus::InProgress, CallStatus::Completed]
            }
            Some(to) => vec![to],
            None => Vec::new(),
        };
        for to in path {
            if let Ok(leadline_domain::calls::Transition::Moved(next)) = status.apply(to) {
                status = next;
                active.status = Set(next.as_str().to_owned());
                if next == CallStatus::InProgress {
                    active.answered_at = Set(Some(now()));
                }
                if next.is_terminal() {
                    active.ended_at = Set(Some(now()));
                }
                entries.push(
                    super::calls::insert_event(
                        &tx,
                        tenant,
                        call_id,
                        super::calls::event_kind::STATUS,
                        json!({"status": next.as_str()}),
                    )
                    .await?,
                );
            }
        }
        if let Some(seconds) = finish.duration_seconds {
            active.duration_seconds = Set(Some(seconds.max(0)));
        }
        if finish.recording_url.is_some() {
            active.recording_url = Set(finish.recording_url.clone());
        }
        if finish.transcript.is_some() {
            active.transcript = Set(finish.transcript.clone());
        }
        if finish.summary.is_some() {
            active.summary = Set(finish.summary.clone());
        }
        let machine = finish.machine
            || row.answered_by.as_deref() == Some("MACHINE")
            || status == CallStatus::Voicemail;
        if finish.machine {
            active.answered_by = Set(Some("MACHINE".to_owned()));
        }
        let previous_verdict = row
            .metadata
            .get("agentVerdict")
            .and_then(Value::as_str)
            .and_then(|v| PhoneCallOutcome::parse(v).ok());
        let verdict = finish.agent_verdict.or(previous_verdict);
        let mut metadata = row.metadata.clone();
        if let (Some(v), true) = (finish.agent_verdict, metadata.is_object()) {
            metadata["agentVerdict"] = json!(v.as_str());
            active.metadata = Set(metadata);
        }
        let unanswered = matches!(
            status,
            CallStatus::NoAnswer | CallStatus::Busy | CallStatus::Canceled
        ) || (status == CallStatus::Failed && row.answered_at.is_none());
        let outcome = call_outcome(CallFacts {
            booked,
            // Handed over by the agent, or sent straight to a person (the agent was stopped).
            transferred: row.metadata.get("transfer").is_some() || row.handled_by == "HUMAN",
            machine,
            unanswered,
            agent_verdict: verdict,
        });
        if row.outcome.as_deref() != Some(outcome.as_str()) {
            active.outcome = Set(Some(outcome.as_str().to_owned()));
            entries.push(
                super::calls::insert_event(
                    &tx,
                    tenant,
                    call_id,
                    super::calls::event_kind::OUTCOME,
                    json!({"outcome": outcome.as_str(), "summary": finish.summary.clone().or(row.summary.clone())}),
                )
                .await?,
            );
        }
        active.updated_at = Set(now());
        let saved = active.update(&tx).await?;
        crate::store::usage::record_call_minutes(&tx, &saved).await?;
        tx.commit().await?;
        Ok((saved, entries))
    }
}
