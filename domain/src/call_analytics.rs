//! Call analytics for a dealership's dashboard (seed 004 "Analytics Dashboard"): totals, answer
//! and transfer counts, durations, appointments, conversion, cost per lead and a volume series
//! over a period.
//!
//! Owns: the period's validation (from before to, bounded length and number of buckets), the
//! bucket boundaries in the tenant's time zone (a DAY starts at local midnight, DST included),
//! and every figure computed from plain facts about calls.
//!
//! Must not: read calls, usage or settings itself (the caller passes [`CallFact`]s, the AI cost
//! of the period and the per-minute rate), nor read the clock.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::DomainError;

/// Longest period analysed, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// Most buckets in one series (31 days of hours).
pub const MAX_BUCKETS: usize = 744;

named_enum! {
    /// The width of one bucket of the volume series.
    pub enum Granularity("granularity") {
        /// One bucket per local hour.
        Hour => "HOUR",
        /// One bucket per local day (midnight to midnight).
        Day => "DAY",
    }
}

/// What the analytics need to know about one call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallFact {
    /// When the call was created (placed or received).
    pub at: DateTime<Utc>,
    /// The lead called or calling, when known.
    pub lead_id: Option<Uuid>,
    /// True for a call the dealership received.
    pub inbound: bool,
    /// A person answered (not a machine, not unanswered).
    pub answered: bool,
    /// The call was handed to a human.
    pub transferred: bool,
    /// An appointment was booked on it.
    pub booked: bool,
    /// Seconds from answer to end, once it ended.
    pub duration_seconds: Option<i64>,
}

/// A validated period and how to cut it.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: Granularity,
    zone: Tz,
    starts: Vec<DateTime<Utc>>,
}

impl Period {
    /// `[from, to)` cut in `granularity` buckets of `zone`'s wall clock. Refused: `to` not after
    /// `from`, more than [`MAX_PERIOD_DAYS`], or more than [`MAX_BUCKETS`] buckets.
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        granularity: Granularity,
        zone: Tz,
    ) -> Result<Self, DomainError> {
        if to <= from {
            return Err(DomainError::OutOfRange {
                field: "to",
                message: "must be after `from`".into(),
            });
        }
        if to - from > Duration::days(MAX_PERIOD_DAYS) {
            return Err(DomainError::OutOfRange {
                field: "to",
                message: format!("the period is at most {MAX_PERIOD_DAYS} days"),
            });
        }
        let mut starts = vec![bucket_start(from, granularity, zone)];
        while let Some(last) = starts.last().copied() {
            let next = next_start(last, granularity, zone);
            if next >= to {
                break;
            }
            if starts.len() == MAX_BUCKETS {
                return Err(DomainError::OutOfRange {
                    field: "granularity",
                    message: format!(
                        "the series would have more than {MAX_BUCKETS} buckets; use a shorter \
                         period or DAY"
                    ),
                });
            }
            starts.push(next);
        }
        Ok(Period {
            from,
            to,
            granularity,
            zone,
            starts,
        })
    }

    /// The start of each bucket, in order (the first may be before `from`: it is the start of
    /// the local hour or day `from` falls in).
    pub fn bucket_starts(&self) -> &[DateTime<Utc>] {
        &self.starts
    }

    /// Whether `at` is inside `[from, to)`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }

    /// The period's start.
    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    /// The period's end (excluded).
    pub fn to(&self) -> DateTime<Utc> {
        self.to
    }

    /// The bucket width.
    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// The zone the buckets follow.
    pub fn zone(&self) -> Tz {
        self.zone
    }
}

