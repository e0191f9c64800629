//! The `send_{channel}` jobs: one outbound message, through the one send gate, to its platform
//! (ARCHITECTURE.md §5, last step of the spine).
//!
//! Order of a run, and why:
//! 1. A message already SENT/DELIVERED/READ/BLOCKED completes the job at once: a job reclaimed
//!    after a crash between recording and completing must not send twice.
//! 2. Recipient (the lead's identity on the channel) and credentials (the channel connection;
//!    for SMS, the tenant's Twilio account or the operator's, and the dealership number the
//!    lead's text reached); missing ones are a configuration problem → message FAILED, job
//!    failed permanently.
//! 3. THE send gate, `leadline_domain::messaging::decide_send`: a refusal is recorded as BLOCKED
//!    with its code and sentence, visible to agents, and the job completes (nothing to retry).
//! 4. The tenant's per-channel send rate (`SendLimiter`): over it → the job is retried later.
//! 5. The platform call. Success → SENT with the platform's id; a retryable failure (429, 5xx,
//!    timeout) → retried, the message stays PENDING with the last error; a permanent one → FAILED
//!    with the platform's code and message. On the job's last attempt a retryable failure also
//!    ends FAILED, so no message stays PENDING behind a DEAD job.
//!
//! Known limit: a crash after the platform accepted the message but before `record_send` makes
//! the reclaimed job send again; none of these Send APIs takes an idempotency key.
//!
//! Must not: decide windows or limits itself (the domain gate does), or talk GraphQL.

use std::time::Duration;

use chrono::Utc;
use leadline_domain::channel::{Channel, ConnectionStatus};
use leadline_domain::ids::{ConversationId, LeadId, MessageId, TenantId};
use leadline_domain::messaging::{
    decide_send, DeliveryStatus, MessageDirection, SendContext, SendMode, Sender, SenderKind,
};
use leadline_entity::{channel_connections, jobs, messages};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::bus::Event;
use crate::jobs::{enqueue, JobFailure, JobHandler, NewJob};
use crate::services::send_limit::SendPermit;
use crate::state::AppState;
use crate::store::{whatsapp_template, Stored, WhatsAppTemplate};

/// The job kind that sends a message on `channel`, for the channels the inbox sends on.
pub fn send_job_kind(channel: Channel) -> Option<&'static str> {
    match channel {
        Channel::Whatsapp => Some("send_whatsapp"),
        Channel::Instagram => Some("send_instagram"),
        Channel::Facebook => Some("send_facebook"),
        Channel::Tiktok => Some("send_tiktok"),
        // A reply to a text the lead sent to the dealership's number, through Twilio Messaging.
        Channel::Twilio => Some("send_sms"),
        _ => None,
    }
}

/// The send job for `message_id` on `channel` (idempotency key `send:{messageId}`), if the
/// inbox sends on that channel.
pub fn send_job(tenant_id: TenantId, channel: Channel, message_id: Uuid) -> Option<NewJob> {
    send_job_kind(channel).map(|kind| {
        NewJob::new(tenant_id.uuid(), kind, json!({ "messageId": message_id }))
            .idempotent(format!("send:{message_id}"))
    })
}

/// The `send_{channel}` job handler for one channel.
pub struct SendHandler {
    state: AppState,
    channel: Channel,
}

impl SendHandler {
    /// The handler for `channel`'s send jobs.
    pub fn new(state: AppState, channel: Channel) -> Self {
        Self { state, channel }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendPayload {
    message_id: Uuid,
}

/// A failed platform call, reduced to what the job does about it.
struct PlatformFailure {
    retryable: bool,
    /// The platform's code and message (never a token).
    error: String,
}

/// Where a message goes out: a platform's channel connection, or Twilio Messaging.
enum Route {
    Platform(channel_connections::Model),
    Sms {
        client: leadline_twilio::Client,
        /// The dealership number the lead texted.
        from: String,
    },
}

/// What the platform accepted.
struct Accepted {
    platform_message_id: Option<String>,
    /// How it went out (`text`, `template`, `human_agent_tag`).
    sent_as: &'static str,
}

#[async_trait::async_trait]
impl JobHandler for SendHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let payload: SendPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobFailure::Permanent(format!("bad payload: {e}")))?;
        let tenant_id = TenantId(job.tenant_id);
        let store = &self.state.store;
        let message = store
            .message(tenant_id, MessageId(payload.message_id))
            .await
            .map_err(JobFailure::from)?;
        if message.direction != MessageDirection::Outbound.as_str() {
            return Err(JobFailure::Permanent(
                "only outbound messages are sent".into(),
            ));
        }
        let current = DeliveryStatus::stored(&message.delivery_status).map_err(JobFailure::from)?;
        if DeliveryStatus::ACCEPTED.contains(&current) || current == DeliveryStatus::Blocked {
            return Ok(json!({ "skipped": format!("already {}", message.delivery_status) }));
        }
        if message.channel != self.channel.as_str() {
            return Err(JobFailure::Permanent(format!(
                "a {} message cannot be sent by this job kind",
                message.channel
            )));
        }
        let final_attempt = job.attempts >= job.max_attempts;

