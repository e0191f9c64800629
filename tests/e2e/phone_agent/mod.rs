//! The dealership AI phone agent end to end (issue 15), against the fake Twilio (signed
//! webhooks, Twilio's side of the Media Stream, the REST API) and a scripted fake ElevenLabs
//! agent: an incoming call streamed through the bridge with real μ-law audio both ways, the
//! appointment and transfer tools, barge-in, the agent stopped, forged and expired credentials,
//! the reports that finish a call, and the attacks every new field gets.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{Duration as Days, NaiveDate, Utc};
use leadline_elevenlabs::fake::{AgentScript, FakeElevenLabs, RecordedConversation, Step};
use leadline_elevenlabs::webhook::signature_header;
use leadline_elevenlabs::ServerEvent;
use leadline_twilio::fake::{parse_stream_twiml, FakeTwilio, MediaStreamClient, SentWebhook};
use leadline_twilio::media_stream::{encode_payload, Outbound, FRAME_BYTES};
use serde_json::{json, Value};

use crate::harness::{error_code, spawn_with, swap_authority, SpawnOptions, TestApp, WsEvent};

const PUBLIC: &str = "https://leads.example.test";
const NUMBER: &str = "+15005550006";
const OPERATOR: &str = "+16505550100";
const CALLER: &str = "+16505551234";
const AGENT_ID: &str = "agent_dealer";
/// UTC−5 all year, so the test does not depend on today's DST.
const ZONE: &str = "Etc/GMT+5";

const SETTINGS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { tenant { settings { agentRunning twilioPhoneNumber elevenlabsInboundAgentId dealershipName businessHours { weekday open close } appointmentSlotMinutes appointmentsPerSlot timeZone } } } }";
const CALL: &str = "query($id: ID!) { call(id: $id) { id status direction fromNumber handledBy agentOutcome durationSeconds summary recordingUrl agentConversationId leadId transcript { speaker text } } }";
const APPOINTMENTS: &str = "query($from: DateTime!, $to: DateTime!) { appointments(from: $from, to: $to) { id leadId callId scheduledAt durationMinutes vehicle contactName status } }";

