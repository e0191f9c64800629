//! The fuzz run's generator: the schema as it needs it, values printed as literals or JSON, and
//! the random operations built from them.

use super::*;

// ---------------------------------------------------------------------------------------------
// The schema, as the generator needs it
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
pub(super) struct InputValue {
    pub(super) name: String,
    pub(super) ty: Type,
    pub(super) has_default: bool,
}

impl InputValue {
    pub(super) fn required(&self) -> bool {
        !self.ty.nullable && !self.has_default
    }
}

#[derive(Clone)]
pub(super) struct Field {
    pub(super) name: String,
    pub(super) args: Vec<InputValue>,
    pub(super) ty: Type,
}

pub(super) enum Kind {
    Scalar,
    Enum(Vec<String>),
    Object(Vec<Field>),
    Union(Vec<String>),
    Input(Vec<InputValue>),
}

pub(super) struct Schema {
    pub(super) types: HashMap<String, Kind>,
    pub(super) query: String,
    pub(super) mutation: String,
    pub(super) subscription: String,
}

pub(super) fn input_values(values: &[Positioned<InputValueDefinition>]) -> Vec<InputValue> {
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
    pub(super) fn load() -> Schema {
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

    pub(super) fn fields(&self, type_name: &str) -> &[Field] {
        match self.types.get(type_name) {
            Some(Kind::Object(fields)) => fields,
            _ => &[],
        }
    }

    /// Whether a value of this named type needs a selection set.
    pub(super) fn is_composite(&self, type_name: &str) -> bool {
        matches!(
            self.types.get(type_name),
            Some(Kind::Object(_) | Kind::Union(_))
        )
    }
}

pub(super) fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

// ---------------------------------------------------------------------------------------------
// Values: one tree printed either as a GraphQL literal or as JSON for variables
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub(super) enum Val {
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
    pub(super) fn literal(&self, out: &mut String) {
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

    pub(super) fn json(&self) -> Value {
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
pub(super) fn quote(s: &str, out: &mut String) {
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
pub(super) struct Pools {
    /// The victim's ids (leads, products, conversations, sessions, jobs, connections...).
    pub(super) victim_ids: Vec<String>,
    /// The attacker's own data ids (never its credentials, so it keeps attacking).
    pub(super) own_ids: Vec<String>,
    pub(super) victim_slug: String,
    pub(super) own_slug: String,
}

pub(super) struct Generator<'s> {
    pub(super) schema: &'s Schema,
    pub(super) rng: StdRng,
}

/// One generated request.
pub(super) struct Operation {
    /// The JSON body: `{query, variables}` or a batch of them, or raw text.
    pub(super) body: String,
    /// Root fields it exercises (for the coverage report).
    pub(super) roots: Vec<String>,
    /// The printed document, for failure reports.
    pub(super) document: String,
}

impl<'s> Generator<'s> {
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).expect("non-empty pool")
    }

    pub(super) fn id(&mut self, pools: &Pools) -> String {
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

    pub(super) fn string(&mut self, pools: &Pools) -> String {
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

    pub(super) fn int(&mut self) -> i64 {
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
    pub(super) fn wrong(&mut self) -> Val {
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

    pub(super) fn value(&mut self, ty: &Type, pools: &Pools, depth: usize) -> Val {
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

    pub(super) fn named_value(&mut self, name: &str, pools: &Pools, depth: usize) -> Val {
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
    pub(super) fn arguments(
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

    pub(super) fn selection(
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
    pub(super) fn operation(
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

    pub(super) fn next(&mut self, pools: &Pools) -> Operation {
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
