//! What one request may ask for before any resolver runs: at most one authentication mutation
//! per request (batch included) and per WebSocket operation, and at most
//! `LEADLINE_MAX_ROOT_FIELDS` root fields per operation. (The per-field cost — a connection
//! costs `first × child cost` — is declared on the fields themselves with
//! `#[graphql(complexity = …)]` and checked by async-graphql against `LEADLINE_MAX_COMPLEXITY`.)
//!
//! Root fields are counted after parsing, by name: aliases count (`a: login(…) b: login(…)` is
//! two logins), fields of fragments spread or inlined at the root count, and only the operation
//! that will run counts (an unknown or ambiguous operation name counts the largest operation,
//! which then fails anyway). `@skip`/`@include` are ignored: the count is an upper bound.
//!
//! Two entry points: [`check_batch`] for the HTTP transport (the whole batch, before it runs)
//! and [`RequestCost`], a schema extension that checks every single operation — HTTP or
//! WebSocket — right after parsing.
//!
//! Over a limit is BAD_USER_INPUT on `query` (not RATE_LIMITED): the request's shape is wrong,
//! and waiting would not make it acceptable.
//!
//! Must not: import axum, or look at anything but the document (no principal, no state).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextValidation,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::ValidationResult;
use async_graphql::{Positioned, Request, ServerError, ServerResult, Variables};

use crate::error::ApiError;

/// The mutations that sign someone in or create a credential: each may hash a password or mint
/// a token, so a request may run only one of them.
pub const AUTH_MUTATIONS: [&str; 6] = [
    "signUp",
    "login",
    "acceptInvite",
    "startVisitorSession",
    "createCustomerToken",
    "verifyEmail",
];

/// Deepest fragment nesting followed at the root (the parser bounds nesting too; this only
/// keeps a hostile document from costing more here than it would in validation).
const MAX_FRAGMENT_NESTING: usize = 16;

/// The most one field may cost: far above any limit, and low enough that summing every field a
/// 1 MiB document can hold never overflows (async-graphql adds costs unchecked).
const MAX_FIELD_COST: usize = 1 << 40;

/// The cost of a connection field: `first` (the default page size when absent; out-of-range
/// values cost as the largest page, and fail in the resolver anyway) times its selection's cost.
pub fn connection_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let page = match first {
        None => crate::store::DEFAULT_PAGE_SIZE,
        Some(n) => u64::try_from(n)
            .unwrap_or(crate::store::MAX_PAGE_SIZE)
            .clamp(1, crate::store::MAX_PAGE_SIZE),
    };
    list_cost(i32::try_from(page).unwrap_or(i32::MAX), child_complexity)
}

/// The cost of a list field of at most `count` items: `count` times its selection's cost.
pub fn list_cost(count: i32, child_complexity: usize) -> usize {
    usize::try_from(count.max(1))
        .unwrap_or(usize::MAX)
        .saturating_mul(child_complexity.max(1))
        .min(MAX_FIELD_COST)
}

/// The root fields of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RootCount {
    /// Every root field (aliases and fragment fields included).
    pub fields: usize,
    /// Root fields that are authentication mutations.
    pub auth: usize,
}

/// Counts the root fields of the operation `operation_name` selects in `document`.
pub fn root_count(document: &ExecutableDocument, operation_name: Option<&str>) -> RootCount {
    let count = |operation: &Positioned<OperationDefinition>| {
        let mut count = RootCount::default();
        let mut path = HashSet::new();
        count_selection(
            document,
            &operation.node.selection_set.node,
            &mut path,
            0,
            &mut count,
        );
        count
    };
    let chosen = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    match chosen {
        Some(operation) => count(operation),
        None => document
            .operations
            .iter()
            .map(|(_, operation)| count(operation))
            .fold(RootCount::default(), |a, b| RootCount {
                fields: a.fields.max(b.fields),
                auth: a.auth.max(b.auth),
            }),
    }
}

