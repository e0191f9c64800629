//! The inbox's jobs end to end in process: an inbound message stored by `Store::ingest_inbound`,
//! the `ai_response` job answering it, and the `send_{channel}` jobs calling the platforms'
//! loopback fakes. SQLite + in-process counters by default; PostgreSQL + Redis when
//! `LEADLINE_TEST_BACKEND=postgres` (with `LEADLINE_TEST_DATABASE_URL` and
//! `LEADLINE_TEST_REDIS_URL`). Jobs run deterministically through `WorkerPool::process_batch`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use chrono::{Duration, Utc};
use leadline_api::app::Application;
use leadline_api::auth::Actor;
use leadline_api::config::Config;
use leadline_api::jobs::{JobHandler, WorkerPool};
use leadline_api::services::inbox::{send_job, AiTurnHandler};
use leadline_api::state::AppState;
use leadline_api::store::inbox::AI_RESPONSE_JOB;
use leadline_api::store::{
    ChannelConnectionChanges, ConversationChange, InboundContact, InboundMessage, IngestOutcome,
    Ingested, OutboundMessage, WhatsAppTemplate,
};
use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use leadline_entity::{conversations, jobs, lead_score_events, leads, messages, tickets};
use leadline_meta::fake::FakeMeta;
use leadline_tiktok::fake::FakeTikTok;
use leadline_whatsapp::fake::FakeWhatsApp;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};
use uuid::Uuid;

fn postgres() -> bool {
    std::env::var("LEADLINE_TEST_BACKEND").as_deref() == Ok("postgres")
}

struct Harness {
    state: AppState,
    pool: WorkerPool,
    whatsapp: FakeWhatsApp,
    meta: FakeMeta,
    tiktok: FakeTikTok,
    tenant: Uuid,
}

/// A migrated database, the three fakes, the app state pointed at them, one tenant with a
/// connection on each messaging channel. `extra` adds environment variables.
async fn harness(extra: &[(&str, &str)]) -> Harness {
    let whatsapp = FakeWhatsApp::start().await.expect("whatsapp fake");
    let meta = FakeMeta::start().await.expect("meta fake");
    let tiktok = FakeTikTok::start().await.expect("tiktok fake");
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("DATABASE_URL".into(), common::database_url("inbox").await);
    env.insert("LEADLINE_ADDR".into(), "127.0.0.1:0".into());
    env.insert("LEADLINE_WORKERS".into(), "0".into());
    env.insert("WHATSAPP_API_BASE".into(), whatsapp.base_url().into());
    env.insert("META_API_BASE".into(), meta.base_url().into());
    env.insert("TIKTOK_API_BASE".into(), tiktok.base_url().into());
    if postgres() {
        env.insert(
            "REDIS_URL".into(),
            std::env::var("LEADLINE_TEST_REDIS_URL").expect("LEADLINE_TEST_REDIS_URL"),
        );
        env.insert(
            "LEADLINE_REDIS_PREFIX".into(),
            format!("test-{}", Uuid::now_v7().simple()),
        );
    }
    for (key, value) in extra {
        env.insert((*key).into(), (*value).into());
    }
    let config = Config::from_lookup(|key| env.get(key).cloned()).expect("config");
    let app = Application::build(config).await.expect("build");
    let state = app.state().clone();
    let pool = leadline_api::workers::worker_pool(&state);
    let tenant = tenant(&state.store).await;
    let connect = |account: &str, token: &str| ChannelConnectionChanges {
        external_account_id: Some(account.to_owned()),
        access_token: Some(token.to_owned()),
        ..Default::default()
    };
    let wa = whatsapp.credentials();
    let page = meta.credentials();
    let tt = tiktok.credentials();
    for (channel, changes) in [
        (
            Channel::Whatsapp,
            connect(&wa.phone_number_id, &wa.access_token),
        ),
        (
            Channel::Instagram,
            connect(&page.page_id, &page.access_token),
        ),
        (
            Channel::Facebook,
            connect(&page.page_id, &page.access_token),
        ),
        (Channel::Tiktok, connect(&tt.business_id, &tt.access_token)),
    ] {
        state
            .store
            .upsert_channel_connection(TenantId(tenant), Actor::default(), channel, changes)
            .await
            .expect("connection");
    }
    Harness {
        state,
        pool,
        whatsapp,
        meta,
        tiktok,
        tenant,
    }
}

