//! Weighted lexicons of the offline analyzer, English and Spanish, and the one pass that finds
//! them in a message.
//!
//! Owns: the word lists (cue phrases for intent features, signals, requests for a person,
//! sentiment valences, language cues, negators, product-matching stop words) and phrase matching
//! over normalised word tokens, with negation scopes (`not interested`, `no me interesa`,
//! `can't complain`). Every entry is written naturally (`cuánto`, `don't`) and normalised by the
//! same function as messages, so spelling variants meet. The lists are general domain
//! vocabulary for sales chat, written for this project; they are not derived from the test
//! split. Must not: decide anything on its own — signals, escalation and the intent model
//! weigh these hits.

use crate::analysis::Signal;

use super::text::{normalise_phrase, stem, word_hash, EmojiClass, HashedMap, Kind, Tokens};

/// Lexical categories: each becomes a feature of the intent model, whose training decides how
/// much each one counts for each intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cat {
    Price,
    Buy,
    Want,
    Link,
    Attr,
    General,
    Problem,
    Praise,
    Greet,
    Thanks,
    MoneyWord,
    Chat,
}

impl Cat {
    /// Stable small id (feature hashing).
    pub(crate) fn id(self) -> u64 {
        self as u64
    }
}

/// When a signal cue counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Whenever it appears (not negated).
    Always,
    /// Only in a commercial message (product inquiry or purchase intent, or a product matched):
    /// `I need` is interest in `I need the hoodie`, not in `I need a refund`.
    Commercial,
    /// Only when the cue is the whole message (`nah`, `paso`).
    WholeMessage,
}

/// What a phrase means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cue {
    Cat(Cat),
    Signal {
        signal: Signal,
        gate: Gate,
        weight: f32,
    },
    /// Part of a request for a person; `strong` nouns (`human`, `agent`) can stand alone.
    /// `frustration`: the cue says the customer was ignored or asks again, not just who they
    /// want to talk to (a plain request is a general question; a frustrated one a complaint).
    Human {
        weight: f32,
        strong: bool,
        frustration: bool,
    },
}

/// One phrase found in a message: words `from..to` (indices into `Tokens::words`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub cue: Cue,
    pub from: usize,
    pub to: usize,
    /// The phrase's first word is in a negation scope.
    pub negated: bool,
}

struct Phrase {
    rest: Box<[u64]>,
    cue: Cue,
}

/// All tables, built once per analyzer (normalising a few thousand entries).
pub(crate) struct Lexicon {
    phrases: HashedMap<Vec<Phrase>>,
    prefixes: Vec<(Box<str>, Cue)>,
    negators: HashedMap<()>,
    scope_breakers: HashedMap<()>,
    sentiment: HashedMap<f32>,
    intensifiers: HashedMap<()>,
    language: HashedMap<f32>,
    stopwords: HashedMap<()>,
    /// Normalised dictionary groups, and stem hash → group.
    dictionary: Vec<Vec<String>>,
    dictionary_index: HashedMap<usize>,
}

