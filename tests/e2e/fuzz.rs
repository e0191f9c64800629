//! A bounded, schema-driven fuzz run of the GraphQL API with two tenants.
//!
//! The generator reads the committed `schema.graphql` with async-graphql's own parser and builds
//! random operations from it: queries and mutations on every root field, valid-shaped arguments
//! (ids of the other tenant and of the caller, huge strings, unicode, negative and huge ints,
//! nulls, enum values, nested inputs), invalid-shaped ones (wrong types, missing required
//! arguments, unknown fields and values), selections down to the depth limit, aliases, variables,
//! batches and malformed documents.
//!
//! Two tenants are seeded, each with data carrying its own canary string (a lead, a product, a
//! channel connection, the AI settings, API keys, a customer with a support conversation, a
//! WhatsApp conversation through a signed webhook). One tenant attacks as its owner, as a WRITE
//! and a READ API key, as a customer, and anonymously; then the roles swap. Every answer must be
//! free of 5xx and `INTERNAL` errors and of the other tenant's canary (anonymous answers of both),
//! no answer may ever show a write-only secret or an API-key credential, the server must stay
//! healthy, and the victim's data must be intact at the end.
//!
//! `LEADLINE_FUZZ_CASES` (default 1,500) bounds the run, `LEADLINE_FUZZ_SEED` replays one (the
//! seed is printed at the start and in every failure).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{
    BaseType, InputValueDefinition, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql::parser::Positioned;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::harness::{spawn_with, SpawnOptions, TestApp};

const SCHEMA: &str = include_str!("../../schema.graphql");
const DEFAULT_CASES: usize = 1_500;
/// A hard stop so a slow machine cannot turn the run into a CI timeout; the run says so.
const TIME_CAP: Duration = Duration::from_secs(240);
/// Selections go this deep (the server's limit is 12; a few cases go past it on purpose).
const SELECTION_DEPTH: usize = 5;
/// Every outbound platform and LLM call the fuzzed mutations may cause goes here: a closed
/// loopback port, so nothing leaves the machine.
const NOWHERE: &str = "http://127.0.0.1:1";

// ---------------------------------------------------------------------------------------------
// The schema, as the generator needs it
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct InputValue {
    name: String,
    ty: Type,
    has_default: bool,
}

impl InputValue {
    fn required(&self) -> bool {
        !self.ty.nullable && !self.has_default
    }
}

#[derive(Clone)]
struct Field {
    name: String,
    args: Vec<InputValue>,
    ty: Type,
}

enum Kind {
    Scalar,
    Enum(Vec<String>),
    Object(Vec<Field>),
    Union(Vec<String>),
    Input(Vec<InputValue>),
}

struct Schema {
    types: HashMap<String, Kind>,
    query: String,
    mutation: String,
    subscription: String,
}

fn input_values(values: &[Positioned<InputValueDefinition>]) -> Vec<InputValue> {
    values
        .iter()
        .map(|v| InputValue {
            name: v.node.name.node.to_string(),
            ty: v.node.ty.node.clone(),
            has_default: v.node.default_value.is_some(),
        })
        .collect()
}

impl Schema {
    fn load() -> Schema {
        let document = parse_schema(SCHEMA).expect("schema.graphql parses");
        let mut types = HashMap::new();
        let (mut query, mut mutation, mut subscription) = (
            "QueryRoot".to_owned(),
            "MutationRoot".to_owned(),
            "SubscriptionRoot".to_owned(),
        );
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    if let Some(q) = schema.query {
                        query = q.node.to_string();
                    }
                    if let Some(m) = schema.mutation {
                        mutation = m.node.to_string();
                    }
                    if let Some(s) = schema.subscription {
                        subscription = s.node.to_string();
                    }
                }
                TypeSystemDefinition::Type(definition) => {
                    let definition = definition.node;
                    let kind = match definition.kind {
                        TypeKind::Scalar => Kind::Scalar,
                        TypeKind::Enum(e) => Kind::Enum(
                            e.values
                                .iter()
                                .map(|v| v.node.value.node.to_string())
                                .collect(),
                        ),
                        TypeKind::Object(o) => Kind::Object(
                            o.fields
                                .iter()
                                .map(|f| Field {
                                    name: f.node.name.node.to_string(),
                                    args: input_values(&f.node.arguments),
                                    ty: f.node.ty.node.clone(),
                                })
                                .collect(),
                        ),
                        TypeKind::Interface(i) => Kind::Object(
                            i.fields
                                .iter()
                                .map(|f| Field {
                                    name: f.node.name.node.to_string(),
                                    args: input_values(&f.node.arguments),
                                    ty: f.node.ty.node.clone(),
                                })
                                .collect(),
                        ),
                        TypeKind::Union(u) => {
                            Kind::Union(u.members.iter().map(|m| m.node.to_string()).collect())
                        }
                        TypeKind::InputObject(i) => Kind::Input(input_values(&i.fields)),
                    };
                    types.insert(definition.name.node.to_string(), kind);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        Schema {
            types,
            query,
            mutation,
            subscription,
        }
    }

