//! Inbound messages from the platforms: [`Store::ingest_inbound`] is the spine's one
//! transaction (lead identity, open conversation, message deduplicated on the platform's
//! message id, and the `ai_response` / `fetch_profile` jobs) that commits together or not at
//! all, so a webhook that fails before the commit can simply be redelivered.
//!
//! Races between two deliveries for the same new contact are settled by the unique keys (identity
//! per tenant+channel+external id, one open conversation per lead+channel, message id per
//! tenant+channel): the loser's transaction rolls back and is retried, finding the winner's rows.
//!
//! Must not: send anything or call a platform (the jobs it enqueues do, after the commit).

use chrono::{DateTime, Utc};
use leadline_domain::channel::Channel;
use leadline_domain::conversation::{ConversationStatus, Handler};
use leadline_domain::ids::TenantId;
use leadline_domain::messaging::{DeliveryStatus, MessageDirection, SenderKind};
use leadline_entity::{conversations, lead_identities, leads, messages};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, TransactionTrait,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::contacts::{insert_messaging_lead, NewMessagingLead};
use super::{open_statuses, race_or, AI_RESPONSE_JOB, FETCH_PROFILE_JOB};
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::jobs::{enqueue, NewJob};
use crate::store::{now, Store};

/// The customer as the platform describes them.
#[derive(Debug, Clone)]
pub struct InboundContact {
    pub channel: Channel,
    /// Phone digits (WhatsApp), PSID/IGSID (Messenger/Instagram), open_id (TikTok).
    pub external_id: String,
    /// E.164, when the channel gives one.
    pub phone: Option<String>,
    /// The profile name, when the channel sends it.
    pub display_name: Option<String>,
}

/// A customer's message, as parsed from a verified webhook.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub contact: InboundContact,
    /// The platform's id for the message: the dedup key.
    pub platform_message_id: String,
    /// What a person would read (text, caption, chosen button...).
    pub body: String,
    /// Everything else worth keeping (media ids, reply-to, raw type).
    pub metadata: Value,
    /// When the platform says it was sent.
    pub sent_at: DateTime<Utc>,
    /// Whether the channel connection lets the AI answer.
    pub ai_enabled: bool,
}

/// What one stored inbound message created or touched.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub lead: leads::Model,
    pub lead_created: bool,
    pub conversation: conversations::Model,
    pub conversation_created: bool,
    pub message: messages::Model,
    /// The `ai_response` job, when the AI is to answer.
    pub ai_job: Option<Uuid>,
    /// The job that rings the new lead, when the AI got it and the agent can call.
    pub ring_job: Option<Uuid>,
    /// The `fetch_profile` job naming a new Messenger/Instagram lead.
    pub profile_job: Option<Uuid>,
    /// The nurture step jobs this reply cancelled (its follow-ups stopped), to announce.
    pub cancelled_jobs: Vec<leadline_entity::jobs::Model>,
}

/// The outcome of [`Store::ingest_inbound`].
#[derive(Debug, Clone)]
pub enum IngestOutcome {
    /// New message stored.
    Stored(Box<Ingested>),
    /// The platform redelivered a message we already have; nothing changed.
    Duplicate,
}

fn fallback_name(contact: &InboundContact) -> String {
    if let Some(name) = contact
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        return name.chars().take(200).collect();
    }
    if let Some(phone) = &contact.phone {
        return phone.clone();
    }
    let tail: String = contact
        .external_id
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{} user {tail}", channel_display_name(contact.channel))
}

fn channel_display_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Whatsapp => "WhatsApp",
        Channel::Instagram => "Instagram",
        Channel::Facebook => "Messenger",
        Channel::Tiktok => "TikTok",
        _ => "Chat",
    }
}

