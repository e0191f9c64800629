//! Reply templates of the offline analyzer, English and Spanish, one voice per response style.
//!
//! Owns: choosing what to say for an analysis and fitting it into the tenant's
//! `max_reply_chars`. A product reply is built from parts in priority order — the essential
//! ones (the product's name with its price exactly as `Money::display()` gives it, and its
//! purchase link verbatim) always stay; greeting, description, closing and signature are added
//! only while they fit. Text is never cut through a price or a link: if even the essentials do
//! not fit, a compact `price link` form is sent and may exceed a cap too small to hold them —
//! an over-long true answer beats a broken link. Must not: invent a price or a link. A product
//! without a purchase link gets "reply here to order"; a description that mentions money is
//! left out, so the only price in a reply is the catalog price.
//!
//! A question about the product's attributes ("is it machine washable?") is answered first,
//! from the description (`attributes`) — or declined plainly when the description is silent —
//! and the price and link follow. Every reply is in the language of the message it answers.

use crate::analysis::{Analysis, Provider, Reply};

use super::attributes;

use super::lexicon::Lexicon;
use super::text::tokenize;
use crate::analysis::{
    AnalysisContext, CatalogProduct, Intent, Language, ResponseStyle, Signal, Speaker,
};

/// Sentiment at or below which a complaint is handed to a person.
const HANDOFF_SENTIMENT: f32 = -0.5;
/// How many product names a "which product?" reply lists at most.
const LISTED_PRODUCTS: usize = 5;

struct Parts {
    essential: Vec<String>,
    optional: Vec<(u8, String)>,
    compact: Option<String>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Builds the reply to `message` for `analysis` (see the module doc for the rules).
pub(crate) fn build(
    message: &str,
    analysis: &Analysis,
    ctx: &AnalysisContext,
    lex: &Lexicon,
) -> Reply {
    let lang = analysis.language;
    let style = ctx.settings.response_style;
    let es = lang == Language::Spanish;
    let product = analysis
        .matched_product
        .as_ref()
        .and_then(|m| ctx.products.iter().find(|p| p.id == m.product_id));
    let not_interested = analysis
        .signals
        .iter()
        .any(|s| s.signal == Signal::NotInterested);
    let spam = analysis.signals.iter().any(|s| s.signal == Signal::Spam);
    let handoff = analysis.wants_human
        || (analysis.intent == Intent::Complaint && analysis.sentiment <= HANDOFF_SENTIMENT)
        || auto_escalation_due(ctx);

    let parts = if analysis.wants_human {
        simple(handoff_text(es, style))
    } else if analysis.intent == Intent::Complaint {
        let mut text = complaint_text(es, style).to_owned();
        if handoff {
            text.push(' ');
            text.push_str(if es {
                "Una persona de nuestro equipo te dará seguimiento."
            } else {
                "A member of our team will follow up personally."
            });
        }
        simple(&text)
    } else if spam {
        simple(if es {
            "Gracias por tu mensaje."
        } else {
            "Thanks for your message."
        })
    } else if not_interested {
        simple(if es {
            "¡Sin problema, gracias por avisarnos!"
        } else {
            "No problem, thanks for letting us know!"
        })
    } else {
        match (analysis.intent, product) {
            (Intent::ProductInquiry | Intent::PurchaseIntent, Some(p)) => product_parts(
                p,
                analysis.intent == Intent::PurchaseIntent,
                &attributes::answer(message, &p.description, es),
                es,
                style,
                ctx,
                lex,
            ),
            (Intent::ProductInquiry | Intent::PurchaseIntent, None) => which_product(es, ctx),
            (Intent::Praise, _) => simple(praise_text(es, style)),
            (Intent::GeneralQuestion, _) => simple(if es {
                "¡Gracias por tu pregunta! Una persona de nuestro equipo te responderá con los detalles en breve."
            } else {
                "Thanks for your question! A member of our team will get back to you with the details shortly."
            }),
            _ => simple(if es {
                "¡Hola! ¿En qué te puedo ayudar hoy?"
            } else {
                "Hi! How can I help you today?"
            }),
        }
    };
    let text = assemble(parts, ctx.settings.max_reply_chars, signature(ctx, style));
    Reply {
        text,
        handoff,
        language: lang,
        provider: Provider::Offline,
    }
}

/// `auto_escalate_after_messages`: that many AI turns since a person last spoke.
fn auto_escalation_due(ctx: &AnalysisContext) -> bool {
    let Some(limit) = ctx.settings.auto_escalate_after_messages else {
        return false;
    };
    if limit == 0 {
        return false;
    }
    let ai_turns = ctx
        .history
        .iter()
        .rev()
        .take_while(|t| t.speaker != Speaker::Agent)
        .filter(|t| t.speaker == Speaker::Ai)
        .count();
    ai_turns >= limit as usize
}

fn simple(text: &str) -> Parts {
    Parts {
        essential: vec![text.to_owned()],
        optional: Vec::new(),
        compact: None,
    }
}

fn handoff_text(es: bool, style: ResponseStyle) -> &'static str {
    match (es, style) {
        (false, ResponseStyle::Concise) => "Connecting you with our team now.",
        (false, ResponseStyle::Professional) => "Certainly. A member of our team will take over this conversation shortly.",
        (false, _) => "Of course! I'm connecting you with a member of our team — they'll reply here shortly.",
        (true, ResponseStyle::Concise) => "Te comunico con nuestro equipo.",
        (true, ResponseStyle::Professional) => "Por supuesto. Una persona de nuestro equipo atenderá esta conversación en breve.",
        (true, _) => "¡Claro! Te comunico con una persona de nuestro equipo; te responderá por aquí en breve.",
    }
}

