//! Attacks on accounts (see `attacks.rs`): pre-hijacking an address before its owner is
//! invited, setting a password through someone else's invite, reading invite codes as the
//! inviter, inviting with non-member credentials, replaying verification tokens, and racing two
//! owners against each other until nobody owns the tenant.

use serde_json::{json, Value};

use crate::harness::{
    error_code, fresh_database, mailed_secret, spawn_app, spawn_with, SpawnOptions, TestApp,
};

const INVITE: &str = "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invite { id email role expiresAt } } }";
const ACCEPT: &str = "mutation($input: AcceptInviteInput!) { acceptInvite(input: $input) { token role user { id email emailVerified } tenant { slug } } }";
const LOGIN: &str =
    "mutation($input: LoginInput!) { login(input: $input) { token role tenant { slug } } }";
const SIGN_UP: &str =
    "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id emailVerified } } }";
const VERIFY: &str =
    "mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) { user { email emailVerified } } }";

async fn sign_up_as(app: &TestApp, email: &str, password: &str, slug: &str) -> String {
    let response = app
        .graphql(
            None,
            SIGN_UP,
            json!({"input": {"email": email, "password": password, "tenantName": slug, "tenantSlug": slug}}),
        )
        .await;
    response["data"]["signUp"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("sign up failed: {response:#}"))
        .to_owned()
}

async fn invite(app: &TestApp, token: &str, email: &str, role: &str) -> Value {
    app.graphql(
        Some(token),
        INVITE,
        json!({"input": {"email": email, "role": role}}),
    )
    .await
}

async fn accept(app: &TestApp, code: &str, password: &str) -> Value {
    app.graphql(
        None,
        ACCEPT,
        json!({"input": {"code": code, "password": password, "name": "Someone"}}),
    )
    .await
}

async fn login(app: &TestApp, email: &str, password: &str, slug: Option<&str>) -> Value {
    app.graphql(
        None,
        LOGIN,
        json!({"input": {"email": email, "password": password, "tenantSlug": slug}}),
    )
    .await
}

