use super::*;
use std::collections::HashMap;

fn config(pairs: &[(&str, &str)]) -> anyhow::Result<Config> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_are_the_embedded_backend() -> anyhow::Result<()> {
    let c = config(&[])?;
    assert!(c.database_url.starts_with("sqlite:"));
    assert!(c.redis_url.is_none());
    assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
    assert!(c.introspection);
    Ok(())
}

#[test]
fn the_phone_agent_names_what_it_misses_and_keeps_its_secrets_out_of_debug_output(
) -> anyhow::Result<()> {
    let none = config(&[])?;
    assert_eq!(
        none.phone_agent_missing(),
        vec![
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "ELEVENLABS_API_KEY",
            "ELEVENLABS_WEBHOOK_SECRET",
            "LEADLINE_PUBLIC_URL"
        ]
    );
    let all = config(&[
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "twilio-token-value"),
        ("ELEVENLABS_API_KEY", "sk_eleven_value"),
        ("ELEVENLABS_WEBHOOK_SECRET", "wsec_value"),
        ("LEADLINE_PUBLIC_URL", "https://leads.example.com/"),
    ])?;
    assert!(all.phone_agent_missing().is_empty());
    assert_eq!(all.public_url.as_deref(), Some("https://leads.example.com"));
    assert_eq!(all.media_stream_token_ttl, Duration::from_secs(60));
    let shown = format!("{all:?}");
    for secret in ["twilio-token-value", "sk_eleven_value", "wsec_value"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    for bad in [
        "leads.example.com",
        "ftp://x.example",
        "https://x.example/?a=1",
    ] {
        assert!(config(&[("LEADLINE_PUBLIC_URL", bad)]).is_err(), "{bad}");
    }
    Ok(())
}

#[test]
fn bad_values_are_refused_at_start() {
    assert!(config(&[("DATABASE_URL", "mysql://x")]).is_err());
    assert!(config(&[("REDIS_URL", "http://x")]).is_err());
    assert!(config(&[("LEADLINE_ADDR", "nope")]).is_err());
    assert!(config(&[("JWT_SECRET", "short")]).is_err());
    assert!(config(&[("LEADLINE_INTROSPECTION", "maybe")]).is_err());
    assert!(config(&[("LEADLINE_MAX_BODY_BYTES", "-1")]).is_err());
    assert!(config(&[("LEADLINE_AI_PROVIDER", "gemini")]).is_err());
    assert!(config(&[("ANTHROPIC_API_BASE", "127.0.0.1:9")]).is_err());
    assert!(config(&[("LEADLINE_AI_RATE_PER_MINUTE", "lots")]).is_err());
    assert!(config(&[("LEADLINE_LOGIN_IP_RATE_PER_MINUTE", "-3")]).is_err());
    assert!(config(&[("LEADLINE_MAX_ROOT_FIELDS", "many")]).is_err());
}

#[test]
fn ai_settings_default_to_offline_and_keys_stay_out_of_debug_output() -> anyhow::Result<()> {
    let c = config(&[])?;
    assert_eq!(c.ai_default_provider, AiProviderKind::Offline);
    assert_eq!(c.anthropic_api_base, "https://api.anthropic.com");
    assert_eq!(c.openai_api_base, "https://api.openai.com");
    assert_eq!(c.ai_rate_per_minute, 60);
    let c = config(&[
        ("LEADLINE_AI_PROVIDER", "Anthropic"),
        ("ANTHROPIC_API_KEY", "sk-ant-secret"),
        ("ANTHROPIC_API_BASE", "http://127.0.0.1:4000/"),
    ])?;
    assert_eq!(c.ai_default_provider, AiProviderKind::Anthropic);
    assert_eq!(c.anthropic_api_base, "http://127.0.0.1:4000");
    assert!(!format!("{c:?}").contains("sk-ant-secret"));
    Ok(())
}