fn complaint_text(es: bool, style: ResponseStyle) -> &'static str {
    match (es, style) {
        (false, ResponseStyle::Concise) => "Sorry about that. What's your order number?",
        (false, ResponseStyle::Professional) => {
            "We apologise for the inconvenience. Please share your order number so we can resolve this."
        }
        (false, _) => "I'm really sorry about this. Could you share your order number so we can sort it out?",
        (true, ResponseStyle::Concise) => "Lo sentimos. ¿Cuál es tu número de pedido?",
        (true, ResponseStyle::Professional) => {
            "Lamentamos el inconveniente. Por favor compártanos su número de pedido para resolverlo."
        }
        (true, _) => "Lamento mucho lo ocurrido. ¿Me compartes tu número de pedido para resolverlo?",
    }
}

fn praise_text(es: bool, style: ResponseStyle) -> &'static str {
    match (es, style) {
        (false, ResponseStyle::Concise) => "Thank you!",
        (false, ResponseStyle::Professional) => "Thank you very much for your kind words.",
        (false, _) => "Thank you so much! We're really glad you like it 💙",
        (true, ResponseStyle::Concise) => "¡Gracias!",
        (true, ResponseStyle::Professional) => "Muchas gracias por sus amables palabras.",
        (true, _) => "¡Muchas gracias! Nos alegra mucho que te guste 💙",
    }
}

fn signature(ctx: &AnalysisContext, style: ResponseStyle) -> Option<String> {
    let name = ctx.settings.agent_name.as_deref()?.trim();
    (!name.is_empty() && style != ResponseStyle::Concise).then(|| format!("— {name}"))
}

/// True when `text` mentions money (a currency sign, or an ISO code next to digits): such a
/// description could carry a second, possibly stale price, so replies leave it out.
fn mentions_money(text: &str) -> bool {
    if text.chars().any(|c| matches!(c, '$' | '€' | '£' | '¥')) {
        return true;
    }
    let has_digits = text.chars().any(|c| c.is_ascii_digit());
    has_digits
        && text.split(|c: char| !c.is_ascii_alphabetic()).any(|w| {
            w.len() == 3
                && w.chars().all(|c| c.is_ascii_uppercase())
                && iso_currency::Currency::from_code(w).is_some()
        })
}

/// Whether `text` clearly reads in the reply's language: a Spanish reply does not quote an
/// English description (nor one whose language is unclear).
fn same_language(text: &str, es: bool, lex: &Lexicon) -> bool {
    let score = lex.language_score(&tokenize(text));
    if es {
        score > 0.0
    } else {
        score < 0.0
    }
}

