//! The `nurture_step` job (issue 15, `domain::nurture`): one follow-up of one lead's sequence.
//!
//! Order of a run, and why:
//! 1. A job for a sequence that stopped or moved on (another step recorded it) completes at
//!    once: stops and steps re-read the row, so a stale job never writes twice.
//! 2. What the lead did since it was enrolled: a reply stops the sequence (REPLIED, or OPTED_OUT
//!    when it says "STOP"/"baja"), a booked appointment stops it (BOOKED).
//! 3. The channel (`domain::nurture::pick_channel`): the lead's open WhatsApp conversation, else
//!    SMS through Twilio Messaging — from the tenant's own Twilio account and number when it
//!    connected one (replies then come back to `/api/voice/twilio/sms`), else when this
//!    deployment has a sender —, else e-mail through the mailer; none → UNREACHABLE.
//! 4. The AI-written text (`AiService::write_follow_up`), sent: WhatsApp through the inbox's own
//!    send path (an outbound message and its `send_whatsapp` job, so THE send gate picks the
//!    approved template outside the 24 h window), SMS and e-mail directly. A retryable failure
//!    retries the job; a permanent one is the job's error.
//! 5. The step is recorded with the next stage's job in one transaction.
//!
//! Known limit: a crash after a text or e-mail left but before step 5 sends it again on the
//! retry (neither API takes an idempotency key), as with the inbox's send jobs.
//!
//! Every stop (a reply, an opt-out, a booking, removal, the lead given to a person) also cancels
//! the sequence's waiting step job in the stop's transaction (`store::nurture`), so it never
//! runs; step 1 above stays as the backstop for a step a worker had already claimed.
//!
//! Must not: decide the schedule or the opt-out words (the domain does), or talk GraphQL.

use chrono::Utc;
use leadline_domain::channel::Channel;
use leadline_domain::ids::{ConversationId, LeadId, NurtureEnrollmentId, TenantId};
use leadline_domain::messaging::SenderKind;
use leadline_domain::nurture::{
    is_opt_out, language_for, pick_channel, FollowUpFacts, NurtureChannel, NurtureStage,
    NurtureStatus, Reach, StopReason,
};
use leadline_entity::{jobs, leads, nurture_enrollments, tenants};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::Actor;
use crate::bus::Event;
use crate::error::ApiResult;
use crate::jobs::{JobFailure, JobHandler};
use crate::mailer::{Mail, MailError};
use crate::state::AppState;
use crate::store::nurture::schedule_of;
use crate::store::{ConversationChange, OutboundMessage, Stored};

/// `removeFromNurture`: takes the lead out of nurture (REMOVED, audited) and cancels its waiting
/// step job, announced on `jobUpdated`. NOT_FOUND when the lead (of this tenant) was never
/// enrolled; a stopped sequence is returned as it is.
pub async fn remove_from_nurture(
    state: &AppState,
    tenant: TenantId,
    actor: Actor,
    lead: LeadId,
) -> ApiResult<nurture_enrollments::Model> {
    let stopped = state.store.remove_from_nurture(tenant, actor, lead).await?;
    state.jobs.announce(stopped.cancelled_job.iter());
    Ok(stopped.enrollment)
}

/// The `nurture_step` job handler.
pub struct NurtureStepHandler {
    state: AppState,
    /// Twilio Messaging and the sender, when this deployment sends texts.
    sms: Option<(leadline_twilio::Client, leadline_twilio::messaging::Sender)>,
}

