//! The dealership AI phone agent's rules (issue 15): business hours per weekday, appointment
//! slots and their capacity, the booking decision with alternatives when a slot cannot be had,
//! and the outcome a finished phone call gets.
//!
//! Owns: what a valid week of opening hours is, which local times can be booked, how many
//! bookings one slot holds, which free slots are offered instead, and how the facts of a call
//! (a booking, a transfer, a machine, no answer, the agent's verdict) become one outcome.
//! Must not: read a clock, a database or a time-zone setting of its own. The caller brings `now`,
//! the tenant's zone and the appointments already booked, so every rule is a plain function.
//!
//! Slots form a grid from each day's opening time: with 30-minute slots and a 09:00 opening,
//! 09:00, 09:30, … up to the last slot that ends by closing time. A booking takes exactly one
//! slot, so two bookings collide exactly when they start at the same local time, and capacity
//! is a count per start.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::DomainError;

named_enum! {
    /// A day of the week, as business hours name it.
    pub enum Weekday("weekday") {
        /// Monday.
        Monday => "MONDAY",
        /// Tuesday.
        Tuesday => "TUESDAY",
        /// Wednesday.
        Wednesday => "WEDNESDAY",
        /// Thursday.
        Thursday => "THURSDAY",
        /// Friday.
        Friday => "FRIDAY",
        /// Saturday.
        Saturday => "SATURDAY",
        /// Sunday.
        Sunday => "SUNDAY",
    }
}

impl Weekday {
    /// Monday = 0 … Sunday = 6.
    fn index(self) -> usize {
        match self {
            Weekday::Monday => 0,
            Weekday::Tuesday => 1,
            Weekday::Wednesday => 2,
            Weekday::Thursday => 3,
            Weekday::Friday => 4,
            Weekday::Saturday => 5,
            Weekday::Sunday => 6,
        }
    }

    /// The weekday of a date.
    pub fn of(date: NaiveDate) -> Weekday {
        match date.weekday() {
            chrono::Weekday::Mon => Weekday::Monday,
            chrono::Weekday::Tue => Weekday::Tuesday,
            chrono::Weekday::Wed => Weekday::Wednesday,
            chrono::Weekday::Thu => Weekday::Thursday,
            chrono::Weekday::Fri => Weekday::Friday,
            chrono::Weekday::Sat => Weekday::Saturday,
            chrono::Weekday::Sun => Weekday::Sunday,
        }
    }
}

/// One day's opening hours, `[open, close)` local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpeningHours {
    /// The weekday.
    pub weekday: Weekday,
    /// Opening time.
    pub open: NaiveTime,
    /// Closing time (after `open`, same day).
    pub close: NaiveTime,
}

/// A week of opening hours: at most one window per weekday; a day without one is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<OpeningHours>", into = "Vec<OpeningHours>")]
pub struct BusinessHours {
    days: [Option<(NaiveTime, NaiveTime)>; 7],
}

impl Default for BusinessHours {
    /// Monday to Friday 09:00–18:00, Saturday 09:00–14:00, Sunday closed: a common dealership
    /// week, used until the tenant sets its own.
    fn default() -> Self {
        let at = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(NaiveTime::MIN);
        let weekday = Some((at(9), at(18)));
        Self {
            days: [
                weekday,
                weekday,
                weekday,
                weekday,
                weekday,
                Some((at(9), at(14))),
                None,
            ],
        }
    }
}

impl TryFrom<Vec<OpeningHours>> for BusinessHours {
    type Error = DomainError;
    fn try_from(days: Vec<OpeningHours>) -> Result<Self, DomainError> {
        BusinessHours::new(&days)
    }
}

impl From<BusinessHours> for Vec<OpeningHours> {
    fn from(hours: BusinessHours) -> Self {
        hours.windows()
    }
}