#[test]
fn production_turns_introspection_off_unless_asked_and_hides_the_metrics_token(
) -> anyhow::Result<()> {
    let c = config(&[])?;
    assert_eq!(c.environment, Environment::Development);
    assert!(c.introspection);
    assert_eq!(
        (c.ws_max_operations, c.ws_max_sockets_per_principal),
        (32, 16)
    );
    let c = config(&[
        ("LEADLINE_ENV", "Production"),
        ("LEADLINE_METRICS_TOKEN", "scrape-secret"),
    ])?;
    assert_eq!(c.environment, Environment::Production);
    assert!(!c.introspection);
    assert!(!format!("{c:?}").contains("scrape-secret"));
    let c = config(&[
        ("LEADLINE_ENV", "production"),
        ("LEADLINE_INTROSPECTION", "true"),
    ])?;
    assert!(c.introspection);
    assert!(config(&[("LEADLINE_ENV", "staging")]).is_err());
    assert_eq!(
        config(&[("LEADLINE_WS_MAX_OPERATIONS", "0")])?.ws_max_operations,
        1
    );
    Ok(())
}

#[test]
fn live_ceilings_default_to_the_platforms_numbers_and_bad_ones_stop_the_start() -> anyhow::Result<()>
{
    let c = config(&[])?;
    assert_eq!(
        c.live_ceilings,
        leadline_domain::live::LiveCeilings::default()
    );
    assert!(c.shared_platform_credentials);
    let c = config(&[
        ("LEADLINE_TWITCH_WHISPERS_PER_DAY", "3"),
        ("LEADLINE_YOUTUBE_QUOTA_PER_DAY", "600"),
        ("LEADLINE_YOUTUBE_INSERT_COST", "20"),
        ("LEADLINE_YOUTUBE_LIST_COST", "1"),
        ("LEADLINE_TIKTOK_DMS_PER_VIEWER_PER_DAY", "5"),
        ("LEADLINE_SHARED_PLATFORM_CREDENTIALS", "false"),
    ])?;
    assert_eq!(c.live_ceilings.whispers_per_day, 3);
    assert_eq!(c.live_ceilings.youtube_daily_quota, 600);
    assert_eq!(c.live_ceilings.youtube_insert_cost, 20);
    assert_eq!(c.live_ceilings.youtube_list_cost, 1);
    assert_eq!(c.live_ceilings.tiktok_dms_per_viewer_per_day, 5);
    assert!(!c.shared_platform_credentials);
    for bad in [
        ("LEADLINE_YOUTUBE_INSERT_COST", "0"),
        ("LEADLINE_YOUTUBE_LIST_COST", "-5"),
        ("LEADLINE_TWITCH_WHISPERS_PER_DAY", "99999999999"),
        ("LEADLINE_YOUTUBE_QUOTA_PER_DAY", "1000001"),
        ("LEADLINE_SHARED_PLATFORM_CREDENTIALS", "sometimes"),
    ] {
        assert!(config(&[bad]).is_err(), "{bad:?}");
    }
    Ok(())
}

#[test]
fn the_key_file_sits_beside_the_sqlite_file() -> anyhow::Result<()> {
    let file = |url: &str| -> anyhow::Result<Option<std::path::PathBuf>> {
        Ok(config(&[("DATABASE_URL", url)])?.key_sources().file)
    };
    use std::path::PathBuf;
    assert_eq!(
        file("sqlite:///var/lib/leadline/data.db?mode=rwc")?,
        Some(PathBuf::from("/var/lib/leadline/leadline.key"))
    );
    assert_eq!(
        file("sqlite://leadline.db?mode=rwc")?,
        Some(PathBuf::from("./leadline.key"))
    );
    assert_eq!(file("sqlite::memory:")?, None);
    assert_eq!(
        file("postgres://u@h/db")?,
        Some(PathBuf::from("leadline.key"))
    );
    Ok(())
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(
        redact_url("postgres://app:s3cret@db:5432/x"),
        "postgres://app:***@db:5432/x"
    );
    assert_eq!(
        redact_url("redis://127.0.0.1:6379"),
        "redis://127.0.0.1:6379"
    );
}