impl NurtureStepHandler {
    /// A handler over the process's state; SMS only with Twilio credentials and
    /// `TWILIO_SMS_FROM`.
    pub fn new(state: AppState) -> Self {
        let sms = match (
            state.config.twilio.client(reqwest::Client::new()),
            state.config.twilio_sms_from.as_deref(),
        ) {
            (Ok(client), Some(from)) => {
                Some((client, leadline_twilio::messaging::Sender::parse(from)))
            }
            _ => None,
        };
        Self { state, sms }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StepPayload {
    enrollment_id: Uuid,
    step: i32,
}

#[async_trait::async_trait]
impl JobHandler for NurtureStepHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let payload: StepPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobFailure::Permanent(format!("bad payload: {e}")))?;
        let tenant = TenantId(job.tenant_id);
        let store = &self.state.store;
        let enrollment = match store
            .nurture_enrollment(tenant, NurtureEnrollmentId(payload.enrollment_id))
            .await
        {
            Ok(row) => row,
            // The lead (and with it the enrolment) was deleted.
            Err(crate::error::ApiError::NotFound(_)) => {
                return Ok(json!({ "skipped": "the enrolment is gone" }))
            }
            Err(error) => return Err(error.into()),
        };
        if NurtureStatus::stored(&enrollment.status)? != NurtureStatus::Active
            || enrollment.steps_sent != payload.step
        {
            return Ok(json!({ "skipped": "the sequence stopped or moved on" }));
        }
        let lead_id = LeadId(enrollment.lead_id);
        let signals = store
            .nurture_signals(tenant, lead_id, enrollment.created_at)
            .await?;
        let stop = if signals.replies.iter().any(|r| is_opt_out(r)) {
            Some(StopReason::OptedOut)
        } else if !signals.replies.is_empty() {
            Some(StopReason::Replied)
        } else if signals.booked {
            Some(StopReason::Booked)
        } else {
            None
        };
        if let Some(reason) = stop {
            return self.stop(tenant, &enrollment, reason).await;
        }
        let lead = store.lead(tenant, lead_id).await?;
        let tenant_row = store.tenant(tenant).await?;
        let sms = self.sms_for(&tenant_row).await?;
        let channel = pick_channel(Reach {
            whatsapp: signals.whatsapp_conversation.is_some(),
            sms: lead.phone.is_some() && sms.is_some(),
            email: lead.email.is_some(),
        });
        let Some(channel) = channel else {
            return self
                .stop(tenant, &enrollment, StopReason::Unreachable)
                .await;
        };
        let stage = NurtureStage::stored(&enrollment.step)?;
        let text = self
            .state
            .ai
            .write_follow_up(
                tenant,
                stage,
                &FollowUpFacts {
                    lead_name: &lead.name,
                    agent_name: tenant_row.agent_name.as_deref(),
                    business_name: &tenant_row.name,
                    // The lead has not written since it was enrolled (that would have stopped
                    // the sequence): its region decides.
                    language: language_for(None, tenant_row.default_phone_region.as_deref()),
                },
            )
            .await;
        let sent = match channel {
            NurtureChannel::Whatsapp => {
                let conversation = signals.whatsapp_conversation.ok_or_else(|| {
                    JobFailure::Permanent("the WhatsApp conversation vanished".into())
                })?;
                self.send_whatsapp(tenant, conversation, stage, &enrollment, text)
                    .await?
            }
            NurtureChannel::Sms => send_sms(sms.as_ref(), &lead, text).await?,
            NurtureChannel::Email => self.send_email(&lead, &tenant_row.name, text).await?,
        };
        let next = schedule_of(&tenant_row).after(stage, enrollment.created_at, Utc::now());
        let recorded = store
            .record_nurture_step(
                tenant,
                NurtureEnrollmentId(enrollment.id),
                payload.step,
                channel,
                next,
            )
            .await?;
        if recorded.is_some() {
            self.state.jobs.wake().await;
        }
        Ok(json!({
            "stage": stage.as_str(),
            "channel": channel.as_str(),
            "sent": sent,
            "next": { "stage": next.0.as_str(), "at": next.1 },
        }))
    }
}

impl NurtureStepHandler {
    async fn stop(
        &self,
        tenant: TenantId,
        enrollment: &nurture_enrollments::Model,
        reason: StopReason,
    ) -> Result<Value, JobFailure> {
        let stopped = self
            .state
            .store
            .stop_nurture(tenant, NurtureEnrollmentId(enrollment.id), reason)
            .await?;
        self.state.jobs.announce(stopped.cancelled_job.iter());
        Ok(json!({ "stopped": reason.as_str() }))
    }

