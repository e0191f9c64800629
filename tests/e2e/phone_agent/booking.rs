//! A booking ends the caller's nurture (issue 15): the agent's `schedule_appointment` for a lead
//! in nurture stops its follow-ups (BOOKED) and cancels the step job waiting to go out, with the
//! booking's own commit, so that follow-up never runs.

use super::*;

const NURTURE: &str = "{ nurtureLeads(first: 5) { nodes { status stopReason lead { id } } } }";
const STEP_JOBS: &str =
    "{ jobs(filter: {kind: \"nurture_step\"}, first: 5) { nodes { id status attempts result } } }";

#[tokio::test]
async fn a_booking_stops_the_callers_nurture_and_cancels_its_waiting_follow_up() {
    let day = tomorrow().format("%Y-%m-%d").to_string();
    let steps = vec![
        Step::WaitForAudio(FRAME_BYTES),
        tool(
            "schedule_appointment",
            json!({"date": day, "time": "11:00", "vehicle": "Honda Civic"}),
        ),
        Step::Sleep(Duration::from_millis(200)),
        Step::Close,
    ];
    let p = phone(steps, vec![]).await;
    p.app
        .ok(
            &p.owner,
            "mutation { updateTenantSettings(input: {nurtureSchedule: {enabled: true}}) { tenant { id } } }",
            json!({}),
        )
        .await;
    // The caller is already a lead in nurture, its first follow-up waiting.
    let lead = p
        .app
        .ok(
            &p.owner,
            "mutation($p: String!) { createLead(input: {name: \"Ana Díaz\", phone: $p}) { lead { id } } }",
            json!({"p": CALLER}),
        )
        .await["createLead"]["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = p.app.ok(&p.owner, STEP_JOBS, json!({})).await;
    assert_eq!(before["jobs"]["nodes"][0]["status"], "PENDING", "{before}");

    let sent = p.ring().await;
    let mut twilio_side = p.stream(&sent).await;
    twilio_side.send_audio(&tone(300.0, 40)).await.unwrap();
    let conversation = p.conversation(|c| c.closed).await;
    assert_eq!(conversation.tool_results.len(), 1, "{conversation:?}");
    assert_eq!(
        conversation.tool_results[0].result["booked"], true,
        "{:?}",
        conversation.tool_results[0].result
    );
    assert_eq!(p.only_call().await["leadId"], lead.as_str());

    let data = p.app.ok(&p.owner, NURTURE, json!({})).await;
    let row = &data["nurtureLeads"]["nodes"][0];
    assert_eq!(row["lead"]["id"], lead.as_str(), "{data}");
    assert_eq!(row["status"], "STOPPED", "{row}");
    assert_eq!(row["stopReason"], "BOOKED", "{row}");
    let after = p.app.ok(&p.owner, STEP_JOBS, json!({})).await;
    let job = &after["jobs"]["nodes"][0];
    assert_eq!(job["id"], before["jobs"]["nodes"][0]["id"]);
    assert_eq!(job["status"], "CANCELLED", "{job}");
    assert_eq!(job["attempts"], 0, "{job}");
    assert_eq!(
        job["result"]["cancelled"], "nurture stopped: BOOKED",
        "{job}"
    );
}