const PRICE: &[&str] = &[
    "price",
    "prices",
    "pricing",
    "cost",
    "costs",
    "how much",
    "how much is",
    "how much are",
    "how much for",
    "cuánto",
    "cuanto cuesta",
    "cuánto cuestan",
    "cuanto sale",
    "cuanto vale",
    "cuesta",
    "cuestan",
    "precio",
    "precios",
    "costo",
    "vale",
    "sale",
];
const BUY: &[&str] = &[
    "buy",
    "buying",
    "purchase",
    "order",
    "ordering",
    "checkout",
    "cart",
    "pay",
    "payment",
    "comprar",
    "compro",
    "comprarlo",
    "comprarla",
    "comprarlos",
    "pedir",
    "pido",
    "pedirlo",
    "pedirla",
    "pago",
    "pagar",
    "apartar",
    "aparta",
    "apartas",
    "apártame",
    "reserve",
    "reservar",
    "take my money",
    "sign me up",
    "enroll",
    "inscribirme",
    "inscribo",
    "me lo llevo",
    "me la llevo",
    "me llevo",
    "lo compro",
    "la compro",
    "i'll take",
    "add to cart",
    "put me down",
    "sold",
    "ready to buy",
    "depósito",
    "deposito",
    "transferencia",
    "me apunto",
];
const WANT: &[&str] = &[
    "want",
    "need",
    "would like",
    "i'd like",
    "quiero",
    "necesito",
    "me interesa",
    "interested",
    "interesado",
    "interesada",
    "me gustaría",
    "lo quiero",
    "la quiero",
    "los quiero",
    "dame",
    "give me",
    "me das",
    "me pasas",
    "pásame",
    "send me",
    "mándame",
];
const LINK: &[&str] = &[
    "link",
    "links",
    "enlace",
    "url",
    "where can i",
    "where do i",
    "how do i",
    "how can i",
    "dónde lo",
    "dónde la",
    "dónde compro",
    "cómo compro",
    "cómo lo",
    "cómo le hago",
    "cómo pago",
    "cómo pido",
    "cómo me inscribo",
];
const ATTR: &[&str] = &[
    "size",
    "sizes",
    "talla",
    "tallas",
    "color",
    "colors",
    "colour",
    "colores",
    "material",
    "made of",
    "stock",
    "available",
    "availability",
    "disponible",
    "restocked",
    "fit",
    "fits",
    "medida",
    "medidas",
    "mide",
    "grosor",
    "thick",
    "waterproof",
    "warranty",
    "garantía",
    "ingredients",
    "ingredientes",
    "smell",
    "huele",
    "battery",
    "batería",
    "weight",
    "peso",
    "ml",
    "liter",
    "litros",
    "dimensions",
    "adjustable",
    "ajustable",
    "come in",
    "comes in",
    "viene en",
    "vienen en",
    "does it",
    "is it",
    "tiene",
    "tienen",
    "sirve",
    "sirven",
    "work with",
    "durable",
];
const GENERAL: &[&str] = &[
    "shipping",
    "ship",
    "ships",
    "envío",
    "envíos",
    "envían",
    "delivery",
    "deliver",
    "entrega",
    "store",
    "tienda",
    "hours",
    "horario",
    "open",
    "abren",
    "abierto",
    "located",
    "ubicados",
    "location",
    "ubicación",
    "return policy",
    "returns",
    "devoluciones",
    "devolución",
    "paypal",
    "mercado pago",
    "discount",
    "descuento",
    "code",
    "código",
    "website",
    "web",
    "página",
    "track",
    "tracking",
    "rastreo",
    "rastrear",
    "guía",
    "número de guía",
    "tracking number",
    "status",
    "estatus",
    "update on",
    "novedad",
    "ya salió",
    "ya enviaron",
    "en camino",
    "on the way",
    "ship yet",
    "shipped",
    "enviado",
    "mi pedido",
    "my order",
    "my package",
    "mi paquete",
    "order number",
    "pedido número",
    "return",
    "devolver",
    "exchange",
    "cambiar",
    "cancel",
    "cancelar",
    "invoice",
    "factura",
    "horario de atención",
    "late fee",
    "recargo",
    "next live",
    "próximo live",
    "stream",
    "live",
    "song",
    "canción",
    "wholesale",
    "mayoreo",
    "gift card",
    "physical",
    "física",
    "pick up",
    "recoger",
    "international",
    "festivos",
    "holidays",
    "sundays",
    "domingos",
    "accept",
    "aceptan",
    "camera",
    "cámara",
    "mic",
];
const PROBLEM: &[&str] = &[
    "broken",
    "broke",
    "rota",
    "roto",
    "rompió",
    "rompieron",
    "ripped",
    "cracked",
    "stain",
    "mancha",
    "leaking",
    "leaks",
    "never arrived",
    "didn't arrive",
    "hasn't arrived",
    "never got",
    "no llegó",
    "nunca llegó",
    "no ha llegado",
    "no me llega",
    "nothing arrived",
    "didn't get",
    "haven't received",
    "not received",
    "never received",
    "no me llegó",
    "no he recibido",
    "late",
    "wrong",
    "equivocado",
    "missing",
    "faltó",
    "refund",
    "reembolso",
    "money back",
    "mi dinero",
    "scam",
    "estafa",
    "charged",
    "cobraron",
    "terrible",
    "worst",
    "awful",
    "horrible",
    "pésimo",
    "pésima",
    "mala calidad",
    "bad quality",
    "disappointed",
    "disappointing",
    "decepción",
    "decepcionado",
    "ignoring",
    "ignore",
    "nobody answers",
    "no answer",
    "nadie contesta",
    "nadie me contesta",
    "nadie responde",
    "doesn't work",
    "don't work",
    "not working",
    "stopped working",
    "stopped",
    "no sirve",
    "no funciona",
    "no funcionó",
    "dejaron de funcionar",
    "dejó de funcionar",
    "defective",
    "damaged",
    "dañado",
    "rash",
    "alergia",
    "fell apart",
    "ridiculous",
    "unacceptable",
    "trash",
    "porquería",
    "still waiting",
    "esperando",
    "not happy",
    "no estoy contento",
    "lagging",
    "se traba",
    "complaint",
    "queja",
    "problem",
    "problema",
    "issue",
    "chargeback",
    "lawyer",
    "abogado",
    "denuncia",
    "exijo",
    "harté",
    "en visto",
    "aplastada",
    "crushed",
    "derramado",
    "despintó",
    "hoyo",
    "hole",
    "never buying again",
    "nunca vuelvo",
    "waste",
    "fake",
    "tearing",
    "se rompe",
    "desconectan",
    "disconnecting",
    "keeps disconnecting",
    "no se conectan",
    "won't connect",
    "peeling",
    "se despinto",
    "despinto",
    "faded",
    "gotea",
    "dent",
    "golpe",
    "golpeado",
    "ronchas",
    "expired",
    "caducado",
    "used",
    "usado",
    "melted",
    "derretida",
    "se ahogo",
    "falta",
    "came without",
    "llegó sin",
    "llegaron sin",
    "different than",
    "diferente",
    "not like the picture",
    "nothing like",
    "instead of",
    "en vez de",
    "someone else's",
    "de alguien más",
    "only got",
    "solo me llegó",
    "half empty",
    "a la mitad",
    "doesn't close",
    "no cierra",
    "blisters",
    "ampollas",
    "se mueve",
    "lint",
    "pelusa",
    "barely",
    "casi no",
    "turning",
    "poniendo negro",
    "no cargan",
    "don't load",
    "never got the",
    "no me llegó el acceso",
];
const PRAISE: &[&str] = &[
    "love",
    "loved",
    "amazing",
    "awesome",
    "great",
    "best",
    "perfect",
    "perfectly",
    "gorgeous",
    "beautiful",
    "incredible",
    "heavenly",
    "comfy",
    "obsessed",
    "recommend",
    "top notch",
    "fire",
    "cute",
    "happy",
    "glowing",
    "10 10",
    "10 de 10",
    "encanta",
    "encantó",
    "excelente",
    "mejores",
    "increíble",
    "hermoso",
    "hermosa",
    "bonito",
    "bonita",
    "buenísimo",
    "buenísimos",
    "perfecta",
    "perfecto",
    "lo máximo",
    "brutal",
    "chido",
    "padre",
    "delicioso",
    "cómoda",
    "cómodo",
    "recomendados",
    "recomendado",
    "genios",
    "genial",
    "maravilloso",
    "te amo",
    "love it",
    "saved",
    "salvó",
    "worth",
    "vale la pena",
    "the best",
    "los mejores",
];
const GREET: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hola",
    "buenas",
    "saludos",
    "good morning",
    "good evening",
    "buenos días",
    "buenas noches",
    "buenas tardes",
    "yo",
    "qué onda",
    "greetings",
    "sup",
];
const THANKS: &[&str] = &["thanks", "thank you", "gracias", "muchas gracias"];
const MONEY_WORDS: &[&str] = &[
    "dollars", "dólares", "bucks", "usd", "pesos", "mxn", "eur", "euros", "quid", "pounds",
    "libras",
];
const CHAT: &[&str] = &[
    "lol", "jaja", "jajaja", "haha", "brb", "first", "primera", "primero", "gtg", "bye", "testing",
    "watching", "chat", "lmao", "omg",
];

