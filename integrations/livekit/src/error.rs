//! The one error type of this crate, grouped by what the caller (the call job, the webhook route,
//! `/readyz`) does about it (CONVENTIONS.md "One integration crate"), with the kinds of seed 003:
//! `InvalidPhoneNumber`, `NetworkTimeout` (retry), `CallInitiation` (4xx: give up with the
//! reason), `Configuration` (fix the settings), plus `Transient` (5xx: retry), `Decode` and
//! `SignatureInvalid`.
//!
//! Twirp errors (`{"code","msg","meta"}`, platforms.md §8) are classified once, here, by
//! [`Error::from_twirp`]. Messages never carry an API secret or a token.

use std::collections::BTreeMap;

/// Why a webhook's `Authorization` JWT was refused (platforms.md §8). The route answers 401 to
/// all of them; the variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    /// No `Authorization` header, or not visible ASCII.
    #[error("missing Authorization header")]
    MissingHeader,
    /// Not a JWT (three base64url parts with a JSON header and claims).
    #[error("the Authorization header is not a JWT")]
    Malformed,
    /// The token's `iss` is none of the configured API keys.
    #[error("the token's issuer is not a configured API key")]
    UnknownKey,
    /// The HS256 signature does not match (forged, or signed with another secret), or the
    /// algorithm is not HS256.
    #[error("the token's signature does not match")]
    BadSignature,
    /// `exp` is missing or past (beyond the leeway): a replay or a stale delivery.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The token carries no `sha256` claim, so it does not vouch for any body.
    #[error("the token has no sha256 claim")]
    MissingBodyHash,
    /// The body's SHA-256 is not the one the token vouches for (tampered body).
    #[error("the body does not match the token's sha256 claim")]
    BodyMismatch,
}

/// How a SIP dial ended when LiveKit reports the callee's SIP status (`meta.sip_status_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipDialFailure {
    /// 486 Busy Here, 600 Busy Everywhere.
    Busy,
    /// 408 Request Timeout, 480 Temporarily Unavailable, 487 Request Terminated: nobody answered.
    NoAnswer,
    /// 603 Decline: the callee refused the call.
    Declined,
    /// Any other SIP status (404 unknown number, 403, 5xx of the carrier...).
    Other(u16),
}

impl SipDialFailure {
    /// Classifies a SIP final response status.
    pub fn from_status(code: u16) -> Self {
        match code {
            486 | 600 => SipDialFailure::Busy,
            408 | 480 | 487 => SipDialFailure::NoAnswer,
            603 => SipDialFailure::Declined,
            other => SipDialFailure::Other(other),
        }
    }
}

/// Why a LiveKit call or webhook did not produce a usable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A setting is missing or unusable (API URL, key, secret, SIP trunk id, agent name, webhook
    /// keys). Nothing was sent; fix the configuration.
    #[error("LiveKit is not configured: {0}")]
    Configuration(String),
    /// The number to dial is not E.164 (`+` then 2 to 15 digits, no leading zero). Nothing was
    /// sent.
    #[error("invalid phone number (E.164 expected): {0}")]
    InvalidPhoneNumber(String),
    /// The request did not complete within the client's timeout, or LiveKit answered
    /// `deadline_exceeded`/`canceled` (408). Retry later.
    #[error("LiveKit did not answer in time: {0}")]
    NetworkTimeout(String),
    /// LiveKit refused the request with a 4xx Twirp error (or 501): the same request will fail
    /// again. A SIP dial that reached the callee's network carries its SIP status.
    #[error("LiveKit refused the request (HTTP {status}, {code}): {msg}")]
    CallInitiation {
        /// HTTP status (0 when refused before sending).
        status: u16,
        /// The Twirp code (`not_found`, `invalid_argument`, `permission_denied`...).
        code: String,
        /// Twirp's `msg`.
        msg: String,
        /// `meta.sip_status_code` on SIP dial failures ("486" for busy).
        sip_status_code: Option<u16>,
        /// `meta.sip_status` on SIP dial failures ("Busy Here").
        sip_status: Option<String>,
    },
    /// A 5xx (`internal`, `unavailable`...), `resource_exhausted` (429), or a connection
    /// failure: worth retrying later.
    #[error("transient LiveKit failure (HTTP {status}, {code}): {msg}")]
    Transient {
        /// HTTP status (0 for a connection failure).
        status: u16,
        /// The Twirp code, or `connection` for a transport failure.
        code: String,
        /// Twirp's `msg` or the transport error.
        msg: String,
    },
    /// A 2xx answer or a webhook body that is not the documented JSON.
    #[error("could not decode LiveKit's answer: {0}")]
    Decode(String),
    /// A webhook whose `Authorization` JWT failed verification; answer 401 and do nothing else.
    #[error("LiveKit webhook signature invalid: {0}")]
    SignatureInvalid(#[from] SignatureProblem),
}