async fn tenant(store: &leadline_api::store::Store) -> Uuid {
    leadline_api::store::testkit::seed_tenant(store, "inbox")
        .await
        .expect("tenant")
}

impl Harness {
    /// Stores one inbound message from `external_id` on `channel`.
    async fn inbound(&self, channel: Channel, external_id: &str, text: &str) -> Ingested {
        let outcome = self
            .state
            .store
            .ingest_inbound(
                TenantId(self.tenant),
                &InboundMessage {
                    contact: InboundContact {
                        channel,
                        external_id: external_id.to_owned(),
                        phone: None,
                        display_name: Some(format!("Customer {external_id}")),
                    },
                    platform_message_id: format!("in-{}", Uuid::now_v7().simple()),
                    body: text.to_owned(),
                    metadata: json!({}),
                    sent_at: Utc::now(),
                    ai_enabled: true,
                },
            )
            .await
            .expect("ingest");
        match outcome {
            IngestOutcome::Stored(ingested) => *ingested,
            IngestOutcome::Duplicate => panic!("unexpected duplicate"),
        }
    }

    /// Runs due jobs until none is left.
    async fn drain(&self) {
        for _ in 0..50 {
            let report = self.pool.process_batch(10).await.expect("batch");
            if report.claimed == 0 {
                return;
            }
        }
        panic!("jobs kept coming");
    }

    /// Makes every scheduled retry due now (instead of waiting for the backoff).
    async fn make_due(&self) {
        jobs::Entity::update_many()
            .col_expr(
                jobs::Column::ScheduledFor,
                Expr::value(Utc::now() - Duration::seconds(1)),
            )
            .filter(jobs::Column::TenantId.eq(self.tenant))
            .filter(jobs::Column::Status.eq("PENDING"))
            .exec(self.state.store.connection())
            .await
            .expect("make due");
    }

    /// Moves the customer's last message `hours` into the past.
    async fn age_conversation(&self, conversation: Uuid, hours: i64) {
        conversations::Entity::update_many()
            .col_expr(
                conversations::Column::LastInboundAt,
                Expr::value(Some(Utc::now() - Duration::hours(hours))),
            )
            .filter(conversations::Column::Id.eq(conversation))
            .exec(self.state.store.connection())
            .await
            .expect("age");
    }

    async fn outbound(&self, conversation: Uuid) -> Vec<messages::Model> {
        messages::Entity::find()
            .filter(messages::Column::ConversationId.eq(conversation))
            .filter(messages::Column::Direction.eq("OUTBOUND"))
            .order_by_asc(messages::Column::Id)
            .all(self.state.store.connection())
            .await
            .expect("messages")
    }

    async fn jobs_of_kind(&self, kind: &str) -> Vec<jobs::Model> {
        jobs::Entity::find()
            .filter(jobs::Column::TenantId.eq(self.tenant))
            .filter(jobs::Column::Kind.eq(kind))
            .order_by_asc(jobs::Column::Id)
            .all(self.state.store.connection())
            .await
            .expect("jobs")
    }

    async fn conversation(&self, id: Uuid) -> conversations::Model {
        self.state
            .store
            .conversation(TenantId(self.tenant), id)
            .await
            .expect("conversation")
    }

    /// An agent's message in `conversation`, with its send job.
    async fn agent_message(&self, conversation: Uuid, channel: Channel, text: &str) -> Uuid {
        let tenant = self.tenant;
        let (message, created, _) = self
            .state
            .store
            .add_outbound(
                TenantId(tenant),
                conversation,
                OutboundMessage {
                    sender_kind: leadline_domain::messaging::SenderKind::Agent,
                    sender_user_id: None,
                    body: text.to_owned(),
                    client_message_id: Some(format!("agent-{}", Uuid::now_v7())),
                    metadata: json!({}),
                },
                ConversationChange::default(),
                |m| send_job(TenantId(tenant), channel, m.id),
            )
            .await
            .expect("agent message");
        assert!(created);
        message.id
    }
}

const QUESTION: &str = "Hi! Do you have the black hoodie in size M?";

