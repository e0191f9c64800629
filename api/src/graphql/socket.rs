//! GraphQL over one WebSocket, re-authorised operation by operation.
//!
//! A socket keeps only the *credential* it was opened with (`connection_init`), never the
//! principal. [`SocketExecutor`] resolves the principal afresh for every operation — membership,
//! role, API key, customer identity and token expiry as they are now — and puts it in the
//! request's data, which shadows the connection's. Subscriptions are then watched until they
//! end: an [`Event::AccessChanged`] for their principal (published after the change commits, on
//! any replica, through the bus) makes them re-authenticate, and they end with UNAUTHENTICATED
//! (principal gone) or FORBIDDEN (principal changed) — or UNAUTHENTICATED when the token's `exp`
//! passes — and then complete.
//!
//! There is deliberately no cache: one indexed read per operation and per access event of the
//! same principal costs less than the operation itself, and a cache would need invalidation on
//! every replica to stay correct.
//!
//! Also owns the per-socket limits: operations running at once on one socket, and open sockets
//! per principal on this process ([`SocketRegistry`]).
//!
//! Must not: import axum (the HTTP layer upgrades the socket and hands the credential over), or
//! let any operation run as the identity of `connection_init`.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Pos, Request, Response};
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::StreamExt;
use leadline_domain::ids::TenantId;
use uuid::Uuid;

use super::AppSchema;
use crate::auth::{authenticate, credential_expires_at, Principal};
use crate::bus::{AccessSubject, BusError, Event};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What a socket remembers from `connection_init`: stored in the connection's data.
pub struct SocketSession {
    credential: String,
    tenant_id: TenantId,
    running: Arc<AtomicUsize>,
    max_operations: usize,
    /// Holds this socket's place in its principal's count until the socket is gone.
    _slot: SocketSlot,
}

impl SocketSession {
    /// The session of a socket opened with `credential` by `principal`.
    pub fn new(
        credential: String,
        principal: &Principal,
        max_operations: usize,
        slot: SocketSlot,
    ) -> ApiResult<Self> {
        let tenant_id = tenant_of(principal).ok_or_else(|| {
            ApiError::Unauthenticated("connection_init must carry a token".into())
        })?;
        Ok(Self {
            credential,
            tenant_id,
            running: Arc::new(AtomicUsize::new(0)),
            max_operations,
            _slot: slot,
        })
    }

    /// A place for one more operation, or `None` when the socket runs its maximum.
    fn start_operation(&self) -> Option<OperationPermit> {
        self.running
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_operations).then_some(n + 1)
            })
            .ok()
            .map(|_| OperationPermit(self.running.clone()))
    }

    /// The principal the credential stands for now, or why it no longer stands for anyone.
    async fn authenticate(
        &self,
        state: &AppState,
        expires_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Principal> {
        // Strictly at `exp` (the decoder allows a few seconds of clock skew): the subscription
        // timer ends streams at `exp`, and a new operation must not outlive it.
        if expires_at.is_some_and(|exp| exp <= Utc::now()) {
            return Err(expired());
        }
        authenticate(&state.store, &state.tokens, Some(&self.credential)).await
    }
}

/// One running operation; frees its place when the operation's stream is dropped (it ended,
/// the client completed it, or the socket closed).
struct OperationPermit(Arc<AtomicUsize>);

impl Drop for OperationPermit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn expired() -> ApiError {
    ApiError::Unauthenticated("the token has expired; log in again".into())
}

fn tenant_of(principal: &Principal) -> Option<TenantId> {
    match principal {
        Principal::Anonymous => None,
        Principal::Member { tenant_id, .. }
        | Principal::ApiKey { tenant_id, .. }
        | Principal::Customer { tenant_id, .. }
        | Principal::CallAgent { tenant_id, .. } => Some(*tenant_id),
    }
}

/// Who a socket counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PrincipalKey {
    Member {
        tenant_id: TenantId,
        user_id: Uuid,
    },
    ApiKey(Uuid),
    Customer {
        tenant_id: TenantId,
        lead_id: Uuid,
        external_id: String,
    },
}

type OpenSockets = Arc<Mutex<HashMap<PrincipalKey, usize>>>;

/// Open sockets per principal on this process. Counted per process, not across replicas: the
/// cap bounds what one principal can hold open on one server, which is what it protects (memory
/// and bus subscriptions there); a load balancer spreads a principal over replicas anyway.
pub struct SocketRegistry {
    max_per_principal: usize,
    open: OpenSockets,
}

/// A socket's place in its principal's count; dropping it (the socket closed) frees the place.
pub struct SocketSlot {
    open: OpenSockets,
    key: PrincipalKey,
}

impl SocketRegistry {
    /// A registry allowing `max_per_principal` open sockets to each principal.
    pub fn new(max_per_principal: usize) -> Self {
        Self {
            max_per_principal,
            open: Arc::default(),
        }
    }

