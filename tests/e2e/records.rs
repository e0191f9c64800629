//! CRUD of every core record, pagination, filters, the CRM upsert and score history.

use serde_json::{json, Value};

use crate::harness::{error_code, spawn_app};

#[tokio::test]
async fn products_crud_with_money_validation() {
    let app = spawn_app().await;
    let t = app.sign_up("shop").await;
    let created = app
        .ok(
            &t,
            "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id name price { amountMicros currencyCode formatted } purchaseLink keywords active } } }",
            json!({"input": {"name": "Hoodie", "description": "Warm", "price": {"amountMicros": 49_990_000, "currencyCode": "usd"}, "purchaseLink": "https://shop.test/hoodie", "keywords": ["sudadera", "hoodie", "sudadera"]}}),
        )
        .await;
    let product = &created["createProduct"]["product"];
    assert_eq!(
        product["price"],
        json!({"amountMicros": 49_990_000, "currencyCode": "USD", "formatted": "49.99 USD"})
    );
    assert_eq!(product["keywords"], json!(["sudadera", "hoodie"]));
    let id = product["id"].as_str().unwrap();

    for (price, field) in [
        (json!({"amountMicros": 1, "currencyCode": "XYZ"}), "price"),
        (json!({"amountMicros": -5, "currencyCode": "USD"}), "price"),
    ] {
        let bad = app.graphql(Some(&t), "mutation($p: MoneyInput!) { createProduct(input: {name: \"X\", price: $p}) { product { id } } }", json!({"p": price})).await;
        assert_eq!(error_code(&bad), "BAD_USER_INPUT");
        assert_eq!(bad["errors"][0]["extensions"]["field"], field);
    }
    let bad_link = app.graphql(Some(&t), "mutation { createProduct(input: {name: \"X\", price: {amountMicros: 1, currencyCode: \"USD\"}, purchaseLink: \"javascript:alert(1)\"}) { product { id } } }", json!({})).await;
    assert_eq!(bad_link["errors"][0]["extensions"]["field"], "purchaseLink");

    let updated = app
        .ok(&t, "mutation($id: ID!) { updateProduct(input: {id: $id, price: {amountMicros: 1500000000, currencyCode: \"JPY\"}, active: false}) { product { price { formatted } active name } } }", json!({"id": id}))
        .await;
    assert_eq!(
        updated["updateProduct"]["product"],
        json!({"price": {"formatted": "1500 JPY"}, "active": false, "name": "Hoodie"})
    );
    let listed = app
        .ok(
            &t,
            "{ products(filter: {search: \"HOOD\"}) { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["products"]["totalCount"], 1);
    assert_eq!(
        app.ok(
            &t,
            "{ products(filter: {active: true}) { totalCount } }",
            json!({})
        )
        .await["products"]["totalCount"],
        0
    );
    app.ok(
        &t,
        "mutation($id: ID!) { deleteProduct(input: {id: $id}) { deletedId } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        error_code(
            &app.graphql(
                Some(&t),
                "query($id: ID!) { product(id: $id) { id } }",
                json!({"id": id})
            )
            .await
        ),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn channel_connections_keep_secrets_write_only() {
    let app = spawn_app().await;
    let t = app.sign_up("chan").await;
    const UPSERT: &str = "mutation($input: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $input) { created connection { id channel status aiEnabled hasAppSecret hasVerifyToken hasAccessToken externalAccountId webhookPath } } }";
    let first = app
        .ok(&t, UPSERT, json!({"input": {"channel": "WHATSAPP", "externalAccountId": "1234", "verifyToken": "vt-secret", "appSecret": "app-secret-value", "clientSecret": "cs", "accessToken": "EAAB-token", "aiEnabled": true}}))
        .await;
    let connection = &first["upsertChannelConnection"]["connection"];
    assert_eq!(first["upsertChannelConnection"]["created"], true);
    assert_eq!(connection["status"], "CONNECTED");
    assert_eq!(connection["hasAppSecret"], true);
    assert_eq!(connection["webhookPath"], "/api/webhook/whatsapp/chan");
    let id = connection["id"].as_str().unwrap().to_owned();

    // Update in place: same id, secret cleared, AI off.
    let second = app
        .ok(
            &t,
            UPSERT,
            json!({"input": {"channel": "WHATSAPP", "appSecret": "", "aiEnabled": false}}),
        )
        .await;
    assert_eq!(second["upsertChannelConnection"]["created"], false);
    assert_eq!(
        second["upsertChannelConnection"]["connection"]["id"],
        id.as_str()
    );
    assert_eq!(
        second["upsertChannelConnection"]["connection"]["hasAppSecret"],
        false
    );
    assert_eq!(
        second["upsertChannelConnection"]["connection"]["hasVerifyToken"],
        true
    );
    assert_eq!(
        second["upsertChannelConnection"]["connection"]["externalAccountId"],
        "1234"
    );

    app.ok(
        &t,
        UPSERT,
        json!({"input": {"channel": "INSTAGRAM", "accessToken": "ig"}}),
    )
    .await;
    let all = app.ok(&t, "{ channelConnections { totalCount edges { node { channel } } pageInfo { hasNextPage } } }", json!({})).await;
    assert_eq!(all["channelConnections"]["totalCount"], 2);
    // No secret value appears anywhere in what the API returns, audit log included.
    let audit = app
        .ok(
            &t,
            "{ auditLog { edges { node { action details } } } }",
            json!({}),
        )
        .await;
    let everything = format!("{all}{audit}{second}");
    for secret in ["vt-secret", "app-secret-value", "EAAB-token"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    assert!(audit.to_string().contains("channel_connection.created"));
    // The schema has no field that could return a secret.
    let fields = app
        .ok(
            &t,
            "{ __type(name: \"ChannelConnection\") { fields { name } } }",
            json!({}),
        )
        .await;
    let names: Vec<&str> = fields["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| ["appSecret", "verifyToken", "clientSecret", "accessToken"].contains(n)),
        "{names:?}"
    );

    app.ok(
        &t,
        "mutation($id: ID!) { deleteChannelConnection(input: {id: $id}) { deletedId } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        app.ok(
            &t,
            "{ channelConnections(channel: WHATSAPP) { totalCount } }",
            json!({})
        )
        .await["channelConnections"]["totalCount"],
        0
    );
}

#[tokio::test]
async fn ai_context_and_tenant_settings_update_with_validation() {
    let app = spawn_app().await;
    let t = app.sign_up("brain").await;
    let defaults = app.ok(&t, "{ aiContext { responseStyle temperature maxTokens provider escalationKeywords businessHours { dayOfWeek } } }", json!({})).await;
    assert_eq!(defaults["aiContext"]["provider"], "OFFLINE");
    let updated = app
        .ok(
            &t,
            "mutation($input: UpdateAiContextInput!) { updateAiContext(input: $input) { aiContext { systemPrompt responseStyle temperature maxTokens escalationKeywords autoEscalateAfterMessages timezone businessHours { dayOfWeek opensAt closesAt } } } }",
            json!({"input": {"systemPrompt": "Be brief", "responseStyle": "CONCISE", "temperature": 0.2, "maxTokens": 300, "escalationKeywords": ["refund", "abogado"], "autoEscalateAfterMessages": 5, "timezone": "America/Mexico_City", "businessHours": [{"dayOfWeek": 1, "opensAt": "09:00", "closesAt": "18:00"}]}}),
        )
        .await;
    assert_eq!(
        updated["updateAiContext"]["aiContext"],
        json!({"systemPrompt": "Be brief", "responseStyle": "CONCISE", "temperature": 0.2, "maxTokens": 300, "escalationKeywords": ["refund", "abogado"], "autoEscalateAfterMessages": 5, "timezone": "America/Mexico_City", "businessHours": [{"dayOfWeek": 1, "opensAt": "09:00", "closesAt": "18:00"}]})
    );
    for (input, field) in [
        (json!({"temperature": 3.0}), "temperature"),
        (json!({"maxTokens": 0}), "maxTokens"),
        (
            json!({"businessHours": [{"dayOfWeek": 8, "opensAt": "09:00", "closesAt": "10:00"}]}),
            "businessHours.dayOfWeek",
        ),
        (
            json!({"businessHours": [{"dayOfWeek": 1, "opensAt": "18:00", "closesAt": "09:00"}]}),
            "businessHours",
        ),
        (json!({"escalationKeywords": [""]}), "escalationKeywords"),
    ] {
        let response = app.graphql(Some(&t), "mutation($input: UpdateAiContextInput!) { updateAiContext(input: $input) { aiContext { maxTokens } } }", json!({"input": input})).await;
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
    }
    // A refused update changed nothing.
    assert_eq!(
        app.ok(&t, "{ aiContext { maxTokens } }", json!({})).await["aiContext"]["maxTokens"],
        300
    );

    let settings = app
        .ok(&t, "mutation { updateTenantSettings(input: {aiLeadPercentage: 75, humanOperatorNumber: \"+1 (415) 555-2671\", agentName: \"Sofia\", defaultPhoneRegion: \"mx\"}) { tenant { settings { aiLeadPercentage humanOperatorNumber agentName defaultPhoneRegion } } } }", json!({}))
        .await;
    assert_eq!(
        settings["updateTenantSettings"]["tenant"]["settings"],
        json!({"aiLeadPercentage": 75, "humanOperatorNumber": "+14155552671", "agentName": "Sofia", "defaultPhoneRegion": "MX"})
    );
    let bad = app
        .graphql(
            Some(&t),
            "mutation { updateTenantSettings(input: {aiLeadPercentage: 30}) { tenant { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "aiLeadPercentage");
    // With region MX, a national-format number is read as Mexican.
    let lead = app.ok(&t, "mutation { createLead(input: {name: \"Local\", phone: \"55 1234 5678\"}) { lead { phone } } }", json!({})).await;
    assert_eq!(lead["createLead"]["lead"]["phone"], "+525512345678");
}

#[tokio::test]
async fn leads_crud_normalises_phones_and_names_bad_fields() {
    let app = spawn_app().await;
    let t = app.sign_up("crm").await;
    let created = app
        .ok(&t, "mutation { createLead(input: {name: \" Ana Ruiz \", email: \"ANA@Example.com\", phone: \"+1 415-555-2671\", company: \"Acme\", sourceChannel: WHATSAPP}) { lead { id name email phone score temperature status sourceChannel } } }", json!({}))
        .await;
    let lead = &created["createLead"]["lead"];
    assert_eq!(lead["name"], "Ana Ruiz");
    assert_eq!(lead["email"], "ana@example.com");
    assert_eq!(lead["phone"], "+14155552671");
    assert_eq!(
        (
            lead["score"].as_i64(),
            lead["temperature"].as_str(),
            lead["status"].as_str()
        ),
        (Some(50), Some("WARM"), Some("NEW"))
    );
    let id = lead["id"].as_str().unwrap();

    for (input, field) in [
        (json!({"name": "X", "phone": "555"}), "phone"),
        (json!({"name": "X", "email": "nope"}), "email"),
        (json!({"name": ""}), "name"),
    ] {
        let response = app
            .graphql(
                Some(&t),
                "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
                json!({"input": input}),
            )
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
    let bad_id = app
        .graphql(Some(&t), "{ lead(id: \"not-a-uuid\") { id } }", json!({}))
        .await;
    assert_eq!(
        (
            error_code(&bad_id),
            bad_id["errors"][0]["extensions"]["field"].as_str()
        ),
        ("BAD_USER_INPUT", Some("id"))
    );

    let updated = app.ok(&t, "mutation($id: ID!) { updateLead(input: {id: $id, status: CONTACTED, email: \"\", notes: \"called\"}) { lead { status email notes phone } } }", json!({"id": id})).await;
    assert_eq!(
        updated["updateLead"]["lead"],
        json!({"status": "CONTACTED", "email": null, "notes": "called", "phone": "+14155552671"})
    );
    app.ok(
        &t,
        "mutation($id: ID!) { deleteLead(input: {id: $id}) { deletedId } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        error_code(
            &app.graphql(
                Some(&t),
                "query($id: ID!) { lead(id: $id) { id } }",
                json!({"id": id})
            )
            .await
        ),
        "NOT_FOUND"
    );
}

async fn page(app: &crate::harness::TestApp, t: &str, after: Option<&str>) -> Value {
    app.ok(t, "query($after: String) { leads(first: 10, after: $after) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor hasPreviousPage } } }", json!({"after": after}))
        .await["leads"]
        .clone()
}

#[tokio::test]
async fn cursor_pagination_walks_every_lead_once() {
    let app = spawn_app().await;
    let t = app.sign_up("pages").await;
    let mut created = Vec::new();
    for i in 0..25 {
        created.push(app.create_lead(&t, &format!("Lead {i:02}")).await);
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let p = page(&app, &t, after.as_deref()).await;
        assert_eq!(p["totalCount"], 25);
        let edges = p["edges"].as_array().unwrap();
        sizes.push(edges.len());
        seen.extend(
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned()),
        );
        if !p["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = p["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    created.reverse(); // newest first
    assert_eq!(seen, created);

    for (first, after) in [
        (json!(0), json!(null)),
        (json!(101), json!(null)),
        (json!(5), json!("garbage!")),
    ] {
        let response = app
            .graphql(
                Some(&t),
                "query($f: Int, $a: String) { leads(first: $f, after: $a) { totalCount } }",
                json!({"f": first, "a": after}),
            )
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
    }
}

#[tokio::test]
async fn a_page_without_total_count_lists_the_same_leads_and_a_fragment_still_counts() {
    let app = spawn_app().await;
    let t = app.sign_up("uncounted").await;
    let mut created = Vec::new();
    for i in 0..12 {
        created.push(app.create_lead(&t, &format!("Lead {i:02}")).await);
    }
    created.reverse(); // newest first
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .ok(
                &t,
                "query($a: String) { leads(first: 5, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
                json!({"a": after}),
            )
            .await;
        let leads = &page["leads"];
        assert!(leads.get("totalCount").is_none(), "{page}");
        seen.extend(
            leads["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned()),
        );
        if !leads["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = leads["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, created);

    // The total is counted however the client selects it: aliased, or inside a fragment.
    let counted = app
        .ok(
            &t,
            "query { a: leads(first: 1) { n: totalCount } b: leads(first: 1) { ...Total } } fragment Total on LeadConnection { totalCount }",
            json!({}),
        )
        .await;
    assert_eq!(counted["a"]["n"], 12, "{counted}");
    assert_eq!(counted["b"]["totalCount"], 12, "{counted}");
}

#[tokio::test]
async fn lead_filters_combine() {
    let app = spawn_app().await;
    let t = app.sign_up("filters").await;
    let hot = app.create_lead(&t, "Hot Harry").await;
    app.ok(&t, "mutation($id: ID!) { adjustLeadScore(input: {leadId: $id, delta: 30, signal: \"budget_mentioned\", reason: \"said budget\"}) { lead { score } } }", json!({"id": hot})).await;
    let cold = app.create_lead(&t, "Cold Carla").await;
    app.ok(&t, "mutation($id: ID!) { adjustLeadScore(input: {leadId: $id, delta: -40, signal: \"not_interested\", reason: \"no\"}) { lead { score } } }", json!({"id": cold})).await;
    app.ok(
        &t,
        "mutation($id: ID!) { updateLead(input: {id: $id, status: CLOSED_LOST}) { lead { id } } }",
        json!({"id": cold}),
    )
    .await;
    app.ok(&t, "mutation { createLead(input: {name: \"Wendy WhatsApp\", sourceChannel: WHATSAPP, email: \"wendy@corp.test\"}) { lead { id } } }", json!({})).await;

    let names = |v: &Value| -> Vec<String> {
        v["leads"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let q =
        "query($f: LeadFilterInput) { leads(filter: $f) { totalCount edges { node { name } } } }";
    assert_eq!(
        names(&app.ok(&t, q, json!({"f": {"temperature": "HOT"}})).await),
        vec!["Hot Harry"]
    );
    assert_eq!(
        names(&app.ok(&t, q, json!({"f": {"minScore": 60}})).await),
        vec!["Hot Harry"]
    );
    assert_eq!(
        names(&app.ok(&t, q, json!({"f": {"status": "CLOSED_LOST"}})).await),
        vec!["Cold Carla"]
    );
    assert_eq!(
        names(&app.ok(&t, q, json!({"f": {"channel": "WHATSAPP"}})).await),
        vec!["Wendy WhatsApp"]
    );
    assert_eq!(
        names(&app.ok(&t, q, json!({"f": {"search": "CORP.TEST"}})).await),
        vec!["Wendy WhatsApp"]
    );
    assert_eq!(
        names(
            &app.ok(&t, q, json!({"f": {"search": "a", "temperature": "COLD"}}))
                .await
        ),
        vec!["Cold Carla"]
    );
    // `%` and `_` are literal, not wildcards.
    assert_eq!(
        app.ok(&t, q, json!({"f": {"search": "%"}})).await["leads"]["totalCount"],
        0
    );
    let bad = app
        .graphql(Some(&t), q, json!({"f": {"minScore": 101}}))
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "filter.minScore");
}

#[tokio::test]
async fn upsert_by_external_ref_is_idempotent() {
    let app = spawn_app().await;
    let t = app.sign_up("hubspot").await;
    const UPSERT: &str = "mutation($input: UpsertLeadByExternalRefInput!) { upsertLeadByExternalRef(input: $input) { created lead { id name email identities { channel externalId } } } }";
    let first = app.ok(&t, UPSERT, json!({"input": {"system": "HubSpot", "externalRef": "c-42", "name": "Bob", "email": "bob@x.test"}})).await;
    let second = app
        .ok(
            &t,
            UPSERT,
            json!({"input": {"system": "hubspot", "externalRef": "c-42", "name": "Robert"}}),
        )
        .await;
    assert_eq!(first["upsertLeadByExternalRef"]["created"], true);
    assert_eq!(second["upsertLeadByExternalRef"]["created"], false);
    assert_eq!(
        first["upsertLeadByExternalRef"]["lead"]["id"],
        second["upsertLeadByExternalRef"]["lead"]["id"]
    );
    assert_eq!(second["upsertLeadByExternalRef"]["lead"]["name"], "Robert");
    assert_eq!(
        second["upsertLeadByExternalRef"]["lead"]["email"],
        "bob@x.test"
    );
    assert_eq!(
        second["upsertLeadByExternalRef"]["lead"]["identities"],
        json!([{"channel": "EXTERNAL", "externalId": "hubspot:c-42"}])
    );

    // Concurrent calls for a new reference still make one lead.
    let calls = (0..8).map(|i| app.graphql(Some(&t), UPSERT, json!({"input": {"system": "hubspot", "externalRef": "c-race", "name": format!("Racer {i}")}})));
    let results = futures::future::join_all(calls).await;
    let ids: std::collections::HashSet<String> = results
        .iter()
        .map(|r| {
            r["data"]["upsertLeadByExternalRef"]["lead"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{r}"))
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        app.ok(&t, "{ leads { totalCount } }", json!({})).await["leads"]["totalCount"],
        2
    );
}

#[tokio::test]
async fn score_adjustments_clamp_and_keep_history() {
    let app = spawn_app().await;
    let t = app.sign_up("scores").await;
    let id = app.create_lead(&t, "Scored").await;
    const ADJUST: &str = "mutation($input: AdjustLeadScoreInput!) { adjustLeadScore(input: $input) { lead { score temperature } event { delta scoreBefore scoreAfter temperatureAfter } } }";
    let up = app.ok(&t, ADJUST, json!({"input": {"leadId": id, "delta": 20, "signal": "budget_mentioned", "reason": "has budget"}})).await;
    assert_eq!(
        up["adjustLeadScore"]["lead"],
        json!({"score": 70, "temperature": "HOT"})
    );
    let capped = app
        .ok(
            &t,
            ADJUST,
            json!({"input": {"leadId": id, "delta": 45, "signal": "urgent", "reason": "today"}}),
        )
        .await;
    assert_eq!(
        capped["adjustLeadScore"]["event"],
        json!({"delta": 45, "scoreBefore": 70, "scoreAfter": 100, "temperatureAfter": "HOT"})
    );
    let bad = app
        .graphql(
            Some(&t),
            ADJUST,
            json!({"input": {"leadId": id, "delta": 500, "signal": "x", "reason": "y"}}),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "delta");

    // Concurrent adjustments lose nothing.
    let calls = (0..10).map(|_| {
        app.graphql(
            Some(&t),
            ADJUST,
            json!({"input": {"leadId": id, "delta": -5, "signal": "manual", "reason": "race"}}),
        )
    });
    for r in futures::future::join_all(calls).await {
        assert!(r.get("errors").is_none(), "{r}");
    }
    let history = app.ok(&t, "query($id: ID!) { lead(id: $id) { score scoreHistory(first: 20) { totalCount edges { node { signal scoreAfter } } } } }", json!({"id": id})).await;
    assert_eq!(history["lead"]["score"], 50);
    assert_eq!(history["lead"]["scoreHistory"]["totalCount"], 12);
    assert_eq!(
        history["lead"]["scoreHistory"]["edges"][11]["node"]["signal"],
        "budget_mentioned"
    );
}