#[tokio::test]
async fn each_channel_answers_and_sends_the_exact_send_api_request() {
    let h = harness(&[]).await;
    let cases = [
        (Channel::Whatsapp, "15551230001"),
        (Channel::Instagram, "17841400000000001"),
        (Channel::Facebook, "24000000000000001"),
        (Channel::Tiktok, "act.customer0001"),
    ];
    for (channel, external_id) in cases {
        let ingested = h.inbound(channel, external_id, QUESTION).await;
        assert!(ingested.ai_job.is_some(), "{channel}: ai job");
        h.drain().await;
        let out = h.outbound(ingested.conversation.id).await;
        assert_eq!(out.len(), 1, "{channel}: one reply");
        let reply = &out[0];
        assert_eq!(reply.sender_kind, "AI");
        assert_eq!(
            reply.client_message_id.as_deref(),
            Some(format!("ai:{}", ingested.message.id).as_str())
        );
        assert_eq!(reply.delivery_status, "SENT", "{channel}: {reply:?}");
        assert!(!reply.body.is_empty());
        let platform_id = reply.platform_message_id.clone().expect("platform id");
        assert_eq!(h.conversation(ingested.conversation.id).await.ai_turns, 1);
        match channel {
            Channel::Whatsapp => {
                let requests = h.whatsapp.requests();
                assert_eq!(requests.len(), 1);
                let body = &requests[0].body;
                assert_eq!(
                    requests[0].path,
                    format!("/v21.0/{}/messages", h.whatsapp.phone_number_id())
                );
                assert_eq!(body["messaging_product"], "whatsapp");
                assert_eq!(body["to"], external_id);
                assert_eq!(body["type"], "text");
                assert_eq!(body["text"]["body"], reply.body.as_str());
                assert!(platform_id.starts_with("wamid."), "{platform_id}");
            }
            Channel::Instagram | Channel::Facebook => {
                let requests = h.meta.requests();
                let last = requests.last().expect("meta request");
                assert_eq!(last.path, format!("/v21.0/{}/messages", h.meta.page_id()));
                assert_eq!(last.body["recipient"]["id"], external_id);
                assert_eq!(last.body["messaging_type"], "RESPONSE");
                assert!(last.body.get("tag").is_none_or(Value::is_null));
                assert_eq!(last.body["message"]["text"], reply.body.as_str());
            }
            Channel::Tiktok => {
                let requests = h.tiktok.requests();
                assert_eq!(requests.len(), 1);
                let body = &requests[0].body;
                assert_eq!(requests[0].path, "/open_api/v1.3/business/message/send/");
                assert_eq!(body["business_id"], h.tiktok.credentials().business_id);
                assert_eq!(body["open_id"], external_id);
                assert_eq!(body["message_type"], "text");
                assert_eq!(body["message_content"]["text"], reply.body.as_str());
            }
            _ => unreachable!(),
        }
        let lead = leads::Entity::find_by_id(ingested.lead.id)
            .one(h.state.store.connection())
            .await
            .unwrap()
            .unwrap();
        assert!(lead.last_contacted_at.is_some(), "{channel}: contacted");
    }
    assert_eq!(h.meta.requests().len(), 2);
}

#[tokio::test]
async fn buying_signals_move_the_lead_score_once() {
    let h = harness(&[]).await;
    let ingested = h
        .inbound(
            Channel::Whatsapp,
            "15551230002",
            "My budget is $500 and I need it urgently, can you ship today?",
        )
        .await;
    h.drain().await;
    let events = lead_score_events::Entity::find()
        .filter(lead_score_events::Column::LeadId.eq(ingested.lead.id))
        .all(h.state.store.connection())
        .await
        .unwrap();
    let signals: Vec<&str> = events.iter().map(|e| e.signal.as_str()).collect();
    assert!(signals.contains(&"budget_mentioned"), "{signals:?}");
    assert!(signals.contains(&"urgent"), "{signals:?}");
    assert!(events
        .iter()
        .all(|e| e.source_message_id == Some(ingested.message.id)));
    let lead = leads::Entity::find_by_id(ingested.lead.id)
        .one(h.state.store.connection())
        .await
        .unwrap()
        .unwrap();
    let total: i32 = events.iter().map(|e| e.delta).sum();
    assert_eq!(lead.score, (50 + total).clamp(0, 100));
    assert!(lead.score >= 85, "{}", lead.score);
    assert_eq!(lead.temperature, "HOT");
}

