//! Sign-up, login, roles, invitations, API keys and tenant isolation.

use serde_json::json;

use crate::harness::{error_code, spawn_app};

const LEAD: &str = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id name phone score temperature status } } }";

#[tokio::test]
async fn sign_up_and_login_give_working_tokens() {
    let app = spawn_app().await;
    let token = app.sign_up("acme").await;
    let me = app
        .ok(
            &token,
            "{ me { user { email } role tenant { slug name } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["user"]["email"], "owner@acme.test");
    assert_eq!(me["me"]["role"], "OWNER");
    assert_eq!(me["me"]["tenant"]["slug"], "acme");

    let login = app
        .graphql(None, "mutation { login(input: {email: \"OWNER@acme.test\", password: \"correct horse battery\"}) { token role } }", json!({}))
        .await;
    let token = login["data"]["login"]["token"].as_str().expect("token");
    assert_eq!(
        app.ok(token, "{ tenant { slug } }", json!({})).await["tenant"]["slug"],
        "acme"
    );

    for (email, password) in [
        ("owner@acme.test", "wrong password!"),
        ("nobody@acme.test", "correct horse battery"),
    ] {
        let refused = app.graphql(None, "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }", json!({"e": email, "p": password})).await;
        assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
        assert_eq!(refused["errors"][0]["message"], "wrong e-mail or password");
    }
}

#[tokio::test]
async fn sign_up_validates_and_refuses_duplicates() {
    let app = spawn_app().await;
    app.sign_up("taken").await;
    let cases = [
        (
            json!({"email": "x@y.test", "password": "long enough 1", "tenantName": "T", "tenantSlug": "taken"}),
            "CONFLICT",
            None,
        ),
        (
            json!({"email": "not-an-email", "password": "long enough 1", "tenantName": "T", "tenantSlug": "fresh-one"}),
            "BAD_USER_INPUT",
            Some("email"),
        ),
        (
            json!({"email": "a@b.test", "password": "short", "tenantName": "T", "tenantSlug": "fresh-two"}),
            "BAD_USER_INPUT",
            Some("password"),
        ),
        (
            json!({"email": "c@d.test", "password": "long enough 1", "tenantName": "T", "tenantSlug": "Bad Slug"}),
            "BAD_USER_INPUT",
            Some("tenantSlug"),
        ),
        (
            json!({"email": "e@f.test", "password": "long enough 1", "tenantName": "   ", "tenantSlug": "fresh-three"}),
            "BAD_USER_INPUT",
            Some("tenantName"),
        ),
    ];
    for (input, code, field) in cases {
        let response = app
            .graphql(
                None,
                "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
                json!({"input": input}),
            )
            .await;
        assert_eq!(error_code(&response), code, "{input} → {response}");
        if let Some(field) = field {
            assert_eq!(response["errors"][0]["extensions"]["field"], field);
        }
    }
}

#[tokio::test]
async fn every_role_is_denied_what_it_may_not_do() {
    let app = spawn_app().await;
    let owner = app.sign_up("roles").await;
    let mut tokens = std::collections::HashMap::new();
    for role in ["ADMIN", "AGENT", "VIEWER"] {
        let email = format!("{}@roles.test", role.to_lowercase());
        let invited = app
            .ok(&owner, "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invite { email role } } }", json!({"input": {"email": email, "role": role}}))
            .await;
        assert_eq!(invited["inviteMember"]["invite"]["role"], role);
        let code = app.invite_code(&email).await;
        let accepted = app
            .graphql(None, "mutation($input: AcceptInviteInput!) { acceptInvite(input: $input) { token role } }", json!({"input": {"code": code, "password": "member password"}}))
            .await;
        assert_eq!(accepted["data"]["acceptInvite"]["role"], role, "{accepted}");
        tokens.insert(
            role,
            accepted["data"]["acceptInvite"]["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        // A used code does not work twice.
        let again = app
            .graphql(
                None,
                "mutation($input: AcceptInviteInput!) { acceptInvite(input: $input) { token } }",
                json!({"input": {"code": code, "password": "member password"}}),
            )
            .await;
        assert_eq!(error_code(&again), "NOT_FOUND");
    }

    let create_lead = json!({"input": {"name": "Role Test"}});
    let create_key = (
        "mutation { createApiKey(input: {name: \"k\"}) { key } }",
        json!({}),
    );
    let set_secret = ("mutation { upsertChannelConnection(input: {channel: WHATSAPP, appSecret: \"s\"}) { connection { id } } }", json!({}));
    let invite = (
        "mutation { inviteMember(input: {email: \"z@roles.test\", role: AGENT}) { invite { id } } }",
        json!({}),
    );
    let product = ("mutation { createProduct(input: {name: \"P\", price: {amountMicros: 1000000, currencyCode: \"USD\"}}) { product { id } } }", json!({}));

    // VIEWER: reads, never mutates.
    let viewer = &tokens["VIEWER"];
    assert!(app
        .graphql(Some(viewer), "{ leads { totalCount } }", json!({}))
        .await
        .get("errors")
        .is_none());
    assert_eq!(
        error_code(&app.graphql(Some(viewer), LEAD, create_lead.clone()).await),
        "FORBIDDEN"
    );
    for (query, vars) in [&create_key, &set_secret, &invite, &product] {
        assert_eq!(
            error_code(&app.graphql(Some(viewer), query, vars.clone()).await),
            "FORBIDDEN",
            "viewer: {query}"
        );
    }
    // AGENT: works leads, never administers.
    let agent = &tokens["AGENT"];
    assert!(app
        .graphql(Some(agent), LEAD, create_lead.clone())
        .await
        .get("errors")
        .is_none());
    for (query, vars) in [&create_key, &set_secret, &invite, &product] {
        assert_eq!(
            error_code(&app.graphql(Some(agent), query, vars.clone()).await),
            "FORBIDDEN",
            "agent: {query}"
        );
    }
    assert_eq!(
        error_code(
            &app.graphql(Some(agent), "{ apiKeys { totalCount } }", json!({}))
                .await
        ),
        "FORBIDDEN"
    );
    // ADMIN: administers, but cannot make owners.
    let admin = &tokens["ADMIN"];
    for (query, vars) in [&create_key, &set_secret, &product] {
        assert!(
            app.graphql(Some(admin), query, vars.clone())
                .await
                .get("errors")
                .is_none(),
            "admin: {query}"
        );
    }
    let make_owner = app.graphql(Some(admin), "mutation { inviteMember(input: {email: \"o2@roles.test\", role: OWNER}) { invite { id } } }", json!({})).await;
    assert_eq!(error_code(&make_owner), "FORBIDDEN");
    // Anonymous: nothing.
    assert_eq!(
        error_code(
            &app.graphql(None, "{ leads { totalCount } }", json!({}))
                .await
        ),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn demoted_and_removed_members_lose_access_at_once() {
    let app = spawn_app().await;
    let owner = app.sign_up("churn").await;
    app.ok(&owner, "mutation { inviteMember(input: {email: \"a@churn.test\", role: ADMIN}) { invite { id } } }", json!({})).await;
    let code = app.invite_code("a@churn.test").await;
    let accepted = app.graphql(None, "mutation($c: String!) { acceptInvite(input: {code: $c, password: \"admin password\"}) { token user { id } } }", json!({"c": code})).await;
    let user_id = accepted["data"]["acceptInvite"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = accepted["data"]["acceptInvite"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    app.ok(&owner, "mutation($u: ID!) { updateMemberRole(input: {userId: $u, role: VIEWER}) { member { role } } }", json!({"u": user_id})).await;
    // The token still says ADMIN, but the database decides.
    assert_eq!(
        error_code(
            &app.graphql(Some(&admin), "{ apiKeys { totalCount } }", json!({}))
                .await
        ),
        "FORBIDDEN"
    );

    app.ok(
        &owner,
        "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
        json!({"u": user_id}),
    )
    .await;
    assert_eq!(
        error_code(
            &app.graphql(Some(&admin), "{ tenant { slug } }", json!({}))
                .await
        ),
        "UNAUTHENTICATED"
    );

    // The last owner stays.
    let me = app.ok(&owner, "{ me { user { id } } }", json!({})).await;
    let owner_id = me["me"]["user"]["id"].as_str().unwrap();
    let demote_self = app.graphql(Some(&owner), "mutation($u: ID!) { updateMemberRole(input: {userId: $u, role: ADMIN}) { member { role } } }", json!({"u": owner_id})).await;
    assert_eq!(error_code(&demote_self), "CONFLICT");

    let audit = app
        .ok(
            &owner,
            "{ auditLog(first: 50) { totalCount edges { node { action } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    for expected in [
        "tenant.created",
        "member.invited",
        "member.joined",
        "member.role_changed",
        "member.removed",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn api_keys_authenticate_by_scope_and_stop_when_revoked() {
    let app = spawn_app().await;
    let owner = app.sign_up("keys").await;
    let read = app.ok(&owner, "mutation { createApiKey(input: {name: \"reader\", scopes: [READ]}) { key secret apiKey { id scopes prefix } } }", json!({})).await;
    let read_key = read["createApiKey"]["key"].as_str().unwrap().to_owned();
    assert_eq!(read["createApiKey"]["secret"], read["createApiKey"]["key"]);
    assert!(read_key.starts_with(read["createApiKey"]["apiKey"]["prefix"].as_str().unwrap()));
    let write = app.ok(&owner, "mutation { createApiKey(input: {name: \"crm\", scopes: [WRITE]}) { key apiKey { id } } }", json!({})).await;
    let write_key = write["createApiKey"]["key"].as_str().unwrap().to_owned();

    assert!(app
        .graphql(Some(&read_key), "{ leads { totalCount } }", json!({}))
        .await
        .get("errors")
        .is_none());
    assert_eq!(
        error_code(
            &app.graphql(Some(&read_key), LEAD, json!({"input": {"name": "x"}}))
                .await
        ),
        "FORBIDDEN"
    );
    assert!(app
        .graphql(Some(&write_key), LEAD, json!({"input": {"name": "x"}}))
        .await
        .get("errors")
        .is_none());
    assert_eq!(
        error_code(
            &app.graphql(
                Some(&write_key),
                "mutation { createApiKey(input: {name: \"more\"}) { key } }",
                json!({})
            )
            .await
        ),
        "FORBIDDEN"
    );

    // The stored secret is a hash: the listing never shows the key.
    let listing = app
        .ok(
            &owner,
            "{ apiKeys { totalCount edges { node { name prefix revokedAt } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listing["apiKeys"]["totalCount"], 2);
    assert!(!listing.to_string().contains(&read_key));

    let id = write["createApiKey"]["apiKey"]["id"].as_str().unwrap();
    app.ok(
        &owner,
        "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { revokedAt } } }",
        json!({"id": id}),
    )
    .await;
    let after = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&write_key)
        .json(&json!({"query": "{ leads { totalCount } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    let body: serde_json::Value = after.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");

    // A forged key with a real id is refused the same way.
    let forged = format!(
        "{}_{}",
        &read_key[..read_key.rfind('_').unwrap()],
        "A".repeat(43)
    );
    let response = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&forged)
        .json(&json!({"query": "{ leads { totalCount } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn another_tenants_lead_is_not_found_everywhere() {
    let app = spawn_app().await;
    let a = app.sign_up("tenant-a").await;
    let b = app.sign_up("tenant-b").await;
    let lead = app.create_lead(&a, "Alice of A").await;

    let attempts = [
        ("query($id: ID!) { lead(id: $id) { id } }", json!({"id": lead})),
        ("mutation($id: ID!) { updateLead(input: {id: $id, name: \"stolen\"}) { lead { id } } }", json!({"id": lead})),
        ("mutation($id: ID!) { adjustLeadScore(input: {leadId: $id, delta: 10, signal: \"x\", reason: \"y\"}) { lead { score } } }", json!({"id": lead})),
        ("mutation($id: ID!) { deleteLead(input: {id: $id}) { deletedId } }", json!({"id": lead})),
    ];
    for (query, vars) in attempts {
        let response = app.graphql(Some(&b), query, vars).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{query}: {response}");
    }
    assert_eq!(
        app.ok(&b, "{ leads { totalCount } }", json!({})).await["leads"]["totalCount"],
        0
    );
    // Nothing of A's changed.
    let still = app
        .ok(
            &a,
            "query($id: ID!) { lead(id: $id) { name score } }",
            json!({"id": lead}),
        )
        .await;
    assert_eq!(still["lead"]["name"], "Alice of A");
    assert_eq!(still["lead"]["score"], 50);
}

#[tokio::test]
async fn repeated_login_attempts_on_one_account_are_rate_limited() {
    let app = spawn_app().await;
    app.sign_up("guarded").await;
    let attempt = || {
        app.graphql(None, "mutation { login(input: {email: \"owner@guarded.test\", password: \"guess guess\"}) { token } }", json!({}))
    };
    let mut codes = Vec::new();
    for _ in 0..11 {
        codes.push(error_code(&attempt().await).to_owned());
    }
    assert!(
        codes[..10].iter().all(|c| c == "UNAUTHENTICATED"),
        "{codes:?}"
    );
    let limited = attempt().await;
    assert_eq!(error_code(&limited), "RATE_LIMITED", "{limited}");
    assert!(limited["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .is_some_and(|s| s >= 1));
    // Other accounts are not affected.
    app.sign_up("neighbour").await;
    let other = app.graphql(None, "mutation { login(input: {email: \"owner@neighbour.test\", password: \"correct horse battery\"}) { token } }", json!({})).await;
    assert!(other["data"]["login"]["token"].is_string(), "{other}");
}

#[tokio::test]
async fn sign_ups_are_rate_limited_per_client_address() {
    let app = crate::harness::spawn_with(crate::harness::SpawnOptions {
        env: vec![("LEADLINE_SIGNUP_RATE_PER_MINUTE".into(), "2".into())],
        ..Default::default()
    })
    .await;
    app.sign_up("first-shop").await;
    app.sign_up("second-shop").await;
    let third = app
        .graphql(None, "mutation { signUp(input: {email: \"c@third.test\", password: \"long enough pw\", tenantName: \"T\", tenantSlug: \"third-shop\"}) { token } }", json!({}))
        .await;
    assert_eq!(error_code(&third), "RATE_LIMITED", "{third}");
    // Nothing was created by the refused call.
    let login = app.graphql(None, "mutation { login(input: {email: \"c@third.test\", password: \"long enough pw\"}) { token } }", json!({})).await;
    assert_eq!(error_code(&login), "UNAUTHENTICATED");
}
