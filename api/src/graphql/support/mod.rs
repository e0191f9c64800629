//! The support live chat over GraphQL: customers (a tenant's end-users, with a customer token)
//! chat with the AI assistant and, after an escalation, with a person; agents work the queue.
//!
//! A support session is a WEB_CHAT conversation: its messages, tickets, `ai_response` jobs and
//! escalation are the inbox's. What this module adds: customer tokens (`createCustomerToken`,
//! `startVisitorSession`), the customer's operations on their own sessions, the agents' queue,
//! assignment with capacity, ending and transcripts, presence, and two subscriptions:
//! `supportSessionEvents` (history first, then a typed union of events) and
//! `supportQueueEvents`.
//!
//! Access: a customer reaches only sessions of their own lead — another customer's session is
//! NOT_FOUND, exactly like another tenant's — and customer tokens are refused by every member
//! operation (`Principal::require`). Agents need read access to look and write access to act.
//! What customers see of the shared types follows one rule (`graphql::inbox::is_customer`):
//! internals — ticket priority and description, the assigned member and any e-mail of an agent
//! — resolve to null for a customer token; agents appear to customers by display name only.
//!
//! Anonymous visitors: only where the tenant has enabled web chat (a WEB_CHAT channel
//! connection in status CONNECTED); they come back with a rotating resume secret, never with
//! the visitor id alone (it is readable in every token). Customers' messages are limited per
//! customer and minute and per session. Assigning and ending sessions is audited.
//!
//! The use cases are `services::support`'s (and `services::conversation`'s, shared with the
//! inbox); the session stream is `services::support::feed`. This module parses arguments,
//! authorises, calls them and maps the result; its types are in `types`.

mod types;

use async_graphql::{Context, Object, Subscription, ID};
use futures::{Stream, StreamExt};
use leadline_domain::channel::Channel as DomainChannel;
use leadline_domain::ids::TenantId;
use uuid::Uuid;

pub use types::*;

use super::inbox::MAX_MESSAGE_CHARS;
use super::subscription::{lagged, map_events, SubscriptionGauge};
use super::{
    clean_text, connection, parse_id, principal, required_text, state, tenant_for, AccessGuard,
    IdConnection,
};
use crate::auth::{Access, Principal};
use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::services::conversation::AGENT_FIELD;
use crate::services::support::session::{self, NewSupportMessage, Viewer, VISITOR_PREFIX};
use crate::services::support::{customers, feed, FeedItem};
use crate::store::{ConversationFilter, PageRequest};

/// Longest `externalUserId` accepted.
const MAX_EXTERNAL_ID_CHARS: usize = 200;
/// Longest client message id accepted.
const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 200;
/// Longest `resumeSecret` accepted (ours are 43 characters).
const MAX_RESUME_SECRET_CHARS: usize = 200;
/// Largest `supportQueue(first:)`.
const MAX_QUEUE: i32 = 500;

/// A customer, or staff with `access`.
fn viewer(ctx: &Context<'_>, access: Access) -> ApiResult<Viewer> {
    match principal(ctx) {
        Principal::Customer {
            tenant_id, lead_id, ..
        } => Ok(Viewer::Customer {
            tenant_id: *tenant_id,
            lead_id: *lead_id,
        }),
        other => other
            .require(access)
            .map(|tenant_id| Viewer::Staff { tenant_id }),
    }
}

/// The calling customer: tenant and lead. Staff get FORBIDDEN, nobody UNAUTHENTICATED.
fn customer(ctx: &Context<'_>) -> ApiResult<(TenantId, Uuid)> {
    match principal(ctx) {
        Principal::Customer {
            tenant_id, lead_id, ..
        } => Ok((*tenant_id, *lead_id)),
        Principal::Anonymous => Err(ApiError::Unauthenticated(
            "send a customer token (createCustomerToken or startVisitorSession)".into(),
        )),
        _ => Err(ApiError::Forbidden(
            "only customers do this; agents use the agent operations".into(),
        )),
    }
}

