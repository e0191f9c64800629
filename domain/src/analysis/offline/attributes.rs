//! Questions about a product's attributes ("is the hoodie machine washable?", "¿la sudadera es
//! de algodón?"), answered from the product's catalog description or honestly declined.
//!
//! Owns: recognising which attribute a message asks about (English and Spanish cues, accents
//! and case folded), finding the answer in the description, and saying it in the customer's
//! language. Facts come only from the description: a flag ("machine washable") is confirmed
//! only when the description says so, a value (material, colour, sizes, hours, capacity,
//! thickness, scent, lessons) only when the description names it — translated through a small
//! fixed glossary, never invented. When the description is silent the answer says so plainly.
//! Must not: quote prices or links (the reply's essentials do that, verbatim), or guess.

use crate::analysis::text_norm::fold_letter;

/// What a message asked and what the description says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttributeAnswer {
    /// The attribute asked about (stable name, e.g. `washable`, `material`).
    pub attribute: &'static str,
    /// Whether the description held the answer (else the text declines).
    pub answered: bool,
    /// The sentence to say, in the customer's language.
    pub text: String,
}

/// A yes-or-unknown attribute: confirmed when the description holds one of `holds`.
struct Flag {
    name: &'static str,
    asks: &'static [&'static str],
    holds: &'static [&'static str],
    yes: [&'static str; 2],
    /// "whether it's machine washable" / "si se puede lavar a máquina".
    what: [&'static str; 2],
}

const FLAGS: &[Flag] = &[
    Flag {
        name: "washable",
        asks: &[
            "washable", "wash", "washing", "washer", "lavar", "lavable", "lavadora", "lava",
            "lavo", "lavarla", "lavarlo",
        ],
        holds: &[
            "machine washable",
            "machine wash",
            "washable",
            "lavable",
            "lavadora",
        ],
        yes: [
            "Yes, it's machine washable.",
            "Sí, se puede lavar en lavadora.",
        ],
        what: [
            "whether it's machine washable",
            "si se puede lavar en lavadora",
        ],
    },
    Flag {
        name: "waterproof",
        asks: &[
            "waterproof",
            "water resistant",
            "water proof",
            "rain",
            "impermeable",
            "contra agua",
            "resistente al agua",
            "resistentes al agua",
            "a prueba de agua",
            "sumergible",
            "mojar",
            "mojarse",
            "lluvia",
        ],
        holds: &[
            "waterproof",
            "water resistant",
            "water-resistant",
            "impermeable",
            "resistente al agua",
        ],
        yes: ["Yes, it's waterproof.", "Sí, es resistente al agua."],
        what: ["whether it's waterproof", "si es resistente al agua"],
    },
    Flag {
        name: "noise_cancelling",
        asks: &[
            "noise cancelling",
            "noise canceling",
            "anc",
            "cancel noise",
            "cancelacion de ruido",
            "cancelan ruido",
            "cancela ruido",
            "cancelan el ruido",
            "cancela el ruido",
        ],
        holds: &[
            "noise cancelling",
            "noise canceling",
            "cancelacion de ruido",
        ],
        yes: [
            "Yes, it has noise cancelling.",
            "Sí, tiene cancelación de ruido.",
        ],
        what: [
            "whether it has noise cancelling",
            "si tiene cancelación de ruido",
        ],
    },
    Flag {
        name: "non_slip",
        asks: &[
            "slip",
            "slippery",
            "non slip",
            "grip",
            "antideslizante",
            "resbala",
            "resbalosa",
            "resbaloso",
            "se resbala",
        ],
        holds: &["non slip", "non-slip", "antideslizante"],
        yes: ["Yes, it's non-slip.", "Sí, es antideslizante."],
        what: ["whether it's non-slip", "si es antideslizante"],
    },
    Flag {
        name: "adjustable",
        asks: &[
            "adjustable",
            "adjust",
            "ajustable",
            "ajusta",
            "se ajusta",
            "one size fits",
        ],
        holds: &["adjustable", "ajustable"],
        yes: ["Yes, it's adjustable.", "Sí, es ajustable."],
        what: ["whether it's adjustable", "si es ajustable"],
    },
    Flag {
        name: "wireless",
        asks: &[
            "wireless",
            "bluetooth",
            "cordless",
            "inalambrico",
            "inalambricos",
            "inalambricas",
            "sin cable",
            "sin cables",
        ],
        holds: &["wireless", "bluetooth", "inalambrico"],
        yes: [
            "Yes, it's wireless (bluetooth).",
            "Sí, es inalámbrico (bluetooth).",
        ],
        what: ["whether it's wireless", "si es inalámbrico"],
    },
    Flag {
        name: "shockproof",
        asks: &[
            "shockproof",
            "drop proof",
            "protect",
            "protects",
            "survive a fall",
            "caidas",
            "caida",
            "golpes",
            "protege",
        ],
        holds: &["shockproof", "drop proof", "antigolpes"],
        yes: ["Yes, it's shockproof.", "Sí, es a prueba de golpes."],
        what: ["whether it's shockproof", "si es a prueba de golpes"],
    },
    Flag {
        name: "unisex",
        asks: &[
            "unisex",
            "for men",
            "for women",
            "for a guy",
            "for a girl",
            "para hombre",
            "para mujer",
            "para dama",
            "para caballero",
        ],
        holds: &["unisex"],
        yes: ["Yes, it's unisex.", "Sí, es unisex."],
        what: ["whether it's unisex", "si es unisex"],
    },
    Flag {
        name: "skin_type",
        asks: &[
            "sensitive skin",
            "oily skin",
            "dry skin",
            "skin type",
            "piel sensible",
            "piel grasa",
            "piel seca",
            "tipo de piel",
        ],
        holds: &["every skin type", "all skin types", "todo tipo de piel"],
        yes: [
            "Yes, it's for every skin type.",
            "Sí, es para todo tipo de piel.",
        ],
        what: [
            "whether it suits your skin type",
            "si va con tu tipo de piel",
        ],
    },
];

/// A word or phrase of a description and how to say it in [English, Spanish].
type Gloss = (&'static str, [&'static str; 2]);

