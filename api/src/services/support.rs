//! The support live chat's moving parts that are neither storage nor GraphQL:
//!
//! - [`Presence`]: which agents are online, from their live subscriptions. In process, a count
//!   of open subscriptions per agent; with Redis, a sorted set per tenant whose members
//!   (`user:replica`) carry a heartbeat time refreshed while the subscription lives, so every
//!   replica sees every agent and a replica that dies stops counting after the TTL.
//! - [`TypingClock`]: typing indicators expire a few seconds after the last refresh. The expiry
//!   runs in each subscriber's stream (see `graphql::support`), not in the replica that received
//!   `setTyping`: a refresh may land on any replica, and only the subscriber sees them all.
//! - The customer context the AI reads for WEB_CHAT (profile and recent tickets), and the
//!   transcript export.
//!
//! Must not: store typing (it is bus-only by design) or decide escalation (the domain does).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadline_entity::{leads, messages, tickets};
use redis::aio::MultiplexedConnection;
use serde_json::json;
use uuid::Uuid;

use crate::bus::SupportParticipant;
use crate::store::inbox::sender;

/// How long one Redis presence call may take before it is given up (presence is advisory).
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// What the support chat keeps per process.
pub struct SupportRuntime {
    /// `startVisitorSession` per client IP (`crate::limit::ip_key`), shared by replicas through
    /// Redis when configured.
    pub visitor_limiter: crate::limit::Limiter,
    /// Messages per customer (one lead: a visitor or a signed-in customer) and minute
    /// (`LEADLINE_CUSTOMER_MESSAGES_PER_MINUTE`), keyed by lead so a flooding visitor slows
    /// nobody else; shared by replicas like the visitor limit.
    pub message_limiter: crate::limit::Limiter,
    /// Agents online.
    pub presence: Arc<Presence>,
}

impl SupportRuntime {
    /// The runtime for this process (`redis`: URL and key prefix when configured).
    pub fn new(
        visitor_limiter: crate::limit::Limiter,
        message_limiter: crate::limit::Limiter,
        presence_ttl: Duration,
        redis: Option<(&str, &str)>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            visitor_limiter,
            message_limiter,
            presence: Arc::new(Presence::new(presence_ttl, redis)?),
        })
    }
}

struct RedisPresence {
    client: redis::Client,
    prefix: String,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl RedisPresence {
    async fn connection(&self) -> Option<MultiplexedConnection> {
        let mut slot = self.connection.lock().await;
        if slot.is_none() {
            *slot = tokio::time::timeout(
                REDIS_TIMEOUT,
                self.client.get_multiplexed_async_connection(),
            )
            .await
            .ok()
            .and_then(Result::ok);
        }
        slot.clone()
    }

    async fn forget_connection(&self) {
        *self.connection.lock().await = None;
    }

    fn key(&self, tenant_id: Uuid) -> String {
        format!("{}:presence:{tenant_id}", self.prefix)
    }

    /// Runs `command`; a failure is logged and forgets the connection (presence is advisory).
    async fn run<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Option<T> {
        let mut connection = self.connection().await?;
        match tokio::time::timeout(REDIS_TIMEOUT, command.query_async::<T>(&mut connection)).await {
            Ok(Ok(value)) => Some(value),
            other => {
                tracing::warn!(ok = other.is_ok(), "presence: redis call failed");
                self.forget_connection().await;
                None
            }
        }
    }
}

/// One online agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineAgent {
    pub user_id: Uuid,
    /// The last heartbeat (now, in process).
    pub last_seen_at: DateTime<Utc>,
}

/// Which agents hold a live subscription (see the module docs).
pub struct Presence {
    ttl: Duration,
    /// This process's id in Redis members, so one replica's leaving never hides another's agent.
    replica: Uuid,
    local: Mutex<HashMap<(Uuid, Uuid), usize>>,
    redis: Option<Arc<RedisPresence>>,
}

impl Presence {
    /// In process, or shared through Redis at `url` under `prefix`.
    pub fn new(ttl: Duration, redis: Option<(&str, &str)>) -> anyhow::Result<Self> {
        let redis = match redis {
            Some((url, prefix)) => Some(Arc::new(RedisPresence {
                client: redis::Client::open(url)?,
                prefix: prefix.to_owned(),
                connection: tokio::sync::Mutex::new(None),
            })),
            None => None,
        };
        Ok(Self {
            ttl,
            replica: Uuid::now_v7(),
            local: Mutex::new(HashMap::new()),
            redis,
        })
    }

    fn member(&self, user_id: Uuid) -> String {
        format!("{user_id}:{}", self.replica)
    }

