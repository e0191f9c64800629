//! Publishing a live session's events for its dashboard (`liveSessionEvents`).

use leadline_domain::ids::TenantId;
use uuid::Uuid;

use crate::bus::{Event, LiveEvent};
use crate::state::AppState;

/// Publishes a live event for the session's dashboard.
pub fn publish(state: &AppState, tenant_id: TenantId, session_id: Uuid, event: LiveEvent) {
    state
        .bus
        .publish(tenant_id, Event::Live { session_id, event });
}
