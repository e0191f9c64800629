//! Twilio's create-call that gets no answer within `TWILIO_HTTP_TIMEOUT_MS`: Twilio may have
//! placed the call, so it is never sent again. The job retries; when the call is still
//! unconfirmed then, it ends FAILED (`CALL_INITIATION_UNCONFIRMED`); when Twilio's first
//! callback names it first, the call is adopted and carries on.

use super::*;

/// The app's Twilio requests give up after 300 ms; the fake answers the next create after 2 s.
async fn slow_create(retry_base_ms: &str) -> Outbound {
    let o = outbound_with(
        vec![Step::Close],
        vec![
            ("TWILIO_HTTP_TIMEOUT_MS".into(), "300".into()),
            ("LEADLINE_JOB_RETRY_BASE_MS".into(), retry_base_ms.into()),
        ],
    )
    .await;
    o.twilio.fail_next(Failure::Delay(Duration::from_secs(2)));
    o
}

#[tokio::test]
async fn a_create_that_gets_no_answer_is_never_sent_twice_and_the_call_ends_unconfirmed() {
    let o = slow_create("50").await;
    let lead = o.lead(&o.owner, "Dana Buyer", Some(LEAD_PHONE)).await;
    let id = o.call_lead_now(&lead).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = o.until_status(&id, "FAILED").await;
    assert!(
        failed["errorCode"]
            .as_str()
            .unwrap()
            .starts_with("CALL_INITIATION_UNCONFIRMED"),
        "{failed}"
    );
    // Past the fake's delay: at most the one create the timeout gave up on reached Twilio.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(o.creates().len() <= 1, "{:?}", o.creates());
    // FAILED is not an unanswered end: no retry call is scheduled.
    assert_eq!(o.lead_calls(&lead).await.len(), 1);
}

#[tokio::test]
async fn a_create_that_gets_no_answer_is_adopted_when_twilios_first_callback_names_it() {
    // The job's retry is a minute away: Twilio's callback comes first.
    let o = slow_create("60000").await;
    let lead = o.lead(&o.owner, "Eli Shopper", Some(LEAD_PHONE)).await;
    let id = o.call_lead_now(&lead).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The create timed out: the job is waiting for its retry, the call still QUEUED.
    leadline_api::store::testkit::eventually(
        "the create request to time out",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async {
            let jobs = o
                .app
                .ok(
                    &o.owner,
                    "{ jobs(first: 10) { nodes { kind status attempts } } }",
                    json!({}),
                )
                .await;
            let retried = jobs["jobs"]["nodes"].as_array().is_some_and(|nodes| {
                nodes.iter().any(|j| {
                    j["kind"] == "phone_agent_outbound_call"
                        && j["status"] == "PENDING"
                        && j["attempts"] == 1
                })
            });
            if retried {
                Ok(())
            } else {
                Err(format!("{jobs}"))
            }
        },
    )
    .await
    .unwrap_or_else(|timed_out| panic!("{timed_out}"));
    assert_eq!(o.call(&id).await["status"], "QUEUED");
    let status_url = format!("{}/api/voice/twilio/outbound/{id}/status", o.public);
    let ringing = [
        ("AccountSid", o.twilio.account_sid()),
        ("CallSid", "CA0000000000000000000000000000feed"),
        ("CallStatus", "ringing"),
        ("CallbackSource", "call-progress-events"),
        ("Direction", "outbound-api"),
        ("From", NUMBER),
        ("SequenceNumber", "0"),
        ("To", LEAD_PHONE),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    let sent = o.twilio.post_signed(&status_url, ringing).await.unwrap();
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(o.call(&id).await["status"], "RINGING");
    assert!(o.creates().len() <= 1, "{:?}", o.creates());
}
