//! The one error type of the domain: every variant is a rejected value or a refused transition,
//! so callers can name the offending input in their own error (e.g. GraphQL BAD_USER_INPUT).

/// Why a value or a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A phone number that cannot be read as an E.164 number.
    #[error("invalid phone number {input:?}: {reason}")]
    InvalidPhone { input: String, reason: String },
    /// A currency code that is not an active ISO-4217 code.
    #[error("unknown ISO-4217 currency code {0:?}")]
    InvalidCurrency(String),
    /// A money amount that is out of range (negative or too large).
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// A tenant slug that is not 3-40 lowercase letters, digits or inner dashes.
    #[error("invalid slug {0:?}: use 3-40 lowercase letters, digits and dashes, starting with a letter or digit")]
    InvalidSlug(String),
    /// An e-mail address that does not look like one.
    #[error("invalid e-mail address {0:?}")]
    InvalidEmail(String),
    /// A password that is too weak or too long.
    #[error("invalid password: {0}")]
    InvalidPassword(String),
    /// A value outside its allowed set or range.
    #[error("{field}: {message}")]
    OutOfRange {
        field: &'static str,
        message: String,
    },
    /// An enum value that is not known.
    #[error("unknown {kind} {value:?}")]
    UnknownVariant { kind: &'static str, value: String },
}