/// G.711 μ-law of one 16-bit sample (ITU-T G.711, with the usual bias and clip).
fn mulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut value = i32::from(sample);
    let sign = if value < 0 {
        value = -value;
        0x80
    } else {
        0
    };
    value = value.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && value & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (value >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// `ms` of a sine tone at `hz`, μ-law 8 kHz: real telephone audio made at test time.
fn tone(hz: f64, ms: usize) -> Vec<u8> {
    (0..8 * ms)
        .map(|i| {
            let t = i as f64 / 8000.0;
            mulaw((12_000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16)
        })
        .collect()
}

/// Tomorrow's date in [`ZONE`].
fn tomorrow() -> NaiveDate {
    (Utc::now() - Days::hours(5)).date_naive() + Days::days(1)
}

struct Phone {
    app: TestApp,
    twilio: FakeTwilio,
    eleven: FakeElevenLabs,
    owner: String,
}

fn week() -> Value {
    json!([
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY"
    ]
    .iter()
    .map(|d| json!({"weekday": d, "open": "09:00", "close": "18:00"}))
    .collect::<Vec<_>>())
}

/// The dealership's settings: the agent running on `number`.
async fn configure(app: &TestApp, token: &str, number: &str) -> Value {
    app.ok(
        token,
        SETTINGS,
        json!({"input": {
            "agentRunning": true, "agentName": "Ava", "humanOperatorNumber": OPERATOR,
            "timeZone": ZONE, "twilioPhoneNumber": number, "elevenlabsInboundAgentId": AGENT_ID,
            "dealershipName": "Sunset Motors", "businessHours": week(),
            "appointmentSlotMinutes": 30, "appointmentsPerSlot": 1,
        }}),
    )
    .await
}

/// Fakes, an app pointed at them, and a dealership whose agent plays `steps`.
async fn phone(steps: Vec<Step>, extra: Vec<(String, String)>) -> Phone {
    let twilio = FakeTwilio::start().await.unwrap();
    let eleven = FakeElevenLabs::start_default(AgentScript::new(AGENT_ID, steps))
        .await
        .unwrap();
    let mut env = vec![
        ("TWILIO_ACCOUNT_SID".into(), twilio.account_sid().to_owned()),
        ("TWILIO_AUTH_TOKEN".into(), twilio.auth_token().to_owned()),
        ("TWILIO_API_BASE".into(), twilio.base_url()),
        ("ELEVENLABS_API_KEY".into(), eleven.api_key().to_owned()),
        ("ELEVENLABS_API_BASE".into(), eleven.base_url()),
        (
            "ELEVENLABS_WEBHOOK_SECRET".into(),
            eleven.webhook_secret().to_owned(),
        ),
        ("LEADLINE_PUBLIC_URL".into(), PUBLIC.into()),
    ];
    env.extend(extra);
    let app = spawn_with(SpawnOptions {
        env,
        ..SpawnOptions::default()
    })
    .await;
    let owner = app.sign_up("sunset-motors").await;
    configure(&app, &owner, NUMBER).await;
    Phone {
        app,
        twilio,
        eleven,
        owner,
    }
}

impl Phone {
    fn url(&self, path: &str) -> (String, String) {
        (
            format!("{}{path}", self.app.base),
            format!("{PUBLIC}{path}"),
        )
    }

    /// `CALLER` rings `NUMBER`; Twilio posts the signed incoming-call webhook.
    async fn ring(&self) -> SentWebhook {
        let (url, signed) = self.url("/api/voice/twilio/incoming");
        self.twilio
            .incoming_call(&url, &signed, CALLER, NUMBER)
            .await
            .unwrap()
    }

    /// Twilio opens the stream the TwiML asked for, with `parameters` (the TwiML's by default).
    async fn stream_with(
        &self,
        sent: &SentWebhook,
        parameters: Option<BTreeMap<String, String>>,
    ) -> MediaStreamClient {
        let twiml = parse_stream_twiml(&sent.body).expect("a <Connect><Stream>");
        assert!(
            twiml
                .url
                .starts_with("wss://leads.example.test/api/voice/twilio/media-stream"),
            "{}",
            twiml.url
        );
        let (url, _) = swap_authority(&twiml.url, &self.app.addr);
        let url = url.replacen("wss://", "ws://", 1);
        self.twilio
            .connect_media_stream(
                &url,
                &call_sid(sent),
                parameters.unwrap_or(twiml.parameters),
            )
            .await
            .unwrap()
    }

    async fn stream(&self, sent: &SentWebhook) -> MediaStreamClient {
        self.stream_with(sent, None).await
    }

    async fn only_call(&self) -> Value {
        let data = self
            .app
            .ok(
                &self.owner,
                "{ calls(first: 5) { edges { node { id } } } }",
                json!({}),
            )
            .await;
        let id = data["calls"]["edges"][0]["node"]["id"].clone();
        self.app.ok(&self.owner, CALL, json!({"id": id})).await["call"].clone()
    }

    async fn conversation(
        &self,
        done: impl Fn(&RecordedConversation) -> bool,
    ) -> RecordedConversation {
        let all = self
            .eleven
            .wait_for(Duration::from_secs(10), |c| c.first().is_some_and(&done))
            .await;
        all.into_iter().next().expect("a conversation")
    }

    async fn appointments(&self, token: &str) -> Value {
        self.app
            .graphql(
                Some(token),
                APPOINTMENTS,
                json!({"from": Utc::now(), "to": Utc::now() + Days::days(5)}),
            )
            .await
    }
}

fn call_sid(sent: &SentWebhook) -> String {
    sent.params
        .iter()
        .find(|(k, _)| k == "CallSid")
        .map(|(_, v)| v.clone())
        .unwrap()
}

fn tool(name: &str, parameters: Value) -> Step {
    Step::ToolCall {
        tool_name: name.into(),
        parameters,
    }
}

#[tokio::test]
async fn an_incoming_call_is_bridged_byte_for_byte_books_an_appointment_and_streams_its_transcript()
{
    let caller_audio = tone(440.0, 1000);
    let agent_audio = tone(880.0, 500);
    let day = tomorrow().format("%Y-%m-%d").to_string();
    let mut steps = vec![
        Step::WaitForAudio(caller_audio.len()),
        Step::UserTranscript("I'd like to see the Civic tomorrow at ten".into()),
    ];
    steps.extend(agent_audio.chunks(800).map(|c| Step::Audio(c.to_vec())));
    steps.extend([
        Step::AgentResponse("Let me book that for you.".into()),
        tool(
            "schedule_appointment",
            json!({"date": day, "time": "10:00", "name": "Ana Díaz", "vehicle": "Honda Civic", "notes": "trade-in"}),
        ),
        Step::AgentResponse("You're booked for tomorrow at ten.".into()),
        Step::Sleep(Duration::from_millis(300)),
        Step::Close,
    ]);
    let p = phone(steps, vec![]).await;
    let mut ws = p.app.ws(&p.owner).await.unwrap();
    ws.subscribe(
        "subscription { callEvents { kind call { id } line { speaker text } } }",
        json!({}),
    )
    .await;

    let sent = p.ring().await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.content_type.as_deref(), Some("text/xml"));
    assert!(sent.body.contains("<Connect><Stream"), "{}", sent.body);
    let mut twilio_side = p.stream(&sent).await;
    twilio_side.send_audio(&caller_audio).await.unwrap();

    // The agent's audio reaches the caller re-wrapped, byte for byte and frame for frame.
    let heard = twilio_side
        .wait_for_audio(agent_audio.len(), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(heard, agent_audio);
    let conversation = p.conversation(|c| c.closed).await;
    let agent_frames: Vec<String> = conversation
        .sent
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Audio { audio_base_64, .. } => Some(audio_base_64.clone()),
            _ => None,
        })
        .collect();
    let relayed: Vec<String> = twilio_side
        .received()
        .into_iter()
        .filter_map(|m| match m {
            Outbound::Media { stream_sid, media } => {
                assert_eq!(stream_sid, twilio_side.stream_sid());
                Some(media.payload)
            }
            _ => None,
        })
        .collect();
    assert_eq!(relayed, agent_frames);
    // The caller's audio reached the agent as the very payloads Twilio sent.
    let sent_frames: Vec<String> = caller_audio
        .chunks(FRAME_BYTES)
        .map(encode_payload)
        .collect();
    assert_eq!(conversation.user_audio_chunks, sent_frames);
    assert_eq!(conversation.user_audio(), caller_audio);
    // The init frame carried who answers and who calls.
    let vars = conversation.dynamic_variables();
    assert_eq!(vars["agent_name"], "Ava");
    assert_eq!(vars["dealership_name"], "Sunset Motors");
    assert_eq!(vars["caller_phone"], CALLER);
    assert!(
        p.eleven.violations().is_empty(),
        "{:?}",
        p.eleven.violations()
    );

    // The tool booked the slot in the dealership's zone, linked to the lead and the call.
    assert_eq!(conversation.tool_results.len(), 1);
    let result = &conversation.tool_results[0];
    assert!(!result.is_error, "{:?}", result.result);
    assert_eq!(result.result["booked"], true, "{:?}", result.result);
    assert_eq!(result.result["time"], "10:00");
    let call = p.only_call().await;
    let appointments = p.appointments(&p.owner).await["data"]["appointments"].clone();
    assert_eq!(appointments.as_array().unwrap().len(), 1, "{appointments}");
    assert_eq!(appointments[0]["callId"], call["id"]);
    assert_eq!(appointments[0]["leadId"], call["leadId"]);
    assert_eq!(appointments[0]["vehicle"], "Honda Civic");
    let starts =
        chrono::DateTime::parse_from_rfc3339(appointments[0]["scheduledAt"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        starts,
        chrono::DateTime::parse_from_rfc3339(&format!("{day}T15:00:00Z")).unwrap(),
        "10:00 at UTC−5"
    );
    assert_eq!(call["direction"], "INBOUND");
    assert_eq!(call["fromNumber"], CALLER);
    assert_eq!(call["handledBy"], "AI");
    assert_eq!(call["status"], "IN_PROGRESS");

    // The agent ended the conversation: the bridge closed Twilio's side.
    twilio_side
        .wait_until(Duration::from_secs(5), |_| false)
        .await
        .expect_err("closed");
    assert!(twilio_side.is_closed());

    // callEvents saw both sides of the transcript and the appointment.
    let seen = ws.drain(Duration::from_millis(800)).await;
    let lines: Vec<(String, String)> = seen
        .iter()
        .filter(|d| d["callEvents"]["kind"] == "TRANSCRIPT")
        .map(|d| {
            (
                d["callEvents"]["line"]["speaker"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                d["callEvents"]["line"]["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        lines.contains(&(
            "CUSTOMER".into(),
            "I'd like to see the Civic tomorrow at ten".into()
        )),
        "{seen:?}"
    );
    assert!(
        lines.contains(&("AGENT".into(), "You're booked for tomorrow at ten.".into())),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|d| d["callEvents"]["kind"] == "APPOINTMENT"),
        "{seen:?}"
    );

    // ElevenLabs' post-call webhook and Twilio's status callback finish the call; redeliveries
    // change nothing.
    let now = Utc::now().timestamp();
    let body = p.eleven.post_call_transcription(&conversation, now);
    let post_call = format!("{}/api/voice/elevenlabs/post-call", p.app.base);
    assert_eq!(
        p.eleven.post_webhook(&post_call, &body, now).await.unwrap(),
        200
    );
    assert_eq!(
        p.eleven.post_webhook(&post_call, &body, now).await.unwrap(),
        200
    );
    let (url, signed) = p.url("/api/voice/twilio/status");
    let status = |seq: &str| {
        vec![
            ("AccountSid".to_owned(), p.twilio.account_sid().to_owned()),
            ("CallSid".to_owned(), call_sid(&sent)),
            ("From".to_owned(), CALLER.to_owned()),
            ("To".to_owned(), NUMBER.to_owned()),
            ("Direction".to_owned(), "inbound".to_owned()),
            ("CallStatus".to_owned(), "completed".to_owned()),
            ("CallDuration".to_owned(), "42".to_owned()),
            (
                "CallbackSource".to_owned(),
                "call-progress-events".to_owned(),
            ),
            ("SequenceNumber".to_owned(), seq.to_owned()),
            (
                "RecordingUrl".to_owned(),
                "https://api.twilio.com/recordings/RE1".to_owned(),
            ),
        ]
    };
    let first = p
        .twilio
        .post_signed_as(&url, &signed, status("2"))
        .await
        .unwrap();
    assert_eq!(first.status, 200, "{}", first.body);
    let again = p
        .twilio
        .post_signed_as(&url, &signed, status("2"))
        .await
        .unwrap();
    assert!(again.body.contains("duplicate"), "{}", again.body);
    let done = p.only_call().await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["agentOutcome"], "APPOINTMENT_BOOKED");
    assert_eq!(done["durationSeconds"], 42);
    assert_eq!(
        done["recordingUrl"],
        "https://api.twilio.com/recordings/RE1"
    );
    assert_eq!(
        done["summary"],
        "A scripted conversation with the fake agent."
    );
    assert_eq!(
        done["agentConversationId"].as_str(),
        Some(conversation.conversation_id.as_str())
    );
    let outcomes = ws
        .drain(Duration::from_millis(800))
        .await
        .into_iter()
        .filter(|d| d["callEvents"]["kind"] == "OUTCOME")
        .count();
    assert_eq!(outcomes, 1, "one outcome, not one per report or redelivery");
    let before = done["transcript"].as_array().unwrap().len();
    assert!(before >= 3, "{done}");
}

#[tokio::test]
async fn barge_in_clears_twilios_buffer_and_pings_are_answered() {
    let steps = vec![
        Step::WaitForAudio(FRAME_BYTES),
        Step::Audio(tone(600.0, 100)),
        Step::Audio(tone(650.0, 100)),
        Step::Interruption,
        Step::Ping { ping_ms: Some(40) },
        Step::Audio(tone(700.0, 100)),
        Step::Sleep(Duration::from_millis(300)),
        Step::Close,
    ];
    let p = phone(steps, vec![]).await;
    let sent = p.ring().await;
    let mut twilio_side = p.stream(&sent).await;
    twilio_side.send_audio(&tone(300.0, 40)).await.unwrap();
    let received = twilio_side
        .wait_until(Duration::from_secs(10), |m| {
            m.iter()
                .filter(|m| matches!(m, Outbound::Media { .. }))
                .count()
                >= 3
        })
        .await
        .unwrap();
    let kinds: Vec<&str> = received
        .iter()
        .map(|m| match m {
            Outbound::Media { .. } => "media",
            Outbound::Clear { .. } => "clear",
            Outbound::Mark { .. } => "mark",
            Outbound::Unknown => "unknown",
        })
        .collect();
    assert_eq!(kinds, ["media", "media", "clear", "media"]);
    assert_eq!(twilio_side.received_audio()[1600..], tone(700.0, 100)[..]);
    let conversation = p.conversation(|c| c.closed).await;
    assert_eq!(conversation.pongs.len(), 1);
    assert!(
        p.eleven.violations().is_empty(),
        "{:?}",
        p.eleven.violations()
    );
}

#[tokio::test]
async fn transfer_to_human_redirects_the_live_call_with_a_dial_and_marks_it_transferred() {
    let steps = vec![
        Step::WaitForAudio(FRAME_BYTES),
        Step::UserTranscript("Can I talk to a person?".into()),
        tool("transfer_to_human", json!({"reason": "wants a person"})),
        Step::Sleep(Duration::from_millis(200)),
        Step::Close,
    ];
    let p = phone(steps, vec![]).await;
    let sent = p.ring().await;
    let mut twilio_side = p.stream(&sent).await;
    twilio_side.send_audio(&tone(300.0, 40)).await.unwrap();
    let conversation = p.conversation(|c| c.closed).await;
    assert_eq!(conversation.tool_results.len(), 1, "{conversation:?}");
    assert_eq!(conversation.tool_results[0].result["transferred"], true);
    let updated = p.twilio.call(&call_sid(&sent)).unwrap();
    let form = updated.updates.last().expect("a REST update of the call");
    let twiml = &form.iter().find(|(k, _)| k == "Twiml").unwrap().1;
    assert!(twiml.contains("<Dial"), "{twiml}");
    assert!(twiml.contains(OPERATOR), "{twiml}");
    let call = p.only_call().await;
    assert_eq!(call["handledBy"], "HUMAN");
    assert_eq!(call["agentOutcome"], "TRANSFERRED");
}

#[tokio::test]
async fn with_the_agent_stopped_a_call_dials_the_operator_and_opens_no_stream() {
    let p = phone(vec![], vec![]).await;
    let mut ws = p.app.ws(&p.owner).await.unwrap();
    ws.subscribe(
        "subscription { phoneAgentStatus { running changedBy at } }",
        json!({}),
    )
    .await;
    p.app
        .ok(
            &p.owner,
            "mutation { updateTenantSettings(input: {agentRunning: false}) { tenant { settings { agentRunning } } } }",
            json!({}),
        )
        .await;
    let change = ws
        .next_data_where(Duration::from_secs(5), |d| {
            d["phoneAgentStatus"].is_object()
        })
        .await
        .expect("the stop is streamed");
    assert_eq!(change["phoneAgentStatus"]["running"], false);
    assert!(change["phoneAgentStatus"]["changedBy"].is_string());
    // Setting the same value again is no change, and not streamed.
    p.app
        .ok(
            &p.owner,
            "mutation { updateTenantSettings(input: {agentRunning: false}) { tenant { id } } }",
            json!({}),
        )
        .await;
    assert!(ws.drain(Duration::from_millis(500)).await.is_empty());
    let audit = p
        .app
        .ok(
            &p.owner,
            "{ auditLog(first: 20) { edges { node { action } } } }",
            json!({}),
        )
        .await;
    assert!(
        audit.to_string().contains("tenant.phone_agent_stopped"),
        "{audit}"
    );

    let sent = p.ring().await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(
        sent.body.contains(&format!(">{OPERATOR}</Dial>")),
        "{}",
        sent.body
    );
    assert!(parse_stream_twiml(&sent.body).is_none(), "{}", sent.body);
    assert!(!sent.body.contains("<Stream"), "{}", sent.body);
    assert!(p.eleven.conversations().is_empty());
    let call = p.only_call().await;
    assert_eq!(call["handledBy"], "HUMAN");
    assert_eq!(call["direction"], "INBOUND");
    // The operator's leg ends: the call is finished as handed to a person.
    let (url, signed) = p.url("/api/voice/twilio/status");
    let done = p
        .twilio
        .post_signed_as(
            &url,
            &signed,
            vec![
                ("AccountSid".into(), p.twilio.account_sid().to_owned()),
                ("CallSid".into(), call_sid(&sent)),
                ("From".into(), CALLER.into()),
                ("To".into(), NUMBER.into()),
                ("CallStatus".into(), "completed".into()),
                ("CallDuration".into(), "65".into()),
                ("SequenceNumber".into(), "1".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    let call = p.only_call().await;
    assert_eq!(call["status"], "COMPLETED");
    assert_eq!(call["agentOutcome"], "TRANSFERRED");
    assert_eq!(call["durationSeconds"], 65);
}

mod booking;
mod refusals;
mod transfer;
