//! What every GraphQL subscription shares: the tenant's (or one scope's) bus events mapped to
//! GraphQL items, the `/metrics` gauge of open subscriptions, and the ONE lag policy.
//!
//! **Lag policy** (ARCHITECTURE.md §7). The bus reports `BusError::Lagged(n)` when this
//! subscriber fell behind, or when another replica had to drop events of its tenant. Every
//! subscription then yields exactly one error item — `extensions.code` `UNAVAILABLE` with
//! `extensions.missed = n` — and **keeps streaming**: the client reloads what it shows with a
//! query and goes on listening. An error, not a typed event, because most subscriptions stream
//! one object type (a `Message`, a `Job`) that has no room for one, and because the same item
//! then means the same thing everywhere. `BusError::Disconnected` (the shared bus is gone) is
//! one UNAVAILABLE error *without* `missed`, after which the stream completes and the client
//! resubscribes. The support session feed also reloads the messages it missed before it says so
//! (`services::support::feed`), so its client loses no message, only passing events (typing,
//! read receipts).
//!
//! Must not: authorise (resolvers check access, and NOT_FOUND another tenant's scope, before
//! subscribing) or hold the GraphQL context beyond the call that opens the stream.

use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions};
use futures::{Stream, StreamExt};
use leadline_domain::ids::TenantId;
use uuid::Uuid;

use super::state;
use crate::bus::{BusError, Event};
use crate::error::ApiError;

/// Counts live subscriptions for `/metrics`; decrements when the stream is dropped.
pub(crate) struct SubscriptionGauge;

impl SubscriptionGauge {
    pub(crate) fn start() -> Self {
        metrics::gauge!("leadline_graphql_subscriptions").increment(1.0);
        SubscriptionGauge
    }
}

impl Drop for SubscriptionGauge {
    fn drop(&mut self) {
        metrics::gauge!("leadline_graphql_subscriptions").decrement(1.0);
    }
}

/// The item the lag policy yields: UNAVAILABLE with `extensions.missed`; the stream goes on.
pub(crate) fn lagged(missed: u64) -> async_graphql::Error {
    async_graphql::Error::from(ApiError::Unavailable(format!(
        "this subscription fell behind and missed {missed} events; reload what it shows (the \
         stream goes on)"
    )))
    .extend_with(|_, extensions| extensions.set("missed", missed))
}

/// The item for a bus error: a lag per the policy, or the lost bus (the stream's last item).
pub(crate) fn bus_error(error: &BusError) -> async_graphql::Error {
    match error {
        BusError::Lagged(missed) => lagged(*missed),
        BusError::Disconnected => ApiError::Unavailable(error.to_string()).into(),
    }
}

/// Maps an opened bus stream: `select` picks and maps the events this subscription shows, bus
/// errors follow the lag policy, and `hold` (a presence guard, say) lives as long as the stream.
pub(crate) fn map_events<T, H>(
    events: impl Stream<Item = Result<Arc<Event>, BusError>> + Send + 'static,
    hold: H,
    select: impl Fn(&Event) -> Option<T> + Send + 'static,
) -> impl Stream<Item = async_graphql::Result<T>> + Send + 'static
where
    T: Send + 'static,
    H: Send + 'static,
{
    let gauge = SubscriptionGauge::start();
    events.filter_map(move |item| {
        let _held = (&gauge, &hold);
        futures::future::ready(match item {
            Ok(event) => select(&event).map(Ok),
            Err(error) => Some(Err(bus_error(&error))),
        })
    })
}

/// The tenant's bus events mapped by `select` (see [`map_events`]).
pub(crate) fn tenant_events<T: Send + 'static>(
    ctx: &Context<'_>,
    tenant_id: TenantId,
    select: impl Fn(&Event) -> Option<T> + Send + 'static,
) -> impl Stream<Item = async_graphql::Result<T>> + Send + 'static {
    scoped_events(ctx, tenant_id, None, select)
}

/// Like [`tenant_events`], but with a `scope` (a lead, call, conversation or session id:
/// `Event::scope`) only that scope's events wake the stream, not the tenant's whole traffic.
pub(crate) fn scoped_events<T: Send + 'static>(
    ctx: &Context<'_>,
    tenant_id: TenantId,
    scope: Option<Uuid>,
    select: impl Fn(&Event) -> Option<T> + Send + 'static,
) -> impl Stream<Item = async_graphql::Result<T>> + Send + 'static {
    let bus = &state(ctx).bus;
    let events = match scope {
        Some(scope) => bus.subscribe_scoped(tenant_id, scope).left_stream(),
        None => bus.subscribe(tenant_id).right_stream(),
    };
    map_events(events, (), select)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extensions(error: &async_graphql::Error) -> serde_json::Value {
        serde_json::to_value(&error.extensions).unwrap_or_default()
    }

    #[tokio::test]
    async fn a_lag_is_one_error_with_the_count_and_the_stream_goes_on_until_the_bus_is_lost() {
        let bus = futures::stream::iter(vec![
            Ok(Arc::new(Event::JobsAvailable)),
            Err(BusError::Lagged(7)),
            Ok(Arc::new(Event::JobsAvailable)),
            Err(BusError::Disconnected),
        ]);
        let items: Vec<async_graphql::Result<&str>> = map_events(bus, (), |event| {
            matches!(event, Event::JobsAvailable).then_some("jobs")
        })
        .collect()
        .await;
        assert_eq!(items.len(), 4);
        assert!(matches!(items[0], Ok("jobs")));
        let lag = items[1].as_ref().err().map(extensions).unwrap_or_default();
        assert_eq!(lag["code"], "UNAVAILABLE");
        assert_eq!(lag["missed"], 7);
        assert!(matches!(items[2], Ok("jobs")));
        let lost = items[3].as_ref().err().map(extensions).unwrap_or_default();
        assert_eq!(lost["code"], "UNAVAILABLE");
        assert!(lost.get("missed").is_none());
    }
}