/// Twirp's error body (`{"code":"not_found","msg":"..","meta":{..}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct TwirpError {
    /// `invalid_argument`, `not_found`, `unavailable`...
    #[serde(default)]
    pub code: String,
    /// Human-readable reason.
    #[serde(default)]
    pub msg: String,
    /// String-valued extra facts (`sip_status_code`, `sip_status`).
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
}

impl Error {
    /// Whether the same request may succeed if sent again later: timeouts, 5xx, rate limits and
    /// connection failures. The client never retries on its own; the job queue does.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::NetworkTimeout(_) | Error::Transient { .. })
    }

    /// The Twirp code LiveKit answered with, if it answered one.
    pub fn twirp_code(&self) -> Option<&str> {
        match self {
            Error::CallInitiation { code, .. } | Error::Transient { code, .. } => Some(code),
            _ => None,
        }
    }

    /// How a SIP dial failed, when LiveKit reported the callee's SIP status: the api maps
    /// `Busy` to BUSY and `NoAnswer` to NO_ANSWER instead of FAILED.
    pub fn sip_dial_failure(&self) -> Option<SipDialFailure> {
        match self {
            Error::CallInitiation {
                sip_status_code: Some(code),
                ..
            } => Some(SipDialFailure::from_status(*code)),
            _ => None,
        }
    }

    /// Classifies a non-2xx Twirp answer: `status` is the HTTP status, `body` the raw answer.
    /// The Twirp code decides when the body is Twirp's; otherwise the HTTP status does.
    pub fn from_twirp(status: u16, body: &[u8]) -> Self {
        let twirp: TwirpError = serde_json::from_slice(body).unwrap_or_else(|_| TwirpError {
            code: code_for_status(status).to_owned(),
            msg: String::from_utf8_lossy(body).chars().take(300).collect(),
            meta: BTreeMap::new(),
        });
        let sip_status_code = twirp
            .meta
            .get("sip_status_code")
            .and_then(|c| c.trim().parse::<u16>().ok());
        let sip_status = twirp.meta.get("sip_status").cloned();
        // A reported SIP status means the dial reached the callee's network and got a final
        // answer (busy, declined...): dialling again now is the retry policy's call, not a blind
        // transport retry, whatever the Twirp code.
        if sip_status_code.is_some() {
            return Error::CallInitiation {
                status,
                code: twirp.code,
                msg: twirp.msg,
                sip_status_code,
                sip_status,
            };
        }
        match twirp.code.as_str() {
            "deadline_exceeded" | "canceled" => Error::NetworkTimeout(format!(
                "LiveKit answered {} ({}): {}",
                twirp.code, status, twirp.msg
            )),
            "internal" | "unknown" | "dataloss" | "unavailable" | "resource_exhausted" => {
                Error::Transient {
                    status,
                    code: twirp.code,
                    msg: twirp.msg,
                }
            }
            // Unknown codes fall back on the HTTP status class.
            code if !KNOWN_TERMINAL.contains(&code) && status >= 500 => Error::Transient {
                status,
                code: twirp.code,
                msg: twirp.msg,
            },
            _ => Error::CallInitiation {
                status,
                code: twirp.code,
                msg: twirp.msg,
                sip_status_code: None,
                sip_status: None,
            },
        }
    }

    /// Classifies a reqwest transport failure, without its URL.
    pub(crate) fn from_transport(error: &reqwest::Error) -> Self {
        let mut text = if error.is_timeout() {
            "timed out".to_owned()
        } else if error.is_connect() {
            "connection failed".to_owned()
        } else {
            "request failed".to_owned()
        };
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        if error.is_timeout() {
            Error::NetworkTimeout(text)
        } else if error.is_builder() {
            Error::Configuration(format!("the request could not be built: {text}"))
        } else {
            Error::Transient {
                status: 0,
                code: "connection".to_owned(),
                msg: text,
            }
        }
    }
}

/// Twirp codes that say "this request is wrong", whatever the HTTP status.
const KNOWN_TERMINAL: &[&str] = &[
    "invalid_argument",
    "malformed",
    "out_of_range",
    "unauthenticated",
    "permission_denied",
    "not_found",
    "bad_route",
    "already_exists",
    "aborted",
    "failed_precondition",
    "unimplemented",
];

