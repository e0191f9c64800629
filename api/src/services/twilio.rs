//! Which Twilio account a tenant's REST requests (calls, texts) go out with: its own, when it
//! connected a TWILIO account, else the operator's (`TWILIO_*`). Shared by the phone agent, the
//! nurture texts and the inbox's SMS replies, none of which owns the others.
//!
//! Must not: send anything itself, or read the environment (the typed `Config` does).

use leadline_domain::ids::TenantId;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// One HTTP pool for Twilio and ElevenLabs REST calls.
pub(crate) fn http() -> &'static reqwest::Client {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    HTTP.get_or_init(reqwest::Client::new)
}

/// The Twilio REST client of the operator's account.
fn twilio_client(state: &AppState) -> ApiResult<leadline_twilio::Client> {
    state
        .config
        .twilio
        .client(http().clone())
        .map_err(|e| ApiError::Unavailable(format!("Twilio: {e}")))
}

/// The Twilio REST client for `tenant`'s calls and texts: its own account when it connected
/// one, else the operator's. Both go to the configured API base with the configured timeout.
pub(crate) async fn twilio_client_for(
    state: &AppState,
    tenant: TenantId,
) -> ApiResult<leadline_twilio::Client> {
    let Some(account) = state.store.tenant_twilio_account(tenant).await? else {
        return twilio_client(state);
    };
    leadline_twilio::Settings {
        account_sid: Some(account.account_sid),
        auth_token: Some(account.auth_token),
        ..state.config.twilio.clone()
    }
    .client(http().clone())
    .map_err(|e| ApiError::Unavailable(format!("Twilio (the tenant's account): {e}")))
}
