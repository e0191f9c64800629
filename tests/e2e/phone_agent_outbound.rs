//! The phone agent's outbound calls end to end (issue 15, "Outbound"), against the fake Twilio
//! and the scripted fake ElevenLabs: `callLeadNow` places a Twilio call with async
//! answering-machine detection and per-call URLs under the public URL; a machine's answer ends
//! it as VOICEMAIL, hangs it up and schedules the retry two hours on; a person's answer streams
//! the call to the **outbound** agent. Plus the attacks every new operation and endpoint gets.
//!
//! The app listens on a port chosen before it starts, and `LEADLINE_PUBLIC_URL` names that
//! port, so the URLs the app gives Twilio are reachable and the fake posts its signed callbacks
//! to them exactly as Twilio would.

use std::time::Duration;

use leadline_elevenlabs::fake::{AgentScript, FakeElevenLabs, Step};
use leadline_twilio::fake::{parse_stream_twiml, Failure, FakeCall, FakeTwilio, RecordedRequest};
use leadline_twilio::{AnsweredBy, CallStatus};
use serde_json::{json, Value};

use crate::calls::zone_at_local_hour;
use crate::harness::{error_code, spawn_with, wait_for, SpawnOptions, TestApp};

const NUMBER: &str = "+15005550006";
const OPERATOR: &str = "+16505550100";
const LEAD_PHONE: &str = "+16505551234";
const INBOUND_AGENT: &str = "agent_inbound";
const OUTBOUND_AGENT: &str = "agent_outbound";

const CALL_LEAD_NOW: &str = "mutation($id: ID!) { callLeadNow(input: {leadId: $id}) { call { id status direction toNumber fromNumber attempts scheduledFor } } }";
const CALL: &str = "query($id: ID!) { call(id: $id) { id status direction toNumber fromNumber handledBy agentOutcome answeredBy attempts scheduledFor errorCode leadId } }";
const LEAD_CALLS: &str = "query($f: CallsFilter) { calls(filter: $f, first: 10) { nodes { id status attempts scheduledFor direction } } }";

struct Outbound {
    app: TestApp,
    twilio: FakeTwilio,
    eleven: FakeElevenLabs,
    owner: String,
    public: String,
}

/// A port free now, for the app to listen on (so its public URL is known before it starts).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Fakes, an app pointed at them whose public URL is its own address, and a dealership whose
/// outbound agent plays `steps`.
async fn outbound(steps: Vec<Step>) -> Outbound {
    outbound_with(steps, Vec::new()).await
}

/// [`outbound`] with more environment for the app.
async fn outbound_with(steps: Vec<Step>, extra: Vec<(String, String)>) -> Outbound {
    let twilio = FakeTwilio::start().await.unwrap();
    let eleven = FakeElevenLabs::start_default(AgentScript::new(INBOUND_AGENT, vec![Step::Close]))
        .await
        .unwrap();
    eleven.add_agent(AgentScript::new(OUTBOUND_AGENT, steps));
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let mut env: Vec<(String, String)> = vec![
        ("LEADLINE_ADDR".into(), format!("127.0.0.1:{port}")),
        ("LEADLINE_PUBLIC_URL".into(), public.clone()),
        ("TWILIO_ACCOUNT_SID".into(), twilio.account_sid().to_owned()),
        ("TWILIO_AUTH_TOKEN".into(), twilio.auth_token().to_owned()),
        ("TWILIO_API_BASE".into(), twilio.base_url()),
        ("ELEVENLABS_API_KEY".into(), eleven.api_key().to_owned()),
        ("ELEVENLABS_API_BASE".into(), eleven.base_url()),
        (
            "ELEVENLABS_WEBHOOK_SECRET".into(),
            eleven.webhook_secret().to_owned(),
        ),
    ];
    env.extend(extra);
    let app = spawn_with(SpawnOptions {
        env,
        ..SpawnOptions::default()
    })
    .await;
    assert_eq!(app.base, public);
    let owner = app.sign_up("outbound-motors").await;
    app.ok(
        &owner,
        "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { tenant { id } } }",
        json!({"input": {
            "agentRunning": true, "agentName": "Ava", "humanOperatorNumber": OPERATOR,
            "aiLeadPercentage": 0,
            // Noon where the tenant is: inside every calling window, whenever the test runs.
            "timeZone": zone_at_local_hour(12), "twilioPhoneNumber": NUMBER,
            "elevenlabsInboundAgentId": INBOUND_AGENT, "elevenlabsOutboundAgentId": OUTBOUND_AGENT,
            "dealershipName": "Sunset Motors",
        }}),
    )
    .await;
    Outbound {
        app,
        twilio,
        eleven,
        owner,
        public,
    }
}