    /// Through the inbox: an AI message in the lead's conversation and its send job (the gate
    /// sends the approved template outside the 24 h window, or blocks and says why).
    async fn send_whatsapp(
        &self,
        tenant: TenantId,
        conversation_id: Uuid,
        stage: NurtureStage,
        enrollment: &nurture_enrollments::Model,
        text: String,
    ) -> Result<Value, JobFailure> {
        let tenant_id = tenant;
        let outbound = OutboundMessage {
            sender_kind: SenderKind::Ai,
            sender_user_id: None,
            body: text,
            // One message per step, even if this job runs twice.
            client_message_id: Some(format!(
                "nurture:{}:{}",
                enrollment.id, enrollment.steps_sent
            )),
            metadata: json!({ "nurture": stage.as_str() }),
        };
        let (message, created, conversation) = self
            .state
            .store
            .add_outbound(
                tenant_id,
                ConversationId(conversation_id),
                outbound,
                ConversationChange::default(),
                |message| {
                    crate::services::inbox::send_job(tenant_id, Channel::Whatsapp, message.id)
                },
            )
            .await?;
        if created {
            self.state.bus.publish(
                tenant_id,
                Event::MessageAdded {
                    message: Box::new(message.clone()),
                },
            );
            crate::services::conversation::publish_conversation(&self.state.bus, &conversation);
            self.state.jobs.wake().await;
        }
        Ok(json!({ "messageId": message.id }))
    }

    /// The Twilio Messaging client and sender a tenant's texts go out with: its own account
    /// and number (`twilioPhoneNumber`, where replies come back) when it connected an account,
    /// else the deployment's (`TWILIO_SMS_FROM`), if any.
    async fn sms_for(
        &self,
        tenant: &tenants::Model,
    ) -> Result<Option<(leadline_twilio::Client, leadline_twilio::messaging::Sender)>, JobFailure>
    {
        let tenant_id = TenantId(tenant.id);
        let own = self.state.store.tenant_twilio_account(tenant_id).await?;
        if let (Some(_), Some(number)) = (own, tenant.twilio_phone_number.as_deref()) {
            let client =
                crate::services::phone_agent::twilio_client_for(&self.state, tenant_id).await?;
            return Ok(Some((
                client,
                leadline_twilio::messaging::Sender::From(number.to_owned()),
            )));
        }
        Ok(self.sms.clone())
    }
}

/// Sends one follow-up text through `sms` (the client and sender of [`NurtureStepHandler::sms_for`]).
async fn send_sms(
    sms: Option<&(leadline_twilio::Client, leadline_twilio::messaging::Sender)>,
    lead: &leads::Model,
    text: String,
) -> Result<Value, JobFailure> {
    let (client, sender) =
        sms.ok_or_else(|| JobFailure::Permanent("SMS is not configured".into()))?;
    let to = lead
        .phone
        .clone()
        .ok_or_else(|| JobFailure::Permanent("the lead has no phone".into()))?;
    let message = leadline_twilio::messaging::CreateMessage {
        to,
        sender: sender.clone(),
        body: text,
        status_callback: None,
    };
    match client.create_message(&message).await {
        Ok(sent) => Ok(json!({ "sid": sent.sid, "status": sent.status })),
        Err(error) if error.is_retryable() => Err(JobFailure::Retry(error.to_string())),
        Err(error) => Err(JobFailure::Permanent(error.to_string())),
    }
}

impl NurtureStepHandler {
    async fn send_email(
        &self,
        lead: &leads::Model,
        business: &str,
        text: String,
    ) -> Result<Value, JobFailure> {
        let to = lead
            .email
            .clone()
            .ok_or_else(|| JobFailure::Permanent("the lead has no e-mail".into()))?;
        let mail = Mail {
            to,
            subject: format!("{business}: following up"),
            body: text,
        };
        match self.state.mailer.send(&mail).await {
            Ok(_) => Ok(json!({ "email": true })),
            Err(MailError::Transient(error)) => Err(JobFailure::Retry(error)),
            Err(MailError::Rejected(error)) => Err(JobFailure::Permanent(error)),
        }
    }
}