    /// Takes a place for one more socket of `principal`, or LIMIT_REACHED when it holds the
    /// maximum already.
    pub fn open(&self, principal: &Principal) -> ApiResult<SocketSlot> {
        let key = match principal {
            Principal::Anonymous => {
                return Err(ApiError::Unauthenticated(
                    "connection_init must carry a token".into(),
                ))
            }
            Principal::Member {
                tenant_id, user_id, ..
            } => PrincipalKey::Member {
                tenant_id: *tenant_id,
                user_id: *user_id,
            },
            Principal::ApiKey { key_id, .. } => PrincipalKey::ApiKey(*key_id),
            // A call token reports over HTTP; it has nothing to subscribe to.
            Principal::CallAgent { .. } => {
                return Err(ApiError::Forbidden(
                    "a call token cannot open a socket".into(),
                ))
            }
            Principal::Customer {
                tenant_id,
                lead_id,
                external_id,
            } => PrincipalKey::Customer {
                tenant_id: *tenant_id,
                lead_id: *lead_id,
                external_id: external_id.clone(),
            },
        };
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= self.max_per_principal {
            metrics::counter!("leadline_ws_refused_total", "reason" => "sockets_per_principal")
                .increment(1);
            return Err(ApiError::LimitReached {
                limit: "WS_SOCKETS_PER_PRINCIPAL",
                message: format!(
                    "at most {} sockets may be open at once; close one first",
                    self.max_per_principal
                ),
            });
        }
        *count += 1;
        metrics::gauge!("leadline_ws_sockets_open").increment(1.0);
        Ok(SocketSlot {
            open: self.open.clone(),
            key,
        })
    }

    /// Open sockets of every principal together (for tests and diagnostics).
    pub fn open_sockets(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .sum()
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
        metrics::gauge!("leadline_ws_sockets_open").decrement(1.0);
    }
}

/// Whether `event` is an access change that concerns `principal`.
fn concerns(principal: &Principal, event: &Event) -> bool {
    let Event::AccessChanged { subject } = event else {
        return false;
    };
    match (subject, principal) {
        (AccessSubject::Everyone, _) => true,
        (AccessSubject::Member { user_id }, Principal::Member { user_id: own, .. }) => {
            user_id == own
        }
        (AccessSubject::ApiKey { key_id }, Principal::ApiKey { key_id: own, .. }) => key_id == own,
        (AccessSubject::Lead { lead_id }, Principal::Customer { lead_id: own, .. }) => {
            lead_id == own
        }
        _ => false,
    }
}

/// Whether the operation `request` will run is a subscription (a query that does not parse is
/// not; the schema reports why). The parsed document is kept in the request, so the schema
/// does not parse it again.
fn is_subscription(request: &mut Request) -> bool {
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    document
        .operations
        .iter()
        .find(|(operation_name, _)| match &name {
            Some(wanted) => operation_name.map(|n| n.as_str()) == Some(wanted.as_str()),
            None => true,
        })
        .is_some_and(|(_, operation)| operation.node.ty == OperationType::Subscription)
}

fn error_response(error: ApiError) -> Response {
    Response::from_errors(vec![
        async_graphql::Error::from(error).into_server_error(Pos::default())
    ])
}

fn session_of(data: &Data) -> Option<&SocketSession> {
    data.get(&TypeId::of::<SocketSession>())?
        .downcast_ref::<SocketSession>()
}

/// Why a watched subscription stops.
enum Watch {
    Response(Response),
    Finished,
    Ended(ApiError),
    Recheck,
    Unchanged,
}

/// Runs every operation of one socket: re-authorises it, caps how many run at once, and ends
/// subscriptions whose principal expires, disappears or changes.
#[derive(Clone)]
pub struct SocketExecutor {
    schema: AppSchema,
    state: AppState,
}