async fn member_emails(app: &TestApp, token: &str) -> Vec<String> {
    let data = app
        .ok(
            token,
            "{ members(first: 50) { edges { node { user { email } role } } } }",
            json!({}),
        )
        .await;
    data["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["user"]["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pre_hijacked_address_gets_nothing_and_loses_the_account_to_its_owner() {
    let app = spawn_app().await;
    let victim = app.sign_up("victim").await;
    let address = "newhire@victim.test";
    // The attacker signs up first, with the stranger's address and their own tenant.
    let squatter = sign_up_as(&app, address, "attacker password", "squat").await;

    let invited = invite(&app, &victim, address, "ADMIN").await;
    assert!(invited.get("errors").is_none(), "{invited:#}");
    assert_eq!(invited["data"]["inviteMember"]["invite"]["role"], "ADMIN");

    // The invite is not a membership: the attacker's password gets nothing in the victim tenant.
    let hijack = login(&app, address, "attacker password", Some("victim")).await;
    assert_eq!(error_code(&hijack), "NOT_FOUND", "{hijack:#}");
    assert_eq!(
        member_emails(&app, &victim).await,
        vec!["owner@victim.test"]
    );
    assert_eq!(
        error_code(&accept(&app, "a-guessed-code", "attacker password").await),
        "NOT_FOUND"
    );

    // The code went to the address, and was never in the inviter's answer.
    let code = app.invite_code(address).await;
    assert!(!invited.to_string().contains(&code));

    // The real owner reads the mail and accepts with a password of their own.
    let accepted = accept(&app, &code, "the real owner's password").await;
    assert!(accepted.get("errors").is_none(), "{accepted:#}");
    assert_eq!(accepted["data"]["acceptInvite"]["role"], "ADMIN");
    assert_eq!(
        accepted["data"]["acceptInvite"]["user"]["emailVerified"],
        true
    );
    let owner_token = accepted["data"]["acceptInvite"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The squatter's session is revoked and the old password is gone.
    let revoked = app
        .graphql(Some(&squatter), "{ me { user { id } } }", json!({}))
        .await;
    assert_eq!(error_code(&revoked), "UNAUTHENTICATED");
    assert!(revoked.to_string().contains("revoked"), "{revoked}");
    for slug in [None, Some("victim"), Some("squat")] {
        assert_eq!(
            error_code(&login(&app, address, "attacker password", slug).await),
            "UNAUTHENTICATED"
        );
    }
    // The memberships gained while unverified are gone; the owner has only the invited tenant.
    let own = login(&app, address, "the real owner's password", Some("squat")).await;
    assert_eq!(error_code(&own), "NOT_FOUND");
    let own = login(&app, address, "the real owner's password", Some("victim")).await;
    assert_eq!(own["data"]["login"]["role"], "ADMIN", "{own:#}");
    let me = app
        .ok(
            &owner_token,
            "{ me { user { email emailVerified } role } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["user"]["emailVerified"], true);
    let mut members = member_emails(&app, &victim).await;
    members.sort();
    assert_eq!(members, vec![address, "owner@victim.test"]);
    // The victim tenant's audit log tells the story.
    let audit = app
        .ok(
            &victim,
            "{ auditLog(first: 20) { edges { node { action details } } } }",
            json!({}),
        )
        .await;
    let joined = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["action"] == "member.joined")
        .cloned()
        .unwrap_or_default();
    assert!(
        joined.to_string().contains("claimedUnverifiedAccount"),
        "{audit:#}"
    );
}

#[tokio::test]
async fn an_invite_never_sets_a_verified_accounts_password() {
    let app = spawn_app().await;
    let home = sign_up_as(&app, "person@home.test", "person's own password", "home").await;
    let token = mailed_secret(
        &app.last_mail_to("person@home.test").await,
        "Verification token: ",
    );
    let verified = app
        .graphql(None, VERIFY, json!({"input": {"token": token}}))
        .await;
    assert_eq!(
        verified["data"]["verifyEmail"]["user"]["emailVerified"], true,
        "{verified:#}"
    );

    let other = app.sign_up("other").await;
    assert!(invite(&app, &other, "person@home.test", "AGENT")
        .await
        .get("errors")
        .is_none());
    let code = app.invite_code("person@home.test").await;
    // Whoever holds the code without the password cannot take a verified account.
    let refused = accept(&app, &code, "a password of my choosing").await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused:#}");
    assert_eq!(
        login(&app, "person@home.test", "a password of my choosing", None).await["errors"][0]
            ["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    // The account and its session are untouched, and the owner can still accept.
    app.ok(&home, "{ me { user { id } } }", json!({})).await;
    let joined = accept(&app, &code, "person's own password").await;
    assert_eq!(
        joined["data"]["acceptInvite"]["role"], "AGENT",
        "{joined:#}"
    );
    assert_eq!(joined["data"]["acceptInvite"]["tenant"]["slug"], "other");
    app.ok(&home, "{ me { user { id } } }", json!({})).await;
}

#[tokio::test]
async fn invite_codes_go_by_mail_only_and_a_new_invite_replaces_the_old() {
    let app = spawn_app().await;
    let owner = app.sign_up("mailonly").await;
    // The payload has no code field at all.
    let asked = app
        .graphql(
            Some(&owner),
            "mutation { inviteMember(input: {email: \"a@mailonly.test\", role: AGENT}) { inviteCode } }",
            json!({}),
        )
        .await;
    assert!(asked.get("errors").is_some(), "{asked:#}");

    assert!(invite(&app, &owner, "a@mailonly.test", "AGENT")
        .await
        .get("errors")
        .is_none());
    let first = mailed_secret(
        &app.wait_for_mails("a@mailonly.test", 1).await[0],
        "Invite code: ",
    );
    let again = invite(&app, &owner, "a@mailonly.test", "VIEWER").await;
    let invite_id = again["data"]["inviteMember"]["invite"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = mailed_secret(
        &app.wait_for_mails("a@mailonly.test", 2).await[1],
        "Invite code: ",
    );
    assert_ne!(first, second);
    let listed = app
        .ok(
            &owner,
            "{ invites(first: 10) { totalCount edges { node { id email role } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["invites"]["totalCount"], 1, "{listed:#}");
    assert_eq!(listed["invites"]["edges"][0]["node"]["role"], "VIEWER");
    assert!(!listed.to_string().contains(&second));

    // The replaced code is dead; the new one works once, with the new role.
    assert_eq!(
        error_code(&accept(&app, &first, "a member password").await),
        "NOT_FOUND"
    );
    let joined = accept(&app, &second, "a member password").await;
    assert_eq!(
        joined["data"]["acceptInvite"]["role"], "VIEWER",
        "{joined:#}"
    );
    assert_eq!(
        error_code(&accept(&app, &second, "a member password").await),
        "NOT_FOUND"
    );
    // Inviting a member is a conflict; a revoked invite's code is dead.
    assert_eq!(
        error_code(&invite(&app, &owner, "a@mailonly.test", "AGENT").await),
        "CONFLICT"
    );
    let _ = invite_id;
    let pending = invite(&app, &owner, "b@mailonly.test", "AGENT").await;
    let pending_id = pending["data"]["inviteMember"]["invite"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code_b = app.invite_code("b@mailonly.test").await;
    app.ok(
        &owner,
        "mutation($id: ID!) { revokeInvite(input: {id: $id}) { invite { id } } }",
        json!({"id": pending_id}),
    )
    .await;
    assert_eq!(
        error_code(&accept(&app, &code_b, "a member password").await),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn api_keys_and_customer_tokens_cannot_invite() {
    let app = spawn_app().await;
    let owner = app.sign_up("keys").await;
    let key = app
        .ok(
            &owner,
            "mutation { createApiKey(input: {name: \"backend\", scopes: [READ, WRITE]}) { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        error_code(&invite(&app, &key, "k@keys.test", "VIEWER").await),
        "FORBIDDEN"
    );
    let customer = app
        .ok(
            &key,
            "mutation { createCustomerToken(input: {externalUserId: \"c-1\", name: \"C\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        error_code(&invite(&app, &customer, "c@keys.test", "VIEWER").await),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(
            &app.graphql(
                Some(&customer),
                "{ invites(first: 5) { totalCount } }",
                json!({})
            )
            .await
        ),
        "FORBIDDEN"
    );
    assert!(app.mails_to("k@keys.test").is_empty());
    // The owner still invites.
    assert!(invite(&app, &owner, "k@keys.test", "VIEWER")
        .await
        .get("errors")
        .is_none());
}

#[tokio::test]
async fn an_invite_joins_only_its_own_tenant_with_its_own_role() {
    let app = spawn_app().await;
    let a = app.sign_up("tenant-a").await;
    let x = app.sign_up("tenant-x").await;
    invite(&app, &a, "guest@else.test", "VIEWER").await;
    let code = app.invite_code("guest@else.test").await;
    let joined = accept(&app, &code, "guest password").await;
    assert_eq!(joined["data"]["acceptInvite"]["tenant"]["slug"], "tenant-a");
    assert_eq!(joined["data"]["acceptInvite"]["role"], "VIEWER");
    let token = joined["data"]["acceptInvite"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        error_code(&login(&app, "guest@else.test", "guest password", Some("tenant-x")).await),
        "NOT_FOUND"
    );
    assert!(!member_emails(&app, &x)
        .await
        .contains(&"guest@else.test".to_owned()));
    // The role is the invite's: a viewer cannot administer.
    assert_eq!(
        error_code(&invite(&app, &token, "more@else.test", "VIEWER").await),
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn verification_tokens_are_single_use_expire_and_are_refused_clearly() {
    let (url, redis, _) = fresh_database().await;
    let app = spawn_with(SpawnOptions {
        database_url: Some(url.clone()),
        redis_url: Some(redis),
        ..Default::default()
    })
    .await;
    let owner = sign_up_as(&app, "fresh@verify.test", "a fresh password", "verify").await;
    let me = app
        .ok(&owner, "{ me { user { emailVerified } } }", json!({}))
        .await;
    assert_eq!(me["me"]["user"]["emailVerified"], false);
    // An address with an account cannot be signed up again, verified or not.
    let twice = app
        .graphql(
            None,
            SIGN_UP,
            json!({"input": {"email": "fresh@verify.test", "password": "another password", "tenantName": "t", "tenantSlug": "verify-two"}}),
        )
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");

    let first = mailed_secret(
        &app.last_mail_to("fresh@verify.test").await,
        "Verification token: ",
    );
    let wrong = app
        .graphql(None, VERIFY, json!({"input": {"token": "not-a-token"}}))
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "token");

    // A resend replaces the first token.
    app.ok(
        &owner,
        "mutation { resendVerificationEmail { email } }",
        json!({}),
    )
    .await;
    let second = mailed_secret(
        &app.wait_for_mails("fresh@verify.test", 2).await[1],
        "Verification token: ",
    );
    let replaced = app
        .graphql(None, VERIFY, json!({"input": {"token": first}}))
        .await;
    assert_eq!(error_code(&replaced), "BAD_USER_INPUT");
    assert!(replaced.to_string().contains("already used"), "{replaced}");

    // An expired token says so.
    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        "UPDATE email_verifications SET expires_at = created_at",
    )
    .await
    .unwrap();
    let expired = app
        .graphql(None, VERIFY, json!({"input": {"token": second}}))
        .await;
    assert_eq!(error_code(&expired), "BAD_USER_INPUT");
    assert!(expired.to_string().contains("expired"), "{expired}");

    // Resends are limited (the sign-up's mail counts): one more, then RATE_LIMITED.
    app.ok(
        &owner,
        "mutation { resendVerificationEmail { email } }",
        json!({}),
    )
    .await;
    let limited = app
        .graphql(
            Some(&owner),
            "mutation { resendVerificationEmail { email } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&limited), "RATE_LIMITED", "{limited:#}");
    let third = mailed_secret(
        &app.wait_for_mails("fresh@verify.test", 3).await[2],
        "Verification token: ",
    );
    let verified = app
        .graphql(None, VERIFY, json!({"input": {"token": third}}))
        .await;
    assert_eq!(
        verified["data"]["verifyEmail"]["user"]["emailVerified"], true,
        "{verified:#}"
    );
    let reused = app
        .graphql(None, VERIFY, json!({"input": {"token": third}}))
        .await;
    assert_eq!(error_code(&reused), "BAD_USER_INPUT");
    let me = app
        .ok(&owner, "{ me { user { emailVerified } } }", json!({}))
        .await;
    assert_eq!(me["me"]["user"]["emailVerified"], true);
    assert_eq!(
        error_code(
            &app.graphql(
                Some(&owner),
                "mutation { resendVerificationEmail { email } }",
                json!({})
            )
            .await
        ),
        "CONFLICT"
    );
    db.close().await.unwrap();
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_always_leave_one_owner() {
    let app = spawn_app().await;
    let first = app.sign_up("duel").await;
    invite(&app, &first, "second@duel.test", "OWNER").await;
    let code = app.invite_code("second@duel.test").await;
    let second = accept(&app, &code, "second owner password").await["data"]["acceptInvite"]
        ["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id_of = |token: String| {
        let app = &app;
        async move {
            app.ok(&token, "{ me { user { id } } }", json!({})).await["me"]["user"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first_id = id_of(first.clone()).await;
    let second_id = id_of(second.clone()).await;
    const DEMOTE: &str = "mutation($u: ID!) { updateMemberRole(input: {userId: $u, role: ADMIN}) { member { role } } }";
    const PROMOTE: &str = "mutation($u: ID!) { updateMemberRole(input: {userId: $u, role: OWNER}) { member { role } } }";
    for round in 0..4 {
        let (a, b) = tokio::join!(
            app.graphql(Some(&first), DEMOTE, json!({"u": second_id})),
            app.graphql(Some(&second), DEMOTE, json!({"u": first_id})),
        );
        let won: Vec<bool> = [&a, &b].iter().map(|r| r.get("errors").is_none()).collect();
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: exactly one demotion wins: {a} {b}"
        );
        for lost in [&a, &b].into_iter().filter(|r| r.get("errors").is_some()) {
            assert!(
                ["CONFLICT", "FORBIDDEN"].contains(&error_code(lost)),
                "round {round}: {lost}"
            );
        }
        // Whoever is still owner lists exactly one owner, then restores the other.
        let (owner, demoted_id) = if won[0] {
            (&first, &second_id)
        } else {
            (&second, &first_id)
        };
        let members = app
            .ok(
                owner,
                "{ members(first: 10) { edges { node { role } } } }",
                json!({}),
            )
            .await;
        let owners = members["members"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["node"]["role"] == "OWNER")
            .count();
        assert_eq!(owners, 1, "round {round}: {members:#}");
        app.ok(owner, PROMOTE, json!({"u": demoted_id})).await;
    }
    // The same race with removals.
    let (a, b) = tokio::join!(
        app.graphql(
            Some(&first),
            "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
            json!({"u": second_id})
        ),
        app.graphql(
            Some(&second),
            "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
            json!({"u": first_id})
        ),
    );
    assert_eq!(
        [&a, &b]
            .iter()
            .filter(|r| r.get("errors").is_none())
            .count(),
        1,
        "{a} {b}"
    );
}