impl Store {
    /// Stores one inbound message in ONE transaction (see the module docs). A redelivery
    /// returns [`IngestOutcome::Duplicate`] without touching anything.
    pub async fn ingest_inbound(
        &self,
        tenant: TenantId,
        inbound: &InboundMessage,
    ) -> ApiResult<IngestOutcome> {
        let tenant_id = tenant.uuid();
        let mut last = None;
        for _ in 0..3 {
            let tx = self.db.begin().await?;
            match self.try_ingest(&tx, tenant_id, inbound).await {
                Ok(IngestOutcome::Duplicate) => {
                    tx.rollback().await?;
                    return Ok(IngestOutcome::Duplicate);
                }
                Ok(stored) => match tx.commit().await {
                    Ok(()) => return Ok(stored),
                    Err(error) if is_unique_violation(&error) => last = Some(race_or(error)),
                    Err(error) => return Err(error.into()),
                },
                Err(ApiError::Conflict(reason)) => {
                    // The transaction is dropped (rolled back); try again from the top, where
                    // the winner's rows are now visible.
                    last = Some(ApiError::Conflict(reason));
                }
                Err(error) => return Err(error),
            }
        }
        Err(last.unwrap_or_else(|| ApiError::Conflict("concurrent delivery".into())))
    }

    async fn try_ingest(
        &self,
        tx: &DatabaseTransaction,
        tenant_id: Uuid,
        inbound: &InboundMessage,
    ) -> ApiResult<IngestOutcome> {
        let channel = inbound.contact.channel.as_str();
        let seen = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::Channel.eq(channel))
            .filter(messages::Column::PlatformMessageId.eq(&inbound.platform_message_id))
            .count(tx)
            .await?;
        if seen > 0 {
            return Ok(IngestOutcome::Duplicate);
        }
        let at = now();
        let (lead, lead_created) = self
            .lead_for_contact(tx, tenant_id, &inbound.contact)
            .await?;
        // A new AI lead with a phone is rung like one from `createLead`. A lead an inbound call
        // creates never comes through here: it is already on the line with the agent.
        let ring_job = if lead_created {
            crate::store::outbound_calls::enqueue_ring_new_lead(tx, &lead).await?
        } else {
            None
        };