/// The local midnight that starts `date` in `zone`; where a DST change skips midnight, the
/// first instant of the day that exists.
fn local_midnight(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    for hour in 0..24 {
        if let Some(at) = date
            .and_hms_opt(hour, 0, 0)
            .and_then(|naive| zone.from_local_datetime(&naive).earliest())
        {
            return at.with_timezone(&Utc);
        }
    }
    // No zone skips a whole day's hours; UTC midnight is a safe answer if one ever did.
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn bucket_start(at: DateTime<Utc>, granularity: Granularity, zone: Tz) -> DateTime<Utc> {
    let local = at.with_timezone(&zone);
    match granularity {
        // Truncating the local minutes and seconds in real time keeps every hour distinct, also
        // the repeated hour when clocks go back.
        Granularity::Hour => {
            at - Duration::minutes(i64::from(local.minute()))
                - Duration::seconds(i64::from(local.second()))
                - Duration::nanoseconds(i64::from(local.nanosecond()))
        }
        Granularity::Day => local_midnight(local.date_naive(), zone),
    }
}

fn next_start(start: DateTime<Utc>, granularity: Granularity, zone: Tz) -> DateTime<Utc> {
    match granularity {
        Granularity::Hour => start + Duration::hours(1),
        Granularity::Day => {
            let date = start.with_timezone(&zone).date_naive();
            date.succ_opt()
                .map(|next| local_midnight(next, zone))
                .unwrap_or(start + Duration::days(1))
        }
    }
}

/// One bucket of the volume series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeBucket {
    /// Where the bucket starts.
    pub start: DateTime<Utc>,
    /// Calls in it.
    pub total: u32,
    /// Of which inbound.
    pub inbound: u32,
    /// Of which outbound.
    pub outbound: u32,
    /// Of which answered by a person.
    pub answered: u32,
    /// Of which booked an appointment.
    pub booked: u32,
}