#[tokio::test]
async fn asking_for_a_human_escalates_once_and_silences_the_ai() {
    let h = harness(&[]).await;
    let ingested = h
        .inbound(
            Channel::Whatsapp,
            "15551230003",
            "I want to talk to a human",
        )
        .await;
    h.drain().await;
    let conversation = h.conversation(ingested.conversation.id).await;
    assert_eq!(conversation.status, "WAITING");
    assert_eq!(conversation.handled_by, "HUMAN");
    let opened = tickets::Entity::find()
        .filter(tickets::Column::ConversationId.eq(conversation.id))
        .all(h.state.store.connection())
        .await
        .unwrap();
    assert_eq!(opened.len(), 1);
    assert!(
        opened[0]
            .subject
            .starts_with("Escalation: EXPLICIT_REQUEST"),
        "{}",
        opened[0].subject
    );
    assert!(opened[0].subject.contains("Customer 15551230003"));
    assert!(opened[0].description.contains("I want to talk to a human"));
    let out = h.outbound(conversation.id).await;
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].sender_kind, "SYSTEM");
    assert_eq!(out[0].delivery_status, "SENT");
    assert_eq!(h.whatsapp.sent_messages().len(), 1);

    let next = h
        .inbound(Channel::Whatsapp, "15551230003", "Hello? Anyone there?")
        .await;
    assert_eq!(next.conversation.id, conversation.id);
    assert!(next.ai_job.is_none());
    h.drain().await;
    assert_eq!(h.outbound(conversation.id).await.len(), 1);
    assert_eq!(h.whatsapp.sent_messages().len(), 1);
}

#[tokio::test]
async fn whatsapp_outside_the_window_is_blocked_without_a_template_and_templated_with_one() {
    let h = harness(&[]).await;
    let first = h.inbound(Channel::Whatsapp, "15551230004", QUESTION).await;
    h.age_conversation(first.conversation.id, 25).await;
    h.drain().await;
    let out = h.outbound(first.conversation.id).await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].delivery_status, "BLOCKED");
    let error = out[0].delivery_error.clone().unwrap_or_default();
    assert!(error.starts_with("WINDOW_CLOSED_NO_TEMPLATE"), "{error}");
    assert!(h.whatsapp.requests().is_empty());
    let send = &h.jobs_of_kind("send_whatsapp").await[0];
    assert_eq!(send.status, "COMPLETED");
    assert_eq!(
        send.result.as_ref().unwrap()["blocked"],
        "WINDOW_CLOSED_NO_TEMPLATE"
    );

    h.state
        .store
        .upsert_channel_connection(
            TenantId(h.tenant),
            Actor::default(),
            Channel::Whatsapp,
            ChannelConnectionChanges {
                whatsapp_template: Some(Some(WhatsAppTemplate {
                    name: "order_update".into(),
                    language_code: "en_US".into(),
                })),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let second = h.inbound(Channel::Whatsapp, "15551230005", QUESTION).await;
    h.age_conversation(second.conversation.id, 30).await;
    h.drain().await;
    let out = h.outbound(second.conversation.id).await;
    assert_eq!(out[0].delivery_status, "SENT", "{:?}", out[0]);
    let requests = h.whatsapp.requests();
    assert_eq!(requests.len(), 1);
    let body = &requests[0].body;
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["to"], "15551230005");
    assert_eq!(body["type"], "template");
    assert_eq!(body["template"]["name"], "order_update");
    assert_eq!(body["template"]["language"]["code"], "en_US");
}

