//! The store's column conversion: reading a text column that holds a lifecycle state or a kind
//! into its domain enum (ARCHITECTURE.md §3).
//!
//! The names themselves are written once, in `leadline_domain` (`as_str`/`parse`); rows are
//! written with `as_str()` and read back through [`Stored::stored`]. Every value in these columns
//! was written by us, so an unknown one is a bug or a newer build's row: it is logged and
//! reported as INTERNAL, never replaced by a default.
//!
//! Must not: parse client input (that is BAD_USER_INPUT, at the GraphQL boundary).

use leadline_domain::analysis::{Intent, Provider, Signal};
use leadline_domain::billing::{BillingStatus, Feature, UsageItem};
use leadline_domain::call_analytics::Granularity;
use leadline_domain::calls::{AnsweredBy, CallStatus, CustomerResponse};
use leadline_domain::channel::{Channel, ConnectionStatus};
use leadline_domain::compliance::Consent;
use leadline_domain::conversation::{ConversationStatus, Handler, ParticipantKind, TicketStatus};
use leadline_domain::dealership::{PhoneCallOutcome, TransferResult, Weekday};
use leadline_domain::escalation::TicketPriority;
use leadline_domain::job::JobStatus;
use leadline_domain::lead::{LeadStatus, Temperature};
use leadline_domain::live::{InteractionOutcome, LivePlatform, LiveSessionStatus, Route};
use leadline_domain::messaging::{DeliveryStatus, MessageDirection, SenderKind};
use leadline_domain::nurture::{NurtureChannel, NurtureStage, NurtureStatus, StopReason};
use leadline_domain::tenant::{ApiKeyScope, Role};
use leadline_domain::DomainError;

use crate::error::{ApiError, ApiResult};

/// A domain enum stored in a text column under its stable name.
pub trait Stored: Sized {
    /// Reads a stored name; an unknown one is logged and INTERNAL.
    fn stored(value: &str) -> ApiResult<Self>;
}

/// The error for a stored value this build does not know, logged once here.
fn unknown(error: DomainError) -> ApiError {
    tracing::error!(error = %error, "a stored column holds a value this build does not know");
    ApiError::Internal(anyhow::Error::new(error).context("reading a stored column"))
}

macro_rules! stored {
    ($($ty:ty),+ $(,)?) => {
        $(impl Stored for $ty {
            fn stored(value: &str) -> ApiResult<Self> {
                <$ty>::parse(value).map_err(unknown)
            }
        })+
    };
}

stored!(
    AnsweredBy,
    ApiKeyScope,
    BillingStatus,
    Feature,
    UsageItem,
    CallStatus,
    Channel,
    Consent,
    ConnectionStatus,
    ConversationStatus,
    CustomerResponse,
    DeliveryStatus,
    Granularity,
    Handler,
    Intent,
    InteractionOutcome,
    JobStatus,
    LeadStatus,
    LivePlatform,
    LiveSessionStatus,
    MessageDirection,
    NurtureChannel,
    NurtureStage,
    NurtureStatus,
    ParticipantKind,
    PhoneCallOutcome,
    TransferResult,
    Provider,
    Role,
    Route,
    StopReason,
    SenderKind,
    Signal,
    Temperature,
    TicketPriority,
    TicketStatus,
    Weekday,
    leadline_domain::analysis::ResponseStyle,
);

/// The `as_str` names of `values`, for `IN (...)` filters.
pub fn names<T: Copy, const N: usize>(
    values: [T; N],
    as_str: fn(T) -> &'static str,
) -> [&'static str; N] {
    values.map(as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_name_reads_back_and_an_unknown_one_is_internal() {
        assert!(matches!(
            ConversationStatus::stored("WAITING"),
            Ok(ConversationStatus::Waiting)
        ));
        assert!(matches!(
            LivePlatform::stored("TWITCH"),
            Ok(LivePlatform::Twitch)
        ));
        for bad in ["", "FACEBOOK_LIVE", "youtube"] {
            assert_eq!(
                LivePlatform::stored(bad).map_err(|e| e.code()).err(),
                Some("INTERNAL"),
                "{bad:?}"
            );
        }
        assert_eq!(
            names(ConversationStatus::OPEN, ConversationStatus::as_str),
            ["ACTIVE", "WAITING"]
        );
    }
}
