//! TikTok DM policy as data and one pure check (ARCHITECTURE.md §4, seed 001 "Limites"): a
//! business may only answer users who wrote first, within 24 h of their last message, and at
//! most 10 messages per user per day.
//!
//! LIVE viewers (seed `TikTokLiveService`: "DM requires user to follow account", "24-hour
//! messaging window"): [`check_can_dm_live_viewer`] allows a DM only to a follower of the
//! account who commented or wrote within the last 24 h, under the same 10-per-day cap. Whether
//! TikTok itself counts a LIVE comment as the user starting a conversation is UNCONFIRMED
//! (Business Messaging is user-initiated, platforms.md §3): TikTok may still refuse the send.
//!
//! This module decides; it counts nothing and queues nothing. The caller (the send job) brings
//! the lead's last inbound time and how many messages went to that user in the last 24 h.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Messages per user per day (seed 001). The rule is defined once in the domain as
/// `leadline_domain::live::TIKTOK_DMS_PER_USER_PER_DAY` (which the api's send gate enforces);
/// this crate keeps a copy because integrations depend on nothing of ours (ARCHITECTURE.md),
/// so change both together.
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

/// What the caller knows about a LIVE viewer it wants to DM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveViewer {
    /// The viewer follows the account (the comment's `user.is_follower`, latest seen).
    pub is_follower: bool,
    /// The later of their last LIVE comment and their last DM to the account.
    pub last_interaction_at: DateTime<Utc>,
    /// DMs already sent to them in the last 24 h.
    pub sent_last_24h: u32,
}

/// Why a DM to a LIVE viewer may not be sent now. [`LiveDmRefusal::code`] is stable (shown to
/// the dashboard and stored with the skipped reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LiveDmRefusal {
    /// The viewer does not follow the account.
    #[error("the viewer does not follow the account")]
    NotFollower,
    /// The viewer's last comment or message is 24 h old or older.
    #[error("the 24 h window closed at {closed_at}")]
    WindowClosed {
        /// When it closed.
        closed_at: DateTime<Utc>,
    },
    /// The daily cap for this viewer is used up.
    #[error("{sent} messages already sent to this viewer in the last 24 h")]
    DailyCapReached {
        /// Messages already sent in the last 24 h.
        sent: u32,
    },
}

impl LiveDmRefusal {
    /// The stable code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            LiveDmRefusal::NotFollower => "TIKTOK_NOT_FOLLOWER",
            LiveDmRefusal::WindowClosed { .. } => "TIKTOK_WINDOW_CLOSED",
            LiveDmRefusal::DailyCapReached { .. } => "TIKTOK_DAILY_CAP_REACHED",
        }
    }
}

/// Whether one more DM may go to `viewer` at `now`. Checked in this order: following, then the
/// window (closed at exactly 24 h, like [`check_can_send`]), then the cap (the 10th DM is the
/// last).
pub fn check_can_dm_live_viewer(
    viewer: &LiveViewer,
    now: DateTime<Utc>,
) -> Result<(), LiveDmRefusal> {
    if !viewer.is_follower {
        return Err(LiveDmRefusal::NotFollower);
    }
    let window = chrono::Duration::from_std(REPLY_WINDOW).unwrap_or(chrono::Duration::MAX);
    let closed_at = viewer.last_interaction_at + window;
    if now >= closed_at {
        return Err(LiveDmRefusal::WindowClosed { closed_at });
    }
    if viewer.sent_last_24h >= MAX_MESSAGES_PER_USER_PER_DAY {
        return Err(LiveDmRefusal::DailyCapReached {
            sent: viewer.sent_last_24h,
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

    fn viewer(is_follower: bool, last: i64, sent: u32) -> LiveViewer {
        LiveViewer {
            is_follower,
            last_interaction_at: at(last),
            sent_last_24h: sent,
        }
    }

    #[test]
    fn a_live_viewer_dm_needs_a_follower_within_24_hours_under_the_cap() {
        let t = 1_700_000_000;
        let day = 86_400;
        for (case, viewer, now, expected) in [
            ("follower, just commented", viewer(true, t, 0), t, Ok(())),
            (
                "one second before 24 h",
                viewer(true, t, 0),
                t + day - 1,
                Ok(()),
            ),
            (
                "exactly 24 h",
                viewer(true, t, 0),
                t + day,
                Err(LiveDmRefusal::WindowClosed {
                    closed_at: at(t + day),
                }),
            ),
            ("9 sent: the 10th is allowed", viewer(true, t, 9), t, Ok(())),
            (
                "10 sent: the 11th is refused",
                viewer(true, t, 10),
                t,
                Err(LiveDmRefusal::DailyCapReached { sent: 10 }),
            ),
            (
                "not a follower, even fresh and unused",
                viewer(false, t, 0),
                t,
                Err(LiveDmRefusal::NotFollower),
            ),
            (
                "not a follower is reported before a closed window",
                viewer(false, t, 10),
                t + 2 * day,
                Err(LiveDmRefusal::NotFollower),
            ),
            (
                "a closed window is reported before the cap",
                viewer(true, t, 10),
                t + day,
                Err(LiveDmRefusal::WindowClosed {
                    closed_at: at(t + day),
                }),
            ),
        ] {
            assert_eq!(
                check_can_dm_live_viewer(&viewer, at(now)),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn live_refusal_codes_are_stable() {
        assert_eq!(LiveDmRefusal::NotFollower.code(), "TIKTOK_NOT_FOLLOWER");
        assert_eq!(
            LiveDmRefusal::WindowClosed { closed_at: at(0) }.code(),
            "TIKTOK_WINDOW_CLOSED"
        );
        assert_eq!(
            LiveDmRefusal::DailyCapReached { sent: 10 }.code(),
            "TIKTOK_DAILY_CAP_REACHED"
        );
    }
}