/// The figures of a period.
#[derive(Debug, Clone, PartialEq)]
pub struct CallAnalytics {
    /// Calls in the period.
    pub total: u32,
    /// Received.
    pub inbound: u32,
    /// Placed.
    pub outbound: u32,
    /// Answered by a person.
    pub answered: u32,
    /// Handed to a human.
    pub transferred: u32,
    /// Mean seconds of the calls that have a duration.
    pub average_duration_seconds: Option<f64>,
    /// Median seconds of the calls that have a duration.
    pub median_duration_seconds: Option<f64>,
    /// Calls on which an appointment was booked.
    pub appointments_booked: u32,
    /// Booked ÷ answered (0 when none was answered).
    pub conversion_rate: f64,
    /// Billed minutes: each call's duration rounded up to whole minutes, as carriers bill.
    pub telephony_minutes: i64,
    /// `telephony_minutes` × the rate.
    pub telephony_cost_micros: i64,
    /// The AI's cost in the period.
    pub ai_cost_micros: i64,
    /// Distinct leads the calls were with.
    pub leads: u32,
    /// (telephony + AI cost) ÷ leads; `None` without leads.
    pub cost_per_lead_micros: Option<i64>,
    /// Calls per bucket, every bucket of the period included.
    pub series: Vec<VolumeBucket>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The figures of `facts` over `period` (facts outside it are ignored), with telephony billed at
/// `rate_micros_per_minute` and `ai_cost_micros` spent by the AI in the period.
pub fn analyze(
    facts: &[CallFact],
    period: &Period,
    rate_micros_per_minute: i64,
    ai_cost_micros: i64,
) -> CallAnalytics {
    let inside: Vec<&CallFact> = facts.iter().filter(|f| period.contains(f.at)).collect();
    let mut durations: Vec<i64> = inside
        .iter()
        .filter_map(|f| f.duration_seconds)
        .map(|d| d.max(0))
        .collect();
    durations.sort_unstable();
    let average = (!durations.is_empty())
        .then(|| durations.iter().map(|d| *d as f64).sum::<f64>() / durations.len() as f64);
    let median = match durations.len() {
        0 => None,
        n if n % 2 == 1 => Some(durations[n / 2] as f64),
        n => Some((durations[n / 2 - 1] + durations[n / 2]) as f64 / 2.0),
    };
    let telephony_minutes: i64 = durations
        .iter()
        .map(|d| (d.saturating_add(59)) / 60)
        .fold(0i64, i64::saturating_add);
    let telephony_cost_micros = telephony_minutes.saturating_mul(rate_micros_per_minute.max(0));
    let mut leads: Vec<Uuid> = inside.iter().filter_map(|f| f.lead_id).collect();
    leads.sort_unstable();
    leads.dedup();
    let answered = count(inside.iter().filter(|f| f.answered).count());
    let booked = count(inside.iter().filter(|f| f.booked).count());
    let spent = telephony_cost_micros.saturating_add(ai_cost_micros.max(0));
    let mut series: Vec<VolumeBucket> = period
        .bucket_starts()
        .iter()
        .map(|start| VolumeBucket {
            start: *start,
            total: 0,
            inbound: 0,
            outbound: 0,
            answered: 0,
            booked: 0,
        })
        .collect();
    for fact in &inside {
        let index = period
            .bucket_starts()
            .partition_point(|start| *start <= fact.at)
            .saturating_sub(1);
        if let Some(bucket) = series.get_mut(index) {
            bucket.total += 1;
            if fact.inbound {
                bucket.inbound += 1;
            } else {
                bucket.outbound += 1;
            }
            bucket.answered += u32::from(fact.answered);
            bucket.booked += u32::from(fact.booked);
        }
    }
    let inbound = count(inside.iter().filter(|f| f.inbound).count());
    CallAnalytics {
        total: count(inside.len()),
        inbound,
        outbound: count(inside.len()).saturating_sub(inbound),
        answered,
        transferred: count(inside.iter().filter(|f| f.transferred).count()),
        average_duration_seconds: average,
        median_duration_seconds: median,
        appointments_booked: booked,
        conversion_rate: if answered == 0 {
            0.0
        } else {
            f64::from(booked) / f64::from(answered)
        },
        telephony_minutes,
        telephony_cost_micros,
        ai_cost_micros: ai_cost_micros.max(0),
        leads: count(leads.len()),
        cost_per_lead_micros: (!leads.is_empty()).then(|| spent / leads.len() as i64),
        series,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fact(when: &str, inbound: bool, answered: bool, duration: Option<i64>) -> CallFact {
        CallFact {
            at: at(when),
            lead_id: None,
            inbound,
            answered,
            transferred: false,
            booked: false,
            duration_seconds: duration,
        }
    }

    #[test]
    fn a_period_must_run_forwards_and_stay_bounded() {
        let utc = chrono_tz::UTC;
        let from = at("2026-12-01T00:00:00Z");
        assert!(Period::new(from, from, Granularity::Day, utc).is_err());
        assert!(Period::new(from, from - Duration::hours(1), Granularity::Day, utc).is_err());
        assert!(Period::new(from, from + Duration::days(367), Granularity::Day, utc).is_err());
        assert!(Period::new(from, from + Duration::days(366), Granularity::Day, utc).is_ok());
        // 31 days of hours is the most; 32 is refused with a hint.
        assert_eq!(
            Period::new(from, from + Duration::days(31), Granularity::Hour, utc)
                .unwrap()
                .bucket_starts()
                .len(),
            744
        );
        let refused = Period::new(from, from + Duration::days(32), Granularity::Hour, utc);
        assert!(matches!(
            refused,
            Err(DomainError::OutOfRange {
                field: "granularity",
                ..
            })
        ));
    }

    #[test]
    fn days_start_at_local_midnight_across_a_dst_change() {
        let zone: Tz = "America/New_York".parse().unwrap();
        // 2026-11-01: clocks go back at 02:00 EDT; that day has 25 hours.
        let period = Period::new(
            at("2026-10-31T12:00:00Z"),
            at("2026-11-02T12:00:00Z"),
            Granularity::Day,
            zone,
        )
        .unwrap();
        assert_eq!(
            period.bucket_starts(),
            [
                at("2026-10-31T04:00:00Z"),
                at("2026-11-01T04:00:00Z"),
                at("2026-11-02T05:00:00Z"),
            ]
        );
    }

    #[test]
    fn hours_follow_the_local_clock_of_half_hour_zones() {
        let zone: Tz = "Asia/Kolkata".parse().unwrap();
        let period = Period::new(
            at("2026-12-01T10:40:00Z"),
            at("2026-12-01T12:00:00Z"),
            Granularity::Hour,
            zone,
        )
        .unwrap();
        assert_eq!(
            period.bucket_starts(),
            [at("2026-12-01T10:30:00Z"), at("2026-12-01T11:30:00Z")]
        );
    }

    #[test]
    fn figures_of_a_known_set_of_calls() {
        let lead_a = Uuid::from_u128(1);
        let lead_b = Uuid::from_u128(2);
        let mut facts = vec![
            CallFact {
                lead_id: Some(lead_a),
                booked: true,
                ..fact("2026-12-01T09:10:00Z", true, true, Some(61))
            },
            CallFact {
                lead_id: Some(lead_a),
                transferred: true,
                ..fact("2026-12-01T09:50:00Z", true, true, Some(120))
            },
            CallFact {
                lead_id: Some(lead_b),
                ..fact("2026-12-02T15:00:00Z", false, true, Some(30))
            },
            fact("2026-12-02T16:00:00Z", false, false, None),
            // Outside the period.
            fact("2026-12-05T16:00:00Z", false, true, Some(600)),
        ];
        facts.push(CallFact {
            lead_id: Some(lead_b),
            booked: true,
            ..fact("2026-12-02T17:00:00Z", false, true, Some(300))
        });
        let period = Period::new(
            at("2026-12-01T00:00:00Z"),
            at("2026-12-03T00:00:00Z"),
            Granularity::Day,
            chrono_tz::UTC,
        )
        .unwrap();
        let figures = analyze(&facts, &period, 13_000, 4_000);
        assert_eq!(
            (figures.total, figures.inbound, figures.outbound),
            (5, 2, 3)
        );
        assert_eq!((figures.answered, figures.transferred), (4, 1));
        assert_eq!(figures.appointments_booked, 2);
        assert!((figures.conversion_rate - 0.5).abs() < 1e-9);
        // 61, 120, 30, 300 seconds.
        assert_eq!(figures.average_duration_seconds, Some(127.75));
        assert_eq!(figures.median_duration_seconds, Some(90.5));
        // 2 + 2 + 1 + 5 billed minutes.
        assert_eq!(figures.telephony_minutes, 10);
        assert_eq!(figures.telephony_cost_micros, 130_000);
        assert_eq!(figures.leads, 2);
        assert_eq!(figures.cost_per_lead_micros, Some(67_000));
        assert_eq!(figures.series.len(), 2);
        assert_eq!((figures.series[0].total, figures.series[0].inbound), (2, 2));
        assert_eq!(
            (
                figures.series[1].total,
                figures.series[1].outbound,
                figures.series[1].answered,
                figures.series[1].booked
            ),
            (3, 3, 2, 1)
        );
    }

    #[test]
    fn an_empty_period_has_zeroes_and_every_bucket() {
        let period = Period::new(
            at("2026-12-01T00:00:00Z"),
            at("2026-12-01T05:00:00Z"),
            Granularity::Hour,
            chrono_tz::UTC,
        )
        .unwrap();
        let figures = analyze(&[], &period, 10, 99);
        assert_eq!(figures.total, 0);
        assert_eq!(figures.conversion_rate, 0.0);
        assert_eq!(figures.average_duration_seconds, None);
        assert_eq!(figures.median_duration_seconds, None);
        assert_eq!(figures.cost_per_lead_micros, None);
        assert_eq!(figures.ai_cost_micros, 99);
        assert_eq!(figures.series.len(), 5);
        assert!(figures.series.iter().all(|b| b.total == 0));
    }
}