const INTERESTED_ALWAYS: &[&str] = &[
    "interested",
    "interesado",
    "interesada",
    "me interesa",
    "lo quiero",
    "la quiero",
    "los quiero",
    "me lo llevo",
    "me la llevo",
    "take my money",
    "i'll take",
    "sign me up",
    "add to cart",
    "ready to buy",
    "how do i buy",
    "how do i order",
    "how can i order",
    "how can i buy",
    "how can i purchase",
    "where can i buy",
    "where do i buy",
    "where can i get",
    "dónde lo compro",
    "dónde compro",
    "cómo compro",
    "cómo lo compro",
    "lo compro",
    "i want it",
    "want one",
    "quiero uno",
    "quiero una",
    "i need this",
    "need this",
    "put me down",
    "me apunto",
];
const INTERESTED_COMMERCIAL: &[&str] = &[
    "want", "need", "quiero", "necesito", "buy", "buying", "comprar", "order", "ordering", "link",
    "enlace", "purchase", "reserve", "aparta", "apartas", "me llevo", "get it", "pedir", "pedirlo",
];
const NOT_INTERESTED: &[&str] = &[
    "not interested",
    "no interest",
    "no thanks",
    "no thank you",
    "no gracias",
    "no me interesa",
    "no estoy interesado",
    "no estoy interesada",
    "no quiero nada",
    "ya no quiero",
    "don't want",
    "do not want",
    "don't need",
    "do not need",
    "no necesito",
    "not buying",
    "not gonna buy",
    "stop messaging",
    "stop texting",
    "stop sending",
    "unsubscribe",
    "dejen de",
    "deja de",
    "no me escriban",
    "not for me",
    "no me llama la atención",
    "maybe another time",
    "maybe next time",
    "otro día",
    "just watching",
    "solo estoy viendo",
    "solo viendo",
    "just looking",
    "solo mirando",
    "no quiero",
    "nah i'm good",
    "i'll pass",
    "ill pass",
    "i pass",
    "paso gracias",
    "pero paso",
    "mejor no",
    "not right now",
    "por ahora no",
    "not going to buy",
    "no voy a comprar",
    "no vamos a comprar",
    "bórrenme",
    "remove me from",
    "sáquenme de",
    "ya lo compré",
    "already bought",
    "bought one somewhere else",
    "ahorita no",
    "a la próxima",
    "maybe later",
    "stop calling",
    "no me marquen",
    "dejen de llamar",
    "i'm broke",
    "im broke",
];
const NOT_INTERESTED_ALONE: &[&str] = &["nah", "nope", "paso", "nel", "no", "pass"];
const URGENT_ALWAYS: &[&str] = &[
    "asap",
    "urgent",
    "urgente",
    "urgently",
    "urgentemente",
    "cuanto antes",
    "lo antes posible",
    "de inmediato",
    "right away",
    "hoy mismo",
    "same day",
    "mismo día",
    "fastest",
    "lo más rápido",
    "for tomorrow",
    "para mañana",
    "by tomorrow",
    "right now",
    "ya mismo",
    "antes de mi",
    "before my",
    "same-day",
    "el mismo día",
];
const URGENT_COMMERCIAL: &[&str] = &[
    "today",
    "hoy",
    "tonight",
    "tomorrow",
    "mañana",
    "esta noche",
];
const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "weekend",
];
const DIAS: &[&str] = &[
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
];
const BUDGET: &[&str] = &[
    "budget",
    "presupuesto",
    "i can spend",
    "puedo gastar",
    "can afford",
    "me alcanza",
    "alcanza",
    "anything under",
    "para abajo",
    "or less",
    "o menos",
    "tengo máximo",
    "como máximo",
    "máximo de",
    "dollars max",
    "bucks max",
    "de menos de",
    "por menos de",
];
const DECISION_MAKER: &[&str] = &[
    "i manage",
    "i'm the manager",
    "my company",
    "my business",
    "my store",
    "my shop",
    "our store",
    "our stores",
    "my team",
    "our team",
    "our company",
    "my office",
    "my employees",
    "my staff",
    "my agency",
    "my studio",
    "retailers",
    "soy el dueño",
    "soy la dueña",
    "soy dueño",
    "soy dueña",
    "dueño",
    "dueña",
    "soy el gerente",
    "soy la gerente",
    "soy gerente",
    "mi empresa",
    "mi negocio",
    "mi tienda",
    "mi equipo",
    "mis empleados",
    "tengo una tienda",
    "tengo un negocio",
    "tengo un gimnasio",
    "tengo una empresa",
    "whole class",
    "my clients",
    "purchasing manager",
    "en nombre de",
    "i'm the owner",
    "i am the owner",
    "as the owner",
    "business owner",
    "owner of a",
    "owner of an",
    "owner of the",
    "i own a",
    "i own an",
    "we own",
    "i run a",
    "i run an",
    "i run the",
    "i run my",
    // Roles and job titles, and deciding in so many words.
    "office manager",
    "procurement",
    "purchasing lead",
    "head of purchasing",
    "in purchasing",
    "encargado de compras",
    "encargada de compras",
    "jefe de compras",
    "jefa de compras",
    "coordinador de compras",
    "buying decisions",
    "the one who decides",
    "i decide",
    "i sign off",
    "sign off on",
    "i approve",
    "as the coach",
    "coach of",
    "captain of",
    "i direct",
    "i coordinate",
    "event planner",
    "las compras",
    "yo decido",
    "quien decide",
    "quien autoriza",
    "el que autoriza",
    "autoriza las compras",
    "soy el entrenador",
    "soy la entrenadora",
    "soy capitán",
    "soy el capitán",
    "soy directora",
    "soy director",
    "soy la directora",
    "soy el director",
    "soy coordinador",
    "soy coordinadora",
    "soy la organizadora",
    "soy el organizador",
    "soy el encargado",
    "soy la encargada",
    "tengo una boutique",
    "tengo un local",
    "i have a boutique",
    "i have a shop",
    "my own studio",
    "mi propio estudio",
    "my gym",
    "our club",
    "my club",
    "mi club",
    "del club",
    "directora de",
    "director de",
    "como directora",
    "como director",
    "como coordinadora",
    "como coordinador",
    "coordinadora de",
    "coordinador de",
    "como gerente",
    "purchasing director",
    "director of purchasing",
    "head of hr",
    "hr manager",
    "recursos humanos",
    "soy jefa",
    "soy jefe",
    "soy la jefa",
    "soy el jefe",
    "principal of",
    "as principal",
    "capitana",
    "in charge of purchasing",
    "in charge of buying",
    "manejo las compras",
];
const COMPARING: &[&str] = &[
    "vs",
    "versus",
    "compare",
    "compared",
    "comparing",
    "comparison",
    "better than",
    "cheaper than",
    "mejor que",
    "mejores que",
    "más barato que",
    "diferencia",
    "difference",
    "which is better",
    "which one is better",
    "cuál es mejor",
    "cuál conviene",
    "torn between",
    "debating between",
    "deciding between",
    "otra tienda",
    "another store",
    "other store",
    "another shop",
    "other shop",
    "other stores",
    "otras tiendas",
    "other brand",
    "otra marca",
    "cheaper on",
    "cheaper at",
    "cheaper in",
    "found it cheaper",
    "más barato en",
    "más barata en",
    "más baratos en",
    "más baratas en",
    "lo vi en",
    "los vi en",
    "la vi en",
    "saw them at",
    "saw it at",
    "saw it on",
    "saw the same",
    "vi los mismos",
    "vi el mismo",
    "vi la misma",
    "en la tienda de",
    "in the mall",
    "at the mall",
    "en la plaza",
    "do you match",
    "lo igualan",
    "me igualan",
    "igualan el precio",
    "match the",
    "or yours",
    "o la suya",
    "o el suyo",
    "o su",
    "like theirs",
    "como el de ellos",
    "estoy entre",
    "i'm deciding between",
    "also looking at",
    "tambien estoy viendo",
    "checking a couple of other",
    "checando otras",
    "amazon",
    "shein",
    "temu",
    "mercado libre",
    "walmart",
    "liverpool",
    "coppel",
    "sephora",
    "zara",
    "uniqlo",
    "decathlon",
    "domestika",
    "nike",
    "adidas",
    "ultraboost",
    "sony",
    "airpods",
    "jbl",
    "otterbox",
    "spigen",
    "yeti",
    "stanley",
    "the ordinary",
    "lululemon",
    "pandora",
    "new era",
    "ebay",
    "aliexpress",
    "etsy",
    "costco",
    "best buy",
    "hotmart",
    "udemy",
    "other sellers",
    "another seller",
    "otros vendedores",
    "otro vendedor",
    "another supplier",
    "other supplier",
    "otro proveedor",
    "otros proveedores",
    "other live",
    "otro live",
    "quote from another",
    "cotizé en",
    "cotice en",
];
/// Spam cues and their weights; a message is spam when they add up to 1.
const SPAM: &[(&str, f32)] = &[
    ("sub4sub", 1.0),
    ("follow4follow", 1.0),
    ("f4f", 1.0),
    ("l4l", 1.0),
    ("link in bio", 1.0),
    ("follow back", 1.0),
    ("sub back", 1.0),
    ("sígueme y te sigo", 1.0),
    ("free followers", 1.0),
    ("seguidores gratis", 1.0),
    ("check my profile", 1.0),
    ("check out my channel", 1.0),
    ("visit my channel", 1.0),
    ("visita mi canal", 1.0),
    ("visita mi perfil", 1.0),
    ("mi perfil", 1.0),
    ("you won", 1.0),
    ("ganaste", 1.0),
    ("claim your", 1.0),
    ("claim at", 1.0),
    ("hot pics", 1.0),
    ("make money", 1.0),
    ("earn money", 1.0),
    ("gana dinero", 1.0),
    ("ganar dinero", 1.0),
    ("follow me", 0.8),
    ("sígueme", 0.8),
    ("suscríbete", 0.8),
    ("subscribe to my", 0.8),
    ("my channel", 0.8),
    ("mi canal", 0.8),
    ("bitcoin", 0.8),
    ("crypto", 0.8),
    ("forex", 0.8),
    ("giveaway", 0.8),
    ("click here", 0.8),
    ("haz click", 0.8),
    ("dm me", 0.8),
    ("mándame dm", 0.8),
    ("escríbeme", 0.6),
    ("whatsapp", 0.4),
    ("promote your", 0.8),
    ("promo de", 0.6),
    ("followers", 0.8),
    ("seguidores", 0.8),
    ("likes", 0.8),
    ("ganancias", 0.8),
    ("inversión", 0.6),
    ("investment", 0.6),
    ("earn", 0.6),
    ("ganar", 0.5),
    ("from home", 0.4),
    ("desde casa", 0.4),
    ("congratulations", 0.5),
    ("i can do your", 0.6),
    ("more sales", 0.5),
    ("message me", 0.5),
    ("te sigo", 0.5),
    ("a day", 0.3),
    ("a la semana", 0.3),
    ("free", 0.4),
    ("gratis", 0.4),
    ("cheap", 0.3),
    ("baratos", 0.3),
    ("inbox", 0.4),
    ("bio", 0.5),
    ("dm", 0.3),
    ("ask me how", 0.5),
    ("your marketing", 0.4),
    ("viewers", 0.3),
    ("guaranteed", 0.5),
    ("garantizado", 0.5),
    ("we are an agency", 0.6),
    ("somos agencia", 0.6),
    ("boost your", 0.5),
    ("te conseguimos", 0.5),
    ("invierte", 0.6),
    ("recibe", 0.3),
    ("a week", 0.3),
    ("pregúntame cómo", 0.5),
    ("gana", 0.6),
    ("regalo iphone", 0.6),
    ("entra a", 0.3),
    ("si me sigues", 0.8),
    ("in my bio", 1.0),
    ("visit my shop", 0.6),
    ("visita mi tienda", 0.6),
    ("visiten mi tienda", 0.6),
];