/// The description's first sentence, if it is safe and short enough to quote.
fn first_sentence(description: &str) -> Option<String> {
    let d = description.trim();
    if d.is_empty() || mentions_money(d) {
        return None;
    }
    let end = d.find(". ").map_or(d.len(), |i| i + 1);
    let sentence = d.get(..end)?.trim();
    let mut s = sentence.to_owned();
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    (chars(&s) <= 200).then_some(s)
}

fn product_parts(
    p: &CatalogProduct,
    purchase: bool,
    answers: &[attributes::AttributeAnswer],
    es: bool,
    style: ResponseStyle,
    ctx: &AnalysisContext,
    lex: &Lexicon,
) -> Parts {
    let price = p.price.display();
    let name = p.name.trim();
    let live = matches!(
        ctx.channel,
        crate::channel::Channel::Youtube
            | crate::channel::Channel::Twitch
            | crate::channel::Channel::Tiktok
    );
    let core = match (es, style) {
        (false, ResponseStyle::Concise) => format!("{name}: {price}."),
        (false, ResponseStyle::Professional) => format!("The {name} is priced at {price}."),
        (false, _) => format!("The {name} is {price}."),
        (true, ResponseStyle::Concise) => format!("{name}: {price}."),
        (true, ResponseStyle::Professional) => format!("El precio de {name} es {price}."),
        (true, _) => format!("{name} cuesta {price}."),
    };
    let link_part = match (&p.purchase_link, es, style, purchase) {
        (Some(link), false, ResponseStyle::Concise, _) => format!("Buy: {link}"),
        (Some(link), true, ResponseStyle::Concise, _) => format!("Compra: {link}"),
        (Some(link), false, _, true) => format!("Here's the link to order: {link}"),
        (Some(link), true, ResponseStyle::Professional, true) => {
            format!("Aquí tiene el enlace para comprarlo: {link}")
        }
        (Some(link), true, _, true) => format!("Aquí tienes el enlace para comprarlo: {link}"),
        (Some(link), false, _, false) => format!("You can buy it here: {link}"),
        (Some(link), true, ResponseStyle::Professional, false) => {
            format!("Puede comprarlo aquí: {link}")
        }
        (Some(link), true, _, false) => format!("Puedes comprarlo aquí: {link}"),
        (None, false, _, _) => "Reply here and we'll set up your order.".to_owned(),
        (None, true, ResponseStyle::Professional, _) => {
            "Respóndanos por aquí y le ayudamos con su pedido.".to_owned()
        }
        (None, true, _, _) => "Respóndenos por aquí y te ayudamos con tu pedido.".to_owned(),
    };
    let compact = match &p.purchase_link {
        Some(link) => format!("{price} {link}"),
        None => price.clone(),
    };
    let mut optional: Vec<(u8, String)> = Vec::new();
    // Lower number = added first; position in the text is fixed by `assemble`.
    let greeting = match (es, style) {
        (_, ResponseStyle::Concise) => None,
        (false, ResponseStyle::Professional) => Some("Hello, thank you for your message."),
        (true, ResponseStyle::Professional) => Some("Hola, gracias por su mensaje."),
        (false, _) => Some(if purchase { "Great choice!" } else { "Hi!" }),
        (true, _) => Some(if purchase {
            "¡Excelente elección!"
        } else {
            "¡Hola!"
        }),
    };
    let description = match style {
        // The answer already says what the description holds about the question.
        _ if !answers.is_empty() => None,
        ResponseStyle::Concise => None,
        _ if live && style != ResponseStyle::Detailed => None,
        _ => first_sentence(&p.description).filter(|d| same_language(d, es, lex)),
    };
    let closing = match (es, style) {
        (_, ResponseStyle::Concise) => None,
        (false, ResponseStyle::Professional) => {
            Some("Please let us know if you have any other questions.")
        }
        (true, ResponseStyle::Professional) => Some("Quedamos atentos a cualquier otra pregunta."),
        (false, ResponseStyle::Detailed) => {
            Some("Happy to help with sizes, shipping or anything else.")
        }
        (true, ResponseStyle::Detailed) => {
            Some("Con gusto te ayudo con tallas, envíos o lo que necesites.")
        }
        (false, _) => Some("Anything else I can help with? 😊"),
        (true, _) => Some("¿Te ayudo con algo más? 😊"),
    };
    if let Some(d) = description {
        optional.push((
            if style == ResponseStyle::Detailed {
                1
            } else {
                3
            },
            d,
        ));
    }
    if let Some(g) = greeting {
        optional.push((2, g.to_owned()));
    }
    if let Some(c) = closing {
        optional.push((4, c.to_owned()));
    }
    let mut essential: Vec<String> = answers.iter().map(|a| a.text.clone()).collect();
    essential.extend([core, link_part]);
    Parts {
        essential,
        optional,
        compact: Some(compact),
    }
}

