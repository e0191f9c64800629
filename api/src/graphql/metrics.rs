//! A schema extension that counts and times every operation for `/metrics`. Operations are
//! labelled by type and root fields (`query leads`), which the schema bounds, rather than by the
//! client-chosen operation name, which would let any client grow the label set without limit.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{Response, ServerResult, Variables};

/// The factory registered on the schema.
pub struct Metrics;

impl ExtensionFactory for Metrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MetricsExtension {
            label: Mutex::new(None),
        })
    }
}

struct MetricsExtension {
    label: Mutex<Option<String>>,
}

fn label_for(document: &ExecutableDocument, operation_name: Option<&str>) -> String {
    let operation = match operation_name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name))
            .map(|(_, op)| op),
        None => document.operations.iter().next().map(|(_, op)| op),
    };
    let Some(operation) = operation else {
        return "unknown".into();
    };
    let kind = match operation.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    let mut fields: Vec<&str> = operation
        .node
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|item| match &item.node {
            Selection::Field(field) => Some(field.node.name.node.as_str()),
            _ => None,
        })
        .collect();
    fields.sort_unstable();
    fields.dedup();
    fields.truncate(4);
    format!("{kind} {}", fields.join(","))
}

#[async_trait::async_trait]
impl Extension for MetricsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        // The operation name is not known yet here; the first operation is the usual case and
        // `execute` refines it when a name is given.
        *self.label.lock().unwrap_or_else(|p| p.into_inner()) = Some(label_for(&document, None));
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        let label = self
            .label
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| "unknown".into());
        let outcome = if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        metrics::counter!("leadline_graphql_requests_total", "operation" => label.clone(), "outcome" => outcome).increment(1);
        metrics::histogram!("leadline_graphql_request_duration_seconds", "operation" => label)
            .record(started.elapsed().as_secs_f64());
        response
    }
}