impl Outbound {
    async fn lead(&self, token: &str, name: &str, phone: Option<&str>) -> String {
        let data = self
            .app
            .ok(
                token,
                "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
                json!({"input": {"name": name, "phone": phone}}),
            )
            .await;
        data["createLead"]["lead"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn call_lead_now(&self, lead_id: &str) -> Value {
        self.app
            .ok(&self.owner, CALL_LEAD_NOW, json!({"id": lead_id}))
            .await["callLeadNow"]["call"]
            .clone()
    }

    async fn call(&self, id: &str) -> Value {
        self.app.ok(&self.owner, CALL, json!({"id": id})).await["call"].clone()
    }

    async fn until_status(&self, id: &str, status: &str) -> Value {
        let what = format!("call {id} to reach {status}");
        leadline_api::store::testkit::eventually(
            &what,
            Duration::from_secs(15),
            Duration::from_millis(100),
            || async {
                let call = self.call(id).await;
                if call["status"] == status {
                    Ok(call)
                } else {
                    Err(call)
                }
            },
        )
        .await
        .unwrap_or_else(|timed_out| panic!("{timed_out}"))
    }

    async fn lead_calls(&self, lead_id: &str) -> Vec<Value> {
        self.app
            .ok(&self.owner, LEAD_CALLS, json!({"f": {"leadId": lead_id}}))
            .await["calls"]["nodes"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn creates(&self) -> Vec<RecordedRequest> {
        self.twilio
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/Calls.json"))
            .collect()
    }

    /// The Twilio call the app placed (waits for its create request).
    async fn placed(&self) -> FakeCall {
        leadline_api::store::testkit::eventually(
            "a call placed with Twilio",
            Duration::from_secs(15),
            Duration::from_millis(50),
            || async { self.twilio.calls().into_iter().next().ok_or("no call yet") },
        )
        .await
        .unwrap_or_else(|timed_out| panic!("{timed_out}"))
    }

    /// Twilio fetches the call's `Url` when the lead picks up (signed, as Twilio does).
    async fn pick_up(&self, placed: &FakeCall) -> leadline_twilio::fake::SentWebhook {
        let url = placed.param("Url").unwrap().to_owned();
        let params = [
            ("AccountSid", self.twilio.account_sid()),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", placed.call.sid.as_str()),
            ("CallStatus", "in-progress"),
            ("Called", LEAD_PHONE),
            ("Caller", NUMBER),
            ("Direction", "outbound-api"),
            ("From", NUMBER),
            ("To", LEAD_PHONE),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec();
        self.twilio.post_signed(&url, params).await.unwrap()
    }
}

#[tokio::test]
async fn a_machine_answer_ends_the_call_as_voicemail_hangs_up_and_schedules_the_retry() {
    let o = outbound(vec![Step::Close]).await;
    let lead = o.lead(&o.owner, "Dana Buyer", Some(LEAD_PHONE)).await;
    let queued = o.call_lead_now(&lead).await;
    assert_eq!(queued["direction"], "OUTBOUND", "{queued}");
    assert_eq!(queued["toNumber"], LEAD_PHONE);
    assert_eq!(queued["fromNumber"], NUMBER);
    assert_eq!(queued["attempts"], 1);
    let id = queued["id"].as_str().unwrap().to_owned();

    // The create request: our number to the lead's, AMD waiting for the beep, asynchronously,
    // and every URL under the public URL naming this call.
    let placed = o.placed().await;
    let dialing = o.until_status(&id, "DIALING").await;
    assert_eq!(dialing["handledBy"], "AI");
    let creates = o.creates();
    assert_eq!(creates.len(), 1);
    let create = &creates[0];
    assert!(create.authenticated);
    let base = format!("{}/api/voice/twilio/outbound/{id}", o.public);
    for (name, value) in [
        ("To", LEAD_PHONE.to_owned()),
        ("From", NUMBER.to_owned()),
        ("MachineDetection", "DetectMessageEnd".to_owned()),
        ("AsyncAmd", "true".to_owned()),
        ("Url", base.clone()),
        ("StatusCallback", format!("{base}/status")),
        ("AsyncAmdStatusCallback", format!("{base}/amd")),
    ] {
        assert_eq!(
            create.param(name),
            Some(value.as_str()),
            "{name}: {create:?}"
        );
    }
    assert_eq!(
        create.params("StatusCallbackEvent"),
        vec!["initiated", "ringing", "answered", "completed"]
    );

    // Ringing, then the machine's verdict after its beep.
    let ringing = o
        .twilio
        .status_callback(&placed.call.sid, CallStatus::Ringing, None)
        .await
        .unwrap();
    assert_eq!(ringing.status, 200, "{}", ringing.body);
    o.until_status(&id, "RINGING").await;
    let verdict = o
        .twilio
        .amd_result(&placed.call.sid, AnsweredBy::MachineEndBeep)
        .await
        .unwrap();
    assert_eq!(verdict.status, 200, "{}", verdict.body);
    let ended = o.until_status(&id, "VOICEMAIL").await;
    assert_eq!(ended["agentOutcome"], "VOICEMAIL", "{ended}");
    assert_eq!(ended["answeredBy"], "MACHINE", "{ended}");

    // The live call is hung up through the REST API.
    wait_for(
        "the call to be hung up",
        Duration::from_secs(15),
        || async {
            let updates = o.twilio.call(&placed.call.sid).unwrap().updates;
            let completed = ("Status".to_owned(), "completed".to_owned());
            if updates.iter().any(|form| form.contains(&completed)) {
                Ok(())
            } else {
                Err(updates)
            }
        },
    )
    .await;

    // The retry: attempt 2, queued two hours on, not dialled yet.
    let calls = o.lead_calls(&lead).await;
    assert_eq!(calls.len(), 2, "{calls:?}");
    let retry = &calls[0];
    assert_eq!(
        (retry["status"].as_str(), retry["attempts"].as_i64()),
        (Some("QUEUED"), Some(2)),
        "{retry}"
    );
    let when = chrono::DateTime::parse_from_rfc3339(retry["scheduledFor"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert!(
        when > chrono::Utc::now() + chrono::Duration::minutes(100)
            && when < chrono::Utc::now() + chrono::Duration::minutes(125),
        "{when}"
    );

    // The verdict again, and Twilio's final callback after the hang-up: nothing new.
    let again = o
        .twilio
        .amd_result(&placed.call.sid, AnsweredBy::MachineEndBeep)
        .await
        .unwrap();
    assert_eq!(again.status, 200);
    assert!(again.body.contains("duplicate"), "{}", again.body);
    let completed = o
        .twilio
        .status_callback(&placed.call.sid, CallStatus::Completed, Some(9))
        .await
        .unwrap();
    assert_eq!(completed.status, 200, "{}", completed.body);
    assert_eq!(o.call(&id).await["status"], "VOICEMAIL");
    assert_eq!(o.lead_calls(&lead).await.len(), 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(o.creates().len(), 1, "the retry waits for its time");

    // While the retry waits, calling the lead again is refused: one call per lead at a time.
    let twice = o
        .app
        .graphql(Some(&o.owner), CALL_LEAD_NOW, json!({"id": lead}))
        .await;
    assert_eq!(error_code(&twice), "CONFLICT", "{twice}");
}

#[tokio::test]
async fn a_person_answering_is_streamed_to_the_outbound_agent_and_no_answer_is_retried() {
    let o = outbound(vec![Step::Sleep(Duration::from_secs(2)), Step::Close]).await;
    let lead = o.lead(&o.owner, "Dana Buyer", Some(LEAD_PHONE)).await;
    let id = o.call_lead_now(&lead).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let placed = o.placed().await;
    o.until_status(&id, "DIALING").await;

    // The lead picks up: TwiML streams the call to the bridge with a call token.
    let answered = o.pick_up(&placed).await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    let twiml = parse_stream_twiml(&answered.body).expect("a <Connect><Stream>");
    assert_eq!(
        twiml.url,
        format!(
            "{}/api/voice/twilio/media-stream",
            o.public.replacen("http://", "ws://", 1)
        )
    );
    assert!(twiml.parameters.contains_key("token"));
    o.until_status(&id, "IN_PROGRESS").await;
    let _stream = o
        .twilio
        .connect_media_stream(&twiml.url, &placed.call.sid, twiml.parameters.clone())
        .await
        .unwrap();
    let conversations = o
        .eleven
        .wait_for(Duration::from_secs(10), |c| {
            c.first().is_some_and(|c| c.init.is_some())
        })
        .await;
    let conversation = conversations.first().expect("a conversation");
    assert_eq!(conversation.agent_id, OUTBOUND_AGENT);
    let variables = conversation.dynamic_variables();
    assert_eq!(variables["caller_name"], "Dana Buyer", "{variables}");
    assert_eq!(variables["caller_phone"], LEAD_PHONE, "{variables}");
    assert_eq!(variables["dealership_name"], "Sunset Motors", "{variables}");

    // Detection says a person: the call carries on.
    let human = o
        .twilio
        .amd_result(&placed.call.sid, AnsweredBy::Human)
        .await
        .unwrap();
    assert_eq!(human.status, 200, "{}", human.body);
    let answered = o.call(&id).await;
    assert_eq!(answered["status"], "IN_PROGRESS", "{answered}");
    assert_eq!(
        answered["answeredBy"], "HUMAN",
        "the verdict is recorded: {answered}"
    );
    let done = o
        .twilio
        .status_callback(&placed.call.sid, CallStatus::Completed, Some(42))
        .await
        .unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    let call = o.until_status(&id, "COMPLETED").await;
    assert_ne!(call["agentOutcome"], "VOICEMAIL");
    assert_eq!(call["answeredBy"], "HUMAN", "{call}");
    assert_eq!(
        o.lead_calls(&lead).await.len(),
        1,
        "an answered call is not retried"
    );

    // Another lead does not pick up: NO_ANSWER, and a retry is scheduled.
    let other = o.lead(&o.owner, "Eli Shopper", Some("+16505551299")).await;
    let id = o.call_lead_now(&other).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    o.until_status(&id, "DIALING").await;
    let sid = o
        .twilio
        .calls()
        .into_iter()
        .find(|c| c.call.to.as_deref() == Some("+16505551299"))
        .unwrap()
        .call
        .sid;
    let missed = o
        .twilio
        .status_callback(&sid, CallStatus::NoAnswer, None)
        .await
        .unwrap();
    assert_eq!(missed.status, 200, "{}", missed.body);
    let call = o.until_status(&id, "NO_ANSWER").await;
    assert_eq!(call["agentOutcome"], "NO_ANSWER");
    let calls = o.lead_calls(&other).await;
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0]["status"], "QUEUED");
    assert_eq!(calls[0]["attempts"], 2);
}

#[tokio::test]
async fn call_lead_now_refuses_other_tenants_customers_viewers_removed_members_and_floods() {
    let o = outbound(vec![Step::Close]).await;
    let lead = o.lead(&o.owner, "Dana Buyer", Some(LEAD_PHONE)).await;

    // Another tenant cannot ring our lead, nor learn it exists.
    let attacker = o.app.sign_up("attacker-motors").await;
    let theirs = o
        .app
        .graphql(Some(&attacker), CALL_LEAD_NOW, json!({"id": lead}))
        .await;
    assert_eq!(error_code(&theirs), "NOT_FOUND", "{theirs}");

    // A customer token, a viewer and an anonymous caller change nothing.
    let customer = o
        .app
        .ok(
            &o.owner,
            "mutation { createCustomerToken(input: {externalUserId: \"u-1\", name: \"Una\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = o
        .app
        .graphql(Some(&customer), CALL_LEAD_NOW, json!({"id": lead}))
        .await;
    assert!(
        ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&refused)),
        "{refused}"
    );
    let (viewer, _) = o.app.member(&o.owner, "viewer@sunset.test", "VIEWER").await;
    let refused = o
        .app
        .graphql(Some(&viewer), CALL_LEAD_NOW, json!({"id": lead}))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let anonymous = o
        .app
        .graphql(None, CALL_LEAD_NOW, json!({"id": lead}))
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");

    // A member removed keeps a token that no longer works.
    let (agent, agent_id) = o.app.member(&o.owner, "agent@sunset.test", "AGENT").await;
    o.app
        .ok(
            &o.owner,
            "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
            json!({"u": agent_id}),
        )
        .await;
    let removed = o
        .app
        .graphql(Some(&agent), CALL_LEAD_NOW, json!({"id": lead}))
        .await;
    assert!(
        ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&removed)),
        "{removed}"
    );

    // A flood of aliases is refused before any of them runs.
    let flood = format!(
        "mutation {{ {} }}",
        (0..30)
            .map(|i| format!(
                "a{i}: callLeadNow(input: {{leadId: \"{lead}\"}}) {{ call {{ id }} }}"
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = o.app.graphql(Some(&o.owner), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");

    // Bad input: no phone, not an id.
    let no_phone = o.lead(&o.owner, "No Phone", None).await;
    let refused = o
        .app
        .graphql(Some(&o.owner), CALL_LEAD_NOW, json!({"id": no_phone}))
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    let refused = o
        .app
        .graphql(Some(&o.owner), CALL_LEAD_NOW, json!({"id": "not-an-id"}))
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    assert!(o.lead_calls(&lead).await.is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(o.creates().is_empty(), "nothing was dialled");

    // The owner's call goes out; forged deliveries to its URLs are 401 and change nothing.
    let id = o.call_lead_now(&lead).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let placed = o.placed().await;
    o.until_status(&id, "DIALING").await;
    let forger = FakeTwilio::start_with(o.twilio.account_sid(), "not-the-auth-token")
        .await
        .unwrap();
    let base = format!("{}/api/voice/twilio/outbound/{id}", o.public);
    let params = vec![
        ("AccountSid".to_owned(), o.twilio.account_sid().to_owned()),
        ("CallSid".to_owned(), placed.call.sid.clone()),
        ("CallStatus".to_owned(), "in-progress".to_owned()),
        ("From".to_owned(), NUMBER.to_owned()),
        ("To".to_owned(), LEAD_PHONE.to_owned()),
    ];
    let forged = forger.post_signed(&base, params.clone()).await.unwrap();
    assert_eq!(forged.status, 401, "{}", forged.body);
    let body: Value = serde_json::from_str(&forged.body).unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(!forged.body.contains("<Stream"));
    let mut machine = params.clone();
    machine.push(("AnsweredBy".to_owned(), "machine_end_beep".to_owned()));
    let forged = forger
        .post_signed(&format!("{base}/amd"), machine)
        .await
        .unwrap();
    assert_eq!(forged.status, 401, "{}", forged.body);
    let unsigned = o.app.http.post(&base).form(&params).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    // Signed by Twilio, but over another call's URL: the signature covers the path.
    let elsewhere = o
        .twilio
        .post_signed_as(
            &base,
            &format!(
                "{}/api/voice/twilio/outbound/{}",
                o.public,
                uuid::Uuid::now_v7()
            ),
            params.clone(),
        )
        .await
        .unwrap();
    assert_eq!(elsewhere.status, 401, "{}", elsewhere.body);
    assert_eq!(o.call(&id).await["status"], "DIALING");
    // Correctly signed for a call id that is not ours: nothing to answer.
    let unknown = format!(
        "{}/api/voice/twilio/outbound/{}",
        o.public,
        uuid::Uuid::now_v7()
    );
    let stranger = o.twilio.post_signed(&unknown, params).await.unwrap();
    assert_eq!(stranger.status, 404, "{}", stranger.body);
}

#[tokio::test]
async fn a_create_twilio_refused_is_sent_again_once_and_an_invalid_number_fails_the_call() {
    let o = outbound_with(
        vec![Step::Close],
        vec![("LEADLINE_JOB_RETRY_BASE_MS".into(), "50".into())],
    )
    .await;

    // Twilio answers 503: nothing was placed, so the job's retry sends the create again, and
    // exactly one call exists at Twilio.
    o.twilio
        .fail_next(Failure::twilio(503, 20500, "Service unavailable"));
    let lead = o.lead(&o.owner, "Dana Buyer", Some(LEAD_PHONE)).await;
    let id = o.call_lead_now(&lead).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    o.until_status(&id, "DIALING").await;
    let statuses: Vec<u16> = o.creates().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 201]);
    assert_eq!(o.twilio.calls().len(), 1);

    // Twilio refuses the number: the call FAILS with the reason and is not retried.
    o.twilio.fail_next(Failure::twilio(
        400,
        21211,
        "The 'To' number is not a valid phone number.",
    ));
    let other = o.lead(&o.owner, "Eli Shopper", Some("+16505551299")).await;
    let id = o.call_lead_now(&other).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = o.until_status(&id, "FAILED").await;
    assert!(
        failed["errorCode"]
            .as_str()
            .unwrap()
            .starts_with("INVALID_PHONE_NUMBER"),
        "{failed}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(o.lead_calls(&other).await.len(), 1);
    assert_eq!(o.creates().len(), 3);
}

#[tokio::test]
async fn a_new_lead_the_ai_is_given_is_rung_by_the_outbound_agent_and_a_human_lead_is_not() {
    let o = outbound(vec![Step::Close]).await;
    // Every new lead to the AI from here on.
    o.app
        .ok(
            &o.owner,
            "mutation { updateTenantSettings(input: {aiLeadPercentage: 100}) { tenant { id } } }",
            json!({}),
        )
        .await;
    let lead = o.lead(&o.owner, "Erin Web Form", Some(LEAD_PHONE)).await;
    let placed = o.placed().await;
    assert_eq!(placed.param("To"), Some(LEAD_PHONE));
    assert_eq!(placed.param("From"), Some(NUMBER));
    let calls = o.lead_calls(&lead).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["direction"], "OUTBOUND");

    // At 0 %, the next lead goes to the sales team's queue and nobody rings it.
    o.app
        .ok(
            &o.owner,
            "mutation { updateTenantSettings(input: {aiLeadPercentage: 0}) { tenant { id } } }",
            json!({}),
        )
        .await;
    let human = o.lead(&o.owner, "Hal Human", Some("+16505551235")).await;
    assert!(o.lead_calls(&human).await.is_empty());
    assert_eq!(o.creates().len(), 1);
}

mod assign;
mod sms;
mod tenant_account;
mod unanswered_create;