/// The session named by `id`, if the viewer may see it (NOT_FOUND otherwise).
async fn visible_session(
    ctx: &Context<'_>,
    viewer: Viewer,
    id: &ID,
    field: &str,
) -> ApiResult<leadline_entity::conversations::Model> {
    session::visible_session(&state(ctx).store, viewer, parse_id(id, field)?).await
}

/// The calling member's user id (counted online while their subscription lives).
fn member(ctx: &Context<'_>) -> Option<Uuid> {
    match principal(ctx) {
        Principal::Member { user_id, .. } => Some(*user_id),
        _ => None,
    }
}

fn token_payload(token: customers::CustomerToken) -> CustomerTokenPayload {
    CustomerTokenPayload {
        token: token.token,
        expires_at: token.expires_at,
        customer_id: ID(token.lead_id.to_string()),
        visitor_id: token.visitor_id.map(|id| id.to_string()),
        resume_secret: token.resume_secret,
        resumed: token.resumed,
    }
}

#[derive(Default)]
pub struct SupportQuery;

#[Object]
impl SupportQuery {
    /// The calling customer's open session (ACTIVE or WAITING), if any. Customers only.
    async fn active_support_session(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<SupportSession>> {
        let (tenant_id, lead_id) = customer(ctx)?;
        Ok(state(ctx)
            .store
            .active_support_session(tenant_id, lead_id)
            .await?
            .map(SupportSession))
    }

    /// One session: a customer's own, or any of the tenant's for agents; others are NOT_FOUND.
    async fn support_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<SupportSession> {
        let viewer = viewer(ctx, Access::Read)?;
        Ok(SupportSession(
            visible_session(ctx, viewer, &id, "id").await?,
        ))
    }

    /// WAITING sessions, oldest wait first, with their wait time and escalation ticket.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::list_cost(first, child_complexity)"
    )]
    async fn support_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: i32,
    ) -> async_graphql::Result<Vec<SupportSession>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        if !(1..=MAX_QUEUE).contains(&first) {
            return Err(
                ApiError::bad_input("first", format!("must be between 1 and {MAX_QUEUE}")).into(),
            );
        }
        let queue = state(ctx)
            .store
            .support_queue(tenant_id, u64::try_from(first).unwrap_or(100))
            .await?;
        Ok(queue.into_iter().map(|(s, _)| SupportSession(s)).collect())
    }

    /// The tenant's support sessions, newest first, filtered.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn support_sessions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SupportSessionFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<SupportSession>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = ConversationFilter {
            channel: Some(DomainChannel::WebChat),
            status: filter.status.map(Into::into),
            lead_id: filter
                .customer_id
                .map(|id| parse_id(&id, "filter.customerId"))
                .transpose()?,
            handled_by: filter.handled_by.map(Into::into),
            assignee_user_id: filter
                .assignee_id
                .map(|id| parse_id(&id, "filter.assigneeId"))
                .transpose()?,
        };
        let page = state(ctx)
            .store
            .conversations(tenant_id, filter, request)
            .await?;
        connection(page, request, |c| c.id, SupportSession)
    }

    /// The session's transcript (customers: their own sessions).
    async fn transcript(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        #[graphql(default_with = "TranscriptFormat::Text")] format: TranscriptFormat,
    ) -> async_graphql::Result<SupportTranscript> {
        let viewer = viewer(ctx, Access::Read)?;
        let session = visible_session(ctx, viewer, &session_id, "sessionId").await?;
        let as_json = format == TranscriptFormat::Json;
        let transcript = session::transcript(&state(ctx).store, &session, as_json).await?;
        Ok(SupportTranscript {
            format,
            content: transcript.content,
            message_count: i32::try_from(transcript.message_count).unwrap_or(i32::MAX),
            truncated: transcript.truncated,
        })
    }

    /// Agents online now: members with a live support subscription (on any replica).
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn online_agents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OnlineAgent>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let agents = session::online_agents(state(ctx), tenant_id).await?;
        Ok(agents
            .into_iter()
            .map(|(user, last_seen_at)| OnlineAgent {
                user: user.into(),
                last_seen_at,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct SupportMutation;

#[Object]
impl SupportMutation {
    /// A customer token for one of your users (call it from your backend with an API key, or as
    /// a member with write access). The user becomes (or is found as) a lead with a WEB_CHAT
    /// identity `externalUserId`. The token is short-lived (`LEADLINE_CUSTOMER_TOKEN_TTL_SECONDS`)
    /// and only works for the support chat.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn create_customer_token(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomerTokenInput,
    ) -> async_graphql::Result<CustomerTokenPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let external_id = required_text(
            input.external_user_id,
            "externalUserId",
            MAX_EXTERNAL_ID_CHARS,
        )?;
        if external_id.starts_with(VISITOR_PREFIX) {
            return Err(ApiError::bad_input(
                "externalUserId",
                "the prefix visitor: is reserved for anonymous visitors",
            )
            .into());
        }
        let name = required_text(input.name, "name", 200)?;
        let email = clean_text(input.email, "email", 254)?
            .map(|e| {
                leadline_domain::tenant::Email::parse(&e)
                    .map(|e| e.as_str().to_owned())
                    .map_err(|error| ApiError::invalid("email", error))
            })
            .transpose()?;
        let token =
            customers::customer_token(state(ctx), tenant_id, &external_id, &name, email.as_deref())
                .await?;
        Ok(token_payload(token))
    }

    /// An anonymous visitor's customer token for the tenant's site chat. No credentials needed;
    /// limited per client IP (`LEADLINE_VISITOR_RATE_PER_MINUTE`). Only for tenants that have
    /// enabled web chat (a WEB_CHAT channel connection, CONNECTED); otherwise FORBIDDEN.
    ///
    /// To come back as the same visitor, pass the returned `visitorId` and `resumeSecret`; the
    /// answer carries a new `resumeSecret` (the old one stops working). Without both, or with
    /// a stale secret, a new visitor starts (`resumed: false`).
    async fn start_visitor_session(
        &self,
        ctx: &Context<'_>,
        input: StartVisitorSessionInput,
    ) -> async_graphql::Result<CustomerTokenPayload> {
        let state = state(ctx);
        let ip = ctx.data_opt::<crate::auth::ClientIp>().map(|ip| ip.0);
        customers::check_visitor_rate(state, ip).await?;
        let slug = leadline_domain::tenant::TenantSlug::parse(&input.tenant_slug)
            .map_err(|e| ApiError::invalid("tenantSlug", e))?;
        let tenant_id = customers::web_chat_tenant(state, slug.as_str()).await?;
        let name = clean_text(input.name, "name", 200)?;
        let presented = clean_text(input.resume_secret, "resumeSecret", MAX_RESUME_SECRET_CHARS)?;
        // A visitor id that is not one we could have issued cannot be resumed: new visitor.
        let claimed = input
            .visitor_id
            .as_deref()
            .map(str::trim)
            .and_then(|v| Uuid::parse_str(v).ok());
        let token =
            customers::visitor_token(state, TenantId(tenant_id), name, claimed, presented).await?;
        Ok(token_payload(token))
    }

    /// Opens a support session for the calling customer with the AI assistant, or returns their
    /// open one (`created: false`). Customers only.
    async fn create_support_session(
        &self,
        ctx: &Context<'_>,
        input: Option<CreateSupportSessionInput>,
    ) -> async_graphql::Result<SupportSessionPayload> {
        let (tenant_id, lead_id) = customer(ctx)?;
        // A tenant that turns web chat off stops its visitors at once, whatever tokens they
        // hold: checked before the input, like every refusal of the caller.
        if session::is_visitor(principal(ctx)) {
            session::ensure_web_chat_enabled(&state(ctx).store, tenant_id).await?;
        }
        let subject = clean_text(input.unwrap_or_default().subject, "subject", 200)?;
        let (session, created) =
            session::open_session(state(ctx), tenant_id, lead_id, subject).await?;
        Ok(SupportSessionPayload {
            session: SupportSession(session),
            created,
        })
    }

    /// Writes in a session: as the customer (the AI answers while it handles the session), or as
    /// an agent (the session becomes handled by a person, assigned to the caller if nobody has
    /// it, and the AI stays silent). Idempotent on `clientMessageId`; an ended session is
    /// CONFLICT. A customer's new message is RATE_LIMITED over
    /// `LEADLINE_CUSTOMER_MESSAGES_PER_MINUTE` (per customer) and LIMIT_REACHED
    /// (`SUPPORT_SESSION_MESSAGES`) over `LEADLINE_SUPPORT_SESSION_MAX_MESSAGES` in the session;
    /// a visitor's is FORBIDDEN once the tenant has turned web chat off.
    async fn send_support_message(
        &self,
        ctx: &Context<'_>,
        input: SendSupportMessageInput,
    ) -> async_graphql::Result<SendSupportMessagePayload> {
        let viewer = viewer(ctx, Access::Write)?;
        let text = required_text(input.text, "text", MAX_MESSAGE_CHARS)?;
        let client_message_id = required_text(
            input.client_message_id,
            "clientMessageId",
            MAX_CLIENT_MESSAGE_ID_CHARS,
        )?;
        let session = visible_session(ctx, viewer, &input.session_id, "sessionId").await?;
        let message = NewSupportMessage {
            text,
            client_message_id,
        };
        let (message, created) =
            session::send_message(state(ctx), principal(ctx), viewer, &session, message).await?;
        Ok(SendSupportMessagePayload {
            message: SupportMessage(message),
            created,
        })
    }

    /// Shows (or stops showing) the caller as typing to the other side. Nothing is stored; an
    /// indicator not refreshed within `LEADLINE_TYPING_TTL_SECONDS` ends by itself.
    async fn set_typing(
        &self,
        ctx: &Context<'_>,
        input: SetTypingInput,
    ) -> async_graphql::Result<bool> {
        let viewer = viewer(ctx, Access::Write)?;
        session::check_typing_rate(state(ctx), principal(ctx)).await?;
        let session = visible_session(ctx, viewer, &input.session_id, "sessionId").await?;
        session::set_typing(state(ctx), principal(ctx), &session, input.typing).await?;
        Ok(input.typing)
    }

    /// A read receipt: the caller read the other side's messages up to `upToMessageId` (a
    /// customer reads the AI's, agents' and system messages; an agent reads the customer's).
    /// Idempotent.
    async fn mark_read(
        &self,
        ctx: &Context<'_>,
        input: MarkReadInput,
    ) -> async_graphql::Result<MarkReadPayload> {
        let viewer = viewer(ctx, Access::Write)?;
        let session = visible_session(ctx, viewer, &input.session_id, "sessionId").await?;
        let up_to = parse_id(&input.up_to_message_id, "upToMessageId")?;
        let marked =
            session::mark_read(state(ctx), principal(ctx), viewer, &session, up_to).await?;
        Ok(MarkReadPayload {
            marked: i32::try_from(marked).unwrap_or(i32::MAX),
        })
    }

    /// Takes a session (default: for the caller) — ACTIVE, handled by a person, its tickets IN
    /// PROGRESS — and tells the queue. Refused with CONFLICT when the agent already holds
    /// `LEADLINE_SUPPORT_AGENT_CAPACITY` open sessions, when another agent took it first (name
    /// `agentId` to reassign), or when the session has ended. Audited
    /// (`support_session.assigned`).
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn assign_support_session(
        &self,
        ctx: &Context<'_>,
        input: AssignSupportSessionInput,
    ) -> async_graphql::Result<SupportSessionPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let session_id = parse_id(&input.session_id, "sessionId")?;
        let named = input
            .agent_id
            .map(|id| parse_id(&id, AGENT_FIELD))
            .transpose()?;
        let session = session::assign(
            state(ctx),
            tenant_id,
            session_id,
            named,
            principal(ctx).actor(),
        )
        .await?;
        Ok(SupportSessionPayload {
            session: SupportSession(session),
            created: false,
        })
    }

    /// Ends a session (agents, or the customer their own): RESOLVED, its tickets resolved, the
    /// resolution kept in the transcript as a SYSTEM message. Ending an ended session returns it
    /// unchanged. Audited (`support_session.ended`).
    async fn end_support_session(
        &self,
        ctx: &Context<'_>,
        input: EndSupportSessionInput,
    ) -> async_graphql::Result<SupportSessionPayload> {
        let viewer = viewer(ctx, Access::Write)?;
        let resolution = required_text(input.resolution, "resolution", 500)?;
        let session = visible_session(ctx, viewer, &input.session_id, "sessionId").await?;
        let session = session::end(state(ctx), principal(ctx), session, resolution).await?;
        Ok(SupportSessionPayload {
            session: SupportSession(session),
            created: false,
        })
    }
}