#[tokio::test]
async fn messenger_blocks_the_ai_after_24_hours_but_an_agent_uses_the_human_agent_tag() {
    let h = harness(&[]).await;
    let ingested = h
        .inbound(Channel::Facebook, "24000000000000002", QUESTION)
        .await;
    h.age_conversation(ingested.conversation.id, 30).await;
    h.drain().await;
    let out = h.outbound(ingested.conversation.id).await;
    assert_eq!(out[0].delivery_status, "BLOCKED");
    assert!(out[0]
        .delivery_error
        .as_deref()
        .unwrap_or_default()
        .starts_with("AUTOMATED_OUTSIDE_WINDOW"));
    assert!(h.meta.requests().is_empty());

    let agent = h
        .agent_message(
            ingested.conversation.id,
            Channel::Facebook,
            "Sorry for the wait!",
        )
        .await;
    h.drain().await;
    let requests = h.meta.requests();
    assert_eq!(requests.len(), 1);
    let body = &requests[0].body;
    assert_eq!(body["recipient"]["id"], "24000000000000002");
    assert_eq!(body["messaging_type"], "MESSAGE_TAG");
    assert_eq!(body["tag"], "HUMAN_AGENT");
    assert_eq!(body["message"]["text"], "Sorry for the wait!");
    let sent = h
        .state
        .store
        .message(TenantId(h.tenant), agent)
        .await
        .unwrap();
    assert_eq!(sent.delivery_status, "SENT");
}

#[tokio::test]
async fn the_eleventh_tiktok_message_in_a_day_is_blocked() {
    let h = harness(&[]).await;
    let ingested = h
        .inbound(Channel::Tiktok, "act.customer0002", QUESTION)
        .await;
    h.drain().await;
    for n in 0..9 {
        h.agent_message(
            ingested.conversation.id,
            Channel::Tiktok,
            &format!("Update {n}"),
        )
        .await;
        h.drain().await;
    }
    assert_eq!(h.tiktok.sent_messages().len(), 10);
    let eleventh = h
        .agent_message(ingested.conversation.id, Channel::Tiktok, "One more thing")
        .await;
    h.drain().await;
    let message = h
        .state
        .store
        .message(TenantId(h.tenant), eleventh)
        .await
        .unwrap();
    assert_eq!(message.delivery_status, "BLOCKED");
    assert!(message
        .delivery_error
        .as_deref()
        .unwrap_or_default()
        .starts_with("TIKTOK_DAILY_LIMIT"));
    assert_eq!(h.tiktok.requests().len(), 10);
}

#[tokio::test]
async fn a_429_is_retried_and_sent_exactly_once() {
    let h = harness(&[]).await;
    h.whatsapp.fail_next(
        1,
        leadline_whatsapp::fake::Failure::RateLimited {
            retry_after_secs: None,
        },
    );
    let ingested = h.inbound(Channel::Whatsapp, "15551230006", QUESTION).await;
    h.drain().await;
    let out = h.outbound(ingested.conversation.id).await;
    assert_eq!(out[0].delivery_status, "PENDING");
    assert!(out[0].delivery_error.is_some());
    let send = &h.jobs_of_kind("send_whatsapp").await[0];
    assert_eq!((send.status.as_str(), send.attempts), ("PENDING", 1));
    h.make_due().await;
    h.drain().await;
    let out = h.outbound(ingested.conversation.id).await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].delivery_status, "SENT");
    assert_eq!(out[0].delivery_error, None);
    assert_eq!(h.whatsapp.requests().len(), 2);
    assert_eq!(h.whatsapp.sent_messages().len(), 1);
    let send = &h.jobs_of_kind("send_whatsapp").await[0];
    assert_eq!((send.status.as_str(), send.attempts), ("COMPLETED", 2));
}

#[tokio::test]
async fn a_platform_that_keeps_failing_ends_dead_and_failed_and_a_retry_revives_it() {
    let h = harness(&[]).await;
    h.whatsapp
        .fail_next(5, leadline_whatsapp::fake::Failure::ServerError);
    let ingested = h.inbound(Channel::Whatsapp, "15551230007", QUESTION).await;
    for _ in 0..6 {
        h.drain().await;
        h.make_due().await;
    }
    let send = h.jobs_of_kind("send_whatsapp").await.remove(0);
    assert_eq!(send.status, "DEAD");
    assert_eq!(send.attempts, 5);
    assert!(send.error.as_deref().unwrap_or_default().contains("500") || send.error.is_some());
    let out = h.outbound(ingested.conversation.id).await;
    assert_eq!(out[0].delivery_status, "FAILED");
    assert!(out[0].delivery_error.is_some());
    assert!(h.whatsapp.sent_messages().is_empty());

    h.state
        .jobs
        .retry(TenantId(h.tenant), send.id)
        .await
        .unwrap();
    h.drain().await;
    let out = h.outbound(ingested.conversation.id).await;
    assert_eq!(out[0].delivery_status, "SENT");
    assert_eq!(h.whatsapp.sent_messages().len(), 1);
    assert_eq!(
        h.state
            .jobs
            .job(TenantId(h.tenant), send.id)
            .await
            .unwrap()
            .status,
        "COMPLETED"
    );
}

