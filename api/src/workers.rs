//! The job kinds every deployment runs and the handler of each: the one registry of what the
//! workers do, shared by `serve` (workers beside the server), `leadline worker`, and the cron
//! shim (`http::jobs`). A new job kind is added here and nowhere else.
//!
//! Must not: hold job logic (handlers live with their use case in `services`, `mailer`).

use crate::jobs::{Handlers, WorkerPool};
use crate::services::inbox::{AiTurnHandler, SendHandler};
use crate::state::AppState;
use crate::store::inbox::AI_RESPONSE_JOB;
use leadline_domain::channel::Channel;

/// The job workers for this process (the handlers every deployment runs).
pub fn worker_pool(state: &AppState) -> WorkerPool {
    let mut handlers = Handlers::builtin()
        .with(
            AI_RESPONSE_JOB,
            AiTurnHandler::new(state.clone()).observing(
                Channel::WebChat,
                crate::services::support::WebChatTurns::new(state.clone()),
            ),
        )
        .with(
            crate::store::inbox::FETCH_PROFILE_JOB,
            crate::services::inbox::ProfileHandler::new(state.clone()),
        )
        .with(
            crate::store::calls::REMINDER_CALL_JOB,
            crate::services::calls::ReminderCallHandler::new(state.clone()),
        )
        .with(
            crate::store::nurture::NURTURE_STEP_JOB,
            crate::services::nurture::NurtureStepHandler::new(state.clone()),
        )
        .with(
            crate::store::outbound_calls::OUTBOUND_CALL_JOB,
            crate::services::phone_agent::outbound::OutboundCallHandler::new(state.clone()),
        )
        .with(
            crate::store::outbound_calls::HANG_UP_JOB,
            crate::services::phone_agent::outbound::HangUpHandler::new(state.clone()),
        )
        .with(
            crate::store::outbound_calls::RING_NEW_LEAD_JOB,
            crate::services::phone_agent::outbound::RingNewLeadHandler::new(state.clone()),
        )
        .with(
            crate::store::billing::STRIPE_EVENT_JOB,
            crate::services::billing::webhook::StripeEventHandler::new(state.clone()),
        )
        .with(
            crate::services::billing::metering::METER_REPORT_JOB,
            crate::services::billing::metering::MeterReportHandler::new(state.clone()),
        )
        .with(
            crate::mailer::SEND_EMAIL_JOB,
            crate::mailer::SendEmailHandler::new(state.store.clone(), state.mailer.clone()),
        );
    for channel in [
        Channel::Whatsapp,
        Channel::Instagram,
        Channel::Facebook,
        Channel::Tiktok,
        Channel::Twilio,
    ] {
        if let Some(kind) = crate::services::inbox::send_job_kind(channel) {
            handlers = handlers.with(kind, SendHandler::new(state.clone(), channel));
        }
    }
    WorkerPool::new(
        state.jobs.clone(),
        handlers,
        state.config.workers.max(1),
        std::time::Duration::from_secs(1),
    )
}
