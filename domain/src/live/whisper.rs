//! Who gets Twitch's scarce whispers (40 a day per bot): the whisper priority and the
//! preference for a whisper over a public line.
//!
//! Owns: [`whisper_priority`], [`prefers_whisper`] and the live HOT / VERY_HOT thresholds they
//! use. Must not: spend the budget (see [`super::ReplyCounters::record_reply`]).

use super::score::{LiveScore, PURCHASE_INTENT_POINTS};

/// The order in which scarce whispers are handed out (higher first): the seed's advice is to
/// "reserve whispers for hot leads only". It is `2 × total` (0..=200), plus 1 when the viewer has
/// stated a purchase intent (purchase ≥ [`PURCHASE_INTENT_POINTS`]), so a higher temperature
/// always ranks first (the live bands are contiguous ranges of `total`) and, at equal totals, a
/// declared buyer beats chatter.
pub fn whisper_priority(score: &LiveScore) -> u8 {
    let total = score.total.clamp(0, 100);
    let buyer = i32::from(score.purchase >= PURCHASE_INTENT_POINTS);
    u8::try_from(total * 2 + buyer).unwrap_or(u8::MAX)
}

/// Whether a Twitch reply to this viewer should be a whisper rather than a public line: whispers
/// are scarce (40 a day per bot), so they go to hot leads first. A viewer needs a HOT score
/// ([`whisper_priority`] at least that of a HOT total); once three quarters of the day's whispers
/// are spent, only VERY_HOT viewers still get one, so the last whispers are kept for the hottest.
/// Everyone else is answered in public chat, which costs nothing.
pub fn prefers_whisper(score: &LiveScore, whispers_used_today: u32, whispers_per_day: u32) -> bool {
    let remaining = whispers_per_day.saturating_sub(whispers_used_today);
    if remaining == 0 {
        return false;
    }
    let scarce = u64::from(remaining) * 4 <= u64::from(whispers_per_day);
    let needed = if scarce {
        VERY_HOT_MIN_TOTAL
    } else {
        HOT_MIN_TOTAL
    };
    i32::from(whisper_priority(score)) >= needed * 2
}

/// The least live total that is HOT ([`Temperature::for_live_score`]).
pub const HOT_MIN_TOTAL: i32 = 51;
/// The least live total that is VERY_HOT ([`Temperature::for_live_score`]).
pub const VERY_HOT_MIN_TOTAL: i32 = 76;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::Temperature;

    // ---- whisper_priority ----

    #[test]
    fn whisper_priority_ranks_temperature_then_declared_buyers() {
        let score = |total, purchase| LiveScore {
            total,
            purchase,
            engagement: 0,
            specificity: 0,
            sentiment: 0,
            temperature: Temperature::for_live_score(total),
        };
        assert_eq!(whisper_priority(&score(0, 0)), 0);
        assert_eq!(whisper_priority(&score(100, 40)), 201);
        assert_eq!(whisper_priority(&score(50, 0)), 100);
        assert_eq!(whisper_priority(&score(50, 25)), 101);
        assert!(whisper_priority(&score(50, 25)) < whisper_priority(&score(51, 0)));
        assert_eq!(whisper_priority(&score(-5, 0)), 0, "clamped");
        assert_eq!(whisper_priority(&score(500, 40)), 201, "clamped");
        // Any hotter band outranks every score of a colder band.
        for a in 0..=100 {
            for b in 0..=100 {
                for (pa, pb) in [(0, 40), (40, 0)] {
                    let (sa, sb) = (score(a, pa), score(b, pb));
                    if sa.temperature > sb.temperature {
                        assert!(whisper_priority(&sa) > whisper_priority(&sb), "{a} vs {b}");
                    }
                }
            }
        }
    }

    fn score_of(total: i32, purchase: i32) -> LiveScore {
        LiveScore {
            total,
            purchase,
            engagement: 0,
            specificity: 0,
            sentiment: 0,
            temperature: Temperature::for_live_score(total),
        }
    }

    #[test]
    fn whispers_go_to_hot_viewers_and_the_last_quarter_to_very_hot_ones() {
        // Plenty left: HOT (51) whispers, WARM (50) does not.
        assert!(prefers_whisper(&score_of(51, 0), 0, 40));
        assert!(!prefers_whisper(&score_of(50, 0), 0, 40));
        // 11 left of 40 is not scarce yet (11 × 4 = 44 > 40); 10 left is.
        assert!(prefers_whisper(&score_of(60, 0), 29, 40));
        assert!(!prefers_whisper(&score_of(60, 0), 30, 40));
        assert!(!prefers_whisper(&score_of(75, 25), 30, 40));
        assert!(prefers_whisper(&score_of(76, 0), 30, 40));
        // None left: nobody, however hot.
        assert!(!prefers_whisper(&score_of(100, 40), 40, 40));
        assert!(!prefers_whisper(&score_of(100, 40), 0, 0));
    }
}
