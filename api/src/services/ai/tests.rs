use super::*;
use serde_json::json;

fn settings_row() -> ai_contexts::Model {
    let at = chrono::Utc::now();
    ai_contexts::Model {
        id: Uuid::now_v7(),
        tenant_id: Uuid::now_v7(),
        system_prompt: Some("Be brief.".into()),
        business_hours: json!([]),
        timezone: "UTC".into(),
        response_style: "CONCISE".into(),
        temperature: 0.2,
        max_tokens: 300,
        escalation_keywords: json!(["refund", "manager"]),
        auto_escalate_after_messages: Some(0),
        provider: "OFFLINE".into(),
        model: None,
        created_at: at,
        updated_at: at,
    }
}

#[test]
fn settings_come_from_the_stored_row_and_the_tenant() {
    let settings = ai_settings(&settings_row(), Some("Ana".into()));
    assert_eq!(settings.response_style, ResponseStyle::Concise);
    assert_eq!(settings.max_tokens, 300);
    assert_eq!(settings.escalation_keywords, vec!["refund", "manager"]);
    assert_eq!(settings.auto_escalate_after_messages, None);
    assert_eq!(settings.agent_name.as_deref(), Some("Ana"));
    assert!((settings.temperature - 0.2).abs() < 1e-6);
}

#[test]
fn unreadable_prices_are_left_out_of_the_catalog() {
    let at = chrono::Utc::now();
    let mut row = products::Model {
        id: Uuid::now_v7(),
        tenant_id: Uuid::now_v7(),
        name: "Ocean Hoodie".into(),
        description: String::new(),
        price_micros: 19_990_000,
        currency: "USD".into(),
        purchase_link: Some("https://shop.example/hoodie".into()),
        keywords: json!(["hoodie", "sudadera"]),
        active: true,
        created_at: at,
        updated_at: at,
    };
    let product = catalog_product(&row);
    assert_eq!(
        product.as_ref().map(|p| p.price.display()),
        Some("19.99 USD".to_owned())
    );
    assert_eq!(product.map(|p| p.keywords.len()), Some(2));
    row.currency = "XXQ".into();
    assert!(catalog_product(&row).is_none());
}

#[test]
fn input_limits_name_the_field() {
    let request = |text: &str| AiRequest {
        text: text.to_owned(),
        channel: Channel::WebChat,
        product_ids: None,
        history: Vec::new(),
    };
    let field = |result: ApiResult<()>| match result {
        Err(ApiError::BadUserInput { field, .. }) => Some(field),
        _ => None,
    };
    assert!(validate(&request("hi")).is_ok());
    assert_eq!(field(validate(&request("  "))).as_deref(), Some("text"));
    assert!(validate(&request(&"é".repeat(MAX_TEXT_CHARS))).is_ok());
    assert_eq!(
        field(validate(&request(&"é".repeat(MAX_TEXT_CHARS + 1)))).as_deref(),
        Some("text")
    );
    let mut many = request("hi");
    many.product_ids = Some(vec![Uuid::nil(); MAX_PRODUCT_IDS + 1]);
    assert_eq!(field(validate(&many)).as_deref(), Some("productIds"));
}

#[test]
fn refused_keys_never_reach_the_message() {
    let error = LlmError::Unauthorized("Incorrect API key provided: sk-abc***xyz".into());
    let ApiError::Unavailable(message) = provider_error("OpenAI", &error) else {
        panic!("a refused key is UNAVAILABLE");
    };
    assert!(!message.contains("sk-abc"));
    assert!(message.contains("OpenAI"));
}
