//! Lead lifecycle and the inbox scoring model (ARCHITECTURE.md §4): a new lead starts at 50
//! (WARM); each detected signal moves the score by a fixed delta; the score is clamped to 0..=100
//! and its temperature follows from it. The live-stream model (four weighted components) maps
//! scores to temperatures with its own bands, also here.

use serde::{Deserialize, Serialize};

use crate::analysis::Signal;
use crate::DomainError;

/// The score every new inbox lead starts with.
pub const INITIAL_SCORE: i32 = 50;
/// Lowest possible score.
pub const MIN_SCORE: i32 = 0;
/// Highest possible score.
pub const MAX_SCORE: i32 = 100;

/// Where a lead stands in the sales pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LeadStatus {
    New,
    Contacted,
    Nurture,
    ClosedWon,
    ClosedLost,
}

impl LeadStatus {
    /// Every status.
    pub const ALL: [LeadStatus; 5] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Nurture,
        LeadStatus::ClosedWon,
        LeadStatus::ClosedLost,
    ];

    /// The stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "NEW",
            LeadStatus::Contacted => "CONTACTED",
            LeadStatus::Nurture => "NURTURE",
            LeadStatus::ClosedWon => "CLOSED_WON",
            LeadStatus::ClosedLost => "CLOSED_LOST",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        LeadStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "lead status",
                value: value.to_owned(),
            })
    }
}

/// How close a lead is to buying, derived from the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Temperature {
    Cold,
    Warm,
    Hot,
    VeryHot,
}

impl Temperature {
    /// Every temperature, coldest first.
    pub const ALL: [Temperature; 4] = [
        Temperature::Cold,
        Temperature::Warm,
        Temperature::Hot,
        Temperature::VeryHot,
    ];

    /// The stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Temperature::Cold => "COLD",
            Temperature::Warm => "WARM",
            Temperature::Hot => "HOT",
            Temperature::VeryHot => "VERY_HOT",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        Temperature::ALL
            .into_iter()
            .find(|t| t.as_str() == value)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "temperature",
                value: value.to_owned(),
            })
    }

    /// Inbox bands: ≥70 HOT, ≥40 WARM, else COLD.
    pub fn for_inbox_score(score: i32) -> Self {
        match score {
            s if s >= 70 => Temperature::Hot,
            s if s >= 40 => Temperature::Warm,
            _ => Temperature::Cold,
        }
    }

    /// Live-stream bands: 0–25 COLD, 26–50 WARM, 51–75 HOT, 76–100 VERY_HOT.
    pub fn for_live_score(score: i32) -> Self {
        match score {
            s if s >= 76 => Temperature::VeryHot,
            s if s >= 51 => Temperature::Hot,
            s if s >= 26 => Temperature::Warm,
            _ => Temperature::Cold,
        }
    }
}

/// The inbox model's score change for one detected signal.
pub fn inbox_signal_delta(signal: Signal) -> i32 {
    match signal {
        Signal::Interested => 10,
        Signal::Urgent => 15,
        Signal::BudgetMentioned => 20,
        Signal::DecisionMaker => 15,
        Signal::Comparing => 5,
        Signal::NotInterested => -20,
        Signal::Spam => -50,
    }
}

/// The largest single manual adjustment accepted (a full swing of the scale).
pub const MAX_ADJUSTMENT: i32 = MAX_SCORE - MIN_SCORE;

/// The outcome of applying a delta to a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreChange {
    pub previous: i32,
    pub score: i32,
    pub temperature: Temperature,
}

/// Applies `delta` to `previous` under the inbox model: clamped to 0..=100.
///
/// A delta beyond ±100 is refused rather than silently clamped, because it is always a caller bug.
pub fn apply_inbox_delta(previous: i32, delta: i32) -> Result<ScoreChange, DomainError> {
    if !(-MAX_ADJUSTMENT..=MAX_ADJUSTMENT).contains(&delta) {
        return Err(DomainError::OutOfRange {
            field: "delta",
            message: format!("must be between -{MAX_ADJUSTMENT} and {MAX_ADJUSTMENT}, got {delta}"),
        });
    }
    let score = previous.saturating_add(delta).clamp(MIN_SCORE, MAX_SCORE);
    Ok(ScoreChange {
        previous,
        score,
        temperature: Temperature::for_inbox_score(score),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_bands_follow_the_seed_thresholds() {
        let table = [
            (0, "COLD"),
            (39, "COLD"),
            (40, "WARM"),
            (50, "WARM"),
            (69, "WARM"),
            (70, "HOT"),
            (100, "HOT"),
        ];
        for (score, want) in table {
            assert_eq!(
                Temperature::for_inbox_score(score).as_str(),
                want,
                "score {score}"
            );
        }
    }

    #[test]
    fn live_bands_follow_the_seed_thresholds() {
        let table = [
            (0, "COLD"),
            (25, "COLD"),
            (26, "WARM"),
            (50, "WARM"),
            (51, "HOT"),
            (75, "HOT"),
            (76, "VERY_HOT"),
            (100, "VERY_HOT"),
        ];
        for (score, want) in table {
            assert_eq!(
                Temperature::for_live_score(score).as_str(),
                want,
                "score {score}"
            );
        }
    }

    #[test]
    fn deltas_clamp_to_the_scale() {
        assert_eq!(apply_inbox_delta(50, 20).map(|c| c.score), Ok(70));
        assert_eq!(apply_inbox_delta(95, 20).map(|c| c.score), Ok(100));
        assert_eq!(apply_inbox_delta(10, -50).map(|c| c.score), Ok(0));
        assert_eq!(
            apply_inbox_delta(50, 20).map(|c| c.temperature),
            Ok(Temperature::Hot)
        );
        assert!(apply_inbox_delta(50, 101).is_err());
        assert!(apply_inbox_delta(50, i32::MIN).is_err());
    }

    #[test]
    fn signal_deltas_match_the_inbox_seed() {
        let sum: i32 = [
            Signal::Interested,
            Signal::Urgent,
            Signal::BudgetMentioned,
            Signal::DecisionMaker,
            Signal::Comparing,
        ]
        .into_iter()
        .map(inbox_signal_delta)
        .sum();
        assert_eq!(sum, 65);
        assert_eq!(inbox_signal_delta(Signal::NotInterested), -20);
        assert_eq!(inbox_signal_delta(Signal::Spam), -50);
    }

    #[test]
    fn statuses_round_trip() {
        for s in LeadStatus::ALL {
            assert_eq!(LeadStatus::parse(s.as_str()), Ok(s));
        }
        for t in Temperature::ALL {
            assert_eq!(Temperature::parse(t.as_str()), Ok(t));
        }
    }
}