    /// Counts `user_id` online while the returned guard lives (hold it in the subscription).
    pub fn track(self: &Arc<Self>, tenant_id: Uuid, user_id: Uuid) -> PresenceGuard {
        {
            let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
            *local.entry((tenant_id, user_id)).or_insert(0) += 1;
        }
        let heartbeat = self.redis.clone().map(|redis| {
            let key = redis.key(tenant_id);
            let member = self.member(user_id);
            let every = (self.ttl / 3).max(Duration::from_secs(1));
            tokio::spawn(async move {
                loop {
                    let score = Utc::now().timestamp_millis();
                    redis
                        .run::<i64>(redis::cmd("ZADD").arg(&key).arg(score).arg(&member).clone())
                        .await;
                    tokio::time::sleep(every).await;
                }
            })
        });
        PresenceGuard {
            presence: self.clone(),
            tenant_id,
            user_id,
            heartbeat,
        }
    }

    fn release(&self, tenant_id: Uuid, user_id: Uuid) {
        let gone = {
            let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
            match local.get_mut(&(tenant_id, user_id)) {
                Some(count) if *count > 1 => {
                    *count -= 1;
                    false
                }
                Some(_) => {
                    local.remove(&(tenant_id, user_id));
                    true
                }
                None => false,
            }
        };
        if let (true, Some(redis)) = (gone, self.redis.clone()) {
            let key = redis.key(tenant_id);
            let member = self.member(user_id);
            // Drop runs outside async; the removal is best effort (the TTL covers a failure).
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    redis
                        .run::<i64>(redis::cmd("ZREM").arg(&key).arg(&member).clone())
                        .await;
                });
            }
        }
    }

    /// The agents online in `tenant_id`, each once, most recently seen first.
    pub async fn online(&self, tenant_id: Uuid) -> Vec<OnlineAgent> {
        let now = Utc::now();
        let Some(redis) = &self.redis else {
            let local = self.local.lock().unwrap_or_else(|p| p.into_inner());
            let mut agents: Vec<_> = local
                .keys()
                .filter(|(tenant, _)| *tenant == tenant_id)
                .map(|(_, user_id)| OnlineAgent {
                    user_id: *user_id,
                    last_seen_at: now,
                })
                .collect();
            agents.sort_by_key(|a| a.user_id);
            return agents;
        };
        let key = redis.key(tenant_id);
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let oldest = now.timestamp_millis().saturating_sub(ttl_ms);
        // Heartbeats of replicas that died without saying goodbye.
        redis
            .run::<i64>(
                redis::cmd("ZREMRANGEBYSCORE")
                    .arg(&key)
                    .arg("-inf")
                    .arg(format!("({oldest}"))
                    .clone(),
            )
            .await;
        let members: Vec<(String, f64)> = redis
            .run(
                redis::cmd("ZRANGEBYSCORE")
                    .arg(&key)
                    .arg(oldest)
                    .arg("+inf")
                    .arg("WITHSCORES")
                    .clone(),
            )
            .await
            .unwrap_or_default();
        latest_per_user(members)
    }
}

/// Folds `user:replica` members with millisecond scores into one entry per user.
fn latest_per_user(members: Vec<(String, f64)>) -> Vec<OnlineAgent> {
    let mut seen: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for (member, score) in members {
        let Some(user_id) = member
            .split_once(':')
            .and_then(|(user, _)| Uuid::parse_str(user).ok())
        else {
            continue;
        };
        let Some(at) = DateTime::from_timestamp_millis(score as i64) else {
            continue;
        };
        let entry = seen.entry(user_id).or_insert(at);
        *entry = (*entry).max(at);
    }
    let mut agents: Vec<_> = seen
        .into_iter()
        .map(|(user_id, last_seen_at)| OnlineAgent {
            user_id,
            last_seen_at,
        })
        .collect();
    agents.sort_by(|a, b| {
        b.last_seen_at
            .cmp(&a.last_seen_at)
            .then(a.user_id.cmp(&b.user_id))
    });
    agents
}

/// Keeps an agent online while it lives; dropping it (the subscription ended) releases them.
pub struct PresenceGuard {
    presence: Arc<Presence>,
    tenant_id: Uuid,
    user_id: Uuid,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        self.presence.release(self.tenant_id, self.user_id);
    }
}

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

/// Most recent tickets shown to the AI.
pub const CONTEXT_TICKETS: u64 = 5;