        let conversation = store
            .conversation(tenant_id, ConversationId(message.conversation_id))
            .await
            .map_err(JobFailure::from)?;
        let recipient = match store
            .lead_identity(tenant_id, LeadId(conversation.lead_id), self.channel)
            .await
        {
            Ok(identity) => identity.external_id,
            Err(crate::error::ApiError::NotFound(_)) => {
                return self
                    .fail_message(
                        &message,
                        "the lead has no identity on this channel to send to",
                    )
                    .await
            }
            Err(error) => return Err(JobFailure::from(error)),
        };
        let route = match self.route(tenant_id, &conversation).await? {
            Ok(route) => route,
            Err(why) => return self.fail_message(&message, &why).await,
        };
        let template = match &route {
            Route::Platform(connection) => whatsapp_template(&connection.settings),
            Route::Sms { .. } => None,
        };
        // A number that texted STOP is on the do-not-call list: the gate refuses to text it.
        let opted_out = self.channel == Channel::Twilio
            && store
                .is_do_not_call(tenant_id, &recipient)
                .await
                .map_err(JobFailure::from)?;

        // THE send gate.
        let now = Utc::now();
        let sent_in_last_day = store
            .outbound_count_since(
                tenant_id,
                LeadId(conversation.lead_id),
                self.channel,
                now - chrono::Duration::hours(24),
            )
            .await
            .map_err(JobFailure::from)?;
        let context = SendContext {
            channel: self.channel,
            sender: if message.sender_kind == SenderKind::Agent.as_str() {
                Sender::Agent
            } else {
                Sender::Ai
            },
            now,
            last_inbound_at: conversation.last_inbound_at,
            sent_in_last_day: u32::try_from(sent_in_last_day).unwrap_or(u32::MAX),
            whatsapp_template: template.as_ref().map(|t| t.name.clone()),
            opted_out,
        };
        let mode = match decide_send(&context) {
            Ok(mode) => mode,
            Err(reason) => {
                let updated = store
                    .record_send(
                        tenant_id,
                        MessageId(message.id),
                        DeliveryStatus::Blocked,
                        None,
                        Some(format!("{}: {reason}", reason.code())),
                        Some(json!({ "blockedCode": reason.code() })),
                    )
                    .await
                    .map_err(JobFailure::from)?;
                self.publish_update(updated);
                return Ok(json!({ "blocked": reason.code(), "reason": reason.to_string() }));
            }
        };

        if let SendPermit::Limited { retry_after } = self
            .state
            .send_limiter
            .acquire(tenant_id, self.channel)
            .await
        {
            return self.defer(job, &message, final_attempt, retry_after).await;
        }

        match self
            .call_platform(&route, &recipient, &message, mode, template)
            .await
        {
            Ok(accepted) => {
                let updated = store
                    .record_send(
                        tenant_id,
                        MessageId(message.id),
                        DeliveryStatus::Sent,
                        accepted.platform_message_id.clone(),
                        None,
                        Some(json!({ "sentAs": accepted.sent_as })),
                    )
                    .await
                    .map_err(JobFailure::from)?;
                if let Err(error) = store
                    .touch_lead_contacted(tenant_id, LeadId(conversation.lead_id))
                    .await
                {
                    // The message is out; a stale "last contacted" is not worth a resend.
                    tracing::warn!(error = ?error, lead = %conversation.lead_id, "could not mark the lead contacted");
                }
                self.publish_update(updated);
                Ok(json!({
                    "sent": accepted.platform_message_id,
                    "sentAs": accepted.sent_as,
                }))
            }
            Err(failed) if failed.retryable && !final_attempt => {
                // Stays PENDING; the last error is visible while the job waits for its retry.
                store
                    .record_send(
                        tenant_id,
                        MessageId(message.id),
                        DeliveryStatus::Pending,
                        None,
                        Some(failed.error.clone()),
                        None,
                    )
                    .await
                    .map_err(JobFailure::from)?;
                Err(JobFailure::Retry(failed.error))
            }
            Err(failed) => {
                let updated = store
                    .record_send(
                        tenant_id,
                        MessageId(message.id),
                        DeliveryStatus::Failed,
                        None,
                        Some(failed.error.clone()),
                        None,
                    )
                    .await
                    .map_err(JobFailure::from)?;
                self.publish_update(updated);
                if failed.retryable {
                    // The last attempt: the job goes DEAD with the error (and can be revived
                    // with `retryJob`); the message already says FAILED.
                    Err(JobFailure::Retry(failed.error))
                } else {
                    Err(JobFailure::Permanent(failed.error))
                }
            }
        }
    }
}

