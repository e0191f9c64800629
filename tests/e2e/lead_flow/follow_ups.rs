//! Nurture follow-ups written by the tenant's AI provider (issue 15): the model writes the body,
//! the app signs it and adds the opt-out line; a body that names what it was not given (here a
//! price) is not sent, and the offline writer's text goes instead.

use leadline_llm::fake::{Behavior, FakeAnthropic};
use serde_json::json;

use super::{nurture_app_with, nurture_of, NURTURE};

#[tokio::test]
async fn the_tenants_model_writes_follow_ups_and_an_invented_price_is_never_sent() {
    let llm = FakeAnthropic::start().await.expect("fake Anthropic");
    let (app, db, owner, twilio, _whatsapp) = nurture_app_with(
        "nurture-llm",
        vec![
            ("ANTHROPIC_API_KEY".into(), llm.api_key().to_owned()),
            ("ANTHROPIC_API_BASE".into(), llm.base_url().to_owned()),
        ],
    )
    .await;
    app.ok(
        &owner,
        "mutation($input: UpdateAiContextInput!) { updateAiContext(input: $input) { aiContext { provider } } }",
        json!({"input": {"provider": "ANTHROPIC"}}),
    )
    .await;
    let lead = app
        .ok(
            &owner,
            "mutation { createLead(input: {name: \"Ana Torres\", phone: \"+14155550123\"}) { lead { id } } }",
            json!({}),
        )
        .await["createLead"]["lead"]["id"]
        .as_str()
        .expect("lead id")
        .to_owned();

    // FOLLOWUP_1: the model's body, signed, with the opt-out line the app adds.
    llm.push(Behavior::Respond(
        json!({"body": "Hi Ana, would you like to come by for a test drive this week?"}),
    ));
    assert_eq!(db.advance_nurture(&lead).await, 1);
    app.eventually(&owner, NURTURE, json!({}), "the first follow-up", |d| {
        nurture_of(d, &lead)["followUpsSent"] == 1
    })
    .await;
    let texts = twilio.messages();
    let first = texts[0].body.clone().unwrap_or_default();
    assert!(
        first.starts_with("Hi Ana, would you like to come by for a test drive this week? — "),
        "{first}"
    );
    assert!(first.ends_with("Reply STOP to opt out."), "{first}");
    let asked = llm
        .requests()
        .into_iter()
        .find(|r| r.body.to_string().contains("write_follow_up"))
        .expect("the follow-up request");
    let prompt = asked.body.to_string();
    assert!(prompt.contains("lead's first name: Ana"), "{prompt}");
    assert!(
        !prompt.contains("+14155550123"),
        "the lead's number is not given to the model: {prompt}"
    );

    // FOLLOWUP_2: the model invents a price, so the offline writer's text goes out instead.
    llm.push(Behavior::Respond(
        json!({"body": "Hi Ana, the Civic is $18,000 this week only, want it?"}),
    ));
    assert_eq!(db.advance_nurture(&lead).await, 1);
    app.eventually(&owner, NURTURE, json!({}), "the second follow-up", |d| {
        nurture_of(d, &lead)["followUpsSent"] == 2
    })
    .await;
    let second = twilio.messages()[1].body.clone().unwrap_or_default();
    assert!(!second.contains("18,000"), "{second}");
    assert!(second.starts_with("Hi Ana, just checking in."), "{second}");
    assert!(second.ends_with("Reply STOP to opt out."), "{second}");
}
