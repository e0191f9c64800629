//! The one error type of this crate, grouped by what the caller (the billing job, the GraphQL
//! billing mutations, the webhook route, `/readyz`) does about it (CONVENTIONS.md "One
//! integration crate"), plus [`WebhookError`], the reasons a webhook delivery is refused.
//!
//! Stripe answers every API error with one object (platforms.md §9, docs.stripe.com/api/errors):
//! `{"error":{"type","code","message","param","decline_code","doc_url",…}}`. The HTTP status
//! and `type` together decide the variant ([`Error::from_api`]): `card_error` and
//! `invalid_request_error` are terminal and keep `param` (which field was wrong), 401/403 are
//! credential problems, 429 is a rate limit, `api_error` and 5xx are Stripe's trouble,
//! `idempotency_error` is an `Idempotency-Key` reused for a different request.
//!
//! async-stripe hides the response headers (no `Request-Id`, no `Stripe-Should-Retry`, no
//! `Retry-After`) and reports an error answer whose body is not Stripe's error object only as a
//! decode failure without its status (see [`Error::from_stripe`]). Messages never carry the
//! secret key: async-stripe marks the `Authorization` header sensitive and the key is never in a
//! URL.

/// Why a webhook delivery was refused. The route answers 400 to all of them (Stripe's own
/// libraries raise `SignatureVerificationError` and its docs answer 400); the variants exist
/// for logs, metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No `Stripe-Signature` header (or an empty one).
    #[error("missing Stripe-Signature header")]
    MissingHeader,
    /// The header has no `t=`, `t` is not a whole number of seconds, or it is not
    /// `key=value` pairs at all.
    #[error("malformed Stripe-Signature header")]
    MalformedHeader,
    /// The header carries no `v1=` signature (only `v0`, Stripe's test scheme, or nothing):
    /// `v1` is the only scheme Stripe signs live events with.
    #[error("Stripe-Signature has no v1 signature")]
    NoV1Signature,
    /// No `v1` is HMAC-SHA256(any configured secret, t + "." + body): forged, tampered, or
    /// signed with a secret we do not have.
    #[error("no Stripe-Signature v1 matches any webhook secret")]
    Mismatch,
    /// Authentic, but `t` is older than the tolerance (300 s by default): a replay or a
    /// delivery held back too long. Stripe retries with a fresh `t`.
    #[error("the Stripe-Signature timestamp is outside the tolerance (too old)")]
    Stale,
    /// Authentic, but `t` is further in the future than the tolerance: a clock problem on one
    /// side (or a leaked secret minting deliveries that would stay fresh).
    #[error("the Stripe-Signature timestamp is outside the tolerance (in the future)")]
    FromTheFuture,
    /// Correctly signed, but the body is not Stripe's event envelope.
    #[error("could not decode the Stripe event: {0}")]
    Decode(String),
}

/// Why a Stripe call did not produce a usable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A setting is missing or unusable (secret key, base URL, webhook secrets), or an
    /// argument was refused before anything was sent (an id that is not an id, an empty
    /// idempotency key). Nothing was sent.
    #[error("Stripe is not configured or the request is unusable: {0}")]
    Configuration(String),
    /// The secret key was refused (HTTP 401), or lacks the permission (HTTP 403, restricted
    /// keys). Terminal until the key is fixed.
    #[error("Stripe refused the credentials (HTTP {status}): {message}")]
    Unauthorized {
        /// HTTP status (401 or 403).
        status: u16,
        /// Stripe's message (it masks the key itself).
        message: String,
    },
    /// `card_error` (HTTP 402): the card was declined or cannot be charged. Terminal for this
    /// card; the customer has to act.
    #[error("Stripe card error ({code:?}, decline {decline_code:?}): {message}")]
    Card {
        /// Stripe's `code` (`card_declined`, `expired_card`…).
        code: Option<String>,
        /// `decline_code` from the issuer, when given.
        decline_code: Option<String>,
        /// Stripe's message (safe to show to the customer, per Stripe's docs).
        message: String,
        /// The parameter concerned, when given.
        param: Option<String>,
    },
    /// The object does not exist (HTTP 404, `resource_missing`): a deleted customer, a
    /// subscription of another account or mode (test/live).
    #[error("Stripe resource not found ({param:?}): {message}")]
    NotFound {
        /// Stripe's message (`No such subscription: 'sub_…'`).
        message: String,
        /// The parameter naming the missing object, when given.
        param: Option<String>,
    },
    /// `invalid_request_error` (HTTP 400 and other 4xx): the request is wrong and will fail
    /// again; `param` names the field (`line_items[0][price]`).
    #[error("Stripe rejected the request (HTTP {status}, {code:?}, param {param:?}): {message}")]
    InvalidRequest {
        /// HTTP status.
        status: u16,
        /// Stripe's `code` (`resource_missing`, `parameter_missing`…), when given.
        code: Option<String>,
        /// Stripe's message.
        message: String,
        /// The offending parameter, bracket syntax, when given.
        param: Option<String>,
    },
    /// `idempotency_error`: the `Idempotency-Key` was used before with other parameters or
    /// another endpoint (HTTP 400: a bug on our side, terminal), or the first request with this
    /// key is still being processed (HTTP 409: retry later with the same key).
    #[error("Stripe idempotency error (HTTP {status}): {message}")]
    Idempotency {
        /// HTTP status (400 or 409).
        status: u16,
        /// Stripe's message.
        message: String,
    },
    /// Too many requests (HTTP 429): back off and retry. Stripe sends no `Retry-After`, and
    /// async-stripe would not show it anyway.
    #[error("rate limited by Stripe: {message}")]
    RateLimited {
        /// Stripe's message.
        message: String,
    },
    /// `api_error`, a 5xx, a lock conflict (409 without `idempotency_error`), 424, or an error
    /// answer that is not Stripe's error object (a proxy's page): Stripe had a problem; retry
    /// later with the same idempotency key.
    #[error("Stripe is unavailable (HTTP {status:?}): {message}")]
    Unavailable {
        /// HTTP status, when known (unknown when the answer was not Stripe's error object).
        status: Option<u16>,
        /// What went wrong.
        message: String,
    },
    /// A timeout, a refused connection, a reset: the request may or may not have been
    /// executed; retry with the same idempotency key.
    #[error("could not reach Stripe: {0}")]
    Transport(String),
    /// A 2xx answer that is not the documented object.
    #[error("could not decode Stripe's answer: {0}")]
    Decode(String),
    /// A webhook delivery that was refused; see [`WebhookError`].
    #[error("Stripe webhook refused: {0}")]
    Webhook(#[from] WebhookError),
}