/// Requests for a person: strong nouns, weak nouns, verbs of contact, wishes, bots, help.
const HUMAN_STRONG: &[&str] = &[
    "human",
    "humano",
    "humana",
    "real person",
    "persona real",
    "live agent",
    "live person",
    "representative",
    "rep",
    "operator",
    "operador",
    "operadora",
    "supervisor",
    "manager",
    "gerente",
    "encargado",
    "encargada",
    "asesor",
    "asesora",
    "agent",
    "agente",
    "carne y hueso",
    "someone real",
    "alguien real",
    "customer service",
    "customer support",
    "customer care",
    "ejecutivo",
    "ejecutiva",
    "atención al cliente",
    "servicio al cliente",
    "staff",
];
const HUMAN_WEAK: &[&str] = &[
    "person", "persona", "someone", "somebody", "anyone", "alguien", "team", "equipo", "support",
    "soporte", "people", "gente", "real",
];
const HUMAN_VERBS: &[&str] = &[
    "talk",
    "speak",
    "chat with",
    "connect",
    "transfer",
    "reach",
    "contact",
    "call",
    "get me",
    "hablar",
    "hablaré",
    "hable",
    "pásame",
    "pasen",
    "atienda",
    "atiendan",
    "llamar",
    "llame",
    "llamen",
    "llámame",
    "contactar",
    "contacten",
    "contacte",
    "put me through",
    "email",
    "write to",
    "páseme",
    "pásenme",
    "me pasas con",
    "me pasa con",
    "pasar",
    "marcar",
];
const HUMAN_VERB_PREFIXES: &[&str] = &["comunic", "comuniq"];
const HUMAN_WISH: &[&str] = &[
    "want",
    "need",
    "quiero",
    "necesito",
    "rather",
    "prefer",
    "please",
    "porfa",
    "por favor",
    "let me",
    "can i",
    "puedo",
];
const HUMAN_BOT: &[&str] = &[
    "bot",
    "robot",
    "ai",
    "ia",
    "machine",
    "automated",
    "automático",
];
const HUMAN_HELP: &[&str] = &["help", "ayuda", "ayudar"];
/// Half a request: asking again, or the order-status question that is asked again.
const HUMAN_REPEAT: &[&str] = &[
    "again",
    "otra vez",
    "de nuevo",
    "where is my order",
    "where's my order",
    "where is my package",
    "dónde está mi pedido",
    "dónde está mi paquete",
    "days ago",
    "hace 2 días",
    "hace dos días",
];
/// A buyer naming their own role: not a request for that role.
const SELF_ROLES: &[&str] = &[
    "i'm the manager",
    "i am the manager",
    "i'm the office manager",
    "office manager",
    "soy la gerente",
    "soy el gerente",
    "soy gerente",
    "soy el encargado",
    "soy la encargada",
    "my staff",
    "our staff",
    "for my staff",
    "sales team",
];
/// A person is needed without anyone saying "human": someone with authority is asked for, the
/// customer says they were ignored or have asked before, or rejects the canned answers. Each
/// reaches the request threshold on its own (issue 17: these were the missed escalations).
const HUMAN_NEEDED: &[&str] = &[
    // Authority, in other words.
    "your boss",
    "su jefe",
    "tu jefe",
    "your manager",
    "your supervisor",
    "su supervisor",
    "su gerente",
    "someone in charge",
    "who is in charge",
    "who's in charge",
    "whoever is in charge",
    "está a cargo",
    "esté a cargo",
    "talk to the owner",
    "dueño de la tienda",
    "dueña de la tienda",
    "con el gerente",
    "con la gerente",
    "al gerente",
    "algún gerente",
    "un gerente",
    "whoever is responsible",
    "who is responsible",
    "person responsible",
    "el responsable",
    "la responsable",
    "un responsable",
    "algún responsable",
    "quién es el responsable",
    "quién manda",
    "who runs",
    "que lleva la tienda",
    "head of",
    "someone senior",
    "with authority",
    "con autoridad",
    "más autoridad",
    "store owner",
    "escalate",
    "escalen",
    "escalar",
    "se haga cargo",
    "own this",
    "queja formal",
    "formal complaint",
    // Asked before, ignored.
    "second time",
    "third time",
    "fourth time",
    "fifth time",
    "last time i ask",
    "segunda vez",
    "tercera vez",
    "cuarta vez",
    "quinta vez",
    "última vez que",
    "3 times",
    "three times",
    "4 times",
    "tres veces",
    "3 veces",
    "cuatro veces",
    "already asked",
    "asked yesterday",
    "keep asking",
    "been asking",
    "asking the same",
    "ya pregunté",
    "ya llamé",
    "ya les escribí",
    "les escribí",
    "sigo preguntando",
    "llevo preguntando",
    "same question",
    "misma pregunta",
    "still waiting",
    "sigo esperando",
    "nobody answers",
    "nobody replies",
    "no one answers",
    "no one has answered",
    "nobody tells me",
    "nobody is helping",
    "nobody does anything",
    "no reply",
    "no answer",
    "not even a hello",
    "nadie contesta",
    "nadie me contesta",
    "nadie responde",
    "nadie me responde",
    "nadie ha contestado",
    "nadie me resuelve",
    "nadie hace nada",
    "ni una respuesta",
    "ni un hola",
    "sin respuesta",
    "ignoring",
    "ignoring me",
    "ignorando",
    "ignoran",
    "en visto",
    "on read",
    "messages now",
    "never ever reply",
    "nunca contestan",
    "never reply",
    "answer me",
    "contéstenme",
    "contesten",
    "promised a call",
    "prometió llamarme",
    // The canned answers rejected.
    "copy paste",
    "copiada",
    "template",
    "plantilla",
    "automatic reply",
    "respuesta automática",
    "same answer",
    "misma respuesta",
    "bot script",
    "bot is useless",
    "bot no sirve",
    "going in circles",
    "dando vueltas",
    "going nowhere",
    "no lleva a nada",
    "different answer",
    "algo distinto",
    "how many times",
    "cuántas veces",
    "every time i ask",
    "cada vez que pregunto",
    "still nothing",
    "sigo sin respuesta",
    "sigo sin saber",
    "no one is answering",
    "nobody is answering",
    "no responden",
    "no contestan",
    "no me contestan",
    "no me responden",
    "anybody there",
    "anyone there",
    "hay alguien ahí",
    "need a real answer",
    "una respuesta de verdad",
    "quiero una respuesta",
    "what is going on",
    "qué pasa con ustedes",
    "qué onda con ustedes",
    "how much longer",
    "cuánto más tengo que esperar",
    "nobody helps",
    "nadie me ayuda",
    "nadie ayuda",
    "no one helps",
    "talk to someone who can",
    "alguien que pueda",
    "alguien que sí",
    "someone who can actually",
    "someone who actually",
    "asked a question",
    "nadie lee",
    "nobody reads",
    "no one reads",
    "desconocer el cargo",
    "dispute the charge",
    "contracargo",
    "fourth call",
    "third call",
    "second call",
    "tercera llamada",
    "cuarta llamada",
    "nobody ever",
    "no one ever",
    "nadie nunca",
    "wrote to you",
    "me pueden marcar",
    "me puede marcar",
    "me puede llamar alguien",
    "márquenme",
    "done talking",
    "talking to a bot",
    "hablar con el bot",
    "hablar con un bot",
    "no quiero hablar con el bot",
    "5 messages",
    "4 messages",
    "5 mensajes",
    "4 mensajes",
    "3 mensajes",
    "tres correos",
    "mensajes y ni",
    "correos y ni",
    "on hold for",
    "mil veces",
    "explained this",
    "ya les expliqué",
    "ya le expliqué",
    "same message",
    "el mismo mensaje",
    "hung up on me",
    "me cuelgan",
    "me colgaron",
    "ghosting",
    "ghosteando",
    "bounced around",
    "nobody cares",
    "a nadie le importa",
    "harta de esperar",
    "harto de esperar",
    "cansada de esperar",
    "cansado de esperar",
    "sick of waiting",
    "tired of waiting",
    "pregunto lo mismo",
    "no me dicen nada",
    "de no contestar",
    "anyone even working",
    "hagan algo",
    "do something",
    "con la dueña",
    "con el dueño",
    "speak to the owner",
];