#[test]
fn mail_goes_to_an_outbox_beside_the_database_unless_smtp_is_configured() -> anyhow::Result<()> {
    let c = config(&[])?;
    assert!(c.smtp_url.is_none());
    assert_eq!(c.mail_outbox_dir, std::path::PathBuf::from("./outbox"));
    let c = config(&[("DATABASE_URL", "sqlite:///var/lib/leadline/app.db?mode=rwc")])?;
    assert_eq!(
        c.mail_outbox_dir,
        std::path::PathBuf::from("/var/lib/leadline/outbox")
    );
    let c = config(&[("DATABASE_URL", "postgres://app@db/x")])?;
    assert_eq!(c.mail_outbox_dir, std::path::PathBuf::from("./outbox"));
    let c = config(&[
        ("SMTP_URL", "smtps://mailer:hunter22@smtp.example.com:465"),
        ("SMTP_FROM", "Acme <no-reply@acme.example>"),
    ])?;
    assert!(c.smtp_url.is_some());
    assert!(!format!("{c:?}").contains("hunter22"));
    assert!(config(&[("SMTP_URL", "http://smtp.example.com")]).is_err());
    assert!(config(&[("SMTP_FROM", "not an address")]).is_err());
    Ok(())
}

#[test]
#[allow(clippy::unwrap_used)]
fn billing_is_off_without_a_key_and_reads_rotating_webhook_secrets() -> anyhow::Result<()> {
    let off = config(&[])?;
    assert!(!off.billing_enabled());
    assert_eq!(off.plans_source, "built-in");
    assert_eq!(off.plans.default().id, "UNLIMITED");
    assert_eq!(off.billing_grace, chrono::Duration::days(7));
    assert_eq!(off.meter_report_interval, Duration::from_secs(60));
    let on = config(&[
        ("STRIPE_SECRET_KEY", "sk_test_hidden_key"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_new, whsec_old"),
        ("STRIPE_API_BASE", "http://127.0.0.1:9"),
        ("LEADLINE_BILLING_GRACE_DAYS", "0"),
        ("LEADLINE_METER_REPORT_SECONDS", "0"),
    ])?;
    // Clamped: a report at most once a second per tenant.
    assert_eq!(on.meter_report_interval, Duration::from_secs(1));
    assert!(on.billing_enabled());
    assert_eq!(on.stripe.webhook_secrets, vec!["whsec_new", "whsec_old"]);
    assert!(on.stripe.missing().is_empty());
    assert_eq!(on.billing_grace, chrono::Duration::zero());
    assert!(!format!("{on:?}").contains("sk_test_hidden_key"));
    let error = config(&[
        ("STRIPE_SECRET_KEY", "sk_x"),
        ("STRIPE_API_BASE", "ftp://x"),
    ])
    .map(|_| ())
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("STRIPE_API_BASE"),
        "{error:#}"
    );
    Ok(())
}

#[test]
#[allow(clippy::unwrap_used)]
fn a_plans_file_that_does_not_parse_stops_the_start() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("leadline-plans-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let broken = dir.join("plans.json");
    std::fs::write(&broken, r#"{"defaultPlan":"X","freePlan":"X","plans":[]}"#)?;
    let path = broken.to_string_lossy().into_owned();
    let error = config(&[("LEADLINE_PLANS", path.as_str())])
        .map(|_| ())
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains("LEADLINE_PLANS") && text.contains("at least one plan"),
        "{text}"
    );
    let missing = config(&[("LEADLINE_PLANS", "/nonexistent/plans.json")])
        .map(|_| ())
        .unwrap_err();
    assert!(
        format!("{missing:#}").contains("cannot read"),
        "{missing:#}"
    );
    let good = dir.join("good.json");
    std::fs::write(
        &good,
        r#"{"defaultPlan":"ONE","freePlan":"ONE","plans":[{"id":"ONE","name":"One","features":{"supportChat":true}}]}"#,
    )?;
    let path = good.to_string_lossy().into_owned();
    let loaded = config(&[("LEADLINE_PLANS", path.as_str())])?;
    assert_eq!(loaded.plans.default().id, "ONE");
    assert_eq!(loaded.plans_source, path);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