    fn fields(&self, type_name: &str) -> &[Field] {
        match self.types.get(type_name) {
            Some(Kind::Object(fields)) => fields,
            _ => &[],
        }
    }

    /// Whether a value of this named type needs a selection set.
    fn is_composite(&self, type_name: &str) -> bool {
        matches!(
            self.types.get(type_name),
            Some(Kind::Object(_) | Kind::Union(_))
        )
    }
}

fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

// ---------------------------------------------------------------------------------------------
// Values: one tree printed either as a GraphQL literal or as JSON for variables
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Val {
    Null,
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Enum(String),
    List(Vec<Val>),
    Obj(Vec<(String, Val)>),
}

impl Val {
    fn literal(&self, out: &mut String) {
        match self {
            Val::Null => out.push_str("null"),
            Val::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Val::Float(f) => {
                let _ = write!(out, "{f:?}");
            }
            Val::Str(s) => quote(s, out),
            Val::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Val::Enum(e) => out.push_str(e),
            Val::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.literal(out);
                }
                out.push(']');
            }
            Val::Obj(fields) => {
                out.push('{');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(name);
                    out.push_str(": ");
                    value.literal(out);
                }
                out.push('}');
            }
        }
    }

    fn json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Int(n) => json!(n),
            Val::Float(f) => json!(f),
            Val::Str(s) | Val::Enum(s) => json!(s),
            Val::Bool(b) => json!(b),
            Val::List(items) => Value::Array(items.iter().map(Val::json).collect()),
            Val::Obj(fields) => {
                Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.json())).collect())
            }
        }
    }
}

/// A GraphQL string literal (control characters escaped, everything else verbatim).
fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

/// What an argument may be filled with, from the attacker's point of view.
struct Pools {
    /// The victim's ids (leads, products, conversations, sessions, jobs, connections...).
    victim_ids: Vec<String>,
    /// The attacker's own data ids (never its credentials, so it keeps attacking).
    own_ids: Vec<String>,
    victim_slug: String,
    own_slug: String,
}

struct Generator<'s> {
    schema: &'s Schema,
    rng: StdRng,
}

/// One generated request.
struct Operation {
    /// The JSON body: `{query, variables}` or a batch of them, or raw text.
    body: String,
    /// Root fields it exercises (for the coverage report).
    roots: Vec<String>,
    /// The printed document, for failure reports.
    document: String,
}

