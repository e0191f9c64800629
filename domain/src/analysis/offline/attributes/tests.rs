use super::*;

const HOODIE: &str =
    "Heavyweight cotton pullover hoodie in ocean blue, unisex sizes S to XXL. Machine washable.";
const HEADPHONES: &str = "Over-ear bluetooth headphones with noise cancelling and 40 hour battery.";

fn one(message: &str, description: &str, es: bool) -> AttributeAnswer {
    let mut all = answer(message, description, es);
    assert!(!all.is_empty(), "{message}: no attribute");
    all.remove(0)
}

#[test]
fn a_flag_the_description_holds_is_confirmed_in_the_customers_language() {
    let en = one("is the hoodie machine washable?", HOODIE, false);
    assert_eq!((en.attribute, en.answered), ("washable", true));
    assert_eq!(en.text, "Yes, it's machine washable.");
    let es = one("¿la sudadera se puede lavar a máquina?", HOODIE, true);
    assert_eq!(es.text, "Sí, se puede lavar en lavadora.");
}

#[test]
fn a_flag_the_description_does_not_hold_is_declined_plainly() {
    let a = one("is it waterproof", HOODIE, false);
    assert!(!a.answered);
    assert!(
        a.text.contains("doesn't say whether it's waterproof"),
        "{}",
        a.text
    );
    let b = one("es impermeable?", HOODIE, true);
    assert!(
        b.text.starts_with("La descripción del producto no dice"),
        "{}",
        b.text
    );
}

#[test]
fn values_come_from_the_description_and_are_translated_by_the_glossary() {
    assert_eq!(
        one("what color is it", HOODIE, false).text,
        "It comes in ocean blue."
    );
    assert_eq!(
        one("de que color es", HOODIE, true).text,
        "Viene en color azul océano."
    );
    assert_eq!(one("es de algodon?", HOODIE, true).text, "Es de algodón.");
    assert_eq!(
        one("do you have it in XL", HOODIE, false).text,
        "It comes in sizes S to XXL."
    );
    assert_eq!(
        one("cuanto dura la bateria", HEADPHONES, true).text,
        "La batería dura hasta 40 horas."
    );
    assert_eq!(
        one(
            "how thick is the mat",
            "Non-slip 6 mm yoga mat with a carrying strap.",
            false
        )
        .text,
        "It's 6 mm thick."
    );
    assert_eq!(
        one(
            "cuantas clases son?",
            "Online course: sell on Instagram and TikTok, 12 recorded video lessons.",
            true
        )
        .text,
        "Tiene 12 lecciones."
    );
    assert_eq!(
        one(
            "does it fit my iphone 15",
            "Shockproof phone case for iPhone, Samsung and Pixel models.",
            false
        )
        .text,
        "Yes, the description says it's made for iPhone models."
    );
    assert!(
        !one(
            "does it fit a motorola",
            "Shockproof phone case for iPhone, Samsung and Pixel models.",
            false
        )
        .answered
    );
}

#[test]
fn plain_price_questions_ask_no_attribute() {
    for m in [
        "how much is the hoodie",
        "¿cuánto cuesta la sudadera?",
        "link pls",
        "me lo llevo",
    ] {
        assert!(answer(m, HOODIE, false).is_empty(), "{m}");
    }
}
