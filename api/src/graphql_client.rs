//! A minimal GraphQL-over-HTTP caller for in-process tools that drive a running server through
//! its public API (`leadline demo`, the benchmarks), so they exercise exactly what clients use.

use serde_json::{json, Value};

/// Calls one server's `/graphql`.
#[derive(Debug, Clone)]
pub struct GraphqlClient {
    http: reqwest::Client,
    url: String,
}

impl GraphqlClient {
    /// A client for the server at `base` (`http://host:port`).
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: format!("{}/graphql", base.trim_end_matches('/')),
        }
    }

    /// Runs `query` with `variables` (as `token`'s bearer when given) and returns `data`; any
    /// GraphQL error is an error.
    pub async fn call(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let body: Value = request.send().await?.json().await?;
        if let Some(errors) = body.get("errors") {
            anyhow::bail!("GraphQL error: {errors}");
        }
        Ok(body["data"].clone())
    }
}