impl BusinessHours {
    /// A week from its open days. Refused: a day named twice, a window that does not open
    /// before it closes (overnight hours are not a dealership's), and a week with no open day.
    pub fn new(days: &[OpeningHours]) -> Result<Self, DomainError> {
        let mut week = [None; 7];
        for day in days {
            let slot = &mut week[day.weekday.index()];
            if slot.is_some() {
                return Err(DomainError::OutOfRange {
                    field: "businessHours",
                    message: format!("{} is given twice", day.weekday.as_str()),
                });
            }
            if day.open >= day.close {
                return Err(DomainError::OutOfRange {
                    field: "businessHours",
                    message: format!(
                        "{} must open before it closes, got {}–{}",
                        day.weekday.as_str(),
                        day.open.format("%H:%M"),
                        day.close.format("%H:%M")
                    ),
                });
            }
            *slot = Some((day.open, day.close));
        }
        if week.iter().all(Option::is_none) {
            return Err(DomainError::OutOfRange {
                field: "businessHours",
                message: "at least one day must be open".into(),
            });
        }
        Ok(Self { days: week })
    }

    /// The open days, Monday first.
    pub fn windows(&self) -> Vec<OpeningHours> {
        Weekday::ALL
            .into_iter()
            .filter_map(|weekday| {
                self.days[weekday.index()].map(|(open, close)| OpeningHours {
                    weekday,
                    open,
                    close,
                })
            })
            .collect()
    }

    /// The window of a date, if the dealership opens that day.
    pub fn on(&self, date: NaiveDate) -> Option<(NaiveTime, NaiveTime)> {
        self.days[Weekday::of(date).index()]
    }

    /// Reads the stored JSON (`[{weekday, open, close}]`).
    pub fn from_stored(value: &serde_json::Value) -> Result<Self, DomainError> {
        serde_json::from_value(value.clone()).map_err(|e| DomainError::OutOfRange {
            field: "businessHours",
            message: format!("stored hours do not read: {e}"),
        })
    }
}

/// How appointments are cut and how many fit in one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRules {
    minutes: u32,
    per_slot: u32,
}

/// Slot lengths a tenant may choose (minutes).
pub const SLOT_MINUTES: std::ops::RangeInclusive<u32> = 5..=240;
/// Bookings one slot may hold.
pub const PER_SLOT: std::ops::RangeInclusive<u32> = 1..=50;
/// How far ahead the agent may book (days).
pub const BOOKING_HORIZON_DAYS: i64 = 90;
/// How many alternatives a refusal offers.
pub const ALTERNATIVES: usize = 3;
/// How many days after the requested one alternatives are looked for.
const ALTERNATIVE_SEARCH_DAYS: i64 = 14;

impl Default for SlotRules {
    /// 30-minute slots, one booking each.
    fn default() -> Self {
        Self {
            minutes: 30,
            per_slot: 1,
        }
    }
}

impl SlotRules {
    /// Checked rules: a slot of 5–240 minutes holding 1–50 bookings.
    pub fn new(minutes: u32, per_slot: u32) -> Result<Self, DomainError> {
        if !SLOT_MINUTES.contains(&minutes) {
            return Err(DomainError::OutOfRange {
                field: "appointmentSlotMinutes",
                message: format!("must be 5 to 240 minutes, got {minutes}"),
            });
        }
        if !PER_SLOT.contains(&per_slot) {
            return Err(DomainError::OutOfRange {
                field: "appointmentsPerSlot",
                message: format!("must be 1 to 50, got {per_slot}"),
            });
        }
        Ok(Self { minutes, per_slot })
    }

    /// Minutes per slot.
    pub fn minutes(&self) -> u32 {
        self.minutes
    }

    /// Bookings per slot.
    pub fn per_slot(&self) -> u32 {
        self.per_slot
    }

    fn length(&self) -> Duration {
        Duration::minutes(i64::from(self.minutes))
    }
}