/// Product nouns in English and Spanish; each group is one meaning. Product matching uses it
/// only to widen the words a tenant wrote for a product (`headphones` also finds `audífonos`).
const DICTIONARY: &[&[&str]] = &[
    &["hoodie", "sudadera", "buzo", "sweatshirt"],
    &["sneakers", "tenis", "zapatillas", "trainers"],
    &["shoes", "zapatos", "calzado"],
    &["case", "funda", "carcasa"],
    &[
        "headphones",
        "audífonos",
        "auriculares",
        "cascos",
        "earphones",
        "earbuds",
    ],
    &["course", "curso", "clases", "lessons"],
    &["candle", "vela"],
    &["bottle", "botella", "termo"],
    &["necklace", "collar"],
    &["mat", "tapete", "esterilla", "colchoneta"],
    &["cap", "gorra", "cachucha"],
    &["hat", "sombrero"],
    &["shirt", "camisa", "playera", "camiseta"],
    &["jacket", "chaqueta", "chamarra"],
    &["dress", "vestido"],
    &["pants", "pantalones"],
    &["bag", "bolsa", "bolso"],
    &["watch", "reloj"],
    &["ring", "anillo"],
    &["earrings", "aretes", "pendientes"],
    &["bracelet", "pulsera"],
    &["glasses", "lentes", "gafas"],
    &["cream", "crema"],
    &["charger", "cargador"],
    &["speaker", "bocina", "altavoz"],
    &["keyboard", "teclado"],
    &["book", "libro"],
    &["backpack", "mochila"],
    &["wallet", "cartera"],
    &["socks", "calcetines"],
    &["skirt", "falda"],
    &["boots", "botas"],
    &["sandals", "sandalias"],
    &["lipstick", "labial"],
    &["mug", "taza"],
    &["pillow", "almohada"],
    &["blanket", "cobija", "manta"],
    &["lamp", "lámpara"],
];

const NEGATORS: &[&str] = &[
    "not",
    "no",
    "don't",
    "doesn't",
    "didn't",
    "never",
    "can't",
    "cannot",
    "won't",
    "isn't",
    "aren't",
    "wasn't",
    "weren't",
    "haven't",
    "hasn't",
    "shouldn't",
    "wouldn't",
    "couldn't",
    "nothing",
    "nobody",
    "none",
    "without",
    "neither",
    "nor",
    "nunca",
    "ni",
    "tampoco",
    "jamás",
    "nada",
    "nadie",
    "sin",
    "ningún",
    "ninguno",
    "ninguna",
];
const SCOPE_BREAKERS: &[&str] = &[
    "but", "pero", "though", "although", "aunque", "sino", "however",
];