/// Value attributes: named by the description through `values` (longest phrase wins).
struct Valued {
    name: &'static str,
    asks: &'static [&'static str],
    values: &'static [Gloss],
    /// Templates with `{}` for the values joined.
    say: [&'static str; 2],
    what: [&'static str; 2],
}

const VALUED: &[Valued] = &[
    Valued {
        name: "material",
        asks: &[
            "material",
            "made of",
            "made from",
            "fabric",
            "cotton",
            "polyester",
            "wool",
            "leather",
            "plastic",
            "metal",
            "real silver",
            "steel",
            "algodon",
            "poliester",
            "lana",
            "cuero",
            "plastico",
            "tela",
            "plata",
            "acero",
            "de que es",
            "de que esta hecho",
            "de que esta hecha",
            "de que material",
        ],
        values: &[
            ("cotton", ["cotton", "algodón"]),
            ("algodon", ["cotton", "algodón"]),
            ("stainless steel", ["stainless steel", "acero inoxidable"]),
            ("acero inoxidable", ["stainless steel", "acero inoxidable"]),
            ("sterling silver", ["sterling silver", "plata esterlina"]),
            ("soy wax", ["soy wax", "cera de soya"]),
            ("foam", ["foam", "espuma"]),
            ("mesh", ["mesh", "malla"]),
            ("polyester", ["polyester", "poliéster"]),
            ("wool", ["wool", "lana"]),
            ("leather", ["leather", "piel"]),
        ],
        say: ["It's made of {}.", "Es de {}."],
        what: ["what it's made of", "de qué material es"],
    },
    Valued {
        name: "colour",
        asks: &[
            "color",
            "colour",
            "colors",
            "colours",
            "colores",
            "what colors",
            "que colores",
            "tono",
        ],
        values: &[
            ("ocean blue", ["ocean blue", "azul océano"]),
            ("navy", ["navy", "azul marino"]),
            ("blue", ["blue", "azul"]),
            ("black", ["black", "negro"]),
            ("white", ["white", "blanco"]),
            ("red", ["red", "rojo"]),
            ("green", ["green", "verde"]),
            ("pink", ["pink", "rosa"]),
            ("grey", ["grey", "gris"]),
            ("gray", ["grey", "gris"]),
        ],
        say: ["It comes in {}.", "Viene en color {}."],
        what: ["which colours it comes in", "en qué colores viene"],
    },
    Valued {
        name: "scent",
        asks: &[
            "smell",
            "smells",
            "scent",
            "fragrance",
            "aroma",
            "olor",
            "huele",
        ],
        values: &[
            ("vanilla", ["vanilla", "vainilla"]),
            ("sandalwood", ["sandalwood", "sándalo"]),
            ("lavender", ["lavender", "lavanda"]),
            ("citrus", ["citrus", "cítricos"]),
        ],
        say: ["The scent is {}.", "El aroma es {}."],
        what: ["what it smells like", "a qué huele"],
    },
];

/// Numeric attributes: a number in the description followed (within `gap` words) by a unit.
struct Measured {
    name: &'static str,
    asks: &'static [&'static str],
    units: &'static [&'static str],
    /// Another word of the description that must be near (e.g. `battery`), if any.
    near: &'static [&'static str],
    gap: usize,
    say: [&'static str; 2],
    what: [&'static str; 2],
}

const MEASURED: &[Measured] = &[
    Measured {
        name: "battery",
        asks: &[
            "battery",
            "bateria",
            "pila",
            "charge last",
            "carga dura",
            "dura la carga",
        ],
        units: &["hour", "hours", "h", "horas", "hora"],
        near: &["battery", "bateria"],
        gap: 1,
        say: [
            "The battery lasts up to {} hours.",
            "La batería dura hasta {} horas.",
        ],
        what: ["how long the battery lasts", "cuánto dura la batería"],
    },
    Measured {
        name: "keeps_temperature",
        asks: &[
            "cold",
            "hot drinks",
            "temperature",
            "frio",
            "fria",
            "frias",
            "frios",
            "caliente",
            "calientes",
            "hielo",
            "temperatura",
        ],
        units: &["hour", "hours", "horas"],
        near: &["cold", "hot", "fria", "frias", "caliente", "calientes"],
        gap: 1,
        say: [
            "It keeps drinks cold for {} hours.",
            "Mantiene las bebidas frías por {} horas.",
        ],
        what: [
            "how long it keeps drinks cold or hot",
            "cuánto tiempo mantiene la temperatura",
        ],
    },
    Measured {
        name: "capacity",
        asks: &[
            "capacity",
            "how big",
            "how much does it hold",
            "how many ml",
            "ml",
            "liters",
            "litres",
            "oz",
            "ounces",
            "capacidad",
            "cuanto le cabe",
            "litros",
            "mililitros",
            "cuantos ml",
        ],
        units: &[
            "ml", "l", "liter", "litre", "liters", "litres", "litro", "litros", "oz",
        ],
        near: &[],
        gap: 0,
        say: ["It holds {}.", "Su capacidad es de {}."],
        what: ["its capacity", "su capacidad"],
    },
    Measured {
        name: "thickness",
        asks: &[
            "thick",
            "thickness",
            "how thick",
            "grosor",
            "grueso",
            "gruesa",
            "espesor",
        ],
        units: &["mm", "cm"],
        near: &[],
        gap: 0,
        say: ["It's {} thick.", "Tiene {} de grosor."],
        what: ["how thick it is", "qué grosor tiene"],
    },
    Measured {
        name: "lessons",
        asks: &[
            "lessons",
            "classes",
            "videos",
            "modules",
            "how long is the course",
            "lecciones",
            "clases",
            "modulos",
            "cuantos videos",
            "cuanto dura el curso",
        ],
        units: &["lessons", "classes", "videos", "lecciones", "clases"],
        near: &[],
        gap: 2,
        say: ["It has {} lessons.", "Tiene {} lecciones."],
        what: ["how many lessons it has", "cuántas lecciones tiene"],
    },
];

/// Sizes: `sizes S to XXL` (or `tallas ... a ...`) in the description.
const SIZE_ASKS: &[&str] = &[
    "size",
    "sizes",
    "sizing",
    "xs",
    "xl",
    "xxl",
    "2xl",
    "small",
    "medium",
    "large",
    "talla",
    "tallas",
    "chica",
    "mediana",
    "extra grande",
];
const SIZE_WORDS: &[&str] = &["xs", "s", "m", "l", "xl", "xxl", "2xl", "3xl", "xxxl"];

/// Compatibility: "does it fit / work with X", answered by the models the description names.
const FIT_ASKS: &[&str] = &[
    "fit",
    "fits",
    "compatible",
    "work with",
    "works with",
    "funciona con",
    "jala con",
    "compatible con",
];

/// Lower-cased, accent-folded words (letters and digits; `-` and punctuation split words).
fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(fold_letter)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().map(str::to_owned).collect()
}