#[tokio::test]
async fn a_rerun_ai_turn_creates_one_reply_and_one_send() {
    let h = harness(&[]).await;
    let ingested = h.inbound(Channel::Whatsapp, "15551230008", QUESTION).await;
    let job = h
        .state
        .jobs
        .job(TenantId(h.tenant), ingested.ai_job.unwrap())
        .await
        .unwrap();
    assert_eq!(job.kind, AI_RESPONSE_JOB);
    let handler = AiTurnHandler::new(h.state.clone());
    // The worker "crashed" after the first run: the same job runs again.
    let first = handler.run(&job).await.unwrap();
    let second = handler.run(&job).await.unwrap();
    assert_eq!(first["replyMessageId"], second["replyMessageId"]);
    assert_eq!(h.outbound(ingested.conversation.id).await.len(), 1);
    assert_eq!(h.jobs_of_kind("send_whatsapp").await.len(), 1);
    assert_eq!(h.conversation(ingested.conversation.id).await.ai_turns, 1);
    h.drain().await;
    assert_eq!(h.whatsapp.sent_messages().len(), 1);
}

#[tokio::test]
async fn a_burst_gets_one_reply_to_its_last_message() {
    let h = harness(&[]).await;
    let first = h.inbound(Channel::Whatsapp, "15551230009", "Hi").await;
    let second = h.inbound(Channel::Whatsapp, "15551230009", QUESTION).await;
    h.drain().await;
    let out = h.outbound(first.conversation.id).await;
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].client_message_id.as_deref(),
        Some(format!("ai:{}", second.message.id).as_str())
    );
    let ai_jobs = h.jobs_of_kind(AI_RESPONSE_JOB).await;
    assert_eq!(ai_jobs.len(), 2);
    assert!(ai_jobs[0].result.as_ref().unwrap()["skipped"].is_string());
}

#[tokio::test]
async fn over_the_send_rate_a_send_is_retried_not_lost() {
    let h = harness(&[("LEADLINE_SEND_RATE_PER_MINUTE", "1")]).await;
    let a = h.inbound(Channel::Whatsapp, "15551230010", QUESTION).await;
    let b = h.inbound(Channel::Whatsapp, "15551230011", QUESTION).await;
    h.drain().await;
    // Which of the two goes first is the queue's choice; exactly one may.
    let mut statuses = [
        h.outbound(a.conversation.id).await[0]
            .delivery_status
            .clone(),
        h.outbound(b.conversation.id).await[0]
            .delivery_status
            .clone(),
    ];
    statuses.sort();
    assert_eq!(statuses, ["PENDING".to_owned(), "SENT".to_owned()]);
    assert_eq!(h.whatsapp.sent_messages().len(), 1);
    let sends = h.jobs_of_kind("send_whatsapp").await;
    let waiting: Vec<_> = sends.iter().filter(|j| j.status == "PENDING").collect();
    assert_eq!(waiting.len(), 1, "{sends:?}");
    assert_eq!(waiting[0].attempts, 1);
    assert!(
        waiting[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("rate limit"),
        "{:?}",
        waiting[0].error
    );
}

#[tokio::test]
async fn a_connection_without_credentials_fails_the_message_with_a_clear_error() {
    let h = harness(&[]).await;
    h.state
        .store
        .upsert_channel_connection(
            TenantId(h.tenant),
            Actor::default(),
            Channel::Whatsapp,
            ChannelConnectionChanges {
                access_token: Some(String::new()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ingested = h.inbound(Channel::Whatsapp, "15551230012", QUESTION).await;
    h.drain().await;
    let out = h.outbound(ingested.conversation.id).await;
    assert_eq!(out[0].delivery_status, "FAILED");
    assert_eq!(
        out[0].delivery_error.as_deref(),
        Some("the WHATSAPP connection has no access token")
    );
    let send = &h.jobs_of_kind("send_whatsapp").await[0];
    assert_eq!(send.status, "FAILED");
    assert_eq!(send.attempts, 1);
    assert!(h.whatsapp.requests().is_empty());
}
