//! The dealership's lead flow (issue 15) end to end: new leads split between the AI and the
//! human team at exactly the configured share (on two replicas sharing PostgreSQL and Redis; one
//! app on the embedded backend), nurture follow-ups moving through their stages on a clock the
//! test controls (it makes the next step's job due) and stopping on a reply, an opt-out or
//! removal, and `callAnalytics` checked against a seeded set of calls. Each new operation also
//! gets its attacks: another tenant, a customer token, a removed member's open socket and a
//! flood of aliases.

use std::time::Duration;

use leadline_twilio::fake::FakeTwilio;
use leadline_whatsapp::fake::FakeWhatsApp;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value as DbValue};
use serde_json::{json, Value};
use uuid::Uuid;

mod cancel;
mod follow_ups;

use crate::harness::{
    backend, error_code, fresh_database, spawn_with, wait_for, Backend, SpawnOptions, TestApp,
    WsEvent,
};

const SETTINGS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { tenant { settings { aiLeadPercentage callMinuteRateMicros nurtureSchedule { followup1Hours followup2Hours longTermDays enabled } } } } }";
const NURTURE: &str = "query($f: NurtureLeadsFilter) { nurtureLeads(filter: $f, first: 50) { totalCount nodes { id stage status stopReason channel followUpsSent lastContactedAt nextFollowUpAt enrolledAt lead { id name handledBy } } } }";
const REMOVE: &str = "mutation($lead: ID!) { removeFromNurture(input: {leadId: $lead}) { nurtureLead { status stopReason stage } } }";
const ANALYTICS: &str = "query($from: DateTime!, $to: DateTime!, $g: Granularity = DAY) { callAnalytics(from: $from, to: $to, granularity: $g) { timeZone totalCalls inboundCalls outboundCalls answeredCalls transferredCalls averageDurationSeconds medianDurationSeconds appointmentsBooked conversionRate telephonyMinutes telephonyCostMicros aiCostMicros leads costPerLeadMicros series { start total inbound outbound answered appointmentsBooked } recentCalls { id direction status outcome appointmentBooked durationSeconds } } }";

/// A direct connection to the app's database: how the test moves the clock (it makes a
/// scheduled job due) and seeds calls no public operation creates yet.
struct Db {
    conn: DatabaseConnection,
    backend: DbBackend,
}

impl Db {
    async fn connect(url: &str) -> Db {
        let conn = sea_orm::Database::connect(url).await.expect("connect");
        let backend = conn.get_database_backend();
        Db { conn, backend }
    }

    /// `sql` with `$1…` placeholders (SQLite reads the same numbers as `?1…`).
    async fn exec(&self, sql: &str, values: Vec<DbValue>) -> u64 {
        let sql = match self.backend {
            DbBackend::Postgres => sql.to_owned(),
            _ => sql.replace('$', "?"),
        };
        self.conn
            .execute(Statement::from_sql_and_values(self.backend, sql, values))
            .await
            .expect("statement")
            .rows_affected()
    }

    async fn tenant_id(&self, slug: &str) -> Uuid {
        let sql = match self.backend {
            DbBackend::Postgres => "SELECT id FROM tenants WHERE slug = $1",
            _ => "SELECT id FROM tenants WHERE slug = ?",
        };
        self.conn
            .query_one(Statement::from_sql_and_values(
                self.backend,
                sql,
                [slug.into()],
            ))
            .await
            .expect("query")
            .expect("tenant row")
            .try_get("", "id")
            .expect("id")
    }

    /// "Time passes": the lead's pending nurture step is due now.
    async fn advance_nurture(&self, lead: &str) -> u64 {
        let past = chrono::Utc::now() - chrono::Duration::seconds(1);
        self.exec(
            "UPDATE jobs SET scheduled_for = $1 WHERE status = 'PENDING' AND id IN \
             (SELECT job_id FROM nurture_enrollments WHERE lead_id = $2)",
            vec![past.into(), uuid(lead).into()],
        )
        .await
    }
}

fn uuid(id: &str) -> Uuid {
    Uuid::parse_str(id).expect("uuid")
}

fn nurture_of<'a>(data: &'a Value, lead: &str) -> &'a Value {
    data["nurtureLeads"]["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["lead"]["id"] == lead))
        .unwrap_or(&Value::Null)
}