/// Why a requested time cannot be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Refusal {
    /// The time has passed (or is too close to now).
    InThePast,
    /// Further ahead than [`BOOKING_HORIZON_DAYS`].
    TooFarAhead,
    /// The dealership is closed then, or the slot would run past closing.
    Closed,
    /// Not the start of a slot (e.g. 10:10 with 30-minute slots from 09:00).
    NotASlotStart,
    /// The slot holds as many bookings as it may.
    SlotFull,
    /// The local time does not exist in the dealership's zone (skipped by a DST change).
    NoSuchLocalTime,
}

impl Refusal {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::InThePast => "IN_THE_PAST",
            Refusal::TooFarAhead => "TOO_FAR_AHEAD",
            Refusal::Closed => "CLOSED",
            Refusal::NotASlotStart => "NOT_A_SLOT_START",
            Refusal::SlotFull => "SLOT_FULL",
            Refusal::NoSuchLocalTime => "NO_SUCH_LOCAL_TIME",
        }
    }
}

/// What the booking rules say about a requested local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingDecision {
    /// Book the slot starting at this instant.
    Book {
        /// Start, UTC.
        starts_at: DateTime<Utc>,
    },
    /// Refused, with free slots to offer instead (local times, soonest first).
    Refuse {
        /// Why.
        reason: Refusal,
        /// Up to [`ALTERNATIVES`] free slot starts near the requested time.
        alternatives: Vec<NaiveDateTime>,
    },
}

/// Everything a booking is decided on.
#[derive(Debug, Clone)]
pub struct BookingRequest<'a> {
    /// The requested local date and time.
    pub local: NaiveDateTime,
    /// The dealership's zone.
    pub zone: Tz,
    /// Its week.
    pub hours: &'a BusinessHours,
    /// Its slots.
    pub rules: SlotRules,
    /// Now.
    pub now: DateTime<Utc>,
    /// Starts (UTC) of the appointments already booked around the request (the caller reads
    /// at least from the requested day to [`ALTERNATIVE_SEARCH_DAYS`] after it).
    pub booked: &'a [DateTime<Utc>],
}

/// The instant a local time names in `zone`: the earlier one when a DST change repeats it,
/// `None` when a DST change skips it.
pub fn local_instant(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The local wall time of an instant in `zone`.
pub fn local_time(zone: Tz, at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&zone).naive_local()
}

/// Why `local` is not a bookable slot start by the calendar alone (capacity aside).
fn calendar_refusal(request: &BookingRequest<'_>, local: NaiveDateTime) -> Option<Refusal> {
    let Some(starts_at) = local_instant(request.zone, local) else {
        return Some(Refusal::NoSuchLocalTime);
    };
    if starts_at <= request.now {
        return Some(Refusal::InThePast);
    }
    if starts_at - request.now > Duration::days(BOOKING_HORIZON_DAYS) {
        return Some(Refusal::TooFarAhead);
    }
    let Some((open, close)) = request.hours.on(local.date()) else {
        return Some(Refusal::Closed);
    };
    let time = local.time();
    let end = time + request.rules.length();
    // `NaiveTime` wraps at midnight: an end before the start ran past it.
    if time < open || end > close || end < time {
        return Some(Refusal::Closed);
    }
    let since_open = (time - open).num_minutes();
    if since_open % i64::from(request.rules.minutes()) != 0 || time.second() != 0 {
        return Some(Refusal::NotASlotStart);
    }
    None
}

fn taken(request: &BookingRequest<'_>, starts_at: DateTime<Utc>) -> u32 {
    let count = request.booked.iter().filter(|b| **b == starts_at).count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The slot's start (UTC) if the slot starting at `local` can take one more booking.
fn free(request: &BookingRequest<'_>, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    if calendar_refusal(request, local).is_some() {
        return None;
    }
    let starts_at = local_instant(request.zone, local)?;
    (taken(request, starts_at) < request.rules.per_slot()).then_some(starts_at)
}