impl<'s> Generator<'s> {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).expect("non-empty pool")
    }

    fn id(&mut self, pools: &Pools) -> String {
        match self.rng.gen_range(0..100) {
            0..=39 if !pools.victim_ids.is_empty() => self.pick(&pools.victim_ids).clone(),
            40..=64 if !pools.own_ids.is_empty() => self.pick(&pools.own_ids).clone(),
            65..=74 => Uuid::now_v7().to_string(),
            75..=79 => Uuid::nil().to_string(),
            80..=84 if !pools.victim_ids.is_empty() => {
                // The victim's id, disguised.
                let id = self.pick(&pools.victim_ids).clone();
                match self.rng.gen_range(0..3) {
                    0 => id.to_uppercase(),
                    1 => format!(" {id} "),
                    _ => id.replace('-', ""),
                }
            }
            _ => self.string(pools),
        }
    }

    fn string(&mut self, pools: &Pools) -> String {
        const FIXED: &[&str] = &[
            "",
            " ",
            "a",
            "test",
            "Hello, can I buy this?",
            "héllo wörld",
            "😀🎉👩‍👩‍👧",
            "\u{202e}gnp.exe",
            "zero\u{200b}width",
            "nul\u{0}byte",
            "日本語のテキスト",
            "e\u{301}\u{301}\u{301}",
            "x@example.com",
            "not-an-email",
            "+14155552671",
            "+0000",
            "123",
            "https://example.com/buy",
            "javascript:alert(1)",
            "' OR 1=1 --",
            "\"; DROP TABLE leads; --",
            "{{7*7}}",
            "../../etc/passwd",
            "%s%n%x",
            "<script>alert(1)</script>",
            "America/Mexico_City",
            "Not/AZone",
            "USD",
            "XXX",
            "usd",
            "2026-01-01",
            "2026-13-45T25:61:00Z",
            "null",
            "-1",
            "NaN",
        ];
        match self.rng.gen_range(0..100) {
            0..=54 => (*self.pick(FIXED)).to_owned(),
            55..=62 => pools.victim_slug.clone(),
            63..=66 => pools.own_slug.clone(),
            67..=70 => format!("owner@{}.test", pools.victim_slug),
            71..=76 => {
                let len = *self.pick(&[201usize, 4_097, 10_001, 100_001]);
                let c = *self.pick(&['x', 'é', '😀']);
                std::iter::repeat_n(c, len).collect()
            }
            77..=82 if !pools.victim_ids.is_empty() => self.pick(&pools.victim_ids).clone(),
            _ => {
                let len = self.rng.gen_range(0..24);
                (0..len)
                    .map(|_| match self.rng.gen_range(0..4) {
                        0 => char::from(self.rng.gen_range(0x20u8..0x7f)),
                        1 => self.rng.gen_range('\u{a0}'..'\u{2fff}'),
                        2 => self.rng.gen_range('\u{1f300}'..'\u{1f6ff}'),
                        _ => char::from(self.rng.gen_range(b'a'..=b'z')),
                    })
                    .collect()
            }
        }
    }

    fn int(&mut self) -> i64 {
        const FIXED: &[i64] = &[
            0,
            1,
            -1,
            2,
            5,
            10,
            50,
            100,
            101,
            1_000,
            10_000,
            -100,
            i32::MAX as i64,
            i32::MIN as i64,
            19_990_000,
        ];
        match self.rng.gen_range(0..100) {
            0..=79 => *self.pick(FIXED),
            80..=95 => self.rng.gen_range(-5..200),
            // Outside GraphQL's 32-bit Int: must be a clean validation error.
            _ => *self.pick(&[i64::MAX, i64::MIN, 1 << 40]),
        }
    }

    /// A value of the wrong shape for whatever was expected.
    fn wrong(&mut self) -> Val {
        match self.rng.gen_range(0..8) {
            0 => Val::Str("wrong".into()),
            1 => Val::Int(-1),
            2 => Val::Obj(vec![("unknown".into(), Val::Int(1))]),
            3 => Val::List(vec![Val::Int(1), Val::Str("x".into())]),
            4 => Val::Null,
            5 => Val::Bool(true),
            6 => Val::Enum("NOT_A_VALUE".into()),
            _ => Val::Float(1.5),
        }
    }

    fn value(&mut self, ty: &Type, pools: &Pools, depth: usize) -> Val {
        if self.chance(0.04) {
            return self.wrong();
        }
        if ty.nullable && self.chance(0.1) {
            return Val::Null;
        }
        match &ty.base {
            BaseType::List(inner) => {
                let n = if depth > 3 {
                    0
                } else {
                    self.rng.gen_range(0..4)
                };
                Val::List(
                    (0..n)
                        .map(|_| self.value(inner, pools, depth + 1))
                        .collect(),
                )
            }
            BaseType::Named(name) => self.named_value(name.as_str(), pools, depth),
        }
    }

    fn named_value(&mut self, name: &str, pools: &Pools, depth: usize) -> Val {
        let schema: &'s Schema = self.schema;
        match name {
            "ID" => Val::Str(self.id(pools)),
            "String" => Val::Str(self.string(pools)),
            "Int" => Val::Int(self.int()),
            "Float" => {
                Val::Float(*self.pick(&[0.0, 0.5, 1.0, 2.0, 2.5, -1.0, 1e308, -1e-308, 0.7]))
            }
            "Boolean" => Val::Bool(self.chance(0.5)),
            "DateTime" => Val::Str(
                (*self.pick(&[
                    "2026-01-01T00:00:00Z",
                    "1970-01-01T00:00:00Z",
                    "9999-12-31T23:59:59Z",
                    "yesterday",
                ]))
                .to_owned(),
            ),
            "Date" => Val::Str(
                (*self.pick(&["2026-01-01", "2026-12-31", "0001-01-01", "2026-02-30"])).to_owned(),
            ),
            "JSON" => {
                if depth > 2 {
                    Val::Obj(Vec::new())
                } else {
                    Val::Obj(vec![
                        ("k".into(), Val::Str(self.string(pools))),
                        ("n".into(), Val::Int(self.int())),
                    ])
                }
            }
            other => match schema.types.get(other) {
                Some(Kind::Enum(values)) => {
                    if self.chance(0.03) {
                        Val::Enum("NOT_A_VALUE".into())
                    } else {
                        Val::Enum(self.pick(values).clone())
                    }
                }
                Some(Kind::Input(fields)) => {
                    let mut out = Vec::new();
                    for field in fields {
                        let include = if field.required() {
                            !self.chance(0.03)
                        } else {
                            self.chance(0.45)
                        };
                        if include && depth < 6 {
                            out.push((field.name.clone(), self.value(&field.ty, pools, depth + 1)));
                        }
                    }
                    if self.chance(0.03) {
                        out.push(("notAField".into(), Val::Int(1)));
                    }
                    Val::Obj(out)
                }
                _ => Val::Str(self.string(pools)),
            },
        }
    }

    /// `(a: 1, b: $v0)`: required arguments (mostly), optional ones sometimes. Root arguments
    /// may become variables, declared in `vars`.
    fn arguments(
        &mut self,
        args: &[InputValue],
        pools: &Pools,
        vars: Option<&mut Vec<(String, String, Val)>>,
        out: &mut String,
    ) {
        let mut chosen = Vec::new();
        for arg in args {
            let include = if arg.required() {
                !self.chance(0.03)
            } else {
                self.chance(0.35)
            };
            if include {
                chosen.push((arg.clone(), self.value(&arg.ty, pools, 0)));
            }
        }
        if self.chance(0.02) {
            chosen.push((
                InputValue {
                    name: "notAnArgument".into(),
                    ty: Type::new("Int").expect("type"),
                    has_default: false,
                },
                Val::Int(1),
            ));
        }
        if chosen.is_empty() {
            return;
        }
        let mut vars = vars;
        out.push('(');
        for (i, (arg, value)) in chosen.into_iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&arg.name);
            out.push_str(": ");
            match vars.as_deref_mut() {
                Some(vars) if arg.name != "notAnArgument" => {
                    let name = format!("v{}", vars.len());
                    out.push('$');
                    out.push_str(&name);
                    vars.push((name, arg.ty.to_string(), value));
                }
                _ => value.literal(out),
            }
        }
        out.push(')');
    }

    fn selection(
        &mut self,
        type_name: &str,
        pools: &Pools,
        depth: usize,
        limit: usize,
        out: &mut String,
    ) {
        let schema: &'s Schema = self.schema;
        match schema.types.get(type_name) {
            Some(Kind::Object(fields)) => {
                out.push_str(" {");
                let leaves: Vec<&Field> = fields
                    .iter()
                    .filter(|f| {
                        !schema.is_composite(named(&f.ty))
                            && !f.args.iter().any(InputValue::required)
                    })
                    .collect();
                let chosen: Vec<&Field> = if depth >= limit {
                    leaves
                } else if self.chance(0.3) {
                    // Every leaf (where canaries live) plus a couple of nested fields.
                    let mut all = leaves;
                    let nested: Vec<&Field> = fields
                        .iter()
                        .filter(|f| schema.is_composite(named(&f.ty)))
                        .collect();
                    for _ in 0..2 {
                        if let Some(f) = nested.choose(&mut self.rng) {
                            all.push(*f);
                        }
                    }
                    all
                } else {
                    let k = self.rng.gen_range(1..=4usize).min(fields.len());
                    fields.choose_multiple(&mut self.rng, k).collect()
                };
                if chosen.is_empty() {
                    out.push_str(" __typename");
                }
                for (i, field) in chosen.into_iter().enumerate() {
                    out.push(' ');
                    if self.chance(0.03) {
                        let _ = write!(out, "a{i}: ");
                    }
                    out.push_str(&field.name);
                    self.arguments(&field.args, pools, None, out);
                    let inner = named(&field.ty);
                    if schema.is_composite(inner) {
                        self.selection(inner, pools, depth + 1, limit, out);
                    }
                }
                out.push_str(" }");
            }
            Some(Kind::Union(members)) => {
                out.push_str(" { __typename");
                for member in members.choose_multiple(&mut self.rng, 2) {
                    let _ = write!(out, " ... on {member}");
                    self.selection(member, pools, depth + 1, limit, out);
                }
                out.push_str(" }");
            }
            _ => {}
        }
    }

    /// One operation on `root` (query, mutation or subscription), one to three root fields.
    fn operation(
        &mut self,
        root: &str,
        keyword: &str,
        pools: &Pools,
    ) -> (String, Value, Vec<String>) {
        let fields = self.schema.fields(root).to_vec();
        let count = if self.chance(0.85) {
            1
        } else {
            self.rng.gen_range(2..=3)
        };
        let use_vars = self.chance(0.25);
        let mut vars: Vec<(String, String, Val)> = Vec::new();
        let mut body = String::new();
        let mut roots = Vec::new();
        let limit = if self.chance(0.03) {
            14
        } else {
            SELECTION_DEPTH
        };
        for i in 0..count {
            let field = self.pick(&fields).clone();
            roots.push(field.name.clone());
            body.push(' ');
            if count > 1 {
                let _ = write!(body, "r{i}: ");
            }
            body.push_str(&field.name);
            self.arguments(&field.args, pools, use_vars.then_some(&mut vars), &mut body);
            let inner = named(&field.ty);
            if self.schema.is_composite(inner) {
                self.selection(inner, pools, 1, limit, &mut body);
            }
        }
        let mut document = keyword.to_owned();
        if !vars.is_empty() {
            document.push('(');
            for (i, (name, ty, _)) in vars.iter().enumerate() {
                if i > 0 {
                    document.push_str(", ");
                }
                let _ = write!(document, "${name}: {ty}");
            }
            document.push(')');
        }
        document.push_str(" {");
        document.push_str(&body);
        document.push_str(" }");
        let variables = Value::Object(
            vars.into_iter()
                .map(|(name, _, value)| (name, value.json()))
                .collect(),
        );
        (document, variables, roots)
    }

    fn next(&mut self, pools: &Pools) -> Operation {
        let (query, mutation, subscription) = (
            self.schema.query.clone(),
            self.schema.mutation.clone(),
            self.schema.subscription.clone(),
        );
        let roll = self.rng.gen_range(0..100);
        let (document, variables, roots) = match roll {
            0..=47 => self.operation(&query, "query", pools),
            48..=91 => self.operation(&mutation, "mutation", pools),
            92..=93 => self.operation(&subscription, "subscription", pools),
            _ => {
                // Malformed or hostile documents.
                let (document, variables, roots) = self.operation(&query, "query", pools);
                let broken = match self.rng.gen_range(0..6) {
                    0 => {
                        let cut = self.rng.gen_range(0..document.len().max(1));
                        let cut = (0..=cut).rev().find(|&i| document.is_char_boundary(i)).unwrap_or(0);
                        document[..cut].to_owned()
                    }
                    1 => format!("{document} }}}}}}"),
                    2 => "query { notARootField { id } }".to_owned(),
                    3 => "query { __schema { types { name fields { name } } } }".to_owned(),
                    4 => "fragment A on Lead { ...B } fragment B on Lead { ...A } query { leads { nodes { ...A } } }".to_owned(),
                    _ => {
                        // A batch of two operations.
                        let (second, _, more) = self.operation(&mutation, "mutation", pools);
                        let body = json!([
                            {"query": document, "variables": variables},
                            {"query": second},
                        ])
                        .to_string();
                        let mut roots = roots;
                        roots.extend(more);
                        return Operation {
                            document: format!("[batch] {document} ;; {second}"),
                            body,
                            roots,
                        };
                    }
                };
                return Operation {
                    body: json!({"query": broken, "variables": variables}).to_string(),
                    document: broken,
                    roots,
                };
            }
        };
        Operation {
            body: json!({"query": document, "variables": variables}).to_string(),
            document,
            roots,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tenants and their canaries
// ---------------------------------------------------------------------------------------------

/// One seeded tenant: its credentials, its data's ids and what must never leak.
struct Tenant {
    slug: String,
    /// In every piece of its data; never in an answer to anyone else.
    canary: String,
    owner: String,
    key_write: String,
    key_read: String,
    customer: String,
    /// Write-only secrets and API-key credentials: never in any answer at all.
    secrets: Vec<String>,
    /// Its data (attack targets, and what must be intact afterwards).
    data_ids: Vec<String>,
    lead_id: String,
    product_id: String,
    connection_id: String,
    session_id: String,
    key_ids: Vec<String>,
}

async fn must(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let response = app.graphql(Some(token), query, variables).await;
    assert!(
        response.get("errors").is_none(),
        "fuzz setup failed on {query}: {response:#}"
    );
    response["data"].clone()
}

fn str_at<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {value:#}"))
}

fn ids_at(value: &Value, pointer: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| n["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Creates an API key with one scope: its credential and id.
async fn api_key(app: &TestApp, owner: &str, canary: &str, scope: &str) -> (String, String) {
    let data = must(
        app,
        owner,
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { id } } }",
        json!({"i": {"name": format!("Key {canary} {scope}"), "scopes": [scope]}}),
    )
    .await;
    (
        str_at(&data, "/createApiKey/key").to_owned(),
        str_at(&data, "/createApiKey/apiKey/id").to_owned(),
    )
}

/// Seeds a tenant whose owner is `owner` (signing one up when `None`).
async fn seed_tenant(app: &TestApp, slug: &str, canary: &str, owner: Option<String>) -> Tenant {
    let owner = match owner {
        Some(token) => token,
        None => app.sign_up(slug).await,
    };
    let secret = format!("{}-SECRET", canary.to_lowercase());
    let mut data_ids = Vec::new();
    let mut key_ids = Vec::new();
    let mut secrets = Vec::new();
    let (key_write, write_id) = api_key(app, &owner, canary, "WRITE").await;
    let (key_read, read_id) = api_key(app, &owner, canary, "READ").await;
    key_ids.extend([write_id, read_id]);
    secrets.extend([key_write.clone(), key_read.clone()]);

    let lead = must(
        app,
        &owner,
        "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id } } }",
        json!({"i": {"name": format!("Lead {canary}"), "company": format!("{canary} Inc"), "notes": format!("notes {canary}")}}),
    )
    .await;
    let lead_id = str_at(&lead, "/createLead/lead/id").to_owned();
    let product = must(
        app,
        &owner,
        "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id } } }",
        json!({"i": {"name": format!("Product {canary}"), "description": format!("About {canary}"),
                     "price": {"amountMicros": 19_990_000, "currencyCode": "USD"}, "keywords": [canary]}}),
    )
    .await;
    let product_id = str_at(&product, "/createProduct/product/id").to_owned();
    // The connection's account id, which the webhook names; distinct per tenant.
    let phone_number_id = format!(
        "1{:011}",
        slug.bytes().map(u64::from).sum::<u64>() * 7_919 % 100_000_000_000
    );
    let connection = must(
        app,
        &owner,
        "mutation($i: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $i) { connection { id } } }",
        json!({"i": {"channel": "WHATSAPP", "externalAccountId": phone_number_id,
                     "appSecret": format!("{secret}-app"), "accessToken": format!("{secret}-access"),
                     "verifyToken": format!("{secret}-verify"), "aiEnabled": true, "status": "CONNECTED"}}),
    )
    .await;
    let connection_id = str_at(&connection, "/upsertChannelConnection/connection/id").to_owned();
    secrets.extend([
        format!("{secret}-app"),
        format!("{secret}-access"),
        format!("{secret}-verify"),
    ]);
    must(
        app,
        &owner,
        "mutation($i: UpdateAiContextInput!) { updateAiContext(input: $i) { __typename } }",
        json!({"i": {"systemPrompt": format!("Prompt {canary}"), "escalationKeywords": [format!("kw{canary}")]}}),
    )
    .await;

    // A customer with a support conversation.
    let customer = must(
        app,
        &key_write,
        "mutation($i: CreateCustomerTokenInput!) { createCustomerToken(input: $i) { token customerId } }",
        // A fresh customer per seeding: re-seeding a tenant after it attacked must not reuse the
        // customer's open session from the attack (which may hold no subject).
        json!({"i": {"externalUserId": format!("user-{canary}-{}", uuid::Uuid::now_v7().simple()), "name": format!("Customer {canary}")}}),
    )
    .await;
    let customer_token = str_at(&customer, "/createCustomerToken/token").to_owned();
    data_ids.push(str_at(&customer, "/createCustomerToken/customerId").to_owned());
    let session = must(
        app,
        &customer_token,
        "mutation($i: CreateSupportSessionInput) { createSupportSession(input: $i) { session { id } } }",
        json!({"i": {"subject": format!("Subject {canary}")}}),
    )
    .await;
    let session_id = str_at(&session, "/createSupportSession/session/id").to_owned();
    let message = must(
        app,
        &customer_token,
        "mutation($i: SendSupportMessageInput!) { sendSupportMessage(input: $i) { message { id } } }",
        json!({"i": {"sessionId": session_id, "text": format!("Hello {canary}"), "clientMessageId": "fuzz-1"}}),
    )
    .await;
    data_ids.push(str_at(&message, "/sendSupportMessage/message/id").to_owned());

    // A WhatsApp conversation through the signed webhook.
    let delivery = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": phone_number_id, "display_phone_number": "15550001111"},
            "contacts": [{"wa_id": "447911123456", "profile": {"name": format!("WA {canary}")}}],
            "messages": [{"from": "447911123456", "id": format!("wamid.{canary}"), "timestamp": "1700000000",
                          "type": "text", "text": {"body": format!("Price? {canary}")}}]
        }}]}]
    })
    .to_string();
    let signature = leadline_meta::signature::sign_hub_signature_256(
        &format!("{secret}-app"),
        delivery.as_bytes(),
    );
    let response = app
        .http
        .post(format!("{}/api/webhook/whatsapp/{slug}", app.base))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(delivery)
        .send()
        .await
        .expect("webhook");
    assert_eq!(
        response.status(),
        200,
        "fuzz setup: the WhatsApp webhook was refused"
    );

    let listed = must(
        app,
        &owner,
        "{ me { user { id } tenant { id } } conversations(first: 10) { nodes { id messages(first: 5) { nodes { id } } } }
           jobs(first: 10) { nodes { id } } auditLog(first: 5) { nodes { id } } }",
        json!({}),
    )
    .await;
    data_ids.extend(ids_at(&listed, "/conversations/nodes"));
    if let Some(conversations) = listed
        .pointer("/conversations/nodes")
        .and_then(Value::as_array)
    {
        for conversation in conversations {
            data_ids.extend(ids_at(conversation, "/messages/nodes"));
        }
    }
    data_ids.extend(ids_at(&listed, "/jobs/nodes"));
    data_ids.extend(ids_at(&listed, "/auditLog/nodes"));
    data_ids.push(str_at(&listed, "/me/tenant/id").to_owned());
    data_ids.extend([
        lead_id.clone(),
        product_id.clone(),
        connection_id.clone(),
        session_id.clone(),
    ]);
    // The owner's user id and the keys are credentials: attack targets for the other tenant,
    // kept out of the tenant's own pool so its attacks never lock itself out.
    key_ids.push(str_at(&listed, "/me/user/id").to_owned());
    Tenant {
        slug: slug.to_owned(),
        canary: canary.to_owned(),
        owner,
        key_write,
        key_read,
        customer: customer_token,
        secrets,
        data_ids,
        lead_id,
        product_id,
        connection_id,
        session_id,
        key_ids,
    }
}