fn at(value: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&chrono::Utc)
}

/// 20 leads in one request (the root-field cap), alternating `createLead` and the CRM upsert;
/// returns how many of them the AI got.
async fn twenty_leads(app: &TestApp, token: &str, batch: usize) -> (usize, usize) {
    let fields: Vec<String> = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                format!("l{i}: createLead(input: {{name: \"Lead {batch}-{i}\"}}) {{ lead {{ handledBy }} }}")
            } else {
                format!("l{i}: upsertLeadByExternalRef(input: {{system: \"crm\", externalRef: \"{batch}-{i}\", name: \"CRM {batch}-{i}\"}}) {{ lead {{ handledBy }} }}")
            }
        })
        .collect();
    let data = app
        .ok(
            token,
            &format!("mutation {{ {} }}", fields.join(" ")),
            json!({}),
        )
        .await;
    let handlers: Vec<&str> = (0..20)
        .map(|i| {
            data[format!("l{i}")]["lead"]["handledBy"]
                .as_str()
                .expect("handledBy")
        })
        .collect();
    (
        handlers.iter().filter(|h| **h == "AI").count(),
        handlers.len(),
    )
}

#[tokio::test]
async fn new_leads_are_split_at_exactly_the_configured_share_across_replicas() {
    // Two replicas on one PostgreSQL and Redis; the embedded backend runs one process.
    let (apps, label) = match backend() {
        Backend::Postgres { .. } => {
            let (database_url, redis_url, _) = fresh_database().await;
            let options = SpawnOptions {
                database_url: Some(database_url),
                redis_url: Some(redis_url),
                redis_prefix: Some(format!("alloc-{}", Uuid::now_v7().simple())),
                env: vec![],
            };
            (
                vec![spawn_with(options.clone()).await, spawn_with(options).await],
                "two replicas",
            )
        }
        Backend::Embedded => (vec![spawn_with(SpawnOptions::default()).await], "one app"),
    };
    let owner = apps[0].sign_up("alloc-split").await;
    let mut humans_total = 0usize;
    for percentage in [0usize, 25, 50, 75, 100] {
        apps[0]
            .ok(
                &owner,
                SETTINGS,
                json!({"input": {"aiLeadPercentage": percentage}}),
            )
            .await;
        // 1,000 leads: 50 requests of 20, five at a time, spread over the replicas.
        let mut ai = 0usize;
        let mut total = 0usize;
        for wave in 0..10 {
            let requests = (0..5).map(|j| {
                let batch = wave * 5 + j;
                let app = &apps[batch % apps.len()];
                let owner = owner.clone();
                async move { twenty_leads(app, &owner, percentage * 1_000 + batch).await }
            });
            for (a, n) in futures::future::join_all(requests).await {
                ai += a;
                total += n;
            }
        }
        assert_eq!(total, 1_000);
        assert_eq!(
            ai,
            percentage * 10,
            "{label}: exactly {percentage}% of 1,000 leads went to the AI"
        );
        humans_total += total - ai;
        // The human team's queue lists exactly the HUMAN leads.
        let queue = apps[apps.len() - 1]
            .ok(
                &owner,
                "{ leads(filter: {handledBy: HUMAN}, first: 1) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(
            queue["leads"]["totalCount"].as_u64(),
            Some(humans_total as u64),
            "{label}"
        );
    }

    // Each prefix of a sequence stays within one lead of the share: 25 % on 7 leads is one.
    apps[0]
        .ok(&owner, SETTINGS, json!({"input": {"aiLeadPercentage": 25}}))
        .await;
    let mut handlers = Vec::new();
    for i in 0..7 {
        let data = apps[i % apps.len()]
            .ok(
                &owner,
                "mutation($n: String!) { createLead(input: {name: $n}) { lead { handledBy } } }",
                json!({"n": format!("Seq {i}")}),
            )
            .await;
        handlers.push(
            data["createLead"]["lead"]["handledBy"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        handlers,
        ["HUMAN", "HUMAN", "HUMAN", "AI", "HUMAN", "HUMAN", "HUMAN"],
        "{label}"
    );

    // An off-scale share is refused and changes nothing.
    let refused = apps[0]
        .graphql(
            Some(&owner),
            SETTINGS,
            json!({"input": {"aiLeadPercentage": 30}}),
        )
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
}

/// An app wired to fake WhatsApp and Twilio (texts from `+15005550006`), with nurture on.
async fn nurture_app(slug: &str) -> (TestApp, Db, String, FakeTwilio, FakeWhatsApp) {
    nurture_app_with(slug, Vec::new()).await
}

/// `nurture_app` with more environment for the app (an AI provider's key and base URL).
async fn nurture_app_with(
    slug: &str,
    extra_env: Vec<(String, String)>,
) -> (TestApp, Db, String, FakeTwilio, FakeWhatsApp) {
    let twilio = FakeTwilio::start().await.expect("fake Twilio");
    let whatsapp = FakeWhatsApp::start().await.expect("fake WhatsApp");
    let (database_url, redis_url, _) = fresh_database().await;
    let settings = twilio.settings();
    let app = spawn_with(SpawnOptions {
        database_url: Some(database_url.clone()),
        redis_url: Some(redis_url),
        redis_prefix: None,
        env: vec![
            (
                "TWILIO_ACCOUNT_SID".into(),
                settings.account_sid.clone().unwrap_or_default(),
            ),
            (
                "TWILIO_AUTH_TOKEN".into(),
                settings.auth_token.clone().unwrap_or_default(),
            ),
            ("TWILIO_API_BASE".into(), twilio.base_url()),
            ("TWILIO_SMS_FROM".into(), "+15005550006".into()),
            ("WHATSAPP_API_BASE".into(), whatsapp.base_url().to_owned()),
            ("LEADLINE_JOB_RETRY_BASE_MS".into(), "100".into()),
        ]
        .into_iter()
        .chain(extra_env)
        .collect(),
    })
    .await;
    let owner = app.sign_up(slug).await;
    let credentials = whatsapp.credentials();
    app.ok(
        &owner,
        "mutation($input: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $input) { connection { id } } }",
        json!({"input": {"channel": "WHATSAPP", "externalAccountId": credentials.phone_number_id,
               "accessToken": credentials.access_token, "appSecret": whatsapp.app_secret(),
               "verifyToken": "wa-verify",
               "whatsappTemplate": {"name": "dealer_follow_up", "languageCode": "en"}}}),
    )
    .await;
    let settings = app
        .ok(
            &owner,
            SETTINGS,
            json!({"input": {"nurtureSchedule": {"enabled": true}}}),
        )
        .await;
    assert_eq!(
        settings["updateTenantSettings"]["tenant"]["settings"]["nurtureSchedule"],
        json!({"followup1Hours": 24, "followup2Hours": 72, "longTermDays": 30, "enabled": true})
    );
    let db = Db::connect(&database_url).await;
    (app, db, owner, twilio, whatsapp)
}

async fn whatsapp_says(app: &TestApp, whatsapp: &FakeWhatsApp, slug: &str, from: &str, text: &str) {
    let signed = whatsapp.signed_text_message_webhook(from, "Carla Ruiz", text);
    let status = app
        .http
        .post(format!("{}/api/webhook/whatsapp/{slug}", app.base))
        .headers(signed.headers.clone())
        .body(signed.body.clone())
        .send()
        .await
        .expect("webhook")
        .status()
        .as_u16();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn nurture_moves_through_its_stages_on_the_clock_and_stops_on_a_reply() {
    let slug = "nurture-flow";
    let (app, db, owner, twilio, whatsapp) = nurture_app(slug).await;

    // A CRM lead with a phone: enrolled, FOLLOWUP_1 a day out.
    let lead = app
        .ok(
            &owner,
            "mutation { createLead(input: {name: \"Ana Torres\", phone: \"+14155550123\"}) { lead { id handledBy } } }",
            json!({}),
        )
        .await["createLead"]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data = app.ok(&owner, NURTURE, json!({})).await;
    let enrolled = nurture_of(&data, &lead);
    assert_eq!(enrolled["stage"], "FOLLOWUP_1", "{data:#}");
    assert_eq!(enrolled["status"], "ACTIVE");
    assert_eq!(enrolled["followUpsSent"], 0);
    let first_due = at(&enrolled["nextFollowUpAt"]) - at(&enrolled["enrolledAt"]);
    assert_eq!(first_due, chrono::Duration::hours(24));
    assert!(
        twilio.messages().is_empty(),
        "nothing is sent before it is due"
    );

    // A day passes: FOLLOWUP_1 goes out by SMS; FOLLOWUP_2 is due three days after enrolment,
    // then LONG_TERM every 30 days after the last follow-up.
    let steps = [
        ("FOLLOWUP_2", 1, "enrolledAt", chrono::Duration::hours(72)),
        (
            "LONG_TERM",
            2,
            "lastContactedAt",
            chrono::Duration::days(30),
        ),
        (
            "LONG_TERM",
            3,
            "lastContactedAt",
            chrono::Duration::days(30),
        ),
    ];
    for (stage, sent, since, wanted) in steps {
        assert_eq!(db.advance_nurture(&lead).await, 1, "one pending step");
        let data = app
            .eventually(&owner, NURTURE, json!({}), stage, |d| {
                nurture_of(d, &lead)["followUpsSent"] == sent
            })
            .await;
        let row = nurture_of(&data, &lead);
        assert_eq!(row["stage"], stage, "{row:#}");
        assert_eq!(row["channel"], "SMS");
        assert_eq!(row["status"], "ACTIVE");
        let gap = at(&row["nextFollowUpAt"]) - at(&row[since]);
        assert!(
            (gap - wanted).num_seconds().abs() <= 5,
            "{stage}: next in {gap}, wanted {wanted}"
        );
        let texts = twilio.messages();
        assert_eq!(texts.len(), sent as usize);
        let last = texts.last().unwrap();
        assert_eq!(last.to.as_deref(), Some("+14155550123"));
        assert_eq!(last.from.as_deref(), Some("+15005550006"));
        let body = last.body.clone().unwrap_or_default();
        assert!(body.starts_with("Hi Ana,"), "{body}");
        assert!(body.contains("Reply STOP"), "{body}");
    }
    let bodies: Vec<String> = twilio
        .messages()
        .iter()
        .map(|m| m.body.clone().unwrap_or_default())
        .collect();
    assert_ne!(bodies[0], bodies[1], "each stage has its own message");
    // Each text is a message sent in the usage ledger, once.
    let usage = app
        .ok(&owner, "{ billing { usage { item used } } }", json!({}))
        .await;
    let sent_count = usage["billing"]["usage"]
        .as_array()
        .and_then(|u| u.iter().find(|l| l["item"] == "MESSAGES_SENT"))
        .and_then(|l| l["used"].as_u64());
    assert_eq!(sent_count, Some(3), "{usage}");

    // Removed: the pending step sends nothing.
    let removed = app.ok(&owner, REMOVE, json!({"lead": lead})).await;
    assert_eq!(
        removed["removeFromNurture"]["nurtureLead"]["stopReason"],
        "REMOVED"
    );
    db.advance_nurture(&lead).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(twilio.messages().len(), 3, "no text after removal");

    // A lead with only an e-mail address gets its follow-up by mail.
    let eva = app
        .ok(
            &owner,
            "mutation { createLead(input: {name: \"Eva Ortiz\", email: \"eva@example.com\"}) { lead { id } } }",
            json!({}),
        )
        .await["createLead"]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(db.advance_nurture(&eva).await, 1);
    let mails = app.wait_for_mails("eva@example.com", 1).await;
    assert!(mails[0].contains("Hi Eva,"), "{}", mails[0]);
    let data = app
        .eventually(&owner, NURTURE, json!({}), "the e-mail step", |d| {
            nurture_of(d, &eva)["followUpsSent"] == 1
        })
        .await;
    assert_eq!(nurture_of(&data, &eva)["channel"], "EMAIL");
    app.ok(&owner, REMOVE, json!({"lead": eva})).await;

    // A WhatsApp lead: its one message enrols it; it then goes quiet for more than a day, so the
    // follow-up goes as the approved template; then it replies and the sequence stops.
    whatsapp_says(
        &app,
        &whatsapp,
        slug,
        "14155550777",
        "Hi, is the 2024 Civic available?",
    )
    .await;
    let data = app
        .eventually(
            &owner,
            NURTURE,
            json!({"f": {"status": "ACTIVE"}}),
            "the WhatsApp enrolment",
            |d| d["nurtureLeads"]["totalCount"] == 1,
        )
        .await;
    let wa_lead = data["nurtureLeads"]["nodes"][0]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The AI answered the first message at once.
    wait_for("the AI reply", Duration::from_secs(30), || async {
        match whatsapp.sent_messages().is_empty() {
            true => Err("nothing sent yet"),
            false => Ok(()),
        }
    })
    .await;
    let yesterday = chrono::Utc::now() - chrono::Duration::hours(25);
    db.exec(
        "UPDATE conversations SET last_inbound_at = $1 WHERE lead_id = $2",
        vec![yesterday.into(), uuid(&wa_lead).into()],
    )
    .await;
    db.exec(
        "UPDATE messages SET created_at = $1 WHERE direction = 'INBOUND' AND conversation_id IN \
         (SELECT id FROM conversations WHERE lead_id = $2)",
        vec![yesterday.into(), uuid(&wa_lead).into()],
    )
    .await;
    assert_eq!(db.advance_nurture(&wa_lead).await, 1);
    app.eventually(&owner, NURTURE, json!({}), "the WhatsApp follow-up", |d| {
        nurture_of(d, &wa_lead)["followUpsSent"] == 1
    })
    .await;
    let template = wait_for("the WhatsApp template", Duration::from_secs(30), || async {
        let sent = whatsapp.sent_messages();
        match sent.iter().find(|m| m["type"] == "template") {
            Some(t) => Ok(t.clone()),
            None => Err(sent),
        }
    })
    .await;
    assert_eq!(template["to"], "14155550777");
    assert_eq!(template["template"]["name"], "dealer_follow_up");

    whatsapp_says(
        &app,
        &whatsapp,
        slug,
        "14155550777",
        "Thanks! I'll come by on Saturday",
    )
    .await;
    let data = app
        .eventually(&owner, NURTURE, json!({}), "the stop on reply", |d| {
            nurture_of(d, &wa_lead)["status"] == "STOPPED"
        })
        .await;
    let row = nurture_of(&data, &wa_lead);
    assert_eq!(row["stopReason"], "REPLIED");
    assert!(row["nextFollowUpAt"].is_null());
    let sends = whatsapp.sent_messages().len();
    db.advance_nurture(&wa_lead).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let templates = whatsapp
        .sent_messages()
        .iter()
        .filter(|m| m["type"] == "template")
        .count();
    assert_eq!(templates, 1, "no follow-up after the reply");
    assert!(whatsapp.sent_messages().len() >= sends);

    // "BAJA" stops another lead's follow-ups as an opt-out.
    whatsapp_says(
        &app,
        &whatsapp,
        slug,
        "14155550888",
        "Hola, precio del Corolla?",
    )
    .await;
    let data = app
        .eventually(
            &owner,
            NURTURE,
            json!({"f": {"status": "ACTIVE"}}),
            "second enrolment",
            |d| d["nurtureLeads"]["totalCount"] == 1,
        )
        .await;
    let quitter = data["nurtureLeads"]["nodes"][0]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    whatsapp_says(&app, &whatsapp, slug, "14155550888", "BAJA").await;
    let data = app
        .eventually(
            &owner,
            NURTURE,
            json!({"f": {"status": "STOPPED"}}),
            "the opt-out",
            |d| nurture_of(d, &quitter)["status"] == "STOPPED",
        )
        .await;
    assert_eq!(nurture_of(&data, &quitter)["stopReason"], "OPTED_OUT");

    // Filters: three stopped, none active; stage filter.
    let stopped = app
        .ok(&owner, NURTURE, json!({"f": {"status": "STOPPED"}}))
        .await;
    assert_eq!(stopped["nurtureLeads"]["totalCount"], 4);
    let long_term = app
        .ok(&owner, NURTURE, json!({"f": {"stage": "LONG_TERM"}}))
        .await;
    assert_eq!(long_term["nurtureLeads"]["totalCount"], 1);

    // Bad schedules are refused and change nothing.
    for (input, field) in [
        (
            json!({"followup1Hours": 0, "enabled": true}),
            "followup1Hours",
        ),
        (
            json!({"followup1Hours": 48, "followup2Hours": 24, "enabled": true}),
            "followup2Hours",
        ),
        (
            json!({"longTermDays": 400, "enabled": true}),
            "longTermDays",
        ),
    ] {
        let refused = app
            .graphql(
                Some(&owner),
                SETTINGS,
                json!({"input": {"nurtureSchedule": input}}),
            )
            .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
        assert_eq!(
            refused["errors"][0]["extensions"]["field"],
            format!("nurtureSchedule.{field}"),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn nurture_operations_refuse_other_tenants_customers_removed_members_and_floods() {
    let (app, _db, victim, _twilio, _whatsapp) = nurture_app("nurture-victim").await;
    let lead = app
        .ok(
            &victim,
            "mutation { createLead(input: {name: \"Vic\", email: \"vic@example.com\"}) { lead { id } } }",
            json!({}),
        )
        .await["createLead"]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another tenant sees none of it and cannot remove it.
    let attacker = app.sign_up("nurture-attacker").await;
    let seen = app.ok(&attacker, NURTURE, json!({})).await;
    assert_eq!(seen["nurtureLeads"]["totalCount"], 0);
    let refused = app
        .graphql(Some(&attacker), REMOVE, json!({"lead": lead}))
        .await;
    assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");

    // A customer token gets nothing.
    let customer = app
        .ok(
            &victim,
            "mutation { createCustomerToken(input: {externalUserId: \"u-n\", name: \"Nia\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (query, variables) in [
        (NURTURE, json!({})),
        (REMOVE, json!({"lead": lead})),
        (
            ANALYTICS,
            json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}),
        ),
    ] {
        let answer = app.graphql(Some(&customer), query, variables).await;
        assert!(
            ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&answer)),
            "{query}: {answer}"
        );
    }
    // A viewer reads but does not remove.
    let (viewer, _) = app
        .member(&victim, "viewer@nurture-victim.test", "VIEWER")
        .await;
    app.ok(&viewer, NURTURE, json!({})).await;
    let refused = app
        .graphql(Some(&viewer), REMOVE, json!({"lead": lead}))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");

    // A removed agent's open socket can no longer remove leads from nurture.
    let (agent, agent_id) = app
        .member(&victim, "agent@nurture-victim.test", "AGENT")
        .await;
    let mut ws = app.ws(&agent).await.unwrap();
    app.ok(
        &victim,
        "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
        json!({"u": agent_id}),
    )
    .await;
    ws.subscribe(REMOVE, json!({"lead": lead})).await;
    match ws.next_event(Duration::from_secs(5)).await {
        Some(WsEvent::Next(payload)) => {
            assert_eq!(error_code(&payload), "UNAUTHENTICATED", "{payload}")
        }
        other => panic!("expected a refusal on the socket, got {other:?}"),
    }

    // A flood of aliases is refused before any runs.
    let flood = format!(
        "mutation {{ {} }}",
        (0..30)
            .map(|i| format!(
                "a{i}: removeFromNurture(input: {{leadId: \"{lead}\"}}) {{ nurtureLead {{ id }} }}"
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = app.graphql(Some(&victim), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    let flood = format!(
        "{{ {} }}",
        (0..30)
            .map(|i| format!("a{i}: callAnalytics(from: \"2026-01-01T00:00:00Z\", to: \"2026-12-01T00:00:00Z\") {{ totalCalls }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = app.graphql(Some(&victim), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");

    // Still enrolled and active after all of it.
    let still = app
        .ok(&victim, NURTURE, json!({"f": {"status": "ACTIVE"}}))
        .await;
    assert_eq!(still["nurtureLeads"]["totalCount"], 1);
    assert_eq!(nurture_of(&still, &lead)["stage"], "FOLLOWUP_1");
}

/// One seeded call: (minutes after 2026-12-01T10:00Z, direction, answered, machine, duration s,
/// outcome, appointment booked, lead index).
type Seed = (
    i64,
    &'static str,
    bool,
    bool,
    Option<i32>,
    Option<&'static str>,
    bool,
    Option<usize>,
);

mod analytics;