/// Up to [`ALTERNATIVES`] free slot starts, in chronological order, chosen nearest to what the
/// caller asked first: later slots of the requested day, then its earlier slots (nearest
/// first), then the following open days (for up to two weeks).
pub fn alternatives(request: &BookingRequest<'_>) -> Vec<NaiveDateTime> {
    let step = request.rules.length();
    let slots_of = |date: NaiveDate| -> Vec<NaiveDateTime> {
        let Some((open, close)) = request.hours.on(date) else {
            return Vec::new();
        };
        let mut slots = Vec::new();
        let mut slot = date.and_time(open);
        while slot.date() == date && slot.time() < close {
            if slot != request.local && free(request, slot).is_some() {
                slots.push(slot);
            }
            slot += step;
        }
        slots
    };
    let first_day = request.local.date();
    let today = slots_of(first_day);
    let (earlier, later): (Vec<_>, Vec<_>) = today.into_iter().partition(|s| *s < request.local);
    let mut found: Vec<NaiveDateTime> = later
        .into_iter()
        .chain(earlier.into_iter().rev())
        .take(ALTERNATIVES)
        .collect();
    for offset in 1..=ALTERNATIVE_SEARCH_DAYS {
        if found.len() >= ALTERNATIVES {
            break;
        }
        let Some(date) = first_day.checked_add_signed(Duration::days(offset)) else {
            break;
        };
        let wanted = ALTERNATIVES - found.len();
        found.extend(slots_of(date).into_iter().take(wanted));
    }
    found.sort();
    found
}

/// Decides a booking request: book the slot, or refuse it with alternatives.
pub fn decide_booking(request: &BookingRequest<'_>) -> BookingDecision {
    let reason = match calendar_refusal(request, request.local) {
        Some(reason) => reason,
        None => match free(request, request.local) {
            Some(starts_at) => return BookingDecision::Book { starts_at },
            None => Refusal::SlotFull,
        },
    };
    BookingDecision::Refuse {
        reason,
        alternatives: alternatives(request),
    }
}

named_enum! {
    /// How a phone-agent call ended, for the dealership's reports.
    pub enum PhoneCallOutcome("phone call outcome") {
        /// An appointment was booked on the call.
        AppointmentBooked => "APPOINTMENT_BOOKED",
        /// The call was handed to a person.
        Transferred => "TRANSFERRED",
        /// The caller said they are not interested.
        NotInterested => "NOT_INTERESTED",
        /// Nobody answered (or the line was busy).
        NoAnswer => "NO_ANSWER",
        /// An answering machine took the call.
        Voicemail => "VOICEMAIL",
        /// Anything else.
        Other => "OTHER",
    }
}

/// What is known about a call when it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallFacts {
    /// An appointment was booked on it.
    pub booked: bool,
    /// It was transferred to a person.
    pub transferred: bool,
    /// A machine answered.
    pub machine: bool,
    /// It was never answered (no answer, busy, failed before answer).
    pub unanswered: bool,
    /// The agent's own verdict, when its analysis gave one.
    pub agent_verdict: Option<PhoneCallOutcome>,
}

