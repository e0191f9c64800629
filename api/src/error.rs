//! `ApiError`: the one error of the API with stable codes. Each variant documents its GraphQL
//! `extensions.code` and HTTP status. Internal causes are logged with the request id and never
//! shown to the client.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use leadline_domain::DomainError;

/// An error a client can act on, or an internal one it cannot.
///
/// Deliberately not `Display` (and so not built with `thiserror` like the other crates' errors):
/// async-graphql converts every `Display` type into a bare error message, which would drop the
/// code. Without it, `?` in a resolver goes through the `From` impl below and keeps the code.
#[derive(Debug)]
pub enum ApiError {
    /// UNAUTHENTICATED / 401: no credentials, or bad, expired or forged ones.
    Unauthenticated(String),
    /// FORBIDDEN / 403: authenticated, but the role or scope does not allow it.
    Forbidden(String),
    /// NOT_FOUND / 404: no such object in the caller's tenant (another tenant's object included).
    NotFound(&'static str),
    /// BAD_USER_INPUT / 400: a value was refused; `field` names the input field.
    BadUserInput { field: String, message: String },
    /// CONFLICT / 409: the change clashes with existing state (a taken slug, a duplicate).
    Conflict(String),
    /// RATE_LIMITED / 429.
    RateLimited { retry_after_secs: u64 },
    /// LIMIT_REACHED / 429: a budget is spent (e.g. today's Twitch whispers); `limit` names it
    /// with a stable code. Unlike RATE_LIMITED, waiting a moment does not help.
    LimitReached {
        limit: &'static str,
        message: String,
    },
    /// UNAVAILABLE / 503: a backend is down; the caller should retry.
    Unavailable(String),
    /// PAYMENT_REQUIRED / 402: the tenant's plan in force does not include `feature`
    /// (`reason` NOT_ON_PLAN), or its subscription ended (CANCELED) or a payment is overdue past
    /// the grace period (PAST_DUE). `plan` is the plan in force. The owner fixes it through
    /// `createCheckoutSession` or `createBillingPortalSession`; retrying does not help.
    PaymentRequired {
        plan: String,
        feature: &'static str,
        reason: &'static str,
    },
    /// INTERNAL / 500: a bug or an unexpected failure. The text is logged, never shown.
    Internal(anyhow::Error),
}

impl ApiError {
    /// A BAD_USER_INPUT naming `field`.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A domain refusal attributed to the input `field`.
    pub fn invalid(field: &str, error: DomainError) -> Self {
        Self::bad_input(field, error.to_string())
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::BadUserInput { .. } => "BAD_USER_INPUT",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::LimitReached { .. } => "LIMIT_REACHED",
            ApiError::Unavailable(_) => "UNAVAILABLE",
            ApiError::PaymentRequired { .. } => "PAYMENT_REQUIRED",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    /// The HTTP status for REST shims and transport-level failures.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } | ApiError::LimitReached { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::PaymentRequired { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client may see: internal details are replaced, and logged here once.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Unauthenticated(m)
            | ApiError::Forbidden(m)
            | ApiError::Conflict(m)
            | ApiError::Unavailable(m) => m.clone(),
            ApiError::NotFound(what) => format!("{what} not found"),
            ApiError::LimitReached { message, .. } => message.clone(),
            ApiError::PaymentRequired {
                plan,
                feature,
                reason,
            } => match *reason {
                "PAST_DUE" => format!(
                    "{feature} is paused: a payment is overdue and the grace period is over; update the payment method in the billing portal"
                ),
                "CANCELED" => format!(
                    "{feature} needs a subscription: the subscription ended, so the {plan} plan applies"
                ),
                _ => format!("{feature} is not included in the {plan} plan; choose a plan that includes it"),
            },
            ApiError::BadUserInput { field, message } => format!("{field}: {message}"),
            ApiError::RateLimited { retry_after_secs } => {
                format!("rate limited; retry in {retry_after_secs} s")
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                "internal error; the request id in the logs has the details".to_owned()
            }
        }
    }