fn count_selection<'a>(
    document: &'a ExecutableDocument,
    selection_set: &'a SelectionSet,
    path: &mut HashSet<&'a str>,
    nesting: usize,
    count: &mut RootCount,
) {
    if nesting > MAX_FRAGMENT_NESTING {
        return;
    }
    for item in &selection_set.items {
        match &item.node {
            Selection::Field(field) => {
                count.fields += 1;
                if AUTH_MUTATIONS.contains(&field.node.name.node.as_str()) {
                    count.auth += 1;
                }
            }
            Selection::InlineFragment(fragment) => count_selection(
                document,
                &fragment.node.selection_set.node,
                path,
                nesting + 1,
                count,
            ),
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                // A fragment spreading itself is refused by validation; here it just stops.
                if let Some(fragment) = document.fragments.get(name) {
                    if path.insert(name) {
                        count_selection(
                            document,
                            &fragment.node.selection_set.node,
                            path,
                            nesting + 1,
                            count,
                        );
                        path.remove(name);
                    }
                }
            }
        }
    }
}

/// Checks one operation's counts against the limits.
pub fn check(count: RootCount, max_root_fields: usize) -> Result<(), ApiError> {
    if count.auth > 1 {
        return Err(ApiError::bad_input(
            "query",
            format!(
                "at most one authentication mutation ({}) per request; this one has {}",
                AUTH_MUTATIONS.join(", "),
                count.auth
            ),
        ));
    }
    if count.fields > max_root_fields {
        return Err(ApiError::bad_input(
            "query",
            format!(
                "at most {max_root_fields} root fields (aliases included) per operation; this one has {}",
                count.fields
            ),
        ));
    }
    Ok(())
}

/// Checks a batch before any of it runs: at most one authentication mutation across all its
/// operations. (Each operation's own limits are checked by [`RequestCost`] when it runs.) An
/// operation that does not parse counts nothing here and fails on its own.
pub fn check_batch(requests: &[Request]) -> Result<(), ApiError> {
    let auth: usize = requests
        .iter()
        .filter_map(|request| {
            async_graphql::parser::parse_query(&request.query)
                .ok()
                .map(|document| root_count(&document, request.operation_name.as_deref()).auth)
        })
        .sum();
    check(RootCount { fields: 0, auth }, usize::MAX)
}

/// The schema extension that checks every operation after parsing.
pub struct RequestCost {
    /// `LEADLINE_MAX_ROOT_FIELDS`.
    pub max_root_fields: usize,
}

impl ExtensionFactory for RequestCost {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestCostExtension {
            max_root_fields: self.max_root_fields,
            operation_name: Mutex::new(None),
        })
    }
}

struct RequestCostExtension {
    max_root_fields: usize,
    /// The request's operation name, which `parse_query` is not given.
    operation_name: Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl Extension for RequestCostExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self
            .operation_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next
            .run(ctx, query, variables)
            .await
            .map_err(|error| with_code(error, "GRAPHQL_PARSE_FAILED"))?;
        let operation_name = self
            .operation_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let count = root_count(&document, operation_name.as_deref());
        check(count, self.max_root_fields).map_err(server_error)?;
        refuse_nul(query, &document, variables).map_err(server_error)?;
        Ok(document)
    }

    /// async-graphql reports the complexity and depth limits without a code; they get
    /// BAD_USER_INPUT on `query` like the other shape limits, so clients can tell them apart
    /// from other validation failures. A value that does not fit its argument (an enum name this
    /// build does not know, a string for an Int) is the client's input, not the document's
    /// shape: BAD_USER_INPUT naming the argument.
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| match error.message.as_str() {
                    "Query is too complex." => server_error(ApiError::bad_input(
                        "query",
                        "the query is too costly (LEADLINE_MAX_COMPLEXITY): a connection costs \
                         `first` times its selection; ask for smaller pages or fewer nested \
                         connections",
                    )),
                    "Query is nested too deep." => server_error(ApiError::bad_input(
                        "query",
                        "the query is nested too deep (LEADLINE_MAX_DEPTH)",
                    )),
                    message => match invalid_argument(message) {
                        Some(bad_input) => server_error(bad_input),
                        None => with_code(error, "GRAPHQL_VALIDATION_FAILED"),
                    },
                })
                .collect()
        })
    }

    /// Every error a client sees has a code: ours carry theirs, and what async-graphql reports
    /// while running without one is a value that did not fit its argument's type (a variable
    /// out of range, a malformed id or enum in a variable), so BAD_USER_INPUT.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        let mut response = next.run(ctx, operation_name).await;
        for error in &mut response.errors {
            add_code(error, "BAD_USER_INPUT");
        }
        response
    }
}

/// `error` with `code` in its extensions unless it has one already.
fn with_code(mut error: ServerError, code: &str) -> ServerError {
    add_code(&mut error, code);
    error
}

fn add_code(error: &mut ServerError, code: &str) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
}

