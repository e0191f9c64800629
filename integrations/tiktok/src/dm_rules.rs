//! TikTok DM policy as data and one pure check (ARCHITECTURE.md §4, seed 001 "Limites"): a
//! business may only answer users who wrote first, within 24 h of their last message, and at
//! most 10 messages per user per day.
//!
//! This module decides; it counts nothing and queues nothing. The caller (the send job) brings
//! the lead's last inbound time and how many messages went to that user in the last 24 h.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Messages per user per day (seed 001).
pub const MAX_MESSAGES_PER_USER_PER_DAY: u32 = 10;
/// How long after the user's last message a reply is allowed (seed 001).
pub const REPLY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// Why a DM may not be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DmRefusal {
    /// The user never wrote: TikTok conversations are user-initiated.
    #[error("the user has not started a conversation")]
    NotUserInitiated,
    /// The user's last message is older than the reply window.
    #[error("the 24 h reply window closed at {closed_at}")]
    WindowClosed {
        /// When it closed.
        closed_at: DateTime<Utc>,
    },
    /// The daily cap for this user is used up.
    #[error("{sent} messages already sent to this user in the last 24 h")]
    DailyLimitReached {
        /// Messages already sent in the last 24 h.
        sent: u32,
    },
}

/// Whether one more DM may go to a user whose last message was at `last_inbound_at`, given
/// `sent_last_24h` messages already sent to them.
pub fn check_can_send(
    last_inbound_at: Option<DateTime<Utc>>,
    sent_last_24h: u32,
    now: DateTime<Utc>,
) -> Result<(), DmRefusal> {
    let last = last_inbound_at.ok_or(DmRefusal::NotUserInitiated)?;
    let window = chrono::Duration::from_std(REPLY_WINDOW).unwrap_or(chrono::Duration::MAX);
    let closed_at = last + window;
    if now >= closed_at {
        return Err(DmRefusal::WindowClosed { closed_at });
    }
    if sent_last_24h >= MAX_MESSAGES_PER_USER_PER_DAY {
        return Err(DmRefusal::DailyLimitReached {
            sent: sent_last_24h,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn replies_need_a_user_message_in_the_last_24_hours() {
        let last = at(1_700_000_000);
        assert_eq!(
            check_can_send(None, 0, last),
            Err(DmRefusal::NotUserInitiated)
        );
        assert_eq!(
            check_can_send(Some(last), 0, at(1_700_000_000 + 86_399)),
            Ok(())
        );
        assert_eq!(
            check_can_send(Some(last), 0, at(1_700_000_000 + 86_400)),
            Err(DmRefusal::WindowClosed {
                closed_at: at(1_700_000_000 + 86_400)
            })
        );
    }

    #[test]
    fn the_tenth_message_is_the_last_one_of_the_day() {
        let last = at(1_700_000_000);
        assert_eq!(check_can_send(Some(last), 9, last), Ok(()));
        assert_eq!(
            check_can_send(Some(last), 10, last),
            Err(DmRefusal::DailyLimitReached { sent: 10 })
        );
    }
}