/// Whether `phrase` (one or more words) occurs in `haystack` as whole words.
fn has_phrase(haystack: &[String], phrase: &str) -> bool {
    let needle = words(phrase);
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|w| w.iter().zip(&needle).all(|(a, b)| a == b))
}

fn asks_any(message: &[String], cues: &[&str]) -> bool {
    cues.iter().any(|cue| has_phrase(message, cue))
}

fn declined(what: &str, es: bool) -> String {
    if es {
        format!("La descripción del producto no dice {what}; alguien de nuestro equipo te lo puede confirmar.")
    } else {
        format!("The product description doesn't say {what}; someone from our team can confirm it.")
    }
}

/// Joins glossary values: "a", "a and b", "a, b and c" (y in Spanish).
fn join(values: &[&str], es: bool) -> String {
    match values {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!(
            "{} {} {last}",
            init.join(", "),
            if es { "y" } else { "and" }
        ),
    }
}

/// The numbers of `desc` followed by one of `units` within `gap` words (`40 hour`, `1l`,
/// `12 recorded video lessons`), with the unit when it is a measure (ml, mm).
fn measures(desc: &[String], m: &Measured) -> Vec<String> {
    let mut found = Vec::new();
    for (i, w) in desc.iter().enumerate() {
        // `1l`, `30ml`: number and unit in one word.
        let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            continue;
        }
        let rest = &w[digits.len()..];
        let near_ok = m.near.is_empty()
            || desc
                .iter()
                .skip(i.saturating_sub(3))
                .take(7)
                .any(|x| m.near.contains(&x.as_str()));
        if !near_ok {
            continue;
        }
        let measure = |unit: &str| match m.name {
            "capacity" | "thickness" => format!("{digits} {unit}"),
            _ => digits.clone(),
        };
        if !rest.is_empty() {
            if m.units.contains(&rest) {
                found.push(measure(rest));
            }
            continue;
        }
        if let Some(unit) = desc
            .iter()
            .skip(i + 1)
            .take(m.gap + 1)
            .find(|x| m.units.contains(&x.as_str()))
        {
            found.push(measure(unit));
        }
    }
    found.dedup();
    found
}