#[derive(Default)]
pub struct SupportSubscription;

#[Subscription]
impl SupportSubscription {
    /// A session's live events (customers: their own session; another's is NOT_FOUND and
    /// delivers nothing). First a SessionHistory — the last 100 messages, or, when resuming,
    /// those after `afterMessageId` — then messages, typing (the other side's), read receipts,
    /// participants joining and leaving, the AI's progress, assignment, escalation and the end.
    /// A message is never delivered twice on one subscription, and one missed while the
    /// subscriber lagged behind is reloaded from the database.
    async fn support_session_events(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        after_message_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SupportSessionEvent>>> {
        let viewer = viewer(ctx, Access::Read)?;
        let session = visible_session(ctx, viewer, &session_id, "sessionId").await?;
        let after = after_message_id
            .map(|id| parse_id(&id, "afterMessageId"))
            .transpose()?;
        let me = session::participant(&state(ctx).store, principal(ctx)).await?;
        let opened = feed::open(state(ctx), session, after, me, member(ctx)).await?;
        let gauge = SubscriptionGauge::start();
        let history = SupportSessionEvent::SessionHistory(SessionHistory {
            session: SupportSession(opened.session),
            messages: opened.history.into_iter().map(SupportMessage).collect(),
            has_more: opened.has_more,
        });
        let live = opened.items.filter_map(move |item| {
            let _held = &gauge;
            futures::future::ready(match item {
                // The feed reloaded the messages it missed; the lag policy still tells the
                // client, which may have missed passing events (typing, receipts).
                Ok(FeedItem::Lagged { missed }) => Some(Err(lagged(missed))),
                Ok(item) => SupportSessionEvent::from_feed(item).map(Ok),
                Err(error) => Some(Err(error.into())),
            })
        });
        Ok(futures::stream::once(futures::future::ready(Ok(history))).chain(live))
    }

    /// The agents' queue, live: first a QueueSnapshot of the WAITING sessions, then sessions
    /// entering (SessionEscalated) and leaving (SessionAssigned, SessionEnded) it. Subscribing
    /// marks the agent online (`onlineAgents`) while the subscription lives.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn support_queue_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SupportQueueEvent>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let limit = u64::try_from(MAX_QUEUE).unwrap_or(500);
        let opened = session::open_queue(state(ctx), tenant_id, limit, member(ctx)).await?;
        let (snapshot, bus, presence) = (opened.waiting, opened.events, opened.presence);
        let first = futures::stream::once(futures::future::ready(Ok(
            SupportQueueEvent::QueueSnapshot(QueueSnapshot {
                sessions: snapshot.into_iter().map(SupportSession).collect(),
            }),
        )));
        let live = map_events(bus, presence, |event| match event {
            Event::Support { event, .. } => queue_event(event),
            _ => None,
        });
        Ok(first.chain(live))
    }
}
