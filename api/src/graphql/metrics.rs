//! A schema extension that counts and times every operation for `/metrics`. Operations are
//! labelled by their type only (`query`, `mutation`, `subscription`): never by root fields or the
//! client-chosen operation name, either of which would let a client grow the set of series (a
//! request can pick any of hundreds of root-field combinations, and any name at all).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult, Variables};

/// The factory registered on the schema.
pub struct Metrics;

impl ExtensionFactory for Metrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MetricsExtension::default())
    }
}

#[derive(Default)]
struct MetricsExtension {
    /// The operation name the request asked for (known before parsing).
    operation_name: Mutex<Option<String>>,
    /// The type of the operation that runs (known after parsing).
    kind: Mutex<Option<&'static str>>,
}

/// The type of the operation `operation_name` picks in `document` (the only one when unnamed).
fn kind_of(document: &ExecutableDocument, operation_name: Option<&str>) -> &'static str {
    let operation = document
        .operations
        .iter()
        .find(|(name, _)| match operation_name {
            Some(wanted) => name.map(|n| n.as_str()) == Some(wanted),
            None => true,
        })
        .map(|(_, operation)| operation.node.ty);
    match operation {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "unknown",
    }
}

impl MetricsExtension {
    fn kind(&self) -> &'static str {
        self.kind
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or("unknown")
    }
}

#[async_trait::async_trait]
impl Extension for MetricsExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self
            .operation_name
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let name = self
            .operation_name
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        *self.kind.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(kind_of(&document, name.as_deref()));
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        // Subscriptions never reach `execute`: count them here, once each, when they start.
        if self.kind() == "subscription" {
            let outcome = if result.is_ok() { "ok" } else { "error" };
            metrics::counter!("leadline_graphql_requests_total", "operation" => "subscription", "outcome" => outcome).increment(1);
        }
        result
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        let kind = self.kind();
        let outcome = if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        metrics::counter!("leadline_graphql_requests_total", "operation" => kind, "outcome" => outcome).increment(1);
        metrics::histogram!("leadline_graphql_request_duration_seconds", "operation" => kind)
            .record(started.elapsed().as_secs_f64());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_operation_type_whatever_the_fields_or_names() {
        let document = async_graphql::parser::parse_query(
            "query AnyNameAtAll { me { id } leads { totalCount } } mutation M { x } subscription S { y }",
        );
        let Ok(document) = document else {
            panic!("the test query parses");
        };
        assert_eq!(kind_of(&document, Some("AnyNameAtAll")), "query");
        assert_eq!(kind_of(&document, Some("M")), "mutation");
        assert_eq!(kind_of(&document, Some("S")), "subscription");
        assert_eq!(kind_of(&document, Some("Missing")), "unknown");
        let Ok(single) = async_graphql::parser::parse_query("{ me { id } }") else {
            panic!("the test query parses");
        };
        assert_eq!(kind_of(&single, None), "query");
    }
}
