//! The GraphQL schema: root objects merged from one module per area, the access guard, and the
//! small helpers every resolver uses. Architecture invariant: nothing here imports axum; the
//! HTTP layer hands requests in and takes responses out.

mod account;
mod ai;
mod billing;
mod call_settings;
mod calls;
mod catalog;
pub mod cost;
mod inbox;
mod jobs;
mod lead_flow;
mod leads;
mod live;
pub mod metrics;
mod phone_agent;
pub mod socket;
mod subscription;
mod support;
pub mod types;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Guard, MergedObject, MergedSubscription, Schema, SimpleObject, ID};
use leadline_domain::ids::TenantId;
use uuid::Uuid;

use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{encode_cursor, Page, PageRequest};

/// All queries.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    account::AccountQuery,
    ai::AiQuery,
    billing::BillingQuery,
    call_settings::CallSettingsQuery,
    calls::CallsQuery,
    catalog::CatalogQuery,
    inbox::InboxQuery,
    jobs::JobQuery,
    lead_flow::LeadFlowQuery,
    leads::LeadQuery,
    live::LiveQuery,
    phone_agent::PhoneAgentQuery,
    support::SupportQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    account::AccountMutation,
    billing::BillingMutation,
    call_settings::CallSettingsMutation,
    calls::CallsMutation,
    catalog::CatalogMutation,
    inbox::InboxMutation,
    jobs::JobMutation,
    lead_flow::LeadFlowMutation,
    leads::LeadMutation,
    live::LiveMutation,
    support::SupportMutation,
);

/// All subscriptions.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    billing::BillingSubscription,
    calls::CallsSubscription,
    inbox::InboxSubscription,
    jobs::JobSubscription,
    leads::LeadSubscription,
    live::LiveSubscription,
    phone_agent::PhoneAgentSubscription,
    support::SupportSubscription,
);

/// The schema type.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Limits and switches for [`build_schema`].
#[derive(Debug, Clone, Copy)]
pub struct SchemaLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    /// Root fields per operation (`cost::RequestCost`).
    pub max_root_fields: usize,
    pub introspection: bool,
}

/// Builds the schema; `state` is `None` only for printing the SDL.
pub fn build_schema(state: Option<AppState>, limits: SchemaLimits) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .extension(cost::RequestCost {
        max_root_fields: limits.max_root_fields,
    })
    .extension(metrics::Metrics);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The SDL of the schema (what `leadline schema` prints and `schema.graphql` holds).
pub fn sdl() -> String {
    build_schema(
        None,
        SchemaLimits {
            max_depth: usize::MAX,
            max_complexity: usize::MAX,
            max_root_fields: usize::MAX,
            introspection: true,
        },
    )
    .sdl()
}

/// The shared state.
pub(crate) fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    // The schema is always built with the state when it serves requests; `sdl()` never resolves.
    ctx.data_unchecked::<AppState>()
}

/// The caller (anonymous when the transport attached nobody).
pub(crate) fn principal<'a>(ctx: &Context<'a>) -> &'a Principal {
    static ANONYMOUS: Principal = Principal::Anonymous;
    ctx.data_opt::<Principal>().unwrap_or(&ANONYMOUS)
}

/// Checks access and returns the caller's tenant.
pub(crate) fn tenant_for(ctx: &Context<'_>, access: Access) -> ApiResult<TenantId> {
    principal(ctx).require(access)
}

/// Declarative access check on a field: `#[graphql(guard = "AccessGuard(Access::Write)")]`.
pub struct AccessGuard(pub Access);

impl Guard for AccessGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        tenant_for(ctx, self.0).map(|_| ()).map_err(Into::into)
    }
}

/// Parses an `ID` argument into the typed id its use asks for (`LeadId`, `CallId`, … or a bare
/// `Uuid`); a malformed id is BAD_USER_INPUT naming `field`.
pub(crate) fn parse_id<T: From<Uuid>>(id: &ID, field: &str) -> ApiResult<T> {
    Uuid::parse_str(id.as_str())
        .map(T::from)
        .map_err(|_| ApiError::bad_input(field, "not a valid id"))
}

/// Extra fields on every connection.
#[derive(SimpleObject)]
pub struct ConnectionFields {
    /// How many items match the filter, across all pages.
    pub total_count: u64,
}

/// A Relay connection whose cursors are row ids.
pub type IdConnection<N> = Connection<String, N, ConnectionFields>;

/// Turns a store page into a Relay connection.
pub(crate) fn connection<M, N>(
    page: Page<M>,
    request: PageRequest,
    id: impl Fn(&M) -> Uuid,
    node: impl Fn(M) -> N,
) -> async_graphql::Result<IdConnection<N>>
where
    N: async_graphql::OutputType,
{
    let mut connection = Connection::with_additional_fields(
        request.after.is_some(),
        page.has_next_page,
        ConnectionFields {
            total_count: page.total_count,
        },
    );
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(encode_cursor(id(&item)), node(item))),
    );
    Ok(connection)
}

/// Like [`connection`] for node constructors that can fail.
pub(crate) fn try_connection<M, N>(
    page: Page<M>,
    request: PageRequest,
    id: impl Fn(&M) -> Uuid,
    node: impl Fn(M) -> async_graphql::Result<N>,
) -> async_graphql::Result<IdConnection<N>>
where
    N: async_graphql::OutputType,
{
    let mut connection = Connection::with_additional_fields(
        request.after.is_some(),
        page.has_next_page,
        ConnectionFields {
            total_count: page.total_count,
        },
    );
    for item in page.items {
        let cursor = encode_cursor(id(&item));
        connection.edges.push(Edge::new(cursor, node(item)?));
    }
    Ok(connection)
}

/// Trims an optional text input; blank becomes `None`. Longer than `max` chars is refused.
pub(crate) fn clean_text(
    value: Option<String>,
    field: &str,
    max: usize,
) -> ApiResult<Option<String>> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.chars().count() > max => Err(ApiError::bad_input(
            field,
            format!("at most {max} characters"),
        )),
        other => Ok(other),
    }
}

/// A required, trimmed, non-empty text input of at most `max` chars.
pub(crate) fn required_text(value: String, field: &str, max: usize) -> ApiResult<String> {
    clean_text(Some(value), field, max)?
        .ok_or_else(|| ApiError::bad_input(field, "must not be empty"))
}