/// The victim's data as its owner sees it after the run: all there, unchanged.
async fn assert_intact(app: &TestApp, victim: &Tenant, seed: u64) {
    let data = app
        .graphql(
            Some(victim.owner.as_str()),
            "query($l: ID!, $p: ID!, $c: ID!, $s: ID!) {
               me { role }
               lead(id: $l) { name company notes }
               product(id: $p) { name description }
               channelConnection(id: $c) { channel status hasAppSecret }
               supportSession(id: $s) { subject messages(first: 20) { nodes { body } } }
               aiContext { systemPrompt }
               apiKeys(first: 50) { nodes { id revokedAt } }
             }",
            json!({"l": victim.lead_id, "p": victim.product_id, "c": victim.connection_id, "s": victim.session_id}),
        )
        .await;
    let c = &victim.canary;
    let context = format!(
        "(seed {seed}) the victim {}'s data changed: {data:#}",
        victim.slug
    );
    assert!(data.get("errors").is_none(), "{context}");
    let d = &data["data"];
    assert_eq!(d["me"]["role"], "OWNER", "{context}");
    assert_eq!(d["lead"]["name"], format!("Lead {c}"), "{context}");
    assert_eq!(d["lead"]["notes"], format!("notes {c}"), "{context}");
    assert_eq!(d["product"]["name"], format!("Product {c}"), "{context}");
    assert_eq!(d["channelConnection"]["hasAppSecret"], true, "{context}");
    assert_eq!(
        d["aiContext"]["systemPrompt"],
        format!("Prompt {c}"),
        "{context}"
    );
    assert_eq!(
        d["supportSession"]["subject"],
        format!("Subject {c}"),
        "{context}"
    );
    assert!(
        d["supportSession"]["messages"]["nodes"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["body"] == format!("Hello {c}"))),
        "{context}"
    );
    let keys = d["apiKeys"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for id in victim.key_ids.iter().take(2) {
        assert!(
            keys.iter()
                .any(|k| &k["id"] == id && k["revokedAt"].is_null()),
            "{context}: API key {id} is gone or revoked"
        );
    }
    // The victim's keys and customer still authenticate.
    for token in [&victim.key_write, &victim.key_read, &victim.customer] {
        let me = app
            .graphql(Some(token.as_str()), "{ __typename }", json!({}))
            .await;
        assert!(
            me.get("errors").is_none(),
            "{context}: a credential stopped working: {me:#}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum As {
    Owner,
    WriteKey,
    ReadKey,
    Customer,
    Anonymous,
}

#[derive(Default)]
struct Report {
    cases: usize,
    per_root: BTreeMap<String, usize>,
    outcomes: BTreeMap<String, usize>,
    failures: Vec<String>,
}

impl Report {
    fn fail(&mut self, message: String) {
        if self.failures.len() < 20 {
            self.failures.push(message);
        }
    }
}

/// Runs `cases` operations of `attacker` against the server, `victim` being the other tenant.
#[allow(clippy::too_many_arguments)]
async fn attack(
    app: &TestApp,
    generator: &mut Generator<'_>,
    attacker: &Tenant,
    victim: &Tenant,
    cases: usize,
    seed: u64,
    deadline: Instant,
    report: &mut Report,
) {
    let pools = Pools {
        victim_ids: victim
            .data_ids
            .iter()
            .chain(&victim.key_ids)
            .cloned()
            .collect(),
        own_ids: attacker.data_ids.clone(),
        victim_slug: victim.slug.clone(),
        own_slug: attacker.slug.clone(),
    };
    let all_secrets: Vec<&String> = attacker.secrets.iter().chain(&victim.secrets).collect();
    for case in 0..cases {
        if Instant::now() > deadline {
            say(&format!(
                "fuzz: time cap reached after {} cases",
                report.cases
            ));
            return;
        }
        let principal = match generator.rng.gen_range(0..100) {
            0..=34 => As::Owner,
            35..=54 => As::WriteKey,
            55..=69 => As::ReadKey,
            70..=84 => As::Customer,
            _ => As::Anonymous,
        };
        let token = match principal {
            As::Owner => Some(&attacker.owner),
            As::WriteKey => Some(&attacker.key_write),
            As::ReadKey => Some(&attacker.key_read),
            As::Customer => Some(&attacker.customer),
            As::Anonymous => None,
        };
        let operation = generator.next(&pools);
        report.cases += 1;
        for root in &operation.roots {
            *report.per_root.entry(root.clone()).or_default() += 1;
        }
        let request = || {
            let request = app
                .http
                .post(format!("{}/graphql", app.base))
                .header("content-type", "application/json")
                .body(operation.body.clone());
            match token {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
        };
        let where_ = || {
            format!(
                "seed {seed}, case {case} as {} {principal:?}: {}",
                attacker.slug,
                operation.document.chars().take(600).collect::<String>()
            )
        };
        // One retry when the request never got an answer: under a loaded test run a pooled
        // keep-alive connection can be closed by the server just as it is reused. A server that
        // really died fails the retry (and the periodic health check).
        let sent = match request().send().await {
            Err(error) if !error.is_timeout() => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                request().send().await
            }
            answered => answered,
        };
        let (status, text) = match sent {
            Ok(response) => {
                let status = response.status();
                (status, response.text().await.unwrap_or_default())
            }
            Err(error) => {
                report.fail(format!("no answer ({error:?}) to {}", where_()));
                break;
            }
        };
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let responses: Vec<&Value> = match &body {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut codes: Vec<String> = responses
            .iter()
            .flat_map(|r| r["errors"].as_array().cloned().unwrap_or_default())
            .map(|e| {
                e["extensions"]["code"]
                    .as_str()
                    .unwrap_or("NO_CODE")
                    .to_owned()
            })
            .collect();
        codes.sort();
        codes.dedup();
        let outcome = if status.is_success() && codes.is_empty() {
            "ok".to_owned()
        } else if codes.is_empty() {
            format!("http {}", status.as_u16())
        } else {
            codes.join("+")
        };
        *report.outcomes.entry(outcome).or_default() += 1;

        if status.is_server_error() {
            report.fail(format!("HTTP {status} {} to {}", snippet(&text), where_()));
        }
        if codes.iter().any(|c| c == "INTERNAL") {
            report.fail(format!("INTERNAL {} to {}", snippet(&text), where_()));
        }
        // Every error is typed: a client can always branch on `extensions.code`.
        if codes.iter().any(|c| c == "NO_CODE") {
            report.fail(format!(
                "an error without a code {} to {}",
                snippet(&text),
                where_()
            ));
        }
        if text.contains(&victim.canary) {
            report.fail(format!(
                "the victim's canary {} in {} to {}",
                victim.canary,
                snippet_around(&text, &victim.canary),
                where_()
            ));
        }
        if principal == As::Anonymous && text.contains(&attacker.canary) {
            report.fail(format!(
                "a tenant's canary in an anonymous answer {} to {}",
                snippet_around(&text, &attacker.canary),
                where_()
            ));
        }
        for secret in &all_secrets {
            if text.contains(secret.as_str()) {
                report.fail(format!(
                    "a write-only secret or API-key credential in {} to {}",
                    snippet_around(&text, secret),
                    where_()
                ));
            }
        }
        if case % 100 == 99 {
            healthy(app, seed, report).await;
        }
    }
}

/// Prints past the test harness's capture (which only takes `print!`/`eprint!`), so CI logs
/// show the seed and the case count of every run, passing or not.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn snippet(text: &str) -> String {
    text.chars().take(400).collect()
}

fn snippet_around(text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap_or(0);
    let start = (0..=at.saturating_sub(200))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text[start..].chars().take(400).collect()
}

async fn healthy(app: &TestApp, seed: u64, report: &mut Report) {
    let ok = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200);
    if !ok {
        report.fail(format!(
            "seed {seed}: /healthz failed after {} cases",
            report.cases
        ));
    }
}

#[tokio::test]
async fn two_tenants_survive_a_schema_driven_fuzz_run_without_leaks() {
    let seed: u64 = std::env::var("LEADLINE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    let cases: usize = std::env::var("LEADLINE_FUZZ_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    say(&format!(
        "fuzz: LEADLINE_FUZZ_SEED={seed} LEADLINE_FUZZ_CASES={cases} (set both to replay this run)"
    ));
    let started = Instant::now();
    let schema = Schema::load();
    let mut env: Vec<(String, String)> = [
        "ANTHROPIC_API_BASE",
        "OPENAI_API_BASE",
        "META_API_BASE",
        "WHATSAPP_API_BASE",
        "TIKTOK_API_BASE",
        "TIKTOK_LIVE_API_BASE",
        "TWITCH_API_BASE",
        "YOUTUBE_API_BASE",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), NOWHERE.to_owned()))
    .collect();
    env.push(("TWITCH_IRC_URL".into(), "ws://127.0.0.1:1".into()));
    env.push(("RUST_LOG".into(), "warn".into()));
    let app = spawn_with(SpawnOptions {
        env,
        ..SpawnOptions::default()
    })
    .await;

    let run = Uuid::now_v7().simple().to_string();
    let tag = &run[run.len() - 10..];
    let (canary_a, canary_b) = (format!("CNRYA{tag}"), format!("CNRYB{tag}"));
    let (slug_a, slug_b) = (format!("fuzz-a-{tag}"), format!("fuzz-b-{tag}"));
    let tenant_a = seed_tenant(&app, &slug_a, &canary_a, None).await;
    let tenant_b = seed_tenant(&app, &slug_b, &canary_b, None).await;

    let mut generator = Generator {
        schema: &schema,
        rng: StdRng::seed_from_u64(seed),
    };
    let mut report = Report::default();
    let deadline = started + TIME_CAP;
    // B attacks A, then A (intact so far) attacks a freshly seeded B.
    attack(
        &app,
        &mut generator,
        &tenant_b,
        &tenant_a,
        cases / 2,
        seed,
        deadline,
        &mut report,
    )
    .await;
    healthy(&app, seed, &mut report).await;
    if report.failures.is_empty() {
        assert_intact(&app, &tenant_a, seed).await;
    }
    let tenant_b = seed_tenant(&app, &slug_b, &canary_b, Some(tenant_b.owner.clone())).await;
    attack(
        &app,
        &mut generator,
        &tenant_a,
        &tenant_b,
        cases - cases / 2,
        seed,
        deadline,
        &mut report,
    )
    .await;
    healthy(&app, seed, &mut report).await;
    if report.failures.is_empty() {
        assert_intact(&app, &tenant_b, seed).await;
    }

    let roots: Vec<&String> = schema
        .fields(&schema.query)
        .iter()
        .chain(schema.fields(&schema.mutation))
        .map(|f| &f.name)
        .collect();
    let missed: Vec<&&String> = roots
        .iter()
        .filter(|r| !report.per_root.contains_key(r.as_str()))
        .collect();
    say(&format!(
        "fuzz: seed {seed}, {} cases in {:.1} s, {} of {} query/mutation root fields exercised{}",
        report.cases,
        started.elapsed().as_secs_f64(),
        roots.len() - missed.len(),
        roots.len(),
        if missed.is_empty() {
            String::new()
        } else {
            format!(" (missed: {missed:?})")
        }
    ));
    say(&format!("fuzz: outcomes {:?}", report.outcomes));
    say(&format!("fuzz: per root field {:?}", report.per_root));
    assert!(
        report.failures.is_empty(),
        "fuzz run failed (replay with LEADLINE_FUZZ_SEED={seed} LEADLINE_FUZZ_CASES={cases}; server log {}):\n{}",
        app.dir.join("server.log").display(),
        report.failures.join("\n\n")
    );
}