    /// The GraphQL error object `{message, extensions: {code, field?}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut extensions = serde_json::json!({ "code": self.code() });
        if let ApiError::BadUserInput { field, .. } = self {
            extensions["field"] = serde_json::Value::String(field.clone());
        }
        if let ApiError::RateLimited { retry_after_secs } = self {
            // `retryAfter` is the name clients are told to read; `retryAfterSeconds` stays for
            // the clients written against it. Both are whole seconds.
            extensions["retryAfter"] = serde_json::Value::from(*retry_after_secs);
            extensions["retryAfterSeconds"] = serde_json::Value::from(*retry_after_secs);
        }
        if let ApiError::LimitReached { limit, .. } = self {
            extensions["limit"] = serde_json::Value::from(*limit);
        }
        if let ApiError::PaymentRequired {
            plan,
            feature,
            reason,
        } = self
        {
            extensions["plan"] = serde_json::Value::from(plan.clone());
            extensions["feature"] = serde_json::Value::from(*feature);
            extensions["reason"] = serde_json::Value::from(*reason);
        }
        serde_json::json!({ "message": self.public_message(), "extensions": extensions })
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        // Connection-level failures are the database being away, which a client can retry.
        match &error {
            sea_orm::DbErr::Conn(_) | sea_orm::DbErr::ConnectionAcquire(_) => {
                tracing::warn!(error = %error, "database unavailable");
                ApiError::Unavailable("the database is unavailable; retry shortly".to_owned())
            }
            // PostgreSQL refuses NUL in text (SQLSTATE 22021). GraphQL input is checked before it
            // runs (`graphql::cost`); this covers text from anywhere else, such as a webhook body.
            _ if error
                .to_string()
                .contains("invalid byte sequence for encoding \"UTF8\": 0x00") =>
            {
                ApiError::bad_input("input", "text must not contain NUL (U+0000) characters")
            }
            _ => ApiError::Internal(error.into()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        ApiError::Internal(error)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let mut gql = async_graphql::Error::new(error.public_message());
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", error.code());
        if let ApiError::BadUserInput { field, .. } = &error {
            extensions.set("field", field.clone());
        }
        if let ApiError::RateLimited { retry_after_secs } = &error {
            extensions.set("retryAfter", *retry_after_secs);
            extensions.set("retryAfterSeconds", *retry_after_secs);
        }
        if let ApiError::LimitReached { limit, .. } = &error {
            extensions.set("limit", *limit);
        }
        if let ApiError::PaymentRequired {
            plan,
            feature,
            reason,
        } = &error
        {
            extensions.set("plan", plan.clone());
            extensions.set("feature", *feature);
            extensions.set("reason", *reason);
        }
        gql.extensions = Some(extensions);
        gql
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({ "errors": [self.to_json()] });
        (status, axum::Json(body)).into_response()
    }
}

/// Whether a database error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Result alias for the API.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the shape of every code: `{message, extensions: {code, field?, retryAfterSeconds?}}`
    /// and its HTTP status. Outside tools match on these.
    #[test]
    fn every_code_has_a_stable_shape() {
        let cases = [
            (
                ApiError::Unauthenticated("sign in".into()),
                "UNAUTHENTICATED",
                401,
            ),
            (ApiError::Forbidden("no".into()), "FORBIDDEN", 403),
            (ApiError::NotFound("lead"), "NOT_FOUND", 404),
            (ApiError::bad_input("phone", "bad"), "BAD_USER_INPUT", 400),
            (ApiError::Conflict("taken".into()), "CONFLICT", 409),
            (
                ApiError::RateLimited {
                    retry_after_secs: 7,
                },
                "RATE_LIMITED",
                429,
            ),
            (ApiError::Unavailable("db down".into()), "UNAVAILABLE", 503),
            (
                ApiError::PaymentRequired {
                    plan: "FREE".into(),
                    feature: "LIVE_SELLING",
                    reason: "NOT_ON_PLAN",
                },
                "PAYMENT_REQUIRED",
                402,
            ),
            (
                ApiError::Internal(anyhow::anyhow!("secret table name leads_v2 exploded")),
                "INTERNAL",
                500,
            ),
        ];
        for (error, code, status) in cases {
            assert_eq!(error.status().as_u16(), status);
            let json = error.to_json();
            assert_eq!(json["extensions"]["code"], code);
            let message = json["message"].as_str().unwrap_or_default();
            assert!(!message.is_empty());
            let gql: async_graphql::Error = error.into();
            let extensions = serde_json::to_value(&gql.extensions).unwrap_or_default();
            assert_eq!(extensions["code"], code, "GraphQL extensions for {code}");
            if code == "INTERNAL" {
                assert!(
                    !message.contains("leads_v2") && !gql.message.contains("leads_v2"),
                    "internal text leaked"
                );
            }
        }
        let bad = ApiError::bad_input("phone", "bad").to_json();
        assert_eq!(bad["extensions"]["field"], "phone");
        assert_eq!(bad["message"], "phone: bad");
        assert_eq!(
            ApiError::RateLimited {
                retry_after_secs: 7
            }
            .to_json()["extensions"]["retryAfterSeconds"],
            7
        );
        let limited = ApiError::RateLimited {
            retry_after_secs: 7,
        };
        assert_eq!(limited.to_json()["extensions"]["retryAfter"], 7);
        let gql: async_graphql::Error = limited.into();
        let extensions = format!("{:?}", gql.extensions);
        assert!(extensions.contains("retryAfter"), "{extensions}");
        let payment = ApiError::PaymentRequired {
            plan: "FREE".into(),
            feature: "PHONE_AGENT",
            reason: "PAST_DUE",
        };
        let json = payment.to_json();
        assert_eq!(json["extensions"]["plan"], "FREE");
        assert_eq!(json["extensions"]["feature"], "PHONE_AGENT");
        assert_eq!(json["extensions"]["reason"], "PAST_DUE");
        let gql: async_graphql::Error = payment.into();
        let extensions = serde_json::to_value(&gql.extensions).unwrap_or_default();
        assert_eq!(extensions["feature"], "PHONE_AGENT");
    }
}