fn which_product(es: bool, ctx: &AnalysisContext) -> Parts {
    let names: Vec<&str> = ctx
        .products
        .iter()
        .take(LISTED_PRODUCTS)
        .map(|p| p.name.trim())
        .collect();
    if names.is_empty() {
        return simple(if es {
            "¿Sobre qué producto me preguntas?"
        } else {
            "Which product are you asking about?"
        });
    }
    let question = if es {
        "¿Qué producto te interesa?"
    } else {
        "Which product are you interested in?"
    };
    let list = if es {
        format!("Tenemos: {}.", names.join(", "))
    } else {
        format!("We have: {}.", names.join(", "))
    };
    Parts {
        essential: vec![question.to_owned()],
        optional: vec![(1, list)],
        compact: None,
    }
}

/// Joins the parts within `max` characters: essentials always, optional parts by priority
/// while they fit, each in its natural place (greeting first, description after the price,
/// closing and signature last).
fn assemble(parts: Parts, max: usize, signature: Option<String>) -> String {
    let Parts {
        essential,
        mut optional,
        compact,
    } = parts;
    if let Some(sig) = signature {
        optional.push((5, sig));
    }
    let essential_text = essential.join(" ");
    if chars(&essential_text) > max {
        return match compact {
            // Never cut a price or a link: the compact form, even if it still exceeds the cap.
            Some(c) => c,
            None => truncate(&essential_text, max),
        };
    }
    let mut order: Vec<usize> = (0..optional.len()).collect();
    order.sort_by_key(|&i| optional.get(i).map_or(u8::MAX, |o| o.0));
    let mut chosen = vec![false; optional.len()];
    let mut length = chars(&essential_text);
    for i in order {
        let Some((_, text)) = optional.get(i) else {
            continue;
        };
        let extra = chars(text) + 1;
        if length + extra <= max {
            length += extra;
            if let Some(c) = chosen.get_mut(i) {
                *c = true;
            }
        }
    }
    let pick = |rank: u8| -> Option<&str> {
        optional
            .iter()
            .zip(&chosen)
            .find(|((r, _), c)| *r == rank && **c)
            .map(|((_, t), _)| t.as_str())
    };
    let mut pieces: Vec<&str> = Vec::new();
    // Greeting (2) leads; the description (1 or 3) follows the first essential part.
    pieces.extend(pick(2));
    let mut essentials = essential.iter();
    if let Some(first) = essentials.next() {
        pieces.push(first);
    }
    pieces.extend(pick(1));
    pieces.extend(pick(3));
    pieces.extend(essentials.map(String::as_str));
    pieces.extend(pick(4));
    pieces.extend(pick(5));
    pieces.join(" ")
}

/// Cuts `text` to at most `max` characters on a char boundary, ending with `…`.
fn truncate(text: &str, max: usize) -> String {
    if chars(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_in_descriptions_is_detected() {
        assert!(mentions_money("Now only $10!"));
        assert!(mentions_money("Was 20 EUR"));
        assert!(!mentions_money("30 ml, for every skin type"));
        assert!(!mentions_money("Made in USA"));
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("¡Hola, añadí más!", 6), "¡Hola…");
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("x", 0), "");
    }
}
