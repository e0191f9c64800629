//! Texts to a dealership's Twilio number (`POST /api/voice/twilio/sms`, issue 15 "Nurture"):
//! the tenant is the one whose number was texted (`To`), the sender is filed with the lead that
//! already has the number (or a new lead), and the text is stored as an inbound message of the
//! lead's SMS conversation (channel TWILIO) through the inbox's one ingestion. That ingestion is
//! what stops the lead's follow-ups: any reply (REPLIED) — a person should follow up now, and
//! the conversation is in the inbox for them — or an opt-out (OPTED_OUT). People answer from
//! the inbox (`sendMessage`, sent by the `send_sms` job from the number the lead texted); the
//! AI never answers a text (`ai_enabled` is off). A text that creates a lead the AI gets also
//! has the agent ring it back (the ingestion's ring job), as a new lead from `createLead` is.
//!
//! A text that is exactly one of Twilio's opt-out words (`STOP`, `UNSUBSCRIBE`, `CANCEL`,
//! `END`, `QUIT`, `STOPALL`, any case) also puts the number on the tenant's do-not-call list,
//! which the compliance gate checks before every dial: no outbound call reaches it again,
//! including one already queued. Twilio itself stops our texts to it and sends the carrier's
//! confirmation, so we answer empty TwiML (no second confirmation).
//!
//! Must not: verify signatures (the HTTP shim does) or write SQL.

use chrono::Utc;
use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use leadline_domain::nurture::is_carrier_opt_out;
use leadline_domain::phone::PhoneNumber;
use leadline_twilio::messaging::InboundMessage as InboundText;
use leadline_twilio::twiml::Response;
use leadline_twilio::VoiceWebhook;
use serde_json::json;

use crate::error::ApiResult;
use crate::services::inbox::ingest::publish_ingested;
use crate::state::AppState;
use crate::store::{InboundContact, InboundMessage, IngestOutcome};

/// The do-not-call reason of a number whose owner texted an opt-out word.
const OPT_OUT_REASON: &str = "SMS_OPT_OUT";

/// A verified Messaging webhook: files the text (see the module docs) and answers empty TwiML.
/// A text to a number no tenant holds, or without a sender, is answered the same and stores
/// nothing. A redelivery (same `MessageSid`) changes nothing.
pub async fn receive_sms(
    state: &AppState,
    webhook: &VoiceWebhook,
    signer: super::TwilioSigner,
) -> ApiResult<String> {
    let answer = Response::new().to_xml();
    let Some(text) = InboundText::from_webhook(webhook) else {
        return Ok(answer);
    };
    let (Ok(to), Ok(from)) = (
        PhoneNumber::parse(&text.to, None),
        PhoneNumber::parse(&text.from, None),
    ) else {
        return Ok(answer);
    };
    let Some(tenant) = state.store.tenant_by_twilio_number(to.as_str()).await? else {
        return Ok(answer);
    };
    let tenant_id = TenantId(tenant.id);
    super::check_signer(state, signer, tenant_id).await?;
    if is_carrier_opt_out(&text.body) {
        // First, and on every redelivery: the one effect that must never be lost.
        state
            .store
            .set_do_not_call(tenant_id, from.as_str(), true, Some(OPT_OUT_REASON.into()))
            .await?;
    }
    state
        .store
        .link_sms_sender(tenant_id, from.as_str())
        .await?;
    let inbound = InboundMessage {
        contact: InboundContact {
            channel: Channel::Twilio,
            external_id: from.as_str().to_owned(),
            phone: Some(from.as_str().to_owned()),
            display_name: None,
        },
        platform_message_id: text.message_sid.clone(),
        body: text.body.clone(),
        metadata: json!({ "sms": { "to": to.as_str(), "messageSid": text.message_sid } }),
        sent_at: Utc::now(),
        ai_enabled: false,
    };
    if let IngestOutcome::Stored(stored) = state.store.ingest_inbound(tenant_id, &inbound).await? {
        let wake = stored.ring_job.is_some();
        publish_ingested(state, tenant_id, *stored);
        if wake {
            // A new AI lead: its ring job (the agent calls the number that texted).
            state.jobs.wake().await;
        }
    }
    Ok(answer)
}
