//! A tenant's own Twilio account (its TWILIO channel connection): the agent places the
//! tenant's calls from it, and the tenant's webhooks are accepted only when signed with its
//! auth token. The operator's account stays the fallback for tenants without one, and one
//! account's token never moves another tenant's calls.

use super::*;

const OWN_SID: &str = "AC0123456789abcdef0123456789abcdef";
const OWN_TOKEN: &str = "the-dealership-s-own-auth-token";
const CONNECT: &str = "mutation($input: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $input) { connection { id channel status } } }";
const OTHER_NUMBER: &str = "+15005550009";

async fn total_calls(o: &Outbound, token: &str) -> i64 {
    o.app
        .ok(token, "{ calls(first: 1) { totalCount } }", json!({}))
        .await["calls"]["totalCount"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_tenants_own_twilio_account_places_its_calls_and_alone_signs_its_webhooks() {
    let o = outbound(vec![Step::Close]).await;
    // One Twilio server answers both accounts' REST calls, as the real one does.
    o.twilio.add_account(OWN_SID, OWN_TOKEN);
    let bad = o
        .app
        .graphql(
            Some(&o.owner),
            CONNECT,
            json!({"input": {"channel": "TWILIO", "externalAccountId": "not-a-sid", "accessToken": OWN_TOKEN}}),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT", "{bad}");
    let connected = o
        .app
        .ok(
            &o.owner,
            CONNECT,
            json!({"input": {"channel": "TWILIO", "externalAccountId": OWN_SID, "accessToken": OWN_TOKEN}}),
        )
        .await;
    assert_eq!(
        connected["upsertChannelConnection"]["connection"]["status"],
        "CONNECTED"
    );
    let own = FakeTwilio::start_with(OWN_SID, OWN_TOKEN).await.unwrap();

    // The agent's call goes out on the tenant's account.
    let lead = o.lead(&o.owner, "Dana Buyer", Some(LEAD_PHONE)).await;
    let id = o.call_lead_now(&lead).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    o.until_status(&id, "DIALING").await;
    let creates = o.creates();
    assert_eq!(creates.len(), 1);
    assert!(
        creates[0]
            .path
            .contains(&format!("/Accounts/{OWN_SID}/Calls.json")),
        "{:?}",
        creates[0]
    );
    assert!(creates[0].authenticated);
    let sid = o.placed().await.call.sid;

    // Its callbacks: the operator's token is refused (401, nothing moves); its own applies.
    let status_url = format!("{}/api/voice/twilio/outbound/{id}/status", o.public);
    let ringing = |account: &str| {
        [
            ("AccountSid", account),
            ("CallSid", sid.as_str()),
            ("CallStatus", "ringing"),
            ("CallbackSource", "call-progress-events"),
            ("Direction", "outbound-api"),
            ("From", NUMBER),
            ("SequenceNumber", "0"),
            ("To", LEAD_PHONE),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec()
    };
    for forged in [
        o.twilio
            .post_signed(&status_url, ringing(o.twilio.account_sid()))
            .await
            .unwrap(),
        o.twilio
            .post_signed(&status_url, ringing(OWN_SID))
            .await
            .unwrap(),
    ] {
        assert_eq!(forged.status, 401, "{}", forged.body);
    }
    assert_eq!(o.call(&id).await["status"], "DIALING");
    let applied = own
        .post_signed(&status_url, ringing(OWN_SID))
        .await
        .unwrap();
    assert_eq!(applied.status, 200, "{}", applied.body);
    assert_eq!(o.call(&id).await["status"], "RINGING");

    // An incoming call to the tenant's number: signed by its account it is answered; signed
    // by the operator's it is 401 and nothing is stored.
    let incoming = format!("{}/api/voice/twilio/incoming", o.public);
    let refused = o
        .twilio
        .incoming_call(&incoming, &incoming, "+16505550111", NUMBER)
        .await
        .unwrap();
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(total_calls(&o, &o.owner).await, 1);
    let answered = own
        .incoming_call(&incoming, &incoming, "+16505550111", NUMBER)
        .await
        .unwrap();
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert!(
        answered.body.contains("<Connect><Stream"),
        "{}",
        answered.body
    );
    assert_eq!(total_calls(&o, &o.owner).await, 2);

    // Another dealership on the operator's account: the first tenant's token cannot ring it,
    // the operator's still does.
    let other = o.app.sign_up("other-motors").await;
    o.app
        .ok(
            &other,
            "mutation($n: String!) { updateTenantSettings(input: {twilioPhoneNumber: $n}) { tenant { id } } }",
            json!({"n": OTHER_NUMBER}),
        )
        .await;
    let crossed = own
        .incoming_call(&incoming, &incoming, "+16505550112", OTHER_NUMBER)
        .await
        .unwrap();
    assert_eq!(crossed.status, 401, "{}", crossed.body);
    assert_eq!(total_calls(&o, &other).await, 0);
    let fallback = o
        .twilio
        .incoming_call(&incoming, &incoming, "+16505550112", OTHER_NUMBER)
        .await
        .unwrap();
    assert_eq!(fallback.status, 200, "{}", fallback.body);
    assert_eq!(total_calls(&o, &other).await, 1);
}