/// The message async-stripe gives when an error answer's body is not Stripe's error object
/// (`src/hyper/client.rs` in async-stripe 1.0.0-rc.10). Pinned by a test against the fake, so
/// a new async-stripe that words it differently fails loudly instead of misclassifying.
const NOT_A_STRIPE_ERROR: &str = "error deserializing Stripe error";

/// The parts of Stripe's error object the classification reads, independent of async-stripe's
/// generated type so tests (and the fake) can build one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiErrorObject {
    /// `type`: `api_error`, `card_error`, `idempotency_error`, `invalid_request_error` (SDKs
    /// also know `authentication_error`, `rate_limit_error`).
    pub kind: String,
    /// `code`.
    pub code: Option<String>,
    /// `decline_code`.
    pub decline_code: Option<String>,
    /// `message`.
    pub message: Option<String>,
    /// `param`.
    pub param: Option<String>,
}

impl Error {
    /// Whether the same request may succeed if sent again later (with the same idempotency
    /// key): rate limits, Stripe's own failures, an idempotency key still in flight (409), and
    /// transport failures. The client never retries on its own; the job queue does.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Unavailable { .. } | Error::Transport(_) => true,
            Error::Idempotency { status, .. } => *status == 409,
            _ => false,
        }
    }

    /// The parameter Stripe blamed, for `card_error`, `invalid_request_error` and 404s.
    pub fn param(&self) -> Option<&str> {
        match self {
            Error::Card { param, .. }
            | Error::NotFound { param, .. }
            | Error::InvalidRequest { param, .. } => param.as_deref(),
            _ => None,
        }
    }

    /// Classifies one of Stripe's error answers: HTTP `status` and the error object.
    pub fn from_api(status: u16, error: ApiErrorObject) -> Error {
        let message = error
            .message
            .clone()
            .unwrap_or_else(|| format!("{} (no message)", error.kind));
        // Status first where it is unambiguous: Stripe answers 401 with
        // `type: invalid_request_error`, and 429 with either that or `rate_limit_error`.
        match status {
            401 | 403 => return Error::Unauthorized { status, message },
            429 => return Error::RateLimited { message },
            _ => {}
        }
        match error.kind.as_str() {
            "idempotency_error" => Error::Idempotency { status, message },
            "card_error" => Error::Card {
                code: error.code,
                decline_code: error.decline_code,
                message,
                param: error.param,
            },
            "authentication_error" => Error::Unauthorized { status, message },
            "rate_limit_error" => Error::RateLimited { message },
            _ if status >= 500 || error.kind == "api_error" => Error::Unavailable {
                status: Some(status),
                message,
            },
            // 409 (a lock on the object, not the key) and 424 (an external dependency failed)
            // are transient: Stripe's libraries retry them.
            _ if status == 409 || status == 424 => Error::Unavailable {
                status: Some(status),
                message,
            },
            _ if status == 404 => Error::NotFound {
                message,
                param: error.param,
            },
            _ => Error::InvalidRequest {
                status,
                code: error.code,
                message,
                param: error.param,
            },
        }
    }

    /// Classifies what async-stripe returned.
    pub fn from_stripe(err: stripe::StripeError) -> Error {
        use stripe::StripeError as S;
        match err {
            S::Stripe(api, status) => Error::from_api(
                status,
                ApiErrorObject {
                    kind: api.type_.as_str().to_owned(),
                    code: api.code.as_ref().map(|c| c.as_str().to_owned()),
                    decline_code: api.decline_code.clone(),
                    message: api.message.clone(),
                    param: api.param.clone(),
                },
            ),
            // async-stripe drops the status when an error answer is not Stripe's JSON (a
            // proxy's or load balancer's page, an empty 502). Stripe itself always answers its
            // error object, so such an answer came from in front of Stripe: transient.
            S::JSONDeserialize(message) if message == NOT_A_STRIPE_ERROR => Error::Unavailable {
                status: None,
                message: "an error answer that is not Stripe's error object".to_owned(),
            },
            S::JSONDeserialize(message) => Error::Decode(message),
            S::Timeout => Error::Transport("timed out".to_owned()),
            S::ClientError(message) => Error::Transport(message),
            S::ConfigError(message) => Error::Configuration(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &str) -> ApiErrorObject {
        ApiErrorObject {
            kind: kind.to_owned(),
            message: Some("m".to_owned()),
            param: Some("p".to_owned()),
            ..ApiErrorObject::default()
        }
    }

    /// A status and error type, how to recognise the variant, and whether it is retryable.
    type Case = (u16, &'static str, fn(&Error) -> bool, bool);

    #[test]
    fn statuses_and_types_map_to_what_the_caller_does() {
        let cases: &[Case] = &[
            (
                400,
                "invalid_request_error",
                |e| matches!(e, Error::InvalidRequest { status: 400, .. }),
                false,
            ),
            (
                402,
                "card_error",
                |e| matches!(e, Error::Card { .. }),
                false,
            ),
            (
                401,
                "invalid_request_error",
                |e| matches!(e, Error::Unauthorized { status: 401, .. }),
                false,
            ),
            (
                403,
                "invalid_request_error",
                |e| matches!(e, Error::Unauthorized { status: 403, .. }),
                false,
            ),
            (
                404,
                "invalid_request_error",
                |e| matches!(e, Error::NotFound { .. }),
                false,
            ),
            (
                400,
                "idempotency_error",
                |e| matches!(e, Error::Idempotency { status: 400, .. }),
                false,
            ),
            (
                409,
                "idempotency_error",
                |e| matches!(e, Error::Idempotency { status: 409, .. }),
                true,
            ),
            (
                409,
                "invalid_request_error",
                |e| matches!(e, Error::Unavailable { .. }),
                true,
            ),
            (
                429,
                "invalid_request_error",
                |e| matches!(e, Error::RateLimited { .. }),
                true,
            ),
            (
                429,
                "rate_limit_error",
                |e| matches!(e, Error::RateLimited { .. }),
                true,
            ),
            (
                500,
                "api_error",
                |e| {
                    matches!(
                        e,
                        Error::Unavailable {
                            status: Some(500),
                            ..
                        }
                    )
                },
                true,
            ),
            (
                503,
                "invalid_request_error",
                |e| matches!(e, Error::Unavailable { .. }),
                true,
            ),
            (
                400,
                "api_error",
                |e| matches!(e, Error::Unavailable { .. }),
                true,
            ),
            (
                424,
                "invalid_request_error",
                |e| matches!(e, Error::Unavailable { .. }),
                true,
            ),
            (
                400,
                "some_future_type",
                |e| matches!(e, Error::InvalidRequest { .. }),
                false,
            ),
        ];
        for (status, kind, is, retryable) in cases {
            let error = Error::from_api(*status, object(kind));
            assert!(is(&error), "{status} {kind} → {error:?}");
            assert_eq!(error.is_retryable(), *retryable, "{status} {kind}");
        }
    }

    #[test]
    fn param_is_kept_for_terminal_request_errors() {
        assert_eq!(
            Error::from_api(400, object("invalid_request_error")).param(),
            Some("p")
        );
        assert_eq!(
            Error::from_api(402, object("card_error")).param(),
            Some("p")
        );
        assert_eq!(Error::from_api(500, object("api_error")).param(), None);
    }

    #[test]
    fn library_failures_are_classified() {
        use stripe::StripeError as S;
        assert!(Error::from_stripe(S::Timeout).is_retryable());
        assert!(Error::from_stripe(S::ClientError("refused".into())).is_retryable());
        let proxy = Error::from_stripe(S::JSONDeserialize(NOT_A_STRIPE_ERROR.into()));
        assert!(matches!(proxy, Error::Unavailable { status: None, .. }));
        let decode = Error::from_stripe(S::JSONDeserialize(
            "error deserializing request data".into(),
        ));
        assert!(matches!(decode, Error::Decode(_)) && !decode.is_retryable());
        assert!(matches!(
            Error::from_stripe(S::ConfigError("bad".into())),
            Error::Configuration(_)
        ));
    }
}