/// `sizes S to XXL` → ("S", "XXL"), from the description's original spelling.
fn size_range(desc: &[String]) -> Option<(String, String)> {
    desc.windows(4).find_map(|w| {
        let [sizes, from, to, until] = w else {
            return None;
        };
        let is_size = |s: &str| SIZE_WORDS.contains(&s);
        (matches!(sizes.as_str(), "sizes" | "size" | "tallas" | "talla")
            && is_size(from)
            && matches!(to.as_str(), "to" | "a" | "hasta")
            && is_size(until))
        .then(|| (from.to_uppercase(), until.to_uppercase()))
    })
}

/// Capitalised words of the description (brands and models: iPhone, Samsung, Pixel).
fn models(description: &str) -> Vec<String> {
    description
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && w.chars().any(char::is_uppercase))
        .map(str::to_owned)
        .collect()
}

/// What `message` asks about the product described by `description`, answered in Spanish when
/// `es`, else English. At most two attributes, in the order above; empty when it asks none.
pub(crate) fn answer(message: &str, description: &str, es: bool) -> Vec<AttributeAnswer> {
    let msg = words(message);
    let desc = words(description);
    let l = usize::from(es);
    let mut out = Vec::new();
    for flag in FLAGS {
        if asks_any(&msg, flag.asks) {
            let yes = flag.holds.iter().any(|h| has_phrase(&desc, h));
            out.push(AttributeAnswer {
                attribute: flag.name,
                answered: yes,
                text: if yes {
                    flag.yes[l].to_owned()
                } else {
                    declined(flag.what[l], es)
                },
            });
        }
    }
    for v in VALUED {
        if asks_any(&msg, v.asks) {
            let mut named: Vec<&str> = Vec::new();
            let mut used: Vec<&str> = Vec::new();
            for (phrase, said) in v.values {
                // "ocean blue" also contains "blue": the longer phrase is listed first and wins.
                if has_phrase(&desc, phrase) && !used.iter().any(|u| u.contains(phrase)) {
                    used.push(phrase);
                    if !named.contains(&said[l]) {
                        named.push(said[l]);
                    }
                }
            }
            out.push(if named.is_empty() {
                AttributeAnswer {
                    attribute: v.name,
                    answered: false,
                    text: declined(v.what[l], es),
                }
            } else {
                AttributeAnswer {
                    attribute: v.name,
                    answered: true,
                    text: v.say[l].replacen("{}", &join(&named, es), 1),
                }
            });
        }
    }
    for m in MEASURED {
        if asks_any(&msg, m.asks) {
            let found = measures(&desc, m);
            out.push(match found.first() {
                Some(value) => AttributeAnswer {
                    attribute: m.name,
                    answered: true,
                    text: m.say[l].replacen("{}", value, 1),
                },
                None => AttributeAnswer {
                    attribute: m.name,
                    answered: false,
                    text: declined(m.what[l], es),
                },
            });
        }
    }
    if asks_any(&msg, SIZE_ASKS) {
        out.push(match size_range(&desc) {
            Some((from, to)) => AttributeAnswer {
                attribute: "sizes",
                answered: true,
                text: if es {
                    format!("Viene en tallas de la {from} a la {to}.")
                } else {
                    format!("It comes in sizes {from} to {to}.")
                },
            },
            None => AttributeAnswer {
                attribute: "sizes",
                answered: false,
                text: declined(
                    if es {
                        "qué tallas tiene"
                    } else {
                        "which sizes it comes in"
                    },
                    es,
                ),
            },
        });
    }
    if asks_any(&msg, FIT_ASKS) {
        let listed = models(description);
        let asked: Vec<&String> = listed
            .iter()
            .filter(|model| msg.iter().any(|w| *w == model.to_lowercase()))
            .collect();
        out.push(match asked.first() {
            Some(model) => AttributeAnswer {
                attribute: "fits",
                answered: true,
                text: if es {
                    format!("Sí, la descripción dice que es para modelos {model}.")
                } else {
                    format!("Yes, the description says it's made for {model} models.")
                },
            },
            None => AttributeAnswer {
                attribute: "fits",
                answered: false,
                text: declined(
                    if es {
                        "si es compatible con ese modelo"
                    } else {
                        "whether it fits that model"
                    },
                    es,
                ),
            },
        });
    }
    out.truncate(2);
    out
}

#[cfg(test)]
mod tests;
