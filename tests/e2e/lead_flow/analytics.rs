//! `callAnalytics` checked against a seeded set of calls, appointments and AI usage.

use super::*;

#[tokio::test]
async fn call_analytics_add_up_a_seeded_set_of_calls() {
    let (database_url, redis_url, _) = fresh_database().await;
    let app = spawn_with(SpawnOptions {
        database_url: Some(database_url.clone()),
        redis_url: Some(redis_url),
        ..SpawnOptions::default()
    })
    .await;
    let owner = app.sign_up("analytics").await;
    app.ok(
        &owner,
        SETTINGS,
        json!({"input": {"callMinuteRateMicros": 13_000, "timeZone": "America/New_York"}}),
    )
    .await;
    let leads = [
        app.create_lead(&owner, "Lead A").await,
        app.create_lead(&owner, "Lead B").await,
        app.create_lead(&owner, "Lead C").await,
    ];
    let db = Db::connect(&database_url).await;
    let tenant = db.tenant_id("analytics").await;
    let base = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let seeds: [Seed; 7] = [
        (
            0,
            "INBOUND",
            true,
            false,
            Some(61),
            Some("APPOINTMENT_BOOKED"),
            true,
            Some(0),
        ),
        (
            20,
            "INBOUND",
            true,
            false,
            Some(125),
            Some("TRANSFERRED"),
            false,
            Some(0),
        ),
        (
            70,
            "OUTBOUND",
            true,
            false,
            Some(30),
            Some("NOT_INTERESTED"),
            false,
            Some(1),
        ),
        (
            75,
            "OUTBOUND",
            false,
            false,
            None,
            Some("NO_ANSWER"),
            false,
            Some(1),
        ),
        (
            80,
            "OUTBOUND",
            true,
            true,
            Some(20),
            Some("VOICEMAIL"),
            false,
            Some(2),
        ),
        // The next day (New York), booked through an appointment row only.
        (
            24 * 60 + 5,
            "INBOUND",
            true,
            false,
            Some(300),
            None,
            true,
            Some(2),
        ),
        // Outside the period.
        (
            5 * 24 * 60,
            "INBOUND",
            true,
            false,
            Some(600),
            Some("APPOINTMENT_BOOKED"),
            true,
            None,
        ),
    ];
    for (minutes, direction, answered, machine, duration, outcome, booked, lead) in seeds {
        let id = Uuid::now_v7();
        let created = base + chrono::Duration::minutes(minutes);
        let status = match (answered, machine) {
            (true, true) => "VOICEMAIL",
            (true, false) => "COMPLETED",
            _ => "NO_ANSWER",
        };
        db.exec(
            "INSERT INTO calls (id, tenant_id, lead_id, direction, provider, purpose, status, to_number, \
             handled_by, answered_at, duration_seconds, outcome, answered_by, metadata, created_at, updated_at, attempt) \
             VALUES ($1, $2, $3, $4, 'TWILIO', 'DEALERSHIP', $5, '+14155550100', 'AI', $6, $7, $8, $9, $10, $11, $11, 1)",
            vec![
                id.into(),
                tenant.into(),
                lead.map(|i| uuid(&leads[i])).into(),
                direction.into(),
                status.into(),
                answered.then_some(created).into(),
                duration.into(),
                outcome.map(str::to_owned).into(),
                (answered).then(|| if machine { "MACHINE" } else { "HUMAN" }.to_owned()).into(),
                DbValue::Json(Some(Box::new(json!({})))),
                created.into(),
            ],
        )
        .await;
        if booked {
            db.exec(
                "INSERT INTO appointments (id, tenant_id, lead_id, call_id, kind, scheduled_at, duration_minutes, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'TEST_DRIVE', $5, 30, 'SCHEDULED', $5, $5)",
                vec![
                    Uuid::now_v7().into(),
                    tenant.into(),
                    uuid(&leads[lead.unwrap_or(0)]).into(),
                    id.into(),
                    (created + chrono::Duration::days(2)).into(),
                ],
            )
            .await;
        }
    }
    db.exec(
        "INSERT INTO ai_usage (id, tenant_id, day, provider, model, requests, input_tokens, output_tokens, cost_micros) \
         VALUES ($1, $2, $3, 'ANTHROPIC', 'claude', 10, 1000, 500, 21000)",
        vec![
            Uuid::now_v7().into(),
            tenant.into(),
            base.date_naive().into(),
        ],
    )
    .await;

    // The New York days of Dec 1 and 2.
    let figures = app
        .ok(
            &owner,
            ANALYTICS,
            json!({"from": "2026-12-01T05:00:00Z", "to": "2026-12-03T05:00:00Z", "g": "DAY"}),
        )
        .await["callAnalytics"]
        .clone();
    assert_eq!(figures["timeZone"], "America/New_York");
    assert_eq!(figures["totalCalls"], 6, "{figures:#}");
    assert_eq!(figures["inboundCalls"], 3);
    assert_eq!(figures["outboundCalls"], 3);
    // The voicemail was a machine: four people answered.
    assert_eq!(figures["answeredCalls"], 4);
    assert_eq!(figures["transferredCalls"], 1);
    assert_eq!(figures["appointmentsBooked"], 2);
    assert_eq!(figures["conversionRate"], 0.5);
    // 61, 125, 30, 20, 300 s: mean 107.2, median 61; billed 2 + 3 + 1 + 1 + 5 minutes.
    assert_eq!(figures["averageDurationSeconds"], 107.2);
    assert_eq!(figures["medianDurationSeconds"], 61.0);
    assert_eq!(figures["telephonyMinutes"], 12);
    assert_eq!(figures["telephonyCostMicros"], 156_000);
    assert_eq!(figures["aiCostMicros"], 21_000);
    assert_eq!(figures["leads"], 3);
    assert_eq!(figures["costPerLeadMicros"], 59_000);
    let series = figures["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0]["start"], "2026-12-01T05:00:00+00:00");
    assert_eq!(
        (
            series[0]["total"].as_u64(),
            series[0]["inbound"].as_u64(),
            series[0]["answered"].as_u64()
        ),
        (Some(5), Some(2), Some(3))
    );
    assert_eq!(
        (
            series[1]["total"].as_u64(),
            series[1]["appointmentsBooked"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let recent = figures["recentCalls"].as_array().unwrap();
    assert_eq!(recent.len(), 6);
    assert_eq!(recent[0]["durationSeconds"], 300);
    assert_eq!(recent[0]["appointmentBooked"], true);
    assert_eq!(recent[1]["outcome"], "VOICEMAIL");

    // Hourly: 10:00–11:00 UTC has the two inbound calls.
    let hourly = app
        .ok(
            &owner,
            ANALYTICS,
            json!({"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T12:00:00Z", "g": "HOUR"}),
        )
        .await["callAnalytics"]
        .clone();
    let series = hourly["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0]["total"], 2);
    assert_eq!(series[1]["total"], 3);

    // Bad periods are BAD_USER_INPUT.
    for (from, to, g) in [
        ("2026-12-02T00:00:00Z", "2026-12-01T00:00:00Z", "DAY"),
        ("2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z", "DAY"),
        ("2025-01-01T00:00:00Z", "2026-12-01T00:00:00Z", "DAY"),
        ("2026-10-01T00:00:00Z", "2026-12-01T00:00:00Z", "HOUR"),
    ] {
        let refused = app
            .graphql(
                Some(&owner),
                ANALYTICS,
                json!({"from": from, "to": to, "g": g}),
            )
            .await;
        assert_eq!(
            error_code(&refused),
            "BAD_USER_INPUT",
            "{from} {to} {g}: {refused}"
        );
    }
    // Another tenant sees none of these calls.
    let other = app.sign_up("analytics-other").await;
    let theirs = app
        .ok(
            &other,
            ANALYTICS,
            json!({"from": "2026-12-01T05:00:00Z", "to": "2026-12-03T05:00:00Z"}),
        )
        .await;
    assert_eq!(theirs["callAnalytics"]["totalCalls"], 0);
    assert_eq!(theirs["callAnalytics"]["recentCalls"], json!([]));
}
