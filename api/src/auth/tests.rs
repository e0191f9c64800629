use super::*;

#[test]
fn tokens_round_trip_and_reject_tampering() -> ApiResult<()> {
    let keys = TokenKeys::new(&[7; 32], std::time::Duration::from_secs(3600));
    let (user, tenant) = (Uuid::now_v7(), Uuid::now_v7());
    let token = keys.issue(user, tenant, Role::Agent, Utc::now())?;
    let claims = keys.verify(&token)?;
    assert_eq!(
        (claims.sub, claims.tid, claims.role.as_str()),
        (user, tenant, "AGENT")
    );

    let other = TokenKeys::new(&[8; 32], std::time::Duration::from_secs(3600));
    assert!(matches!(
        other.verify(&token),
        Err(ApiError::Unauthenticated(_))
    ));

    let expired = keys.issue(
        user,
        tenant,
        Role::Agent,
        Utc::now() - chrono::Duration::days(2),
    )?;
    assert!(
        matches!(keys.verify(&expired), Err(ApiError::Unauthenticated(m)) if m.contains("expired"))
    );

    // alg=none with the same claims must be refused.
    let parts: Vec<&str> = token.split('.').collect();
    let none_header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    assert!(keys
        .verify(&format!("{none_header}.{}.", parts[1]))
        .is_err());
    Ok(())
}

#[test]
fn media_stream_tokens_open_only_their_stream_and_expire_without_leeway() -> ApiResult<()> {
    let keys = TokenKeys::new(&[7; 32], std::time::Duration::from_secs(3600));
    let (tenant, call) = (Uuid::now_v7(), Uuid::now_v7());
    let token = keys.issue_media_stream(
        tenant,
        call,
        "CA1",
        Utc::now(),
        chrono::Duration::seconds(60),
    )?;
    let claims = keys.verify_media_stream(&token)?;
    assert_eq!(
        (claims.sub, claims.tid, claims.csid.as_str()),
        (call, tenant, "CA1")
    );
    // No other kind of token reads as one, and it reads as no other kind.
    assert!(keys.verify(&token).is_err());
    assert!(keys.verify_customer(&token).is_err());
    assert!(keys.verify_call_agent(&token).is_err());
    let agent = keys.issue_call_agent(tenant, call, Utc::now(), chrono::Duration::hours(1))?;
    assert!(keys.verify_media_stream(&agent).is_err());
    let other = TokenKeys::new(&[8; 32], std::time::Duration::from_secs(3600));
    assert!(other.verify_media_stream(&token).is_err());
    let expired = keys.issue_media_stream(
        tenant,
        call,
        "CA1",
        Utc::now() - chrono::Duration::seconds(2),
        chrono::Duration::seconds(1),
    )?;
    assert!(
        matches!(keys.verify_media_stream(&expired), Err(ApiError::Unauthenticated(m)) if m.contains("expired"))
    );
    Ok(())
}