const SENTIMENT: &[(&str, f32)] = &[
    ("love", 3.0),
    ("loved", 3.0),
    ("amazing", 3.0),
    ("awesome", 3.0),
    ("great", 2.0),
    ("best", 2.5),
    ("perfect", 3.0),
    ("perfectly", 2.0),
    ("gorgeous", 3.0),
    ("beautiful", 3.0),
    ("incredible", 3.0),
    ("heavenly", 3.0),
    ("comfy", 2.0),
    ("obsessed", 2.0),
    ("recommend", 2.0),
    ("thanks", 1.5),
    ("thank", 1.5),
    ("good", 1.5),
    ("nice", 2.0),
    ("cute", 2.0),
    ("happy", 2.0),
    ("glowing", 2.0),
    ("fire", 1.5),
    ("excellent", 3.0),
    ("wonderful", 3.0),
    ("lovely", 3.0),
    ("cool", 1.5),
    ("fun", 1.5),
    ("funny", 1.5),
    ("glad", 2.0),
    ("wow", 2.0),
    ("insane", 1.0),
    ("fast", 1.0),
    ("encanta", 3.0),
    ("encantó", 3.0),
    ("excelente", 3.0),
    ("mejor", 1.5),
    ("mejores", 2.0),
    ("increíble", 3.0),
    ("hermoso", 3.0),
    ("hermosa", 3.0),
    ("bonito", 2.0),
    ("bonita", 2.0),
    ("lindo", 2.0),
    ("linda", 2.0),
    ("buenísimo", 3.0),
    ("buenísimos", 3.0),
    ("bueno", 1.5),
    ("buena", 1.5),
    ("buen", 1.5),
    ("perfecto", 3.0),
    ("perfecta", 3.0),
    ("máximo", 2.0),
    ("brutal", 2.0),
    ("chido", 2.0),
    ("delicioso", 2.0),
    ("cómodo", 2.0),
    ("cómoda", 2.0),
    ("recomendado", 2.0),
    ("recomendados", 2.0),
    ("gracias", 1.5),
    ("genial", 3.0),
    ("genios", 2.0),
    ("maravilloso", 3.0),
    ("feliz", 2.0),
    ("contento", 2.0),
    ("contenta", 2.0),
    ("amo", 3.0),
    ("rapidísimo", 2.0),
    ("bad", -2.0),
    ("terrible", -3.0),
    ("awful", -3.0),
    ("horrible", -3.0),
    ("worst", -3.0),
    ("broken", -2.0),
    ("broke", -2.0),
    ("ripped", -2.0),
    ("cracked", -2.0),
    ("stain", -1.0),
    ("leaking", -2.0),
    ("leaks", -2.0),
    ("late", -1.5),
    ("wrong", -1.5),
    ("missing", -1.5),
    ("scam", -3.0),
    ("ridiculous", -2.5),
    ("unacceptable", -3.0),
    ("trash", -3.0),
    ("disappointed", -2.5),
    ("disappointing", -2.5),
    ("angry", -2.5),
    ("hate", -3.0),
    ("useless", -2.5),
    ("rash", -2.0),
    ("ignoring", -2.0),
    ("fake", -2.0),
    ("problem", -1.5),
    ("issue", -1.0),
    ("defective", -2.5),
    ("damaged", -2.0),
    ("sucks", -2.5),
    ("poor", -2.0),
    ("lagging", -1.5),
    ("complain", -1.5),
    ("ugh", -1.5),
    ("malo", -2.0),
    ("mala", -2.0),
    ("pésimo", -3.0),
    ("pésima", -3.0),
    ("roto", -2.0),
    ("rota", -2.0),
    ("rompió", -2.0),
    ("rompieron", -2.0),
    ("estafa", -3.0),
    ("decepción", -2.5),
    ("decepcionado", -2.5),
    ("enojado", -2.5),
    ("molesto", -2.0),
    ("odio", -3.0),
    ("porquería", -3.0),
    ("harté", -2.5),
    ("dañado", -2.0),
    ("alergia", -2.0),
    ("equivocado", -1.5),
    ("faltó", -1.5),
    ("despintó", -2.0),
    ("aplastada", -2.0),
    ("derramado", -2.0),
    ("exijo", -1.5),
    ("problema", -1.5),
    ("falso", -2.0),
    ("queja", -1.5),
];
const INTENSIFIERS: &[&str] = &[
    "very",
    "so",
    "super",
    "really",
    "extremely",
    "totally",
    "muy",
    "re",
    "tan",
    "demasiado",
    "mega",
    "bien",
    "way",
];

/// Language cues: positive weights Spanish, negative English. Words both languages use (`no`,
/// `me`, `link`, `live`, `ok`) are deliberately absent.
const SPANISH_WORDS: &[&str] = &[
    "el",
    "la",
    "los",
    "las",
    "del",
    "de",
    "que",
    "y",
    "en",
    "un",
    "una",
    "unos",
    "unas",
    "es",
    "son",
    "por",
    "para",
    "con",
    "sin",
    "lo",
    "le",
    "les",
    "mi",
    "mis",
    "tu",
    "tus",
    "su",
    "sus",
    "al",
    "cómo",
    "cuánto",
    "cuántos",
    "cuántas",
    "cuál",
    "qué",
    "precio",
    "hola",
    "gracias",
    "quiero",
    "tienen",
    "tiene",
    "hay",
    "está",
    "están",
    "estoy",
    "muy",
    "pero",
    "dónde",
    "cuándo",
    "porque",
    "porfa",
    "favor",
    "buenas",
    "buenos",
    "días",
    "tardes",
    "noches",
    "jaja",
    "jajaja",
    "también",
    "más",
    "ya",
    "nada",
    "todo",
    "toda",
    "bien",
    "sirve",
    "talla",
    "envío",
    "pedido",
    "compra",
    "comprar",
    "compro",
    "llega",
    "llegó",
    "soy",
    "vale",
    "sale",
    "cuesta",
    "cuestan",
    "mismo",
    "otro",
    "otra",
    "eso",
    "este",
    "esto",
    "esa",
    "ese",
    "puedo",
    "puede",
    "necesito",
    "te",
    "se",
    "nos",
    "usted",
    "ustedes",
    "tengo",
    "tienes",
    "aquí",
    "hoy",
    "mañana",
    "semana",
    "dinero",
    "pesos",
    "dólares",
    "seguidores",
    "gratis",
    "perfil",
    "ganar",
    "nunca",
    "pásame",
    "mándame",
    "dame",
    "llevo",
    "solo",
    "hace",
    "hacen",
    "tienda",
    "página",
    "ayuda",
    "persona",
    "humano",
    "alguien",
    "hablar",
    "gorra",
    "sudadera",
    "tenis",
    "zapatillas",
    "funda",
    "audífonos",
    "curso",
    "vela",
    "termo",
    "collar",
    "tapete",
    "plis",
    "encanta",
    "saludos",
    "onda",
    "primera",
    "nel",
    "paso",
    "quería",
    "decirles",
    "desde",
    "ahora",
    "así",
    "ella",
    "él",
    "ni",
    "dos",
    "tres",
    "cuándo",
    "abren",
    "hacen",
    "envíos",
    "interesa",
    "llevo",
    "aparta",
];
const ENGLISH_WORDS: &[&str] = &[
    "the",
    "an",
    "is",
    "are",
    "was",
    "were",
    "i",
    "i'm",
    "you",
    "your",
    "it",
    "it's",
    "to",
    "of",
    "and",
    "on",
    "for",
    "my",
    "this",
    "that",
    "these",
    "those",
    "how",
    "much",
    "what",
    "what's",
    "do",
    "does",
    "did",
    "can",
    "want",
    "need",
    "please",
    "thanks",
    "thank",
    "hi",
    "hello",
    "hey",
    "price",
    "buy",
    "order",
    "get",
    "have",
    "has",
    "with",
    "be",
    "will",
    "just",
    "so",
    "not",
    "don't",
    "can't",
    "won't",
    "where",
    "when",
    "which",
    "who",
    "why",
    "there",
    "here",
    "they",
    "we",
    "our",
    "us",
    "at",
    "from",
    "by",
    "about",
    "any",
    "anyone",
    "some",
    "would",
    "could",
    "should",
    "good",
    "great",
    "love",
    "best",
    "ship",
    "shipping",
    "size",
    "colors",
    "available",
    "still",
    "yet",
    "lol",
    "omg",
    "gonna",
    "want",
    "give",
    "yes",
    "yeah",
    "nah",
    "bro",
    "guys",
    "everyone",
    "today",
    "tomorrow",
    "now",
    "store",
    "stream",
    "one",
    "if",
    "or",
    "in",
    "all",
    "after",
    "never",
    "going",
    "come",
    "comes",
    "people",
    "first",
    "because",
    "haha",
    "cheap",
    "free",
    "made",
    "like",
    "got",
    "go",
    "pay",
];