/// Text with a NUL character (U+0000) is refused before anything runs: PostgreSQL cannot store
/// it in a text column and SQLite would, so refusing it here gives one typed answer on both
/// backends instead of a database error. Looks at string literals in the document (arguments
/// and variable defaults) and at the variables.
fn refuse_nul(
    query: &str,
    document: &ExecutableDocument,
    variables: &Variables,
) -> Result<(), ApiError> {
    const MESSAGE: &str = "text must not contain NUL (U+0000) characters";
    if variables.values().any(const_has_nul) {
        return Err(ApiError::bad_input("variables", MESSAGE));
    }
    // A literal can only hold NUL through an escape (or the raw character): most documents
    // have neither, and skip the walk, which copies every argument value.
    if !query.contains(['\\', '\0']) {
        return Ok(());
    }
    let operations: Vec<&Positioned<OperationDefinition>> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(map) => map.values().collect(),
    };
    let in_operations = operations.iter().any(|operation| {
        operation
            .node
            .variable_definitions
            .iter()
            .filter_map(|definition| definition.node.default_value.as_ref())
            .any(|default| const_has_nul(&default.node))
            || selection_has_nul(&operation.node.selection_set.node)
    });
    let in_fragments = document
        .fragments
        .values()
        .any(|fragment| selection_has_nul(&fragment.node.selection_set.node));
    if in_operations || in_fragments {
        return Err(ApiError::bad_input("query", MESSAGE));
    }
    Ok(())
}

fn const_has_nul(value: &async_graphql::Value) -> bool {
    match value {
        async_graphql::Value::String(s) => s.contains('\0'),
        async_graphql::Value::List(items) => items.iter().any(const_has_nul),
        async_graphql::Value::Object(fields) => fields
            .iter()
            .any(|(name, value)| name.contains('\0') || const_has_nul(value)),
        _ => false,
    }
}

/// Fragment spreads are not followed: every fragment definition is checked on its own.
fn selection_has_nul(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => {
            field.node.arguments.iter().any(|(_, value)| {
                // The parser's value type is not exported; variables become null, since
                // they are checked on their own.
                value
                    .node
                    .clone()
                    .into_const_with(|_| {
                        Ok::<_, std::convert::Infallible>(async_graphql::Value::Null)
                    })
                    .is_ok_and(|value| const_has_nul(&value))
            }) || selection_has_nul(&field.node.selection_set.node)
        }
        Selection::InlineFragment(fragment) => selection_has_nul(&fragment.node.selection_set.node),
        Selection::FragmentSpread(_) => false,
    })
}

/// An [`ApiError`] as a request-level GraphQL error, with its code.
/// async-graphql's "Invalid value for argument \"input.platform\", enumeration type …" as
/// BAD_USER_INPUT on that argument path; `None` for every other validation message.
fn invalid_argument(message: &str) -> Option<ApiError> {
    let rest = message.strip_prefix("Invalid value for argument \"")?;
    let (field, detail) = rest.split_once('"')?;
    let detail = detail.trim_start_matches(',').trim();
    Some(ApiError::bad_input(
        field,
        if detail.is_empty() {
            "does not fit the argument's type"
        } else {
            detail
        },
    ))
}