/// The Twirp code of an HTTP status, for answers whose body is not Twirp's (a proxy's 502...):
/// gateways' 502-504 are `unavailable`, other 5xx `internal`, other 4xx `invalid_argument`.
pub fn code_for_status(status: u16) -> &'static str {
    match status {
        401 => "unauthenticated",
        403 => "permission_denied",
        404 => "not_found",
        408 => "deadline_exceeded",
        409 => "already_exists",
        412 => "failed_precondition",
        429 => "resource_exhausted",
        501 => "unimplemented",
        502..=504 => "unavailable",
        // Any other client error is about this request: terminal, like Twirp's own 4xx codes.
        400..=499 => "invalid_argument",
        _ => "internal",
    }
}

/// The HTTP status Twirp answers a code with (platforms.md §8); the fake uses it.
pub fn status_for_code(code: &str) -> u16 {
    match code {
        "invalid_argument" | "malformed" | "out_of_range" => 400,
        "unauthenticated" => 401,
        "permission_denied" => 403,
        "not_found" | "bad_route" => 404,
        "already_exists" | "aborted" => 409,
        "failed_precondition" => 412,
        "resource_exhausted" => 429,
        "canceled" | "deadline_exceeded" => 408,
        "unimplemented" => 501,
        "unavailable" => 503,
        _ => 500,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn twirp(code: &str, meta: &str) -> Error {
        let body = format!(r#"{{"code":"{code}","msg":"why","meta":{{{meta}}}}}"#);
        Error::from_twirp(status_for_code(code), body.as_bytes())
    }

    #[test]
    fn client_errors_are_terminal_call_initiation_failures_with_their_code() {
        for code in [
            "invalid_argument",
            "malformed",
            "out_of_range",
            "unauthenticated",
            "permission_denied",
            "not_found",
            "already_exists",
            "aborted",
            "failed_precondition",
            "unimplemented",
        ] {
            let error = twirp(code, "");
            assert!(
                matches!(&error, Error::CallInitiation { code: c, msg, .. } if c == code && msg == "why"),
                "{code}: {error:?}"
            );
            assert!(!error.is_retryable(), "{code}");
            assert_eq!(error.twirp_code(), Some(code));
        }
    }

    #[test]
    fn server_errors_and_rate_limits_are_transient() {
        for code in [
            "internal",
            "unknown",
            "dataloss",
            "unavailable",
            "resource_exhausted",
        ] {
            let error = twirp(code, "");
            assert!(
                matches!(error, Error::Transient { .. }),
                "{code}: {error:?}"
            );
            assert!(error.is_retryable());
        }
        // A proxy's HTML 502 is not Twirp's body: the status class decides.
        let error = Error::from_twirp(502, b"<html>Bad Gateway</html>");
        assert!(
            matches!(&error, Error::Transient { status: 502, code, .. } if code == "unavailable")
        );
        let error = Error::from_twirp(418, b"teapot");
        assert!(!error.is_retryable());
    }

    #[test]
    fn deadlines_are_network_timeouts() {
        for code in ["deadline_exceeded", "canceled"] {
            let error = twirp(code, "");
            assert!(matches!(error, Error::NetworkTimeout(_)), "{code}");
            assert!(error.is_retryable());
        }
    }

    #[test]
    fn sip_statuses_are_terminal_and_classified() {
        let busy = twirp(
            "unavailable",
            r#""sip_status_code":"486","sip_status":"Busy Here""#,
        );
        assert!(!busy.is_retryable());
        assert_eq!(busy.sip_dial_failure(), Some(SipDialFailure::Busy));
        assert!(
            matches!(&busy, Error::CallInitiation { sip_status: Some(s), .. } if s == "Busy Here")
        );
        let silent = twirp("deadline_exceeded", r#""sip_status_code":"480""#);
        assert_eq!(silent.sip_dial_failure(), Some(SipDialFailure::NoAnswer));
        assert_eq!(SipDialFailure::from_status(603), SipDialFailure::Declined);
        assert_eq!(SipDialFailure::from_status(404), SipDialFailure::Other(404));
        assert_eq!(twirp("not_found", "").sip_dial_failure(), None);
    }

    #[test]
    fn local_refusals_are_not_retryable() {
        for error in [
            Error::Configuration("x".into()),
            Error::InvalidPhoneNumber("x".into()),
            Error::Decode("x".into()),
            Error::SignatureInvalid(SignatureProblem::BodyMismatch),
        ] {
            assert!(!error.is_retryable(), "{error:?}");
            assert_eq!(error.twirp_code(), None);
        }
    }

    #[test]
    fn codes_and_statuses_round_trip() {
        for code in [
            "invalid_argument",
            "unauthenticated",
            "permission_denied",
            "not_found",
            "already_exists",
            "failed_precondition",
            "resource_exhausted",
            "deadline_exceeded",
            "unimplemented",
            "unavailable",
        ] {
            assert_eq!(code_for_status(status_for_code(code)), code);
        }
    }
}
