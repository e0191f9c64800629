//! One subscriber's view of a support session (`supportSessionEvents`), without GraphQL.
//!
//! [`open`] subscribes to the session's bus scope *before* reading the history (an event in
//! between is then in both, and the dedup drops the copy, instead of in neither), announces the
//! subscriber (`ParticipantJoined`, and `ParticipantLeft` when the stream is dropped), and counts
//! a member online while it lives. [`SessionFeed`] then turns bus events into what the subscriber
//! sees:
//!
//! - **dedup**: a message is delivered once per subscription, whether it came with the history,
//!   on the bus, or from a reload;
//! - **lag reload**: when the subscriber fell behind the bus, ephemeral events are gone but
//!   messages are not: they are reloaded from the database (and deduplicated);
//! - **typing clock**: the other side's typing indicators, expired here by the subscriber itself
//!   (a refresh may land on any replica; only the subscriber sees them all), ended early by the
//!   typist's own message.
//!
//! - **delivery**: WEB_CHAT has no platform to report delivery, so the customer's own feed does:
//!   an outbound message (AI, agent, system) that reaches a connected customer — in the history
//!   or live — moves from PENDING (or SENT) to DELIVERED and `MessageUpdated` tells the agents.
//!   It never moves a message backwards (a READ one stays READ).
//!
//! Must not: map to GraphQL types (the resolver does), store typing (bus-only by design), or
//! read anything but the session's own history.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use leadline_domain::ids::TenantId;
use leadline_entity::{conversations, messages};
use uuid::Uuid;

use super::presence::PresenceGuard;
use crate::bus::{BusError, Event, EventBus, SupportEvent, SupportParticipant};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::Store;
use leadline_domain::conversation::ParticipantKind;
use leadline_domain::messaging::{DeliveryStatus, MessageDirection, SenderKind};

/// Messages sent with the history when a client subscribes (older ones: `messages` on the session).
pub const HISTORY_MESSAGES: u64 = 100;
/// Messages reloaded from the database when a subscriber fell behind the bus.
pub const CATCH_UP_MESSAGES: u64 = 500;

/// The typing indicators one subscriber has seen, with their expiry. Time comes in as an
/// argument so the rules are tested without sleeping.
#[derive(Debug, Default)]
pub struct TypingClock {
    typing: HashMap<Uuid, (SupportParticipant, DateTime<Utc>)>,
}

impl TypingClock {
    /// A TypingStarted (or its refresh) arrived. Returns true when it is news to the subscriber
    /// (a refresh of someone already typing is not shown again).
    pub fn started(&mut self, participant: &SupportParticipant, expires_at: DateTime<Utc>) -> bool {
        self.typing
            .insert(participant.id, (participant.clone(), expires_at))
            .is_none()
    }

    /// A TypingStopped arrived (or the participant sent a message). Returns the participant when
    /// they were shown as typing (then the subscriber is told).
    pub fn stopped(&mut self, participant_id: Uuid) -> Option<SupportParticipant> {
        self.typing.remove(&participant_id).map(|(p, _)| p)
    }

    /// The earliest expiry, when anyone is typing.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.typing.values().map(|(_, at)| *at).min()
    }

    /// Removes and returns everyone whose indicator expired by `now`.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Vec<SupportParticipant> {
        let expired: Vec<Uuid> = self
            .typing
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(id, _)| *id)
            .collect();
        expired
            .into_iter()
            .filter_map(|id| self.typing.remove(&id).map(|(p, _)| p))
            .collect()
    }
}

/// What one subscriber is told, after the history.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    /// A message of the session (each one once).
    Message(Box<messages::Model>),
    /// Someone on the other side started typing (refreshes are not repeated).
    TypingStarted {
        participant: SupportParticipant,
        expires_at: DateTime<Utc>,
    },
    /// Someone on the other side stopped typing: said so, wrote their message, or (`expired`)
    /// did not refresh in time.
    TypingStopped {
        participant: SupportParticipant,
        expired: bool,
    },
    /// Any other event of the session: read receipts, others joining and leaving, the AI's
    /// progress, assignment, escalation, the end.
    Session(SupportEvent),
    /// The subscriber fell behind the bus by `missed` events. The messages among them were
    /// reloaded (the items just before this one); passing events (typing, receipts) are lost,
    /// so the subscription tells its client (`graphql::subscription`'s lag policy).
    Lagged { missed: u64 },
}