impl SendHandler {
    /// Records FAILED with `why` and fails the job permanently (a configuration problem that a
    /// retry cannot fix).
    async fn fail_message(
        &self,
        message: &messages::Model,
        why: &str,
    ) -> Result<Value, JobFailure> {
        let updated = self
            .state
            .store
            .record_send(
                TenantId(message.tenant_id),
                MessageId(message.id),
                DeliveryStatus::Failed,
                None,
                Some(why.to_owned()),
                None,
            )
            .await
            .map_err(JobFailure::from)?;
        self.publish_update(updated);
        Err(JobFailure::Permanent(why.to_owned()))
    }

    /// Over the send rate: retried by the queue; on the job's last attempt a continuation job
    /// is scheduled instead, so a busy tenant's message is late, never lost.
    async fn defer(
        &self,
        job: &jobs::Model,
        message: &messages::Model,
        final_attempt: bool,
        retry_after: Duration,
    ) -> Result<Value, JobFailure> {
        let why = format!(
            "send rate limit of {} per minute reached for this channel; retrying in about {} s",
            self.state.config.send_rate_per_minute,
            retry_after.as_secs().max(1)
        );
        if !final_attempt {
            return Err(JobFailure::Retry(why));
        }
        let mut next = NewJob::new(job.tenant_id, job.kind.clone(), job.payload.clone())
            .idempotent(format!("send:{}:after:{}", message.id, job.id));
        next.scheduled_for = Some(
            Utc::now()
                + chrono::Duration::from_std(retry_after).unwrap_or(chrono::Duration::minutes(1)),
        );
        let (next_id, _) = enqueue(self.state.store.connection(), next)
            .await
            .map_err(JobFailure::from)?;
        Ok(json!({ "rateLimited": why, "continuedAs": next_id }))
    }

    /// Where this channel's message goes out, or why it cannot (a configuration problem, for
    /// the message's FAILED): the channel connection; for SMS, the Twilio account the tenant's
    /// texts use and the dealership number the lead's text reached (else `twilioPhoneNumber`).
    async fn route(
        &self,
        tenant_id: TenantId,
        conversation: &leadline_entity::conversations::Model,
    ) -> Result<Result<Route, String>, JobFailure> {
        let store = &self.state.store;
        if self.channel != Channel::Twilio {
            let connection = store
                .channel_connection_for(tenant_id, self.channel)
                .await
                .map_err(JobFailure::from)?;
            return Ok(usable(connection, self.channel).map(Route::Platform));
        }
        let reached = store
            .sms_number_reached(tenant_id, ConversationId(conversation.id))
            .await
            .map_err(JobFailure::from)?;
        let from = match reached {
            Some(number) => number,
            None => match store
                .tenant(tenant_id)
                .await
                .map_err(JobFailure::from)?
                .twilio_phone_number
            {
                Some(number) => number,
                None => {
                    let why = "no dealership number to text from: the lead's texts name none \
                               and twilioPhoneNumber is not set";
                    return Ok(Err(why.into()));
                }
            },
        };
        match crate::services::twilio::twilio_client_for(&self.state, tenant_id).await {
            Ok(client) => Ok(Ok(Route::Sms { client, from })),
            // No Twilio credentials (neither the tenant's account nor the operator's).
            Err(crate::error::ApiError::Unavailable(why)) => Ok(Err(why)),
            Err(error) => Err(JobFailure::from(error)),
        }
    }