/// Words that never identify a product (function words, question words, chat filler).
const STOPWORDS: &[&str] = &[
    "the", "a", "an", "of", "for", "in", "on", "with", "and", "or", "to", "is", "are", "it", "my",
    "your", "this", "that", "i", "you", "me", "do", "does", "how", "what", "much", "price", "one",
    "el", "la", "los", "las", "de", "del", "y", "o", "en", "con", "para", "por", "un", "una",
    "que", "es", "mi", "tu", "lo", "se", "al", "su", "sus", "cuanto", "precio", "and", "every",
    "all", "from", "up", "to", "s", "x", "l", "m", "c", "cm", "mm", "ml", "1l", "24", "40", "30",
    "12", "6", "hour", "hours", "type", "models", "model", "real", "new", "pro", "classic", "size",
    "sizes",
];

fn add_hashes(map: &mut HashedMap<()>, words: &[&str]) {
    for w in words {
        for norm in normalise_phrase(w) {
            map.insert(word_hash(&norm), ());
        }
    }
}

impl Lexicon {
    /// Builds every table. Cost: a few milliseconds, once per analyzer model.
    pub(crate) fn new() -> Self {
        let mut lex = Lexicon {
            phrases: HashedMap::default(),
            prefixes: Vec::new(),
            negators: HashedMap::default(),
            scope_breakers: HashedMap::default(),
            sentiment: HashedMap::default(),
            intensifiers: HashedMap::default(),
            language: HashedMap::default(),
            stopwords: HashedMap::default(),
            dictionary: Vec::new(),
            dictionary_index: HashedMap::default(),
        };
        for (list, cat) in [
            (PRICE, Cat::Price),
            (BUY, Cat::Buy),
            (WANT, Cat::Want),
            (LINK, Cat::Link),
            (ATTR, Cat::Attr),
            (GENERAL, Cat::General),
            (PROBLEM, Cat::Problem),
            (PRAISE, Cat::Praise),
            (GREET, Cat::Greet),
            (THANKS, Cat::Thanks),
            (MONEY_WORDS, Cat::MoneyWord),
            (CHAT, Cat::Chat),
        ] {
            lex.add_all(list, Cue::Cat(cat));
        }
        let signal = |signal, gate| Cue::Signal {
            signal,
            gate,
            weight: 1.0,
        };
        lex.add_all(INTERESTED_ALWAYS, signal(Signal::Interested, Gate::Always));
        lex.add_all(
            INTERESTED_COMMERCIAL,
            signal(Signal::Interested, Gate::Commercial),
        );
        lex.add_all(NOT_INTERESTED, signal(Signal::NotInterested, Gate::Always));
        lex.add_all(
            NOT_INTERESTED_ALONE,
            signal(Signal::NotInterested, Gate::WholeMessage),
        );
        lex.add_all(URGENT_ALWAYS, signal(Signal::Urgent, Gate::Always));
        lex.add_all(URGENT_COMMERCIAL, signal(Signal::Urgent, Gate::Commercial));
        for day in WEEKDAYS {
            for pre in ["by", "before", "until", "for", "this"] {
                lex.add(
                    &format!("{pre} {day}"),
                    signal(Signal::Urgent, Gate::Always),
                );
            }
        }
        for dia in DIAS {
            for pre in ["para el", "antes del", "el", "este"] {
                lex.add(
                    &format!("{pre} {dia}"),
                    signal(Signal::Urgent, Gate::Commercial),
                );
            }
        }
        lex.add_all(BUDGET, signal(Signal::BudgetMentioned, Gate::Always));
        lex.add_all(DECISION_MAKER, signal(Signal::DecisionMaker, Gate::Always));
        lex.add_all(COMPARING, signal(Signal::Comparing, Gate::Always));
        for &(phrase, weight) in SPAM {
            lex.add(
                phrase,
                Cue::Signal {
                    signal: Signal::Spam,
                    gate: Gate::Always,
                    weight,
                },
            );
        }
        lex.add_all(
            HUMAN_STRONG,
            Cue::Human {
                weight: 0.7,
                strong: true,
                frustration: false,
            },
        );
        lex.add_all(
            HUMAN_WEAK,
            Cue::Human {
                weight: 0.4,
                strong: false,
                frustration: false,
            },
        );
        lex.add_all(
            HUMAN_VERBS,
            Cue::Human {
                weight: 0.6,
                strong: false,
                frustration: false,
            },
        );
        for prefix in HUMAN_VERB_PREFIXES {
            lex.prefixes.push((
                (*prefix).into(),
                Cue::Human {
                    weight: 0.6,
                    strong: false,
                    frustration: false,
                },
            ));
        }
        lex.add_all(
            HUMAN_WISH,
            Cue::Human {
                weight: 0.3,
                strong: false,
                frustration: false,
            },
        );
        lex.add_all(
            HUMAN_BOT,
            Cue::Human {
                weight: 0.3,
                strong: false,
                frustration: false,
            },
        );
        lex.add_all(
            HUMAN_HELP,
            Cue::Human {
                weight: 0.2,
                strong: false,
                frustration: false,
            },
        );
        lex.add_all(
            HUMAN_NEEDED,
            Cue::Human {
                weight: 1.0,
                strong: false,
                frustration: true,
            },
        );
        lex.add_all(
            HUMAN_REPEAT,
            Cue::Human {
                weight: 0.5,
                strong: false,
                frustration: true,
            },
        );
        // Longest-first matching lets these cover the role noun inside them, so a buyer's own
        // title (`soy la gerente`, `my staff`) is not a request for a manager.
        lex.add_all(
            SELF_ROLES,
            Cue::Human {
                weight: 0.0,
                strong: false,
                frustration: false,
            },
        );

        add_hashes(&mut lex.negators, NEGATORS);
        add_hashes(&mut lex.scope_breakers, SCOPE_BREAKERS);
        add_hashes(&mut lex.intensifiers, INTENSIFIERS);
        add_hashes(&mut lex.stopwords, STOPWORDS);
        for &(word, valence) in SENTIMENT {
            for norm in normalise_phrase(word) {
                lex.sentiment.insert(word_hash(&norm), valence);
            }
        }
        for (words, weight) in [(SPANISH_WORDS, 1.0_f32), (ENGLISH_WORDS, -1.0)] {
            for w in words {
                for norm in normalise_phrase(w) {
                    lex.language.insert(word_hash(&norm), weight);
                }
            }
        }
        for group in DICTIONARY {
            let words: Vec<String> = group.iter().flat_map(|w| normalise_phrase(w)).collect();
            for w in &words {
                lex.dictionary_index
                    .entry(word_hash(stem(w)))
                    .or_insert(lex.dictionary.len());
            }
            lex.dictionary.push(words);
        }
        lex
    }

