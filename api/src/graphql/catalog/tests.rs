use super::channels::WhatsAppTemplateInput;
use super::*;

fn template(name: &str, language: &str) -> Result<crate::store::WhatsAppTemplate, ApiError> {
    whatsapp_template(WhatsAppTemplateInput {
        name: name.into(),
        language_code: language.into(),
    })
}

#[test]
fn whatsapp_templates_are_named_as_whatsapp_names_them() {
    for (name, language) in [
        ("order_update", "en_US"),
        ("hello_world", "en"),
        ("promo_2024", "pt_BR"),
        ("a", "fil"),
    ] {
        let parsed = template(name, language);
        assert!(parsed.is_ok(), "{name} {language}");
    }
    let long = "a".repeat(512);
    assert!(template(&long, "en").is_ok());
    for (name, language, field) in [
        ("", "en", "whatsappTemplate.name"),
        ("Order_Update", "en", "whatsappTemplate.name"),
        ("order-update", "en", "whatsappTemplate.name"),
        ("order update", "en", "whatsappTemplate.name"),
        (&"a".repeat(513), "en", "whatsappTemplate.name"),
        ("order_update", "", "whatsappTemplate.languageCode"),
        ("order_update", "EN", "whatsappTemplate.languageCode"),
        ("order_update", "en_us", "whatsappTemplate.languageCode"),
        ("order_update", "en-US", "whatsappTemplate.languageCode"),
        ("order_update", "english", "whatsappTemplate.languageCode"),
    ] {
        match template(name, language) {
            Err(ApiError::BadUserInput { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{name:?} {language:?}: {other:?}"),
        }
    }
}