        let open = conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(tenant_id))
            .filter(conversations::Column::LeadId.eq(lead.id))
            .filter(conversations::Column::Channel.eq(channel))
            .filter(conversations::Column::Status.is_in(open_statuses()))
            .one(tx)
            .await?;
        let (conversation, conversation_created) = match open {
            Some(conversation) => {
                let mut row = conversation.into_active_model();
                row.last_inbound_at = Set(Some(at));
                row.last_message_at = Set(Some(at));
                row.updated_at = Set(at);
                (row.update(tx).await?, false)
            }
            None => {
                let row = conversations::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id),
                    lead_id: Set(lead.id),
                    channel: Set(channel.to_owned()),
                    status: Set(ConversationStatus::Active.as_str().into()),
                    handled_by: Set(if lead.handler == Handler::Human.as_str() {
                        Handler::Human.as_str().into()
                    } else {
                        Handler::Ai.as_str().into()
                    }),
                    assignee_user_id: Set(lead.assigned_user_id),
                    subject: Set(None),
                    ai_turns: Set(0),
                    last_inbound_at: Set(Some(at)),
                    last_message_at: Set(Some(at)),
                    created_at: Set(at),
                    updated_at: Set(at),
                };
                (row.insert(tx).await.map_err(race_or)?, true)
            }
        };

        let message = messages::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            conversation_id: Set(conversation.id),
            channel: Set(channel.to_owned()),
            direction: Set(MessageDirection::Inbound.as_str().into()),
            sender_kind: Set(SenderKind::Lead.as_str().into()),
            sender_user_id: Set(None),
            body: Set(inbound.body.clone()),
            platform_message_id: Set(Some(inbound.platform_message_id.clone())),
            client_message_id: Set(None),
            delivery_status: Set(DeliveryStatus::Received.as_str().into()),
            delivery_error: Set(None),
            read_at: Set(None),
            metadata: Set(with_sent_at(&inbound.metadata, inbound.sent_at)),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx)
        .await
        .map_err(race_or)?;

        let mut cancelled_jobs = Vec::new();
        if !lead_created {
            // A reply ends the lead's follow-ups (an opt-out says why) and cancels the waiting
            // step; with the message, so a step already running sees it stopped.
            let reason = if leadline_domain::nurture::is_opt_out(&inbound.body) {
                leadline_domain::nurture::StopReason::OptedOut
            } else {
                leadline_domain::nurture::StopReason::Replied
            };
            let stopped =
                crate::store::nurture::stop_lead_nurture(tx, tenant_id, lead.id, reason).await?;
            cancelled_jobs.extend(stopped.into_iter().filter_map(|s| s.cancelled_job));
        }

        let ai_job = if inbound.ai_enabled
            && conversation.handled_by == Handler::Ai.as_str()
            && conversation.status == ConversationStatus::Active.as_str()
        {
            let job = NewJob::new(
                tenant_id,
                AI_RESPONSE_JOB,
                json!({ "conversationId": conversation.id, "messageId": message.id }),
            )
            .idempotent(format!("{AI_RESPONSE_JOB}:{}", message.id));
            Some(enqueue(tx, job).await?.0)
        } else {
            None
        };
        let profile_job = if lead_created
            && inbound.contact.display_name.is_none()
            && matches!(
                inbound.contact.channel,
                Channel::Facebook | Channel::Instagram
            ) {
            let job = NewJob::new(
                tenant_id,
                FETCH_PROFILE_JOB,
                json!({ "leadId": lead.id, "channel": channel, "externalId": inbound.contact.external_id, "fallbackName": lead.name }),
            )
            .idempotent(format!("{FETCH_PROFILE_JOB}:{}", lead.id));
            Some(enqueue(tx, job).await?.0)
        } else {
            None
        };
        Ok(IngestOutcome::Stored(Box::new(Ingested {
            profile_job,
            cancelled_jobs,
            lead,
            lead_created,
            conversation,
            conversation_created,
            message,
            ai_job,
            ring_job,
        })))
    }

    /// The lead behind `contact`, created at 50/WARM with its identity when new.
    async fn lead_for_contact(
        &self,
        tx: &DatabaseTransaction,
        tenant_id: Uuid,
        contact: &InboundContact,
    ) -> ApiResult<(leads::Model, bool)> {
        let channel = contact.channel.as_str();
        let identity = lead_identities::Entity::find()
            .filter(lead_identities::Column::TenantId.eq(tenant_id))
            .filter(lead_identities::Column::Channel.eq(channel))
            .filter(lead_identities::Column::ExternalId.eq(&contact.external_id))
            .one(tx)
            .await?;
        if let Some(identity) = identity {
            let lead = leads::Entity::find_by_id(identity.lead_id)
                .filter(leads::Column::TenantId.eq(tenant_id))
                .one(tx)
                .await?
                .ok_or(ApiError::NotFound("lead"))?;
            return Ok((lead, false));
        }
        let lead = insert_messaging_lead(
            tx,
            tenant_id,
            NewMessagingLead {
                channel,
                external_id: &contact.external_id,
                display_name: contact.display_name.clone(),
                name: fallback_name(contact),
                email: None,
                phone: contact.phone.clone(),
            },
        )
        .await?;
        Ok((lead, true))
    }
}

fn with_sent_at(metadata: &Value, sent_at: DateTime<Utc>) -> Value {
    let mut metadata = match metadata {
        Value::Object(map) => Value::Object(map.clone()),
        Value::Null => json!({}),
        other => json!({ "raw": other }),
    };
    if let Value::Object(map) = &mut metadata {
        map.insert("sentAt".into(), json!(sent_at.to_rfc3339()));
    }
    metadata
}