    /// Dictionary translations of a normalised word (itself excluded).
    pub(crate) fn translations<'a>(&'a self, word: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let stemmed = stem(word);
        self.dictionary_index
            .get(&word_hash(stemmed))
            .and_then(|&g| self.dictionary.get(g))
            .into_iter()
            .flatten()
            .filter(move |w| stem(w) != stemmed)
            .map(String::as_str)
    }

    fn add_all(&mut self, phrases: &[&str], cue: Cue) {
        for p in phrases {
            self.add(p, cue);
        }
    }

    fn add(&mut self, phrase: &str, cue: Cue) {
        let words = normalise_phrase(phrase);
        let Some((first, rest)) = words.split_first() else {
            return;
        };
        let rest: Box<[u64]> = rest.iter().map(|w| word_hash(w)).collect();
        self.phrases
            .entry(word_hash(first))
            .or_default()
            .push(Phrase { rest, cue });
    }

    /// Marks the words in the scope of a negator: up to three words after it, ended early by
    /// punctuation or a contrast (`but`, `pero`). The negator itself is not marked.
    pub(crate) fn mark_negation(&self, toks: &mut Tokens<'_>) {
        let mut remaining = 0_u8;
        for tok in &mut toks.tokens {
            match tok.kind {
                Kind::Stop | Kind::Question | Kind::Exclaim => remaining = 0,
                Kind::Word | Kind::Number => {
                    if self.scope_breakers.contains_key(&tok.hash) {
                        remaining = 0;
                    } else if self.negators.contains_key(&tok.hash) {
                        remaining = 3;
                    } else if remaining > 0 {
                        tok.negated = true;
                        remaining -= 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// Every phrase of every table found in the message, in order of first word.
    pub(crate) fn scan(&self, toks: &Tokens<'_>, out: &mut Vec<Hit>) {
        let n = toks.words.len();
        for wi in 0..n {
            let Some(tok) = toks.word_token(wi) else {
                continue;
            };
            if let Some(list) = self.phrases.get(&tok.hash) {
                for phrase in list {
                    let len = phrase.rest.len();
                    if wi + 1 + len > n {
                        continue;
                    }
                    let matches =
                        phrase.rest.iter().enumerate().all(|(k, h)| {
                            toks.word_token(wi + 1 + k).is_some_and(|t| t.hash == *h)
                        });
                    if matches {
                        out.push(Hit {
                            cue: phrase.cue,
                            from: wi,
                            to: wi + 1 + len,
                            negated: tok.negated,
                        });
                    }
                }
            }
            if !self.prefixes.is_empty() {
                let word = toks.word(wi);
                for (prefix, cue) in &self.prefixes {
                    if word.starts_with(&**prefix) {
                        out.push(Hit {
                            cue: *cue,
                            from: wi,
                            to: wi + 1,
                            negated: tok.negated,
                        });
                    }
                }
            }
        }
    }

    /// Sentiment in -1..=1: valences of words (×1.5 after an intensifier, ×-0.6 when negated),
    /// emoji, amplified by exclamation marks, squashed like VADER's normalisation.
    pub(crate) fn sentiment(&self, toks: &Tokens<'_>) -> f32 {
        let mut sum = 0.0_f32;
        let mut exclaims = 0_u32;
        let mut emoji_sum = 0.0_f32;
        let mut prev_intensifier = false;
        for tok in &toks.tokens {
            match tok.kind {
                Kind::Word => {
                    if let Some(&v) = self.sentiment.get(&tok.hash) {
                        let mut v = v;
                        if prev_intensifier {
                            v *= 1.5;
                        }
                        if tok.shouted {
                            v *= 1.2;
                        }
                        if tok.negated {
                            v *= -0.6;
                        }
                        sum += v;
                    }
                    prev_intensifier = self.intensifiers.contains_key(&tok.hash);
                }
                Kind::Emoji(class) => {
                    emoji_sum += match class {
                        EmojiClass::Positive => 1.5,
                        EmojiClass::Negative => -1.5,
                        EmojiClass::Laugh => 0.5,
                        _ => 0.0,
                    };
                }
                Kind::Exclaim => exclaims += 1,
                _ => prev_intensifier = false,
            }
        }
        // Three hearts are not three times as positive as one.
        sum += emoji_sum.clamp(-3.0, 3.0);
        if sum != 0.0 {
            sum *= 1.0 + 0.1 * exclaims.min(3) as f32;
        }
        let s = sum / (sum * sum + 6.0).sqrt();
        if s.is_finite() {
            s.clamp(-1.0, 1.0)
        } else {
            0.0
        }
    }

    /// Spanish minus English evidence: cue words, Spanish letters and inverted marks.
    pub(crate) fn language_score(&self, toks: &Tokens<'_>) -> f32 {
        let mut score = 0.0_f32;
        for tok in &toks.tokens {
            if tok.kind == Kind::Word {
                score += self.language.get(&tok.hash).copied().unwrap_or(0.0);
            }
        }
        let analysed = toks.tokens.last().map_or(0, |t| t.end);
        let mut marks = 0.0_f32;
        for c in toks.text.get(..analysed).unwrap_or("").chars() {
            marks += match c {
                '¿' | '¡' => 1.5,
                'ñ' | 'Ñ' | 'á' | 'é' | 'í' | 'ó' | 'ú' | 'Á' | 'É' | 'Í' | 'Ó' | 'Ú' => {
                    0.8
                }
                _ => 0.0,
            };
        }
        score + marks.min(3.0)
    }

    /// A word that never identifies a product on its own.
    pub(crate) fn is_stopword(&self, hash: u64) -> bool {
        self.stopwords.contains_key(&hash)
    }

    /// `but`, `pero`, …: ends a negation scope and separates a refusal from what follows.
    pub(crate) fn is_scope_breaker(&self, hash: u64) -> bool {
        self.scope_breakers.contains_key(&hash)
    }

    /// A correctly spelled word the lexicons know: product matching does not treat it as a
    /// typo of a product term (`what` is not a misspelt `hat`).
    pub(crate) fn is_known_word(&self, hash: u64) -> bool {
        self.language.contains_key(&hash)
            || self.sentiment.contains_key(&hash)
            || self.stopwords.contains_key(&hash)
            || self.phrases.contains_key(&hash)
            || self.negators.contains_key(&hash)
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::tokenize;
    use super::*;

    fn hits(lex: &Lexicon, text: &str) -> Vec<Hit> {
        let mut toks = tokenize(text);
        lex.mark_negation(&mut toks);
        let mut out = Vec::new();
        lex.scan(&toks, &mut out);
        out
    }

    fn has_signal(hits: &[Hit], wanted: Signal, negated: bool) -> bool {
        hits.iter().any(|h| {
            matches!(h.cue, Cue::Signal { signal, .. } if signal == wanted) && h.negated == negated
        })
    }

    #[test]
    fn negation_scopes_cover_what_follows_a_negator() {
        let lex = Lexicon::new();
        let h = hits(&lex, "no me interesa");
        assert!(has_signal(&h, Signal::NotInterested, false));
        assert!(
            has_signal(&h, Signal::Interested, true),
            "`me interesa` is negated"
        );
        let h = hits(&lex, "I'm NOT interested, thanks");
        assert!(has_signal(&h, Signal::NotInterested, false));
        let h = hits(&lex, "i don't need another one but i want it");
        assert!(hits_contain_unnegated_want(&h));
    }

    fn hits_contain_unnegated_want(h: &[Hit]) -> bool {
        h.iter().any(|h| h.cue == Cue::Cat(Cat::Want) && !h.negated)
    }

    #[test]
    fn sentiment_follows_valence_and_negation() {
        let lex = Lexicon::new();
        let pos = lex.sentiment(&tokenize("I love it, amazing!! 😍"));
        let neg = lex.sentiment(&tokenize("worst service ever, terrible 😡"));
        let mut toks = tokenize("not happy at all");
        lex.mark_negation(&mut toks);
        let negated = lex.sentiment(&toks);
        assert!(pos > 0.5, "{pos}");
        assert!(neg < -0.5, "{neg}");
        assert!(negated < 0.0, "{negated}");
    }

    #[test]
    fn language_score_separates_spanish_and_english() {
        let lex = Lexicon::new();
        assert!(lex.language_score(&tokenize("¿cuánto cuesta la sudadera?")) > 0.0);
        assert!(lex.language_score(&tokenize("how much is the hoodie")) < 0.0);
    }
}
