//! `fetch_profile`: names a new Messenger or Instagram lead from the platform's User Profile API.
//!
//! Their webhooks carry only a PSID/IGSID, and the webhook path makes no outbound call, so the
//! lead is created as "Messenger user 123456" and renamed here — only while it still has that
//! name, so an agent's edit in the meantime wins.

use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use leadline_entity::jobs;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::bus::Event;
use crate::jobs::{JobFailure, JobHandler};
use crate::state::AppState;

/// Payload of a `fetch_profile` job.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfilePayload {
    lead_id: Uuid,
    channel: String,
    external_id: String,
    fallback_name: String,
}

/// The `fetch_profile` job handler.
pub struct ProfileHandler {
    state: AppState,
}

impl ProfileHandler {
    /// A handler over the process's state (platform clients, store, bus).
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn skipped(why: &str) -> Result<Value, JobFailure> {
    Ok(json!({ "skipped": why }))
}

#[async_trait::async_trait]
impl JobHandler for ProfileHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let payload: ProfilePayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobFailure::Permanent(format!("bad fetch_profile payload: {e}")))?;
        let (channel, meta_channel) = match Channel::parse(&payload.channel) {
            Ok(Channel::Facebook) => (Channel::Facebook, leadline_meta::Channel::Messenger),
            Ok(Channel::Instagram) => (Channel::Instagram, leadline_meta::Channel::Instagram),
            _ => return skipped("profiles are fetched for Messenger and Instagram only"),
        };
        let store = &self.state.store;
        let Some(connection) = store
            .channel_connection_for(TenantId(job.tenant_id), channel)
            .await
            .map_err(JobFailure::from)?
        else {
            return skipped("the channel is no longer connected");
        };
        let (Some(page_id), Some(access_token)) = (
            connection.external_account_id.filter(|v| !v.is_empty()),
            connection.access_token.filter(|v| !v.is_empty()),
        ) else {
            return skipped("the connection has no page id or access token");
        };
        let credentials = leadline_meta::PageCredentials {
            page_id,
            access_token,
        };
        let profile = match self
            .state
            .platforms
            .meta
            .user_profile(&credentials, &payload.external_id, meta_channel)
            .await
        {
            Ok(profile) => profile,
            Err(error) if error.is_retryable() => return Err(JobFailure::Retry(error.to_string())),
            // No permission for profiles, or a user who blocked the Page: the lead keeps its
            // channel name; the job says why.
            Err(error) => return skipped(&format!("the platform refused: {error}")),
        };
        let Some(name) = profile.display_name() else {
            return skipped("the profile has no name");
        };
        let name: String = name.chars().take(200).collect();
        match store
            .rename_lead_if_unchanged(
                TenantId(job.tenant_id),
                payload.lead_id,
                &payload.fallback_name,
                &name,
            )
            .await
            .map_err(JobFailure::from)?
        {
            Some(lead) => {
                self.state.bus.publish(
                    TenantId(job.tenant_id),
                    Event::LeadUpdated {
                        lead: Box::new(lead),
                    },
                );
                Ok(json!({ "renamed": true }))
            }
            None => skipped("the lead was renamed or deleted meanwhile"),
        }
    }
}