fn server_error(error: ApiError) -> ServerError {
    let error: async_graphql::Error = error.into();
    let mut server = ServerError::new(error.message, None);
    server.extensions = error.extensions;
    server
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn count(query: &str, operation: Option<&str>) -> RootCount {
        match async_graphql::parser::parse_query(query) {
            Ok(document) => root_count(&document, operation),
            Err(error) => panic!("test query does not parse: {error}"),
        }
    }

    #[test]
    fn a_connection_costs_its_page_size_times_its_selection() {
        assert_eq!(connection_cost(None, 5), 20 * 5);
        assert_eq!(connection_cost(Some(100), 5), 500);
        assert_eq!(
            connection_cost(Some(100_000), 5),
            500,
            "capped at the largest page"
        );
        assert_eq!(connection_cost(Some(-7), 5), 500);
        assert_eq!(connection_cost(Some(3), 0), 3);
        assert_eq!(list_cost(i32::MAX, usize::MAX), MAX_FIELD_COST);
    }

    #[test]
    fn nul_characters_are_refused_in_literals_defaults_and_variables() {
        let check = |query: &str, variables: serde_json::Value| {
            let document = async_graphql::parser::parse_query(query).expect("parses");
            refuse_nul(query, &document, &Variables::from_json(variables)).map_err(|e| e.code())
        };
        let ok = check(
            r#"mutation($n: String = "fine") { updateLead(input: {name: "plain \\u0000 text"}) { id } }"#,
            serde_json::json!({"v": {"nested": ["also fine"]}}),
        );
        assert_eq!(ok, Ok(()));
        for query in [
            r#"mutation { updateLead(input: {name: "nul\u0000byte"}) { id } }"#,
            r#"mutation($n: String = "a\u0000") { x }"#,
            r#"query { ...F } fragment F on Query { lead(id: ["\u0000"]) { id } }"#,
            r#"query { ... on Query { lead(id: "\u0000") { id } } }"#,
        ] {
            assert_eq!(
                check(query, serde_json::json!({})),
                Err("BAD_USER_INPUT"),
                "{query}"
            );
        }
        assert_eq!(
            check(
                "query($v: String) { x }",
                serde_json::json!({"v": {"k": ["a\0"]}})
            ),
            Err("BAD_USER_INPUT")
        );
    }

    #[test]
    fn a_value_that_does_not_fit_its_argument_is_bad_input_on_that_argument() {
        let bad = invalid_argument(
            "Invalid value for argument \"input.platform\", enumeration type \"LivePlatform\" \
             does not contain the value \"KICK\"",
        );
        match bad {
            Some(ApiError::BadUserInput { field, message }) => {
                assert_eq!(field, "input.platform");
                assert!(message.starts_with("enumeration type"), "{message}");
            }
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
        assert!(invalid_argument("Unknown field \"nope\" on type \"Query\"").is_none());
    }

    #[test]
    fn aliases_count_as_separate_fields() {
        let c = count(
            r#"mutation { a: login(input: {email: "x", password: "y"}) { token } b: login(input: {email: "x", password: "y"}) { token } me: signUp(input: {}) { token } }"#,
            None,
        );
        assert_eq!(c, RootCount { fields: 3, auth: 3 });
        assert!(check(c, 20).is_err());
    }

    #[test]
    fn fragments_at_the_root_count_and_cycles_stop() {
        let c = count(
            r#"mutation { ...A ... on MutationRoot { login(input: {}) { token } } }
               fragment A on MutationRoot { acceptInvite(input: {}) { token } ...A ...B }
               fragment B on MutationRoot { createLead(input: {}) { lead { id } } }"#,
            None,
        );
        assert_eq!(c, RootCount { fields: 3, auth: 2 });
    }

    #[test]
    fn only_the_operation_that_runs_counts() {
        let query = r#"query Q { me { id } }
                       mutation M { a: login(input: {}) { token } b: login(input: {}) { token } }"#;
        assert_eq!(count(query, Some("Q")), RootCount { fields: 1, auth: 0 });
        assert_eq!(count(query, Some("M")).auth, 2);
        // Ambiguous or unknown: the largest (the request fails anyway).
        assert_eq!(count(query, None).auth, 2);
        assert_eq!(count(query, Some("Nope")).auth, 2);
    }

    #[test]
    fn one_login_and_ordinary_dashboards_pass() {
        let one = count(r#"mutation { login(input: {}) { token } }"#, None);
        assert!(check(one, 20).is_ok());
        let dashboard = count("{ me { id } leads(first: 20) { totalCount } conversations { totalCount } products { totalCount } }", None);
        assert!(check(dashboard, 20).is_ok());
        let wide = (0..21)
            .map(|i| format!("f{i}: me {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ");
        let wide = count(&format!("{{ {wide} }}"), None);
        assert_eq!(wide.fields, 21);
        match check(wide, 20) {
            Err(error) => assert_eq!(error.code(), "BAD_USER_INPUT"),
            Ok(()) => panic!("21 root fields passed a cap of 20"),
        }
    }

    #[test]
    fn a_batch_may_hold_one_authentication_mutation_in_all() {
        let login = || Request::new(r#"mutation { login(input: {}) { token } }"#);
        let read = || Request::new("{ me { id } }");
        assert!(check_batch(&[login(), read(), read()]).is_ok());
        assert!(check_batch(&[login(), read(), login()]).is_err());
        let many: Vec<Request> = (0..10).map(|_| login()).collect();
        assert!(check_batch(&many).is_err());
        // Garbage fails on its own when it runs, and counts nothing here.
        assert!(check_batch(&[Request::new("{{{"), login()]).is_ok());
    }
}