    async fn call_platform(
        &self,
        route: &Route,
        recipient: &str,
        message: &messages::Model,
        mode: SendMode,
        template: Option<WhatsAppTemplate>,
    ) -> Result<Accepted, PlatformFailure> {
        let connection = match route {
            Route::Platform(connection) => connection,
            Route::Sms { client, from } => {
                let text = leadline_twilio::messaging::CreateMessage {
                    to: recipient.to_owned(),
                    sender: leadline_twilio::messaging::Sender::From(from.clone()),
                    body: message.body.clone(),
                    status_callback: None,
                };
                return client
                    .create_message(&text)
                    .await
                    .map(|sent| Accepted {
                        platform_message_id: Some(sent.sid),
                        sent_as: "sms",
                    })
                    .map_err(|e| PlatformFailure {
                        retryable: e.is_retryable(),
                        error: e.to_string(),
                    });
            }
        };
        let clients = &self.state.platforms;
        let account = connection.external_account_id.clone().unwrap_or_default();
        let token = connection.access_token.clone().unwrap_or_default();
        match self.channel {
            Channel::Whatsapp => {
                let credentials = leadline_whatsapp::PhoneNumberCredentials {
                    phone_number_id: account,
                    access_token: token,
                };
                let (result, sent_as) = match mode {
                    SendMode::WhatsAppTemplate { name } => {
                        let language = template
                            .map(|t| t.language_code)
                            .unwrap_or_else(|| "en_US".to_owned());
                        let template = leadline_whatsapp::models::Template {
                            name,
                            language: leadline_whatsapp::models::TemplateLanguage {
                                code: language,
                                policy: None,
                            },
                            components: Vec::new(),
                        };
                        (
                            clients
                                .whatsapp
                                .send_template(&credentials, recipient, &template)
                                .await,
                            "template",
                        )
                    }
                    // FreeForm (HumanAgentTag is a Meta-only mode the gate never gives WhatsApp).
                    _ => (
                        clients
                            .whatsapp
                            .send_text(&credentials, recipient, &message.body, None)
                            .await,
                        "text",
                    ),
                };
                result
                    .map(|sent| Accepted {
                        platform_message_id: Some(sent.message_id),
                        sent_as,
                    })
                    .map_err(|e| PlatformFailure {
                        retryable: e.is_retryable(),
                        error: e.to_string(),
                    })
            }
            Channel::Instagram | Channel::Facebook => {
                let credentials = leadline_meta::PageCredentials {
                    page_id: account,
                    access_token: token,
                };
                let (policy, sent_as) = match mode {
                    SendMode::HumanAgentTag => (
                        leadline_meta::SendPolicy::Tag(
                            leadline_meta::models::MessageTag::HumanAgent,
                        ),
                        "human_agent_tag",
                    ),
                    _ => (leadline_meta::SendPolicy::Response, "text"),
                };
                clients
                    .meta
                    .send_text(&credentials, recipient, &message.body, policy)
                    .await
                    .map(|sent| Accepted {
                        platform_message_id: sent.message_id,
                        sent_as,
                    })
                    .map_err(|e| PlatformFailure {
                        retryable: e.is_retryable(),
                        error: e.to_string(),
                    })
            }
            Channel::Tiktok => {
                let credentials = leadline_tiktok::BusinessCredentials {
                    business_id: account,
                    access_token: token,
                };
                clients
                    .tiktok
                    .send_text(&credentials, recipient, &message.body)
                    .await
                    .map(|sent| Accepted {
                        platform_message_id: Some(sent.message_id),
                        sent_as: "text",
                    })
                    .map_err(|e| PlatformFailure {
                        retryable: e.is_retryable(),
                        error: e.to_string(),
                    })
            }
            other => Err(PlatformFailure {
                retryable: false,
                error: format!("{other} messages cannot be sent from the inbox"),
            }),
        }
    }

    fn publish_update(&self, message: messages::Model) {
        self.state.bus.publish(
            TenantId(message.tenant_id),
            Event::MessageUpdated {
                message: Box::new(message),
            },
        );
    }
}

/// The connection if it can send: present, switched on, with an account id and a token (the
/// inbox send jobs and the live agent's TikTok DMs).
pub(crate) fn usable(
    connection: Option<channel_connections::Model>,
    channel: Channel,
) -> Result<channel_connections::Model, String> {
    let Some(connection) = connection else {
        return Err(format!(
            "no {channel} connection is configured for this tenant"
        ));
    };
    if connection.status == ConnectionStatus::Disconnected.as_str() {
        return Err(format!("the {channel} connection is switched off"));
    }
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    if blank(&connection.external_account_id) {
        return Err(format!(
            "the {channel} connection has no external account id (phone number id, page id or business id)"
        ));
    }
    if blank(&connection.access_token) {
        return Err(format!("the {channel} connection has no access token"));
    }
    Ok(connection)
}