impl SocketExecutor {
    /// The executor for one socket.
    pub fn new(schema: AppSchema, state: AppState) -> Self {
        Self { schema, state }
    }
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: Request) -> Response {
        // Sockets only call `execute_stream`; without a socket session nothing is authorised.
        self.execute_stream(request, None)
            .next()
            .await
            .unwrap_or_default()
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let Self { schema, state } = self.clone();
        async_stream::stream! {
            let Some(data) = session_data else {
                yield error_response(ApiError::Unauthenticated("send connection_init with a token first".into()));
                return;
            };
            let Some(session) = session_of(&data) else {
                yield error_response(ApiError::Unauthenticated("send connection_init with a token first".into()));
                return;
            };
            let Some(_permit) = session.start_operation() else {
                metrics::counter!("leadline_ws_refused_total", "reason" => "operations_per_socket").increment(1);
                yield error_response(ApiError::LimitReached {
                    limit: "WS_OPERATIONS",
                    message: format!(
                        "at most {} operations may run at once on one socket; complete one first",
                        session.max_operations
                    ),
                });
                return;
            };
            // Listen before authenticating, so a change committed between the two is not missed.
            let mut access = Box::pin(state.bus.subscribe_access(session.tenant_id));
            let expires_at = credential_expires_at(&state.tokens, &session.credential);
            let principal = match session.authenticate(&state, expires_at).await {
                Ok(principal) => principal,
                Err(error) => {
                    yield error_response(error);
                    return;
                }
            };
            let mut request = request;
            let watched = is_subscription(&mut request);
            let mut inner = schema.execute_stream_with_session_data(request.data(principal.clone()), data.clone());
            if !watched {
                while let Some(response) = inner.next().await {
                    yield response;
                }
                return;
            }
            let until_expiry = expires_at.map(|exp| (exp - Utc::now()).to_std().unwrap_or(Duration::ZERO));
            let expiry = async move {
                match until_expiry {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::pin!(expiry);
            loop {
                let watch = tokio::select! {
                    response = inner.next() => match response {
                        Some(response) => Watch::Response(response),
                        None => Watch::Finished,
                    },
                    () = &mut expiry => Watch::Ended(expired()),
                    change = access.next() => match change {
                        Some(Ok(event)) if concerns(&principal, &event) => Watch::Recheck,
                        Some(Ok(_)) => Watch::Unchanged,
                        // Missed events may have been access changes: look again.
                        Some(Err(BusError::Lagged(_))) => Watch::Recheck,
                        Some(Err(BusError::Disconnected)) | None => Watch::Ended(ApiError::Unavailable(
                            "the event bus connection was lost, so access changes cannot be followed; subscribe again".into(),
                        )),
                    },
                };
                let watch = match watch {
                    Watch::Recheck => match session.authenticate(&state, expires_at).await {
                        Err(error) => Watch::Ended(error),
                        Ok(now) if now != principal => Watch::Ended(ApiError::Forbidden(
                            "your role or the key's scopes changed; subscribe again".into(),
                        )),
                        Ok(_) => Watch::Unchanged,
                    },
                    other => other,
                };
                match watch {
                    Watch::Response(response) => yield response,
                    Watch::Finished => return,
                    Watch::Ended(error) => {
                        yield error_response(error);
                        return;
                    }
                    Watch::Recheck | Watch::Unchanged => {}
                }
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadline_domain::tenant::Role;

    fn member(user_id: Uuid) -> Principal {
        Principal::Member {
            user_id,
            tenant_id: TenantId(Uuid::nil()),
            role: Role::Admin,
        }
    }

    #[test]
    fn sockets_per_principal_are_capped_and_freed_on_close() -> ApiResult<()> {
        let registry = SocketRegistry::new(2);
        let (alice, bob) = (member(Uuid::now_v7()), member(Uuid::now_v7()));
        let first = registry.open(&alice)?;
        let _second = registry.open(&alice)?;
        assert!(matches!(
            registry.open(&alice),
            Err(ApiError::LimitReached { .. })
        ));
        let _other = registry.open(&bob)?;
        assert_eq!(registry.open_sockets(), 3);
        drop(first);
        assert_eq!(registry.open_sockets(), 2);
        let _again = registry.open(&alice)?;
        assert!(registry.open(&Principal::Anonymous).is_err());
        Ok(())
    }

    #[test]
    fn operations_per_socket_are_capped_and_freed_when_they_end() -> ApiResult<()> {
        let registry = SocketRegistry::new(1);
        let principal = member(Uuid::now_v7());
        let session = SocketSession::new("t".into(), &principal, 2, registry.open(&principal)?)?;
        let one = session.start_operation();
        let two = session.start_operation();
        assert!(one.is_some() && two.is_some());
        assert!(session.start_operation().is_none());
        drop(one);
        assert!(session.start_operation().is_some());
        Ok(())
    }

    #[test]
    fn access_changes_concern_only_their_principal() {
        let user = Uuid::now_v7();
        let change = |subject| Event::AccessChanged { subject };
        assert!(concerns(
            &member(user),
            &change(AccessSubject::Member { user_id: user })
        ));
        assert!(!concerns(
            &member(user),
            &change(AccessSubject::Member {
                user_id: Uuid::now_v7()
            })
        ));
        assert!(!concerns(
            &member(user),
            &change(AccessSubject::ApiKey { key_id: user })
        ));
        assert!(concerns(&member(user), &change(AccessSubject::Everyone)));
        let customer = Principal::Customer {
            tenant_id: TenantId(Uuid::nil()),
            lead_id: user,
            external_id: "visitor:1".into(),
        };
        assert!(concerns(
            &customer,
            &change(AccessSubject::Lead { lead_id: user })
        ));
        assert!(!concerns(&customer, &Event::JobsAvailable));
    }

    #[test]
    fn subscriptions_are_told_from_queries_by_the_operation_run() {
        let mut request =
            Request::new("subscription S { jobUpdated { id } } query Q { me { id } }")
                .operation_name("S");
        assert!(is_subscription(&mut request));
        let mut request =
            Request::new("subscription S { jobUpdated { id } } query Q { me { id } }")
                .operation_name("Q");
        assert!(!is_subscription(&mut request));
        assert!(is_subscription(&mut Request::new("subscription { x }")));
        assert!(!is_subscription(&mut Request::new("mutation { x }")));
        assert!(!is_subscription(&mut Request::new("not graphql {")));
    }
}
