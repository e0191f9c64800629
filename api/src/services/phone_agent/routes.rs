//! Which use case each verified Twilio delivery runs, and what Twilio is answered: TwiML for
//! the requests whose answer Twilio executes (an incoming call, an outbound call's pick-up, a
//! `<Dial action>`), a report for the callbacks. The HTTP shims verify every Twilio delivery
//! one way and hand it here, so no route repeats the verify-then-dispatch steps.
//!
//! Must not: verify signatures (the HTTP shim does, before this is called), or know HTTP.

use leadline_twilio::VoiceWebhook;
use uuid::Uuid;

use super::{outbound, ReportOutcome, TwilioSigner};
use crate::error::ApiResult;
use crate::state::AppState;

/// A Twilio webhook route of the phone agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwilioRoute<'a> {
    /// `POST /api/voice/twilio/incoming`.
    Incoming,
    /// `POST /api/voice/twilio/status`.
    Status,
    /// `POST /api/voice/twilio/dial-status` (`<Dial action>`).
    DialStatus,
    /// `POST /api/voice/twilio/sms`: a text to a dealership's number (Messaging webhook).
    Sms,
    /// `POST /api/voice/twilio/outbound/{callId}`, with the path's call id as given.
    OutboundAnswer(&'a str),
    /// `POST /api/voice/twilio/outbound/{callId}/status`.
    OutboundStatus(&'a str),
    /// `POST /api/voice/twilio/outbound/{callId}/amd`.
    OutboundAmd(&'a str),
}

/// What a route answers Twilio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioAnswer {
    /// TwiML Twilio runs on the call.
    Twiml(String),
    /// A callback's report.
    Report(ReportOutcome),
    /// The path names no call of ours (not even a call id).
    NotOurCall,
}

/// Runs the use case of `route` for a delivery `signer`'s auth token verified.
pub async fn handle_twilio(
    state: &AppState,
    route: TwilioRoute<'_>,
    webhook: &VoiceWebhook,
    signer: TwilioSigner,
) -> ApiResult<TwilioAnswer> {
    let call_id = |raw: &str| Uuid::parse_str(raw).ok();
    Ok(match route {
        TwilioRoute::Incoming => {
            TwilioAnswer::Twiml(super::answer_incoming(state, webhook, signer).await?)
        }
        TwilioRoute::Status => {
            TwilioAnswer::Report(super::twilio_status(state, webhook, signer).await?)
        }
        TwilioRoute::DialStatus => {
            TwilioAnswer::Twiml(super::dial_status(state, webhook, signer).await?)
        }
        TwilioRoute::Sms => {
            TwilioAnswer::Twiml(super::sms::receive_sms(state, webhook, signer).await?)
        }
        TwilioRoute::OutboundAnswer(raw) => match call_id(raw) {
            Some(id) => {
                TwilioAnswer::Twiml(outbound::answer_outbound(state, id, webhook, signer).await?)
            }
            None => TwilioAnswer::NotOurCall,
        },
        TwilioRoute::OutboundStatus(raw) => match call_id(raw) {
            Some(id) => {
                TwilioAnswer::Report(outbound::outbound_status(state, id, webhook, signer).await?)
            }
            None => TwilioAnswer::NotOurCall,
        },
        TwilioRoute::OutboundAmd(raw) => match call_id(raw) {
            Some(id) => {
                TwilioAnswer::Report(outbound::outbound_amd(state, id, webhook, signer).await?)
            }
            None => TwilioAnswer::NotOurCall,
        },
    })
}
