//! A stopped nurture sequence cancels its waiting follow-up (issue 15): removal, a reply and the
//! lead given to a person (`assignLead`) each move the step's PENDING job to CANCELLED in the
//! stop's own transaction, so that job never runs even when its time comes (the test makes it
//! due on the clock it controls) and nothing is sent. `jobs` lists it as CANCELLED with why, and
//! `jobUpdated` streams the change.

use std::time::Duration;

use serde_json::{json, Value};

use super::{nurture_app, nurture_of, uuid, whatsapp_says, Db, NURTURE, REMOVE};
use crate::harness::TestApp;

const STEP_JOBS: &str = "{ jobs(filter: {kind: \"nurture_step\"}, first: 20) { nodes { id status attempts result payload } } }";
const JOB: &str = "query($id: ID!) { job(id: $id) { id status attempts result } }";
const ASSIGN: &str =
    "mutation($input: AssignLeadInput!) { assignLead(input: $input) { lead { handledBy } } }";

/// The lead's nurture step job that is waiting (PENDING), by its enrolment's job id.
async fn waiting_step(app: &TestApp, owner: &str, lead: &str) -> String {
    let data = app.ok(owner, NURTURE, json!({})).await;
    let enrollment = nurture_of(&data, lead)["id"]
        .as_str()
        .expect("an enrolment")
        .to_owned();
    let jobs = app.ok(owner, STEP_JOBS, json!({})).await;
    let job = jobs["jobs"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["payload"]["enrollmentId"] == enrollment && j["status"] == "PENDING")
        .unwrap_or_else(|| panic!("a waiting step for {enrollment}: {jobs}"))
        .clone();
    job["id"].as_str().unwrap().to_owned()
}

/// "Time passes" for one job, whatever its status: it is due now.
async fn make_due(db: &Db, job: &str) {
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    db.exec(
        "UPDATE jobs SET scheduled_for = $1 WHERE id = $2",
        vec![past.into(), uuid(job).into()],
    )
    .await;
}

/// The job is CANCELLED for `reason` and was never attempted.
async fn assert_cancelled(app: &TestApp, owner: &str, job: &str, reason: &str) -> Value {
    let job = app.ok(owner, JOB, json!({"id": job})).await["job"].clone();
    assert_eq!(job["status"], "CANCELLED", "{job}");
    assert_eq!(job["attempts"], 0, "{job}");
    assert_eq!(
        job["result"]["cancelled"],
        format!("nurture stopped: {reason}"),
        "{job}"
    );
    job
}

#[tokio::test]
async fn a_stopped_sequence_cancels_its_waiting_step_which_never_runs() {
    let slug = "nurture-cancel";
    let (app, db, owner, twilio, whatsapp) = nurture_app(slug).await;
    let mut ws = app.ws(&owner).await.unwrap();
    ws.subscribe("subscription { jobUpdated { id status } }", json!({}))
        .await;

    // Removal: the waiting FOLLOWUP_1 is cancelled, streamed, counted, and never runs.
    let ana = app
        .ok(
            &owner,
            "mutation { createLead(input: {name: \"Ana Torres\", phone: \"+14155550123\"}) { lead { id } } }",
            json!({}),
        )
        .await["createLead"]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let step = waiting_step(&app, &owner, &ana).await;
    app.ok(&owner, REMOVE, json!({"lead": ana})).await;
    assert_cancelled(&app, &owner, &step, "REMOVED").await;
    let streamed = ws
        .next_data_where(Duration::from_secs(5), |d| {
            d["jobUpdated"]["id"] == step.as_str()
        })
        .await
        .expect("the cancel is streamed");
    assert_eq!(streamed["jobUpdated"]["status"], "CANCELLED");
    let stats = app
        .ok(&owner, "{ jobQueueStats { pending cancelled } }", json!({}))
        .await;
    assert_eq!(stats["jobQueueStats"]["cancelled"], 1, "{stats}");
    let listed = app
        .ok(
            &owner,
            "{ jobs(filter: {status: CANCELLED}, first: 5) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["jobs"]["nodes"][0]["id"], step.as_str(), "{listed}");
    make_due(&db, &step).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_cancelled(&app, &owner, &step, "REMOVED").await;
    assert!(twilio.messages().is_empty(), "nothing was texted");

    // A reply: the WhatsApp lead's waiting step is cancelled with its message's commit.
    whatsapp_says(
        &app,
        &whatsapp,
        slug,
        "14155550777",
        "Hi, is the Civic available?",
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
    let carla = data["nurtureLeads"]["nodes"][0]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let step = waiting_step(&app, &owner, &carla).await;
    whatsapp_says(
        &app,
        &whatsapp,
        slug,
        "14155550777",
        "I'll come on Saturday",
    )
    .await;
    app.eventually(&owner, NURTURE, json!({}), "the stop on reply", |d| {
        nurture_of(d, &carla)["status"] == "STOPPED"
    })
    .await;
    assert_cancelled(&app, &owner, &step, "REPLIED").await;
    make_due(&db, &step).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_cancelled(&app, &owner, &step, "REPLIED").await;
    assert!(
        !whatsapp
            .sent_messages()
            .iter()
            .any(|m| m["type"] == "template"),
        "no follow-up went out"
    );
}

#[tokio::test]
async fn a_lead_given_to_a_person_leaves_nurture_and_its_waiting_step_never_runs() {
    let (app, db, owner, twilio, _whatsapp) = nurture_app("nurture-assign").await;
    let ben = app
        .ok(
            &owner,
            "mutation { createLead(input: {name: \"Ben Ortiz\", phone: \"+14155550124\"}) { lead { id } } }",
            json!({}),
        )
        .await["createLead"]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let step = waiting_step(&app, &owner, &ben).await;
    let assigned = app
        .ok(
            &owner,
            ASSIGN,
            json!({"input": {"leadId": ben, "handler": "HUMAN"}}),
        )
        .await;
    assert_eq!(assigned["assignLead"]["lead"]["handledBy"], "HUMAN");
    let data = app.ok(&owner, NURTURE, json!({})).await;
    let stopped = nurture_of(&data, &ben);
    assert_eq!(stopped["status"], "STOPPED", "{stopped}");
    assert_eq!(stopped["stopReason"], "ASSIGNED_TO_HUMAN", "{stopped}");
    assert!(stopped["nextFollowUpAt"].is_null(), "{stopped}");
    assert_cancelled(&app, &owner, &step, "ASSIGNED_TO_HUMAN").await;
    let audit = app
        .ok(
            &owner,
            "{ auditLog(first: 20) { edges { node { action targetId } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<(&str, &str)> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["action"].as_str().unwrap_or_default(),
                e["node"]["targetId"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("lead.nurture_stopped", ben.as_str())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("lead.assigned", ben.as_str())),
        "{actions:?}"
    );
    make_due(&db, &step).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_cancelled(&app, &owner, &step, "ASSIGNED_TO_HUMAN").await;
    assert!(twilio.messages().is_empty(), "nothing was texted");

    // Back to the AI: the sequence stays stopped (an assignment never re-enrols a lead).
    app.ok(
        &owner,
        ASSIGN,
        json!({"input": {"leadId": ben, "handler": "AI"}}),
    )
    .await;
    let data = app.ok(&owner, NURTURE, json!({})).await;
    assert_eq!(nurture_of(&data, &ben)["stopReason"], "ASSIGNED_TO_HUMAN");
}