/// One subscriber's state: what it has seen and who it shows typing (see the module docs).
/// Time comes in as an argument, so every rule is tested without sleeping.
#[derive(Debug)]
pub struct SessionFeed {
    session_id: Uuid,
    /// The customer's lead: the author of LEAD messages.
    lead_id: Uuid,
    /// The subscriber's participant id: its own typing and arrival are no news to it.
    me: Uuid,
    seen: HashSet<Uuid>,
    typing: TypingClock,
}

impl SessionFeed {
    /// A feed for subscriber `me` of `session` that has already been sent `history`.
    pub fn new(session: &conversations::Model, me: Uuid, history: &[messages::Model]) -> Self {
        Self {
            session_id: session.id,
            lead_id: session.lead_id,
            me,
            seen: history.iter().map(|m| m.id).collect(),
            typing: TypingClock::default(),
        }
    }

    /// When the next typing indicator lapses, if anyone is typing.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.typing.next_expiry()
    }

    /// The indicators that lapsed by `now`.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Vec<FeedItem> {
        self.typing
            .expire(now)
            .into_iter()
            .map(|participant| FeedItem::TypingStopped {
                participant,
                expired: true,
            })
            .collect()
    }

    /// Messages reloaded after a lag, oldest first: those not delivered yet.
    pub fn reloaded(&mut self, messages: Vec<messages::Model>) -> Vec<FeedItem> {
        messages
            .into_iter()
            .filter(|m| self.seen.insert(m.id))
            .map(|m| FeedItem::Message(Box::new(m)))
            .collect()
    }

    /// What a bus event means to this subscriber (nothing, for other sessions' events).
    pub fn on_event(&mut self, event: &Event) -> Vec<FeedItem> {
        match event {
            Event::MessageAdded { message } if message.conversation_id == self.session_id => {
                if !self.seen.insert(message.id) {
                    return Vec::new();
                }
                let mut items = Vec::new();
                // A message ends its author's typing indicator.
                let author = if message.sender_kind == SenderKind::Lead.as_str() {
                    Some(self.lead_id)
                } else {
                    message.sender_user_id
                };
                if let Some(participant) = author.and_then(|id| self.typing.stopped(id)) {
                    items.push(FeedItem::TypingStopped {
                        participant,
                        expired: false,
                    });
                }
                items.push(FeedItem::Message(message.clone()));
                items
            }
            Event::Support { session_id, event } if *session_id == self.session_id => {
                self.on_support_event(event).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    fn on_support_event(&mut self, event: &SupportEvent) -> Option<FeedItem> {
        match event {
            // The other side's typing only.
            SupportEvent::TypingStarted {
                participant,
                expires_at,
            } => (participant.id != self.me && self.typing.started(participant, *expires_at)).then(
                || FeedItem::TypingStarted {
                    participant: participant.clone(),
                    expires_at: *expires_at,
                },
            ),
            SupportEvent::TypingStopped { participant } => (participant.id != self.me
                && self.typing.stopped(participant.id).is_some())
            .then(|| FeedItem::TypingStopped {
                participant: participant.clone(),
                expired: false,
            }),
            // One's own arrival and departure are no news to oneself.
            SupportEvent::ParticipantJoined { participant }
            | SupportEvent::ParticipantLeft { participant }
                if participant.id == self.me =>
            {
                None
            }
            other => Some(FeedItem::Session(other.clone())),
        }
    }

    /// Drives the feed over `bus` until it ends: expiring typing on time, reloading messages
    /// with `reload` after a lag and then saying so ([`FeedItem::Lagged`]). A failed reload, or a
    /// bus that is gone, is the stream's last item (an error), never silence.
    pub fn run<S, R, F>(mut self, bus: S, mut reload: R) -> impl Stream<Item = ApiResult<FeedItem>>
    where
        S: Stream<Item = Result<Arc<Event>, BusError>> + Send + 'static,
        R: FnMut() -> F + Send + 'static,
        F: Future<Output = ApiResult<Vec<messages::Model>>> + Send,
    {
        async_stream::stream! {
            let mut bus = Box::pin(bus);
            loop {
                let expiry = self.next_expiry();
                let sleep = async {
                    match expiry {
                        Some(at) => {
                            let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                            tokio::time::sleep(wait).await;
                        }
                        None => futures::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    () = sleep => {
                        for item in self.expire(Utc::now()) {
                            yield Ok(item);
                        }
                    }
                    item = bus.next() => {
                        match item {
                            None => break,
                            Some(Ok(event)) => {
                                for item in self.on_event(&event) {
                                    yield Ok(item);
                                }
                            }
                            Some(Err(BusError::Lagged(count))) => match reload().await {
                                Ok(missed) => {
                                    for item in self.reloaded(missed) {
                                        yield Ok(item);
                                    }
                                    yield Ok(FeedItem::Lagged { missed: count });
                                }
                                Err(error) => {
                                    yield Err(error);
                                    break;
                                }
                            },
                            Some(Err(error)) => {
                                yield Err(ApiError::Unavailable(error.to_string()));
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether `message` is ours to the customer and not yet known to have reached them.
pub fn awaiting_delivery(message: &messages::Model) -> bool {
    message.direction == MessageDirection::Outbound.as_str()
        && DeliveryStatus::parse(&message.delivery_status)
            .is_ok_and(|status| status.rank() < DeliveryStatus::Delivered.rank())
}

/// Records that `sent` reached the customer's socket: DELIVERED in the store, then
/// `MessageUpdated` for each message that moved. A failure is logged, never the feed's end: the
/// customer has the message either way, only its status lags.
async fn deliver(
    store: &Store,
    bus: &EventBus,
    tenant_id: TenantId,
    session_id: Uuid,
    sent: &[Uuid],
) {
    match store
        .mark_support_delivered(tenant_id, session_id, sent)
        .await
    {
        Ok(moved) => {
            for message in moved {
                bus.publish(
                    tenant_id,
                    Event::MessageUpdated {
                        message: Box::new(message),
                    },
                );
            }
        }
        Err(error) => {
            tracing::warn!(%session_id, ?error, "could not mark web chat replies delivered")
        }
    }
}

/// Publishes ParticipantLeft when the subscription that joined ends (the client unsubscribed or
/// the socket dropped); publishing never blocks, so Drop may do it.
struct LeaveOnDrop {
    bus: EventBus,
    tenant_id: TenantId,
    session_id: Uuid,
    participant: SupportParticipant,
}

impl Drop for LeaveOnDrop {
    fn drop(&mut self) {
        self.bus.publish(
            self.tenant_id,
            Event::Support {
                session_id: self.session_id,
                event: SupportEvent::ParticipantLeft {
                    participant: self.participant.clone(),
                },
            },
        );
    }
}

/// An opened session feed: the history to send first, then the live items.
pub struct OpenedFeed {
    /// The session as it was when the feed opened.
    pub session: conversations::Model,
    /// Messages, oldest first: the last [`HISTORY_MESSAGES`], or those after the resume point.
    pub history: Vec<messages::Model>,
    /// Whether older (or, when resuming, further) messages were left out.
    pub has_more: bool,
    /// The live items; dropping the stream announces the subscriber's departure.
    pub items: BoxStream<'static, ApiResult<FeedItem>>,
}

/// Opens `me`'s feed of `session` (already authorised), resuming after `after` when given;
/// `member` is the subscriber's user id when it is a member (then counted online).
pub async fn open(
    state: &AppState,
    session: conversations::Model,
    after: Option<Uuid>,
    me: SupportParticipant,
    member: Option<Uuid>,
) -> ApiResult<OpenedFeed> {
    let tenant_id = TenantId(session.tenant_id);
    let session_id = session.id;
    // Scoped: this session's events only, so 1,000 open chats do not wake each other.
    let bus = state.bus.subscribe_scoped(tenant_id, session_id);
    let (mut history, has_more) = state
        .store
        .support_history(tenant_id, session_id, after, HISTORY_MESSAGES)
        .await?;
    let customer = me.kind == ParticipantKind::Customer;
    if customer {
        let sent: Vec<Uuid> = history
            .iter()
            .filter(|m| awaiting_delivery(m))
            .map(|m| m.id)
            .collect();
        deliver(&state.store, &state.bus, tenant_id, session_id, &sent).await;
        for message in history.iter_mut().filter(|m| sent.contains(&m.id)) {
            message.delivery_status = DeliveryStatus::Delivered.as_str().to_owned();
        }
    }
    let presence: Option<PresenceGuard> =
        member.map(|user_id| state.support.presence.track(tenant_id, user_id));
    state.bus.publish(
        tenant_id,
        Event::Support {
            session_id,
            event: SupportEvent::ParticipantJoined {
                participant: me.clone(),
            },
        },
    );
    let leave = LeaveOnDrop {
        bus: state.bus.clone(),
        tenant_id,
        session_id,
        participant: me.clone(),
    };
    let feed = SessionFeed::new(&session, me.id, &history);
    let store = state.store.clone();
    let reload = move || {
        let store = store.clone();
        async move {
            store
                .support_history(tenant_id, session_id, None, CATCH_UP_MESSAGES)
                .await
                .map(|(missed, _)| missed)
        }
    };
    let held = (leave, presence);
    let (store, events) = (state.store.clone(), state.bus.clone());
    let items = feed
        .run(bus, reload)
        .then(move |item| {
            let _held = &held;
            let (store, events) = (store.clone(), events.clone());
            async move {
                match &item {
                    Ok(FeedItem::Message(message)) if customer && awaiting_delivery(message) => {
                        deliver(&store, &events, tenant_id, session_id, &[message.id]).await;
                    }
                    _ => {}
                }
                item
            }
        })
        .boxed();
    Ok(OpenedFeed {
        session,
        history,
        has_more,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadline_domain::conversation::{ConversationStatus, Handler, ParticipantKind};
    use leadline_domain::messaging::{DeliveryStatus, MessageDirection};
    use serde_json::json;

    fn participant(name: &str) -> SupportParticipant {
        SupportParticipant {
            kind: ParticipantKind::Customer,
            id: Uuid::now_v7(),
            name: name.into(),
        }
    }

    #[test]
    fn typing_expires_without_refresh_and_refreshes_are_not_news() {
        let t0 = Utc::now();
        let ana = participant("Ana");
        let mut clock = TypingClock::default();
        assert!(clock.started(&ana, t0 + chrono::Duration::seconds(5)));
        // A refresh moves the expiry and is not shown again.
        assert!(!clock.started(&ana, t0 + chrono::Duration::seconds(9)));
        assert_eq!(clock.next_expiry(), Some(t0 + chrono::Duration::seconds(9)));
        assert!(clock.expire(t0 + chrono::Duration::seconds(6)).is_empty());
        assert_eq!(
            clock.expire(t0 + chrono::Duration::seconds(9)),
            vec![ana.clone()]
        );
        assert_eq!(clock.next_expiry(), None);
        // An explicit stop of someone not typing is not shown.
        assert_eq!(clock.stopped(ana.id), None);
        assert!(clock.started(&ana, t0));
        assert_eq!(clock.stopped(ana.id), Some(ana));
    }

    fn session() -> conversations::Model {
        let at = Utc::now();
        conversations::Model {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            lead_id: Uuid::now_v7(),
            channel: "WEB_CHAT".into(),
            status: ConversationStatus::Active.as_str().into(),
            handled_by: Handler::Ai.as_str().into(),
            assignee_user_id: None,
            subject: None,
            ai_turns: 0,
            last_inbound_at: None,
            last_message_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn message(
        session: &conversations::Model,
        kind: SenderKind,
        user: Option<Uuid>,
    ) -> messages::Model {
        let at = Utc::now();
        messages::Model {
            id: Uuid::now_v7(),
            tenant_id: session.tenant_id,
            conversation_id: session.id,
            channel: "WEB_CHAT".into(),
            direction: if kind == SenderKind::Lead {
                MessageDirection::Inbound
            } else {
                MessageDirection::Outbound
            }
            .as_str()
            .into(),
            sender_kind: kind.as_str().into(),
            sender_user_id: user,
            body: "hello".into(),
            platform_message_id: None,
            client_message_id: None,
            delivery_status: DeliveryStatus::Received.as_str().into(),
            delivery_error: None,
            metadata: json!({}),
            read_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn added(message: &messages::Model) -> Event {
        Event::MessageAdded {
            message: Box::new(message.clone()),
        }
    }

    fn support(session: &conversations::Model, event: SupportEvent) -> Event {
        Event::Support {
            session_id: session.id,
            event,
        }
    }

    #[test]
    fn only_our_undelivered_messages_await_delivery() {
        let session = session();
        let with = |kind: SenderKind, status: DeliveryStatus| {
            let mut m = message(&session, kind, None);
            m.delivery_status = status.as_str().into();
            m
        };
        assert!(awaiting_delivery(&with(
            SenderKind::Ai,
            DeliveryStatus::Pending
        )));
        assert!(awaiting_delivery(&with(
            SenderKind::Agent,
            DeliveryStatus::Sent
        )));
        for (kind, status) in [
            (SenderKind::Ai, DeliveryStatus::Delivered),
            (SenderKind::Ai, DeliveryStatus::Read),
            (SenderKind::Ai, DeliveryStatus::Failed),
            (SenderKind::Agent, DeliveryStatus::Blocked),
            (SenderKind::Lead, DeliveryStatus::Received),
        ] {
            assert!(
                !awaiting_delivery(&with(kind, status)),
                "{} {}",
                kind.as_str(),
                status.as_str()
            );
        }
    }

    #[test]
    fn the_other_sides_typing_expires_without_refresh() {
        let s = session();
        let agent = SupportParticipant {
            kind: ParticipantKind::Agent,
            id: Uuid::now_v7(),
            name: "Agent".into(),
        };
        let mut feed = SessionFeed::new(&s, s.lead_id, &[]);
        let t0 = Utc::now();
        let started = support(
            &s,
            SupportEvent::TypingStarted {
                participant: agent.clone(),
                expires_at: t0 + chrono::Duration::seconds(5),
            },
        );
        assert!(matches!(
            feed.on_event(&started)[..],
            [FeedItem::TypingStarted { .. }]
        ));
        // A refresh moves the expiry and is not repeated.
        let refresh = support(
            &s,
            SupportEvent::TypingStarted {
                participant: agent.clone(),
                expires_at: t0 + chrono::Duration::seconds(8),
            },
        );
        assert!(feed.on_event(&refresh).is_empty());
        assert_eq!(feed.next_expiry(), Some(t0 + chrono::Duration::seconds(8)));
        assert!(feed.expire(t0 + chrono::Duration::seconds(6)).is_empty());
        assert_eq!(
            feed.expire(t0 + chrono::Duration::seconds(8)),
            vec![FeedItem::TypingStopped {
                participant: agent,
                expired: true
            }]
        );
        assert_eq!(feed.next_expiry(), None);
    }

    #[test]
    fn ones_own_typing_and_arrival_are_not_shown() {
        let s = session();
        let me = SupportParticipant {
            kind: ParticipantKind::Customer,
            id: s.lead_id,
            name: "Ana".into(),
        };
        let mut feed = SessionFeed::new(&s, me.id, &[]);
        let typing = SupportEvent::TypingStarted {
            participant: me.clone(),
            expires_at: Utc::now(),
        };
        assert!(feed.on_event(&support(&s, typing)).is_empty());
        let joined = SupportEvent::ParticipantJoined { participant: me };
        assert!(feed.on_event(&support(&s, joined)).is_empty());
        // Another session's events are not this feed's.
        let other = support(&session(), SupportEvent::AiProcessing { message_id: s.id });
        assert!(feed.on_event(&other).is_empty());
    }

    #[test]
    fn a_message_is_delivered_once_and_ends_its_authors_typing() {
        let s = session();
        let customer = SupportParticipant {
            kind: ParticipantKind::Customer,
            id: s.lead_id,
            name: "Ana".into(),
        };
        let old = message(&s, SenderKind::Lead, None);
        let mut feed = SessionFeed::new(&s, Uuid::now_v7(), std::slice::from_ref(&old));
        // Already in the history: dropped.
        assert!(feed.on_event(&added(&old)).is_empty());
        let typing = SupportEvent::TypingStarted {
            participant: customer.clone(),
            expires_at: Utc::now() + chrono::Duration::seconds(5),
        };
        assert_eq!(feed.on_event(&support(&s, typing)).len(), 1);
        let new = message(&s, SenderKind::Lead, None);
        assert_eq!(
            feed.on_event(&added(&new)),
            vec![
                FeedItem::TypingStopped {
                    participant: customer,
                    expired: false
                },
                FeedItem::Message(Box::new(new.clone())),
            ]
        );
        // The same message again (a second replica's copy): nothing.
        assert!(feed.on_event(&added(&new)).is_empty());
        assert_eq!(feed.next_expiry(), None);
    }

    #[test]
    fn a_reload_after_a_lag_delivers_only_the_missed_messages() {
        let s = session();
        let (first, second, third) = (
            message(&s, SenderKind::Lead, None),
            message(&s, SenderKind::Ai, None),
            message(&s, SenderKind::Lead, None),
        );
        let mut feed = SessionFeed::new(&s, Uuid::now_v7(), std::slice::from_ref(&first));
        assert_eq!(feed.on_event(&added(&second)).len(), 1);
        let reloaded = feed.reloaded(vec![first, second, third.clone()]);
        assert_eq!(reloaded, vec![FeedItem::Message(Box::new(third))]);
    }

    #[tokio::test]
    async fn a_lagged_bus_reloads_from_the_store_and_a_lost_bus_ends_with_an_error() {
        let s = session();
        let (seen, missed) = (
            message(&s, SenderKind::Lead, None),
            message(&s, SenderKind::Ai, None),
        );
        let feed = SessionFeed::new(&s, Uuid::now_v7(), std::slice::from_ref(&seen));
        let bus = futures::stream::iter(vec![
            Err(BusError::Lagged(3)),
            Ok(Arc::new(added(&missed))),
            Err(BusError::Disconnected),
            // Never reached: the feed ends at the lost bus.
            Ok(Arc::new(added(&message(&s, SenderKind::Lead, None)))),
        ]);
        let store = vec![seen, missed.clone()];
        let items: Vec<_> = feed
            .run(bus, move || {
                let store = store.clone();
                async move { Ok(store) }
            })
            .collect()
            .await;
        assert_eq!(items.len(), 3);
        assert!(matches!(&items[0], Ok(FeedItem::Message(m)) if m.id == missed.id));
        assert!(matches!(&items[1], Ok(FeedItem::Lagged { missed: 3 })));
        assert!(matches!(&items[2], Err(ApiError::Unavailable(_))));
    }

    #[tokio::test]
    async fn a_failed_reload_ends_the_feed_with_its_error() {
        let s = session();
        let feed = SessionFeed::new(&s, Uuid::now_v7(), &[]);
        let bus = futures::stream::iter(vec![Err(BusError::Lagged(1))]);
        let items: Vec<_> = feed
            .run(bus, || async { Err(ApiError::NotFound("support session")) })
            .collect()
            .await;
        assert!(matches!(&items[..], [Err(ApiError::NotFound(_))]));
    }
}