#[test]
fn call_tokens_are_only_call_tokens_and_only_for_their_call() -> ApiResult<()> {
    let keys = TokenKeys::new(&[7; 32], std::time::Duration::from_secs(3600));
    let (tenant, call, other_call) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let token = keys.issue_call_agent(tenant, call, Utc::now(), chrono::Duration::hours(2))?;
    let claims = keys.verify_call_agent(&token)?;
    assert_eq!((claims.sub, claims.tid), (call, tenant));
    // Neither a member nor a customer token, and those are not call tokens.
    assert!(keys.verify(&token).is_err());
    assert!(keys.verify_customer(&token).is_err());
    let member = keys.issue(Uuid::now_v7(), tenant, Role::Owner, Utc::now())?;
    assert!(keys.verify_call_agent(&member).is_err());
    let (customer, _) = keys.issue_customer(tenant, Uuid::now_v7(), "x", Utc::now())?;
    assert!(keys.verify_call_agent(&customer).is_err());
    let expired = keys.issue_call_agent(
        tenant,
        call,
        Utc::now() - chrono::Duration::hours(3),
        chrono::Duration::hours(2),
    )?;
    assert!(
        matches!(keys.verify_call_agent(&expired), Err(ApiError::Unauthenticated(m)) if m.contains("expired"))
    );
    let agent = Principal::CallAgent {
        tenant_id: TenantId(tenant),
        call_id: call,
    };
    assert_eq!(agent.require_call_reporter(call)?, TenantId(tenant));
    assert!(matches!(
        agent.require_call_reporter(other_call),
        Err(ApiError::Forbidden(_))
    ));
    for access in [Access::Read, Access::Write, Access::Administer] {
        assert!(matches!(agent.require(access), Err(ApiError::Forbidden(_))));
    }
    assert!(matches!(agent.member(), Err(ApiError::Forbidden(_))));
    let calls_key = Principal::ApiKey {
        key_id: Uuid::now_v7(),
        tenant_id: TenantId(tenant),
        scopes: vec![ApiKeyScope::Calls],
    };
    assert_eq!(
        calls_key.require_call_reporter(other_call)?,
        TenantId(tenant)
    );
    assert!(matches!(
        calls_key.require(Access::Read),
        Err(ApiError::Forbidden(_))
    ));
    let viewer = Principal::Member {
        user_id: Uuid::now_v7(),
        tenant_id: TenantId(tenant),
        role: Role::Viewer,
    };
    assert!(matches!(
        viewer.require_call_reporter(call),
        Err(ApiError::Forbidden(_))
    ));
    Ok(())
}

#[test]
fn customer_and_member_tokens_are_never_taken_for_each_other() -> ApiResult<()> {
    let keys = TokenKeys::new(&[7; 32], std::time::Duration::from_secs(3600))
        .with_customer_ttl(std::time::Duration::from_secs(600));
    let (lead, tenant) = (Uuid::now_v7(), Uuid::now_v7());
    let (customer, expires_at) = keys.issue_customer(tenant, lead, "user-42", Utc::now())?;
    assert!(expires_at <= Utc::now() + chrono::Duration::seconds(601));
    let claims = keys.verify_customer(&customer)?;
    assert_eq!(
        (claims.sub, claims.tid, claims.ext.as_str()),
        (lead, tenant, "user-42")
    );
    assert!(matches!(
        keys.verify(&customer),
        Err(ApiError::Unauthenticated(_))
    ));
    let member = keys.issue(lead, tenant, Role::Owner, Utc::now())?;
    assert!(matches!(
        keys.verify_customer(&member),
        Err(ApiError::Unauthenticated(_))
    ));
    let expired =
        keys.issue_customer(tenant, lead, "x", Utc::now() - chrono::Duration::hours(2))?;
    assert!(
        matches!(keys.verify_customer(&expired.0), Err(ApiError::Unauthenticated(m)) if m.contains("expired"))
    );
    let customer_principal = Principal::Customer {
        tenant_id: TenantId(tenant),
        lead_id: lead,
        external_id: "user-42".into(),
    };
    assert!(matches!(
        customer_principal.require(Access::Read),
        Err(ApiError::Forbidden(_))
    ));
    assert!(matches!(
        customer_principal.member(),
        Err(ApiError::Forbidden(_))
    ));
    Ok(())
}

#[test]
fn api_keys_parse_back_to_their_id() {
    let id = Uuid::now_v7();
    let key = new_api_key(id);
    let (parsed, secret) = parse_api_key(&key.credential).unwrap_or((Uuid::nil(), ""));
    assert_eq!(parsed, id);
    assert_eq!(sha256_hex(secret), key.secret_hash);
    assert!(parse_api_key("ll_nothex_secret").is_none());
    assert!(parse_api_key("eyJhbGciOi").is_none());
}

#[test]
fn bearer_header_parsing() {
    assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
    assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
    assert_eq!(bearer(Some("Basic abc")), None);
    assert_eq!(bearer(None), None);
}

#[tokio::test]
async fn passwords_verify_only_with_the_right_password() -> ApiResult<()> {
    let hash = hash_password("correct horse".into()).await?;
    assert!(verify_password("correct horse".into(), Some(hash.clone())).await);
    assert!(!verify_password("wrong horse".into(), Some(hash)).await);
    assert!(!verify_password("anything".into(), None).await);
    Ok(())
}