/// The one outcome of a call. What happened on the call outranks what the agent says about it:
/// a booking is the result that matters, then a hand-over, then how the line was answered; the
/// agent's verdict decides only among answered calls where neither happened.
pub fn call_outcome(facts: CallFacts) -> PhoneCallOutcome {
    if facts.booked {
        PhoneCallOutcome::AppointmentBooked
    } else if facts.transferred {
        PhoneCallOutcome::Transferred
    } else if facts.machine {
        PhoneCallOutcome::Voicemail
    } else if facts.unanswered {
        PhoneCallOutcome::NoAnswer
    } else {
        match facts.agent_verdict {
            // The agent cannot claim what the call's facts deny.
            Some(
                PhoneCallOutcome::AppointmentBooked
                | PhoneCallOutcome::Transferred
                | PhoneCallOutcome::NoAnswer,
            )
            | None => PhoneCallOutcome::Other,
            Some(verdict) => verdict,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn local(date: &str, time: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M").unwrap()
    }

    // 2026-12-07 is a Monday.
    fn now() -> DateTime<Utc> {
        "2026-12-07T08:00:00Z".parse().unwrap()
    }

    fn request<'a>(
        at: NaiveDateTime,
        hours: &'a BusinessHours,
        booked: &'a [DateTime<Utc>],
        per_slot: u32,
    ) -> BookingRequest<'a> {
        BookingRequest {
            local: at,
            zone: Tz::UTC,
            hours,
            rules: SlotRules::new(30, per_slot).unwrap(),
            now: now(),
            booked,
        }
    }

    #[test]
    fn a_week_refuses_repeated_days_backwards_windows_and_no_open_day() {
        let day = |weekday, open, close| OpeningHours {
            weekday,
            open,
            close,
        };
        assert!(BusinessHours::new(&[day(Weekday::Monday, t(9, 0), t(17, 0))]).is_ok());
        for bad in [
            vec![
                day(Weekday::Monday, t(9, 0), t(17, 0)),
                day(Weekday::Monday, t(10, 0), t(12, 0)),
            ],
            vec![day(Weekday::Friday, t(18, 0), t(9, 0))],
            vec![day(Weekday::Friday, t(9, 0), t(9, 0))],
            vec![],
        ] {
            assert!(matches!(
                BusinessHours::new(&bad),
                Err(DomainError::OutOfRange {
                    field: "businessHours",
                    ..
                })
            ));
        }
        let week = BusinessHours::default();
        let stored = serde_json::to_value(&week).unwrap();
        assert_eq!(stored[0]["weekday"], "MONDAY");
        assert_eq!(BusinessHours::from_stored(&stored).unwrap(), week);
        assert!(BusinessHours::from_stored(&serde_json::json!([])).is_err());
    }

    #[test]
    fn slot_rules_are_bounded() {
        assert!(SlotRules::new(30, 1).is_ok());
        assert!(SlotRules::new(4, 1).is_err());
        assert!(SlotRules::new(241, 1).is_err());
        assert!(SlotRules::new(30, 0).is_err());
        assert!(SlotRules::new(30, 51).is_err());
    }

    #[test]
    fn an_open_aligned_future_slot_is_booked_in_the_dealerships_zone() {
        let hours = BusinessHours::default();
        let mut req = request(local("2026-12-08", "10:30"), &hours, &[], 1);
        req.zone = "America/Mexico_City".parse().unwrap();
        assert_eq!(
            decide_booking(&req),
            BookingDecision::Book {
                starts_at: "2026-12-08T16:30:00Z".parse().unwrap()
            }
        );
    }

    #[test]
    fn closed_past_misaligned_and_late_slots_are_refused_with_reasons() {
        let hours = BusinessHours::default();
        let reason = |at: NaiveDateTime| match decide_booking(&request(at, &hours, &[], 1)) {
            BookingDecision::Refuse { reason, .. } => Some(reason),
            BookingDecision::Book { .. } => None,
        };
        // Sunday is closed; Saturday closes at 14:00, so 13:45 would run past it.
        assert_eq!(reason(local("2026-12-13", "10:00")), Some(Refusal::Closed));
        assert_eq!(reason(local("2026-12-12", "13:30")), None);
        assert_eq!(reason(local("2026-12-12", "14:00")), Some(Refusal::Closed));
        assert_eq!(reason(local("2026-12-08", "08:30")), Some(Refusal::Closed));
        assert_eq!(reason(local("2026-12-08", "17:45")), Some(Refusal::Closed));
        assert_eq!(
            reason(local("2026-12-08", "10:10")),
            Some(Refusal::NotASlotStart)
        );
        assert_eq!(
            reason(local("2026-12-07", "07:00")),
            Some(Refusal::InThePast)
        );
        assert_eq!(
            reason(local("2027-06-01", "10:00")),
            Some(Refusal::TooFarAhead)
        );
    }

    #[test]
    fn a_full_slot_is_refused_with_the_nearest_free_slots() {
        let hours = BusinessHours::default();
        let taken: DateTime<Utc> = "2026-12-08T10:00:00Z".parse().unwrap();
        let next: DateTime<Utc> = "2026-12-08T10:30:00Z".parse().unwrap();
        let booked = [taken, next];
        match decide_booking(&request(local("2026-12-08", "10:00"), &hours, &booked, 1)) {
            BookingDecision::Refuse {
                reason,
                alternatives,
            } => {
                assert_eq!(reason, Refusal::SlotFull);
                assert_eq!(
                    alternatives,
                    vec![
                        local("2026-12-08", "11:00"),
                        local("2026-12-08", "11:30"),
                        local("2026-12-08", "12:00")
                    ]
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Two per slot: the second booking of a slot fits, the third does not.
        assert!(matches!(
            decide_booking(&request(
                local("2026-12-08", "10:00"),
                &hours,
                &booked[..1],
                2
            )),
            BookingDecision::Book { .. }
        ));
        let twice = [taken, taken];
        assert!(matches!(
            decide_booking(&request(local("2026-12-08", "10:00"), &hours, &twice, 2)),
            BookingDecision::Refuse {
                reason: Refusal::SlotFull,
                ..
            }
        ));
    }

    #[test]
    fn the_last_slots_of_a_day_fall_back_to_earlier_ones_then_the_next_open_day() {
        let hours = BusinessHours::default();
        // Saturday 13:30 is the last slot; taken, so the nearest earlier ones are offered.
        let booked = ["2026-12-12T13:30:00Z".parse().unwrap()];
        match decide_booking(&request(local("2026-12-12", "13:30"), &hours, &booked, 1)) {
            BookingDecision::Refuse { alternatives, .. } => assert_eq!(
                alternatives,
                vec![
                    local("2026-12-12", "12:00"),
                    local("2026-12-12", "12:30"),
                    local("2026-12-12", "13:00")
                ]
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Closed on Sunday: Monday is offered.
        match decide_booking(&request(local("2026-12-13", "11:00"), &hours, &[], 1)) {
            BookingDecision::Refuse {
                reason,
                alternatives,
            } => {
                assert_eq!(reason, Refusal::Closed);
                assert_eq!(alternatives[0], local("2026-12-14", "09:00"));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_time_skipped_by_dst_cannot_be_booked() {
        let hours = BusinessHours::new(&[OpeningHours {
            weekday: Weekday::Sunday,
            open: t(0, 0),
            close: t(23, 0),
        }])
        .unwrap();
        let mut req = request(local("2027-03-14", "02:30"), &hours, &[], 1);
        req.zone = "America/New_York".parse().unwrap();
        req.now = "2027-03-01T00:00:00Z".parse().unwrap();
        assert!(matches!(
            decide_booking(&req),
            BookingDecision::Refuse {
                reason: Refusal::NoSuchLocalTime,
                ..
            }
        ));
    }

    #[test]
    fn what_happened_on_the_call_outranks_the_agents_verdict() {
        let facts = |booked, transferred, machine, unanswered, verdict| CallFacts {
            booked,
            transferred,
            machine,
            unanswered,
            agent_verdict: verdict,
        };
        use PhoneCallOutcome::*;
        assert_eq!(
            call_outcome(facts(true, true, false, false, Some(NotInterested))),
            AppointmentBooked
        );
        assert_eq!(
            call_outcome(facts(false, true, false, false, None)),
            Transferred
        );
        assert_eq!(
            call_outcome(facts(false, false, true, false, None)),
            Voicemail
        );
        assert_eq!(
            call_outcome(facts(false, false, false, true, None)),
            NoAnswer
        );
        assert_eq!(
            call_outcome(facts(false, false, false, false, Some(NotInterested))),
            NotInterested
        );
        assert_eq!(
            call_outcome(facts(false, false, false, false, Some(AppointmentBooked))),
            Other
        );
        assert_eq!(call_outcome(facts(false, false, false, false, None)), Other);
        assert_eq!(PhoneCallOutcome::parse("VOICEMAIL").unwrap(), Voicemail);
    }
}