/// What the AI is told about the customer in a WEB_CHAT session: a SYSTEM turn at the start of
/// its history (the provider prompt renders SYSTEM turns as context, not as the customer's
/// words). Only facts the tenant's CRM holds; never secrets.
pub fn customer_context(lead: &leads::Model, recent_tickets: &[tickets::Model]) -> String {
    let mut lines = vec![format!(
        "Customer profile: name {}; e-mail {}; status {}; lead score {} ({}); customer since {}.",
        lead.name,
        lead.email.as_deref().unwrap_or("unknown"),
        lead.status,
        lead.score,
        lead.temperature,
        lead.created_at.format("%Y-%m-%d"),
    )];
    if recent_tickets.is_empty() {
        lines.push("Recent support tickets: none.".to_owned());
    } else {
        lines.push("Recent support tickets (newest first):".to_owned());
        for ticket in recent_tickets {
            lines.push(format!(
                "- {} [{} {}] opened {}",
                ticket.subject,
                ticket.status,
                ticket.priority,
                ticket.created_at.format("%Y-%m-%d"),
            ));
        }
    }
    lines.join("\n")
}

/// Who wrote a message, for transcripts.
pub fn author(message: &messages::Model) -> &'static str {
    match message.sender_kind.as_str() {
        sender::LEAD => "Customer",
        sender::AI => "AI",
        sender::AGENT => "Agent",
        _ => "System",
    }
}

/// The transcript as text: one `[time] Who: body` line per message.
pub fn transcript_text(messages: &[messages::Model]) -> String {
    messages
        .iter()
        .map(|m| {
            format!(
                "[{}] {}: {}",
                m.created_at.format("%Y-%m-%d %H:%M:%S"),
                author(m),
                m.body
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The transcript as a JSON array of `{id, at, senderKind, senderUserId, body, readAt}`.
pub fn transcript_json(messages: &[messages::Model]) -> serde_json::Value {
    serde_json::Value::Array(
        messages
            .iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "at": m.created_at.to_rfc3339(),
                    "senderKind": m.sender_kind,
                    "senderUserId": m.sender_user_id,
                    "body": m.body,
                    "readAt": m.read_at.map(|t| t.to_rfc3339()),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn participant(name: &str) -> SupportParticipant {
        SupportParticipant {
            kind: "CUSTOMER".into(),
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

    #[test]
    fn presence_members_fold_to_one_entry_per_user() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let agents = latest_per_user(vec![
            (format!("{a}:r1"), 1_000.0),
            (format!("{a}:r2"), 3_000.0),
            (format!("{b}:r1"), 2_000.0),
            ("garbage".into(), 5_000.0),
        ]);
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[0].user_id, a);
        assert_eq!(agents[0].last_seen_at.timestamp_millis(), 3_000);
        assert_eq!(agents[1].user_id, b);
    }

    #[tokio::test]
    async fn in_process_presence_counts_live_subscriptions() -> anyhow::Result<()> {
        let presence = Arc::new(Presence::new(Duration::from_secs(30), None)?);
        let (tenant, agent) = (Uuid::now_v7(), Uuid::now_v7());
        let first = presence.track(tenant, agent);
        let second = presence.track(tenant, agent);
        assert_eq!(presence.online(tenant).await.len(), 1);
        assert!(presence.online(Uuid::now_v7()).await.is_empty());
        drop(first);
        assert_eq!(presence.online(tenant).await.len(), 1);
        drop(second);
        assert!(presence.online(tenant).await.is_empty());
        Ok(())
    }

    #[test]
    fn the_ai_context_names_profile_and_tickets() {
        let at = Utc::now();
        let lead = leads::Model {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            name: "Ana Pérez".into(),
            email: Some("ana@example.com".into()),
            phone: None,
            company: None,
            status: "NEW".into(),
            score: 50,
            temperature: "WARM".into(),
            source_channel: Some("WEB_CHAT".into()),
            notes: None,
            handler: "AI".into(),
            assigned_user_id: None,
            metadata: json!({}),
            last_contacted_at: None,
            created_at: at,
            updated_at: at,
        };
        let text = customer_context(&lead, &[]);
        assert!(text.contains("Ana Pérez") && text.contains("ana@example.com"));
        assert!(text.contains("tickets: none"));
        let ticket = tickets::Model {
            id: Uuid::now_v7(),
            tenant_id: lead.tenant_id,
            lead_id: Some(lead.id),
            conversation_id: None,
            subject: "Refund for order 1042".into(),
            description: String::new(),
            priority: "HIGH".into(),
            status: "OPEN".into(),
            assignee_user_id: None,
            resolved_at: None,
            created_at: at,
            updated_at: at,
        };
        let text = customer_context(&lead, &[ticket]);
        assert!(text.contains("Refund for order 1042 [OPEN HIGH]"));
    }
}
